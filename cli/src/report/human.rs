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

use super::{Entry, FileReport, RelatedEntry};

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
    // Related locations on the primary line are drawn under the same quote, the others under
    // quotes of their own, in the order of the diagnostic.
    let (same_line, elsewhere): (Vec<&RelatedEntry>, Vec<&RelatedEntry>) = entry
        .related
        .iter()
        .partition(|related| related.span.start_chars.line == entry.start_chars.line);
    let mut underlines = vec![primary];
    underlines.extend(same_line.iter().map(|related| related_underline(related)));
    if quote(out, &gutter, lines, &underlines)? {
        for related in elsewhere {
            if !quote(out, &gutter, lines, &[related_underline(related)])? {
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

fn related_underline(related: &RelatedEntry) -> Underline<'_> {
    Underline {
        start: related.span.start_chars,
        end: related.span.end_chars,
        mark: '-',
        message: Some(&related.message),
    }
}

/// Quotes the line of the first underline with the marks of every underline under it (all on
/// that line), and their labels: after the marks when the one label is rightmost, otherwise each
/// on a line of its own below, hanging from its marks. Returns false when the file has no such
/// line.
fn quote(
    out: &mut impl Write,
    gutter: &str,
    lines: &[&str],
    underlines: &[Underline<'_>],
) -> io::Result<bool> {
    let Some(first) = underlines.first() else {
        return Ok(false);
    };
    let line_number = first.start.line as usize + 1;
    let Some(source_line) = lines.get(line_number - 1) else {
        return Ok(false);
    };
    let source_line = source_line.trim_end_matches('\r');
    let source: Vec<char> = source_line.chars().collect();
    // Columns and widths in characters.
    let spans: Vec<(usize, usize)> = underlines
        .iter()
        .map(|underline| {
            let column = underline.start.character as usize;
            let width = if underline.end.line == underline.start.line {
                (underline
                    .end
                    .character
                    .saturating_sub(underline.start.character) as usize)
                    .max(1)
            } else {
                source.len().saturating_sub(column).max(1)
            };
            (column, width)
        })
        .collect();
    let right_end = spans
        .iter()
        .map(|(column, width)| column + width)
        .max()
        .unwrap_or(0);
    // Tabs are kept so that the marks line up under them in a terminal.
    let blank = |column: usize| {
        if source.get(column) == Some(&'\t') {
            '\t'
        } else {
            ' '
        }
    };
    let mut marks: Vec<char> = (0..right_end).map(blank).collect();
    for (underline, (column, width)) in underlines.iter().zip(&spans) {
        for slot in marks.iter_mut().skip(*column).take(*width) {
            *slot = underline.mark;
        }
    }
    let number = format!("{line_number:>width$}", width = gutter.len());
    writeln!(out, "{gutter} |")?;
    writeln!(out, "{number} | {source_line}")?;
    let mut labelled: Vec<(usize, &str)> = underlines
        .iter()
        .zip(&spans)
        .filter_map(|(underline, (column, _))| underline.message.map(|message| (*column, message)))
        .collect();
    let marks: String = marks.into_iter().collect();
    match labelled.as_slice() {
        [] => writeln!(out, "{gutter} | {marks}")?,
        [(column, message)]
            if spans
                .iter()
                .all(|(other, width)| other + width <= *column || other == column) =>
        {
            writeln!(out, "{gutter} | {marks} {message}")?
        }
        _ => {
            writeln!(out, "{gutter} | {marks}")?;
            // Rightmost label first, so that the bars of the others pass to its left.
            labelled.sort_by_key(|(column, _)| std::cmp::Reverse(*column));
            for (index, (column, message)) in labelled.iter().enumerate() {
                let bars = |up_to: usize| -> String {
                    let mut text: Vec<char> = (0..up_to).map(blank).collect();
                    for (other, _) in &labelled[index..] {
                        if let Some(slot) = text.get_mut(*other) {
                            *slot = '|';
                        }
                    }
                    text.into_iter().collect::<String>().trim_end().to_owned()
                };
                writeln!(out, "{gutter} | {}", bars(column + 1))?;
                let mut lead = bars(*column);
                while lead.chars().count() < *column {
                    lead.push(blank(lead.chars().count()));
                }
                writeln!(out, "{gutter} | {lead}{message}")?;
            }
        }
    }
    Ok(true)
}
