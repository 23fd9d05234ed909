//! One WebSocket at `/~s`: frames in, requests to documents, frames out (protocol spec §1–2).
//!
//! Frames are written straight to the socket by whoever has them when it takes them at once
//! (`outlet.rs`); a writer task writes those that must wait, from a bounded queue, and the
//! node's clock wakes it for the pings.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use serde_json::{Map, Value as Json, json};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};

use crate::attachments::{self, Upload, Uploads};
use crate::document::{Failure, Frame, Reply, Request, Sink};
use crate::engine::{Context, Space, Who};
use crate::identity;
use crate::node::{DocumentHandle, Node};
use crate::protocol::{self, Params, codes};

/// Requests one socket may have in flight.
const IN_FLIGHT: usize = 512;
/// A socket that sends nothing (pongs included) for this long is closed.
const READ_IDLE: Duration = Duration::from_secs(60);
/// The version string of the `connected` frame.
pub const VERSION: &str = concat!("adama-rs-", env!("CARGO_PKG_VERSION"));
/// Spaces `document/create` refuses.
const RESERVED_SPACES: [&str; 3] = ["ide", "wildcard", "billing"];
/// The read buffer of a socket. The WebSocket library's default (128 KiB) is allocated per
/// socket and zeroed on every read, which cost a fifth of the node's time under load and most
/// of an idle connection's memory; requests are small, and a larger frame takes several reads.
pub const READ_BUFFER_BYTES: usize = 4096;
use crate::outlet::{CLOSE, CaughtUp, Outlet};

struct Connection {
    handle: DocumentHandle,
    token: u64,
}

