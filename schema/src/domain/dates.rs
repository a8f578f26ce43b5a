//! Calendar arithmetic shared by the rules: whole months with month-end clamping and
//! anniversaries. Saturating rather than failing: the dates the rules handle are far from
//! chrono's limits, and a rule that cannot panic is easier to call.

use chrono::{Datelike, Months, NaiveDate};

/// `date` plus `months` calendar months; a day that does not exist in the target month is
/// clamped to that month's last day (30 Nov + 3 months = 28 Feb). Saturates at
/// `NaiveDate::MAX`.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The first and last day of a month, or `None` when `month` is not 1–12 (or the year is
/// outside chrono's range).
pub fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
    Some((first, last))
}

/// The last day of the month `date` falls in.
pub fn month_end(date: NaiveDate) -> NaiveDate {
    month_bounds(date.year(), date.month()).map_or(NaiveDate::MAX, |(_, last)| last)
}

/// Whole years from `since` to `at` (周岁-style): the count goes up ON each anniversary.
/// A 29 February start reaches its anniversary on 1 March in non-leap years, because
/// (2, 28) comes before (2, 29) and (3, 1) after it. Zero when `at` is before `since`.
pub fn whole_years(since: NaiveDate, at: NaiveDate) -> u32 {
    let mut years = at.year() - since.year();
    if (at.month(), at.day()) < (since.month(), since.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn add_months_clamps_to_month_end() {
        let cases = [
            (d(2026, 1, 15), 3, d(2026, 4, 15)),
            (d(2026, 11, 30), 3, d(2027, 2, 28)),
            (d(2027, 11, 30), 3, d(2028, 2, 29)),
            (d(2026, 8, 31), 6, d(2027, 2, 28)),
            (d(2026, 3, 31), 1, d(2026, 4, 30)),
            (d(2026, 3, 31), 0, d(2026, 3, 31)),
        ];
        for (start, months, want) in cases {
            assert_eq!(add_months(start, months), want, "{start} + {months} months");
        }
    }

    #[test]
    fn month_bounds_and_end() {
        assert_eq!(month_bounds(2028, 2), Some((d(2028, 2, 1), d(2028, 2, 29))));
        assert_eq!(
            month_bounds(2026, 12),
            Some((d(2026, 12, 1), d(2026, 12, 31)))
        );
        assert_eq!(month_bounds(2026, 0), None);
        assert_eq!(month_bounds(2026, 13), None);
        assert_eq!(month_end(d(2026, 2, 10)), d(2026, 2, 28));
    }

    #[test]
    fn whole_years_counts_up_on_the_anniversary() {
        let cases = [
            (d(1986, 5, 20), d(2026, 5, 19), 39),
            (d(1986, 5, 20), d(2026, 5, 20), 40),
            (d(1986, 5, 20), d(2026, 5, 21), 40),
            (d(2000, 2, 29), d(2001, 2, 28), 0),
            (d(2000, 2, 29), d(2001, 3, 1), 1),
            (d(2000, 2, 29), d(2004, 2, 29), 4),
            (d(2026, 1, 1), d(2025, 12, 31), 0),
            (d(2026, 1, 1), d(2020, 1, 1), 0),
        ];
        for (since, at, want) in cases {
            assert_eq!(whole_years(since, at), want, "{since} .. {at}");
        }
    }
}
