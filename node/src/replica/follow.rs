//! The primary's side of a follow stream.
//!
//! A document task keeps its followers in [`Followers`]: the redo of each record it runs is
//! staged, and released to every follower only after the round's commit is durable, so no
//! follower sees a state the store could lose. A follower's queue is bounded; one that is full
//! is dropped from the redo flow and gets a fresh dump once it has room again, so a slow
//! follower costs one flag, never an unbounded buffer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::frame::{Frame, ResetReason};
use crate::document::{Failure, Request};
use crate::engine::{Engine, Record, Space};
use crate::node::Node;

/// Frames queued for one follower before it counts as behind.
pub const FOLLOW_QUEUE: usize = 1024;
/// How often an idle stream says it is alive.
pub const BEAT_EVERY: Duration = Duration::from_secs(2);

/// Where a follower's frames go.
pub type FollowSink = mpsc::Sender<Arc<str>>;

#[derive(Debug)]
struct Follower {
    sink: FollowSink,
    /// Owes the follower a whole document (it is new, fell behind, or the code changed).
    reset: Option<ResetReason>,
}

/// The followers of one document, and the redo frames of the round not yet durable.
#[derive(Debug, Default)]
pub struct Followers {
    followers: Vec<Follower>,
    staged: Vec<Arc<str>>,
}

impl Followers {
    /// Whether any follower is still listening.
    pub fn is_empty(&mut self) -> bool {
        self.followers.retain(|follower| !follower.sink.is_closed());
        self.followers.is_empty()
    }

    /// A new follower: it gets the document as of the end of this round.
    pub fn add(&mut self, sink: FollowSink) {
        self.followers.push(Follower {
            sink,
            reset: Some(ResetReason::Start),
        });
    }

    /// Stages the redo of a record that changed the document.
    pub fn stage(&mut self, record: &Record) {
        if self.followers.is_empty() {
            return;
        }
        let frame = Frame::Redo {
            seq: record.seq,
            redo: record.redo.clone(),
        };
        self.staged.push(frame.text());
    }

    /// The document moved to new code: every follower gets it whole.
    pub fn reset_all(&mut self) {
        for follower in &mut self.followers {
            follower.reset = Some(ResetReason::Upgrade);
        }
    }

