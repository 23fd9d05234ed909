//! The replica's side: a node started with `--replica-of` keeps, for each document its viewers
//! look at, a live copy built from the primary's follow stream, and serves their views from it.
//!
//! One task per followed document owns the copy (an [`Engine`] that never runs a command: it
//! only takes the primary's dumps and redos) and the views opened on it. It starts following
//! when its first viewer arrives and stops when the [`HeatPolicy`] says the document is cold.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json as JsonBody;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::frame::Frame;
use crate::document::{Failure, Sink};
use crate::engine::{Engine, Space, ViewId, Who};
use crate::lock;
use crate::node::Node;
use crate::protocol::codes;

/// A follow stream silent for this long (the primary beats every two seconds) is lost.
const SILENCE: Duration = Duration::from_secs(8);
/// How long reaching the primary may take.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// Decides whether this node keeps following a document (the cluster may decide on more than
/// this node's viewers later: load, messages, memory).
pub trait HeatPolicy: Send + Sync + std::fmt::Debug {
    /// Whether a document with `viewers` views on this node stays followed.
    fn follow(&self, viewers: usize) -> bool;
}

/// Follow while this node has at least one viewer of the document.
#[derive(Debug, Clone, Copy, Default)]
pub struct ViewersPolicy;

impl HeatPolicy for ViewersPolicy {
    fn follow(&self, viewers: usize) -> bool {
        viewers > 0
    }
}

/// Where the primary of a document is, when it is not one fixed node (in a cluster, the
/// leader of the document's partition, which moves).
pub trait Locate: Send + Sync + std::fmt::Debug {
    /// The address (host:port) of the node that runs `document` (`space/key`) now.
    fn primary(&self, document: &str) -> BoxFuture<'static, Result<String, String>>;
}

enum Ask {
    Attach {
        token: u64,
        who: Who,
        state: Json,
        sink: Sink,
        stream: i64,
        reply: oneshot::Sender<()>,
    },
    Detach {
        token: u64,
    },
    Update {
        token: u64,
        state: Json,
    },
    Dump {
        reply: oneshot::Sender<Option<(i32, Json)>>,
    },
}

#[derive(Clone)]
struct Handle {
    asks: mpsc::Sender<Ask>,
    generation: u64,
}

/// The replica host of a node.
pub struct Host {
    /// The primary's address (host:port); in a cluster, `locate` finds each document's.
    pub primary: String,
    locate: Option<Arc<dyn Locate>>,
    secret: Option<String>,
    policy: Box<dyn HeatPolicy>,
    documents: Mutex<HashMap<String, Handle>>,
    /// The code of each space as the primary last sent it, compiled once.
    spaces: Mutex<HashMap<String, Arc<Space>>>,
    generations: AtomicU64,
    tokens: AtomicU64,
    /// The socket to each primary the viewers' connections share, while any of them lives.
    upstreams: Mutex<HashMap<String, std::sync::Weak<super::upstream::UpstreamSocket>>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("primary", &self.primary)
            .finish_non_exhaustive()
    }
}

/// A viewer's place in a followed document.
#[derive(Debug, Clone)]
pub struct Attached {
    asks: mpsc::Sender<Ask>,
    token: u64,
}

impl std::fmt::Debug for Ask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ask")
    }
}

impl Attached {
    pub fn detach(&self) {
        let asks = self.asks.clone();
        let token = self.token;
        tokio::spawn(async move {
            let _ = asks.send(Ask::Detach { token }).await;
        });
    }

    pub fn update(&self, state: Json) {
        let asks = self.asks.clone();
        let token = self.token;
        tokio::spawn(async move {
            let _ = asks.send(Ask::Update { token, state }).await;
        });
    }
}

impl Host {
    /// The host of a node configured with `(replica_of, replica_secret)`.
    pub fn for_config(config: &(Option<String>, Option<String>)) -> Option<Arc<Host>> {
        let primary = config.0.clone()?;
        Some(Arc::new(Host::new(
            primary,
            config.1.clone(),
            Box::new(ViewersPolicy),
        )))
    }

