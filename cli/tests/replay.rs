//! Logs: `adama run --record` writes them, `adama replay` checks them against a program,
//! `adama log show` summarises them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value as Json;

fn adama() -> Command {
    Command::cargo_bin("adama").unwrap_or_else(|error| panic!("the adama binary is built: {error}"))
}

fn example(name: &str, extension: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    root.join(name)
        .join(format!("{name}.{extension}"))
        .display()
        .to_string()
}

/// Runs an example's script with `--record`, checking that the printed output is unchanged.
fn record(dir: &Path, name: &str) -> PathBuf {
    let log = dir.join(format!("{name}.log"));
    let output = adama()
        .args([
            "run",
            &example(name, "a"),
            "--script",
            &example(name, "jsonl"),
        ])
        .arg("--record")
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let expected = std::fs::read_to_string(example(name, "expected.jsonl"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    log
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{error}"))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn record_writes_one_record_per_committed_transaction() {
    let dir = tempdir();
    let log = record(dir.path(), "counter");
    let records: Vec<Json> = text(&log)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}")))
        .collect();
    // Seven script lines: one opens a view and one is refused (bo is not connected).
    let kinds: Vec<&str> = records
        .iter()
        .map(|record| record["command"]["command"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        ["construct", "connect", "send", "invalidate", "disconnect"]
    );
    assert_eq!(records[2]["redo"]["count"], 3);
    assert_eq!(records[2]["undo"]["count"], 0);
    assert_eq!(records[2]["seq"], 4);
}

#[test]
fn every_example_log_reproduces() {
    let dir = tempdir();
    for name in ["counter", "chat", "cards", "tictactoe"] {
        let log = record(dir.path(), name);
        let output = adama()
            .args(["replay", &example(name, "a")])
            .arg(&log)
            .output()
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("transactions reproduce"));
    }
}

#[test]
fn a_changed_program_diverges_at_the_first_changed_step_with_both_deltas() {
    let dir = tempdir();
    let log = record(dir.path(), "counter");
    let changed = dir.path().join("changed.a");
    let source = text(Path::new(&example("counter", "a")));
    assert!(source.contains("count += b.by;"));
    std::fs::write(
        &changed,
        source.replace("count += b.by;", "count += b.by * 2;"),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let output = adama()
        .arg("replay")
        .arg(&changed)
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("step 3/5: send bump by ann/acme"),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"recorded redo: {"__seq":4,"__time":"9","count":3}"#),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"replayed redo: {"__seq":4,"__time":"9","count":6}"#),
        "{stderr}"
    );
}

#[test]
fn a_log_of_another_program_or_a_truncated_log_is_refused_clearly() {
    let dir = tempdir();
    let log = record(dir.path(), "counter");
    let output = adama()
        .args(["replay", &example("chat", "a")])
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not belong to this program"),
        "{stderr}"
    );
    assert!(stderr.contains("`count`"), "{stderr}");

    let full = text(&log);
    let truncated = dir.path().join("truncated.log");
    std::fs::write(&truncated, &full[..full.len() - 40]).unwrap_or_else(|error| panic!("{error}"));
    let output = adama()
        .args(["log", "show"])
        .arg(&truncated)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 5: the log is truncated"), "{stderr}");
}

#[test]
fn log_show_summarises_each_step() {
    let dir = tempdir();
    let log = record(dir.path(), "counter");
    let output = adama()
        .args(["log", "show"])
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = "\
step 3  seq 4  time 9  send bump by ann/acme
  count: 0 -> 3
  (2 internal fields)
step 4  seq 5  time 60000  invalidate
  count: 3 -> 4
  ticks: 0 -> 1
  (4 internal fields)
";
    assert!(stdout.contains(expected), "{stdout}");
    assert!(
        stdout.starts_with("step 1  seq 1  time 0  construct by ?/?\n"),
        "{stdout}"
    );
}

/// Frames DAP requests as an editor writes them on the adapter's stdin.
fn dap_input(requests: &[Json]) -> Vec<u8> {
    let mut input = Vec::new();
    for request in requests {
        let body = request.to_string();
        input.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes());
    }
    input
}

/// Splits the adapter's stdout into its messages.
fn dap_output(output: &[u8]) -> Vec<Json> {
    let text = String::from_utf8_lossy(output);
    text.split("Content-Length: ")
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (_, body) = part.split_once("\r\n\r\n").unwrap_or(("", ""));
            serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
        })
        .collect()
}