struct SocketState {
    node: Arc<Node>,
    sink: Sink,
    origin: String,
    ip: String,
    connections: Mutex<HashMap<i64, Connection>>,
    stash: Mutex<HashMap<String, String>>,
    uploads: Uploads,
    in_flight: Arc<Semaphore>,
    /// The connections served from local copies, on a replica node (a node that follows no
    /// primary has none).
    replica: Option<Arc<crate::replica::streams::Streams>>,
    /// The streams this socket has on other nodes of the cluster (a node alone has none).
    proxy: Option<crate::cluster::proxy::SocketProxy>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SocketState {
    fn send(&self, frame: impl Into<Frame>) {
        self.sink.push(frame);
    }

    fn fail(&self, id: i64, code: i32) {
        self.send(protocol::failure(id, code));
    }

    fn context(&self, who: Who) -> Context {
        Context {
            who,
            origin: self.origin.clone(),
            ip: self.ip.clone(),
        }
    }

    fn who(&self, params: &Params<'_>) -> Result<Who, i32> {
        let text = params.string("identity")?;
        let stash = lock(&self.stash);
        identity::resolve(&text, self.node.identity_rules(), &stash)
    }

    fn space(&self, params: &Params<'_>) -> Result<Arc<Space>, i32> {
        let name = params.space()?;
        self.node.space(&name).ok_or(codes::SPACE_NOT_FOUND)
    }

    fn connection(&self, params: &Params<'_>, missing: i32) -> Result<(DocumentHandle, u64), i32> {
        let id = params.long("connection")?;
        lock(&self.connections)
            .get(&id)
            .map(|connection| (connection.handle.clone(), connection.token))
            .ok_or(missing)
    }
}

/// Serves one socket until it closes.
pub async fn run(node: Arc<Node>, socket: WebSocket, origin: String, ip: String) {
    let (outgoing, mut incoming) = socket.split();
    let (frames, mut queue) = mpsc::channel::<Frame>(node.config.max_queued_frames.max(16));
    let kill = Arc::new(Notify::new());
    let outlet = Arc::new(Outlet::new(outgoing));
    let sink = Sink {
        frames,
        kill: Arc::clone(&kill),
        outlet: Some(Arc::clone(&outlet)),
    };
    // The greeting goes first, before any request is read.
    let hello = json!({"status": "connected", "version": VERSION, "identities": {}});
    sink.push(hello.to_string());
    let state = Arc::new(SocketState {
        node: Arc::clone(&node),
        sink: sink.clone(),
        origin,
        ip,
        connections: Mutex::new(HashMap::new()),
        stash: Mutex::new(HashMap::new()),
        uploads: Uploads::default(),
        in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        replica: node.replication.host.as_ref().map(|_| Arc::default()),
        proxy: node.cluster.as_ref().map(|_| Default::default()),
    });
    node.metrics.connections.fetch_add(1, Ordering::Relaxed);
    let opened = Instant::now();
    let latency = Arc::new(AtomicI64::new(0));
    let writer_latency = Arc::clone(&latency);
    let writer_kill = Arc::clone(&kill);
    let heartbeat = Arc::clone(&node.heartbeat);
    let writer = tokio::spawn(async move {
        let slot = heartbeat.slot();
        let mut turn = slot.next_turn();
        let killed = writer_kill.notified();
        tokio::pin!(killed);
        let mut held = std::collections::VecDeque::new();
        loop {
            tokio::select! {
                frame = queue.recv() => {
                    let Some(frame) = frame else { break };
                    held.push_back(frame);
                }
                () = outlet.wanted() => {}
                () = &mut turn => {
                    turn = slot.next_turn();
                    if !slot.due() {
                        continue;
                    }
                    let ping = format!("{{\"ping\":{},\"latency\":\"{}\"}}",
                        opened.elapsed().as_millis() as i64,
                        writer_latency.load(Ordering::Relaxed));
                    sink.push(ping);
                }
                () = &mut killed => {
                    tracing::info!("closing a socket that does not read its frames");
                    let _ = outlet.send(Message::Close(None)).await;
                    break;
                }
            }
            match outlet.catch_up(&mut held, &mut queue).await {
                CaughtUp::Written => {}
                CaughtUp::Closing => {
                    let _ = outlet.send(Message::Close(None)).await;
                    break;
                }
                CaughtUp::Broken => break,
            }
        }
        writer_kill.notify_waiters();
    });
    // One deadline per socket, pushed back lazily: a timer per read would be set and cleared
    // for every frame.
    let mut last_read = tokio::time::Instant::now();
    let idle = tokio::time::sleep_until(last_read + READ_IDLE);
    let killed = kill.notified();
    tokio::pin!(idle, killed);
    loop {
        let next = tokio::select! {
            next = incoming.next() => next,
            () = &mut idle => {
                if last_read.elapsed() >= READ_IDLE {
                    break;
                }
                idle.as_mut().reset(last_read + READ_IDLE);
                continue;
            }
            () = &mut killed => break,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                tracing::debug!(%error, "a socket failed");
                break;
            }
            None => break,
        };
        last_read = tokio::time::Instant::now();
        let keep = match message {
            Message::Text(text) => on_text(&state, text.as_str(), opened, &latency).await,
            Message::Binary(_) => {
                state.send(protocol::disconnected(codes::ONLY_TEXT_FRAMES));
                false
            }
            Message::Close(_) => false,
            Message::Ping(_) | Message::Pong(_) => true,
        };
        if !keep {
            state.send(CLOSE);
            break;
        }
    }
    // The socket is gone: every stream it opened closes (disconnect semantics).
    if let Some(replica) = &state.replica {
        replica.close_all();
    }
    if let Some(proxy) = &state.proxy {
        proxy.close_all();
    }
    let connections: Vec<Connection> = lock(&state.connections).drain().map(|(_, c)| c).collect();
    for connection in connections {
        let _ = connection
            .handle
            .requests
            .send(Request::End {
                token: connection.token,
                reply: None,
            })
            .await;
    }
    node.metrics.connections.fetch_sub(1, Ordering::Relaxed);
    // The writer flushes what is queued (a final status frame) and closes.
    state.send(CLOSE);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
}

