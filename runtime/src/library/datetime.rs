//! The datetime functions of the `Date` namespace (language §6.5): construction in a zone, zone
//! changes, field replacement, truncation and arithmetic on zoned instants.
//!
//! Instants are kept to the millisecond and within ±273 million years of the epoch, so the text
//! layout's arithmetic can never overflow; a result outside that range is an empty maybe where
//! the function returns one, else a runtime failure (the reference throws there too).

use super::BuiltinFn;
use super::args::{Outcome, arg, double, failure, int, lifted, maybe, text};
use super::date::{Local, date_arg, date_from, days_in_month, days_of, local};
use super::time::{time_arg, time_from};
use super::zone;
use crate::value::{Date, DateTime, TimeOfDay, Value};
use std::sync::Arc;

/// The datetime functions of `Date`.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "construct" => lifted!(construct),
        "future" => lifted!(future),
        "past" => lifted!(past),
        "between" => lifted!(between),
        "date" => lifted!(date_of),
        "time" => lifted!(time_of),
        "adjustTimeZone" => lifted!(adjust_time_zone),
        "withYear" => lifted!(with_year),
        "withMonth" => lifted!(with_month),
        "withDayOfMonth" => lifted!(with_day_of_month),
        "withHour" => lifted!(with_hour),
        "withMinute" => lifted!(with_minute),
        "withTime" => lifted!(with_time),
        "truncateDay" => lifted!(truncate_day),
        "truncateHour" => lifted!(truncate_hour),
        "truncateMinute" => lifted!(truncate_minute),
        "truncateSeconds" => lifted!(truncate_seconds),
        "truncateMilliseconds" => lifted!(truncate_milliseconds),
        _ => None,
    }
}

/// The furthest instant from the epoch the library produces, in milliseconds.
const LIMIT_MS: i128 = 8_640_000_000_000_000_000;

pub fn datetime_arg(arguments: &[Value], index: usize) -> DateTime {
    match arg(arguments, index).unwrap_maybe() {
        Some(Value::DateTime(datetime)) => (**datetime).clone(),
        _ => DateTime::default(),
    }
}

/// The instant whose local fields in the given offset are these, when it is in range.
fn from_local(local: Local, offset_seconds: i32, zone: Option<Arc<str>>) -> Option<DateTime> {
    let local_ms = i128::from(days_of(local.date)) * 86_400_000
        + i128::from(local.time.hour) * 3_600_000
        + i128::from(local.time.minute) * 60_000
        + i128::from(local.second) * 1000
        + i128::from(local.millis);
    at(
        local_ms - i128::from(offset_seconds) * 1000,
        offset_seconds,
        zone,
    )
    .map(|instant| DateTime {
        nanos: local.nanos,
        ..instant
    })
}

fn at(epoch_ms: i128, offset_seconds: i32, zone: Option<Arc<str>>) -> Option<DateTime> {
    (-LIMIT_MS..=LIMIT_MS)
        .contains(&epoch_ms)
        .then_some(DateTime {
            epoch_ms: epoch_ms as i64,
            nanos: 0,
            offset_seconds,
            zone,
        })
}

/// Rewrites the local fields of a datetime, keeping its zone.
fn relocal(value: &DateTime, change: impl FnOnce(Local) -> Option<Local>) -> Option<DateTime> {
    let changed = change(local(value))?;
    from_local(changed, value.offset_seconds, value.zone.clone())
}

fn datetime_value(value: Option<DateTime>) -> Value {
    maybe(value.map(|value| Value::DateTime(Arc::new(value))))
}

