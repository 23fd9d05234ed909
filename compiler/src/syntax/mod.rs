//! The syntax checks: everything wrong with a file that can be seen without names or types.
//!
//! One walk over the concrete syntax tree feeds every check: parser recovery (ERROR and MISSING
//! nodes) in [`recovery`], literal validation in [`literals`], operator chains the language forbids
//! in [`chains`], reserved words used as names in [`reserved`], and declarations the grammar
//! accepts loosely in [`declarations`]. The grammar is deliberately a little more permissive than
//! the language in these places, so that each mistake gets a message of its own.

mod chains;
mod declarations;
mod describe;
mod literals;
mod recovery;
mod reserved;
mod temporal;

use std::sync::OnceLock;

use tree_sitter::{Node, Tree};

use crate::diagnostic::Diagnostic;
use crate::parse::KindTable;

/// At most this many syntax diagnostics are reported for one file; past that, they are noise.
pub const MAX_SYNTAX_DIAGNOSTICS: usize = 200;

/// Runs every syntax check on a parsed file and returns the diagnostics in source order.
pub fn check(text: &str, tree: &Tree) -> Vec<Diagnostic> {
    finish(check_node(text, tree.root_node()))
}

/// Runs every syntax check on one node and its descendants, unsorted; [`finish`] orders a
/// file's collected diagnostics.
pub fn check_node(text: &str, root: Node<'_>) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    crate::parse::walk_tree(root, |node| visit(text, node, &mut diagnostics));
    diagnostics
}

#[cfg(test)]
thread_local! {
    /// The nodes [`check_error_free_node`] has seen on this thread, by tree-sitter id.
    pub(crate) static CHECKED_NODES: std::cell::RefCell<std::collections::HashSet<usize>> =
        std::cell::RefCell::default();
}

/// Whether some check looks at nodes of `node`'s kind.
#[cfg(test)]
pub(crate) fn is_checked(node: Node<'_>) -> bool {
    kind_check(node.kind()).is_some() || reserved::declares_a_name(node.kind())
}

/// A check of the nodes of one kind.
type KindCheck = fn(&str, Node<'_>, &mut Vec<Diagnostic>);

/// The check of each node kind that has one.
fn kind_check(kind: &str) -> Option<KindCheck> {
    let check: KindCheck = match kind {
        "number" => literals::number,
        "string" => literals::string,
        "binary_expression"
        | "conditional_expression"
        | "prefix_expression"
        | "containment_expression" => chains::check,
        "function_declaration" => declarations::function,
        "web_handler" => declarations::web_handler,
        "message_field" => declarations::message_field,
        "cached_formula_declaration" => temporal::cached_unit,
        "datetime_literal" => temporal::datetime,
        _ => return None,
    };
    Some(check)
}

/// Checks one node; returns whether its children should be visited.
fn visit(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) -> bool {
    if node.is_error() {
        diagnostics.push(recovery::error_node(text, node));
        return false;
    }
    if node.is_missing() {
        diagnostics.push(recovery::missing_node(text, node));
        return false;
    }
    check_error_free_node(text, node, diagnostics);
    true
}

/// The checks of one node of a tree without ERROR or MISSING nodes, its descendants left out.
///
/// Lowering calls it on every node it reads from an error-free item, which spares that item
/// the walk of [`check_node`]: lowering reads every node a check looks at (the corpus test
/// `lowering_runs_every_syntax_check` holds it to that).
pub(crate) fn check_error_free_node(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    #[cfg(test)]
    CHECKED_NODES.with(|nodes| nodes.borrow_mut().insert(node.id()));
    static CHECKS: OnceLock<KindTable<Option<KindCheck>>> = OnceLock::new();
    if let Some(check) = CHECKS.get_or_init(|| KindTable::new(kind_check)).get(node) {
        check(text, node, diagnostics);
    }
    reserved::check(text, node, diagnostics);
}

/// Sorts, drops diagnostics that a previous one already covers, and caps the count.
///
/// A bad escape stops the language's lexer before any parsing, so it is reported for the whole
/// file, at its very start; the escape itself stays a related location, and its fix still
/// applies there.
pub fn finish(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    for diagnostic in &mut diagnostics {
        if diagnostic.code == crate::diagnostic::Code::InvalidEscape && diagnostic.range.start > 0 {
            let escape = diagnostic.range.clone();
            diagnostic.range = 0..0;
            diagnostic.message = format!("the file can not be read: {}", diagnostic.message);
            diagnostic.related.insert(
                0,
                crate::diagnostic::Label {
                    range: escape,
                    message: "this escape".to_owned(),
                },
            );
        }
    }
    diagnostics.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.range.end));
    let mut kept: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    for diagnostic in diagnostics {
        let covered = kept.last().is_some_and(|previous| {
            previous.range.start == diagnostic.range.start && previous.code == diagnostic.code
        });
        if !covered {
            kept.push(diagnostic);
        }
        if kept.len() == MAX_SYNTAX_DIAGNOSTICS {
            break;
        }
    }
    kept
}

/// The source text of a node (empty if the node's range is not in `text`).
fn node_text<'text>(text: &'text str, node: Node<'_>) -> &'text str {
    text.get(node.byte_range()).unwrap_or("")
}

#[cfg(test)]
mod tests;
