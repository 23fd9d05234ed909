//! Lowering: from the tree-sitter syntax tree to the HIR ([`crate::hir`]).
//!
//! Each top-level item of the `document` node lowers on its own, into an [`Item`] with its own
//! [`Body`] and [`SourceMap`]. Node ids are allocated in source order (a node before its
//! children), with the absolute byte ranges of the file. Children are read by field name, never
//! by position. Lowering never fails: an absent or broken child lowers to `Expr::Missing`,
//! `TypeRef::Missing` or an empty name, since the syntax checks already reported it.
//!
//! The walk over expressions, statements and types recurses; a depth counter stops it after
//! [`MAX_DEPTH`] levels, so that no input can overflow the stack. The files split the work by
//! concern: declarations (`items.rs`, `handlers.rs`, `members.rs`, `parts.rs`), statements
//! (`stmts.rs`), expressions (`exprs.rs`, `values.rs`, `clauses.rs`), types (`types.rs`) and
//! literal text (`literals.rs`).

mod clauses;
mod exprs;
mod handlers;
mod items;
mod literals;
mod members;
mod parts;
mod reuse;
mod stmts;
mod types;
mod values;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, OnceLock};

use tree_sitter::{Node, Tree};

use crate::diagnostic::{Code, Diagnostic};
use crate::hir::{Body, Ident, Item, LoweredItem, NodeId, SourceMap};
use crate::parse::KindTable;

/// How many levels of nested expressions, statements and types lowering follows; deeper nodes
/// lower to `Expr::Missing` (or `Stmt::Empty`, `TypeRef::Missing`) with one diagnostic per item.
pub const MAX_DEPTH: usize = 1000;

/// The HIR of a file, item by item, with the problems lowering found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoweredFile {
    pub items: Vec<LoweredItem>,
    /// The syntax diagnostics of the file and the problems lowering found (nesting too deep),
    /// in source order, with absolute byte ranges.
    pub diagnostics: Vec<Diagnostic>,
}

/// Lowers every top-level item of a parsed file, and runs the syntax checks on each.
pub fn lower_file(text: &str, tree: &Tree) -> LoweredFile {
    lower_file_with(text, &[tree.root_node()], &LowerCache::default(), "")
}