/// `construct(date, time, seconds, zone)`: a local date and time in a zone.
fn construct(arguments: &[Value]) -> Outcome {
    let date = date_arg(arguments, 0);
    let time = time_arg(arguments, 1);
    let seconds = double(arguments, 2);
    let Some(zone) = zone::resolve(text(arguments, 3)) else {
        return Ok(Value::empty_maybe());
    };
    let real = date_from(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    if real.is_none() || !seconds.is_finite() {
        return Ok(Value::empty_maybe());
    }
    let midnight = Local {
        date,
        time: TimeOfDay::default(),
        second: 0,
        millis: 0,
        nanos: 0,
    };
    let constructed = from_local(midnight, zone.offset_seconds, zone.region).and_then(|start| {
        let minutes = i128::from(time.hour) * 60 + i128::from(time.minute);
        let extra = minutes * 60_000 + milliseconds(seconds);
        at(
            i128::from(start.epoch_ms) + extra,
            start.offset_seconds,
            start.zone,
        )
    });
    Ok(datetime_value(constructed))
}

/// The span in milliseconds, or a failure for spans no instant can absorb.
fn span_ms(arguments: &[Value]) -> Result<i128, crate::error::Fault> {
    let seconds = double(arguments, 1);
    if !seconds.is_finite() {
        return Err(failure("a datetime cannot move by a non-finite timespan"));
    }
    Ok(milliseconds(seconds))
}

/// Seconds as whole milliseconds, clamped far enough out that any sum with an instant stays
/// exact in an i128 and lands out of range.
fn milliseconds(seconds: f64) -> i128 {
    (seconds * 1000.0).round().clamp(-1e20, 1e20) as i128
}

fn shift(arguments: &[Value], sign: i128) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let moved = at(
        i128::from(value.epoch_ms) + sign * span_ms(arguments)?,
        value.offset_seconds,
        value.zone,
    );
    moved
        .map(|moved| {
            Value::DateTime(Arc::new(DateTime {
                nanos: value.nanos,
                ..moved
            }))
        })
        .ok_or_else(|| failure("the datetime is out of range"))
}

fn future(arguments: &[Value]) -> Outcome {
    shift(arguments, 1)
}

fn past(arguments: &[Value]) -> Outcome {
    shift(arguments, -1)
}

/// The span from the first instant to the second.
fn between(arguments: &[Value]) -> Outcome {
    let nanos = |value: DateTime| i128::from(value.epoch_ms) * 1_000_000 + i128::from(value.nanos);
    let from = nanos(datetime_arg(arguments, 0));
    let to = nanos(datetime_arg(arguments, 1));
    Ok(Value::TimeSpan((to - from) as f64 / 1e9))
}

fn date_of(arguments: &[Value]) -> Outcome {
    Ok(Value::Date(local(&datetime_arg(arguments, 0)).date))
}

fn time_of(arguments: &[Value]) -> Outcome {
    Ok(Value::Time(local(&datetime_arg(arguments, 0)).time))
}

/// The same instant seen from another zone.
fn adjust_time_zone(arguments: &[Value]) -> Outcome {
    let value = datetime_arg(arguments, 0);
    Ok(datetime_value(zone::resolve(text(arguments, 1)).map(
        |zone| DateTime {
            epoch_ms: value.epoch_ms,
            nanos: value.nanos,
            offset_seconds: zone.offset_seconds,
            zone: zone.region,
        },
    )))
}

/// Java's `withYear`/`withMonth`: a day past the end of the new month becomes its last day.
fn with_date(value: &DateTime, year: i64, month: i64) -> Option<DateTime> {
    relocal(value, |mut local| {
        let month = u32::try_from(month)
            .ok()
            .filter(|month| (1..=12).contains(month))?;
        let year = i32::try_from(year).ok()?;
        let day = local.date.day.min(days_in_month(i64::from(year), month));
        local.date = Date { year, month, day };
        Some(local)
    })
}

fn with_year(arguments: &[Value]) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let month = i64::from(local(&value).date.month);
    Ok(datetime_value(with_date(
        &value,
        i64::from(int(arguments, 1)),
        month,
    )))
}

fn with_month(arguments: &[Value]) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let year = i64::from(local(&value).date.year);
    Ok(datetime_value(with_date(
        &value,
        year,
        i64::from(int(arguments, 1)),
    )))
}

