//! Stored documents as text, masked for showing: what a pull page sends. A page shows a
//! thousand documents and most hold a sealed value (a person's ID number and phone, the
//! phone in a six-clears record), so masking is most of a pull's work. It is one pass over
//! the text that notes where the objects holding a `sealed` key are; the shown text is the
//! stored text with each of them replaced by its `masked` value, copied in spans. Nothing
//! is parsed into values. The result is checked as JSON once, as every shown document is.

use serde_json::value::RawValue;

use crate::values::{null, shown_document};

/// A stored document's text as shown: every object with a `sealed` key replaced by its
/// `masked` value, as [`shown_document`] does to a parsed document.
pub fn shown_text(text: String) -> Box<RawValue> {
    let shown = if holds_sealed(&text) {
        match Scanner::new(&text).replacements() {
            Some(found) if found.is_empty() => RawValue::from_string(text).ok(),
            Some(found) => RawValue::from_string(splice(&text, &found)).ok(),
            // A key spelled with escapes (the engine never writes one): the long way.
            None => the_long_way(&text),
        }
    } else {
        RawValue::from_string(text).ok()
    };
    // Stored documents are always JSON; an unreadable one is shown as null, not as its text.
    shown.unwrap_or_else(null)
}

/// Whether `text` may hold a sealed value. The engine writes documents with serde_json,
/// which never escapes a letter, so a `sealed` key reads as such; text with any `\u`
/// escape is looked into all the same, so a key spelled with escapes is never missed.
fn holds_sealed(text: &str) -> bool {
    text.contains("\"sealed\"") || text.contains("\\u")
}

/// Parses, masks and writes the document again.
fn the_long_way(text: &str) -> Option<Box<RawValue>> {
    let doc = shown_document(serde_json::from_str(text).ok()?);
    serde_json::value::to_raw_value(&doc).ok()
}

/// A span of the text: `[start, end)`.
type Span = (usize, usize);

/// A sealed object's span, and the span of its `masked` value (none: it stays as it is).
type Replacement = (Span, Option<Span>);

