//! The server in process: real JSON-RPC requests in, responses asserted.

mod common;

use common::{Harness, PROGRAM, URI, apply_edits, errors, labels};
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_lsp_server::LspService;
use tower_lsp_server::jsonrpc::Request;

#[tokio::test]
async fn opening_and_editing_publishes_diagnostics_as_you_type() {
    let mut harness = Harness::start().await;
    harness.open(PROGRAM).await;
    assert_eq!(harness.diagnostics().await["diagnostics"], json!([]));

    // Misspell `total` in the handler: one diagnostic, on that line, with the hint.
    harness
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 8, "character": 2}, "end": {"line": 8, "character": 7}}, "text": "totl"}]}),
        )
        .await;
    let published = harness.diagnostics().await;
    assert_eq!(published["version"], json!(2));
    let diagnostics = published["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0]["range"],
        json!({"start": {"line": 8, "character": 2}, "end": {"line": 8, "character": 6}})
    );
    assert_eq!(diagnostics[0]["code"], json!("E0100"));
    assert_eq!(
        diagnostics[0]["message"],
        json!("The variable 'totl' was not defined\nhelp: did you mean 'total'?")
    );
}

#[tokio::test]
async fn the_outline_lists_every_declaration() {
    let mut harness = Harness::start().await;
    harness.open(PROGRAM).await;
    let symbols = harness
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let names: Vec<(&str, i64)> = symbols
        .as_array()
        .map(|symbols| {
            symbols
                .iter()
                .map(|symbol| {
                    (
                        symbol["name"].as_str().unwrap_or(""),
                        symbol["kind"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec![("total", 8), ("Add", 11), ("add", 24)]);
    assert_eq!(
        symbols[1]["selectionRange"],
        json!({"start": {"line": 3, "character": 8}, "end": {"line": 3, "character": 11}})
    );
}

#[tokio::test]
async fn hover_shows_the_declaration_and_its_comment() {
    let mut harness = Harness::start().await;
    harness.open(PROGRAM).await;
    let hover = harness
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 12}}),
        )
        .await;
    assert_eq!(
        hover["contents"]["value"],
        json!("```adama\nfield total\n```\n\nThe running total.")
    );
}

#[tokio::test]
async fn blocks_and_bodies_fold() {
    let mut harness = Harness::start().await;
    harness.open(PROGRAM).await;
    let folds = harness
        .request(
            "textDocument/foldingRange",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let lines: Vec<(i64, i64)> = folds
        .as_array()
        .map(|folds| {
            folds
                .iter()
                .map(|fold| {
                    (
                        fold["startLine"].as_i64().unwrap_or(-1),
                        fold["endLine"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(lines, vec![(3, 5), (7, 9)]);
}

#[tokio::test]
async fn semantic_tokens_colour_keywords_types_and_names() {
    let mut harness = Harness::start().await;
    harness.open("public int total;\n").await;
    let tokens = harness
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    // (deltaLine, deltaStart, length, type, modifiers): `public` keyword, `int` type, `total` property.
    let data: Vec<i64> = tokens["data"]
        .as_array()
        .map(|data| data.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    assert_eq!(
        data,
        vec![0, 0, 6, 0, 0, 0, 7, 3, 1, 0, 0, 4, 5, 6, 0],
        "a field name is a property"
    );
}

#[tokio::test]
async fn selection_expands_from_the_name_to_the_whole_document() {
    let mut harness = Harness::start().await;
    harness.open(PROGRAM).await;
    let selections = harness
        .request(
            "textDocument/selectionRange",
            json!({"textDocument": {"uri": URI}, "positions": [{"line": 8, "character": 11}]}),
        )
        .await;
    let mut ranges = Vec::new();
    let mut current = &selections[0];
    while current.is_object() {
        ranges.push(current["range"].clone());
        current = &current["parent"];
    }
    assert_eq!(
        ranges.first(),
        Some(&json!({"start": {"line": 8, "character": 11}, "end": {"line": 8, "character": 12}}))
    );
    assert_eq!(
        ranges.last(),
        Some(&json!({"start": {"line": 0, "character": 0}, "end": {"line": 10, "character": 0}}))
    );
    assert!(ranges.len() >= 5, "{ranges:?}");
}

#[tokio::test]
async fn definition_goes_to_fields_types_states_and_locals() {
    let mut harness = Harness::start().await;
    let program = "record Row { public int id; }\ntable<Row> rows;\npublic int total;\nmessage Add { int n; }\nchannel add(Add a) {\n  int doubled = a.n * 2;\n  total += doubled;\n  transition #done;\n}\n#done { }\n";
    harness.open(program).await;
    let mut targets = Vec::new();
    for (line, character) in [(1, 7), (4, 13), (6, 3), (6, 12), (7, 14), (5, 16)] {
        let params = json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}});
        let response = harness.request("textDocument/definition", params).await;
        targets.push(response["range"]["start"].clone());
    }
    assert_eq!(
        targets,
        vec![
            json!({"line": 0, "character": 7}),  // `Row` in table<Row>
            json!({"line": 3, "character": 8}),  // `Add` as the handler's message type
            json!({"line": 2, "character": 11}), // `total`
            json!({"line": 5, "character": 6}),  // the local `doubled`
            json!({"line": 9, "character": 0}),  // `#done`
            json!({"line": 4, "character": 16}), // the parameter `a`
        ]
    );
}

#[tokio::test]
async fn completion_offers_states_enum_labels_and_names_in_scope() {
    let mut harness = Harness::start().await;
    let program = "enum Color { Red, Green }\npublic int total;\n#idle { }\nprocedure p(int amount) {\n  int doubled = amount * 2;\n  transition #\n}\n";
    harness.open(program).await;
    let states = harness
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": {"line": 5, "character": 14}}),
        )
        .await;
    assert_eq!(labels(&states), vec!["idle"]);

    harness
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 5, "character": 2}, "end": {"line": 5, "character": 14}}, "text": "Color c = Color::"}]}),
        )
        .await;
    let colors = harness
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": {"line": 5, "character": 19}}),
        )
        .await;
    assert_eq!(labels(&colors), vec!["Red", "Green"]);

    let names = harness
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": {"line": 5, "character": 2}}),
        )
        .await;
    let names = labels(&names);
    for expected in [
        "doubled",
        "amount",
        "total",
        "p",
        "Color",
        "int",
        "transition",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} in {names:?}"
        );
    }
}

