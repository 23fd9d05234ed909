//! The cluster: documents spread over partitions, each partition one raft group (openraft)
//! whose members are some of the cluster's nodes. The partition's leader runs its documents
//! (the node's ordinary document tasks) and proposes their store writes; a write is durable,
//! and the request that made it acknowledged, once a majority of the members logged it. Every
//! member applies committed entries to its own document store, so any of them can take over.
//!
//! See `docs/cluster.md`.

pub mod applier;
mod balance;
pub mod code;
pub mod codec;
pub mod config;
mod deploy;
pub mod flusher;
pub mod hot;
pub mod http_proxy;
pub mod keys;
mod leader;
pub mod log_store;
pub mod log_view;
pub mod membership;
pub mod network;
mod proposer;
pub mod proxy;
pub mod roster;
pub mod rounds;
pub mod routes;
pub mod stats;
pub mod status;

pub mod state_machine;

pub mod types;
pub mod wal;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use openraft::async_runtime::WatchReceiver;
use openraft::{BasicNode, Raft, ReadPolicy, ServerState};

pub use config::{ClusterFile, partition_of};
pub use deploy::DeployBody;
use flusher::Flusher;
use log_store::LogStore;
use network::NetworkFactory;
use proposer::Proposer;
use state_machine::StateMachine;
use stats::ProposalStats;
use types::TypeConfig;

use crate::commit::Replicate;
use crate::lock;
use crate::store::redb::RedbStore;
use crate::store::{StoreError, Write};

/// How a node takes part in a cluster (`adama serve --node-id ID --cluster FILE`).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub node_id: u64,
    pub file: ClusterFile,
    /// The node joins a cluster that is running (`adama serve --join`): it starts no group of
    /// its own and waits for `adama cluster add` to make it a member.
    pub join: bool,
}

/// A partition's raft group on this node.
pub type PartitionRaft = Raft<TypeConfig, StateMachine>;

struct Group {
    raft: PartitionRaft,
    /// The partition's log, shared with the raft group: reads see the entries not yet durable.
    log: LogStore,
    proposer: Proposer,
    /// The term in which this node, as leader, last saw every committed entry applied to its
    /// store, so that documents it loads are current.
    ready_term: AtomicU64,
}

/// Where a request for a document goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This node leads the partition and its store is current: serve here.
    Local,
    /// Another node leads the partition (or, when this node is not a member, a member that
    /// will route it further).
    Remote { node: u64, address: SocketAddr },
}

enum Seen {
    Leading(u64),
    Other(u64),
    Closed,
}

/// This node's part of the cluster.
pub struct Cluster {
    pub node_id: u64,
    /// The cluster file the node was started with (its `partitions` never change).
    pub file: ClusterFile,
    /// The cluster's nodes now, with the file's partitions and replicas: the file's at the
    /// first start, then as nodes are added and removed (kept in the store, `roster.rs`).
    layout: std::sync::RwLock<ClusterFile>,
    database: Arc<redb::Database>,
    groups: HashMap<u32, Group>,
    flusher: Flusher,
    proposals: Arc<ProposalStats>,
    /// The code each partition's log deployed.
    pub code: Arc<code::CodeBook>,
    /// The viewers this node proxies, by document: what makes a document hot here.
    pub heat: Arc<hot::Heat>,
    /// The leaders of partitions this node is not a member of, as their members last said.
    outside_leaders: std::sync::Mutex<HashMap<u32, u64>>,
    /// What keeps a deploy between two rounds of each partition's documents.
    rounds: rounds::Rounds,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .field("partitions", &self.groups.len())
            .finish()
    }
}

/// How long a request waits for its partition to have a leader.
const LEADER_WAIT: Duration = Duration::from_secs(10);

fn raft_config() -> Result<Arc<openraft::Config>, String> {
    // Many groups share each node: heartbeats are sparser than openraft's defaults so that
    // their traffic stays small, and a leader's loss is still noticed within about a second.
    let config = openraft::Config {
        cluster_name: "adama".into(),
        heartbeat_interval: 250,
        // Under writes the appends' answers show the followers are there: no heartbeat then.
        heartbeat_min_interval: Some(250),
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        // A restarted leader stands for election like any node rather than resuming its term:
        // its log may lack entries it sent to the followers before its own append was flushed
        // (the flusher reports an append after the followers may have it), and resuming the
        // term would give different entries the same log id (term, index) on different members.
        enable_leader_restore: Some(false),
        ..Default::default()
    };
    config
        .validate()
        .map(Arc::new)
        .map_err(|error| format!("the raft configuration is not valid: {error}"))
}

