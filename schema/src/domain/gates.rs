//! The rules that decide a recognition application (就业困难人员认定): whether each claimed
//! category holds at a date, and what each step of 受理→初审→公示→认定 needs before it may be
//! taken. Pure: the facts come in, the verdicts go out; the route gathers the one and
//! answers the other (a 409 listing every unmet rule, or an audited override).

use chrono::NaiveDate;
use serde::Serialize;

use super::category::{evidence_for, Category, EvidenceType, ALWAYS_REQUIRED};
use super::eligibility::{age_on, long_term_unemployed, older_worker_age};
use super::id_number::Sex;
use super::recognition::RecognitionAction;

/// A piece of evidence on file, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub evidence_type: EvidenceType,
    /// Approved by station staff.
    pub approved: bool,
    /// The photo's bytes arrived (sent by the record's author).
    pub received: bool,
    /// The last day the certificate is valid, if it has one.
    pub valid_until: Option<NaiveDate>,
}

/// What the rules know of an applicant.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    /// Start of the current spell of registered unemployment.
    pub unemployment_registered_on: Option<NaiveDate>,
    pub evidence: Vec<Evidence>,
    /// Evidence types the deployment gets by data sharing (`shared_evidence_types`).
    pub shared: Vec<EvidenceType>,
    /// Objections to the application in question that are pending or upheld.
    pub unresolved_objections: usize,
    /// On-site checks (上门核实) the station asked for that are not done yet.
    pub open_site_checks: usize,
    /// The day the application was received (受理): the derived categories (age, a year
    /// of unemployment) must hold on it. `None`: judged on the day asked.
    pub applied_on: Option<NaiveDate>,
}

/// Where a claimed category stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Derived from the person's data, or backed by approved, valid evidence.
    Confirmed,
    /// It may hold, but what proves it is not on file (see `missing`).
    EvidenceMissing,
    /// The facts on file say it does not hold (see `reason`).
    NotEligible,
}

/// One claimed category, judged at a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryCheck {
    pub category: Category,
    pub standing: Standing,
    /// The rule and the dates, in words.
    pub reason: String,
    /// Evidence that would confirm it (empty when confirmed or not eligible).
    pub missing: Vec<EvidenceType>,
}

impl Facts {
    /// Whether an evidence type counts at `at`: shared by the deployment, or approved,
    /// received and not expired.
    pub fn holds(&self, evidence_type: EvidenceType, at: NaiveDate) -> bool {
        self.shared.contains(&evidence_type)
            || self.evidence.iter().any(|e| {
                e.evidence_type == evidence_type
                    && e.approved
                    && e.received
                    && e.valid_until.is_none_or(|until| until >= at)
            })
    }

    /// Judges one claimed category on `at`: evidence must be valid on `at`, and a derived
    /// category must hold on the application's day ([`Facts::applied_on`]).
    pub fn check(&self, category: Category, today: NaiveDate) -> CategoryCheck {
        let at = self.applied_on.unwrap_or(today).min(today);
        let judged = |standing, reason: String, missing| CategoryCheck {
            category,
            standing,
            reason,
            missing,
        };
        match category {
            Category::OlderWorker => match (self.birth_date, self.sex) {
                (Some(birth), Some(sex)) => {
                    let (age, needed) = (age_on(birth, at), older_worker_age(sex));
                    // The age, never the birth date: it completes a masked ID number.
                    let reason = format!("{sex}, {age} on {at}; needs {needed}");
                    if age >= needed {
                        judged(Standing::Confirmed, reason, Vec::new())
                    } else {
                        judged(Standing::NotEligible, reason, Vec::new())
                    }
                }
                _ => judged(
                    Standing::EvidenceMissing,
                    "birth date and sex unknown: record the ID number".into(),
                    vec![EvidenceType::ResidentIdCard],
                ),
            },
            Category::LongTermUnemployed => match self.unemployment_registered_on {
                Some(on) => {
                    let reason =
                        format!("unemployment registered on {on}; one year needed by {at}");
                    if long_term_unemployed(on, at) {
                        judged(Standing::Confirmed, reason, Vec::new())
                    } else {
                        judged(Standing::NotEligible, reason, Vec::new())
                    }
                }
                None => judged(
                    Standing::EvidenceMissing,
                    "unemployment registration date not recorded".into(),
                    vec![EvidenceType::EmploymentCard],
                ),
            },
            _ => {
                let missing: Vec<EvidenceType> = evidence_for(category)
                    .iter()
                    .copied()
                    .filter(|e| !self.holds(*e, today))
                    .collect();
                if missing.is_empty() {
                    judged(
                        Standing::Confirmed,
                        "approved, valid evidence on file".into(),
                        missing,
                    )
                } else {
                    judged(
                        Standing::EvidenceMissing,
                        "no approved, valid evidence on file".into(),
                        missing,
                    )
                }
            }
        }
    }
}

