//! Numbers as text (language §6.3): parsing strings into numbers with Java's rules
//! (`"12".intOf()`, `doubleOf`, `intFromHex`) and the text methods of numbers (`strOf`, `hexOf`,
//! `charOf`, `to_roman`), also reachable as `String.of` and `String.intOf(s)`.

use super::BuiltinFn;
use super::args::{Outcome, arg, int, lifted, long, maybe, string, text};
use crate::value::Value;

/// The `String` functions about numbers.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "intOf" => lifted!(int_of),
        "longOf" => lifted!(long_of),
        "doubleOf" => lifted!(double_of),
        "intFromHex" => lifted!(int_from_hex),
        "longFromHex" => lifted!(long_from_hex),
        "charOf" => lifted!(char_of),
        "to_roman" => lifted!(to_roman),
        "hexOf" => lifted!(hex_of),
        "strOf" | "of" => lifted!(str_of),
        _ => None,
    }
}

/// Text methods of `bool`, `int`, `long` and `double`.
pub fn number_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "strOf" => lifted!(str_of),
        "hexOf" => lifted!(hex_of),
        "charOf" => lifted!(char_of),
        "to_roman" => lifted!(to_roman),
        "dyn" => super::dynamic::namespace("dyn"),
        _ => None,
    }
}

/// Java's `parseInt`/`parseLong` accept an optional sign and digits, nothing else.
fn plain_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
}

fn int_of(arguments: &[Value]) -> Outcome {
    let source = text(arguments, 0);
    let parsed = plain_integer(source)
        .then(|| source.parse::<i32>().ok())
        .flatten();
    Ok(maybe(parsed.map(Value::Int)))
}

fn long_of(arguments: &[Value]) -> Outcome {
    let source = text(arguments, 0);
    let parsed = plain_integer(source)
        .then(|| source.parse::<i64>().ok())
        .flatten();
    Ok(maybe(parsed.map(Value::Long)))
}

