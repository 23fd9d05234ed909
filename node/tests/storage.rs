//! The storage contract, run against the embedded redb store.

use adama_node::store::conformance;
use adama_node::store::redb::RedbStore;

#[test]
fn the_redb_store_keeps_the_storage_contract() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().to_owned();
    conformance::run(|| RedbStore::open(&path).expect("the store opens"));
}

#[test]
fn entries_drained_from_the_shared_log_load_as_written() {
    use std::sync::Arc;

    use adama_node::store::{Entry, Store, Write};
    use serde_json::json;

    let directory = tempfile::tempdir().expect("a temporary directory");
    let record = |index: u64| {
        Arc::new(adama_node::engine::Record {
            seq: index as i32,
            time: index as i64,
            command: Arc::new(json!({"command": "send"})),
            redo: json!({"n": index}),
            undo: json!({"n": index - 1}),
            response: None,
        })
    };
    {
        // A backlog of 40 entries: most commits also move older entries to their logs.
        let store = RedbStore::open_with_backlog(directory.path(), 40).expect("the store opens");
        for index in 1..=30u64 {
            let writes: Vec<Write> = (0..7)
                .map(|document| Write::Append {
                    document: Arc::from(format!("x/{document}")),
                    index,
                    entry: Entry::new(&record(index)).expect("encodes"),
                })
                .collect();
            store.commit(&writes).expect("commit");
        }
        for document in 0..7 {
            let stored = store
                .load(&format!("x/{document}"))
                .expect("load")
                .expect("exists");
            let indexes: Vec<u64> = stored.tail.iter().map(|(index, _)| *index).collect();
            assert_eq!(indexes, (1..=30).collect::<Vec<_>>());
        }
    }
    let store = RedbStore::open(directory.path()).expect("the store reopens");
    for document in 0..7 {
        let name = format!("x/{document}");
        let stored = store.load(&name).expect("load").expect("exists");
        assert_eq!(stored.last_index(), 30);
        assert_eq!(stored.fold(), json!({"n": 30}));
        assert_eq!(store.log(&name).expect("log").len(), 30);
    }
    let next = Write::Append {
        document: Arc::from("x/3"),
        index: 31,
        entry: Entry::new(&record(31)).expect("encodes"),
    };
    store.commit(&[next]).expect("the log goes on");
}

#[test]
fn an_export_shows_a_password_logged_by_an_earlier_node_redacted() {
    use std::sync::Arc;

    use adama_node::store::{Entry, Store, Write};
    use serde_json::{Value as Json, json};

    let directory = tempfile::tempdir().expect("a temporary directory");
    {
        let store = RedbStore::open(directory.path()).expect("the store opens");
        // As nodes wrote the command before they took secrets out of records.
        let record = adama_node::engine::Record {
            seq: 1,
            time: 1,
            command: Arc::new(json!({"command": "password", "password": "hunter2",
                "who": {"agent": "ann", "authority": "doc/v/k"}, "timestamp": 1})),
            redo: json!({"changes": 1, "__seq": 1}),
            undo: json!({"changes": 0, "__seq": 0}),
            response: None,
        };
        store
            .commit(&[Write::Append {
                document: Arc::from("v/k"),
                index: 1,
                entry: Entry::new(&record).expect("encodes"),
            }])
            .expect("commit");
    }
    let lines = adama_node::export::log_lines(directory.path(), "v", "k").expect("exported");
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].contains("hunter2"), "{}", lines[0]);
    let line: Json = serde_json::from_str(&lines[0]).expect("JSON");
    assert_eq!(line["command"]["redacted"], json!(["password"]));
    assert_eq!(line["redo"]["changes"], 1);
}
