//! The state machine of a partition: the documents of the partition in the node's document
//! store. Applying an entry commits its writes and the entry's log id in one durable redb
//! transaction, so a member that restarts resumes exactly after what it applied, and any member
//! that becomes leader loads the partition's documents from its own store.
//!
//! A snapshot is the partition's documents as the store holds them (each as one whole stored
//! document at its last index), their wake-ups and uploaded files, and the partition's code.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use futures_util::{FutureExt, Stream, StreamExt};
use openraft::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StoredMembership};
use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::applier::Applier;
use super::code::CodeBook;
use super::config::partition_of;
use super::flusher::blocking;
use super::types::{Applied, ReplicatedWrite, TypeConfig};
use crate::store::redb::RedbStore;
use crate::store::{AssetMeta, Store, StoreError, Write};

/// partition → [`AppliedState`] as JSON.
const RAFT_APPLIED: TableDefinition<u32, &[u8]> = TableDefinition::new("raft_applied");
/// partition → the latest snapshot ([`StoredSnapshot`]) as JSON.
const RAFT_SNAPSHOT: TableDefinition<u32, &[u8]> = TableDefinition::new("raft_snapshot");
/// (partition, space) → the source the partition's log deployed last for the space.
const RAFT_CODE: TableDefinition<(u32, &str), &str> = TableDefinition::new("raft_code");

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct AppliedState {
    last_applied: Option<LogIdOf<TypeConfig>>,
    membership: StoredMembershipOf<TypeConfig>,
}

#[cfg(test)]
impl AppliedState {
    /// The index of the last entry applied.
    pub(super) fn index(&self) -> Option<u64> {
        self.last_applied.map(|log_id| log_id.index)
    }
}

/// The documents of a partition, whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionSnapshot {
    pub documents: Vec<SnapshotDocument>,
    pub wakes: Vec<(String, i64)>,
    /// Space → the source the partition's log deployed last.
    #[serde(default)]
    pub code: BTreeMap<String, String>,
    /// The documents' uploaded files.
    #[serde(default)]
    pub files: Vec<SnapshotFile>,
}

/// An uploaded file of a document of the partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFile {
    pub document: String,
    pub id: String,
    pub meta: AssetMeta,
    /// The bytes in base64.
    pub bytes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDocument {
    pub name: String,
    /// The log index the document is at.
    pub index: u64,
    pub document: Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMetaOf<TypeConfig>,
    data: PartitionSnapshot,
}

fn other(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

fn store_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Io(error.to_string())
}

/// Applied entries are durable in the raft log already: the document database's commit skips
/// its fsync but when the pace ([`Applier::durable_due`]) asks for one.
fn pace_durability(transaction: &mut WriteTransaction, durable: bool) -> Result<(), StoreError> {
    if !durable {
        transaction
            .set_durability(Durability::None)
            .map_err(store_error)?;
    }
    Ok(())
}

/// The state machine of one partition on this node. A clone is cheap; the apply thread works
/// on one and hands its applied state back.
#[derive(Debug, Clone)]
pub struct StateMachine {
    store: Arc<RedbStore>,
    partition: u32,
    partitions: u32,
    pub(super) state: AppliedState,
    /// Where applied deploys take effect on this node; without it they are only kept.
    code: Option<Arc<CodeBook>>,
    applier: Arc<Applier>,
}

impl StateMachine {
    pub fn open(
        store: Arc<RedbStore>,
        partition: u32,
        partitions: u32,
    ) -> io::Result<StateMachine> {
        let db = store.database();
        let write = db.begin_write().map_err(other)?;
        write.open_table(RAFT_APPLIED).map_err(other)?;
        write.open_table(RAFT_SNAPSHOT).map_err(other)?;
        write.open_table(RAFT_CODE).map_err(other)?;
        write.commit().map_err(other)?;
        let read = db.begin_read().map_err(other)?;
        let table = read.open_table(RAFT_APPLIED).map_err(other)?;
        let state = match table.get(partition).map_err(other)? {
            Some(bytes) => serde_json::from_slice(bytes.value()).map_err(other)?,
            None => AppliedState::default(),
        };
        Ok(StateMachine {
            store,
            partition,
            partitions,
            state,
            code: None,
            applier: Arc::default(),
        })
    }

    /// Shares the apply thread (and the pace of durable commits) with the node's other
    /// partitions.
    pub fn with_applier(self, applier: Arc<Applier>) -> StateMachine {
        StateMachine { applier, ..self }
    }

