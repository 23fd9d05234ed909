//! Serving a client on any node: a request on a client's socket for a document whose partition
//! another node leads goes to that node over a socket this node opens there (one per client
//! socket and leader), as the same frame; what comes back goes to the client as it is. The
//! later requests of a proxied stream (`connection/send`, `update`, `end`, …) follow it there
//! by the stream's id.
//!
//! When the upstream socket breaks (the leader died), each stream it carried fails with a
//! retryable code, and the client's next `connection/create` is routed to the new leader.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value as Json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::hot::Viewing;
use super::{Cluster, Route};
use crate::document::Sink;
use crate::lock;
use crate::protocol::{self, codes};

/// The requests that name a document by `space` and `key`.
const BY_DOCUMENT: [&str; 8] = [
    "connection/create",
    "attachment/start",
    "document/create",
    "document/delete",
    "message/direct-send",
    "message/direct-send-once",
    "document/authorization",
    "document/authorize",
];

/// The requests that continue an upload by its id (`upload`).
const BY_UPLOAD: [&str; 2] = ["attachment/append", "attachment/finish"];

/// The requests that continue a stream by its id (`connection`).
pub(super) const BY_CONNECTION: [&str; 7] = [
    "connection/send",
    "connection/send-once",
    "connection/update",
    "connection/end",
    "connection/can-attach",
    "connection/attach",
    "connection/password",
];

/// The stream or upload id a request continues, read as the local handler reads it.
pub(super) fn stream_in(frame: &Map<String, Json>, field: &str) -> Option<i64> {
    protocol::Params(frame).long(field).ok()
}

/// The document (`space/key`) a request names, read and validated as the local handler reads
/// it, so that a request is routed to the partition of the document it would open; `None`
/// when it names none, which the local handler then refuses with its error code.
pub(super) fn document_in(frame: &Map<String, Json>) -> Option<String> {
    let params = protocol::Params(frame);
    Some(format!("{}/{}", params.space().ok()?, params.key().ok()?))
}

/// A proxied stream: the node that serves it, and for a viewer (not an upload) its place in
/// the document's heat.
type Proxied = (u64, Option<Viewing>);

/// A client socket's proxied streams and its sockets to other nodes.
#[derive(Debug, Default)]
pub struct SocketProxy {
    upstreams: Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<String>>>>,
    /// A proxied stream's id → the node serving it, and the viewer it counts (see `hot.rs`).
    streams: Arc<Mutex<HashMap<i64, Proxied>>>,
    /// Forwarded requests not answered yet → the node they went to.
    waiting: Arc<Mutex<HashMap<i64, u64>>>,
}

/// Whether the request was taken (forwarded, or failed) rather than left to this node.
pub async fn intercept(
    cluster: &Cluster,
    proxy: &SocketProxy,
    sink: &Sink,
    id: i64,
    method: &str,
    frame: &Map<String, Json>,
    text: &str,
) -> bool {
    let continues = if BY_UPLOAD.contains(&method) {
        Some("upload")
    } else {
        BY_CONNECTION.contains(&method).then_some("connection")
    };
    if let Some(field) = continues {
        let stream = stream_in(frame, field);
        let node =
            stream.and_then(|stream| lock(&proxy.streams).get(&stream).map(|(node, _)| *node));
        let Some(node) = node else { return false };
        if (method == "connection/end" || method == "attachment/finish")
            && let Some(stream) = stream
        {
            lock(&proxy.streams).remove(&stream);
        }
        if !proxy.forward(node, id, text) {
            sink.push(protocol::failure(id, codes::CATASTROPHIC));
        }
        return true;
    }
    if !BY_DOCUMENT.contains(&method) {
        return false;
    }
    let Some(document) = document_in(frame) else {
        return false;
    };
    // A leader that cannot be reached has most likely just died: the route is asked again
    // once the partition names another leader.
    for _ in 0..3 {
        match cluster.route(&document).await {
            Ok(Route::Local) => return false,
            Ok(Route::Remote { node, address }) => {
                if let Err(error) = proxy.open(node, address, sink).await {
                    tracing::info!(node, %error, "cannot reach the leader of a document");
                    cluster.leader_other_than(&document, node).await;
                    continue;
                }
                if method == "connection/create" {
                    lock(&proxy.streams).insert(id, (node, Some(cluster.heat.enter(&document))));
                } else if method == "attachment/start" {
                    // An upload is a stream on the leader, but no viewer.
                    lock(&proxy.streams).insert(id, (node, None));
                }
                if !proxy.forward(node, id, text) {
                    lock(&proxy.streams).remove(&id);
                    sink.push(protocol::failure(id, codes::CATASTROPHIC));
                }
                return true;
            }
            Err(error) => {
                tracing::warn!(%document, %error, "no node serves the document now");
                break;
            }
        }
    }
    sink.push(protocol::failure(id, codes::CATASTROPHIC));
    true
}

impl SocketProxy {
    /// The client's socket closed: each socket to another node closes once what was queued
    /// is sent, so that those nodes end the streams it carried (their `@disconnected` runs)
    /// rather than keep them for a client that is gone.
    pub fn close_all(&self) {
        for upstream in lock(&self.upstreams).drain().map(|(_, upstream)| upstream) {
            let _ = upstream.send(String::new());
        }
    }

    fn forward(&self, node: u64, id: i64, text: &str) -> bool {
        lock(&self.waiting).insert(id, node);
        let sent = lock(&self.upstreams)
            .get(&node)
            .is_some_and(|upstream| upstream.send(text.to_owned()).is_ok());
        if !sent {
            lock(&self.waiting).remove(&id);
        }
        sent
    }

