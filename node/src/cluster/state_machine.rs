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
use crate::store::redb::{RedbStore, attach_in, detach_in};
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

    /// Writes the bytes of uploaded files, each durably, before the transaction that attaches
    /// them ([`FileChanges`]); writing one again writes the same bytes, and one left behind
    /// by a transaction that did not commit is no file of any document. Returns the files
    /// whose bytes do not decode: they are not kept, and are not to be recorded.
    fn write_file_bytes<'a>(
        &self,
        files: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> io::Result<Vec<(&'a str, &'a str)>> {
        use base64::Engine as _;
        let mut undecodable = Vec::new();
        for (document, id, bytes) in files {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(bytes) else {
                tracing::error!(
                    partition = self.partition,
                    document,
                    id,
                    "a replicated file does not decode; it is not kept"
                );
                undecodable.push((document, id));
                continue;
            };
            self.store
                .put_asset_bytes(document, id, &bytes)
                .map_err(other)?;
        }
        Ok(undecodable)
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
        let undecodable = self.write_file_bytes(writes.iter().filter_map(|write| match write {
            ReplicatedWrite::Asset {
                document,
                id,
                bytes,
                ..
            } => Some((document.as_str(), id.as_str(), bytes.as_str())),
            _ => None,
        }))?;
        let record = |transaction: &mut WriteTransaction, files: &FileChanges| {
            self.record_state(transaction)?;
            self.record_code(transaction, &code, false)?;
            files.record(transaction)
        };
        let converted: Result<Vec<Write>, StoreError> = writes
            .iter()
            .filter(|write| write.is_document_write())
            .map(|write| write.to_write())
            .collect();
        let refused = match converted {
            Ok(converted) => {
                let files = FileChanges::of(writes, true, &undecodable);
                match self
                    .store
                    .commit_with(&converted, &|transaction| record(transaction, &files))
                {
                    Ok(_) => return self.forgotten(&files).map(|()| Applied::default()),
                    Err(StoreError::Io(error)) => return Err(io::Error::other(error)),
                    Err(refusal) => refusal.to_string(),
                }
            }
            Err(refusal) => refusal.to_string(),
        };
        if !record_refusal {
            return Ok(Applied {
                refused: Some(refused),
            });
        }
        tracing::warn!(partition = self.partition, reason = %refused, "a replicated batch is refused by the store");
        // The documents' writes are not applied, their deletions neither.
        let files = FileChanges::of(writes, false, &undecodable);
        self.store
            .commit_with(&[], &|transaction| record(transaction, &files))
            .map_err(other)?;
        self.forgotten(&files)?;
        Ok(Applied {
            refused: Some(refused),
        })
    }

    /// Removes the bytes of the files a committed transaction forgot.
    fn forgotten(&self, files: &FileChanges) -> io::Result<()> {
        for (document, id) in &files.detach {
            self.store.remove_asset_bytes(document, id).map_err(other)?;
        }
        Ok(())
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

/// What the uploaded files among a batch's writes change, in the order of the log: the files
/// attached at the end of the batch, and those forgotten. A file of a document the batch
/// deletes after it is not attached (it goes with the document); one uploaded after the
/// document's deletion in the same batch is (the document was created again).
#[derive(Debug, Default)]
struct FileChanges<'a> {
    attach: Vec<(&'a str, &'a str, &'a AssetMeta)>,
    detach: Vec<(&'a str, &'a str)>,
}

impl<'a> FileChanges<'a> {
    /// `deletions`: whether the batch's document deletions are applied (not when the store
    /// refused its document writes).
    /// `undecodable`: files whose bytes were not kept, which are not recorded either.
    fn of(
        writes: &[&'a ReplicatedWrite],
        deletions: bool,
        undecodable: &[(&str, &str)],
    ) -> FileChanges<'a> {
        let mut changes = FileChanges::default();
        for write in writes {
            match write {
                ReplicatedWrite::Asset {
                    document, id, meta, ..
                } => {
                    let file = (document.as_str(), id.as_str());
                    if !undecodable.contains(&file) {
                        changes.detach.retain(|forgotten| *forgotten != file);
                        changes.attach.push((document, id, meta));
                    }
                }
                ReplicatedWrite::ForgetAsset { document, id } => {
                    changes
                        .attach
                        .retain(|(d, i, _)| (*d, *i) != (document.as_str(), id.as_str()));
                    changes.detach.push((document, id));
                }
                ReplicatedWrite::Delete { document } if deletions => {
                    changes.attach.retain(|(d, _, _)| *d != document.as_str());
                }
                _ => {}
            }
        }
        changes
    }

    /// Records the changes in the transaction that applies the batch, after its writes.
    fn record(&self, transaction: &mut WriteTransaction) -> Result<(), StoreError> {
        for (document, id) in &self.detach {
            detach_in(transaction, document, id)?;
        }
        for (document, id, meta) in &self.attach {
            attach_in(transaction, document, id, meta)?;
        }
        Ok(())
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
            // The files' bytes first, so that the transaction that records the snapshot as
            // applied also attaches them: a member killed in between has its old documents
            // and files, and is sent the snapshot again.
            let undecodable = self.write_file_bytes(snapshot.files.iter().map(|file| {
                (
                    file.document.as_str(),
                    file.id.as_str(),
                    file.bytes.as_str(),
                )
            }))?;
            let files = FileChanges {
                attach: snapshot
                    .files
                    .iter()
                    .map(|file| (file.document.as_str(), file.id.as_str(), &file.meta))
                    .filter(|(document, id, _)| !undecodable.contains(&(*document, *id)))
                    .collect(),
                detach: Vec::new(),
            };
            self.store
                .commit_with(&writes, &|transaction| {
                    self.record_state(transaction)?;
                    self.record_code(transaction, &code, true)?;
                    // After the documents' replacement, which detached their earlier files.
                    files.record(transaction)
                })
                .map_err(other)
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use openraft::entry::RaftEntry;
    use openraft::testing::log_id;

    use super::*;
    use crate::cluster::types::Proposal;

    const DOC: &str = "files/doc";

    fn machine(directory: &std::path::Path) -> (Arc<RedbStore>, StateMachine) {
        let store = Arc::new(RedbStore::open(directory).expect("the store opens"));
        let machine = StateMachine::open(Arc::clone(&store), 0, 1)
            .expect("the state machine opens")
            .with_applier(Arc::new(Applier::default()));
        (store, machine)
    }

    fn entry(index: u64, writes: Vec<ReplicatedWrite>) -> EntryResponder<TypeConfig> {
        (
            openraft::Entry::new_normal(log_id::<TypeConfig>(1, 1, index), Proposal { writes }),
            None,
        )
    }

    fn append(document: &str, index: u64) -> ReplicatedWrite {
        ReplicatedWrite::Append {
            document: document.to_owned(),
            index,
            record: format!(
                r#"{{"seq":{index},"time":0,"command":{{}},"redo":{{"n":{index}}},"undo":{{}}}}"#
            ),
        }
    }

    fn meta(bytes: &str) -> AssetMeta {
        AssetMeta {
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            size: bytes.len() as u64,
            md5: String::new(),
            sha384: String::new(),
        }
    }

    fn upload(document: &str, id: &str, bytes: &str) -> ReplicatedWrite {
        ReplicatedWrite::Asset {
            document: document.to_owned(),
            id: id.to_owned(),
            meta: meta(bytes),
            bytes: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    fn delete(document: &str) -> ReplicatedWrite {
        ReplicatedWrite::Delete {
            document: document.to_owned(),
        }
    }

    /// A file as the store serves it, and whether its bytes are on disk.
    fn file(store: &RedbStore, document: &str, id: &str) -> (Option<String>, bool) {
        let name: Arc<str> = Arc::from(document);
        let served = store
            .asset(&name, id)
            .expect("the store reads")
            .map(|(_, bytes)| String::from_utf8(bytes).expect("text"));
        let on_disk = store
            .file_path(document, id)
            .is_some_and(|path| path.is_file());
        (served, on_disk)
    }

    /// A snapshot of one document at index 5 with one file, `id`, whose bytes are its id.
    fn snapshot_of(document: &str, id: &str) -> PartitionSnapshot {
        PartitionSnapshot {
            documents: vec![SnapshotDocument {
                name: document.into(),
                index: 5,
                document: serde_json::json!({"n": 5}),
            }],
            files: vec![SnapshotFile {
                document: document.into(),
                id: id.into(),
                meta: meta(id),
                bytes: base64::engine::general_purpose::STANDARD.encode(id),
            }],
            ..PartitionSnapshot::default()
        }
    }

    /// A snapshot's place: after entry 9.
    fn at_nine() -> SnapshotMetaOf<TypeConfig> {
        SnapshotMetaOf::<TypeConfig> {
            last_log_id: Some(log_id::<TypeConfig>(1, 1, 9)),
            last_membership: StoredMembership::default(),
        }
    }

    fn apply(machine: &mut StateMachine, batch: Vec<EntryResponder<TypeConfig>>) {
        let (answers, _) = machine.apply_batch(batch).expect("applied");
        assert!(answers.iter().all(|(_, applied)| applied.refused.is_none()));
    }

    #[test]
    fn a_document_deleted_and_given_a_new_file_in_one_batch_keeps_the_new_file() {
        let directory = tempfile::tempdir().expect("a directory");
        let (store, mut machine) = machine(directory.path());
        apply(
            &mut machine,
            vec![entry(
                1,
                vec![append(DOC, 1), upload(DOC, "old", "old bytes")],
            )],
        );
        assert_eq!(file(&store, DOC, "old"), (Some("old bytes".into()), true));

        // Deleted, then created again with a new file, in the entries of one batch.
        apply(
            &mut machine,
            vec![
                entry(2, vec![delete(DOC)]),
                entry(3, vec![append(DOC, 1), upload(DOC, "new", "new bytes")]),
            ],
        );
        assert_eq!(file(&store, DOC, "new"), (Some("new bytes".into()), true));
        assert_eq!(file(&store, DOC, "old"), (None, false));
    }

    #[test]
    fn a_file_uploaded_before_its_document_is_deleted_in_one_batch_goes_with_it() {
        let directory = tempfile::tempdir().expect("a directory");
        let (store, mut machine) = machine(directory.path());
        apply(&mut machine, vec![entry(1, vec![append(DOC, 1)])]);
        apply(
            &mut machine,
            vec![
                entry(2, vec![upload(DOC, "late", "late bytes")]),
                entry(3, vec![delete(DOC)]),
            ],
        );
        assert_eq!(file(&store, DOC, "late"), (None, false));

        // A file uploaded and forgotten in one batch is not kept either.
        apply(
            &mut machine,
            vec![
                entry(4, vec![append(DOC, 1), upload(DOC, "brief", "brief bytes")]),
                entry(
                    5,
                    vec![ReplicatedWrite::ForgetAsset {
                        document: DOC.into(),
                        id: "brief".into(),
                    }],
                ),
            ],
        );
        assert_eq!(file(&store, DOC, "brief"), (None, false));
    }

    #[test]
    fn a_replicated_file_whose_bytes_do_not_decode_is_not_recorded() {
        let directory = tempfile::tempdir().expect("a directory");
        let (store, mut machine) = machine(directory.path());
        let garbled = ReplicatedWrite::Asset {
            document: DOC.into(),
            id: "garbled".into(),
            meta: meta("x"),
            bytes: "not base64 at all!".into(),
        };
        apply(
            &mut machine,
            vec![entry(
                1,
                vec![append(DOC, 1), garbled, upload(DOC, "fine", "fine")],
            )],
        );
        assert_eq!(file(&store, DOC, "garbled"), (None, false));
        assert_eq!(file(&store, DOC, "fine"), (Some("fine".into()), true));
    }

    #[tokio::test]
    async fn a_snapshot_installed_brings_its_files_and_takes_away_the_replaced_ones() {
        let directory = tempfile::tempdir().expect("a directory");
        let (store, mut machine) = machine(directory.path());
        let (kept, gone) = ("files/kept", "files/gone");
        apply(
            &mut machine,
            vec![
                entry(1, vec![append(kept, 1), upload(kept, "before", "before")]),
                entry(2, vec![append(gone, 1), upload(gone, "only", "only")]),
            ],
        );

        machine
            .install_snapshot(&at_nine(), snapshot_of(kept, "after"))
            .await
            .expect("installed");

        assert_eq!(file(&store, kept, "after"), (Some("after".into()), true));
        assert_eq!(file(&store, kept, "before"), (None, false));
        assert_eq!(file(&store, gone, "only"), (None, false));
        assert_eq!(machine.state.index(), Some(9));
        // What a restart reads: the snapshot's position with its files attached.
        let (store, reopened) = {
            drop(machine);
            drop(store);
            let (store, machine) = super::tests::machine(directory.path());
            (store, machine)
        };
        assert_eq!(reopened.state.index(), Some(9));
        assert_eq!(file(&store, kept, "after"), (Some("after".into()), true));
    }

    #[tokio::test]
    async fn a_snapshot_whose_files_cannot_be_written_is_not_recorded_as_installed() {
        let directory = tempfile::tempdir().expect("a directory");
        let (store, mut machine) = machine(directory.path());
        let doc = "files/kept";
        apply(
            &mut machine,
            vec![entry(
                1,
                vec![append(doc, 1), upload(doc, "before", "before")],
            )],
        );
        // An id no file can be written under.
        let snapshot = snapshot_of(doc, "../elsewhere");
        assert!(
            machine
                .install_snapshot(&at_nine(), snapshot)
                .await
                .is_err()
        );
        drop(machine);
        drop(store);

        // After a restart the member is where it was, its document and file untouched, and
        // raft sends the snapshot again.
        let (store, reopened) = super::tests::machine(directory.path());
        assert_eq!(reopened.state.index(), Some(1));
        assert_eq!(file(&store, doc, "before"), (Some("before".into()), true));
    }
}