/// The text with each replacement's span replaced by its masked value.
fn splice(text: &str, found: &[Replacement]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for &((start, end), masked) in found {
        let (from, to) = masked.unwrap_or((start, end));
        out.push_str(&text[copied..start]);
        out.push_str(&text[from..to]);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// A cursor over JSON text that finds the sealed objects in it. Any text it does not
/// expect (which a document the engine wrote never holds) stops it with `None`.
struct Scanner<'t> {
    text: &'t [u8],
    pos: usize,
    found: Vec<Replacement>,
}

impl<'t> Scanner<'t> {
    fn new(text: &'t str) -> Self {
        Scanner {
            text: text.as_bytes(),
            pos: 0,
            found: Vec::new(),
        }
    }

    /// The sealed objects of the whole document, in order; none inside another.
    fn replacements(mut self) -> Option<Vec<Replacement>> {
        self.value()?;
        self.space();
        (self.pos == self.text.len()).then_some(self.found)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Scans one value. Objects are looked into; anything else is skipped (arrays are
    /// shown as they are, as [`shown_document`] leaves them).
    fn value(&mut self) -> Option<Span> {
        self.space();
        if self.peek()? == b'{' {
            self.object()
        } else {
            self.skip_value()
        }
    }

    fn object(&mut self) -> Option<Span> {
        let start = self.pos;
        let inner = self.found.len();
        let (mut sealed, mut masked) = (false, None);
        self.pos += 1;
        self.space();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some((start, self.pos));
        }
        loop {
            self.space();
            let (from, to) = self.skip_string()?;
            let key = &self.text[from..to];
            // A key with an escape in it could spell `sealed`.
            if key.contains(&b'\\') {
                return None;
            }
            self.space();
            (self.peek()? == b':').then_some(())?;
            self.pos += 1;
            let value = self.value()?;
            match key {
                b"\"sealed\"" => sealed = true,
                b"\"masked\"" => masked = Some(value),
                _ => {}
            }
            self.space();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => break,
                _ => return None,
            }
        }
        self.pos += 1;
        let span = (start, self.pos);
        if sealed {
            // Shown whole as its masked value: nothing inside it is looked at.
            self.found.truncate(inner);
            self.found.push((span, masked));
        }
        Some(span)
    }

    /// Skips one value; returns its span.
    fn skip_value(&mut self) -> Option<Span> {
        self.space();
        let start = self.pos;
        match self.peek()? {
            b'"' => {
                self.skip_string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.pos += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                ) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return None;
                }
            }
        }
        Some((start, self.pos))
    }

    /// Skips the string here, quotes included.
    fn skip_string(&mut self) -> Option<Span> {
        let start = self.pos;
        (self.peek()? == b'"').then_some(())?;
        self.pos += 1;
        loop {
            self.pos += memchr::memchr2(b'"', b'\\', &self.text[self.pos..])?;
            if self.peek()? == b'"' {
                self.pos += 1;
                return Some((start, self.pos));
            }
            self.pos += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn check(doc: &Value) {
        let shown = shown_text(doc.to_string());
        let parsed: Value = serde_json::from_str(shown.get()).expect("JSON");
        assert_eq!(parsed, shown_document(doc.clone()), "{doc}");
    }

    #[test]
    fn shown_text_masks_as_shown_document_does() {
        let sealed = json!({ "sealed": "v1:abc", "masked": "1101**********1234" });
        let docs = [
            json!({ "name": "张三", "age": 3 }),
            json!({ "name": "张三", "id_number": sealed.clone() }),
            json!({ "a": { "b": { "id_number": sealed.clone(), "c": [1, 2] } }, "d": "x" }),
            json!({ "list": [sealed.clone()], "note": "sealed" }),
            json!({ "we\"ird": { "x": sealed.clone() }, "ok": sealed.clone() }),
            json!({ "a": {}, "b": [], "c": { "sealed": 1 } }),
            json!({ "sealed": "v1:abc" }),
            json!({ "s": "}{][\\\"", "p": { "masked": {"x": 1}, "sealed": null } }),
            json!({ "n": -1.5e3, "t": true, "f": false, "z": null, "e": { "sealed": 2 } }),
            sealed.clone(),
            json!("sealed"),
            json!(null),
        ];
        for doc in &docs {
            check(doc);
        }
        assert_eq!(shown_text("not json".to_string()).get(), "null");
        assert_eq!(shown_text("{\"sealed\":1".to_string()).get(), "null");
        assert_eq!(shown_text("{\"sealed\":1} x".to_string()).get(), "null");
        // A key spelled with escapes (the engine never writes one) is still masked.
        let escaped = r#"{"x": {"\u0073ealed": "v1:abc", "masked": "1101**"}}"#;
        let shown: Value =
            serde_json::from_str(shown_text(escaped.to_string()).get()).expect("JSON");
        assert_eq!(shown, json!({ "x": "1101**" }));
        // Text with spaces between its tokens is masked all the same.
        let spaced = "{ \"a\" : { \"sealed\" : \"v1\" , \"masked\" : \"1**\" } , \"b\" : [ 1 ] }";
        let shown: Value =
            serde_json::from_str(shown_text(spaced.to_string()).get()).expect("JSON");
        assert_eq!(shown, json!({ "a": "1**", "b": [1] }));
    }

    /// Documents of every shape: objects nested in objects and arrays, keys that collide
    /// with `sealed` and `masked`, strings with quotes and braces in them.
    fn documents() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("sealed".to_string()),
            Just("masked".to_string()),
            "[a-z\"{}\\\\ ]{0,4}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[a-z\"{}\\[\\]\\\\,: 张]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(key.clone(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_document_is_masked_as_shown_document_masks_it(doc in documents()) {
            check(&doc);
        }
    }
}
