//! The `Statistics` namespace (language §6.4), also the methods of lists and arrays of numbers.
//!
//! Every result is a maybe of the element type (the average is a double), empty for an empty
//! list. Integer sums wrap as int and long arithmetic does.

use super::BuiltinFn;
use super::args::{Outcome, arg, double, lifted, maybe};
use super::math::{Num, java_round};
use crate::value::Value;
use std::cmp::Ordering;

/// `Statistics.function`, and the list methods that are its extension form.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "sum" => lifted!(sum),
        "average" => lifted!(average),
        "minimum" => lifted!(minimum),
        "maximum" => lifted!(maximum),
        "median" => lifted!(median),
        "percentile" => lifted!(percentile),
        _ => None,
    }
}

/// The numbers of a list argument, at the list's common width.
enum Numbers {
    Ints(Vec<i32>),
    Longs(Vec<i64>),
    Doubles(Vec<f64>),
}

impl Numbers {
    fn of(value: &Value) -> Numbers {
        let numbers: Vec<Num> = value
            .as_list()
            .iter()
            .filter_map(Value::unwrap_maybe)
            .map(Num::of)
            .collect();
        if numbers
            .iter()
            .any(|number| matches!(number, Num::Double(_)))
        {
            Numbers::Doubles(numbers.into_iter().map(Num::as_f64).collect())
        } else if numbers.iter().any(|number| matches!(number, Num::Long(_))) {
            Numbers::Longs(
                numbers
                    .into_iter()
                    .map(|number| match number {
                        Num::Int(value) => i64::from(value),
                        Num::Long(value) => value,
                        Num::Double(value) => value as i64,
                    })
                    .collect(),
            )
        } else {
            Numbers::Ints(
                numbers
                    .into_iter()
                    .map(|number| match number {
                        Num::Int(value) => value,
                        Num::Long(value) => value as i32,
                        Num::Double(value) => value as i32,
                    })
                    .collect(),
            )
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Numbers::Ints(values) => values.is_empty(),
            Numbers::Longs(values) => values.is_empty(),
            Numbers::Doubles(values) => values.is_empty(),
        }
    }

    fn sort(&mut self) {
        match self {
            Numbers::Ints(values) => values.sort_unstable(),
            Numbers::Longs(values) => values.sort_unstable(),
            Numbers::Doubles(values) => values.sort_unstable_by(f64::total_cmp),
        }
    }