    /// The round is durable: the staged redos go out, or a dump to those owed one.
    pub fn release(&mut self, engine: Option<&Engine>, space: &Space) {
        let staged = std::mem::take(&mut self.staged);
        if self.followers.is_empty() {
            return;
        }
        // One dump per reason a follower is owed it, built once for all of them.
        let mut dumps: Vec<(ResetReason, Arc<str>)> = Vec::new();
        self.followers.retain_mut(|follower| {
            if let Some(reason) = follower.reset {
                let Some(engine) = engine.filter(|engine| engine.is_constructed()) else {
                    // Nothing to show yet; the dump goes out once the document exists.
                    return true;
                };
                let frame = match dumps.iter().find(|(built, _)| *built == reason) {
                    Some((_, frame)) => Arc::clone(frame),
                    None => {
                        let frame = Frame::Reset {
                            reason,
                            seq: engine.seq(),
                            space: space.name.clone(),
                            source: Arc::clone(&space.source),
                            dump: engine.dump(),
                        }
                        .text();
                        dumps.push((reason, Arc::clone(&frame)));
                        frame
                    }
                };
                return match follower.sink.try_send(frame) {
                    Ok(()) => {
                        follower.reset = None;
                        true
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => true,
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                };
            }
            for frame in &staged {
                match follower.sink.try_send(Arc::clone(frame)) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        follower.reset = Some(ResetReason::Behind);
                        return true;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            true
        });
    }

    /// The stream ends for every follower with `frame` (a deletion or a failure).
    pub fn end(&mut self, frame: &Frame) {
        self.staged.clear();
        let text = frame.text();
        for follower in self.followers.drain(..) {
            let _ = follower.sink.try_send(Arc::clone(&text));
        }
    }
}

/// `GET /~replica/follow?space=S&key=K`, upgraded to a WebSocket that carries [`Frame`]s.
pub async fn route(
    State(node): State<Arc<Node>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The nodes of a cluster follow each other's hot documents, admitted by address like the
    // cluster's own routes.
    let cluster_peer = node.cluster.as_ref().is_some_and(|cluster| {
        cluster
            .file
            .nodes
            .values()
            .any(|address| address.ip() == peer.ip())
    });
    if !cluster_peer && !super::admitted(node.config.replica_secret.as_deref(), &headers, peer.ip())
    {
        return (
            StatusCode::FORBIDDEN,
            "following a document needs the replica secret (--replica-secret), or a peer on this machine when none is set",
        )
            .into_response();
    }
    let (Some(space), Some(key)) = (query.get("space"), query.get("key")) else {
        return (
            StatusCode::BAD_REQUEST,
            "name the document: /~replica/follow?space=SPACE&key=KEY",
        )
            .into_response();
    };
    if key.is_empty() || key.len() > 511 || !key.chars().all(crate::protocol::valid_key_char) {
        return (
            StatusCode::BAD_REQUEST,
            "a key is 1 to 511 of A-Z, a-z, 0-9, '.', '_' and '-'",
        )
            .into_response();
    }
    let Some(space) = node.space(space) else {
        return (StatusCode::NOT_FOUND, format!("no space '{space}'")).into_response();
    };
    // In a cluster only the partition's leader runs the document, so only it has a stream of
    // committed redos to give.
    if let Some(cluster) = &node.cluster {
        match cluster.route(&format!("{}/{key}", space.name)).await {
            Ok(crate::cluster::Route::Local) => {}
            Ok(crate::cluster::Route::Remote { node: leader, .. }) => {
                return (
                    StatusCode::CONFLICT,
                    format!("node {leader} leads the document's partition; follow it there"),
                )
                    .into_response();
            }
            Err(message) => return (StatusCode::SERVICE_UNAVAILABLE, message).into_response(),
        }
    }
    let key = key.clone();
    upgrade.on_upgrade(move |socket| serve(node, space, key, socket))
}

async fn serve(node: Arc<Node>, space: Arc<Space>, key: String, socket: WebSocket) {
    let (mut outgoing, mut incoming) = socket.split();
    let (sink, mut frames) = mpsc::channel::<Arc<str>>(FOLLOW_QUEUE);
    let asked = node
        .ask(&space, &key, |reply| Request::Follow {
            sink: sink.clone(),
            reply,
        })
        .await;
    drop(sink);
    if let Err(Failure { code, message }) = asked {
        let frame = Frame::Failure {
            reason: code,
            message,
        };
        let _ = outgoing
            .send(Message::Text(frame.text().to_string().into()))
            .await;
        let _ = outgoing.send(Message::Close(None)).await;
        return;
    }
    node.replication.followers.fetch_add(1, Ordering::Relaxed);
    tracing::info!(space = %space.name, %key, "a replica follows a document");
    let beat = Frame::Beat.text();
    loop {
        tokio::select! {
            frame = tokio::time::timeout(BEAT_EVERY, frames.recv()) => {
                let (text, last) = match frame {
                    Ok(Some(text)) => {
                        let last = text.starts_with("{\"kind\":\"deleted\"")
                            || text.starts_with("{\"kind\":\"failure\"");
                        (text, last)
                    }
                    // The document task let go of this follower (it stopped).
                    Ok(None) => break,
                    Err(_) => (Arc::clone(&beat), false),
                };
                if outgoing.send(Message::Text(text.to_string().into())).await.is_err() || last {
                    break;
                }
            }
            message = incoming.next() => match message {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = outgoing.send(Message::Close(None)).await;
    node.replication.followers.fetch_sub(1, Ordering::Relaxed);
    tracing::info!(space = %space.name, %key, "a replica stopped following a document");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Context, Who};
    use serde_json::json;

    const COUNTER: &str = include_str!("../../../examples/counter/counter.a");

    fn counter() -> (Space, Engine, Context) {
        let space = Space::compile("counter", "counter.a", COUNTER).expect("the counter compiles");
        let mut engine = Engine::fresh(&space, "k").expect("a document");
        let context = Context {
            who: Who::new("ann", "anonymous"),
            origin: String::new(),
            ip: String::new(),
        };
        let mut construct = context.command("construct", "k", 1);
        construct["arg"] = json!({});
        construct["entropy"] = json!("7");
        engine.execute(construct).expect("constructed");
        engine
            .execute(context.command("connect", "k", 1))
            .expect("connected");
        (space, engine, context)
    }

    fn bump(engine: &mut Engine, context: &Context, at: i64) -> Record {
        let mut send = context.command("send", "k", at);
        send["channel"] = json!("bump");
        send["message"] = json!({"by": 1});
        engine.execute(send).expect("sent")
    }

    fn frames(receiver: &mut mpsc::Receiver<Arc<str>>) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Ok(text) = receiver.try_recv() {
            frames.push(serde_json::from_str(&text).expect("a frame"));
        }
        frames
    }

    #[test]
    fn a_follower_gets_the_dump_then_each_redo_and_a_copy_from_them_is_the_document() {
        let (space, mut engine, context) = counter();
        let (sink, mut receiver) = mpsc::channel(16);
        let mut followers = Followers::default();
        followers.add(sink);
        followers.release(Some(&engine), &space);
        for at in 2..5 {
            let record = bump(&mut engine, &context, at);
            followers.stage(&record);
            followers.release(Some(&engine), &space);
        }
        let frames = frames(&mut receiver);
        let Some(Frame::Reset {
            reason: ResetReason::Start,
            dump,
            ..
        }) = frames.first()
        else {
            panic!("a stream starts with the dump: {frames:?}");
        };
        let mut copy = Engine::restore(&space, "k", dump).expect("a copy");
        for frame in &frames[1..] {
            let Frame::Redo { seq, redo } = frame else {
                panic!("then redos: {frame:?}");
            };
            copy.apply_redo(redo);
            assert_eq!(copy.seq(), *seq);
        }
        assert_eq!(frames.len(), 4);
        assert_eq!(copy.dump().to_string(), engine.dump().to_string());
    }

    #[test]
    fn a_follower_that_falls_behind_gets_a_fresh_dump_instead_of_a_longer_queue() {
        let (space, mut engine, context) = counter();
        let (sink, mut receiver) = mpsc::channel(2);
        let mut followers = Followers::default();
        followers.add(sink);
        followers.release(Some(&engine), &space);
        // The queue holds the dump and one redo; the next ones do not fit.
        for at in 2..6 {
            let record = bump(&mut engine, &context, at);
            followers.stage(&record);
            followers.release(Some(&engine), &space);
        }
        assert_eq!(frames(&mut receiver).len(), 2);
        let record = bump(&mut engine, &context, 7);
        followers.stage(&record);
        followers.release(Some(&engine), &space);
        let caught_up = frames(&mut receiver);
        let [
            Frame::Reset {
                reason: ResetReason::Behind,
                seq,
                dump,
                ..
            },
        ] = caught_up.as_slice()
        else {
            panic!("one fresh dump: {caught_up:?}");
        };
        assert_eq!(*seq, engine.seq());
        assert_eq!(dump.to_string(), engine.dump().to_string());
    }
}
