//! `textDocument/references`, `documentHighlight`, `prepareRename` and `rename`: every place a
//! name refers to the same declaration as the name under the cursor.
//!
//! Candidates are the names with the same spelling; each is kept when go-to-definition from it
//! lands on the same declaration, so a local and a field of the same name stay apart.

use std::ops::Range;

use adama_compiler::queries::parsed;
use adama_compiler::{Db, SourceFile};

use super::definition::definition;

/// The name under the cursor: its range and its spelling without a leading `#`.
pub fn name_at(db: &dyn Db, file: SourceFile, offset: usize) -> Option<(Range<usize>, String)> {
    let parsed = parsed(db, file);
    let node = parsed
        .tree
        .root_node()
        .descendant_for_byte_range(offset, offset)?;
    if !matches!(node.kind(), "identifier" | "type_identifier" | "label") {
        return None;
    }
    let text = parsed.text.get(node.byte_range())?;
    let range = if node.kind() == "label" {
        node.start_byte() + 1..node.end_byte()
    } else {
        node.byte_range()
    };
    Some((range, text.trim_start_matches('#').to_owned()))
}

/// Every range naming the same declaration as the name at `offset`, the declaration included,
/// in source order.
pub fn references(db: &dyn Db, file: SourceFile, offset: usize) -> Vec<Range<usize>> {
    let Some((_, name)) = name_at(db, file, offset) else {
        return Vec::new();
    };
    let Some(target) = definition(db, file, offset) else {
        return Vec::new();
    };
    let parsed = parsed(db, file);
    let mut found = Vec::new();
    adama_compiler::parse::walk_tree(parsed.tree.root_node(), |node| {
        if matches!(node.kind(), "identifier" | "type_identifier" | "label")
            && parsed
                .text
                .get(node.byte_range())
                .map(|text| text.trim_start_matches('#'))
                == Some(name.as_str())
        {
            let range = if node.kind() == "label" {
                node.start_byte() + 1..node.end_byte()
            } else {
                node.byte_range()
            };
            if range == target || definition(db, file, node.start_byte()).as_ref() == Some(&target)
            {
                found.push(range);
            }
        }
        true
    });
    found.dedup();
    found
}
