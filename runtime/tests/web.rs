//! `@web` handlers and `attach`: routing, transactions for PUT and DELETE, read-only GET.

use adama_runtime::Document;
use adama_runtime::compile;
use serde_json::{Value as Json, json};

const SHOP: &str = r#"
@connected { return true; }
message Signup { string email; string name; }
record Subscriber { public int id; public string email; public string name; }
table<Subscriber> _subs;
public string lastAsset;

@web put /signup (Signup s) {
  if (s.email == "") { abort; }
  _subs <- s;
  return {json: {ok: true, count: _subs.size()}};
}
@web get /subscriber/$id:int {

  if (_subs[id] as s) { return {json: {name: s.name}}; }
  return {error: "no such subscriber", status: 404};
}
@web get /subscriber/first { return {html: "the first", cors: true}; }
@web get /files/$rest* { return {html: "file " + rest}; }
@web get /search {
  return {html: @parameters.str("q", "") + " from " + @headers["agent"].getOrDefaultTo("?")};
}
@web delete /subscriber/$id:int {
  if (_subs[id] as s) { s.delete(); return {html: "gone"}; }
  abort;
}
@attached (a) { lastAsset = a.name(); }
"#;

fn shop() -> Document {
    let program = compile("shop.a", SHOP).unwrap_or_else(|diagnostics| {
        panic!(
            "{:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    let mut document = Document::new(program, "space", "key").expect("document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}))
        .expect("construct");
    document
}

fn request(kind: &str, uri: &str, body: Json) -> Json {
    let field = kind.trim_start_matches("web_");
    json!({"command": kind, "who": {"agent": "ann", "authority": "acme"}, "timestamp": 5,
        field: {"uri": uri, "headers": {"agent": "curl"}, "parameters": {"q": "tea"}, "bodyJson": body}})
}

#[test]
fn a_put_is_a_transaction_with_a_response() {
    let mut document = shop();
    let record = document
        .execute(&request(
            "web_put",
            "/signup",
            json!({"email": "a@b.c", "name": "Ann"}),
        ))
        .expect("put");
    assert_eq!(record.redo["_subs"]["1"]["name"], "Ann");
    assert_eq!(
        record.response,
        Some(
            json!({"content-type": "application/json", "body": {"ok": true, "count": 1}, "status": 200})
        )
    );
    let error = document
        .execute(&request(
            "web_put",
            "/signup",
            json!({"email": "", "name": "x"}),
        ))
        .expect_err("aborts");
    assert_eq!(error.code, 134_399);
    assert_eq!(document.dump()["_subs"].as_object().expect("rows").len(), 1);
}

#[test]
fn a_get_answers_and_changes_nothing() {
    let mut document = shop();
    document
        .execute(&request(
            "web_put",
            "/signup",
            json!({"email": "a@b.c", "name": "Ann"}),
        ))
        .expect("put");
    let before = document.dump();
    let record = document
        .execute(&request("web_get", "/subscriber/1", json!({})))
        .expect("get");
    assert_eq!(
        record.response.expect("response")["body"],
        json!({"name": "Ann"})
    );
    assert_eq!(document.dump(), before, "a GET changes nothing");
    let missing = document
        .execute(&request("web_get", "/subscriber/9", json!({})))
        .expect("get");
    assert_eq!(missing.response.expect("response")["status"], 404);
}

#[test]
fn literal_segments_win_over_captures_and_a_tail_takes_the_rest() {
    let mut document = shop();
    let literal = document
        .execute(&request("web_get", "/subscriber/first", json!({})))
        .expect("get");
    assert_eq!(
        literal.response.expect("response"),
        json!({"content-type": "text/html; charset=utf-8", "body": "the first", "cors": true, "status": 200})
    );
    let tail = document
        .execute(&request("web_get", "/files/a/b.txt", json!({})))
        .expect("get");
    assert_eq!(tail.response.expect("response")["body"], "file a/b.txt");
    let query = document
        .execute(&request("web_get", "/search?q=tea", json!({})))
        .expect("get");
    assert_eq!(query.response.expect("response")["body"], "tea from curl");
    let error = document
        .execute(&request("web_get", "/nowhere", json!({})))
        .expect_err("no route");
    assert_eq!(error.code, 133_308);
    let error = document
        .execute(&request("web_delete", "/subscriber/7", json!({})))
        .expect_err("aborts");
    assert_eq!(error.code, 120_060);
}

