//! The guide's two subsidies (see `../shared/seed/`, 社区公益性岗位认定和补贴程序 and
//! 就业困难人员灵活就业社保补贴程序), as rules without storage:
//! - the **public-welfare job subsidy** (公益性岗位补贴, `public_welfare_job`), applied for
//!   by an employer for the recognised persons it placed on public-welfare jobs;
//! - the **flexible-employment social insurance subsidy** (灵活就业社保补贴,
//!   `flexible_insurance`), applied for by a recognised person who works flexibly or on
//!   their own account and pays their own insurance.
//!
//! Both run one approval chain — 受理 `received` → 初审 `station_review` → 街道复审
//! `street_review` → 区审核/审批 `district_approval` → 财政核定、拨付 `funded` — or are
//! `returned` with reasons at any step (and resubmitted once complete); a funded subsidy
//! is `stopped` from a month by the approving level, on a stop recommendation the
//! station raises when a stop condition is met. Each step belongs to a level (station,
//! street, district) that a deployment maps to its org-node kinds.
//!
//! Months and amounts are computed here, never taken from a client: the months applied
//! for, cut by the period cap (years from the first month ever enjoyed, extended to
//! retirement for those within some years of it), by the month the person reaches
//! retirement age, and by a stop; each month pays at most the deployment's standard.

use super::months::{Month, Span};

crate::text_enum! {
    /// Which subsidy.
    pub enum SubsidyKind {
        PublicWelfareJob = "public_welfare_job",
        FlexibleInsurance = "flexible_insurance",
    }
}

impl SubsidyKind {
    pub fn chinese_name(self) -> &'static str {
        match self {
            SubsidyKind::PublicWelfareJob => "社区公益性岗位补贴",
            SubsidyKind::FlexibleInsurance => "灵活就业社会保险补贴",
        }
    }
}

crate::text_enum! {
    /// The kinds of community public-welfare job the guide names (社区公益性岗位).
    pub enum WelfareJob {
        Cleaning = "cleaning",
        Security = "security",
        Greening = "greening",
        Parking = "parking",
        SquareUpkeep = "square_upkeep",
        FacilityUpkeep = "facility_upkeep",
        PublicHealth = "public_health",
        CommunityCulture = "community_culture",
        HealthCare = "health_care",
        ElderAndChildCare = "elder_child_care",
        HomeElderCare = "home_elder_care",
    }
}

impl WelfareJob {
    pub fn chinese_name(self) -> &'static str {
        match self {
            WelfareJob::Cleaning => "公共卫生保洁",
            WelfareJob::Security => "公共安全保安",
            WelfareJob::Greening => "公共环境保绿",
            WelfareJob::Parking => "停车场管理",
            WelfareJob::SquareUpkeep => "市民广场管护",
            WelfareJob::FacilityUpkeep => "公用设施维护",
            WelfareJob::PublicHealth => "公共卫生服务",
            WelfareJob::CommunityCulture => "社区文化",
            WelfareJob::HealthCare => "医疗保健",
            WelfareJob::ElderAndChildCare => "敬老托幼服务",
            WelfareJob::HomeElderCare => "居家养老服务",
        }
    }
}

crate::text_enum! {
    /// The insurance a flexible worker pays and the subsidy covers.
    pub enum InsuranceKind {
        Pension = "pension",
        Medical = "medical",
        Unemployment = "unemployment",
    }
}

crate::text_enum! {
    /// Where an application stands.
    pub enum SubsidyState {
        /// 受理: accepted at the station, awaiting its initial review.
        Received = "received",
        /// 初审: the station checks the materials (and, for a public-welfare job, the site).
        StationReview = "station_review",
        /// 街道复审.
        StreetReview = "street_review",
        /// 区审核/审批.
        DistrictApproval = "district_approval",
        /// 财政核定、拨付: approved and paid; runs until stopped or its months end.
        Funded = "funded",
        /// Sent back with reasons (the one-time notice of what is missing, or why not).
        Returned = "returned",
        /// Ended from a month on a stop recommendation.
        Stopped = "stopped",
    }
}

