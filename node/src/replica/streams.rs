//! The requests of one socket on a replica node. A viewer's connection is served from the
//! local copy and mirrored on the primary; everything that writes goes to the primary:
//!
//! - `connection/create`: the connection is opened on the primary first (its `@connected`
//!   runs there, and a refusal comes back as the viewer's failure), then a view of the local
//!   copy is opened, which sends the viewer its items;
//! - `connection/send`, `send-once`, `password`, `can-attach`, `attach`: relayed to the
//!   primary's connection; their answers are the primary's;
//! - `connection/update`: the local view's state; `connection/end`: both ends close;
//! - `document/create`, `document/delete`, `message/direct-send*` and the logins: relayed to
//!   the primary on a socket of their own;
//! - uploads are refused (a replica keeps no files); the rest is answered as on any node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde_json::{Map, Value as Json, json};
use tokio::sync::OwnedSemaphorePermit;

use super::host::{Attached, Host};
use super::upstream::{self, Upstream};
use crate::document::Sink;
use crate::identity;
use crate::lock;
use crate::node::Node;
use crate::protocol::{self, Params, codes};

/// Where a request went.
#[derive(Debug)]
pub enum Routed {
    /// The replica took it; an error code fails it.
    Handled(Result<(), i32>),
    /// Not a replica's concern: the node answers it as usual.
    Local(OwnedSemaphorePermit),
}

/// A request that came while its connection was still opening.
enum Queued {
    Relay(Map<String, Json>, i64, OwnedSemaphorePermit),
    Update(Json, i64),
    End(i64),
}

enum Slot {
    Opening(Vec<Queued>),
    Open(Arc<Link>),
}

struct Link {
    attached: Attached,
    upstream: Upstream,
}

impl Link {
    fn close(&self) {
        self.attached.detach();
        self.upstream.close();
    }
}

/// The replica connections of one socket, by the client's stream id.
#[derive(Default)]
pub struct Streams {
    slots: Mutex<HashMap<i64, Slot>>,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streams")
    }
}

impl Streams {
    /// Whether the stream `id` of this socket is one of the replica's (open or opening).
    pub fn holds(&self, id: i64) -> bool {
        lock(&self.slots).contains_key(&id)
    }

    /// The socket closed: every connection closes on both ends.
    pub fn close_all(&self) {
        let slots: Vec<Slot> = lock(&self.slots).drain().map(|(_, slot)| slot).collect();
        for slot in slots {
            if let Slot::Open(link) = slot {
                link.close();
            }
        }
    }
}

/// Routes a request of a socket on a replica node.
#[allow(clippy::too_many_arguments)]
pub fn dispatch(
    host: &Arc<Host>,
    node: &Arc<Node>,
    streams: &Arc<Streams>,
    sink: &Sink,
    id: i64,
    method: &str,
    frame: &Map<String, Json>,
    permit: OwnedSemaphorePermit,
) -> Routed {
    let params = Params(frame);
    let routed = match method {
        "connection/create" => open(host, node, streams, sink, id, &params, permit),
        "connection/send"
        | "connection/send-once"
        | "connection/password"
        | "connection/can-attach"
        | "connection/attach" => {
            let missing = match method {
                "connection/send" => codes::SEND_NOT_FOUND,
                "connection/send-once" => codes::SEND_ONCE_NOT_FOUND,
                "connection/password" => codes::PASSWORD_NOT_FOUND,
                "connection/can-attach" => codes::CAN_ATTACH_NOT_FOUND,
                _ => codes::ATTACH_NOT_FOUND,
            };
            on_stream(
                streams,
                &params,
                missing,
                Queued::Relay(frame.clone(), id, permit),
                sink,
            )
        }
        "connection/update" => {
            let state = match params.object("viewer-state") {
                Ok(state) => state.unwrap_or_else(|| json!({})),
                Err(code) => return Routed::Handled(Err(code)),
            };
            on_stream(
                streams,
                &params,
                codes::UPDATE_NOT_FOUND,
                Queued::Update(state, id),
                sink,
            )
        }
        "connection/end" => on_stream(
            streams,
            &params,
            codes::END_NOT_FOUND,
            Queued::End(id),
            sink,
        ),
        "document/create"
        | "document/delete"
        | "message/direct-send"
        | "message/direct-send-once"
        | "document/authorization"
        | "document/authorize"
        | "document/authorize-with-reset" => {
            let (address, frame, sink) = (host.primary.clone(), frame.clone(), sink.clone());
            tokio::spawn(async move {
                upstream::relay_once(&address, frame, id, sink, permit).await;
            });
            Ok(())
        }
        "attachment/start" | "attachment/append" | "attachment/finish" => {
            Err(codes::UPLOAD_NOT_ALLOWED)
        }
        _ => return Routed::Local(permit),
    };
    Routed::Handled(routed)
}