fn with_day_of_month(arguments: &[Value]) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let day = i64::from(int(arguments, 1));
    Ok(datetime_value(relocal(&value, |mut local| {
        let date = local.date;
        local.date = date_from(i64::from(date.year), i64::from(date.month), day)?;
        Some(local)
    })))
}

fn with_hour(arguments: &[Value]) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let hour = i64::from(int(arguments, 1));
    Ok(datetime_value(relocal(&value, |mut local| {
        local.time = time_from(hour, i64::from(local.time.minute))?;
        Some(local)
    })))
}

fn with_minute(arguments: &[Value]) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let minute = i64::from(int(arguments, 1));
    Ok(datetime_value(relocal(&value, |mut local| {
        local.time = time_from(i64::from(local.time.hour), minute)?;
        Some(local)
    })))
}

/// The same day at the given time of day, on the whole minute.
fn with_time(arguments: &[Value]) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let time = time_arg(arguments, 1);
    Ok(datetime_value(relocal(&value, |local| {
        Some(Local {
            time,
            second: 0,
            millis: 0,
            nanos: 0,
            ..local
        })
    })))
}

fn truncate(arguments: &[Value], change: fn(Local) -> Local) -> Outcome {
    let value = datetime_arg(arguments, 0);
    let truncated = relocal(&value, |local| Some(change(local)));
    truncated
        .map(|value| Value::DateTime(Arc::new(value)))
        .ok_or_else(|| failure("the datetime is out of range"))
}

fn truncate_day(arguments: &[Value]) -> Outcome {
    truncate(arguments, |local| Local {
        time: TimeOfDay::default(),
        second: 0,
        millis: 0,
        nanos: 0,
        ..local
    })
}

fn truncate_hour(arguments: &[Value]) -> Outcome {
    truncate(arguments, |local| Local {
        time: TimeOfDay {
            minute: 0,
            ..local.time
        },
        second: 0,
        millis: 0,
        nanos: 0,
        ..local
    })
}

fn truncate_minute(arguments: &[Value]) -> Outcome {
    truncate(arguments, |local| Local {
        second: 0,
        millis: 0,
        nanos: 0,
        ..local
    })
}

fn truncate_seconds(arguments: &[Value]) -> Outcome {
    truncate(arguments, |local| Local {
        millis: 0,
        nanos: 0,
        ..local
    })
}

