//! Calendar months as numbers, for periods that are counted in months (a subsidy's
//! months, a retirement month): `Month` is a count of months since year 0, so spans and
//! caps are plain arithmetic and cannot fall on a day that does not exist.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// One calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    /// `None` for a month outside 1–12.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12)
            .contains(&month)
            .then(|| Month(year * 12 + month as i32 - 1))
    }

    pub fn of(date: NaiveDate) -> Month {
        Month(date.year() * 12 + date.month0() as i32)
    }

    /// `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        Month::new(year.parse().ok()?, month.parse().ok()?)
    }

    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1).unwrap_or(NaiveDate::MIN)
    }

    /// `months` later (earlier when negative).
    pub fn plus(self, months: i32) -> Month {
        Month(self.0 + months)
    }

    /// Months from `self` to `later` (negative when `later` is earlier).
    pub fn until(self, later: Month) -> i32 {
        later.0 - self.0
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

/// The months `from` to `to`, both included; empty when `to` is before `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: Month,
    pub to: Month,
}

impl Span {
    pub fn new(from: Month, to: Month) -> Span {
        Span { from, to }
    }

    /// How many months it holds (0 when empty).
    pub fn months(self) -> u32 {
        (self.from.until(self.to) + 1).max(0) as u32
    }

    pub fn is_empty(self) -> bool {
        self.months() == 0
    }

    /// The months both hold.
    pub fn intersect(self, other: Span) -> Span {
        Span {
            from: self.from.max(other.from),
            to: self.to.min(other.to),
        }
    }

    /// The months up to and including `last` (all of them when `last` is later).
    pub fn through(self, last: Month) -> Span {
        Span {
            from: self.from,
            to: self.to.min(last),
        }
    }

    pub fn contains(self, month: Month) -> bool {
        self.from <= month && month <= self.to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Month {
        Month::parse(text).expect("a month")
    }

    #[test]
    fn months_parse_print_and_count() {
        assert_eq!(m("2026-12").to_string(), "2026-12");
        assert_eq!(m("2026-12").plus(1), m("2027-01"));
        assert_eq!(m("2027-01").plus(-13), m("2025-12"));
        assert_eq!(m("2025-01").until(m("2026-12")), 23);
        for bad in ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", ""] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        let day = NaiveDate::from_ymd_opt(2028, 2, 29).expect("a day");
        assert_eq!(Month::of(day), m("2028-02"));
        assert_eq!(m("2028-02").first_day().to_string(), "2028-02-01");
    }

    #[test]
    fn spans_count_both_ends() {
        let year = Span::new(m("2026-01"), m("2026-12"));
        assert_eq!(year.months(), 12);
        assert_eq!(Span::new(m("2026-05"), m("2026-05")).months(), 1);
        assert!(Span::new(m("2026-05"), m("2026-04")).is_empty());
        let later = Span::new(m("2026-10"), m("2027-03"));
        assert_eq!(year.intersect(later), Span::new(m("2026-10"), m("2026-12")));
        assert_eq!(year.through(m("2026-06")).months(), 6);
        assert_eq!(year.through(m("2027-06")), year);
        assert!(year.contains(m("2026-12")) && !year.contains(m("2027-01")));
    }
}
