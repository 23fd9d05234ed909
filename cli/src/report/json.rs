//! The JSON format of `adama check`: one array of diagnostics on stdout.
//!
//! The shape is a contract that editors and scripts depend on; docs/cli.md describes it. Lines and
//! characters are 0-based, characters counted in UTF-16 code units as in the Language Server
//! Protocol.

use std::io::{self, Write};

use serde::Serialize;

use super::{Entry, FileReport};

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

#[derive(Debug, Serialize)]
struct JsonDiagnostic<'report> {
    file: &'report str,
    range: JsonRange,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    message: &'report str,
}

fn to_json<'report>(file: &'report str, entry: &'report Entry) -> JsonDiagnostic<'report> {
    JsonDiagnostic {
        file,
        range: JsonRange {
            start: JsonPosition {
                line: entry.start_utf16.line,
                character: entry.start_utf16.character,
            },
            end: JsonPosition {
                line: entry.end_utf16.line,
                character: entry.end_utf16.character,
            },
        },
        severity: entry.severity.as_str(),
        code: Some(entry.code.as_str()),
        message: &entry.message,
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
