//! Recognition of a person with employment difficulties (就业困难人员认定):
//! 受理 → 初审 → 公示 → 认定, or rejected on the way. One table says which action moves
//! which state; another says which role may take it.

use chrono::NaiveDate;

use super::calendar::WorkCalendar;
use super::Role;

crate::text_enum! {
    /// Where an application stands.
    pub enum RecognitionState {
        /// 受理: the station has accepted the application.
        Received = "received",
        /// 初审: the station checks the form and the evidence.
        PreliminaryReview = "preliminary_review",
        /// 公示: publicly posted so that objections can be raised.
        Publicity = "publicity",
        /// 认定: recognised by the street/district. Final.
        Recognised = "recognised",
        /// Not eligible, at review or after an upheld objection. Final.
        Rejected = "rejected",
    }
}

crate::text_enum! {
    /// What a user does to an application.
    pub enum RecognitionAction {
        StartReview = "start_review",
        Publicise = "publicise",
        Recognise = "recognise",
        Reject = "reject",
    }
}

impl RecognitionState {
    /// Recognised and rejected applications allow no further action; a rejected applicant
    /// files a new application.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RecognitionState::Recognised | RecognitionState::Rejected
        )
    }
}

/// Why an action cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action}: the application is `{from}`")]
    Illegal {
        from: RecognitionState,
        action: RecognitionAction,
    },
    #[error("role `{role}` may not {action} an application")]
    Forbidden {
        role: Role,
        action: RecognitionAction,
    },
    #[error("the publicity period is not over: recognise on or after {until}")]
    PublicityNotOver { until: NaiveDate },
    #[error("the publicity period has no end date recorded")]
    PublicityEndUnknown,
}

/// The state an action leads to from `from`, or `None` if the action is illegal there.
pub fn next_state(from: RecognitionState, action: RecognitionAction) -> Option<RecognitionState> {
    use RecognitionAction as A;
    use RecognitionState as S;
    match (from, action) {
        (S::Received, A::StartReview) => Some(S::PreliminaryReview),
        (S::PreliminaryReview, A::Publicise) => Some(S::Publicity),
        (S::Publicity, A::Recognise) => Some(S::Recognised),
        (S::Received | S::PreliminaryReview | S::Publicity, A::Reject) => Some(S::Rejected),
        _ => None,
    }
}

/// The roles that may take a legal action. The station runs intake, review and posting;
/// recognition belongs to the level above (supervisor), which may also reject during
/// publicity when it upholds an objection or finds the person ineligible. Coordinators
/// collect material but decide nothing; admins manage the system, not cases.
pub fn allowed_roles(from: RecognitionState, action: RecognitionAction) -> &'static [Role] {
    use RecognitionAction as A;
    use RecognitionState as S;
    match (from, action) {
        (S::Received, A::StartReview) => &[Role::StationStaff],
        (S::PreliminaryReview, A::Publicise) => &[Role::StationStaff],
        (S::Publicity, A::Recognise) => &[Role::Supervisor],
        (S::Received | S::PreliminaryReview, A::Reject) => &[Role::StationStaff],
        (S::Publicity, A::Reject) => &[Role::StationStaff, Role::Supervisor],
        _ => &[],
    }
}

/// Checks an action and returns the new state. Order of checks: is the action legal in
/// this state, may this role take it, and (for recognition) is the publicity over, i.e. is
/// `today` on or after `publicity_ends` (see [`publicity_ends`]).
pub fn transition(
    from: RecognitionState,
    action: RecognitionAction,
    role: Role,
    today: NaiveDate,
    publicity_ends: Option<NaiveDate>,
) -> Result<RecognitionState, TransitionError> {
    let to = next_state(from, action).ok_or(TransitionError::Illegal { from, action })?;
    if !allowed_roles(from, action).contains(&role) {
        return Err(TransitionError::Forbidden { role, action });
    }
    if action == RecognitionAction::Recognise {
        let until = publicity_ends.ok_or(TransitionError::PublicityEndUnknown)?;
        if today < until {
            return Err(TransitionError::PublicityNotOver { until });
        }
    }
    Ok(to)
}

/// The last day of a publicity period posted on `started`: the `working_days`-th working
/// day after it (the posting day is not counted). Print this on the publicity notice.
pub fn publicity_last_day(
    started: NaiveDate,
    working_days: u32,
    calendar: &WorkCalendar,
) -> NaiveDate {
    calendar.add_working_days(started, working_days)
}

/// The last day of the initial review (初审) of an application received on `received`: the
/// `working_days`-th working day after it. An application still received or in review
/// after that day is overdue.
pub fn initial_review_due(
    received: NaiveDate,
    working_days: u32,
    calendar: &WorkCalendar,
) -> NaiveDate {
    calendar.add_working_days(received, working_days)
}