/// Handles one text frame; false when the socket must close.
async fn on_text(
    state: &Arc<SocketState>,
    text: &str,
    opened: Instant,
    latency: &AtomicI64,
) -> bool {
    let too_large = text.len() > state.node.config.max_frame;
    let frame: Map<String, Json> = match serde_json::from_str(text) {
        Ok(Json::Object(frame)) => frame,
        _ if too_large => {
            state.send(protocol::disconnected(codes::FRAME_TOO_LARGE));
            return false;
        }
        _ => {
            state.send(protocol::disconnected(codes::BAD_FRAME));
            return false;
        }
    };
    if frame.contains_key("pong") {
        if let Some(ping) = frame.get("ping").and_then(Json::as_i64) {
            let round_trip = opened.elapsed().as_millis() as i64 - ping;
            latency.store(round_trip.max(0), Ordering::Relaxed);
        }
        return true;
    }
    let Some(id) = protocol::request_id(&frame) else {
        state.send(protocol::disconnected(codes::NO_ID));
        return false;
    };
    if too_large {
        state.fail(id, codes::FRAME_TOO_LARGE);
        return true;
    }
    let Some(method) = frame.get("method").and_then(Json::as_str) else {
        state.fail(id, codes::NO_METHOD);
        return true;
    };
    if let (Some(cluster), Some(host), Some(replica)) = (
        &state.node.cluster,
        &state.node.replication.host,
        &state.replica,
    ) && crate::cluster::hot::to_copy(cluster, host, replica, method, &frame)
    {
        let Ok(permit) = Arc::clone(&state.in_flight).try_acquire_owned() else {
            state.fail(id, codes::TOO_MANY_REQUESTS);
            return true;
        };
        use crate::replica::streams::{Routed, dispatch};
        let routed = dispatch(
            host,
            &state.node,
            replica,
            &state.sink,
            id,
            method,
            &frame,
            permit,
        );
        if let Routed::Handled(Err(code)) = routed {
            state.fail(id, code);
        }
        return true;
    }
    if let (Some(cluster), Some(proxy)) = (&state.node.cluster, &state.proxy)
        && crate::cluster::proxy::intercept(cluster, proxy, &state.sink, id, method, &frame, text)
            .await
    {
        return true;
    }
    let Ok(permit) = Arc::clone(&state.in_flight).try_acquire_owned() else {
        state.fail(id, codes::TOO_MANY_REQUESTS);
        return true;
    };
    if let Err(code) = dispatch(state, id, method, &Params(&frame), permit).await {
        state.fail(id, code);
    }
    true
}

/// Queues a request to a document in the order the socket received it. The document's task
/// answers it itself once the round is durable, so the socket keeps reading meanwhile; a
/// document that closes first answers it with a failure (`Reply`).
async fn submit<T: Send + 'static>(
    state: &Arc<SocketState>,
    handle: DocumentHandle,
    permit: OwnedSemaphorePermit,
    request: impl FnOnce(Reply<T>) -> Request,
    finish: impl FnOnce(&SocketState, Result<T, Failure>) + Send + 'static,
) {
    let answering = Arc::clone(state);
    let reply = Reply::call(move |result| {
        finish(&answering, result);
        drop(permit);
    });
    // A refused request is dropped with its reply, which then answers with a failure.
    let _ = handle.requests.send(request(reply)).await;
}

/// Asks a document by space and key, loading it if needed.
fn ask_document<T: Send + 'static>(
    state: &Arc<SocketState>,
    space: Arc<Space>,
    key: String,
    permit: OwnedSemaphorePermit,
    request: impl Fn(Reply<T>) -> Request + Send + Sync + 'static,
    finish: impl FnOnce(&SocketState, Result<T, Failure>) + Send + 'static,
) {
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let result = state.node.ask(&space, &key, request).await;
        finish(&state, result.map(|(_, value)| value));
        drop(permit);
    });
}

fn answer<T>(
    id: i64,
    render: impl FnOnce(T) -> Json,
) -> impl FnOnce(&SocketState, Result<T, Failure>) {
    move |state, result| match result {
        Ok(value) => state.send(protocol::deliver(id, &render(value))),
        Err(failure) => state.fail(id, failure.code),
    }
}

