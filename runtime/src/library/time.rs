//! The `Time` namespace (the document clock and times of day) and the `TimeSpan` namespace
//! (language §6.5), with the methods of `time` and `timespan` values.
//!
//! The clock is the host's: `Time.now()` is the transaction's time, never the wall clock, so a
//! replayed command reads the same time. Local dates and times are taken in the document's zone.

use super::BuiltinFn;
use super::args::{Outcome, arg, double, int, lifted, maybe, string};
use super::zone;
use super::{Host, date};
use crate::value::{DateTime, TimeOfDay, Value};
use std::sync::Arc;

const MINUTES_PER_DAY: i64 = 24 * 60;
const SECONDS_PER_DAY: i64 = 24 * 60 * 60;

/// `Time.function`, and the `time` methods that are its extension form.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "now" => Some(now),
        "today" => Some(today),
        "datetime" | "datetimeLive" => Some(datetime),
        "time" => Some(time_of_day),
        "zone" => Some(zone_name),
        "setZone" => Some(set_zone),
        "make" => lifted!(make),
        "toInt" => lifted!(to_int),
        "extendWithinDay" => lifted!(extend_within_day),
        "cyclicAdd" => lifted!(cyclic_add),
        "overlaps" => lifted!(overlaps),
        _ => None,
    }
}

/// Methods of `time` values beyond the `Time` extensions.
pub fn time_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "hour" => lifted!(hour),
        "minute" => lifted!(minute),
        _ => None,
    }
}

/// `TimeSpan.function`, and the `timespan` methods that are its extension form.
pub fn timespan_namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "makeFromSeconds" => lifted!(from_seconds),
        "makeFromMinutes" => lifted!(from_minutes),
        "seconds" => lifted!(seconds),
        "minutes" => lifted!(minutes),
        "hours" => lifted!(hours),
        "add" => lifted!(add),
        "multiply" => lifted!(multiply),
        _ => None,
    }
}

/// The document clock as a zoned datetime in the document's zone. A zone the library cannot
/// resolve reads as UTC rather than failing every clock call.
pub fn clock(host: &dyn Host) -> DateTime {
    let zone = zone::resolve(host.time_zone()).unwrap_or(zone::Zone {
        offset_seconds: 0,
        region: Some(Arc::from("UTC")),
    });
    DateTime {
        epoch_ms: host.now_ms(),
        nanos: 0,
        offset_seconds: zone.offset_seconds,
        zone: zone.region,
    }
}

fn now(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Long(host.now_ms()))
}

fn today(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Date(date::local(&clock(host)).date))
}

fn datetime(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::DateTime(Arc::new(clock(host))))
}

fn time_of_day(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Time(date::local(&clock(host)).time))
}

fn zone_name(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(string(host.time_zone()))
}

fn set_zone(host: &mut dyn Host, arguments: &[Value]) -> Outcome {
    let zone = match arg(arguments, 0).unwrap_maybe() {
        Some(zone) => zone.as_str().to_string(),
        None => return Ok(Value::Bool(false)),
    };
    Ok(Value::Bool(host.set_time_zone(&zone)))
}

/// A time of day from hour and minute, when both are in range.
pub fn time_from(hour: i64, minute: i64) -> Option<TimeOfDay> {
    ((0..24).contains(&hour) && (0..60).contains(&minute)).then_some(TimeOfDay {
        hour: hour as u32,
        minute: minute as u32,
    })
}

pub fn time_arg(arguments: &[Value], index: usize) -> TimeOfDay {
    match arg(arguments, index).unwrap_maybe() {
        Some(Value::Time(time)) => *time,
        _ => TimeOfDay::default(),
    }
}

fn minutes_of(time: TimeOfDay) -> i64 {
    i64::from(time.hour) * 60 + i64::from(time.minute)
}

fn from_minutes_of_day(minutes: i64) -> TimeOfDay {
    let minutes = minutes.rem_euclid(MINUTES_PER_DAY);
    TimeOfDay {
        hour: (minutes / 60) as u32,
        minute: (minutes % 60) as u32,
    }
}

fn make(arguments: &[Value]) -> Outcome {
    let time = time_from(i64::from(int(arguments, 0)), i64::from(int(arguments, 1)));
    Ok(maybe(time.map(Value::Time)))
}

fn to_int(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(minutes_of(time_arg(arguments, 0)) as i32))
}

fn hour(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(time_arg(arguments, 0).hour as i32))
}

fn minute(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(time_arg(arguments, 0).minute as i32))
}

/// The time plus a span, in whole seconds from the start of the day.
fn shifted_seconds(arguments: &[Value]) -> i64 {
    let span = double(arguments, 1);
    // `as` saturates (NaN is 0), so absurd spans clamp instead of overflowing.
    let span = span.trunc() as i64;
    (minutes_of(time_arg(arguments, 0)) * 60).saturating_add(span)
}

/// Adds a span without leaving the day: the result stays within 00:00 and 23:59.
fn extend_within_day(arguments: &[Value]) -> Outcome {
    let seconds = shifted_seconds(arguments).clamp(0, SECONDS_PER_DAY - 1);
    Ok(Value::Time(from_minutes_of_day(seconds / 60)))
}

/// Adds a span around the clock face.
fn cyclic_add(arguments: &[Value]) -> Outcome {
    let seconds = shifted_seconds(arguments).rem_euclid(SECONDS_PER_DAY);
    Ok(Value::Time(from_minutes_of_day(seconds / 60)))
}

