//! The compiler's queries, from a file's text to its diagnostics.
//!
//! `parsed` → `lowered` → `file_items` (one tracked struct per item) → `signatures` (the
//! declarations of the document) → `check_item` (one per item) and `document_checks` →
//! `diagnostics`.
//!
//! Invariant: an item's HIR and `signatures` hold no positions, so they compare equal after an edit
//! that only moves text; salsa then re-uses every `check_item` that read them. An edit inside one
//! function body changes only that item's HIR, so only that item is re-checked. Positions are
//! attached at the end, in `diagnostics`, from the current source maps.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::ops::Range;
use std::sync::Arc;

use crate::check::global::check_document;
use crate::check::report::Anchor;
use crate::check::{CheckedItem, Definition, FormulaTypes, SemanticDiagnostic};
use crate::db::{Db, SourceFile};
use crate::diagnostic::{Diagnostic, Fix, Label, TextEdit};
use crate::hir::LoweredItem;
use crate::hir::{Decl, Item};
use crate::lower::{LoweredFile, lower_file_with};
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
    let chunks = db.parse_cache().parse(file.path(db), &text);
    ParsedFile { text, chunks }
}

/// The HIR of every item of a file, with source maps.
#[salsa::tracked(returns(ref), no_eq)]
pub fn lowered(db: &dyn Db, file: SourceFile) -> LoweredFile {
    let parsed = parsed(db, file);
    lower_file_with(
        &parsed.text,
        &parsed.roots().collect::<Vec<_>>(),
        db.lower_cache(),
        file.path(db),
    )
}

/// One item of a file, as salsa tracks it. Its identity is its file and key; its HIR and its
/// declaration are tracked fields, so a query that read an unchanged item's field is not re-run
/// when another item changes.
#[salsa::tracked(debug)]
pub struct FileItem<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub key: ItemKey,
    #[tracked]
    #[returns(ref)]
    pub hir: Arc<Item>,
    /// The declaration without its code (see [`crate::hir::LoweredItem::decl`]).
    #[tracked]
    #[returns(ref)]
    pub decl: Arc<Item>,
}

/// The items of a file, in source order.
#[salsa::tracked(returns(ref))]
pub fn file_items<'db>(db: &'db dyn Db, file: SourceFile) -> Vec<FileItem<'db>> {
    let lowered = lowered(db, file);
    let keys = keys_of(lowered.items.iter().map(|lowered| &*lowered.item));
    keys.into_iter()
        .zip(&lowered.items)
        .map(|(key, item)| {
            FileItem::new(
                db,
                file,
                key,
                Arc::clone(&item.item),
                Arc::clone(&item.decl),
            )
        })
        .collect()
}

fn keys_of<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<ItemKey> {
    let mut seen: FxHashMap<(&'static str, &'a str), u32> = FxHashMap::default();
    items
        .map(|item| {
            let kind = item.decl.kind();
            let name = item.decl.name().map_or("", |ident| ident.name.as_str());
            let occurrence = seen.entry((kind, name)).or_insert(0);
            let key = ItemKey {
                kind,
                name: name.to_owned(),
                occurrence: *occurrence,
            };
            *occurrence += 1;
            key
        })
        .collect()
}

/// The declarations of every item of a file, without code.
fn decls(db: &dyn Db, file: SourceFile) -> Vec<Arc<Item>> {
    file_items(db, file)
        .iter()
        .map(|item| Arc::clone(item.decl(db)))
        .collect()
}

