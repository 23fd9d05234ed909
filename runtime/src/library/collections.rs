//! The methods of maybes, lists (and arrays) and maps (language §6.1), and the `Token`
//! namespace (§6.8).
//!
//! Collections are shared values: every method builds a new value and never touches its
//! receiver. Methods that change a map (`insert`, `remove`, `clear`) compute the result the
//! language gives them; storing the changed map is the interpreter's job.

use super::BuiltinFn;
use super::args::{Outcome, arg, int, maybe, pure};
use crate::value::{MapKey, Message, Shape, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Methods of `maybe<T>`: its own, and any method of `T` applied to the content.
pub fn maybe_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "has" => pure!(has),
        "getOrDefaultTo" => pure!(get_or_default_to),
        // These take the maybe itself and answer a plain value.
        "isTrue" | "forceId" => super::math::namespace(method),
        _ => content_method(method),
    }
}

/// Methods of `list<T>` and `T[]` that are not `String`, `Statistics` or `Token` extensions.
pub fn list_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "size" => pure!(size),
        "toArray" => pure!(to_array),
        "reverse" => pure!(reverse),
        "skip" => pure!(skip),
        "drop" => pure!(drop_last),
        "flatten" => pure!(flatten),
        "manifest" => pure!(manifest),
        _ => None,
    }
}

/// Methods of `map<K, V>`.
pub fn map_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "size" => pure!(map_size),
        "has" => pure!(map_has),
        "insert" => pure!(map_insert),
        "remove" => pure!(map_remove),
        "clear" => pure!(map_clear),
        "min" => pure!(map_min),
        "max" => pure!(map_max),
        _ => None,
    }
}

/// `Token.function`, and the list methods that are its extension form.
pub fn token_namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "sortAndUniqueAsIntTokens" => pure!(int_tokens),
        "normalizeSortAndUniqueAsStringTokens" => pure!(string_tokens),
        "intersect" => pure!(intersect),
        _ => None,
    }
}

/// One entry per method name a maybe's content may have: the call site knows only that the
/// receiver is a maybe, so the entry finds the content's method when it runs.
macro_rules! content_methods {
    ($($name:literal)*) => {
        /// The method names reachable through a maybe receiver.
        #[cfg(test)]
        pub const CONTENT_METHODS: &[&str] = &[$($name),*];

        fn content_method(method: &str) -> Option<BuiltinFn> {
            match method {
                $($name => {
                    fn entry(
                        host: &mut dyn super::Host,
                        arguments: &[Value],
                    ) -> Outcome {
                        super::call_on_content($name, host, arguments)
                    }
                    Some(entry as BuiltinFn)
                })*
                _ => None,
            }
        }
    };
}

content_methods! {
    // Numbers and booleans.
    "strOf" "hexOf" "charOf" "to_roman" "dyn"
    "abs" "sign" "sqrt" "sin" "cos" "tan" "asin" "acos" "atan" "sinh" "cosh" "tanh" "exp" "log"
    "log10" "cbrt" "expm1" "log1p" "signum" "ulp" "getExponent" "radians" "toRadians" "degrees"
    "toDegrees" "atan2" "hypot" "pow" "IEEEremainder" "copySign" "min" "max" "floorDiv"
    "floorMod" "gcd" "ceil" "floor" "round" "roundTo" "intOf" "longOf" "clampIntOf" "isNaN"
    "isInfinite" "valid" "near" "xor" "conj" "length" "intersects"
    "re" "real" "im" "imaginary"
    // Strings.
    "split" "contains" "startsWith" "endsWith" "indexOf" "trim" "trimLeft" "trimRight" "upper"
    "lower" "proper" "reverse" "camelject" "mid" "substr" "left" "right" "multiply" "replaceAll"
    "removeAll" "bulkReplaceAll" "compare" "compareInsensitive" "equality" "codepointAt"
    "codepoints" "doubleOf" "intFromHex" "longFromHex" "initialsOf" "principalOf" "to_dyn"
    "passwordHash" "passwordCheck"
    // Principals.
    "isAdamaDeveloper" "isAnonymous" "isOverlord" "isAdamaHost" "fromAuthority" "agent"
    "authority" "isFromDocument" "isFromSpace"
    // Dynamic and JSON.
    "str" "i" "l" "d" "b" "date" "datetime" "is_null" "to_str" "to_json" "to_dynamic" "deref"
    "to_b" "to_i" "to_s" "ingest_dynamic"
    // Assets.
    "name" "id" "type" "md5" "sha384" "size"
    // Dates, datetimes, times and timespans.
    "year" "month" "day" "calendarViewOf" "weekViewOf" "neighborViewOf" "inclusiveRange"
    "satisfiesWeeklyPattern" "inclusiveRangeSatisfiesWeeklyPattern" "dayOfWeek"
    "dayOfWeekEnglish" "monthNameEnglish" "offsetDay" "offsetMonth" "periodMonths"
    "periodYearsFractional" "format" "future" "past" "between" "time" "adjustTimeZone"
    "withYear" "withMonth" "withDayOfMonth" "withHour" "withMinute" "withTime" "truncateDay"
    "truncateHour" "truncateMinute" "truncateSeconds" "truncateMilliseconds" "hour" "minute"
    "toInt" "extendWithinDay" "cyclicAdd" "seconds" "minutes" "hours" "add"
    // Lists and maps.
    "toArray" "skip" "drop" "flatten" "manifest" "join" "concat" "sum" "average" "minimum"
    "maximum" "median" "percentile" "sortAndUniqueAsIntTokens"
    "normalizeSortAndUniqueAsStringTokens" "intersect" "insert" "remove" "clear"
}

