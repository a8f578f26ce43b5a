//! The subsidies month by month, for supervisors: for each month and each subsidy, the
//! applications received, returned and funded, the amount funded (财政核定), the stops
//! decided, and the persons paid for that month. Counted from the applications of the
//! area (a few thousand at a district: read whole), by the days their history records.

use chrono::NaiveDate;
use liuqing_schema::domain::months::Month;
use liuqing_schema::domain::subsidies::{SubsidyAction, SubsidyKind, SubsidyState};
use liuqing_schema::entities::get_path;
use liuqing_schema::records;
use liuqing_schema::DbConn;
use serde::Serialize;
use serde_json::Value;

use super::{kind_of, persons_paid, state_of, text, APPLICATIONS};
use crate::config::Config;
use crate::error::ApiError;

/// One subsidy's figures for a month.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Applications received (受理) that month.
    pub received: u32,
    /// Steps that sent an application back.
    pub returned: u32,
    /// Applications funded (the district's pass).
    pub funded: u32,
    /// What those applications pay, fen (as computed now: a later stop lowers it).
    pub funded_amount_fen: i64,
    /// Stops decided (a public-welfare application's count one a person).
    pub stopped: u32,
    /// Persons whose subsidy pays for that month.
    pub persons_paid: u32,
}

/// A month's figures, for each subsidy.
#[derive(Debug, Clone, Serialize)]
pub struct MonthRow {
    pub month: String,
    pub flexible_insurance: Totals,
    pub public_welfare_job: Totals,
}

impl MonthRow {
    fn of(&mut self, kind: SubsidyKind) -> &mut Totals {
        match kind {
            SubsidyKind::FlexibleInsurance => &mut self.flexible_insurance,
            SubsidyKind::PublicWelfareJob => &mut self.public_welfare_job,
        }
    }
}

fn day(text: Option<&str>) -> Option<NaiveDate> {
    text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

/// The months `from` to `to` of the applications in `communities`.
pub fn monthly(
    conn: &mut DbConn,
    config: &Config,
    communities: &[String],
    from: Month,
    to: Month,
) -> Result<Vec<MonthRow>, ApiError> {
    let mut rows: Vec<MonthRow> = (0..=from.until(to))
        .map(|i| MonthRow {
            month: from.plus(i).to_string(),
            flexible_insurance: Totals::default(),
            public_welfare_job: Totals::default(),
        })
        .collect();
    // The row of a month inside the report, if it is.
    let index = |m: Month| usize::try_from(from.until(m)).ok().filter(|_| m <= to);
    for entity in APPLICATIONS {
        let kind = kind_of(entity);
        for rec in records::live_of_entity(conn, entity, communities)? {
            let doc = rec.document()?;
            let received = day(text(&doc, "received_on")).unwrap_or(config.day_at(rec.created_at));
            if let Some(i) = index(Month::of(received)) {
                rows[i].of(kind).received += 1;
            }
            let history = get_path(&doc, "history")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for h in &history {
                let (Some(on), Some(action)) = (
                    day(text(h, "on")),
                    text(h, "action").and_then(|a| a.parse::<SubsidyAction>().ok()),
                ) else {
                    continue;
                };
                let Some(i) = index(Month::of(on)) else {
                    continue;
                };
                let totals = rows[i].of(kind);
                match action {
                    SubsidyAction::Return => totals.returned += 1,
                    SubsidyAction::Stop => totals.stopped += 1,
                    SubsidyAction::Pass if text(h, "state") == Some("funded") => {
                        totals.funded += 1;
                        totals.funded_amount_fen += get_path(&doc, "amount_fen")
                            .and_then(Value::as_i64)
                            .unwrap_or(0);
                    }
                    _ => {}
                }
            }
            if !matches!(state_of(&doc), SubsidyState::Funded | SubsidyState::Stopped) {
                continue;
            }
            let spans = persons_paid(&rec, &doc)
                .into_iter()
                .filter_map(|(_, span)| span);
            for (first, last) in spans {
                for row in rows.iter_mut() {
                    let m = Month::parse(&row.month).unwrap_or(first);
                    if first <= m && m <= last {
                        row.of(kind).persons_paid += 1;
                    }
                }
            }
        }
    }
    Ok(rows)
}
