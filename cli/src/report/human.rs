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
//! Related locations are quoted the same way, underlined with `-` and labelled. Lines and columns
//! are 1-based, columns counted in characters.

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
    // One gutter width for every quoted line, so that the bars line up.
    let widest = std::iter::once(entry.start_chars.line)
        .chain(
            entry
                .related
                .iter()
                .map(|related| related.span.start_chars.line),
        )
        .max()
        .unwrap_or(0) as usize
        + 1;
    let gutter = " ".repeat(widest.to_string().len());
    let primary = Underline {
        start: entry.start_chars,
        end: entry.end_chars,
        mark: '^',
        message: None,
    };
    if quote(out, &gutter, lines, &primary)? {
        for related in &entry.related {
            let underline = Underline {
                start: related.span.start_chars,
                end: related.span.end_chars,
                mark: '-',
                message: Some(&related.message),
            };
            if !quote(out, &gutter, lines, &underline)? {
                writeln!(
                    out,
                    "{gutter} = note: {} at {}:{}",
                    related.message,
                    related.span.start_chars.line + 1,
                    related.span.start_chars.character + 1
                )?;
            }
        }
        if let Some(help) = &entry.help {
            writeln!(out, "{gutter} = help: {help}")?;
        }
    } else if let Some(help) = &entry.help {
        writeln!(out, "  = help: {help}")?;
    }
    writeln!(out)
}

/// A span to underline in a quoted source line.
struct Underline<'entry> {
    start: adama_compiler::Position,
    end: adama_compiler::Position,
    mark: char,
    message: Option<&'entry str>,
}

/// Quotes the line of `underline` with its marks under it (and its message after them).
/// Returns false when the file has no such line.
fn quote(
    out: &mut impl Write,
    gutter: &str,
    lines: &[&str],
    underline: &Underline<'_>,
) -> io::Result<bool> {
    let line_number = underline.start.line as usize + 1;
    let column = underline.start.character as usize + 1;
    let Some(source_line) = lines.get(line_number - 1) else {
        return Ok(false);
    };
    let source_line = source_line.trim_end_matches('\r');
    let width = if underline.end.line == underline.start.line {
        (underline
            .end
            .character
            .saturating_sub(underline.start.character) as usize)
            .max(1)
    } else {
        source_line
            .chars()
            .count()
            .saturating_sub(column - 1)
            .max(1)
    };
    // Tabs are kept so that the marks line up under them in a terminal.
    let padding: String = source_line
        .chars()
        .take(column - 1)
        .map(|character| if character == '\t' { '\t' } else { ' ' })
        .collect();
    let marks: String = std::iter::repeat_n(underline.mark, width).collect();
    let number = format!("{line_number:>width$}", width = gutter.len());
    writeln!(out, "{gutter} |")?;
    writeln!(out, "{number} | {source_line}")?;
    match underline.message {
        Some(message) => writeln!(out, "{gutter} | {padding}{marks} {message}")?,
        None => writeln!(out, "{gutter} | {padding}{marks}")?,
    }
    Ok(true)
}