fn has(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(!matches!(
        arg(arguments, 0),
        Value::Maybe(None) | Value::Void
    )))
}

fn get_or_default_to(arguments: &[Value]) -> Outcome {
    Ok(match arg(arguments, 0) {
        Value::Maybe(Some(inner)) => (**inner).clone(),
        Value::Maybe(None) | Value::Void => arg(arguments, 1).clone(),
        present => present.clone(),
    })
}

fn items(arguments: &[Value]) -> &[Value] {
    arg(arguments, 0).as_list()
}

fn size(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(
        i32::try_from(items(arguments).len()).unwrap_or(i32::MAX),
    ))
}

/// Lists and arrays share a representation.
fn to_array(arguments: &[Value]) -> Outcome {
    Ok(Value::list(items(arguments).to_vec()))
}

fn reverse(arguments: &[Value]) -> Outcome {
    Ok(Value::list(
        items(arguments).iter().rev().cloned().collect(),
    ))
}

fn count(arguments: &[Value]) -> usize {
    usize::try_from(int(arguments, 1)).unwrap_or(0)
}

/// Without the first `n` elements.
fn skip(arguments: &[Value]) -> Outcome {
    let items = items(arguments);
    Ok(Value::list(
        items
            .get(count(arguments).min(items.len())..)
            .unwrap_or_default()
            .to_vec(),
    ))
}

/// Without the last `n` elements.
fn drop_last(arguments: &[Value]) -> Outcome {
    let items = items(arguments);
    let keep = items.len() - count(arguments).min(items.len());
    Ok(Value::list(items.get(..keep).unwrap_or_default().to_vec()))
}

fn flatten(arguments: &[Value]) -> Outcome {
    let mut flat = Vec::new();
    for item in items(arguments) {
        match item.unwrap_maybe() {
            Some(Value::List(inner)) => flat.extend(inner.iter().cloned()),
            Some(other) => flat.push(other.clone()),
            None => {}
        }
    }
    Ok(Value::list(flat))
}

fn manifest(arguments: &[Value]) -> Outcome {
    Ok(Value::list(
        items(arguments)
            .iter()
            .filter_map(Value::unwrap_maybe)
            .cloned()
            .collect(),
    ))
}

fn map_of(value: &Value) -> Option<&std::collections::BTreeMap<MapKey, Value>> {
    match value.unwrap_maybe() {
        Some(Value::Map(map)) => Some(map),
        _ => None,
    }
}

/// The key argument; an empty maybe names no key.
fn key_arg(arguments: &[Value]) -> Option<MapKey> {
    arg(arguments, 1).unwrap_maybe().map(Value::to_map_key)
}

fn map_size(arguments: &[Value]) -> Outcome {
    let size = map_of(arg(arguments, 0)).map_or(0, |map| map.len());
    Ok(Value::Int(i32::try_from(size).unwrap_or(i32::MAX)))
}

fn map_has(arguments: &[Value]) -> Outcome {
    let found = map_of(arg(arguments, 0))
        .zip(key_arg(arguments))
        .is_some_and(|(map, key)| map.contains_key(&key));
    Ok(Value::Bool(found))
}