#[tokio::test]
async fn workspace_symbols_search_every_open_document() {
    let mut harness = Harness::start().await;
    harness.open(PROGRAM).await;
    let symbols = harness
        .request("workspace/symbol", json!({"query": "ad"}))
        .await;
    let names: Vec<&str> = symbols
        .as_array()
        .map(|symbols| {
            symbols
                .iter()
                .filter_map(|symbol| symbol["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec!["Add", "add"]);
    assert_eq!(symbols[0]["location"]["uri"], json!(URI));
}

#[tokio::test]
async fn hover_shows_the_type_of_an_expression() {
    let mut harness = Harness::start().await;
    harness.open(PROGRAM).await;
    let hover = harness
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": {"line": 8, "character": 13}}),
        )
        .await;
    assert_eq!(hover["contents"]["value"], json!("```adama\na.n: int\n```"));
    let whole = harness
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": {"line": 8, "character": 11}}),
        )
        .await;
    assert_eq!(whole["contents"]["value"], json!("```adama\na: Add\n```"));
}

#[tokio::test]
async fn completion_after_a_dot_offers_members_and_library_functions() {
    let mut harness = Harness::start().await;
    let program = "record Row { public int id; public string name; method label() -> string { return name; } }\nmessage Add { int n; }\nchannel add(Add a) {\n  int total = a.n;\n}\n";
    harness.open(program).await;
    let members = harness
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 16}}),
        )
        .await;
    assert_eq!(labels(&members), vec!["n"]);

    harness
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 3, "character": 14}, "end": {"line": 3, "character": 17}}, "text": "Math."}]}),
        )
        .await;
    let functions = labels(
        &harness
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 19}}),
            )
            .await,
    );
    assert!(
        functions.iter().any(|name| name == "sqrt")
            && functions.iter().any(|name| name == "floorDiv"),
        "{functions:?}"
    );
}

