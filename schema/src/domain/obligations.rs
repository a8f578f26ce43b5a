//! What must be delivered to a recognised person, by tier, within three months of the
//! assessment: the "131" service (1 career guidance, 3 job recommendations, 1 training
//! recommendation); tier II adds the "five deliveries" (五送); tier III adds public-welfare
//! job placement (公益性岗位托底安置).

use chrono::NaiveDate;

use super::dates::add_months;

crate::text_enum! {
    /// How hard employment is for the person, I (least) to III (most).
    pub enum Tier {
        I = "I",
        II = "II",
        III = "III",
    }
}

crate::text_enum! {
    /// A kind of service recorded in the ledger (台账).
    pub enum ServiceKind {
        /// 职业指导
        CareerGuidance = "career_guidance",
        /// 岗位推荐
        JobRecommendation = "job_recommendation",
        /// 培训推荐
        TrainingRecommendation = "training_recommendation",
        /// 送政策
        DeliveryPolicy = "delivery_policy",
        /// 送岗位
        DeliveryJobs = "delivery_jobs",
        /// 送技能
        DeliverySkills = "delivery_skills",
        /// 送补贴
        DeliverySubsidies = "delivery_subsidies",
        /// 送服务
        DeliveryServices = "delivery_services",
        /// 公益性岗位托底安置
        PublicWelfarePlacement = "public_welfare_placement",
        /// 跟踪回访: recorded, never a tier requirement.
        FollowUp = "follow_up",
    }
}

impl ServiceKind {
    /// The guide's name, as ledgers print it.
    pub fn chinese_name(self) -> &'static str {
        match self {
            ServiceKind::CareerGuidance => "职业指导",
            ServiceKind::JobRecommendation => "岗位推荐",
            ServiceKind::TrainingRecommendation => "培训推荐",
            ServiceKind::DeliveryPolicy => "送政策",
            ServiceKind::DeliveryJobs => "送岗位",
            ServiceKind::DeliverySkills => "送技能",
            ServiceKind::DeliverySubsidies => "送补贴",
            ServiceKind::DeliveryServices => "送服务",
            ServiceKind::PublicWelfarePlacement => "公益性岗位托底安置",
            ServiceKind::FollowUp => "跟踪回访",
        }
    }
}

crate::text_enum! {
    /// How a person's obligations stand.
    pub enum ObligationState {
        /// Every required service delivered at least as often as required.
        Done = "done",
        /// Not all delivered yet, but the three months are not over.
        OnTrack = "on_track",
        /// Not all delivered and the due date has passed.
        Overdue = "overdue",
    }
}

/// The window for the tier's services, in calendar months from the assessment.
pub const WINDOW_MONTHS: u32 = 3;

const SERVICE_131: [(ServiceKind, u32); 3] = [
    (ServiceKind::CareerGuidance, 1),
    (ServiceKind::JobRecommendation, 3),
    (ServiceKind::TrainingRecommendation, 1),
];

const FIVE_DELIVERIES: [(ServiceKind, u32); 5] = [
    (ServiceKind::DeliveryPolicy, 1),
    (ServiceKind::DeliveryJobs, 1),
    (ServiceKind::DeliverySkills, 1),
    (ServiceKind::DeliverySubsidies, 1),
    (ServiceKind::DeliveryServices, 1),
];

/// The minimum services for a tier, each with how many times, in `ServiceKind` order.
pub fn requirements(tier: Tier) -> Vec<(ServiceKind, u32)> {
    let mut required = SERVICE_131.to_vec();
    if matches!(tier, Tier::II | Tier::III) {
        required.extend(FIVE_DELIVERIES);
    }
    if tier == Tier::III {
        required.push((ServiceKind::PublicWelfarePlacement, 1));
    }
    required
}

/// One required service and how often it has been delivered so far.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObligationItem {
    pub kind: ServiceKind,
    pub required: u32,
    /// The real count, which may exceed `required`.
    pub done: u32,
}

