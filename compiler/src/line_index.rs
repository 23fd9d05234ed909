//! Conversion between byte offsets and line/column positions.
//!
//! Diagnostics carry byte ranges; tools want lines and columns. Columns come in two units: UTF-16
//! code units (the Language Server Protocol's default, and the JSON output of `adama check`) and
//! Unicode scalar values (what a person counts, for the human output).

/// A 0-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// The start offset of every line of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`. Lines end at `\n`; a `\r` before it belongs to the line.
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(offset, _)| offset + 1),
        );
        LineIndex { line_starts }
    }

    /// The 0-based line holding byte `offset` (offsets past the end map to the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next_line) => next_line.saturating_sub(1),
        }
    }

    /// The byte range of a line, without its line terminator.
    pub fn line_range(&self, text: &str, line: usize) -> std::ops::Range<usize> {
        let start = self.line_starts.get(line).copied().unwrap_or(text.len());
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(text.len(), |next| next.saturating_sub(1));
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        start..end.max(start)
    }

    /// The number of lines (a text with no newline has one).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The position of `offset` with the column in UTF-16 code units.
    pub fn position_utf16(&self, text: &str, offset: usize) -> Position {
        self.position_with(text, offset, |prefix| prefix.encode_utf16().count())
    }

    /// The position of `offset` with the column in Unicode scalar values.
    pub fn position_chars(&self, text: &str, offset: usize) -> Position {
        self.position_with(text, offset, |prefix| prefix.chars().count())
    }

    fn position_with(&self, text: &str, offset: usize, width: impl Fn(&str) -> usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let line_start = self.line_starts.get(line).copied().unwrap_or(0).min(offset);
        let column = text.get(line_start..offset).map_or(0, width);
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// The largest char boundary at or below `offset`.
fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_units_and_characters_differently() {
        let text = "a\n\u{1F600}x\n";
        let index = LineIndex::new(text);
        let x_offset = text.find('x').unwrap_or_default();
        assert_eq!(
            index.position_utf16(text, x_offset),
            Position {
                line: 1,
                character: 2
            }
        );
        assert_eq!(
            index.position_chars(text, x_offset),
            Position {
                line: 1,
                character: 1
            }
        );
    }

    #[test]
    fn line_ranges_exclude_carriage_returns() {
        let text = "ab\r\ncd";
        let index = LineIndex::new(text);
        assert_eq!(&text[index.line_range(text, 0)], "ab");
        assert_eq!(&text[index.line_range(text, 1)], "cd");
        assert_eq!(index.line_count(), 2);
    }
}
