//! The operators of the language on runtime values (language spec §5.2).

use std::cmp::Ordering;
use std::sync::Arc;

use adama_compiler::hir::BinaryOp;

use crate::value::Value;

fn maybe_inner(value: &Value) -> Option<&Value> {
    match value {
        Value::Maybe(inner) => inner.as_deref(),
        other => Some(other),
    }
}

fn is_maybe(value: &Value) -> bool {
    matches!(value, Value::Maybe(_))
}

/// `a op b` for the arithmetic, comparison and equality operators. `&&`, `||` short-circuit in
/// the evaluator and reach here only as `^^`.
pub fn binary(op: BinaryOp, left: &Value, right: &Value) -> Value {
    match op {
        BinaryOp::Add => add(left, right),
        BinaryOp::Sub => arith(
            left,
            right,
            |a, b| a.wrapping_sub(b),
            |a, b| a.wrapping_sub(b),
            |a, b| a - b,
            |a, b| (a.0 - b.0, a.1 - b.1),
        ),
        BinaryOp::Mul => multiply(left, right),
        BinaryOp::Div => divide(left, right),
        BinaryOp::Mod => modulo(left, right),
        BinaryOp::Eq => Value::Bool(equals(left, right)),
        BinaryOp::Ne => Value::Bool(!equals(left, right)),
        BinaryOp::Lt => Value::Bool(compare(left, right) == Some(Ordering::Less)),
        BinaryOp::Le => Value::Bool(matches!(
            compare(left, right),
            Some(Ordering::Less | Ordering::Equal)
        )),
        BinaryOp::Gt => Value::Bool(compare(left, right) == Some(Ordering::Greater)),
        BinaryOp::Ge => Value::Bool(matches!(
            compare(left, right),
            Some(Ordering::Greater | Ordering::Equal)
        )),
        BinaryOp::And => Value::Bool(left.as_bool() && right.as_bool()),
        BinaryOp::Or => Value::Bool(left.as_bool() || right.as_bool()),
        BinaryOp::Xor => Value::Bool(left.as_bool() ^ right.as_bool()),
        BinaryOp::Search => Value::Bool(search(left.as_str(), right.as_str())),
    }
}

/// `==` (language spec §5.2): maybes compare false when empty, two empty maybes are equal.
pub fn equals(left: &Value, right: &Value) -> bool {
    left == right
}

fn search(needle: &str, haystack: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let haystack = haystack.to_lowercase();
    let needle = needle.to_lowercase();
    haystack.contains(&needle)
        || needle
            .split_whitespace()
            .any(|word| haystack.contains(word))
}

fn add(left: &Value, right: &Value) -> Value {
    match (left, right) {
        (Value::Str(a), b) => concat(a, b),
        (a, Value::Str(b)) => {
            let mut text = a.to_text();
            text.push_str(b);
            Value::Str(Arc::from(text))
        }
        (Value::Maybe(Some(inner)), b) if matches!(**inner, Value::Str(_)) => add(inner, b),
        (a, Value::Maybe(Some(inner))) if matches!(**inner, Value::Str(_)) => add(a, inner),
        (Value::TimeSpan(a), Value::TimeSpan(b)) => Value::TimeSpan(a + b),
        _ => arith(
            left,
            right,
            |a, b| a.wrapping_add(b),
            |a, b| a.wrapping_add(b),
            |a, b| a + b,
            |a, b| (a.0 + b.0, a.1 + b.1),
        ),
    }
}

fn concat(prefix: &str, value: &Value) -> Value {
    let mut text = String::with_capacity(prefix.len() + 8);
    text.push_str(prefix);
    text.push_str(&value.to_text());
    Value::Str(Arc::from(text))
}

fn multiply(left: &Value, right: &Value) -> Value {
    match (left, right) {
        (Value::Str(text), count) | (count, Value::Str(text)) if matches!(count, Value::Int(_)) => {
            Value::Str(Arc::from(text.repeat(count.as_int().max(0) as usize)))
        }
        (Value::TimeSpan(span), factor) | (factor, Value::TimeSpan(span)) => {
            Value::TimeSpan(span * factor.as_double())
        }
        _ => arith(
            left,
            right,
            |a, b| a.wrapping_mul(b),
            |a, b| a.wrapping_mul(b),
            |a, b| a * b,
            |a, b| (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0),
        ),
    }
}

/// An operation on complex numbers as (re, im) pairs.
type ComplexOp = fn((f64, f64), (f64, f64)) -> (f64, f64);

fn complex_of(value: &Value) -> (f64, f64) {
    match value {
        Value::Complex(re, im) => (*re, *im),
        other => (other.as_double(), 0.0),
    }
}

