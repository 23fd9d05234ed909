//! The Adama debugger.
//!
//! This crate will speak the Debug Adapter Protocol. It loads a program and a recorded log of
//! transaction records, keeps checkpoints of the document, steps forward and backward between
//! records, and re-executes a record's command through the runtime with a per-statement hook, so
//! breakpoints and variable inspection work on a past transaction. It reads exported logs; it knows
//! nothing of the node's storage internals.
