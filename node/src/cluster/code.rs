//! The code each partition's documents run. A deploy is an entry of each partition's log
//! (`ReplicatedWrite::Deploy`): every member applies it at the same point of the log, keeps the
//! source beside the partition's documents (so a restarted or a newly caught-up member comes
//! back on it, and snapshots carry it), and from then on loads the partition's documents with
//! it. On the leader, the partition's loaded documents move to it as a live upgrade does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use sha2::{Digest, Sha256};

use super::partition_of;
use crate::engine::{MemoryBudget, Space};
use crate::lock;
use crate::node::Node;

/// A short, stable name of a source: the first 16 hex digits of its SHA-256.
pub fn source_hash(source: &str) -> String {
    Sha256::digest(source.as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The deployed code of every partition on this node.
#[derive(Debug, Default)]
pub struct CodeBook {
    /// (partition, space) → the space as the partition's log last deployed it.
    deployed: Mutex<HashMap<(u32, String), Arc<Space>>>,
    /// (space, source hash) → its compilation, so a source deployed to many partitions is
    /// compiled once per node.
    compiled: Mutex<HashMap<(String, String), Arc<Space>>>,
    /// What each space's documents may hold (the node's `--space` budgets).
    budgets: HashMap<String, MemoryBudget>,
    /// The node whose loaded documents move to new code; set once the node is running.
    node: OnceLock<Weak<Node>>,
    partitions: u32,
}

impl CodeBook {
    pub fn new(partitions: u32, budgets: HashMap<String, MemoryBudget>) -> CodeBook {
        CodeBook {
            partitions,
            budgets,
            ..CodeBook::default()
        }
    }

    pub(crate) fn attach(&self, node: Weak<Node>) {
        let _ = self.node.set(node);
    }

    /// The code a document of `space` runs in `partition`, when a deploy reached the partition.
    pub fn space(&self, partition: u32, space: &str) -> Option<Arc<Space>> {
        lock(&self.deployed)
            .get(&(partition, space.to_owned()))
            .cloned()
    }

    /// The hash of each space's deployed source in `partition`.
    pub fn hashes(&self, partition: u32) -> Vec<(String, String)> {
        let mut hashes: Vec<(String, String)> = lock(&self.deployed)
            .iter()
            .filter(|((at, _), _)| *at == partition)
            .map(|((_, space), code)| (space.clone(), source_hash(&code.source)))
            .collect();
        hashes.sort();
        hashes
    }

    /// Compiles a source once per node.
    async fn compile(&self, space: &str, source: &str) -> Result<Arc<Space>, String> {
        let key = (space.to_owned(), source_hash(source));
        if let Some(code) = lock(&self.compiled).get(&key) {
            return Ok(Arc::clone(code));
        }
        let (name, file, text) = (space.to_owned(), format!("{space}.a"), source.to_owned());
        let compiled = tokio::task::spawn_blocking(move || Space::compile(&name, &file, &text))
            .await
            .unwrap_or_else(|_| Err("the compiler stopped unexpectedly".to_owned()))?;
        let budget = self.budgets.get(space).copied().unwrap_or_default();
        let code = Arc::new(compiled.with_budget(budget));
        lock(&self.compiled).insert(key, Arc::clone(&code));
        Ok(code)
    }

    /// A deploy applied in `partition` (or found in its store at start, or in a snapshot): the
    /// partition's documents of `space` run `source` from now on, and those loaded here move
    /// to it. The same source applied again changes nothing.
    pub async fn deployed(&self, partition: u32, space: &str, source: &str) {
        let key = (partition, space.to_owned());
        if lock(&self.deployed)
            .get(&key)
            .is_some_and(|code| *code.source == *source)
        {
            return;
        }
        let code = match self.compile(space, source).await {
            Ok(code) => code,
            Err(errors) => {
                // Every member runs the same compiler, so this is a node whose build differs
                // from the leader's: it keeps the code it has and says why.
                tracing::error!(partition, space, %errors, "deployed code does not compile on this node; the partition keeps its code here");
                return;
            }
        };
        lock(&self.deployed).insert(key, Arc::clone(&code));
        let Some(node) = self.node.get().and_then(Weak::upgrade) else {
            return;
        };
        let partitions = self.partitions;
        let prefix = format!("{space}/");
        node.set_space(Arc::clone(&code));
        // Sent from a task of its own: a document waiting for an entry this apply precedes
        // must not hold the apply up.
        tokio::spawn(async move {
            node.move_documents(&code, |name| {
                name.starts_with(&prefix) && partition_of(name, partitions) == partition
            })
            .await;
        });
    }
}
