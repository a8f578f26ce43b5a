//! Matching people and jobs (人岗匹配, "通过信息系统进行人岗匹配"): how well one open vacancy
//! suits one person, as points with the reasons that make them up.
//!
//! A vacancy is either **excluded** (a hard constraint fails, see [`Exclusion`]) or
//! **scored**: the sum of the factors below. A missing fact gives no points and excludes
//! nothing (an unknown age is not outside an age range); only what is known decides.
//!
//! | factor | points |
//! |---|---|
//! | job type among the person's wanted types (六清 `needs.job_types`) | 40 |
//! | distance: same community, or GPS ≤ 1 km | 20 |
//! | distance: GPS ≤ 3 km | 15 |
//! | distance: same street (no GPS on both), or GPS ≤ 5 km | 10 |
//! | distance: GPS ≤ 10 km | 5 |
//! | hours the person wants fit the vacancy's ([`hours_fit`]) | 15 |
//! | each skill the vacancy asks for that the person has (at most 3) | 5 |
//! | the top of the wage range reaches the person's expected pay | 10 |
//! | a disabled person, a vacancy that suits a disability | 10 |
//! | a tier III person, a public-welfare post (托底安置) | 10 |
//!
//! The sex an employer requires is recorded on the vacancy as stated and never read here.
//! Ties rank by vacancy (or person) id, so the same data always gives the same list.

use chrono::NaiveDate;
use serde::Serialize;

use super::visit_flags::distance_m;
use super::Tier;

/// The highest score the table allows (every factor at its most).
pub const MAX_SCORE: u32 = 40 + 20 + 15 + 3 * 5 + 10 + 10 + 10;

/// Most matches a list shows.
pub const MAX_MATCHES: usize = 100;

/// How high an education is, for comparing with a vacancy's minimum; vocational school
/// (中专、技校) counts as senior high. `None`: not one of the record's levels.
pub fn education_rank(level: &str) -> Option<u8> {
    Some(match level {
        "none" => 0,
        "primary" => 1,
        "junior_high" => 2,
        "senior_high" | "vocational" => 3,
        "college" => 4,
        "bachelor" => 5,
        "postgraduate" => 6,
        _ => return None,
    })
}

crate::text_enum! {
    /// The hours a person wants (六清 `needs.hours`).
    pub enum HoursWanted {
        Daytime = "daytime",
        PartTime = "part_time",
        Flexible = "flexible",
        Shifts = "shifts",
        Any = "any",
    }
}

crate::text_enum! {
    /// The hours a vacancy offers.
    pub enum JobHours {
        FullDay = "full_day",
        PartTime = "part_time",
        Shifts = "shifts",
        Daytime = "daytime",
    }
}

/// Whether the hours a person wants fit a vacancy's: `any` and `flexible` fit every
/// vacancy; `daytime` fits daytime, full-day and part-time work; `part_time` only
/// part-time; `shifts` (a person who can work shifts) fits shifts and full days.
pub fn hours_fit(wanted: HoursWanted, offered: JobHours) -> bool {
    use HoursWanted as W;
    use JobHours as O;
    match wanted {
        W::Any | W::Flexible => true,
        W::Daytime => matches!(offered, O::Daytime | O::FullDay | O::PartTime),
        W::PartTime => offered == O::PartTime,
        W::Shifts => matches!(offered, O::Shifts | O::FullDay),
    }
}

/// Where a person lives or a job is: community and street ids, and a GPS fix if known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    pub community_id: Option<String>,
    pub street_id: Option<String>,
    /// Latitude, longitude.
    pub gps: Option<(f64, f64)>,
}

