//! `textDocument/codeLens`: a "Run test" lens above every `test` block (with a "Debug test" lens
//! beside it for a client that says it can debug one), and a "N references"
//! lens above every record, message, enum, function and procedure (resolved only when the editor
//! shows it, since counting walks the file).
//!
//! The lens carries the command [`RUN_TEST_COMMAND`] with the file's path and the test's name.
//! The editor runs it (`adama test FILE --test NAME`), not this server: the server never runs
//! Adama code and knows nothing of the runtime, and an editor shows a test's output in a terminal
//! far better than a notification could.

use adama_compiler::hir::Decl;
use adama_compiler::queries::{file_items, lowered};
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use serde_json::Value;
use tower_lsp_server::ls_types::{CodeLens, Command};

use crate::convert::range_of;

/// The command of the "Run test" lens; its arguments are the file's path and the test's name.
pub const RUN_TEST_COMMAND: &str = "adama.runTest";

/// The title of the "Run test" lens.
pub const RUN_TEST_TITLE: &str = "\u{25b6} Run test";

/// The command of the "Debug test" lens; its arguments are the file's path and the test's name.
/// The editor starts a debug session of type `adama` with `program` and `test` (`adama dap`).
pub const DEBUG_TEST_COMMAND: &str = "adama.debugTest";

/// The title of the "Debug test" lens.
pub const DEBUG_TEST_TITLE: &str = "Debug test";

/// The key of `initializationOptions` by which a client says it runs [`DEBUG_TEST_COMMAND`]:
/// `{"debugTestLens": true}`. Other clients get no lens they could not follow.
pub const DEBUG_TEST_OPTION: &str = "debugTestLens";

/// The command of the "N references" lens: its arguments are the document's URI, the position of
/// the declaration and the locations of its uses (what editors' "show references" takes).
pub const SHOW_REFERENCES_COMMAND: &str = "adama.showReferences";

/// A "N references" lens still to be resolved: the declaration's name, by offset.
pub fn reference_lenses(db: &dyn Db, file: SourceFile, rope: &Rope, uri: &str) -> Vec<CodeLens> {
    let lowered = lowered(db, file);
    file_items(db, file)
        .iter()
        .zip(&lowered.items)
        .filter_map(|(item, lowered_item)| {
            let hir = item.hir(db);
            let name = match &hir.decl {
                Decl::Record(record) => &record.name,
                Decl::Message(message) => &message.name,
                Decl::Enum(enumeration) => &enumeration.name,
                Decl::Function(function) | Decl::Procedure(function) => &function.name,
                _ => return None,
            };
            if name.name.is_empty() {
                return None;
            }
            let span = lowered_item.span(name.node);
            Some(CodeLens {
                range: range_of(rope, span.clone()),
                command: None,
                data: Some(serde_json::json!({"uri": uri, "offset": span.start})),
            })
        })
        .collect()
}

/// Resolves a "N references" lens: counts the uses of the declaration (not the declaration).
pub fn resolve_references(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    uri: &str,
    offset: usize,
    mut lens: CodeLens,
) -> CodeLens {
    let declaration = crate::handlers::definition::definition(db, file, offset);
    let uses: Vec<_> = crate::handlers::references::references(db, file, offset)
        .into_iter()
        .filter(|span| {
            declaration
                .as_ref()
                .is_none_or(|target| !target.contains(&span.start))
        })
        .collect();
    let title = match uses.len() {
        1 => "1 reference".to_owned(),
        count => format!("{count} references"),
    };
    let locations: Vec<Value> = uses
        .iter()
        .map(|span| serde_json::json!({"uri": uri, "range": range_of(rope, span.clone())}))
        .collect();
    lens.command = Some(Command {
        title,
        command: SHOW_REFERENCES_COMMAND.to_owned(),
        arguments: Some(vec![
            Value::String(uri.to_owned()),
            serde_json::to_value(lens.range.start).unwrap_or(Value::Null),
            Value::Array(locations),
        ]),
    });
    lens
}

/// A "Run test" lens per `test` block of the file at `path`, over the whole block, and, when
/// `debug`, a "Debug test" lens beside each.
pub fn code_lenses(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    path: &str,
    debug: bool,
) -> Vec<CodeLens> {
    let lowered = lowered(db, file);
    file_items(db, file)
        .iter()
        .zip(&lowered.items)
        .filter_map(|(item, lowered_item)| {
            let hir = item.hir(db);
            let Decl::Test { name, .. } = &hir.decl else {
                return None;
            };
            // A test block still being typed has no name yet, and nothing to run.
            if name.name.is_empty() {
                return None;
            }
            let range = range_of(rope, lowered_item.span(hir.node));
            let lens = |title: &str, command: &str| CodeLens {
                range,
                command: Some(Command {
                    title: title.to_owned(),
                    command: command.to_owned(),
                    arguments: Some(vec![
                        Value::String(path.to_owned()),
                        Value::String(name.name.clone()),
                    ]),
                }),
                data: None,
            };
            let mut lenses = vec![lens(RUN_TEST_TITLE, RUN_TEST_COMMAND)];
            if debug {
                lenses.push(lens(DEBUG_TEST_TITLE, DEBUG_TEST_COMMAND));
            }
            Some(lenses)
        })
        .flatten()
        .collect()
}