impl Cluster {
    /// Starts the raft groups of every partition this node is a member of, in the store's
    /// database. The first member of a partition initializes its group on its first start.
    pub async fn start(
        config: ClusterConfig,
        store: Arc<RedbStore>,
        budgets: HashMap<String, crate::engine::MemoryBudget>,
    ) -> Result<Arc<Cluster>, String> {
        let ClusterConfig {
            node_id,
            file,
            join,
        } = config;
        if !file.nodes.contains_key(&node_id) {
            return Err(format!(
                "node {node_id} is not in the cluster file (its nodes are {:?})\nhint: give --node-id one of the file's `[[node]]` ids",
                file.nodes.keys().collect::<Vec<_>>()
            ));
        }
        let raft_config = raft_config()?;
        let code = Arc::new(code::CodeBook::new(file.partitions, budgets));
        let database = store.database();
        let stored = roster::load(&database)
            .map_err(|error| format!("cannot read the cluster's nodes from the store: {error}"))?;
        // The first start of a cluster starts its groups; later starts and a joining node find
        // their members in the groups' logs.
        let bootstrap = stored.is_none() && !join;
        let layout = match stored {
            Some(nodes) => file.with_nodes(nodes),
            None => file.clone(),
        };
        let mut groups = HashMap::new();
        let logs = open_logs(&store).await?;
        let flusher = Flusher::start(Arc::clone(&logs));
        let applier = Arc::new(applier::Applier::default());
        let proposals = Arc::new(ProposalStats::default());
        let node_slots = Proposer::node_slots();
        // A group for every partition: a node that is not a member of one yet may become one
        // when nodes are added or removed.
        for partition in 0..file.partitions {
            let log = LogStore::new(Arc::clone(&logs), partition, flusher.clone());
            let machine = StateMachine::open(Arc::clone(&store), partition, file.partitions)
                .map_err(|error| {
                    format!("cannot open the state of partition {partition}: {error}")
                })?
                .with_code(Arc::clone(&code))
                .with_applier(Arc::clone(&applier));
            // The code the partition's log deployed, as applied before this start.
            let deployed = machine.deployed_code().map_err(|error| {
                format!("cannot read the code of partition {partition}: {error}")
            })?;
            for (space, source) in &deployed {
                code.deployed(partition, space, source).await;
            }
            let raft = Raft::new(
                node_id,
                Arc::clone(&raft_config),
                NetworkFactory { partition },
                log.clone(),
                machine,
            )
            .await
            .map_err(|error| {
                format!("cannot start the raft group of partition {partition}: {error}")
            })?;
            let members = layout.members(partition);
            if bootstrap
                && members.first() == Some(&node_id)
                && !raft
                    .is_initialized()
                    .await
                    .map_err(|error| error.to_string())?
            {
                let nodes: BTreeMap<u64, BasicNode> = members
                    .iter()
                    .map(|id| (*id, BasicNode::new(layout.nodes[id].to_string())))
                    .collect();
                if let Err(error) = raft.initialize(nodes).await {
                    tracing::warn!(partition, %error, "cannot initialize the partition's group");
                }
            }
            let proposer = Proposer::start(
                partition,
                raft.clone(),
                Arc::clone(&proposals),
                Arc::clone(&node_slots),
            );
            groups.insert(
                partition,
                Group {
                    raft,
                    log,
                    proposer,
                    ready_term: AtomicU64::new(0),
                },
            );
        }
        if bootstrap {
            roster::save(&database, &layout.nodes)
                .map_err(|error| format!("cannot keep the cluster's nodes: {error}"))?;
        }
        tracing::info!(
            node_id,
            nodes = ?layout.nodes.keys().collect::<Vec<_>>(),
            "the cluster's groups are running"
        );
        place_groups(node_id, &groups, &layout);
        let heat = hot::Heat::new(Box::new(hot::HotPolicy {
            viewers: file.hot_viewers,
        }));
        Ok(Arc::new(Cluster {
            node_id,
            rounds: rounds::Rounds::new(file.partitions),
            file,
            layout: std::sync::RwLock::new(layout),
            database,
            groups,
            flusher,
            proposals,
            code,
            heat,
            outside_leaders: std::sync::Mutex::new(HashMap::new()),
        }))
    }

    /// The replication's counters in the Prometheus text format (for `/metrics`).
    pub fn render_metrics(&self) -> String {
        stats::render(&self.proposals, self.flusher.fsyncs())
    }

