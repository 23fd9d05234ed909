//! The routes other members call, on the node's own address: `POST /~cluster/<partition>/append`,
//! `/vote`, `/snapshot` and `/transfer` (openraft's messages in the cluster's [`codec`], answered in the
//! encoding they came in), `/deploy` (new code for the partition), `GET /~cluster/status`, and
//! `GET /~cluster/document?space=S&key=K`, this node's stored copy of a document (which is how
//! members are compared), `GET /~cluster/log?partition=P&from=I`, its raft log, and
//! `GET /~cluster/keys`, the public keys its documents' identities verify with. Only the addresses of the cluster file's nodes may call them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec;
use super::network::SnapshotRequest;
use super::{Cluster, PartitionRaft};
use crate::node::Node;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/~cluster/status", get(status))
        .route("/~cluster/document", get(document))
        .route("/~cluster/log", get(log))
        .route("/~cluster/keys", get(keys))
        .route("/~cluster/{partition}/append", post(append))
        .route("/~cluster/{partition}/vote", post(vote))
        .route("/~cluster/{partition}/snapshot", post(snapshot))
        .route("/~cluster/{partition}/transfer", post(transfer))
        .route("/~cluster/{partition}/deploy", post(deploy))
        .route("/~cluster/{partition}/members", post(members))
        .route("/~cluster/admin/add", post(add_node))
        .route("/~cluster/admin/remove", post(remove_node))
        .route("/~cluster/admin/nodes", post(take_nodes))
}

/// Why a call was not taken: a status and words for the caller.
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

fn refuse(status: StatusCode, message: String) -> Refusal {
    Refusal(status, message)
}

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => refuse(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// The answer to a member's message, in the encoding the message came in.
fn answer<T: Serialize>(request: &Bytes, value: &T) -> Response {
    if !codec::is_encoded(request) {
        return json(value);
    }
    match codec::encode(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, codec::CONTENT_TYPE)], bytes).into_response(),
        Err(error) => refuse(StatusCode::INTERNAL_SERVER_ERROR, error).into_response(),
    }
}

/// The cluster, when the caller is one of its nodes.
fn peer_cluster(node: &Node, from: SocketAddr) -> Result<&Arc<Cluster>, Refusal> {
    let Some(cluster) = &node.cluster else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "this node is not a member of a cluster".into(),
        ));
    };
    let known = cluster
        .layout()
        .nodes
        .values()
        .chain(cluster.file.nodes.values())
        .any(|address| address.ip() == from.ip());
    if !known {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            format!("{} is not the address of a node of the cluster", from.ip()),
        ));
    }
    Ok(cluster)
}

fn group(cluster: &Cluster, partition: u32) -> Result<&PartitionRaft, Refusal> {
    cluster.raft(partition).ok_or_else(|| {
        refuse(
            StatusCode::NOT_FOUND,
            format!(
                "node {} is not a member of partition {partition}",
                cluster.node_id
            ),
        )
    })
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    codec::decode(body).map_err(|error| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body is not the expected message: {error}"),
        )
    })
}

/// openraft's messages share one shape: a cluster peer's message for one of this node's groups,
/// decoded, handed to the group, and answered in the encoding it came in.
async fn raft_call<B, T, Fut>(
    node: &Node,
    from: SocketAddr,
    partition: u32,
    body: &Bytes,
    run: impl FnOnce(PartitionRaft, B) -> Fut,
) -> Response
where
    B: DeserializeOwned,
    T: Serialize,
    Fut: std::future::Future<Output = T>,
{
    let raft = match peer_cluster(node, from).and_then(|cluster| group(cluster, partition)) {
        Ok(raft) => raft.clone(),
        Err(refusal) => return refusal.into_response(),
    };
    match parse(body) {
        Ok(request) => answer(body, &run(raft, request).await),
        Err(refusal) => refusal.into_response(),
    }
}

async fn append(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(partition): Path<u32>,
    body: Bytes,
) -> Response {
    raft_call(&node, from, partition, &body, |raft, request| async move {
        let started = std::time::Instant::now();
        let appended = raft.append_entries(request).await;
        tracing::debug!(
            partition,
            elapsed_us = started.elapsed().as_micros() as u64,
            "an append is taken"
        );
        appended
    })
    .await
}

async fn vote(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(partition): Path<u32>,
    body: Bytes,
) -> Response {
    raft_call(&node, from, partition, &body, |raft, request| async move {
        raft.vote(request).await
    })
    .await
}

async fn snapshot(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(partition): Path<u32>,
    body: Bytes,
) -> Response {
    raft_call(
        &node,
        from,
        partition,
        &body,
        |raft, request: SnapshotRequest| async move {
            let snapshot = openraft::Snapshot {
                meta: request.meta,
                snapshot: request.data,
            };
            raft.install_full_snapshot(request.vote, snapshot).await
        },
    )
    .await
}

/// A leader hands the partition over to the member its placement prefers.
async fn transfer(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(partition): Path<u32>,
    body: Bytes,
) -> Response {
    raft_call(&node, from, partition, &body, |raft, request| async move {
        raft.handle_transfer_leader(request)
            .await
            .map_err(openraft::errors::RaftError::<super::types::TypeConfig>::Fatal)
    })
    .await
}