/// Like [`lower_file`], re-using from `cache` every item whose text did not change since the
/// last call for the same `path`.
///
/// Invariant: an error-free top-level item lowers and checks the same way whatever comes before
/// or after it, because the parser reads every item from the same state; so its text alone
/// decides its HIR, its relative spans and its syntax diagnostics. Items with syntax errors are
/// never cached.
pub fn lower_file_with(
    text: &str,
    roots: &[Node<'_>],
    cache: &LowerCache,
    path: &str,
) -> LoweredFile {
    let mut file = LoweredFile {
        items: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut syntax = Vec::new();
    let mut reuse = reuse::Reuse::new(cache.take(path), text);
    let mut nodes: Vec<Node<'_>> = Vec::new();
    for root in roots {
        if root.is_error() {
            // The parser could not place even the outline of this part of the file: nothing in
            // it is an item.
            syntax.extend(crate::syntax::check_node(text, *root));
        } else {
            let mut cursor = root.walk();
            nodes.extend(root.children(&mut cursor));
        }
    }
    // First the previous version's lowering of each unchanged item (asked for in source order),
    // then the others lowered all together, so that a host's thread pool can share them out.
    let reused: Vec<Option<Arc<CachedItem>>> = nodes
        .iter()
        .map(|node| {
            (is_item(*node) && !node.has_error())
                .then(|| reuse.take(node.byte_range(), node.kind_id()))
                .flatten()
        })
        .collect();
    let unseen: Vec<(usize, Node<'_>)> = nodes
        .iter()
        .enumerate()
        .filter(|(index, node)| is_item(**node) && reused[*index].is_none())
        .map(|(index, node)| (index, *node))
        .collect();
    let mut lowered = crate::parallel::map(&unseen, |(index, node)| {
        (*index, lower_top_level(text, *node))
    })
    .into_iter()
    .peekable();
    for ((index, node), cached) in nodes.into_iter().enumerate().zip(reused) {
        let offset = node.start_byte();
        let fresh_lowering = lowered.next_if(|(lowered_index, _)| *lowered_index == index);
        if !is_item(node) {
            syntax.extend(crate::syntax::check_node(text, node));
            continue;
        }
        let entry = match cached {
            Some(entry) => entry,
            None => Arc::new(match fresh_lowering {
                Some((_, entry)) => entry,
                None => lower_top_level(text, node),
            }),
        };
        syntax.extend(
            entry
                .diagnostics
                .iter()
                .map(|diagnostic| shifted(diagnostic, offset)),
        );
        if let (Some(item), Some(decl)) = (&entry.item, &entry.decl) {
            file.items.push(LoweredItem {
                item: Arc::clone(item),
                decl: Arc::clone(decl),
                source_map: Arc::clone(&entry.source_map),
                offset,
            });
        }
        if !node.has_error() {
            reuse.keep(node.byte_range(), node.kind_id(), &entry);
        }
    }
    cache.put(path, reuse.finish(text));
    file.diagnostics = crate::syntax::finish(syntax);
    file
}

/// Whether a top-level node is lowered as an item (rather than only checked for syntax).
fn is_item(node: Node<'_>) -> bool {
    !(node.is_error() || node.is_missing() || !node.is_named() || node.kind() == "comment")
}

/// Lowers one top-level node and checks its syntax, with spans relative to its first byte.
fn lower_top_level(text: &str, node: Node<'_>) -> CachedItem {
    let offset = node.start_byte();
    let mut lowerer = Lowerer::new(text);
    // An item the parser recovered nothing in is checked node by node as lowering reads it;
    // one with ERROR or MISSING nodes (which lowering skips) is walked whole.
    if !node.has_error() {
        lowerer.syntax = Some(Vec::new());
    }
    // Most visible nodes of an item get an id, and many of them are expressions: reserving room
    // for them at once spares growing (and copying) the source map and the arena node by node.
    let nodes = node.descendant_count();
    lowerer.source_map.spans.reserve(nodes);
    lowerer.body.exprs.reserve(nodes / 2);
    let item = lowerer.lower_item(node).map(|mut item| {
        item.body.exprs.shrink_to_fit();
        item
    });
    let mut diagnostics = match lowerer.syntax.take() {
        Some(mut checked) => {
            // A node read twice is checked twice.
            checked.sort_by_key(|diagnostic| {
                (
                    diagnostic.range.start,
                    diagnostic.range.end,
                    diagnostic.code,
                )
            });
            checked.dedup_by(|a, b| a.range == b.range && a.code == b.code);
            checked
        }
        None => crate::syntax::check_node(text, node),
    };
    diagnostics.extend(lowerer.too_deep.take());
    let mut source_map = lowerer.source_map;
    source_map.spans.shrink_to_fit();
    for span in &mut source_map.spans {
        *span = span.start.saturating_sub(offset)..span.end.saturating_sub(offset);
    }
    CachedItem {
        decl: item.as_ref().map(|item| Arc::new(item.without_code())),
        item: item.map(Arc::new),
        source_map: Arc::new(source_map),
        diagnostics: diagnostics
            .iter()
            .map(|diagnostic| unshifted(diagnostic, offset))
            .collect(),
    }
}

fn shifted(diagnostic: &Diagnostic, offset: usize) -> Diagnostic {
    diagnostic.map_ranges(|range| range.start + offset..range.end + offset)
}

fn unshifted(diagnostic: &Diagnostic, offset: usize) -> Diagnostic {
    diagnostic
        .map_ranges(|range| range.start.saturating_sub(offset)..range.end.saturating_sub(offset))
}

/// A lowered top-level node with its syntax diagnostics, spans relative to the node.
#[derive(Debug)]
struct CachedItem {
    item: Option<Arc<Item>>,
    decl: Option<Arc<Item>>,
    source_map: Arc<SourceMap>,
    diagnostics: Vec<Diagnostic>,
}

/// The lowered items of each file's last version.
#[derive(Debug, Default)]
pub struct LowerCache {
    files: Mutex<HashMap<String, reuse::CachedFile>>,
}

impl LowerCache {
    fn take(&self, path: &str) -> Option<reuse::CachedFile> {
        self.files
            .lock()
            .ok()
            .and_then(|mut files| files.remove(path))
    }

    fn put(&self, path: &str, file: reuse::CachedFile) {
        if let Ok(mut files) = self.files.lock() {
            files.insert(path.to_owned(), file);
        }
    }
}

/// The state of lowering one item: the text, and the source map and body being built.
pub(crate) struct Lowerer<'text> {
    text: &'text str,
    source_map: SourceMap,
    body: Body,
    /// How many guarded levels (expressions, statements, types) enclose the current node.
    depth: usize,
    /// The nesting diagnostic of this item, once the depth limit was hit.
    too_deep: Option<Diagnostic>,
    /// The syntax checks of the nodes read so far, when lowering runs them.
    syntax: Option<Vec<Diagnostic>>,
}

impl<'text> Lowerer<'text> {
    fn new(text: &'text str) -> Lowerer<'text> {
        Lowerer {
            text,
            source_map: SourceMap::default(),
            body: Body::default(),
            depth: 0,
            too_deep: None,
            syntax: None,
        }
    }

    /// Lowers one top-level item, whose node gets id 0; `None` when the node is no item.
    fn lower_item(&mut self, node: Node<'_>) -> Option<Item> {
        let id = self.alloc(node);
        let decl = self.lower_decl(node, id)?;
        Some(Item {
            decl,
            body: std::mem::take(&mut self.body),
            node: id,
        })
    }

    /// Allocates an id for a node.
    fn alloc(&mut self, node: Node<'_>) -> NodeId {
        self.read(node);
        self.source_map.alloc(node.byte_range())
    }

    /// Runs the syntax checks of a node and all its descendants, when lowering runs them: for a
    /// part of the item that lowering does not read.
    fn read_whole(&mut self, node: Node<'_>) {
        if let Some(diagnostics) = &mut self.syntax {
            diagnostics.extend(crate::syntax::check_node(self.text, node));
        }
    }

    /// Runs the syntax checks of a node lowering reads, when lowering runs them: those of the
    /// node itself, and those of the parts of it that lowering leaves unread (annotations, the
    /// numbers of a time or a schedule).
    fn read(&mut self, node: Node<'_>) {
        let Some(diagnostics) = &mut self.syntax else {
            return;
        };
        static READING: OnceLock<KindTable<Reading>> = OnceLock::new();
        match READING.get_or_init(|| KindTable::new(reading)).get(node) {
            Reading::Node => crate::syntax::check_error_free_node(self.text, node, diagnostics),
            Reading::Whole => diagnostics.extend(crate::syntax::check_node(self.text, node)),
            Reading::Fields(names) => {
                crate::syntax::check_error_free_node(self.text, node, diagnostics);
                for name in names {
                    if let Some(part) = field(node, name) {
                        diagnostics.extend(crate::syntax::check_node(self.text, part));
                    }
                }
            }
        }
    }

    /// Allocates an id for a child that is absent: an empty range at the end of its parent.
    fn alloc_absent(&mut self, parent: Node<'_>) -> NodeId {
        let end = parent.end_byte();
        self.source_map.alloc(end..end)
    }

    /// The source text of a node (empty when the node is missing or outside the text).
    fn text(&self, node: Node<'_>) -> &'text str {
        if node.is_missing() || node.is_error() {
            return "";
        }
        self.text.get(node.byte_range()).unwrap_or("")
    }

    /// A name read from an identifier (or type identifier) node.
    fn ident(&mut self, node: Node<'_>) -> Ident {
        let node_id = self.alloc(node);
        Ident {
            name: self.text(node).to_owned(),
            node: node_id,
        }
    }

    /// The name in field `name` of `parent`, or an empty name when the field is absent.
    fn ident_field(&mut self, parent: Node<'_>, name: &str) -> Ident {
        match field(parent, name) {
            Some(node) => self.ident(node),
            None => Ident {
                name: String::new(),
                node: self.alloc_absent(parent),
            },
        }
    }

    /// The name in field `name` of `parent`, when present.
    fn opt_ident_field(&mut self, parent: Node<'_>, name: &str) -> Option<Ident> {
        field(parent, name).map(|node| self.ident(node))
    }

    /// Enters one guarded level; returns false (and records the diagnostic) past [`MAX_DEPTH`].
    fn enter(&mut self, node: Node<'_>) -> bool {
        if self.depth >= MAX_DEPTH {
            self.report_too_deep(node);
            return false;
        }
        self.depth += 1;
        true
    }

    /// Records the nesting diagnostic, once per item. Kept out of line so that the frames of the
    /// recursion do not hold a diagnostic.
    #[cold]
    #[inline(never)]
    fn report_too_deep(&mut self, node: Node<'_>) {
        if self.too_deep.is_none() {
            self.too_deep = Some(too_deep(node));
        }
    }

    /// Leaves a level entered with [`Lowerer::enter`].
    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// How much of a node of each kind lowering leaves to [`Lowerer::read`] to check.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Lowering reads every part that a check looks at.
    Node,
    /// Lowering reads the node's text, not its parts: the whole node is walked.
    Whole,
    /// Lowering skips these fields of the node (an annotation, written after a type, a name or
    /// a return type; the period of a cached formula).
    Fields(&'static [&'static str]),
}

fn reading(kind: &str) -> Reading {
    match kind {
        "cron_schedule" | "date_literal" | "datetime_literal" | "enum_label" | "limit_clause"
        | "offset_clause" | "time_literal" | "timespan_literal" | "uri" => Reading::Whole,
        "cached_formula_declaration" => Reading::Fields(&["period"]),
        "dispatch_declaration"
        | "field_declaration"
        | "function_declaration"
        | "generic_type"
        | "local_declaration"
        | "message_declaration"
        | "message_field"
        | "method_declaration"
        | "parameter"
        | "procedure_declaration"
        | "record_declaration"
        | "view_declaration" => Reading::Fields(&["annotation", "return_annotation"]),
        _ => Reading::Node,
    }
}

fn too_deep(node: Node<'_>) -> Diagnostic {
    Diagnostic::error(
        Code::NestingTooDeep,
        node.byte_range(),
        format!("this expression nests more than {MAX_DEPTH} levels deep"),
    )
    .with_help("split it into smaller expressions with local variables")
}

/// The id of field `name` of the grammar.
fn field_id(name: &str) -> Option<NonZeroU16> {
    crate::parse::field_id(name)
}

/// The child in field `name`, if there is one.
fn field<'tree>(node: Node<'tree>, name: &str) -> Option<Node<'tree>> {
    node.child_by_field_id(field_id(name)?.get())
}

/// Every child in field `name`, in source order.
fn fields<'tree>(node: Node<'tree>, name: &str) -> Vec<Node<'tree>> {
    let Some(id) = field_id(name) else {
        return Vec::new();
    };
    let mut cursor = node.walk();
    node.children_by_field_id(id, &mut cursor).collect()
}

/// Whether field `name` holds a child the source really contains (not one the parser invented).
fn has_field(node: Node<'_>, name: &str) -> bool {
    field(node, name).is_some_and(|child| !child.is_missing())
}

/// Whether `node` has the anonymous keyword token `keyword` as a direct child.
fn has_token(node: Node<'_>, keyword: &str) -> bool {
    find_token(node, keyword).is_some()
}

/// The anonymous token `token` among the direct children of `node`, unless the parser invented it.
fn find_token<'tree>(node: Node<'tree>, token: &str) -> Option<Node<'tree>> {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .find(|child| !child.is_named() && !child.is_missing() && child.kind() == token)
}

/// The named children of a node, in source order.
fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}
