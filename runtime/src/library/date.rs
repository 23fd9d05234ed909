//! The `Date` namespace (language §6.5) for calendar dates: construction, calendar views, weekly
//! patterns, parts and names, and month arithmetic; the datetime functions of the same namespace
//! live in `datetime.rs` and `format`ting in `date_format.rs`.
//!
//! Dates are proleptic Gregorian, as `java.time.LocalDate`. The default date (`1-01-01`) is the
//! language's "invalid" date.

use super::BuiltinFn;
use super::args::{
    MAX_GENERATED_ELEMENTS, Outcome, arg, boolean, int, lifted, maybe, string, too_large,
};
use super::{date_format, datetime};
use crate::json::{civil_from_days, days_from_civil};
use crate::value::{Date, DateTime, TimeOfDay, Value};

/// `Date.function`, and the `date`/`datetime` methods that are its extension form.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "make" => lifted!(make),
        "valid" => lifted!(valid),
        "calendarViewOf" => lifted!(calendar_view_of),
        "weekViewOf" => lifted!(week_view_of),
        "neighborViewOf" => lifted!(neighbor_view_of),
        "inclusiveRange" => lifted!(inclusive_range),
        "patternOf" => lifted!(pattern_of),
        "satisfiesWeeklyPattern" => lifted!(satisfies_weekly_pattern),
        "inclusiveRangeSatisfiesWeeklyPattern" => lifted!(range_satisfying_pattern),
        "dayOfWeek" => lifted!(day_of_week),
        "dayOfWeekEnglish" => lifted!(day_of_week_english),
        "monthNameEnglish" => lifted!(month_name_english),
        "offsetDay" => lifted!(offset_day),
        "offsetMonth" => lifted!(offset_month),
        "periodMonths" => lifted!(period_months),
        "periodYearsFractional" => lifted!(period_years_fractional),
        "min" => lifted!(min),
        "max" => lifted!(max),
        "overlaps" => lifted!(overlaps),
        "format" => lifted!(date_format::format),
        "year" | "month" | "day" => date_method(function),
        _ => datetime::namespace(function),
    }
}

/// Methods of `date` values beyond the `Date` extensions.
pub fn date_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "year" => lifted!(year),
        "month" => lifted!(month),
        "day" => lifted!(day),
        _ => None,
    }
}

/// A datetime seen in its own zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    pub date: Date,
    pub time: TimeOfDay,
    pub second: u32,
    pub millis: u32,
    /// Nanoseconds past the millisecond.
    pub nanos: u32,
}

const MS_PER_DAY: i64 = 86_400_000;

/// The local date and time of a zoned instant.
pub fn local(value: &DateTime) -> Local {
    let local_ms = value
        .epoch_ms
        .saturating_add(i64::from(value.offset_seconds) * 1000);
    let in_day = local_ms.rem_euclid(MS_PER_DAY);
    Local {
        date: date_from_days(local_ms.div_euclid(MS_PER_DAY)),
        time: TimeOfDay {
            hour: (in_day / 3_600_000) as u32,
            minute: ((in_day / 60_000) % 60) as u32,
        },
        second: ((in_day / 1000) % 60) as u32,
        millis: (in_day % 1000) as u32,
        nanos: value.nanos,
    }
}

/// A date from days since 1970-01-01; years beyond an int give the invalid date.
pub fn date_from_days(days: i64) -> Date {
    let (year, month, day) = civil_from_days(days);
    match i32::try_from(year) {
        Ok(year) => Date { year, month, day },
        Err(_) => Date::default(),
    }
}

pub fn days_of(date: Date) -> i64 {
    days_from_civil(i64::from(date.year), date.month, date.day)
}

pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// A date when the fields name a real calendar day.
pub fn date_from(year: i64, month: i64, day: i64) -> Option<Date> {
    let year = i32::try_from(year).ok()?;
    let month = u32::try_from(month)
        .ok()
        .filter(|month| (1..=12).contains(month))?;
    let day = u32::try_from(day).ok()?;
    (day >= 1 && day <= days_in_month(i64::from(year), month)).then_some(Date { year, month, day })
}

pub fn date_arg(arguments: &[Value], index: usize) -> Date {
    match arg(arguments, index).unwrap_maybe() {
        Some(Value::Date(date)) => *date,
        _ => Date::default(),
    }
}

/// Day of the week, 1 = Monday … 7 = Sunday.
pub fn weekday(date: Date) -> u32 {
    // 1970-01-01 was a Thursday.
    ((days_of(date) + 3).rem_euclid(7) + 1) as u32
}

