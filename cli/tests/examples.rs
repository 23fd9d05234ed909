//! The example documents run through their scripts give the recorded output, byte for byte, and
//! their tests pass.

use std::path::Path;

use assert_cmd::Command;

const EXAMPLES: [&str; 4] = ["chat", "counter", "tictactoe", "cards"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

#[test]
fn scripts_give_the_recorded_output() {
    for example in EXAMPLES {
        let directory = root().join("examples").join(example);
        let output = Command::cargo_bin("adama")
            .expect("binary")
            .arg("run")
            .arg(directory.join(format!("{example}.a")))
            .arg("--script")
            .arg(directory.join(format!("{example}.jsonl")))
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        #[allow(clippy::disallowed_methods)]
        let expected = std::fs::read_to_string(directory.join(format!("{example}.expected.jsonl")))
            .expect("expected output");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "{example}"
        );
    }
}

/// The last line of an example's run: the stored document.
fn final_document(example: &str) -> serde_json::Value {
    let directory = root().join("examples").join(example);
    let output = Command::cargo_bin("adama")
        .expect("binary")
        .arg("run")
        .arg(directory.join(format!("{example}.a")))
        .arg("--script")
        .arg(directory.join(format!("{example}.jsonl")))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let last = text.lines().last().expect("a last line");
    serde_json::from_str::<serde_json::Value>(last).expect("json")["document"].clone()
}

#[test]
fn examples_reach_their_outcomes() {
    let game = final_document("tictactoe");
    assert_eq!(game["outcome"], "X wins", "ann takes the diagonal 2-4-6");
    assert_eq!(game["moves"], 5);
    let chat = final_document("chat");
    assert_eq!(
        chat["_lines"].as_object().expect("lines").len(),
        2,
        "the blank message is refused"
    );
    let counter = final_document("counter");
    assert_eq!(
        counter["count"], 4,
        "3 from ann, 1 from the timer; bo is not connected"
    );
    let cards = final_document("cards");
    assert_eq!(cards["_cards"]["2"]["played"], true);
    assert_eq!(cards["dealt"], 6);
}

#[test]
fn hidden_hands_stay_hidden() {
    let directory = root().join("examples/cards");
    let output = Command::cargo_bin("adama")
        .expect("binary")
        .arg("run")
        .arg(directory.join("cards.a"))
        .arg("--script")
        .arg(directory.join("cards.jsonl"))
        .output()
        .expect("runs");
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let line: serde_json::Value = serde_json::from_str(line).expect("json");
        let Some(bo) = line["views"].get("bo/acme") else {
            continue;
        };
        // Ann's cards are 1 to 3; only card 2, once played, may show its rank to bo.
        for card in ["1", "3"] {
            for list in ["hand", "pile"] {
                assert!(bo["data"][list][card].get("rank").is_none(), "{bo}");
            }
        }
    }
}

#[test]
fn example_tests_pass() {
    for example in EXAMPLES {
        let file = root()
            .join("examples")
            .join(example)
            .join(format!("{example}.a"));
        let output = Command::cargo_bin("adama")
            .expect("binary")
            .args(["test", "--format", "json"])
            .arg(&file)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        assert!(!report["tests"].as_array().expect("tests").is_empty());
    }
}

#[test]
fn a_failing_test_exits_one_and_counts_asserts() {
    let directory = tempfile::tempdir().expect("temp dir");
    let file = directory.path().join("failing.a");
    #[allow(clippy::disallowed_methods)]
    std::fs::write(
        &file,
        "public int x;\ntest t { x = 1; assert x == 1; assert x == 2; }\n",
    )
    .expect("write");
    let output = Command::cargo_bin("adama")
        .expect("binary")
        .args(["test", "--format", "json"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["tests"][0]["name"], "t");
    assert_eq!(report["tests"][0]["passed"], 1);
    assert_eq!(report["tests"][0]["total"], 2);
}

#[test]
fn test_counts_follow_the_reference_harness() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/test_report.a");
    let output = Command::cargo_bin("adama")
        .expect("binary")
        .args(["test", "--format", "json"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "two tests have failed assertions"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let counts: Vec<(String, u64, u64, bool)> = report["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|test| {
            (
                test["name"].as_str().expect("name").to_owned(),
                test["passed"].as_u64().expect("passed"),
                test["total"].as_u64().expect("total"),
                test["aborted"].as_bool().expect("aborted"),
            )
        })
        .collect();
    let expected = [
        ("passing", 1, 1, false),
        ("failing", 1, 3, false),
        ("noasserts", 0, 0, false),
        ("sending", 1, 4, false),
        ("pumping", 1, 1, false),
        ("aborting", 1, 1, true),
        ("forward", 1, 1, false),
    ];
    assert_eq!(
        counts,
        expected
            .iter()
            .map(|(name, passed, total, aborted)| ((*name).to_owned(), *passed, *total, *aborted))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_bad_script_line_is_an_error_line_and_the_run_goes_on() {
    let directory = tempfile::tempdir().expect("temp dir");
    let script = directory.path().join("script.jsonl");
    #[allow(clippy::disallowed_methods)]
    std::fs::write(
        &script,
        concat!(
            "{\"command\":\"construct\",\"who\":{\"agent\":\"?\",\"authority\":\"?\"},\"arg\":{},\"timestamp\":0,\"extra\":true}\n",
            "{not json\n",
            "{\"command\":\"teleport\",\"timestamp\":1}\n",
            "{\"command\":\"send\",\"who\":{\"agent\":\"x\",\"authority\":\"y\"},\"channel\":\"nope\",\"message\":{},\"timestamp\":2}\n",
        ),
    )
    .expect("write");
    let output = Command::cargo_bin("adama")
        .expect("binary")
        .arg("run")
        .arg(root().join("examples/counter/counter.a"))
        .arg("--script")
        .arg(&script)
        .output()
        .expect("runs");
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    assert_eq!(lines.len(), 5, "one line per command, then the document");
    assert!(
        lines[0]["error"].is_null(),
        "unknown extra fields are ignored"
    );
    assert!(
        lines[1]["error"]["message"]
            .as_str()
            .expect("message")
            .contains("line 2")
    );
    assert_eq!(lines[2]["error"]["code"], 132_116);
    assert_eq!(lines[3]["error"]["code"], 117_823);
    assert_eq!(
        lines[4]["document"]["__seq"], lines[0]["seq"],
        "failed commands changed nothing"
    );
}

#[test]
fn a_missing_script_is_a_usage_failure() {
    let output = Command::cargo_bin("adama")
        .expect("binary")
        .arg("run")
        .arg(root().join("examples/counter/counter.a"))
        .args(["--script", "/nonexistent/script.jsonl"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
}
