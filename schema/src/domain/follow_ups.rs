//! Follow-up after a placement (跟踪回访): once a person is placed in a job, the coordinator
//! calls on them (and the employer) at set months after it: wages paid, contract signed,
//! insurance, workload. The months are a deployment setting (`follow_up_months`, 1, 3, 6).

use chrono::NaiveDate;

use super::dates::add_months;
use super::exits::ExitReason;

/// Whether an exit with this reason is a placement that is followed up.
pub fn is_placement(reason: ExitReason) -> bool {
    matches!(reason, ExitReason::Employed | ExitReason::SelfEmployed)
}

/// The months after a placement when follow-ups fall due, each from 1 to 60: a set, so
/// in order and each once, and `Copy`, so every write's settings carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Months(u64);

impl Months {
    /// The latest month a follow-up may fall in (five years).
    pub const LAST: u32 = 60;

    /// The set of `months`; `None` if one is outside 1 to [`Months::LAST`].
    pub fn new(months: &[u32]) -> Option<Months> {
        months.iter().try_fold(Months(0), |set, &m| {
            (1..=Self::LAST)
                .contains(&m)
                .then_some(Months(set.0 | 1 << m))
        })
    }

    /// The months, earliest first.
    pub fn iter(self) -> impl Iterator<Item = u32> {
        (1..=Self::LAST).filter(move |m| self.0 & (1 << m) != 0)
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The days follow-ups are due after a placement on `placed_on`, in order, with the month
/// each falls in.
pub fn due_dates(placed_on: NaiveDate, months: Months) -> Vec<(u32, NaiveDate)> {
    months
        .iter()
        .map(|m| (m, add_months(placed_on, m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn follow_ups_fall_on_the_months_after_a_placement() {
        let cases = [
            (
                d(2026, 3, 10),
                vec![1, 3, 6],
                vec![d(2026, 4, 10), d(2026, 6, 10), d(2026, 9, 10)],
            ),
            // The month's end is clamped: 31 August + 6 months is 28 February.
            (
                d(2026, 8, 31),
                vec![1, 6],
                vec![d(2026, 9, 30), d(2027, 2, 28)],
            ),
            (
                d(2026, 1, 1),
                vec![3, 1, 3],
                vec![d(2026, 2, 1), d(2026, 4, 1)],
            ),
        ];
        for (placed, months, want) in cases {
            let set = Months::new(&months).expect("months from 1 to 60");
            let dates: Vec<NaiveDate> = due_dates(placed, set).into_iter().map(|d| d.1).collect();
            assert_eq!(dates, want, "{placed} {months:?}");
        }
        assert_eq!(Months::new(&[0]), None);
        assert_eq!(Months::new(&[61]), None);
        assert_eq!(
            Months::new(&[60, 1]).map(|m| m.iter().collect::<Vec<_>>()),
            Some(vec![1, 60])
        );
        assert!(Months::new(&[]).is_some_and(Months::is_empty));
    }

    #[test]
    fn only_work_is_a_placement() {
        let placements: Vec<ExitReason> = ExitReason::ALL
            .iter()
            .copied()
            .filter(|r| is_placement(*r))
            .collect();
        assert_eq!(placements, [ExitReason::Employed, ExitReason::SelfEmployed]);
    }
}
