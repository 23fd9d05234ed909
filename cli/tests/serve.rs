//! `adama serve`: its arguments, a devbox directory, and what it prints.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn adama() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adama"))
}

#[test]
fn a_directory_without_a_verse_file_is_a_usage_error() {
    let directory = tempfile::tempdir().expect("a directory");
    let output = adama()
        .arg("serve")
        .arg(directory.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no local.verse.json"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn a_space_with_errors_stops_the_start_with_its_diagnostics() {
    let directory = tempfile::tempdir().expect("a directory");
    let file = directory.path().join("bad.a");
    std::fs::write(&file, "public int x = ;\n").expect("written");
    let output = adama()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(directory.path().join("data"))
        .arg("--space")
        .arg(format!("bad={}", file.display()))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("space 'bad' does not compile"), "{stderr}");
    assert!(
        stderr.contains("bad.a:1:"),
        "the error has a location: {stderr}"
    );
    let output = adama()
        .args(["serve", "--space", "x=nothing.a"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_devbox_directory_serves_its_spaces() {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(
        directory.path().join("room.a"),
        include_str!("../../examples/chat/chat.a"),
    )
    .expect("written");
    std::fs::write(
        directory.path().join("local.verse.json"),
        r#"{"spaces":[{"name":"room","main":"room.a"}],"documents":[{"space":"room","key":"main","domain":true}]}"#,
    )
    .expect("written");
    let mut child = adama()
        .arg("serve")
        .arg(directory.path())
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(directory.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("text");
    let second = lines.next().expect("a line").expect("text");
    child.kill().expect("stopped");
    let _ = child.wait();
    assert!(
        first.starts_with("Adama node on http://127.0.0.1:"),
        "{first}"
    );
    assert_eq!(second.trim(), "spaces: room");
}

#[test]
fn a_verse_memory_budget_that_is_not_a_byte_count_stops_the_start() {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(
        directory.path().join("room.a"),
        include_str!("../../examples/chat/chat.a"),
    )
    .expect("written");
    std::fs::write(
        directory.path().join("local.verse.json"),
        r#"{"spaces":[{"name":"room","main":"room.a","transaction_bytes":1048576,"document_bytes":"lots"}]}"#,
    )
    .expect("written");
    let output = adama()
        .arg("serve")
        .arg(directory.path())
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(directory.path().join("data"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("space 'room': \"document_bytes\" must be a positive number of bytes"),
        "{stderr}"
    );
}
