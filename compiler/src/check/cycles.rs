//! Formulas that depend on themselves: `formula a = b + 1; formula b = a + 1;`, and records that
//! reach or hold themselves.
//!
//! A formula reads the names its expression mentions; a cycle among top-level formulas, or among
//! the formulas of one record, can never be computed. Records must not reach themselves through
//! their fields and formulas, and what a record or message holds must be writable in a finite
//! order (language section 3.1); both need the types of formulas, and are found per file by the
//! `record_graph` query.

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

/// Where the declaration of each record and message is: its item's index and its name's node.
pub type Declared = BTreeMap<String, (usize, crate::hir::NodeId)>;

/// The two rules of records that reach themselves (language section 3.1), as (item index,
/// diagnostic) pairs shown at the start of the file, each labelled at the declarations involved.
///
/// - Reach: records point to the records their fields and formulas name (directly, in a maybe,
///   a list or a table). A depth-first walk from the first record by name, following names in
///   order, must not come back to a record on its path.
/// - Serialization: a record or message is written with the records and messages its stored
///   fields hold directly and its formulas yield (through maybes, lists, arrays and map values).
///   What a topological order of that graph cannot place would be written forever.
pub fn record_graph_cycles(
    signatures: &Signatures,
    formulas: &dyn FormulaTypes,
    declared: &Declared,
) -> Vec<(usize, SemanticDiagnostic)> {
    let mut diagnostics = Vec::new();
    if let Some(path) = reach_cycle(signatures, formulas) {
        let Some(&(item, node)) = path.first().and_then(|first| declared.get(first)) else {
            return diagnostics;
        };
        let mut diagnostic = SemanticDiagnostic::new(
            node,
            Code::RecordReachesItself,
            format!("A cycle was detected within records: {}", path.join(", ")),
        )
        .with_help("break the cycle: a record should not reach its own kind through its fields or formulas; keep ids and look rows up instead")
        .shown_at(super::report::Anchor::StartOfFile);
        let mut labelled = BTreeSet::new();
        for name in &path {
            if labelled.insert(name.as_str())
                && let Some(&(other, other_node)) = declared.get(name)
            {
                diagnostic = diagnostic.with_label(
                    super::report::Anchor::Item {
                        item: other,
                        node: other_node,
                    },
                    format!("'{name}' is part of the cycle"),
                );
            }
        }
        diagnostics.push((item, diagnostic));
    }
    for name in serialization_cycles(signatures, formulas) {
        let Some(&(item, node)) = declared.get(&name) else {
            continue;
        };
        diagnostics.push((
            item,
            SemanticDiagnostic::new(
                node,
                Code::TypeCycle,
                format!("The record/message '{name}' has the potential to create an infinite serialization"),
            )
            .with_help("hold the nested value in a table, or yield ids from the formula, so that writing it out ends")
            .shown_at(super::report::Anchor::StartOfFile)
            .with_label(super::report::Anchor::Node(node), "declared here"),
        ));
    }
    diagnostics
}

/// How a member of a record or message gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Stored,
    Formula,
    Bubble,
}

/// The members of a record or message with the type of each (a formula's or bubble's from its
/// query).
fn member_types(
    record: &str,
    sig: &crate::signatures::StructSig,
    formulas: &dyn FormulaTypes,
) -> Vec<(Ty, Member)> {
    sig.order
        .iter()
        .filter_map(|member| match sig.members.get(member) {
            Some(MemberSig::Field { ty, .. }) => Some((ty.clone(), Member::Stored)),
            Some(MemberSig::Formula) => {
                Some((formulas.formula_type(Some(record), member), Member::Formula))
            }
            Some(MemberSig::Bubble) => {
                Some((formulas.formula_type(Some(record), member), Member::Bubble))
            }
            None => None,
        })
        .collect()
}

/// The first cycle of the reach walk, as the path and the record met again.
fn reach_cycle(signatures: &Signatures, formulas: &dyn FormulaTypes) -> Option<Vec<String>> {
    let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, sig) in &signatures.records {
        // Stored fields and formulas only: a bubble is no part of what a record reaches.
        let named = member_types(name, sig, formulas)
            .into_iter()
            .filter(|(_, member)| *member != Member::Bubble)
            .filter_map(|(ty, _)| match ty {
                Ty::Record(next) => Some(next.to_string()),
                Ty::Maybe(inner) | Ty::List(inner) | Ty::Table(inner) => match *inner {
                    Ty::Record(next) => Some(next.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .filter(|next| signatures.records.contains_key(next))
            .collect();
        edges.insert(name, named);
    }
    let start = signatures.records.keys().next()?;
    // An explicit stack of (record, its next names still to follow), so deep graphs do not
    // recurse; `done` marks records whose every path was walked without a cycle.
    let mut path: Vec<String> = vec![start.clone()];
    let mut pending: Vec<Vec<String>> = vec![
        edges
            .get(start.as_str())
            .map(|next| next.iter().rev().cloned().collect())
            .unwrap_or_default(),
    ];
    let mut done: BTreeSet<String> = BTreeSet::new();
    while let Some(next_names) = pending.last_mut() {
        let Some(next) = next_names.pop() else {
            pending.pop();
            if let Some(finished) = path.pop() {
                done.insert(finished);
            }
            continue;
        };
        if path.contains(&next) {
            path.push(next);
            return Some(path);
        }
        if done.contains(&next) {
            continue;
        }
        pending.push(
            edges
                .get(next.as_str())
                .map(|names| names.iter().rev().cloned().collect())
                .unwrap_or_default(),
        );
        path.push(next);
    }
    None
}

/// The records and messages that no order of writing can place: each is written with what it
/// holds, and what it holds is (through some path) itself.
fn serialization_cycles(signatures: &Signatures, formulas: &dyn FormulaTypes) -> Vec<String> {
    fn structure(mut ty: Ty) -> Option<String> {
        loop {
            ty = match ty {
                Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) | Ty::Map(_, inner) => *inner,
                Ty::Record(name) | Ty::Message(name) => return Some(name.to_string()),
                _ => return None,
            };
        }
    }
    let mut dependencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, sig) in signatures.records.iter().chain(&signatures.messages) {
        let held = member_types(name, sig, formulas)
            .into_iter()
            .filter_map(|(ty, member)| match (ty, member) {
                (Ty::Record(next) | Ty::Message(next), Member::Stored) => Some(next.to_string()),
                (_, Member::Stored) => None,
                (ty, Member::Formula | Member::Bubble) => structure(ty),
            })
            .filter(|next| {
                signatures.records.contains_key(next) || signatures.messages.contains_key(next)
            })
            .collect();
        dependencies.insert(name.clone(), held);
    }
    // Place whatever depends only on what is placed, until nothing more can be placed.
    let mut placed: BTreeSet<String> = BTreeSet::new();
    loop {
        let ready: Vec<String> = dependencies
            .iter()
            .filter(|(name, held)| {
                !placed.contains(*name) && held.iter().all(|h| placed.contains(h))
            })
            .map(|(name, _)| name.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        placed.extend(ready);
    }
    dependencies
        .into_keys()
        .filter(|name| !placed.contains(name))
        .collect()
}