    pub fn partition_of(&self, document: &str) -> u32 {
        partition_of(document, self.file.partitions)
    }

    /// Waits until a round of `document` may run (not while a deploy of its partition is being
    /// proposed), and answers the code the round must run: the code the partition deployed
    /// last for `space`, when a deploy reached it. The round's writes are committed before the
    /// permit is dropped (see `rounds.rs`).
    pub async fn round(
        &self,
        document: &str,
        space: &str,
    ) -> (
        Option<rounds::RoundPermit>,
        Option<Arc<crate::engine::Space>>,
    ) {
        let partition = self.partition_of(document);
        let permit = self.rounds.round(partition).await;
        (permit, self.code.space(partition, space))
    }

    /// Whether this node leads the partition of `document` now.
    pub fn leads(&self, document: &str) -> bool {
        self.groups
            .get(&self.partition_of(document))
            .is_some_and(|group| group.raft.metrics().borrow_watched().state == ServerState::Leader)
    }

    /// Whether the cluster's placement puts this node in a partition (it holds the
    /// partition's log then, and never follows its documents from outside).
    pub fn is_member(&self, partition: u32) -> bool {
        self.layout().members(partition).contains(&self.node_id)
    }

    /// The raft group of a partition, when this node is a member.
    pub fn raft(&self, partition: u32) -> Option<&PartitionRaft> {
        self.groups.get(&partition).map(|group| &group.raft)
    }

