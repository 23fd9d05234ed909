//! A viewer that applies every delta it receives sees what a viewer opening now sees: whatever
//! mix of appends, deletions, edits and rolled-back transactions happened, and whenever the
//! viewer joined. Lists of rows are sent as appends when they only grew, so this is what keeps
//! that shortcut honest. Entries of a map of records come and go under the same keys, so a
//! viewer that skipped a removal must still end with exactly the entry that came back.

use adama_runtime::Document;
use adama_runtime::Principal;
use adama_runtime::compile;
use proptest::prelude::*;
use serde_json::{Map, Value as Json, json};

const ROOM: &str = r#"
@connected { return true; }
record Line { public int id; public string what; public int n; public maybe<int> hot; }
table<Line> _lines;
public formula lines = iterate _lines;
public formula big = iterate _lines where n > 2;
public formula count = _lines.size();
message Say { string what; int n; }
message Pick { int id; }
channel say(Say s) { _lines <- {what: s.what, n: s.n}; if (s.n < 0) { abort; } }
channel drop(Pick p) { if (_lines[p.id] as line) { line.delete(); } }
channel bump(Pick p) { if (_lines[p.id] as line) { line.n += 1; if (line.n % 2 == 0) { line.hot = line.n; } else { line.hot.delete(); } } }
record Tag { public int n; public maybe<int> hot; public map<int, int> seen; }
public map<string, Tag> tags;
message Mark { string k; int n; }
channel tag(Mark m) { tags[m.k].n = m.n; if (m.n % 2 == 0) { tags[m.k].hot = m.n; tags[m.k].seen[m.n] = 1; } }
channel untag(Mark m) { tags.remove(m.k); }
"#;

/// The same room where each viewer may see something of their own, so views cannot share deltas.
const ROOM_BY_VIEWER: &str = "private principal keeper; viewer_is<keeper> int secret;";

/// A step of a session: a command, or a second viewer joining. After it, the views whose bit is
/// set in the step's mask take their delta; the others skip it and catch up later, as a host
/// does when it runs several queued requests before writing to each connection.
#[derive(Debug, Clone)]
enum Step {
    Say(i32),
    Drop(i32),
    Bump(i32),
    /// An entry of the map of records set (created when missing) or removed, by key.
    Tag(u8, i32),
    Untag(u8),
    Join,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (-1..6i32).prop_map(Step::Say),
        1 => (1..12i32).prop_map(Step::Drop),
        1 => (1..12i32).prop_map(Step::Bump),
        2 => (0..3u8, 0..4i32).prop_map(|(key, n)| Step::Tag(key, n)),
        1 => (0..3u8).prop_map(Step::Untag),
        1 => Just(Step::Join),
    ]
}

fn room() -> Document {
    room_of(ROOM.to_string())
}