    /// Applied deploys change the code of this node's documents through `code`.
    pub fn with_code(self, code: Arc<CodeBook>) -> StateMachine {
        StateMachine {
            code: Some(code),
            ..self
        }
    }

    /// Space → the source this partition's log deployed last, as applied here.
    pub fn deployed_code(&self) -> io::Result<BTreeMap<String, String>> {
        let read = self.store.database().begin_read().map_err(other)?;
        let table = read.open_table(RAFT_CODE).map_err(other)?;
        let mut code = BTreeMap::new();
        for row in table
            .range((self.partition, "")..(self.partition + 1, ""))
            .map_err(other)?
        {
            let (key, source) = row.map_err(other)?;
            code.insert(key.value().1.to_owned(), source.value().to_owned());
        }
        Ok(code)
    }

    /// Keeps deployed sources in the transaction that applies them; `replace` first forgets
    /// the partition's earlier ones (a snapshot's code is the whole).
    fn record_code(
        &self,
        transaction: &mut WriteTransaction,
        code: &[(&str, &str)],
        replace: bool,
    ) -> Result<(), StoreError> {
        if code.is_empty() && !replace {
            return Ok(());
        }
        let mut table = transaction.open_table(RAFT_CODE).map_err(store_error)?;
        if replace {
            table
                .retain_in((self.partition, "")..(self.partition + 1, ""), |_, _| false)
                .map_err(store_error)?;
        }
        for (space, source) in code {
            table
                .insert((self.partition, *space), *source)
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// Keeps uploaded files (each its own durable commit, as on a single node; keeping one
    /// again writes the same bytes).
    fn keep_files<'a>(
        &self,
        files: impl Iterator<Item = (&'a str, &'a str, &'a AssetMeta, &'a str)>,
    ) -> io::Result<()> {
        use base64::Engine as _;
        for (document, id, meta, bytes) in files {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(bytes) else {
                tracing::error!(
                    partition = self.partition,
                    document,
                    id,
                    "a replicated file does not decode; it is not kept"
                );
                continue;
            };
            self.store
                .put_asset(document, id, meta, &bytes)
                .map_err(other)?;
        }
        Ok(())
    }

    /// Forgets uploaded files no record attached (forgetting one again, or one this member
    /// never kept, changes nothing).
    fn forget_files<'a>(&self, files: impl Iterator<Item = (&'a str, &'a str)>) -> io::Result<()> {
        for (document, id) in files {
            self.store.remove_asset(document, id).map_err(other)?;
        }
        Ok(())
    }

    /// Makes applied deploys take effect here.
    async fn take_code(&self, code: &[(String, String)]) {
        if let Some(book) = &self.code {
            for (space, source) in code {
                book.deployed(self.partition, space, source).await;
            }
        }
    }

    /// Records the applied state in the transaction that applies the entries. The entries are
    /// committed, so a majority holds them durably (openraft may apply one that this member's
    /// own log has only submitted, not flushed yet), and this commit skips its fsync but about
    /// once a second ([`Applier`]): after a crash the entries after the last durable applied
    /// state are applied again, from the same store state. A snapshot is written durably, and
    /// the log is purged only behind one.
    fn record_state(&self, transaction: &mut WriteTransaction) -> Result<(), StoreError> {
        pace_durability(transaction, self.applier.durable_due())?;
        self.write_state(transaction)
    }

