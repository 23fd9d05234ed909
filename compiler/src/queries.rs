//! The compiler's queries, from a file's text to its diagnostics.
//!
//! `parsed` → `lowered` → `item_hir` (one per item) and `signatures` (the declarations of the
//! document) → `check_item` (one per item) and `document_checks` → `diagnostics`.
//!
//! Invariant: `item_hir` and `signatures` hold no positions, so they compare equal after an edit
//! that only moves text; salsa then re-uses every `check_item` that read them. An edit inside one
//! function body changes only that item's HIR, so only that item is re-checked. Positions are
//! attached at the end, in `diagnostics`, from the current source maps.

use std::collections::HashMap;
use std::sync::Arc;

use crate::check::global::check_document;
use crate::check::{FormulaTypes, SemanticDiagnostic};
use crate::db::{Db, SourceFile};
use crate::diagnostic::Diagnostic;
use crate::hir::{Decl, Item};
use crate::lower::{LoweredFile, lower_file};
use crate::parse::ParsedFile;
use crate::signatures::Signatures;
use crate::ty::Ty;

/// The stable identity of an item within its file: its kind, its name, and how many items of the
/// same kind and name come before it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub kind: &'static str,
    pub name: String,
    pub occurrence: u32,
}

/// An item of a file, as a query argument.
#[salsa::interned(debug)]
pub struct ItemRef<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub key: ItemKey,
}

/// A formula (of a record when `record` is set), as a query argument.
#[salsa::interned(debug)]
pub struct FormulaRef<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub record: Option<String>,
    #[returns(ref)]
    pub name: String,
}

/// The syntax tree of a file.
#[salsa::tracked(returns(ref), no_eq)]
pub fn parsed(db: &dyn Db, file: SourceFile) -> ParsedFile {
    let text = file.text(db).clone();
    let tree = db.parse_cache().parse(file.path(db), &text);
    ParsedFile { text, tree }
}

/// The HIR of every item of a file, with source maps.
#[salsa::tracked(returns(ref), no_eq)]
pub fn lowered(db: &dyn Db, file: SourceFile) -> LoweredFile {
    let parsed = parsed(db, file);
    lower_file(&parsed.text, &parsed.tree)
}

/// The keys of a file's items, in source order.
#[salsa::tracked(returns(ref))]
pub fn item_keys(db: &dyn Db, file: SourceFile) -> Vec<ItemKey> {
    keys_of(lowered(db, file).items.iter().map(|lowered| &lowered.item))
}

fn keys_of<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<ItemKey> {
    let mut keys: Vec<ItemKey> = Vec::new();
    for item in items {
        let kind = item.decl.kind();
        let name = item
            .decl
            .name()
            .map_or_else(String::new, |ident| ident.name.clone());
        let occurrence = u32::try_from(
            keys.iter()
                .filter(|key| key.kind == kind && key.name == name)
                .count(),
        )
        .unwrap_or(u32::MAX);
        keys.push(ItemKey {
            kind,
            name,
            occurrence,
        });
    }
    keys
}

/// Where each item key sits in the file's list of items.
#[salsa::tracked(returns(ref))]
pub fn item_positions(db: &dyn Db, file: SourceFile) -> Arc<HashMap<ItemKey, usize>> {
    Arc::new(
        item_keys(db, file)
            .iter()
            .enumerate()
            .map(|(index, key)| (key.clone(), index))
            .collect(),
    )
}

/// The HIR of one item, without positions.
#[salsa::tracked(returns(ref))]
pub fn item_hir<'db>(db: &'db dyn Db, item: ItemRef<'db>) -> Option<Arc<Item>> {
    let file = item.file(db);
    let index = *item_positions(db, file).get(item.key(db))?;
    lowered(db, file)
        .items
        .get(index)
        .map(|lowered| Arc::new(lowered.item.clone()))
}

fn items(db: &dyn Db, file: SourceFile) -> Vec<Arc<Item>> {
    item_keys(db, file)
        .iter()
        .filter_map(|key| item_hir(db, ItemRef::new(db, file, key.clone())).clone())
        .collect()
}

/// The declarations of a file.
#[salsa::tracked(returns(ref))]
pub fn signatures(db: &dyn Db, file: SourceFile) -> Arc<Signatures> {
    let items = items(db, file);
    Arc::new(Signatures::build(items.iter().map(|item| &**item)))
}

