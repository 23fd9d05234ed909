//! Compiling source text into a program the runtime can run.

use std::sync::Arc;

use adama_compiler::ir::{Program, build_program};
use adama_compiler::{Database, Diagnostic, Severity, SourceFile, queries};

/// Checks and compiles a source text; the diagnostics when it has errors.
pub fn compile(name: &str, text: &str) -> Result<Arc<Program>, Vec<Diagnostic>> {
    let db = Database::for_one_check();
    let file = SourceFile::new(&db, name.to_owned(), text.to_owned());
    let diagnostics = queries::diagnostics(&db, file).clone();
    if diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
    {
        return Err(diagnostics);
    }
    Ok(Arc::new(build_program(&db, file)))
}
