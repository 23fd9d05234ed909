//! Turning the bytes of a file into source text, or saying precisely why they are not text.
//!
//! Adama sources are UTF-8. A file holding NUL bytes is taken for a binary file; a file with an
//! invalid UTF-8 sequence is reported at that sequence. Both are reported, never guessed around.

use std::fmt;

/// Why a file's bytes are not Adama source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The byte offset of the first offending byte.
    pub offset: usize,
    /// The 0-based line of that byte.
    pub line: usize,
    /// The 0-based byte column of that byte within its line.
    pub column: usize,
    pub kind: SourceErrorKind,
}

/// The kinds of non-text input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// The file holds a NUL byte, which no text file does.
    Binary,
    /// The file holds a byte sequence that is not UTF-8.
    InvalidUtf8,
}

impl fmt::Display for SourceError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SourceErrorKind::Binary => write!(
                formatter,
                "this looks like a binary file: it holds a NUL byte at offset {}",
                self.offset
            ),
            SourceErrorKind::InvalidUtf8 => write!(
                formatter,
                "the file is not valid UTF-8: the byte sequence at offset {} is not a character",
                self.offset
            ),
        }
    }
}

impl SourceError {
    /// The hint shown with the error.
    pub fn help(&self) -> &'static str {
        match self.kind {
            SourceErrorKind::Binary => {
                "Adama sources are text files; check that the right file was named"
            }
            SourceErrorKind::InvalidUtf8 => "save the file as UTF-8",
        }
    }
}

/// Decodes a file's bytes as UTF-8 source text. A leading byte-order mark is dropped.
pub fn decode_source(bytes: &[u8]) -> Result<String, SourceError> {
    if let Some(offset) = bytes.iter().position(|byte| *byte == 0) {
        return Err(source_error(bytes, offset, SourceErrorKind::Binary));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(error) => Err(source_error(
            bytes,
            error.valid_up_to(),
            SourceErrorKind::InvalidUtf8,
        )),
    }
}

fn source_error(bytes: &[u8], offset: usize, kind: SourceErrorKind) -> SourceError {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|byte| **byte == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |newline| newline + 1);
    SourceError {
        offset,
        line,
        column: offset - line_start,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_byte_marks_a_binary_file_at_its_line() {
        let error = decode_source(b"public int x;\n\x00\x01").err();
        assert_eq!(
            error.map(|e| (e.kind, e.line, e.column)),
            Some((SourceErrorKind::Binary, 1, 0))
        );
    }

    #[test]
    fn invalid_utf8_is_located() {
        let error = decode_source(b"ab\ncd\xFFe").err();
        assert_eq!(
            error.map(|e| (e.kind, e.offset, e.line, e.column)),
            Some((SourceErrorKind::InvalidUtf8, 5, 1, 2))
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        assert_eq!(
            decode_source(b"\xEF\xBB\xBFint x;").ok().as_deref(),
            Some("int x;")
        );
    }
}
