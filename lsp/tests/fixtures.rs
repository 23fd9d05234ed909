//! Language-server fixtures: one file a case.
//!
//! `tests/fixtures/REQUEST/NAME.a` is an Adama program with a cursor marker `$0`; the folder names
//! the request asked at the cursor (`definition`, `type_definition`, `references`, `highlight`,
//! `hover`, `completion`, `rename`, `signature_help`). The answer is drawn under the source in
//! `NAME.expected` beside it: ranges as carets under the lines they cover, texts after a `---`
//! line. A rename fixture names its new name in a comment `// new name: NAME`, and its answer is
//! the renamed program followed by the errors the compiler finds in it.
//!
//! `UPDATE_EXPECT=1 cargo test -p adama-lsp --test fixtures` writes the answers instead of
//! comparing them; read the diff before committing.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::{Harness, URI, apply_edits, errors};
use serde_json::{Value, json};

const MARKER: &str = "$0";

fn run_fixture(path: &Path, source: String) -> datatest_stable::Result<()> {
    let request = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .ok_or("a fixture lives in a folder named for its request")?
        .to_owned();
    let cursor = source
        .find(MARKER)
        .ok_or("the fixture has no cursor marker `$0`")?;
    let text = source.replacen(MARKER, "", 1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let answer = runtime.block_on(ask(&request, &text, cursor))?;
    let expected_path = path.with_extension("expected");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &answer)?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path).map_err(|error| {
        format!(
            "{}: {error}; record it with UPDATE_EXPECT=1",
            expected_path.display()
        )
    })?;
    if expected == answer {
        Ok(())
    } else {
        Err(format!(
            "{} differs from the answer:\n--- expected\n{expected}\n--- answer\n{answer}",
            expected_path.display()
        )
        .into())
    }
}

/// Asks the server one request at the cursor and renders its answer.
async fn ask(request: &str, text: &str, cursor: usize) -> Result<String, String> {
    let mut harness = Harness::start().await;
    harness.open(text).await;
    harness.diagnostics().await;
    let position = json!({"textDocument": {"uri": URI}, "position": position_of(text, cursor)});
    let rendered = match request {
        "definition" | "type_definition" => {
            let method = if request == "definition" {
                "textDocument/definition"
            } else {
                "textDocument/typeDefinition"
            };
            let answer = harness.request(method, position).await;
            let ranges = locations(&answer);
            draw(text, &ranges, request)
        }
        "references" => {
            let mut params = position;
            params["context"] = json!({"includeDeclaration": true});
            let answer = harness.request("textDocument/references", params).await;
            draw(text, &locations(&answer), "reference")
        }
        "highlight" => {
            let answer = harness
                .request("textDocument/documentHighlight", position)
                .await;
            draw(text, &locations(&answer), "highlight")
        }
        "hover" => {
            let answer = harness.request("textDocument/hover", position).await;
            let contents = answer["contents"]["value"]
                .as_str()
                .or_else(|| answer["contents"].as_str())
                .unwrap_or("(no hover)");
            let range = answer
                .get("range")
                .map(|range| vec![range.clone()])
                .unwrap_or_default();
            format!("{}---\n{contents}\n", draw(text, &range, "hover"))
        }
        "completion" => {
            let answer = harness.request("textDocument/completion", position).await;
            let items = answer
                .as_array()
                .or_else(|| answer["items"].as_array())
                .cloned()
                .unwrap_or_default();
            let mut rendered = String::from("---\n");
            for item in items {
                let label = item["label"].as_str().unwrap_or("");
                let detail = item["detail"].as_str().unwrap_or("");
                let _ = writeln!(rendered, "{}", format!("{label} {detail}").trim_end());
            }
            rendered
        }
        "signature_help" => {
            let answer = harness
                .request("textDocument/signatureHelp", position)
                .await;
            let active = answer["activeSignature"].as_u64().unwrap_or(0) as usize;
            let mut rendered = String::from("---\n");
            for (index, signature) in answer["signatures"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let mark = if index == active { "*" } else { " " };
                let label = signature["label"].as_str().unwrap_or("");
                let _ = writeln!(rendered, "{mark} {label}");
            }
            rendered
        }
        "rename" => {
            let new_name = new_name(text).ok_or("a rename fixture says `// new name: NAME`")?;
            let mut params = position;
            params["newName"] = json!(new_name);
            let answer = harness.request("textDocument/rename", params).await;
            let renamed = apply_edits(text, &answer["changes"][URI]);
            let mut rendered = format!("{renamed}---\n");
            for error in errors(&renamed) {
                let _ = writeln!(rendered, "error: {error}");
            }
            rendered
        }
        other => return Err(format!("no such fixture request '{other}'")),
    };
    Ok(rendered)
}

/// The LSP position (line, UTF-16 character) of a byte offset.
fn position_of(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let character: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": character})
}

/// The ranges of a `Location`, a `Location[]`, a `LocationLink[]` or a `DocumentHighlight[]`.
fn locations(answer: &Value) -> Vec<Value> {
    let ranges = |item: &Value| {
        item.get("targetSelectionRange")
            .or_else(|| item.get("range"))
            .cloned()
    };
    match answer {
        Value::Array(items) => items.iter().filter_map(ranges).collect(),
        Value::Null => Vec::new(),
        item => ranges(item).into_iter().collect(),
    }
}

/// The source with carets under every range (ranges are single-line in these answers).
fn draw(text: &str, ranges: &[Value], label: &str) -> String {
    let mut rendered = String::new();
    for (line_index, line) in text.lines().enumerate() {
        rendered.push_str(line);
        rendered.push('\n');
        let mut marks: Vec<(usize, usize)> = ranges
            .iter()
            .filter(|range| range["start"]["line"].as_u64() == Some(line_index as u64))
            .map(|range| {
                let start = range["start"]["character"].as_u64().unwrap_or(0) as usize;
                let end = if range["end"]["line"] == range["start"]["line"] {
                    range["end"]["character"].as_u64().unwrap_or(0) as usize
                } else {
                    line.len()
                };
                (start, end.max(start + 1))
            })
            .collect();
        marks.sort_unstable();
        for (start, end) in marks {
            let _ = writeln!(
                rendered,
                "{}{} {label}",
                " ".repeat(start),
                "^".repeat(end - start)
            );
        }
    }
    if ranges.is_empty() {
        let _ = writeln!(rendered, "(no {label})");
    }
    rendered
}

fn new_name(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("// new name:"))
        .map(str::trim)
}

datatest_stable::harness! {
    { test = run_fixture, root = "tests/fixtures", pattern = r"\.a$" },
}
