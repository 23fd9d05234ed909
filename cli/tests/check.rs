//! The `adama check` command as a user and a tool see it: exit codes, the JSON contract, the human
//! format, and bad input of every kind.

use std::io::Write;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// Runs `adama` with `args` and waits for it.
fn run(args: &[&str]) -> std::process::Output {
    adama()
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{error}"))
}

fn adama() -> Command {
    Command::cargo_bin("adama").unwrap_or_else(|error| panic!("the adama binary is built: {error}"))
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    let mut file =
        std::fs::File::create(&path).unwrap_or_else(|error| panic!("create {name}: {error}"));
    file.write_all(bytes)
        .unwrap_or_else(|error| panic!("write {name}: {error}"));
    path.display().to_string()
}

fn json_of(output: &std::process::Output) -> Vec<Value> {
    let value: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    value
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("stdout is a JSON array: {value}"))
}

#[test]
fn a_clean_file_exits_zero_with_an_empty_json_array() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(dir.path(), "ok.a", b"public int x = 1;\n");
    let output = run(&["check", "--format", "json", &file]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json_of(&output), Vec::<Value>::new());
}

#[test]
fn the_json_contract_holds_for_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(
        dir.path(),
        "bad.a",
        b"public int x = 1;\npublic int y\npublic int z;\n",
    );
    let output = run(&["check", "--format", "json", &file]);
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = json_of(&output);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let expected = serde_json::json!({
        "file": file,
        "range": {"start": {"line": 1, "character": 12}, "end": {"line": 1, "character": 12}},
        "severity": "error",
        "code": "E0002",
        "message": "expected ';' after the field declaration",
        "help": "add ';' here",
        "related": [],
        "fixes": [{
            "title": "Insert ';'",
            "edits": [{
                "range": {"start": {"line": 1, "character": 12}, "end": {"line": 1, "character": 12}},
                "newText": ";"
            }]
        }]
    });
    assert_eq!(diagnostics[0], expected);
}

#[test]
fn a_related_location_on_the_same_line_hangs_below_the_quote() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(dir.path(), "labels.a", b"enum E { A, B, A }\n");
    let output = run(&["check", &file]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "{file}:1:16: error: The enumeration 'E' has duplicates for 'A' defined. [E0104]\n  |\n1 | enum E {{ A, B, A }}\n  |          -     ^\n  |          |\n  |          first defined here\n  = help: rename one of the two declarations\n\n1 error\n"
    );
    assert_eq!(stdout, expected);
}

#[test]
fn related_locations_are_part_of_both_formats() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(
        dir.path(),
        "twice.a",
        b"public int score;\npublic double score;\n",
    );
    let output = run(&["check", "--format", "json", &file]);
    let diagnostics = json_of(&output);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0]["related"],
        serde_json::json!([{
            "range": {"start": {"line": 0, "character": 11}, "end": {"line": 0, "character": 16}},
            "message": "first defined here"
        }])
    );

    let output = run(&["check", &file]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "{file}:2:15: error: Global field 'score' was already defined [E0104]\n  |\n2 | public double score;\n  |               ^^^^^\n  |\n1 | public int score;\n  |            ----- first defined here\n  = help: rename one of the two declarations\n\n1 error\n"
    );
    assert_eq!(stdout, expected);
}

#[test]
fn json_characters_are_utf16_code_units() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    // The emoji is two UTF-16 units; the missing ';' comes after the closing quote.
    let file = write_file(
        dir.path(),
        "emoji.a",
        "public string s = \"\u{1F600}\"\n".as_bytes(),
    );
    let output = run(&["check", "--format", "json", &file]);
    let diagnostics = json_of(&output);
    assert_eq!(
        diagnostics[0]["range"]["start"],
        serde_json::json!({"line": 0, "character": 22})
    );
}

#[test]
fn the_human_format_quotes_the_line_with_a_caret() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(dir.path(), "bad.a", b"public int x\n");
    let output = run(&["check", &file]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "{file}:1:13: error: expected ';' after the field declaration [E0002]\n  |\n1 | public int x\n  |             ^\n  = help: add ';' here\n\n1 error\n"
    );
    assert_eq!(stdout, expected);
}

#[test]
fn several_files_are_reported_together() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let good = write_file(dir.path(), "good.a", b"public int x;\n");
    let bad = write_file(dir.path(), "bad.a", b"public int y = 1e3;\n");
    let output = run(&["check", "--format", "json", &good, &bad]);
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = json_of(&output);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0]["file"], Value::String(bad));
    assert_eq!(diagnostics[0]["code"], "E0003");
}

#[test]
fn a_missing_file_is_an_io_failure_with_exit_code_two() {
    let output = run(&["check", "no/such/file.a"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot read 'no/such/file.a': no such file\n"
    );
}

#[test]
fn a_directory_is_an_io_failure() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let output = run(&["check", &dir.path().display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("error: cannot read"));
}

#[test]
fn usage_errors_exit_two() {
    let output = run(&["check"]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&["check", "--format", "xml", "x.a"]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_binary_file_is_reported_as_not_text() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(
        dir.path(),
        "blob.a",
        b"\x7fELF\x02\x01\x01\x00\x00\x00binary",
    );
    let output = run(&["check", "--format", "json", &file]);
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = json_of(&output);
    assert_eq!(diagnostics[0]["code"], "E0009");
    assert_eq!(
        diagnostics[0]["range"]["start"],
        serde_json::json!({"line": 0, "character": 7})
    );
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("binary file")
    );
}

#[test]
fn invalid_utf8_is_reported_where_it_is() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(
        dir.path(),
        "latin1.a",
        b"public int x;\npublic string s = \"caf\xe9\";\n",
    );
    let output = run(&["check", &file]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(&format!("{file}:2:23: error: the file is not valid UTF-8")),
        "{stdout}"
    );
    assert!(stdout.contains("help: save the file as UTF-8"), "{stdout}");
}

#[test]
fn an_empty_file_is_a_valid_empty_document() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = write_file(dir.path(), "empty.a", b"");
    let output = run(&["check", &file]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "no errors\n");
}

#[test]
fn a_ten_megabyte_file_is_checked() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let mut text = String::with_capacity(10 * 1024 * 1024 + 64);
    let mut n = 0usize;
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(&format!("public int field_{n} = {n} + 1;\n"));
        n += 1;
    }
    text.push_str("public int last = ;\n");
    let file = write_file(dir.path(), "big.a", text.as_bytes());
    let output = run(&["check", "--format", "json", &file]);
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = json_of(&output);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0]["range"]["start"]["line"],
        serde_json::json!(n)
    );
}

#[test]
fn ten_thousand_nested_parentheses_neither_overflow_nor_hang() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let depth = 10_000;
    let balanced = format!(
        "public int x = {}1{};\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let file = write_file(dir.path(), "deep.a", balanced.as_bytes());
    let output = run(&["check", &file]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let unbalanced = format!("public int x = {}1;\n", "(".repeat(depth));
    let file = write_file(dir.path(), "deep_bad.a", unbalanced.as_bytes());
    let output = run(&["check", "--format", "json", &file]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!json_of(&output).is_empty());

    let output = run(&["parse", &file]);
    assert_eq!(output.status.code(), Some(1));
}
