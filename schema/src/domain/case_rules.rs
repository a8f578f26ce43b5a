//! The guide's rules for the records of a case, checked when one is created: when a person
//! may apply, who may be assessed and given a plan, which services may be recorded, and
//! when a person may exit. Pure: the caller gathers the person's records; a refusal is the
//! field it concerns and why, in words.

use chrono::NaiveDate;

use super::exits::{no_contact_since, ExitReason};

/// An application already on file, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// `received`, `preliminary_review`, `publicity`, `recognised` or `rejected`.
    pub state: String,
    pub received_on: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
}

impl Application {
    fn open(&self) -> bool {
        !matches!(self.state.as_str(), "recognised" | "rejected")
    }
}

/// Where a person stands, as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person {
    /// Recognised and not exited: their status has not ended.
    pub recognised: bool,
    pub exited: bool,
}

/// A refusal: the field it concerns and why.
pub type Refusal = (&'static str, String);

/// One open application per person; a recognised person applies again only after their
/// status ends (an exit); a rejected one only `wait_days` after the rejection.
pub fn may_apply(
    person: Person,
    applications: &[Application],
    today: NaiveDate,
    wait_days: u32,
) -> Result<(), Refusal> {
    if let Some(open) = applications.iter().find(|a| a.open()) {
        let since = open
            .received_on
            .map_or(String::new(), |d| format!(" (received on {d})"));
        return Err((
            "person_id",
            format!("an application is already open{since}"),
        ));
    }
    if person.recognised && !person.exited {
        return Err((
            "person_id",
            "the person is recognised; a new application waits until their status ends".into(),
        ));
    }
    let last_rejection = applications
        .iter()
        .filter(|a| a.state == "rejected")
        .filter_map(|a| a.decided_on)
        .max();
    if let Some(rejected) = last_rejection {
        let from = rejected + chrono::Days::new(u64::from(wait_days));
        if today < from {
            return Err((
                "person_id",
                format!("the last application was rejected on {rejected}; a new one from {from}"),
            ));
        }
    }
    Ok(())
}

/// Assessments (tiers) and plans, and so the tiered obligations, are for recognised
/// persons only, and not after they exit.
pub fn may_assess(person: Person) -> Result<(), Refusal> {
    if person.exited {
        return Err((
            "person_id",
            "the person has exited employment assistance".into(),
        ));
    }
    if !person.recognised {
        return Err((
            "person_id",
            "the person is not recognised as 就业困难人员; assess them once they are".into(),
        ));
    }
    Ok(())
}

/// A service is recorded once delivered: never dated after today.
pub fn may_record_service(delivered_on: NaiveDate, today: NaiveDate) -> Result<(), Refusal> {
    if delivered_on > today {
        return Err((
            "delivered_on",
            format!(
                "{delivered_on} is after today ({today}); record a service once it is delivered"
            ),
        ));
    }
    Ok(())
}

/// What happened is recorded once it has happened: a referral made, a job taken up, a
/// follow-up done are not dated after today.
pub fn not_after_today(
    field: &'static str,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<(), Refusal> {
    if on > today {
        return Err((
            field,
            format!("{on} is after today ({today}); record it once it has happened"),
        ));
    }
    Ok(())
}

/// One exit per person; its date not after today; "no contact for six months" only when
/// six months have passed since the last contact or the enrolment.
pub fn may_exit(
    person: Person,
    reason: ExitReason,
    exit_on: NaiveDate,
    today: NaiveDate,
    last_contact: Option<NaiveDate>,
    enrolled_on: NaiveDate,
) -> Result<(), Refusal> {
    if person.exited {
        return Err(("person_id", "the person has exited already".into()));
    }
    if exit_on > today {
        return Err(("exit_on", format!("{exit_on} is after today ({today})")));
    }
    if reason == ExitReason::NoContactSixMonths {
        let from = no_contact_since(last_contact, enrolled_on);
        if exit_on < from {
            let reference = last_contact.map_or(enrolled_on, |c| c.max(enrolled_on));
            return Err((
                "reason",
                format!("last contact or enrolment on {reference}: six months without contact from {from}"),
            ));
        }
    }
    Ok(())
}

/// The categories an application claims may change while it is received or in initial
/// review; once publicised, what is recognised is what was posted.
pub fn may_change_claim(state: &str) -> Result<(), Refusal> {
    match state {
        "received" | "preliminary_review" => Ok(()),
        other => Err((
            "claimed_categories",
            format!("fixed once the application is publicised (it is {other}); apply again to claim others"),
        )),
    }
}

/// A subsidy application's own fields (the work, the payments, the persons, the period,
/// the account, the form) may change until the station passes it up, or once it comes
/// back; the levels above approve what the station checked.
pub fn may_change_application(field: &'static str, state: &str) -> Result<(), Refusal> {
    match state {
        "received" | "station_review" | "returned" => Ok(()),
        other => Err((
            field,
            format!(
                "fixed once the station has passed the application up (it is {other}); it \
                 is changed after a return"
            ),
        )),
    }
}

/// A birth date or sex is read from the ID number when there is one.
pub fn derived_from_id_number(field: &'static str) -> Result<(), Refusal> {
    Err((
        field,
        "is read from the person's ID number; correct the ID number instead".into(),
    ))
}

/// Records of a case that are decisions are not deleted: an objection is decided (its
/// outcome), an application past 受理 is rejected, not removed; an on-site check asked
/// for is withdrawn by staff only.
pub fn may_delete(
    entity: crate::entities::Entity,
    doc: &serde_json::Value,
    by_staff: bool,
) -> Result<(), Refusal> {
    use crate::entities::{get_path, Entity};
    let text = |path| get_path(doc, path).and_then(|v| v.as_str());
    match entity {
        Entity::Objection => Err((
            "id",
            "an objection is not deleted: set its outcome (dismissed or upheld)".into(),
        )),
        Entity::Recognition if text("state").is_some_and(|s| s != "received") => Err((
            "id",
            "an application past 受理 is not deleted: reject it with a reason".into(),
        )),
        Entity::FlexibleSubsidy | Entity::WelfareSubsidy
            if text("state").is_some_and(|s| s != "received") =>
        {
            Err((
                "id",
                "an application past 受理 is not deleted: return it with a reason".into(),
            ))
        }
        Entity::Task if text("kind") == Some("site_check") && !by_staff => Err((
            "id",
            "an on-site check is withdrawn by the station that asked for it".into(),
        )),
        // Referrals and placements in other communities name them, and the demand ledger
        // counts them: a vacancy is closed (`open_until`), not deleted.
        Entity::Employer | Entity::Vacancy => Err((
            "id",
            "employers and vacancies are kept: referrals and placements name them; close a \
             vacancy with `open_until` instead"
                .into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn app(state: &str, decided_on: Option<NaiveDate>) -> Application {
        Application {
            state: state.into(),
            received_on: Some(d(2026, 1, 5)),
            decided_on,
        }
    }

    const REGISTERED: Person = Person {
        recognised: false,
        exited: false,
    };
    const RECOGNISED: Person = Person {
        recognised: true,
        exited: false,
    };
    const EXITED: Person = Person {
        recognised: true,
        exited: true,
    };

    #[test]
    fn an_application_is_fixed_while_the_levels_above_review_it() {
        for (state, open) in [
            ("received", true),
            ("station_review", true),
            ("street_review", false),
            ("district_approval", false),
            ("funded", false),
            ("returned", true),
            ("stopped", false),
        ] {
            assert_eq!(
                may_change_application("period_to", state).is_ok(),
                open,
                "{state}"
            );
        }
    }

    #[test]
    fn who_may_apply() {
        let today = d(2026, 12, 5);
        let cases: Vec<(&str, Person, Vec<Application>, bool)> = vec![
            ("first application", REGISTERED, vec![], true),
            ("one open", REGISTERED, vec![app("publicity", None)], false),
            (
                "recognised",
                RECOGNISED,
                vec![app("recognised", Some(d(2026, 3, 1)))],
                false,
            ),
            (
                "recognised, then exited",
                EXITED,
                vec![app("recognised", Some(d(2026, 3, 1)))],
                true,
            ),
            (
                "rejected 10 days ago",
                REGISTERED,
                vec![app("rejected", Some(d(2026, 11, 25)))],
                false,
            ),
            (
                "rejected 30 days ago",
                REGISTERED,
                vec![app("rejected", Some(d(2026, 11, 5)))],
                true,
            ),
        ];
        for (name, person, applications, ok) in cases {
            let got = may_apply(person, &applications, today, 30);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
        }
    }

    #[test]
    fn assessments_and_plans_are_for_recognised_persons() {
        assert!(may_assess(RECOGNISED).is_ok());
        assert!(may_assess(REGISTERED).is_err());
        assert!(may_assess(EXITED).is_err());
    }

    #[test]
    fn services_are_not_dated_after_today() {
        let today = d(2026, 12, 5);
        assert!(may_record_service(today, today).is_ok());
        assert!(may_record_service(d(2026, 12, 6), today).is_err());
    }

    /// Name, person, reason, exit date, last contact, enrolment, allowed.
    type ExitCase = (
        &'static str,
        Person,
        ExitReason,
        NaiveDate,
        Option<NaiveDate>,
        NaiveDate,
        bool,
    );

    #[test]
    fn exits_are_checked_against_their_facts() {
        let today = d(2026, 12, 5);
        let enrolled = d(2026, 1, 10);
        let no_contact = ExitReason::NoContactSixMonths;
        let cases: Vec<ExitCase> = vec![
            (
                "enrolled today",
                REGISTERED,
                no_contact,
                today,
                None,
                today,
                false,
            ),
            (
                "six months after enrolment",
                REGISTERED,
                no_contact,
                today,
                None,
                enrolled,
                true,
            ),
            (
                "contact two months ago",
                REGISTERED,
                no_contact,
                today,
                Some(d(2026, 10, 5)),
                enrolled,
                false,
            ),
            (
                "exactly six months after contact",
                REGISTERED,
                no_contact,
                today,
                Some(d(2026, 6, 5)),
                enrolled,
                true,
            ),
            (
                "employed, any time",
                REGISTERED,
                ExitReason::Employed,
                today,
                None,
                today,
                true,
            ),
            (
                "exited already",
                EXITED,
                ExitReason::Employed,
                today,
                None,
                enrolled,
                false,
            ),
            (
                "dated tomorrow",
                REGISTERED,
                ExitReason::Employed,
                d(2026, 12, 6),
                None,
                enrolled,
                false,
            ),
        ];
        for (name, person, reason, exit_on, contact, enrolled_on, ok) in cases {
            let got = may_exit(person, reason, exit_on, today, contact, enrolled_on);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
        }
    }

    #[test]
    fn claims_are_fixed_once_publicised() {
        for (state, ok) in [
            ("received", true),
            ("preliminary_review", true),
            ("publicity", false),
            ("recognised", false),
            ("rejected", false),
        ] {
            assert_eq!(may_change_claim(state).is_ok(), ok, "{state}");
        }
    }

    #[test]
    fn decisions_are_not_deleted() {
        use crate::entities::Entity as E;
        use serde_json::json;
        let cases = [
            (E::Objection, json!({ "outcome": "pending" }), true, false),
            (E::Recognition, json!({ "state": "received" }), false, true),
            (E::Recognition, json!({ "state": "publicity" }), true, false),
            (E::Task, json!({ "kind": "site_check" }), false, false),
            (E::Task, json!({ "kind": "site_check" }), true, true),
            (E::Task, json!({ "kind": "visit" }), false, true),
            (E::Vacancy, json!({ "title": "保洁员" }), true, false),
            (E::Employer, json!({ "name": "华林超市" }), true, false),
            (E::Referral, json!({ "outcome": "pending" }), false, true),
        ];
        for (entity, doc, by_staff, ok) in cases {
            assert_eq!(
                may_delete(entity, &doc, by_staff).is_ok(),
                ok,
                "{entity} {doc}"
            );
        }
    }
}
