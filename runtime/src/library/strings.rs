//! The `String` namespace (language §6.3), its extension methods on strings, and `join`/`concat`
//! on lists of strings; numbers as text live in `numbers_text.rs`.
//!
//! Positions and lengths are in UTF-16 code units, as in the reference (Java strings). A slice
//! that would cut a surrogate pair in half yields U+FFFD for the orphaned half, since a Rust
//! string cannot hold a lone surrogate.

use super::BuiltinFn;
use super::args::{
    MAX_TEXT_BYTES, Outcome, arg, boolean, int, lifted, maybe, pure, string, text, too_large,
};
use crate::value::{MapKey, Value};
use std::sync::Arc;

/// `String.function`, and the string methods that are its extension form.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "split" => lifted!(split),
        "contains" => lifted!(contains),
        "startsWith" => lifted!(starts_with),
        "endsWith" => lifted!(ends_with),
        "indexOf" => lifted!(index_of),
        "trim" => lifted!(trim),
        "trimLeft" => lifted!(trim_left),
        "trimRight" => lifted!(trim_right),
        "upper" => lifted!(upper),
        "lower" => lifted!(lower),
        "proper" => lifted!(proper),
        "reverse" => lifted!(reverse),
        "camelject" => lifted!(camelject),
        "mid" => lifted!(mid),
        "substr" => lifted!(substr),
        "left" => lifted!(left),
        "right" => lifted!(right),
        "multiply" => lifted!(multiply),
        "replaceAll" => lifted!(replace_all),
        "removeAll" => lifted!(remove_all),
        "bulkReplaceAll" => lifted!(bulk_replace_all),
        "compare" => lifted!(compare),
        "compareInsensitive" => lifted!(compare_insensitive),
        "equality" => lifted!(equality),
        "codepointAt" => lifted!(codepoint_at),
        "codepoints" => lifted!(codepoints),
        "initialsOf" => lifted!(initials_of),
        "length" => lifted!(length),
        "join" => pure!(join),
        "concat" => pure!(concat),
        "principalOf" => super::principal::namespace("principalOf"),
        "passwordHash" => Some(super::password::password_hash),
        "passwordCheck" => Some(super::password::password_check),
        "to_dyn" => super::dynamic::namespace("parse"),
        _ => super::numbers_text::namespace(function),
    }
}

/// Methods of strings that are not `String` functions.
pub fn string_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "dyn" => super::dynamic::namespace("dyn"),
        _ => None,
    }
}

/// `join`/`concat` on `list<string>` and `string[]`.
pub fn list_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "join" => pure!(join),
        "concat" => pure!(concat),
        _ => None,
    }
}

fn units(text: &str) -> Vec<u16> {
    text.encode_utf16().collect()
}

fn from_units(units: &[u16]) -> Value {
    Value::string(&String::from_utf16_lossy(units))
}

fn utf16_length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Java's `String.split` with a literal separator: leading empty pieces stay, trailing ones go,
/// and an empty separator splits between characters.
pub fn java_split(text: &str, separator: &str) -> Vec<String> {
    if text.is_empty() {
        return vec![String::new()];
    }
    let mut pieces: Vec<String> = if separator.is_empty() {
        text.chars().map(String::from).collect()
    } else {
        text.split(separator).map(String::from).collect()
    };
    while pieces.last().is_some_and(String::is_empty) {
        pieces.pop();
    }
    pieces
}

fn split(arguments: &[Value]) -> Outcome {
    let pieces = java_split(text(arguments, 0), text(arguments, 1));
    Ok(Value::list(pieces.iter().map(string).collect()))
}

fn contains(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(text(arguments, 0).contains(text(arguments, 1))))
}

fn starts_with(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(
        text(arguments, 0).starts_with(text(arguments, 1)),
    ))
}

fn ends_with(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(
        text(arguments, 0).ends_with(text(arguments, 1)),
    ))
}