/// A person looking for work, as matching reads them.
#[derive(Debug, Clone, Default)]
pub struct Seeker {
    pub person_id: String,
    /// At the day of matching.
    pub age: Option<u32>,
    pub education: Option<u8>,
    pub job_types: Vec<String>,
    pub skills: Vec<String>,
    pub hours: Option<HoursWanted>,
    pub expected_pay: Option<i64>,
    pub disabled: bool,
    /// Recognised as 就业困难人员 (public-welfare posts are for them).
    pub recognised: bool,
    pub tier: Option<Tier>,
    pub place: Place,
    /// Vacancies the person declined: never offered again.
    pub declined: Vec<String>,
    /// Vacancies already recommended to the person (and not declined).
    pub referred: Vec<String>,
}

/// An open vacancy, as matching reads it.
#[derive(Debug, Clone, Default)]
pub struct Opening {
    pub vacancy_id: String,
    pub employer_id: String,
    pub title: String,
    pub job_type: String,
    pub count: i64,
    pub filled: i64,
    pub approved: bool,
    pub public_welfare: bool,
    pub hours: Option<JobHours>,
    pub place: Place,
    pub wage_min: Option<i64>,
    pub wage_max: Option<i64>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub education_min: Option<u8>,
    pub skills: Vec<String>,
    pub disability_suitable: Option<bool>,
    pub open_from: Option<NaiveDate>,
    pub open_until: Option<NaiveDate>,
}

impl Opening {
    /// Open to recommendations on `today`, on the vacancy's side alone: approved, within
    /// its dates, places left. Seekers are not needed to know it, so a list filters by it
    /// once rather than per person.
    pub fn open_on(&self, today: NaiveDate) -> Result<(), Exclusion> {
        if !self.approved {
            return Err(Exclusion::NotApproved);
        }
        if self.open_from.is_some_and(|from| from > today) {
            return Err(Exclusion::NotYetOpen);
        }
        if self.open_until.is_some_and(|until| until < today) {
            return Err(Exclusion::Closed);
        }
        if self.filled >= self.count {
            return Err(Exclusion::Filled);
        }
        Ok(())
    }
}

crate::text_enum! {
    /// Why a vacancy is not offered to a person at all.
    pub enum Exclusion {
        /// Station staff have not approved it.
        NotApproved = "not_approved",
        NotYetOpen = "not_yet_open",
        Closed = "closed",
        /// Every place is filled.
        Filled = "filled",
        AgeOutside = "age_outside_range",
        EducationBelow = "education_below_minimum",
        /// A disabled person, a vacancy stated not to suit a disability.
        NotSuitableForDisability = "not_suitable_for_disability",
        /// Public-welfare posts (公益性岗位) place recognised persons only.
        PublicWelfareForRecognised = "public_welfare_for_recognised",
        DeclinedBefore = "declined_before",
        AlreadyReferred = "already_referred",
    }
}

/// How far apart a person and a job are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distance {
    Km(f64),
    SameCommunity,
    SameStreet,
    OtherStreet,
    Unknown,
}

/// One factor of a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    JobType { wanted: bool },
    Distance(Distance),
    Hours { offered: JobHours, fits: bool },
    Skills { shared: u32 },
    Wage { reaches_expected: bool },
    DisabilitySuitable,
    PublicWelfareTierIII,
}

impl Reason {
    /// A stable name for clients and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::JobType { .. } => "job_type",
            Reason::Distance(_) => "distance",
            Reason::Hours { .. } => "hours",
            Reason::Skills { .. } => "skills",
            Reason::Wage { .. } => "wage",
            Reason::DisabilitySuitable => "disability",
            Reason::PublicWelfareTierIII => "public_welfare",
        }
    }

    /// In words: `job type matches`, `2.1 km`, `hours: daytime`.
    pub fn text(&self) -> String {
        match self {
            Reason::JobType { wanted: true } => "job type matches".into(),
            Reason::JobType { wanted: false } => "job type not among those wanted".into(),
            Reason::Distance(Distance::Km(km)) => format!("{km:.1} km"),
            Reason::Distance(Distance::SameCommunity) => "same community".into(),
            Reason::Distance(Distance::SameStreet) => "same street".into(),
            Reason::Distance(Distance::OtherStreet) => "another street".into(),
            Reason::Distance(Distance::Unknown) => "distance unknown".into(),
            Reason::Hours {
                offered,
                fits: true,
            } => format!("hours: {offered}"),
            Reason::Hours { offered, .. } => format!("hours: {offered}, not as wanted"),
            Reason::Skills { shared } => format!("{shared} skill(s) asked for"),
            Reason::Wage {
                reaches_expected: true,
            } => "pay reaches expectation".into(),
            Reason::Wage { .. } => "pay below expectation".into(),
            Reason::DisabilitySuitable => "suits a disability".into(),
            Reason::PublicWelfareTierIII => "public-welfare post for tier III".into(),
        }
    }
}

