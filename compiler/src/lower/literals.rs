//! The values of literal tokens: numbers, strings, labels and template bodies.
//!
//! Number text is classified exactly as `crate::syntax::literals` validates it (an `L` suffix makes
//! a long, a `.` or `-` a double, `0x` a hexadecimal int, digits an int); text that check rejects
//! has no value here. String escapes are decoded; an escape the language does not define keeps
//! the character after the backslash (the syntax checks reported it).

use crate::hir::Literal;

/// The value of a `number` token, or `None` when the text is malformed or out of range.
pub(super) fn number(literal: &str) -> Option<Literal> {
    if let Some(digits) = literal.strip_suffix('L') {
        if !all_digits(digits) {
            return None;
        }
        return digits.parse::<i64>().ok().map(Literal::Long);
    }
    if literal.starts_with('.') || literal.contains(['.', '-']) {
        return literal
            .parse::<f64>()
            .ok()
            .map(|value| Literal::Double(value.to_bits()));
    }
    if let Some(hex) = literal.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        return i32::from_str_radix(hex, 16).ok().map(Literal::Int);
    }
    if all_digits(literal) {
        return literal.parse::<i32>().ok().map(Literal::Int);
    }
    None
}

/// A whole number read from a `number` token (an int, a long, or decimal digits too large for an
/// int); `None` when the text is no whole number.
pub(super) fn integer(literal: &str) -> Option<i64> {
    match number(literal) {
        Some(Literal::Int(value)) => Some(i64::from(value)),
        Some(Literal::Long(value)) => Some(value),
        _ if all_digits(literal) => literal.parse::<i64>().ok(),
        _ => None,
    }
}

/// Any number token as a double: the amount of a `@timespan`.
pub(super) fn amount(literal: &str) -> Option<f64> {
    match number(literal)? {
        Literal::Int(value) => Some(f64::from(value)),
        // A long amount is rare and large; the nearest double is the intended value.
        #[allow(clippy::cast_precision_loss)]
        Literal::Long(value) => Some(value as f64),
        Literal::Double(bits) => Some(f64::from_bits(bits)),
        _ => None,
    }
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// The value of a `string` token: the text between the quotes, with escapes decoded.
pub(super) fn string(token: &str) -> String {
    let inner = token.strip_prefix('"').unwrap_or(token);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(character) = chars.next() {
        if character != '\\' {
            value.push(character);
            continue;
        }
        let Some(escape) = chars.next() else {
            break;
        };
        match escape {
            'b' => value.push('\u{8}'),
            't' => value.push('\t'),
            'n' => value.push('\n'),
            'r' => value.push('\r'),
            'f' => value.push('\u{c}'),
            'u' => match unicode_escape(chars.as_str()) {
                Some(decoded) => {
                    value.push(decoded);
                    chars.nth(3);
                }
                None => value.push('u'),
            },
            other => value.push(other),
        }
    }
    value
}

/// The character of `\uXXXX`, given the text after the `u`; `None` unless four hex digits follow.
/// A surrogate code point decodes to U+FFFD.
fn unicode_escape(rest: &str) -> Option<char> {
    let digits = rest.get(..4)?;
    if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let code = u32::from_str_radix(digits, 16).ok()?;
    Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
}

/// The name of a `label` token: the text after `#` (empty for `#` alone).
pub(super) fn label(token: &str) -> &str {
    token.strip_prefix('#').unwrap_or(token)
}

/// The body of a template literal: the text between the opening `` `tag` `` and the closing one.
pub(super) fn template(token: &str) -> &str {
    let Some(after_open) = token.strip_prefix('`') else {
        return "";
    };
    let Some(tag_length) = after_open.find('`') else {
        return "";
    };
    let delimiter = tag_length + 2;
    if token.len() < delimiter * 2 {
        return "";
    }
    token.get(delimiter..token.len() - delimiter).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::{integer, number, string, template};
    use crate::hir::Literal;

    #[test]
    fn numbers_are_classified_like_the_syntax_check() {
        assert_eq!(number("42"), Some(Literal::Int(42)));
        assert_eq!(number("0xFF"), Some(Literal::Int(255)));
        assert_eq!(number("42L"), Some(Literal::Long(42)));
        assert_eq!(number("1.5"), Some(Literal::Double(1.5f64.to_bits())));
        assert_eq!(number(".5"), Some(Literal::Double(0.5f64.to_bits())));
        assert_eq!(number("1e-5"), Some(Literal::Double(1e-5f64.to_bits())));
        for malformed in [
            "1e3",
            "12ab",
            "3-1",
            "0x",
            "0xFFL",
            "2147483648",
            "0x80000000",
        ] {
            assert_eq!(number(malformed), None, "{malformed}");
        }
        assert_eq!(integer("2147483648"), Some(2_147_483_648));
        assert_eq!(integer("1.5"), None);
    }

    #[test]
    fn strings_decode_escapes() {
        assert_eq!(string(r#""a\tb\n\"q\"\\""#), "a\tb\n\"q\"\\");
        assert_eq!(string(r#""\u0041\u00e9""#), "Aé");
        assert_eq!(string(r#""\q\u12""#), "qu12");
        assert_eq!(string(r#""\b\f\r""#), "\u{8}\u{c}\r");
    }

    #[test]
    fn template_bodies_drop_their_delimiters() {
        assert_eq!(template("`g`<p>hi</p>`g`"), "<p>hi</p>");
        assert_eq!(template("``x``"), "x");
        assert_eq!(template("``"), "");
    }
}
