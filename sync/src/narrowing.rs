//! What a caller who may not see a person's full ID number is shown of their birth date:
//! the year (`1985-**-**`, masked like the ID number itself).
//!
//! The birth date is digits 7–14 of the ID number. With it in clear, a masked number such
//! as `3501**********8314` hides only the two county digits, about nine candidates pass the
//! check character, and one exact lookup each finds the right one. With the year alone the
//! month and day are hidden as well: hundreds to thousands of candidates, against a lookup
//! allowance of a hundred or so an hour, each one logged. Ages, which the rules and the
//! coordinator's work need, are still computed from the full date on the server.

use liuqing_schema::entities::Entity;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::protocol::{ConflictNote, MutationResult};

/// The field that is narrowed, on `person` records.
pub const FIELD: &str = "birth_date";

/// How much of a birth date a caller is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthDates {
    /// The whole date: roles that may reveal the ID number anyway.
    Full,
    /// The year, masked like the rest: everyone else.
    YearOnly,
}

impl BirthDates {
    /// A birth date as shown: `YYYY-**-**`, or the date unchanged.
    pub fn date(self, date: &str) -> String {
        match self {
            BirthDates::Full => date.to_string(),
            BirthDates::YearOnly => year_only(date),
        }
    }

    /// A birth-date value as shown; anything but a string is left as it is.
    pub fn value(self, value: &Value) -> Value {
        match value.as_str() {
            Some(date) => Value::String(self.date(date)),
            None => value.clone(),
        }
    }

    /// A shown document of `entity`, its birth date narrowed in place.
    pub fn document(self, entity: Entity, doc: &mut Value) {
        if self == BirthDates::Full || entity != Entity::Person {
            return;
        }
        if let Some(date) = doc.get_mut(FIELD) {
            *date = self.value(date);
        }
    }

    /// A shown document as text (a pull page's), narrowed. Only persons are parsed again.
    pub fn text(self, entity: Entity, text: Box<RawValue>) -> Box<RawValue> {
        if self == BirthDates::Full || entity != Entity::Person {
            return text;
        }
        let Ok(mut doc) = serde_json::from_str::<Value>(text.get()) else {
            return text;
        };
        if doc.get(FIELD).is_none_or(|d| !d.is_string()) {
            return text;
        }
        self.document(entity, &mut doc);
        serde_json::value::to_raw_value(&doc).unwrap_or(text)
    }
}

impl BirthDates {
    /// Conflict notes as shown: a birth date that lost or was kept is narrowed too (the
    /// field is a person's only, so its name is enough).
    pub fn notes(self, notes: &mut [ConflictNote]) {
        if self == BirthDates::Full {
            return;
        }
        for note in notes.iter_mut().filter(|n| n.field == FIELD) {
            note.kept = self.value(&note.kept);
            note.yours = self.value(&note.yours);
        }
    }

    /// A push's answers as shown.
    pub fn results(self, results: &mut [MutationResult]) {
        for result in results {
            self.notes(&mut result.conflicts);
        }
    }
}

/// `1985-03-12` → `1985-**-**`; text that is not a date keeps its first four characters
/// only if they are digits, so nothing but a year is ever shown.
fn year_only(date: &str) -> String {
    match date.get(..4) {
        Some(year) if year.bytes().all(|b| b.is_ascii_digit()) => format!("{year}-**-**"),
        _ => "****-**-**".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_year_of_a_persons_birth_date_is_left() {
        let mut doc = json!({ "name": "张三", "birth_date": "1985-03-12", "sex": "male" });
        BirthDates::YearOnly.document(Entity::Person, &mut doc);
        assert_eq!(
            doc,
            json!({ "name": "张三", "birth_date": "1985-**-**", "sex": "male" })
        );
        assert_eq!(year_only("x98"), "****-**-**");
    }

    #[test]
    fn full_callers_and_other_entities_are_untouched() {
        let doc = json!({ "birth_date": "1985-03-12" });
        let mut full = doc.clone();
        BirthDates::Full.document(Entity::Person, &mut full);
        assert_eq!(full, doc);
        let mut other = doc.clone();
        BirthDates::YearOnly.document(Entity::Household, &mut other);
        assert_eq!(other, doc);
    }

    #[test]
    fn pull_text_is_narrowed_like_a_document() {
        let raw =
            serde_json::value::to_raw_value(&json!({ "birth_date": "1990-11-30" })).expect("raw");
        let shown = BirthDates::YearOnly.text(Entity::Person, raw);
        assert_eq!(shown.get(), r#"{"birth_date":"1990-**-**"}"#);
    }
}
