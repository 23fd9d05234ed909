//! `Date.format(date|datetime, pattern [, lang])` (language §6.5): the pattern letters of Java's
//! `DateTimeFormatter.ofPattern`, with English names.
//!
//! The result is empty where Java would throw: an unknown or reserved letter, an unclosed quote,
//! a time or zone field asked of a plain date, or text names asked in a language other than
//! English (the library carries no other locale data).

use super::args::{Outcome, arg, text};
use super::date::{Local, MONTHS, WEEKDAYS, days_of, local, weekday};
use crate::value::{Date, DateTime, TimeOfDay, Value};

/// What is being formatted: a date alone, or a zoned instant.
struct Subject {
    local: Local,
    zone: Option<(i32, Option<String>)>,
}

pub fn format(arguments: &[Value]) -> Outcome {
    let subject = match arg(arguments, 0) {
        Value::Date(date) => Subject {
            local: Local {
                date: *date,
                time: TimeOfDay::default(),
                second: 0,
                millis: 0,
                nanos: 0,
            },
            zone: None,
        },
        Value::DateTime(datetime) => subject_of(datetime),
        _ => return Ok(Value::empty_maybe()),
    };
    let english = arguments.len() < 3 || {
        let language = text(arguments, 2).to_ascii_lowercase();
        language.is_empty()
            || language == "en"
            || language.starts_with("en-")
            || language.starts_with("en_")
    };
    let is_date = matches!(arg(arguments, 0), Value::Date(_));
    Ok(
        match render(&subject, text(arguments, 1), english, is_date) {
            Some(formatted) => Value::some(Value::string(&formatted)),
            None => Value::empty_maybe(),
        },
    )
}

fn subject_of(datetime: &DateTime) -> Subject {
    Subject {
        local: local(datetime),
        zone: Some((
            datetime.offset_seconds,
            datetime.zone.as_ref().map(|zone| zone.to_string()),
        )),
    }
}

/// Splits the pattern into runs of one letter, quoted literals and other characters.
fn render(subject: &Subject, pattern: &str, english: bool, is_date: bool) -> Option<String> {
    let characters: Vec<char> = pattern.chars().collect();
    let mut output = String::new();
    let mut index = 0;
    while let Some(&character) = characters.get(index) {
        if character == '\'' {
            index += 1;
            if characters.get(index) == Some(&'\'') {
                output.push('\'');
                index += 1;
                continue;
            }
            loop {
                match characters.get(index) {
                    None => return None,
                    Some('\'') if characters.get(index + 1) == Some(&'\'') => {
                        output.push('\'');
                        index += 2;
                    }
                    Some('\'') => {
                        index += 1;
                        break;
                    }
                    Some(literal) => {
                        output.push(*literal);
                        index += 1;
                    }
                }
            }
        } else if character.is_ascii_alphabetic() {
            let mut count = 1;
            while characters.get(index + count) == Some(&character) {
                count += 1;
            }
            index += count;
            output.push_str(&field(subject, character, count, english, is_date)?);
        } else if matches!(character, '[' | ']' | '{' | '}' | '#') {
            // Optional sections and reserved characters are not supported.
            return None;
        } else {
            output.push(character);
            index += 1;
        }
    }
    Some(output)
}

fn padded(value: i64, width: usize) -> String {
    if value < 0 {
        format!("-{:0width$}", value.unsigned_abs())
    } else {
        format!("{value:0width$}")
    }
}

/// A number field: one letter is unpadded, two are zero-padded to two, more are invalid.
fn small(value: i64, count: usize) -> Option<String> {
    match count {
        1 => Some(value.to_string()),
        2 => Some(padded(value, 2)),
        _ => None,
    }
}

/// Java's year layout: `yy` is the last two digits, otherwise padded to the letter count.
fn year_text(year: i64, count: usize) -> String {
    match count {
        2 => padded(year.rem_euclid(100), 2),
        1 => year.to_string(),
        width => padded(year, width),
    }
}

fn text_field(english: bool, full: &str, count: usize) -> Option<String> {
    if !english {
        return None;
    }
    match count {
        1..=3 => Some(full.chars().take(3).collect()),
        4 => Some(full.to_string()),
        5 => Some(full.chars().take(1).collect()),
        _ => None,
    }
}

fn day_of_year(date: Date) -> i64 {
    days_of(date)
        - days_of(Date {
            month: 1,
            day: 1,
            ..date
        })
        + 1
}