impl Reason {
    /// In Chinese, for the console: `求职意向相符`, `2.1 公里`, `工作时间：白天`.
    pub fn chinese(&self) -> String {
        let hours = |h: &JobHours| match h {
            JobHours::FullDay => "全日制",
            JobHours::PartTime => "非全日制",
            JobHours::Shifts => "倒班",
            JobHours::Daytime => "白天",
        };
        match self {
            Reason::JobType { wanted: true } => "求职意向相符".into(),
            Reason::JobType { wanted: false } => "不在求职意向内".into(),
            Reason::Distance(Distance::Km(km)) => format!("相距 {km:.1} 公里"),
            Reason::Distance(Distance::SameCommunity) => "同一社区".into(),
            Reason::Distance(Distance::SameStreet) => "同一街道".into(),
            Reason::Distance(Distance::OtherStreet) => "其他街道".into(),
            Reason::Distance(Distance::Unknown) => "距离不详".into(),
            Reason::Hours {
                offered,
                fits: true,
            } => format!("工作时间：{}", hours(offered)),
            Reason::Hours { offered, .. } => format!("工作时间：{}，与意愿不符", hours(offered)),
            Reason::Skills { shared } => format!("具备 {shared} 项所需技能"),
            Reason::Wage {
                reaches_expected: true,
            } => "薪酬达到期望".into(),
            Reason::Wage { .. } => "薪酬低于期望".into(),
            Reason::DisabilitySuitable => "适合残疾人".into(),
            Reason::PublicWelfareTierIII => "公益性岗位托底安置".into(),
        }
    }
}

/// A reason and the points it gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factor {
    pub reason: Reason,
    pub points: u32,
}

/// What assessing collects: only the sum when ranking thousands, every factor when
/// explaining the ones shown. One function ([`assess`]) feeds both, so the reasons are
/// always the score's.
trait Tally {
    fn add(&mut self, reason: Reason, points: u32);
}

impl Tally for u32 {
    fn add(&mut self, _: Reason, points: u32) {
        *self += points;
    }
}

impl Tally for Vec<Factor> {
    fn add(&mut self, reason: Reason, points: u32) {
        self.push(Factor { reason, points });
    }
}

