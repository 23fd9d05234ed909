//! The Adama grammar for tree-sitter.
//!
//! This crate is the bottom of the stack: it holds `grammar.js`, the generated parser (committed, so
//! building needs only a C compiler), the external scanner for template literals, and the queries
//! editors use. Everything that reads Adama source — the compiler, the language server, the
//! debugger and the runtime node — parses it through [`LANGUAGE`].
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser
//!     .set_language(&tree_sitter_adama::LANGUAGE.into())
//!     .expect("the bundled parser matches the tree-sitter runtime");
//! let tree = parser.parse("public int x = 1;", None).expect("a tree");
//! assert!(!tree.root_node().has_error());
//! ```
#![allow(unsafe_code)]

use tree_sitter_language::LanguageFn;

mod generated;

#[doc(hidden)]
pub use generated::generated_program;

unsafe extern "C" {
    fn tree_sitter_adama() -> *const ();
}

/// The tree-sitter [`LanguageFn`] of the Adama grammar.
///
/// Invariant: the pointer comes from the generated `parser.c`, which lives as long as the program.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_adama) };

/// The content of `src/node-types.json`: every node kind, its fields and children.
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// Syntax highlighting captures, in Neovim's standard capture names.
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// Scopes, definitions and references for local-variable highlighting.
pub const LOCALS_QUERY: &str = include_str!("../../queries/locals.scm");

/// Foldable regions.
pub const FOLDS_QUERY: &str = include_str!("../../queries/folds.scm");

/// Indentation hints.
pub const INDENTS_QUERY: &str = include_str!("../../queries/indents.scm");

/// Symbols for code navigation (definitions of records, messages, functions, channels, ...).
pub const TAGS_QUERY: &str = include_str!("../../queries/tags.scm");

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_parser_loads_into_the_tree_sitter_runtime() {
        let mut parser = tree_sitter::Parser::new();
        assert!(parser.set_language(&super::LANGUAGE.into()).is_ok());
    }
}