crate::text_enum! {
    /// What a reviewer does to an application.
    pub enum SubsidyAction {
        /// The station starts its initial review.
        StartReview = "start_review",
        /// The step's level approves and passes it up (the district's pass funds it).
        Pass = "pass",
        /// The step's level sends it back, with reasons.
        Return = "return",
        /// The station takes back a returned application, its materials complete.
        Resubmit = "resubmit",
        /// The station tells the level above that a stop condition is met (主动向上级建议
        /// 停止); the subsidy runs on until that level stops it. The upkeep makes the same
        /// recommendation, as the server, for a condition it finds in the data.
        RecommendStop = "recommend_stop",
        /// The approving level ends a funded subsidy from a month.
        Stop = "stop",
    }
}

crate::text_enum! {
    /// The levels that take the steps; a setting maps each to an org-node kind.
    pub enum Level {
        Station = "station",
        Street = "street",
        District = "district",
    }
}

/// Why an action cannot be taken in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAllowed {
    pub state: SubsidyState,
    pub action: SubsidyAction,
}

/// The state `action` leads to from `state`, and the level that takes it.
pub fn step(
    state: SubsidyState,
    action: SubsidyAction,
) -> Result<(SubsidyState, Level), NotAllowed> {
    use SubsidyAction as A;
    use SubsidyState as S;
    let next = match (state, action) {
        (S::Received, A::StartReview) => (S::StationReview, Level::Station),
        (S::StationReview, A::Pass) => (S::StreetReview, Level::Station),
        (S::StreetReview, A::Pass) => (S::DistrictApproval, Level::Street),
        (S::DistrictApproval, A::Pass) => (S::Funded, Level::District),
        (S::Received | S::StationReview, A::Return) => (S::Returned, Level::Station),
        (S::StreetReview, A::Return) => (S::Returned, Level::Street),
        (S::DistrictApproval, A::Return) => (S::Returned, Level::District),
        (S::Returned, A::Resubmit) => (S::Received, Level::Station),
        (S::Funded, A::RecommendStop) => (S::Funded, Level::Station),
        (S::Funded, A::Stop) => (S::Stopped, Level::District),
        _ => return Err(NotAllowed { state, action }),
    };
    Ok(next)
}

/// The actions open in a state.
pub fn actions_in(state: SubsidyState) -> Vec<SubsidyAction> {
    SubsidyAction::ALL
        .iter()
        .copied()
        .filter(|a| step(state, *a).is_ok())
        .collect()
}

/// Money in fen (分), the unit amounts are computed and stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Fen(pub i64);

impl Fen {
    pub fn times(self, months: u32) -> Fen {
        Fen(self.0.saturating_mul(i64::from(months)))
    }
}

impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, other: Fen) -> Fen {
        Fen(self.0.saturating_add(other.0))
    }
}

impl std::fmt::Display for Fen {
    /// Yuan with two decimals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// How long a person may enjoy a subsidy (a deployment's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodRule {
    /// Years from the first month ever enjoyed (e.g. 3).
    pub years: u32,
    /// Those this close to retirement age (in years) at their first month enjoy it until
    /// retirement instead (e.g. 5).
    pub extended_within_years: u32,
}

/// What bounds a person's payable months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The first month they ever enjoyed this subsidy (this application's first month if
    /// never before).
    pub first_enjoyed: Month,
    /// The month they reach statutory retirement age: it and later are not paid.
    pub retirement: Month,
    /// The month a stop takes effect from, if stopped: it and later are not paid.
    pub stopped_from: Option<Month>,
}

/// The last month the period rule allows.
pub fn period_end(rule: PeriodRule, bounds: Bounds) -> Month {
    let capped = bounds.first_enjoyed.plus(rule.years as i32 * 12 - 1);
    let near_retirement =
        bounds.first_enjoyed.until(bounds.retirement) <= rule.extended_within_years as i32 * 12;
    if near_retirement {
        bounds.retirement.plus(-1)
    } else {
        capped
    }
}

/// The months of `applied` that are paid: within the period, before the retirement month
/// and before a stop.
pub fn payable(applied: Span, rule: PeriodRule, bounds: Bounds) -> Span {
    let mut last = period_end(rule, bounds).min(bounds.retirement.plus(-1));
    if let Some(stop) = bounds.stopped_from {
        last = last.min(stop.plus(-1));
    }
    applied.through(last)
}

