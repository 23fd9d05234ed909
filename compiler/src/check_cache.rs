//! Check results of recent versions of a file, kept beside salsa so that a declaration table
//! that returns to an earlier value re-uses the checks made with it.
//!
//! Salsa re-runs a query when something it read changed since its last run, and compares only
//! with that run. Typing a syntax error into a declaration changes the file's declarations, and
//! removing it changes them back: salsa sees two changes, and every item is checked again after
//! each, although the declarations are the same as two versions before. This cache answers such a
//! re-run from the earlier result.
//!
//! Invariant: checking an item is a function of its HIR, its key, the declarations and the
//! formula types it asks for. An entry keeps all of them, and is used only when the HIR and the
//! declarations are the same and every formula type it asked for has the same value now (asking
//! them again also records them as salsa dependencies, as a real run would). Declarations are
//! compared by identity: [`CheckCache::share_signatures`] hands out the same `Arc` for equal
//! tables, and does not build a table again for the declarations it was built from.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::check::{CheckedItem, FormulaTypes};
use crate::hir::Item;
use crate::queries::ItemKey;
use crate::signatures::Signatures;
use crate::ty::Ty;

/// How many distinct declaration tables of a file are remembered.
const SIGNATURES_KEPT: usize = 3;
/// How many results of one item are remembered (with different declarations or formula types).
const RESULTS_PER_ITEM: usize = 2;

/// A formula type the checker asked for, and the answer: (record, formula name) → type.
type FormulaAnswer = ((Option<String>, String), Ty);

#[derive(Debug)]
struct Entry {
    hir: Arc<Item>,
    signatures: Arc<Signatures>,
    formulas: Arc<[FormulaAnswer]>,
    checked: Arc<CheckedItem>,
}

/// A declaration table and the declarations it was built from.
#[derive(Debug)]
struct Table {
    decls: Vec<Arc<Item>>,
    signatures: Arc<Signatures>,
}

#[derive(Debug, Default)]
struct FileEntries {
    /// The latest declaration tables, newest first.
    signatures: Vec<Table>,
    /// The latest results of each item, newest first.
    items: FxHashMap<ItemKey, Vec<Entry>>,
}

/// The cache of every file, by path.
#[derive(Debug)]
pub struct CheckCache {
    files: Mutex<HashMap<String, FileEntries>>,
    /// Whether results are kept at all: a database that checks its files once has no use for
    /// them, and keeping them costs every check a lock and a copy of what it asked.
    remembers: bool,
}

impl Default for CheckCache {
    fn default() -> CheckCache {
        CheckCache {
            files: Mutex::default(),
            remembers: true,
        }
    }
}

impl CheckCache {
    /// A cache that keeps nothing, for a database whose files are checked once.
    pub fn off() -> CheckCache {
        CheckCache {
            files: Mutex::default(),
            remembers: false,
        }
    }

    /// The declaration table of `decls` (the declarations of the items of `path`, in order): a
    /// table handed out before for the same declarations or for an equal table, else the one
    /// `build` makes, remembered from now on.
    pub fn share_signatures(
        &self,
        path: &str,
        decls: &[Arc<Item>],
        build: impl FnOnce() -> Signatures,
    ) -> Arc<Signatures> {
        if !self.remembers {
            return Arc::new(build());
        }
        let known = self.files.lock().ok().and_then(|files| {
            let file = files.get(path)?;
            // `Arc`'s equality looks at the pointer before the value: an item that was not
            // lowered again costs one comparison.
            file.signatures
                .iter()
                .find(|table| table.decls.as_slice() == decls)
                .map(|table| Arc::clone(&table.signatures))
        });
        let shared = match known {
            Some(shared) => shared,
            None => {
                let built = build();
                let equal = self.files.lock().ok().and_then(|files| {
                    files.get(path)?.signatures.iter().find_map(|table| {
                        (*table.signatures == built).then(|| Arc::clone(&table.signatures))
                    })
                });
                equal.unwrap_or_else(|| Arc::new(built))
            }
        };
        let Ok(mut files) = self.files.lock() else {
            return shared;
        };
        let file = files.entry(path.to_owned()).or_default();
        file.signatures
            .retain(|table| !Arc::ptr_eq(&table.signatures, &shared));
        file.signatures.insert(
            0,
            Table {
                decls: decls.to_vec(),
                signatures: Arc::clone(&shared),
            },
        );
        file.signatures.truncate(SIGNATURES_KEPT);
        // A result made with a table that is no longer remembered can never be used again.
        let live = &file.signatures;
        for entries in file.items.values_mut() {
            entries.retain(|entry| {
                live.iter()
                    .any(|table| Arc::ptr_eq(&table.signatures, &entry.signatures))
            });
        }
        file.items.retain(|_, entries| !entries.is_empty());
        shared
    }

