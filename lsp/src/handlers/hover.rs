//! `textDocument/hover`: the type of the expression under the cursor, or the declaration under
//! the cursor with the comment written above it.

use adama_compiler::navigation::{doc_comment, node_at};
use adama_compiler::queries::{expression_types, file_items, lowered};
use adama_compiler::ty::Ty;
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use crate::convert::range_of;

/// The hover at `offset`, if the offset is inside an item.
pub fn hover(db: &dyn Db, file: SourceFile, rope: &Rope, offset: usize) -> Option<Hover> {
    let found = node_at(db, file, offset)?;
    let hir = found.item.hir(db);
    let index = file_items(db, file)
        .iter()
        .position(|item| *item == found.item)?;
    let lowered_item = lowered(db, file).items.get(index)?;
    // The narrowest expression around the offset, if any: a name inside `a.n` shows `a.n`.
    let expression = hir
        .body
        .exprs
        .iter()
        .enumerate()
        .map(|(expression, node)| (expression, lowered_item.span(node.node)))
        .filter(|(_, span)| span.start <= offset && offset <= span.end)
        .min_by_key(|(_, span)| span.end - span.start);
    let (value, span) = match expression {
        Some((expression, span)) => {
            let text = rope
                .byte_slice(span.start..span.end.min(rope.len_bytes()))
                .to_string();
            match expression_types(db, found.item).get(expression) {
                Some(Ty::Error) | None => return None,
                Some(ty) => (format!("```adama\n{}: {ty}\n```", first_line(&text)), span),
            }
        }
        None => (
            declaration(db, file, found.item)?,
            lowered_item.span(found.node),
        ),
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
