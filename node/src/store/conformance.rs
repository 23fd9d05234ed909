//! The storage contract as executable checks: every implementation of [`Store`] must pass
//! [`run`]. `open` opens the same (initially empty) store each time it is called, so that the
//! suite can also check what survives a reopen.

use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::{Entry, Store, StoreError, Write};
use crate::engine::Record;

fn record(seq: i32, redo: Json, undo: Json) -> Arc<Record> {
    Arc::new(Record {
        seq,
        time: i64::from(seq) * 10,
        command: Arc::new(
            json!({"command": "send", "who": {"agent": "ann", "authority": "anonymous"}, "seq": seq}),
        ),
        redo,
        undo,
        response: None,
    })
}

fn append(document: &str, index: u64, value: i64) -> Write {
    let seq = i32::try_from(index).unwrap_or(i32::MAX);
    Write::Append {
        document: Arc::from(document),
        index,
        entry: Entry::new(&record(
            seq,
            json!({"n": value, "__seq": seq}),
            json!({"n": value - 1}),
        ))
        .expect("a record encodes"),
    }
}

/// Runs every check against stores made by `open`.
pub fn run<S: Store>(open: impl Fn() -> S) {
    absent_documents_load_as_none(&open());
    appended_records_load_in_order(&open());
    a_batch_with_a_bad_write_commits_nothing(&open());
    snapshots_compact_the_log(&open());
    deletion_removes_everything(&open());
    wakes_are_kept_and_cleared(&open());
    many_documents_share_one_commit(&open());
    uploaded_files_are_kept_per_document_until_it_is_deleted(&open());
    everything_committed_survives_a_reopen(&open);
    snapshots_and_later_entries_survive_a_reopen(&open);
    a_name_used_again_reopens_with_its_new_log(&open);
    a_document_replaced_by_a_whole_snapshot_reopens_without_its_old_log(&open);
}

fn absent_documents_load_as_none(store: &impl Store) {
    assert_eq!(store.load("nothing/here").expect("load"), None);
    assert!(store.log("nothing/here").expect("log").is_empty());
}

fn appended_records_load_in_order(store: &impl Store) {
    let writes: Vec<Write> = (1..=3)
        .map(|index| append("a/one", index, index as i64))
        .collect();
    let stats = store.commit(&writes).expect("commit");
    assert_eq!(stats.fsyncs, 1, "one batch is one durable commit");
    assert!(stats.bytes > 0);
    let stored = store.load("a/one").expect("load").expect("exists");
    assert_eq!(stored.snapshot, None);
    let indexes: Vec<u64> = stored.tail.iter().map(|(index, _)| *index).collect();
    assert_eq!(indexes, vec![1, 2, 3]);
    assert_eq!(stored.tail[2].1.redo, json!({"n": 3, "__seq": 3}));
    assert_eq!(stored.tail[0].1.command["who"]["agent"], "ann");
    assert_eq!(stored.fold(), json!({"n": 3, "__seq": 3}));
    assert_eq!(stored.last_index(), 3);
}

