//! `textDocument/codeAction`, the refactorings: actions offered where the cursor or selection
//! is, whether or not anything is wrong.
//!
//! - "Add explicit type": `let x = 1;` becomes `int x = 1;` (also `var` and `auto`), when the
//!   inferred type can be written as a local's type.
//! - "Make 'x' public" / "Make 'x' private" on a document or record field.
//! - "Extract formula": the selected part of a document formula becomes a formula of its own,
//!   declared just before, and the selection reads its name.
//! - "Expose the rows of 't'" on a table: tables are always private, so viewers see rows through
//!   a formula (`public formula rows = iterate t;`), declared just after.
//! - "Make every field of 'R' public" / "private" on a record's name.
//!
//! Each one changes how the program reads, never what it computes; the protocol tests check the
//! edited programs with the compiler.

use std::ops::Range;

use adama_compiler::hir::{
    Decl, Expr, Field, GenericName, InferKind, Item, LoweredItem, Privacy, RecordMember, Stmt,
    TypeRef,
};
use adama_compiler::queries::{expression_types, file_items, lowered};
use adama_compiler::ty::Ty;
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::{CodeAction, CodeActionKind, TextEdit, Uri, WorkspaceEdit};

use crate::convert::range_of;

/// The refactorings available at `range` (byte offsets; empty for a bare cursor).
pub fn refactorings(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    uri: &Uri,
    range: Range<usize>,
) -> Vec<CodeAction> {
    let text = rope.to_string();
    let lowered = lowered(db, file);
    let names: Vec<String> = lowered
        .items
        .iter()
        .filter_map(|item| item.item.decl.name().map(|name| name.name.clone()))
        .collect();
    let mut actions = Vec::new();
    for (item, lowered_item) in file_items(db, file).iter().zip(&lowered.items) {
        let hir = item.hir(db);
        if !overlaps(&lowered_item.span(hir.node), &range) {
            continue;
        }
        let types = expression_types(db, *item);
        let mut edits = explicit_types(hir, lowered_item, types, &text, &range);
        edits.extend(privacy_toggles(hir, lowered_item, &text, &range));
        edits.extend(extract_formula(hir, lowered_item, &text, &range));
        edits.extend(expose_rows(hir, lowered_item, &text, &range, &names));
        edits.extend(record_privacy(hir, lowered_item, &text, &range));
        actions.extend(
            edits
                .into_iter()
                .map(|refactoring| refactoring.into_action(rope, uri)),
        );
    }
    actions
}

/// One refactoring: its title, its kind and the edits of the document.
struct Refactoring {
    title: String,
    kind: CodeActionKind,
    edits: Vec<(Range<usize>, String)>,
}

impl Refactoring {
    fn into_action(self, rope: &Rope, uri: &Uri) -> CodeAction {
        let edits = self
            .edits
            .into_iter()
            .map(|(span, text)| TextEdit::new(range_of(rope, span), text))
            .collect();
        CodeAction {
            title: self.title,
            kind: Some(self.kind),
            edit: Some(WorkspaceEdit {
                changes: Some(std::iter::once((uri.clone(), edits)).collect()),
                ..WorkspaceEdit::default()
            }),
            ..CodeAction::default()
        }
    }
}

/// Whether a cursor or selection touches a span (a cursor at either end counts).
fn overlaps(span: &Range<usize>, range: &Range<usize>) -> bool {
    range.start <= span.end && span.start <= range.end
}

/// Whether a cursor or selection lies within a span: a selection over several declarations
/// offers none of their one-declaration rewrites.
fn within(span: &Range<usize>, range: &Range<usize>) -> bool {
    span.start <= range.start && range.end <= span.end
}

/// `let`/`var`/`auto` locals at the cursor whose inferred type can be spelt.
fn explicit_types(
    hir: &Item,
    lowered_item: &LoweredItem,
    types: &[Ty],
    text: &str,
    range: &Range<usize>,
) -> Vec<Refactoring> {
    let mut refactorings = Vec::new();
    for stmt in &hir.body.stmts {
        let Stmt::Infer { kind, name, value } = &stmt.stmt else {
            continue;
        };
        let span = lowered_item.span(stmt.node);
        if !within(&span, range) {
            continue;
        }
        let Some(ty) = types.get(value.0 as usize).filter(|ty| writable(ty)) else {
            continue;
        };
        let keyword = match kind {
            InferKind::Let => "let",
            InferKind::Var => "var",
            InferKind::Auto => "auto",
        };
        let keyword_span = span.start..span.start + keyword.len();
        if text.get(keyword_span.clone()) != Some(keyword) {
            continue;
        }
        refactorings.push(Refactoring {
            title: format!("Add explicit type '{ty}' to '{}'", name.name),
            kind: CodeActionKind::REFACTOR_REWRITE,
            edits: vec![(keyword_span, ty.to_string())],
        });
    }
    refactorings
}

