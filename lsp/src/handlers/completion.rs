//! `textDocument/completion`: names that fit where the cursor is.
//!
//! After `#`, the state labels; after `E::`, the labels of enum `E`; after `x.`, the fields and
//! methods of `x`'s record or message (or a library namespace's functions); elsewhere the locals
//! of the item around the cursor, the document's fields, functions, channels and types, the
//! built-in types and the keywords.

use adama_compiler::check::{Definition, Owner};
use adama_compiler::hir::{Decl, Stmt};
use adama_compiler::queries::{
    check_item, expression_types, file_items, lowered, parsed, signatures,
};
use adama_compiler::ty::Ty;
use adama_compiler::{Db, SourceFile};
use tower_lsp_server::ls_types::{CompletionItem, CompletionItemKind};

const KEYWORDS: &[&str] = &[
    "public",
    "private",
    "record",
    "message",
    "enum",
    "function",
    "procedure",
    "channel",
    "formula",
    "bubble",
    "policy",
    "view",
    "test",
    "if",
    "else",
    "while",
    "for",
    "foreach",
    "in",
    "return",
    "break",
    "continue",
    "abort",
    "transition",
    "invoke",
    "let",
    "var",
    "readonly",
    "iterate",
    "where",
    "order",
    "by",
    "limit",
    "offset",
    "map",
    "reduce",
    "true",
    "false",
    "@construct",
    "@connected",
    "@disconnected",
    "@static",
    "@who",
    "@no_one",
    "@maybe",
    "@web",
    "@cron",
];

const BUILTIN_TYPES: &[&str] = &[
    "bool",
    "int",
    "long",
    "double",
    "complex",
    "string",
    "principal",
    "dynamic",
    "json",
    "asset",
    "date",
    "datetime",
    "time",
    "timespan",
    "label",
    "maybe",
    "list",
    "map",
    "table",
];