async fn dispatch(
    state: &Arc<SocketState>,
    id: i64,
    method: &str,
    params: &Params<'_>,
    permit: OwnedSemaphorePermit,
) -> Result<(), i32> {
    let permit = match (&state.node.replication.host, &state.replica) {
        // A cluster node sends to its copies only what `cluster::hot` picked, above.
        (Some(host), Some(replica)) if !host.in_cluster() => {
            use crate::replica::streams::{Routed, dispatch};
            let routed = dispatch(
                host,
                &state.node,
                replica,
                &state.sink,
                id,
                method,
                params.0,
                permit,
            );
            match routed {
                Routed::Handled(result) => return result,
                Routed::Local(permit) => permit,
            }
        }
        _ => permit,
    };
    match method {
        "connection/create" => {
            let who = state.who(params)?;
            let space = state.space(params)?;
            let key = params.key()?;
            connect(state, id, who, space, key, params, permit).await
        }
        "connection/create-via-domain" => {
            let who = state.who(params)?;
            params.normalized("domain")?;
            let Some((space, key)) = state.node.config.domain.clone() else {
                return Err(codes::DOMAIN_NOT_FOUND);
            };
            let space = state.node.space(&space).ok_or(codes::SPACE_NOT_FOUND)?;
            connect(state, id, who, space, key, params, permit).await
        }
        "connection/send" | "connection/send-once" => {
            let once = method == "connection/send-once";
            let missing = if once {
                codes::SEND_ONCE_NOT_FOUND
            } else {
                codes::SEND_NOT_FOUND
            };
            let (handle, token) = state.connection(params, missing)?;
            let channel = params.channel()?;
            let message = params.message("message")?;
            let marker = params.optional_string("dedupe")?;
            let context = state.context(Who::no_one());
            submit(
                state,
                handle,
                permit,
                move |reply| Request::Send {
                    token: Some(token),
                    context,
                    channel,
                    message,
                    marker,
                    missing,
                    reply,
                },
                answer(id, |seq| json!({"seq": seq})),
            )
            .await;
            Ok(())
        }
        "connection/update" => {
            let (handle, token) = state.connection(params, codes::UPDATE_NOT_FOUND)?;
            let viewer_state = params.object("viewer-state")?.unwrap_or_else(|| json!({}));
            submit(
                state,
                handle,
                permit,
                move |reply| Request::Update {
                    token,
                    state: viewer_state,
                    reply,
                },
                answer(id, |()| json!({})),
            )
            .await;
            Ok(())
        }
        "connection/end" => {
            let stream = params.long("connection")?;
            let Some(connection) = lock(&state.connections).remove(&stream) else {
                return Err(codes::END_NOT_FOUND);
            };
            let token = connection.token;
            submit(
                state,
                connection.handle,
                permit,
                move |reply| Request::End {
                    token,
                    reply: Some(reply),
                },
                move |state, result| match result {
                    Ok(()) => {
                        state.send(protocol::deliver(id, &json!({})));
                        state.send(protocol::done(stream));
                    }
                    Err(failure) => state.fail(id, failure.code),
                },
            )
            .await;
            Ok(())
        }
        "connection/password" => {
            let (handle, _) = state.connection(params, codes::PASSWORD_NOT_FOUND)?;
            let username = params.string("username")?;
            let password = params.string("password")?;
            let new_password = params.string("new_password")?;
            let context = state.context(Who::no_one());
            submit(
                state,
                handle,
                permit,
                move |reply| Request::Password {
                    context,
                    username,
                    password,
                    new_password,
                    reply,
                },
                answer(id, |_| json!({})),
            )
            .await;
            Ok(())
        }
        "connection/can-attach" => {
            let missing = codes::CAN_ATTACH_NOT_FOUND;
            let (handle, token) = state.connection(params, missing)?;
            let context = state.context(Who::no_one());
            submit(
                state,
                handle,
                permit,
                move |reply| Request::CanAttach {
                    token: Some(token),
                    context,
                    missing,
                    reply,
                },
                answer(id, |yes| json!({"yes": yes})),
            )
            .await;
            Ok(())
        }
        "connection/attach" => {
            let missing = codes::ATTACH_NOT_FOUND;
            let (handle, token) = state.connection(params, missing)?;
            let asset = attachments::asset_of(
                params.string("asset-id")?,
                params.string("filename")?,
                params.string("content-type")?,
                params.long("size")?,
                params.string("digest-md5")?,
                params.string("digest-sha384")?,
            );
            let context = state.context(Who::no_one());
            submit(
                state,
                handle,
                permit,
                move |reply| Request::Attach {
                    token: Some(token),
                    context,
                    asset,
                    missing,
                    reply,
                },
                answer(id, |seq| json!({"seq": seq})),
            )
            .await;
            Ok(())
        }
        "attachment/start" => {
            let who = state.who(params)?;
            let space = state.space(params)?;
            let key = params.key()?;
            let filename = params.string("filename")?;
            let content_type = params.string("content-type")?;
            let context = state.context(who);
            let upload = Upload::new(
                &state.node,
                Arc::clone(&space),
                key.clone(),
                context.clone(),
                filename,
                content_type,
            );
            ask_document(
                state,
                space,
                key,
                permit,
                move |reply| Request::CanAttach {
                    token: None,
                    context: context.clone(),
                    missing: codes::CAN_ATTACH_NOT_FOUND,
                    reply,
                },
                move |state, result| match result {
                    Ok(true) => {
                        state.uploads.start(id, upload);
                        let ask = json!({"chunk_request_size": attachments::CHUNK_REQUEST});
                        state.send(protocol::item(id, &ask));
                    }
                    Ok(false) => state.fail(id, codes::UPLOAD_NOT_ALLOWED),
                    Err(failure) => state.fail(id, failure.code),
                },
            );
            Ok(())
        }
        "attachment/append" => {
            let upload = params.long("upload")?;
            let md5 = params.string("chunk-md5")?;
            let chunk = params.string("base64-bytes")?;
            if let Err(code) = state.uploads.append(upload, &md5, &chunk) {
                // The upload is over: its stream ends with the same failure.
                if code != codes::UPLOAD_NOT_FOUND {
                    state.fail(upload, code);
                }
                return Err(code);
            }
            state.send(protocol::deliver(id, &json!({})));
            let ask = json!({"chunk_request_size": attachments::CHUNK_REQUEST});
            state.send(protocol::item(upload, &ask));
            Ok(())
        }
        "attachment/finish" => {
            let stream = params.long("upload")?;
            let Some(upload) = state.uploads.finish(stream) else {
                return Err(codes::UPLOAD_NOT_FOUND);
            };
            let state = Arc::clone(state);
            tokio::spawn(async move {
                match upload.keep_and_attach(&state.node).await {
                    Ok((asset, _)) => {
                        state.send(protocol::deliver(id, &json!({"assetId": asset})));
                        state.send(protocol::done(stream));
                    }
                    Err(code) => {
                        state.fail(id, code);
                        state.fail(stream, code);
                    }
                }
                drop(permit);
            });
            Ok(())
        }
        "document/create" => {
            let who = state.who(params)?;
            let name = params.space()?;
            if RESERVED_SPACES.contains(&name.as_str()) {
                return Err(codes::SPACE_RESERVED);
            }
            let space = state.node.space(&name).ok_or(codes::SPACE_NOT_FOUND)?;
            let key = params.key()?;
            let arg = params.object("arg")?.ok_or(protocol::missing_code("arg"))?;
            let entropy = params
                .optional_string("entropy")?
                .map(|text| entropy_of(&text));
            let context = state.context(who);
            ask_document(
                state,
                space,
                key,
                permit,
                move |reply| Request::Create {
                    context: context.clone(),
                    arg: arg.clone(),
                    entropy,
                    reply,
                },
                answer(id, |()| json!({})),
            );
            Ok(())
        }
        "document/delete" => {
            let who = state.who(params)?;
            let space = state.space(params)?;
            let key = params.key()?;
            let context = state.context(who);
            ask_document(
                state,
                space,
                key,
                permit,
                move |reply| Request::Delete {
                    context: context.clone(),
                    reply,
                },
                answer(id, |()| json!({})),
            );
            Ok(())
        }
        "message/direct-send" | "message/direct-send-once" => {
            let who = state.who(params)?;
            let space = state.space(params)?;
            let key = params.key()?;
            let channel = params.channel()?;
            let message = params.message("message")?;
            let marker = if method == "message/direct-send-once" {
                Some(params.string("dedupe")?)
            } else {
                params.optional_string("dedupe")?
            };
            let context = state.context(who);
            ask_document(
                state,
                space,
                key,
                permit,
                move |reply| Request::Send {
                    token: None,
                    context: context.clone(),
                    channel: channel.clone(),
                    message: message.clone(),
                    marker: marker.clone(),
                    missing: codes::SEND_NOT_FOUND,
                    reply,
                },
                answer(id, |seq| json!({"seq": seq})),
            );
            Ok(())
        }
        "space/reflect" => {
            state.who(params)?;
            let space = state.space(params)?;
            params.key()?;
            state.send(protocol::deliver(
                id,
                &json!({"reflection": &*space.reflection}),
            ));
            Ok(())
        }
        "documents/create-dedupe" => {
            state.send(protocol::deliver(
                id,
                &json!({"dedupe": identity::random_token()}),
            ));
            Ok(())
        }
        "identity/hash" => {
            let who = state.who(params)?;
            state.send(protocol::deliver(
                id,
                &json!({"identityHash": identity::hash(&who)}),
            ));
            Ok(())
        }
        "identity/stash" => {
            let text = params.string("identity")?;
            let name = params.string("name")?;
            if text.starts_with("cookie:") {
                return Err(codes::CANT_STASH_COOKIE);
            }
            lock(&state.stash).insert(name, text);
            state.send(protocol::deliver(id, &json!({})));
            Ok(())
        }
        "stats" => {
            let streams = lock(&state.connections).len();
            let stashed = lock(&state.stash).len();
            for (key, value) in [("stream-count", streams), ("identity-count", stashed)] {
                let stat =
                    json!({"statKey": key, "statValue": value.to_string(), "statType": "int"});
                state.send(protocol::item(id, &stat));
            }
            state.send(protocol::done(id));
            Ok(())
        }
        "documents/hash-password"
        | "document/authorization"
        | "document/authorization-domain"
        | "document/authorize"
        | "document/authorize-domain"
        | "document/authorize-with-reset"
        | "document/authorize-domain-with-reset" => {
            // Answered off the reading loop: hashing and the handler take their time.
            let state = Arc::clone(state);
            let (method, params) = (method.to_owned(), params.0.clone());
            tokio::spawn(async move {
                let from = crate::once::Origin {
                    origin: state.origin.clone(),
                    ip: state.ip.clone(),
                };
                match crate::once::answer(&state.node, &method, &params, &from).await {
                    Ok(response) => state.send(protocol::deliver(id, &response)),
                    Err(code) => state.fail(id, code),
                }
                drop(permit);
            });
            Ok(())
        }
        _ => Err(codes::METHOD_NOT_FOUND),
    }
}