/// A rule an action does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmet {
    /// `claimed_category`, `category`, `always_required`, `site_check`, `objection`.
    pub rule: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<Standing>,
    pub reason: String,
    /// Evidence that would meet it.
    pub evidence: Vec<EvidenceType>,
}

/// Everything `action` needs that the application does not have at `at`, at once:
/// `start_review` a claimed category; `publicise` and `recognise` every claimed category
/// confirmed and the always-required materials (household register, ID card, employment
/// card) on file and no on-site check asked for still open; `recognise` also no objection
/// pending or upheld. Rejecting needs nothing.
pub fn unmet(
    action: RecognitionAction,
    claimed: &[Category],
    facts: &Facts,
    at: NaiveDate,
) -> Vec<Unmet> {
    let mut unmet = Vec::new();
    if action == RecognitionAction::Reject {
        return unmet;
    }
    if claimed.is_empty() {
        unmet.push(Unmet {
            rule: "claimed_category",
            category: None,
            standing: None,
            reason: "the application claims no category".into(),
            evidence: Vec::new(),
        });
    }
    if action == RecognitionAction::StartReview {
        return unmet;
    }
    for category in claimed {
        let check = facts.check(*category, at);
        if check.standing != Standing::Confirmed {
            unmet.push(Unmet {
                rule: "category",
                category: Some(*category),
                standing: Some(check.standing),
                reason: check.reason,
                evidence: check.missing,
            });
        }
    }
    let materials: Vec<EvidenceType> = ALWAYS_REQUIRED
        .iter()
        .copied()
        .filter(|e| !facts.holds(*e, at))
        .collect();
    if !materials.is_empty() {
        unmet.push(Unmet {
            rule: "always_required",
            category: None,
            standing: None,
            reason: "materials every application needs are not on file".into(),
            evidence: materials,
        });
    }
    if facts.open_site_checks > 0 {
        unmet.push(Unmet {
            rule: "site_check",
            category: None,
            standing: None,
            reason: format!(
                "{} on-site check(s) (上门核实) asked for are not done",
                facts.open_site_checks
            ),
            evidence: Vec::new(),
        });
    }
    if action == RecognitionAction::Recognise && facts.unresolved_objections > 0 {
        unmet.push(Unmet {
            rule: "objection",
            category: None,
            standing: None,
            reason: format!(
                "{} objection(s) raised during publicity are pending or upheld",
                facts.unresolved_objections
            ),
            evidence: Vec::new(),
        });
    }
    unmet
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category as C;
    use EvidenceType as E;
    use RecognitionAction as A;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn approved(evidence_type: EvidenceType, valid_until: Option<NaiveDate>) -> Evidence {
        Evidence {
            evidence_type,
            approved: true,
            received: true,
            valid_until,
        }
    }

    fn basic() -> Vec<Evidence> {
        ALWAYS_REQUIRED.iter().map(|e| approved(*e, None)).collect()
    }

    #[test]
    fn each_category_is_judged_by_its_rule() {
        let at = d(2026, 12, 5);
        let man_of_35 = Facts {
            birth_date: Some(d(1991, 3, 2)),
            sex: Some(Sex::Male),
            ..Facts::default()
        };
        let woman_of_40 = Facts {
            birth_date: Some(d(1986, 12, 5)),
            sex: Some(Sex::Female),
            ..Facts::default()
        };
        let registered = |on| Facts {
            unemployment_registered_on: Some(on),
            ..Facts::default()
        };
        let with = |evidence: Vec<Evidence>| Facts {
            evidence,
            ..Facts::default()
        };
        let unreceived = Evidence {
            received: false,
            ..approved(E::LowIncomeCertificate, None)
        };
        let pending = Evidence {
            approved: false,
            ..approved(E::LowIncomeCertificate, None)
        };
        let cases: Vec<(&str, Facts, C, Standing)> = vec![
            (
                "man of 35",
                man_of_35,
                C::OlderWorker,
                Standing::NotEligible,
            ),
            (
                "woman of 40 today",
                woman_of_40,
                C::OlderWorker,
                Standing::Confirmed,
            ),
            (
                "no birth date",
                Facts::default(),
                C::OlderWorker,
                Standing::EvidenceMissing,
            ),
            (
                "registered 11 months",
                registered(d(2026, 1, 6)),
                C::LongTermUnemployed,
                Standing::NotEligible,
            ),
            (
                "registered a year today",
                registered(d(2025, 12, 5)),
                C::LongTermUnemployed,
                Standing::Confirmed,
            ),
            (
                "no registration",
                Facts::default(),
                C::LongTermUnemployed,
                Standing::EvidenceMissing,
            ),
            (
                "valid certificate",
                with(vec![approved(E::LowIncomeCertificate, Some(at))]),
                C::LowIncomeFamily,
                Standing::Confirmed,
            ),
            (
                "expired certificate",
                with(vec![approved(E::LowIncomeCertificate, Some(d(2020, 1, 1)))]),
                C::LowIncomeFamily,
                Standing::EvidenceMissing,
            ),
            (
                "photo never arrived",
                with(vec![unreceived]),
                C::LowIncomeFamily,
                Standing::EvidenceMissing,
            ),
            (
                "not yet approved",
                with(vec![pending]),
                C::LowIncomeFamily,
                Standing::EvidenceMissing,
            ),
            (
                "shared by data",
                Facts {
                    shared: vec![E::DisabilityCertificate],
                    ..Facts::default()
                },
                C::Disabled,
                Standing::Confirmed,
            ),
        ];
        for (name, facts, category, want) in cases {
            let got = facts.check(category, at);
            assert_eq!(got.standing, want, "{name}: {got:?}");
            assert_eq!(
                got.missing.is_empty(),
                want != Standing::EvidenceMissing,
                "{name}: {got:?}"
            );
        }
    }

    #[test]
    fn each_step_needs_what_the_guide_asks() {
        let at = d(2026, 12, 5);
        let complete = Facts {
            evidence: [basic(), vec![approved(E::DisabilityCertificate, None)]].concat(),
            ..Facts::default()
        };
        let rules = |action, claimed: &[C], facts: &Facts| -> Vec<&'static str> {
            unmet(action, claimed, facts, at)
                .iter()
                .map(|u| u.rule)
                .collect()
        };
        assert_eq!(rules(A::StartReview, &[], &complete), ["claimed_category"]);
        assert!(rules(A::StartReview, &[C::Disabled], &Facts::default()).is_empty());
        assert!(rules(A::Publicise, &[C::Disabled], &complete).is_empty());
        assert!(rules(A::Recognise, &[C::Disabled], &complete).is_empty());
        assert_eq!(
            rules(A::Publicise, &[C::Disabled], &Facts::default()),
            ["category", "always_required"]
        );
        assert_eq!(rules(A::Publicise, &[], &complete), ["claimed_category"]);
        assert!(rules(A::Reject, &[], &Facts::default()).is_empty());
        let objected = Facts {
            unresolved_objections: 1,
            ..complete.clone()
        };
        assert!(rules(A::Publicise, &[C::Disabled], &objected).is_empty());
        assert_eq!(
            rules(A::Recognise, &[C::Disabled], &objected),
            ["objection"]
        );
        let unchecked = Facts {
            open_site_checks: 1,
            ..complete.clone()
        };
        assert_eq!(
            rules(A::Publicise, &[C::Disabled], &unchecked),
            ["site_check"]
        );
        assert!(rules(A::StartReview, &[C::Disabled], &unchecked).is_empty());
    }

    #[test]
    fn derived_categories_hold_on_the_application_day() {
        // She turns 40 on 2026-12-05; an application received the day before does not
        // become eligible by waiting.
        let woman = |applied_on| Facts {
            birth_date: Some(d(1986, 12, 5)),
            sex: Some(Sex::Female),
            applied_on,
            ..Facts::default()
        };
        let today = d(2026, 12, 20);
        let check = |f: Facts| f.check(C::OlderWorker, today).standing;
        assert_eq!(check(woman(Some(d(2026, 12, 4)))), Standing::NotEligible);
        assert_eq!(check(woman(Some(d(2026, 12, 5)))), Standing::Confirmed);
        assert_eq!(check(woman(None)), Standing::Confirmed);
        // Evidence is judged on the day asked, not the application's.
        let expired_since = Facts {
            evidence: vec![approved(E::LowIncomeCertificate, Some(d(2026, 12, 10)))],
            applied_on: Some(d(2026, 12, 1)),
            ..Facts::default()
        };
        assert_eq!(
            expired_since.check(C::LowIncomeFamily, today).standing,
            Standing::EvidenceMissing
        );
    }

    #[test]
    fn every_unmet_rule_is_listed_at_once() {
        let at = d(2026, 12, 5);
        let all = unmet(
            A::Publicise,
            &[C::Disabled, C::OlderWorker],
            &Facts::default(),
            at,
        );
        assert_eq!(all[0].evidence, [E::DisabilityCertificate]);
        assert_eq!(all[1].category, Some(C::OlderWorker));
        assert_eq!(all[2].evidence, ALWAYS_REQUIRED.to_vec());
    }
}
