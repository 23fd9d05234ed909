//! The 1 s pings of every socket (protocol spec §1.3), from one clock for the whole node.
//!
//! A timer per socket fires ten thousand times a second at ten thousand sockets, each firing
//! armed, stored and woken on its own. Here one task ticks every 10 ms and wakes the sockets of
//! one of a hundred slots; a socket joins the slot whose turn comes a whole second after it
//! opened (to within a tick), so each socket still gets its ping once a second, and the sockets
//! opened together are not all woken at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// How often the clock ticks; each tick is one slot's turn.
const TICK: Duration = Duration::from_millis(10);
/// Slots: one turn of every slot takes the ping period.
const SLOTS: usize = 100;
/// The time between two pings of a socket.
pub const PERIOD: Duration = Duration::from_millis(TICK.as_millis() as u64 * SLOTS as u64);

/// The node's ping clock.
#[derive(Debug)]
pub struct Heartbeat {
    slots: Vec<Notify>,
    /// The number of the latest turn given (one a tick, counted from the start).
    turn: AtomicU64,
    started: tokio::time::Instant,
}

impl Heartbeat {
    /// Starts the clock on the current tokio runtime; it stops once the heartbeat is dropped.
    pub fn start() -> Arc<Heartbeat> {
        let heartbeat = Arc::new(Heartbeat {
            slots: (0..SLOTS).map(|_| Notify::new()).collect(),
            turn: AtomicU64::new(0),
            started: tokio::time::Instant::now(),
        });
        tokio::spawn(tick(Arc::downgrade(&heartbeat), heartbeat.started));
        heartbeat
    }

    /// The slot of a socket that opens now: the first of its turns that is a ping comes a
    /// period after now (to within a tick).
    pub fn slot(&self) -> Slot<'_> {
        let since = self.started.elapsed().as_nanos();
        let turn = since.div_ceil(TICK.as_nanos()) as u64;
        Slot {
            heartbeat: self,
            notify: &self.slots[turn as usize % SLOTS],
            first: turn + SLOTS as u64,
        }
    }
}

/// One socket's place on the clock.
#[derive(Debug)]
pub struct Slot<'a> {
    heartbeat: &'a Heartbeat,
    notify: &'a Notify,
    /// The turn of the first ping: the slot's turns before it come too early after opening.
    first: u64,
}

impl<'a> Slot<'a> {
    /// The slot's next turn, already listening: a turn that comes while the socket is busy
    /// writing is not missed.
    pub fn next_turn(&self) -> std::pin::Pin<Box<Notified<'a>>> {
        let mut turn = Box::pin(self.notify.notified());
        turn.as_mut().enable();
        turn
    }

    /// Whether the turn that just came is a ping: the slot's turn within a tick of joining
    /// is not (counted in turns, not in time, so that a clock held up by a busy machine
    /// neither skips a ping nor pings early).
    pub fn due(&self) -> bool {
        self.heartbeat.turn.load(Ordering::Acquire) >= self.first
    }
}

async fn tick(heartbeat: Weak<Heartbeat>, started: tokio::time::Instant) {
    let mut ticks = tokio::time::interval_at(started + TICK, TICK);
    // A clock held up (a busy machine) catches up slot by slot, in order, so that no slot
    // loses its turn.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut turn: u64 = 1;
    loop {
        ticks.tick().await;
        let Some(heartbeat) = heartbeat.upgrade() else {
            return;
        };
        heartbeat.turn.store(turn, Ordering::Release);
        heartbeat.slots[turn as usize % SLOTS].notify_waiters();
        turn += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_pings_a_period_after_joining_and_then_once_a_period() {
        let heartbeat = Heartbeat::start();
        tokio::time::sleep(Duration::from_millis(234)).await;
        let joined = tokio::time::Instant::now();
        let slot = heartbeat.slot();
        let mut beats = Vec::new();
        while beats.len() < 2 {
            slot.next_turn().await;
            if slot.due() {
                beats.push(joined.elapsed());
            }
        }
        // Never early; late only by as much as a busy machine holds the clock up.
        assert!(
            beats[0] >= PERIOD - TICK,
            "the first ping is early: {beats:?}"
        );
        assert!(beats[0] < PERIOD * 3, "the first ping is late: {beats:?}");
        assert!(
            beats[1] - beats[0] >= PERIOD / 2,
            "two pings in a period: {beats:?}"
        );
        assert!(
            beats[1] - beats[0] < PERIOD * 3,
            "a ping was missed: {beats:?}"
        );
    }

    #[tokio::test]
    async fn sockets_that_open_apart_take_turns_apart() {
        let heartbeat = Heartbeat::start();
        let first = heartbeat.slot();
        tokio::time::sleep(PERIOD / 2).await;
        let second = heartbeat.slot();
        assert!(!std::ptr::eq(first.notify, second.notify));
    }
}
