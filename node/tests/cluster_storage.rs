//! The cluster's raft storage (the logs' segment files, the state machine on the node's redb
//! database) passes openraft's conformance suite, and the logs keep what they were told across
//! reopens, torn writes and segment changes.

use std::sync::Arc;

use adama_node::cluster::flusher::Flusher;
use adama_node::cluster::log_store::{LogStore, adopt, open_logs};
use adama_node::cluster::state_machine::StateMachine;
use adama_node::cluster::types::TypeConfig;
use adama_node::cluster::wal::Wal;
use adama_node::store::redb::RedbStore;
use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
        let wal = Arc::new(Wal::open(&dir.path().join("raft-log")).expect("the logs open"));
        let log = LogStore::new(Arc::clone(&wal), 7, Flusher::start(wal));
        let machine = StateMachine::open(store, 7, 16).expect("the state machine opens");
        Ok((dir, log, machine))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raft_storage_passes_openraft_conformance_suite() {
    Suite::test_all(Builder)
        .await
        .expect("every conformance check passes");
}

/// A partition's log over the segment files in `path`, with a writer of its own.
fn log_in(path: &std::path::Path, partition: u32) -> LogStore {
    let wal = Arc::new(Wal::open(path).expect("the logs open"));
    LogStore::new(Arc::clone(&wal), partition, Flusher::start(wal))
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
    let path = dir.path().join("raft-log");
    let wal = Arc::new(Wal::open(&path).expect("the logs open"));
    let flusher = Flusher::start(Arc::clone(&wal));
    let mut logs: Vec<LogStore> = (0..8)
        .map(|partition| LogStore::new(Arc::clone(&wal), partition, flusher.clone()))
        .collect();
    // The writer waits while the writes are held back.
    let held = wal.hold_writes();
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
    drop((logs, flusher, wal));
    let mut log = log_in(&path, 5);
    let read = log
        .try_get_log_entries(1..=3)
        .await
        .expect("the entries read back");
    assert_eq!(
        read.len(),
        3,
        "the entries are in the segment files after a reopen"
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
    let path = dir.path().join("raft-log");
    let wal = Arc::new(Wal::open(&path).expect("the logs open"));
    let flusher = Flusher::start(Arc::clone(&wal));
    let mut log = LogStore::new(Arc::clone(&wal), 3, flusher.clone());
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
    drop((log, flusher, wal));
    let mut log = log_in(&path, 3);
    let read = log.try_get_log_entries(1..=9).await.expect("the entries");
    assert_eq!(terms(&read), expected, "read after a reopen");
}

/// Where earlier versions kept the logs, in redb.
const EARLIER_LOG: redb::TableDefinition<(u32, u64), &[u8]> =
    redb::TableDefinition::new("raft_log");
const EARLIER_META: redb::TableDefinition<(u32, &str), &[u8]> =
    redb::TableDefinition::new("raft_meta");

/// Writes logs as an earlier version kept them in `database`: blank entries of `term` at
/// `indexes` of `partition`, and one named value.
fn write_earlier_logs(
    database: &redb::Database,
    partition: u32,
    term: u64,
    indexes: std::ops::RangeInclusive<u64>,
    (name, value): (&str, Vec<u8>),
) {
    let write = database.begin_write().expect("a write");
    {
        let mut log = write.open_table(EARLIER_LOG).expect("the table");
        for index in indexes {
            let entry = openraft::testing::blank_ent::<TypeConfig>(term, 1, index);
            let bytes = adama_node::cluster::codec::encode(&entry).expect("encoded");
            log.insert((partition, index), bytes.as_slice())
                .expect("inserted");
        }
        let mut meta = write.open_table(EARLIER_META).expect("the table");
        meta.insert((partition, name), value.as_slice())
            .expect("inserted");
    }
    write.commit().expect("committed");
}

/// A node whose raft logs an earlier version kept in a redb database (the documents' one, or
/// `raft.redb`) finds them in the segment files after `adopt`, and the database no longer
/// holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_an_earlier_version_move_to_the_segment_files() {
    use openraft::storage::RaftLogReader;
    use redb::ReadableDatabase;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
    let documents = store.database();
    // What an earlier version wrote: the entries and the vote, in the document database.
    let vote =
        serde_json::to_vec(&openraft::alias::VoteOf::<TypeConfig>::new(4, 1)).expect("encoded");
    write_earlier_logs(&documents, 2, 1, 1..=3, ("vote", vote));
    let path = dir.path().join("raft-log");
    let wal = Wal::open(&path).expect("the logs open");
    assert_eq!(
        adopt(&documents, &wal).expect("the logs move"),
        3,
        "three entries moved"
    );
    drop(wal);
    let mut log = log_in(&path, 2);
    assert_eq!(log.try_get_log_entries(1..=3).await.expect("read").len(), 3);
    assert_eq!(
        log.read_vote().await.expect("the vote"),
        Some(openraft::alias::VoteOf::<TypeConfig>::new(4, 1))
    );
    let read = documents.begin_read().expect("a read");
    assert!(
        matches!(
            read.open_table(EARLIER_LOG),
            Err(redb::TableError::TableDoesNotExist(_))
        ),
        "the document database no longer holds the logs"
    );
    drop(read);
    let wal = Wal::open(&path).expect("the logs open");
    assert_eq!(
        adopt(&documents, &wal).expect("nothing to move"),
        0,
        "a second start moves nothing"
    );
}

