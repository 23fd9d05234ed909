//! One task per loaded document. It owns the document's engine; requests queue to it, so one
//! document's transactions never run concurrently while many documents run in parallel.
//!
//! The task works in rounds: it takes every queued request (up to a bound), runs them, computes
//! the views' deltas, hands the round's records to the group committer, and only once they are
//! durable answers the requests and sends the deltas. Nothing is acknowledged, and no viewer
//! sees a state, before it is durable.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json, json};
use tokio::sync::{mpsc, oneshot};

use adama_runtime::HostRequest;

use crate::engine::{
    ALREADY_CONNECTED, Context, Engine, Policy, Record, Refusal, Space, ViewId, Who,
};
use crate::node::Node;
use crate::protocol::codes;
use crate::store::{Entry, Write};

/// Why a request failed: a protocol code and words for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Failure {
        Failure::new(codes::from_runtime(refusal.code), refusal.message)
    }
}

type Answer<T> = Box<dyn FnOnce(Result<T, Failure>) + Send>;

/// Where a request's result goes: a channel its caller awaits, or a function the document task
/// calls itself, which spares a socket's request a task and a channel hop, and puts its
/// acknowledgement in the socket's queue right behind the round's delta (one write for both).
/// A request dropped unanswered (its document closed first) reaches the function as a failure;
/// a channel's caller sees the channel close.
pub struct Reply<T>(Option<Route<T>>);

enum Route<T> {
    Channel(oneshot::Sender<Result<T, Failure>>),
    Call(Answer<T>),
}

impl<T> Reply<T> {
    /// A reply awaited on the receiver.
    pub fn channel() -> (Reply<T>, oneshot::Receiver<Result<T, Failure>>) {
        let (sender, receiver) = oneshot::channel();
        (Reply(Some(Route::Channel(sender))), receiver)
    }

    /// A reply handled by `answer`, on the document's task.
    pub fn call(answer: impl FnOnce(Result<T, Failure>) + Send + 'static) -> Reply<T> {
        Reply(Some(Route::Call(Box::new(answer))))
    }

    pub fn send(mut self, result: Result<T, Failure>) {
        match self.0.take() {
            Some(Route::Channel(sender)) => {
                let _ = sender.send(result);
            }
            Some(Route::Call(answer)) => answer(result),
            None => {}
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if let Some(Route::Call(answer)) = self.0.take() {
            answer(Err(Failure::new(
                codes::CATASTROPHIC,
                "the document closed",
            )));
        }
    }
}

impl<T> std::fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let route = match self.0 {
            Some(Route::Channel(_)) => "channel",
            Some(Route::Call(_)) => "call",
            None => "answered",
        };
        f.debug_tuple("Reply").field(&route).finish()
    }
}

/// Where a socket receives its frames: its outlet, which writes them straight to the socket
/// and cuts off a client that lets too many wait.
#[derive(Debug, Clone)]
pub struct Sink {
    outlet: Arc<crate::outlet::Outlet>,
}

/// A frame's text, shared (not copied) by every socket that receives the same bytes.
pub type Frame = axum::extract::ws::Utf8Bytes;

impl Sink {
    pub fn new(outlet: Arc<crate::outlet::Outlet>) -> Sink {
        Sink { outlet }
    }

    /// Sends a frame. While a round is being released, the frame waits in the round's
    /// gathering instead (`Gathering`).
    pub fn push(&self, frame: impl Into<Frame>) {
        let frame = frame.into();
        let left = GATHERING.with(|gathering| match gathering.borrow_mut().as_mut() {
            Some(gathering) => {
                gathering.frames.push((self.clone(), frame));
                None
            }
            None => Some(frame),
        });
        if let Some(frame) = left {
            self.outlet.deliver(std::iter::once(frame));
        }
    }

    /// What tells two sinks of the same socket apart from others.
    fn identity(&self) -> usize {
        Arc::as_ptr(&self.outlet) as usize
    }
}

thread_local! {
    /// The frames of the round being released on this thread, by socket.
    static GATHERING: RefCell<Option<Gathering>> = const { RefCell::new(None) };
}

/// The frames a round releases, gathered by socket and sent socket by socket when the round
/// is out: a viewer's delta and the acknowledgement behind it leave in one write (one system
/// call for the node, one read for the client) rather than two. The order of each socket's
/// frames is kept.
struct Gathering {
    frames: Vec<(Sink, Frame)>,
}

impl Gathering {
    /// Sends the gathered frames, one write per socket.
    fn release(mut self) {
        // Stable: each socket's frames stay in their order.
        self.frames.sort_by_key(|(sink, _)| sink.identity());
        let mut frames = self.frames.into_iter().peekable();
        while let Some((sink, first)) = frames.next() {
            let socket = sink.identity();
            let same = std::iter::from_fn(|| frames.next_if(|next| next.0.identity() == socket));
            sink.outlet
                .deliver(std::iter::once(first).chain(same.map(|(_, frame)| frame)));
        }
    }
}

/// Gathers the frames pushed on this thread until it is dropped, then queues them; the release
/// of a round runs without an await, so every push of it happens on this thread. Inert when a
/// gathering is already open.
struct GatherGuard {
    open: bool,
}

impl GatherGuard {
    /// Opens the thread's gathering with `frames` in it, or adds them to the one already open.
    fn open(frames: Vec<(Sink, Frame)>) -> GatherGuard {
        let open = GATHERING.with(|gathering| {
            let mut gathering = gathering.borrow_mut();
            match gathering.as_mut() {
                Some(open) => {
                    open.frames.extend(frames);
                    false
                }
                None => {
                    *gathering = Some(Gathering { frames });
                    true
                }
            }
        });
        GatherGuard { open }
    }
}

impl Drop for GatherGuard {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let gathered = GATHERING.with(|gathering| gathering.borrow_mut().take());
        if let Some(gathered) = gathered {
            gathered.release();
        }
    }
}

/// The kinds of `@web` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebMethod {
    Get,
    Put,
    Delete,
    Options,
}

