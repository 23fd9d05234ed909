//! The Adama language server.
//!
//! It speaks the Language Server Protocol over stdio and answers from the compiler's salsa
//! database, the same one `adama check` uses, so the editor and the command line never disagree.
//! `server.rs` holds the protocol loop and the open documents; each request is a thin handler in
//! `handlers/`, and every conversion between protocol types and compiler values lives in
//! `convert.rs`. Only this crate knows LSP types; it knows nothing of the runtime or the node.

mod convert;
mod document;
mod handlers;
mod server;
mod workspace;

pub use handlers::code_lens::{
    DEBUG_TEST_COMMAND, DEBUG_TEST_OPTION, DEBUG_TEST_TITLE, RUN_TEST_COMMAND, RUN_TEST_TITLE,
};
pub use server::{Backend, serve_stdio};
