//! `textDocument/formatting`: the same layout as `adama fmt`, as one edit of the whole document.

use adama_compiler::format::format;
use ropey::Rope;
use tower_lsp_server::ls_types::TextEdit;

use crate::convert::range_of;

/// The edit that formats the document; none when it is formatted or has syntax errors.
pub fn formatting(rope: &Rope) -> Vec<TextEdit> {
    let text = rope.to_string();
    match format(&text) {
        Ok(formatted) if formatted != text => {
            vec![TextEdit::new(range_of(rope, 0..text.len()), formatted)]
        }
        _ => Vec::new(),
    }
}