#[test]
fn attach_runs_the_attached_event_for_connected_principals() {
    let mut document = shop();
    let asset = json!({"id": "A1", "size": "2048", "name": "x.png", "type": "image/png", "md5": "m", "sha384": "s"});
    let error = document
        .execute(&json!({"command": "attach", "who": {"agent": "ann", "authority": "acme"}, "asset": asset, "timestamp": 3}))
        .expect_err("not connected");
    assert_eq!(error.code, 143_373);
    document
        .execute_batch(&json!({"command": "connect", "who": {"agent": "ann", "authority": "acme"}, "timestamp": 4}))
        .expect("connect");
    document
        .execute(&json!({"command": "attach", "who": {"agent": "ann", "authority": "acme"}, "asset": asset, "timestamp": 5}))
        .expect("attach");
    assert_eq!(document.dump()["lastAsset"], "x.png");
}

#[test]
fn a_put_body_that_does_not_fit_its_message_is_refused() {
    let mut document = shop();
    let before = document.dump();
    for body in [
        json!(5),
        json!("a@b.c"),
        json!([{"email": "a@b.c"}]),
        json!({"email": {"at": "b.c"}, "name": "Ann"}),
        json!({"email": "a@b.c", "name": ["Ann"]}),
    ] {
        let error = document
            .execute(&request("web_put", "/signup", body.clone()))
            .expect_err("refused");
        assert_eq!(error.code, 145_627, "{body}");
        assert!(error.message.contains("'/signup'"), "{}", error.message);
        assert_eq!(document.dump(), before, "{body} changed the document");
    }
    let error = document
        .execute(&request(
            "web_put",
            "/signup",
            json!({"email": 7, "name": true}),
        ))
        .map(|record| record.redo["_subs"]["1"]["email"].clone());
    assert_eq!(
        error.expect("numbers and bools are taken as text"),
        json!("7")
    );
}

#[test]
fn the_request_context_reads_as_strings_and_the_principal_who_asks() {
    let program = compile(
        "context.a",
        r#"
@connected { return true; }
public string seen;
message Note { string text; }
channel note(Note n) {
  seen = n.text + ":" + @context.who.agent() + "@" + @context.origin + "/" + @context.ip;
}
@web get /context {
  return {html: "o=" + @context.origin + " ip=" + @context.ip + " who=" + @context.who.agent()
    + " key=" + @context.key + " n=" + @context.origin.length()};
}
"#,
    )
    .expect("compiles");
    let mut document = Document::new(program, "space", "room").expect("document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}))
        .expect("construct");
    let mut get = request("web_get", "/context", json!({}));
    get["origin"] = json!("https://x.test");
    get["ip"] = json!("10.0.0.9");
    let record = document.execute(&get).expect("get");
    assert_eq!(
        record.response.expect("a response")["body"],
        "o=https://x.test ip=10.0.0.9 who=ann key=room n=14"
    );
    let who = json!({"agent": "bo", "authority": "acme"});
    document
        .execute(&json!({"command": "connect", "who": who, "timestamp": 1, "viewer-state": {}}))
        .expect("connect");
    let record = document
        .execute(
            &json!({"command": "send", "who": who, "timestamp": 2, "channel": "note",
            "message": {"text": "hi"}, "origin": "o", "ip": "1.2.3.4"}),
        )
        .expect("send");
    assert_eq!(record.redo["seen"], "hi:bo@o/1.2.3.4");
}
