//! `textDocument/codeAction`: the quick fixes of the diagnostics in the requested range. Each is a
//! conversion of a fix the compiler attached to its diagnostic (insert a missing `;`, replace a
//! misspelt name, declare a missing state block or message); nothing here reads a message.

use adama_compiler::{Db, SourceFile, queries};
use ropey::Rope;
use tower_lsp_server::ls_types::{CodeAction, Uri};

use crate::convert::quick_fix;

/// The quick fixes for the diagnostics overlapping `range` (byte offsets).
pub fn code_actions(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    uri: &Uri,
    range: std::ops::Range<usize>,
) -> Vec<CodeAction> {
    queries::diagnostics(db, file)
        .iter()
        .filter(|diagnostic| {
            diagnostic.range.end >= range.start && diagnostic.range.start <= range.end
        })
        .flat_map(|diagnostic| {
            // The first fix of a diagnostic is the one the check thinks most likely.
            diagnostic
                .fixes
                .iter()
                .enumerate()
                .map(move |(position, fix)| quick_fix(rope, uri, diagnostic, fix, position == 0))
        })
        .collect()
}