fn truncate_milliseconds(arguments: &[Value]) -> Outcome {
    truncate(arguments, |local| Local { nanos: 0, ..local })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, none, run, run1, s, same};
    use crate::json::parse_datetime;
    use crate::value::{Date, TimeOfDay, Value};
    use std::sync::Arc;

    fn dt(text: &str) -> Value {
        Value::DateTime(Arc::new(parse_datetime(text).expect("datetime literal")))
    }

    fn text_of(value: &Value) -> String {
        match value {
            Value::Maybe(Some(inner)) => text_of(inner),
            other => other.to_text(),
        }
    }

    fn i(value: i32) -> Value {
        Value::Int(value)
    }

    #[test]
    fn construct_in_a_zone() {
        let date = Value::Date(Date {
            year: 2024,
            month: 5,
            day: 1,
        });
        let time = Value::Time(TimeOfDay {
            hour: 10,
            minute: 15,
        });
        let made = run(
            "Date.construct",
            &[date.clone(), time.clone(), Value::Double(30.5), s("UTC")],
        );
        assert_eq!(text_of(&made), "2024-05-01T10:15:30.500Z[UTC]");
        let made = run(
            "Date.construct",
            &[date.clone(), time.clone(), Value::Double(0.0), s("+02:00")],
        );
        assert_eq!(text_of(&made), "2024-05-01T10:15+02:00");
        same(
            &run(
                "Date.construct",
                &[date, time.clone(), Value::Double(0.0), s("Nowhere")],
            ),
            &none(),
        );
        let bad = Value::Date(Date {
            year: 2024,
            month: 2,
            day: 30,
        });
        same(
            &run("Date.construct", &[bad, time, Value::Double(0.0), s("UTC")]),
            &none(),
        );
    }

    #[test]
    fn arithmetic_on_instants() {
        let start = dt("2024-05-01T10:15:30.5Z");
        let later = run("datetime.future", &[start.clone(), Value::TimeSpan(90.0)]);
        assert_eq!(later.to_text(), "2024-05-01T10:17:00.500Z");
        let earlier = run("datetime.past", &[start.clone(), Value::TimeSpan(0.5)]);
        assert_eq!(earlier.to_text(), "2024-05-01T10:15:30Z");
        same(
            &run("Date.between", &[start.clone(), later]),
            &Value::TimeSpan(90.0),
        );
        same(
            &run("Date.between", &[earlier, start.clone()]),
            &Value::TimeSpan(0.5),
        );
        assert!(call("datetime.future", &[start.clone(), Value::TimeSpan(1e300)]).is_err());
        assert!(call("datetime.future", &[start, Value::TimeSpan(f64::NAN)]).is_err());
    }

    #[test]
    fn parts_and_zone_changes() {
        let value = dt("2024-05-01T23:30:00-02:00");
        same(
            &run1("datetime.date", &value),
            &Value::Date(Date {
                year: 2024,
                month: 5,
                day: 1,
            }),
        );
        same(
            &run1("datetime.time", &value),
            &Value::Time(TimeOfDay {
                hour: 23,
                minute: 30,
            }),
        );
        let utc = run("datetime.adjustTimeZone", &[value.clone(), s("UTC")]);
        assert_eq!(text_of(&utc), "2024-05-02T01:30Z[UTC]");
        same(
            &run("datetime.adjustTimeZone", &[value, s("Nowhere")]),
            &none(),
        );
    }

    #[test]
    fn field_replacement_validates_like_java() {
        let leap = dt("2024-02-29T12:00Z");
        assert_eq!(
            text_of(&run("datetime.withYear", &[leap.clone(), i(2023)])),
            "2023-02-28T12:00Z"
        );
        let end = dt("2024-01-31T12:00Z");
        assert_eq!(
            text_of(&run("datetime.withMonth", &[end.clone(), i(4)])),
            "2024-04-30T12:00Z"
        );
        same(&run("datetime.withMonth", &[end.clone(), i(13)]), &none());
        same(
            &run("datetime.withDayOfMonth", &[leap.clone(), i(30)]),
            &none(),
        );
        assert_eq!(
            text_of(&run("datetime.withDayOfMonth", &[leap.clone(), i(3)])),
            "2024-02-03T12:00Z"
        );
        assert_eq!(
            text_of(&run("datetime.withHour", &[leap.clone(), i(7)])),
            "2024-02-29T07:00Z"
        );
        same(&run("datetime.withHour", &[leap.clone(), i(24)]), &none());
        assert_eq!(
            text_of(&run("datetime.withMinute", &[leap.clone(), i(9)])),
            "2024-02-29T12:09Z"
        );
        let time = Value::Time(TimeOfDay { hour: 8, minute: 5 });
        let precise = dt("2024-02-29T12:00:01.5Z");
        assert_eq!(
            text_of(&run("datetime.withTime", &[precise, time])),
            "2024-02-29T08:05Z"
        );
    }

    #[test]
    fn truncation_works_in_local_time() {
        let value = dt("2024-05-01T01:02:03.4+05:00");
        assert_eq!(
            run1("datetime.truncateDay", &value).to_text(),
            "2024-05-01T00:00+05:00"
        );
        assert_eq!(
            run1("datetime.truncateHour", &value).to_text(),
            "2024-05-01T01:00+05:00"
        );
        assert_eq!(
            run1("datetime.truncateMinute", &value).to_text(),
            "2024-05-01T01:02+05:00"
        );
        assert_eq!(
            run1("datetime.truncateSeconds", &value).to_text(),
            "2024-05-01T01:02:03+05:00"
        );
        assert_eq!(
            run("datetime.truncateMilliseconds", &[value]).to_text(),
            "2024-05-01T01:02:03.400+05:00"
        );
    }
}
