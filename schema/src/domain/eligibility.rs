//! The two categories the system can derive instead of asking for a certificate:
//! `older_worker` from the ID number and `long_term_unemployed` from the unemployment
//! registration date.
//!
//! Ages and anniversaries count up ON the day (a person born 1986-05-20 is 40 on
//! 2026-05-20). A 29 February date reaches its anniversary on 1 March in non-leap years,
//! since 28 February would be a day early. Some legal texts (criminal law) count "已满N周岁"
//! from the day after the birthday; here the birthday itself counts, in the applicant's favour.

use chrono::NaiveDate;

use super::dates::whole_years;
use super::id_number::{IdNumber, Sex};

/// Full years of age (周岁) on `at`; zero if `at` is before `birth`.
pub fn age_on(birth: NaiveDate, at: NaiveDate) -> u32 {
    whole_years(birth, at)
}

/// The age from which a person counts as an older worker.
pub fn older_worker_age(sex: Sex) -> u32 {
    match sex {
        Sex::Female => 40,
        Sex::Male => 50,
    }
}

/// 女40周岁以上、男50周岁以上 ("以上" includes the age itself).
pub fn older_worker(id: &IdNumber, at: NaiveDate) -> bool {
    age_on(id.birth_date(), at) >= older_worker_age(id.sex())
}

/// 连续失业1年以上: true from the first anniversary of the unemployment registration.
/// The caller passes the start of the current, unbroken spell of registered unemployment.
pub fn long_term_unemployed(registered_on: NaiveDate, at: NaiveDate) -> bool {
    whole_years(registered_on, at) >= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    /// An ID number born on `birth` with the given sex (sequence 122 or 123).
    fn id(birth: NaiveDate, sex: Sex) -> IdNumber {
        let seq = match sex {
            Sex::Female => "122",
            Sex::Male => "123",
        };
        let first17 = format!("320302{}{seq}", birth.format("%Y%m%d"));
        let c = IdNumber::check_char(&first17).expect("17 digits");
        IdNumber::parse(&format!("{first17}{c}"), d(2100, 1, 1)).expect("valid id")
    }

    #[test]
    fn age_goes_up_on_the_birthday() {
        let cases = [
            (d(1986, 5, 20), d(2026, 5, 19), 39),
            (d(1986, 5, 20), d(2026, 5, 20), 40),
            (d(1986, 5, 20), d(2026, 5, 21), 40),
            (d(1986, 5, 20), d(1986, 5, 20), 0),
            (d(1986, 5, 20), d(1980, 1, 1), 0),
            (d(1986, 12, 31), d(2027, 1, 1), 40),
            (d(1988, 2, 29), d(2027, 2, 28), 38),
            (d(1988, 2, 29), d(2027, 3, 1), 39),
            (d(1988, 2, 29), d(2028, 2, 28), 39),
            (d(1988, 2, 29), d(2028, 2, 29), 40),
        ];
        for (birth, at, want) in cases {
            assert_eq!(age_on(birth, at), want, "born {birth}, on {at}");
        }
    }

    #[test]
    fn older_worker_thresholds_by_sex() {
        let cases = [
            (Sex::Female, d(1986, 5, 20), d(2026, 5, 19), false),
            (Sex::Female, d(1986, 5, 20), d(2026, 5, 20), true),
            (Sex::Female, d(1986, 5, 20), d(2026, 5, 21), true),
            (Sex::Male, d(1986, 5, 20), d(2026, 5, 20), false),
            (Sex::Male, d(1976, 5, 20), d(2026, 5, 19), false),
            (Sex::Male, d(1976, 5, 20), d(2026, 5, 20), true),
            (Sex::Male, d(1976, 5, 20), d(2026, 5, 21), true),
            (Sex::Female, d(1988, 2, 29), d(2028, 2, 28), false),
            (Sex::Female, d(1988, 2, 29), d(2028, 2, 29), true),
            (Sex::Male, d(1977, 2, 28), d(2027, 2, 28), true),
            (Sex::Male, d(1976, 2, 29), d(2026, 2, 28), false),
            (Sex::Male, d(1976, 2, 29), d(2026, 3, 1), true),
        ];
        for (sex, birth, at, want) in cases {
            let person = id(birth, sex);
            assert_eq!(person.sex(), sex);
            assert_eq!(
                older_worker(&person, at),
                want,
                "{sex} born {birth}, on {at}"
            );
        }
    }

    #[test]
    fn long_term_unemployed_from_the_first_anniversary() {
        let cases = [
            (d(2025, 6, 15), d(2026, 6, 14), false),
            (d(2025, 6, 15), d(2026, 6, 15), true),
            (d(2025, 6, 15), d(2026, 6, 16), true),
            (d(2025, 6, 15), d(2025, 6, 15), false),
            (d(2025, 6, 15), d(2024, 1, 1), false),
            (d(2024, 2, 29), d(2025, 2, 28), false),
            (d(2024, 2, 29), d(2025, 3, 1), true),
            (d(2025, 12, 31), d(2026, 12, 31), true),
            (d(2025, 12, 31), d(2026, 12, 30), false),
        ];
        for (registered, at, want) in cases {
            assert_eq!(
                long_term_unemployed(registered, at),
                want,
                "registered {registered}, on {at}"
            );
        }
    }
}
