//! What committed code asks of its host (`Document.destroy`, `Document.disconnect`,
//! `ViewState.*`), and that a run rolled back asks nothing.

use adama_runtime::{Document, HostRequest, Principal, compile};
use serde_json::json;

const ROOM: &str = r#"
@connected { return true; }
public int n;
message Empty {}
message Tab { string tab; }
message Open { bool open; }
message Kick { principal who; }
channel nudge(Empty e) {
  n = n + 1;
  ViewState.goto("/next");
  ViewState.log("nudged");
  Tab t = {tab: "b"};
  Open o = {open: true};
  ViewState.merge(t.to_dynamic());
  ViewState.send("panel", o.to_dynamic());
}
channel kick(Kick k) { Document.disconnect(k.who); }
channel end(Empty e) { Document.destroy(); }
channel rash(Empty e) { Document.destroy(); ViewState.log("never"); abort; }
"#;

fn room() -> Document {
    let program = compile("room.a", ROOM).unwrap_or_else(|diagnostics| {
        panic!(
            "{:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    let mut document = Document::new(program, "space", "key").expect("document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}))
        .expect("construct");
    let who = json!({"agent": "ann", "authority": "acme"});
    document
        .execute_batch(
            &json!({"command": "connect", "who": who, "timestamp": 1, "viewer-state": {}}),
        )
        .expect("connect");
    document.take_host_requests();
    document
}

fn send(document: &mut Document, channel: &str, message: serde_json::Value) -> bool {
    document
        .execute_batch(
            &json!({"command": "send", "who": {"agent": "ann", "authority": "acme"},
            "timestamp": 2, "channel": channel, "message": message}),
        )
        .is_ok()
}

/// A view-state item asked by code that ran for ann.
fn asked(item: serde_json::Value) -> HostRequest {
    HostRequest::ViewState {
        who: Principal::new("ann", "acme"),
        item,
    }
}

#[test]
fn view_state_functions_ask_for_items_of_the_sender_s_client_in_order() {
    let mut document = room();
    assert!(send(&mut document, "nudge", json!({})));
    assert_eq!(
        document.take_host_requests(),
        vec![
            asked(json!({"goto": "/next"})),
            asked(json!({"log": "nudged"})),
            asked(json!({"viewstate": {"tab": "b"}})),
            asked(json!({"viewport": "panel", "message": {"open": true}})),
        ]
    );
    assert!(document.take_host_requests().is_empty(), "taken once");
}

#[test]
fn disconnect_and_destroy_are_asked_once_their_transaction_commits() {
    let mut document = room();
    assert!(send(
        &mut document,
        "kick",
        json!({"who": {"agent": "bo", "authority": "acme"}})
    ));
    assert_eq!(
        document.take_host_requests(),
        vec![HostRequest::Disconnect(Principal::new("bo", "acme"))]
    );
    assert!(
        !send(&mut document, "rash", json!({})),
        "the handler aborts"
    );
    assert!(
        document.take_host_requests().is_empty(),
        "a rolled-back run asks nothing"
    );
    assert!(send(&mut document, "end", json!({})));
    assert_eq!(document.take_host_requests(), vec![HostRequest::Destroy]);
}
