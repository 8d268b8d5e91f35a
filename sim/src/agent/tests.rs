//! `sim/agent-api.yaml` and the router agree: the same paths and methods, and every operation
//! documents the errors its endpoint can answer.

use std::collections::BTreeSet;

use super::routes::routes;

const OPENAPI: &str = include_str!("../../agent-api.yaml");

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn openapi() -> serde_yaml::Value {
    serde_yaml::from_str(OPENAPI).expect("agent-api.yaml is YAML")
}

/// (method, path) of every operation of the file.
fn documented(spec: &serde_yaml::Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_mapping().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().unwrap().to_owned();
            item.as_mapping()
                .unwrap()
                .keys()
                .filter_map(|key| key.as_str())
                .filter(|key| METHODS.contains(key))
                .map(move |method| (method.to_owned(), path.clone()))
        })
        .collect()
}

#[test]
fn the_openapi_file_describes_exactly_the_routes_served() {
    let served: BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(method, path, _)| (method.as_str().to_lowercase(), path.to_owned()))
        .collect();
    assert_eq!(documented(&openapi()), served);
}

#[test]
fn every_operation_documents_the_errors_it_can_answer() {
    let spec = openapi();
    assert_eq!(spec["openapi"].as_str(), Some("3.1.0"));
    assert!(spec["components"]["securitySchemes"]["bearer"].is_mapping());
    for (method, path) in documented(&spec) {
        let responses = &spec["paths"][path.as_str()][method.as_str()]["responses"];
        let mut expected = vec!["200", "401", "429", "500"];
        if path.contains("{name}") {
            expected.extend(["403", "404"]);
        }
        if path.ends_with("/logs") {
            expected.push("400");
        }
        if method == "post" {
            expected.extend(["400", "413"]);
        }
        for status in expected {
            assert!(
                responses[status].is_mapping(),
                "{method} {path} does not document {status}"
            );
        }
    }
}