/// Whether a type, as displayed, reads back as the same type in a local's declaration. Anonymous
/// messages, tables, records by value, functions and the other internal types cannot be written.
fn writable(ty: &Ty) -> bool {
    match ty {
        Ty::Bool
        | Ty::Int
        | Ty::Long
        | Ty::Double
        | Ty::Complex
        | Ty::String
        | Ty::Principal
        | Ty::Dynamic
        | Ty::Asset
        | Ty::Date
        | Ty::DateTime
        | Ty::Time
        | Ty::TimeSpan
        | Ty::Label
        | Ty::Enum(_)
        | Ty::Message(_) => true,
        Ty::Maybe(inner) | Ty::List(inner) => writable(inner) || matches!(**inner, Ty::Record(_)),
        Ty::Array(inner) => writable(inner),
        Ty::Map(key, value) => writable(key) && writable(value),
        _ => false,
    }
}

/// "Make public" or "Make private" on the field at the cursor.
fn privacy_toggles(
    hir: &Item,
    lowered_item: &LoweredItem,
    text: &str,
    range: &Range<usize>,
) -> Vec<Refactoring> {
    let fields: Vec<&Field> = match &hir.decl {
        Decl::Field(field) => vec![field],
        Decl::Record(record) => record
            .members
            .iter()
            .filter_map(|member| match member {
                RecordMember::Field(field) => Some(field),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    fields
        .into_iter()
        .filter(|field| within(&lowered_item.span(field.node), range))
        .filter_map(|field| privacy_toggle(field, lowered_item, text))
        .collect()
}

fn privacy_toggle(field: &Field, lowered_item: &LoweredItem, text: &str) -> Option<Refactoring> {
    // Tables are always private: the checker rejects any privacy on them.
    if matches!(
        field.ty,
        TypeRef::Generic {
            name: GenericName::Table,
            ..
        }
    ) {
        return None;
    }
    let name = &field.name.name;
    let modifier = field.privacy_node.map(|node| lowered_item.span(node));
    let (title, edit) = match (&field.privacy, modifier) {
        (Privacy::Public, Some(span)) => (
            format!("Make '{name}' private"),
            (span, "private".to_owned()),
        ),
        (Privacy::Private, Some(span)) => {
            (format!("Make '{name}' public"), (span, "public".to_owned()))
        }
        (Privacy::Default, None) => {
            let start = lowered_item.span(field.node).start;
            (
                format!("Make '{name}' public"),
                (start..start, "public ".to_owned()),
            )
        }
        // A policy or `viewer_is` says who sees the field; replacing it is not a toggle.
        _ => return None,
    };
    text.get(edit.0.clone())?;
    Some(Refactoring {
        title,
        kind: CodeActionKind::REFACTOR_REWRITE,
        edits: vec![edit],
    })
}

/// "Expose the rows of 't'" on a document table's declaration.
fn expose_rows(
    hir: &Item,
    lowered_item: &LoweredItem,
    text: &str,
    range: &Range<usize>,
    names: &[String],
) -> Option<Refactoring> {
    let Decl::Field(field) = &hir.decl else {
        return None;
    };
    if !matches!(
        field.ty,
        TypeRef::Generic {
            name: GenericName::Table,
            ..
        }
    ) {
        return None;
    }
    let span = lowered_item.span(field.node);
    if !within(&span, range) {
        return None;
    }
    let table = &field.name.name;
    // `_lines` reads as `lines`; otherwise `t_rows`, numbered until it is free.
    let base = match table.strip_prefix('_') {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => format!("{table}_rows"),
    };
    let name = std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base}{n}")))
        .find(|candidate| !names.iter().any(|name| name == candidate))?;
    let end = span.end;
    text.get(end..end)?;
    Some(Refactoring {
        title: format!("Expose the rows of '{table}' as '{name}'"),
        kind: CodeActionKind::REFACTOR_EXTRACT,
        edits: vec![(
            end..end,
            format!("\npublic formula {name} = iterate {table};"),
        )],
    })
}

/// "Make every field of 'R' public" (or private, when all already are public) on a record's name.
fn record_privacy(
    hir: &Item,
    lowered_item: &LoweredItem,
    text: &str,
    range: &Range<usize>,
) -> Option<Refactoring> {
    let Decl::Record(record) = &hir.decl else {
        return None;
    };
    if !within(&lowered_item.span(record.name.node), range) {
        return None;
    }
    let fields: Vec<&Field> = record
        .members
        .iter()
        .filter_map(|member| match member {
            RecordMember::Field(field) => Some(field),
            _ => None,
        })
        .filter(|field| {
            !matches!(
                field.ty,
                TypeRef::Generic {
                    name: GenericName::Table,
                    ..
                }
            ) && matches!(
                field.privacy,
                Privacy::Public | Privacy::Private | Privacy::Default
            )
        })
        .collect();
    let all_public = fields.iter().all(|field| field.privacy == Privacy::Public);
    let (word, target) = if all_public {
        ("private", Privacy::Private)
    } else {
        ("public", Privacy::Public)
    };
    let mut edits = Vec::new();
    for field in fields {
        if field.privacy == target {
            continue;
        }
        match (
            &field.privacy,
            field.privacy_node.map(|node| lowered_item.span(node)),
        ) {
            (Privacy::Default, None) => {
                let start = lowered_item.span(field.node).start;
                edits.push((start..start, format!("{word} ")));
            }
            (_, Some(span)) => edits.push((span, word.to_owned())),
            _ => {}
        }
    }
    if edits.is_empty()
        || edits
            .iter()
            .any(|(span, _)| text.get(span.clone()).is_none())
    {
        return None;
    }
    Some(Refactoring {
        title: format!("Make every field of '{}' {word}", record.name.name),
        kind: CodeActionKind::REFACTOR_REWRITE,
        edits,
    })
}

/// "Extract formula" for a selection inside a document formula.
fn extract_formula(
    hir: &Item,
    lowered_item: &LoweredItem,
    text: &str,
    range: &Range<usize>,
) -> Option<Refactoring> {
    let Decl::Formula(formula) = &hir.decl else {
        return None;
    };
    let selection = trimmed(text, range)?;
    let body = &hir.body;
    let span_of = |id: usize| body.exprs.get(id).map(|expr| lowered_item.span(expr.node));
    // The narrowest expression that covers the selection.
    let (target, target_span) = (0..body.exprs.len())
        .filter_map(|id| span_of(id).map(|span| (id, span)))
        .filter(|(_, span)| span.start <= selection.start && selection.end <= span.end)
        .min_by_key(|(_, span)| span.len())?;
    let value_span = span_of(formula.value.0 as usize)?;
    let expr = &body.exprs.get(target)?.expr;
    if target == formula.value.0 as usize
        || !value_span.contains(&target_span.start)
        || matches!(expr, Expr::Name(_) | Expr::Missing)
    {
        return None;
    }
    // A lambda's parameter and a query's row are in scope only inside them: a part that may
    // read them cannot leave.
    let bound = body.exprs.iter().enumerate().any(|(id, node)| {
        let span = lowered_item.span(node.node);
        let inside = id != target && span.start <= target_span.start && target_span.end <= span.end;
        match &node.expr {
            Expr::Lambda { .. } => inside,
            Expr::Query { source, .. } => {
                let source = span_of(source.0 as usize).unwrap_or(0..0);
                inside && !(source.start <= target_span.start && target_span.end <= source.end)
            }
            _ => false,
        }
    });
    if bound {
        return None;
    }
    let extracted = text.get(target_span.clone())?;
    let name = fresh_name(text, "extracted");
    let item_start = lowered_item.span(hir.node).start;
    let line_start = text.get(..item_start)?.rfind('\n').map_or(0, |at| at + 1);
    let indent = text
        .get(line_start..item_start)
        .filter(|indent| indent.trim().is_empty())
        .unwrap_or("");
    Some(Refactoring {
        title: "Extract formula".to_owned(),
        kind: CodeActionKind::REFACTOR_EXTRACT,
        edits: vec![
            (
                item_start..item_start,
                format!("formula {name} = {extracted};\n{indent}"),
            ),
            (target_span, name),
        ],
    })
}

/// The selection without surrounding white space; `None` for a bare cursor.
fn trimmed(text: &str, range: &Range<usize>) -> Option<Range<usize>> {
    let selected = text.get(range.clone())?;
    let start = range.start + (selected.len() - selected.trim_start().len());
    let end = range.end - (selected.len() - selected.trim_end().len());
    (start < end).then_some(start..end)
}

/// `base`, or `base2`, `base3`... : the first that is no word of the document, so that it can
/// neither clash with nor shadow a name.
fn fresh_name(text: &str, base: &str) -> String {
    let words: std::collections::HashSet<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    (1..)
        .map(|n| {
            if n == 1 {
                base.to_owned()
            } else {
                format!("{base}{n}")
            }
        })
        .find(|name| !words.contains(name.as_str()))
        .unwrap_or_else(|| base.to_owned())
}
