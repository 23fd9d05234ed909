//! The handlers a host asks outside transactions: `@authorization` and `@can_attach`.

use adama_runtime::{Document, Principal, compile};
use serde_json::json;

const CLUB: &str = r#"
@connected { return true; }
record Member { public int id; public string name; private string hash; public bool uploads; }
table<Member> _members;
public int seen;
message Join { string name; string hash; bool uploads; }
channel join(Join j) { _members <- {name: j.name, hash: j.hash, uploads: j.uploads}; }
message Login { string name; }
@authorization (Login l) {
  if ((iterate _members where name == l.name)[0] as m) {
    return {agent: m.name, hash: m.hash};
  }
  abort;
}
@can_attach {
  return (iterate _members where name == @who.agent() && uploads).size() > 0;
}
"#;

fn club() -> Document {
    let program = compile("club.a", CLUB).unwrap_or_else(|diagnostics| {
        panic!(
            "{:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    let mut document = Document::new(program, "space", "key").expect("document");
    let ann = json!({"agent": "ann", "authority": "acme"});
    document
        .execute_batch(&json!({"command": "construct", "who": ann, "arg": {}, "timestamp": 0}))
        .expect("construct");
    document
        .execute_batch(&json!({"command": "connect", "who": ann, "timestamp": 1}))
        .expect("connect");
    for (name, uploads) in [("ann", true), ("bob", false)] {
        document
            .execute_batch(&json!({"command": "send", "who": ann, "timestamp": 2,
                "channel": "join", "message": {"name": name, "hash": format!("h-{name}"), "uploads": uploads}}))
            .expect("join");
    }
    document
}

#[test]
fn authorization_returns_what_the_handler_names_and_changes_nothing() {
    let mut document = club();
    let before = document.dump();
    let answer = document
        .authorization(
            &json!({"name": "bob"}),
            &json!({"origin": "o", "ip": "1.2.3.4"}),
        )
        .expect("bob is a member");
    assert_eq!(answer, json!({"agent": "bob", "hash": "h-bob"}));
    let refused = document
        .authorization(&json!({"name": "zed"}), &json!({}))
        .expect_err("zed is not");
    assert_eq!(refused.code, 191_713);
    let misfit = document
        .authorization(&json!({"name": 7}), &json!({}))
        .expect_err("a name must be a string");
    assert_eq!(misfit.code, 191_713);
    assert_eq!(document.dump(), before);
}

#[test]
fn can_attach_asks_the_document_about_the_principal() {
    let mut document = club();
    let before = document.dump();
    let who = |agent: &str| Principal::new(agent, "acme");
    assert!(document.can_attach(&who("ann"), &json!({})));
    assert!(!document.can_attach(&who("bob"), &json!({})));
    assert!(!document.can_attach(&who("zed"), &json!({})));
    assert_eq!(document.dump(), before);

    let program = compile("plain.a", "public int x;").expect("compiles");
    let mut plain = Document::new(program, "space", "key").expect("document");
    assert!(
        !plain.can_attach(&who("ann"), &json!({})),
        "no handler allows no one"
    );
}
