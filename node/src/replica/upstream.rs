//! The replica's client of its primary's protocol (`/~s`). Every write of a replica's viewer
//! goes through one: the viewer's connection is opened on the primary as well (so that its
//! `@connected` runs there and its sends are those of a connected principal), and its requests
//! are relayed with the primary's answers sent back under the viewer's ids. The viewers of a
//! node share one socket per primary ([`UpstreamSocket`]), each its own connection on it
//! ([`Upstream`]), so the primary holds one socket per following node, not one per viewer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::document::Sink;
use crate::lock;
use crate::protocol::{self, codes};

/// How long opening a socket or a connection on the primary may take.
const OPEN_WAIT: Duration = Duration::from_secs(10);
/// Frames queued towards the primary before requests are refused.
const QUEUE: usize = 4096;

/// Called once when the primary's side of a viewer's connection ends, with the reason.
pub type OnLost = Box<dyn FnOnce(i32) + Send>;

enum Pending {
    /// A relayed request: its answer goes to `sink` under the client's id.
    Relay {
        client: i64,
        sink: Sink,
        /// Sent after the primary's last answer (`connection/end` ends the client's stream).
        then: Option<String>,
        /// Hears when the last answer went out (or the socket ended).
        finished: Option<oneshot::Sender<()>>,
        _permit: Option<OwnedSemaphorePermit>,
    },
    /// The viewer's connection: its first item says it is open; the deltas of the primary's
    /// view are not used (the replica's copy shows the viewer its view), but the items the
    /// document's code sends the viewer (a kick's `force-disconnect`, view-state pushes) go to
    /// the viewer's stream, `client` on `sink`.
    Stream {
        opened: Option<oneshot::Sender<Result<(), i32>>>,
        lost: Option<OnLost>,
        client: i64,
        sink: Sink,
    },
}

/// What the client reads of a primary's frame before deciding what to do with it.
#[derive(Deserialize)]
struct Head {
    deliver: Option<i64>,
    failure: Option<i64>,
    reason: Option<i32>,
    ping: Option<i64>,
    #[serde(default)]
    done: bool,
}

type Table = Arc<Mutex<HashMap<i64, Pending>>>;

/// One socket to the primary, shared by the connections of a node's viewers on it. It closes
/// once the last of them is dropped.
pub struct UpstreamSocket {
    outgoing: mpsc::Sender<String>,
    pending: Table,
    next: AtomicI64,
}

impl std::fmt::Debug for UpstreamSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamSocket")
    }
}

impl Drop for UpstreamSocket {
    fn drop(&mut self) {
        // Closes the socket once what was queued before is sent.
        let _ = self.push(String::new());
    }
}

/// A viewer's connection on the primary, over its node's socket there.
pub struct Upstream {
    socket: Arc<UpstreamSocket>,
    /// The connection's id on the socket.
    stream: i64,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upstream({})", self.stream)
    }
}

impl Upstream {
    /// Relays a request frame of the client (its `id` is `client`) to the primary; when it
    /// names a connection, that is the viewer's connection there. The answers go to `sink`.
    pub fn relay(
        &self,
        frame: Map<String, Json>,
        client: i64,
        sink: Sink,
        then: Option<String>,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        self.socket
            .relay_watched(frame, Some(self.stream), client, sink, then, permit, None);
    }

    /// Ends the viewer's connection on the primary (the socket stays for the others).
    pub fn close(&self) {
        // Closing on purpose is not a loss; what the primary still says of it is not heard.
        lock(&self.socket.pending).remove(&self.stream);
        let end = json!({"method": "connection/end", "id": 0, "connection": self.stream});
        let _ = self.socket.push(end.to_string());
    }
}

impl UpstreamSocket {
    /// Whether the socket ended (the primary went away): a new viewer needs a new one.
    pub fn is_closed(&self) -> bool {
        self.outgoing.is_closed()
    }

