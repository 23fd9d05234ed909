//! The Adama document engine, sans IO.
//!
//! A [`Document`] runs a compiled program ([`adama_compiler::ir::Program`], from [`compile`]) as
//! a differential state machine: each [`Command`] is one transaction that yields a
//! [`TransactionRecord`] (a redo and an undo JSON merge patch of the stored document) or a
//! [`CommandError`] and no change, and a minimal privacy-filtered delta for every open view.
//! Time and randomness arrive inside commands; nothing here reads a clock, a file or a socket,
//! so the same commands always give the same bytes.
//!
//! The public API is what a host needs: create a document ([`Document::new`], or
//! [`Document::of_loaded`] to share one [`Loaded`] program between documents), run commands
//! ([`Document::execute`], [`Document::execute_shared`], [`Document::execute_batch`]), open,
//! update and close views and take their deltas ([`Document::open_view`],
//! [`Document::view_delta_text`]...), dump and rebuild the stored document ([`Document::dump`],
//! [`Document::insert`]), ask when to wake it ([`Document::next_wake`]), run a program's tests
//! ([`run_tests`]) and attach a debugger ([`Document::set_hook`]). The interpreter behind it is
//! private to the crate.

mod authorization;
mod call;
mod command;
mod commit;
mod cron;
mod document;
mod encode;
mod error;
mod eval;
mod exec;
mod hash_order;
mod host_request;
mod json;
mod library;
mod memory;
mod message;
mod ops;
mod place;
mod program;
mod query;
mod random;
mod replication;
mod run;
mod script;
mod stamps;
mod statics;
mod store;
mod table_rows;
mod testing;
mod text;
mod transaction;
mod value;
mod view;
mod view_compose;
mod web;

pub use command::{Command, Origin, REDACTED, is_redacted, redact};
pub use document::{
    Ask, Callee, Document, Limits, Loaded, Meta, QueuedMessage, StatementHook, StatementState,
    Timeout,
};
pub use encode::{principal_from_json, principal_json};
pub use error::{Fault, codes};
pub use host_request::HostRequest;
pub use program::compile;
pub use random::JavaRandom;
pub use script::{run_script, run_script_recorded};
pub use statics::StaticPolicy;
pub use testing::{TestResult, run_test_hooked, run_tests};
pub use transaction::{CommandError, TransactionRecord, apply_patch, merge_patch};
pub use value::Principal;
pub use view::ViewId;
