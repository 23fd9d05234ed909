//! `textDocument/foldingRange`: blocks, record and message bodies, and comment runs that span
//! several lines.

use adama_compiler::queries::parsed;
use adama_compiler::{Db, SourceFile};
use tower_lsp_server::ls_types::{FoldingRange, FoldingRangeKind};

/// Kinds of nodes that fold.
const FOLDING_KINDS: &[&str] = &[
    "block",
    "record_body",
    "message_body",
    "enum_declaration",
    "static_block",
    "service_declaration",
    "object_expression",
    "comment",
];

/// The folding ranges of a file.
pub fn folding_ranges(db: &dyn Db, file: SourceFile) -> Vec<FoldingRange> {
    let mut ranges = Vec::new();
    for root in parsed(db, file).roots() {
        fold(root, &mut ranges);
    }
    ranges
}

fn fold(root: tree_sitter::Node<'_>, ranges: &mut Vec<FoldingRange>) {
    adama_compiler::parse::walk_tree(root, |node| {
        let start = node.start_position().row;
        let end = node.end_position().row;
        if end > start && FOLDING_KINDS.contains(&node.kind()) {
            ranges.push(FoldingRange {
                start_line: u32::try_from(start).unwrap_or(u32::MAX),
                start_character: None,
                end_line: u32::try_from(end).unwrap_or(u32::MAX),
                end_character: None,
                kind: (node.kind() == "comment").then_some(FoldingRangeKind::Comment),
                collapsed_text: None,
            });
        }
        true
    });
}
