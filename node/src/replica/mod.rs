//! Live read replicas: a document followed as a stream (its dump, then each committed redo)
//! and a copy built from that stream, which serves viewers on another node.
//!
//! - [`follow`]: the primary's side, the route `/~replica/follow` and what a document task
//!   releases to its followers after each durable round;
//! - [`host`]: the replica's side, one task per followed document owning the local copy and
//!   the views opened on it;
//! - [`upstream`]: the replica's client of the primary's protocol, through which every write
//!   goes;
//! - [`streams`]: the requests of a socket on a replica node, routed to the copy or upstream;
//! - [`frame`]: the frames of the follow stream.

pub mod follow;
pub mod frame;
pub mod host;
pub mod streams;
pub mod upstream;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use axum::http::HeaderMap;

pub use follow::Followers;
pub use host::{HeatPolicy, Host, ViewersPolicy};

/// What a node knows of replication: the replica host when it follows a primary
/// (`--replica-of`), and how many follow streams it serves as a primary.
#[derive(Debug, Default)]
pub struct Replication {
    pub host: Option<Arc<Host>>,
    pub followers: AtomicI64,
}

/// The header a replica presents to its primary.
pub const SECRET_HEADER: &str = "x-adama-replica-secret";

/// Whether a peer may follow documents: with a shared secret configured, it must present it;
/// without one, only the node's own machine may.
pub fn admitted(secret: Option<&str>, headers: &HeaderMap, peer: std::net::IpAddr) -> bool {
    match secret {
        Some(secret) => headers
            .get(SECRET_HEADER)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|given| constant_time_eq(given.as_bytes(), secret.as_bytes())),
        None => peer.is_loopback(),
    }
}

/// Compares secrets without stopping at the first difference.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