fn make(arguments: &[Value]) -> Outcome {
    let date = date_from(
        i64::from(int(arguments, 0)),
        i64::from(int(arguments, 1)),
        i64::from(int(arguments, 2)),
    );
    Ok(maybe(date.map(Value::Date)))
}

fn valid(arguments: &[Value]) -> Outcome {
    let date = date_arg(arguments, 0);
    let real = date_from(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    Ok(Value::Bool(real.is_some() && date != Date::default()))
}

fn year(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(date_arg(arguments, 0).year))
}

fn month(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(date_arg(arguments, 0).month as i32))
}

fn day(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(date_arg(arguments, 0).day as i32))
}

/// The dates of the day range `[first, last]`, bounded so no call builds a huge list.
fn days_between(first: i64, last: i64) -> Outcome {
    if last < first {
        return Ok(Value::list(Vec::new()));
    }
    let count = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
    if count > MAX_GENERATED_ELEMENTS {
        return Err(too_large());
    }
    Ok(Value::list(
        (first..=last)
            .map(|days| Value::Date(date_from_days(days)))
            .collect(),
    ))
}

/// Days since the Sunday that starts the week of `date`.
fn from_sunday(date: Date) -> i64 {
    i64::from(weekday(date) % 7)
}

/// The whole Sunday-first weeks that cover the date's month.
fn calendar_view_of(arguments: &[Value]) -> Outcome {
    let date = date_arg(arguments, 0);
    let year = i64::from(date.year);
    let first = Date { day: 1, ..date };
    let last = Date {
        day: days_in_month(year, date.month).max(1),
        ..date
    };
    days_between(
        days_of(first) - from_sunday(first),
        days_of(last) + 6 - from_sunday(last),
    )
}

/// The Sunday-first week holding the date.
fn week_view_of(arguments: &[Value]) -> Outcome {
    let date = date_arg(arguments, 0);
    let sunday = days_of(date) - from_sunday(date);
    days_between(sunday, sunday + 6)
}

/// The date with `n` days either side.
fn neighbor_view_of(arguments: &[Value]) -> Outcome {
    let center = days_of(date_arg(arguments, 0));
    let reach = i64::from(int(arguments, 1));
    days_between(center - reach, center + reach)
}

fn inclusive_range(arguments: &[Value]) -> Outcome {
    days_between(
        days_of(date_arg(arguments, 0)),
        days_of(date_arg(arguments, 1)),
    )
}

/// A bit per weekday, Monday the lowest.
fn pattern_of(arguments: &[Value]) -> Outcome {
    let pattern = (0..7)
        .filter(|index| boolean(arguments, *index))
        .fold(0, |pattern, index| pattern | (1 << index));
    Ok(Value::Int(pattern))
}

fn satisfies(date: Date, pattern: i32) -> bool {
    pattern & (1 << (weekday(date) - 1)) != 0
}

fn satisfies_weekly_pattern(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(satisfies(
        date_arg(arguments, 0),
        int(arguments, 1),
    )))
}

fn range_satisfying_pattern(arguments: &[Value]) -> Outcome {
    let pattern = int(arguments, 2);
    let range = inclusive_range(arguments)?;
    Ok(Value::list(
        range
            .as_list()
            .iter()
            .filter(|value| matches!(value, Value::Date(date) if satisfies(*date, pattern)))
            .cloned()
            .collect(),
    ))
}

fn day_of_week(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(weekday(date_arg(arguments, 0)) as i32))
}

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn day_of_week_english(arguments: &[Value]) -> Outcome {
    let index = weekday(date_arg(arguments, 0)) as usize - 1;
    Ok(string(WEEKDAYS.get(index).copied().unwrap_or_default()))
}

fn month_name_english(arguments: &[Value]) -> Outcome {
    let month = date_arg(arguments, 0).month as usize;
    let name = month
        .checked_sub(1)
        .and_then(|index| MONTHS.get(index))
        .copied()
        .unwrap_or_default();
    Ok(string(name))
}

fn offset_day(arguments: &[Value]) -> Outcome {
    let days = days_of(date_arg(arguments, 0)) + i64::from(int(arguments, 1));
    Ok(Value::Date(date_from_days(days)))
}

