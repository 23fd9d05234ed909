//! The cluster's raft storage on the node's redb database passes openraft's conformance suite.

use std::sync::Arc;

use adama_node::cluster::flusher::Flusher;
use adama_node::cluster::log_store::LogStore;
use adama_node::cluster::state_machine::StateMachine;
use adama_node::cluster::types::TypeConfig;
use adama_node::store::redb::RedbStore;
use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};

struct RedbBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for RedbBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
        let log = LogStore::new(store.database(), 7, Flusher::start(store.database()))
            .expect("the log opens");
        let machine = StateMachine::open(store, 7, 16).expect("the state machine opens");
        Ok((dir, log, machine))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redb_raft_storage_passes_openraft_conformance_suite() {
    Suite::test_all(RedbBuilder)
        .await
        .expect("every conformance check passes");
}

/// The appends of many partitions that arrive while no fsync runs are made durable by one, and
/// each is readable at once, before its flush is reported.
#[tokio::test(flavor = "current_thread")]
async fn appends_of_many_partitions_share_one_fsync_and_are_readable_before_it() {
    use openraft::storage::{IOFlushed, RaftLogReader, RaftLogStorage};
    use openraft::testing::blank_ent;
    use openraft::type_config::TypeConfigExt;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
    let flusher = Flusher::start(store.database());
    let mut flushed = Vec::new();
    for partition in 0..8 {
        let mut log =
            LogStore::new(store.database(), partition, flusher.clone()).expect("the log opens");
        let (done, wait) = TypeConfig::oneshot();
        let entries = (1..=3).map(|index| blank_ent::<TypeConfig>(1, 1, index));
        log.append(entries, IOFlushed::signal(done))
            .await
            .expect("the append is written");
        let read = log
            .try_get_log_entries(1..=3)
            .await
            .expect("the entries read back");
        assert_eq!(
            read.len(),
            3,
            "partition {partition} reads its entries back"
        );
        flushed.push(wait);
    }
    assert_eq!(flusher.fsyncs(), 0, "nothing is reported flushed yet");
    for wait in flushed {
        wait.await
            .expect("the flush is reported")
            .expect("the flush succeeded");
    }
    assert_eq!(flusher.fsyncs(), 1, "one fsync covered every partition");
    // The flush loop lets the database go once the last handle is gone.
    drop((store, flusher));
    let mut reopened = RedbStore::open(dir.path());
    for _ in 0..100 {
        if reopened.is_ok() {
            break;
        }
        tokio::task::yield_now().await;
        reopened = RedbStore::open(dir.path());
    }
    let store = Arc::new(reopened.expect("the store opens again"));
    let mut log = LogStore::new(store.database(), 5, Flusher::start(store.database()))
        .expect("the log opens");
    let read = log
        .try_get_log_entries(1..=3)
        .await
        .expect("the entries read back");
    assert_eq!(
        read.len(),
        3,
        "the entries are in the database after a reopen"
    );
}
