//! `textDocument/hover`: the declaration under the cursor and the comment written above it.

use adama_compiler::navigation::{doc_comment, node_at};
use adama_compiler::queries::{file_items, lowered};
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use crate::convert::range_of;

/// The hover of the item at `offset`, if any.
pub fn hover(db: &dyn Db, file: SourceFile, rope: &Rope, offset: usize) -> Option<Hover> {
    let found = node_at(db, file, offset)?;
    let decl = &found.item.hir(db).decl;
    let mut value = match decl.name() {
        Some(name) if !name.name.is_empty() => {
            format!("```adama\n{} {}\n```", decl.kind(), name.name)
        }
        _ => format!("```adama\n{}\n```", decl.kind()),
    };
    if let Some(comment) = doc_comment(db, file, found.item) {
        value.push_str("\n\n");
        value.push_str(&comment);
    }
    let index = file_items(db, file)
        .iter()
        .position(|item| *item == found.item)?;
    let span = lowered(db, file).items.get(index)?.span(found.node);
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(range_of(rope, span)),
    })
}