/// A data directory an earlier version left with its logs in `raft.redb`: opening the logs
/// moves them into the segment files and deletes the file; the next open finds them there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raft_redb_of_an_earlier_version_becomes_segment_files() {
    use openraft::storage::RaftLogReader;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
    let earlier = dir.path().join("raft.redb");
    {
        let database = redb::Database::create(&earlier).expect("the earlier database");
        let purged =
            serde_json::to_vec(&openraft::testing::log_id::<TypeConfig>(1, 1, 3)).expect("encoded");
        write_earlier_logs(&database, 6, 2, 4..=9, ("purged", purged));
    }
    let wal = Arc::new(open_logs(dir.path(), &store.database()).expect("the logs open"));
    assert!(!earlier.exists(), "raft.redb is gone once its logs moved");
    drop(wal);
    let wal = Arc::new(open_logs(dir.path(), &store.database()).expect("the logs open again"));
    let mut log = LogStore::new(Arc::clone(&wal), 6, Flusher::start(wal));
    let entries = log.try_get_log_entries(0..100).await.expect("read");
    assert_eq!(
        entries
            .iter()
            .map(|entry| entry.log_id.index)
            .collect::<Vec<_>>(),
        (4..=9).collect::<Vec<_>>()
    );
    let state = openraft::storage::RaftLogStorage::get_log_state(&mut log)
        .await
        .expect("the log state");
    assert_eq!(
        state.last_purged_log_id,
        Some(openraft::testing::log_id::<TypeConfig>(1, 1, 3))
    );
    assert_eq!(state.last_log_id.map(|id| id.index), Some(9));
}

/// What the logs hold, read back from the segment files: each partition's entries and values.
/// A partition, its entries' bytes and its vote.
type Held = (u32, Vec<Vec<u8>>, Option<Vec<u8>>);

fn contents(wal: &Wal, partitions: u32) -> Vec<Held> {
    (0..partitions)
        .map(|partition| {
            (
                partition,
                wal.entries(partition, 0, u64::MAX)
                    .expect("the entries read"),
                wal.meta(partition, "vote"),
            )
        })
        .collect()
}

fn entry_bytes(partition: u32, index: u64, size: usize) -> Vec<u8> {
    let mut bytes = format!("{partition}:{index}:").into_bytes();
    bytes.resize(size, b'.');
    bytes
}

/// Appends, durably, an entry of `size` bytes at `index` of partition 0.
fn append(wal: &Wal, index: u64, size: usize) {
    let bytes = entry_bytes(0, index, size);
    let op = adama_node::cluster::wal::Op::Append {
        partition: 0,
        index,
        bytes: &bytes,
    };
    wal.write(&[op], true).expect("written");
}

/// A write a crash cut short (a torn last frame, or bytes that are no frame) is dropped at the
/// next open, and every whole write before it is kept; new writes follow the last whole one.
#[test]
fn a_torn_write_at_the_end_is_dropped_and_what_came_before_kept() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("raft-log");
    let wal = Wal::open(&path).expect("the logs open");
    for index in 1..=5 {
        append(&wal, index, 100);
    }
    let before = contents(&wal, 1);
    let segment = wal.segments().pop().expect("a segment");
    drop(wal);
    let whole = std::fs::metadata(&segment).expect("the segment").len();
    for tail in [
        &b"\x40\x00\x00\x00\x01\x02"[..],
        &[0xff; 40][..],
        &[0; 3][..],
    ] {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&segment)
            .expect("the segment opens");
        std::io::Write::write_all(&mut file, tail).expect("appended");
        drop(file);
        let wal = Wal::open(&path).expect("the logs open again");
        assert_eq!(contents(&wal, 1), before, "the whole writes are kept");
        assert_eq!(
            std::fs::metadata(&segment).expect("the segment").len(),
            whole,
            "the torn tail is cut off"
        );
    }
    let wal = Wal::open(&path).expect("the logs open again");
    append(&wal, 6, 100);
    drop(wal);
    let wal = Wal::open(&path).expect("the logs open again");
    assert_eq!(wal.entries(0, 0, u64::MAX).expect("read").len(), 6);
}