/// One insurance as a flexible worker paid it: which, over which months, how much a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    pub kind: InsuranceKind,
    pub months: Span,
    pub monthly: Fen,
}

/// The flexible-employment subsidy for `payable` months: for each insurance, the months
/// both payable and paid, each at what was paid up to the deployment's monthly standard
/// for that insurance (`None`: that insurance is not subsidised).
pub fn flexible_amount(
    payable: Span,
    paid: &[Paid],
    standard: impl Fn(InsuranceKind) -> Option<Fen>,
) -> Fen {
    paid.iter()
        .filter_map(|p| {
            let cap = standard(p.kind)?;
            let months = payable.intersect(p.months).months();
            Some(p.monthly.min(cap).times(months))
        })
        .fold(Fen::default(), |sum, x| sum + x)
}

/// The public-welfare job subsidy for one placed person over `payable` months, at the
/// deployment's monthly standard.
pub fn public_welfare_amount(payable: Span, monthly_standard: Fen) -> Fen {
    monthly_standard.times(payable.months())
}

/// A deployment's figures for the subsidies (they differ by city and year).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standards {
    pub period: PeriodRule,
    /// The public-welfare job subsidy for one placed person, a month.
    pub public_welfare_monthly: Fen,
    /// The most the flexible-employment subsidy pays a month for each insurance (`None`:
    /// that insurance is not subsidised).
    pub pension_monthly: Option<Fen>,
    pub medical_monthly: Option<Fen>,
    pub unemployment_monthly: Option<Fen>,
    pub thresholds: Thresholds,
    /// The retirement base for women on public-welfare jobs, and for women in flexible work.
    pub women_public_welfare: super::retirement::RetirementBase,
    pub women_flexible: super::retirement::RetirementBase,
}

impl Standards {
    /// The monthly standard for one insurance.
    pub fn insurance_monthly(&self, kind: InsuranceKind) -> Option<Fen> {
        match kind {
            InsuranceKind::Pension => self.pension_monthly,
            InsuranceKind::Medical => self.medical_monthly,
            InsuranceKind::Unemployment => self.unemployment_monthly,
        }
    }

    /// The retirement base for women under a subsidy of `kind`.
    pub fn women_base(&self, kind: SubsidyKind) -> super::retirement::RetirementBase {
        match kind {
            SubsidyKind::PublicWelfareJob => self.women_public_welfare,
            SubsidyKind::FlexibleInsurance => self.women_flexible,
        }
    }
}

crate::text_enum! {
    /// The guide's reasons to stop a running subsidy (停止享受补贴的情形).
    pub enum StopCondition {
        /// 工资标准低于本地最低工资标准 (public-welfare job).
        WageBelowMinimum = "wage_below_minimum",
        /// 申请补贴的年限超过规定年限.
        PeriodExceeded = "period_exceeded",
        /// 从事岗位工作量未达到规定标准 (public-welfare job).
        WorkloadBelowStandard = "workload_below_standard",
        /// 实际从事岗位与原申报岗位不符 (public-welfare job).
        JobNotAsDeclared = "job_not_as_declared",
        /// 到达法定退休年龄.
        RetirementAge = "retirement_age",
        /// 被用人单位招收录用 (flexible).
        EmployedByUnit = "employed_by_unit",
        /// 已有用人单位为其缴纳社会保险费 (flexible).
        UnitPaysInsurance = "unit_pays_insurance",
        /// 中止灵活就业 (flexible).
        FlexibleWorkStopped = "flexible_work_stopped",
        /// 未按规定缴纳社会保险费 (flexible).
        InsuranceNotPaid = "insurance_not_paid",
        /// 灵活就业收入达到当地上年在岗职工平均工资 (flexible).
        IncomeAtAverageWage = "income_at_average_wage",
        /// 被判刑收监执行 (flexible).
        Imprisoned = "imprisoned",
        /// 其他应停止享受补贴的情况.
        Other = "other",
    }
}