    /// Writes the applied state in `transaction`.
    fn write_state(&self, transaction: &mut WriteTransaction) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(&self.state).map_err(store_error)?;
        transaction
            .open_table(RAFT_APPLIED)
            .map_err(store_error)?
            .insert(self.partition, bytes.as_slice())
            .map_err(store_error)?;
        Ok(())
    }

    /// Commits writes with the applied state; a batch the store refuses (an append out of
    /// order, a record that does not decode) changes nothing but the applied state, the same on
    /// every member.
    fn commit(&self, writes: &[&ReplicatedWrite], record_refusal: bool) -> io::Result<Applied> {
        // A deploy and a file (kept or forgotten) stand whatever happens to the document writes
        // beside them.
        let code = deploys(writes);
        self.keep_files(writes.iter().filter_map(|write| match write {
            ReplicatedWrite::Asset {
                document,
                id,
                meta,
                bytes,
            } => Some((document.as_str(), id.as_str(), meta, bytes.as_str())),
            _ => None,
        }))?;
        self.forget_files(writes.iter().filter_map(|write| match write {
            ReplicatedWrite::ForgetAsset { document, id } => Some((document.as_str(), id.as_str())),
            _ => None,
        }))?;
        let record = |transaction: &mut WriteTransaction| {
            self.record_state(transaction)?;
            self.record_code(transaction, &code, false)
        };
        let converted: Result<Vec<Write>, StoreError> = writes
            .iter()
            .filter(|write| write.is_document_write())
            .map(|write| write.to_write())
            .collect();
        let refused = match converted {
            Ok(writes) => match self.store.commit_with(&writes, &record) {
                Ok(_) => return Ok(Applied::default()),
                Err(StoreError::Io(error)) => return Err(io::Error::other(error)),
                Err(refusal) => refusal.to_string(),
            },
            Err(refusal) => refusal.to_string(),
        };
        if !record_refusal {
            return Ok(Applied {
                refused: Some(refused),
            });
        }
        tracing::warn!(partition = self.partition, reason = %refused, "a replicated batch is refused by the store");
        self.store.commit_with(&[], &record).map_err(other)?;
        Ok(Applied {
            refused: Some(refused),
        })
    }

    /// The writes of `batch` for a transaction shared with other partitions, with this
    /// machine's state moved past the batch; `None`, the state unchanged, when the batch holds
    /// what is applied alone (new code, uploaded files).
    pub(super) fn shared_writes<'b>(
        &mut self,
        batch: &'b [EntryResponder<TypeConfig>],
    ) -> Option<Vec<&'b ReplicatedWrite>> {
        let alone = batch.iter().any(|(entry, _)| match &entry.payload {
            EntryPayload::Normal(proposal) => proposal
                .writes
                .iter()
                .any(|write| !write.is_document_write()),
            _ => false,
        });
        (!alone).then(|| self.pass(batch))
    }

    /// Moves the applied state past `batch`; the writes of its entries, in log order.
    fn pass<'b>(&mut self, batch: &'b [EntryResponder<TypeConfig>]) -> Vec<&'b ReplicatedWrite> {
        let mut writes = Vec::new();
        for (entry, _) in batch {
            self.state.last_applied = Some(entry.log_id);
            match &entry.payload {
                EntryPayload::Normal(proposal) => writes.extend(&proposal.writes),
                EntryPayload::Membership(membership) => {
                    self.state.membership =
                        StoredMembership::new(Some(entry.log_id), membership.clone());
                }
                EntryPayload::Blank => {}
            }
        }
        writes
    }

    /// Commits the writes of several partitions' batches ([`StateMachine::shared_writes`]) in
    /// one transaction with each partition's applied state. `Ok(false)` when the store refuses
    /// them: nothing changed, and each batch is to be applied alone.
    pub(super) fn commit_shared(
        machines: &[&StateMachine],
        writes: &[&ReplicatedWrite],
    ) -> io::Result<bool> {
        let Some(first) = machines.first() else {
            return Ok(true);
        };
        let Ok(converted) = writes
            .iter()
            .map(|write| write.to_write())
            .collect::<Result<Vec<Write>, StoreError>>()
        else {
            return Ok(false);
        };
        let durable = first.applier.durable_due();
        let record = |transaction: &mut WriteTransaction| {
            pace_durability(transaction, durable)?;
            for machine in machines {
                machine.write_state(transaction)?;
            }
            Ok(())
        };
        match first.store.commit_with(&converted, &record) {
            Ok(_) => Ok(true),
            Err(StoreError::Io(error)) => Err(io::Error::other(error)),
            Err(_) => Ok(false),
        }
    }

    fn in_partition(&self, document: &str) -> bool {
        partition_of(document, self.partitions) == self.partition
    }

    /// A builder of a snapshot of `data` at the last applied entry and membership.
    fn builder(&self, data: PartitionSnapshot) -> SnapshotBuilder {
        SnapshotBuilder {
            store: Arc::clone(&self.store),
            partition: self.partition,
            snapshot: StoredSnapshot {
                meta: SnapshotMetaOf::<TypeConfig> {
                    last_log_id: self.state.last_applied,
                    last_membership: self.state.membership.clone(),
                },
                data,
            },
        }
    }

    /// The partition's documents as the store holds them now.
    fn capture(&self) -> io::Result<PartitionSnapshot> {
        let mut snapshot = PartitionSnapshot::default();
        let mut names = self.store.documents().map_err(other)?;
        names.sort();
        for name in names.into_iter().filter(|name| self.in_partition(name)) {
            if let Some(stored) = self.store.load(&name).map_err(other)? {
                snapshot.documents.push(SnapshotDocument {
                    index: stored.last_index(),
                    document: stored.fold(),
                    name,
                });
            }
        }
        snapshot.wakes = self
            .store
            .wakes()
            .map_err(other)?
            .into_iter()
            .filter(|(name, _)| self.in_partition(name))
            .collect();
        snapshot.code = self.deployed_code()?;
        for document in &snapshot.documents {
            use base64::Engine as _;
            let name: Arc<str> = Arc::from(document.name.as_str());
            for (id, meta, bytes) in self.store.assets_of(&name).map_err(other)? {
                snapshot.files.push(SnapshotFile {
                    document: document.name.clone(),
                    id,
                    meta,
                    bytes: base64::engine::general_purpose::STANDARD.encode(bytes),
                });
            }
        }
        Ok(snapshot)
    }

    fn save_snapshot(&self, snapshot: &StoredSnapshot) -> io::Result<()> {
        let bytes = serde_json::to_vec(snapshot).map_err(other)?;
        let db = self.store.database();
        let write = db.begin_write().map_err(other)?;
        write
            .open_table(RAFT_SNAPSHOT)
            .map_err(other)?
            .insert(self.partition, bytes.as_slice())
            .map_err(other)?;
        write.commit().map_err(other)
    }
}