    /// The result of checking `hir` (identified by `key` in `path`) with `signatures`: an earlier
    /// result whose inputs are all the same, else a new check by `check`.
    pub fn check(
        &self,
        path: &str,
        key: &ItemKey,
        hir: &Arc<Item>,
        signatures: &Arc<Signatures>,
        formulas: &dyn FormulaTypes,
        check: impl FnOnce(&dyn FormulaTypes) -> CheckedItem,
    ) -> Arc<CheckedItem> {
        if !self.remembers {
            return Arc::new(check(formulas));
        }
        if let Some(checked) = self.earlier(path, key, hir, signatures, formulas) {
            return checked;
        }
        let recorder = Recorder {
            inner: formulas,
            asked: RefCell::default(),
        };
        let checked = Arc::new(check(&recorder));
        let mut answers = recorder.asked.into_inner();
        answers.sort_by(|a, b| a.0.cmp(&b.0));
        answers.dedup_by(|a, b| a.0 == b.0);
        if let Ok(mut files) = self.files.lock()
            && let Some(file) = files.get_mut(path)
            // Only tables still remembered can be met again.
            && file
                .signatures
                .iter()
                .any(|table| Arc::ptr_eq(&table.signatures, signatures))
        {
            let entries = file.items.entry(key.clone()).or_default();
            entries.insert(
                0,
                Entry {
                    hir: Arc::clone(hir),
                    signatures: Arc::clone(signatures),
                    formulas: answers.into(),
                    checked: Arc::clone(&checked),
                },
            );
            entries.truncate(RESULTS_PER_ITEM);
        }
        checked
    }

    fn earlier(
        &self,
        path: &str,
        key: &ItemKey,
        hir: &Arc<Item>,
        signatures: &Arc<Signatures>,
        formulas: &dyn FormulaTypes,
    ) -> Option<Arc<CheckedItem>> {
        // The candidates are copied out so that no lock is held while formula types are asked
        // for: those are queries that may check other items.
        let candidates: Vec<(Arc<[FormulaAnswer]>, Arc<CheckedItem>)> = {
            let files = self.files.lock().ok()?;
            files
                .get(path)?
                .items
                .get(key)?
                .iter()
                .filter(|entry| {
                    // `Arc`'s equality looks at the pointer before the value.
                    Arc::ptr_eq(&entry.signatures, signatures) && entry.hir == *hir
                })
                .map(|entry| (Arc::clone(&entry.formulas), Arc::clone(&entry.checked)))
                .collect()
        };
        candidates.into_iter().find_map(|(answers, checked)| {
            answers
                .iter()
                .all(|((record, name), ty)| formulas.formula_type(record.as_deref(), name) == *ty)
                .then_some(checked)
        })
    }
}

/// Formula types as the checker asks for them, with what it asked.
struct Recorder<'a> {
    inner: &'a dyn FormulaTypes,
    asked: RefCell<Vec<FormulaAnswer>>,
}

impl FormulaTypes for Recorder<'_> {
    fn formula_type(&self, record: Option<&str>, name: &str) -> Ty {
        let ty = self.inner.formula_type(record, name);
        self.asked
            .borrow_mut()
            .push(((record.map(str::to_owned), name.to_owned()), ty.clone()));
        ty
    }
}
