//! `textDocument/selectionRange`: from the token under the cursor out through every enclosing
//! syntax node, for "expand selection".

use adama_compiler::queries::parsed;
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::SelectionRange;

use crate::convert::range_of;

/// The nested selection ranges around `offset`.
pub fn selection_range(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    offset: usize,
) -> SelectionRange {
    let parsed = parsed(db, file);
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    let mut node = parsed.descendant_for_byte_range(offset, offset);
    while let Some(current) = node {
        let span = current.byte_range();
        if spans.last() != Some(&span) {
            spans.push(span);
        }
        node = current.parent();
    }
    // A large file is parsed in chunks: the outermost selection is still the whole file.
    let whole = 0..parsed.text.len();
    if parsed.chunks.len() > 1 && spans.last().is_some_and(|span| *span != whole) {
        spans.push(whole);
    }
    // Build from the outermost inwards, so each range points at its parent.
    let mut selection: Option<SelectionRange> = None;
    for span in spans.into_iter().rev() {
        selection = Some(SelectionRange {
            range: range_of(rope, span),
            parent: selection.map(Box::new),
        });
    }
    selection.unwrap_or(SelectionRange {
        range: range_of(rope, offset..offset),
        parent: None,
    })
}