/// What a document task is asked to do.
#[derive(Debug)]
pub enum Request {
    /// `connection/create`: connect if needed, then open a view whose items go to `sink`
    /// under `stream`. `token` names the view in later requests.
    Connect {
        context: Context,
        viewer_state: Json,
        sink: Sink,
        stream: i64,
        token: u64,
        reply: Reply<()>,
    },
    /// A send, through a view (`token`) or directly.
    Send {
        token: Option<u64>,
        context: Context,
        channel: String,
        message: Json,
        marker: Option<String>,
        missing: i32,
        reply: Reply<i32>,
    },
    Update {
        token: u64,
        state: Json,
        reply: Reply<()>,
    },
    /// Closes a view; `reply` is `None` when its socket closed.
    End {
        token: u64,
        reply: Option<Reply<()>>,
    },
    Create {
        context: Context,
        arg: Json,
        entropy: Option<i64>,
        reply: Reply<()>,
    },
    Delete {
        context: Context,
        reply: Reply<()>,
    },
    Web {
        method: WebMethod,
        context: Context,
        request: Json,
        reply: Reply<Json>,
    },
    /// Whether the principal (of the view `token`, else of `context`) may upload a file.
    /// Without a view the document is invented if needed, as for a connect.
    CanAttach {
        token: Option<u64>,
        context: Context,
        missing: i32,
        reply: Reply<bool>,
    },
    /// An `attach` command: the asset (its JSON) joins the document and `@attached` runs.
    Attach {
        token: Option<u64>,
        context: Context,
        asset: Json,
        missing: i32,
        reply: Reply<i32>,
    },
    /// `document/authorization`: runs `@authorization` on a login message; no transaction.
    Authorize {
        context: Context,
        message: Json,
        reply: Reply<Json>,
    },
    /// `document/authorize` and kin: runs the deprecated `@authorize`; the agent it named. No
    /// transaction.
    AuthorizeUser {
        context: Context,
        username: String,
        password: String,
        reply: Reply<String>,
    },
    /// `connection/password` and the `…-with-reset` logins: `@authorize` checks the user, then
    /// a `password` command runs `@password` as the agent it named (`doc/<space>/<key>`); the
    /// agent comes back.
    Password {
        context: Context,
        username: String,
        password: String,
        new_password: String,
        reply: Reply<String>,
    },
    /// Moves the document to a new version of its space's code.
    Upgrade {
        space: Arc<Space>,
    },
    /// A replica follows the document: its dump, then each committed redo, go to `sink`.
    Follow {
        sink: crate::replica::follow::FollowSink,
        reply: Reply<()>,
    },
    /// Leaves memory because another node now runs the document (its cluster partition has a
    /// new leader); its streams fail with a retryable code so their clients open them again.
    Release,
}

struct ViewSub {
    view: ViewId,
    who: Who,
    /// The view state, kept to reopen the view in new code.
    state: Json,
    sink: Sink,
    stream: i64,
    /// Not yet sent its first item (after which the view-state filter follows).
    fresh: bool,
    /// The document's seq as of the last item sent.
    seen_seq: Option<i32>,
}

impl ViewSub {
    /// Whether `delta` tells the view nothing it was not told: only the seq, and the seq it
    /// already has. A round that changed nothing (a refused send, a `can-attach`) leaves the
    /// seq where it was, and its views get no item.
    fn told_all(&self, delta: &str, seq: i32) -> bool {
        self.seen_seq == Some(seq)
            && delta
                .strip_prefix("{\"seq\":")
                .and_then(|rest| rest.strip_suffix('}'))
                .and_then(|number| number.parse::<i32>().ok())
                == Some(seq)
    }
}

type Deferred = Box<dyn FnOnce(Option<&Failure>) + Send>;

/// How many times a round carries out what code asked before it gives up on code that asks
/// again from every `@disconnected`.
const KICK_PASSES: usize = 8;

/// How many queued requests one round takes.
const ROUND: usize = 256;

/// The most log entries a load replays after the latest snapshot, whatever the history kept.
const SNAPSHOT_EVERY: u64 = 500;

/// After how many logged entries a document writes a snapshot: often enough that a load
/// replays a short tail however long the history is, and at least twice per
/// `maximum_history`, so that compaction can drop what the history no longer keeps.
pub fn snapshot_interval(maximum_history: usize) -> u64 {
    (maximum_history as u64 / 2).clamp(1, SNAPSHOT_EVERY)
}

pub(crate) struct DocumentTask {
    node: Arc<Node>,
    space: Arc<Space>,
    key: String,
    name: Arc<str>,
    generation: u64,
    engine: Option<Engine>,
    next_index: u64,
    /// Entries logged since the latest snapshot: what a load would replay.
    since_snapshot: u64,
    /// The document's timer as the store's wake-up table holds it. While the document is
    /// loaded only its task writes that entry, in the commit of the round that changed the
    /// timer, so that a node that stops (or, in a cluster, the member that takes over) finds
    /// every pending timer there, not only those of documents that were unloaded.
    recorded_wake: Option<i64>,
    views: HashMap<u64, ViewSub>,
    writes: Vec<Write>,
    deferred: Vec<Deferred>,
    frames: Vec<(Sink, Frame)>,
    /// The document was deleted this round: its streams end and the task stops.
    deleted: bool,
    /// Another node runs the document now: the task ends after this round.
    released: bool,
    committed: u64,
    followers: crate::replica::Followers,
    /// The connection whose message is being handled (view-state items go to it).
    sender: Option<u64>,
    /// What committed code asked of the node this round, with the connection that sent the
    /// message it handled.
    asked: Vec<(Option<u64>, HostRequest)>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

fn random_entropy() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(now_ms());
    hasher.finish() as i64
}

