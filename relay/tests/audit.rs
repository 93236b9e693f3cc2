//! The audit log over real HTTP: staff actions with who and before/after, readable by the owner.

mod common;

use anchordesk_relay::audit;
use anchordesk_relay::auth::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn staff_actions_are_audited_with_before_and_after_for_the_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let owner = common::staff_token(&relay, "boss", Role::Owner).await;
    let assistant = common::staff_token(&relay, "xiaowang", Role::Assistant).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", relay.url());

    let product: Value = http
        .post(url("/api/products"))
        .bearer_auth(&assistant)
        .json(&json!({ "title": "蜂蜜 500g", "price_fen": 5_900, "stock": 10 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = product["id"].as_i64().unwrap();
    let res = http
        .patch(url(&format!("/api/products/{id}")))
        .bearer_auth(&assistant)
        .json(&json!({ "price_fen": 4_900 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let res = http
        .get(url("/api/audit"))
        .bearer_auth(&assistant)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "assistants do not read the audit log");
    let entries: Vec<Value> = http
        .get(url("/api/audit"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    let update = &entries[0];
    assert_eq!(update["username"], "xiaowang");
    assert_eq!(update["action"], "update product");
    assert_eq!(update["detail"]["before"]["price_fen"], 5_900);
    assert_eq!(update["detail"]["after"]["price_fen"], 4_900);
    assert_eq!(entries[1]["action"], "create product");

    // Past the retention period, entries are purged.
    let now = entries[0]["at_ms"].as_i64().unwrap();
    assert_eq!(
        audit::purge_before(relay.store(), now + 1).await.unwrap(),
        2
    );
    assert!(
        audit::list(relay.store(), None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    relay.shutdown().await.unwrap();
}
