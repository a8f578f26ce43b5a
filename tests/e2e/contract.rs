//! `openapi.yaml` and the server describe the same operations.

use std::collections::BTreeSet;

use serde_norway::Value;

#[test]
fn the_spec_and_the_server_have_the_same_operations() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml");
    let spec: Value = serde_norway::from_str(&text).expect("valid YAML");
    assert_eq!(spec["openapi"].as_str(), Some("3.1.0"));
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let mut in_spec = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().expect("paths") {
        let path = path.as_str().expect("path");
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method");
            if methods.contains(&method) {
                in_spec.insert((method.to_uppercase(), path.to_string()));
            }
        }
    }
    let served: BTreeSet<(String, String)> =
        liuqing_api::routes::operations().into_iter().collect();
    let missing_in_spec: Vec<_> = served.difference(&in_spec).collect();
    let missing_in_server: Vec<_> = in_spec.difference(&served).collect();
    assert!(
        missing_in_spec.is_empty() && missing_in_server.is_empty(),
        "served but not in openapi.yaml: {missing_in_spec:?}\nin openapi.yaml but not served: {missing_in_server:?}"
    );
}

#[test]
fn the_served_spec_is_the_file() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml");
    assert_eq!(liuqing_api::routes::OPENAPI_YAML, text);
}
