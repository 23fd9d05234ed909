//! An open document: its text as a rope, edited in place by the client's incremental changes.

use ropey::Rope;
use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use crate::convert::offset_of;

/// The text of an open document and the version the client gave it.
#[derive(Debug, Clone)]
pub struct Document {
    pub rope: Rope,
    pub version: i32,
}

impl Document {
    pub fn new(text: &str, version: i32) -> Document {
        Document {
            rope: Rope::from_str(text),
            version,
        }
    }

    /// Applies one change: a range replacement, or the whole text when the change has no range.
    pub fn apply(&mut self, change: &TextDocumentContentChangeEvent) {
        let Some(range) = change.range else {
            self.rope = Rope::from_str(&change.text);
            return;
        };
        let start = self.rope.byte_to_char(offset_of(&self.rope, range.start));
        let end = self
            .rope
            .byte_to_char(offset_of(&self.rope, range.end))
            .max(start);
        self.rope.remove(start..end);
        self.rope.insert(start, &change.text);
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range};

    fn change(start: (u32, u32), end: (u32, u32), text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(
                Position::new(start.0, start.1),
                Position::new(end.0, end.1),
            )),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn incremental_changes_count_utf16_units() {
        let mut document = Document::new("public string s = \"\u{1F600}x\";\n", 1);
        // The emoji is two UTF-16 units: `x` starts at character 21.
        document.apply(&change((0, 21), (0, 22), "y"));
        assert_eq!(document.text(), "public string s = \"\u{1F600}y\";\n");
        document.apply(&change((1, 0), (1, 0), "public int n;\n"));
        assert_eq!(
            document.text(),
            "public string s = \"\u{1F600}y\";\npublic int n;\n"
        );
    }
}