/// The declarations of a file.
#[salsa::tracked(returns(ref))]
pub fn signatures(db: &dyn Db, file: SourceFile) -> Arc<Signatures> {
    let decls = decls(db, file);
    db.check_cache()
        .share_signatures(file.path(db), &decls, || {
            Signatures::build(decls.iter().map(|item| &**item))
        })
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

/// The first top-level formula and the first record of each name: the items a formula's type is
/// read from. Looking them up here keeps a check linear in the size of the file, and the table
/// stays equal across edits that add or remove no formula or record, so the formula types that
/// read it are not re-run.
#[salsa::tracked(returns(ref))]
pub fn formula_owners<'db>(
    db: &'db dyn Db,
    file: SourceFile,
) -> HashMap<(&'static str, String), FileItem<'db>> {
    let mut owners = HashMap::new();
    for item in file_items(db, file) {
        let key = item.key(db);
        if matches!(key.kind, "formula" | "record") {
            owners.entry((key.kind, key.name.clone())).or_insert(*item);
        }
    }
    owners
}

/// The type of a formula's value.
#[salsa::tracked(returns(clone), cycle_result = formula_cycle)]
pub fn formula_type<'db>(db: &'db dyn Db, formula: FormulaRef<'db>) -> Ty {
    let file = formula.file(db);
    let (kind, owner) = match formula.record(db) {
        Some(record) => ("record", record.clone()),
        None => ("formula", formula.name(db).clone()),
    };
    let Some(item) = formula_owners(db, file)
        .get(&(kind, owner))
        .map(|item| Arc::clone(item.hir(db)))
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

/// The diagnostics of one item and the types of its expressions, from one run of the checker.
///
/// A re-run with the same HIR, declarations and formula types as a recent run (a syntax error
/// typed and removed again) takes that run's result from the check cache.
#[salsa::tracked(returns(ref))]
pub fn check_item<'db>(db: &'db dyn Db, item: FileItem<'db>) -> Arc<CheckedItem> {
    let file = item.file(db);
    let formulas = QueryFormulas { db, file };
    let (hir, key) = (item.hir(db), item.key(db));
    db.check_cache().check(
        file.path(db),
        key,
        hir,
        signatures(db, file),
        &formulas,
        |formulas| crate::check::check_item(hir, key, signatures(db, file), formulas),
    )
}

/// The type of every expression of one item, by expression id, for tools that show types.
pub fn expression_types<'db>(db: &'db dyn Db, item: FileItem<'db>) -> &'db [Ty] {
    &check_item(db, item).expr_types
}

/// Diagnostics of the rules that span items, with the index of the item each belongs to.
#[salsa::tracked(returns(ref))]
pub fn document_checks(db: &dyn Db, file: SourceFile) -> Vec<(usize, SemanticDiagnostic)> {
    let decls = decls(db, file);
    let references: Vec<&Item> = decls.iter().map(|item| &**item).collect();
    check_document(&references)
        .into_iter()
        .map(|global| (global.item, global.diagnostic))
        .collect()
}

/// Formulas that depend on themselves. It reads the code of formulas and records only, so an
/// edit inside a function body does not re-run it.
#[salsa::tracked(returns(ref))]
pub fn formula_cycles(db: &dyn Db, file: SourceFile) -> Vec<(usize, SemanticDiagnostic)> {
    let items: Vec<Arc<Item>> = file_items(db, file)
        .iter()
        .map(|item| {
            if matches!(item.decl(db).decl, Decl::Formula(_) | Decl::Record(_)) {
                Arc::clone(item.hir(db))
            } else {
                Arc::clone(item.decl(db))
            }
        })
        .collect();
    let references: Vec<&Item> = items.iter().map(|item| &**item).collect();
    crate::check::cycles::formula_cycles(&references)
}

/// Records and messages that reach or hold themselves. It reads the declarations and the types of
/// formulas only, so an edit inside a function body does not re-run it.
#[salsa::tracked(returns(ref))]
pub fn record_graph(db: &dyn Db, file: SourceFile) -> Vec<(usize, SemanticDiagnostic)> {
    let mut declared = crate::check::cycles::Declared::new();
    for (index, item) in file_items(db, file).iter().enumerate() {
        if let Decl::Record(crate::hir::Record { name, .. })
        | Decl::Message(crate::hir::Message { name, .. }) = &item.decl(db).decl
        {
            declared
                .entry(name.name.clone())
                .or_insert((index, name.node));
        }
    }
    let formulas = QueryFormulas { db, file };
    crate::check::cycles::record_graph_cycles(signatures(db, file), &formulas, &declared)
}