    /// The host of a cluster node: it follows hot documents of partitions it is not a member
    /// of from their leaders, which `locate` finds, while it has viewers of them. Cluster nodes
    /// admit each other as followers by address, so no secret is presented.
    pub fn for_cluster(locate: Arc<dyn Locate>) -> Arc<Host> {
        let mut host = Host::new(String::new(), None, Box::new(ViewersPolicy));
        host.locate = Some(locate);
        Arc::new(host)
    }

    /// Whether documents are followed from a cluster's leaders rather than one primary.
    pub fn in_cluster(&self) -> bool {
        self.locate.is_some()
    }

    /// The address of the node to follow `space/key` from, and to send its writes to.
    pub async fn primary_of(&self, space: &str, key: &str) -> Result<String, String> {
        match &self.locate {
            Some(locate) => locate.primary(&format!("{space}/{key}")).await,
            None => Ok(self.primary.clone()),
        }
    }

    /// The socket to `primary` that this node's viewers' connections share, opened when none
    /// is open.
    pub async fn upstream(
        &self,
        primary: &str,
    ) -> Result<Arc<super::upstream::UpstreamSocket>, i32> {
        let open = lock(&self.upstreams)
            .get(primary)
            .and_then(std::sync::Weak::upgrade)
            .filter(|socket| !socket.is_closed());
        if let Some(socket) = open {
            return Ok(socket);
        }
        let socket = super::upstream::UpstreamSocket::open(primary).await?;
        let mut upstreams = lock(&self.upstreams);
        upstreams.retain(|_, socket| socket.strong_count() > 0);
        upstreams.insert(primary.to_owned(), Arc::downgrade(&socket));
        Ok(socket)
    }

    /// Whether `document` (`space/key`) is followed now.
    pub fn follows(&self, document: &str) -> bool {
        lock(&self.documents)
            .get(document)
            .is_some_and(|handle| !handle.asks.is_closed())
    }

    pub fn new(primary: String, secret: Option<String>, policy: Box<dyn HeatPolicy>) -> Host {
        Host {
            primary,
            locate: None,
            secret,
            policy,
            documents: Mutex::new(HashMap::new()),
            spaces: Mutex::new(HashMap::new()),
            generations: AtomicU64::new(1),
            tokens: AtomicU64::new(1),
            upstreams: Mutex::new(HashMap::new()),
        }
    }

