//! Literal-valued expressions: numbers, strings, booleans, labels, `@` constants, date and time
//! literals, `@timespan`, `@empty<T>` and `@maybe`.
//!
//! The text of each token is read by `literals.rs`; malformed number text (already reported by
//! the syntax checks) lowers to `Expr::Missing`, a malformed date or time part to 0.

use tree_sitter::Node;

use super::exprs::ExprFn;
use super::{Lowerer, field, has_field, literals};
use crate::hir::{AtConstant, Expr, ExprId, Literal, NodeId, TimeUnit};

/// The lowering of each literal-valued expression kind.
pub(super) fn value_fn(kind: &str) -> Option<ExprFn> {
    let lower: ExprFn = match kind {
        "number" => number,
        "string" => string,
        "boolean" => boolean,
        "label" => label,
        "at_constant" => at_constant,
        "datetime_literal" => datetime,
        "date_literal" => date,
        "time_literal" => time,
        "timespan_literal" => timespan,
        "empty_literal" => empty,
        "maybe_literal" => maybe,
        _ => return None,
    };
    Some(lower)
}

fn number(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let value = literals::number(lowerer.text(node));
    lowerer.store(id, value.map_or(Expr::Missing, Expr::Literal))
}

fn string(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let value = literals::string(lowerer.text(node));
    lowerer.store(id, Expr::Literal(Literal::String(value)))
}

fn boolean(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let value = lowerer.text(node) == "true";
    lowerer.store(id, Expr::Literal(Literal::Bool(value)))
}

fn label(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let name = literals::label(lowerer.text(node)).to_owned();
    lowerer.store(id, Expr::Literal(Literal::Label(name)))
}

fn at_constant(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let constant = AtConstant::from_keyword(lowerer.text(node));
    lowerer.store(id, constant.map_or(Expr::Missing, Expr::At))
}

fn datetime(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let expr = match field(node, "value") {
        Some(value) if !value.is_missing() => Expr::DateTime(literals::string(lowerer.text(value))),
        _ => Expr::Missing,
    };
    lowerer.store(id, expr)
}

/// A whole number in field `name` (0 when absent or malformed).
fn part(lowerer: &Lowerer<'_>, node: Node<'_>, name: &str) -> i64 {
    field(node, name)
        .and_then(|part| literals::integer(lowerer.text(part)))
        .unwrap_or(0)
}

fn date(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let expr = Expr::Date {
        year: part(lowerer, node, "year"),
        month: part(lowerer, node, "month"),
        day: part(lowerer, node, "day"),
    };
    lowerer.store(id, expr)
}

fn time(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let expr = Expr::Time {
        hour: part(lowerer, node, "hour"),
        minute: part(lowerer, node, "minute"),
    };
    lowerer.store(id, expr)
}

/// `@timespan -5 min`: the amount with its sign, and the unit.
fn timespan(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let amount = field(node, "amount").and_then(|amount| literals::amount(lowerer.text(amount)));
    let unit_name = lowerer.ident_field(node, "unit");
    let Some(amount) = amount else {
        return lowerer.store(id, Expr::Missing);
    };
    let amount = if has_field(node, "negative") {
        -amount
    } else {
        amount
    };
    let expr = Expr::TimeSpan {
        amount: amount.to_bits(),
        unit: TimeUnit::from_word(&unit_name.name),
        unit_name,
    };
    lowerer.store(id, expr)
}

fn empty(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let ty = lowerer.type_field(node, "type");
    lowerer.store(id, Expr::EmptyList(ty))
}

/// `@maybe<T>` or `@maybe(e)`.
fn maybe(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let expr = if field(node, "type").is_some() {
        Expr::EmptyMaybe(lowerer.type_field(node, "type"))
    } else {
        Expr::MaybeOf(lowerer.expr_field(node, "value"))
    };
    lowerer.store(id, expr)
}