    /// Opens a socket to the primary at `address` (host:port).
    pub async fn open(address: &str) -> Result<Arc<UpstreamSocket>, i32> {
        let url = format!("ws://{address}/~s");
        let opened = tokio::time::timeout(OPEN_WAIT, tokio_tungstenite::connect_async(url)).await;
        let Ok(Ok((socket, _))) = opened else {
            tracing::warn!(primary = %address, "cannot reach the primary");
            return Err(codes::CATASTROPHIC);
        };
        let (outgoing, queue) = mpsc::channel(QUEUE);
        let pending: Table = Arc::new(Mutex::new(HashMap::new()));
        tokio::spawn(pump(socket, queue, outgoing.clone(), Arc::clone(&pending)));
        Ok(Arc::new(UpstreamSocket {
            outgoing,
            pending,
            next: AtomicI64::new(1),
        }))
    }

    /// Opens a viewer's connection on the primary, as `identity` (the text the viewer gave);
    /// `lost` hears when it ends later; the items code sends the viewer go to its stream
    /// (`viewer`: the stream's id on the viewer's socket, and the socket).
    pub async fn connect(
        self: &Arc<UpstreamSocket>,
        identity: &str,
        space: &str,
        key: &str,
        viewer_state: &Json,
        lost: OnLost,
        viewer: (i64, Sink),
    ) -> Result<Upstream, i32> {
        let (client, sink) = viewer;
        let stream = self.next.fetch_add(1, Ordering::Relaxed);
        let (opened, answer) = oneshot::channel();
        lock(&self.pending).insert(
            stream,
            Pending::Stream {
                opened: Some(opened),
                lost: Some(lost),
                client,
                sink,
            },
        );
        let request = json!({"method": "connection/create", "id": stream, "identity": identity,
            "space": space, "key": key, "viewer-state": viewer_state});
        let upstream = Upstream {
            socket: Arc::clone(self),
            stream,
        };
        if let Err(code) = self.push(request.to_string()) {
            lock(&self.pending).remove(&stream);
            return Err(code);
        }
        match tokio::time::timeout(OPEN_WAIT, answer).await {
            Ok(Ok(Ok(()))) => Ok(upstream),
            Ok(Ok(Err(code))) => {
                lock(&self.pending).remove(&stream);
                Err(code)
            }
            _ => {
                upstream.close();
                Err(codes::CATASTROPHIC)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn relay_watched(
        &self,
        mut frame: Map<String, Json>,
        connection: Option<i64>,
        client: i64,
        sink: Sink,
        then: Option<String>,
        permit: Option<OwnedSemaphorePermit>,
        finished: Option<oneshot::Sender<()>>,
    ) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        frame.insert("id".into(), json!(id));
        if let Some(connection) = connection
            && frame.contains_key("connection")
        {
            frame.insert("connection".into(), json!(connection));
        }
        lock(&self.pending).insert(
            id,
            Pending::Relay {
                client,
                sink: sink.clone(),
                then,
                finished,
                _permit: permit,
            },
        );
        if let Err(code) = self.push(Json::Object(frame).to_string()) {
            lock(&self.pending).remove(&id);
            sink.push(protocol::failure(client, code));
        }
    }

    fn push(&self, text: String) -> Result<(), i32> {
        self.outgoing
            .try_send(text)
            .map_err(|_| codes::TOO_MANY_REQUESTS)
    }
}

/// Moves frames both ways until the socket ends, then fails whatever still waits.
async fn pump(
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    mut queue: mpsc::Receiver<String>,
    outgoing: mpsc::Sender<String>,
    pending: Table,
) {
    let (mut writer, mut reader) = socket.split();
    loop {
        tokio::select! {
            text = queue.recv() => {
                // An empty frame asks to close once what was queued before it is sent.
                let Some(text) = text.filter(|text| !text.is_empty()) else { break };
                if writer.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            message = reader.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                on_frame(text.as_str(), &pending, &outgoing);
            }
        }
    }
    let _ = writer.send(Message::Close(None)).await;
    let left: Vec<(i64, Pending)> = lock(&pending).drain().collect();
    for (_, waiting) in left {
        match waiting {
            Pending::Relay { client, sink, .. } => {
                sink.push(protocol::failure(client, codes::CATASTROPHIC));
            }
            Pending::Stream { opened, lost, .. } => {
                if let Some(opened) = opened {
                    let _ = opened.send(Err(codes::CATASTROPHIC));
                } else if let Some(lost) = lost {
                    lost(codes::CATASTROPHIC);
                }
            }
        }
    }
}

/// The keys of the view messages the document's code sends a viewer (protocol spec §6.1), which
/// the replica's copy cannot compute.
const CODE_ITEMS: [&str; 5] = ["force-disconnect", "viewstate", "goto", "log", "viewport"];

/// A stream item of the primary that carries such a message, renumbered for the viewer's stream.
/// Every delta of the primary's stream passes here: the item's first key (the node writes such a
/// message alone) says whether it is one before anything is parsed.
fn code_item(text: &str, client: i64) -> Option<String> {
    let key = text.split_once(r#""delta":{""#)?.1.split('"').next()?;
    if !CODE_ITEMS.contains(&key) {
        return None;
    }
    let Ok(Json::Object(mut frame)) = serde_json::from_str::<Json>(text) else {
        return None;
    };
    frame.insert("deliver".into(), json!(client));
    Some(Json::Object(frame).to_string())
}

fn on_frame(text: &str, pending: &Table, outgoing: &mpsc::Sender<String>) {
    let Ok(head) = serde_json::from_str::<Head>(text) else {
        return;
    };
    if let Some(ping) = head.ping {
        let _ = outgoing.try_send(json!({"ping": ping, "pong": true}).to_string());
        return;
    }
    let (id, failed) = match (head.deliver, head.failure) {
        (Some(id), _) => (id, false),
        (None, Some(id)) => (id, true),
        _ => return,
    };
    let mut table = lock(pending);
    if let Some(Pending::Stream {
        opened,
        lost,
        client,
        sink,
    }) = table.get_mut(&id)
    {
        if let Some(opened) = opened.take() {
            let _ = opened.send(if failed {
                Err(head.reason.unwrap_or(codes::CATASTROPHIC))
            } else {
                Ok(())
            });
        } else if failed || head.done {
            let lost = lost.take();
            table.remove(&id);
            drop(table);
            if let Some(lost) = lost {
                lost(head.reason.unwrap_or(codes::CATASTROPHIC));
            }
        } else if let Some(item) = code_item(text, *client) {
            sink.push(item);
        }
        return;
    }
    let last = failed || head.done;
    let relay = if last { table.remove(&id) } else { None };
    let sink_and_client = match (&relay, table.get(&id)) {
        (Some(Pending::Relay { client, sink, .. }), _)
        | (None, Some(Pending::Relay { client, sink, .. })) => Some((*client, sink.clone())),
        _ => None,
    };
    drop(table);
    let Some((client, sink)) = sink_and_client else {
        return;
    };
    if let Ok(Json::Object(mut frame)) = serde_json::from_str::<Json>(text) {
        let field = if failed { "failure" } else { "deliver" };
        frame.insert(field.into(), json!(client));
        sink.push(Json::Object(frame).to_string());
    }
    if let Some(Pending::Relay { then, finished, .. }) = relay {
        if let Some(then) = then {
            sink.push(then);
        }
        if let Some(finished) = finished {
            let _ = finished.send(());
        }
    }
}

/// Relays one request that names no connection (a create, a delete, a direct send) over a
/// socket of its own, and closes it after the primary's last answer.
pub async fn relay_once(
    address: &str,
    frame: Map<String, Json>,
    client: i64,
    sink: Sink,
    permit: OwnedSemaphorePermit,
) {
    let upstream = match UpstreamSocket::open(address).await {
        Ok(upstream) => upstream,
        Err(code) => {
            sink.push(protocol::failure(client, code));
            return;
        }
    };
    let (done, finished) = oneshot::channel::<()>();
    upstream.relay_watched(frame, None, client, sink, None, Some(permit), Some(done));
    let _ = tokio::time::timeout(OPEN_WAIT * 3, finished).await;
    // Dropping the socket closes it.
}