struct QueryFormulas<'db> {
    db: &'db dyn Db,
    file: SourceFile,
}

impl FormulaTypes for QueryFormulas<'_> {
    fn formula_type(&self, record: Option<&str>, name: &str) -> Ty {
        formula_type(
            self.db,
            FormulaRef::new(
                self.db,
                self.file,
                record.map(str::to_owned),
                name.to_owned(),
            ),
        )
    }
}

fn formula_cycle(_db: &dyn Db, _id: salsa::Id, _formula: FormulaRef<'_>) -> Ty {
    Ty::Error
}

/// The type of a formula's value.
#[salsa::tracked(returns(clone), cycle_result = formula_cycle)]
pub fn formula_type<'db>(db: &'db dyn Db, formula: FormulaRef<'db>) -> Ty {
    let file = formula.file(db);
    let (kind, owner) = match formula.record(db) {
        Some(record) => ("record", record.clone()),
        None => ("formula", formula.name(db).clone()),
    };
    let Some(item) = item_keys(db, file)
        .iter()
        .filter(|key| key.kind == kind && key.name == owner)
        .find_map(|key| item_hir(db, ItemRef::new(db, file, key.clone())).clone())
    else {
        return Ty::Error;
    };
    let formulas = QueryFormulas { db, file };
    crate::check::items_formula_type(
        &item,
        formula.record(db).as_deref(),
        formula.name(db),
        signatures(db, file),
        &formulas,
    )
}

/// The diagnostics of one item.
#[salsa::tracked(returns(ref))]
pub fn check_item<'db>(db: &'db dyn Db, item: ItemRef<'db>) -> Vec<SemanticDiagnostic> {
    let file = item.file(db);
    let Some(hir) = item_hir(db, item) else {
        return Vec::new();
    };
    let formulas = QueryFormulas { db, file };
    crate::check::check_item(hir, signatures(db, file), &formulas)
}

/// Diagnostics of the rules that span items, with the index of the item each belongs to.
#[salsa::tracked(returns(ref))]
pub fn document_checks(db: &dyn Db, file: SourceFile) -> Vec<(ItemKey, SemanticDiagnostic)> {
    let keys = item_keys(db, file);
    let items = items(db, file);
    let references: Vec<&Item> = items.iter().map(|item| &**item).collect();
    check_document(&references)
        .into_iter()
        .filter_map(|global| {
            keys.get(global.item)
                .map(|key| (key.clone(), global.diagnostic))
        })
        .collect()
}

/// Every diagnostic of a file, in source order: syntax first-class, then names and types.
#[salsa::tracked(returns(ref))]
pub fn diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    let parsed = parsed(db, file);
    let mut all = crate::syntax::check(&parsed.text, &parsed.tree);
    let lowered = lowered(db, file);
    all.extend(lowered.diagnostics.iter().cloned());
    // A file with syntax errors reports only those: its HIR is partial, and names and types
    // checked on a partial program mostly repeat the same mistake.
    if !all.is_empty() {
        all.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.range.end));
        return all;
    }
    let keys = item_keys(db, file);
    for (index, key) in keys.iter().enumerate() {
        let Some(source_map) = lowered.items.get(index).map(|lowered| &lowered.source_map) else {
            continue;
        };
        for semantic in check_item(db, ItemRef::new(db, file, key.clone())) {
            all.push(to_diagnostic(semantic, source_map));
        }
    }
    let positions = item_positions(db, file);
    for (key, semantic) in document_checks(db, file) {
        if let Some(&index) = positions.get(key)
            && let Some(lowered_item) = lowered.items.get(index)
        {
            all.push(to_diagnostic(semantic, &lowered_item.source_map));
        }
    }
    all.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.range.end));
    all
}

fn to_diagnostic(semantic: &SemanticDiagnostic, source_map: &crate::hir::SourceMap) -> Diagnostic {
    let mut diagnostic = Diagnostic::error(
        semantic.code,
        source_map.span(semantic.node),
        semantic.message.clone(),
    );
    diagnostic.help = semantic.help.clone();
    diagnostic
}

/// The kind of a declaration, for callers that only hold a [`Decl`].
pub fn decl_kind(decl: &Decl) -> &'static str {
    decl.kind()
}
