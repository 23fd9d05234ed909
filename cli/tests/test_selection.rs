//! `adama test --test NAME`: the selection the editors' "Run test" code lens relies on.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn report_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/test_report.a")
}

fn adama_test(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("adama")
        .unwrap_or_else(|error| panic!("the adama binary is built: {error}"))
        .arg("test")
        .arg(report_file())
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{error}"))
}

fn names(output: &std::process::Output) -> Vec<String> {
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    report["tests"]
        .as_array()
        .map(|tests| {
            tests
                .iter()
                .filter_map(|test| test["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn one_named_test_runs_alone_and_sets_the_exit_code() {
    let passing = adama_test(&["--format", "json", "--test", "passing"]);
    assert_eq!(names(&passing), vec!["passing"]);
    assert_eq!(
        passing.status.code(),
        Some(0),
        "the failing tests did not run"
    );

    let failing = adama_test(&["--format", "json", "--test", "failing"]);
    assert_eq!(names(&failing), vec!["failing"]);
    assert_eq!(failing.status.code(), Some(1));
}

#[test]
fn several_named_tests_run_in_the_order_of_the_file() {
    let output = adama_test(&["--format", "json", "--test", "pumping", "--test", "passing"]);
    assert_eq!(names(&output), vec!["passing", "pumping"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn the_human_report_counts_only_the_selected_tests() {
    let output = adama_test(&["--test", "noasserts"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "test noasserts ... ok (0/0 asserts)\n1 tests, 1 passed, 0 failed\n"
    );
}

#[test]
fn an_unknown_test_name_is_a_usage_error() {
    let output = adama_test(&["--test", "passing", "--test", "pasing"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no test ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: no test named 'pasing' in {} (its tests: 'passing', 'failing', 'noasserts', 'sending', 'pumping', 'aborting', 'forward')",
            report_file().display()
        )
    );
}

#[test]
fn a_name_in_a_file_without_tests_says_so() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = dir.path().join("none.a");
    std::fs::write(&path, "public int x;\n").unwrap_or_else(|error| panic!("{error}"));
    let output = Command::cargo_bin("adama")
        .unwrap_or_else(|error| panic!("{error}"))
        .args(["test", "--test", "anything"])
        .arg(&path)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("(it has no tests)"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
