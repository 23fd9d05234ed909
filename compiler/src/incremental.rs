//! Turning a change of text into the single edit tree-sitter needs to re-parse incrementally.
//!
//! The edit spans from the first byte that differs to the last: everything before and after is
//! kept. That is exact for the typing of one character and correct (if less economical) for any
//! other change.

use tree_sitter::{InputEdit, Point};

/// The one range of text that differs between two versions: `start..old_end` of the old text
/// became `start..new_end` of the new one, and the bytes before and after are the same in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextChange {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl TextChange {
    /// Where the range `range` of the new text was in the old text, if no byte of it changed.
    pub fn unchanged_in_old(
        &self,
        range: std::ops::Range<usize>,
    ) -> Option<std::ops::Range<usize>> {
        if range.end <= self.start {
            Some(range)
        } else if range.start >= self.new_end {
            let moved = |offset: usize| offset - self.new_end + self.old_end;
            Some(moved(range.start)..moved(range.end))
        } else {
            None
        }
    }
}

/// The change from `old` to `new`, on character boundaries of both; `None` when they are equal.
pub(crate) fn text_change(old: &str, new: &str) -> Option<TextChange> {
    let (old_bytes, new_bytes) = (old.as_bytes(), new.as_bytes());
    let mut prefix = common_prefix(old_bytes, new_bytes);
    while prefix > 0 && (!old.is_char_boundary(prefix) || !new.is_char_boundary(prefix)) {
        prefix -= 1;
    }
    let max_suffix = old_bytes.len().min(new_bytes.len()) - prefix;
    let mut suffix = common_suffix(&old_bytes[prefix..], &new_bytes[prefix..]).min(max_suffix);
    while suffix > 0
        && (!old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix))
    {
        suffix -= 1;
    }
    let change = TextChange {
        start: prefix,
        old_end: old.len() - suffix,
        new_end: new.len() - suffix,
    };
    (change.start != change.old_end || change.start != change.new_end).then_some(change)
}

/// Bytes are compared a block at a time (a `memcmp` each), then one by one inside the first block
/// that differs: a one-character edit of a large file costs a fraction of a byte-wise scan.
const BLOCK: usize = 256;

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let mut same = 0;
    while same + BLOCK <= len && a[same..same + BLOCK] == b[same..same + BLOCK] {
        same += BLOCK;
    }
    same + a[same..len]
        .iter()
        .zip(&b[same..len])
        .take_while(|(x, y)| x == y)
        .count()
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a, b) = (&a[a.len() - len..], &b[b.len() - len..]);
    let mut same = 0;
    while same + BLOCK <= len
        && a[len - same - BLOCK..len - same] == b[len - same - BLOCK..len - same]
    {
        same += BLOCK;
    }
    same + a[..len - same]
        .iter()
        .rev()
        .zip(b[..len - same].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The edit `change` (from `old` to `new`) as tree-sitter describes it.
pub(crate) fn input_edit(old: &str, new: &str, change: TextChange) -> InputEdit {
    InputEdit {
        start_byte: change.start,
        old_end_byte: change.old_end,
        new_end_byte: change.new_end,
        start_position: point_at(old, change.start),
        old_end_position: point_at(old, change.old_end),
        new_end_position: point_at(new, change.new_end),
    }
}

pub(crate) fn point_at(text: &str, offset: usize) -> Point {
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
    use super::{TextChange, input_edit, text_change};
    use crate::parse::parse;

    /// Applies to `tree` (parsed from `old`) the edit that turns `old` into `new`.
    fn edit_tree(tree: &mut tree_sitter::Tree, old: &str, new: &str) {
        if let Some(change) = text_change(old, new) {
            tree.edit(&input_edit(old, new, change));
        }
    }

    /// The change found byte by byte, for comparison.
    fn plain_change(old: &str, new: &str) -> Option<TextChange> {
        let mut start = 0;
        while start < old.len().min(new.len()) && old.as_bytes()[start] == new.as_bytes()[start] {
            start += 1;
        }
        while !old.is_char_boundary(start) || !new.is_char_boundary(start) {
            start -= 1;
        }
        let mut suffix = 0;
        while suffix < old.len().min(new.len()) - start
            && old.as_bytes()[old.len() - 1 - suffix] == new.as_bytes()[new.len() - 1 - suffix]
        {
            suffix += 1;
        }
        while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix)
        {
            suffix -= 1;
        }
        let change = TextChange {
            start,
            old_end: old.len() - suffix,
            new_end: new.len() - suffix,
        };
        (change.start != change.old_end || change.start != change.new_end).then_some(change)
    }

    #[test]
    fn a_change_is_found_in_long_texts_as_byte_by_byte() {
        let line = "public int x\u{e9} = 1; // \u{4e16}\n";
        let old: String = line.repeat(200);
        for at in [
            0,
            1,
            255,
            256,
            257,
            1000,
            old.len() / 2,
            old.len() - 1,
            old.len(),
        ] {
            let at = (0..=at)
                .rev()
                .find(|at| old.is_char_boundary(*at))
                .unwrap_or(0);
            for (cut, insert) in [(0, "y"), (1, ""), (3, "\u{e9}"), (300, "z"), (0, line)] {
                let end = (at + cut).min(old.len());
                let end = (end..=old.len())
                    .find(|end| old.is_char_boundary(*end))
                    .unwrap_or(old.len());
                let mut new = old.clone();
                new.replace_range(at..end, insert);
                assert_eq!(
                    text_change(&old, &new),
                    plain_change(&old, &new),
                    "{at} {cut} {insert:?}"
                );
                assert_eq!(
                    text_change(&new, &old),
                    plain_change(&new, &old),
                    "{at} {cut} {insert:?}"
                );
            }
        }
        assert_eq!(text_change(&old, &old), None);
    }

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
