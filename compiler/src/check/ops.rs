//! Operator typing (language section 5.2): the result type of each operator for each pair of
//! operand types, or `None` when the operator has no meaning for them.

use crate::hir::{BinaryOp, CompoundOp};
use crate::ty::Ty;

fn is_number(ty: &Ty) -> bool {
    matches!(ty, Ty::Int | Ty::Long | Ty::Double)
}

fn maybe_of(ty: &Ty, inner: fn(&Ty) -> bool) -> bool {
    matches!(ty, Ty::Maybe(element) if inner(element))
}

/// The result of `left op right`.
pub fn binary(op: BinaryOp, left: &Ty, right: &Ty) -> Option<Ty> {
    if left.is_error() || right.is_error() {
        return Some(error_result(op));
    }
    match op {
        BinaryOp::Add => add(left, right),
        BinaryOp::Sub | BinaryOp::Mul => arithmetic(op, left, right),
        BinaryOp::Div => divide(left, right),
        BinaryOp::Mod => modulo(left, right),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => logic(left, right),
        BinaryOp::Eq | BinaryOp::Ne => equality(left, right).then_some(Ty::Bool),
        BinaryOp::Search => matches!((left, right), (Ty::String, Ty::String)).then_some(Ty::Bool),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            comparable(left, right).then_some(Ty::Bool)
        }
    }
}

/// The type an operator yields when an operand is already in error.
fn error_result(op: BinaryOp) -> Ty {
    match op {
        BinaryOp::And
        | BinaryOp::Or
        | BinaryOp::Xor
        | BinaryOp::Eq
        | BinaryOp::Ne
        | BinaryOp::Search
        | BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge => Ty::Bool,
        _ => Ty::Error,
    }
}

fn widen(left: &Ty, right: &Ty) -> Ty {
    match (left, right) {
        (Ty::Int, Ty::Int) => Ty::Int,
        (Ty::Int | Ty::Long, Ty::Int | Ty::Long) => Ty::Long,
        _ => Ty::Double,
    }
}

fn add(left: &Ty, right: &Ty) -> Option<Ty> {
    let stringish =
        |ty: &Ty| matches!(ty, Ty::String) || maybe_of(ty, |inner| matches!(inner, Ty::String));
    let concatenable = |ty: &Ty| {
        matches!(
            ty,
            Ty::String | Ty::Int | Ty::Long | Ty::Double | Ty::Complex | Ty::Bool
        ) || maybe_of(ty, |inner| {
            matches!(inner, Ty::String | Ty::Double | Ty::Complex)
        })
    };
    if (stringish(left) && concatenable(right)) || (stringish(right) && concatenable(left)) {
        return Some(Ty::String);
    }
    arithmetic(BinaryOp::Add, left, right)
}

fn arithmetic(op: BinaryOp, left: &Ty, right: &Ty) -> Option<Ty> {
    let numeric_or_maybe_double =
        |ty: &Ty| is_number(ty) || maybe_of(ty, |inner| matches!(inner, Ty::Double));
    let complexish =
        |ty: &Ty| matches!(ty, Ty::Complex) || maybe_of(ty, |inner| matches!(inner, Ty::Complex));
    match (left, right) {
        _ if is_number(left) && is_number(right) => Some(widen(left, right)),
        _ if numeric_or_maybe_double(left) && numeric_or_maybe_double(right) => {
            Some(Ty::maybe(Ty::Double))
        }
        _ if (complexish(left) || numeric_or_maybe_double(left))
            && (complexish(right) || numeric_or_maybe_double(right)) =>
        {
            let any_maybe = matches!(left, Ty::Maybe(_)) || matches!(right, Ty::Maybe(_));
            Some(if any_maybe {
                Ty::maybe(Ty::Complex)
            } else {
                Ty::Complex
            })
        }
        (Ty::TimeSpan, Ty::TimeSpan) if op != BinaryOp::Mul => Some(Ty::TimeSpan),
        (Ty::TimeSpan, Ty::Int | Ty::Double) | (Ty::Int | Ty::Double, Ty::TimeSpan)
            if op == BinaryOp::Mul =>
        {
            Some(Ty::TimeSpan)
        }
        (Ty::String, Ty::Int) | (Ty::Int, Ty::String) if op == BinaryOp::Mul => Some(Ty::String),
        (Ty::Maybe(inner), Ty::Int) | (Ty::Int, Ty::Maybe(inner))
            if op == BinaryOp::Mul && **inner == Ty::String =>
        {
            Some(Ty::maybe(Ty::String))
        }
        (Ty::List(element), other) | (other, Ty::List(element))
            if is_number(element) && is_number(other) =>
        {
            Some(Ty::list(widen(element, other)))
        }
        _ => None,
    }
}