/// The UTF-16 index of the needle at or after the optional UTF-16 offset.
fn index_of(arguments: &[Value]) -> Outcome {
    let haystack = text(arguments, 0);
    let needle = text(arguments, 1);
    let offset = if arguments.len() > 2 {
        usize::try_from(int(arguments, 2)).unwrap_or(0)
    } else {
        0
    };
    // The first char boundary at or after the offset: a match cannot start inside a pair.
    let mut start_byte = haystack.len();
    let mut start_unit = utf16_length(haystack);
    let mut unit = 0;
    for (byte, character) in haystack.char_indices() {
        if unit >= offset {
            start_byte = byte;
            start_unit = unit;
            break;
        }
        unit += character.len_utf16();
    }
    let found = haystack
        .get(start_byte..)
        .and_then(|rest| rest.find(needle))
        .and_then(|byte| haystack.get(start_byte..start_byte + byte))
        .map(|skipped| start_unit + utf16_length(skipped));
    Ok(maybe(found.and_then(|index| {
        i32::try_from(index).ok().map(Value::Int)
    })))
}

fn trim(arguments: &[Value]) -> Outcome {
    Ok(string(text(arguments, 0).trim()))
}

fn trim_left(arguments: &[Value]) -> Outcome {
    Ok(string(text(arguments, 0).trim_start()))
}

fn trim_right(arguments: &[Value]) -> Outcome {
    Ok(string(text(arguments, 0).trim_end()))
}

fn upper(arguments: &[Value]) -> Outcome {
    Ok(string(text(arguments, 0).to_uppercase()))
}

fn lower(arguments: &[Value]) -> Outcome {
    Ok(string(text(arguments, 0).to_lowercase()))
}

fn proper(arguments: &[Value]) -> Outcome {
    let source = text(arguments, 0);
    let mut characters = source.chars();
    let Some(first) = characters.next() else {
        return Ok(string(""));
    };
    let mut result: String = first.to_uppercase().collect();
    result.push_str(&characters.as_str().to_lowercase());
    Ok(string(result))
}

fn reverse(arguments: &[Value]) -> Outcome {
    Ok(string(text(arguments, 0).chars().rev().collect::<String>()))
}

/// Inserts the separator before each capital that is not the first character.
fn camelject(arguments: &[Value]) -> Outcome {
    let source = text(arguments, 0);
    let insert = text(arguments, 1);
    let mut result = String::with_capacity(source.len());
    for (index, character) in source.chars().enumerate() {
        if index > 0 && character.is_uppercase() {
            result.push_str(insert);
        }
        result.push(character);
    }
    Ok(string(result))
}

/// `mid(start, count)` with a 1-based start.
fn mid(arguments: &[Value]) -> Outcome {
    let source = units(text(arguments, 0));
    let start = i64::from(int(arguments, 1));
    let count = i64::from(int(arguments, 2));
    let length = source.len() as i64;
    if start < 1 || count < 0 || start - 1 > length {
        return Ok(Value::empty_maybe());
    }
    let begin = (start - 1) as usize;
    let end = (start - 1 + count).min(length) as usize;
    Ok(maybe(source.get(begin..end).map(from_units)))
}

/// `substr(start, end)`: 0-based, end exclusive.
fn substr(arguments: &[Value]) -> Outcome {
    let source = units(text(arguments, 0));
    let range = usize::try_from(int(arguments, 1))
        .ok()
        .zip(usize::try_from(int(arguments, 2)).ok())
        .filter(|(start, end)| start <= end);
    Ok(maybe(range.and_then(|(start, end)| {
        source.get(start..end).map(from_units)
    })))
}

fn left(arguments: &[Value]) -> Outcome {
    let source = units(text(arguments, 0));
    Ok(maybe(usize::try_from(int(arguments, 1)).ok().map(
        |count| from_units(source.get(..count.min(source.len())).unwrap_or_default()),
    )))
}

fn right(arguments: &[Value]) -> Outcome {
    let source = units(text(arguments, 0));
    Ok(maybe(usize::try_from(int(arguments, 1)).ok().map(
        |count| {
            let start = source.len() - count.min(source.len());
            from_units(source.get(start..).unwrap_or_default())
        },
    )))
}

/// Repeats the text; a count of zero or less gives the empty string.
pub fn repeat(source: &str, count: i32) -> Outcome {
    let count = usize::try_from(count).unwrap_or(0);
    if source.len().saturating_mul(count) > MAX_TEXT_BYTES {
        return Err(too_large());
    }
    Ok(string(source.repeat(count)))
}

fn multiply(arguments: &[Value]) -> Outcome {
    repeat(text(arguments, 0), int(arguments, 1))
}