impl StopCondition {
    pub fn chinese_name(self) -> &'static str {
        match self {
            StopCondition::WageBelowMinimum => "工资低于本地最低工资标准",
            StopCondition::PeriodExceeded => "享受补贴超过规定年限",
            StopCondition::WorkloadBelowStandard => "工作量未达到规定标准",
            StopCondition::JobNotAsDeclared => "实际从事岗位与申报岗位不符",
            StopCondition::RetirementAge => "到达法定退休年龄",
            StopCondition::EmployedByUnit => "被用人单位招收录用",
            StopCondition::UnitPaysInsurance => "已有用人单位为其缴纳社会保险费",
            StopCondition::FlexibleWorkStopped => "中止灵活就业",
            StopCondition::InsuranceNotPaid => "未按规定缴纳社会保险费",
            StopCondition::IncomeAtAverageWage => "灵活就业收入达到当地上年在岗职工平均工资",
            StopCondition::Imprisoned => "被判刑收监执行",
            StopCondition::Other => "其他应停止享受补贴的情况",
        }
    }

    /// Whether the guide names this condition for `kind`.
    pub fn applies_to(self, kind: SubsidyKind) -> bool {
        use StopCondition::*;
        match self {
            PeriodExceeded | RetirementAge | Other => true,
            WageBelowMinimum | WorkloadBelowStandard | JobNotAsDeclared => {
                kind == SubsidyKind::PublicWelfareJob
            }
            EmployedByUnit | UnitPaysInsurance | FlexibleWorkStopped | InsuranceNotPaid
            | IncomeAtAverageWage | Imprisoned => kind == SubsidyKind::FlexibleInsurance,
        }
    }
}

/// What is known of a running subsidy in a month, from the case file and the monthly
/// verification (跟踪回访); `None` where nobody has recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    /// Monthly wage on the public-welfare job.
    pub wage: Option<Fen>,
    /// The verification found the workload below the standard.
    pub workload_below_standard: Option<bool>,
    /// The verification found the person on another job than the one declared.
    pub job_as_declared: Option<bool>,
    /// A placement with an employer (not self-employed) holds this month.
    pub employed_by_unit: bool,
    /// The verification found an employer paying their insurance.
    pub unit_pays_insurance: Option<bool>,
    /// The verification found the flexible work going on.
    pub still_working_flexibly: Option<bool>,
    /// The verification found this month's insurance paid.
    pub insurance_paid: Option<bool>,
    /// Monthly income from the flexible work.
    pub monthly_income: Option<Fen>,
    /// An exit recorded for imprisonment.
    pub imprisoned: bool,
}

/// The thresholds the stop conditions compare against (deployment settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// The local monthly minimum wage.
    pub minimum_wage: Fen,
    /// Last year's local average wage of employees, a month.
    pub average_wage: Fen,
}