fn field(
    subject: &Subject,
    letter: char,
    count: usize,
    english: bool,
    is_date: bool,
) -> Option<String> {
    let local = subject.local;
    let date = local.date;
    let year = i64::from(date.year);
    let hour = i64::from(local.time.hour);
    let needs_time = matches!(
        letter,
        'a' | 'h' | 'K' | 'k' | 'H' | 'm' | 's' | 'S' | 'A' | 'n' | 'N'
    );
    if needs_time && is_date {
        return None;
    }
    match letter {
        'G' => {
            let era = if year >= 1 {
                ("AD", "Anno Domini", "A")
            } else {
                ("BC", "Before Christ", "B")
            };
            if !english {
                return None;
            }
            match count {
                1..=3 => Some(era.0.to_string()),
                4 => Some(era.1.to_string()),
                5 => Some(era.2.to_string()),
                _ => None,
            }
        }
        'y' => Some(year_text(if year >= 1 { year } else { 1 - year }, count)),
        'u' => Some(year_text(year, count)),
        'M' | 'L' => match count {
            1 | 2 => small(i64::from(date.month), count),
            _ => {
                let name = MONTHS.get((date.month as usize).checked_sub(1)?)?;
                text_field(english, name, count)
            }
        },
        'd' => small(i64::from(date.day), count),
        'D' => (count <= 3).then(|| padded(day_of_year(date), count)),
        'Q' | 'q' => {
            let quarter = (i64::from(date.month) - 1) / 3 + 1;
            match count {
                1 | 2 => small(quarter, count),
                3 if english => Some(format!("Q{quarter}")),
                4 if english => Some(
                    ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]
                        .get(usize::try_from(quarter - 1).ok()?)?
                        .to_string(),
                ),
                5 => Some(quarter.to_string()),
                _ => None,
            }
        }
        'E' => {
            let name = WEEKDAYS.get(weekday(date) as usize - 1)?;
            if count <= 3 {
                text_field(english, name, 1)
            } else {
                text_field(english, name, count)
            }
        }
        'e' | 'c' if count <= 2 => {
            // English weeks start on Sunday for the localized day-of-week number.
            let number = i64::from(weekday(date) % 7 + 1);
            small(number, count)
        }
        'a' if count == 1 && english => Some(if hour < 12 { "AM" } else { "PM" }.to_string()),
        'h' => small((hour + 11) % 12 + 1, count),
        'K' => small(hour % 12, count),
        'k' => small(if hour == 0 { 24 } else { hour }, count),
        'H' => small(hour, count),
        'm' => small(i64::from(local.time.minute), count),
        's' => small(i64::from(local.second), count),
        'S' if count <= 9 => {
            let digits = format!("{:03}{:06}", local.millis, local.nanos);
            Some(digits.chars().take(count).collect())
        }
        'A' => Some(padded(
            hour * 3_600_000
                + i64::from(local.time.minute) * 60_000
                + i64::from(local.second) * 1000
                + i64::from(local.millis),
            count,
        )),
        'n' => Some(padded(
            i64::from(local.millis) * 1_000_000 + i64::from(local.nanos),
            count,
        )),
        'N' => Some(padded(
            (hour * 3_600_000
                + i64::from(local.time.minute) * 60_000
                + i64::from(local.second) * 1000
                + i64::from(local.millis))
                * 1_000_000
                + i64::from(local.nanos),
            count,
        )),
        'V' | 'z' | 'O' | 'X' | 'x' | 'Z' => zone_field(subject, letter, count),
        _ => None,
    }
}

/// `+HH`, `+HHMM` or `+HH:MM` (seconds appended when the offset has them).
fn offset_text(offset: i32, minutes_style: OffsetStyle) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let total = offset.unsigned_abs();
    let (hours, minutes, seconds) = (total / 3600, (total / 60) % 60, total % 60);
    let separator = if matches!(minutes_style, OffsetStyle::Colon) {
        ":"
    } else {
        ""
    };
    let mut text = format!("{sign}{hours:02}");
    let show_minutes =
        !matches!(minutes_style, OffsetStyle::Optional) || minutes != 0 || seconds != 0;
    if show_minutes {
        text.push_str(&format!("{separator}{minutes:02}"));
    }
    if seconds != 0 {
        text.push_str(&format!("{separator}{seconds:02}"));
    }
    text
}

