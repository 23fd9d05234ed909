//! Formulas that depend on themselves: `formula a = b + 1; formula b = a + 1;`, and records that
//! contain themselves through formulas.
//!
//! A formula reads the names its expression mentions; a cycle among top-level formulas, or among
//! the formulas of one record, can never be computed. Record containment must be acyclic through
//! plain record fields, `maybe<R>` fields and formulas (language section 3.1): the cycles of
//! fields alone need no code and are found with the document-wide rules (`global`); those that go
//! through a formula need the formula's type, and are found when the record is checked.

use std::collections::{BTreeMap, BTreeSet};

use super::{FormulaTypes, SemanticDiagnostic};
use crate::diagnostic::Code;
use crate::hir::{Body, Decl, Expr, Ident, Item, RecordMember};
use crate::signatures::{MemberSig, Signatures};
use crate::ty::Ty;

/// The names each formula mentions, and the formula's name node.
type Dependencies<'a> = BTreeMap<&'a str, (&'a Ident, BTreeSet<&'a str>)>;

/// Cycles among the formulas of a document: the items given are every item of the file, the
/// result is (item index, diagnostic) for the first formula of each cycle.
pub fn formula_cycles(items: &[&Item]) -> Vec<(usize, SemanticDiagnostic)> {
    let mut diagnostics = Vec::new();
    let mut top: Dependencies<'_> = BTreeMap::new();
    let mut top_items: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        match &item.decl {
            Decl::Formula(formula) => {
                top.insert(
                    &formula.name.name,
                    (&formula.name, names_in(&item.body, formula.value)),
                );
                top_items.insert(&formula.name.name, index);
            }
            Decl::Record(record) => {
                let mut members: Dependencies<'_> = BTreeMap::new();
                for member in &record.members {
                    if let RecordMember::Formula(formula) = member {
                        members.insert(
                            &formula.name.name,
                            (&formula.name, names_in(&item.body, formula.value)),
                        );
                    }
                }
                for ident in cycle_heads(&members) {
                    diagnostics.push((index, cycle_diagnostic(ident)));
                }
            }
            _ => {}
        }
    }
    for ident in cycle_heads(&top) {
        if let Some(index) = top_items.get(ident.name.as_str()) {
            diagnostics.push((*index, cycle_diagnostic(ident)));
        }
    }
    diagnostics
}

fn cycle_diagnostic(ident: &Ident) -> SemanticDiagnostic {
    SemanticDiagnostic::new(
        ident.node,
        Code::FormulaCycle,
        format!(
            "The formula '{}' depends on itself: formulas must not form a cycle",
            ident.name
        ),
    )
    .with_help("compute one of the values in the cycle from fields only")
}

/// One formula of each cycle, the first in name order, reported once.
fn cycle_heads<'a>(graph: &Dependencies<'a>) -> Vec<&'a Ident> {
    let mut heads = Vec::new();
    let mut in_reported_cycle: BTreeSet<&str> = BTreeSet::new();
    for (&start, (ident, _)) in graph {
        if in_reported_cycle.contains(start) {
            continue;
        }
        // Depth-first search for a path from `start` back to itself.
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, vec![start])];
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        while let Some((current, path)) = stack.pop() {
            let Some((_, mentions)) = graph.get(current) else {
                continue;
            };
            if mentions.contains(start) {
                in_reported_cycle.extend(path.iter().copied());
                heads.push(*ident);
                break;
            }
            for next in mentions {
                if graph.contains_key(next) && visited.insert(next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    heads
}

/// The bare names an expression mentions. Names inside query predicates and lambdas are left
/// out: there a name may be a field of the row, which a syntactic look cannot tell apart.
fn names_in(body: &Body, root: crate::hir::ExprId) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let expr = &body.expr(id).expr;
        if let Expr::Name(ident) = expr {
            names.insert(ident.name.as_str());
        }
        stack.extend(children(expr));
    }
    names
}

fn children(expr: &Expr) -> Vec<crate::hir::ExprId> {
    use crate::hir::Clause;
    match expr {
        Expr::Member { object, .. } => vec![*object],
        Expr::Index { object, index } => vec![*object, *index],
        Expr::Call {
            function,
            arguments,
        } => std::iter::once(*function)
            .chain(arguments.iter().copied())
            .collect(),
        Expr::Binary { left, right, .. } => vec![*left, *right],
        Expr::Prefix { operand, .. } | Expr::Postfix { operand, .. } => vec![*operand],
        Expr::Conditional {
            condition,
            then,
            otherwise,
        } => vec![*condition, *then, *otherwise],
        Expr::Contains { key, map, .. } => vec![*key, *map],
        Expr::Compound { target, value, .. } => vec![*target, *value],
        Expr::Tuple(elements) | Expr::Array(elements) => elements.clone(),
        Expr::Object(fields) => fields.iter().filter_map(|field| field.value).collect(),
        Expr::MaybeOf(value) | Expr::Iterate(value) | Expr::Paren(value) => vec![*value],
        Expr::Pair { key, value } => vec![*key, *value],
        Expr::Lambda { .. } => Vec::new(),
        Expr::Convert { value, .. } => vec![*value],
        Expr::Query { source, clause } => {
            let mut ids = vec![*source];
            if let Clause::OrderDyn(id) | Clause::Limit(id) | Clause::Offset(id) = clause {
                ids.push(*id);
            }
            ids
        }
        _ => Vec::new(),
    }
}

/// A cycle of record containment from `record` back to itself that goes through at least one
/// formula (`record A { formula b = … /* a B */; } record B { A a; }`), as the list of record
/// names, or `None`.
pub fn record_formula_cycle(
    record: &str,
    signatures: &Signatures,
    formulas: &dyn FormulaTypes,
) -> Option<Vec<String>> {
    // States are (record, whether the path so far went through a formula); each is visited once,
    // so the search is linear in the members of the records reached.
    let mut visited: BTreeSet<(String, bool)> = BTreeSet::new();
    let mut stack: Vec<(String, bool, Vec<String>)> =
        vec![(record.to_owned(), false, vec![record.to_owned()])];
    while let Some((current, through_formula, path)) = stack.pop() {
        let Some(sig) = signatures.records.get(&current) else {
            continue;
        };
        for member in &sig.order {
            let (ty, is_formula) = match sig.members.get(member) {
                Some(MemberSig::Field { ty, .. }) => (ty.clone(), false),
                Some(MemberSig::Formula) => (formulas.formula_type(Some(&current), member), true),
                _ => continue,
            };
            let Ty::Record(next) = ty.unwrap_maybe() else {
                continue;
            };
            let through = through_formula || is_formula;
            let mut longer = path.clone();
            longer.push(next.to_string());
            if &**next == record {
                if through {
                    return Some(longer);
                }
                continue;
            }
            if visited.insert((next.to_string(), through)) {
                stack.push((next.to_string(), through, longer));
            }
        }
    }
    None
}
