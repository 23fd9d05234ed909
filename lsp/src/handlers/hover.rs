//! `textDocument/hover`: the type of the expression under the cursor, or the declaration under
//! the cursor with the comment written above it.

use adama_compiler::navigation::{doc_comment, expression_at, node_at};
use adama_compiler::queries::{file_items, lowered};
use adama_compiler::ty::Ty;
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use crate::convert::range_of;

/// The hover at `offset`, if the offset is inside an item.
pub fn hover(db: &dyn Db, file: SourceFile, rope: &Rope, offset: usize) -> Option<Hover> {
    let (value, span) = match expression_at(db, file, offset) {
        Some((_, Ty::Error, _)) => return None,
        Some((_, ty, span)) => {
            let text = rope
                .byte_slice(span.start..span.end.min(rope.len_bytes()))
                .to_string();
            (format!("```adama\n{}: {ty}\n```", first_line(&text)), span)
        }
        None => {
            let found = node_at(db, file, offset)?;
            let index = file_items(db, file)
                .iter()
                .position(|item| *item == found.item)?;
            let span = lowered(db, file).items.get(index)?.span(found.node);
            (declaration(db, file, found.item)?, span)
        }
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(range_of(rope, span)),
    })
}

fn declaration(
    db: &dyn Db,
    file: SourceFile,
    item: adama_compiler::queries::FileItem<'_>,
) -> Option<String> {
    let decl = &item.hir(db).decl;
    let mut value = match decl.name() {
        Some(name) if !name.name.is_empty() => {
            format!("```adama\n{} {}\n```", decl.kind(), name.name)
        }
        _ => format!("```adama\n{}\n```", decl.kind()),
    };
    if let Some(comment) = doc_comment(db, file, item) {
        value.push_str("\n\n");
        value.push_str(&comment);
    }
    Some(value)
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 60 {
        format!("{}…", line.chars().take(60).collect::<String>())
    } else {
        line.to_owned()
    }
}