    /// The documents followed now, as `space/key`, sorted.
    pub fn following(&self) -> Vec<String> {
        let mut names: Vec<String> = lock(&self.documents)
            .iter()
            .filter(|(_, handle)| !handle.asks.is_closed())
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    fn handle(self: &Arc<Host>, space: &str, key: &str) -> Handle {
        let name = format!("{space}/{key}");
        let mut documents = lock(&self.documents);
        if let Some(handle) = documents.get(&name)
            && !handle.asks.is_closed()
        {
            return handle.clone();
        }
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let (asks, receiver) = mpsc::channel(4096);
        let copy = Copy {
            host: Arc::clone(self),
            space_name: space.to_owned(),
            key: key.to_owned(),
            name: name.clone(),
            space: None,
            engine: None,
            views: HashMap::new(),
        };
        tokio::spawn(copy.run(receiver, generation));
        let handle = Handle { asks, generation };
        documents.insert(name, handle.clone());
        handle
    }

    fn forget(&self, name: &str, generation: u64) {
        let mut documents = lock(&self.documents);
        if documents
            .get(name)
            .is_some_and(|handle| handle.generation == generation)
        {
            documents.remove(name);
        }
    }

    /// Opens a view of `space/key` for `who` on the local copy, following the document if it
    /// is not followed yet. Its items go to `sink` under `stream`.
    pub async fn attach(
        self: &Arc<Host>,
        space: &str,
        key: &str,
        who: Who,
        state: Json,
        sink: Sink,
        stream: i64,
    ) -> Result<Attached, Failure> {
        for _ in 0..5 {
            let handle = self.handle(space, key);
            let token = self.tokens.fetch_add(1, Ordering::Relaxed);
            let (reply, answer) = oneshot::channel();
            let ask = Ask::Attach {
                token,
                who: who.clone(),
                state: state.clone(),
                sink: sink.clone(),
                stream,
                reply,
            };
            if handle.asks.send(ask).await.is_err() {
                continue;
            }
            // A copy that stopped as this arrived did not take it; a fresh one will.
            if answer.await.is_ok() {
                return Ok(Attached {
                    asks: handle.asks,
                    token,
                });
            }
        }
        Err(Failure::new(
            codes::CATASTROPHIC,
            "the replica cannot follow the document",
        ))
    }

    /// The local copy's seq and stored document, when the document is followed.
    pub async fn dump(&self, space: &str, key: &str) -> Option<(i32, Json)> {
        let handle = lock(&self.documents)
            .get(&format!("{space}/{key}"))?
            .clone();
        let (reply, answer) = oneshot::channel();
        handle.asks.send(Ask::Dump { reply }).await.ok()?;
        answer.await.ok().flatten()
    }

    /// The space `name` running `source`, compiled once per source.
    async fn space(&self, name: &str, source: &Arc<str>) -> Result<Arc<Space>, String> {
        if let Some(space) = lock(&self.spaces).get(name)
            && space.source == *source
        {
            return Ok(Arc::clone(space));
        }
        let compiled = Arc::new(Space::compile(name, &format!("{name}.a"), source)?);
        lock(&self.spaces).insert(name.to_owned(), Arc::clone(&compiled));
        Ok(compiled)
    }

    async fn follow(&self, space: &str, key: &str) -> Result<FollowSocket, String> {
        let primary = self.primary_of(space, key).await?;
        let url = format!("ws://{primary}/~replica/follow?space={space}&key={key}");
        let mut request = url
            .into_client_request()
            .map_err(|error| format!("bad primary address '{primary}': {error}"))?;
        if let Some(secret) = &self.secret {
            let value = HeaderValue::from_str(secret)
                .map_err(|_| "the replica secret is not a valid header value".to_owned())?;
            request.headers_mut().insert(super::SECRET_HEADER, value);
        }
        match tokio::time::timeout(CONNECT_WAIT, tokio_tungstenite::connect_async(request)).await {
            Ok(Ok((socket, _))) => Ok(socket),
            Ok(Err(error)) => Err(format!("cannot follow on {primary}: {error}")),
            Err(_) => Err(format!("the primary {primary} does not answer")),
        }
    }
}

type FollowSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct View {
    view: Option<ViewId>,
    who: Who,
    state: Json,
    sink: Sink,
    stream: i64,
    fresh: bool,
}

/// How following a document ended.
enum End {
    /// No viewer is left.
    Cold,
    Deleted,
    Lost(i32, String),
}

/// The local copy of one document and its views.
struct Copy {
    host: Arc<Host>,
    space_name: String,
    key: String,
    name: String,
    space: Option<Arc<Space>>,
    engine: Option<Engine>,
    views: HashMap<u64, View>,
}

impl Copy {
    async fn run(mut self, mut asks: mpsc::Receiver<Ask>, generation: u64) {
        let end = match self.host.follow(&self.space_name, &self.key).await {
            Ok(socket) => self.serve(socket, &mut asks).await,
            Err(message) => End::Lost(codes::CATASTROPHIC, message),
        };
        match &end {
            End::Cold => tracing::info!(document = %self.name, "stopped following a cold document"),
            End::Deleted => {
                tracing::info!(document = %self.name, "the followed document was deleted")
            }
            End::Lost(code, message) => {
                tracing::warn!(document = %self.name, code, %message, "lost the followed document")
            }
        }
        self.host.forget(&self.name, generation);
        asks.close();
        // Viewers that arrived as the copy stopped get the same ending.
        while let Ok(ask) = asks.try_recv() {
            if let Ask::Attach {
                who,
                state,
                sink,
                stream,
                token,
                reply,
            } = ask
            {
                if matches!(end, End::Cold) {
                    // Not taken: the caller asks a fresh copy.
                    drop(reply);
                } else {
                    self.views.insert(
                        token,
                        View {
                            view: None,
                            who,
                            state,
                            sink,
                            stream,
                            fresh: true,
                        },
                    );
                    let _ = reply.send(());
                }
            }
        }
        for view in self.views.values() {
            let frame = match &end {
                End::Deleted => json!({"deliver": view.stream, "done": true}),
                End::Lost(code, _) => {
                    json!({"failure": view.stream, "reason": code, "retry": true})
                }
                // A policy that lets go of a document with viewers: they start again.
                End::Cold => {
                    json!({"failure": view.stream, "reason": codes::CATASTROPHIC, "retry": true})
                }
            };
            view.sink.push(frame.to_string());
        }
    }

