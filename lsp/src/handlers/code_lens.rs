//! `textDocument/codeLens`: a "Run test" lens above every `test` block.
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

/// One lens per `test` block of the file at `path`, over the whole block.
pub fn code_lenses(db: &dyn Db, file: SourceFile, rope: &Rope, path: &str) -> Vec<CodeLens> {
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
            Some(CodeLens {
                range: range_of(rope, lowered_item.span(hir.node)),
                command: Some(Command {
                    title: RUN_TEST_TITLE.to_owned(),
                    command: RUN_TEST_COMMAND.to_owned(),
                    arguments: Some(vec![
                        Value::String(path.to_owned()),
                        Value::String(name.name.clone()),
                    ]),
                }),
                data: None,
            })
        })
        .collect()
}
