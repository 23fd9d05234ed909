//! One WebSocket at `/~s`: frames in, requests to documents, frames out (protocol spec §1–2).
//!
//! The socket's own task reads its frames (`websocket.rs`) and dispatches its requests; frames
//! are written straight to the socket by whoever has them (`outlet.rs`): a document's round,
//! this task's replies, the node's ping clock (`heartbeat.rs`).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Map, Value as Json, json};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::attachments::{self, Upload, Uploads};
use crate::document::{Failure, Frame, Reply, Request, Sink};
use crate::engine::{Context, Space, Who};
use crate::identity;
use crate::lock;
use crate::node::{DocumentHandle, Node};
use crate::outlet::Outlet;
use crate::protocol::{self, Params, codes};
use crate::websocket::{self, Incoming, Message};

/// Requests one socket may have in flight.
const IN_FLIGHT: usize = 512;
/// A socket that sends nothing (pongs included) for this long is closed.
pub const READ_IDLE: Duration = Duration::from_secs(60);
/// The version string of the `connected` frame.
pub const VERSION: &str = concat!("adama-rs-", env!("CARGO_PKG_VERSION"));
/// Spaces `document/create` refuses.
const RESERVED_SPACES: [&str; 3] = ["ide", "wildcard", "billing"];

thread_local! {
    /// Where a socket's bytes are read to, before the reader takes what it keeps.
    static READ: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(vec![0; websocket::READ_CHUNK]);
}

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

/// Serves one socket until it closes: `stream` is the TCP connection past its opening
/// handshake, `read` the bytes that came with the handshake.
pub async fn run(node: Arc<Node>, stream: TcpStream, read: Bytes, origin: String, ip: String) {
    let (mut input, output) = stream.into_split();
    let outlet = Outlet::socket(output, node.config.max_queued_frames.max(16));
    let sink = Sink::new(Arc::clone(&outlet));
    // The greeting goes first, before any request is read.
    let hello = json!({"status": "connected", "version": VERSION, "identities": {}});
    sink.push(hello.to_string());
    let state = Arc::new(SocketState {
        node: Arc::clone(&node),
        sink,
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
    node.heartbeat.join(&outlet);
    // Frames up to four times the limit are read, so that an oversized request still gets
    // its failure; larger ones close the socket.
    let limit = node.config.max_frame.saturating_mul(4);
    let mut incoming = Incoming::new(&read, limit);
    let killed = outlet.killed();
    tokio::pin!(killed);
    loop {
        if !answer_received(&state, &mut incoming, &outlet).await {
            break;
        }
        let read = tokio::select! {
            read = read_into(&mut input, &mut incoming) => read,
            () = &mut killed => break,
        };
        match read {
            Ok(0) => break,
            Ok(_) => outlet.heard(),
            Err(error) => {
                tracing::debug!(%error, "a socket failed");
                break;
            }
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
    // What waits (a final status frame) leaves first.
    outlet.close();
}

/// Waits for bytes and hands them to `incoming`, read through the thread's buffer rather than
/// one of the socket's own: an idle socket then holds no read buffer at all. Tokio's read takes a
/// read that filled less than the buffer as the socket drained, so the next wait goes straight to
/// the poller instead of through a read that finds nothing (one system call less per message).
fn read_into<'a>(
    input: &'a mut OwnedReadHalf,
    incoming: &'a mut Incoming,
) -> impl Future<Output = std::io::Result<usize>> + 'a {
    std::future::poll_fn(move |cx| {
        READ.with(|chunk| {
            let mut chunk = chunk.borrow_mut();
            let mut buffer = ReadBuf::new(&mut chunk[..]);
            ready!(Pin::new(&mut *input).poll_read(cx, &mut buffer))?;
            incoming.receive(buffer.filled());
            Poll::Ready(Ok(buffer.filled().len()))
        })
    })
}

/// Handles every whole message received so far; false when the socket must close.
async fn answer_received(
    state: &Arc<SocketState>,
    incoming: &mut Incoming,
    outlet: &Arc<Outlet>,
) -> bool {
    loop {
        let keep = match incoming.message() {
            Ok(None) => {
                incoming.rest();
                return true;
            }
            Ok(Some(Message::Text(text))) => on_text(state, text, outlet).await,
            Ok(Some(Message::Binary)) => {
                state.send(protocol::disconnected(codes::ONLY_TEXT_FRAMES));
                false
            }
            Ok(Some(Message::Ping(payload))) => {
                outlet.control(websocket::PONG, payload);
                true
            }
            Ok(Some(Message::Pong)) => true,
            Ok(Some(Message::Close(_))) => false,
            Err(broken) => {
                tracing::debug!(%broken, "a socket broke the framing");
                false
            }
        };
        if !keep {
            return false;
        }
    }
}

/// Handles one text frame; false when the socket must close.
async fn on_text(state: &Arc<SocketState>, text: &str, outlet: &Outlet) -> bool {
    if let Some(ping) = protocol::pong(text) {
        outlet.pong(ping);
        return true;
    }
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
            outlet.pong(ping);
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
            // `dedupe` is optional for both (spec §2.0), as for `connection/send-once`.
            let marker = params.optional_string("dedupe")?;
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
