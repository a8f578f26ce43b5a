//! Statutory retirement age (法定退休年龄), as the NPC Standing Committee's decision on
//! gradually raising it sets it from 1 January 2025: for men (from 60) and for women whose
//! original age was 55, the age rises one month for every four months, up to 63 and 58;
//! for women whose original age was 50, one month for every two months, up to 55. A
//! person's original retirement month before 2025 keeps its age. The subsidies stop from
//! the month a person reaches it.

use chrono::NaiveDate;

use super::id_number::Sex;
use super::months::Month;

crate::text_enum! {
    /// Which of the three original retirement ages applies.
    pub enum RetirementBase {
        /// Men: 60, rising to 63.
        Men60 = "men_60",
        /// Women in cadre posts (and, in many deployments, flexible workers): 55, rising to 58.
        Women55 = "women_55",
        /// Women workers: 50, rising to 55.
        Women50 = "women_50",
    }
}

/// The first original retirement month the decision delays.
fn reform_start() -> Month {
    Month::new(2025, 1).unwrap_or_else(|| Month::of(NaiveDate::MIN))
}

impl RetirementBase {
    /// The base for a person of `sex`, women taking the deployment's base for them.
    pub fn of(sex: Sex, women: RetirementBase) -> RetirementBase {
        match sex {
            Sex::Male => RetirementBase::Men60,
            Sex::Female => women,
        }
    }

    fn original_years(self) -> i32 {
        match self {
            RetirementBase::Men60 => 60,
            RetirementBase::Women55 => 55,
            RetirementBase::Women50 => 50,
        }
    }

    /// Original retirement months per month of delay, and the most months of delay.
    fn pace(self) -> (i32, i32) {
        match self {
            RetirementBase::Men60 | RetirementBase::Women55 => (4, 36),
            RetirementBase::Women50 => (2, 60),
        }
    }

    /// Months of delay for a person whose original retirement month is `original`.
    pub fn delay_months(self, original: Month) -> u32 {
        let since = reform_start().until(original);
        if since < 0 {
            return 0;
        }
        let (every, most) = self.pace();
        (since / every + 1).min(most) as u32
    }

    /// The month a person born on `birth` reaches statutory retirement age.
    pub fn retirement_month(self, birth: NaiveDate) -> Month {
        let original = Month::of(birth).plus(self.original_years() * 12);
        original.plus(self.delay_months(original) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn born(y: i32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, 15).expect("a day")
    }

    fn month(text: &str) -> Month {
        Month::parse(text).expect("a month")
    }

    /// The decision's tables at their turning points.
    #[test]
    fn retirement_months_follow_the_decisions_tables() {
        use RetirementBase::*;
        let cases = [
            // Before the reform: the original age.
            (Men60, born(1964, 12), "2024-12"),
            // The first months: one month for every four (two for women at 50).
            (Men60, born(1965, 1), "2025-02"),
            (Men60, born(1965, 4), "2025-05"),
            (Men60, born(1965, 5), "2025-07"),
            (Women55, born(1970, 1), "2025-02"),
            (Women50, born(1975, 1), "2025-02"),
            (Women50, born(1975, 2), "2025-03"),
            (Women50, born(1975, 3), "2025-05"),
            // The caps: 63, 58 and 55.
            (Men60, born(1976, 5), "2039-04"),
            (Men60, born(1976, 9), "2039-09"),
            (Men60, born(1980, 1), "2043-01"),
            (Women55, born(1981, 9), "2039-09"),
            (Women50, born(1984, 11), "2039-11"),
            (Women50, born(1990, 6), "2045-06"),
        ];
        for (base, birth, want) in cases {
            assert_eq!(
                base.retirement_month(birth),
                month(want),
                "{base} born {birth}"
            );
        }
    }

    #[test]
    fn the_base_follows_sex_and_the_deployments_choice_for_women() {
        use RetirementBase::*;
        assert_eq!(RetirementBase::of(Sex::Male, Women50), Men60);
        assert_eq!(RetirementBase::of(Sex::Female, Women50), Women50);
        assert_eq!(RetirementBase::of(Sex::Female, Women55), Women55);
    }
}
