//! `adama keys`: rotating, listing and removing the keys a node signs identities with, and
//! `adama serve --token-lifetime` refusing what is no duration.

use assert_cmd::Command;

fn adama() -> Command {
    Command::cargo_bin("adama").unwrap_or_else(|error| panic!("the adama binary is built: {error}"))
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = adama()
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn keys_rotate_list_and_remove_in_a_data_directory() {
    let data = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let dir = data
        .path()
        .to_str()
        .unwrap_or_else(|| panic!("a UTF-8 path"));
    let (code, _, stderr) = run(&["keys", "rotate", "--data", dir]);
    assert_eq!(code, Some(2), "nothing to rotate yet: {stderr}");
    assert!(stderr.contains("no key to rotate"), "{stderr}");

    let first = adama_node::signing::NodeKey::load_or_create(data.path())
        .unwrap_or_else(|error| panic!("{error}"));
    let (code, stdout, stderr) = run(&["keys", "rotate", "--data", dir]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("key {} retired", first.kid)),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["keys", "list", "--data", dir]);
    assert_eq!(code, Some(0));
    let current = adama_node::signing::NodeKey::load_or_create(data.path())
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(
        stdout.starts_with(&format!("current {}\n", current.kid)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("retired {}", first.kid)),
        "{stdout}"
    );

    let kid = first.kid.to_string();
    let (code, _, stderr) = run(&["keys", "remove", "--data", dir, "--kid", "12"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains(&format!("retired keys: {kid}")), "{stderr}");
    let (code, stdout, _) = run(&["keys", "remove", "--data", dir, "--kid", &kid]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("refused from now on"), "{stdout}");
    let (_, stdout, _) = run(&["keys", "list", "--data", dir]);
    assert!(!stdout.contains("retired"), "{stdout}");
}

#[test]
fn a_token_lifetime_that_is_no_duration_is_refused_with_the_forms_it_takes() {
    let (code, _, stderr) = run(&["serve", "--token-lifetime", "soon"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("like 30d"), "{stderr}");
}
