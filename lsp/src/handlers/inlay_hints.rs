//! `textDocument/inlayHint`: the inferred type after each `let`, `var` or `auto` name.

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