/// Builds a snapshot from what was captured while the state machine could not change.
#[derive(Debug)]
pub struct SnapshotBuilder {
    store: Arc<RedbStore>,
    partition: u32,
    snapshot: StoredSnapshot,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = PartitionSnapshot;

    async fn build_snapshot(
        &mut self,
    ) -> Result<SnapshotOf<TypeConfig, PartitionSnapshot>, io::Error> {
        let bytes = serde_json::to_vec(&self.snapshot).map_err(other)?;
        let db = self.store.database();
        let write = db.begin_write().map_err(other)?;
        write
            .open_table(RAFT_SNAPSHOT)
            .map_err(other)?
            .insert(self.partition, bytes.as_slice())
            .map_err(other)?;
        write.commit().map_err(other)?;
        Ok(openraft::Snapshot {
            meta: self.snapshot.meta.clone(),
            snapshot: self.snapshot.data.clone(),
        })
    }
}

/// The most entries applied in one store transaction.
const MAX_APPLY_BATCH: usize = 256;

/// The entries of a batch with what applying each answers, and the deploys the batch applied
/// (space, source), in log order.
type AppliedBatch = (Answers, Vec<(String, String)>);

/// What applying each entry of a batch answers, to whom.
pub(super) type Answers = Vec<(
    Option<openraft::storage::ApplyResponder<TypeConfig>>,
    Applied,
)>;

/// The deploys among writes: (space, source).
fn deploys<'a>(writes: &[&'a ReplicatedWrite]) -> Vec<(&'a str, &'a str)> {
    writes
        .iter()
        .filter_map(|write| match write {
            ReplicatedWrite::Deploy { space, source } => Some((space.as_str(), source.as_str())),
            _ => None,
        })
        .collect()
}

fn owned(code: Vec<(&str, &str)>) -> Vec<(String, String)> {
    code.into_iter()
        .map(|(space, source)| (space.to_owned(), source.to_owned()))
        .collect()
}

