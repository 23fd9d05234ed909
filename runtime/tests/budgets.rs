//! The memory budget, and what a host asks of a program before any document exists (static
//! policies and settings).

use std::sync::Arc;

use adama_runtime::{Document, Loaded, Principal, StaticPolicy, codes, compile};
use serde_json::{Value as Json, json};

const HOSTILE: &str = r#"
@static { create { return true; } maximum_history = 250; }
@connected { return true; }
record Row { public int x; }
table<Row> _rows;
public string text = "x";
public int count;
message Go { int n; }
channel twice(Go g) { string s = "0123456789abcdef"; for (int i = 0; i < 36; i++) { s = s + s; } text = s; }
channel grow(Go g) { for (int i = 0; i < g.n; i++) { _rows <- {x: i}; } }
channel bump(Go g) { count += g.n; }
channel shrink(Go g) { (iterate _rows).delete(); }
"#;

fn loaded(source: &str) -> Arc<Loaded> {
    let program = compile("test.a", source).unwrap_or_else(|diagnostics| {
        panic!(
            "the program does not compile: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    Loaded::new(program)
}

fn constructed(source: &str) -> Document {
    let mut document = Document::of_loaded(loaded(source), "space", "key").expect("a document");
    document
        .execute(&json!({"command": "construct", "who": who("ann"), "arg": {}, "timestamp": 0, "entropy": 0}))
        .expect("construct");
    document
        .execute(&json!({"command": "connect", "who": who("ann"), "timestamp": 1}))
        .expect("connect");
    document
}

fn who(agent: &str) -> Json {
    json!({"agent": agent, "authority": "acme"})
}

fn send(document: &mut Document, channel: &str, n: i64) -> Result<(), i32> {
    document
        .execute(&json!({"command": "send", "who": who("ann"), "channel": channel, "message": {"n": n}, "timestamp": 2}))
        .map(|_| ())
        .map_err(|error| error.code)
}

#[test]
fn a_doubling_string_is_stopped_by_the_transaction_budget_and_the_document_carries_on() {
    let mut document = constructed(HOSTILE);
    let before = document.dump();
    assert_eq!(
        send(&mut document, "twice", 0),
        Err(codes::MEMORY_EXHAUSTED)
    );
    assert_eq!(
        document.dump(),
        before,
        "the failed transaction changed nothing"
    );
    assert_eq!(send(&mut document, "bump", 3), Ok(()));
    assert_eq!(document.dump()["count"], json!(3));
}

#[test]
fn a_transaction_inserting_rows_without_end_is_stopped_by_the_transaction_budget() {
    let mut document = constructed(HOSTILE);
    document.limits_mut().transaction_bytes = 1 << 20;
    let seq = document.meta().seq;
    assert_eq!(
        send(&mut document, "grow", 3_000_000),
        Err(codes::MEMORY_EXHAUSTED)
    );
    assert_eq!(document.meta().seq, seq);
    assert_eq!(send(&mut document, "grow", 100), Ok(()));
    assert_eq!(
        document.dump()["_rows"].as_object().map(|rows| rows.len()),
        Some(100)
    );
}

#[test]
fn a_document_may_not_grow_beyond_its_budget_but_may_shrink_below_it() {
    let mut document = constructed(HOSTILE);
    let base = document.held_bytes();
    document.limits_mut().document_bytes = base + 200 * 400;
    assert_eq!(send(&mut document, "grow", 100), Ok(()));
    let held = document.held_bytes();
    assert!(held > base, "rows count toward what the document holds");
    assert_eq!(
        send(&mut document, "grow", 400),
        Err(codes::MEMORY_EXHAUSTED),
        "the second batch would cross the budget"
    );
    assert_eq!(document.held_bytes(), held, "a rollback returns the count");
    assert_eq!(
        document.dump()["_rows"].as_object().map(|rows| rows.len()),
        Some(100)
    );
    document.limits_mut().document_bytes = base;
    assert_eq!(
        send(&mut document, "bump", 1),
        Ok(()),
        "a transaction that does not grow it passes"
    );
    assert_eq!(send(&mut document, "shrink", 0), Ok(()));
    assert!(
        document.held_bytes() < held,
        "deleted rows are no longer held"
    );
}

#[test]
fn a_rebuilt_document_is_not_limited_by_the_transaction_budget() {
    let mut document = constructed(HOSTILE);
    assert_eq!(send(&mut document, "grow", 2_000), Ok(()));
    let stored = document.dump();
    let mut copy = Document::of_loaded(loaded(HOSTILE), "space", "key").expect("a document");
    copy.limits_mut().transaction_bytes = 1024;
    copy.insert(&stored);
    assert_eq!(copy.dump(), stored);
}

const POLICIES: &str = r#"
@static {
  create { return @who.agent() == "ann"; }
  create { return @who.authority() == "acme"; }
  invent { int i = 0; while (true) { i++; } return i > 0; }
  maximum_history = 250;
}
@connected { return true; }
public int x;
"#;

#[test]
fn static_policies_are_answered_without_a_document() {
    let program = loaded(POLICIES);
    let context = json!({"origin": "https://example.com", "ip": "1.2.3.4"});
    let ann = Principal::new("ann", "acme");
    assert_eq!(
        program.static_policy(StaticPolicy::Create, &ann, &context),
        Ok(true)
    );
    let bob = Principal::new("bob", "acme");
    assert_eq!(
        program.static_policy(StaticPolicy::Create, &bob, &context),
        Ok(false)
    );
    let other = Principal::new("ann", "elsewhere");
    assert_eq!(
        program.static_policy(StaticPolicy::Create, &other, &context),
        Ok(false),
        "every block must allow"
    );
    let looping = program.static_policy(StaticPolicy::Invent, &ann, &context);
    assert!(
        matches!(looping, Err(adama_runtime::Fault::Error { code, .. }) if code == codes::BUDGET_EXHAUSTED),
        "{looping:?}"
    );
    assert_eq!(
        program.static_policy(StaticPolicy::Send, &ann, &context),
        Ok(false),
        "an absent policy denies"
    );
}

#[test]
fn static_settings_are_read_from_the_program() {
    let settings = loaded(POLICIES).static_settings().expect("settings");
    assert_eq!(settings.get("maximum_history"), Some(&json!(250)));
    assert!(
        loaded("public int x;")
            .static_settings()
            .expect("settings")
            .is_empty()
    );
}

/// A document whose size lies in nested values: strings inside a map and inside rows.
const NESTED: &str = r#"
@static { create { return true; } }
@connected { return true; }
record Note { public int id; public string text; }
table<Note> _notes;
map<int, string> pages;
public int count;
message Put { int n; string text; }
channel page(Put p) { pages[p.n] = p.text; }
channel unpage(Put p) { pages.remove(p.n); }
channel note(Put p) { _notes <- {text: p.text}; }
channel clear(Put p) { (iterate _notes).delete(); }
channel bump(Put p) { count += p.n; }
"#;

fn put(document: &mut Document, channel: &str, n: i64, text: &str) -> Result<(), i32> {
    document
        .execute(
            &json!({"command": "send", "who": who("ann"), "channel": channel,
            "message": {"n": n, "text": text}, "timestamp": 2}),
        )
        .map(|_| ())
        .map_err(|error| error.code)
}

/// What a fresh instance rebuilt from the document's JSON holds: the estimate computed from
/// nothing, which the counts kept as the store changes must agree with.
fn rebuilt_held(document: &Document) -> u64 {
    let mut copy = Document::of_loaded(loaded(NESTED), "space", "key").expect("a document");
    copy.insert(&document.dump());
    copy.held_bytes()
}

#[test]
fn strings_inside_maps_and_rows_count_in_full_toward_what_a_document_holds() {
    let mut document = constructed(NESTED);
    let base = document.held_bytes();
    let page = "p".repeat(100_000);
    assert_eq!(put(&mut document, "page", 1, &page), Ok(()));
    let with_page = document.held_bytes();
    assert!(
        with_page - base >= 100_000,
        "a map's string counts in full: {base} -> {with_page}"
    );
    assert_eq!(put(&mut document, "note", 0, &page), Ok(()));
    let with_note = document.held_bytes();
    assert!(
        with_note - with_page >= 100_000,
        "a row's string counts in full: {with_page} -> {with_note}"
    );
    assert_eq!(document.held_bytes(), rebuilt_held(&document));

    // Replacing, removing and deleting give the bytes back.
    assert_eq!(put(&mut document, "page", 1, "short"), Ok(()));
    assert!(document.held_bytes() < with_note - 99_000);
    assert_eq!(put(&mut document, "unpage", 1, ""), Ok(()));
    assert_eq!(put(&mut document, "clear", 0, ""), Ok(()));
    assert_eq!(document.held_bytes(), rebuilt_held(&document));
    assert!(
        document.held_bytes() < base + 1_000,
        "{base} -> {}",
        document.held_bytes()
    );
}

#[test]
fn a_document_whose_size_lies_in_nested_values_is_held_to_its_budget() {
    let mut document = constructed(NESTED);
    let base = document.held_bytes();
    document.limits_mut().document_bytes = base + 250_000;
    let page = "p".repeat(100_000);
    assert_eq!(put(&mut document, "page", 1, &page), Ok(()));
    assert_eq!(put(&mut document, "note", 0, &page), Ok(()));
    let held = document.held_bytes();
    let before = document.dump();
    assert_eq!(
        put(&mut document, "page", 2, &page),
        Err(codes::MEMORY_EXHAUSTED),
        "a third string inside the map crosses the budget"
    );
    assert_eq!(
        put(&mut document, "note", 0, &page),
        Err(codes::MEMORY_EXHAUSTED),
        "and so does a third inside a row"
    );
    assert_eq!(
        document.dump(),
        before,
        "the refused transactions changed nothing"
    );
    assert_eq!(document.held_bytes(), held, "a rollback returns the count");
    assert_eq!(
        put(&mut document, "bump", 1, ""),
        Ok(()),
        "the document carries on"
    );
    assert_eq!(put(&mut document, "unpage", 1, ""), Ok(()));
    assert_eq!(
        put(&mut document, "page", 2, &page),
        Ok(()),
        "room again once shrunk"
    );
}

#[test]
fn a_static_policy_reads_the_key_and_the_origin_it_is_asked_about() {
    let program = loaded(
        r#"
@static {
  create { return @context.key == "mine" && @context.origin == "https://app" && @context.who == @who; }
}
public int x;
"#,
    );
    let ann = Principal::new("ann", "acme");
    let asked = |key: &str| {
        program.static_policy(
            StaticPolicy::Create,
            &ann,
            &json!({"origin": "https://app", "ip": "1.2.3.4", "key": key}),
        )
    };
    assert_eq!(asked("mine"), Ok(true));
    assert_eq!(asked("theirs"), Ok(false));
}

#[test]
fn a_static_block_may_name_the_request_context() {
    let program = loaded(
        r#"
@static (c) {
  create { return c.origin == "https://app" && c.key == "mine" && c.who.agent() == "ann"; }
  invent { return c.ip != ""; }
}
public int x;
"#,
    );
    let ann = Principal::new("ann", "acme");
    let asked = |policy, key: &str, ip: &str| {
        program.static_policy(
            policy,
            &ann,
            &json!({"origin": "https://app", "ip": ip, "key": key}),
        )
    };
    assert_eq!(asked(StaticPolicy::Create, "mine", "1.2.3.4"), Ok(true));
    assert_eq!(asked(StaticPolicy::Create, "theirs", "1.2.3.4"), Ok(false));
    assert_eq!(asked(StaticPolicy::Invent, "mine", "1.2.3.4"), Ok(true));
    assert_eq!(asked(StaticPolicy::Invent, "mine", ""), Ok(false));
}
