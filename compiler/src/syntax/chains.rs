//! Operator chains that the language forbids without parentheses.
//!
//! The grammar parses `a == b == c`, `a ? b : c ? d : e`, `!!x` and `k inside m inside n` so that
//! these get a message of their own here instead of a bare syntax error. The one chain the language
//! allows is a range test: `lo < x < hi` with `<` or `<=` on both sides. A `<-` inside an expression
//! is reported here too, since the language never reads it as `< -`.

use tree_sitter::Node;

use super::node_text;
use crate::diagnostic::{Code, Diagnostic};
use crate::parse::child_by_field;

/// Checks the node for a chain; reports at most one diagnostic per chain, on its outermost node.
pub fn check(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    match node.kind() {
        "binary_expression" => binary(text, node, diagnostics),
        "conditional_expression" => conditional(node, diagnostics),
        "prefix_expression" => prefix(text, node, diagnostics),
        "containment_expression" => containment(node, diagnostics),
        _ => {}
    }
}

fn operator<'text>(text: &'text str, node: Node<'_>) -> &'text str {
    child_by_field(node, "operator").map_or("", |op| node_text(text, op))
}

fn is_equality(op: &str) -> bool {
    matches!(op, "==" | "!=" | "=?")
}

fn is_relation(op: &str) -> bool {
    matches!(op, "<" | "<=" | ">" | ">=")
}

fn binary(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let op = operator(text, node);
    if op == "<" {
        ingestion_arrow(text, node, diagnostics);
    }
    let Some(left) = child_by_field(node, "left").filter(|left| left.kind() == "binary_expression")
    else {
        return;
    };
    let left_op = operator(text, left);
    if is_equality(op) && is_equality(left_op) {
        diagnostics.push(
            Diagnostic::error(
                Code::OperatorChain,
                node.byte_range(),
                format!("comparisons do not chain: '{left_op}' followed by '{op}'"),
            )
            .with_help(
                "compare two values at a time and join the tests with '&&', or add parentheses",
            ),
        );
        return;
    }
    if is_relation(op) && is_relation(left_op) {
        let nested_range = child_by_field(left, "left").is_some_and(|inner| {
            inner.kind() == "binary_expression" && is_relation(operator(text, inner))
        });
        let is_range = matches!(op, "<" | "<=") && matches!(left_op, "<" | "<=") && !nested_range;
        if !is_range {
            diagnostics.push(
                Diagnostic::error(
                    Code::OperatorChain,
                    node.byte_range(),
                    format!("'{left_op}' followed by '{op}' is not a range test"),
                )
                .with_help("a range test is written lo < x < hi, with '<' or '<=' on both sides; otherwise join two comparisons with '&&'"),
            );
        }
    }
}

fn conditional(node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    for field in ["consequence", "alternative"] {
        if let Some(branch) =
            child_by_field(node, field).filter(|branch| branch.kind() == "conditional_expression")
        {
            diagnostics.push(
                Diagnostic::error(
                    Code::OperatorChain,
                    branch.byte_range(),
                    "a conditional inside a conditional needs parentheses",
                )
                .with_help("write a ? 1 : (b ? 2 : 3)"),
            );
        }
    }
}

fn prefix(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    // Report only on the outermost prefix of a stack.
    if node
        .parent()
        .is_some_and(|parent| parent.kind() == "prefix_expression")
    {
        return;
    }
    if let Some(operand) =
        child_by_field(node, "operand").filter(|operand| operand.kind() == "prefix_expression")
    {
        let outer = operator(text, node);
        let inner = operator(text, operand);
        diagnostics.push(
            Diagnostic::error(
                Code::OperatorChain,
                node.byte_range(),
                format!("prefix operators do not stack: '{outer}' applied to '{inner}'"),
            )
            .with_help(format!("add parentheses: {outer}({inner}…)")),
        );
    }
}

fn containment(node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    if child_by_field(node, "key").is_some_and(|key| key.kind() == "containment_expression") {
        diagnostics.push(
            Diagnostic::error(
                Code::OperatorChain,
                node.byte_range(),
                "'inside'/'outside' tests do not chain",
            )
            .with_help("test one key at a time and join the tests with '&&'"),
        );
    }
}

/// `a<-1` outside a statement: the language always reads `<-` as the ingestion arrow, so a
/// comparison with a negative number needs a space. (Where an ingestion cannot stand, the parser
/// splits the arrow; the language does not.)
fn ingestion_arrow(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let Some(less) = child_by_field(node, "operator") else {
        return;
    };
    let Some(right) =
        child_by_field(node, "right").filter(|right| right.kind() == "prefix_expression")
    else {
        return;
    };
    if operator(text, right) == "-" && right.start_byte() == less.end_byte() {
        diagnostics.push(
            Diagnostic::error(
                Code::UnexpectedToken,
                less.start_byte()..right.start_byte() + 1,
                "'<-' is the ingestion arrow, not a comparison",
            )
            .with_help("to compare with a negative number, put a space after '<': a < -1"),
        );
    }
}