/// Replaces every literal occurrence (an empty pattern matches between all characters).
fn replace_literal(source: &str, pattern: &str, replacement: &str) -> Outcome {
    let matches = if pattern.is_empty() {
        source.chars().count() + 1
    } else {
        source.matches(pattern).count()
    };
    let grown = matches.saturating_mul(replacement.len());
    if source.len().saturating_add(grown) > MAX_TEXT_BYTES {
        return Err(too_large());
    }
    Ok(string(source.replace(pattern, replacement)))
}

fn replace_all(arguments: &[Value]) -> Outcome {
    replace_literal(text(arguments, 0), text(arguments, 1), text(arguments, 2))
}

fn remove_all(arguments: &[Value]) -> Outcome {
    let needle = text(arguments, 1);
    if needle.is_empty() {
        return Ok(string(text(arguments, 0)));
    }
    replace_literal(text(arguments, 0), needle, "")
}

/// Replaces each `delim key delim` by the map's value for the key (unknown keys vanish); an
/// opening delimiter without a partner drops the rest of the text.
fn bulk_replace_all(arguments: &[Value]) -> Outcome {
    let source = text(arguments, 0);
    let delimiter = text(arguments, 1);
    if delimiter.is_empty() {
        return Ok(string(source));
    }
    let empty = std::collections::BTreeMap::new();
    let replacements = match arg(arguments, 2) {
        Value::Map(map) => &**map,
        _ => &empty,
    };
    let mut result = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(open) = rest.find(delimiter) {
        result.push_str(&rest[..open]);
        let after = &rest[open + delimiter.len()..];
        let Some(close) = after.find(delimiter) else {
            rest = "";
            break;
        };
        let key = MapKey::Str(Arc::from(&after[..close]));
        if let Some(value) = replacements.get(&key) {
            result.push_str(value.as_str());
            if result.len() > MAX_TEXT_BYTES {
                return Err(too_large());
            }
        }
        rest = &after[close + delimiter.len()..];
    }
    result.push_str(rest);
    Ok(string(result))
}

/// Java's `compareTo`: the difference of the first differing UTF-16 units, else of the lengths.
pub fn java_compare(a: &str, b: &str) -> i32 {
    compare_units(a, b, |unit| unit)
}

fn compare_units(a: &str, b: &str, fold: impl Fn(u16) -> u16) -> i32 {
    let mut left = a.encode_utf16();
    let mut right = b.encode_utf16();
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) => {
                let (x, y) = (fold(x), fold(y));
                if x != y {
                    return i32::from(x) - i32::from(y);
                }
            }
            (Some(_), None) => return 1 + left.count() as i32,
            (None, Some(_)) => return -1 - right.count() as i32,
            (None, None) => return 0,
        }
    }
}

/// Java's `Character.toUpperCase(char)` then `toLowerCase`, on one UTF-16 unit: simple
/// one-to-one mappings only, as Java applies per `char`.
fn fold_case(unit: u16) -> u16 {
    let Some(character) = char::from_u32(u32::from(unit)) else {
        return unit;
    };
    let upper = single(character.to_uppercase(), character);
    let lower = single(upper.to_lowercase(), upper);
    u16::try_from(u32::from(lower)).unwrap_or(unit)
}

/// The one character a case mapping yields, or the original when it expands.
fn single(mut mapped: impl Iterator<Item = char>, original: char) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(character), None) => character,
        _ => original,
    }
}

fn compare(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(java_compare(
        text(arguments, 0),
        text(arguments, 1),
    )))
}

fn compare_insensitive(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(compare_units(
        text(arguments, 0),
        text(arguments, 1),
        fold_case,
    )))
}

fn equality(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(text(arguments, 0) == text(arguments, 1)))
}

/// The code point starting at a UTF-16 index (a lone surrogate is its own code point).
fn codepoint_at(arguments: &[Value]) -> Outcome {
    let source = units(text(arguments, 0));
    let Ok(index) = usize::try_from(int(arguments, 1)) else {
        return Ok(Value::empty_maybe());
    };
    let Some(&high) = source.get(index) else {
        return Ok(Value::empty_maybe());
    };
    let point = match source.get(index + 1) {
        Some(&low) if (0xD800..0xDC00).contains(&high) && (0xDC00..0xE000).contains(&low) => {
            0x10000 + ((i32::from(high) - 0xD800) << 10) + (i32::from(low) - 0xDC00)
        }
        _ => i32::from(high),
    };
    Ok(Value::some(Value::Int(point)))
}

fn codepoints(arguments: &[Value]) -> Outcome {
    Ok(Value::list(
        text(arguments, 0)
            .chars()
            .map(|character| Value::Int(character as i32))
            .collect(),
    ))
}

