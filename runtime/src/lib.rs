//! The Adama document engine, sans IO.
//!
//! A [`document::Document`] runs a compiled program ([`adama_compiler::ir::Program`]) as a
//! differential state machine: each command is one transaction that yields a redo and an undo
//! JSON merge patch of the stored document, and a minimal privacy-filtered delta for every open
//! view. Time and randomness arrive inside commands; nothing here reads a clock, a file or a
//! socket, so the same commands always give the same bytes.

pub mod call;
pub mod command;
pub mod commit;
pub mod cron;
pub mod document;
pub mod encode;
pub mod error;
pub mod eval;
pub mod exec;
pub mod hash_order;
pub mod json;
pub mod library;
pub mod ops;
pub mod place;
pub mod program;
pub mod query;
pub mod random;
pub mod run;
pub mod store;
pub mod testing;
pub mod transaction;
pub mod value;
pub mod view;
pub mod web;

pub use document::Document;
pub use transaction::{CommandError, TransactionRecord};