impl StateMachine {
    /// Applies entries in one transaction; when the store refuses the whole, each entry goes
    /// alone, so that only the refused one is refused (the same on every member).
    pub(super) fn apply_batch(
        &mut self,
        batch: Vec<EntryResponder<TypeConfig>>,
    ) -> io::Result<AppliedBatch> {
        if batch.len() > 1 {
            let before = self.state.clone();
            let writes = self.pass(&batch);
            if self.commit(&writes, false)?.refused.is_none() {
                let code = owned(deploys(&writes));
                let answers = batch
                    .into_iter()
                    .map(|(_, responder)| (responder, Applied::default()))
                    .collect();
                return Ok((answers, code));
            }
            self.state = before;
        }
        let mut answers = Vec::with_capacity(batch.len());
        let mut code = Vec::new();
        for (entry, responder) in batch {
            self.state.last_applied = Some(entry.log_id);
            let applied = match &entry.payload {
                EntryPayload::Normal(proposal) => {
                    let writes: Vec<&ReplicatedWrite> = proposal.writes.iter().collect();
                    code.extend(owned(deploys(&writes)));
                    self.commit(&writes, true)?
                }
                EntryPayload::Membership(membership) => {
                    self.state.membership =
                        StoredMembership::new(Some(entry.log_id), membership.clone());
                    self.commit(&[], true)?
                }
                EntryPayload::Blank => self.commit(&[], true)?,
            };
            answers.push((responder, applied));
        }
        Ok((answers, code))
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = PartitionSnapshot;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogIdOf<TypeConfig>>, StoredMembershipOf<TypeConfig>), io::Error> {
        Ok((self.state.last_applied, self.state.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some(first) = entries.next().await {
            // The entries that are ready now are applied in one transaction.
            let mut batch = vec![first?];
            while batch.len() < MAX_APPLY_BATCH {
                match entries.next().now_or_never() {
                    Some(Some(next)) => batch.push(next?),
                    _ => break,
                }
            }
            let (answers, code, state) = self.applier.apply(self.clone(), batch).await?;
            self.state = state;
            // New code takes effect before the deploy is answered, so that the documents the
            // leader loads from then on run it.
            self.take_code(&code).await;
            for (responder, applied) in answers {
                if let Some(responder) = responder {
                    responder.send(applied);
                }
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        // The data is captured here, while no entry is being applied; a failure to read the
        // store leaves an empty capture that `try_create_snapshot_builder` never hands out.
        let data = self.capture().unwrap_or_default();
        self.builder(data)
    }

    async fn try_create_snapshot_builder(&mut self, _force: bool) -> Option<Self::SnapshotBuilder> {
        let data = match self.capture() {
            Ok(data) => data,
            Err(error) => {
                tracing::warn!(partition = self.partition, %error, "cannot read the partition for a snapshot");
                return None;
            }
        };
        Some(self.builder(data))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: PartitionSnapshot,
    ) -> Result<(), io::Error> {
        // Every document of the partition is replaced by the snapshot's.
        let mut writes = Vec::new();
        for name in self.store.documents().map_err(other)? {
            if self.in_partition(&name) {
                writes.push(Write::Delete {
                    document: Arc::from(name.as_str()),
                });
            }
        }
        for document in &snapshot.documents {
            let name: Arc<str> = Arc::from(document.name.as_str());
            writes.push(Write::Delete {
                document: Arc::clone(&name),
            });
            writes.push(Write::Snapshot {
                document: name,
                index: document.index,
                json: Arc::new(document.document.clone()),
                keep: 0,
            });
        }
        for (name, at) in &snapshot.wakes {
            writes.push(Write::Wake {
                document: Arc::from(name.as_str()),
                at: Some(*at),
            });
        }
        self.state = AppliedState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        let code: Vec<(&str, &str)> = snapshot
            .code
            .iter()
            .map(|(space, source)| (space.as_str(), source.as_str()))
            .collect();
        blocking(|| {
            self.store
                .commit_with(&writes, &|transaction| {
                    self.record_state(transaction)?;
                    self.record_code(transaction, &code, true)
                })
                .map_err(other)?;
            // After the documents' replacement, which deleted their earlier files.
            self.keep_files(snapshot.files.iter().map(|file| {
                (
                    file.document.as_str(),
                    file.id.as_str(),
                    &file.meta,
                    file.bytes.as_str(),
                )
            }))
        })?;
        let code = owned(code);
        self.take_code(&code).await;
        blocking(|| {
            self.save_snapshot(&StoredSnapshot {
                meta: meta.clone(),
                data: snapshot,
            })
        })
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<SnapshotOf<TypeConfig, PartitionSnapshot>>, io::Error> {
        let db = self.store.database();
        let read = db.begin_read().map_err(other)?;
        let table = read.open_table(RAFT_SNAPSHOT).map_err(other)?;
        match table.get(self.partition).map_err(other)? {
            Some(bytes) => {
                let stored: StoredSnapshot =
                    serde_json::from_slice(bytes.value()).map_err(other)?;
                Ok(Some(openraft::Snapshot {
                    meta: stored.meta,
                    snapshot: stored.data,
                }))
            }
            None => Ok(None),
        }
    }
}