/// The completions at `offset`.
pub fn completions(db: &dyn Db, file: SourceFile, offset: usize) -> Vec<CompletionItem> {
    let text = &parsed(db, file).text;
    let before = text.get(..offset).unwrap_or("");
    let word_start = before
        .rfind(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
        .map_or(0, |index| index + 1);
    let prefix_text = &before[..word_start];
    if prefix_text.ends_with('#') {
        return named(db, file, &["state"], CompletionItemKind::ENUM_MEMBER);
    }
    if let Some(enumeration) = prefix_text.strip_suffix("::") {
        let name_start = enumeration
            .rfind(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
            .map_or(0, |index| index + 1);
        return enum_labels(db, file, &enumeration[name_start..]);
    }
    if let Some(object) = prefix_text.strip_suffix('.') {
        let name_start = object
            .rfind(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
            .map_or(0, |index| index + 1);
        return members(db, file, object.len(), &object[name_start..]);
    }
    let mut items = locals(db, file, offset);
    items.extend(named(
        db,
        file,
        &["field", "formula"],
        CompletionItemKind::FIELD,
    ));
    items.extend(named(
        db,
        file,
        &["function", "procedure"],
        CompletionItemKind::FUNCTION,
    ));
    items.extend(named(
        db,
        file,
        &["channel", "async channel", "rpc"],
        CompletionItemKind::EVENT,
    ));
    items.extend(named(
        db,
        file,
        &["record", "message", "enum"],
        CompletionItemKind::STRUCT,
    ));
    items.extend(
        BUILTIN_TYPES
            .iter()
            .map(|name| item(name, CompletionItemKind::TYPE_PARAMETER, "type")),
    );
    items.extend(
        KEYWORDS
            .iter()
            .map(|name| item(name, CompletionItemKind::KEYWORD, "keyword")),
    );
    items
}

fn item(label: &str, kind: CompletionItemKind, detail: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail: Some(detail.to_owned()),
        ..CompletionItem::default()
    }
}

fn named(
    db: &dyn Db,
    file: SourceFile,
    kinds: &[&str],
    kind: CompletionItemKind,
) -> Vec<CompletionItem> {
    file_items(db, file)
        .iter()
        .map(|item| item.key(db))
        .filter(|key| kinds.contains(&key.kind) && !key.name.is_empty() && key.occurrence == 0)
        .map(|key| item(&key.name, kind, key.kind))
        .collect()
}

fn enum_labels(db: &dyn Db, file: SourceFile, enumeration: &str) -> Vec<CompletionItem> {
    file_items(db, file)
        .iter()
        .find_map(|file_item| match &file_item.hir(db).decl {
            Decl::Enum(decl) if decl.name.name == enumeration => Some(
                decl.labels
                    .iter()
                    .map(|label| {
                        item(
                            &label.name.name,
                            CompletionItemKind::ENUM_MEMBER,
                            enumeration,
                        )
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// The fields and methods of the value named `object`, which ends at `object_end` (its type is
/// the checker's), or the functions of a library namespace.
fn members(db: &dyn Db, file: SourceFile, object_end: usize, object: &str) -> Vec<CompletionItem> {
    if adama_compiler::check::library::NAMESPACES.contains(&object) {
        return adama_compiler::check::library::namespace_functions(object)
            .iter()
            .map(|function| item(function, CompletionItemKind::FUNCTION, object))
            .collect();
    }
    let Some(ty) = type_of_object(db, file, object_end, object) else {
        return Vec::new();
    };
    let signatures = signatures(db, file);
    let Some(shape) = signatures.struct_of(ty.unwrap_maybe()) else {
        return Vec::new();
    };
    let mut items: Vec<CompletionItem> = shape
        .order
        .iter()
        .map(|field| item(field, CompletionItemKind::FIELD, "field"))
        .collect();
    items.extend(
        shape
            .methods
            .keys()
            .map(|method| item(method, CompletionItemKind::METHOD, "method")),
    );
    items
}

/// The type of the name `object` that ends at `end`: the checker's type of that expression, or,
/// when the code around it is still being typed, the type of what the name resolves to.
fn type_of_object(db: &dyn Db, file: SourceFile, end: usize, object: &str) -> Option<Ty> {
    let start = end.checked_sub(object.len())?;
    if let Some((_, ty, span)) = adama_compiler::navigation::expression_at(db, file, start)
        && span == (start..end)
        && !ty.is_error()
    {
        return Some(ty);
    }
    let classified = super::semantic::classify(db, file, end)?;
    if classified.range != (start..end) {
        return None;
    }
    definition_type(db, file, &classified.definition)
}

/// The declared type of a local or document field.
fn definition_type(db: &dyn Db, file: SourceFile, definition: &Definition) -> Option<Ty> {
    let signatures = signatures(db, file);
    match definition {
        Definition::Field {
            owner: Owner::Document,
            name,
        } => match signatures.globals.get(name) {
            Some(adama_compiler::signatures::GlobalSig::Field { ty, .. }) => Some(ty.clone()),
            _ => None,
        },
        Definition::Local { item: key, node } => {
            let file_item = file_items(db, file)
                .iter()
                .find(|item| *item.key(db) == **key)?;
            let hir = file_item.hir(db);
            let params = match &hir.decl {
                Decl::Function(function) | Decl::Procedure(function) => function.params.as_slice(),
                _ => &[],
            };
            if let Some(param) = params.iter().find(|param| param.name.node == *node) {
                return signatures.resolve(&param.ty).ok();
            }
            if let Decl::Channel(channel) = &hir.decl
                && channel.parameter.node == *node
            {
                return Some(signatures.resolve_struct_name(&channel.message.name));
            }
            let types = expression_types(db, *file_item);
            hir.body.stmts.iter().find_map(|stmt| match &stmt.stmt {
                Stmt::Local { ty, name, .. } if name.node == *node => signatures.resolve(ty).ok(),
                Stmt::Infer { name, value, .. } if name.node == *node => {
                    types.get(value.0 as usize).cloned()
                }
                _ => None,
            })
        }
        _ => None,
    }
}

/// The locals, parameters and bindings declared before `offset` in the item around it.
fn locals(db: &dyn Db, file: SourceFile, offset: usize) -> Vec<CompletionItem> {
    let lowered = lowered(db, file);
    let Some(index) = adama_compiler::navigation::item_index_at(db, file, offset) else {
        return Vec::new();
    };
    let (Some(file_item), Some(lowered_item)) =
        (file_items(db, file).get(index), lowered.items.get(index))
    else {
        return Vec::new();
    };
    let text = &parsed(db, file).text;
    let mut names: Vec<String> = check_item(db, *file_item)
        .names
        .iter()
        .filter(|resolved| {
            resolved.declaration && matches!(resolved.definition, Definition::Local { .. })
        })
        .map(|resolved| lowered_item.span(resolved.node))
        .filter(|span| span.end <= offset)
        .filter_map(|span| text.get(span).map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
        .iter()
        .map(|name| item(name, CompletionItemKind::VARIABLE, "local"))
        .collect()
}