    /// The cluster's nodes now, with the file's partitions and replicas.
    pub fn layout(&self) -> ClusterFile {
        self.layout
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_layout(&self, layout: ClusterFile) {
        place_groups(self.node_id, &self.groups, &layout);
        *self
            .layout
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = layout;
    }

    fn remote(&self, node: u64) -> Option<Route> {
        self.layout().nodes.get(&node).map(|address| Route::Remote {
            node,
            address: *address,
        })
    }

    /// Whether this node's group of a partition can say where the partition is led: it leads
    /// it, or it is placed in it and is a voter or hears from a leader. A node taken out of a
    /// partition may never learn of it (its group keeps the last members it saw), so it goes by
    /// the placement rather than by its group.
    fn takes_part(&self, partition: u32, group: &Group) -> bool {
        let metrics = group.raft.metrics();
        let metrics = metrics.borrow_watched();
        if metrics.state == ServerState::Leader {
            return true;
        }
        let placed = self.layout().members(partition).contains(&self.node_id);
        placed
            && (metrics.current_leader.is_some()
                || metrics
                    .membership_config
                    .membership()
                    .voter_ids()
                    .any(|id| id == self.node_id))
    }

    /// Where requests for `document` (`space/key`) go now. Waits (boundedly) while the
    /// partition elects a leader; on the leader, until its store holds every committed entry.
    pub async fn route(&self, document: &str) -> Result<Route, String> {
        self.route_partition(self.partition_of(document)).await
    }

    /// Where requests for a partition's documents go now (see [`Cluster::route`]).
    pub async fn route_partition(&self, partition: u32) -> Result<Route, String> {
        let Some(group) = self
            .groups
            .get(&partition)
            .filter(|group| self.takes_part(partition, group))
        else {
            return self.outside_route(partition, false).await;
        };
        let mut metrics = group.raft.metrics();
        let seen = tokio::time::timeout(LEADER_WAIT, async {
            loop {
                let (leader, state, term) = {
                    let now = metrics.borrow_watched();
                    (now.current_leader, now.state, now.current_term)
                };
                match leader {
                    Some(leader) if leader == self.node_id && state == ServerState::Leader => {
                        return Seen::Leading(term);
                    }
                    Some(leader) if leader != self.node_id => return Seen::Other(leader),
                    _ => {}
                }
                if metrics.changed().await.is_err() {
                    return Seen::Closed;
                }
            }
        })
        .await;
        match seen {
            Err(_) => Err(format!(
                "partition {partition} has had no leader for {} s",
                LEADER_WAIT.as_secs()
            )),
            Ok(Seen::Other(leader)) => self.remote(leader).ok_or_else(|| {
                format!("the leader of partition {partition} is not in the cluster file")
            }),
            Ok(Seen::Closed) => Err("the node is shutting down".into()),
            Ok(Seen::Leading(term)) => {
                if group.ready_term.load(Ordering::Acquire) != term {
                    group
                        .raft
                        .ensure_linearizable(ReadPolicy::ReadIndex)
                        .await
                        .map_err(|error| format!("partition {partition} is not ready: {error}"))?;
                    group.ready_term.store(term, Ordering::Release);
                }
                Ok(Route::Local)
            }
        }
    }

    /// Where a request for a partition this node is not a member of goes: the leader its
    /// members name (remembered until it cannot be reached), else any member that answers,
    /// which routes it further. Never only the first member, which may be the one that is down.
    /// `fresh` asks the members even when a leader is remembered.
    pub(crate) async fn outside_route(&self, partition: u32, fresh: bool) -> Result<Route, String> {
        if !fresh && let Some(leader) = lock(&self.outside_leaders).get(&partition).copied() {
            return self
                .remote(leader)
                .ok_or_else(|| format!("partition {partition} has no member"));
        }
        let deadline = tokio::time::Instant::now() + LEADER_WAIT;
        loop {
            let mut answering = None;
            let layout = self.layout();
            for member in layout.members(partition) {
                let Some(address) = layout.nodes.get(&member).filter(|_| member != self.node_id)
                else {
                    continue;
                };
                let answer = network::Peer::new(*address)
                    .get::<status::NodeStatus>("/~cluster/status", Duration::from_secs(2))
                    .await;
                let Ok(status) = answer else { continue };
                answering.get_or_insert(member);
                let leader = status
                    .partitions
                    .iter()
                    .find(|view| view.partition == partition)
                    .and_then(|view| view.leader)
                    .filter(|leader| layout.nodes.contains_key(leader));
                if let Some(leader) = leader {
                    lock(&self.outside_leaders).insert(partition, leader);
                    return self
                        .remote(leader)
                        .ok_or_else(|| format!("partition {partition} has no member"));
                }
            }
            if let Some(member) = answering
                && tokio::time::Instant::now() >= deadline
            {
                return self
                    .remote(member)
                    .ok_or_else(|| format!("partition {partition} has no member"));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "no member of partition {partition} answers (hint: are its nodes running?)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits (boundedly) until the partition of `document` names a leader other than `node`,
    /// one this node found unreachable.
    pub async fn leader_other_than(&self, document: &str, node: u64) {
        let partition = self.partition_of(document);
        let Some(group) = self
            .groups
            .get(&partition)
            .filter(|group| self.takes_part(partition, group))
        else {
            // Outside the partition: forget the leader, so that the members are asked again,
            // after a pause in which they may notice that it is gone.
            {
                let mut leaders = lock(&self.outside_leaders);
                if leaders.get(&partition) == Some(&node) {
                    leaders.remove(&partition);
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            return;
        };
        let mut metrics = group.raft.metrics();
        let _ = tokio::time::timeout(LEADER_WAIT, async {
            while metrics.borrow_watched().current_leader == Some(node) {
                if metrics.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
    }

    /// Releases a partition's loaded documents whenever this node stops leading it, so that
    /// no document stays in memory, with its viewers, on a node that can no longer commit it;
    /// and when it comes to lead one, takes over the timers of the partition's documents.
    pub fn watch_leadership(self: &Arc<Cluster>, node: std::sync::Weak<crate::node::Node>) {
        for (partition, group) in &self.groups {
            let partition = *partition;
            let mut metrics = group.raft.metrics();
            let node = node.clone();
            let partitions = self.file.partitions;
            let raft = group.raft.clone();
            tokio::spawn(async move {
                // The term this node last led the partition in.
                let mut leading: Option<u64> = None;
                loop {
                    let (now, last_index) = {
                        let metrics = metrics.borrow_watched();
                        (
                            (metrics.state == ServerState::Leader).then_some(metrics.current_term),
                            metrics.last_log_index,
                        )
                    };
                    // A watch shows the latest state only: leading in a new term means the
                    // node stopped leading in between, and the documents it loaded then may
                    // be behind what another leader committed since.
                    if leading.is_some() && now != leading {
                        let Some(node) = node.upgrade() else { return };
                        node.release_documents(|name| partition_of(name, partitions) == partition);
                    }
                    if let Some(term) = now
                        && now != leading
                    {
                        tokio::spawn(take_over_timers(
                            raft.clone(),
                            node.clone(),
                            (partition, partitions),
                            term,
                            last_index,
                        ));
                    }
                    leading = now;
                    if metrics.changed().await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// Keeps an uploaded file on every member of its document's partition, as an entry of the
    /// partition's log, before a record may attach it (the leader's own store included).
    pub async fn keep_file(
        &self,
        document: &str,
        id: &str,
        meta: &crate::store::AssetMeta,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        use base64::Engine as _;
        self.propose_for(
            document,
            types::ReplicatedWrite::Asset {
                document: document.to_owned(),
                id: id.to_owned(),
                meta: meta.clone(),
                bytes: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        )
        .await
    }

    /// Forgets an uploaded file on every member of its document's partition (one whose attach
    /// was refused), through the partition's log.
    pub async fn forget_file(&self, document: &str, id: &str) -> Result<(), StoreError> {
        self.propose_for(
            document,
            types::ReplicatedWrite::ForgetAsset {
                document: document.to_owned(),
                id: id.to_owned(),
            },
        )
        .await
    }

    /// Proposes one write to the log of `document`'s partition and waits until it is applied.
    async fn propose_for(
        &self,
        document: &str,
        write: types::ReplicatedWrite,
    ) -> Result<(), StoreError> {
        let partition = self.partition_of(document);
        let raft = self.raft(partition).ok_or_else(|| {
            StoreError::Io(format!(
                "node {} is not a member of partition {partition}",
                self.node_id
            ))
        })?;
        let proposal = types::Proposal {
            writes: vec![write],
        };
        match raft.client_write(proposal).await {
            Ok(response) => match response.data.refused {
                None => Ok(()),
                Some(reason) => Err(StoreError::Io(format!("partition {partition}: {reason}"))),
            },
            Err(error) => Err(StoreError::Io(format!("partition {partition}: {error}"))),
        }
    }

    /// Stops every group.
    pub async fn shutdown(&self) {
        for group in self.groups.values() {
            let _ = group.raft.shutdown().await;
        }
    }
}

/// A new leader of `partition` (of `partitions`), since `term`, keeps the timers of the
/// partition's unloaded documents, as the wake-up table holds them once this node applied every
/// entry its log had when it came to lead (`last_index`: a leader's log holds every committed
/// entry, so a timer the member that led before recorded is among them).
async fn take_over_timers(
    raft: PartitionRaft,
    node: std::sync::Weak<crate::node::Node>,
    (partition, partitions): (u32, u32),
    term: u64,
    last_index: Option<u64>,
) {
    loop {
        let applied = raft
            .wait(Some(LEADER_WAIT))
            .applied_index_at_least(last_index, "the log applied")
            .await;
        match applied {
            Ok(_) => break,
            // A slow apply (a loaded node) is waited for as long as this node leads in the
            // term it came to lead in; after that the next leader takes the timers over.
            Err(openraft::metrics::WaitError::Timeout(..)) => {
                let metrics = raft.metrics();
                let now = metrics.borrow_watched();
                if now.state != ServerState::Leader || now.current_term != term {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(
                    partition,
                    %error,
                    "cannot take over the partition's timers; its documents run them when they next load"
                );
                return;
            }
        }
    }
    let Some(node) = node.upgrade() else { return };
    node.reload_wakes(|name| partition_of(name, partitions) == partition)
        .await;
}

/// The raft logs' segment files ([`log_store::open_logs`]), opened off the runtime's threads.
async fn open_logs(store: &Arc<RedbStore>) -> Result<Arc<wal::Wal>, String> {
    let data = store.directory().to_owned();
    let documents = store.database();
    tokio::task::spawn_blocking(move || log_store::open_logs(&data, &documents).map(Arc::new))
        .await
        .map_err(|_| "opening the raft logs stopped unexpectedly".to_owned())?
}

/// Only the groups of the partitions the placement gives this node stand for election: a node
/// taken out of a partition may not learn it (its group keeps the members it last saw), and
/// its elections would only disturb the partition's members.
fn place_groups(node_id: u64, groups: &HashMap<u32, Group>, layout: &ClusterFile) {
    for (partition, group) in groups {
        group
            .raft
            .runtime_config()
            .elect(layout.members(*partition).contains(&node_id));
    }
}

impl Replicate for Cluster {
    fn replicate(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut by_partition: BTreeMap<u32, Vec<Write>> = BTreeMap::new();
        for write in writes {
            by_partition
                .entry(self.partition_of(write.document()))
                .or_default()
                .push(write);
        }
        let mut waits = Vec::new();
        for (partition, writes) in by_partition {
            match self.groups.get(&partition) {
                Some(group) => waits.push(group.proposer.propose(writes)),
                None => {
                    return Box::pin(async move {
                        Err(StoreError::Io(format!(
                            "this node is not a member of partition {partition}"
                        )))
                    });
                }
            }
        }
        Box::pin(async move {
            for wait in waits {
                wait.await?;
            }
            Ok(())
        })
    }
}