/// The seeker's side of the hard constraints, then every factor of the score. The
/// vacancy's own openness ([`Opening::open_on`]) is checked by the caller.
fn assess(seeker: &Seeker, job: &Opening, tally: &mut impl Tally) -> Result<(), Exclusion> {
    if let Some(age) = seeker.age {
        if job.age_min.is_some_and(|min| age < min) || job.age_max.is_some_and(|max| age > max) {
            return Err(Exclusion::AgeOutside);
        }
    }
    if let (Some(has), Some(min)) = (seeker.education, job.education_min) {
        if has < min {
            return Err(Exclusion::EducationBelow);
        }
    }
    if seeker.disabled && job.disability_suitable == Some(false) {
        return Err(Exclusion::NotSuitableForDisability);
    }
    if job.public_welfare && !seeker.recognised {
        return Err(Exclusion::PublicWelfareForRecognised);
    }
    if seeker.declined.contains(&job.vacancy_id) {
        return Err(Exclusion::DeclinedBefore);
    }
    if seeker.referred.contains(&job.vacancy_id) {
        return Err(Exclusion::AlreadyReferred);
    }

    if !seeker.job_types.is_empty() {
        let wanted = seeker.job_types.contains(&job.job_type);
        tally.add(Reason::JobType { wanted }, if wanted { 40 } else { 0 });
    }
    let distance = distance(&seeker.place, &job.place);
    tally.add(Reason::Distance(distance), distance_points(distance));
    if let (Some(wanted), Some(offered)) = (seeker.hours, job.hours) {
        let fits = hours_fit(wanted, offered);
        tally.add(Reason::Hours { offered, fits }, if fits { 15 } else { 0 });
    }
    let shared = job
        .skills
        .iter()
        .filter(|skill| seeker.skills.contains(skill))
        .count()
        .min(3) as u32;
    if shared > 0 {
        tally.add(Reason::Skills { shared }, 5 * shared);
    }
    if let (Some(expected), Some(top)) = (seeker.expected_pay, job.wage_max.or(job.wage_min)) {
        let reaches_expected = top >= expected;
        tally.add(
            Reason::Wage { reaches_expected },
            if reaches_expected { 10 } else { 0 },
        );
    }
    if seeker.disabled && job.disability_suitable == Some(true) {
        tally.add(Reason::DisabilitySuitable, 10);
    }
    if job.public_welfare && seeker.tier == Some(Tier::III) {
        tally.add(Reason::PublicWelfareTierIII, 10);
    }
    Ok(())
}

/// GPS when both places have it; else community, then street.
fn distance(a: &Place, b: &Place) -> Distance {
    if let (Some(p), Some(q)) = (a.gps, b.gps) {
        return Distance::Km(distance_m(p, q) / 1000.0);
    }
    let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    if same(&a.community_id, &b.community_id) {
        Distance::SameCommunity
    } else if same(&a.street_id, &b.street_id) {
        Distance::SameStreet
    } else if a.street_id.is_some() && b.street_id.is_some() {
        Distance::OtherStreet
    } else {
        Distance::Unknown
    }
}

fn distance_points(distance: Distance) -> u32 {
    match distance {
        Distance::SameCommunity => 20,
        Distance::SameStreet => 10,
        Distance::Km(km) if km <= 1.0 => 20,
        Distance::Km(km) if km <= 3.0 => 15,
        Distance::Km(km) if km <= 5.0 => 10,
        Distance::Km(km) if km <= 10.0 => 5,
        Distance::Km(_) | Distance::OtherStreet | Distance::Unknown => 0,
    }
}

/// The score of one vacancy for one person, or why it is not offered.
pub fn score(seeker: &Seeker, job: &Opening, today: NaiveDate) -> Result<u32, Exclusion> {
    job.open_on(today)?;
    let mut sum = 0u32;
    assess(seeker, job, &mut sum)?;
    Ok(sum)
}

/// The score and every factor in it.
pub fn explain(
    seeker: &Seeker,
    job: &Opening,
    today: NaiveDate,
) -> Result<(u32, Vec<Factor>), Exclusion> {
    job.open_on(today)?;
    let mut factors = Vec::new();
    assess(seeker, job, &mut factors)?;
    Ok((factors.iter().map(|f| f.points).sum(), factors))
}

/// One line of a ranked list: which of the candidates, its score, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Index into the candidates given.
    pub index: usize,
    pub score: u32,
    pub factors: Vec<Factor>,
}

/// The best `limit` vacancies for a person, best first (ties by vacancy id). Vacancies
/// not open on `today` are skipped.
pub fn vacancies_for(
    seeker: &Seeker,
    openings: &[&Opening],
    today: NaiveDate,
    limit: usize,
) -> Vec<Ranked> {
    let scored = openings.iter().enumerate().filter_map(|(i, job)| {
        let open = job.open_on(today).is_ok();
        let mut sum = 0u32;
        (open && assess(seeker, job, &mut sum).is_ok()).then_some((i, sum))
    });
    best(scored, limit, |i| &openings[i].vacancy_id)
        .into_iter()
        .map(|(index, score)| {
            let mut factors = Vec::new();
            // Assessed once already: the same inputs pass again.
            let _ = assess(seeker, openings[index], &mut factors);
            Ranked {
                index,
                score,
                factors,
            }
        })
        .collect()
}

