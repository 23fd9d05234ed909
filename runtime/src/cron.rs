//! Cron jobs: each runs at most once per period, at the first invalidation after its scheduled
//! instant (in UTC, the only zone the clock functions resolve). A job's last run is stored as a
//! root long named after it (`__nightly`); a new document starts every job's clock at its creation
//! rather than running every job at once.

use std::sync::Arc;

use adama_compiler::ir::{CronRule, Program};

use crate::document::Document;
use crate::error::Fault;
use crate::eval::Frame;
use crate::json::{civil_from_days, days_from_civil};
use crate::value::{Principal, Value};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

impl Document {
    /// Runs the cron jobs that are due; part of an invalidation.
    pub(crate) fn run_crons(&mut self, program: &Program) -> Result<(), Fault> {
        let now = self.meta.time;
        for job in &program.crons {
            let Some(last) = self.meta.crons.get(&job.name).copied() else {
                Arc::make_mut(&mut self.meta.crons).insert(job.name.clone(), now);
                continue;
            };
            let due = self.latest_instant(job.schedule, now);
            if due.is_some_and(|due| due > last) {
                let mut frame = Frame::new(program, job.unit, Principal::no_one());
                self.block(program, &mut frame, &job.body)?;
                Arc::make_mut(&mut self.meta.crons).insert(job.name.clone(), now);
            }
        }
        Ok(())
    }

    /// The next instant after `now` at which a job is due, over all jobs.
    pub(crate) fn next_cron(&self) -> Option<i64> {
        let now = self.meta.time;
        self.program
            .crons
            .iter()
            .filter_map(|job| {
                let latest = self.latest_instant(job.schedule, now)?;
                Some(match self.rule(job.schedule)? {
                    Rule::Daily(..) => latest.saturating_add(DAY),
                    Rule::Hourly(_) => latest.saturating_add(HOUR),
                    Rule::Monthly(day) => {
                        let (year, month, _) = civil_from_days(latest.div_euclid(DAY));
                        let (year, month) = if month == 12 {
                            (year + 1, 1)
                        } else {
                            (year, month + 1)
                        };
                        month_instant(year, month, day)
                    }
                })
            })
            .min()
    }

    fn rule(&self, rule: CronRule) -> Option<Rule> {
        let root_value = |slot: u32| self.store.get(self.root, slot).clone();
        Some(match rule {
            CronRule::Daily { hour, minute } => Rule::Daily(hour, minute),
            CronRule::Hourly { minute } => Rule::Hourly(minute),
            CronRule::Monthly { day } => Rule::Monthly(day),
            CronRule::DailyFrom(slot) => match root_value(slot) {
                Value::Time(time) => Rule::Daily(time.hour, time.minute),
                _ => return None,
            },
            CronRule::HourlyFrom(slot) => {
                Rule::Hourly(root_value(slot).as_int().clamp(0, 59) as u32)
            }
            CronRule::MonthlyFrom(slot) => {
                Rule::Monthly(root_value(slot).as_int().clamp(0, 31) as u32)
            }
        })
    }

    /// The latest instant at or before `now` that a schedule names.
    fn latest_instant(&self, rule: CronRule, now: i64) -> Option<i64> {
        Some(match self.rule(rule)? {
            Rule::Daily(hour, minute) => {
                let at = (now.div_euclid(DAY) * DAY).saturating_add(
                    i64::from(hour.min(23)) * HOUR + i64::from(minute.min(59)) * MINUTE,
                );
                if at > now { at - DAY } else { at }
            }
            Rule::Hourly(minute) => {
                let at = (now.div_euclid(HOUR) * HOUR)
                    .saturating_add(i64::from(minute.min(59)) * MINUTE);
                if at > now { at - HOUR } else { at }
            }
            Rule::Monthly(day) => {
                let (year, month, _) = civil_from_days(now.div_euclid(DAY));
                let at = month_instant(year, month, day);
                if at > now {
                    let (year, month) = if month == 1 {
                        (year - 1, 12)
                    } else {
                        (year, month - 1)
                    };
                    month_instant(year, month, day)
                } else {
                    at
                }
            }
        })
    }
}

/// A schedule with its field-driven values read.
#[derive(Debug, Clone, Copy)]
enum Rule {
    Daily(u32, u32),
    Hourly(u32),
    Monthly(u32),
}

/// Midnight of a day of a month; a day past the month's end is its last day, day 0 the first.
fn month_instant(year: i64, month: u32, day: u32) -> i64 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let days_in_month = days_from_civil(next_year, next_month, 1) - days_from_civil(year, month, 1);
    let day = i64::from(day.max(1)).min(days_in_month);
    (days_from_civil(year, month, 1) + day - 1) * DAY
}

#[cfg(test)]
mod tests {
    use super::month_instant;

    #[test]
    fn a_day_past_the_month_end_is_its_last_day() {
        // 1970-02-28 is day 58.
        assert_eq!(month_instant(1970, 2, 31), 58 * 86_400_000);
        assert_eq!(month_instant(1970, 1, 0), 0);
    }
}
