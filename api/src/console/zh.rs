//! How the console writes dates, numbers and the names of things: zh-CN, in the guide's
//! own terms.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};
use liuqing_schema::domain::EvidenceType;
use liuqing_schema::time::{to_datetime, Micros};
use liuqing_schema::users::Role;

/// `2026年12月5日`.
pub fn date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The months a month picker offers, newest first, as (`YYYY-MM`, `2026年12月`): the 24
/// months up to `today`'s, and `selected` too when it is older. A list of our own rather
/// than `<input type="month">`, whose picker speaks the browser's language, not the page's.
pub fn months(selected: &str, today: NaiveDate) -> Vec<(String, String)> {
    let first = today.with_day(1).unwrap_or(today);
    let mut all: Vec<(String, String)> = (0..24)
        .filter_map(|back| first.checked_sub_months(chrono::Months::new(back)))
        .map(|m| {
            (
                m.format("%Y-%m").to_string(),
                format!("{}年{}月", m.year(), m.month()),
            )
        })
        .collect();
    if !selected.is_empty() && !all.iter().any(|(v, _)| v == selected) {
        if let Ok(m) = NaiveDate::parse_from_str(&format!("{selected}-01"), "%Y-%m-%d") {
            all.push((
                selected.to_string(),
                format!("{}年{}月", m.year(), m.month()),
            ));
        }
    }
    all
}

/// `2026年12月5日 14:05`, at the stations' offset from UTC.
pub fn datetime(at: DateTime<FixedOffset>) -> String {
    format!(
        "{} {:02}:{:02}",
        date(at.date_naive()),
        at.hour(),
        at.minute()
    )
}

/// An instant in microseconds, at the stations' offset from UTC.
pub fn instant(micros: Micros, utc_offset_minutes: i32) -> String {
    let offset = FixedOffset::east_opt(utc_offset_minutes * 60)
        .unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
    datetime(to_datetime(micros).with_timezone(&offset))
}

/// A date or an RFC 3339 time as a record holds it, in Chinese; anything else as it is.
pub fn date_text(text: &str, utc_offset_minutes: i32) -> String {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date(d);
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => {
            let offset = FixedOffset::east_opt(utc_offset_minutes * 60).unwrap_or(*at.offset());
            datetime(at.with_timezone(&offset))
        }
        Err(_) => text.to_string(),
    }
}

/// `12,345`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn role(role: Role) -> &'static str {
    match role {
        Role::Coordinator => "劳动保障协理员",
        Role::StationStaff => "平台工作人员",
        Role::Supervisor => "督导",
        Role::Admin => "系统管理员",
    }
}

/// An evidence type's name on its certificate; an unknown one as it is.
pub fn evidence_type(code: &str) -> String {
    code.parse::<EvidenceType>()
        .map(|t| t.chinese_name().to_string())
        .unwrap_or_else(|_| code.to_string())
}

pub fn review_state(state: &str) -> &'static str {
    match state {
        "pending" => "待审核",
        "approved" => "已通过",
        "rejected" => "已驳回",
        "retake" => "待重拍",
        _ => "未知",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_a_station_writes_them() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        assert_eq!(date(d), "2026年12月5日");
        assert_eq!(date_text("2026-01-09", 480), "2026年1月9日");
        // 16:05 UTC is 00:05 the next day at UTC+8.
        assert_eq!(
            date_text("2026-12-05T16:05:00Z", 480),
            "2026年12月6日 00:05"
        );
        assert_eq!(date_text("not a date", 480), "not a date");
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(-12345), "-12,345");
    }

    #[test]
    fn months_are_the_last_two_years_in_chinese_and_keep_an_older_choice() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        let m = months("2026-12", today);
        assert_eq!(m.len(), 24);
        assert_eq!(m[0], ("2026-12".to_string(), "2026年12月".to_string()));
        assert_eq!(m[23], ("2025-01".to_string(), "2025年1月".to_string()));
        let older = months("2020-03", today);
        assert_eq!(older.len(), 25);
        assert_eq!(older[24].1, "2020年3月");
        assert_eq!(months("not a month", today).len(), 24);
    }
}
