//! Position queries for tools: which item and which HIR node sit at a byte offset, and the
//! comment written above a declaration.
//!
//! The language server answers hover, go-to-definition and completion from these: a position
//! becomes an item and a node, and the node's meaning comes from the checker.

use crate::db::{Db, SourceFile};
use crate::hir::NodeId;
use std::ops::Range;

use crate::queries::{FileItem, expression_types, file_items, lowered, parsed};
use crate::ty::Ty;

/// The innermost HIR node of an item that covers a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeAt<'db> {
    pub item: FileItem<'db>,
    pub node: NodeId,
}

/// The position in the file's item list of the item that covers `offset`.
pub fn item_index_at(db: &dyn Db, file: SourceFile, offset: usize) -> Option<usize> {
    let items = &lowered(db, file).items;
    // Items are in source order and do not overlap, so only the last item starting at or before
    // the offset, or the one before it when both touch the offset, can cover it: a search, not
    // a walk over every item of a large file.
    let last = items
        .partition_point(|item| item.offset <= offset)
        .checked_sub(1)?;
    (last.saturating_sub(1)..=last).find(|index| {
        items.get(*index).is_some_and(|item| {
            let whole = item.span(item.item.node);
            whole.start <= offset && offset <= whole.end
        })
    })
}

/// The item and innermost node at `offset`, if the offset is inside an item.
pub fn node_at(db: &dyn Db, file: SourceFile, offset: usize) -> Option<NodeAt<'_>> {
    let lowered = lowered(db, file);
    let index = item_index_at(db, file, offset)?;
    let item = lowered.items.get(index)?;
    let relative = offset.checked_sub(item.offset)?;
    // Ids are allocated parent before child, so among the spans that cover the offset the
    // narrowest one (the last on ties) is the innermost node.
    let node = item
        .source_map
        .spans
        .iter()
        .enumerate()
        .filter(|(_, span)| span.start <= relative && relative <= span.end)
        .min_by_key(|(index, span)| (span.end - span.start, usize::MAX - index))
        .map(|(index, _)| NodeId(u32::try_from(index).unwrap_or(u32::MAX)))?;
    let file_item = *file_items(db, file).get(index)?;
    Some(NodeAt {
        item: file_item,
        node,
    })
}

/// The narrowest expression around `offset`: its item, its index in the item's body, its type
/// and its byte range. A name inside `a.n` gives `a.n`.
pub fn expression_at(
    db: &dyn Db,
    file: SourceFile,
    offset: usize,
) -> Option<(FileItem<'_>, Ty, Range<usize>)> {
    let index = item_index_at(db, file, offset)?;
    let item = *file_items(db, file).get(index)?;
    let lowered_item = lowered(db, file).items.get(index)?;
    let (expression, span) = item
        .hir(db)
        .body
        .exprs
        .iter()
        .enumerate()
        .map(|(expression, node)| (expression, lowered_item.span(node.node)))
        .filter(|(_, span)| span.start <= offset && offset <= span.end)
        .min_by_key(|(_, span)| span.end - span.start)?;
    let ty = expression_types(db, item).get(expression)?.clone();
    Some((item, ty, span))
}

/// The comment block written directly above an item (line comments on consecutive lines, or
/// one block comment), without its comment markers; `None` when there is none.
pub fn doc_comment(db: &dyn Db, file: SourceFile, item: FileItem<'_>) -> Option<String> {
    let lowered = lowered(db, file);
    let index = file_items(db, file)
        .iter()
        .position(|candidate| *candidate == item)?;
    let start = lowered.items.get(index)?.offset;
    let parsed = parsed(db, file);
    let root = parsed.root_at(start)?;
    let item_node = root.descendant_for_byte_range(start, start)?;
    let mut top = item_node;
    while let Some(parent) = top.parent() {
        if parent.id() == root.id() {
            break;
        }
        top = parent;
    }
    let mut lines: Vec<String> = Vec::new();
    let mut expected_row = top.start_position().row;
    let mut sibling = top.prev_sibling();
    while let Some(comment) = sibling.filter(|node| node.kind() == "comment") {
        // Only a comment that ends on the line just above (or continues the run) belongs here.
        if comment.end_position().row + 1 < expected_row {
            break;
        }
        let text = parsed.text.get(comment.byte_range()).unwrap_or("");
        lines.insert(0, strip_comment(text));
        expected_row = comment.start_position().row;
        sibling = comment.prev_sibling();
    }
    let joined = lines.join("\n").trim().to_owned();
    (!joined.is_empty()).then_some(joined)
}

fn strip_comment(text: &str) -> String {
    if let Some(line) = text.strip_prefix("//") {
        return line.trim().to_owned();
    }
    let inner = text
        .strip_prefix("/*")
        .and_then(|rest| rest.strip_suffix("*/"))
        .unwrap_or(text);
    inner
        .lines()
        .map(|line| line.trim().trim_start_matches('*').trim())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    const PROGRAM: &str = "public int unrelated;\n\n// The running total.\n// Never negative.\npublic int total;\n\n/* Adds to the total. */\nchannel add(M m) { total += m.n; }\nmessage M { int n; }\n";

    #[test]
    fn the_node_at_an_offset_is_the_innermost_one() {
        let db = Database::default();
        let file = SourceFile::new(&db, "doc.a".to_owned(), PROGRAM.to_owned());
        let offset = PROGRAM.find("m.n").unwrap_or(0) + 2;
        let found = node_at(&db, file, offset);
        let span = found.map(|found| {
            let lowered = lowered(&db, file);
            let index = file_items(&db, file)
                .iter()
                .position(|item| *item == found.item)
                .unwrap_or(0);
            lowered.items[index].span(found.node)
        });
        assert_eq!(span.map(|span| &PROGRAM[span]), Some("n"));
    }

    #[test]
    fn comments_directly_above_a_declaration_document_it() {
        let db = Database::default();
        let file = SourceFile::new(&db, "doc.a".to_owned(), PROGRAM.to_owned());
        let items = file_items(&db, file).clone();
        let docs: Vec<Option<String>> = items
            .iter()
            .map(|item| doc_comment(&db, file, *item))
            .collect();
        assert_eq!(
            docs,
            vec![
                None,
                Some("The running total.\nNever negative.".to_owned()),
                Some("Adds to the total.".to_owned()),
                None,
            ]
        );
    }
}
