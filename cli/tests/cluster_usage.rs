//! `adama serve --cluster` and `adama cluster status` given what they cannot use.

use std::process::Command;

fn adama() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adama"))
}

fn write(directory: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let file = directory.path().join("cluster.toml");
    std::fs::write(&file, text).expect("written");
    file
}

#[test]
fn a_node_id_the_file_does_not_list_stops_the_start_with_a_hint() {
    let directory = tempfile::tempdir().expect("a directory");
    let file = write(&directory, "[[node]]\nid = 1\naddress = \"127.0.0.1:1\"\n");
    let output = adama()
        .args(["serve", "--node-id", "4", "--cluster"])
        .arg(&file)
        .arg("--data")
        .arg(directory.path().join("data"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("there is no node 4"), "{stderr}");
    assert!(
        stderr.contains("hint: --node-id must be one of the file's ids: [1]"),
        "{stderr}"
    );
}

#[test]
fn a_cluster_file_with_a_mistake_is_named_with_the_mistake() {
    let directory = tempfile::tempdir().expect("a directory");
    let file = write(
        &directory,
        "[[node]]\nid = 1\naddress = \"127.0.0.1:1\"\n[[node]]\nid = 1\naddress = \"127.0.0.1:2\"\n",
    );
    let output = adama()
        .args(["serve", "--node-id", "1", "--cluster"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cluster.toml: node 1 is listed twice"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn a_cluster_needs_both_the_file_and_the_node_id() {
    let output = adama()
        .args(["serve", "--cluster", "cluster.toml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--node-id"), "{stderr}");
}

#[test]
fn status_of_a_cluster_with_no_node_up_says_so() {
    let directory = tempfile::tempdir().expect("a directory");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let file = write(
        &directory,
        &format!("partitions = 2\n[[node]]\nid = 1\naddress = \"127.0.0.1:{port}\"\n"),
    );
    let output = adama()
        .args(["cluster", "status", "--cluster"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("node 1: unreachable"), "{stdout}");
    assert!(stdout.contains("        0    none"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no node of the cluster answered"),
        "{stderr}"
    );
}
