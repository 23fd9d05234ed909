//! Literals of time that the original reads while parsing: `@datetime "…"` must be an ISO zoned
//! date-time, and `cached<every N unit>` takes only seconds, minutes or hours.

use tree_sitter::Node;

use crate::diagnostic::{Code, Diagnostic};

/// The unit words of `cached<every N unit>`: days and weeks, and the one-letter forms of
/// `@timespan`, are not among them.
const CACHED_UNITS: [&str; 9] = [
    "min", "minute", "minutes", "sec", "second", "seconds", "hr", "hour", "hours",
];

/// `cached<every N unit>`: the unit is a word for seconds, minutes or hours.
pub fn cached_unit(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let Some(unit) = node.child_by_field_name("unit") else {
        return;
    };
    let word = super::node_text(text, unit);
    if word.is_empty() || CACHED_UNITS.contains(&word) {
        return;
    }
    diagnostics.push(
        Diagnostic::error(
            Code::CachedUnit,
            unit.byte_range(),
            format!("Parser was expecting 'min', 'minute', 'minutes', 'sec', 'second', 'seconds', 'hr', 'hour', or 'hours', but got `{word}` instead."),
        )
        .with_help("a cached formula is refreshed every so many seconds, minutes or hours: write `every 48 hours` rather than `every 2 days`"),
    );
}

/// `@datetime "…"`: the text is `yyyy-MM-ddTHH:mm[:ss[.fraction]]`, an offset, and optionally
/// a `[Region/Id]`.
pub fn datetime(text: &str, node: Node<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let Some(value) = node.child_by_field_name("value") else {
        return;
    };
    if value.is_missing() {
        return;
    }
    let token = super::node_text(text, value);
    let inner = token
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(token);
    if zoned_date_time(inner) {
        return;
    }
    diagnostics.push(
        Diagnostic::error(
            Code::BadDateTime,
            value.byte_range(),
            format!("Failed to parse datetime: {token}"),
        )
        .with_help("write a date, a time and an offset, as in \"2024-03-01T10:00:00Z\" or \"2024-03-01T10:00+01:00[Europe/Paris]\""),
    );
}

/// Reads the text left to right; each step consumes what it accepts.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    /// Exactly `count` ASCII digits, as a number.
    fn digits(&mut self, count: usize) -> Option<u32> {
        let part = self.rest.get(..count)?;
        if !part.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        self.rest = &self.rest[count..];
        part.parse().ok()
    }

    /// The character `expected`, when it comes next.
    fn eat(&mut self, expected: char) -> bool {
        match self.rest.strip_prefix(expected) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// A number of 1 to `max` digits in `low..=high`.
    fn ranged(&mut self, count: usize, low: u32, high: u32) -> Option<u32> {
        self.digits(count)
            .filter(|value| (low..=high).contains(value))
    }
}

/// Whether `value` is what an ISO zoned date-time parser accepts (strictly: no 30th of February).
fn zoned_date_time(value: &str) -> bool {
    let mut cursor = Cursor { rest: value };
    let Some(year) = cursor.digits(4) else {
        return false;
    };
    let date = (|| {
        if !cursor.eat('-') {
            return None;
        }
        let month = cursor.ranged(2, 1, 12)?;
        if !cursor.eat('-') {
            return None;
        }
        let day = cursor.ranged(2, 1, days_in_month(year, month))?;
        let _ = day;
        Some(())
    })();
    if date.is_none() || !cursor.eat('T') {
        return false;
    }
    if cursor.ranged(2, 0, 23).is_none() || !cursor.eat(':') || cursor.ranged(2, 0, 59).is_none() {
        return false;
    }
    if cursor.eat(':') {
        if cursor.ranged(2, 0, 59).is_none() {
            return false;
        }
        if cursor.eat('.') {
            let fraction = cursor.rest.bytes().take_while(u8::is_ascii_digit).count();
            if fraction > 9 {
                return false;
            }
            cursor.rest = &cursor.rest[fraction..];
        }
    }
    if !offset(&mut cursor) {
        return false;
    }
    if cursor.eat('[') {
        let Some(end) = cursor.rest.find(']') else {
            return false;
        };
        let region = &cursor.rest[..end];
        let plausible = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+' | '.'));
        if !plausible {
            return false;
        }
        cursor.rest = &cursor.rest[end + 1..];
    }
    cursor.rest.is_empty()
}

/// `Z`, or `+hh:mm` / `-hh:mm` (seconds optional) within eighteen hours.
fn offset(cursor: &mut Cursor<'_>) -> bool {
    if cursor.eat('Z') {
        return true;
    }
    if !(cursor.eat('+') || cursor.eat('-')) {
        return false;
    }
    let Some(hours) = cursor.ranged(2, 0, 18) else {
        return false;
    };
    if !cursor.eat(':') {
        return false;
    }
    let Some(minutes) = cursor.ranged(2, 0, 59) else {
        return false;
    };
    if hours == 18 && minutes > 0 {
        return false;
    }
    if cursor.eat(':') {
        return cursor.ranged(2, 0, 59).is_some();
    }
    true
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::zoned_date_time;

    #[test]
    fn iso_zoned_date_times_are_accepted() {
        for value in [
            "2024-03-01T10:00Z",
            "2024-03-01T10:00:05Z",
            "2024-03-01T10:00:05.123456789Z[UTC]",
            "2024-02-29T23:59:59+05:30",
            "2024-03-01T10:00-08:00[America/Los_Angeles]",
            "2024-03-01T10:00:00.Z",
        ] {
            assert!(zoned_date_time(value), "{value}");
        }
    }

    #[test]
    fn other_texts_are_refused() {
        for value in [
            "2024-03-01T10:00",
            "2024-03-01",
            "2023-02-29T10:00Z",
            "2024-13-01T10:00Z",
            "2024-03-01 10:00Z",
            "2024-03-01T24:00Z",
            "2024-03-01T10:00:00.1234567890Z",
            "2024-03-01T10:00+0100",
            "2024-03-01T10:00Z[",
            "2024-03-01T10:00Zjunk",
            "",
        ] {
            assert!(!zoned_date_time(value), "{value}");
        }
    }
}
