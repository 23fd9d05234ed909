//! Declarations the grammar accepts loosely so that their mistakes get a precise message.

use tree_sitter::Node;

use crate::diagnostic::{Code, Diagnostic};
use crate::parse::child_by_field;

/// A function must declare its return type.
pub fn function(_text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    if child_by_field(node, "return_type").is_some() {
        return;
    }
    let Some(parameters) = child_by_field(node, "parameters") else {
        return;
    };
    let at = parameters.end_byte();
    diagnostics.push(
        Diagnostic::error(Code::MissingToken, at..at, "expected '->' and a return type: a function must return a value")
            .with_help("declare what it returns, as in `function f(int x) -> int { … }`, or make it a `procedure`"),
    );
}

/// `@web put` takes the request body as a message parameter; the other methods take none.
pub fn web_handler(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let Some(method) = child_by_field(node, "method") else {
        return;
    };
    let method_text = super::node_text(text, method);
    let parameter = child_by_field(node, "parameter");
    match (method_text, parameter) {
        ("put", None) => {
            let at = child_by_field(node, "path").map_or(method.end_byte(), |path| path.end_byte());
            diagnostics.push(
                Diagnostic::error(
                    Code::MissingToken,
                    at..at,
                    "expected '(' and a message parameter after the path of a @web put",
                )
                .with_help(
                    "a put receives its body as a message: `@web put /path (Body body) { … }`",
                ),
            );
        }
        ("get" | "delete" | "options", Some(parameter)) => {
            let start = child_by_field(node, "message_type")
                .map_or(parameter.start_byte(), |ty| ty.start_byte());
            diagnostics.push(
                Diagnostic::error(
                    Code::UnexpectedToken,
                    start..parameter.end_byte(),
                    format!("a @web {method_text} takes no message parameter"),
                )
                .with_help("only `@web put` receives a body; read query values with @parameters"),
            );
        }
        _ => {}
    }
}

/// `unique` marks the id of a message used as a row key, so only a field named `id` may carry it.
pub fn message_field(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let name = child_by_field(node, "name").map_or("", |name| super::node_text(text, name));
    let mut cursor = node.walk();
    for option in node.children_by_field_name("option", &mut cursor) {
        if super::node_text(text, option) == "unique" && name != "id" {
            diagnostics.push(
                Diagnostic::error(
                    Code::MalformedDeclaration,
                    option.byte_range(),
                    "only a field named 'id' can be unique",
                )
                .with_help("remove `unique`, or mark the message's `int id` field instead"),
            );
        }
    }
}
