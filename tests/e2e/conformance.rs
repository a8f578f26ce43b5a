//! Every reply the e2e client receives is held against `openapi.yaml`: the operation must be
//! in the spec, its status must be declared for it (only a 5xx may fall to `default`), its content type must be one the
//! spec lists, and a JSON body must validate against the declared schema — strictly: a
//! member the schema does not declare is a failure too, unless the schema leaves the object
//! open (`additionalProperties`, or a free-form object with no `properties`).
//!
//! So the whole e2e suite is the contract test for responses: a field added to a reply
//! without the spec, or renamed in one and not the other, fails the first test that sees it.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use reqwest::Method;
use serde_json::Value;

static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml");
    serde_norway::from_str(&text).expect("openapi.yaml is valid YAML")
});

/// Compiled validators by JSON pointer into the spec.
static VALIDATORS: LazyLock<Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

/// Checks one reply; panics with what disagrees.
pub fn check(method: &Method, path: &str, status: u16, content_type: Option<&str>, body: &Value) {
    let path = path.split('?').next().unwrap_or(path);
    let Some(operation) = operation(method, path) else {
        // A probe of a path or method the server does not serve: it must be refused.
        assert!(
            status >= 400,
            "{method} {path} answered {status} but is not in openapi.yaml"
        );
        return;
    };
    let responses = &SPEC["paths"][&operation.0][operation.1.as_str()]["responses"];
    let key = status.to_string();
    let at = format!("/paths/{}/{}/responses", escape(&operation.0), operation.1);
    let pointer = match responses.get(&key) {
        Some(_) => format!("{at}/{key}"),
        // Every refusal a client can act on is declared; only a server fault (5xx) may fall
        // to `default`.
        None if status >= 500 && responses.get("default").is_some() => format!("{at}/default"),
        None => panic!(
            "{method} {path} answered {status}, which openapi.yaml does not declare for {} {}",
            operation.1, operation.0
        ),
    };
    let (declared, pointer) = resolve(pointer);
    let Some(content) = declared.get("content").and_then(Value::as_object) else {
        assert!(
            body.is_null(),
            "{method} {path} {status}: openapi.yaml declares no body, the server sent {body}"
        );
        return;
    };
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(
        content.contains_key(&media),
        "{method} {path} {status}: content type `{media}` is not among {:?}",
        content.keys().collect::<Vec<_>>()
    );
    if !media.ends_with("json") {
        return;
    }
    let schema_pointer = format!("{pointer}/content/{}/schema", escape(&media));
    let validator = validator(&schema_pointer);
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: the body does not match openapi.yaml:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
    let schema: &'static Value = SPEC.pointer(&schema_pointer).expect("schema");
    let extra = undeclared(schema, body, "");
    assert!(
        extra.is_empty(),
        "{method} {path} {status}: members openapi.yaml does not declare: {extra:?}\nbody: {body}"
    );
}

/// The spec's path template and method for a served path, preferring literal segments.
fn operation(method: &Method, path: &str) -> Option<(String, String)> {
    let method = method.as_str().to_lowercase();
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, String)> = None;
    for (template, item) in SPEC["paths"].as_object()? {
        if item.get(&method).is_none() {
            continue;
        }
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let fits = parts.iter().zip(&segments).all(|(p, s)| {
            if p.starts_with('{') && p.ends_with('}') {
                !s.is_empty()
            } else {
                literal += 1;
                p == s
            }
        });
        if fits && best.as_ref().is_none_or(|(n, _)| literal > *n) {
            best = Some((literal, template.clone()));
        }
    }
    best.map(|(_, template)| (template, method))
}

/// Follows `$ref`s from a pointer to the object they end at, with its pointer.
fn resolve(mut pointer: String) -> (&'static Value, String) {
    loop {
        let at: &'static Value = SPEC.pointer(&pointer).expect("pointer into the spec");
        match at.get("$ref").and_then(Value::as_str) {
            Some(r) => pointer = r.trim_start_matches('#').to_string(),
            None => return (at, pointer),
        }
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn validator(pointer: &str) -> std::sync::Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pointer.to_string())
        .or_insert_with(|| {
            // The whole spec is the root document so `#/components/...` references resolve;
            // OpenAPI's own keywords are unknown to JSON Schema and ignored.
            let mut root = SPEC.clone();
            let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
            root["$ref"] = Value::String(format!("#{fragment}"));
            std::sync::Arc::new(
                jsonschema::draft202012::options()
                    .build(&root)
                    .unwrap_or_else(|e| panic!("schema at {pointer} does not compile: {e}")),
            )
        })
        .clone()
}

