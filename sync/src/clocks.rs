//! A record's field clocks: for each field, the write its current value came from.
//!
//! Stored compactly in `records.clocks`: each distinct write once, and each field as an
//! index into them, `{"w": [[hlc, version, device, user], …], "f": {"path": index, …}}`.
//! A record created with 24 fields has one write, not 24 copies of it; an edit adds one.
//! (The first form kept a whole clock per field, `{"path": {"hlc", "v", "d", "u"}}`: about
//! five times the size of the record's data, written again on every edit. It is still read.)

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The write a field's current value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldClock {
    pub hlc: String,
    /// The change number that wrote it.
    pub v: i64,
    pub d: Option<String>,
    pub u: Option<String>,
}

/// The field clocks of one record, their paths borrowed from the stored text they were
/// read from (an edit reads a record's clocks, changes a few and writes them again: 24
/// paths copied out and freed was half of reading them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldClocks<'t> {
    writes: Vec<FieldClock>,
    fields: BTreeMap<Path<'t>, usize>,
}

/// A field path, borrowed from the text when it can be.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Path<'t>(Cow<'t, str>);

impl std::borrow::Borrow<str> for Path<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 't, 't> Deserialize<'de> for Path<'t> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Path<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field path")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Path<'de>, E> {
                Ok(Path(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Path<'de>, E> {
                Ok(Path(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The stored form; a write is a 4-tuple so its keys are not repeated.
#[derive(Deserialize)]
struct Stored<'t> {
    w: Vec<(String, i64, Option<String>, Option<String>)>,
    #[serde(borrow)]
    f: BTreeMap<Path<'t>, usize>,
}

impl<'t> FieldClocks<'t> {
    /// Reads either stored form. Text that is neither (a hand-written `{}`, damage) reads
    /// as no clocks: every field then counts as written before any phone's base version.
    pub fn parse(text: &'t str) -> FieldClocks<'t> {
        if let Ok(stored) = serde_json::from_str::<Stored<'t>>(text) {
            let writes: Vec<FieldClock> = stored
                .w
                .into_iter()
                .map(|(hlc, v, d, u)| FieldClock { hlc, v, d, u })
                .collect();
            let mut fields = stored.f;
            fields.retain(|_, i| *i < writes.len());
            return FieldClocks { writes, fields };
        }
        // The first form, read entry by entry: one damaged clock loses only its field's.
        let legacy: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(text).unwrap_or_default();
        let mut clocks = FieldClocks::default();
        for (path, clock) in legacy {
            if let Ok(clock) = serde_json::from_value::<FieldClock>(clock) {
                clocks.set(&path, &clock);
            }
        }
        clocks
    }

    pub fn get(&self, path: &str) -> Option<&FieldClock> {
        self.fields.get(path).map(|i| &self.writes[*i])
    }

    /// Records that `path`'s value now comes from `clock`.
    pub fn set(&mut self, path: &str, clock: &FieldClock) {
        // The write being applied is nearly always the last one added.
        let index = match self.writes.iter().rposition(|w| w == clock) {
            Some(i) => i,
            None => {
                self.writes.push(clock.clone());
                self.writes.len() - 1
            }
        };
        match self.fields.get_mut(path) {
            Some(i) => *i = index,
            None => {
                self.fields
                    .insert(Path(Cow::Owned(path.to_string())), index);
            }
        }
    }

    /// The stored form, without the writes no field points at any more. Written from
    /// borrowed parts: it runs for every record a push writes.
    pub fn to_text(&self) -> String {
        let mut renumber = vec![usize::MAX; self.writes.len()];
        let mut w = Vec::new();
        for &i in self.fields.values() {
            if renumber[i] == usize::MAX {
                renumber[i] = w.len();
                let c = &self.writes[i];
                w.push((c.hlc.as_str(), c.v, c.d.as_deref(), c.u.as_deref()));
            }
        }
        let out = StoredRef {
            w,
            f: FieldIndexes(&self.fields, &renumber),
        };
        serde_json::to_string(&out).unwrap_or_else(|_| "{}".into())
    }

    /// For clocks where every field comes from one write (a new record's), the part of
    /// the stored form that does not depend on the write: the fields, each pointing at it.
    /// Made before the write lock; [`FieldClocks::one_write_text`] adds the write.
    pub fn fields_of_one_write(paths: &[&str]) -> String {
        let fields: BTreeMap<&str, usize> = paths.iter().map(|p| (*p, 0)).collect();
        serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into())
    }

    /// The stored form of clocks where `fields` (from [`FieldClocks::fields_of_one_write`])
    /// all come from `clock`: what setting each of them to `clock` and [`FieldClocks::to_text`]
    /// would give.
    pub fn one_write_text(clock: &FieldClock, fields: &str) -> String {
        let write = (
            clock.hlc.as_str(),
            clock.v,
            clock.d.as_deref(),
            clock.u.as_deref(),
        );
        let write = serde_json::to_string(&write).unwrap_or_else(|_| "[]".into());
        format!(r#"{{"w":[{write}],"f":{fields}}}"#)
    }
}

/// [`Stored`], borrowed.
#[derive(Serialize)]
struct StoredRef<'a, 't> {
    w: Vec<(&'a str, i64, Option<&'a str>, Option<&'a str>)>,
    f: FieldIndexes<'a, 't>,
}

/// Each field's write, renumbered.
struct FieldIndexes<'a, 't>(&'a BTreeMap<Path<'t>, usize>, &'a [usize]);

impl Serialize for FieldIndexes<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(path, i)| (&*path.0, self.1[*i])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(hlc: &str, v: i64) -> FieldClock {
        FieldClock {
            hlc: hlc.into(),
            v,
            d: Some("dev".into()),
            u: Some("user".into()),
        }
    }

    #[test]
    fn a_write_is_stored_once_and_unused_ones_are_dropped() {
        let mut clocks = FieldClocks::default();
        let created = clock("a", 1);
        for path in ["name", "phone", "basic.education"] {
            clocks.set(path, &created);
        }
        let text = clocks.to_text();
        assert_eq!(text.matches("\"a\"").count(), 1, "{text}");

        let mut edited = FieldClocks::parse(&text);
        assert_eq!(edited, clocks);
        edited.set("phone", &clock("b", 2));
        edited.set("name", &clock("b", 2));
        edited.set("basic.education", &clock("c", 3));
        let text = edited.to_text();
        assert!(!text.contains("\"a\""), "the first write is unused: {text}");
        let read = FieldClocks::parse(&text);
        assert_eq!(read.get("phone").map(|c| c.v), Some(2));
        assert_eq!(read.get("basic.education").map(|c| c.v), Some(3));
        assert_eq!(read.get("missing"), None);
    }

    #[test]
    fn one_write_text_is_what_setting_each_field_gives() {
        let write = clock("h\"1", 7);
        let paths = ["phone", "name", "basic.education", "name"];
        let mut clocks = FieldClocks::default();
        for path in paths {
            clocks.set(path, &write);
        }
        let fields = FieldClocks::fields_of_one_write(&paths);
        assert_eq!(
            FieldClocks::one_write_text(&write, &fields),
            clocks.to_text()
        );
        let anonymous = FieldClock {
            d: None,
            u: None,
            ..write
        };
        let text = FieldClocks::one_write_text(&anonymous, &fields);
        assert_eq!(FieldClocks::parse(&text).get("name"), Some(&anonymous));
    }

    #[test]
    fn paths_are_borrowed_from_the_text_unless_escaped() {
        let text = r#"{"w":[["h",1,"dev","user"]],"f":{"name":0,"odd\"path":0}}"#;
        let clocks = FieldClocks::parse(text);
        let kinds: Vec<bool> = clocks
            .fields
            .keys()
            .map(|p| matches!(p.0, Cow::Borrowed(_)))
            .collect();
        assert_eq!(kinds, [true, false], "{clocks:?}");
        assert_eq!(clocks.get("odd\"path").map(|c| c.v), Some(1));
        assert_eq!(FieldClocks::parse(&clocks.to_text()), clocks);
    }

    #[test]
    fn the_first_stored_form_is_still_read() {
        let legacy = r#"{"name":{"hlc":"h1","v":4,"d":"dev","u":"user"},
                         "phone":{"hlc":"h2","v":5,"d":null,"u":null}}"#;
        let clocks = FieldClocks::parse(legacy);
        assert_eq!(clocks.get("name"), Some(&clock("h1", 4)));
        assert_eq!(
            clocks.get("phone").map(|c| (c.v, c.d.clone())),
            Some((5, None))
        );
        assert_eq!(FieldClocks::parse("{}"), FieldClocks::default());
        let damaged = r#"{"name":{"hlc":"h1","v":4,"d":"dev","u":"user"},"phone":7}"#;
        assert_eq!(
            FieldClocks::parse(damaged).get("name"),
            Some(&clock("h1", 4))
        );
        assert_eq!(FieldClocks::parse("not json"), FieldClocks::default());
    }
}