    /// Opens the socket to `node` unless one is open.
    async fn open(&self, node: u64, address: SocketAddr, sink: &Sink) -> Result<(), String> {
        if lock(&self.upstreams)
            .get(&node)
            .is_some_and(|upstream| !upstream.is_closed())
        {
            return Ok(());
        }
        let url = format!("ws://{address}/~s");
        let connect = async {
            let stream = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|error| format!("{url}: {error}"))?;
            let _ = stream.set_nodelay(true);
            tokio_tungstenite::client_async(url.as_str(), stream)
                .await
                .map_err(|error| format!("{url}: {error}"))
        };
        let (socket, _) = tokio::time::timeout(std::time::Duration::from_secs(5), connect)
            .await
            .map_err(|_| format!("{url} did not answer in time"))??;
        let (mut outgoing, mut incoming) = socket.split();
        let (frames, mut queue) = mpsc::unbounded_channel::<String>();
        let pongs = frames.clone();
        let ours = frames.clone();
        lock(&self.upstreams).insert(node, frames);
        let upstreams = Arc::clone(&self.upstreams);
        tokio::spawn(async move {
            // An empty frame asks to close (`close_all`).
            while let Some(frame) = queue.recv().await.filter(|frame| !frame.is_empty()) {
                if outgoing.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
            }
            let _ = outgoing.close().await;
        });
        let sink = sink.clone();
        let streams = Arc::clone(&self.streams);
        let waiting = Arc::clone(&self.waiting);
        tokio::spawn(async move {
            while let Some(Ok(message)) = incoming.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                match upstream_frame(text.as_str()) {
                    Upstream::Hello => {}
                    Upstream::Ping(pong) => {
                        let _ = pongs.send(pong);
                    }
                    Upstream::Relay { answered } => {
                        if let Some(id) = answered {
                            lock(&waiting).remove(&id);
                            // A stream that ends stops counting as a viewer.
                            lock(&streams).remove(&id);
                        }
                        sink.push(text.to_string());
                    }
                    Upstream::Closing => break,
                }
            }
            // No request goes to this socket any more.
            {
                let mut upstreams = lock(&upstreams);
                if upstreams
                    .get(&node)
                    .is_some_and(|current| current.same_channel(&ours))
                {
                    upstreams.remove(&node);
                }
            }
            drop(ours);
            drop(pongs);
            // The leader went away: the requests it had not answered and the streams it served
            // fail, so that their clients open them again, which routes them to the
            // partition's new leader.
            let mut waiting = lock(&waiting);
            let unanswered: Vec<i64> = waiting
                .iter()
                .filter(|(_, at)| **at == node)
                .map(|(id, _)| *id)
                .collect();
            for id in &unanswered {
                waiting.remove(id);
                sink.push(protocol::failure(*id, codes::CATASTROPHIC));
            }
            drop(waiting);
            let mut streams = lock(&streams);
            let lost: Vec<i64> = streams
                .iter()
                .filter(|(_, (at, _))| *at == node)
                .map(|(stream, _)| *stream)
                .collect();
            for stream in lost {
                streams.remove(&stream);
                if !unanswered.contains(&stream) {
                    sink.push(protocol::failure(stream, codes::CATASTROPHIC));
                }
            }
        });
        Ok(())
    }
}

enum Upstream {
    Hello,
    Ping(String),
    /// The client's; `answered` is the request it completes, if any.
    Relay {
        answered: Option<i64>,
    },
    Closing,
}

/// What a frame from the leader is: its greeting and pings are this node's to answer, the rest
/// is the client's.
fn upstream_frame(text: &str) -> Upstream {
    let Ok(Json::Object(mut frame)) = serde_json::from_str::<Json>(text) else {
        return Upstream::Relay { answered: None };
    };
    if let Some(id) = frame.get("failure").and_then(Json::as_i64) {
        return Upstream::Relay { answered: Some(id) };
    }
    if let Some(id) = frame.get("deliver").and_then(Json::as_i64) {
        let done = frame.get("done").and_then(Json::as_bool) == Some(true);
        return Upstream::Relay {
            answered: done.then_some(id),
        };
    }
    match frame.get("status").and_then(Json::as_str) {
        Some("connected") => return Upstream::Hello,
        Some("disconnected") => return Upstream::Closing,
        _ => {}
    }
    if frame.contains_key("ping") {
        frame.insert("pong".into(), Json::Bool(true));
        return Upstream::Ping(Json::Object(frame).to_string());
    }
    Upstream::Relay { answered: None }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value as Json, json};

    use super::{document_in, stream_in};

    fn frame(value: Json) -> Map<String, Json> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_request_is_routed_by_the_document_and_stream_the_local_handler_reads() {
        // The local handler lower-cases and trims the space: the route must name the same
        // document, or the request reaches a partition that does not hold it.
        assert_eq!(
            document_in(&frame(json!({"space": " Chat ", "key": "room-1"}))),
            Some("chat/room-1".to_owned())
        );
        assert_eq!(
            document_in(&frame(json!({"space": "chat", "key": 42}))),
            Some("chat/42".to_owned())
        );
        // What the local handler refuses is not routed: it answers with its own error code.
        for refused in [
            json!({"space": "c", "key": "k"}),
            json!({"space": "chat", "key": "a/b"}),
            json!({"key": "k"}),
        ] {
            assert_eq!(document_in(&frame(refused.clone())), None, "{refused}");
        }
        assert_eq!(
            stream_in(&frame(json!({"connection": 7})), "connection"),
            Some(7)
        );
        assert_eq!(
            stream_in(&frame(json!({"connection": "7"})), "connection"),
            Some(7)
        );
        assert_eq!(stream_in(&frame(json!({"upload": "x"})), "upload"), None);
    }
}
