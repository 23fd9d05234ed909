//! The Adama compiler front end.
//!
//! Source text goes in; diagnostics (and, as the compiler grows, a typed program and the IR the
//! runtime executes) come out. Today this crate parses with the shared tree-sitter grammar and runs
//! the syntax checks: errors recovered by the parser, malformed literals, forbidden operator chains
//! and reserved names. The salsa database of names and types builds on [`parse`] and [`syntax`].
//!
//! Invariant: the compiler does no IO. File contents arrive as text from its callers.

pub mod check;
mod check_cache;
pub mod chunks;
pub mod db;
pub mod diagnostic;
pub mod format;
pub mod hir;
mod incremental;
pub mod ir;
pub mod line_index;
pub mod lower;
pub mod navigation;
pub mod parallel;
pub mod parse;
pub mod queries;
pub mod signatures;
pub mod source;
pub mod syntax;
pub mod ty;

pub use db::{Database, Db, SourceFile};
pub use diagnostic::{Code, Diagnostic, Fix, Label, Severity, TextEdit};
pub use line_index::{LineIndex, Position};
pub use parse::{ParsedFile, parse};
pub use source::{SourceError, decode_source};
