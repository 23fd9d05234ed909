//! A partition's snapshot carries what a member that installs it needs to serve: the documents,
//! their uploaded files, and the code the partition's log deployed.

use std::collections::BTreeMap;
use std::sync::Arc;

use adama_node::cluster::state_machine::{PartitionSnapshot, StateMachine};
use adama_node::cluster::types::TypeConfig;
use adama_node::store::redb::RedbStore;
use adama_node::store::{AssetMeta, Store, Write};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{StoredMembership, alias::SnapshotMetaOf};
use serde_json::json;

const PARTITIONS: u32 = 16;
const SOURCE: &str = "public int notes;\n";

fn meta(index: u64) -> SnapshotMetaOf<TypeConfig> {
    SnapshotMetaOf::<TypeConfig> {
        last_log_id: Some(openraft::testing::log_id::<TypeConfig>(1, 1, index)),
        last_membership: StoredMembership::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_carries_the_documents_files_and_code() {
    let document = "files/box";
    let partition = adama_node::cluster::partition_of(document, PARTITIONS);
    let (first_dir, second_dir) = (
        tempfile::tempdir().expect("a directory"),
        tempfile::tempdir().expect("a directory"),
    );
    let first = Arc::new(RedbStore::open(first_dir.path()).expect("the store opens"));
    let mut machine =
        StateMachine::open(Arc::clone(&first), partition, PARTITIONS).expect("it opens");

    // The partition's code arrives as a snapshot's (an earlier member's), then a document and
    // its file are written.
    let code = BTreeMap::from([("files".to_owned(), SOURCE.to_owned())]);
    machine
        .install_snapshot(
            &meta(3),
            PartitionSnapshot {
                code: code.clone(),
                ..PartitionSnapshot::default()
            },
        )
        .await
        .expect("installed");
    assert_eq!(machine.deployed_code().expect("read"), code);
    first
        .commit(&[Write::Snapshot {
            document: Arc::from(document),
            index: 4,
            json: Arc::new(json!({"notes": 2, "__seq": 4})),
            keep: 0,
        }])
        .expect("committed");
    let file = AssetMeta {
        name: "n.csv".into(),
        content_type: "text/csv".into(),
        size: 3,
        md5: "m".into(),
        sha384: "s".into(),
    };
    first
        .put_asset(document, "abc", &file, b"1,2")
        .expect("kept");

    let snapshot = machine
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("built");
    assert_eq!(snapshot.snapshot.files.len(), 1);

    // Another member installs it: the same document, file and code.
    let second = Arc::new(RedbStore::open(second_dir.path()).expect("the store opens"));
    second
        .put_asset(document, "stale", &file, b"old")
        .expect("kept");
    let mut other =
        StateMachine::open(Arc::clone(&second), partition, PARTITIONS).expect("it opens");
    other
        .install_snapshot(&snapshot.meta, snapshot.snapshot.clone())
        .await
        .expect("installed");
    let stored = second.load(document).expect("loads").expect("present");
    assert_eq!(stored.fold()["notes"], 2);
    assert_eq!(
        second.asset(document, "abc").expect("reads"),
        Some((file, b"1,2".to_vec()))
    );
    assert_eq!(
        second.asset(document, "stale").expect("reads"),
        None,
        "the snapshot's files replace the partition's"
    );
    assert_eq!(other.deployed_code().expect("read"), code);
}