#[derive(Clone, Copy)]
enum OffsetStyle {
    /// `+HH`, minutes only when not zero.
    Optional,
    Compact,
    Colon,
}

fn zone_field(subject: &Subject, letter: char, count: usize) -> Option<String> {
    let (offset, region) = subject.zone.as_ref()?;
    let offset = *offset;
    let zone_id = || region.clone().unwrap_or_else(|| offset_id(offset));
    match (letter, count) {
        ('V', 2) => Some(zone_id()),
        ('z', 1..=4) => Some(zone_id()),
        ('O', 1) => Some(if offset == 0 {
            "GMT".to_string()
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let total = offset.unsigned_abs();
            let mut text = format!("GMT{sign}{}", total / 3600);
            if total % 3600 != 0 {
                text.push_str(&format!(":{:02}", (total / 60) % 60));
            }
            text
        }),
        ('O', 4) => Some(if offset == 0 {
            "GMT".to_string()
        } else {
            format!("GMT{}", offset_text(offset, OffsetStyle::Colon))
        }),
        ('X', _) if offset == 0 && count <= 5 => Some("Z".to_string()),
        ('X' | 'x', 1) => Some(offset_text(offset, OffsetStyle::Optional)),
        ('X' | 'x', 2 | 4) => Some(offset_text(offset, OffsetStyle::Compact)),
        ('X' | 'x', 3 | 5) => Some(offset_text(offset, OffsetStyle::Colon)),
        ('Z', 1..=3) => Some(offset_text(offset, OffsetStyle::Compact)),
        ('Z', 4) => Some(if offset == 0 {
            "GMT".to_string()
        } else {
            format!("GMT{}", offset_text(offset, OffsetStyle::Colon))
        }),
        ('Z', 5) => Some(if offset == 0 {
            "Z".to_string()
        } else {
            offset_text(offset, OffsetStyle::Colon)
        }),
        _ => None,
    }
}

/// The id Java gives a fixed offset: `Z`, or `+HH:MM`.
fn offset_id(offset: i32) -> String {
    if offset == 0 {
        "Z".to_string()
    } else {
        offset_text(offset, OffsetStyle::Colon)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{none, run, s, same, some};
    use crate::json::parse_datetime;
    use crate::value::{Date, Value};
    use std::sync::Arc;

    fn dt(text: &str) -> Value {
        Value::DateTime(Arc::new(parse_datetime(text).expect("datetime literal")))
    }

    #[test]
    fn dates_format_with_java_letters() {
        let date = Value::Date(Date {
            year: 2024,
            month: 3,
            day: 7,
        });
        let format = |pattern: &str| run("Date.format", &[date.clone(), s(pattern)]);
        same(&format("yyyy-MM-dd"), &some(s("2024-03-07")));
        same(&format("d/M/yy"), &some(s("7/3/24")));
        same(&format("EEEE, MMMM d"), &some(s("Thursday, March 7")));
        same(&format("EEE MMM"), &some(s("Thu Mar")));
        same(
            &format("'Day' D 'of' yyyy', it''s' QQQ"),
            &some(s("Day 67 of 2024, it's Q1")),
        );
        same(&format("HH:mm"), &none());
        same(&format("'unclosed"), &none());
        same(&format("yyyy bbb"), &none());
    }

    #[test]
    fn datetimes_format_with_time_and_zone() {
        let value = dt("2024-03-07T15:04:05.25-05:00");
        let format = |pattern: &str| run("datetime.format", &[value.clone(), s(pattern)]);
        same(
            &format("yyyy-MM-dd HH:mm:ss.SSS"),
            &some(s("2024-03-07 15:04:05.250")),
        );
        same(&format("h:mm a"), &some(s("3:04 PM")));
        same(&format("XXX"), &some(s("-05:00")));
        same(&format("Z"), &some(s("-0500")));
        same(&format("VV"), &some(s("-05:00")));
        let utc = dt("2024-03-07T00:30Z[UTC]");
        same(
            &run("datetime.format", &[utc.clone(), s("hh:mm a z X")]),
            &some(s("12:30 AM UTC Z")),
        );
        same(
            &run("datetime.format", &[utc.clone(), s("MMMM"), s("fr")]),
            &none(),
        );
        same(
            &run("datetime.format", &[utc, s("MM"), s("fr")]),
            &some(s("03")),
        );
    }
}