/// The receiver with the argument's entries written over it.
fn map_insert(arguments: &[Value]) -> Outcome {
    let mut merged = map_of(arg(arguments, 0)).cloned().unwrap_or_default();
    if let Some(entries) = map_of(arg(arguments, 1)) {
        merged.extend(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
    }
    Ok(Value::Map(Arc::new(merged)))
}

/// The value the key held, which removing it takes out.
fn map_remove(arguments: &[Value]) -> Outcome {
    let removed = map_of(arg(arguments, 0))
        .zip(key_arg(arguments))
        .and_then(|(map, key)| map.get(&key).cloned());
    Ok(maybe(removed))
}

/// The map after `clear()`: empty.
fn map_clear(_: &[Value]) -> Outcome {
    Ok(Value::Map(Arc::default()))
}

/// The shape of `pair<K, V>` values.
fn pair_shape() -> Arc<Shape> {
    Arc::new(Shape {
        name: None,
        fields: vec![Arc::from("key"), Arc::from("value")],
    })
}

/// A map key as a value. Integer keys come back as `int` when they fit one: the map does not
/// record whether its domain was int, long or an enum, and the language's `==` and arithmetic
/// treat an int like the equal long.
pub fn key_value(key: &MapKey) -> Value {
    match key {
        MapKey::Int(value) => match i32::try_from(*value) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::Long(*value),
        },
        MapKey::Str(text) => Value::Str(Arc::clone(text)),
        MapKey::Principal(principal) => Value::principal(principal.clone()),
    }
}

fn pair(entry: Option<(&MapKey, &Value)>) -> Value {
    maybe(entry.map(|(key, value)| {
        Value::Message(Arc::new(Message {
            shape: pair_shape(),
            values: vec![key_value(key), value.clone()],
        }))
    }))
}

fn map_min(arguments: &[Value]) -> Outcome {
    Ok(pair(
        map_of(arg(arguments, 0)).and_then(|map| map.iter().next()),
    ))
}

fn map_max(arguments: &[Value]) -> Outcome {
    Ok(pair(
        map_of(arg(arguments, 0)).and_then(|map| map.iter().next_back()),
    ))
}

fn int_tokens(arguments: &[Value]) -> Outcome {
    let tokens: BTreeSet<i32> = items(arguments)
        .iter()
        .filter_map(Value::unwrap_maybe)
        .map(Value::as_int)
        .collect();
    Ok(Value::list(tokens.into_iter().map(Value::Int).collect()))
}

/// Lower-cased, in UTF-16 order (as Java sorts strings), without duplicates.
fn string_tokens(arguments: &[Value]) -> Outcome {
    let tokens: BTreeSet<MapKey> = items(arguments)
        .iter()
        .filter_map(Value::unwrap_maybe)
        .map(|value| MapKey::Str(Arc::from(value.as_str().to_lowercase().as_str())))
        .collect();
    Ok(Value::list(tokens.iter().map(key_value).collect()))
}