#[test]
fn dap_over_stdio_replays_a_recorded_log() {
    let dir = tempdir();
    let log = record(dir.path(), "tictactoe");
    let request = |seq: i64, command: &str, arguments: Json| serde_json::json!({"seq": seq, "type": "request", "command": command, "arguments": arguments});
    let input = dap_input(&[
        request(1, "initialize", serde_json::json!({"adapterID": "adama"})),
        request(
            2,
            "launch",
            serde_json::json!({"program": example("tictactoe", "a"), "log": log.display().to_string(),
                "stopOnEntry": true}),
        ),
        request(3, "configurationDone", serde_json::json!({})),
        request(
            4,
            "goto",
            serde_json::json!({"threadId": 1, "targetId": 13}),
        ),
        request(5, "next", serde_json::json!({"threadId": 1})),
        request(6, "stackTrace", serde_json::json!({"threadId": 1})),
        request(7, "disconnect", serde_json::json!({})),
    ]);
    let output = adama()
        .arg("dap")
        .write_stdin(input)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let messages = dap_output(&output.stdout);
    let responses: Vec<&Json> = messages
        .iter()
        .filter(|m| m["type"] == "response")
        .collect();
    assert_eq!(responses.len(), 7, "{messages:?}");
    assert!(
        responses.iter().all(|response| response["success"] == true),
        "{messages:?}"
    );
    let stops: Vec<&str> = messages
        .iter()
        .filter(|m| m["event"] == "stopped")
        .map(|m| m["body"]["description"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(stops.len(), 3, "{stops:?}");
    assert!(stops[0].starts_with("step 1/13: construct"), "{stops:?}");
    assert!(stops[1].starts_with("step 13/13: "), "{stops:?}");
    assert_eq!(stops[2], "end of the log (13 steps)");
    assert_eq!(
        responses[5]["body"]["stackFrames"][0]["name"],
        "end of the log (13 steps)"
    );
}

/// A document with the deprecated `@password` handler: a user changes their password.
const LOCKER: &str = r#"
@connected { return true; }
record User { public int id; public string name; private string secret; }
table<User> _users;
public int changes;
message Add { string name; string secret; }
channel add(Add a) { _users <- {name: a.name, secret: a.secret}; }
@authorize (username, pw) {
  if ((iterate _users where name == username && secret == pw)[0] as user) {
    return user.name;
  }
  abort;
}
@password (pw) {
  if ((iterate _users where name == @who.agent())[0] as user) {
    user.secret = pw;
  }
  changes = changes + 1;
}
"#;

#[test]
fn a_log_with_a_password_change_replays_and_a_changed_handler_diverges() {
    let dir = tempdir();
    let program = dir.path().join("locker.a");
    std::fs::write(&program, LOCKER).unwrap_or_else(|error| panic!("{error}"));
    let script = dir.path().join("locker.jsonl");
    let admin = r#"{"agent":"admin","authority":"acme"}"#;
    let ann = r#"{"agent":"ann","authority":"doc/lockers/hall"}"#;
    std::fs::write(
        &script,
        [
            format!(r#"{{"command":"construct","who":{admin},"arg":{{}},"timestamp":0,"entropy":0}}"#),
            format!(r#"{{"command":"connect","who":{admin},"timestamp":1}}"#),
            format!(
                r#"{{"command":"send","who":{admin},"channel":"add","message":{{"name":"ann","secret":"one"}},"timestamp":2}}"#
            ),
            format!(r#"{{"command":"password","who":{ann},"password":"two","timestamp":3}}"#),
        ]
        .join("\n"),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let log = dir.path().join("locker.log");
    let output = adama()
        .arg("run")
        .arg(&program)
        .arg("--script")
        .arg(&script)
        .arg("--record")
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let records: Vec<Json> = text(&log)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}")))
        .collect();
    let password = records
        .iter()
        .find(|record| record["command"]["command"] == "password")
        .unwrap_or_else(|| panic!("the log holds the password change: {records:?}"));
    assert_eq!(password["redo"]["changes"], 1, "{password}");
    // The log keeps no new password: the command's secret is taken out, and a replay applies
    // what the transaction recorded.
    assert_eq!(password["command"].get("password"), None, "{password}");
    assert!(
        !password["command"].to_string().contains("two"),
        "{password}"
    );

    let output = adama()
        .arg("replay")
        .arg(&program)
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("all 4 transactions reproduce (1 whose secret is not logged"),
        "{stdout}"
    );
    let shown = adama()
        .arg("log")
        .arg("show")
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("secret not logged"),
        "{shown:?}"
    );

    // A changed handler of a step that runs again diverges there; the password step, which
    // cannot run again, is applied as recorded whatever `@password` now says.
    let changed = dir.path().join("changed.a");
    std::fs::write(
        &changed,
        LOCKER
            .replace("changes = changes + 1;", "changes = changes + 2;")
            .replace("secret: a.secret}", "secret: a.secret + \"!\"}"),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let output = adama()
        .arg("replay")
        .arg(&changed)
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("step 3/4: send add"), "{stderr}");
}