#[tokio::test]
async fn rename_edits_every_use_and_keeps_other_names_apart() {
    let mut harness = Harness::start().await;
    // `total` the field and `total` the local of `p` are different declarations.
    let program = "public int total;\nmessage Add { int n; }\nchannel add(Add a) {\n  total += a.n;\n}\nprocedure p() {\n  int total = 1;\n  total++;\n}\nformula doubled = total * 2;\n";
    harness.open(program).await;
    let position = json!({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 3}});
    let prepared = harness
        .request("textDocument/prepareRename", position.clone())
        .await;
    assert_eq!(
        prepared,
        json!({"start": {"line": 3, "character": 2}, "end": {"line": 3, "character": 7}})
    );

    let mut rename = position.clone();
    rename["newName"] = json!("sum");
    let edit = harness.request("textDocument/rename", rename).await;
    let lines: Vec<i64> = edit["changes"][URI]
        .as_array()
        .map(|edits| {
            edits
                .iter()
                .filter_map(|edit| edit["range"]["start"]["line"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        lines,
        vec![0, 3, 9],
        "the field's declaration and uses, not the local"
    );

    let mut references = position.clone();
    references["context"] = json!({"includeDeclaration": false});
    let found = harness.request("textDocument/references", references).await;
    assert_eq!(found.as_array().map(Vec::len), Some(2));

    let local = json!({"textDocument": {"uri": URI}, "position": {"line": 7, "character": 3}});
    let highlights = harness
        .request("textDocument/documentHighlight", local)
        .await;
    let lines: Vec<i64> = highlights
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["range"]["start"]["line"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(lines, vec![6, 7]);
}

#[tokio::test]
async fn inlay_hints_show_inferred_types() {
    let mut harness = Harness::start().await;
    let program = "public int total;\nprocedure p() {\n  let doubled = total * 2;\n  var ratio = total / 3;\n  q(doubled, 1);\n}\nprocedure q(int doubled, int times) { }\n";
    harness.open(program).await;
    let hints = harness
        .request("textDocument/inlayHint", json!({"textDocument": {"uri": URI}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 7, "character": 0}}}))
        .await;
    let labels: Vec<(i64, i64, &str)> = hints
        .as_array()
        .map(|hints| {
            hints
                .iter()
                .map(|hint| {
                    (
                        hint["position"]["line"].as_i64().unwrap_or(-1),
                        hint["position"]["character"].as_i64().unwrap_or(-1),
                        hint["label"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        labels,
        vec![
            (4, 13, "times:"),
            (2, 13, ": int"),
            (3, 11, ": maybe<double>")
        ]
    );
}

#[tokio::test]
async fn quick_fixes_insert_a_semicolon_and_fix_a_misspelt_name() {
    let mut harness = Harness::start().await;
    harness.open("public int total\n").await;
    let whole = json!({"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}});
    let actions = harness
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": whole, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions[0]["title"], json!("Insert ';'"));
    assert_eq!(
        actions[0]["edit"]["changes"][URI][0],
        json!({"range": {"start": {"line": 0, "character": 16}, "end": {"line": 0, "character": 16}}, "newText": ";"})
    );

    harness
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "public int total;\nformula f = totl + 1;\n"}]}),
        )
        .await;
    let actions = harness
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": whole, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions[0]["title"], json!("Change to 'total'"));
}

#[tokio::test]
async fn type_definition_and_signature_help() {
    let mut harness = Harness::start().await;
    let program = "message Add { int n; }\nfunction scale(int x, double factor) -> double { return x * factor; }\nchannel add(Add a) {\n  double d = scale(a.n, 2.0);\n}\n";
    harness.open(program).await;
    let target = harness
        .request(
            "textDocument/typeDefinition",
            json!({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 19}}),
        )
        .await;
    assert_eq!(
        target["range"]["start"],
        json!({"line": 0, "character": 8}),
        "`a` is an Add"
    );
    let help = harness
        .request(
            "textDocument/signatureHelp",
            json!({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 24}}),
        )
        .await;
    assert_eq!(
        help["signatures"][0]["label"],
        json!("scale(int x, double factor) -> double")
    );
    assert_eq!(help["activeParameter"], json!(1));
}

#[tokio::test]
async fn formatting_indents_by_braces() {
    let mut harness = Harness::start().await;
    harness.open("message Add {\nint n;\n}\n").await;
    let edits = harness
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert_eq!(edits[0]["newText"], json!("message Add {\n  int n;\n}\n"));
}

#[tokio::test]
async fn semantic_token_deltas_send_only_what_changed() {
    let mut harness = Harness::start().await;
    harness.open("public int total;\npublic int count;\n").await;
    let full = harness
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let result_id = full["resultId"].clone();
    harness
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 1, "character": 11}, "end": {"line": 1, "character": 16}}, "text": "counter"}]}),
        )
        .await;
    let delta = harness
        .request(
            "textDocument/semanticTokens/full/delta",
            json!({"textDocument": {"uri": URI}, "previousResultId": result_id}),
        )
        .await;
    // Only the last token (the renamed field) changed: its length went from 5 to 7.
    assert_eq!(
        delta["edits"],
        json!([{"start": 25, "deleteCount": 5, "data": [0, 4, 7, 6, 0]}])
    );
}

