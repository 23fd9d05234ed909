//! The human format of `adama check`, in the manner of rustc:
//!
//! ```text
//! counter.a:3:13: error: expected ';' after the field declaration [E0002]
//!   |
//! 3 | public int x
//!   |             ^
//!   = help: add ';' here
//! ```
//!
//! Lines and columns are 1-based, columns counted in characters.

use std::io::{self, Write};

use super::{Entry, FileReport};

/// Writes every report, then a one-line summary.
pub fn write(out: &mut impl Write, reports: &[FileReport]) -> io::Result<()> {
    let mut n_errors = 0usize;
    let mut n_files_with_errors = 0usize;
    for report in reports {
        let lines: Vec<&str> = report
            .text
            .as_deref()
            .map(|text| text.split('\n').collect())
            .unwrap_or_default();
        for entry in &report.entries {
            write_entry(out, &report.file, &lines, entry)?;
        }
        let errors = report
            .entries
            .iter()
            .filter(|entry| entry.severity == adama_compiler::Severity::Error)
            .count();
        n_errors += errors;
        n_files_with_errors += usize::from(errors > 0);
    }
    match (n_errors, reports.len()) {
        (0, 1) => writeln!(out, "no errors"),
        (0, n_files) => writeln!(out, "no errors in {n_files} files"),
        (1, _) => writeln!(out, "1 error"),
        (n, _) if n_files_with_errors == 1 => writeln!(out, "{n} errors"),
        (n, _) => writeln!(out, "{n} errors in {n_files_with_errors} files"),
    }
}

fn write_entry(out: &mut impl Write, file: &str, lines: &[&str], entry: &Entry) -> io::Result<()> {
    let line_number = entry.start_chars.line as usize + 1;
    let column = entry.start_chars.character as usize + 1;
    writeln!(
        out,
        "{file}:{line_number}:{column}: {}: {} [{}]",
        entry.severity, entry.message, entry.code
    )?;
    if let Some(source_line) = lines.get(line_number - 1) {
        let source_line = source_line.trim_end_matches('\r');
        let gutter = " ".repeat(line_number.to_string().len());
        let width = if entry.end_chars.line == entry.start_chars.line {
            (entry
                .end_chars
                .character
                .saturating_sub(entry.start_chars.character) as usize)
                .max(1)
        } else {
            source_line
                .chars()
                .count()
                .saturating_sub(column - 1)
                .max(1)
        };
        // Tabs are kept so that the caret lines up under them in a terminal.
        let padding: String = source_line
            .chars()
            .take(column - 1)
            .map(|character| if character == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(out, "{gutter} |")?;
        writeln!(out, "{line_number} | {source_line}")?;
        writeln!(out, "{gutter} | {padding}{}", "^".repeat(width))?;
        for (position, message) in &entry.related {
            writeln!(
                out,
                "{gutter} = note: {message} at {}:{}",
                position.line + 1,
                position.character + 1
            )?;
        }
        if let Some(help) = &entry.help {
            writeln!(out, "{gutter} = help: {help}")?;
        }
    } else if let Some(help) = &entry.help {
        writeln!(out, "  = help: {help}")?;
    }
    writeln!(out)
}
