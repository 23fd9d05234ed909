//! `textDocument/publishDiagnostics`: every diagnostic of the document.

use adama_compiler::{Db, SourceFile, queries};
use ropey::Rope;
use tower_lsp_server::ls_types::{Diagnostic, Uri};

use crate::convert;

/// The protocol diagnostics of a file.
pub fn diagnostics(db: &dyn Db, file: SourceFile, rope: &Rope, uri: &Uri) -> Vec<Diagnostic> {
    queries::diagnostics(db, file)
        .iter()
        .map(|diagnostic| convert::diagnostic(rope, uri, diagnostic))
        .collect()
}
