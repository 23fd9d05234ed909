//! Parsing source text with the shared tree-sitter grammar.
//!
//! Parsing always yields a tree: syntax errors become ERROR and MISSING nodes, which
//! [`crate::syntax`] turns into diagnostics. Callers that keep the previous tree pass it back so
//! that an edit re-parses incrementally.

use std::num::NonZeroU16;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use tree_sitter::{Language, Node, Parser, Tree};

use crate::chunks::Chunk;

/// A parsed file: its text and its concrete syntax trees, one per chunk of consecutive
/// top-level items (see [`crate::chunks`]); a small file is one chunk.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub text: String,
    /// In source order; together they cover the whole text.
    pub chunks: Vec<Chunk>,
}

impl ParsedFile {
    /// The root node of each chunk, in source order.
    pub fn roots(&self) -> impl Iterator<Item = Node<'_>> {
        self.chunks.iter().map(Chunk::root)
    }

    /// The top-level nodes of the file (items, comments, errors), in source order.
    pub fn top_level(&self) -> impl Iterator<Item = Node<'_>> {
        self.roots().flat_map(|root| {
            let mut cursor = root.walk();
            root.children(&mut cursor).collect::<Vec<_>>()
        })
    }

    /// The root node of the chunk that holds byte `offset` (the last chunk for the end of the
    /// text).
    pub fn root_at(&self, offset: usize) -> Option<Node<'_>> {
        self.chunks
            .iter()
            .rfind(|chunk| chunk.range.start <= offset)
            .map(Chunk::root)
    }

    /// The smallest node that spans `start..end`, within the chunk that holds `start`.
    pub fn descendant_for_byte_range(&self, start: usize, end: usize) -> Option<Node<'_>> {
        self.root_at(start)?.descendant_for_byte_range(start, end)
    }
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

/// The id of each field name of the grammar. Tree-sitter finds a field by name by comparing it
/// with every field name of the language, and the compiler asks for fields at nearly every node,
/// so the names are hashed once here instead.
pub fn field_id(name: &str) -> Option<NonZeroU16> {
    static IDS: OnceLock<FxHashMap<String, NonZeroU16>> = OnceLock::new();
    IDS.get_or_init(|| {
        let language = language();
        (1..=language.field_count())
            .filter_map(|id| {
                let id = u16::try_from(id).ok()?;
                Some((
                    language.field_name_for_id(id)?.to_owned(),
                    NonZeroU16::new(id)?,
                ))
            })
            .collect()
    })
    .get(name)
    .copied()
}

/// The child in field `name`, if there is one: `Node::child_by_field_name` without the search
/// through the language's field names.
pub fn child_by_field<'tree>(node: Node<'tree>, name: &str) -> Option<Node<'tree>> {
    node.child_by_field_id(field_id(name)?.get())
}

/// A value for every node kind of the grammar, computed once from the kind's name, so that walks
/// over every node dispatch on the kind's id rather than compare its name with many strings.
///
/// Invariant: `Node::kind` is the name of `Node::kind_id`, so looking a node up here gives what
/// `classify(node.kind())` gives.
pub struct KindTable<T> {
    by_id: Vec<T>,
    classify: fn(&str) -> T,
}

impl<T: Copy> KindTable<T> {
    /// The table of `classify` over every kind name of the language.
    pub fn new(classify: fn(&str) -> T) -> KindTable<T> {
        let language = language();
        let by_id = (0..language.node_kind_count())
            .map(|id| {
                let name = u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .unwrap_or("");
                classify(name)
            })
            .collect();
        KindTable { by_id, classify }
    }

    /// The value of `node`'s kind; kinds outside the table (the ERROR symbol) are classified by
    /// name.
    pub fn get(&self, node: Node<'_>) -> T {
        match self.by_id.get(usize::from(node.kind_id())) {
            Some(value) => *value,
            None => (self.classify)(node.kind()),
        }
    }
}

impl<T> std::fmt::Debug for KindTable<T> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KindTable")
            .field("kinds", &self.by_id.len())
            .finish_non_exhaustive()
    }
}
