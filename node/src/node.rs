//! The node: its spaces, the registry of loaded documents, and how requests reach them.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use crate::commit::Committer;
use crate::document::{DocumentTask, Failure, Reply, Request};
use crate::engine::{MemoryBudget, Space};
use crate::metrics::Metrics;
use crate::protocol::codes;
use crate::store::Store;
use crate::store::redb::RedbStore;

/// A space to serve: its name and source.
#[derive(Debug, Clone)]
pub struct SpaceSource {
    pub name: String,
    /// The file name used in diagnostics.
    pub file: String,
    pub text: String,
    /// The file to watch: when its text changes, the space is recompiled and its documents move
    /// to the new code.
    pub watch: Option<PathBuf>,
    /// What each document of the space may allocate and hold (`--transaction-bytes`,
    /// `--document-bytes`, or the space's entry in `local.verse.json`).
    pub budget: MemoryBudget,
}

/// How the node runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// Accept the devbox identity forms (unsigned `document/…` identities and `@no_one` for
    /// anything else).
    pub dev: bool,
    /// How long a document without views or timers stays loaded.
    pub idle_unload: Duration,
    pub spaces: Vec<SpaceSource>,
    /// The document `*-via-domain` requests and `/~d/` reach.
    pub domain: Option<(String, String)>,
    /// Public keys that sign ES256 identities (`--keys`).
    pub keys: Vec<crate::identity::TrustedKey>,
    /// How long the identities the node's documents issue stay valid (`--token-lifetime`).
    pub token_lifetime: Duration,
    /// The largest uploaded file, in bytes (`--max-upload`); the files of one form together.
    pub max_upload: u64,
    /// The largest request frame, in bytes.
    pub max_frame: usize,
    /// The frames a socket may have queued before it counts as not reading and is closed.
    pub max_queued_frames: usize,
    /// Serve the example pages of `clients/js/demo` at `/` (set when serving the built-in examples).
    pub demo_pages: bool,
    /// The primary whose documents this node serves as live read replicas (`--replica-of`).
    pub replica_of: Option<String>,
    /// The secret replicas present to follow this node's documents, and this node presents to
    /// its primary (`--replica-secret`); without one, only peers on this machine may follow.
    pub replica_secret: Option<String>,
    /// The cluster this node is a member of (`--node-id`, `--cluster`); `None` for a node alone.
    pub cluster: Option<crate::cluster::ClusterConfig>,
}

