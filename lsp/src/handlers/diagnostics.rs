//! `textDocument/publishDiagnostics`: every diagnostic of the document.

use adama_compiler::{Db, SourceFile, queries};
use ropey::Rope;
use tower_lsp_server::ls_types::{Diagnostic, Uri};

use crate::convert;

/// The protocol diagnostics of a file.
pub fn diagnostics(db: &dyn Db, file: SourceFile, rope: &Rope, uri: &Uri) -> Vec<Diagnostic> {
    let found: Vec<Diagnostic> = queries::diagnostics(db, file)
        .iter()
        .map(|diagnostic| convert::diagnostic(rope, uri, diagnostic))
        .collect();
    // A version with syntax errors reports only those, so nothing above read its items or its
    // declarations. The hover, completion and tokens an editor asks for right after the
    // diagnostics all need them: building them here, before the diagnostics go out, keeps those
    // requests from building them while the user waits.
    if !queries::lowered(db, file).diagnostics.is_empty() {
        queries::signatures(db, file);
    }
    found
}