    async fn serve(&mut self, socket: FollowSocket, asks: &mut mpsc::Receiver<Ask>) -> End {
        let (_writer, mut reader) = socket.split();
        loop {
            tokio::select! {
                ask = asks.recv() => {
                    let Some(ask) = ask else { return End::Cold };
                    self.on_ask(ask);
                    while let Ok(ask) = asks.try_recv() {
                        self.on_ask(ask);
                    }
                    if !self.host.policy.follow(self.views.len()) {
                        return End::Cold;
                    }
                }
                message = tokio::time::timeout(SILENCE, reader.next()) => {
                    let text = match message {
                        Ok(Some(Ok(Message::Text(text)))) => text,
                        Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => {
                            return End::Lost(codes::CATASTROPHIC, "the primary closed the stream".into());
                        }
                        Ok(Some(Ok(_))) => continue,
                        Err(_) => {
                            return End::Lost(codes::CATASTROPHIC, "the primary went silent".into());
                        }
                    };
                    let frame = match serde_json::from_str::<Frame>(text.as_str()) {
                        Ok(frame) => frame,
                        Err(error) => {
                            return End::Lost(codes::CATASTROPHIC, format!("a frame of the stream does not decode: {error}"));
                        }
                    };
                    if let Err(end) = self.on_frame(frame).await {
                        return end;
                    }
                }
            }
            self.collect_deltas();
        }
    }

    fn on_ask(&mut self, ask: Ask) {
        match ask {
            Ask::Attach {
                token,
                who,
                state,
                sink,
                stream,
                reply,
            } => {
                let view = self
                    .engine
                    .as_mut()
                    .map(|engine| engine.open_view(&who, state.clone()));
                self.views.insert(
                    token,
                    View {
                        view,
                        who,
                        state,
                        sink,
                        stream,
                        fresh: true,
                    },
                );
                let _ = reply.send(());
            }
            Ask::Detach { token } => {
                if let Some(view) = self.views.remove(&token)
                    && let (Some(engine), Some(id)) = (self.engine.as_mut(), view.view)
                {
                    engine.close_view(id);
                }
            }
            Ask::Update { token, state } => {
                if let Some(view) = self.views.get_mut(&token) {
                    crate::engine::fold(&mut view.state, &state);
                    if let (Some(engine), Some(id)) = (self.engine.as_mut(), view.view) {
                        engine.update_view(id, state);
                    }
                }
            }
            Ask::Dump { reply } => {
                let _ = reply.send(
                    self.engine
                        .as_ref()
                        .map(|engine| (engine.seq(), engine.dump())),
                );
            }
        }
    }

    async fn on_frame(&mut self, frame: Frame) -> Result<(), End> {
        match frame {
            Frame::Reset {
                seq,
                space,
                source,
                dump,
                ..
            } => {
                let space = self
                    .host
                    .space(&space, &source)
                    .await
                    .map_err(|message| End::Lost(codes::CATASTROPHIC, message))?;
                self.reset(&space, &dump)
                    .map_err(|message| End::Lost(codes::CATASTROPHIC, message))?;
                self.space = Some(space);
                self.check(seq)
            }
            Frame::Redo { seq, redo } => {
                let Some(engine) = self.engine.as_mut() else {
                    return Err(End::Lost(
                        codes::CATASTROPHIC,
                        "a redo came before the document".into(),
                    ));
                };
                engine.apply_redo(&redo);
                self.check(seq)
            }
            Frame::Beat => Ok(()),
            Frame::Deleted => Err(End::Deleted),
            Frame::Failure { reason, message } => Err(End::Lost(reason, message)),
        }
    }