/// A damaged segment that is not the last is not cut short silently: opening the logs fails,
/// naming the file and the byte, with what to do.
#[test]
fn a_damaged_segment_before_the_last_is_reported_not_dropped() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("raft-log");
    let wal = Wal::open_with(&path, 4_096).expect("the logs open");
    for index in 1..=20 {
        append(&wal, index, 500);
    }
    let segments = wal.segments();
    assert!(segments.len() > 1, "{segments:?}");
    drop(wal);
    let first = &segments[0];
    let mut bytes = std::fs::read(first).expect("the segment");
    let at = bytes.len() - 10;
    bytes[at] ^= 0xff;
    std::fs::write(first, bytes).expect("written");
    let error = Wal::open(&path).expect_err("the damage is found");
    let text = error.to_string();
    assert!(
        text.contains(&first.display().to_string()) && text.contains("hint:"),
        "{text}"
    );
}

/// Under writes that purge and truncate as raft does, segments close, those left without live
/// entries are deleted, the live entries of a quiet partition are copied forward out of mostly
/// dead segments, and a reopen reads back exactly what the logs held.
#[test]
fn segments_without_live_entries_go_and_a_reopen_reads_back_the_same_logs() {
    use adama_node::cluster::wal::Op;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("raft-log");
    let wal = Wal::open_with(&path, 16 << 10).expect("the logs open");
    // Partition 0 goes quiet after a few entries; 1 and 2 stay busy, purging behind them and
    // now and then truncating their last entries and writing them again.
    for index in 1..=3 {
        append(&wal, index, 300);
    }
    let vote = b"{\"term\":3}".to_vec();
    wal.write(
        &[Op::Meta {
            partition: 0,
            name: "vote",
            bytes: &vote,
        }],
        true,
    )
    .expect("written");
    let mut most_segments = 0;
    for index in 1..=2_000u64 {
        for partition in 1..=2u32 {
            let bytes = entry_bytes(partition, index, 200);
            let mut ops = vec![Op::Append {
                partition,
                index,
                bytes: &bytes,
            }];
            if index % 7 == 0 {
                // The last two entries are replaced.
                ops.insert(
                    0,
                    Op::Remove {
                        partition,
                        from: index - 2,
                        to: u64::MAX,
                    },
                );
            }
            let again: Vec<Vec<u8>> = if index % 7 == 0 {
                (index - 2..index)
                    .map(|at| entry_bytes(partition, at, 150))
                    .collect()
            } else {
                Vec::new()
            };
            for (at, bytes) in (index.saturating_sub(2)..index).zip(&again) {
                ops.insert(
                    1 + (at + 2 - index) as usize,
                    Op::Append {
                        partition,
                        index: at,
                        bytes,
                    },
                );
            }
            if index % 100 == 0 {
                ops.push(Op::Remove {
                    partition,
                    from: 0,
                    to: index - 50,
                });
            }
            wal.write(&ops, index % 3 == 0).expect("written");
        }
        most_segments = most_segments.max(wal.segments().len());
    }
    let segments = wal.segments();
    assert!(
        segments.len() <= 6,
        "dead segments are deleted: {} left, at most {most_segments} at once",
        segments.len()
    );
    let held = contents(&wal, 3);
    assert_eq!(held[0].1.len(), 3, "the quiet partition keeps its entries");
    assert_eq!(held[0].2.as_deref(), Some(&vote[..]), "and its vote");
    assert_eq!(
        held[1].1.len(),
        50,
        "a busy partition keeps what it did not purge"
    );
    assert!(
        held[1]
            .1
            .last()
            .is_some_and(|last| last.starts_with(b"1:2000:")),
        "the last entry is the last written"
    );
    assert!(
        held[1].1[42].starts_with(b"1:1993:") && held[1].1[42].len() == 150,
        "an entry written again is read as written again"
    );
    assert!(
        segments
            .iter()
            .all(|segment| !segment.ends_with("00000000000000000001.seg")),
        "the quiet partition's entries were copied out of the first segment: {segments:?}"
    );
    drop(wal);
    let reopened = Wal::open_with(&path, 16 << 10).expect("the logs open again");
    assert_eq!(
        contents(&reopened, 3),
        held,
        "a reopen reads back the same logs"
    );
}