/// The best `limit` persons for a vacancy, best first (ties by person id); empty when the
/// vacancy itself is not open on `today`.
pub fn seekers_for(
    job: &Opening,
    seekers: &[Seeker],
    today: NaiveDate,
    limit: usize,
) -> Vec<Ranked> {
    if job.open_on(today).is_err() {
        return Vec::new();
    }
    let scored = seekers.iter().enumerate().filter_map(|(i, seeker)| {
        let mut sum = 0u32;
        assess(seeker, job, &mut sum).ok().map(|()| (i, sum))
    });
    best(scored, limit, |i| &seekers[i].person_id)
        .into_iter()
        .map(|(index, score)| {
            let mut factors = Vec::new();
            let _ = assess(&seekers[index], job, &mut factors);
            Ranked {
                index,
                score,
                factors,
            }
        })
        .collect()
}

/// The `limit` highest scores, best first, ties by id.
fn best<'a>(
    scored: impl Iterator<Item = (usize, u32)>,
    limit: usize,
    id: impl Fn(usize) -> &'a String,
) -> Vec<(usize, u32)> {
    let mut all: Vec<(usize, u32)> = scored.collect();
    let order =
        |a: &(usize, u32), b: &(usize, u32)| b.1.cmp(&a.1).then_with(|| id(a.0).cmp(id(b.0)));
    if limit == 0 {
        return Vec::new();
    }
    if all.len() > limit {
        all.select_nth_unstable_by(limit - 1, order);
        all.truncate(limit);
    }
    all.sort_unstable_by(order);
    all
}

/// The factors as the API shows them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReasonView {
    pub code: &'static str,
    pub points: u32,
    pub text: String,
    /// The same in Chinese, for the console (not in the API's answer).
    #[serde(skip)]
    pub chinese: String,
}