impl Config {
    pub fn new(listen: SocketAddr, data: PathBuf, spaces: Vec<SpaceSource>) -> Config {
        Config {
            listen,
            data,
            dev: listen.ip().is_loopback(),
            idle_unload: Duration::from_secs(30),
            spaces,
            domain: None,
            keys: Vec::new(),
            token_lifetime: crate::signing::DEFAULT_TOKEN_LIFETIME,
            max_upload: crate::attachments::DEFAULT_MAX_UPLOAD,
            max_frame: 4 * 1024 * 1024,
            max_queued_frames: 8192,
            demo_pages: false,
            replica_of: None,
            replica_secret: None,
            cluster: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DocumentHandle {
    pub(crate) requests: mpsc::Sender<Request>,
    generation: u64,
}

/// A running node's shared state.
#[derive(Debug)]
pub struct Node {
    pub config: Config,
    spaces: std::sync::RwLock<HashMap<String, Arc<Space>>>,
    /// The errors of the latest source of a space that did not compile (the previous version
    /// keeps running).
    diagnostics: Mutex<HashMap<String, String>>,
    documents: Mutex<HashMap<Arc<str>, DocumentHandle>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) committer: Committer,
    /// This node's part of the cluster, when it is a member of one.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Sign the identities the node's documents issue, and verify them.
    pub keys: crate::signing::NodeKeys,
    pub metrics: Arc<Metrics>,
    generations: AtomicU64,
    tokens: AtomicU64,
    /// The wake-up table in memory: (epoch ms, document) of unloaded documents with a timer.
    wakes: Mutex<BTreeSet<(i64, Arc<str>)>>,
    wake_changed: Arc<Notify>,
    /// Read replicas: the host when this node follows a primary, and this node's followers.
    pub replication: crate::replica::Replication,
    /// The clock of every socket's pings.
    pub(crate) heartbeat: Arc<crate::heartbeat::Heartbeat>,
}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Node {
    /// Compiles the spaces and opens the store; must run inside a tokio runtime.
    pub async fn open(config: Config) -> Result<Arc<Node>, String> {
        let sources = config.spaces.clone();
        let spaces = tokio::task::spawn_blocking(move || {
            let mut spaces = HashMap::new();
            for source in sources {
                let space =
                    Space::compile(&source.name, &source.file, &source.text).map_err(|errors| {
                        format!("space '{}' does not compile:\n{errors}", source.name)
                    })?;
                spaces.insert(
                    source.name.clone(),
                    Arc::new(space.with_budget(source.budget)),
                );
            }
            Ok::<_, String>(spaces)
        })
        .await
        .map_err(|_| "compiling the spaces stopped unexpectedly".to_owned())??;
        let data = config.data.clone();
        let store = tokio::task::spawn_blocking(move || {
            let cleared = crate::staged_upload::clear_leftovers(&data);
            if cleared > 0 {
                tracing::info!(cleared, "deleted what unfinished uploads left behind");
            }
            RedbStore::open(&data)
        })
        .await
        .map_err(|_| "opening the store stopped unexpectedly".to_owned())?
        .map_err(|error| error.to_string())?;
        let redb = Arc::new(store);
        let cluster = match config.cluster.clone() {
            Some(cluster) => {
                let budgets = config
                    .spaces
                    .iter()
                    .map(|source| (source.name.clone(), source.budget))
                    .collect();
                Some(crate::cluster::Cluster::start(cluster, Arc::clone(&redb), budgets).await?)
            }
            None => None,
        };
        let store: Arc<dyn Store> = redb;
        let key_dir = config.data.clone();
        let lifetime = config.token_lifetime;
        let keys =
            tokio::task::spawn_blocking(move || crate::signing::NodeKeys::open(&key_dir, lifetime))
                .await
                .map_err(|_| "reading the node keys stopped unexpectedly".to_owned())??;
        let metrics = Arc::new(Metrics::default());
        let mut committer = Committer::start(&store, Arc::clone(&metrics));
        if let Some(cluster) = &cluster {
            committer =
                committer.replicated(Arc::clone(cluster) as Arc<dyn crate::commit::Replicate>);
        }
        let wakes = read_wakes(&store)
            .await?
            .into_iter()
            .map(|(name, at)| (at, Arc::from(name)))
            .collect();
        let watched: Vec<SpaceSource> = config
            .spaces
            .iter()
            .filter(|source| source.watch.is_some())
            .cloned()
            .collect();
        let config_replica = (config.replica_of.clone(), config.replica_secret.clone());
        // A cluster node follows the hot documents of partitions it is not a member of.
        let host = crate::replica::Host::for_config(&config_replica).or_else(|| {
            cluster.as_ref().map(|cluster| {
                crate::replica::Host::for_cluster(Arc::new(crate::cluster::hot::LeaderOf(
                    Arc::clone(cluster),
                )))
            })
        });
        let node = Arc::new(Node {
            config,
            spaces: std::sync::RwLock::new(spaces),
            diagnostics: Mutex::new(HashMap::new()),
            documents: Mutex::new(HashMap::new()),
            store,
            committer,
            cluster,
            keys,
            metrics,
            generations: AtomicU64::new(1),
            tokens: AtomicU64::new(1),
            wakes: Mutex::new(wakes),
            wake_changed: Arc::new(Notify::new()),
            replication: crate::replica::Replication {
                host,
                ..Default::default()
            },
            heartbeat: crate::heartbeat::Heartbeat::start(crate::socket::READ_IDLE),
        });
        tokio::spawn(wake_documents(Arc::downgrade(&node)));
        tokio::spawn(crate::signing::watch(Arc::downgrade(&node)));
        if let Some(cluster) = &node.cluster {
            cluster.watch_leadership(Arc::downgrade(&node));
            cluster.balance_leadership();
            tokio::spawn(crate::cluster::keys::share(Arc::downgrade(&node)));
            cluster.code.attach(Arc::downgrade(&node));
        }
        if !watched.is_empty() {
            tokio::spawn(crate::upgrade::watch(Arc::downgrade(&node), watched));
        }
        Ok(node)
    }

    /// Records that an unloaded document must be loaded at `at` (epoch ms).
    pub(crate) fn schedule_wake(&self, at: i64, name: Arc<str>) {
        crate::lock(&self.wakes).insert((at, name));
        self.wake_changed.notify_one();
    }

    /// How this node resolves identities.
    pub fn identity_rules(&self) -> crate::identity::Rules<'_> {
        crate::identity::Rules {
            dev: self.config.dev,
            keys: &self.config.keys,
            own: Some(&self.keys),
        }
    }

    /// The identity the document `space`/`key` issues to `agent` (a login, `sign(agent)`).
    pub fn issue_identity(&self, space: &str, key: &str, agent: &str) -> String {
        self.keys.issue(space, key, agent)
    }

    pub fn space(&self, name: &str) -> Option<Arc<Space>> {
        self.spaces
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    pub fn space_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .spaces
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// The errors of a space's latest source, when it did not compile.
    pub fn diagnostics(&self, space: &str) -> Option<String> {
        crate::lock(&self.diagnostics).get(space).cloned()
    }

    /// Records the outcome of compiling a space's new source: the errors, or the new space,
    /// which every loaded document of the space moves to.
    pub(crate) async fn deploy(self: &Arc<Node>, name: &str, compiled: Result<Space, String>) {
        let space = match compiled {
            Err(errors) => {
                self.refuse_source(name, errors);
                return;
            }
            Ok(space) => {
                // New code keeps the memory budget the space was given.
                let budget = self.space(name).map(|old| old.budget).unwrap_or_default();
                Arc::new(space.with_budget(budget))
            }
        };
        self.set_space(Arc::clone(&space));
        let prefix = format!("{name}/");
        self.move_documents(&space, |document| document.starts_with(&prefix))
            .await;
    }

    /// Makes `space` the code that the space's new documents load with.
    pub(crate) fn set_space(&self, space: Arc<Space>) {
        crate::lock(&self.diagnostics).remove(&space.name);
        self.spaces
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(space.name.clone(), space);
    }

    /// Records the errors of a space's latest source; the running version stays.
    pub(crate) fn refuse_source(&self, space: &str, errors: String) {
        tracing::error!(space, %errors, "the new source does not compile; the running version stays");
        crate::lock(&self.diagnostics).insert(space.to_owned(), errors);
    }

    /// Moves the loaded documents that `belongs` picks to new code.
    pub(crate) async fn move_documents(&self, space: &Arc<Space>, belongs: impl Fn(&str) -> bool) {
        let handles: Vec<DocumentHandle> = crate::lock(&self.documents)
            .iter()
            .filter(|(document, _)| belongs(document))
            .map(|(_, handle)| handle.clone())
            .collect();
        tracing::info!(
            space = space.name,
            documents = handles.len(),
            "deploying new code"
        );
        for handle in handles {
            let _ = handle
                .requests
                .send(Request::Upgrade {
                    space: Arc::clone(space),
                })
                .await;
        }
    }

    /// Reads the store's wake-up table again for the documents that `belongs` picks (those of
    /// a cluster partition this node has just come to lead: their timers were recorded by the
    /// member that led it before) and keeps their timers.
    pub async fn reload_wakes(&self, belongs: impl Fn(&str) -> bool) {
        match read_wakes(&self.store).await {
            Ok(table) => {
                for (name, at) in table {
                    if belongs(&name) {
                        self.schedule_wake(at, Arc::from(name));
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read the wake-up table"),
        }
    }

    /// Releases the loaded documents that `belongs` picks (those of a cluster partition that
    /// another node leads now).
    pub fn release_documents(&self, belongs: impl Fn(&str) -> bool) {
        let handles: Vec<DocumentHandle> = crate::lock(&self.documents)
            .iter()
            .filter(|(name, _)| belongs(name))
            .map(|(_, handle)| handle.clone())
            .collect();
        for handle in handles {
            let _ = handle.requests.try_send(Request::Release);
        }
    }

    /// Stops the node's raft groups, then makes what they applied durable: a member applies
    /// committed entries without an fsync of its own (the entries are durable in its log), so a
    /// stop that skipped this would leave the last of them to be applied again at the next
    /// start.
    pub async fn shutdown(&self) {
        if let Some(cluster) = &self.cluster {
            cluster.shutdown().await;
        }
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || store.commit(&[])).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the last commit before stopping failed"),
            Err(_) => tracing::warn!("the last commit before stopping stopped unexpectedly"),
        }
    }

    /// A fresh name for a view.
    pub(crate) fn token(&self) -> u64 {
        self.tokens.fetch_add(1, Ordering::Relaxed)
    }

    /// The task of a document, started (and loading) if it is not running.
    pub(crate) fn document(self: &Arc<Node>, space: &Arc<Space>, key: &str) -> DocumentHandle {
        let name: Arc<str> = Arc::from(format!("{}/{}", space.name, key));
        // In a cluster a document runs the code its partition's log deployed last.
        let deployed = self
            .cluster
            .as_ref()
            .and_then(|cluster| cluster.code.space(cluster.partition_of(&name), &space.name));
        let space = deployed.as_ref().unwrap_or(space);
        let mut documents = crate::lock(&self.documents);
        if let Some(handle) = documents.get(&name)
            && !handle.requests.is_closed()
        {
            return handle.clone();
        }
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let requests = DocumentTask::spawn(
            Arc::clone(self),
            Arc::clone(space),
            key.to_owned(),
            generation,
        );
        let handle = DocumentHandle {
            requests,
            generation,
        };
        documents.insert(name, handle.clone());
        handle
    }

    /// Drops a stopped task from the registry (unless a newer one took its place).
    pub(crate) fn forget(&self, name: &str, generation: u64) {
        let mut documents = crate::lock(&self.documents);
        if documents
            .get(name)
            .is_some_and(|handle| handle.generation == generation)
        {
            documents.remove(name);
        }
    }

    /// Asks a document something. A request that reached a task as it unloaded (or after a
    /// delete in the same round) was not run, so it is asked again of a fresh task, after a
    /// pause that grows, so that a document deleted and created again by other requests in
    /// quick succession does not use up the tries while its old task closes.
    pub(crate) async fn ask<T>(
        self: &Arc<Node>,
        space: &Arc<Space>,
        key: &str,
        make: impl Fn(Reply<T>) -> Request,
    ) -> Result<(DocumentHandle, T), Failure> {
        for attempt in 0..ASK_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(attempt.min(20))).await;
            }
            let handle = self.document(space, key);
            let (reply, answer) = Reply::channel();
            if handle.requests.send(make(reply)).await.is_err() {
                continue;
            }
            match answer.await {
                Ok(result) => return result.map(|value| (handle, value)),
                Err(_) => continue,
            }
        }
        Err(Failure::new(
            codes::CATASTROPHIC,
            "the document keeps closing",
        ))
    }
}

