//! Reserved words used as declared names.
//!
//! Type names and words kept back for the language may not name a variable, field, parameter,
//! function or type. The grammar reads them as plain identifiers so that this check can say which
//! word is reserved.

use std::sync::OnceLock;

use tree_sitter::Node;

use super::node_text;
use crate::diagnostic::{Code, Diagnostic};
use crate::parse::KindTable;

/// Words no declaration may use as its name.
pub const RESERVED_NAMES: &[&str] = &[
    // Type names.
    "bool",
    "client",
    "secure",
    "principal",
    "dynamic",
    "double",
    "complex",
    "date",
    "datetime",
    "time",
    "timespan",
    "int",
    "string",
    "label",
    "list",
    "maybe",
    "future",
    "map",
    "pair",
    "tuple",
    "table",
    "readonly",
    "long",
    // Words kept back from other languages.
    "abstract",
    "assert",
    "log",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "default",
    "do",
    "else",
    "enum",
    "extends",
    "final",
    "finally",
    "float",
    "for",
    "goto",
    "if",
    "implements",
    "import",
    "instanceof",
    "interface",
    "native",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "strictfp",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "try",
    "void",
    "volatile",
    "while",
];

/// Whether `name` is reserved.
pub fn is_reserved(name: &str) -> bool {
    RESERVED_NAMES.contains(&name)
}

/// The field of each declaring node kind that holds the declared name.
fn declared_name_field(kind: &str) -> Option<&'static str> {
    match kind {
        "field_declaration"
        | "formula_declaration"
        | "cached_formula_declaration"
        | "bubble_declaration"
        | "view_declaration"
        | "record_declaration"
        | "message_declaration"
        | "enum_declaration"
        | "message_field"
        | "method_declaration"
        | "function_declaration"
        | "procedure_declaration"
        | "parameter"
        | "rpc_parameter"
        | "local_declaration"
        | "inferred_declaration"
        | "channel_declaration"
        | "async_channel_declaration"
        | "rpc_declaration" => Some("name"),
        "foreach_statement" => Some("variable"),
        "condition" | "ingestion_statement" => Some("binding"),
        _ => None,
    }
}

/// Whether nodes of `kind` declare a name this check looks at.
#[cfg(test)]
pub(crate) fn declares_a_name(kind: &str) -> bool {
    declared_name_field(kind).is_some()
}

/// Checks a declaring node's name.
pub fn check(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    static FIELDS: OnceLock<KindTable<Option<&'static str>>> = OnceLock::new();
    let Some(field) = FIELDS
        .get_or_init(|| KindTable::new(declared_name_field))
        .get(node)
    else {
        return;
    };
    let Some(name_node) = crate::parse::child_by_field(node, field) else {
        return;
    };
    let name = node_text(text, name_node);
    if is_reserved(name) {
        diagnostics.push(
            Diagnostic::error(
                Code::ReservedName,
                name_node.byte_range(),
                format!("'{name}' is reserved and cannot be used as a name"),
            )
            .with_help(format!(
                "choose another name, such as '{name}_value' or 'my_{name}'"
            )),
        );
    }
}
