//! The Adama node: hosts the documents of many spaces on tokio, keeps them durable in an
//! embedded store with group commit, and serves them over the client protocol (WebSocket and
//! HTTP on one port).
//!
//! Every call into the runtime goes through [`engine`].

mod allocator;
pub mod attachments;
pub mod authorization;
pub mod cluster;
pub mod commit;
pub mod cookies;
pub mod document;
pub mod engine;
pub mod export;
pub mod heartbeat;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod node;
pub mod once;
pub mod outlet;
pub mod password;
pub mod protocol;
pub mod reflect;
pub mod replica;
pub mod server;
pub mod signing;
pub mod socket;
pub mod staged_upload;
pub mod store;
pub mod upgrade;
pub mod view_diff;
pub mod websocket;

pub use engine::MemoryBudget;
pub use node::{Config, Node, SpaceSource};
pub use server::{Running, runtime, start};

pub use allocator::{Allocator, return_freed_memory_at_once};

/// Locks `mutex`, going on with what it holds if a holder panicked: no lock in the node is
/// held across a step that could leave its data half changed.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