fn room_of(source: String) -> Document {
    let program = compile("room.a", &source).expect("the room compiles");
    let mut document = Document::new(program, "space", "key").expect("a fresh document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}))
        .expect("construct");
    for agent in ["ann", "bo", "cy"] {
        document
            .execute_batch(&json!({"command": "connect", "who": {"agent": agent, "authority": "acme"}, "timestamp": 1}))
            .expect("connect");
    }
    document
}

fn send(document: &mut Document, channel: &str, message: Json) {
    // Refusals and aborts are part of the session: they must leave views as they were.
    let _ = document.execute(&json!({"command": "send", "who": {"agent": "ann", "authority": "acme"}, "channel": channel, "message": message, "timestamp": 5}));
}

/// What a client does with a delta: merge objects, drop nulls, and rebuild the order of a list
/// of rows from its `@o` instruction (ids, or `[start, end]` runs of the previous order).
fn apply(target: &mut Json, delta: &Json) {
    let Json::Object(delta) = delta else {
        *target = delta.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    let Some(object) = target.as_object_mut() else {
        return;
    };
    for (key, value) in delta {
        if key == "@o" {
            continue;
        }
        if value.is_null() {
            object.remove(key);
        } else {
            apply(object.entry(key.clone()).or_insert(Json::Null), value);
        }
    }
    if let Some(Json::Array(instruction)) = delta.get("@o") {
        let previous = object
            .get("@order")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let mut order = Vec::new();
        for item in instruction {
            match item {
                Json::Array(run) => {
                    let start = run[0].as_u64().expect("a start index") as usize;
                    let end = run[1].as_u64().expect("an end index") as usize;
                    order.extend(previous[start..=end].iter().cloned());
                }
                id => order.push(id.clone()),
            }
        }
        object.insert("@order".into(), Json::Array(order));
    }
}

/// Lists that became empty and lists never sent look alike to a client.
fn settled(value: &mut Json) {
    if let Json::Object(object) = value {
        for child in object.values_mut() {
            settled(child);
        }
        object.retain(|key, child| {
            let empty_order = key == "@order" && child.as_array().is_some_and(Vec::is_empty);
            let empty_object = child.as_object().is_some_and(Map::is_empty);
            !(empty_order || empty_object)
        });
    }
}

fn seen_fresh(document: &mut Document) -> Json {
    let view = document.open_view(Principal::new("cy", "acme"), json!({}));
    let delta = document.view_delta(view).expect("a first delta");
    document.close_view(view);
    let mut seen = Json::Object(Map::new());
    if let Some(data) = delta.get("data") {
        apply(&mut seen, data);
    }
    settled(&mut seen);
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_viewer_following_deltas_sees_what_a_new_viewer_sees(steps in prop::collection::vec(step(), 1..40)) {
        follow(room(), &steps, |_, _| true)?;
    }

    #[test]
    fn a_viewer_skipping_shared_deltas_catches_up(
        steps in prop::collection::vec(step(), 1..40),
        masks in prop::collection::vec(any::<u8>(), 40),
    ) {
        follow(room(), &steps, |step, view| masks[step] & (1 << (view % 8)) != 0)?;
    }

    #[test]
    fn a_viewer_skipping_its_own_deltas_catches_up(
        steps in prop::collection::vec(step(), 1..40),
        masks in prop::collection::vec(any::<u8>(), 40),
    ) {
        let document = room_of(format!("{ROOM}{ROOM_BY_VIEWER}"));
        follow(document, &steps, |step, view| masks[step] & (1 << (view % 8)) != 0)?;
    }
}

/// Runs a session where a view takes its delta after a step when `asks(step, view)`, and after
/// the last step every view does; then each must see what a viewer opening now sees.
fn follow(
    mut document: Document,
    steps: &[Step],
    asks: impl Fn(usize, usize) -> bool,
) -> Result<(), TestCaseError> {
    {
        let mut views = vec![document.open_view(Principal::new("ann", "acme"), json!({}))];
        let mut seen = vec![Json::Object(Map::new())];
        for (at, step) in steps.iter().enumerate() {
            match step {
                Step::Say(n) => send(
                    &mut document,
                    "say",
                    json!({"what": format!("line {n}"), "n": n}),
                ),
                Step::Drop(id) => send(&mut document, "drop", json!({"id": id})),
                Step::Bump(id) => send(&mut document, "bump", json!({"id": id})),
                Step::Tag(key, n) => send(
                    &mut document,
                    "tag",
                    json!({"k": format!("k{key}"), "n": n}),
                ),
                Step::Untag(key) => send(
                    &mut document,
                    "untag",
                    json!({"k": format!("k{key}"), "n": 0}),
                ),
                Step::Join => {
                    views.push(document.open_view(Principal::new("bo", "acme"), json!({})));
                    seen.push(Json::Object(Map::new()));
                }
            }
            for (index, (view, seen)) in views.iter().zip(seen.iter_mut()).enumerate() {
                if !asks(at, index) && at + 1 < steps.len() {
                    continue;
                }
                let text = document.view_delta_text(*view).expect("a delta");
                let delta: Json = serde_json::from_str(&text).expect("the delta is JSON");
                if let Some(data) = delta.get("data") {
                    apply(seen, data);
                }
            }
        }
        let fresh = seen_fresh(&mut document);
        for mut followed in seen {
            settled(&mut followed);
            prop_assert_eq!(&followed, &fresh);
        }
    }
    Ok(())
}

#[test]
fn a_long_list_that_only_grows_is_sent_as_an_append() {
    let mut document = room();
    let view = document.open_view(Principal::new("ann", "acme"), json!({}));
    for n in 0..5 {
        send(&mut document, "say", json!({"what": "x", "n": n}));
    }
    document.view_delta(view).expect("the first rows");
    send(&mut document, "say", json!({"what": "late", "n": 1}));
    let delta = document.view_delta(view).expect("a delta");
    assert_eq!(
        delta["data"],
        json!({"count": 6, "lines": {"6": {"id": 6, "what": "late", "n": 1}, "@o": [[0, 4], 6]}})
    );
}

#[test]
fn a_row_deleted_then_replaced_is_not_taken_for_the_old_one() {
    let mut document = room();
    let view = document.open_view(Principal::new("ann", "acme"), json!({}));
    send(&mut document, "say", json!({"what": "a", "n": 0}));
    send(&mut document, "say", json!({"what": "b", "n": 0}));
    document.view_delta(view).expect("the first rows");
    // The new row may take the deleted row's place in the store.
    send(&mut document, "drop", json!({"id": 2}));
    send(&mut document, "say", json!({"what": "c", "n": 0}));
    let delta = document.view_delta(view).expect("a delta");
    assert_eq!(
        delta["data"],
        json!({"lines": {"2": null, "3": {"id": 3, "what": "c", "n": 0}, "@o": [1, 3]}})
    );
}

#[test]
fn a_viewer_that_skipped_a_deletion_is_told_of_it() {
    let mut document = room();
    let ann = document.open_view(Principal::new("ann", "acme"), json!({}));
    let bo = document.open_view(Principal::new("bo", "acme"), json!({}));
    send(&mut document, "say", json!({"what": "a", "n": 0}));
    send(&mut document, "say", json!({"what": "b", "n": 0}));
    for view in [ann, bo] {
        document.view_delta(view).expect("the first rows");
    }
    // Bo's connection is busy while Ann takes every step.
    send(&mut document, "drop", json!({"id": 1}));
    document.view_delta(ann).expect("a delta");
    send(&mut document, "say", json!({"what": "c", "n": 0}));
    document.view_delta(ann).expect("a delta");
    let delta = document.view_delta(bo).expect("a delta");
    assert_eq!(
        delta["data"],
        // The count went down and back up while Bo was away: written again, which is harmless.
        json!({"lines": {"1": null, "3": {"id": 3, "what": "c", "n": 0}, "@o": [2, 3]}, "count": 2})
    );
}

#[test]
fn a_viewer_that_skipped_a_key_removal_ends_with_only_the_new_entry() {
    let mut document = room();
    let ann = document.open_view(Principal::new("ann", "acme"), json!({}));
    let bo = document.open_view(Principal::new("bo", "acme"), json!({}));
    let mut seen = [Json::Object(Map::new()), Json::Object(Map::new())];
    let mut take = |document: &mut Document, index: usize, view| {
        let delta = document.view_delta(view).expect("a delta");
        if let Some(data) = delta.get("data") {
            apply(&mut seen[index], data);
        }
        delta
    };
    send(&mut document, "tag", json!({"k": "a", "n": 2}));
    take(&mut document, 0, ann);
    take(&mut document, 1, bo);
    // Bo's connection is busy while the entry leaves and comes back without `hot` or `seen`.
    send(&mut document, "untag", json!({"k": "a", "n": 0}));
    take(&mut document, 0, ann);
    send(&mut document, "tag", json!({"k": "a", "n": 1}));
    take(&mut document, 0, ann);
    let delta = take(&mut document, 1, bo);
    assert_eq!(
        delta["data"]["tags"],
        // The entry whole, and a null for everything the old one had that the new one lacks.
        json!({"a": {"n": 1, "hot": null, "seen": {"2": null}}})
    );
    for mut followed in seen {
        settled(&mut followed);
        assert_eq!(followed["tags"], json!({"a": {"n": 1}}));
    }
}

#[test]
fn every_view_in_step_receives_the_shared_step_as_text_or_json() {
    let mut document = room();
    let views: Vec<_> = ["ann", "bo", "cy"]
        .iter()
        .map(|agent| document.open_view(Principal::new(agent, "acme"), json!({})))
        .collect();
    for view in &views {
        document.view_delta_text(*view).expect("the first view");
    }
    send(&mut document, "say", json!({"what": "hi", "n": 3}));
    let first = document.view_delta(views[0]).expect("a delta");
    let second: Json =
        serde_json::from_str(&document.view_delta_text(views[1]).expect("a delta")).expect("JSON");
    let last: Json =
        serde_json::from_str(&document.view_delta_text(views[2]).expect("a delta")).expect("JSON");
    let expected = json!({"data": {"lines": {"1": {"id": 1, "what": "hi", "n": 3}, "@o": [1]}, "big": {"1": {"id": 1, "what": "hi", "n": 3}, "@o": [1]}, "count": 1}, "seq": first["seq"]});
    assert_eq!(first, expected);
    assert_eq!(second, expected);
    assert_eq!(last, expected);
    // Once every view took the step, asking again gives only the sequence.
    let again: Json =
        serde_json::from_str(&document.view_delta_text(views[2]).expect("a delta")).expect("JSON");
    assert_eq!(again, json!({"seq": first["seq"]}));
    // The next step still reaches every view.
    send(&mut document, "bump", json!({"id": 1}));
    for view in &views {
        let delta: Json =
            serde_json::from_str(&document.view_delta_text(*view).expect("a delta")).expect("JSON");
        assert_eq!(delta["data"]["lines"], json!({"1": {"n": 4, "hot": 4}}));
    }
}
