//! A socket's sending half, written straight from whoever has frames for it (a document's
//! round, the socket's own replies, the node's ping clock).
//!
//! The frames are encoded into one buffer and written with one system call on the TCP socket,
//! under a lock held only while writing: no task is woken and no library sits between a frame
//! and the kernel. What the socket does not take at once waits, in order, for a task that
//! writes it when the socket is writable again; a caller that comes meanwhile queues behind it.
//! A client that lets more than the allowed frames wait is cut off rather than buffered for.
//!
//! The socket's ping (protocol spec §1.3, once a second) rides along with a write that goes
//! out anyway within `EARLY` before or `LATE` after its time; only a socket that gets nothing
//! in that span is written its ping alone. The node's clock (`heartbeat.rs`) opens and closes
//! that span, so a write only checks a flag. A busy viewer then costs no system call for its
//! pings, and the cadence stays within a tenth of a second of one a second.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

use crate::document::Frame;
use crate::lock;
use crate::websocket;

/// The encoding buffer a thread keeps between writes, in bytes.
const SCRATCH_KEPT: usize = 1 << 20;

/// How long the closing frames may take to leave before the socket is shut regardless.
const CLOSING_GRACE: Duration = Duration::from_secs(5);

/// Where the frames go.
#[derive(Debug)]
enum Io {
    Socket(OwnedWriteHalf),
    /// Kept for whoever holds the receiver (the document's tests).
    #[cfg(test)]
    Captured(tokio::sync::mpsc::Sender<Frame>),
}

/// A socket's sending half, shared by everyone that writes to it.
#[derive(Debug)]
pub struct Outlet {
    io: Io,
    /// Where the task that writes what waits runs: the socket's runtime, whichever thread
    /// (a runtime's or not) wrote the frames. A socket is made on its runtime; a captured
    /// outlet starts no task.
    runtime: Option<tokio::runtime::Handle>,
    state: Mutex<State>,
    /// Frames that may wait for the socket before the client counts as not reading.
    max_waiting: usize,
    /// Wakes the socket's reader to close: its client does not read, or went silent.
    kill: Notify,
    opened: Instant,
    /// The round trip of the last ping, in ms.
    latency: AtomicI64,
    /// A frame came in since the clock's last visit.
    heard: AtomicBool,
    /// The clock's last visit that found a frame had come in, in ms after `opened`.
    last_heard: AtomicU64,
}

/// A write's frames, encoded, and where each ends.
#[derive(Default)]
struct Encoded {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Encoded {
    fn add(&mut self, opcode: u8, payload: &[u8]) {
        websocket::encode(opcode, payload, None, &mut self.bytes);
        self.ends.push(self.bytes.len());
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

#[derive(Debug, Default)]
struct State {
    /// Bytes the socket has not taken yet (from `head` on); not empty exactly while a task is
    /// writing them.
    waiting: Vec<u8>,
    /// How much of `waiting` the socket took already.
    head: usize,
    /// Where each waiting frame ends in `waiting`.
    ends: VecDeque<usize>,
    /// The closing frame is written or waiting: nothing goes after it.
    closing: bool,
    /// The socket is gone, or was cut off.
    broken: bool,
    /// The ping's span is open and no write took it along yet.
    ping_due: bool,
}

thread_local! {
    /// Where a write's frames are encoded before they go: the bytes a socket takes at once
    /// are never kept in a buffer of the socket's own.
    static SCRATCH: std::cell::RefCell<Encoded> = std::cell::RefCell::new(Encoded::default());
}

// Outside tests a socket is the only kind of outlet.
#[cfg_attr(
    not(test),
    allow(irrefutable_let_patterns, clippy::infallible_destructuring_match)
)]
impl Outlet {
    /// The sending half of an accepted socket that may let `max_waiting` frames wait.
    pub fn socket(half: OwnedWriteHalf, max_waiting: usize) -> Arc<Outlet> {
        Outlet::with(Io::Socket(half), max_waiting)
    }

