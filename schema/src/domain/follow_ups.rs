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

/// The days follow-ups are due after a placement on `placed_on`, in order.
pub fn due_dates(placed_on: NaiveDate, months: &[u32]) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = months.iter().map(|m| add_months(placed_on, *m)).collect();
    dates.sort();
    dates.dedup();
    dates
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
            assert_eq!(due_dates(placed, &months), want, "{placed} {months:?}");
        }
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