/// Do the closed ranges `[a, b]` and `[c, d]` of times overlap (endpoints in either order)?
fn overlaps(arguments: &[Value]) -> Outcome {
    let [a, b, c, d] = [0, 1, 2, 3].map(|index| minutes_of(time_arg(arguments, index)));
    Ok(Value::Bool(
        a.min(b).max(c.min(d)) <= a.max(b).min(c.max(d)),
    ))
}

fn from_seconds(arguments: &[Value]) -> Outcome {
    Ok(Value::TimeSpan(double(arguments, 0)))
}

fn from_minutes(arguments: &[Value]) -> Outcome {
    Ok(Value::TimeSpan(double(arguments, 0) * 60.0))
}

fn seconds(arguments: &[Value]) -> Outcome {
    Ok(Value::Double(double(arguments, 0)))
}

fn minutes(arguments: &[Value]) -> Outcome {
    Ok(Value::Double(double(arguments, 0) / 60.0))
}

fn hours(arguments: &[Value]) -> Outcome {
    Ok(Value::Double(double(arguments, 0) / 3600.0))
}

fn add(arguments: &[Value]) -> Outcome {
    Ok(Value::TimeSpan(double(arguments, 0) + double(arguments, 1)))
}

fn multiply(arguments: &[Value]) -> Outcome {
    Ok(Value::TimeSpan(double(arguments, 0) * double(arguments, 1)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestHost, call_with, none, run, s, same, some};
    use crate::value::{Date, TimeOfDay, Value};

    fn t(hour: u32, minute: u32) -> Value {
        Value::Time(TimeOfDay { hour, minute })
    }

    #[test]
    fn the_clock_is_the_hosts() {
        let mut host = TestHost::default();
        same(
            &call_with(&mut host, "Time.now", &[]).expect("now"),
            &Value::Long(50),
        );
        let datetime = call_with(&mut host, "Time.datetime", &[]).expect("datetime");
        assert_eq!(datetime.to_text(), "1970-01-01T00:00:00.050Z[UTC]");
        let today = call_with(&mut host, "Time.today", &[]).expect("today");
        same(
            &today,
            &Value::Date(Date {
                year: 1970,
                month: 1,
                day: 1,
            }),
        );
        same(
            &call_with(&mut host, "Time.time", &[]).expect("time"),
            &t(0, 0),
        );
    }

    #[test]
    fn the_zone_moves_local_dates_and_times() {
        let mut host = TestHost {
            now_ms: 1_700_000_000_000,
            ..TestHost::default()
        };
        same(
            &call_with(&mut host, "Time.setZone", &[s("Mars/Base")]).expect("zone"),
            &Value::Bool(false),
        );
        same(
            &call_with(&mut host, "Time.setZone", &[s("-05:00")]).expect("zone"),
            &Value::Bool(true),
        );
        same(
            &call_with(&mut host, "Time.zone", &[]).expect("zone"),
            &s("-05:00"),
        );
        same(
            &call_with(&mut host, "Time.time", &[]).expect("time"),
            &t(17, 13),
        );
        let datetime = call_with(&mut host, "Time.datetime", &[]).expect("datetime");
        assert_eq!(datetime.to_text(), "2023-11-14T17:13:20-05:00");
    }

    #[test]
    fn times_of_day() {
        same(
            &run("Time.make", &[Value::Int(23), Value::Int(59)]),
            &some(t(23, 59)),
        );
        same(&run("Time.make", &[Value::Int(24), Value::Int(0)]), &none());
        same(&run("time.toInt", &[t(1, 30)]), &Value::Int(90));
        same(&run("time.hour", &[t(1, 30)]), &Value::Int(1));
        same(&run("time.minute", &[t(1, 30)]), &Value::Int(30));
        let two_hours = Value::TimeSpan(7200.0);
        same(
            &run("time.extendWithinDay", &[t(23, 0), two_hours.clone()]),
            &t(23, 59),
        );
        same(&run("time.cyclicAdd", &[t(23, 0), two_hours]), &t(1, 0));
        same(
            &run("time.cyclicAdd", &[t(0, 30), Value::TimeSpan(-3600.0)]),
            &t(23, 30),
        );
        same(
            &run(
                "time.extendWithinDay",
                &[t(0, 30), Value::TimeSpan(f64::NEG_INFINITY)],
            ),
            &t(0, 0),
        );
        let args = [t(9, 0), t(10, 0), t(9, 30), t(11, 0)];
        same(&run("Time.overlaps", &args), &Value::Bool(true));
        let args = [t(9, 0), t(10, 0), t(10, 1), t(11, 0)];
        same(&run("Time.overlaps", &args), &Value::Bool(false));
    }

    #[test]
    fn timespans() {
        same(
            &run("TimeSpan.makeFromMinutes", &[Value::Int(2)]),
            &Value::TimeSpan(120.0),
        );
        same(
            &run("TimeSpan.makeFromSeconds", &[Value::Double(1.5)]),
            &Value::TimeSpan(1.5),
        );
        same(
            &run("timespan.seconds", &[Value::TimeSpan(90.0)]),
            &Value::Double(90.0),
        );
        same(
            &run("timespan.minutes", &[Value::TimeSpan(90.0)]),
            &Value::Double(1.5),
        );
        same(
            &run("timespan.hours", &[Value::TimeSpan(5400.0)]),
            &Value::Double(1.5),
        );
        let sum = run(
            "timespan.add",
            &[Value::TimeSpan(1.0), Value::TimeSpan(2.0)],
        );
        same(&sum, &Value::TimeSpan(3.0));
        let product = run(
            "TimeSpan.multiply",
            &[Value::TimeSpan(2.0), Value::Double(1.5)],
        );
        same(&product, &Value::TimeSpan(3.0));
    }
}