/// Java's `plusMonths`: the day is clamped to the end of a shorter month.
pub fn plus_months(date: Date, months: i64) -> Date {
    let total = i64::from(date.year) * 12 + i64::from(date.month) - 1 + months;
    let year = total.div_euclid(12);
    let month = (total.rem_euclid(12) + 1) as u32;
    match i32::try_from(year) {
        Ok(year_int) => Date {
            year: year_int,
            month,
            day: date.day.min(days_in_month(year, month)),
        },
        Err(_) => Date::default(),
    }
}

fn offset_month(arguments: &[Value]) -> Outcome {
    Ok(Value::Date(plus_months(
        date_arg(arguments, 0),
        i64::from(int(arguments, 1)),
    )))
}

/// Java's `Period.between(from, to)`: whole months, and the days left over.
fn period(from: Date, to: Date) -> (i64, i64) {
    let months_of = |date: Date| i64::from(date.year) * 12 + i64::from(date.month) - 1;
    let mut months = months_of(to) - months_of(from);
    let mut days = i64::from(to.day) - i64::from(from.day);
    if months > 0 && days < 0 {
        months -= 1;
        days = days_of(to) - days_of(plus_months(from, months));
    } else if months < 0 && days > 0 {
        months += 1;
        days -= i64::from(days_in_month(i64::from(to.year), to.month));
    }
    (months, days)
}

fn period_months(arguments: &[Value]) -> Outcome {
    let (months, _) = period(date_arg(arguments, 0), date_arg(arguments, 1));
    Ok(Value::Int(
        months.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
    ))
}

/// Whole months of the period as twelfths of a year, and its leftover days in mean Gregorian
/// years.
fn period_years_fractional(arguments: &[Value]) -> Outcome {
    let (months, days) = period(date_arg(arguments, 0), date_arg(arguments, 1));
    Ok(Value::Double(months as f64 / 12.0 + days as f64 / 365.2425))
}

/// An ordering key for dates and datetimes.
fn instant_key(value: &Value) -> i128 {
    match value.unwrap_maybe() {
        Some(Value::Date(date)) => i128::from(days_of(*date)),
        Some(Value::DateTime(datetime)) => {
            i128::from(datetime.epoch_ms) * 1_000_000 + i128::from(datetime.nanos)
        }
        _ => 0,
    }
}

fn min(arguments: &[Value]) -> Outcome {
    let (a, b) = (arg(arguments, 0), arg(arguments, 1));
    Ok(if instant_key(b) < instant_key(a) {
        b
    } else {
        a
    }
    .clone())
}

fn max(arguments: &[Value]) -> Outcome {
    let (a, b) = (arg(arguments, 0), arg(arguments, 1));
    Ok(if instant_key(b) > instant_key(a) {
        b
    } else {
        a
    }
    .clone())
}

