//! Parsing source text with the shared tree-sitter grammar.
//!
//! Parsing always yields a tree: syntax errors become ERROR and MISSING nodes, which
//! [`crate::syntax`] turns into diagnostics. Callers that keep the previous tree pass it back so
//! that an edit re-parses incrementally.

use tree_sitter::{Language, Node, Parser, Tree};

/// A parsed file: its text and its concrete syntax tree.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub text: String,
    pub tree: Tree,
}

/// The Adama language for tree-sitter.
pub fn language() -> Language {
    tree_sitter_adama::LANGUAGE.into()
}

/// A parser set to the Adama language.
pub fn new_parser() -> Parser {
    let mut parser = Parser::new();
    // Invariant: the bundled parser is generated for an ABI this tree-sitter runtime loads; the
    // grammar crate's own test pins that, so a failure here cannot come from user input.
    parser
        .set_language(&language())
        .unwrap_or_else(|error| panic!("the bundled Adama grammar does not load: {error}"));
    parser
}

/// Parses `text` into a tree. With `old_tree` (already edited with `Tree::edit`), only the changed
/// region is re-parsed.
pub fn parse(text: &str, old_tree: Option<&Tree>) -> Tree {
    let mut parser = new_parser();
    parse_with(&mut parser, text, old_tree)
}

/// Like [`parse`], reusing a parser the caller keeps.
pub fn parse_with(parser: &mut Parser, text: &str, old_tree: Option<&Tree>) -> Tree {
    // Invariant: tree-sitter returns no tree only when parsing was cancelled or no language was
    // set; we never cancel and `new_parser` sets the language.
    parser.parse(text, old_tree).unwrap_or_else(|| {
        panic!(
            "tree-sitter returned no tree for a {} byte text",
            text.len()
        )
    })
}

/// Visits `root` and its descendants in source order; `visit` returns whether to go into the
/// node's children.
///
/// Invariant: the walk is iterative, so deeply nested input cannot overflow the stack.
pub fn walk_tree<'tree>(root: Node<'tree>, mut visit: impl FnMut(Node<'tree>) -> bool) {
    let mut cursor = root.walk();
    'walk: loop {
        let descend = visit(cursor.node());
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node().id() == root.id() {
                break 'walk;
            }
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
}
