//! Diagnostics of one file, resolved to lines and columns, ready to print in either format.

pub mod human;
pub mod json;

use std::ops::Range;

use adama_compiler::{Code, Diagnostic, LineIndex, Position, Severity, SourceError};

/// A range of a file in both position encodings.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// Start and end, columns in UTF-16 code units (the JSON contract).
    pub start_utf16: Position,
    pub end_utf16: Position,
    /// Start and end, columns in characters (what a person counts).
    pub start_chars: Position,
    pub end_chars: Position,
}

impl Span {
    fn of(index: &LineIndex, text: &str, range: &Range<usize>) -> Span {
        Span {
            start_utf16: index.position_utf16(text, range.start),
            end_utf16: index.position_utf16(text, range.end),
            start_chars: index.position_chars(text, range.start),
            end_chars: index.position_chars(text, range.end),
        }
    }

    fn at(position: Position) -> Span {
        Span {
            start_utf16: position,
            end_utf16: position,
            start_chars: position,
            end_chars: position,
        }
    }
}

/// A related location of a diagnostic ("first defined here").
#[derive(Debug, Clone)]
pub struct RelatedEntry {
    pub span: Span,
    pub message: String,
}

/// One edit of a fix: the text that replaces a span.
#[derive(Debug, Clone)]
pub struct EditEntry {
    pub span: Span,
    pub text: String,
}

/// A fix of a diagnostic, as a title and edits.
#[derive(Debug, Clone)]
pub struct FixEntry {
    pub title: String,
    pub edits: Vec<EditEntry>,
}

/// One diagnostic with its positions computed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Start and end, columns in UTF-16 code units (the JSON contract).
    pub start_utf16: Position,
    pub end_utf16: Position,
    /// Start and end, columns in characters (what a person counts).
    pub start_chars: Position,
    pub end_chars: Position,
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    pub related: Vec<RelatedEntry>,
    pub fixes: Vec<FixEntry>,
}

/// The diagnostics of one file, plus its text when it has one (to quote source lines).
#[derive(Debug, Clone)]
pub struct FileReport {
    pub file: String,
    pub text: Option<String>,
    pub entries: Vec<Entry>,
}

impl FileReport {
    /// Resolves the diagnostics of a text file.
    pub fn from_text(file: String, text: String, diagnostics: Vec<Diagnostic>) -> FileReport {
        let index = LineIndex::new(&text);
        let entries = diagnostics
            .into_iter()
            .map(|diagnostic| {
                let span = Span::of(&index, &text, &diagnostic.range);
                Entry {
                    start_utf16: span.start_utf16,
                    end_utf16: span.end_utf16,
                    start_chars: span.start_chars,
                    end_chars: span.end_chars,
                    severity: diagnostic.severity,
                    code: diagnostic.code,
                    message: diagnostic.message,
                    help: diagnostic.help,
                    related: diagnostic
                        .related
                        .into_iter()
                        .map(|label| RelatedEntry {
                            span: Span::of(&index, &text, &label.range),
                            message: label.message,
                        })
                        .collect(),
                    fixes: diagnostic
                        .fixes
                        .into_iter()
                        .map(|fix| FixEntry {
                            title: fix.title,
                            edits: fix
                                .edits
                                .into_iter()
                                .map(|edit| EditEntry {
                                    span: Span::of(&index, &text, &edit.range),
                                    text: edit.text,
                                })
                                .collect(),
                        })
                        .collect(),
                }
            })
            .collect();
        FileReport {
            file,
            text: Some(text),
            entries,
        }
    }

    /// The report of a file whose bytes are not text.
    pub fn not_text(file: String, error: &SourceError) -> FileReport {
        let position = Position {
            line: u32::try_from(error.line).unwrap_or(u32::MAX),
            character: u32::try_from(error.column).unwrap_or(u32::MAX),
        };
        let span = Span::at(position);
        let entry = Entry {
            start_utf16: span.start_utf16,
            end_utf16: span.end_utf16,
            start_chars: span.start_chars,
            end_chars: span.end_chars,
            severity: Severity::Error,
            code: Code::NotText,
            message: error.to_string(),
            help: Some(error.help().to_owned()),
            related: Vec::new(),
            fixes: Vec::new(),
        };
        FileReport {
            file,
            text: None,
            entries: vec![entry],
        }
    }
}
