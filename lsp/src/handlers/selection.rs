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
    let tree = &parsed(db, file).tree;
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    let mut node = tree.root_node().descendant_for_byte_range(offset, offset);
    while let Some(current) = node {
        let span = current.byte_range();
        if spans.last() != Some(&span) {
            spans.push(span);
        }
        node = current.parent();
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
