//! Working days against a configurable holiday calendar. China moves working days onto
//! weekends around public holidays (调休), so a calendar has both extra days off and extra
//! working Saturdays/Sundays. Periods such as the 7-working-day publicity are counted here.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// How far [`WorkCalendar::add_working_days`] looks ahead (about ten years). A calendar
/// misconfigured with no working days at all must not hang a request; the answer then
/// saturates at `start` + this many days, a date far enough away to be noticed.
pub const MAX_SPAN_DAYS: u64 = 3660;

/// A deployment's working-day calendar. A date in `holidays` is never a working day, even
/// if it is also listed in `extra_workdays`; `extra_workdays` only matter on weekends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Days off that would otherwise be working days (法定节假日).
    pub holidays: BTreeSet<NaiveDate>,
    /// Saturdays and Sundays that are working days (调休上班).
    pub extra_workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// Monday to Friday unless a holiday; Saturday and Sunday only when an extra workday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            false
        } else if is_weekend(date) {
            self.extra_workdays.contains(&date)
        } else {
            true
        }
    }

    /// The date of the `n`-th working day after `start` (`start` itself is not counted, as
    /// periods start counting the day after; `n == 0` gives `start`). Saturates after
    /// [`MAX_SPAN_DAYS`] calendar days, or at the end of chrono's range.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut left = n;
        for _ in 0..MAX_SPAN_DAYS {
            if left == 0 {
                break;
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// The number of working days in `(from, to]`; zero when `to` is not after `from`.
    /// Computed from whole weeks plus the calendar's exceptions, so any range is cheap.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        let Some(first) = from.succ_opt() else {
            return 0;
        };
        let plain = weekdays_in(first, to);
        let holidays_on_weekdays = self
            .holidays
            .range(first..=to)
            .filter(|d| !is_weekend(**d))
            .count() as u64;
        let working_weekends = self
            .extra_workdays
            .range(first..=to)
            .filter(|d| is_weekend(**d) && !self.holidays.contains(d))
            .count() as u64;
        let total = plain - holidays_on_weekdays + working_weekends;
        u32::try_from(total).unwrap_or(u32::MAX)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Monday-to-Friday days in `[first, last]` (`first <= last`).
fn weekdays_in(first: NaiveDate, last: NaiveDate) -> u64 {
    let days = u64::try_from((last - first).num_days() + 1).unwrap_or(0);
    let full_weeks = days / 7;
    let mut count = full_weeks * 5;
    // The remaining fewer-than-seven days, counted one by one.
    let mut date = first
        .checked_add_days(Days::new(full_weeks * 7))
        .unwrap_or(last);
    for _ in 0..days % 7 {
        if !is_weekend(date) {
            count += 1;
        }
        date = date.succ_opt().unwrap_or(date);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    /// A National Day week shaped like 2026's: 1–7 October off (Thursday to Wednesday),
    /// with Sunday 20 September and Saturday 10 October worked instead.
    fn national_day() -> WorkCalendar {
        WorkCalendar {
            holidays: (1..=7).map(|day| d(2026, 10, day)).collect(),
            extra_workdays: [d(2026, 9, 20), d(2026, 10, 10)].into_iter().collect(),
        }
    }

    #[test]
    fn working_days_by_weekday_and_exception() {
        let cal = national_day();
        let cases = [
            (d(2026, 9, 18), true),  // Friday
            (d(2026, 9, 19), false), // Saturday
            (d(2026, 9, 20), true),  // Sunday, worked
            (d(2026, 10, 1), false), // Thursday, holiday
            (d(2026, 10, 3), false), // Saturday, holiday
            (d(2026, 10, 8), true),  // Thursday
            (d(2026, 10, 10), true), // Saturday, worked
            (d(2026, 10, 11), false),
        ];
        for (date, want) in cases {
            assert_eq!(cal.is_working_day(date), want, "{date}");
        }
        let both = WorkCalendar {
            holidays: [d(2026, 10, 10)].into_iter().collect(),
            extra_workdays: [d(2026, 10, 10)].into_iter().collect(),
        };
        assert!(!both.is_working_day(d(2026, 10, 10)), "holiday wins");
    }

    #[test]
    fn add_working_days_cases() {
        let plain = WorkCalendar::default();
        let holiday = national_day();
        let cases = [
            (&plain, d(2026, 6, 10), 0, d(2026, 6, 10)),
            (&plain, d(2026, 6, 13), 0, d(2026, 6, 13)), // Saturday stays put
            (&plain, d(2026, 6, 12), 1, d(2026, 6, 15)), // Friday → Monday
            (&plain, d(2026, 6, 13), 1, d(2026, 6, 15)), // Saturday → Monday
            (&plain, d(2026, 6, 10), 7, d(2026, 6, 19)), // Wed + 7 → next Fri
            (&plain, d(2026, 9, 30), 7, d(2026, 10, 9)),
            (&holiday, d(2026, 9, 30), 1, d(2026, 10, 8)),
            // 8, 9, 10 (worked Saturday), 12, 13, 14, 15 October.
            (&holiday, d(2026, 9, 30), 7, d(2026, 10, 15)),
            (&holiday, d(2026, 9, 18), 1, d(2026, 9, 20)), // Friday → worked Sunday
        ];
        for (cal, start, n, want) in cases {
            assert_eq!(cal.add_working_days(start, n), want, "{start} + {n}");
        }
    }

    #[test]
    fn add_working_days_saturates_on_a_calendar_without_working_days() {
        let start = d(2026, 1, 1);
        let end = start + Days::new(MAX_SPAN_DAYS);
        let never = WorkCalendar {
            holidays: start.iter_days().take(4000).collect(),
            extra_workdays: BTreeSet::new(),
        };
        assert_eq!(never.add_working_days(start, 1), end);
        assert_eq!(
            WorkCalendar::default().add_working_days(NaiveDate::MAX, 3),
            NaiveDate::MAX
        );
    }

    #[test]
    fn working_days_between_cases() {
        let plain = WorkCalendar::default();
        let holiday = national_day();
        let cases = [
            (&plain, d(2026, 6, 10), d(2026, 6, 10), 0),
            (&plain, d(2026, 6, 10), d(2026, 6, 1), 0),
            (&plain, d(2026, 6, 12), d(2026, 6, 15), 1), // Fri → Mon
            (&plain, d(2026, 6, 13), d(2026, 6, 14), 0), // weekend only
            (&plain, d(2026, 6, 1), d(2026, 6, 30), 21), // 2–30 June
            (&plain, d(2025, 12, 31), d(2026, 12, 31), 261),
            (&holiday, d(2026, 9, 30), d(2026, 10, 15), 7),
            (&holiday, d(2026, 9, 30), d(2026, 10, 7), 0),
            (&holiday, d(2026, 9, 1), d(2026, 9, 30), 22), // 21 weekdays + Sunday 20th
        ];
        for (cal, from, to, want) in cases {
            assert_eq!(cal.working_days_between(from, to), want, "({from}, {to}]");
        }
    }

    #[test]
    fn counting_agrees_with_adding() {
        for cal in [WorkCalendar::default(), national_day()] {
            for start in d(2026, 9, 10).iter_days().take(40) {
                for n in 0..15 {
                    let end = cal.add_working_days(start, n);
                    assert_eq!(cal.working_days_between(start, end), n, "{start} + {n}");
                }
            }
        }
    }
}