impl DocumentTask {
    pub(crate) fn spawn(
        node: Arc<Node>,
        space: Arc<Space>,
        key: String,
        generation: u64,
    ) -> mpsc::Sender<Request> {
        let (sender, requests) = mpsc::channel(4096);
        let name: Arc<str> = Arc::from(format!("{}/{}", space.name, key));
        let task = DocumentTask {
            node,
            space,
            key,
            name,
            generation,
            engine: None,
            next_index: 1,
            since_snapshot: 0,
            recorded_wake: None,
            views: HashMap::new(),
            writes: Vec::new(),
            deferred: Vec::new(),
            frames: Vec::new(),
            deleted: false,
            released: false,
            committed: 0,
            followers: crate::replica::Followers::default(),
            sender: None,
            asked: Vec::new(),
        };
        tokio::spawn(task.run(requests));
        sender
    }

    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        self.node
            .metrics
            .documents_loaded
            .fetch_add(1, Ordering::Relaxed);
        let permit = self.begin_round().await;
        let healthy = match self.load().await {
            Ok(()) => self.flush().await,
            Err(failure) => {
                tracing::error!(document = %self.name, error = %failure.message, "the document cannot load");
                self.refuse_all(&mut requests, &failure).await;
                false
            }
        };
        drop(permit);
        if healthy {
            self.serve(&mut requests).await;
        }
        self.node
            .metrics
            .documents_loaded
            .fetch_sub(1, Ordering::Relaxed);
        self.node.forget(&self.name, self.generation);
        // Requests that raced with the unload were not run; their callers see a closed reply
        // and ask again, which loads the document anew.
        requests.close();
        while requests.try_recv().is_ok() {}
    }

    /// Answers every request with the load failure until the callers stop asking for a while.
    async fn refuse_all(&mut self, requests: &mut mpsc::Receiver<Request>, failure: &Failure) {
        while let Ok(Some(request)) =
            tokio::time::timeout(Duration::from_secs(1), requests.recv()).await
        {
            match request {
                Request::Connect { reply, .. }
                | Request::Update { reply, .. }
                | Request::Create { reply, .. }
                | Request::Delete { reply, .. } => {
                    reply.send(Err(failure.clone()));
                }
                Request::Send { reply, .. } => {
                    reply.send(Err(failure.clone()));
                }
                Request::Web { reply, .. } | Request::Authorize { reply, .. } => {
                    reply.send(Err(failure.clone()));
                }
                Request::CanAttach { reply, .. } => {
                    reply.send(Err(failure.clone()));
                }
                Request::Attach { reply, .. } => {
                    reply.send(Err(failure.clone()));
                }
                Request::AuthorizeUser { reply, .. } | Request::Password { reply, .. } => {
                    reply.send(Err(failure.clone()));
                }
                Request::End { reply, .. } => {
                    if let Some(reply) = reply {
                        reply.send(Err(failure.clone()));
                    }
                }
                Request::Upgrade { .. } | Request::Release => {}
                Request::Follow { reply, .. } => {
                    reply.send(Err(failure.clone()));
                }
            }
        }
    }

    async fn serve(&mut self, requests: &mut mpsc::Receiver<Request>) {
        let idle = self.node.config.idle_unload;
        let mut idle_since = Instant::now();
        // Whether the last round took several requests: the document is busy.
        let mut busy = false;
        loop {
            let wake = self
                .engine
                .as_ref()
                .and_then(Engine::next_wake)
                .map(|at| (at - now_ms()).clamp(10, 300_000) as u64)
                .map(|delay| tokio::time::Instant::now() + Duration::from_millis(delay));
            let unload_at = tokio::time::Instant::from_std(idle_since + idle);
            // Held until the round's writes are committed.
            let permit;
            tokio::select! {
                request = requests.recv() => {
                    let Some(first) = request else { return };
                    // A busy document lets the sockets that are ready to read queue their
                    // requests too before it takes the round: fewer, larger rounds mean fewer
                    // commits to wait for and fewer deltas to write. A document that gets one
                    // request at a time goes on at once: the wait would only cost it a
                    // reschedule and its sender the time.
                    if busy {
                        tokio::task::yield_now().await;
                    }
                    permit = self.begin_round().await;
                    self.handle(first);
                    let mut taken = 1;
                    while taken < ROUND {
                        match requests.try_recv() {
                            Ok(request) => {
                                self.handle(request);
                                taken += 1;
                            }
                            Err(_) => break,
                        }
                    }
                    busy = taken > 1;
                }
                () = sleep_until(wake) => {
                    permit = self.begin_round().await;
                    self.invalidate();
                }
                () = tokio::time::sleep_until(unload_at), if self.views.is_empty() && self.followers.is_empty() => {
                    let _permit = self.begin_round().await;
                    if self.unload().await {
                        return;
                    }
                    idle_since = Instant::now();
                    continue;
                }
            }
            let healthy = self.flush().await;
            drop(permit);
            if !healthy || self.deleted || self.released {
                return;
            }
            idle_since = Instant::now();
        }
    }

    /// In a cluster, waits until a round may run (a deploy of the partition is proposed
    /// between two rounds, `cluster/rounds.rs`) and first moves the document to the code its
    /// partition deployed last, so that every record the round commits ran on it.
    async fn begin_round(&mut self) -> Option<crate::cluster::rounds::RoundPermit> {
        let cluster = self.node.cluster.clone()?;
        let (permit, deployed) = cluster.round(&self.name, &self.space.name).await;
        if let Some(code) = deployed
            && *code.source != *self.space.source
        {
            self.upgrade(code);
        }
        permit
    }

    /// Fails every stream (retryable) so that its client opens it again where the document
    /// runs now.
    fn release(&mut self) {
        tracing::info!(document = %self.name, "another node leads the document's partition now; releasing it");
        self.fail_streams();
        // Replicas following it go to the new leader for the document.
        self.followers.end(&crate::replica::frame::Frame::Failure {
            reason: codes::CATASTROPHIC,
            message: "another node leads the document's partition now".into(),
        });
        self.released = true;
    }

    /// Fails every stream with the retryable code and forgets the views.
    fn fail_streams(&mut self) {
        for sub in self.views.values() {
            sub.sink.push(format!(
                "{{\"failure\":{},\"reason\":{},\"retry\":true}}",
                sub.stream,
                codes::CATASTROPHIC
            ));
        }
        self.node
            .metrics
            .streams
            .fetch_sub(self.views.len() as i64, Ordering::Relaxed);
        self.views.clear();
    }

    /// Leaves memory; a pending timer is in the store's wake-up table (the rounds record it),
    /// and the node loads the document again when it is due.
    async fn unload(&mut self) -> bool {
        let wake = self.engine.as_ref().and_then(Engine::next_wake);
        if let Some(write) = self.wake_write(wake) {
            if let Err(error) = self.node.committer.commit(vec![write]).await {
                // Without its wake-up the document must stay loaded to keep its timer.
                tracing::warn!(document = %self.name, %error, "cannot record a wake-up; staying loaded");
                return false;
            }
            self.recorded_wake = wake;
        }
        if let Some(at) = wake {
            self.node.schedule_wake(at, Arc::clone(&self.name));
        }
        tracing::debug!(document = %self.name, wake = ?wake, "unloading an idle document");
        true
    }

    /// The write that records `wake` as the document's next timer in the wake-up table, when
    /// the table holds another.
    fn wake_write(&self, wake: Option<i64>) -> Option<Write> {
        (wake != self.recorded_wake).then(|| Write::Wake {
            document: Arc::clone(&self.name),
            at: wake,
        })
    }

    /// Loads the document from the store, runs `@load`, and disconnects the principals the
    /// stored document holds as connected (they have no view here).
    async fn load(&mut self) -> Result<(), Failure> {
        let store = Arc::clone(&self.node.store);
        let name = Arc::clone(&self.name);
        let stored = tokio::task::spawn_blocking(move || store.load(&name))
            .await
            .map_err(|_| Failure::new(codes::CATASTROPHIC, "the load stopped unexpectedly"))?
            .map_err(|error| Failure::new(codes::CATASTROPHIC, error.to_string()))?;
        let Some(stored) = stored else {
            return Ok(());
        };
        self.next_index = stored.last_index() + 1;
        self.since_snapshot = stored.tail.len() as u64;
        self.recorded_wake = stored.wake;
        let json = stored.fold();
        let engine = Engine::restore(&self.space, &self.key, &json)
            .map_err(|message| Failure::new(codes::CATASTROPHIC, message))?;
        self.engine = Some(engine);
        let load = json!({"command": "load", "timestamp": now_ms(), "reason": "load"});
        let _ = self.run_command(load);
        let ghosts = self
            .engine
            .as_ref()
            .map(Engine::clients)
            .unwrap_or_default();
        for who in ghosts {
            let context = Context {
                who,
                origin: "adama".into(),
                ip: "127.0.0.1".into(),
            };
            let _ = self.run_command(context.command("disconnect", &self.key, now_ms()));
        }
        Ok(())
    }

    /// Runs a command and keeps its record for the round's commit.
    fn run_command(&mut self, command: Json) -> Result<Arc<Record>, Failure> {
        let Some(engine) = self.engine.as_mut() else {
            return Err(Failure::new(
                codes::LOOKUP_FAILED,
                "the document does not exist",
            ));
        };
        match engine.execute(command) {
            Ok(record) => {
                let asked = engine.take_host_requests();
                let record = Arc::new(record);
                let changed = record.redo.as_object().is_none_or(|redo| !redo.is_empty());
                if changed {
                    let entry = Entry::new(&record)
                        .map_err(|error| Failure::new(codes::CATASTROPHIC, error.to_string()))?;
                    self.writes.push(Write::Append {
                        document: Arc::clone(&self.name),
                        index: self.next_index,
                        entry,
                    });
                    self.next_index += 1;
                    self.since_snapshot += 1;
                    self.committed += 1;
                    self.followers.stage(&record);
                }
                // A destroy takes effect at once, so that the round's later requests are not
                // run against a deleted document (they are asked again of a fresh task).
                for request in asked {
                    match request {
                        HostRequest::Destroy => self.destroy(),
                        request => self.asked.push((self.sender, request)),
                    }
                }
                Ok(record)
            }
            Err(refusal) => {
                self.node
                    .metrics
                    .transactions_refused
                    .fetch_add(1, Ordering::Relaxed);
                Err(refusal.into())
            }
        }
    }

    fn invalidate(&mut self) {
        let _ = self.run_command(json!({"command": "invalidate", "timestamp": now_ms()}));
    }

    fn defer<T: Send + 'static>(&mut self, reply: Reply<T>, result: Result<T, Failure>) {
        self.deferred
            .push(Box::new(move |failure: Option<&Failure>| {
                let result = match failure {
                    Some(failure) => Err(failure.clone()),
                    None => result,
                };
                reply.send(result);
            }));
    }

    fn is_constructed(&self) -> bool {
        self.engine.as_ref().is_some_and(Engine::is_constructed)
    }

    /// Constructs the document.
    fn construct(
        &mut self,
        context: &Context,
        arg: Json,
        entropy: Option<i64>,
    ) -> Result<(), Failure> {
        let engine = Engine::fresh(&self.space, &self.key)
            .map_err(|message| Failure::new(codes::CATASTROPHIC, message))?;
        self.engine = Some(engine);
        let mut command = context.command("construct", &self.key, now_ms());
        command["arg"] = arg;
        command["entropy"] = json!(entropy.unwrap_or_else(random_entropy).to_string());
        match self.run_command(command) {
            Ok(_) => Ok(()),
            Err(failure) => {
                self.engine = None;
                Err(failure)
            }
        }
    }

    /// Implicit creation (connect, web): `@static invent` and `create` must both allow it.
    fn ensure_exists(&mut self, context: &Context) -> Result<(), Failure> {
        if self.is_constructed() {
            return Ok(());
        }
        if !self.space.allows(Policy::Invent, context, &self.key) {
            return Err(Failure::new(
                codes::LOOKUP_FAILED,
                "the document does not exist and may not be invented",
            ));
        }
        if !self.space.allows(Policy::Create, context, &self.key) {
            return Err(Failure::new(
                codes::CREATION_REJECTED,
                "the document refused its creation",
            ));
        }
        self.construct(context, Json::Object(Map::new()), None)
    }

    fn handle(&mut self, request: Request) {
        if self.released || self.deleted {
            // Another node runs the document now, or it was deleted earlier in this round; a
            // request taken after that is not run here (a view opened now would outlive the
            // task, and a document created again would append after the deleted log). Its
            // reply, dropped, fails it, and the caller asks again of a fresh task.
            return;
        }
        match request {
            Request::Connect {
                context,
                viewer_state,
                sink,
                stream,
                token,
                reply,
            } => {
                let result = self.connect(&context, viewer_state, sink, stream, token);
                self.defer(reply, result);
            }
            Request::Send {
                token,
                context,
                channel,
                message,
                marker,
                missing,
                reply,
            } => {
                let result = self.send(token, context, channel, message, marker, missing);
                self.defer(reply, result);
            }
            Request::Update {
                token,
                state,
                reply,
            } => {
                let result = match (self.views.get_mut(&token), self.engine.as_mut()) {
                    (Some(sub), Some(engine)) => {
                        crate::engine::fold(&mut sub.state, &state);
                        engine.update_view(sub.view, state);
                        Ok(())
                    }
                    _ => Err(Failure::new(codes::UPDATE_NOT_FOUND, "no such connection")),
                };
                self.defer(reply, result);
            }
            Request::End { token, reply } => {
                // A socket that closed (no reply) has no one to tell what its view missed.
                let result = self.end(token, reply.is_some());
                if let Some(reply) = reply {
                    self.defer(reply, result);
                }
            }
            Request::Create {
                context,
                arg,
                entropy,
                reply,
            } => {
                let result = if self.is_constructed() {
                    Err(Failure::new(
                        codes::ALREADY_CREATED,
                        "the document already exists",
                    ))
                } else if !self.space.allows(Policy::Create, &context, &self.key) {
                    Err(Failure::new(
                        codes::CREATION_REJECTED,
                        "the document refused its creation",
                    ))
                } else {
                    self.construct(&context, arg, entropy)
                };
                self.defer(reply, result);
            }
            Request::Delete { context, reply } => {
                let result = self.delete(&context);
                self.defer(reply, result);
            }
            Request::Web {
                method,
                context,
                request,
                reply,
            } => {
                let result = self.web(method, &context, request);
                self.defer(reply, result);
            }
            Request::CanAttach {
                token,
                context,
                missing,
                reply,
            } => {
                let result = self.can_attach(token, context, missing);
                self.defer(reply, result);
            }
            Request::Attach {
                token,
                context,
                asset,
                missing,
                reply,
            } => {
                let result = self.attach(token, context, asset, missing);
                self.defer(reply, result);
            }
            Request::Authorize {
                context,
                message,
                reply,
            } => {
                let result = match self.engine.as_mut() {
                    Some(engine) if engine.is_constructed() => engine
                        .authorization(&message, &context)
                        .map_err(Failure::from),
                    _ => Err(Failure::new(
                        codes::LOOKUP_FAILED,
                        "the document does not exist",
                    )),
                };
                reply.send(result);
            }
            Request::AuthorizeUser {
                context,
                username,
                password,
                reply,
            } => {
                let result = match self.engine.as_mut() {
                    Some(engine) if engine.is_constructed() => engine
                        .authorize(&username, &password, &context)
                        .map_err(Failure::from),
                    _ => Err(Failure::new(
                        codes::LOOKUP_FAILED,
                        "the document does not exist",
                    )),
                };
                reply.send(result);
            }
            Request::Password {
                context,
                username,
                password,
                new_password,
                reply,
            } => {
                let result = self.password(context, &username, &password, new_password);
                self.defer(reply, result);
            }
            // In a cluster the round's start moved the document to the code its partition
            // deployed last already; an older deploy's request must not move it back.
            Request::Upgrade { space } if self.node.cluster.is_none() => self.upgrade(space),
            Request::Upgrade { .. } => {}
            Request::Follow { sink, reply } => {
                let result = if self.is_constructed() {
                    self.followers.add(sink);
                    Ok(())
                } else {
                    Err(Failure::new(
                        codes::LOOKUP_FAILED,
                        "the document does not exist",
                    ))
                };
                self.defer(reply, result);
            }
            Request::Release => self.release(),
        }
    }

    /// Runtime spec §8.3: dump, insert into the new program, move the views, `load`, and
    /// invalidate. Stored fields carry over and new ones take their defaults; each view's next
    /// item carries what it shows under the new code.
    fn upgrade(&mut self, space: Arc<Space>) {
        let Some(old) = self.engine.as_mut() else {
            self.space = space;
            return;
        };
        let dump = old.dump();
        let mut engine = match Engine::restore(&space, &self.key, &dump) {
            Ok(engine) => engine,
            Err(message) => {
                tracing::error!(document = %self.name, %message, "the new code cannot take the document; it stays on the old code");
                return;
            }
        };
        let mut tokens: Vec<u64> = self.views.keys().copied().collect();
        tokens.sort_unstable();
        for token in tokens {
            let Some(sub) = self.views.get_mut(&token) else {
                continue;
            };
            if sub.fresh {
                // Not sent anything yet: its first item shows the new code whole.
                sub.view = engine.open_view(&sub.who, sub.state.clone());
                continue;
            }
            // What the viewer holds is the old code's whole view; it receives only what
            // differs under the new code (runtime spec §8.3).
            let probe = old.open_view(&sub.who, sub.state.clone());
            let (held, _) = old.whole_view(probe);
            old.close_view(probe);
            sub.view = engine.open_view(&sub.who, sub.state.clone());
            let (shown, mut envelope) = engine.whole_view(sub.view);
            if let Some(data) = crate::view_diff::diff(&held, &shown) {
                envelope.insert("data".into(), Json::Object(data));
            }
            if envelope.contains_key("data") || envelope.contains_key("outstanding") {
                let item = json!({"deliver": sub.stream, "done": false,
                    "response": {"delta": envelope}});
                self.frames
                    .push((sub.sink.clone(), item.to_string().into()));
            }
        }
        self.engine = Some(engine);
        self.space = space;
        self.followers.reset_all();
        let _ =
            self.run_command(json!({"command": "load", "timestamp": now_ms(), "reason": "deploy"}));
        self.invalidate();
        tracing::info!(document = %self.name, "moved to new code");
    }

    fn connect(
        &mut self,
        context: &Context,
        viewer_state: Json,
        sink: Sink,
        stream: i64,
        token: u64,
    ) -> Result<(), Failure> {
        self.ensure_exists(context)?;
        let connected = self
            .engine
            .as_ref()
            .is_some_and(|engine| engine.clients().contains(&context.who));
        if !connected {
            match self.run_command(context.command("connect", &self.key, now_ms())) {
                Ok(_) => {}
                Err(failure) if failure.code == ALREADY_CONNECTED => {}
                Err(failure) => return Err(failure),
            }
        }
        let Some(engine) = self.engine.as_mut() else {
            return Err(Failure::new(
                codes::LOOKUP_FAILED,
                "the document does not exist",
            ));
        };
        let view = engine.open_view(&context.who, viewer_state.clone());
        self.views.insert(
            token,
            ViewSub {
                view,
                who: context.who.clone(),
                state: viewer_state,
                sink,
                stream,
                fresh: true,
                seen_seq: None,
            },
        );
        self.node.metrics.streams.fetch_add(1, Ordering::Relaxed);
        self.invalidate();
        Ok(())
    }

    fn send(
        &mut self,
        token: Option<u64>,
        mut context: Context,
        channel: String,
        message: Json,
        marker: Option<String>,
        missing: i32,
    ) -> Result<i32, Failure> {
        let mut view = None;
        if let Some(token) = token {
            let Some(sub) = self.views.get(&token) else {
                return Err(Failure::new(missing, "no such connection"));
            };
            context.who = sub.who.clone();
            view = Some(sub.view);
        }
        if !self.is_constructed() {
            return Err(Failure::new(
                codes::LOOKUP_FAILED,
                "the document does not exist",
            ));
        }
        let mut command = context.command("send", &self.key, now_ms());
        command["channel"] = Json::String(channel);
        command["message"] = message;
        if let Some(marker) = marker {
            command["marker"] = Json::String(marker);
        }
        if let Some(view) = view {
            command["view-id"] = json!(view);
        }
        self.run_command_from(token, command)
            .map(|record| record.seq)
    }

    /// [`Self::run_command`] for a message a connection sent: what the code pushes to the
    /// sender's client goes to it.
    fn run_command_from(
        &mut self,
        token: Option<u64>,
        command: Json,
    ) -> Result<Arc<Record>, Failure> {
        self.sender = token;
        let result = self.run_command(command);
        self.sender = None;
        result
    }

    /// Carries out what committed code asked of the node (`Document.disconnect`,
    /// `Document.destroy`) before the round's deltas are taken; gives back the view-state
    /// items, which follow the deltas.
    fn carry_out_requests(&mut self) -> Vec<(u64, Json)> {
        let mut items = Vec::new();
        // A kick runs `@disconnected`, whose code may ask again: a few passes, not forever.
        for _ in 0..KICK_PASSES {
            if self.asked.is_empty() {
                break;
            }
            for (sender, request) in std::mem::take(&mut self.asked) {
                match request {
                    // Only code that ran for the sender reaches the sender's client.
                    HostRequest::ViewState { who, item } => {
                        let sender = sender.filter(|token| {
                            self.views.get(token).is_some_and(|sub| sub.who.is(&who))
                        });
                        if let Some(token) = sender {
                            items.push((token, item));
                        }
                    }
                    HostRequest::Disconnect(who) => self.kick(&who, &mut items),
                    HostRequest::Destroy => self.destroy(),
                }
            }
        }
        if !self.asked.is_empty() {
            tracing::warn!(document = %self.name, "code kept asking for kicks; the rest is dropped");
            self.asked.clear();
        }
        items
    }

    /// `Document.disconnect(who)`: each of the principal's streams gets
    /// `{"force-disconnect":true}`, then fails with 403500, and closes as an ended one does.
    /// What it had not been told goes first: its view's last item, then the view-state items
    /// asked for it before the kick (`items`).
    fn kick(&mut self, who: &adama_runtime::Principal, items: &mut Vec<(u64, Json)>) {
        let mut tokens: Vec<u64> = self
            .views
            .iter()
            .filter(|(_, sub)| sub.who.is(who))
            .map(|(token, _)| *token)
            .collect();
        tokens.sort_unstable();
        for token in tokens {
            let Some((sink, stream)) = self
                .views
                .get(&token)
                .map(|sub| (sub.sink.clone(), sub.stream))
            else {
                continue;
            };
            let _ = self.end(token, true);
            for (_, item) in items.extract_if(.., |(to, _)| *to == token) {
                self.frames
                    .push((sink.clone(), delta_frame(stream, &item.to_string()).into()));
            }
            let item = delta_frame(stream, r#"{"force-disconnect":true}"#);
            self.frames.push((sink.clone(), item.into()));
            let failure = crate::protocol::failure(stream, codes::AUTH_DISCONNECTED);
            self.frames.push((sink, failure.into()));
        }
    }

    /// Deletes the document with this round's commit (`Document.destroy()`, an accepted
    /// `document/delete`): its streams end with `done:true`, and the round's later requests go
    /// to a fresh task.
    fn destroy(&mut self) {
        if self.deleted || self.engine.is_none() {
            return;
        }
        self.writes.push(Write::Delete {
            document: Arc::clone(&self.name),
        });
        self.engine = None;
        self.deleted = true;
    }

    /// The principal of a request: the view's when it names one (which must exist).
    fn principal(
        &self,
        token: Option<u64>,
        mut context: Context,
        missing: i32,
    ) -> Result<Context, Failure> {
        if let Some(token) = token {
            let Some(sub) = self.views.get(&token) else {
                return Err(Failure::new(missing, "no such connection"));
            };
            context.who = sub.who.clone();
        }
        Ok(context)
    }

    fn can_attach(
        &mut self,
        token: Option<u64>,
        context: Context,
        missing: i32,
    ) -> Result<bool, Failure> {
        let context = self.principal(token, context, missing)?;
        if token.is_none() {
            self.ensure_exists(&context)?;
        }
        match self.engine.as_mut() {
            Some(engine) if engine.is_constructed() => {
                Ok(engine.can_attach(&context.who, &context))
            }
            _ => Err(Failure::new(
                codes::LOOKUP_FAILED,
                "the document does not exist",
            )),
        }
    }

    fn attach(
        &mut self,
        token: Option<u64>,
        context: Context,
        asset: Json,
        missing: i32,
    ) -> Result<i32, Failure> {
        let context = self.principal(token, context, missing)?;
        if !self.is_constructed() {
            return Err(Failure::new(
                codes::LOOKUP_FAILED,
                "the document does not exist",
            ));
        }
        let mut command = context.command("attach", &self.key, now_ms());
        command["asset"] = asset;
        self.run_command_from(token, command)
            .map(|record| record.seq)
            .map_err(|failure| match failure.code {
                // The runtime refuses an attach of a stranger as it refuses its send; the
                // protocol has a code of its own for it.
                143_373 => Failure::new(codes::ATTACH_NOT_CONNECTED, failure.message),
                _ => failure,
            })
    }

    /// Checks the user with `@authorize`, then runs a `password` command as the agent it named.
    /// The new password goes into the log as the command was received, so a replay runs it the
    /// same.
    fn password(
        &mut self,
        context: Context,
        username: &str,
        password: &str,
        new_password: String,
    ) -> Result<String, Failure> {
        let agent = match self.engine.as_mut() {
            Some(engine) if engine.is_constructed() => engine
                .authorize(username, password, &context)
                .map_err(Failure::from)?,
            _ => {
                return Err(Failure::new(
                    codes::LOOKUP_FAILED,
                    "the document does not exist",
                ));
            }
        };
        let context = Context {
            who: Who::new(&agent, &format!("doc/{}/{}", self.space.name, self.key)),
            ..context
        };
        let mut command = context.command("password", &self.key, now_ms());
        command["password"] = Json::String(new_password);
        self.run_command(command)?;
        Ok(agent)
    }

    /// Closes a view; with `tell`, what it had not been told yet is sent first.
    fn end(&mut self, token: u64, tell: bool) -> Result<(), Failure> {
        let Some(sub) = self.views.remove(&token) else {
            return Err(Failure::new(codes::END_NOT_FOUND, "no such connection"));
        };
        self.node.metrics.streams.fetch_sub(1, Ordering::Relaxed);
        let Some(engine) = self.engine.as_mut() else {
            return Ok(());
        };
        // Requests that arrive together share a round: what the view has not been told yet (its
        // first item, when it opened in this round) goes before its end, as it would have had
        // each request a round of its own.
        if tell
            && let Some(delta) = engine.view_delta(sub.view)
            && !sub.told_all(&delta, engine.seq())
        {
            self.frames
                .push((sub.sink.clone(), delta_frame(sub.stream, &delta).into()));
        }
        engine.close_view(sub.view);
        let last_view = !self.views.values().any(|other| other.who == sub.who);
        let connected = engine.clients().contains(&sub.who);
        if last_view && connected {
            let context = Context {
                who: sub.who,
                origin: String::new(),
                ip: String::new(),
            };
            let _ = self.run_command(context.command("disconnect", &self.key, now_ms()));
        } else {
            self.invalidate();
        }
        Ok(())
    }

    fn delete(&mut self, context: &Context) -> Result<(), Failure> {
        if !self.is_constructed() {
            return Err(Failure::new(
                codes::LOOKUP_FAILED,
                "the document does not exist",
            ));
        }
        self.run_command(context.command("delete", &self.key, now_ms()))?;
        self.destroy();
        Ok(())
    }

    fn web(
        &mut self,
        method: WebMethod,
        context: &Context,
        request: Json,
    ) -> Result<Json, Failure> {
        // A preflight is the browser's, unasked: it invents no document.
        if method == WebMethod::Options && !self.is_constructed() {
            return Err(Failure::new(
                127_692,
                "no such document to answer a preflight",
            ));
        }
        self.ensure_exists(context)?;
        let (kind, field) = match method {
            WebMethod::Get => ("web_get", "get"),
            WebMethod::Put => ("web_put", "put"),
            WebMethod::Delete => ("web_delete", "delete"),
            WebMethod::Options => ("web_options", "options"),
        };
        let mut command = context.command(kind, &self.key, now_ms());
        command[field] = request;
        let record = self.run_command(command)?;
        Ok(record
            .response
            .clone()
            .unwrap_or_else(|| json!({"status": 200})))
    }

    /// Ends the round: deltas are computed now, the writes are made durable, and only then
    /// are the replies and deltas released. False when the document must stop.
    async fn flush(&mut self) -> bool {
        let items = self.carry_out_requests();
        self.collect_deltas();
        for (token, item) in items {
            if let Some(sub) = self.views.get(&token) {
                let frame = delta_frame(sub.stream, &item.to_string());
                self.frames.push((sub.sink.clone(), frame.into()));
            }
        }
        if self.deleted {
            for sub in self.views.values() {
                self.frames.push((
                    sub.sink.clone(),
                    format!("{{\"deliver\":{},\"done\":true}}", sub.stream).into(),
                ));
            }
        } else if self.since_snapshot >= snapshot_interval(self.space.maximum_history)
            && let Some(engine) = &self.engine
        {
            self.writes.push(Write::Snapshot {
                document: Arc::clone(&self.name),
                index: self.next_index - 1,
                json: Arc::new(engine.dump()),
                keep: self.space.maximum_history as u64,
            });
            self.since_snapshot = 0;
        }
        if !self.deleted {
            let wake = self.engine.as_ref().and_then(Engine::next_wake);
            if let Some(write) = self.wake_write(wake) {
                // A failed commit closes the document: what is recorded then no longer matters.
                self.writes.push(write);
                self.recorded_wake = wake;
            }
        }
        let writes = std::mem::take(&mut self.writes);
        let result = self.node.committer.commit(writes).await;
        let deferred = std::mem::take(&mut self.deferred);
        let frames = std::mem::take(&mut self.frames);
        let committed = std::mem::take(&mut self.committed);
        match result {
            Ok(()) => {
                self.node
                    .metrics
                    .transactions_committed
                    .fetch_add(committed, Ordering::Relaxed);
                let _gathering = GatherGuard::open(frames);
                if self.deleted {
                    self.followers.end(&crate::replica::frame::Frame::Deleted);
                    // The streams ended with the document (their `done` frames went above).
                    self.node
                        .metrics
                        .streams
                        .fetch_sub(self.views.len() as i64, Ordering::Relaxed);
                    self.views.clear();
                } else {
                    self.followers.release(self.engine.as_ref(), &self.space);
                }
                for reply in deferred {
                    reply(None);
                }
                true
            }
            Err(error) => {
                // The engine is ahead of the store: nothing of this round is released, the
                // document closes, and the next request reloads it from what is durable.
                tracing::error!(document = %self.name, %error, "a commit failed; the document closes");
                self.node
                    .metrics
                    .transactions_failed
                    .fetch_add(committed, Ordering::Relaxed);
                let failure = Failure::new(codes::CATASTROPHIC, error.to_string());
                self.followers.end(&crate::replica::frame::Frame::Failure {
                    reason: codes::CATASTROPHIC,
                    message: failure.message.clone(),
                });
                for reply in deferred {
                    reply(Some(&failure));
                }
                self.fail_streams();
                false
            }
        }
    }

    fn collect_deltas(&mut self) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        // The view-state filter goes to fresh views only; most rounds have none.
        let filter = if self.views.values().any(|sub| sub.fresh) {
            self.space.view_fields()
        } else {
            Vec::new()
        };
        let mut tokens: Vec<u64> = self.views.keys().copied().collect();
        tokens.sort_unstable();
        let seq = engine.seq();
        // Views that cannot differ get the same delta; a viewer whose stream has the same id
        // (each socket numbers its own) then gets the very bytes another one got.
        let mut encoded: HashMap<i64, (String, Frame)> = HashMap::new();
        for token in tokens {
            let Some(sub) = self.views.get_mut(&token) else {
                continue;
            };
            if let Some(delta) = engine.view_delta(sub.view) {
                if sub.told_all(&delta, seq) {
                    continue;
                }
                sub.seen_seq = Some(seq);
                let frame = match encoded.get(&sub.stream) {
                    Some((same, frame)) if *same == delta => frame.clone(),
                    _ => {
                        let frame = Frame::from(delta_frame(sub.stream, &delta));
                        encoded.insert(sub.stream, (delta, frame.clone()));
                        frame
                    }
                };
                self.frames.push((sub.sink.clone(), frame));
                if sub.fresh {
                    sub.fresh = false;
                    if !filter.is_empty() {
                        let item = json!({"deliver": sub.stream, "done": false,
                            "response": {"delta": {"view-state-filter": filter}}});
                        self.frames
                            .push((sub.sink.clone(), item.to_string().into()));
                    }
                }
            }
        }
    }
}

