//! Conversions between protocol positions (UTF-16 code units) and compiler byte offsets, and
//! from compiler diagnostics (with their related locations and fixes) to protocol values.

use std::ops::Range as ByteRange;

use adama_compiler::{Diagnostic as CompilerDiagnostic, Fix, Severity};
use ropey::Rope;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity,
    Location, NumberOrString, Position, Range, TextEdit, Uri, WorkspaceEdit,
};

/// The byte offset of a protocol position; positions past a line's end clamp to it.
pub fn offset_of(rope: &Rope, position: Position) -> usize {
    let line = (position.line as usize).min(rope.len_lines().saturating_sub(1));
    let line_start_char = rope.line_to_char(line);
    let line_slice = rope.line(line);
    let mut line_chars = line_slice.len_chars();
    // A position past the end of a line stops before the line break.
    while line_chars > 0 && matches!(line_slice.char(line_chars - 1), '\n' | '\r') {
        line_chars -= 1;
    }
    let line_start_utf16 = rope.char_to_utf16_cu(line_start_char);
    let wanted_utf16 = line_start_utf16 + position.character as usize;
    let line_end_utf16 = rope.char_to_utf16_cu(line_start_char + line_chars);
    let char_index = rope.utf16_cu_to_char(wanted_utf16.min(line_end_utf16));
    rope.char_to_byte(char_index)
}

/// The protocol position of a byte offset.
pub fn position_of(rope: &Rope, offset: usize) -> Position {
    let offset = offset.min(rope.len_bytes());
    let char_index = rope.byte_to_char(offset);
    let line = rope.char_to_line(char_index);
    let line_start = rope.line_to_char(line);
    let character = rope.char_to_utf16_cu(char_index) - rope.char_to_utf16_cu(line_start);
    Position::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(character).unwrap_or(u32::MAX),
    )
}

/// The protocol range of a byte range.
pub fn range_of(rope: &Rope, range: ByteRange<usize>) -> Range {
    Range::new(position_of(rope, range.start), position_of(rope, range.end))
}

/// A compiler diagnostic as the protocol shows it; the hint follows the message, and the related
/// locations become related information in the same document.
pub fn diagnostic(rope: &Rope, uri: &Uri, diagnostic: &CompilerDiagnostic) -> Diagnostic {
    let severity = match diagnostic.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    };
    let message = match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    };
    Diagnostic {
        range: range_of(rope, diagnostic.range.clone()),
        severity: Some(severity),
        code: Some(NumberOrString::String(diagnostic.code.as_str().to_owned())),
        source: Some("adama".to_owned()),
        message,
        related_information: (!diagnostic.related.is_empty()).then(|| {
            diagnostic
                .related
                .iter()
                .map(|label| DiagnosticRelatedInformation {
                    location: Location::new(uri.clone(), range_of(rope, label.range.clone())),
                    message: label.message.clone(),
                })
                .collect()
        }),
        ..Diagnostic::default()
    }
}

/// A fix of a compiler diagnostic as a quick fix that edits the document.
pub fn quick_fix(
    rope: &Rope,
    uri: &Uri,
    diagnostic: &CompilerDiagnostic,
    fix: &Fix,
    preferred: bool,
) -> CodeAction {
    let edits = fix
        .edits
        .iter()
        .map(|edit| TextEdit::new(range_of(rope, edit.range.clone()), edit.text.clone()))
        .collect();
    CodeAction {
        title: fix.title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![self::diagnostic(rope, uri, diagnostic)]),
        edit: Some(WorkspaceEdit {
            changes: Some(std::iter::once((uri.clone(), edits)).collect()),
            ..WorkspaceEdit::default()
        }),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_offsets_round_trip_through_non_ascii_text() {
        let rope = Rope::from_str("a\u{1F600}b\nc\u{e9}d\n");
        for offset in [0, 1, 5, 6, 7, 8, 10, 11] {
            assert_eq!(
                offset_of(&rope, position_of(&rope, offset)),
                offset,
                "{offset}"
            );
        }
        assert_eq!(position_of(&rope, 5), Position::new(0, 3));
        assert_eq!(
            offset_of(&rope, Position::new(0, 99)),
            6,
            "past the end of a line clamps to it"
        );
    }
}
