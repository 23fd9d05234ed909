//! Live code upgrades: the node watches each space's source file; a change that compiles moves
//! every loaded document of the space to the new code, one that does not is reported and the
//! running version stays. In a cluster the change goes through every partition's log
//! (`cluster/deploy.rs`).

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::engine::Space;
use crate::node::{Node, SpaceSource};

/// How often the sources are read.
const POLL: Duration = Duration::from_millis(500);

pub(crate) async fn watch(node: Weak<Node>, sources: Vec<SpaceSource>) {
    let mut texts: Vec<String> = sources.iter().map(|source| source.text.clone()).collect();
    loop {
        tokio::time::sleep(POLL).await;
        let Some(node) = node.upgrade() else { return };
        for (source, known) in sources.iter().zip(texts.iter_mut()) {
            let Some(path) = &source.watch else { continue };
            let path = path.clone();
            let Ok(Ok(text)) =
                tokio::task::spawn_blocking(move || std::fs::read_to_string(path)).await
            else {
                continue;
            };
            if text == *known {
                continue;
            }
            *known = text.clone();
            if node.cluster.is_some() {
                // Each partition's log takes the new code; errors stay in the diagnostics.
                if let Err(error) = deploy_text(&node, &source.name, text).await {
                    tracing::warn!(space = source.name, %error, "the watched source is not deployed");
                }
                continue;
            }
            let (name, file) = (source.name.clone(), source.file.clone());
            let compiled = tokio::task::spawn_blocking(move || Space::compile(&name, &file, &text))
                .await
                .unwrap_or_else(|_| Err("the compiler stopped unexpectedly".to_owned()));
            node.deploy(&source.name, compiled).await;
        }
        drop(node);
    }
}

/// Why a deploy did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployError {
    /// The source does not compile (or names no space here): the rendered errors; nothing
    /// changed.
    Rejected(String),
    /// In a cluster, some partitions could not commit the new code in time; those that did
    /// run it.
    Unfinished(String),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::Rejected(errors) | DeployError::Unfinished(errors) => f.write_str(errors),
        }
    }
}

/// Compiles and deploys a space's new source now (what `adama deploy` asks of a node). In a
/// cluster the new code goes through every partition's log, so it reaches every node.
pub async fn deploy_text(node: &Arc<Node>, space: &str, text: String) -> Result<(), DeployError> {
    if node.space(space).is_none() {
        return Err(DeployError::Rejected(format!(
            "no space '{space}' on this node\nhint: the spaces are {:?}",
            node.space_names()
        )));
    }
    let (name, file, source) = (space.to_owned(), format!("{space}.a"), text.clone());
    let compiled = tokio::task::spawn_blocking(move || Space::compile(&name, &file, &source))
        .await
        .unwrap_or_else(|_| Err("the compiler stopped unexpectedly".to_owned()));
    let Some(cluster) = &node.cluster else {
        let errors = compiled.as_ref().err().cloned();
        node.deploy(space, compiled).await;
        return errors.map_or(Ok(()), |errors| Err(DeployError::Rejected(errors)));
    };
    if let Err(errors) = compiled {
        node.refuse_source(space, errors.clone());
        return Err(DeployError::Rejected(errors));
    }
    cluster
        .deploy(space, &text)
        .await
        .map_err(DeployError::Unfinished)
}