/// Every diagnostic of a file, in source order: syntax first, then names and types.
#[salsa::tracked(returns(ref))]
pub fn diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    let lowered = lowered(db, file);
    // A file with syntax errors reports only those: its HIR is partial, and names and types
    // checked on a partial program mostly repeat the same mistake.
    if !lowered.diagnostics.is_empty() {
        return lowered.diagnostics.clone();
    }
    let end = file.text(db).len();
    let items = file_items(db, file);
    let mut semantic: Vec<(usize, &SemanticDiagnostic)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        semantic.extend(
            check_item(db, *item)
                .diagnostics
                .iter()
                .map(|diagnostic| (index, diagnostic)),
        );
    }
    semantic.extend(
        document_checks(db, file)
            .iter()
            .chain(formula_cycles(db, file))
            .chain(record_graph(db, file))
            .map(|(index, diagnostic)| (*index, diagnostic)),
    );
    let needs_declarations = semantic.iter().any(|(_, diagnostic)| {
        diagnostic
            .related
            .iter()
            .any(|label| matches!(label.anchor, Anchor::Declared(_)))
    });
    // Where each definition is declared, read from the checked items only when a diagnostic
    // points at a declaration.
    let declarations: Vec<(&Definition, Range<usize>)> = if needs_declarations {
        items
            .iter()
            .zip(&lowered.items)
            .flat_map(|(item, lowered_item)| {
                check_item(db, *item)
                    .names
                    .iter()
                    .filter(|resolved| resolved.declaration)
                    .map(|resolved| (&resolved.definition, lowered_item.span(resolved.node)))
            })
            .collect()
    } else {
        Vec::new()
    };
    let declared = |definition: &Definition| {
        declarations
            .iter()
            .find(|(declared, _)| *declared == definition)
            .map(|(_, range)| range.clone())
    };
    let mut all = Vec::new();
    for (index, diagnostic) in semantic {
        if let Some(lowered_item) = lowered.items.get(index) {
            all.push(to_diagnostic(
                diagnostic,
                lowered_item,
                &lowered.items,
                end,
                &declared,
            ));
        }
    }
    all.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.range.end));
    all
}

/// A checker diagnostic positioned: its node, related nodes and edits resolved to byte ranges
/// through the current source maps (`end` is the length of the file's text).
fn to_diagnostic(
    semantic: &SemanticDiagnostic,
    item: &LoweredItem,
    items: &[LoweredItem],
    end: usize,
    declared: &dyn Fn(&Definition) -> Option<Range<usize>>,
) -> Diagnostic {
    let span = |anchor: &Anchor| match anchor {
        Anchor::Node(node) => item.span(*node),
        Anchor::Item { item, node } => items.get(*item).map_or(end..end, |other| other.span(*node)),
        Anchor::EndOfFile => end..end,
        Anchor::StartOfFile => 0..0,
        Anchor::TypeDeclaration(name) => items
            .iter()
            .find(|other| {
                matches!(
                    &other.item.decl,
                    Decl::Record(_) | Decl::Message(_) | Decl::Enum(_)
                ) && other
                    .item
                    .decl
                    .name()
                    .is_some_and(|ident| ident.name == *name)
            })
            .map_or_else(
                || item.span(semantic.node),
                |other| other.span(other.item.node),
            ),
        Anchor::Declared(definition) => declared(definition).unwrap_or(end..end),
        Anchor::Parameter { callee, index } => {
            crate::check::report::parameter_type(items, callee, *index).unwrap_or(end..end)
        }
    };
    let primary = semantic
        .at
        .as_ref()
        .map_or_else(|| item.span(semantic.node), span);
    let mut diagnostic = Diagnostic::error(semantic.code, primary, semantic.message.clone());
    diagnostic.help = semantic
        .help
        .clone()
        .or_else(|| semantic.code.hint().map(str::to_owned));
    // A declaration that cannot be found (its item has errors of its own) is left out.
    diagnostic.related = semantic
        .related
        .iter()
        .filter_map(|label| {
            let range = match &label.anchor {
                Anchor::Declared(definition) => declared(definition)?,
                Anchor::Parameter { callee, index } => {
                    crate::check::report::parameter_type(items, callee, *index)?
                }
                anchor => span(anchor),
            };
            Some(Label {
                range,
                message: label.message.clone(),
            })
        })
        .collect();
    diagnostic.fixes = semantic
        .fixes
        .iter()
        .map(|fix| Fix {
            title: fix.title.clone(),
            edits: fix
                .edits
                .iter()
                .map(|edit| TextEdit {
                    range: span(&edit.anchor),
                    text: edit.text.clone(),
                })
                .collect(),
        })
        .collect();
    diagnostic
}
