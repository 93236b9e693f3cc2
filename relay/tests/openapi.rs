//! `GET /api/openapi.json` describes the API the relay really serves: every documented path
//! and method reaches a handler (not the router's 404/405), answers with a status the document
//! lists for it, and the money fields are integers.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use anchordesk_relay::RunningRelay;
use anchordesk_relay::api::ErrorBody;
use anchordesk_relay::auth::Role;
use serde_json::Value;

/// A relay with a viewer and the shop owner, each with a token.
struct Served {
    _dir: tempfile::TempDir,
    relay: RunningRelay,
    viewer: String,
    owner: String,
}

async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let viewer = common::viewer_token(relay.store()).await;
    let owner = common::staff_token(&relay, "owner", Role::Owner).await;
    Served {
        _dir: dir,
        relay,
        viewer,
        owner,
    }
}

async fn document(base: &str) -> Value {
    let response = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    response.json().await.unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every (method, path template, operation) in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// A concrete URL for a path template: ids that exist nowhere, a file name that is no file.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{file}" => "0000.png",
            s if s.starts_with('{') => "987654",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_unique_operations_and_resolvable_refs() {
    let served = serve().await;
    let doc = document(&served.relay.url()).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["info"]["title"], "AnchorDesk relay API");

    let ops = operations(&doc);
    assert!(ops.len() >= 50, "only {} operations documented", ops.len());
    let mut ids = BTreeSet::new();
    for (method, path, op) in &ops {
        let id = op["operationId"].as_str().unwrap_or_else(|| {
            panic!("{method} {path} has no operationId");
        });
        assert!(ids.insert(id.to_owned()), "operationId {id} used twice");
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path} has no tag"
        );
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} documents no response"
        );
    }

    // Every `$ref` names something the document defines.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {reference}"));
        assert!(
            doc.pointer(pointer).is_some(),
            "$ref {reference} resolves to nothing"
        );
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Each documented operation, called with an empty JSON object and ids that do not exist,
/// anonymously, as a viewer and as the shop owner, is answered by its handler with one of the
/// statuses the document lists for it. A route the router does not have would be a 405, or
/// a 404 naming the endpoint.
#[tokio::test]
async fn every_documented_operation_is_served_and_answers_as_documented() {
    let served = serve().await;
    let doc = document(&served.relay.url()).await;
    let client = reqwest::Client::new();
    let mut checked = 0;
    for token in [
        None,
        Some(served.viewer.as_str()),
        Some(served.owner.as_str()),
    ] {
        for (method, path, op) in operations(&doc) {
            // Logging out would end the token the later calls use.
            if token.is_some() && op["operationId"] == "logout" {
                continue;
            }
            probe(&client, &served.relay.url(), token, &method, &path, &op).await;
            checked += 1;
        }
    }
    assert!(checked >= 150, "only {checked} calls");
}

async fn probe(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    method: &str,
    template: &str,
    op: &Value,
) {
    let url = format!("{base}{}", concrete(template));
    let mut request = client
        .request(method.to_uppercase().parse().unwrap(), &url)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method != "get" && method != "delete" {
        request = request.body("{}");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let call = format!(
        "{method} {template} {}",
        if token.is_some() {
            "with a token"
        } else {
            "anonymously"
        }
    );
    assert_ne!(status, 405, "{call}: the router has no such method");
    if status == 404 {
        let error: ErrorBody = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{call}: 404 without an ErrorBody ({e})"));
        assert!(
            !error.error.message.starts_with("endpoint "),
            "{call}: the router has no such path"
        );
    }
    let documented: BTreeSet<u16> = op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    assert!(
        documented.contains(&status),
        "{call} answered {status} ({body}), documented: {documented:?}"
    );
    // A route that needs a token says so, and the relay refuses it without one.
    let anonymous_allowed = op
        .get("security")
        .and_then(Value::as_array)
        .is_none_or(|options| {
            options
                .iter()
                .any(|o| o.as_object().is_some_and(|m| m.is_empty()))
        });
    if !anonymous_allowed && token.is_none() {
        assert_eq!(status, 401, "{call} needs a token but answered {status}");
    }
    // Every error but a malformed query string is an ErrorBody.
    if status > 400 {
        serde_json::from_str::<ErrorBody>(&body)
            .unwrap_or_else(|e| panic!("{call}: {status} without an ErrorBody: {e}"));
    }
}

/// What a client generator sees for the shop's main objects: money in integer fen.
#[tokio::test]
async fn money_and_ids_are_integers_in_the_schemas() {
    let served = serve().await;
    let doc = document(&served.relay.url()).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut fen_fields: BTreeMap<String, String> = BTreeMap::new();
    for (name, schema) in schemas {
        if let Some(props) = schema["properties"].as_object() {
            for (field, prop) in props {
                if field.ends_with("_fen") {
                    let kind = match &prop["type"] {
                        Value::String(t) => t.clone(),
                        Value::Array(ts) => ts
                            .iter()
                            .filter_map(Value::as_str)
                            .filter(|t| *t != "null")
                            .collect::<Vec<_>>()
                            .join(","),
                        other => other.to_string(),
                    };
                    fen_fields.insert(format!("{name}.{field}"), kind);
                }
            }
        }
    }
    for required in [
        "Product.price_fen",
        "Sku.price_fen",
        "Order.total_fen",
        "FlashSale.sale_price_fen",
    ] {
        assert!(
            fen_fields.contains_key(required),
            "{required} missing; fen fields: {fen_fields:?}"
        );
    }
    for (field, kind) in &fen_fields {
        assert_eq!(kind, "integer", "{field} is {kind}, money is integer fen");
    }
    assert_eq!(schemas["Product"]["properties"]["id"]["type"], "integer");
}