fn arith(
    left: &Value,
    right: &Value,
    int: fn(i32, i32) -> i32,
    long: fn(i64, i64) -> i64,
    double: fn(f64, f64) -> f64,
    complex: ComplexOp,
) -> Value {
    if is_maybe(left) || is_maybe(right) {
        return match (maybe_inner(left), maybe_inner(right)) {
            (Some(a), Some(b)) => Value::some(arith(a, b, int, long, double, complex)),
            _ => Value::Maybe(None),
        };
    }
    match (left, right) {
        (Value::Int(a), Value::Int(b)) => Value::Int(int(*a, *b)),
        (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => {
            Value::Long(long(left.as_long(), right.as_long()))
        }
        (Value::Complex(..), _) | (_, Value::Complex(..)) => {
            let (re, im) = complex(complex_of(left), complex_of(right));
            Value::Complex(re, im)
        }
        _ => Value::Double(double(left.as_double(), right.as_double())),
    }
}

fn divide(left: &Value, right: &Value) -> Value {
    let (Some(a), Some(b)) = (maybe_inner(left), maybe_inner(right)) else {
        return Value::Maybe(None);
    };
    if matches!(a, Value::Complex(..)) || matches!(b, Value::Complex(..)) {
        let (ar, ai) = complex_of(a);
        let (br, bi) = complex_of(b);
        let denominator = br * br + bi * bi;
        if denominator == 0.0 {
            return Value::Maybe(None);
        }
        let re = (ar * br + ai * bi) / denominator;
        let im = (ai * br - ar * bi) / denominator;
        return Value::some(Value::Complex(re, im));
    }
    let quotient = a.as_double() / b.as_double();
    if quotient.is_finite() {
        Value::some(Value::Double(quotient))
    } else {
        Value::Maybe(None)
    }
}

fn modulo(left: &Value, right: &Value) -> Value {
    let (Some(a), Some(b)) = (maybe_inner(left), maybe_inner(right)) else {
        return Value::Maybe(None);
    };
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            if *y == 0 {
                Value::Maybe(None)
            } else {
                Value::some(Value::Int(x.wrapping_rem(*y)))
            }
        }
        _ => {
            let (x, y) = (a.as_long(), b.as_long());
            if y == 0 {
                Value::Maybe(None)
            } else {
                Value::some(Value::Long(x.wrapping_rem(y)))
            }
        }
    }
}

/// Ordering for `<` and friends, and for `order by`.
pub fn compare(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Int(a), Value::Int(b)) | (Value::Enum(a), Value::Enum(b)) => Some(a.cmp(b)),
        (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => {
            Some(left.as_long().cmp(&right.as_long()))
        }
        (
            Value::Int(_) | Value::Long(_) | Value::Double(_),
            Value::Int(_) | Value::Long(_) | Value::Double(_),
        ) => left.as_double().partial_cmp(&right.as_double()),
        (Value::TimeSpan(a), Value::TimeSpan(b)) => a.partial_cmp(b),
        (Value::Str(a), Value::Str(b)) | (Value::Label(a), Value::Label(b)) => {
            Some(a.encode_utf16().cmp(b.encode_utf16()))
        }
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
        (Value::DateTime(a), Value::DateTime(b)) => {
            Some((a.epoch_ms, a.nanos).cmp(&(b.epoch_ms, b.nanos)))
        }
        (Value::Principal(a), Value::Principal(b)) => Some(
            a.authority
                .cmp(&b.authority)
                .then_with(|| a.agent.cmp(&b.agent)),
        ),
        (Value::Maybe(a), Value::Maybe(b)) => match (a, b) {
            (Some(a), Some(b)) => compare(a, b),
            (None, None) => Some(Ordering::Equal),
            (None, Some(_)) => Some(Ordering::Less),
            (Some(_), None) => Some(Ordering::Greater),
        },
        (Value::Maybe(Some(a)), b) => compare(a, b),
        (a, Value::Maybe(Some(b))) => compare(a, b),
        (Value::Dynamic(a), Value::Dynamic(b)) => Some(a.to_string().cmp(&b.to_string())),
        _ => None,
    }
}

/// `-e`.
pub fn negate(value: &Value) -> Value {
    match value {
        Value::Int(n) => Value::Int(n.wrapping_neg()),
        Value::Long(n) => Value::Long(n.wrapping_neg()),
        Value::Double(n) => Value::Double(-n),
        Value::TimeSpan(n) => Value::TimeSpan(-n),
        Value::Complex(re, im) => Value::Complex(-re, -im),
        Value::List(items) => Value::list(items.iter().map(negate).collect()),
        Value::Maybe(Some(inner)) => Value::some(negate(inner)),
        other => other.clone(),
    }
}

/// `!e`.
pub fn not(value: &Value) -> Value {
    match value {
        Value::List(items) => Value::list(items.iter().map(not).collect()),
        other => Value::Bool(!other.as_bool()),
    }
}

/// `e + 1` / `e - 1` for `++` and `--`.
pub fn step(value: &Value, up: bool) -> Value {
    let delta = if up { 1 } else { -1 };
    match value {
        Value::Int(n) => Value::Int(n.wrapping_add(delta)),
        Value::Long(n) => Value::Long(n.wrapping_add(i64::from(delta))),
        Value::Double(n) => Value::Double(n + f64::from(delta)),
        Value::List(items) => Value::list(items.iter().map(|item| step(item, up)).collect()),
        other => other.clone(),
    }
}
