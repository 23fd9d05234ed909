//! The Adama debugger: a document's log walked like a program.
//!
//! A log is the document's whole history, one [`adama_runtime::TransactionRecord`] per line
//! ([`log`]). The [`replay::Replay`] model loads a program and a log, keeps checkpoints of the
//! stored document so a jump never replays from the start, moves forward and back one
//! transaction at a time, runs to breakpoints, shows the document, the message and each viewer's
//! view as trees ([`tree`]), and re-executes each command it steps over to catch a divergence
//! between the program and the log. The model does no IO; [`dap`] puts it behind the Debug
//! Adapter Protocol over any reader and writer (stdio for `adama dap`).

pub mod code;
pub mod dap;
pub mod guard;
pub mod log;
pub mod replay;
pub mod tree;
pub mod watch;