    /// An outlet whose frames go to a channel of `capacity` frames, for tests.
    #[cfg(test)]
    pub fn captured(capacity: usize) -> (Arc<Outlet>, tokio::sync::mpsc::Receiver<Frame>) {
        let (frames, queue) = tokio::sync::mpsc::channel(capacity);
        (Outlet::with(Io::Captured(frames), capacity), queue)
    }

    fn with(io: Io, max_waiting: usize) -> Arc<Outlet> {
        Arc::new(Outlet {
            io,
            runtime: tokio::runtime::Handle::try_current().ok(),
            state: Mutex::new(State::default()),
            max_waiting,
            kill: Notify::new(),
            opened: Instant::now(),
            latency: AtomicI64::new(0),
            heard: AtomicBool::new(false),
            last_heard: AtomicU64::new(0),
        })
    }

    /// Sends text frames in their order, in one write when the socket takes them at once.
    pub fn deliver(self: &Arc<Self>, frames: impl IntoIterator<Item = Frame>) {
        let half = match &self.io {
            Io::Socket(half) => half,
            #[cfg(test)]
            Io::Captured(queue) => {
                for frame in frames {
                    if queue.try_send(frame).is_err() {
                        self.cut_off();
                    }
                }
                return;
            }
        };
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            scratch.clear();
            for frame in frames {
                scratch.add(websocket::TEXT, frame.as_bytes());
            }
            if !scratch.bytes.is_empty() {
                self.write(half, &mut scratch, Sending::Frames);
            }
            // A large first view is not kept encoded for the thread's life.
            if scratch.bytes.capacity() > SCRATCH_KEPT {
                *scratch = Encoded::default();
            }
        });
    }

    /// Sends a control frame (a pong) after what waits.
    pub fn control(self: &Arc<Self>, opcode: u8, payload: &[u8]) {
        if let Io::Socket(half) = &self.io {
            let mut frame = Encoded::default();
            frame.add(opcode, payload);
            self.write(half, &mut frame, Sending::Control);
        }
    }

    /// The ping frame, if one is due and `send` takes it along.
    fn ping(&self, state: &mut State, send: Sending) -> Option<String> {
        if !state.ping_due || !matches!(send, Sending::Frames | Sending::Ping) {
            return None;
        }
        state.ping_due = false;
        let now = self.opened.elapsed().as_millis();
        let latency = self.latency.load(Ordering::Relaxed);
        Some(format!("{{\"ping\":{now},\"latency\":\"{latency}\"}}"))
    }

    /// Writes `frames` now as far as the socket takes them (with the ping, when one is due);
    /// the rest waits for a task that writes it once the socket is writable. Closing frames
    /// are the socket's last: once they are out the socket is shut down.
    fn write(self: &Arc<Self>, half: &OwnedWriteHalf, frames: &mut Encoded, send: Sending) {
        let closing = send == Sending::Closing;
        let mut state = lock(&self.state);
        if state.broken || state.closing {
            return;
        }
        state.closing = closing;
        if let Some(ping) = self.ping(&mut state, send) {
            frames.add(websocket::TEXT, ping.as_bytes());
        }
        if frames.bytes.is_empty() {
            return;
        }
        let bytes = &frames.bytes;
        let draining = !state.waiting.is_empty();
        let written = if draining {
            0
        } else {
            // Straight to the socket, past tokio's readiness (a cold line of memory per
            // socket, read on every write): a write that would block leaves the readiness
            // as it was, and the task that writes what waits finds out from its own write.
            match socket2::SockRef::from(half.as_ref()).send(bytes) {
                Ok(written) => written,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(_) => {
                    drop(state);
                    self.cut_off();
                    return;
                }
            }
        };
        if written == bytes.len() {
            if closing {
                state.broken = true;
                drop(state);
                self.shut();
            }
            return;
        }
        let base = state.waiting.len();
        state.waiting.extend_from_slice(&bytes[written..]);
        let unwritten = frames.ends.iter().filter(|&&end| end > written);
        state.ends.extend(unwritten.map(|end| base + end - written));
        if state.ends.len() > self.max_waiting {
            tracing::info!("closing a socket that does not read its frames");
            drop(state);
            self.cut_off();
            return;
        }
        drop(state);
        if !draining {
            self.spawn(Arc::clone(self).drain());
        }
        if closing {
            let outlet = Arc::clone(self);
            self.spawn(async move {
                tokio::time::sleep(CLOSING_GRACE).await;
                outlet.cut_off();
            });
        }
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// Writes what waits as the socket takes it, then ends (shutting the socket down if the
    /// closing frame was among what waited).
    async fn drain(self: Arc<Self>) {
        let Io::Socket(half) = &self.io else { return };
        loop {
            if half.writable().await.is_err() {
                self.cut_off();
                return;
            }
            let mut state = lock(&self.state);
            if state.broken {
                return;
            }
            let head = state.head;
            match half.try_write(&state.waiting[head..]) {
                Ok(written) => {
                    let head = head + written;
                    while state.ends.front().is_some_and(|&end| end <= head) {
                        state.ends.pop_front();
                    }
                    if head == state.waiting.len() {
                        state.waiting = Vec::new();
                        state.head = 0;
                        if state.closing {
                            state.broken = true;
                            drop(state);
                            self.shut();
                        }
                        return;
                    }
                    state.head = head;
                    // What the socket took goes once it is most of the buffer, not at every
                    // write: no byte is moved more often than the socket takes as many.
                    if head > state.waiting.len() / 2 {
                        state.waiting.drain(..head);
                        for end in state.ends.iter_mut() {
                            *end -= head;
                        }
                        state.head = 0;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    drop(state);
                    self.cut_off();
                    return;
                }
            }
        }
    }

    /// Sends the closing frame after what waits, then shuts the socket down; a socket that
    /// does not take it within a grace period is shut regardless.
    pub fn close(self: &Arc<Self>) {
        if let Io::Socket(half) = &self.io {
            let mut frame = Encoded::default();
            frame.add(websocket::CLOSE, &[]);
            self.write(half, &mut frame, Sending::Closing);
        }
    }

    /// Gives up on the socket: what waits is dropped, the socket is shut down and its reader
    /// told to close.
    pub fn cut_off(&self) {
        let mut state = lock(&self.state);
        // Broken first, in the same lock: no write goes straight out after this.
        state.broken = true;
        state.waiting = Vec::new();
        state.head = 0;
        state.ends.clear();
        drop(state);
        self.shut();
        self.kill.notify_one();
    }

    /// Shuts the socket down; the caller marked it broken.
    fn shut(&self) {
        if let Io::Socket(half) = &self.io {
            // Both ways: the reader sees the end at once, and an unread tail is not waited on.
            let _ = socket2::SockRef::from(half.as_ref()).shutdown(std::net::Shutdown::Both);
        }
    }

    /// Waits until the socket is cut off.
    pub async fn killed(&self) {
        self.kill.notified().await;
    }

    /// Whether the socket is gone (the ping clock forgets it).
    pub fn is_gone(&self) -> bool {
        lock(&self.state).broken
    }

    /// Notes that a frame came in. A flag the clock looks at once a second, rather than the
    /// time of every read.
    pub fn heard(&self) {
        if !self.heard.load(Ordering::Relaxed) {
            self.heard.store(true, Ordering::Relaxed);
        }
    }

    /// Notes the answer to the ping sent at `ping` ms.
    pub fn pong(&self, ping: i64) {
        let round_trip = self.opened.elapsed().as_millis() as i64 - ping;
        self.latency.store(round_trip.max(0), Ordering::Relaxed);
    }

    /// The clock's turn, `EARLY` before the socket's ping time: from now on a write takes
    /// the ping along.
    pub fn ping_soon(&self) {
        lock(&self.state).ping_due = true;
    }

    /// The clock's turn, `LATE` after the socket's ping time: a socket that sent nothing
    /// (pongs included) for `silence` is cut off; any other is written its ping alone if no
    /// write took it along.
    pub fn beat(self: &Arc<Self>, silence: Duration) {
        let now = self.opened.elapsed().as_millis() as u64;
        if self.heard.swap(false, Ordering::Relaxed) {
            self.last_heard.store(now, Ordering::Relaxed);
        }
        let last_heard = self.last_heard.load(Ordering::Relaxed);
        if now.saturating_sub(last_heard) >= silence.as_millis() as u64 {
            tracing::info!("closing a socket that went silent");
            self.cut_off();
            return;
        }
        match &self.io {
            Io::Socket(half) => self.write(half, &mut Encoded::default(), Sending::Ping),
            #[cfg(test)]
            Io::Captured(queue) => {
                let ping = self.ping(&mut lock(&self.state), Sending::Ping);
                if let Some(ping) = ping {
                    let _ = queue.try_send(Frame::from(ping));
                }
            }
        }
    }
}

/// What a write sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// Text frames: the ping goes along if it is due.
    Frames,
    /// A control frame, which takes no ping.
    Control,
    /// The ping alone, if no write took it along.
    Ping,
    /// The closing frame.
    Closing,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a listener");
        let address = listener.local_addr().expect("an address");
        let client = TcpStream::connect(address).await.expect("a connection");
        let (server, _) = listener.accept().await.expect("accepted");
        (server, client)
    }

    /// The text frames in `bytes`, in order.
    fn texts(bytes: &[u8]) -> Vec<String> {
        let mut at = 0;
        let mut texts = Vec::new();
        while at < bytes.len() {
            let header = websocket::header(&bytes[at..], usize::MAX).expect("a whole frame");
            assert_eq!(header.mask, None, "a server's frames are not masked");
            let (from, to) = header.payload;
            if header.opcode == websocket::TEXT {
                texts.push(String::from_utf8(bytes[at + from..at + to].to_vec()).expect("text"));
            } else {
                texts.push(format!("<{}>", header.opcode));
            }
            at += to;
        }
        texts
    }

    #[tokio::test]
    async fn frames_a_socket_does_not_take_at_once_follow_in_order_then_the_close() {
        let (server, mut client) = pair().await;
        let (_read, write) = server.into_split();
        let outlet = Outlet::socket(write, 10_000);
        // Far more than the kernel's buffers hold while the client does not read.
        let sent: Vec<String> = (0..1000)
            .map(|index| format!("{index:04}{}", "x".repeat(16 * 1024)))
            .collect();
        for text in &sent {
            outlet.deliver([Frame::from(text.clone())]);
        }
        assert!(
            !lock(&outlet.state).waiting.is_empty(),
            "some frames wait for the socket"
        );
        outlet.close();
        let mut received = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut received))
            .await
            .expect("the socket is shut once everything is out")
            .expect("read");
        let mut expected = sent.clone();
        expected.push(format!("<{}>", websocket::CLOSE));
        assert_eq!(texts(&received), expected);
    }

    #[tokio::test]
    async fn a_client_that_lets_too_many_frames_wait_is_cut_off() {
        let (server, mut client) = pair().await;
        let (_read, write) = server.into_split();
        let outlet = Outlet::socket(write, 8);
        let frame = Frame::from("y".repeat(64 * 1024));
        for _ in 0..200 {
            outlet.deliver([frame.clone()]);
        }
        tokio::time::timeout(Duration::from_secs(10), outlet.killed())
            .await
            .expect("the reader is told to close");
        assert!(outlet.is_gone());
        assert!(
            lock(&outlet.state).waiting.is_empty(),
            "nothing is kept for it"
        );
        let mut received = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut received))
            .await
            .expect("the socket is shut");
    }
}
