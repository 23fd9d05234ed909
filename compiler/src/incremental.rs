//! Turning a change of text into the single edit tree-sitter needs to re-parse incrementally.
//!
//! The edit spans from the first byte that differs to the last: everything before and after is
//! kept. That is exact for the typing of one character and correct (if less economical) for any
//! other change.

use tree_sitter::{InputEdit, Point, Tree};

/// Applies to `tree` (parsed from `old`) the edit that turns `old` into `new`.
pub fn edit_tree(tree: &mut Tree, old: &str, new: &str) {
    let old_bytes = old.as_bytes();
    let new_bytes = new.as_bytes();
    let mut prefix = old_bytes
        .iter()
        .zip(new_bytes)
        .take_while(|(a, b)| a == b)
        .count();
    while prefix > 0 && (!old.is_char_boundary(prefix) || !new.is_char_boundary(prefix)) {
        prefix -= 1;
    }
    let max_suffix = old_bytes.len().min(new_bytes.len()) - prefix;
    let mut suffix = old_bytes
        .iter()
        .rev()
        .zip(new_bytes.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while suffix > 0
        && (!old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix))
    {
        suffix -= 1;
    }
    let old_end = old.len() - suffix;
    let new_end = new.len() - suffix;
    if prefix == old_end && prefix == new_end {
        return;
    }
    tree.edit(&InputEdit {
        start_byte: prefix,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position: point_at(old, prefix),
        old_end_position: point_at(old, old_end),
        new_end_position: point_at(new, new_end),
    });
}

fn point_at(text: &str, offset: usize) -> Point {
    let before = &text.as_bytes()[..offset];
    let row = before.iter().filter(|byte| **byte == b'\n').count();
    let column = offset
        - before
            .iter()
            .rposition(|byte| *byte == b'\n')
            .map_or(0, |newline| newline + 1);
    Point { row, column }
}

#[cfg(test)]
mod tests {
    use super::edit_tree;
    use crate::parse::parse;

    #[test]
    fn an_incremental_reparse_gives_the_same_tree_as_a_fresh_parse() {
        let old = "public int x = 1;\nfunction f() -> int { return 2; }\n";
        for new in [
            "public int x = 10;\nfunction f() -> int { return 2; }\n",
            "public int x = 1;\nfunction f() -> int { return 2 + 3; }\n",
            "public int y = 1;\n",
            "",
            "// \u{4e16}\npublic int x = 1;\nfunction f() -> int { return 2; }\n",
        ] {
            let mut tree = parse(old, None);
            edit_tree(&mut tree, old, new);
            let incremental = parse(new, Some(&tree));
            assert_eq!(
                incremental.root_node().to_sexp(),
                parse(new, None).root_node().to_sexp(),
                "{new:?}"
            );
        }
    }
}