    /// The copy must be at the primary's seq after each frame; a copy that is not has lost
    /// its way, and its viewers start again rather than see a wrong state.
    fn check(&self, seq: i32) -> Result<(), End> {
        let at = self.engine.as_ref().map_or(-1, Engine::seq);
        if at == seq {
            Ok(())
        } else {
            Err(End::Lost(
                codes::CATASTROPHIC,
                format!("the copy is at seq {at} where the primary is at {seq}"),
            ))
        }
    }

    /// A whole document: the copy is rebuilt (with new code when the primary sent some), and
    /// each viewer that held a view receives what differs (as a live upgrade does).
    fn reset(&mut self, space: &Arc<Space>, dump: &Json) -> Result<(), String> {
        let mut engine = Engine::restore(space, &self.key, dump)?;
        let mut old = self.engine.take();
        let mut tokens: Vec<u64> = self.views.keys().copied().collect();
        tokens.sort_unstable();
        for token in tokens {
            let Some(view) = self.views.get_mut(&token) else {
                continue;
            };
            let held = match (old.as_mut(), view.view) {
                (Some(old), Some(id)) if !view.fresh => {
                    let probe = old_probe(old, &view.who, &view.state, id);
                    let (held, _) = old.whole_view(probe);
                    Some(held)
                }
                _ => None,
            };
            view.view = Some(engine.open_view(&view.who, view.state.clone()));
            let Some(held) = held else { continue };
            let (shown, mut envelope) = engine.whole_view(view.view.unwrap_or_default());
            if let Some(data) = crate::view_diff::diff(&held, &shown) {
                envelope.insert("data".into(), Json::Object(data));
            }
            if envelope.contains_key("data") || envelope.contains_key("outstanding") {
                let item = json!({"deliver": view.stream, "done": false,
                    "response": {"delta": envelope}});
                view.sink.push(item.to_string());
            }
        }
        self.engine = Some(engine);
        Ok(())
    }

    fn collect_deltas(&mut self) {
        let (Some(engine), Some(space)) = (self.engine.as_mut(), self.space.as_ref()) else {
            return;
        };
        let filter = if self.views.values().any(|view| view.fresh) {
            space.view_fields()
        } else {
            Vec::new()
        };
        let mut tokens: Vec<u64> = self.views.keys().copied().collect();
        tokens.sort_unstable();
        for token in tokens {
            let Some(view) = self.views.get_mut(&token) else {
                continue;
            };
            let Some(id) = view.view else { continue };
            if let Some(delta) = engine.view_delta(id) {
                view.sink.push(format!(
                    "{{\"deliver\":{},\"done\":false,\"response\":{{\"delta\":{delta}}}}}",
                    view.stream
                ));
                if view.fresh {
                    view.fresh = false;
                    if !filter.is_empty() {
                        let item = json!({"deliver": view.stream, "done": false,
                            "response": {"delta": {"view-state-filter": filter}}});
                        view.sink.push(item.to_string());
                    }
                }
            }
        }
    }
}

/// What the viewer holds under the old copy: its view is closed and a probe opened with the
/// same state, whose first delta is everything it shows.
fn old_probe(old: &mut Engine, who: &Who, state: &Json, id: ViewId) -> ViewId {
    old.close_view(id);
    old.open_view(who, state.clone())
}

/// `GET /~replica/status`: what this node follows and how many follow it. With
/// `?space=S&key=K`, also the local copy's seq and stored document (to peers that may follow).
pub async fn status(
    State(node): State<Arc<Node>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let host = node.replication.host.as_ref();
    let mut body = json!({
        "replica_of": host.filter(|host| !host.in_cluster()).map(|host| host.primary.clone()),
        "following": host.map(|host| host.following()).unwrap_or_default(),
        "followers": node.replication.followers.load(Ordering::Relaxed),
    });
    if let (Some(space), Some(key)) = (query.get("space"), query.get("key")) {
        if !super::admitted(node.config.replica_secret.as_deref(), &headers, peer.ip()) {
            return (
                StatusCode::FORBIDDEN,
                "a copy's document needs the replica secret",
            )
                .into_response();
        }
        let copy = match host {
            Some(host) => host.dump(space, key).await,
            None => None,
        };
        if let Some((seq, dump)) = copy {
            body["seq"] = json!(seq);
            body["dump"] = dump;
        }
    }
    JsonBody(body).into_response()
}
