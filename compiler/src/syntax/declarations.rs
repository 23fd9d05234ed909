//! Declarations the grammar accepts loosely so that their mistakes get a precise message.

use tree_sitter::Node;

use crate::diagnostic::{Code, Diagnostic};

/// A function must declare its return type.
pub fn function(_text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    if node.child_by_field_name("return_type").is_some() {
        return;
    }
    let Some(parameters) = node.child_by_field_name("parameters") else {
        return;
    };
    let at = parameters.end_byte();
    diagnostics.push(
        Diagnostic::error(Code::MissingToken, at..at, "expected '->' and a return type: a function must return a value")
            .with_help("declare what it returns, as in `function f(int x) -> int { … }`, or make it a `procedure`"),
    );
}