#[tokio::test]
async fn semantic_tokens_of_a_range_are_those_of_its_lines() {
    let mut harness = Harness::start().await;
    harness
        .open("public int total;\npublic int count;\npublic int other;\n")
        .await;
    let tokens = harness
        .request(
            "textDocument/semanticTokens/range",
            json!({"textDocument": {"uri": URI},
                   "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 17}}}),
        )
        .await;
    let data: Vec<i64> = tokens["data"]
        .as_array()
        .map(|data| data.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    // Only the second line, encoded from the start of the document.
    assert_eq!(data, vec![1, 0, 6, 0, 0, 0, 7, 3, 1, 0, 0, 4, 5, 6, 0]);
}

#[tokio::test]
async fn every_file_of_the_workspace_gets_diagnostics() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let mut programs: Vec<std::path::PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|error| panic!("{error}"))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().ends_with("_success.a"))
        .collect();
    programs.sort();
    programs.truncate(199);
    for (index, program) in programs.iter().enumerate() {
        std::fs::copy(program, dir.path().join(format!("doc{index}.a")))
            .unwrap_or_else(|error| panic!("{error}"));
    }
    std::fs::create_dir(dir.path().join("target")).unwrap_or_else(|error| panic!("{error}"));
    std::fs::write(dir.path().join("target/ignored.a"), "public int x\n")
        .unwrap_or_else(|error| panic!("{error}"));
    std::fs::write(dir.path().join("broken.a"), "public int x\n")
        .unwrap_or_else(|error| panic!("{error}"));

    let root = tower_lsp_server::ls_types::Uri::from_file_path(dir.path())
        .unwrap_or_else(|| panic!("a file URI"));
    let started = std::time::Instant::now();
    let mut harness = Harness::start_with(
        json!({"capabilities": {}, "workspaceFolders": [{"uri": root.as_str(), "name": "space"}]}),
    )
    .await;
    let mut published = std::collections::BTreeMap::new();
    while published.len() < 200 {
        let params = harness.diagnostics().await;
        let uri = params["uri"].as_str().unwrap_or("").to_owned();
        published.insert(
            uri,
            params["diagnostics"].as_array().map(Vec::len).unwrap_or(0),
        );
    }
    eprintln!(
        "first diagnostics for 200 workspace files in {:?}",
        started.elapsed()
    );
    let with_errors: Vec<&String> = published
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(uri, _)| uri)
        .collect();
    assert_eq!(with_errors.len(), 1, "{with_errors:?}");
    assert!(with_errors[0].ends_with("/broken.a"));
    assert!(
        !published.keys().any(|uri| uri.contains("/target/")),
        "build folders are skipped"
    );
}