async fn connect(
    state: &Arc<SocketState>,
    id: i64,
    who: Who,
    space: Arc<Space>,
    key: String,
    params: &Params<'_>,
    permit: OwnedSemaphorePermit,
) -> Result<(), i32> {
    let viewer_state = params.object("viewer-state")?.unwrap_or_else(|| json!({}));
    let token = state.node.token();
    let handle = state.node.document(&space, &key);
    // Registered before the document answers, so that requests naming this stream find it.
    lock(&state.connections).insert(
        id,
        Connection {
            handle: handle.clone(),
            token,
        },
    );
    let context = state.context(who);
    let sink = state.sink.clone();
    submit(
        state,
        handle,
        permit,
        move |reply| Request::Connect {
            context,
            viewer_state,
            sink,
            stream: id,
            token,
            reply,
        },
        move |state, result| {
            if let Err(failure) = result {
                let mut connections = lock(&state.connections);
                if connections
                    .get(&id)
                    .is_some_and(|connection| connection.token == token)
                {
                    connections.remove(&id);
                }
                drop(connections);
                state.fail(id, failure.code);
            }
        },
    )
    .await;
    Ok(())
}

/// `entropy`: a decimal string is the seed; any other text seeds with its Java hash code.
fn entropy_of(text: &str) -> i64 {
    text.parse().unwrap_or_else(|_| {
        let mut hash: i32 = 0;
        for unit in text.encode_utf16() {
            hash = hash.wrapping_mul(31).wrapping_add(i32::from(unit));
        }
        i64::from(hash)
    })
}