fn a_batch_with_a_bad_write_commits_nothing(store: &impl Store) {
    store.commit(&[append("b/one", 1, 1)]).expect("commit");
    let error = store
        .commit(&[append("b/two", 1, 1), append("b/one", 3, 3)])
        .expect_err("a gap in the log is refused");
    assert!(
        matches!(
            error,
            StoreError::OutOfOrder {
                index: 3,
                last: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        store.load("b/two").expect("load"),
        None,
        "the whole batch rolled back"
    );
    let error = store
        .commit(&[append("b/one", 1, 1)])
        .expect_err("an index is written once");
    assert!(matches!(error, StoreError::OutOfOrder { .. }));
    assert_eq!(
        store
            .load("b/one")
            .expect("load")
            .expect("exists")
            .tail
            .len(),
        1
    );
}

fn snapshots_compact_the_log(store: &impl Store) {
    let writes: Vec<Write> = (1..=10)
        .map(|index| append("c/one", index, index as i64))
        .collect();
    store.commit(&writes).expect("commit");
    store
        .commit(&[Write::Snapshot {
            document: Arc::from("c/one"),
            index: 10,
            json: Arc::new(json!({"n": 10, "__seq": 10})),
            keep: 3,
        }])
        .expect("snapshot");
    let kept: Vec<u64> = store
        .log("c/one")
        .expect("log")
        .iter()
        .map(|(index, _)| *index)
        .collect();
    assert_eq!(kept, vec![8, 9, 10], "the newest entries stay as history");
    let stored = store.load("c/one").expect("load").expect("exists");
    assert_eq!(stored.snapshot, Some((10, json!({"n": 10, "__seq": 10}))));
    assert!(stored.tail.is_empty());
    store
        .commit(&[append("c/one", 11, 11)])
        .expect("append after a snapshot");
    let stored = store.load("c/one").expect("load").expect("exists");
    assert_eq!(stored.tail.len(), 1);
    assert_eq!(stored.fold(), json!({"n": 11, "__seq": 11}));
    assert_eq!(stored.last_index(), 11);
}

fn deletion_removes_everything(store: &impl Store) {
    store
        .commit(&[append("d/one", 1, 1), append("d/two", 1, 1)])
        .expect("commit");
    store
        .commit(&[Write::Wake {
            document: Arc::from("d/one"),
            at: Some(5),
        }])
        .expect("wake");
    store
        .commit(&[Write::Delete {
            document: Arc::from("d/one"),
        }])
        .expect("delete");
    assert_eq!(store.load("d/one").expect("load"), None);
    assert!(store.log("d/one").expect("log").is_empty());
    let documents = store.documents().expect("documents");
    assert!(documents.contains(&"d/two".to_owned()));
    assert!(!documents.contains(&"d/one".to_owned()));
    assert!(
        store
            .wakes()
            .expect("wakes")
            .iter()
            .all(|(name, _)| name != "d/one")
    );
    store
        .commit(&[append("d/one", 1, 7)])
        .expect("a deleted name starts a new log");
    assert_eq!(
        store.load("d/one").expect("load").expect("exists").fold(),
        json!({"n": 7, "__seq": 1})
    );
}

fn wakes_are_kept_and_cleared(store: &impl Store) {
    store
        .commit(&[
            Write::Wake {
                document: Arc::from("w/one"),
                at: Some(1_000),
            },
            Write::Wake {
                document: Arc::from("w/two"),
                at: Some(2_000),
            },
        ])
        .expect("wakes");
    store
        .commit(&[Write::Wake {
            document: Arc::from("w/two"),
            at: None,
        }])
        .expect("clear");
    let wakes = store.wakes().expect("wakes");
    assert!(wakes.contains(&("w/one".to_owned(), 1_000)));
    assert!(wakes.iter().all(|(name, _)| name != "w/two"));
}

fn many_documents_share_one_commit(store: &impl Store) {
    let writes: Vec<Write> = (0..100)
        .flat_map(|document| {
            (1..=3).map(move |index| append(&format!("m/{document}"), index, index as i64))
        })
        .collect();
    let stats = store.commit(&writes).expect("commit");
    assert_eq!(stats.fsyncs, 1);
    for document in 0..100 {
        let stored = store
            .load(&format!("m/{document}"))
            .expect("load")
            .expect("exists");
        assert_eq!(stored.last_index(), 3);
    }
}

fn everything_committed_survives_a_reopen<S: Store>(open: &impl Fn() -> S) {
    {
        let store = open();
        store
            .commit(&[append("r/one", 1, 1), append("r/one", 2, 2)])
            .expect("commit");
    }
    let store = open();
    let stored = store.load("r/one").expect("load").expect("survives");
    assert_eq!(stored.fold(), json!({"n": 2, "__seq": 2}));
}

fn uploaded_files_are_kept_per_document_until_it_is_deleted(store: &impl Store) {
    let meta = super::AssetMeta {
        name: "a.txt".into(),
        content_type: "text/plain".into(),
        size: 3,
        md5: "m".into(),
        sha384: "s".into(),
    };
    store.commit(&[append("f/one", 1, 1)]).expect("commit");
    store
        .put_asset("f/one", "a1", &meta, b"abc")
        .expect("a file is kept");
    store
        .put_asset("f/one", "a2", &meta, b"xyz")
        .expect("a file is kept");
    store
        .put_asset("f/two", "a1", &meta, b"two")
        .expect("a file is kept");
    assert_eq!(
        store.asset("f/one", "a1").expect("read"),
        Some((meta.clone(), b"abc".to_vec()))
    );
    assert_eq!(store.asset("f/one", "zz").expect("read"), None);
    assert_eq!(store.asset("f/three", "a1").expect("read"), None);
    // A file received into a staged file moves in; the staged file is the store's then.
    let staging = std::env::temp_dir().join(format!(
        "adama-conformance-{}.part",
        crate::identity::random_token()
    ));
    std::fs::write(&staging, b"big").expect("staged");
    store
        .put_asset_file("f/one", "a3", &meta, &staging)
        .expect("a staged file is kept");
    assert_eq!(bytes_of(store, "f/one", "a3"), Some(b"big".to_vec()));
    assert!(!staging.exists(), "the staged file was moved or removed");
    // A snapshot moves the document's entries to its log: its files stay.
    store
        .commit(&[
            append("f/one", 2, 2),
            Write::Snapshot {
                document: Arc::from("f/one"),
                index: 2,
                json: Arc::new(json!({"n": 2, "__seq": 2})),
                keep: 1,
            },
        ])
        .expect("a snapshot");
    assert_eq!(
        bytes_of(store, "f/one", "a3"),
        Some(b"big".to_vec()),
        "the files outlive the move of the log"
    );
    store.remove_asset("f/one", "a2").expect("removed");
    assert_eq!(store.asset("f/one", "a2").expect("read"), None);
    store
        .commit(&[Write::Delete {
            document: Arc::from("f/one"),
        }])
        .expect("delete");
    assert_eq!(store.asset("f/one", "a1").expect("read"), None);
    assert_eq!(store.asset("f/one", "a3").expect("read"), None);
    assert_eq!(
        bytes_of(store, "f/two", "a1"),
        Some(b"two".to_vec()),
        "another document keeps its files"
    );
}

/// An uploaded file's bytes as the store serves them.
fn bytes_of(store: &impl Store, document: &str, id: &str) -> Option<Vec<u8>> {
    store
        .asset(document, id)
        .expect("read")
        .map(|(_, bytes)| bytes)
}

fn snapshots_and_later_entries_survive_a_reopen<S: Store>(open: &impl Fn() -> S) {
    {
        let store = open();
        let writes: Vec<Write> = (1..=6)
            .map(|index| append("s/one", index, index as i64))
            .collect();
        store.commit(&writes).expect("commit");
        store
            .commit(&[
                Write::Snapshot {
                    document: Arc::from("s/one"),
                    index: 6,
                    json: Arc::new(json!({"n": 6, "__seq": 6})),
                    keep: 2,
                },
                append("s/one", 7, 7),
            ])
            .expect("a snapshot and an append");
        store.commit(&[append("s/one", 8, 8)]).expect("commit");
    }
    let store = open();
    let stored = store.load("s/one").expect("load").expect("survives");
    assert_eq!(stored.snapshot, Some((6, json!({"n": 6, "__seq": 6}))));
    let tail: Vec<u64> = stored.tail.iter().map(|(index, _)| *index).collect();
    assert_eq!(
        tail,
        vec![7, 8],
        "only what follows the snapshot is replayed"
    );
    assert_eq!(stored.fold(), json!({"n": 8, "__seq": 8}));
    let kept: Vec<u64> = store
        .log("s/one")
        .expect("log")
        .iter()
        .map(|(index, _)| *index)
        .collect();
    assert_eq!(kept, vec![5, 6, 7, 8]);
    store
        .commit(&[append("s/one", 9, 9)])
        .expect("the log goes on after a reopen");
}

fn a_name_used_again_reopens_with_its_new_log<S: Store>(open: &impl Fn() -> S) {
    {
        let store = open();
        let writes: Vec<Write> = (1..=5)
            .map(|index| append("n/one", index, index as i64))
            .collect();
        store.commit(&writes).expect("commit");
        store
            .commit(&[Write::Delete {
                document: Arc::from("n/one"),
            }])
            .expect("delete");
        store
            .commit(&[append("n/one", 1, 41), append("n/one", 2, 42)])
            .expect("a new log under the same name");
    }
    let store = open();
    let stored = store.load("n/one").expect("load").expect("exists");
    assert_eq!(stored.last_index(), 2);
    assert_eq!(stored.fold(), json!({"n": 42, "__seq": 2}));
    assert_eq!(store.log("n/one").expect("log").len(), 2);
}

/// What a member installing a partition's snapshot writes: the document deleted and its
/// whole state as one snapshot, with no entries. Its old entries shared a batch with another
/// document's, which keeps that batch.
fn a_document_replaced_by_a_whole_snapshot_reopens_without_its_old_log<S: Store>(
    open: &impl Fn() -> S,
) {
    {
        let store = open();
        store
            .commit(&[
                append("w/one", 1, 1),
                append("w/one", 2, 2),
                append("w/other", 1, 7),
            ])
            .expect("commit");
        store
            .commit(&[
                Write::Delete {
                    document: Arc::from("w/one"),
                },
                Write::Snapshot {
                    document: Arc::from("w/one"),
                    index: 5,
                    json: Arc::new(json!({"n": 5, "__seq": 5})),
                    keep: 0,
                },
            ])
            .expect("replaced");
        assert!(store.log("w/one").expect("log").is_empty());
    }
    let store = open();
    assert!(
        store.log("w/one").expect("log").is_empty(),
        "the replaced document's old entries stay gone after a reopen"
    );
    let stored = store.load("w/one").expect("load").expect("exists");
    assert_eq!(stored.fold(), json!({"n": 5, "__seq": 5}));
    store
        .commit(&[append("w/one", 6, 6)])
        .expect("the log goes on after the snapshot");
    assert_eq!(
        store
            .log("w/one")
            .expect("log")
            .iter()
            .map(|(index, _)| *index)
            .collect::<Vec<_>>(),
        vec![6]
    );
}
