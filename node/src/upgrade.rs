//! Live code upgrades: the node watches each space's source file; a change that compiles moves
//! every loaded document of the space to the new code, one that does not is reported and the
//! running version stays.

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
            let (name, file) = (source.name.clone(), source.file.clone());
            let compiled = tokio::task::spawn_blocking(move || Space::compile(&name, &file, &text))
                .await
                .unwrap_or_else(|_| Err("the compiler stopped unexpectedly".to_owned()));
            node.deploy(&source.name, compiled).await;
        }
        drop(node);
    }
}

/// Compiles and deploys a space's new source now (what `adama deploy` asks of a node).
pub async fn deploy_text(node: &Arc<Node>, space: &str, text: String) -> Result<(), String> {
    if node.space(space).is_none() {
        return Err(format!("no space '{space}' on this node"));
    }
    let (name, file) = (space.to_owned(), format!("{space}.a"));
    let compiled = tokio::task::spawn_blocking(move || Space::compile(&name, &file, &text))
        .await
        .unwrap_or_else(|_| Err("the compiler stopped unexpectedly".to_owned()));
    let errors = compiled.as_ref().err().cloned();
    node.deploy(space, compiled).await;
    errors.map_or(Ok(()), Err)
}
