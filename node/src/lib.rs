//! The Adama node: hosts the documents of many spaces on tokio, keeps them durable in an
//! embedded store with group commit, and serves them over the client protocol (WebSocket and
//! HTTP on one port).
//!
//! Every call into the runtime goes through [`engine`].

pub mod engine;
pub mod store;