/// Java's `Double.parseDouble`: surrounding control characters and spaces are ignored, `NaN` and
/// `Infinity` are spelled out, and an `f`/`d` suffix picks float or double precision.
pub fn java_parse_double(source: &str) -> Option<f64> {
    let trimmed = source.trim_matches(|character: char| character <= ' ');
    let negative = trimmed.starts_with('-');
    match trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed) {
        "NaN" => return Some(f64::NAN),
        "Infinity" if negative => return Some(f64::NEG_INFINITY),
        "Infinity" => return Some(f64::INFINITY),
        _ => {}
    }
    let (body, single) = match trimmed.strip_suffix(['f', 'F']) {
        Some(body) => (body, true),
        None => (trimmed.strip_suffix(['d', 'D']).unwrap_or(trimmed), false),
    };
    // Rust also reads `inf` and `nan`; Java reads only digits, a point and an exponent.
    let unsigned = body.strip_prefix(['+', '-']).unwrap_or(body);
    let numeric = unsigned
        .bytes()
        .all(|byte| byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !numeric || !unsigned.bytes().any(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if single {
        body.parse::<f32>().ok().map(f64::from)
    } else {
        body.parse::<f64>().ok()
    }
}

fn double_of(arguments: &[Value]) -> Outcome {
    Ok(maybe(
        java_parse_double(text(arguments, 0)).map(Value::Double),
    ))
}

/// Base 16 with an optional sign and no `0x`, within the type's signed range.
fn hex_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn int_from_hex(arguments: &[Value]) -> Outcome {
    let source = text(arguments, 0);
    let parsed = hex_digits(source)
        .then(|| i32::from_str_radix(source, 16).ok())
        .flatten();
    Ok(maybe(parsed.map(Value::Int)))
}

fn long_from_hex(arguments: &[Value]) -> Outcome {
    let source = text(arguments, 0);
    let parsed = hex_digits(source)
        .then(|| i64::from_str_radix(source, 16).ok())
        .flatten();
    Ok(maybe(parsed.map(Value::Long)))
}

/// The code point as text; a value that is not a Unicode scalar gives U+FFFD.
fn char_of(arguments: &[Value]) -> Outcome {
    let point = u32::try_from(int(arguments, 0)).ok();
    let character = point
        .and_then(char::from_u32)
        .unwrap_or(char::REPLACEMENT_CHARACTER);
    Ok(string(character.to_string()))
}

/// One `M` per thousand, then the standard hundreds, tens and ones; nothing for n ≤ 0.
fn to_roman(arguments: &[Value]) -> Outcome {
    let mut number = int(arguments, 0);
    if number <= 0 {
        return Ok(string(""));
    }
    let thousands = (number / 1000) as usize;
    let mut result = "M".repeat(thousands);
    number %= 1000;
    const TABLE: [(i32, &str); 12] = [
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    for (amount, numeral) in TABLE {
        while number >= amount {
            result.push_str(numeral);
            number -= amount;
        }
    }
    Ok(string(result))
}

/// Signed lower-case hexadecimal (`-1` → `"-1"`).
fn hex_of(arguments: &[Value]) -> Outcome {
    let value = long(arguments, 0);
    let sign = if value < 0 { "-" } else { "" };
    Ok(string(format!("{sign}{:x}", value.unsigned_abs())))
}

/// The text a value has in concatenation (`String.of`, `x.strOf()`).
fn str_of(arguments: &[Value]) -> Outcome {
    Ok(string(arg(arguments, 0).to_text()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{none, run, s, same, some};
    use crate::value::Value;

    fn i(value: i32) -> Value {
        Value::Int(value)
    }

    #[test]
    fn parsing_follows_java() {
        same(&run("string.intOf", &[s("-12")]), &some(i(-12)));
        same(&run("string.intOf", &[s("+7")]), &some(i(7)));
        same(&run("string.intOf", &[s(" 7")]), &none());
        same(&run("string.intOf", &[s("2147483648")]), &none());
        same(
            &run("string.longOf", &[s("2147483648")]),
            &some(Value::Long(2_147_483_648)),
        );
        same(
            &run("string.doubleOf", &[s(" 1.5 ")]),
            &some(Value::Double(1.5)),
        );
        same(
            &run("string.doubleOf", &[s("1e3")]),
            &some(Value::Double(1000.0)),
        );
        same(
            &run("string.doubleOf", &[s("2d")]),
            &some(Value::Double(2.0)),
        );
        same(
            &run("string.doubleOf", &[s("-Infinity")]),
            &some(Value::Double(f64::NEG_INFINITY)),
        );
        same(&run("string.doubleOf", &[s("inf")]), &none());
        same(&run("string.doubleOf", &[s("abc")]), &none());
        same(&run("string.doubleOf", &[s("")]), &none());
        same(&run("string.intFromHex", &[s("ff")]), &some(i(255)));
        same(&run("string.intFromHex", &[s("-1A")]), &some(i(-26)));
        same(&run("string.intFromHex", &[s("ffffffff")]), &none());
        same(&run("string.intFromHex", &[s("0xff")]), &none());
        same(
            &run("string.longFromHex", &[s("ffffffff")]),
            &some(Value::Long(0xffff_ffff)),
        );
    }

    #[test]
    fn number_text_methods() {
        same(&run("int.hexOf", &[i(-1)]), &s("-1"));
        same(&run("int.hexOf", &[i(255)]), &s("ff"));
        same(&run("int.hexOf", &[i(i32::MIN)]), &s("-80000000"));
        same(
            &run("long.hexOf", &[Value::Long(i64::MIN)]),
            &s("-8000000000000000"),
        );
        same(&run("int.to_roman", &[i(1994)]), &s("MCMXCIV"));
        same(&run("int.to_roman", &[i(4000)]), &s("MMMM"));
        same(&run("int.to_roman", &[i(0)]), &s(""));
        same(&run("int.charOf", &[i(65)]), &s("A"));
        same(&run("int.charOf", &[i(-5)]), &s("\u{FFFD}"));
        same(&run("int.strOf", &[i(42)]), &s("42"));
        same(&run("double.strOf", &[Value::Double(1e7)]), &s("1.0E7"));
        same(&run("bool.strOf", &[Value::Bool(true)]), &s("true"));
        same(&run("String.of", &[Value::Double(10.0)]), &s("10.0"));
    }
}
