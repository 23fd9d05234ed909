//! The 1 s pings of every socket (protocol spec §1.3), from one clock for the whole node.
//!
//! A timer per socket fires ten thousand times a second at ten thousand sockets, each firing
//! armed, stored and woken on its own. Here one task ticks every 10 ms and visits the sockets
//! of one of a hundred slots itself, writing to each socket's outlet without waking any task
//! of the socket. A socket joins the slot whose turn comes at each whole second of its life (to
//! within a tick), and is visited `EARLY` before it, from when its ping may go along with other
//! frames (`outlet.rs`), and `LATE` after it, when the ping is written alone if nothing took
//! it. Sockets opened together are not all visited at once. The second visit also cuts off a
//! socket that went silent.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::lock;
use crate::outlet::Outlet;

/// How often the clock ticks; each tick is one slot's turn.
const TICK: Duration = Duration::from_millis(10);
/// Slots: one turn of every slot takes the ping period.
const SLOTS: usize = 100;
/// The time between two pings of a socket.
pub const PERIOD: Duration = Duration::from_millis(TICK.as_millis() as u64 * SLOTS as u64);

/// How long before its time a ping may go with other frames.
const EARLY: Duration = Duration::from_millis(100);
/// How long after its time a ping waits for other frames before it is written alone.
const LATE: Duration = Duration::from_millis(100);
/// Ticks from the visit that opens a socket's ping span to its ping time.
const EARLY_TICKS: u64 = (EARLY.as_millis() / TICK.as_millis()) as u64;
/// Ticks from a socket's ping time to the visit that writes it if nothing took it along.
const LATE_TICKS: u64 = (LATE.as_millis() / TICK.as_millis()) as u64;

/// The node's ping clock.
pub struct Heartbeat {
    slots: Vec<Mutex<Vec<Weak<Outlet>>>>,
    started: tokio::time::Instant,
    /// A socket that sends nothing (pongs included) for this long is cut off.
    silence: Duration,
}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heartbeat")
            .field("silence", &self.silence)
            .finish_non_exhaustive()
    }
}

impl Heartbeat {
    /// Starts the clock on the current tokio runtime; it stops once the heartbeat is dropped.
    /// Sockets silent for `silence` are cut off at their turn.
    pub fn start(silence: Duration) -> Arc<Heartbeat> {
        let heartbeat = Arc::new(Heartbeat {
            slots: (0..SLOTS).map(|_| Mutex::new(Vec::new())).collect(),
            started: tokio::time::Instant::now(),
            silence,
        });
        tokio::spawn(tick(Arc::downgrade(&heartbeat), heartbeat.started));
        heartbeat
    }

    /// Puts a socket that opens now on the clock. It leaves the clock once its outlet is gone
    /// or broken.
    pub fn join(&self, outlet: &Arc<Outlet>) {
        let since = self.started.elapsed().as_nanos();
        let turn = since.div_ceil(TICK.as_nanos()) as u64;
        lock(&self.slots[turn as usize % SLOTS]).push(Arc::downgrade(outlet));
    }

    /// A turn: the sockets whose ping time comes `EARLY` after it may send their pings from
    /// now on, and those whose ping time was `LATE` before it are visited (`Outlet::beat`).
    fn turn(&self, turn: u64) {
        for member in lock(&self.slots[(turn + EARLY_TICKS) as usize % SLOTS]).iter() {
            if let Some(outlet) = member.upgrade() {
                outlet.ping_soon();
            }
        }
        let Some(visited) = turn.checked_sub(LATE_TICKS) else {
            return;
        };
        let mut due = Vec::new();
        lock(&self.slots[visited as usize % SLOTS]).retain(|member| {
            let Some(outlet) = member.upgrade() else {
                return false;
            };
            if outlet.is_gone() {
                return false;
            }
            due.push(outlet);
            true
        });
        // Written outside the slot's lock: a socket that joins meanwhile does not wait.
        for outlet in due {
            outlet.beat(self.silence);
        }
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
        heartbeat.turn(turn);
        turn += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_pings_a_period_after_joining_and_then_once_a_period() {
        let heartbeat = Heartbeat::start(Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(234)).await;
        let joined = tokio::time::Instant::now();
        let (outlet, mut frames) = Outlet::captured(16);
        heartbeat.join(&outlet);
        let mut beats = Vec::new();
        while beats.len() < 2 {
            let ping = frames.recv().await.expect("a ping");
            assert!(ping.as_str().starts_with("{\"ping\":"), "{ping}");
            beats.push(joined.elapsed());
        }
        // Early or late by at most a span (a ping that goes alone is late); later only by as
        // much as a busy machine holds the clock up.
        assert!(
            beats[0] >= PERIOD - EARLY - TICK,
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
    async fn sockets_that_open_apart_are_pinged_apart() {
        let heartbeat = Heartbeat::start(Duration::from_secs(60));
        let (first, mut first_frames) = Outlet::captured(16);
        heartbeat.join(&first);
        tokio::time::sleep(PERIOD / 2).await;
        let (second, mut second_frames) = Outlet::captured(16);
        heartbeat.join(&second);
        first_frames.recv().await.expect("a ping");
        assert!(
            second_frames.try_recv().is_err(),
            "the second socket was pinged with the first"
        );
        second_frames.recv().await.expect("a ping");
    }

    #[tokio::test]
    async fn a_silent_socket_is_cut_off_at_its_turn_and_leaves_the_clock() {
        let heartbeat = Heartbeat::start(Duration::from_millis(500));
        let (silent, mut frames) = Outlet::captured(16);
        heartbeat.join(&silent);
        tokio::time::timeout(PERIOD * 3, silent.killed())
            .await
            .expect("the silent socket is cut off");
        assert!(silent.is_gone());
        assert!(frames.try_recv().is_err(), "a silent socket is not pinged");
        // Forgotten at the slot's next turn.
        tokio::time::sleep(PERIOD + PERIOD / 2).await;
        let members: usize = heartbeat.slots.iter().map(|slot| lock(slot).len()).sum();
        assert_eq!(members, 0, "the socket left the clock");
    }
}