fn initials_of(arguments: &[Value]) -> Outcome {
    let initials: Vec<String> = text(arguments, 0)
        .split(' ')
        .filter_map(|word| word.chars().next())
        .map(String::from)
        .collect();
    let separator = if boolean(arguments, 1) { "." } else { "" };
    Ok(string(initials.join(separator)))
}

fn length(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(utf16_length(text(arguments, 0)) as i32))
}

/// Joins a list of strings; for a list of maybes, empties are skipped and the result is a maybe.
fn join(arguments: &[Value]) -> Outcome {
    let items = arg(arguments, 0).as_list();
    let delimiter = match arg(arguments, 1) {
        Value::Maybe(None) => return Ok(Value::empty_maybe()),
        other => other.as_str(),
    };
    let mut of_maybes = false;
    let mut parts: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Maybe(None) => of_maybes = true,
            Value::Maybe(Some(inner)) => {
                of_maybes = true;
                parts.push(inner.as_str());
            }
            other => parts.push(other.as_str()),
        }
    }
    let joined = string(parts.join(delimiter));
    Ok(if of_maybes {
        Value::some(joined)
    } else {
        joined
    })
}

fn concat(arguments: &[Value]) -> Outcome {
    join(&[arg(arguments, 0).clone(), string("")])
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, none, run, s, same, some, strs};
    use crate::value::{MapKey, Value};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn i(value: i32) -> Value {
        Value::Int(value)
    }

    #[test]
    fn split_follows_java() {
        same(
            &run("String.split", &[s(",a,b,,"), s(",")]),
            &strs(&["", "a", "b"]),
        );
        same(&run("string.split", &[s(""), s(",")]), &strs(&[""]));
        same(&run("string.split", &[s(",,,"), s(",")]), &strs(&[]));
        same(
            &run("string.split", &[s("abc"), s("")]),
            &strs(&["a", "b", "c"]),
        );
        same(
            &run("string.split", &[s("a::b"), s("::")]),
            &strs(&["a", "b"]),
        );
        same(
            &run("string.split", &[s("a.b"), s(".")]),
            &strs(&["a", "b"]),
        );
        same(&run("string.split", &[none(), s(",")]), &none());
        same(
            &run("maybe.split", &[some(s("x,y")), s(",")]),
            &some(strs(&["x", "y"])),
        );
    }

    #[test]
    fn mid_is_one_based() {
        same(
            &run("String.mid", &[s("hello"), i(2), i(3)]),
            &some(s("ell")),
        );
        same(
            &run("string.mid", &[s("hello"), i(4), i(10)]),
            &some(s("lo")),
        );
        same(&run("string.mid", &[s("hello"), i(0), i(1)]), &none());
        same(&run("string.mid", &[s("hello"), i(7), i(1)]), &none());
        same(&run("string.mid", &[s("hello"), i(1), i(-1)]), &none());
        same(
            &run("string.mid", &[s("hi"), i(i32::MAX), i(i32::MAX)]),
            &none(),
        );
    }

    #[test]
    fn substr_left_and_right_check_their_range() {
        same(
            &run("string.substr", &[s("hello"), i(1), i(3)]),
            &some(s("el")),
        );
        same(&run("string.substr", &[s("hello"), i(3), i(1)]), &none());
        same(&run("string.substr", &[s("hello"), i(0), i(6)]), &none());
        same(&run("string.left", &[s("hello"), i(2)]), &some(s("he")));
        same(&run("string.left", &[s("hello"), i(20)]), &some(s("hello")));
        same(&run("string.right", &[s("hello"), i(2)]), &some(s("lo")));
        same(&run("string.right", &[s("hello"), i(-1)]), &none());
    }

    #[test]
    fn positions_are_utf16_units() {
        same(&run("string.length", &[s("😀a")]), &i(3));
        same(&run("string.indexOf", &[s("😀ab"), s("b")]), &some(i(3)));
        same(
            &run("string.indexOf", &[s("abcabc"), s("c"), i(3)]),
            &some(i(5)),
        );
        same(&run("string.indexOf", &[s("abc"), s("z")]), &none());
        same(
            &run("string.indexOf", &[s("abc"), s(""), i(10)]),
            &some(i(3)),
        );
        same(
            &run("string.codepointAt", &[s("😀"), i(0)]),
            &some(i(0x1F600)),
        );
        same(
            &run("string.codepointAt", &[s("😀"), i(1)]),
            &some(i(0xDE00)),
        );
        same(&run("string.codepointAt", &[s("a"), i(1)]), &none());
        same(
            &run("string.mid", &[s("😀b"), i(2), i(2)]),
            &some(s("\u{FFFD}b")),
        );
        same(
            &run("string.codepoints", &[s("a😀")]),
            &Value::list(vec![i(97), i(0x1F600)]),
        );
    }

    #[test]
    fn compare_returns_java_differences() {
        same(&run("string.compare", &[s("apple"), s("banana")]), &i(-1));
        same(&run("string.compare", &[s("a"), s("z")]), &i(-25));
        same(&run("string.compare", &[s("abc"), s("a")]), &i(2));
        same(&run("string.compare", &[s("a"), s("abcd")]), &i(-3));
        same(
            &run("string.compareInsensitive", &[s("ABC"), s("abd")]),
            &i(-1),
        );
        same(
            &run("string.compareInsensitive", &[s("Hello"), s("hELLO")]),
            &i(0),
        );
        same(
            &run("string.equality", &[s("a"), s("a")]),
            &Value::Bool(true),
        );
    }

    #[test]
    fn case_and_shape_helpers() {
        same(
            &run("string.proper", &[s("hELLO wORLD")]),
            &s("Hello world"),
        );
        same(&run("string.proper", &[s("x")]), &s("X"));
        same(&run("string.proper", &[s("")]), &s(""));
        same(&run("string.reverse", &[s("a😀b")]), &s("b😀a"));
        same(
            &run("string.camelject", &[s("CreditCard"), s(" ")]),
            &s("Credit Card"),
        );
        same(&run("string.trim", &[s("\u{2003} x \n")]), &s("x"));
        same(&run("string.trimLeft", &[s("  x ")]), &s("x "));
        same(&run("string.trimRight", &[s("  x ")]), &s("  x"));
        same(&run("string.upper", &[s("straße")]), &s("STRASSE"));
        same(
            &run(
                "string.initialsOf",
                &[s("Jeff  Q Smith"), Value::Bool(true)],
            ),
            &s("J.Q.S"),
        );
        same(
            &run("string.initialsOf", &[s("Jeff Smith"), Value::Bool(false)]),
            &s("JS"),
        );
    }

    #[test]
    fn replacement_helpers() {
        same(
            &run("string.replaceAll", &[s("a.b.c"), s("."), s("-")]),
            &s("a-b-c"),
        );
        same(&run("string.removeAll", &[s("banana"), s("an")]), &s("ba"));
        same(
            &run("string.removeAll", &[s("banana"), s("")]),
            &s("banana"),
        );
        same(&run("string.multiply", &[s("ab"), i(3)]), &s("ababab"));
        same(&run("string.multiply", &[s("ab"), i(-3)]), &s(""));
        assert!(call("string.multiply", &[s("ab"), i(i32::MAX)]).is_err());
    }

    #[test]
    fn bulk_replace_all_fills_delimited_keys() {
        let mut map = BTreeMap::new();
        map.insert(MapKey::Str(Arc::from("name")), s("Ada"));
        let map = Value::Map(Arc::new(map));
        let call = |source: &str, delimiter: &str| {
            run(
                "String.bulkReplaceAll",
                &[s(source), s(delimiter), map.clone()],
            )
        };
        same(&call("Hi %name%!", "%"), &s("Hi Ada!"));
        same(&call("Hi %who%!", "%"), &s("Hi !"));
        same(&call("Hi %name", "%"), &s("Hi "));
        same(&call("Hi %name%", ""), &s("Hi %name%"));
        // The second `[[` closes the first: the key "name]] and " is unknown and vanishes.
        same(&call("[[name]] and [[name]]", "[["), &s("name]]"));
    }

    #[test]
    fn join_and_concat() {
        same(&run("list.join", &[strs(&["a", "b"]), s(", ")]), &s("a, b"));
        same(&run("list.concat", &[strs(&["a", "b"])]), &s("ab"));
        let maybes = Value::list(vec![some(s("a")), none(), some(s("c"))]);
        same(
            &run("list.join", &[maybes.clone(), s("-")]),
            &some(s("a-c")),
        );
        same(&run("list.concat", &[maybes]), &some(s("ac")));
    }
}