/// `connection/create` on a replica.
fn open(
    host: &Arc<Host>,
    node: &Arc<Node>,
    streams: &Arc<Streams>,
    sink: &Sink,
    id: i64,
    params: &Params<'_>,
    permit: OwnedSemaphorePermit,
) -> Result<(), i32> {
    let identity_text = params.string("identity")?;
    let who = identity::resolve(&identity_text, node.identity_rules(), &HashMap::new())?;
    let space = params.space()?;
    let key = params.key()?;
    let viewer_state = params.object("viewer-state")?.unwrap_or_else(|| json!({}));
    // Registered before the primary answers, so that requests naming the stream wait for it.
    lock(&streams.slots).insert(id, Slot::Opening(Vec::new()));
    let (host, streams, sink) = (Arc::clone(host), Arc::clone(streams), sink.clone());
    tokio::spawn(async move {
        let linked = link(
            &host,
            &streams,
            &sink,
            id,
            &identity_text,
            &space,
            &key,
            who,
            viewer_state,
        )
        .await;
        let queued = {
            let mut slots = lock(&streams.slots);
            match (linked, slots.remove(&id)) {
                (Ok(link), Some(Slot::Opening(queued))) => {
                    slots.insert(id, Slot::Open(Arc::clone(&link)));
                    Some((link, queued))
                }
                (Ok(link), _) => {
                    // The socket closed while the connection opened.
                    link.close();
                    None
                }
                (Err(code), _) => {
                    sink.push(protocol::failure(id, code));
                    None
                }
            }
        };
        if let Some((link, queued)) = queued {
            for request in queued {
                run(&streams, &link, id, request, &sink);
            }
        }
        drop(permit);
    });
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn link(
    host: &Arc<Host>,
    streams: &Arc<Streams>,
    sink: &Sink,
    id: i64,
    identity_text: &str,
    space: &str,
    key: &str,
    who: crate::engine::Who,
    viewer_state: Json,
) -> Result<Arc<Link>, i32> {
    let primary = host.primary_of(space, key).await.map_err(|message| {
        tracing::warn!(%message, "no node to open a viewer's connection on");
        codes::CATASTROPHIC
    })?;
    let socket = host.upstream(&primary).await?;
    let lost = lost_hook(Arc::downgrade(streams), id, sink.clone());
    let upstream = socket
        .connect(
            identity_text,
            space,
            key,
            &viewer_state,
            lost,
            (id, sink.clone()),
        )
        .await?;
    match host
        .attach(space, key, who, viewer_state, sink.clone(), id)
        .await
    {
        Ok(attached) => Ok(Arc::new(Link { attached, upstream })),
        Err(failure) => {
            upstream.close();
            Err(failure.code)
        }
    }
}

/// When the primary ends the viewer's connection (or goes away), the viewer's stream fails
/// and its view of the copy closes.
fn lost_hook(streams: Weak<Streams>, id: i64, sink: Sink) -> upstream::OnLost {
    Box::new(move |code| {
        let Some(streams) = streams.upgrade() else {
            return;
        };
        let slot = lock(&streams.slots).remove(&id);
        if let Some(Slot::Open(link)) = slot {
            link.attached.detach();
            sink.push(protocol::failure(id, code));
        }
    })
}

/// A request naming a connection of this socket.
fn on_stream(
    streams: &Arc<Streams>,
    params: &Params<'_>,
    missing: i32,
    request: Queued,
    sink: &Sink,
) -> Result<(), i32> {
    let stream = params.long("connection")?;
    let mut slots = lock(&streams.slots);
    let link = match slots.get_mut(&stream) {
        Some(Slot::Opening(queued)) => {
            queued.push(request);
            return Ok(());
        }
        Some(Slot::Open(link)) => Arc::clone(link),
        None => return Err(missing),
    };
    drop(slots);
    run(streams, &link, stream, request, sink);
    Ok(())
}

fn run(streams: &Streams, link: &Arc<Link>, stream: i64, request: Queued, sink: &Sink) {
    match request {
        Queued::Relay(frame, id, permit) => {
            link.upstream
                .relay(frame, id, sink.clone(), None, Some(permit));
        }
        Queued::Update(state, id) => {
            link.attached.update(state);
            sink.push(protocol::deliver(id, &json!({})));
        }
        Queued::End(id) => {
            lock(&streams.slots).remove(&stream);
            link.close();
            sink.push(protocol::deliver(id, &json!({})));
            sink.push(protocol::done(stream));
        }
    }
}
