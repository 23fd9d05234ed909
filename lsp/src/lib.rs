//! The Adama language server.
//!
//! This crate will translate the Language Server Protocol into queries on the compiler's salsa
//! database: diagnostics on every edit, hover with types and declaration comments, go-to-definition,
//! references, rename, completion, semantic tokens, document symbols and formatting. Each request is
//! a thin handler in its own module; only this crate knows LSP types, and it knows nothing of the
//! runtime or the node.