fn divide(left: &Ty, right: &Ty) -> Option<Ty> {
    let real = |ty: &Ty| is_number(ty) || maybe_of(ty, |inner| matches!(inner, Ty::Double));
    let complexish =
        |ty: &Ty| matches!(ty, Ty::Complex) || maybe_of(ty, |inner| matches!(inner, Ty::Complex));
    if real(left) && real(right) {
        Some(Ty::maybe(Ty::Double))
    } else if (real(left) || complexish(left)) && (real(right) || complexish(right)) {
        Some(Ty::maybe(Ty::Complex))
    } else {
        None
    }
}

fn modulo(left: &Ty, right: &Ty) -> Option<Ty> {
    match (left, right) {
        (Ty::Int, Ty::Int) => Some(Ty::maybe(Ty::Int)),
        (Ty::Long, Ty::Int | Ty::Long) => Some(Ty::maybe(Ty::Long)),
        _ => None,
    }
}

fn logic(left: &Ty, right: &Ty) -> Option<Ty> {
    let boolish =
        |ty: &Ty| matches!(ty, Ty::Bool) || maybe_of(ty, |inner| matches!(inner, Ty::Bool));
    (boolish(left) && boolish(right)).then_some(Ty::Bool)
}

fn equality(left: &Ty, right: &Ty) -> bool {
    let numeric_or_complex = |ty: &Ty| is_number(ty) || matches!(ty, Ty::Complex);
    match (left, right) {
        _ if numeric_or_complex(left) && numeric_or_complex(right) => true,
        (Ty::Principal | Ty::SecurePrincipal, Ty::Principal | Ty::SecurePrincipal) => true,
        (Ty::Maybe(inner), other) | (other, Ty::Maybe(inner)) if !matches!(other, Ty::Maybe(_)) => {
            equality(inner, other)
        }
        (Ty::Maybe(a), Ty::Maybe(b)) => matches!((&**a, &**b), (Ty::Date, Ty::Date)),
        (Ty::Enum(a), Ty::Enum(b)) => a == b,
        (a, b) => {
            a == b
                && matches!(
                    a,
                    Ty::String
                        | Ty::Bool
                        | Ty::Label
                        | Ty::Asset
                        | Ty::Dynamic
                        | Ty::Date
                        | Ty::DateTime
                        | Ty::Time
                        | Ty::TimeSpan
                )
        }
    }
}

fn comparable(left: &Ty, right: &Ty) -> bool {
    match (left, right) {
        _ if is_number(left) && is_number(right) => true,
        (Ty::String, Ty::String)
        | (Ty::Date, Ty::Date)
        | (Ty::Time, Ty::Time)
        | (Ty::DateTime, Ty::DateTime)
        | (Ty::TimeSpan, Ty::TimeSpan) => true,
        _ => false,
    }
}

/// The result of `target op= value`, or `None` when the operator has no meaning.
pub fn compound(op: CompoundOp, target: &Ty, value: &Ty) -> Option<Ty> {
    if target.is_error() || value.is_error() {
        return Some(target.clone());
    }
    let number = |ty: &Ty| matches!(ty, Ty::Int | Ty::Long | Ty::Double);
    let accepts = match (target, op) {
        (Ty::Int, _) => matches!(value, Ty::Int),
        (Ty::Long, _) => matches!(value, Ty::Int | Ty::Long),
        (Ty::Double, _) => number(value),
        (Ty::Complex, _) => number(value) || matches!(value, Ty::Complex),
        (Ty::String, CompoundOp::Add) => {
            matches!(
                value,
                Ty::String | Ty::Bool | Ty::Int | Ty::Long | Ty::Double | Ty::Complex
            ) || matches!(value, Ty::Maybe(inner) if matches!(**inner, Ty::String | Ty::Bool | Ty::Int | Ty::Long | Ty::Double | Ty::Complex))
        }
        (Ty::List(element), _) => return compound(op, element, value).map(|_| Ty::Int),
        (Ty::TimeSpan, CompoundOp::Add | CompoundOp::Sub) => matches!(value, Ty::TimeSpan),
        _ => false,
    };
    accepts.then(|| target.clone())
}