#[tokio::test]
async fn quick_fixes_create_a_missing_state_or_message() {
    let mut harness = Harness::start().await;
    harness
        .open("channel go(Order o) {\n  transition #ship;\n}\n")
        .await;
    let whole = json!({"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}});
    let actions = harness
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": whole, "context": {"diagnostics": []}}),
        )
        .await;
    let titles: Vec<&str> = actions
        .as_array()
        .map(|actions| {
            actions
                .iter()
                .filter_map(|action| action["title"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(titles, vec!["Create message Order", "Create state #ship"]);
    assert_eq!(
        actions[0]["edit"]["changes"][URI][0]["newText"],
        json!("\nmessage Order {\n}\n")
    );

    harness
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "message Order { }\nchannel go(Order o) {\n  transition #ship;\n}\n"}]}),
        )
        .await;
    let actions = harness
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": whole, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions[0]["title"], json!("Create state #ship"));
}

#[tokio::test]
async fn a_run_test_lens_sits_over_every_test_block() {
    let mut harness = Harness::start().await;
    let program = "public int x;\ntest starts_at_zero {\n  assert x == 0;\n}\n\ntest counts { x = 2; assert x == 2; }\n";
    harness.open(program).await;
    let lenses = harness
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    assert_eq!(
        lenses,
        json!([
            {"range": {"start": {"line": 1, "character": 0}, "end": {"line": 3, "character": 1}},
             "command": {"title": "\u{25b6} Run test", "command": "adama.runTest",
                         "arguments": ["/doc.a", "starts_at_zero"]}},
            {"range": {"start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 37}},
             "command": {"title": "\u{25b6} Run test", "command": "adama.runTest",
                         "arguments": ["/doc.a", "counts"]}}
        ])
    );
    assert_eq!(adama_lsp::RUN_TEST_COMMAND, "adama.runTest");

    // A file without tests has no lens; the lenses follow edits.
    harness
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "public int x;\n"}]}),
        )
        .await;
    let lenses = harness
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    assert_eq!(lenses, json!([]));
}

#[tokio::test]
async fn a_debug_test_lens_sits_beside_run_test_for_a_client_that_debugs() {
    let mut harness = Harness::start_with(
        json!({"capabilities": {}, "initializationOptions": {"debugTestLens": true}}),
    )
    .await;
    harness
        .open("public int x;\ntest starts_at_zero {\n  assert x == 0;\n}\n")
        .await;
    let lenses = harness
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let range = json!({"start": {"line": 1, "character": 0}, "end": {"line": 3, "character": 1}});
    assert_eq!(
        lenses,
        json!([
            {"range": range, "command": {"title": "\u{25b6} Run test", "command": "adama.runTest",
                "arguments": ["/doc.a", "starts_at_zero"]}},
            {"range": range, "command": {"title": "Debug test", "command": "adama.debugTest",
                "arguments": ["/doc.a", "starts_at_zero"]}}
        ])
    );
    assert_eq!(adama_lsp::DEBUG_TEST_COMMAND, "adama.debugTest");
    assert_eq!(adama_lsp::DEBUG_TEST_OPTION, "debugTestLens");
}