/// The elements of the first array that the second also has, in the first's order, once each.
fn intersect(arguments: &[Value]) -> Outcome {
    let other: BTreeSet<MapKey> = arg(arguments, 1)
        .as_list()
        .iter()
        .map(Value::to_map_key)
        .collect();
    let mut seen = BTreeSet::new();
    Ok(Value::list(
        items(arguments)
            .iter()
            .filter(|value| {
                let key = value.to_map_key();
                other.contains(&key) && seen.insert(key)
            })
            .cloned()
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, ints, none, run, run1, s, same, some, strs};
    use super::CONTENT_METHODS;
    use crate::value::{MapKey, Value};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    const CATEGORIES: &[&str] = &[
        "bool",
        "int",
        "long",
        "double",
        "complex",
        "string",
        "principal",
        "dynamic",
        "json",
        "asset",
        "date",
        "datetime",
        "time",
        "timespan",
        "list",
        "map",
        "message",
    ];

    #[test]
    fn every_content_method_exists_on_some_category() {
        for method in CONTENT_METHODS {
            let found = CATEGORIES
                .iter()
                .any(|category| super::super::lookup(&format!("{category}.{method}")).is_some());
            assert!(
                found,
                "'{method}' is listed for maybes but no category has it"
            );
        }
    }

    #[test]
    fn maybe_basics() {
        same(
            &run("maybe.has", &[some(Value::Int(1))]),
            &Value::Bool(true),
        );
        same(&run("maybe.has", &[none()]), &Value::Bool(false));
        same(
            &run("maybe.getOrDefaultTo", &[none(), Value::Int(3)]),
            &Value::Int(3),
        );
        same(
            &run(
                "maybe.getOrDefaultTo",
                &[some(Value::Int(1)), Value::Int(3)],
            ),
            &Value::Int(1),
        );
        same(&run("maybe.upper", &[some(s("a"))]), &some(s("A")));
        same(
            &run("maybe.length", &[some(s("abc"))]),
            &some(Value::Int(3)),
        );
        same(&run("maybe.intOf", &[some(s("12"))]), &some(Value::Int(12)));
        same(
            &run("maybe.size", &[some(ints(&[1, 2]))]),
            &some(Value::Int(2)),
        );
        same(&run("maybe.upper", &[none()]), &none());
        assert!(super::super::lookup("maybe.noSuchMethod").is_none());
    }

    #[test]
    fn list_methods() {
        let list = ints(&[1, 2, 3, 4]);
        same(&run1("list.size", &list), &Value::Int(4));
        same(&run1("list.toArray", &list), &list);
        same(&run1("list.reverse", &list), &ints(&[4, 3, 2, 1]));
        same(
            &run("list.skip", &[list.clone(), Value::Int(1)]),
            &ints(&[2, 3, 4]),
        );
        same(
            &run("list.skip", &[list.clone(), Value::Int(9)]),
            &ints(&[]),
        );
        same(&run("list.skip", &[list.clone(), Value::Int(-1)]), &list);
        same(
            &run("list.drop", &[list.clone(), Value::Int(1)]),
            &ints(&[1, 2, 3]),
        );
        same(
            &run("list.drop", &[list.clone(), Value::Int(9)]),
            &ints(&[]),
        );
        let nested = Value::list(vec![ints(&[1]), ints(&[]), ints(&[2, 3])]);
        same(&run("list.flatten", &[nested]), &ints(&[1, 2, 3]));
        let maybes = Value::list(vec![some(Value::Int(1)), none(), some(Value::Int(3))]);
        same(&run("list.manifest", &[maybes]), &ints(&[1, 3]));
    }

    fn map(entries: &[(&str, i32)]) -> Value {
        let map: BTreeMap<MapKey, Value> = entries
            .iter()
            .map(|(key, value)| (MapKey::Str(Arc::from(*key)), Value::Int(*value)))
            .collect();
        Value::Map(Arc::new(map))
    }

    #[test]
    fn map_methods() {
        let m = map(&[("b", 2), ("a", 1)]);
        same(&run1("map.size", &m), &Value::Int(2));
        same(&run("map.has", &[m.clone(), s("a")]), &Value::Bool(true));
        same(&run("map.has", &[m.clone(), s("z")]), &Value::Bool(false));
        same(&run("map.has", &[m.clone(), none()]), &Value::Bool(false));
        same(
            &run("map.remove", &[m.clone(), s("b")]),
            &some(Value::Int(2)),
        );
        same(&run("map.remove", &[m.clone(), s("z")]), &none());
        same(
            &run("map.insert", &[m.clone(), map(&[("b", 5), ("c", 3)])]),
            &map(&[("a", 1), ("b", 5), ("c", 3)]),
        );
        same(&run1("map.clear", &m), &map(&[]));
        let smallest = run1("map.min", &m);
        assert_eq!(
            run("message.to_dynamic", &[smallest]).to_text(),
            r#"{"key":"a","value":1}"#
        );
        let largest = run("map.max", &[m]);
        assert_eq!(
            run("message.to_dynamic", &[largest]).to_text(),
            r#"{"key":"b","value":2}"#
        );
        same(&run("map.min", &[map(&[])]), &none());
    }

    #[test]
    fn tokens() {
        same(
            &run("Token.sortAndUniqueAsIntTokens", &[ints(&[3, 1, 3, 2])]),
            &ints(&[1, 2, 3]),
        );
        same(
            &run(
                "list.normalizeSortAndUniqueAsStringTokens",
                &[strs(&["b", "A", "a", "B"])],
            ),
            &strs(&["a", "b"]),
        );
        same(
            &run("Token.intersect", &[ints(&[1, 2, 3, 3]), ints(&[3, 1, 9])]),
            &ints(&[1, 3]),
        );
        same(
            &run("list.intersect", &[strs(&["x", "y"]), strs(&["y"])]),
            &strs(&["y"]),
        );
        assert!(call("list.intersect", &[ints(&[]), ints(&[])]).is_ok());
    }
}
