//! `textDocument/inlayHint`: the inferred type after each `let`, `var` or `auto` name, and the
//! parameter names before the arguments of calls to the document's functions and procedures.

use adama_compiler::hir::Stmt;
use adama_compiler::queries::{expression_types, file_items, lowered};
use adama_compiler::ty::Ty;
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::{InlayHint, InlayHintKind, InlayHintLabel};

use crate::convert::position_of;

/// The type hints of the declarations inside `range` (byte offsets).
pub fn inlay_hints(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    range: std::ops::Range<usize>,
) -> Vec<InlayHint> {
    let lowered = lowered(db, file);
    let mut hints = Vec::new();
    for (item, lowered_item) in file_items(db, file).iter().zip(&lowered.items) {
        let whole = lowered_item.span(item.hir(db).node);
        if whole.end < range.start || whole.start > range.end {
            continue;
        }
        let hir = item.hir(db);
        let types = expression_types(db, *item);
        hints.extend(parameter_hints(db, file, rope, item, lowered_item, &range));
        for stmt in &hir.body.stmts {
            let Stmt::Infer { name, value, .. } = &stmt.stmt else {
                continue;
            };
            let Some(ty) = types
                .get(value.0 as usize)
                .filter(|ty| !matches!(ty, Ty::Error))
            else {
                continue;
            };
            let end = lowered_item.span(name.node).end;
            if !range.contains(&end) {
                continue;
            }
            hints.push(InlayHint {
                position: position_of(rope, end),
                label: InlayHintLabel::String(format!(": {ty}")),
                kind: Some(InlayHintKind::TYPE),
                text_edits: None,
                tooltip: None,
                padding_left: None,
                padding_right: None,
                data: None,
            });
        }
    }
    hints
}

/// `name:` before each argument of a call to a user function, unless the argument already reads
/// as that name.
fn parameter_hints(
    db: &dyn Db,
    file: SourceFile,
    rope: &Rope,
    item: &adama_compiler::queries::FileItem<'_>,
    lowered_item: &adama_compiler::hir::LoweredItem,
    range: &std::ops::Range<usize>,
) -> Vec<InlayHint> {
    use adama_compiler::check::resolution::overloads;
    use adama_compiler::hir::Expr;
    let signatures = adama_compiler::queries::signatures(db, file);
    let checked = adama_compiler::queries::check_item(db, *item);
    let body = &item.hir(db).body;
    let mut hints = Vec::new();
    for expression in &body.exprs {
        let Expr::Call {
            function,
            arguments,
        } = &expression.expr
        else {
            continue;
        };
        let Expr::Name(name) = &body.expr(*function).expr else {
            continue;
        };
        // The overload the checker chose for this call.
        let Some(signature) = checked
            .names
            .get(name.node)
            .and_then(|resolved| overloads(signatures, &resolved.definition))
            .and_then(|(overloads, index)| overloads.get(index?))
        else {
            continue;
        };
        for (argument, param) in arguments.iter().zip(&signature.params) {
            let span = lowered_item.span(body.expr(*argument).node);
            let reads_as_name = matches!(&body.expr(*argument).expr, Expr::Name(argument_name) if argument_name.name == param.name);
            if reads_as_name || !range.contains(&span.start) {
                continue;
            }
            hints.push(InlayHint {
                position: position_of(rope, span.start),
                label: InlayHintLabel::String(format!("{}:", param.name)),
                kind: Some(InlayHintKind::PARAMETER),
                text_edits: None,
                tooltip: None,
                padding_left: None,
                padding_right: Some(true),
                data: None,
            });
        }
    }
    hints
}
