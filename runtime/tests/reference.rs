//! Outputs the runtime specification records from the reference implementation, reproduced:
//! list deltas with `@o` runs, the order of fields in a view, and map and maybe patches.

use adama_runtime::Document;
use adama_runtime::Principal;
use adama_runtime::compile;
use serde_json::{Value as Json, json};

fn document(source: &str, timestamp: i64) -> Document {
    let program = compile("reference.a", source).unwrap_or_else(|diagnostics| {
        panic!(
            "{:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    let mut document = Document::new(program, "space", "key").expect("document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": timestamp}))
        .expect("construct");
    document
}

fn send(document: &mut Document, channel: &str, message: Json) -> adama_runtime::TransactionRecord {
    document
        .execute_batch(&json!({"command": "send", "who": {"agent": "a", "authority": "b"}, "channel": channel, "message": message, "timestamp": 100}))
        .expect("send")
}

fn data(document: &mut Document, view: usize) -> Json {
    document.view_delta(view).expect("delta")["data"].clone()
}

const ITEMS: &str = r#"@connected { return true; }
record Item { public string name; public int score; private int secret; }
table<Item> _items;
public formula items = iterate _items;
public formula top = iterate _items order by score desc limit 3;
public formula count = _items.size();
message Add { string name; int score; }
message Id { int id; }
channel add(Add a) { _items <- a; }
channel drop(Id i) { if (_items[i.id] as it) { it.delete(); } }
channel bump(Id i) { if (_items[i.id] as it) { it.score = 10; } }
channel clear(Id i) { (iterate _items).delete(); }
"#;

#[test]
fn list_deltas_match_the_reference() {
    let mut document = document(ITEMS, 0);
    document
        .execute_batch(
            &json!({"command": "connect", "who": {"agent": "a", "authority": "b"}, "timestamp": 1}),
        )
        .expect("connect");
    for (name, score) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)] {
        send(&mut document, "add", json!({"name": name, "score": score}));
    }
    let view = document.open_view(Principal::new("a", "b"), json!({}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"items":{"1":{"name":"a","score":1},"2":{"name":"b","score":2},"3":{"name":"c","score":3},"4":{"name":"d","score":4},"5":{"name":"e","score":5},"@o":[1,2,3,4,5]},"top":{"5":{"name":"e","score":5},"4":{"name":"d","score":4},"3":{"name":"c","score":3},"@o":[5,4,3]},"count":5}"#
    );
    send(&mut document, "add", json!({"name": "f", "score": 6}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"items":{"6":{"name":"f","score":6},"@o":[[0,4],6]},"top":{"6":{"name":"f","score":6},"@o":[6,5,4],"3":null},"count":6}"#
    );
    send(&mut document, "drop", json!({"id": 2}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"items":{"@o":[1,[2,5]],"2":null},"count":5}"#
    );
    send(&mut document, "bump", json!({"id": 1}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"items":{"1":{"score":10}},"top":{"1":{"name":"a","score":10},"@o":[1,6,5],"4":null}}"#
    );
    send(&mut document, "clear", json!({"id": 0}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"items":{"@o":[],"1":null,"3":null,"4":null,"5":null,"6":null},"top":{"@o":[],"1":null,"5":null,"6":null},"count":0}"#
    );
}

const ORDER: &str = r#"@connected { return true; }
public int a = 1; public formula fa = a + 1; public formula fb = c + 1;
public int b = 2; public formula fsize = _t.size(); table<R> _t; public formula fsize2 = _t.size(); public int c = 3;
public formula fconst = 42; public formula fnow = Time.now(); bubble zb = 1; bubble ab = 2; bubble mb = a; public Q q;
record R { public int x; }
record Q { public formula qf = y * 2; public int zz; public int y; bubble qb = y; public int id; public formula qg = zz; }
"#;

#[test]
fn fields_are_viewed_in_the_reference_order() {
    let mut document = document(ORDER, 50);
    let view = document.open_view(Principal::new("a", "b"), json!({}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"a":1,"fa":2,"b":2,"c":3,"fconst":42,"q":{"id":0,"zz":0,"y":0,"qg":0,"qf":0,"qb":0},"fb":4,"fsize":0,"fsize2":0,"fnow":"50","ab":2,"mb":1,"zb":1}"#
    );
}

const MAPS: &str = r#"@connected { return true; }
record P { public int x; public string s; private int hid; }
public map<int,int> mi;
public map<string,double> ms;
public map<int,P> mp;
public maybe<int> mb;
public maybe<P> mbp;
public maybe<string> mbs;
@construct {
  mi[1] = 10; mi[3] = 30; mi[20] = 200;
  ms["a"] = 2.0; ms["b"] = 1.5;
  mp[2].x = 20; mp[5].x = 50; mp[5].s = "five";
}
message Go { int n; }
channel go(Go g) {
  mi.remove(1); mi[2] = 22; mi[3] = 33; ms.remove("b"); mp.remove(5); mp[2].s = "two"; mb = 7; mbp <- {x:1, s:"m"}; mbs = "hello";
}
"#;

#[test]
fn map_and_maybe_patches_match_the_reference() {
    let mut document = document(MAPS, 50);
    document.execute_batch(&json!({"command": "connect", "who": {"agent": "a", "authority": "b"}, "timestamp": 60})).expect("connect");
    let view = document.open_view(Principal::new("a", "b"), json!({}));
    data(&mut document, view);
    let record = send(&mut document, "go", json!({"n": 1}));
    let user = |patch: &Json| {
        let mut patch = patch.clone();
        patch
            .as_object_mut()
            .expect("object")
            .retain(|key, _| !key.starts_with("__"));
        patch.to_string()
    };
    // The reference writes only the assigned fields of a new maybe record; its full dump folds
    // to the same document.
    assert_eq!(
        user(&record.redo),
        r#"{"mi":{"1":null,"2":22,"3":33},"ms":{"b":null},"mp":{"5":null,"2":{"s":"two"}},"mb":7,"mbp":{"id":0,"x":1,"s":"m","hid":0},"mbs":"hello"}"#
    );
    assert_eq!(
        user(&record.undo),
        r#"{"mi":{"1":10,"2":null,"3":30},"ms":{"b":1.5},"mp":{"5":{"id":0,"x":50,"s":"five","hid":0},"2":{"s":""}},"mb":null,"mbp":null,"mbs":null}"#
    );
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"mi":{"2":22,"3":33,"1":null},"ms":{"b":null},"mp":{"2":{"s":"two"},"5":null},"mb":7,"mbp":{"x":1,"s":"m"},"mbs":"hello"}"#
    );
}

#[test]
fn vanished_map_keys_come_in_the_reference_order() {
    let mut document = document(
        r#"
        @connected { return true; }
        public map<string, int> m;
        message Go { int n; }
        @construct { m["zeta"] = 1; m["alpha"] = 2; m["b"] = 3; m["aa"] = 4; m["Z"] = 5; m["mm"] = 6; }
        channel go(Go g) { m.remove("zeta"); m.remove("alpha"); m.remove("b"); m.remove("aa"); m.remove("Z"); }
    "#,
        0,
    );
    document
        .execute_batch(
            &json!({"command": "connect", "who": {"agent": "a", "authority": "b"}, "timestamp": 1}),
        )
        .expect("connect");
    let view = document.open_view(Principal::new("a", "b"), json!({}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"m":{"Z":5,"aa":4,"alpha":2,"b":3,"mm":6,"zeta":1}}"#,
        "maps are sent in key order"
    );
    send(&mut document, "go", json!({"n": 1}));
    assert_eq!(
        data(&mut document, view).to_string(),
        r#"{"m":{"aa":null,"zeta":null,"b":null,"alpha":null,"Z":null}}"#
    );
}