/// A stream's item carrying a view delta (its JSON text).
fn delta_frame(stream: i64, delta: &str) -> String {
    let mut frame = String::with_capacity(delta.len() + 64);
    frame.push_str("{\"deliver\":");
    let _ = write!(frame, "{stream}");
    frame.push_str(",\"done\":false,\"response\":{\"delta\":");
    frame.push_str(delta);
    frame.push_str("}}");
    frame
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_reply_dropped_unanswered_reaches_its_function_as_a_failure() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let ear = Arc::clone(&heard);
        let reply: Reply<i32> =
            Reply::call(move |result| ear.lock().expect("the answers").push(result));
        drop(reply);
        let heard = heard.lock().expect("the answers");
        assert_eq!(heard.len(), 1);
        assert_eq!(
            heard[0].as_ref().map_err(|f| f.code),
            Err(codes::CATASTROPHIC)
        );
    }

    #[test]
    fn a_reply_answers_once() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let ear = Arc::clone(&heard);
        let reply: Reply<i32> =
            Reply::call(move |result| ear.lock().expect("the answers").push(result));
        reply.send(Ok(7));
        assert_eq!(*heard.lock().expect("the answers"), vec![Ok(7)]);

        let (reply, mut answer) = Reply::<i32>::channel();
        reply.send(Ok(8));
        assert_eq!(answer.try_recv().ok(), Some(Ok(8)));
        let (reply, mut answer) = Reply::<i32>::channel();
        drop(reply);
        assert!(answer.try_recv().is_err(), "a dropped channel reply closes");
    }

    fn sink() -> (Sink, mpsc::Receiver<Frame>) {
        let (outlet, queue) = crate::outlet::Outlet::captured(16);
        (Sink::new(outlet), queue)
    }

    fn drain(queue: &mut mpsc::Receiver<Frame>) -> Vec<String> {
        std::iter::from_fn(|| queue.try_recv().ok())
            .map(|frame| frame.as_str().to_owned())
            .collect()
    }

    #[test]
    fn a_round_queues_each_sockets_frames_back_to_back_in_their_order() {
        let (ann, mut ann_queue) = sink();
        let (bo, mut bo_queue) = sink();
        {
            let _gathering = GatherGuard::open(Vec::new());
            ann.push("ann delta");
            bo.push("bo delta");
            ann.clone().push("ann reply");
            assert!(drain(&mut ann_queue).is_empty(), "nothing leaves mid-round");
            assert!(drain(&mut bo_queue).is_empty(), "nothing leaves mid-round");
        }
        assert_eq!(drain(&mut ann_queue), ["ann delta", "ann reply"]);
        assert_eq!(drain(&mut bo_queue), ["bo delta"]);
        ann.push("after the round");
        assert_eq!(drain(&mut ann_queue), ["after the round"]);
    }

    #[test]
    fn a_delta_frame_is_the_stream_item_the_protocol_names() {
        let frame = delta_frame(12, r#"{"data":{"count":3},"seq":9}"#);
        let parsed: Json = serde_json::from_str(&frame).expect("the frame is JSON");
        assert_eq!(
            parsed,
            json!({"deliver": 12, "done": false,
                "response": {"delta": {"data": {"count": 3}, "seq": 9}}})
        );
    }
}
