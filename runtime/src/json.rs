//! The text layouts of the stored document: doubles as Java prints them, dates, times and
//! datetimes, and the conversion between runtime values and JSON.

use crate::value::{Date, DateTime, TimeOfDay};

/// A double in the layout of Java's `Double.toString`: plain for 1e-3 ≤ |x| < 1e7 (always with a
/// fractional part), otherwise `d.dddE±n`. Digits are the shortest that read back to the same
/// double.
pub fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_string();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    let magnitude = value.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exponent}")
    }
}

/// A JSON number for a double: the double itself, bit for bit (the writer prints the shortest
/// digits that read back to it, and a whole double keeps its `.0`). Not a number and the
/// infinities have no JSON form and are written as `null`.
pub fn double_json(value: f64) -> serde_json::Value {
    serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// `Y-MM-DD`, the year not padded.
pub fn date_text(date: &Date) -> String {
    format!("{}-{:02}-{:02}", date.year, date.month, date.day)
}

/// `HH:MM`.
pub fn time_text(time: &TimeOfDay) -> String {
    format!("{:02}:{:02}", time.hour, time.minute)
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A civil date to days since 1970-01-01.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The text of a zoned datetime in the layout of Java's `ZonedDateTime.toString`.
pub fn datetime_text(value: &DateTime) -> String {
    let local_ms = value.epoch_ms + i64::from(value.offset_seconds) * 1000;
    let days = local_ms.div_euclid(86_400_000);
    let in_day = local_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let hour = in_day / 3_600_000;
    let minute = (in_day / 60_000) % 60;
    let second = (in_day / 1000) % 60;
    let nanos = (in_day % 1000) as u32 * 1_000_000 + value.nanos;
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}");
    if second != 0 || nanos != 0 {
        text.push_str(&format!(":{second:02}"));
        // The fraction in groups of three digits, as few as hold the value.
        if nanos == 0 {
        } else if nanos.is_multiple_of(1_000_000) {
            text.push_str(&format!(".{:03}", nanos / 1_000_000));
        } else if nanos.is_multiple_of(1000) {
            text.push_str(&format!(".{:06}", nanos / 1000));
        } else {
            text.push_str(&format!(".{nanos:09}"));
        }
    }
    if value.offset_seconds == 0 {
        text.push('Z');
    } else {
        let sign = if value.offset_seconds < 0 { '-' } else { '+' };
        let total = value.offset_seconds.abs();
        text.push_str(&format!(
            "{sign}{:02}:{:02}",
            total / 3600,
            (total / 60) % 60
        ));
    }
    if let Some(zone) = &value.zone {
        text.push_str(&format!("[{zone}]"));
    }
    text
}

/// Reads the datetime text written by [`datetime_text`] (and ISO-8601 forms with an offset).
pub fn parse_datetime(text: &str) -> Option<DateTime> {
    let (main, zone) = match text.split_once('[') {
        Some((main, rest)) => (main, Some(rest.trim_end_matches(']'))),
        None => (text, None),
    };
    let (date_part, time_part) = main.split_once('T')?;
    let mut date_fields = date_part.splitn(3, '-');
    let year: i64 = date_fields.next()?.parse().ok()?;
    let month: u32 = date_fields.next()?.parse().ok()?;
    let day: u32 = date_fields.next()?.parse().ok()?;
    let (clock, offset_seconds) = if let Some(clock) = time_part.strip_suffix('Z') {
        (clock, 0)
    } else {
        let split = time_part.rfind(['+', '-'])?;
        let (clock, offset) = time_part.split_at(split);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
        let seconds = hours.parse::<i32>().ok()? * 3600 + minutes.parse::<i32>().ok()? * 60;
        (clock, sign * seconds)
    };
    let mut clock_fields = clock.splitn(3, ':');
    let hour: i64 = clock_fields.next()?.parse().ok()?;
    let minute: i64 = clock_fields.next()?.parse().ok()?;
    let (second, nanos) = match clock_fields.next() {
        Some(seconds) => match seconds.split_once('.') {
            Some((whole, fraction)) => {
                if fraction.is_empty()
                    || fraction.len() > 9
                    || !fraction.bytes().all(|byte| byte.is_ascii_digit())
                {
                    return None;
                }
                let scaled = format!("{fraction:0<9}");
                (whole.parse::<i64>().ok()?, scaled.parse::<i64>().ok()?)
            }
            None => (seconds.parse::<i64>().ok()?, 0),
        },
        None => (0, 0),
    };
    let local_ms = days_from_civil(year, month, day)
        .checked_mul(86_400_000)?
        .checked_add(hour * 3_600_000 + minute * 60_000 + second * 1000 + nanos / 1_000_000)?;
    Some(DateTime {
        epoch_ms: local_ms.checked_sub(i64::from(offset_seconds) * 1000)?,
        nanos: (nanos % 1_000_000) as u32,
        offset_seconds,
        zone: zone.map(std::sync::Arc::from),
    })
}

/// Reads `Y-M-D`.
pub fn parse_date(text: &str) -> Option<Date> {
    let mut fields = text.splitn(3, '-');
    Some(Date {
        year: fields.next()?.parse().ok()?,
        month: fields.next()?.parse().ok()?,
        day: fields.next()?.parse().ok()?,
    })
}

/// Reads `H:M`.
pub fn parse_time(text: &str) -> Option<TimeOfDay> {
    let (hour, minute) = text.split_once(':')?;
    Some(TimeOfDay {
        hour: hour.parse().ok()?,
        minute: minute.get(..2).unwrap_or(minute).parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_does() {
        for (value, text) in [
            (0.0, "0.0"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (1e-5, "1.0E-5"),
            (1e7, "1.0E7"),
            (123_456_789.125, "1.23456789125E8"),
            (0.1 + 0.2, "0.30000000000000004"),
            (2_147_483_647.0 / 2.0, "1.0737418235E9"),
            (-2.5, "-2.5"),
            (2e-32, "2.0E-32"),
        ] {
            assert_eq!(java_double(value), text, "{value}");
        }
    }

    #[test]
    fn datetimes_print_as_java_does() {
        let value = parse_datetime("2024-05-01T10:15:30.5Z").expect("parses");
        assert_eq!(datetime_text(&value), "2024-05-01T10:15:30.500Z");
        let clock = DateTime {
            epoch_ms: 50,
            nanos: 0,
            offset_seconds: 0,
            zone: Some("UTC".into()),
        };
        assert_eq!(datetime_text(&clock), "1970-01-01T00:00:00.050Z[UTC]");
        assert_eq!(datetime_text(&DateTime::default()), "1900-01-01T00:00Z");
    }

    #[test]
    fn datetimes_keep_nanoseconds_in_groups_of_three_digits() {
        for text in [
            "2024-01-02T03:04:05.123456789Z[UTC]",
            "2024-01-02T03:04:05.123456Z",
            "2024-01-02T03:04:05.000001Z",
            "2024-01-02T03:04:05.000000001+02:00",
            "2024-01-02T03:04:00.100Z",
            "1969-12-31T23:59:59.999999999Z",
        ] {
            let value = parse_datetime(text).expect("parses");
            assert_eq!(datetime_text(&value), text);
        }
        let value = parse_datetime("2024-01-02T03:04:05.1234Z").expect("parses");
        assert_eq!(datetime_text(&value), "2024-01-02T03:04:05.123400Z");
        assert_eq!(parse_datetime("2024-01-02T03:04:05.Z"), None);
        assert_eq!(parse_datetime("2024-01-02T03:04:05.1234567891Z"), None);
    }

    #[test]
    fn doubles_keep_every_bit_through_json() {
        let near_pi: f64 = "3.14".parse().expect("a double");
        for value in [
            near_pi + 1.0 - 1.0,
            0.1 + 0.2,
            1e-310,
            f64::MAX,
            -0.0,
            1e7,
            5e-324,
        ] {
            let text = double_json(value).to_string();
            let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(
                back.as_f64().map(f64::to_bits),
                Some(value.to_bits()),
                "{text}"
            );
        }
        assert_eq!(
            double_json(near_pi + 1.0 - 1.0).to_string(),
            "3.1400000000000006"
        );
    }
}