/// The stop conditions met in `month` for a subsidy of `kind` whose period ends with
/// `period_end` and whose person reaches retirement age in `retirement`.
pub fn stops_met(
    kind: SubsidyKind,
    month: Month,
    period_end: Month,
    retirement: Month,
    seen: &Observed,
    limits: Thresholds,
) -> Vec<StopCondition> {
    use StopCondition::*;
    // Retirement first: near it, the period ends at retirement too, and retirement is
    // the cause.
    let met = [
        (RetirementAge, month >= retirement),
        (PeriodExceeded, month > period_end),
        (
            WageBelowMinimum,
            seen.wage.is_some_and(|w| w < limits.minimum_wage),
        ),
        (
            WorkloadBelowStandard,
            seen.workload_below_standard == Some(true),
        ),
        (JobNotAsDeclared, seen.job_as_declared == Some(false)),
        (EmployedByUnit, seen.employed_by_unit),
        (UnitPaysInsurance, seen.unit_pays_insurance == Some(true)),
        (
            FlexibleWorkStopped,
            seen.still_working_flexibly == Some(false),
        ),
        (InsuranceNotPaid, seen.insurance_paid == Some(false)),
        (
            IncomeAtAverageWage,
            seen.monthly_income
                .is_some_and(|i| i >= limits.average_wage),
        ),
        (Imprisoned, seen.imprisoned),
    ];
    met.into_iter()
        .filter(|(c, is)| *is && c.applies_to(kind))
        .map(|(c, _)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Month {
        Month::parse(text).expect("a month")
    }

    fn span(from: &str, to: &str) -> Span {
        Span::new(m(from), m(to))
    }

    const RULE: PeriodRule = PeriodRule {
        years: 3,
        extended_within_years: 5,
    };

    #[test]
    fn the_chain_runs_in_order_and_each_step_has_its_level() {
        use Level::*;
        use SubsidyAction::*;
        use SubsidyState::*;
        let path = [
            (Received, StartReview, StationReview, Station),
            (StationReview, Pass, StreetReview, Station),
            (StreetReview, Pass, DistrictApproval, Street),
            (DistrictApproval, Pass, Funded, District),
            (Funded, RecommendStop, Funded, Station),
            (Funded, Stop, Stopped, District),
        ];
        for (from, action, to, level) in path {
            assert_eq!(step(from, action), Ok((to, level)), "{from} {action}");
        }
        // Returned at any open step, by that step's level; resubmitted to the station.
        for (from, level) in [
            (Received, Station),
            (StationReview, Station),
            (StreetReview, Street),
            (DistrictApproval, District),
        ] {
            assert_eq!(step(from, Return), Ok((Returned, level)), "{from}");
        }
        assert_eq!(step(Returned, Resubmit), Ok((Received, Station)));
        // No skipping, no going back, nothing after the end.
        for (from, action) in [
            (Received, Pass),
            (StationReview, StartReview),
            (Funded, Return),
            (Funded, Pass),
            (Stopped, Resubmit),
            (Stopped, Stop),
            (Returned, Pass),
        ] {
            assert_eq!(
                step(from, action),
                Err(NotAllowed {
                    state: from,
                    action
                })
            );
        }
        assert_eq!(actions_in(Funded), vec![RecommendStop, Stop]);
        assert_eq!(actions_in(Stopped), Vec::<SubsidyAction>::new());
    }

    #[test]
    fn months_are_cut_by_the_period_retirement_and_a_stop() {
        let bounds = |first: &str, retirement: &str, stop: Option<&str>| Bounds {
            first_enjoyed: m(first),
            retirement: m(retirement),
            stopped_from: stop.map(m),
        };
        let cases = [
            (
                "a year, nothing in the way",
                span("2026-01", "2026-12"),
                bounds("2026-01", "2040-01", None),
                12,
            ),
            (
                "the period cap: three years from the first month",
                span("2028-07", "2029-12"),
                bounds("2026-01", "2040-01", None),
                6,
            ),
            (
                "the cap's last month is paid",
                span("2028-12", "2028-12"),
                bounds("2026-01", "2040-01", None),
                1,
            ),
            (
                "past the cap",
                span("2029-01", "2029-12"),
                bounds("2026-01", "2040-01", None),
                0,
            ),
            (
                "within five years of retirement: until retirement",
                span("2029-01", "2030-12"),
                bounds("2026-01", "2030-07", None),
                18,
            ),
            (
                "five years exactly still extends",
                span("2029-01", "2031-12"),
                bounds("2026-01", "2031-01", None),
                24,
            ),
            (
                "five years and a month does not",
                span("2029-01", "2031-12"),
                bounds("2026-01", "2031-02", None),
                0,
            ),
            (
                "the retirement month is not paid",
                span("2026-01", "2026-12"),
                bounds("2026-01", "2026-06", None),
                5,
            ),
            (
                "the stop month is not paid",
                span("2026-01", "2026-12"),
                bounds("2026-01", "2040-01", Some("2026-04")),
                3,
            ),
            (
                "a stop before the span",
                span("2026-05", "2026-12"),
                bounds("2026-01", "2040-01", Some("2026-04")),
                0,
            ),
        ];
        for (name, applied, bounds, want) in cases {
            assert_eq!(payable(applied, RULE, bounds).months(), want, "{name}");
        }
    }

    #[test]
    fn amounts_pay_each_month_at_most_the_standard() {
        let standard = |k: InsuranceKind| match k {
            InsuranceKind::Pension => Some(Fen(60_000)),
            InsuranceKind::Medical => Some(Fen(25_000)),
            InsuranceKind::Unemployment => None,
        };
        let paid = [
            // Paid more than the standard: the standard.
            Paid {
                kind: InsuranceKind::Pension,
                months: span("2026-01", "2026-12"),
                monthly: Fen(80_000),
            },
            // Paid less: what was paid, for the months paid only.
            Paid {
                kind: InsuranceKind::Medical,
                months: span("2026-04", "2026-12"),
                monthly: Fen(20_000),
            },
            // Not subsidised here.
            Paid {
                kind: InsuranceKind::Unemployment,
                months: span("2026-01", "2026-12"),
                monthly: Fen(5_000),
            },
        ];
        let payable = span("2026-01", "2026-06");
        assert_eq!(
            flexible_amount(payable, &paid, standard),
            Fen(6 * 60_000 + 3 * 20_000)
        );
        assert_eq!(
            flexible_amount(span("2026-07", "2026-06"), &paid, standard),
            Fen(0)
        );
        assert_eq!(
            public_welfare_amount(span("2026-01", "2026-06"), Fen(150_000)),
            Fen(900_000)
        );
        assert_eq!(Fen(900_005).to_string(), "9000.05");
        assert_eq!(Fen(-150).to_string(), "-1.50");
    }

    #[test]
    fn stops_are_met_from_the_data_for_their_own_subsidy() {
        use StopCondition::*;
        let limits = Thresholds {
            minimum_wage: Fen(211_000),
            average_wage: Fen(900_000),
        };
        let end = m("2028-12");
        let retire = m("2027-03");
        let welfare = SubsidyKind::PublicWelfareJob;
        let flexible = SubsidyKind::FlexibleInsurance;
        let seen = Observed::default();
        let cases: [(&str, SubsidyKind, Month, Observed, Vec<StopCondition>); 9] = [
            ("nothing", welfare, m("2026-12"), seen, vec![]),
            (
                "retirement month",
                flexible,
                m("2027-03"),
                seen,
                vec![RetirementAge],
            ),
            (
                "month before retirement",
                flexible,
                m("2027-02"),
                seen,
                vec![],
            ),
            (
                "past the period",
                welfare,
                m("2029-01"),
                seen,
                vec![RetirementAge, PeriodExceeded],
            ),
            (
                "wage below the minimum",
                welfare,
                m("2026-12"),
                Observed {
                    wage: Some(Fen(210_999)),
                    ..seen
                },
                vec![WageBelowMinimum],
            ),
            (
                "wage at the minimum",
                welfare,
                m("2026-12"),
                Observed {
                    wage: Some(Fen(211_000)),
                    ..seen
                },
                vec![],
            ),
            (
                "hired by a unit: a flexible worker's stop, not a welfare job's",
                welfare,
                m("2026-12"),
                Observed {
                    employed_by_unit: true,
                    ..seen
                },
                vec![],
            ),
            (
                "hired by a unit",
                flexible,
                m("2026-12"),
                Observed {
                    employed_by_unit: true,
                    monthly_income: Some(Fen(900_000)),
                    ..seen
                },
                vec![EmployedByUnit, IncomeAtAverageWage],
            ),
            (
                "unrecorded answers stop nothing",
                flexible,
                m("2026-12"),
                Observed {
                    insurance_paid: None,
                    still_working_flexibly: None,
                    ..seen
                },
                vec![],
            ),
        ];
        for (name, kind, month, seen, want) in cases {
            assert_eq!(
                stops_met(kind, month, end, retire, &seen, limits),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn every_name_is_chinese() {
        for k in SubsidyKind::ALL {
            assert!(!k.chinese_name().is_empty());
        }
        assert_eq!(WelfareJob::ALL.len(), 11);
        for j in WelfareJob::ALL {
            assert!(!j.chinese_name().is_empty());
        }
        for c in StopCondition::ALL {
            assert!(!c.chinese_name().is_empty());
            assert!(SubsidyKind::ALL.iter().any(|k| c.applies_to(*k)), "{c}");
        }
    }
}