#[tokio::test]
async fn a_references_lens_counts_the_uses_of_a_declaration_when_resolved() {
    let mut harness = Harness::start().await;
    let program = "record Row { public int v; }\ntable<Row> _a;\ntable<Row> _b;\nfunction twice(int x) -> int { return x * 2; }\npublic formula f = twice(twice(1));\nmessage Unused { int n; }\n";
    harness.open(program).await;
    let lenses = harness
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let lenses = lenses.as_array().cloned().unwrap_or_default();
    assert_eq!(lenses.len(), 3, "Row, twice and Unused: {lenses:?}");
    assert_eq!(
        lenses[0],
        json!({"range": {"start": {"line": 0, "character": 7}, "end": {"line": 0, "character": 10}},
               "data": {"uri": URI, "offset": 7}}),
        "unresolved until shown"
    );
    let mut titles = Vec::new();
    for lens in &lenses {
        let resolved = harness.request("codeLens/resolve", lens.clone()).await;
        assert_eq!(
            resolved["command"]["command"],
            json!("adama.showReferences")
        );
        titles.push(
            resolved["command"]["title"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
    }
    assert_eq!(titles, ["2 references", "2 references", "0 references"]);
    let resolved = harness.request("codeLens/resolve", lenses[0].clone()).await;
    assert_eq!(
        resolved["command"]["arguments"][2][0]["range"],
        json!({"start": {"line": 1, "character": 6}, "end": {"line": 1, "character": 9}})
    );
}

#[tokio::test]
async fn code_lenses_are_advertised_and_the_editor_runs_their_command() {
    let (mut service, _socket) = LspService::new(adama_lsp::Backend::new);
    let initialize = Request::build("initialize")
        .params(json!({"capabilities": {}}))
        .id(1)
        .finish();
    let response = service
        .ready()
        .await
        .unwrap_or_else(|error| panic!("{error}"))
        .call(initialize)
        .await
        .unwrap_or_else(|error| panic!("{error}"))
        .unwrap_or_else(|| panic!("a response to initialize"));
    let (_, result) = response.into_parts();
    let capabilities = result.unwrap_or_else(|error| panic!("{error:?}"))["capabilities"].clone();
    assert_eq!(
        capabilities["codeLensProvider"],
        json!({"resolveProvider": true})
    );
    assert_eq!(
        capabilities.get("executeCommandProvider"),
        None,
        "the editor, not the server, runs adama.runTest"
    );
}

/// The text after applying a code action's edits.
fn apply(text: &str, action: &Value) -> String {
    apply_edits(text, &action["edit"]["changes"][URI])
}

impl Harness {
    /// The code actions for a range, optionally of some kinds only.
    async fn actions(
        &mut self,
        start: (u32, u32),
        end: (u32, u32),
        only: Option<Value>,
    ) -> Vec<Value> {
        let mut context = json!({"diagnostics": []});
        if let Some(only) = only {
            context["only"] = only;
        }
        let range = json!({"start": {"line": start.0, "character": start.1}, "end": {"line": end.0, "character": end.1}});
        self.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": range, "context": context}),
        )
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
    }
}

#[tokio::test]
async fn add_explicit_type_spells_the_inferred_type_of_a_local() {
    let mut harness = Harness::start().await;
    let program = "public int total;\nmessage M { int n; }\nprocedure p() {\n  let doubled = total * 2;\n  var ratio = total / 3;\n  auto shape = {n: 1};\n}\n";
    harness.open(program).await;

    let actions = harness.actions((3, 6), (3, 6), None).await;
    assert_eq!(
        actions,
        vec![json!({
            "title": "Add explicit type 'int' to 'doubled'",
            "kind": "refactor.rewrite",
            "edit": {"changes": {URI: [{"range": {"start": {"line": 3, "character": 2}, "end": {"line": 3, "character": 5}}, "newText": "int"}]}}
        })]
    );
    let edited = apply(program, &actions[0]);
    assert!(edited.contains("  int doubled = total * 2;\n"), "{edited}");
    assert_eq!(errors(&edited), Vec::<String>::new());

    let actions = harness.actions((4, 2), (4, 2), None).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    let edited = apply(program, &actions[0]);
    assert!(
        edited.contains("  maybe<double> ratio = total / 3;\n"),
        "{edited}"
    );
    assert_eq!(errors(&edited), Vec::<String>::new());

    // An anonymous message has no name to write.
    assert_eq!(
        harness.actions((5, 4), (5, 4), None).await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn fields_toggle_between_public_and_private() {
    let mut harness = Harness::start().await;
    let program = "public int total;\nint hidden;\nprivate string secret;\nrecord Row { public int id; readonly int score; }\ntable<Row> rows;\n";
    harness.open(program).await;
    let mut results = Vec::new();
    for (line, character) in [(0, 12), (1, 5), (2, 16), (3, 42)] {
        let actions = harness
            .actions((line, character), (line, character), None)
            .await;
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert_eq!(actions[0]["kind"], json!("refactor.rewrite"));
        let edited = apply(program, &actions[0]);
        assert_eq!(errors(&edited), Vec::<String>::new(), "{edited}");
        let changed_line = edited.lines().nth(line as usize).unwrap_or("").to_owned();
        results.push((
            actions[0]["title"].as_str().unwrap_or("").to_owned(),
            changed_line,
        ));
    }
    assert_eq!(
        results,
        vec![
            (
                "Make 'total' private".to_owned(),
                "private int total;".to_owned()
            ),
            (
                "Make 'hidden' public".to_owned(),
                "public int hidden;".to_owned()
            ),
            (
                "Make 'secret' public".to_owned(),
                "public string secret;".to_owned()
            ),
            (
                "Make 'score' public".to_owned(),
                "record Row { public int id; public readonly int score; }".to_owned()
            ),
        ]
    );
    // Tables are private by rule: no toggle, but their rows can be exposed through a formula.
    let actions = harness.actions((4, 13), (4, 13), None).await;
    assert_eq!(
        actions,
        vec![json!({
            "title": "Expose the rows of 'rows' as 'rows_rows'",
            "kind": "refactor.extract",
            "edit": {"changes": {URI: [{"range": {"start": {"line": 4, "character": 16}, "end": {"line": 4, "character": 16}}, "newText": "\npublic formula rows_rows = iterate rows;"}]}}
        })]
    );
    let edited = apply(program, &actions[0]);
    assert!(
        edited.contains("table<Row> rows;\npublic formula rows_rows = iterate rows;\n"),
        "{edited}"
    );
    assert_eq!(errors(&edited), Vec::<String>::new());
}

#[tokio::test]
async fn a_record_name_offers_to_make_every_field_public_or_private() {
    let mut harness = Harness::start().await;
    let program = "record Row { public int id; int score; private string note; viewer_is<owner> int mine; principal owner; }
record Open { public int a; public int b; }
table<Row> _rows;
";
    harness.open(program).await;

    let actions = harness.actions((0, 8), (0, 8), None).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(
        actions[0]["title"],
        json!("Make every field of 'Row' public")
    );
    let edited = apply(program, &actions[0]);
    assert!(
        edited.starts_with("record Row { public int id; public int score; public string note; viewer_is<owner> int mine; public principal owner; }"),
        "a field with viewer_is keeps it: {edited}"
    );
    assert_eq!(errors(&edited), Vec::<String>::new());

    let actions = harness.actions((1, 9), (1, 9), None).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(
        actions[0]["title"],
        json!("Make every field of 'Open' private")
    );
    let edited = apply(program, &actions[0]);
    assert!(
        edited.contains("record Open { private int a; private int b; }"),
        "{edited}"
    );

    // `_rows` reads as `rows`.
    let actions = harness.actions((2, 13), (2, 13), None).await;
    assert_eq!(
        actions[0]["title"],
        json!("Expose the rows of '_rows' as 'rows'")
    );
}

#[tokio::test]
async fn extract_formula_names_the_selected_part_of_a_formula() {
    let mut harness = Harness::start().await;
    let program = "public int price;\npublic int quantity;\npublic formula total = price * quantity + 5;\nrecord Row { public int score; }\ntable<Row> rows;\nformula big = iterate rows where score > 3;\nint extracted;\n";
    harness.open(program).await;

    // The selection, with the space after it, covers `price * quantity`.
    let actions = harness
        .actions((2, 23), (2, 40), Some(json!(["refactor.extract"])))
        .await;
    assert_eq!(
        actions,
        vec![json!({
            "title": "Extract formula",
            "kind": "refactor.extract",
            "edit": {"changes": {URI: [
                {"range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 0}}, "newText": "formula extracted2 = price * quantity;\n"},
                {"range": {"start": {"line": 2, "character": 23}, "end": {"line": 2, "character": 39}}, "newText": "extracted2"}
            ]}}
        })],
        "`extracted` is taken, so the new formula is `extracted2`"
    );
    let edited = apply(program, &actions[0]);
    assert!(
        edited.contains(
            "formula extracted2 = price * quantity;\npublic formula total = extracted2 + 5;\n"
        ),
        "{edited}"
    );
    assert_eq!(errors(&edited), Vec::<String>::new());

    // `score` is the row's field inside `where`: that part cannot leave the query.
    assert_eq!(
        harness
            .actions((5, 33), (5, 42), Some(json!(["refactor"])))
            .await,
        Vec::<Value>::new()
    );
    // A bare cursor extracts nothing, and a quick-fix-only request gets no refactoring.
    assert_eq!(
        harness
            .actions((2, 25), (2, 25), Some(json!(["refactor.extract"])))
            .await,
        Vec::<Value>::new()
    );
    assert_eq!(
        harness
            .actions((2, 23), (2, 39), Some(json!(["quickfix"])))
            .await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn a_duplicate_points_at_the_first_definition() {
    let mut harness = Harness::start().await;
    harness
        .open("public int score;\npublic double score;\n")
        .await;
    let published = harness.diagnostics().await;
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], json!("E0104"));
    assert_eq!(
        diagnostic["relatedInformation"],
        json!([{
            "location": {"uri": URI, "range": {"start": {"line": 0, "character": 11}, "end": {"line": 0, "character": 16}}},
            "message": "first defined here"
        }])
    );
}

#[tokio::test]
async fn a_quick_fix_replaces_exactly_the_misspelt_name() {
    let mut harness = Harness::start().await;
    harness
        .open("public int total;\n\n\nformula f = 1 + totl;\n")
        .await;
    let whole = json!({"start": {"line": 0, "character": 0}, "end": {"line": 4, "character": 0}});
    let actions = harness
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": whole, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions.as_array().map(Vec::len), Some(1), "{actions}");
    assert_eq!(actions[0]["kind"], json!("quickfix"));
    assert_eq!(actions[0]["isPreferred"], json!(true));
    assert_eq!(
        actions[0]["edit"]["changes"][URI],
        json!([{"range": {"start": {"line": 3, "character": 16}, "end": {"line": 3, "character": 20}}, "newText": "total"}])
    );
    assert_eq!(actions[0]["diagnostics"][0]["code"], json!("E0100"));
}

#[tokio::test]
async fn a_type_mismatch_points_at_the_type_it_had_to_fit() {
    let mut harness = Harness::start().await;
    harness
        .open("public int count;\n@construct {\n  count = \"many\";\n}\n")
        .await;
    let published = harness.diagnostics().await;
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], json!("E0105"));
    assert_eq!(
        diagnostic["range"]["start"],
        json!({"line": 2, "character": 10})
    );
    assert_eq!(
        diagnostic["relatedInformation"],
        json!([{
            "location": {"uri": URI, "range": {"start": {"line": 0, "character": 11}, "end": {"line": 0, "character": 16}}},
            "message": "expected because of this type"
        }])
    );
}

#[tokio::test]
async fn single_statement_bodies_and_return_annotations_are_understood() {
    let mut harness = Harness::start().await;
    let program =
        "public int x;\n#idle\n  x = 1;\nfunction sq(int v) -> int(unit=m2)\n  return v * v;\n";
    harness.open(program).await;
    let published = harness.diagnostics().await;
    assert_eq!(published["diagnostics"], json!([]));
    // `x` in the body of `#idle` resolves to the field.
    let params = json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 2}});
    let response = harness.request("textDocument/definition", params).await;
    assert_eq!(
        response["range"]["start"],
        json!({"line": 0, "character": 11})
    );
    let edits = harness
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert_eq!(edits, json!([]), "the program is already formatted");
}
