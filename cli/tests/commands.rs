//! The rest of the command line: `parse`, `--help` and `--version`.

use assert_cmd::Command;

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

#[test]
fn parse_prints_the_tree_with_field_names() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = dir.path().join("x.a");
    std::fs::write(&path, "public int x = 1;\n").unwrap_or_else(|error| panic!("{error}"));
    let output = run(&["parse", &path.display().to_string()]);
    assert_eq!(output.status.code(), Some(0));
    let expected = "document [0, 0] - [1, 0]\n  field_declaration [0, 0] - [0, 17]\n    privacy: privacy [0, 0] - [0, 6]\n    type: type_identifier [0, 7] - [0, 10]\n    name: identifier [0, 11] - [0, 12]\n    value: number [0, 15] - [0, 16]\n";
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
}

#[test]
fn parse_marks_missing_nodes_and_exits_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = dir.path().join("x.a");
    std::fs::write(&path, "public int x\n").unwrap_or_else(|error| panic!("{error}"));
    let output = run(&["parse", &path.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("MISSING ; [0, 12] - [0, 12]"));
}

#[test]
fn help_lists_the_subcommands() {
    let output = adama()
        .arg("--help")
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("check") && stdout.contains("parse"),
        "{stdout}"
    );
}

#[test]
fn version_prints_the_package_version() {
    let output = adama()
        .arg("--version")
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("adama {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn fmt_rewrites_files_and_check_lists_the_unformatted_ones() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = dir.path().join("x.a");
    std::fs::write(&path, "record R {\npublic int id;\n}\n")
        .unwrap_or_else(|error| panic!("{error}"));
    let name = path.display().to_string();

    let output = run(&["fmt", "--check", &name]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("{name}\n"));

    let output = run(&["fmt", &name]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        "record R {\n  public int id;\n}\n"
    );

    let output = run(&["fmt", "--check", &name]);
    assert_eq!(output.status.code(), Some(0));

    std::fs::write(&path, "public int x = ;\n").unwrap_or_else(|error| panic!("{error}"));
    let output = run(&["fmt", &name]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        "public int x = ;\n",
        "a broken file is left alone"
    );
}