/// The day the publicity period is over: the day after its last day, since objections may
/// come in until the last day ends. Recognition is allowed on or after this date.
pub fn publicity_ends(started: NaiveDate, working_days: u32, calendar: &WorkCalendar) -> NaiveDate {
    let last = publicity_last_day(started, working_days, calendar);
    last.succ_opt().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecognitionAction as A;
    use RecognitionState as S;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn today() -> NaiveDate {
        d(2026, 6, 30)
    }

    /// The legal moves, written out independently of `next_state`.
    const LEGAL: [(
        RecognitionState,
        RecognitionAction,
        RecognitionState,
        &[Role],
    ); 6] = [
        (
            S::Received,
            A::StartReview,
            S::PreliminaryReview,
            &[Role::StationStaff],
        ),
        (S::Received, A::Reject, S::Rejected, &[Role::StationStaff]),
        (
            S::PreliminaryReview,
            A::Publicise,
            S::Publicity,
            &[Role::StationStaff],
        ),
        (
            S::PreliminaryReview,
            A::Reject,
            S::Rejected,
            &[Role::StationStaff],
        ),
        (
            S::Publicity,
            A::Recognise,
            S::Recognised,
            &[Role::Supervisor],
        ),
        (
            S::Publicity,
            A::Reject,
            S::Rejected,
            &[Role::StationStaff, Role::Supervisor],
        ),
    ];

    #[test]
    fn every_state_and_action_pair() {
        for from in S::ALL.iter().copied() {
            for action in A::ALL.iter().copied() {
                let legal = LEGAL.iter().find(|(f, a, _, _)| *f == from && *a == action);
                for role in Role::ALL.iter().copied() {
                    let got = transition(from, action, role, today(), Some(today()));
                    let want = match legal {
                        None => Err(TransitionError::Illegal { from, action }),
                        Some((_, _, to, roles)) if roles.contains(&role) => Ok(*to),
                        Some(_) => Err(TransitionError::Forbidden { role, action }),
                    };
                    assert_eq!(got, want, "{from} --{action}--> as {role}");
                }
            }
        }
    }

    #[test]
    fn terminal_states_allow_nothing() {
        for from in S::ALL.iter().copied().filter(|s| s.is_terminal()) {
            for action in A::ALL.iter().copied() {
                assert_eq!(next_state(from, action), None, "{from} {action}");
                assert!(allowed_roles(from, action).is_empty(), "{from} {action}");
            }
        }
        assert_eq!(
            S::ALL.iter().filter(|s| s.is_terminal()).count(),
            2,
            "recognised and rejected"
        );
    }

    #[test]
    fn messages_name_the_problem() {
        let err = transition(
            S::PreliminaryReview,
            A::Recognise,
            Role::Supervisor,
            today(),
            None,
        )
        .expect_err("illegal");
        assert_eq!(
            err.to_string(),
            "cannot recognise: the application is `preliminary_review`"
        );
        let err = transition(S::Publicity, A::Recognise, Role::Admin, today(), None)
            .expect_err("forbidden");
        assert_eq!(
            err.to_string(),
            "role `admin` may not recognise an application"
        );
    }

    #[test]
    fn recognition_waits_for_the_end_of_publicity() {
        let ends = d(2026, 7, 10);
        let cases = [
            (
                d(2026, 7, 1),
                Err(TransitionError::PublicityNotOver { until: ends }),
            ),
            (
                d(2026, 7, 9),
                Err(TransitionError::PublicityNotOver { until: ends }),
            ),
            (d(2026, 7, 10), Ok(S::Recognised)),
            (d(2026, 7, 11), Ok(S::Recognised)),
        ];
        for (today, want) in cases {
            let got = transition(
                S::Publicity,
                A::Recognise,
                Role::Supervisor,
                today,
                Some(ends),
            );
            assert_eq!(got, want, "on {today}");
        }
        assert_eq!(
            transition(S::Publicity, A::Recognise, Role::Supervisor, ends, None),
            Err(TransitionError::PublicityEndUnknown)
        );
        // Rejecting after an objection does not wait for the end.
        assert_eq!(
            transition(
                S::Publicity,
                A::Reject,
                Role::StationStaff,
                d(2026, 7, 1),
                Some(ends)
            ),
            Ok(S::Rejected)
        );
    }

    #[test]
    fn publicity_period_in_working_days() {
        let plain = WorkCalendar::default();
        let national_day = WorkCalendar {
            holidays: (1..=7).map(|day| d(2026, 10, day)).collect(),
            extra_workdays: [d(2026, 10, 10)].into_iter().collect(),
        };
        let cases = [
            // Posted Wednesday: Thu, Fri, Mon–Fri; last day the next Friday.
            (&plain, d(2026, 6, 10), 7, d(2026, 6, 19), d(2026, 6, 20)),
            (&plain, d(2026, 6, 12), 5, d(2026, 6, 19), d(2026, 6, 20)),
            (&plain, d(2026, 6, 10), 0, d(2026, 6, 10), d(2026, 6, 11)),
            // Across National Day: 8, 9, 10 (worked Saturday), 12–15 October.
            (
                &national_day,
                d(2026, 9, 30),
                7,
                d(2026, 10, 15),
                d(2026, 10, 16),
            ),
        ];
        for (cal, started, days, last, ends) in cases {
            assert_eq!(
                publicity_last_day(started, days, cal),
                last,
                "{started} + {days}"
            );
            assert_eq!(
                publicity_ends(started, days, cal),
                ends,
                "{started} + {days}"
            );
            let recognise = |today| {
                transition(
                    S::Publicity,
                    A::Recognise,
                    Role::Supervisor,
                    today,
                    Some(ends),
                )
            };
            assert!(recognise(last).is_err(), "not on the last day {last}");
            assert_eq!(recognise(ends), Ok(S::Recognised));
        }
    }
}
