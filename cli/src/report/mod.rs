//! Diagnostics of one file, resolved to lines and columns, ready to print in either format.

pub mod human;
pub mod json;

use adama_compiler::{Code, Diagnostic, LineIndex, Position, Severity, SourceError};

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
    /// Related locations: (position in characters, message).
    pub related: Vec<(Position, String)>,
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
            .map(|diagnostic| Entry {
                start_utf16: index.position_utf16(&text, diagnostic.range.start),
                end_utf16: index.position_utf16(&text, diagnostic.range.end),
                start_chars: index.position_chars(&text, diagnostic.range.start),
                end_chars: index.position_chars(&text, diagnostic.range.end),
                severity: diagnostic.severity,
                code: diagnostic.code,
                message: diagnostic.message,
                help: diagnostic.help,
                related: diagnostic
                    .related
                    .into_iter()
                    .map(|label| {
                        (
                            index.position_chars(&text, label.range.start),
                            label.message,
                        )
                    })
                    .collect(),
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
        let entry = Entry {
            start_utf16: position,
            end_utf16: position,
            start_chars: position,
            end_chars: position,
            severity: Severity::Error,
            code: Code::NotText,
            message: error.to_string(),
            help: Some(error.help().to_owned()),
            related: Vec::new(),
        };
        FileReport {
            file,
            text: None,
            entries: vec![entry],
        }
    }
}
