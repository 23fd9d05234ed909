//! `textDocument/definition`: from a name to where it is declared.
//!
//! The syntax tree says what kind of name is under the cursor: a type name, a state label, an
//! enum, or a value. Values resolve to the closest earlier local declaration of the same name in
//! the same item (a name cannot be redeclared while visible, so that is the one in scope), and
//! otherwise to the document-level declaration.

use std::ops::Range;

use adama_compiler::hir::{Decl, Ident, Item, Stmt};
use adama_compiler::queries::{FileItem, file_items, lowered, parsed};
use adama_compiler::{Db, SourceFile};

/// The byte range of the declaration of the name at `offset`.
pub fn definition(db: &dyn Db, file: SourceFile, offset: usize) -> Option<Range<usize>> {
    let parsed = parsed(db, file);
    let node = parsed
        .tree
        .root_node()
        .descendant_for_byte_range(offset, offset)?;
    let text = parsed.text.get(node.byte_range())?;
    match node.kind() {
        "type_identifier" => declaration(db, file, &["record", "message", "enum"], text),
        "label" => declaration(db, file, &["state"], text.trim_start_matches('#')),
        "identifier" => {
            let parent = node.parent();
            let field = parent.and_then(|parent| {
                let mut cursor = parent.walk();
                parent
                    .children(&mut cursor)
                    .position(|child| child.id() == node.id())
                    .and_then(|index| parent.field_name_for_child(u32::try_from(index).ok()?))
            });
            match (parent.map(|parent| parent.kind()), field) {
                // A declared name is its own definition.
                (Some(_), Some("name" | "who" | "parameter" | "variable" | "binding")) => {
                    Some(node.byte_range())
                }
                (Some("enum_value"), Some("enum"))
                | (Some("dispatch_declaration"), Some("enum")) => {
                    declaration(db, file, &["enum"], text)
                }
                (Some("member_expression"), Some("member"))
                | (Some("enum_value"), Some("label")) => None,
                _ => local(db, file, offset, text).or_else(|| {
                    declaration(
                        db,
                        file,
                        &[
                            "field",
                            "formula",
                            "bubble",
                            "function",
                            "procedure",
                            "channel",
                            "async channel",
                            "rpc",
                            "service",
                            "template",
                            "replication",
                        ],
                        text,
                    )
                }),
            }
        }
        _ => None,
    }
}

/// The declaration of the type of the expression at `offset` (a record, message or enum).
pub fn type_definition(db: &dyn Db, file: SourceFile, offset: usize) -> Option<Range<usize>> {
    use adama_compiler::ty::Ty;
    let (_, mut ty, _) = adama_compiler::navigation::expression_at(db, file, offset)?;
    while let Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) | Ty::Table(inner) = ty {
        ty = *inner;
    }
    match ty {
        Ty::Record(name) | Ty::Message(name) | Ty::Enum(name) => {
            declaration(db, file, &["record", "message", "enum"], &name)
        }
        _ => None,
    }
}

/// The name span of the first document-level declaration of one of `kinds` named `name`.
fn declaration(db: &dyn Db, file: SourceFile, kinds: &[&str], name: &str) -> Option<Range<usize>> {
    let lowered = lowered(db, file);
    file_items(db, file)
        .iter()
        .zip(&lowered.items)
        .find_map(|(item, lowered_item)| {
            let key = item.key(db);
            if !kinds.contains(&key.kind) || key.name != name {
                return None;
            }
            let ident = item.hir(db).decl.name()?;
            Some(lowered_item.span(ident.node))
        })
}

/// The closest local declaration of `name` before `offset` in the item around it.
fn local(db: &dyn Db, file: SourceFile, offset: usize, name: &str) -> Option<Range<usize>> {
    let lowered = lowered(db, file);
    let items = file_items(db, file);
    let index = adama_compiler::navigation::item_index_at(db, file, offset)?;
    let item: FileItem<'_> = *items.get(index)?;
    let lowered_item = lowered.items.get(index)?;
    declared_locals(item.hir(db))
        .into_iter()
        .filter(|ident| ident.name == name)
        .map(|ident| lowered_item.span(ident.node))
        .filter(|span| span.start <= offset)
        .max_by_key(|span| span.start)
}

/// Every name an item declares for its code: parameters, locals and bindings, in source order.
pub(crate) fn declared_locals(item: &Item) -> Vec<&Ident> {
    let mut names: Vec<&Ident> = match &item.decl {
        Decl::Function(function) | Decl::Procedure(function) => {
            function.params.iter().map(|param| &param.name).collect()
        }
        Decl::Dispatch(dispatch) => dispatch
            .function
            .params
            .iter()
            .map(|param| &param.name)
            .collect(),
        Decl::Rpc(rpc) => std::iter::once(&rpc.who)
            .chain(rpc.params.iter().map(|param| &param.name))
            .collect(),
        Decl::Channel(channel) => vec![&channel.parameter],
        Decl::Constructor {
            parameter: Some((_, parameter)),
            ..
        } => vec![parameter],
        _ => Vec::new(),
    };
    names.extend(item.body.stmts.iter().filter_map(|stmt| match &stmt.stmt {
        Stmt::Local { name, .. } | Stmt::Infer { name, .. } => Some(name),
        Stmt::Foreach { variable, .. } => Some(variable),
        Stmt::If {
            binding: Some(binding),
            ..
        }
        | Stmt::Ingest {
            binding: Some(binding),
            ..
        } => Some(binding),
        _ => None,
    }));
    names
}
