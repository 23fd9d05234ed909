//! Validation of literal tokens: numbers and strings.
//!
//! The grammar's number token reproduces the language's scanner, which swallows text such as `1e3`,
//! `12ab` or `3-1` into one token; here that text is judged, so each malformed literal gets a
//! message that says what is wrong with it. String escapes are checked the same way.

use tree_sitter::Node;

use super::node_text;
use crate::diagnostic::{Code, Diagnostic};

/// Checks a `number` token.
pub fn number(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let literal = node_text(text, node);
    if let Some(diagnostic) = judge_number(literal, node.byte_range()) {
        diagnostics.push(diagnostic);
    }
}

fn judge_number(literal: &str, range: std::ops::Range<usize>) -> Option<Diagnostic> {
    let malformed = |help: &str| {
        Some(
            Diagnostic::error(
                Code::MalformedNumber,
                range.clone(),
                format!("'{literal}' is not a valid number"),
            )
            .with_help(help.to_owned()),
        )
    };
    if let Some(digits) = literal.strip_suffix('L') {
        if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return malformed(
                "a long literal is decimal digits followed by 'L', such as 42L; hexadecimal longs are not supported",
            );
        }
        if digits.parse::<i64>().is_err() {
            return Some(out_of_range(
                literal,
                range,
                "a long holds at most 9223372036854775807",
            ));
        }
        return None;
    }
    if literal.starts_with('.') || literal.contains(['.', '-']) {
        if literal.parse::<f64>().is_ok() {
            return None;
        }
        if literal.contains('-')
            && !literal.ends_with('-')
            && !literal.contains("e-")
            && !literal.contains("E-")
        {
            return malformed(
                "a '-' directly after a number is read as part of it; put spaces around the minus: '3 - 1'",
            )
            .map(|diagnostic| {
                diagnostic.with_fix(
                    "Put spaces around '-'",
                    range.clone(),
                    literal.replace('-', " - "),
                )
            });
        }
        return malformed("a double is written like 1.5, .5, 2.0e3 or 1e-5");
    }
    if let Some(hex) = literal.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return malformed("a hexadecimal integer is '0x' followed by the digits 0-9 and a-f");
        }
        if i32::from_str_radix(hex, 16).is_err() {
            return Some(out_of_range(
                literal,
                range,
                "an int holds at most 0x7fffffff; use a long for larger values",
            ));
        }
        return None;
    }
    if literal.bytes().all(|byte| byte.is_ascii_digit()) {
        if literal.parse::<i32>().is_err() {
            let diagnostic = out_of_range(
                literal,
                range.clone(),
                "an int holds at most 2147483647; write a long such as 2147483648L",
            );
            return Some(if literal.parse::<i64>().is_ok() {
                diagnostic.with_fix("Make it a long", range.end..range.end, "L")
            } else {
                diagnostic
            });
        }
        return None;
    }
    if literal.bytes().any(|byte| byte == b'e' || byte == b'E')
        && literal
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'e' || byte == b'E')
    {
        let exponent = literal.find(['e', 'E']).unwrap_or(literal.len());
        return malformed("an exponent needs a decimal point: write 1.0e3 instead of 1e3").map(
            |diagnostic| {
                let at = range.start + exponent;
                diagnostic.with_fix("Insert '.0' before the exponent", at..at, ".0")
            },
        );
    }
    malformed("a number is made of digits; a name cannot start with a digit")
}

fn out_of_range(literal: &str, range: std::ops::Range<usize>, help: &str) -> Diagnostic {
    Diagnostic::error(
        Code::IntegerOutOfRange,
        range,
        format!("the number '{literal}' is out of range"),
    )
    .with_help(help.to_owned())
}

/// Checks the escapes of a `string` token.
pub fn string(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let literal = node_text(text, node);
    let base = node.start_byte();
    let mut chars = literal.char_indices().peekable();
    while let Some((offset, character)) = chars.next() {
        if character != '\\' {
            continue;
        }
        let Some((escape_offset, escape)) = chars.next() else {
            break;
        };
        let valid = match escape {
            'b' | 't' | 'n' | 'r' | 'f' | '"' | '\\' => true,
            'u' => {
                let digits: String = literal
                    .get(escape_offset + 1..)
                    .unwrap_or("")
                    .chars()
                    .take(4)
                    .collect();
                let valid =
                    digits.len() == 4 && digits.bytes().all(|byte| byte.is_ascii_hexdigit());
                if valid {
                    for _ in 0..4 {
                        chars.next();
                    }
                }
                valid
            }
            _ => false,
        };
        if !valid {
            let end = base + escape_offset + escape.len_utf8();
            let shown = if escape == 'u' {
                "\\u".to_owned()
            } else {
                format!("\\{escape}")
            };
            let backslash = base + offset;
            diagnostics.push(
                Diagnostic::error(Code::InvalidEscape, backslash..end, format!("'{shown}' is not a valid escape in a string"))
                    .with_help("the escapes are \\b \\t \\n \\r \\f \\\" \\\\ and \\u followed by four hex digits; write \\\\ for a backslash")
                    .with_fix("Escape the backslash", backslash..backslash, "\\"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::judge_number;
    use crate::diagnostic::Code;

    fn code(literal: &str) -> Option<Code> {
        judge_number(literal, 0..literal.len()).map(|diagnostic| diagnostic.code)
    }

    #[test]
    fn valid_numbers_pass() {
        for literal in [
            "0",
            "42",
            "2147483647",
            "0x7fffffff",
            "0xFF",
            "42L",
            "9223372036854775807L",
            "1.5",
            ".5",
            "2.0e3",
            "1.23E91",
            "2.0e-32",
            "1e-5",
            "10.0",
        ] {
            assert_eq!(code(literal), None, "{literal}");
        }
    }

    #[test]
    fn malformed_numbers_are_reported() {
        for literal in [
            "1e3", "12ab", "1.2.3e1", "3-1", "0.5-0.25", "0x", "0xFFL", "0xZZ",
        ] {
            assert_eq!(code(literal), Some(Code::MalformedNumber), "{literal}");
        }
    }

    #[test]
    fn numbers_out_of_range_are_reported() {
        for literal in ["2147483648", "0x80000000", "9223372036854775808L"] {
            assert_eq!(code(literal), Some(Code::IntegerOutOfRange), "{literal}");
        }
    }
}