/// The store's wake-up table, read off the runtime's threads.
async fn read_wakes(store: &Arc<dyn Store>) -> Result<Vec<(String, i64)>, String> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || store.wakes())
        .await
        .map_err(|_| "reading the wake-up table stopped unexpectedly".to_owned())?
        .map_err(|error| error.to_string())
}

/// How often [`Node::ask`] tries a document before it gives up (about a second of pauses in
/// all: a closing task takes a commit's time to go).
const ASK_TRIES: u64 = 64;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// Loads unloaded documents when their timer is due; the loaded document runs its invalidation
/// from its own timer. The entry leaves the table once the document is loaded.
async fn wake_documents(node: std::sync::Weak<Node>) {
    loop {
        let Some(strong) = node.upgrade() else { return };
        let earliest = crate::lock(&strong.wakes).first().map(|(at, _)| *at);
        let delay = earliest.map_or(Duration::from_secs(3600), |at| {
            Duration::from_millis((at - now_ms()).max(0) as u64)
        });
        let changed = Arc::clone(&strong.wake_changed);
        let due: Vec<Arc<str>> = {
            let mut wakes = crate::lock(&strong.wakes);
            let now = now_ms();
            let mut due = Vec::new();
            while let Some((at, name)) = wakes.first().cloned() {
                if at > now {
                    break;
                }
                wakes.pop_first();
                due.push(name);
            }
            due
        };
        for name in due {
            let Some((space, key)) = name.split_once('/') else {
                continue;
            };
            let Some(space) = strong.space(space) else {
                continue;
            };
            // In a cluster the partition's leader runs the document's timers.
            if let Some(cluster) = &strong.cluster
                && !cluster.leads(&name)
            {
                continue;
            }
            tracing::debug!(document = %name, "waking a document for its timer");
            // The loaded document records its timer as it stands (a later one, or none) in
            // the wake-up table itself.
            strong.document(&space, key);
        }
        drop(strong);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = changed.notified() => {}
        }
    }
}
