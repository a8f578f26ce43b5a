//! Zero-employment households (零就业家庭) and the rule "当月动态清零": a household found in
//! a month should be cleared (a member employed) within that same calendar month.
//!
//! A household is open from the start of `found_on` until the moment it is cleared during
//! `cleared_on`: it counts as open on the clearing day, but no longer at that day's end. A
//! `cleared_on` earlier than `found_on` is bad data and is read as cleared on `found_on`.

use chrono::NaiveDate;

use super::dates::{month_bounds, month_end};

/// Whether the household was open at any time during the month (`month` 1–12; an invalid
/// month has no days, so nothing is open in it). Drives the monthly count of households.
pub fn open_in_month(
    found_on: NaiveDate,
    cleared_on: Option<NaiveDate>,
    year: i32,
    month: u32,
) -> bool {
    let Some((first, last)) = month_bounds(year, month) else {
        return false;
    };
    found_on <= last && cleared_on.is_none_or(|c| c.max(found_on) >= first)
}

/// Whether the household is still open at the end of `at`.
pub fn still_open_at(found_on: NaiveDate, cleared_on: Option<NaiveDate>, at: NaiveDate) -> bool {
    found_on <= at && cleared_on.is_none_or(|c| c.max(found_on) > at)
}

/// `Some(true)` if cleared in the calendar month it was found, `Some(false)` if cleared
/// later, `None` while still open (see [`missed_clearance`] for "open and too late").
pub fn cleared_within_month(found_on: NaiveDate, cleared_on: Option<NaiveDate>) -> Option<bool> {
    cleared_on.map(|c| c.max(found_on) <= clearance_deadline(found_on))
}

/// The last day the household may be cleared "within the month": the found month's end.
pub fn clearance_deadline(found_on: NaiveDate) -> NaiveDate {
    month_end(found_on)
}

/// Whether the month-clearance rule is already broken on `at`: cleared after the found
/// month, or still open after it ended.
pub fn missed_clearance(found_on: NaiveDate, cleared_on: Option<NaiveDate>, at: NaiveDate) -> bool {
    match cleared_within_month(found_on, cleared_on) {
        Some(in_time) => !in_time,
        None => at > clearance_deadline(found_on),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn open_in_month_cases() {
        let cases = [
            ("found in the month", d(2026, 3, 31), None, 2026, 3, true),
            ("found after the month", d(2026, 4, 1), None, 2026, 3, false),
            (
                "found earlier, still open",
                d(2025, 12, 1),
                None,
                2026,
                3,
                true,
            ),
            (
                "cleared before the month",
                d(2026, 1, 5),
                Some(d(2026, 2, 28)),
                2026,
                3,
                false,
            ),
            (
                "cleared on the first day",
                d(2026, 1, 5),
                Some(d(2026, 3, 1)),
                2026,
                3,
                true,
            ),
            (
                "cleared during the month",
                d(2026, 1, 5),
                Some(d(2026, 3, 15)),
                2026,
                3,
                true,
            ),
            (
                "cleared after the month",
                d(2026, 1, 5),
                Some(d(2026, 4, 2)),
                2026,
                3,
                true,
            ),
            (
                "found and cleared the same day",
                d(2026, 3, 9),
                Some(d(2026, 3, 9)),
                2026,
                3,
                true,
            ),
            (
                "cleared before found is read as same day",
                d(2026, 3, 9),
                Some(d(2026, 2, 1)),
                2026,
                3,
                true,
            ),
            (
                "found on the last day of a leap February",
                d(2028, 2, 29),
                None,
                2028,
                2,
                true,
            ),
            ("month 0", d(2026, 1, 1), None, 2026, 0, false),
            ("month 13", d(2026, 1, 1), None, 2026, 13, false),
        ];
        for (name, found, cleared, year, month, want) in cases {
            assert_eq!(open_in_month(found, cleared, year, month), want, "{name}");
        }
    }

    #[test]
    fn still_open_at_cases() {
        let found = d(2026, 3, 9);
        let cases = [
            (None, d(2026, 3, 8), false),
            (None, d(2026, 3, 9), true),
            (None, d(2027, 1, 1), true),
            (Some(d(2026, 3, 20)), d(2026, 3, 19), true),
            (Some(d(2026, 3, 20)), d(2026, 3, 20), false),
            (Some(d(2026, 3, 9)), d(2026, 3, 9), false),
            (Some(d(2026, 3, 1)), d(2026, 3, 9), false),
        ];
        for (cleared, at, want) in cases {
            assert_eq!(
                still_open_at(found, cleared, at),
                want,
                "{cleared:?} at {at}"
            );
        }
    }

    #[test]
    fn clearance_within_the_month() {
        let cases = [
            (d(2026, 3, 9), None, None),
            (d(2026, 3, 9), Some(d(2026, 3, 9)), Some(true)),
            (d(2026, 3, 9), Some(d(2026, 3, 31)), Some(true)),
            (d(2026, 3, 9), Some(d(2026, 4, 1)), Some(false)),
            (d(2026, 3, 31), Some(d(2026, 4, 1)), Some(false)),
            (d(2026, 12, 1), Some(d(2027, 12, 1)), Some(false)),
            (d(2028, 2, 1), Some(d(2028, 2, 29)), Some(true)),
        ];
        for (found, cleared, want) in cases {
            assert_eq!(
                cleared_within_month(found, cleared),
                want,
                "{found} {cleared:?}"
            );
        }
    }

    #[test]
    fn missed_clearance_cases() {
        let found = d(2026, 3, 9);
        let cases = [
            (None, d(2026, 3, 31), false),
            (None, d(2026, 4, 1), true),
            (Some(d(2026, 3, 31)), d(2026, 6, 1), false),
            (Some(d(2026, 4, 1)), d(2026, 4, 1), true),
        ];
        for (cleared, at, want) in cases {
            assert_eq!(
                missed_clearance(found, cleared, at),
                want,
                "{cleared:?} at {at}"
            );
        }
        assert_eq!(clearance_deadline(d(2027, 2, 3)), d(2027, 2, 28));
    }
}