    fn at(&self, index: usize) -> Option<Value> {
        match self {
            Numbers::Ints(values) => values.get(index).map(|value| Value::Int(*value)),
            Numbers::Longs(values) => values.get(index).map(|value| Value::Long(*value)),
            Numbers::Doubles(values) => values.get(index).map(|value| Value::Double(*value)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Numbers::Ints(values) => values.len(),
            Numbers::Longs(values) => values.len(),
            Numbers::Doubles(values) => values.len(),
        }
    }
}

fn sum(arguments: &[Value]) -> Outcome {
    let numbers = Numbers::of(arg(arguments, 0));
    if numbers.is_empty() {
        return Ok(Value::empty_maybe());
    }
    Ok(Value::some(match numbers {
        Numbers::Ints(values) => Value::Int(values.iter().fold(0i32, |a, b| a.wrapping_add(*b))),
        Numbers::Longs(values) => Value::Long(values.iter().fold(0i64, |a, b| a.wrapping_add(*b))),
        Numbers::Doubles(values) => Value::Double(values.iter().sum()),
    }))
}

fn average(arguments: &[Value]) -> Outcome {
    let numbers = Numbers::of(arg(arguments, 0));
    let count = numbers.len() as f64;
    let total: f64 = match &numbers {
        Numbers::Ints(values) => values.iter().map(|value| f64::from(*value)).sum(),
        Numbers::Longs(values) => values.iter().map(|value| *value as f64).sum(),
        Numbers::Doubles(values) => values.iter().sum(),
    };
    Ok(maybe(
        (!numbers.is_empty()).then(|| Value::Double(total / count)),
    ))
}

fn extreme(arguments: &[Value], wanted: Ordering) -> Outcome {
    let numbers = Numbers::of(arg(arguments, 0));
    let pick = |a: Ordering| a == wanted;
    Ok(maybe(match numbers {
        Numbers::Ints(values) => values
            .into_iter()
            .reduce(|a, b| if pick(b.cmp(&a)) { b } else { a })
            .map(Value::Int),
        Numbers::Longs(values) => values
            .into_iter()
            .reduce(|a, b| if pick(b.cmp(&a)) { b } else { a })
            .map(Value::Long),
        Numbers::Doubles(values) => values
            .into_iter()
            .reduce(|a, b| if pick(b.total_cmp(&a)) { b } else { a })
            .map(Value::Double),
    }))
}

fn minimum(arguments: &[Value]) -> Outcome {
    extreme(arguments, Ordering::Less)
}

fn maximum(arguments: &[Value]) -> Outcome {
    extreme(arguments, Ordering::Greater)
}

/// The middle element; for an even count, the mean of the two middle elements (truncated toward
/// zero for integers, which must stay integers).
fn median(arguments: &[Value]) -> Outcome {
    let mut numbers = Numbers::of(arg(arguments, 0));
    numbers.sort();
    let count = numbers.len();
    if count == 0 {
        return Ok(Value::empty_maybe());
    }
    let upper = count / 2;
    if count % 2 == 1 {
        return Ok(maybe(numbers.at(upper)));
    }
    let lower = upper - 1;
    Ok(maybe(match &numbers {
        Numbers::Ints(values) => values
            .get(lower)
            .zip(values.get(upper))
            .map(|(a, b)| Value::Int(((i64::from(*a) + i64::from(*b)) / 2) as i32)),
        Numbers::Longs(values) => values
            .get(lower)
            .zip(values.get(upper))
            .map(|(a, b)| Value::Long(((i128::from(*a) + i128::from(*b)) / 2) as i64)),
        Numbers::Doubles(values) => values
            .get(lower)
            .zip(values.get(upper))
            .map(|(a, b)| Value::Double((a + b) / 2.0)),
    }))
}

/// The element at rank `round(p · (n − 1))` of the sorted list, `p` clamped to [0, 1].
fn percentile(arguments: &[Value]) -> Outcome {
    let mut numbers = Numbers::of(arg(arguments, 0));
    let fraction = double(arguments, 1);
    if numbers.is_empty() || fraction.is_nan() {
        return Ok(Value::empty_maybe());
    }
    numbers.sort();
    let last = numbers.len() - 1;
    let rank = java_round(fraction.clamp(0.0, 1.0) * last as f64);
    let index = usize::try_from(rank).unwrap_or(0).min(last);
    Ok(maybe(numbers.at(index)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{doubles, ints, none, run, same, some};
    use crate::value::Value;

    #[test]
    fn sums_keep_the_element_type() {
        same(
            &run("Statistics.sum", &[ints(&[1, 2, 3])]),
            &some(Value::Int(6)),
        );
        same(
            &run("list.sum", &[ints(&[i32::MAX, 1])]),
            &some(Value::Int(i32::MIN)),
        );
        same(
            &run("list.sum", &[doubles(&[0.5, 0.25])]),
            &some(Value::Double(0.75)),
        );
        let longs = Value::list(vec![Value::Long(1), Value::Long(2)]);
        same(&run("list.sum", &[longs]), &some(Value::Long(3)));
        same(&run("list.sum", &[ints(&[])]), &none());
    }

    #[test]
    fn average_minimum_maximum() {
        same(
            &run("list.average", &[ints(&[1, 2])]),
            &some(Value::Double(1.5)),
        );
        same(&run("list.average", &[ints(&[])]), &none());
        same(
            &run("list.minimum", &[ints(&[3, -1, 2])]),
            &some(Value::Int(-1)),
        );
        same(
            &run("list.maximum", &[doubles(&[3.0, 7.5, 2.0])]),
            &some(Value::Double(7.5)),
        );
        same(&run("Statistics.maximum", &[none()]), &none());
    }

    #[test]
    fn median_takes_the_middle() {
        same(
            &run("Statistics.median", &[ints(&[5, 1, 3])]),
            &some(Value::Int(3)),
        );
        same(
            &run("list.median", &[ints(&[4, 1, 3, 2])]),
            &some(Value::Int(2)),
        );
        same(
            &run("list.median", &[doubles(&[4.0, 1.0, 3.0, 2.0])]),
            &some(Value::Double(2.5)),
        );
        same(&run("list.median", &[ints(&[])]), &none());
    }

    #[test]
    fn percentile_picks_a_rank() {
        let values = ints(&[50, 10, 40, 20, 30]);
        same(
            &run("list.percentile", &[values.clone(), Value::Double(0.0)]),
            &some(Value::Int(10)),
        );
        same(
            &run("list.percentile", &[values.clone(), Value::Double(0.5)]),
            &some(Value::Int(30)),
        );
        same(
            &run("list.percentile", &[values.clone(), Value::Double(1.0)]),
            &some(Value::Int(50)),
        );
        same(
            &run("list.percentile", &[values, Value::Double(7.0)]),
            &some(Value::Int(50)),
        );
    }
}