/// The admin calls between nodes share one shape: a cluster peer's request, parsed, run, and
/// its result answered as JSON.
async fn peer_call<B, T, Fut>(
    node: &Node,
    from: SocketAddr,
    body: &Bytes,
    run: impl FnOnce(Arc<Cluster>, B) -> Fut,
) -> Response
where
    B: DeserializeOwned,
    T: Serialize,
    Fut: std::future::Future<Output = T>,
{
    let cluster = match peer_cluster(node, from) {
        Ok(cluster) => Arc::clone(cluster),
        Err(refusal) => return refusal.into_response(),
    };
    match parse(body) {
        Ok(request) => json(&run(cluster, request).await),
        Err(refusal) => refusal.into_response(),
    }
}

/// New code for a partition, from the member a deploy reached: proposed here when this node
/// leads the partition, else passed on to its leader.
async fn deploy(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(partition): Path<u32>,
    body: Bytes,
) -> Response {
    peer_call(
        &node,
        from,
        &body,
        |cluster, request: super::DeployBody| async move {
            cluster.deploy_forwarded(partition, &request).await
        },
    )
    .await
}

/// New members for a partition, from the node that coordinates an addition or a removal.
async fn members(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(partition): Path<u32>,
    body: Bytes,
) -> Response {
    peer_call(
        &node,
        from,
        &body,
        |cluster, request: super::membership::Nodes| async move {
            cluster.members_forwarded(partition, &request).await
        },
    )
    .await
}

/// `adama cluster add`: this node coordinates the addition.
async fn add_node(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    peer_call(&node, from, &body, |cluster, request: super::membership::AddNode| async move {
        cluster.add_node(&request).await
    })
    .await
}

/// `adama cluster remove`: this node coordinates the removal.
async fn remove_node(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    peer_call(
        &node,
        from,
        &body,
        |cluster, request: super::membership::RemoveNode| async move {
            cluster.remove_node(&request).await
        },
    )
    .await
}

/// The cluster's nodes after an addition or a removal, from the node that coordinated it.
async fn take_nodes(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    peer_call(&node, from, &body, |cluster, request: super::membership::Nodes| async move {
        cluster.take_nodes(request.nodes)
    })
    .await
}

async fn status(State(node): State<Arc<Node>>) -> Response {
    match &node.cluster {
        Some(cluster) => json(&cluster.status()),
        None => refuse(
            StatusCode::NOT_FOUND,
            "this node is not a member of a cluster".into(),
        )
        .into_response(),
    }
}

/// This node's stored copy of a document: the partition's last applied raft index on this node,
/// the document's last log index and the stored document (its snapshot with every later redo).
/// Any member answers from its own store, leader or not, so copies can be compared byte for byte.
async fn document(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let cluster = peer_cluster(&node, from)?;
        let (Some(space), Some(key)) = (query.get("space"), query.get("key")) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "name the document: /~cluster/document?space=SPACE&key=KEY".into(),
            ));
        };
        let name = format!("{space}/{key}");
        let partition = cluster.partition_of(&name);
        let raft = group(cluster, partition)?;
        let applied = {
            use openraft::async_runtime::WatchReceiver;
            raft.metrics()
                .borrow_watched()
                .last_applied
                .as_ref()
                .map(|log_id| log_id.index)
        };
        let store = Arc::clone(&node.store);
        let stored = tokio::task::spawn_blocking(move || store.load(&name))
            .await
            .map_err(|error| refuse(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?
            .map_err(|error| refuse(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
        let Some(stored) = stored else {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                format!("node {} holds no document '{space}/{key}'", cluster.node_id),
            ));
        };
        Ok(json(&serde_json::json!({
            "partition": partition,
            "applied": applied,
            "index": stored.last_index(),
            "document": stored.fold(),
        })))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// This node's raft log of a partition, from `from` on: `{"entries": [{"index", "term", "kind",
/// "writes"}]}`.
async fn log(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let cluster = peer_cluster(&node, from)?;
        let number = |name: &str| -> Result<Option<u64>, Refusal> {
            query
                .get(name)
                .map(|text| {
                    text.parse::<u64>().map_err(|_| {
                        refuse(
                            StatusCode::BAD_REQUEST,
                            format!("`{name}` is not a number: {text}"),
                        )
                    })
                })
                .transpose()
        };
        let Some(partition) = number("partition")? else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "name the partition: /~cluster/log?partition=P (and &from=INDEX)".into(),
            ));
        };
        let partition = u32::try_from(partition).map_err(|_| {
            refuse(
                StatusCode::BAD_REQUEST,
                format!("partition {partition} does not exist"),
            )
        })?;
        let entries = cluster
            .log_entries(partition, number("from")?.unwrap_or(0))
            .await
            .map_err(|error| refuse(StatusCode::NOT_FOUND, error))?;
        Ok(json(&serde_json::json!({ "entries": entries })))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// This node's public keys, which the other nodes verify the identities it issued with.
async fn keys(
    State(node): State<Arc<Node>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
) -> Response {
    let cluster = match peer_cluster(&node, from) {
        Ok(cluster) => cluster,
        Err(refusal) => return refusal.into_response(),
    };
    match node.keys.ring().public_pems() {
        Ok(keys) => json(&super::keys::PublicKeys {
            node: cluster.node_id,
            keys,
        }),
        Err(error) => refuse(StatusCode::INTERNAL_SERVER_ERROR, error).into_response(),
    }
}
