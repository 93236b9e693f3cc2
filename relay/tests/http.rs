//! The relay's HTTP surface on a real database (SQLite file or PostgreSQL), in-process.

mod common;

use std::time::Duration;

use anchordesk_relay::api::{ErrorBody, Health, HealthStatus, VersionInfo};
use anchordesk_relay::http;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn bundled(dir: &std::path::Path) -> anchordesk_relay::RunningRelay {
    anchordesk_relay::start(&common::config(dir).await)
        .await
        .expect("relay starts")
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("request")
}

#[tokio::test]
async fn healthz_and_version_answer_from_a_migrated_database() {
    let dir = tempfile::tempdir().unwrap();
    let relay = bundled(dir.path()).await;
    let config = relay.config().clone();

    let res = get(&format!("{}/healthz", relay.url())).await;
    assert_eq!(res.status(), 200);
    let health: Health = res.json().await.unwrap();
    assert_eq!(health.status, HealthStatus::Ok);

    let version: VersionInfo = get(&format!("{}/api/version", relay.url()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(version.name, "anchordesk-relay");
    assert_eq!(
        i64::from(version.schema_version),
        anchordesk_relay::Store::latest_migration()
    );
    assert_eq!(version.instance_id.len(), 32);

    relay.shutdown().await.unwrap();
    // The migrations really landed in the database, read back with the backend's own driver.
    let applied: i64 = match &config.database_url {
        None => {
            let db = dir.path().join("anchordesk.db");
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(applied, anchordesk_relay::Store::latest_migration());
}

#[tokio::test]
async fn viewer_page_is_served_at_root_and_live_paths_with_cache_headers() {
    let dir = tempfile::tempdir().unwrap();
    let relay = bundled(dir.path()).await;

    for path in ["/", "/live/42"] {
        let res = get(&format!("{}{path}", relay.url())).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/html", "{path}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
        let html = res.text().await.unwrap();
        assert!(html.contains("<title>AnchorDesk 直播间</title>"), "{html}");
    }

    // Hashed bundles referenced by the page are immutable.
    let html = get(&relay.url()).await.text().await.unwrap();
    let script = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("page references a script bundle");
    let res = get(&format!("{}{script}", relay.url())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );

    // The studio entry only works inside the Tauri window, so the relay does not serve it.
    assert_eq!(
        get(&format!("{}/studio.html", relay.url())).await.status(),
        404
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_api_path_is_a_json_404() {
    let dir = tempfile::tempdir().unwrap();
    let store = anchordesk_relay::Store::open(dir.path(), &dir.path().join("t.db"))
        .await
        .unwrap();
    let app = http::app(http::AppState::new(store, Default::default()));
    let res = app
        .oneshot(Request::get("/api/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let err: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(err.error.code, "not_found");
    assert!(err.error.message.contains("/api/nope"));
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let store = anchordesk_relay::Store::open(dir.path(), &dir.path().join("t.db"))
        .await
        .unwrap();
    let slow = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "done"
        }),
    );
    let app = http::app(http::AppState::new(store, Default::default())).merge(slow);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, app, async {
        let _ = stop_rx.await;
    }));

    let in_flight = tokio::spawn(async move { reqwest::get(format!("http://{addr}/slow")).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop_tx.send(()).unwrap();

    let res = in_flight
        .await
        .unwrap()
        .expect("in-flight request completes");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "done");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stops after draining")
        .unwrap()
        .unwrap();
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err(),
        "no new connections"
    );
}