/// Members of `value` that `schema` does not declare, as JSON paths.
fn undeclared(schema: &'static Value, value: &Value, at: &str) -> Vec<String> {
    let shape = Shape::of(schema);
    match value {
        Value::Object(members) => members
            .iter()
            .flat_map(|(name, member)| {
                let at = format!("{at}/{name}");
                match (shape.properties.get(name.as_str()), shape.additional) {
                    (Some(candidates), _) => best(candidates, member, &at),
                    (None, Some(extra)) => undeclared(extra, member, &at),
                    (None, None) if shape.is_open() => Vec::new(),
                    (None, None) => vec![at],
                }
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, item)| best(&shape.items, item, &format!("{at}/{i}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// The fewest undeclared members among the schemas a value might be read by.
fn best(candidates: &[&'static Value], value: &Value, at: &str) -> Vec<String> {
    candidates
        .iter()
        .map(|s| undeclared(s, value, at))
        .min_by_key(Vec::len)
        .unwrap_or_default()
}

fn deref(mut schema: &'static Value) -> &'static Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        schema = SPEC
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}"));
    }
    schema
}

/// What a schema declares for an object's members or an array's items, merged over
/// `allOf`/`oneOf`/`anyOf`.
#[derive(Default)]
struct Shape {
    properties: HashMap<&'static str, Vec<&'static Value>>,
    items: Vec<&'static Value>,
    additional: Option<&'static Value>,
    /// `additionalProperties: true` or `patternProperties` somewhere.
    open: bool,
    /// Some branch says nothing about members at all (`type: object`, `{}`): free-form.
    free_form: bool,
}

impl Shape {
    fn of(schema: &'static Value) -> Shape {
        let mut shape = Shape::default();
        shape.collect(schema);
        shape
    }

    fn collect(&mut self, schema: &'static Value) {
        let schema = deref(schema);
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, s) in props {
                self.properties.entry(name.as_str()).or_default().push(s);
            }
        }
        if let Some(items) = schema.get("items") {
            self.items.push(items);
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) | None => {}
            Some(Value::Bool(true)) => self.open = true,
            Some(s) => self.additional = Some(s),
        }
        if schema.get("patternProperties").is_some() {
            self.open = true;
        }
        let mut branches = false;
        for key in ["allOf", "oneOf", "anyOf"] {
            for sub in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                branches = true;
                self.collect(sub);
            }
        }
        let says_nothing = [
            "properties",
            "additionalProperties",
            "patternProperties",
            "items",
        ]
        .iter()
        .all(|k| schema.get(*k).is_none());
        if says_nothing && !branches {
            self.free_form = true;
        }
    }

    fn is_open(&self) -> bool {
        self.open || (self.free_form && self.properties.is_empty())
    }
}

#[cfg(test)]
mod the_checker {
    use serde_json::json;

    use super::*;

    fn fails(method: Method, path: &str, status: u16, body: Value) -> bool {
        std::panic::catch_unwind(|| check(&method, path, status, Some("application/json"), &body))
            .is_err()
    }

    #[test]
    fn passes_what_the_spec_declares() {
        assert!(!fails(
            Method::GET,
            "/healthz",
            200,
            json!({ "status": "ok" })
        ));
    }

    #[test]
    fn refuses_a_member_the_spec_does_not_declare() {
        assert!(fails(
            Method::GET,
            "/healthz",
            200,
            json!({ "status": "ok", "uptime": 3 })
        ));
    }

    #[test]
    fn refuses_a_wrong_type_or_a_missing_member() {
        assert!(fails(Method::GET, "/healthz", 200, json!({ "status": 1 })));
        assert!(fails(Method::GET, "/healthz", 200, json!({})));
    }

    #[test]
    fn refuses_an_undeclared_success_status_and_an_unknown_operation() {
        assert!(fails(
            Method::GET,
            "/healthz",
            201,
            json!({ "status": "ok" })
        ));
        assert!(fails(Method::GET, "/v1/nothing/here", 200, json!({})));
    }

    #[test]
    fn reads_nested_members_through_references_and_path_parameters() {
        let node = |extra: Option<(&str, Value)>| {
            let mut node = json!({
                "id": "n1", "parent_id": null, "kind": "district",
                "name": "鼓楼区", "created_at": "2026-12-05T00:00:00Z",
            });
            if let Some((name, value)) = extra {
                node[name] = value;
            }
            node
        };
        let list = |n: Value| json!({ "items": [n] });
        assert!(!fails(Method::GET, "/v1/org/nodes", 200, list(node(None))));
        assert!(fails(
            Method::GET,
            "/v1/org/nodes",
            200,
            list(node(Some(("path", json!("/n1/")))))
        ));
        assert!(!fails(Method::GET, "/v1/org/nodes/n1", 200, node(None)));
        assert!(fails(
            Method::GET,
            "/v1/org/nodes/n1",
            200,
            node(Some(("kind", json!("planet"))))
        ));
    }
}