impl ObligationItem {
    pub fn is_met(&self) -> bool {
        self.done >= self.required
    }
}

/// A person's obligations on a given day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObligationStatus {
    /// `assessed_on` + 3 calendar months, clamped to the month end (30 Nov → 28 Feb).
    pub due: NaiveDate,
    pub items: Vec<ObligationItem>,
    pub state: ObligationState,
}

/// The obligations of a tier assessed on `assessed_on`, as of `at`. Counts the deliveries
/// dated from `assessed_on` to `at` inclusive (earlier ones belong to a previous
/// assessment; later ones are not known yet). Deliveries after `due` still count, so late
/// work turns an overdue person `done`. Done on the due date itself is in time; overdue
/// starts the day after.
pub fn obligations(
    tier: Tier,
    assessed_on: NaiveDate,
    delivered: &[(ServiceKind, NaiveDate)],
    at: NaiveDate,
) -> ObligationStatus {
    let due = add_months(assessed_on, WINDOW_MONTHS);
    let items: Vec<ObligationItem> = requirements(tier)
        .into_iter()
        .map(|(kind, required)| {
            let done = delivered
                .iter()
                .filter(|(k, date)| *k == kind && (assessed_on..=at).contains(date))
                .count();
            ObligationItem {
                kind,
                required,
                done: u32::try_from(done).unwrap_or(u32::MAX),
            }
        })
        .collect();
    let state = if items.iter().all(ObligationItem::is_met) {
        ObligationState::Done
    } else if at > due {
        ObligationState::Overdue
    } else {
        ObligationState::OnTrack
    };
    ObligationStatus { due, items, state }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceKind as K;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    /// Every requirement of `tier` delivered on `on`, as often as required.
    fn full(tier: Tier, on: NaiveDate) -> Vec<(ServiceKind, NaiveDate)> {
        requirements(tier)
            .into_iter()
            .flat_map(|(kind, n)| std::iter::repeat_n((kind, on), n as usize))
            .collect()
    }

    #[test]
    fn requirements_by_tier() {
        let one = vec![
            (K::CareerGuidance, 1),
            (K::JobRecommendation, 3),
            (K::TrainingRecommendation, 1),
        ];
        let two = [
            one.clone(),
            vec![
                (K::DeliveryPolicy, 1),
                (K::DeliveryJobs, 1),
                (K::DeliverySkills, 1),
                (K::DeliverySubsidies, 1),
                (K::DeliveryServices, 1),
            ],
        ]
        .concat();
        let three = [two.clone(), vec![(K::PublicWelfarePlacement, 1)]].concat();
        assert_eq!(requirements(Tier::I), one);
        assert_eq!(requirements(Tier::II), two);
        assert_eq!(requirements(Tier::III), three);
        assert!(Tier::ALL
            .iter()
            .all(|t| requirements(*t).iter().all(|(k, _)| *k != K::FollowUp)));
        assert_eq!(
            Tier::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            ["I", "II", "III"]
        );
    }

    /// Name, tier, deliveries, day of the check, expected state.
    type Case = (
        &'static str,
        Tier,
        Vec<(ServiceKind, NaiveDate)>,
        NaiveDate,
        ObligationState,
    );

    #[test]
    fn state_by_tier_and_date() {
        let assessed = d(2026, 3, 10);
        let due = d(2026, 6, 10);
        let mut tier_one_short = full(Tier::I, d(2026, 4, 1));
        tier_one_short.pop();
        let cases: Vec<Case> = vec![
            (
                "nothing yet",
                Tier::I,
                vec![],
                d(2026, 3, 10),
                ObligationState::OnTrack,
            ),
            (
                "nothing on the due date",
                Tier::I,
                vec![],
                due,
                ObligationState::OnTrack,
            ),
            (
                "nothing the day after",
                Tier::I,
                vec![],
                d(2026, 6, 11),
                ObligationState::Overdue,
            ),
            (
                "tier I complete",
                Tier::I,
                full(Tier::I, d(2026, 4, 1)),
                due,
                ObligationState::Done,
            ),
            (
                "one short, in time",
                Tier::I,
                tier_one_short.clone(),
                due,
                ObligationState::OnTrack,
            ),
            (
                "one short, late",
                Tier::I,
                tier_one_short,
                d(2026, 6, 11),
                ObligationState::Overdue,
            ),
            (
                "131 is not enough for II",
                Tier::II,
                full(Tier::I, d(2026, 4, 1)),
                d(2026, 7, 1),
                ObligationState::Overdue,
            ),
            (
                "tier II complete",
                Tier::II,
                full(Tier::II, d(2026, 4, 1)),
                d(2026, 7, 1),
                ObligationState::Done,
            ),
            (
                "II is not enough for III",
                Tier::III,
                full(Tier::II, d(2026, 4, 1)),
                d(2026, 5, 1),
                ObligationState::OnTrack,
            ),
            (
                "tier III complete",
                Tier::III,
                full(Tier::III, d(2026, 4, 1)),
                d(2026, 5, 1),
                ObligationState::Done,
            ),
            (
                "complete on the assessment day",
                Tier::I,
                full(Tier::I, assessed),
                assessed,
                ObligationState::Done,
            ),
            (
                "late work still counts",
                Tier::I,
                full(Tier::I, d(2026, 8, 1)),
                d(2026, 8, 1),
                ObligationState::Done,
            ),
            (
                "work before the assessment is ignored",
                Tier::I,
                full(Tier::I, d(2026, 3, 9)),
                d(2026, 4, 1),
                ObligationState::OnTrack,
            ),
            (
                "work after `at` is not known yet",
                Tier::I,
                full(Tier::I, d(2026, 4, 2)),
                d(2026, 4, 1),
                ObligationState::OnTrack,
            ),
        ];
        for (name, tier, delivered, at, want) in cases {
            let status = obligations(tier, assessed, &delivered, at);
            assert_eq!(status.due, due, "{name}");
            assert_eq!(status.state, want, "{name}");
        }
    }

    #[test]
    fn items_report_real_counts() {
        let assessed = d(2026, 3, 10);
        let delivered = [
            (K::JobRecommendation, d(2026, 3, 9)),
            (K::JobRecommendation, d(2026, 3, 10)),
            (K::JobRecommendation, d(2026, 4, 1)),
            (K::JobRecommendation, d(2026, 4, 2)),
            (K::JobRecommendation, d(2026, 4, 3)),
            (K::JobRecommendation, d(2026, 4, 4)),
            (K::FollowUp, d(2026, 4, 4)),
            (K::CareerGuidance, d(2026, 5, 1)),
        ];
        let status = obligations(Tier::I, assessed, &delivered, d(2026, 4, 30));
        let want = vec![
            ObligationItem {
                kind: K::CareerGuidance,
                required: 1,
                done: 0,
            },
            ObligationItem {
                kind: K::JobRecommendation,
                required: 3,
                done: 5,
            },
            ObligationItem {
                kind: K::TrainingRecommendation,
                required: 1,
                done: 0,
            },
        ];
        assert_eq!(status.items, want);
        assert_eq!(status.state, ObligationState::OnTrack);
    }

    #[test]
    fn due_date_is_clamped_to_month_end() {
        let cases = [
            (d(2026, 11, 30), d(2027, 2, 28)),
            (d(2027, 11, 30), d(2028, 2, 29)),
            (d(2026, 5, 31), d(2026, 8, 31)),
            (d(2026, 3, 31), d(2026, 6, 30)),
            (d(2026, 1, 1), d(2026, 4, 1)),
        ];
        for (assessed, due) in cases {
            assert_eq!(
                obligations(Tier::I, assessed, &[], assessed).due,
                due,
                "{assessed}"
            );
        }
    }
}
