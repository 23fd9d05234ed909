//! The cluster's raft storage on the node's redb database passes openraft's conformance suite.

use std::sync::Arc;

use adama_node::cluster::flusher::Flusher;
use adama_node::cluster::log_store::{LogStore, adopt};
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

/// Reopens a database once the handles of the one before (the writer's thread among them)
/// have let it go.
async fn reopen(path: &std::path::Path) -> Arc<redb::Database> {
    for _ in 0..200 {
        if let Ok(database) = redb::Database::create(path) {
            return Arc::new(database);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{} does not open again", path.display());
}

/// The appends of many partitions made while the log writer waits for the database are
/// readable at once, before they are durable, and one commit makes those that waited durable
/// together; they are in the database after a reopen.
#[tokio::test(flavor = "current_thread")]
async fn appends_of_many_partitions_share_one_fsync_and_are_readable_before_it() {
    use openraft::storage::{IOFlushed, RaftLogReader, RaftLogStorage};
    use openraft::testing::blank_ent;
    use openraft::type_config::TypeConfigExt;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("raft.redb");
    let db = Arc::new(redb::Database::create(&path).expect("the database opens"));
    let flusher = Flusher::start(Arc::clone(&db));
    let mut logs: Vec<LogStore> = (0..8)
        .map(|partition| {
            LogStore::new(Arc::clone(&db), partition, flusher.clone()).expect("the log opens")
        })
        .collect();
    // The writer waits for the database while this write transaction is open.
    let held = db.begin_write().expect("a write transaction");
    let mut flushed = Vec::new();
    for (partition, log) in logs.iter_mut().enumerate() {
        let (done, wait) = TypeConfig::oneshot();
        let entries = (1..=3).map(|index| blank_ent::<TypeConfig>(1, 1, index));
        log.append(entries, IOFlushed::signal(done))
            .await
            .expect("the append is taken");
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
    assert_eq!(flusher.fsyncs(), 0, "nothing is durable yet");
    drop(held);
    for wait in flushed {
        wait.await
            .expect("the flush is reported")
            .expect("the flush succeeded");
    }
    assert!(
        flusher.fsyncs() <= 2,
        "the appends that waited share a commit ({} fsyncs for 8 partitions)",
        flusher.fsyncs()
    );
    drop((logs, flusher, db));
    let db = reopen(&path).await;
    let mut log =
        LogStore::new(Arc::clone(&db), 5, Flusher::start(Arc::clone(&db))).expect("the log opens");
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

/// A truncation queued behind appends not yet durable, and the appends after it, reach the
/// disk in the order they were made: the entries that replaced the truncated ones are what
/// a reopened log holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncation_and_the_appends_around_it_reach_the_disk_in_order() {
    use openraft::storage::{IOFlushed, RaftLogReader, RaftLogStorage};
    use openraft::testing::{blank_ent, log_id};
    use openraft::type_config::TypeConfigExt;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("raft.redb");
    let db = Arc::new(redb::Database::create(&path).expect("the database opens"));
    let flusher = Flusher::start(Arc::clone(&db));
    let mut log = LogStore::new(Arc::clone(&db), 3, flusher.clone()).expect("the log opens");
    let (first, first_flushed) = TypeConfig::oneshot();
    log.append(
        (1..=4).map(|index| blank_ent::<TypeConfig>(1, 1, index)),
        IOFlushed::signal(first),
    )
    .await
    .expect("the append is taken");
    log.truncate_after(Some(log_id::<TypeConfig>(1, 1, 2)))
        .await
        .expect("the truncation is durable");
    let (second, second_flushed) = TypeConfig::oneshot();
    log.append(
        (3..=5).map(|index| blank_ent::<TypeConfig>(2, 1, index)),
        IOFlushed::signal(second),
    )
    .await
    .expect("the append is taken");
    let terms = |entries: &[openraft::alias::EntryOf<TypeConfig>]| {
        entries.iter().map(|entry| entry.log_id).collect::<Vec<_>>()
    };
    let expected: Vec<_> = [(1, 1), (1, 2), (2, 3), (2, 4), (2, 5)]
        .into_iter()
        .map(|(term, index)| log_id::<TypeConfig>(term, 1, index))
        .collect();
    let read = log.try_get_log_entries(1..=5).await.expect("the entries");
    assert_eq!(terms(&read), expected, "read before the flush");
    for wait in [first_flushed, second_flushed] {
        wait.await.expect("reported").expect("flushed");
    }
    drop((log, flusher, db));
    let db = reopen(&path).await;
    let mut log =
        LogStore::new(Arc::clone(&db), 3, Flusher::start(Arc::clone(&db))).expect("the log opens");
    let read = log.try_get_log_entries(1..=9).await.expect("the entries");
    assert_eq!(terms(&read), expected, "read after a reopen");
}

/// A node whose raft logs an earlier version kept in the document database finds them in the
/// log database after `adopt`, and the document database no longer holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_an_earlier_version_move_to_their_own_database() {
    use openraft::storage::{IOFlushed, RaftLogReader, RaftLogStorage};
    use openraft::testing::blank_ent;
    use openraft::type_config::TypeConfigExt;
    use redb::ReadableDatabase;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
    let documents = store.database();
    {
        // Where an earlier version wrote the logs: in the document database.
        let mut old = LogStore::new(
            Arc::clone(&documents),
            2,
            Flusher::start(Arc::clone(&documents)),
        )
        .expect("the log opens");
        let (done, flushed) = TypeConfig::oneshot();
        old.append(
            (1..=3).map(|index| blank_ent::<TypeConfig>(1, 1, index)),
            IOFlushed::signal(done),
        )
        .await
        .expect("the append is taken");
        flushed.await.expect("reported").expect("flushed");
        old.save_vote(&openraft::alias::VoteOf::<TypeConfig>::new(4, 1))
            .await
            .expect("the vote is saved");
    }
    let logs = Arc::new(
        redb::Database::create(dir.path().join("raft.redb")).expect("the log database opens"),
    );
    assert_eq!(
        adopt(&documents, &logs).expect("the logs move"),
        3,
        "three entries moved"
    );
    let mut log = LogStore::new(Arc::clone(&logs), 2, Flusher::start(Arc::clone(&logs)))
        .expect("the log opens");
    assert_eq!(log.try_get_log_entries(1..=3).await.expect("read").len(), 3);
    assert_eq!(
        log.read_vote().await.expect("the vote"),
        Some(openraft::alias::VoteOf::<TypeConfig>::new(4, 1))
    );
    let read = documents.begin_read().expect("a read");
    let log_table: redb::TableDefinition<(u32, u64), &[u8]> =
        redb::TableDefinition::new("raft_log");
    assert!(
        matches!(
            read.open_table(log_table),
            Err(redb::TableError::TableDoesNotExist(_))
        ),
        "the document database no longer holds the logs"
    );
    assert_eq!(
        adopt(&documents, &logs).expect("nothing to move"),
        0,
        "a second start moves nothing"
    );
}