/// Do the closed ranges `[a, b]` and `[c, d]` of dates or datetimes overlap?
fn overlaps(arguments: &[Value]) -> Outcome {
    let [a, b, c, d] = [0, 1, 2, 3].map(|index| instant_key(arg(arguments, index)));
    Ok(Value::Bool(
        a.min(b).max(c.min(d)) <= a.max(b).min(c.max(d)),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, none, run, same, some};
    use crate::value::{Date, Value};

    fn d(year: i32, month: u32, day: u32) -> Value {
        Value::Date(Date { year, month, day })
    }

    fn i(value: i32) -> Value {
        Value::Int(value)
    }

    fn texts(value: &Value) -> Vec<String> {
        value.as_list().iter().map(Value::to_text).collect()
    }

    #[test]
    fn make_checks_the_calendar() {
        same(
            &run("Date.make", &[i(2024), i(2), i(29)]),
            &some(d(2024, 2, 29)),
        );
        same(&run("Date.make", &[i(2023), i(2), i(29)]), &none());
        same(&run("Date.make", &[i(2023), i(13), i(1)]), &none());
        same(&run("Date.make", &[i(2023), i(-1), i(1)]), &none());
        same(&run("date.valid", &[d(1, 1, 1)]), &Value::Bool(false));
        same(&run("date.valid", &[d(2024, 1, 1)]), &Value::Bool(true));
        same(&run("date.valid", &[d(2024, 2, 30)]), &Value::Bool(false));
    }

    #[test]
    fn day_of_week_is_monday_based() {
        same(&run("Date.dayOfWeek", &[d(2024, 1, 1)]), &i(1));
        same(&run("date.dayOfWeek", &[d(2024, 1, 7)]), &i(7));
        same(&run("date.dayOfWeek", &[d(1970, 1, 1)]), &i(4));
        same(
            &run("date.dayOfWeekEnglish", &[d(2024, 1, 3)]),
            &Value::string("Wednesday"),
        );
        same(
            &run("date.monthNameEnglish", &[d(2024, 3, 3)]),
            &Value::string("March"),
        );
        same(&run("date.year", &[d(2024, 3, 9)]), &i(2024));
        same(&run("date.month", &[d(2024, 3, 9)]), &i(3));
        same(&run("date.day", &[d(2024, 3, 9)]), &i(9));
    }

    #[test]
    fn calendar_views_are_sunday_first_weeks() {
        // February 2024 starts on a Thursday and ends on a Thursday.
        let view = run("Date.calendarViewOf", &[d(2024, 2, 14)]);
        let texts = texts(&view);
        assert_eq!(texts.len(), 35);
        assert_eq!(texts.first().map(String::as_str), Some("2024-01-28"));
        assert_eq!(texts.last().map(String::as_str), Some("2024-03-02"));
        let week = texts_of("date.weekViewOf", &[d(2024, 2, 14)]);
        assert_eq!(week.first().map(String::as_str), Some("2024-02-11"));
        assert_eq!(week.len(), 7);
        let neighbors = texts_of("date.neighborViewOf", &[d(2024, 3, 1), i(1)]);
        assert_eq!(neighbors, ["2024-02-29", "2024-03-01", "2024-03-02"]);
        assert!(texts_of("date.neighborViewOf", &[d(2024, 3, 1), i(-1)]).is_empty());
        assert!(call("date.neighborViewOf", &[d(2024, 3, 1), i(i32::MAX)]).is_err());
    }

    fn texts_of(name: &str, arguments: &[Value]) -> Vec<String> {
        texts(&run(name, arguments))
    }

    #[test]
    fn weekly_patterns() {
        let weekends = run(
            "Date.patternOf",
            &[false, false, false, false, false, true, true].map(Value::Bool),
        );
        same(&weekends, &i(96));
        same(
            &run(
                "date.satisfiesWeeklyPattern",
                &[d(2024, 1, 6), weekends.clone()],
            ),
            &Value::Bool(true),
        );
        same(
            &run(
                "date.satisfiesWeeklyPattern",
                &[d(2024, 1, 5), weekends.clone()],
            ),
            &Value::Bool(false),
        );
        let matched = texts_of(
            "date.inclusiveRangeSatisfiesWeeklyPattern",
            &[d(2024, 1, 1), d(2024, 1, 14), weekends],
        );
        assert_eq!(
            matched,
            ["2024-01-06", "2024-01-07", "2024-01-13", "2024-01-14"]
        );
        assert_eq!(
            texts_of("Date.inclusiveRange", &[d(2024, 1, 2), d(2024, 1, 1)]).len(),
            0
        );
    }

    #[test]
    fn month_arithmetic_clamps_like_java() {
        same(
            &run("date.offsetMonth", &[d(2024, 1, 31), i(1)]),
            &d(2024, 2, 29),
        );
        same(
            &run("date.offsetMonth", &[d(2024, 1, 31), i(-2)]),
            &d(2023, 11, 30),
        );
        same(
            &run("date.offsetDay", &[d(2024, 2, 28), i(2)]),
            &d(2024, 3, 1),
        );
        same(
            &run("date.periodMonths", &[d(2024, 1, 31), d(2024, 2, 29)]),
            &i(0),
        );
        same(
            &run("date.periodMonths", &[d(2024, 1, 15), d(2025, 3, 15)]),
            &i(14),
        );
        same(
            &run("date.periodMonths", &[d(2024, 3, 15), d(2024, 1, 20)]),
            &i(-1),
        );
        same(
            &run(
                "date.periodYearsFractional",
                &[d(2020, 1, 1), d(2021, 7, 1)],
            ),
            &Value::Double(1.5),
        );
    }

    #[test]
    fn min_max_and_overlaps() {
        same(
            &run("Date.min", &[d(2024, 1, 2), d(2023, 5, 5)]),
            &d(2023, 5, 5),
        );
        same(
            &run("date.max", &[d(2024, 1, 2), d(2023, 5, 5)]),
            &d(2024, 1, 2),
        );
        let args = [
            d(2024, 1, 1),
            d(2024, 1, 10),
            d(2024, 1, 10),
            d(2024, 1, 20),
        ];
        same(&run("Date.overlaps", &args), &Value::Bool(true));
        let args = [d(2024, 1, 1), d(2024, 1, 9), d(2024, 1, 10), d(2024, 1, 20)];
        same(&run("Date.overlaps", &args), &Value::Bool(false));
    }
}
