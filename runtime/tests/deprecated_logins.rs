//! The deprecated login handlers: `@authorize` names the agent of a user whose password the
//! document checks itself (outside any transaction), and the `password` command runs
//! `@password` as a logged transaction that replays the same.

use adama_runtime::{Document, compile};
use serde_json::{Value as Json, json};

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

fn document(source: &str) -> Document {
    let program = compile("locker.a", source).unwrap_or_else(|diagnostics| {
        panic!(
            "{:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    Document::new(program, "lockers", "hall").expect("document")
}

/// The commands that make a locker with ann (`one`) and bob (`two`), then change ann's password.
fn history() -> Vec<Json> {
    let admin = json!({"agent": "admin", "authority": "acme"});
    let ann = json!({"agent": "ann", "authority": "doc/lockers/hall"});
    vec![
        json!({"command": "construct", "who": admin, "arg": {}, "timestamp": 0, "entropy": 7}),
        json!({"command": "connect", "who": admin, "timestamp": 1}),
        json!({"command": "send", "who": admin, "timestamp": 2, "channel": "add",
            "message": {"name": "ann", "secret": "one"}}),
        json!({"command": "send", "who": admin, "timestamp": 3, "channel": "add",
            "message": {"name": "bob", "secret": "two"}}),
        json!({"command": "password", "who": ann, "timestamp": 4, "password": "three"}),
    ]
}

#[test]
fn authorize_names_the_agent_and_changes_nothing() {
    let mut locker = document(LOCKER);
    for command in &history()[..4] {
        locker.execute(command).expect("the set-up runs");
    }
    let before = locker.dump();
    let context = json!({"origin": "https://app", "ip": "10.0.0.1"});
    assert_eq!(
        locker.authorize("bob", "two", &context).as_deref(),
        Ok("bob")
    );
    for (username, password) in [("bob", "one"), ("zed", "two"), ("", "")] {
        let refused = locker
            .authorize(username, password, &context)
            .expect_err("a wrong user or password is refused");
        assert_eq!(refused.code, 191_713, "{username}/{password}");
    }
    assert_eq!(locker.dump(), before);
}

#[test]
fn the_password_command_runs_at_password_as_who_and_replays_the_same() {
    let mut locker = document(LOCKER);
    let mut records = Vec::new();
    for command in history() {
        records.push(locker.execute(&command).expect("each command runs"));
    }
    let changed = records.last().expect("the password record");
    assert_eq!(changed.command["command"], "password");
    // The record keeps no secret: the new password is taken out of the command it logs.
    assert_eq!(changed.command.get("password"), None, "{}", changed.command);
    assert_eq!(changed.command["redacted"], json!(["password"]));
    assert_eq!(changed.command["who"]["agent"], "ann");
    assert_eq!(changed.redo["changes"], 1, "{:?}", changed.redo);
    assert_eq!(locker.dump()["changes"], 1);
    let context = json!({});
    assert_eq!(
        locker.authorize("ann", "three", &context).as_deref(),
        Ok("ann")
    );
    assert_eq!(
        locker.authorize("ann", "one", &context).map_err(|e| e.code),
        Err(191_713)
    );
    assert_eq!(
        locker.authorize("bob", "two", &context).as_deref(),
        Ok("bob")
    );

    // A second document fed the recorded commands ends the same, record for record; the
    // redacted one cannot run again, and its redo is applied as recorded instead.
    let mut again = document(LOCKER);
    for record in &records {
        if adama_runtime::is_redacted(&record.command) {
            let refused = again
                .execute(&record.command)
                .expect_err("a redacted command does not run");
            assert_eq!(refused.code, 196_631);
            again.insert(&record.redo);
            continue;
        }
        let replayed = again.execute(&record.command).expect("the replay runs");
        assert_eq!(replayed.redo, record.redo);
        assert_eq!(replayed.seq, record.seq);
    }
    assert_eq!(again.dump(), locker.dump());
    assert_eq!(
        again.authorize("ann", "three", &context).as_deref(),
        Ok("ann")
    );
}

#[test]
fn after_a_redacted_password_the_replay_goes_on_with_the_same_randomness() {
    // `passwordHash()` draws its salt from the document's random generator: applying the
    // recorded redo must leave the generator where running the command left it.
    let source = r#"
@connected { return true; }
public int changes;
private string hashed;
public string salted;
message Salt { string text; }
channel salt(Salt s) { salted = s.text.passwordHash(); }
@password (pw) { hashed = pw.passwordHash(); changes = changes + 1; }
"#;
    let admin = json!({"agent": "admin", "authority": "acme"});
    let commands = [
        json!({"command": "construct", "who": admin, "arg": {}, "timestamp": 0, "entropy": 7}),
        json!({"command": "connect", "who": admin, "timestamp": 1}),
        json!({"command": "password", "who": admin, "timestamp": 2, "password": "s3cret"}),
        json!({"command": "send", "who": admin, "timestamp": 3, "channel": "salt",
            "message": {"text": "x"}}),
    ];
    let mut live = document(source);
    let records: Vec<_> = commands
        .iter()
        .map(|command| live.execute(command).expect("each command runs"))
        .collect();
    assert!(!records[2].command.to_string().contains("s3cret"));
    let mut again = document(source);
    for record in &records {
        if adama_runtime::is_redacted(&record.command) {
            again.insert(&record.redo);
        } else {
            assert_eq!(
                again.execute(&record.command).expect("runs").redo,
                record.redo
            );
        }
    }
    assert_eq!(again.dump(), live.dump());
}

#[test]
fn a_password_command_without_a_handler_or_a_password_changes_nothing() {
    let mut locker = document(LOCKER);
    for command in &history()[..4] {
        locker.execute(command).expect("the set-up runs");
    }
    let before = locker.dump();
    let missing = locker
        .execute(&json!({"command": "password", "who": {"agent": "ann", "authority": "x"}}))
        .expect_err("no password");
    assert_eq!(missing.code, 196_624);
    assert_eq!(locker.dump(), before);

    let mut plain = document("@connected { return true; } public int x;");
    plain
        .execute(&json!({"command": "construct", "arg": {}, "timestamp": 0}))
        .expect("construct");
    let before = plain.dump();
    let refused = plain
        .execute(&json!({"command": "password", "password": "p", "timestamp": 1}))
        .expect_err("no @password handler");
    assert_eq!(refused.code, 191_713);
    let no_authorize = plain
        .authorize("ann", "p", &json!({}))
        .expect_err("no @authorize handler");
    assert_eq!(no_authorize.code, 191_713);
    assert_eq!(plain.dump(), before);
}
