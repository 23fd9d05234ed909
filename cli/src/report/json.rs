//! The JSON format of `adama check`: one array of diagnostics on stdout.
//!
//! The shape is a contract that editors and scripts depend on; docs/cli.md describes it. Lines and
//! characters are 0-based, characters counted in UTF-16 code units as in the Language Server
//! Protocol.

use std::io::{self, Write};

use serde::Serialize;

use super::{Entry, FileReport, Span};

#[derive(Debug, Serialize)]
struct JsonPosition {
    line: u32,
    character: u32,
}

#[derive(Debug, Serialize)]
struct JsonRange {
    start: JsonPosition,
    end: JsonPosition,
}

impl JsonRange {
    fn of(span: &Span) -> JsonRange {
        JsonRange {
            start: JsonPosition {
                line: span.start_utf16.line,
                character: span.start_utf16.character,
            },
            end: JsonPosition {
                line: span.end_utf16.line,
                character: span.end_utf16.character,
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct JsonRelated<'report> {
    range: JsonRange,
    message: &'report str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonEdit<'report> {
    range: JsonRange,
    new_text: &'report str,
}

#[derive(Debug, Serialize)]
struct JsonFix<'report> {
    title: &'report str,
    edits: Vec<JsonEdit<'report>>,
}

#[derive(Debug, Serialize)]
struct JsonDiagnostic<'report> {
    file: &'report str,
    range: JsonRange,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    message: &'report str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'report str>,
    related: Vec<JsonRelated<'report>>,
    fixes: Vec<JsonFix<'report>>,
}

fn to_json<'report>(file: &'report str, entry: &'report Entry) -> JsonDiagnostic<'report> {
    let span = Span {
        start_utf16: entry.start_utf16,
        end_utf16: entry.end_utf16,
        start_chars: entry.start_chars,
        end_chars: entry.end_chars,
    };
    JsonDiagnostic {
        file,
        range: JsonRange::of(&span),
        severity: entry.severity.as_str(),
        code: Some(entry.code.as_str()),
        message: &entry.message,
        help: entry.help.as_deref(),
        related: entry
            .related
            .iter()
            .map(|related| JsonRelated {
                range: JsonRange::of(&related.span),
                message: &related.message,
            })
            .collect(),
        fixes: entry
            .fixes
            .iter()
            .map(|fix| JsonFix {
                title: &fix.title,
                edits: fix
                    .edits
                    .iter()
                    .map(|edit| JsonEdit {
                        range: JsonRange::of(&edit.span),
                        new_text: &edit.text,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Writes every diagnostic of every report as one JSON array, followed by a newline.
pub fn write(out: &mut impl Write, reports: &[FileReport]) -> io::Result<()> {
    let diagnostics: Vec<JsonDiagnostic<'_>> = reports
        .iter()
        .flat_map(|report| {
            report
                .entries
                .iter()
                .map(|entry| to_json(&report.file, entry))
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &diagnostics).map_err(io::Error::other)?;
    writeln!(out)
}
