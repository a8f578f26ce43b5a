//! Leaving employment assistance (退出援助). An exit is a recorded decision with one of these
//! reasons; the only one the system can detect by itself is six months without contact.

use chrono::NaiveDate;

use super::dates::add_months;

crate::text_enum! {
    /// Why a person leaves employment assistance.
    pub enum ExitReason {
        Employed = "employed",
        SelfEmployed = "self_employed",
        StableIncome = "stable_income",
        ReceivingPension = "receiving_pension",
        LostWorkAbility = "lost_work_ability",
        SchoolMilitaryEmigration = "school_military_emigration",
        Imprisoned = "imprisoned",
        EndedJobSearch = "ended_job_search",
        NoContactSixMonths = "no_contact_six_months",
        OtherEmploymentRegistration = "other_employment_registration",
    }
}

impl ExitReason {
    pub fn chinese_name(self) -> &'static str {
        match self {
            ExitReason::Employed => "被用人单位录用",
            ExitReason::SelfEmployed => "从事个体经营或创办企业，并领取工商营业执照",
            ExitReason::StableIncome => "已从事有稳定收入的劳动且收入不低于当地最低工资标准",
            ExitReason::ReceivingPension => "已享受基本养老保险待遇",
            ExitReason::LostWorkAbility => "完全丧失劳动能力",
            ExitReason::SchoolMilitaryEmigration => "入学、服兵役、移居境外",
            ExitReason::Imprisoned => "被判刑收监执行",
            ExitReason::EndedJobSearch => "终止就业要求或拒绝接受公共就业服务",
            ExitReason::NoContactSixMonths => "连续6个月以上未与公共就业服务机构联系",
            ExitReason::OtherEmploymentRegistration => "已进行就业登记的其他情形",
        }
    }
}

/// Months without contact after which a person is an exit candidate ("6个月以上"
/// includes six months exactly).
pub const NO_CONTACT_MONTHS: u32 = 6;

/// The first day on which a person counts as out of contact: six calendar months after the
/// later of the last contact (visit or service record) and the enrolment, clamped to the
/// month end (31 Aug → 28 Feb). Enrolment counts as contact, so a contact recorded before
/// enrolment does not shorten the period.
pub fn no_contact_since(last_contact: Option<NaiveDate>, enrolled_on: NaiveDate) -> NaiveDate {
    let reference = last_contact.map_or(enrolled_on, |c| c.max(enrolled_on));
    add_months(reference, NO_CONTACT_MONTHS)
}

/// Whether the ledger shows no contact for six months or more on `at`. A candidate is shown
/// to staff for a decision, never exited automatically.
pub fn is_exit_candidate(
    last_contact: Option<NaiveDate>,
    enrolled_on: NaiveDate,
    at: NaiveDate,
) -> bool {
    at >= no_contact_since(last_contact, enrolled_on)
}

/// A placement (上岗) as the exit rule reads it: the guide's first reasons to leave
/// assistance are being hired by a unit (被用人单位录用) and running one's own business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub self_employed: bool,
    /// A follow-up found the person no longer in this work.
    pub left: bool,
}

impl Work {
    /// Whether the person is in this work on `at`: started by then, not ended, and no
    /// follow-up found them gone. Such a person is an exit candidate for staff to decide.
    pub fn holds_on(&self, at: NaiveDate) -> bool {
        self.started_on <= at && self.ended_on.is_none_or(|end| end > at) && !self.left
    }

    /// The exit reason this work suggests.
    pub fn exit_reason(&self) -> ExitReason {
        if self.self_employed {
            ExitReason::SelfEmployed
        } else {
            ExitReason::Employed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn every_reason_has_a_chinese_name() {
        assert_eq!(ExitReason::ALL.len(), 10);
        for reason in ExitReason::ALL {
            assert!(!reason.chinese_name().is_empty(), "{reason}");
        }
    }

    #[test]
    fn six_months_without_contact() {
        let enrolled = d(2026, 1, 15);
        let cases = [
            ("no contact, day before", None, d(2026, 7, 14), false),
            ("no contact, six months", None, d(2026, 7, 15), true),
            ("no contact, later", None, d(2026, 12, 1), true),
            (
                "contact resets, day before",
                Some(d(2026, 3, 1)),
                d(2026, 8, 31),
                false,
            ),
            (
                "contact resets, six months",
                Some(d(2026, 3, 1)),
                d(2026, 9, 1),
                true,
            ),
            (
                "contact before enrolment",
                Some(d(2025, 12, 1)),
                d(2026, 7, 14),
                false,
            ),
            (
                "contact before enrolment, six months",
                Some(d(2025, 12, 1)),
                d(2026, 7, 15),
                true,
            ),
            (
                "month end clamps, day before",
                Some(d(2026, 8, 31)),
                d(2027, 2, 27),
                false,
            ),
            (
                "month end clamps",
                Some(d(2026, 8, 31)),
                d(2027, 2, 28),
                true,
            ),
            (
                "leap year clamp",
                Some(d(2027, 8, 31)),
                d(2028, 2, 29),
                true,
            ),
            (
                "leap year clamp, day before",
                Some(d(2027, 8, 31)),
                d(2028, 2, 28),
                false,
            ),
        ];
        for (name, last_contact, at, want) in cases {
            assert_eq!(
                is_exit_candidate(last_contact, enrolled, at),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn work_suggests_an_exit_while_it_holds() {
        let work = Work {
            started_on: d(2026, 3, 1),
            ended_on: None,
            self_employed: false,
            left: false,
        };
        let cases = [
            ("before the start", work, d(2026, 2, 28), false),
            ("on the start", work, d(2026, 3, 1), true),
            ("later", work, d(2026, 12, 1), true),
            (
                "ends later",
                Work {
                    ended_on: Some(d(2026, 6, 30)),
                    ..work
                },
                d(2026, 6, 29),
                true,
            ),
            (
                "ended that day",
                Work {
                    ended_on: Some(d(2026, 6, 30)),
                    ..work
                },
                d(2026, 6, 30),
                false,
            ),
            (
                "left, by a follow-up",
                Work { left: true, ..work },
                d(2026, 4, 1),
                false,
            ),
        ];
        for (name, work, at, want) in cases {
            assert_eq!(work.holds_on(at), want, "{name}");
        }
        assert_eq!(work.exit_reason(), ExitReason::Employed);
        let own = Work {
            self_employed: true,
            ..work
        };
        assert_eq!(own.exit_reason(), ExitReason::SelfEmployed);
    }
}
