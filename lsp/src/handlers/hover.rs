//! `textDocument/hover`: the type of the expression under the cursor, or the declaration under
//! the cursor with the comment written above it.

use adama_compiler::check::{Definition, Owner};
use adama_compiler::navigation::{doc_comment, expression_at};
use adama_compiler::queries::{file_items, lowered, parsed};
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
            let classified = super::semantic::classify(db, file, offset)?;
            let value = describe(db, file, &classified.definition)?;
            (value, classified.range)
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

/// What a name declares: the declaring item as written (`field total`) with the comment above it
/// when the name is the item's own, else the kind of member (`field count of R`).
fn describe(db: &dyn Db, file: SourceFile, definition: &Definition) -> Option<String> {
    let site = super::semantic::declaration(db, file, definition)?;
    let lowered = lowered(db, file);
    // Items are in source order and do not overlap: only the last one starting at or before the
    // declaring name can be the item it names.
    let candidate = lowered
        .items
        .partition_point(|item| item.offset <= site.start)
        .checked_sub(1);
    if let Some(index) = candidate
        && let Some(lowered_item) = lowered.items.get(index)
        && let Some(name) = lowered_item.item.decl.name()
        && lowered_item.span(name.node) == site
        && let Some(item) = file_items(db, file).get(index)
    {
        return declaration(db, file, *item);
    }
    let text = match definition {
        Definition::Field { owner, name } => format!("field {name}{}", owner_suffix(owner)),
        Definition::Method { owner, name, .. } => format!("method {name}{}", owner_suffix(owner)),
        Definition::EnumLabel { enumeration, label } => format!("enum {enumeration}::{label}"),
        Definition::Policy {
            record: Some(record),
            name,
        } => format!("policy {name} of {record}"),
        Definition::ServiceMethod { service, name } => format!("method {name} of {service}"),
        Definition::Replication { owner, name } => {
            format!("replication {name}{}", owner_suffix(owner))
        }
        Definition::Local { .. } => {
            let name = parsed(db, file).text.get(site)?.to_owned();
            format!("local {name}")
        }
        _ => return None,
    };
    Some(format!("```adama\n{text}\n```"))
}

fn owner_suffix(owner: &Owner) -> String {
    match owner {
        Owner::Document => String::new(),
        Owner::Record(name) | Owner::Message(name) => format!(" of {name}"),
    }
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
