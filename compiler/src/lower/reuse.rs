//! Which lowered items of a file's previous version the new version still holds unchanged.
//!
//! The previous text and the new one are compared once, from both ends: the bytes before the
//! first difference and after the last are the same in both, so a top-level node that lies
//! wholly outside the changed range has the same text as the node at the matching place of the
//! previous version. Its lowering is taken from there, found by position rather than by hashing
//! and comparing the text of every item: a keystroke costs one comparison of the two texts and
//! a walk over the top-level nodes, whatever the size of the items.

use std::ops::Range;
use std::sync::Arc;

use super::CachedItem;
use crate::incremental::{TextChange, text_change};

/// A file's last lowered version: its text and its error-free top-level items, in source order.
#[derive(Debug, Default)]
pub(super) struct CachedFile {
    text: String,
    items: Vec<Kept>,
}

#[derive(Debug)]
struct Kept {
    range: Range<usize>,
    kind: u16,
    entry: Arc<CachedItem>,
}

/// The lowering of one new version: the previous version's items still to be matched, and the
/// items kept for the next version.
pub(super) struct Reuse {
    /// `None` when the text did not change at all.
    change: Option<TextChange>,
    /// The previous items not yet passed, in source order.
    previous: std::iter::Peekable<std::vec::IntoIter<Kept>>,
    kept: Vec<Kept>,
    /// The previous text's buffer, refilled with the new text at the end.
    buffer: String,
}

impl Reuse {
    /// Starts lowering `text`, the version after `previous` (none for a file not lowered yet).
    pub fn new(previous: Option<CachedFile>, text: &str) -> Reuse {
        let (change, previous) = match previous {
            Some(previous) => (text_change(&previous.text, text), previous),
            // Nothing to match: every node is new.
            None => (
                Some(TextChange {
                    start: 0,
                    old_end: 0,
                    new_end: text.len(),
                }),
                CachedFile::default(),
            ),
        };
        Reuse {
            change,
            kept: Vec::with_capacity(previous.items.len()),
            previous: previous.items.into_iter().peekable(),
            buffer: previous.text,
        }
    }

    /// The previous lowering of the node at `range` of the new text, if its text is unchanged
    /// and it was the same kind of node. Nodes must be asked for in source order.
    pub fn take(&mut self, range: Range<usize>, kind: u16) -> Option<Arc<CachedItem>> {
        let old = match &self.change {
            Some(change) => change.unchanged_in_old(range)?,
            None => range,
        };
        while self
            .previous
            .next_if(|kept| kept.range.start < old.start)
            .is_some()
        {}
        self.previous
            .next_if(|kept| kept.range == old && kept.kind == kind)
            .map(|kept| kept.entry)
    }

    /// Remembers the lowering of the error-free node at `range` for the next version.
    pub fn keep(&mut self, range: Range<usize>, kind: u16, entry: &Arc<CachedItem>) {
        self.kept.push(Kept {
            range,
            kind,
            entry: Arc::clone(entry),
        });
    }

    /// The version to start from next time: `text` and the items kept.
    pub fn finish(self, text: &str) -> CachedFile {
        let mut buffer = self.buffer;
        buffer.clear();
        buffer.push_str(text);
        CachedFile {
            text: buffer,
            items: self.kept,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::lower::{LowerCache, LoweredFile, lower_file, lower_file_with};
    use crate::parse::parse;

    fn lowered_with(cache: &LowerCache, text: &str) -> LoweredFile {
        lower_file_with(text, &[parse(text, None).root_node()], cache, "file.a")
    }

    #[test]
    fn every_version_lowers_as_a_fresh_lowering_does() {
        let first =
            "record R { public int a; }\npublic int x = 1;\nfunction f() -> int { return 2; }\n";
        let versions = [
            first,
            // A character inside a body, then one between items, then a line removed.
            "record R { public int a; }\npublic int x = 1;\nfunction f() -> int { return 3; }\n",
            "record R { public int a; }\n\npublic int x = 1;\nfunction f() -> int { return 3; }\n",
            "record R { public int a; }\nfunction f() -> int { return 3; }\n",
            // A syntax error typed into a declaration and removed again.
            "record R { public int a }\nfunction f() -> int { return 3; }\n",
            "record R { public int a; }\nfunction f() -> int { return 3; }\n",
            // The same text again, an item of another kind with the same text span, and nothing.
            "record R { public int a; }\nfunction f() -> int { return 3; }\n",
            "message R { int a; }\nfunction f() -> int { return 3; }\n",
            "",
            first,
        ];
        let cache = LowerCache::default();
        for text in versions {
            assert_eq!(
                lowered_with(&cache, text),
                lower_file(text, &parse(text, None)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn an_edit_inside_one_item_keeps_the_lowering_of_the_others() {
        let before = "public int x = 1;\nfunction f() -> int { return 2; }\npublic int y = 3;\n";
        let after = "public int x = 1;\nfunction f() -> int { return 22; }\npublic int y = 3;\n";
        let cache = LowerCache::default();
        let old = lowered_with(&cache, before);
        let new = lowered_with(&cache, after);
        let same: Vec<bool> = old
            .items
            .iter()
            .zip(&new.items)
            .map(|(old, new)| Arc::ptr_eq(&old.item, &new.item))
            .collect();
        assert_eq!(same, [true, false, true]);
        assert_eq!(new.items[2].offset, old.items[2].offset + 1);
    }
}