impl From<&Factor> for ReasonView {
    fn from(f: &Factor) -> Self {
        ReasonView {
            code: f.reason.code(),
            points: f.points,
            text: f.reason.text(),
            chinese: f.reason.chinese(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn place(community: &str, street: &str) -> Place {
        Place {
            community_id: Some(community.into()),
            street_id: Some(street.into()),
            gps: None,
        }
    }

    fn seeker() -> Seeker {
        Seeker {
            person_id: "p".into(),
            age: Some(45),
            education: education_rank("junior_high"),
            job_types: vec!["保洁".into()],
            skills: vec!["驾驶".into(), "烹饪".into()],
            hours: Some(HoursWanted::Daytime),
            expected_pay: Some(3000),
            place: place("c1", "s1"),
            ..Seeker::default()
        }
    }

    fn job() -> Opening {
        Opening {
            vacancy_id: "v".into(),
            employer_id: "e".into(),
            title: "保洁员".into(),
            job_type: "保洁".into(),
            count: 2,
            filled: 0,
            approved: true,
            hours: Some(JobHours::Daytime),
            place: place("c1", "s1"),
            wage_min: Some(2800),
            wage_max: Some(3200),
            ..Opening::default()
        }
    }

    const TODAY: &str = "2026-12-06";

    #[test]
    fn every_factor_gives_the_points_the_table_says() {
        // (what changes, expected score)
        type Change = fn(&mut Seeker, &mut Opening);
        let cases: &[(&str, Change, u32)] = &[
            ("all fit", |_, _| {}, 40 + 20 + 15 + 10),
            (
                "other job type",
                |_, j| j.job_type = "保安".into(),
                20 + 15 + 10,
            ),
            (
                "no job type stated",
                |s, _| s.job_types.clear(),
                20 + 15 + 10,
            ),
            (
                "same street",
                |_, j| j.place = place("c2", "s1"),
                40 + 10 + 15 + 10,
            ),
            (
                "other street",
                |_, j| j.place = place("c9", "s9"),
                40 + 15 + 10,
            ),
            (
                "hours unfit",
                |_, j| j.hours = Some(JobHours::Shifts),
                40 + 20 + 10,
            ),
            ("hours unknown", |_, j| j.hours = None, 40 + 20 + 10),
            (
                "pay below",
                |s, _| s.expected_pay = Some(5000),
                40 + 20 + 15,
            ),
            ("pay only a minimum", |_, j| j.wage_max = None, 40 + 20 + 15),
            (
                "two skills",
                |_, j| j.skills = vec!["驾驶".into(), "烹饪".into(), "电工".into()],
                40 + 20 + 15 + 10 + 10,
            ),
            (
                "disabled, suitable",
                |s, j| {
                    s.disabled = true;
                    j.disability_suitable = Some(true)
                },
                40 + 20 + 15 + 10 + 10,
            ),
            (
                "tier III, public welfare",
                |s, j| {
                    s.recognised = true;
                    s.tier = Some(Tier::III);
                    j.public_welfare = true
                },
                40 + 20 + 15 + 10 + 10,
            ),
        ];
        for (name, change, expected) in cases {
            let (mut s, mut j) = (seeker(), job());
            change(&mut s, &mut j);
            assert_eq!(score(&s, &j, day(TODAY)), Ok(*expected), "{name}");
            let (sum, factors) = explain(&s, &j, day(TODAY)).expect(name);
            assert_eq!(sum, *expected, "{name}: the reasons add up to the score");
            assert_eq!(factors.iter().map(|f| f.points).sum::<u32>(), sum);
        }
    }

    #[test]
    fn hard_constraints_exclude_rather_than_lower() {
        type Change = fn(&mut Seeker, &mut Opening);
        let cases: &[(&str, Change, Exclusion)] = &[
            (
                "not approved",
                |_, j| j.approved = false,
                Exclusion::NotApproved,
            ),
            (
                "opens tomorrow",
                |_, j| j.open_from = Some(day("2026-12-07")),
                Exclusion::NotYetOpen,
            ),
            (
                "closed yesterday",
                |_, j| j.open_until = Some(day("2026-12-05")),
                Exclusion::Closed,
            ),
            ("filled", |_, j| j.filled = 2, Exclusion::Filled),
            (
                "too old",
                |_, j| j.age_max = Some(44),
                Exclusion::AgeOutside,
            ),
            (
                "too young",
                |_, j| j.age_min = Some(46),
                Exclusion::AgeOutside,
            ),
            (
                "education below",
                |_, j| j.education_min = education_rank("senior_high"),
                Exclusion::EducationBelow,
            ),
            (
                "not for a disability",
                |s, j| {
                    s.disabled = true;
                    j.disability_suitable = Some(false)
                },
                Exclusion::NotSuitableForDisability,
            ),
            (
                "public welfare, not recognised",
                |_, j| j.public_welfare = true,
                Exclusion::PublicWelfareForRecognised,
            ),
            (
                "declined before",
                |s, _| s.declined = vec!["v".into()],
                Exclusion::DeclinedBefore,
            ),
            (
                "referred already",
                |s, _| s.referred = vec!["v".into()],
                Exclusion::AlreadyReferred,
            ),
        ];
        for (name, change, expected) in cases {
            let (mut s, mut j) = (seeker(), job());
            change(&mut s, &mut j);
            assert_eq!(score(&s, &j, day(TODAY)), Err(*expected), "{name}");
        }
    }

    #[test]
    fn unknown_facts_exclude_nothing() {
        let mut s = seeker();
        s.age = None;
        s.education = None;
        let mut j = job();
        j.age_max = Some(30);
        j.education_min = education_rank("bachelor");
        assert!(score(&s, &j, day(TODAY)).is_ok());
        // The last day open is still open.
        j.open_until = Some(day(TODAY));
        assert!(score(&s, &j, day(TODAY)).is_ok());
    }

    #[test]
    fn gps_distance_beats_community_and_reads_in_km() {
        let mut s = seeker();
        let mut j = job();
        s.place.gps = Some((39.9000, 116.4000));
        // About 2.2 km north.
        j.place.gps = Some((39.9200, 116.4000));
        let (_, factors) = explain(&s, &j, day(TODAY)).expect("scored");
        let distance = factors
            .iter()
            .find(|f| f.reason.code() == "distance")
            .expect("a distance");
        assert_eq!(distance.points, 15);
        assert_eq!(distance.reason.text(), "2.2 km");
        let hours = factors.iter().find(|f| f.reason.code() == "hours");
        assert_eq!(
            hours.map(|f| f.reason.text()),
            Some("hours: daytime".into())
        );
    }

    #[test]
    fn hours_fit_as_documented() {
        use HoursWanted as W;
        use JobHours as O;
        let all = [O::FullDay, O::PartTime, O::Shifts, O::Daytime];
        let fitting = |w| all.iter().filter(|o| hours_fit(w, **o)).count();
        assert_eq!(fitting(W::Any), 4);
        assert_eq!(fitting(W::Flexible), 4);
        assert!(hours_fit(W::Daytime, O::FullDay) && !hours_fit(W::Daytime, O::Shifts));
        assert!(hours_fit(W::PartTime, O::PartTime) && !hours_fit(W::PartTime, O::FullDay));
        assert!(hours_fit(W::Shifts, O::Shifts) && !hours_fit(W::Shifts, O::PartTime));
    }

    #[test]
    fn ranking_is_best_first_ties_by_id_and_skips_the_excluded() {
        let s = seeker();
        let mut far = job();
        far.vacancy_id = "a-far".into();
        far.place = place("c9", "s9");
        let mut near_b = job();
        near_b.vacancy_id = "b-near".into();
        let mut near_a = job();
        near_a.vacancy_id = "a-near".into();
        let mut closed = job();
        closed.vacancy_id = "0-closed".into();
        closed.filled = 2;
        let openings = [far, near_b, near_a, closed];
        let openings: Vec<&Opening> = openings.iter().collect();
        let ranked = vacancies_for(&s, &openings, day(TODAY), 10);
        let ids: Vec<&str> = ranked
            .iter()
            .map(|r| openings[r.index].vacancy_id.as_str())
            .collect();
        assert_eq!(ids, ["a-near", "b-near", "a-far"]);
        assert_eq!(ranked[0].score, 85);
        assert_eq!(ranked[0].factors.iter().map(|f| f.points).sum::<u32>(), 85);
        let top = vacancies_for(&s, &openings, day(TODAY), 1);
        assert_eq!(top.len(), 1);
        assert_eq!(openings[top[0].index].vacancy_id, "a-near");
    }

    #[test]
    fn persons_for_a_vacancy_rank_the_same_way() {
        let j = job();
        let mut wants = seeker();
        wants.person_id = "p2".into();
        let mut other = seeker();
        other.person_id = "p1".into();
        other.job_types = vec!["保安".into()];
        let mut old = seeker();
        old.person_id = "p0".into();
        old.age = Some(70);
        let mut j_aged = j.clone();
        j_aged.age_max = Some(60);
        let seekers = vec![other, wants, old];
        let ranked = seekers_for(&j_aged, &seekers, day(TODAY), 10);
        let ids: Vec<&str> = ranked
            .iter()
            .map(|r| seekers[r.index].person_id.as_str())
            .collect();
        assert_eq!(ids, ["p2", "p1"]);
        let mut closed = j;
        closed.approved = false;
        assert!(seekers_for(&closed, &seekers, day(TODAY), 10).is_empty());
    }
}
