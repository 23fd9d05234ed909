//! A new password given to a node (`document/authorize-with-reset`) is kept out of its store:
//! the `password` command is logged without it, no byte of the data directory holds it,
//! `adama log export` shows the command redacted, `adama replay` applies that step as recorded
//! and reproduces the rest, and after a restart the new password logs in.

#[path = "../../node/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value as Json, json};
use support::{Client, config, run, space};

const NEW_PASSWORD: &str = "Zebra-quartz-7194";

const VAULT: &str = r#"
@static { create { return true; } }
@connected { return true; }
record User { public int id; public string name; private string hash; }
table<User> _users;
public int changes;
message Add { string name; string password; }
channel add(Add a) { _users <- {name: a.name, hash: a.password.passwordHash()}; }
@authorize (username, pw) {
  if ((iterate _users where name == username)[0] as user) {
    if (user.hash.passwordCheck(pw)) { return user.name; }
  }
  abort;
}
@password (pw) {
  if ((iterate _users where name == @who.agent())[0] as user) { user.hash = pw.passwordHash(); }
  changes = changes + 1;
}
"#;

fn adama() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adama"))
}

/// Every file under `dir`, as bytes.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap_or_else(|error| panic!("{error}")) {
            let path = entry.unwrap_or_else(|error| panic!("{error}")).path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{error}"));
                found.push((path.display().to_string(), bytes));
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn login(client: &mut Client, id: i64, password: &str, new: Option<&str>) -> Json {
    let mut request = json!({"method": "document/authorize", "id": id, "space": "vault",
        "key": "main", "username": "ann", "password": password});
    if let Some(new) = new {
        request["method"] = json!("document/authorize-with-reset");
        request["new_password"] = json!(new);
    }
    client.request(request).await;
    client.reply(id).await
}

#[test]
fn a_new_password_is_in_no_byte_of_the_store_and_the_log_still_replays() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let data = dir.path().join("data");
    run(async {
        let node = adama_node::start(config(&data, vec![space("vault", VAULT)]))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        client.create_document(1, "vault", "main").await;
        client.open(2, "anonymous:admin", "vault", "main").await;
        client
            .request(
                json!({"method": "connection/send", "id": 3, "connection": 2,
                "channel": "add", "message": {"name": "ann", "password": "first"}}),
            )
            .await;
        assert!(client.reply(3).await.get("failure").is_none());
        let reset = login(&mut client, 4, "first", Some(NEW_PASSWORD)).await;
        assert!(reset["response"]["identity"].is_string(), "{reset}");
        node.task.abort();
    });
    for (file, bytes) in all_bytes(&data) {
        assert!(
            !contains(&bytes, NEW_PASSWORD.as_bytes()),
            "{file} holds the new password"
        );
    }

    let output = adama()
        .args([
            "log", "export", "--space", "vault", "--key", "main", "--data",
        ])
        .arg(&data)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let exported = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(!exported.contains(NEW_PASSWORD), "{exported}");
    let password = exported
        .lines()
        .map(|line| serde_json::from_str::<Json>(line).unwrap_or_else(|error| panic!("{error}")))
        .find(|record| record["command"]["command"] == "password")
        .unwrap_or_else(|| panic!("the password change is logged: {exported}"));
    assert_eq!(
        password["command"]["redacted"],
        json!(["password"]),
        "{password}"
    );
    assert_eq!(password["command"]["who"]["agent"], "ann", "{password}");
    assert_eq!(password["redo"]["changes"], 1, "{password}");

    let log = dir.path().join("vault.log");
    std::fs::write(&log, &exported).unwrap_or_else(|error| panic!("{error}"));
    let program = dir.path().join("vault.a");
    std::fs::write(&program, VAULT).unwrap_or_else(|error| panic!("{error}"));
    let output = adama()
        .arg("replay")
        .arg(&program)
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("(1 whose secret is not logged was applied as recorded)"),
        "{output:?}"
    );

    // Reloaded from the store, the document checks the new password, not the old one.
    run(async {
        let node = adama_node::start(config(&data, vec![space("vault", VAULT)]))
            .await
            .expect("the node restarts");
        let mut client = Client::connect(node.address).await;
        let refused = login(&mut client, 1, "first", None).await;
        assert_eq!(refused["reason"], 191_713, "{refused}");
        let accepted = login(&mut client, 2, NEW_PASSWORD, None).await;
        assert!(accepted["response"]["identity"].is_string(), "{accepted}");
        node.task.abort();
    });
}
