//! The Adama node: hosts the documents of many spaces on tokio, keeps them durable in an
//! embedded store with group commit, and serves them over the client protocol (WebSocket and
//! HTTP on one port).
//!
//! Every call into the runtime goes through [`engine`].

pub mod attachments;
pub mod authorization;
pub mod cluster;
pub mod commit;
pub mod cookies;
pub mod document;
pub mod engine;
pub mod export;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod node;
pub mod once;
pub mod password;
pub mod protocol;
pub mod reflect;
pub mod replica;
pub mod server;
pub mod signing;
pub mod socket;
pub mod store;
pub mod upgrade;
pub mod view_diff;

pub use engine::MemoryBudget;
pub use node::{Config, Node, SpaceSource};
pub use server::{Running, runtime, start};

/// The allocator a node's process uses (`#[global_allocator]` in `adama` and `adama-load`).
/// The node allocates and frees small buffers for every frame of every socket; under load the
/// system allocator spent a sixth of the node's time consolidating and splitting free chunks,
/// and the node's CPU time per acknowledged send fell by about 40 % with this one.
pub use mimalloc::MiMalloc as Allocator;
