//! `textDocument/codeAction`: quick fixes for the diagnostics in the requested range: insert a
//! missing `;`, replace a misspelt name by the one the diagnostic suggests, and declare a missing
//! state block or message at the end of the file.

use adama_compiler::{Db, SourceFile, queries};
use ropey::Rope;
use tower_lsp_server::ls_types::{CodeAction, CodeActionKind, TextEdit, Uri, WorkspaceEdit};

use crate::convert::{diagnostic as protocol_diagnostic, range_of};

/// The quick fixes for the diagnostics overlapping `range` (byte offsets).
pub fn code_actions(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    uri: &Uri,
    range: std::ops::Range<usize>,
) -> Vec<CodeAction> {
    let mut actions = Vec::new();
    for diagnostic in queries::diagnostics(db, file) {
        if diagnostic.range.end < range.start || diagnostic.range.start > range.end {
            continue;
        }
        let end = rope.len_bytes();
        let fix = if let Some(label) = quoted_after(&diagnostic.message, "a state machine label '")
        {
            Some((
                format!("Create state #{label}"),
                end..end,
                format!("\n#{label} {{\n}}\n"),
            ))
        } else if let Some(name) = quoted_after(&diagnostic.message, "a message named '")
            .or_else(|| quoted_after(&diagnostic.message, "Type not found: the type '"))
        {
            Some((
                format!("Create message {name}"),
                end..end,
                format!("\nmessage {name} {{\n}}\n"),
            ))
        } else if diagnostic.message.starts_with("expected ';'") {
            Some((
                "Insert ';'".to_owned(),
                diagnostic.range.start..diagnostic.range.start,
                ";".to_owned(),
            ))
        } else {
            diagnostic
                .help
                .as_deref()
                .and_then(|help| help.strip_prefix("did you mean '"))
                .and_then(|rest| rest.strip_suffix("'?"))
                .map(|suggestion| {
                    (
                        format!("Change to '{suggestion}'"),
                        diagnostic.range.clone(),
                        suggestion.to_owned(),
                    )
                })
        };
        let Some((title, span, text)) = fix else {
            continue;
        };
        let edit = TextEdit::new(range_of(rope, span), text);
        actions.push(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![protocol_diagnostic(rope, diagnostic)]),
            edit: Some(WorkspaceEdit {
                changes: Some(std::iter::once((uri.clone(), vec![edit])).collect()),
                ..WorkspaceEdit::default()
            }),
            is_preferred: Some(true),
            ..CodeAction::default()
        });
    }
    actions
}

/// The text between `prefix` and the next quote in a message.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let start = message.find(prefix)? + prefix.len();
    let rest = message.get(start..)?;
    rest.find('\'')
        .and_then(|end| rest.get(..end))
        .filter(|name| !name.is_empty())
}
