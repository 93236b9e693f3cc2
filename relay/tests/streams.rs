//! Streams and publish keys: the HTTP API (who may do what, validation, rotation), the key
//! check on WHIP, the stats route, and the CLI.

mod common;

use anchordesk_relay::auth::Role;
use common::{relay_command, staff_token, viewer_token};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn whip_with_key(http: &reqwest::Client, base: &str, key: &str) -> StatusCode {
    // Not a usable offer: past the key check it is refused as malformed (400).
    http.post(format!("{base}/whip/demo"))
        .header("content-type", "application/sdp")
        .bearer_auth(key)
        .body("v=0\r\n")
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn owners_and_anchors_manage_keys_that_whip_checks() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let base = relay.url();
    let http = reqwest::Client::new();
    let owner = staff_token(&relay, "boss", Role::Owner).await;
    let anchor = staff_token(&relay, "xiaomei", Role::Anchor).await;
    let assistant = staff_token(&relay, "helper", Role::Assistant).await;
    let viewer = viewer_token(relay.store()).await;
    let create = |token: String, body: Value| {
        let http = http.clone();
        let url = format!("{base}/api/streams");
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    let created = create(anchor.clone(), json!({ "name": "demo" })).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    let host = base.trim_start_matches("http://");
    assert_eq!(created["whip_url"], format!("http://{host}/whip/demo"));
    assert_eq!(created["whep_url"], format!("http://{host}/whep/demo"));
    assert_eq!(
        created["hls_url"],
        format!("http://{host}/hls/demo/index.m3u8")
    );

    for (token, status) in [
        (assistant.clone(), StatusCode::FORBIDDEN),
        (viewer.clone(), StatusCode::FORBIDDEN),
        (owner.clone(), StatusCode::CONFLICT),
    ] {
        let response = create(token, json!({ "name": "demo" })).await;
        assert_eq!(response.status(), status);
    }
    let bad = create(owner.clone(), json!({ "name": "Demo Room" })).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["field"], "name");

    // The key is stored hashed: it is in no list, and no column holds it.
    let list: Value = http
        .get(format!("{base}/api/streams"))
        .bearer_auth(&assistant)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "demo");
    assert_eq!(list[0]["publishing"], false);
    assert!(!list.to_string().contains(&key));
    let stored: String = sqlx::query_scalar("select key_hash from streams where name = 'demo'")
        .fetch_one(relay.store().pool())
        .await
        .unwrap();
    assert_ne!(stored, key);

    assert_eq!(
        whip_with_key(&http, &base, &key).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        whip_with_key(&http, &base, "nope").await,
        StatusCode::UNAUTHORIZED
    );

    let rotated = http
        .post(format!("{base}/api/streams/demo/key"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    let new_key = rotated["key"].as_str().unwrap();
    assert_ne!(new_key, key);
    assert_eq!(
        whip_with_key(&http, &base, &key).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        whip_with_key(&http, &base, new_key).await,
        StatusCode::BAD_REQUEST
    );
    let missing = http
        .post(format!("{base}/api/streams/nope/key"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let stats: Value = http
        .get(format!("{base}/api/streams/demo/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["publishing"], false);
    assert_eq!(stats["viewers"], 0);
    assert!(stats["video"].is_null());
    let unknown = http
        .get(format!("{base}/api/streams/nope/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    relay.shutdown().await.unwrap();
}

#[test]
fn the_cli_creates_a_stream_and_prints_its_key_and_urls() {
    let dir = tempfile::tempdir().unwrap();
    let mut create = relay_command(dir.path());
    create.args(["stream", "create", "shop-live", "--listen", "0.0.0.0:8686"]);
    let out = create.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("WHIP URL: http://127.0.0.1:8686/whip/shop-live"),
        "{stdout}"
    );
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("key:"))
        .and_then(|l| l.split_whitespace().next())
        .expect("a key line");
    assert_eq!(key.len(), 32);

    let mut again = relay_command(dir.path());
    again.args(["stream", "create", "shop-live"]);
    let out = again.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stream shop-live already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut list = relay_command(dir.path());
    list.args(["stream", "list"]);
    let out = list.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "shop-live");
}

#[tokio::test]
async fn clips_and_recording_deletion_refuse_what_is_not_there_or_not_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let base = relay.url();
    let http = reqwest::Client::new();
    let owner = staff_token(&relay, "boss", Role::Owner).await;
    let assistant = staff_token(&relay, "helper", Role::Assistant).await;
    let live = common::new_live(relay.store(), "回放").await;
    // A live without clips lists none; an unknown live or clip is a 404 naming it.
    let clips: Value = http
        .get(format!("{base}/api/lives/{live}/clips"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clips, json!([]));
    for path in ["/api/lives/999/clips", "/api/clips/999/video"] {
        let response = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    let delete = |token: Option<String>, file: &str| {
        let request = http.delete(format!("{base}/api/recordings/{file}"));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(delete(None, "demo-1.mp4").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        delete(Some(assistant), "demo-1.mp4").await,
        StatusCode::FORBIDDEN
    );
    for missing in ["demo-1.mp4", "..%2Fanchordesk.db", "notes.txt"] {
        assert_eq!(
            delete(Some(owner.clone()), missing).await,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    relay.shutdown().await.unwrap();
}
