//! A socket's sending half, written straight from whoever has frames for it (a document's
//! round, the socket's own replies, its pings) when the socket takes them at once.
//!
//! Handing every frame to a writer task costs a wake-up, a schedule and a poll of that task
//! per socket and round; with ten viewers per document that was a large part of a send's
//! cost. Here the caller writes under a lock held only while it writes, and the writer task is
//! left the frames that must wait: those behind a full socket (and everything after them, so
//! that the order holds), and the closing handshake.
//!
//! The order of a socket's frames holds because a frame goes to the writer's queue only while
//! the outlet is `behind`, under the same lock, and the writer clears `behind` only once it
//! has written the whole queue, under that lock too.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::{Notify, mpsc};

use crate::document::Frame;

/// The frame that tells the writer to close after what is queued.
pub const CLOSE: &str = "";

/// A socket's sending half, shared by the callers that write and the writer task.
#[derive(Debug)]
pub struct Outlet {
    state: Mutex<State>,
    /// Wakes the writer task: it has frames to write, or a write to finish.
    writer: Notify,
}

struct State {
    sink: SplitSink<WebSocket, Message>,
    /// Frames wait for the writer (in its queue, or in the library's buffer of a full socket);
    /// until it caught up, new frames queue behind them.
    behind: bool,
    /// A write failed: the socket is gone, and the writer ends.
    broken: bool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("behind", &self.behind)
            .field("broken", &self.broken)
            .finish()
    }
}

/// What the writer found at the end of what waited.
#[derive(Debug, PartialEq, Eq)]
pub enum CaughtUp {
    /// Everything is written; callers write straight again.
    Written,
    /// The close frame came: the writer sends the close handshake and ends.
    Closing,
    /// The socket is gone.
    Broken,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Outlet {
    pub fn new(sink: SplitSink<WebSocket, Message>) -> Outlet {
        Outlet {
            state: Mutex::new(State {
                sink,
                behind: false,
                broken: false,
            }),
            writer: Notify::new(),
        }
    }

    /// Writes `frames` now, in one system call, when the socket takes them without waiting;
    /// the rest goes to `queue`, in order, for the writer task. False when the queue is full
    /// (the client does not read its frames).
    pub fn deliver(
        &self,
        frames: impl IntoIterator<Item = Frame>,
        queue: &mpsc::Sender<Frame>,
    ) -> bool {
        let mut state = lock(&self.state);
        let mut frames = frames.into_iter().peekable();
        if !state.behind && !state.broken {
            // Nothing is waited on here: a write that would wait is the writer task's.
            let mut cx = Context::from_waker(Waker::noop());
            let mut wrote = false;
            while let Some(frame) = frames.peek() {
                if frame.as_str() == CLOSE {
                    break;
                }
                match state.sink.poll_ready_unpin(&mut cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => {
                        state.broken = true;
                        break;
                    }
                    Poll::Pending => break,
                }
                let Some(frame) = frames.next() else { break };
                if state.sink.start_send_unpin(Message::Text(frame)).is_err() {
                    state.broken = true;
                    break;
                }
                wrote = true;
            }
            if wrote && !state.broken {
                match state.sink.poll_flush_unpin(&mut cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => state.broken = true,
                    Poll::Pending => state.behind = true,
                }
            }
        }
        let mut room = true;
        for frame in frames {
            state.behind = true;
            if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(frame) {
                room = false;
            }
        }
        if state.behind || state.broken {
            self.writer.notify_one();
        }
        room
    }

    /// Waits until there may be something for the writer to do.
    pub async fn wanted(&self) {
        self.writer.notified().await;
    }

    /// The writer's part: writes what waits (`held`, taken from the queue, then the rest of
    /// the queue) and flushes, waiting on the socket as needed.
    pub async fn catch_up(
        &self,
        held: &mut VecDeque<Frame>,
        queue: &mut mpsc::Receiver<Frame>,
    ) -> CaughtUp {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.state);
            if state.broken {
                return Poll::Ready(CaughtUp::Broken);
            }
            loop {
                if held.is_empty() {
                    // Taken under the lock: a caller queues only under it.
                    match queue.try_recv() {
                        Ok(frame) => held.push_back(frame),
                        Err(_) => break,
                    }
                }
                if held.front().is_some_and(|frame| frame.as_str() == CLOSE) {
                    return Poll::Ready(CaughtUp::Closing);
                }
                match state.sink.poll_ready_unpin(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => {
                        state.broken = true;
                        return Poll::Ready(CaughtUp::Broken);
                    }
                    Poll::Pending => return Poll::Pending,
                }
                let Some(frame) = held.pop_front() else { break };
                if state.sink.start_send_unpin(Message::Text(frame)).is_err() {
                    state.broken = true;
                    return Poll::Ready(CaughtUp::Broken);
                }
            }
            match state.sink.poll_flush_unpin(cx) {
                Poll::Ready(Ok(())) => {
                    state.behind = false;
                    Poll::Ready(CaughtUp::Written)
                }
                Poll::Ready(Err(_)) => {
                    state.broken = true;
                    Poll::Ready(CaughtUp::Broken)
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Sends a message through the writer's path (the close handshake), after what waits.
    pub async fn send(&self, message: Message) -> bool {
        let mut message = Some(message);
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.state);
            state.behind = true;
            if let Some(next) = message.take() {
                match state.sink.poll_ready_unpin(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return Poll::Ready(false),
                    Poll::Pending => {
                        message = Some(next);
                        return Poll::Pending;
                    }
                }
                if state.sink.start_send_unpin(next).is_err() {
                    return Poll::Ready(false);
                }
            }
            state.sink.poll_flush_unpin(cx).map(|result| result.is_ok())
        })
        .await
    }
}
