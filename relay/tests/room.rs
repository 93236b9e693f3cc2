//! `GET /api/lives/{id}/room`: what a viewer page opens with, consistent with the event log it
//! resumes from.

mod common;

use anchordesk_relay::auth::Role;
use anchordesk_relay::events;
use serde_json::{Value, json};

#[tokio::test]
async fn room_shows_the_pin_sales_coupons_lotteries_and_latest_comments_with_the_resume_point() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let store = relay.store();
    let live_id = common::new_live(store, "直播间快照").await;
    let staff = common::staff_token(&relay, "host", Role::Anchor).await;
    let viewer = common::viewer_token(store).await;
    let cup = common::product(store, "保温杯", 6_900, 10).await;
    let http = reqwest::Client::new();
    let url = |p: String| format!("{}{p}", relay.url());
    let post = |path: String, token: &str, body: Value| {
        http.post(url(path)).bearer_auth(token).json(&body).send()
    };

    let read_room = || {
        let request = http.get(url(format!("/api/lives/{live_id}/room")));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let empty = read_room().await;
    assert_eq!(empty["last_event_id"], 0);
    assert_eq!(
        empty["on_air"], false,
        "nobody publishes this live's stream"
    );
    assert_eq!(empty["likes"], 0);

    for (path, body) in [
        (
            format!("/api/lives/{live_id}/cart"),
            json!({ "product_id": cup.id }),
        ),
        (
            format!("/api/lives/{live_id}/pin"),
            json!({ "product_id": cup.id }),
        ),
        (
            format!("/api/lives/{live_id}/flash-sales"),
            json!({ "sku_id": cup.skus[0].id, "sale_price_fen": 3_900, "quantity": 3, "duration_secs": 60 }),
        ),
        (
            "/api/coupons".into(),
            json!({ "live_id": live_id, "title": "满50减10", "amount_off_fen": 1_000, "threshold_fen": 5_000,
                    "quantity": 100, "valid_until_ms": 4_102_444_800_000i64 }),
        ),
        (
            format!("/api/lives/{live_id}/lotteries"),
            json!({ "prize": "保温杯", "winners": 1, "duration_secs": 60 }),
        ),
    ] {
        let res = post(path.clone(), &staff, body).await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    // More comments than the room keeps: it opens with the latest ones, oldest first.
    let total = anchordesk_relay::room::RECENT_COMMENTS + 5;
    for i in 0..total {
        let res = post(
            format!("/api/lives/{live_id}/comments"),
            &viewer,
            json!({ "body": format!("第{i}条") }),
        )
        .await
        .unwrap();
        if res.status() == 429 {
            // The per-viewer rate limit: the rest come from other viewers, on phones of their
            // own (127.0.0.2, …: the limit per address would stop one phone too).
            let other = common::viewer_token(store).await;
            let phone = reqwest::Client::builder()
                .local_address(Some(std::net::IpAddr::from([127, 0, 0, 2 + i as u8])))
                .build()
                .unwrap();
            let res = phone
                .post(url(format!("/api/lives/{live_id}/comments")))
                .bearer_auth(&other)
                .json(&json!({ "body": format!("第{i}条") }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        } else {
            assert_eq!(res.status(), 201);
        }
    }
    let res = post(
        format!("/api/lives/{live_id}/likes"),
        &viewer,
        json!({ "count": 7 }),
    )
    .await
    .unwrap();
    assert!(res.status().is_success());

    // Comments and likes are written in batches; wait for them to reach the log.
    let mut room = Value::Null;
    for _ in 0..50 {
        room = read_room().await;
        if room["likes"] == 7
            && room["comments"]
                .as_array()
                .unwrap()
                .last()
                .unwrap_or(&Value::Null)["body"]
                == format!("第{}条", total - 1)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(room["likes"], 7);
    let comments = room["comments"].as_array().unwrap();
    assert_eq!(
        comments.len() as i64,
        anchordesk_relay::room::RECENT_COMMENTS
    );
    assert_eq!(comments[0]["body"], "第5条");
    assert_eq!(room["live"]["pin"]["product_id"], cup.id);
    assert_eq!(room["flash_sales"][0]["sale_price_fen"], 3_900);
    assert_eq!(room["coupons"][0]["title"], "满50减10");
    assert_eq!(room["lotteries"][0]["prize"], "保温杯");
    assert!(room["server_now_ms"].as_i64().unwrap() > 0);

    // The resume point is the newest event of the live: nothing after it yet.
    let last = room["last_event_id"].as_i64().unwrap();
    let log = events::list(store, live_id, 0, false, 1000).await.unwrap();
    assert_eq!(log.last().map(|e| e.id), Some(last));
    assert!(log.iter().any(|e| e.kind == "pin.changed"));

    let missing = http
        .get(url("/api/lives/9999/room".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    relay.shutdown().await.unwrap();
}

/// 补货 in the console: a SKU's stock edited by staff reaches every open live whose cart holds
/// the product as `stock.changed` (the room's reducer and the studio's card apply it), and
/// no other live.
#[tokio::test]
async fn a_stock_edit_is_told_to_the_lives_selling_the_product() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let store = relay.store();
    let selling = common::new_live(store, "卖保温杯").await;
    let other = common::new_live(store, "别的直播").await;
    let staff = common::staff_token(&relay, "host", Role::Anchor).await;
    let cup = common::product(store, "保温杯", 6_900, 3).await;
    let http = reqwest::Client::new();
    let url = |p: String| format!("{}{p}", relay.url());
    let added = http
        .post(url(format!("/api/lives/{selling}/cart")))
        .bearer_auth(&staff)
        .json(&json!({ "product_id": cup.id }))
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success());

    let sku = cup.skus[0].id;
    let patched = http
        .patch(url(format!("/api/products/{}/skus/{sku}", cup.id)))
        .bearer_auth(&staff)
        .json(&json!({ "stock": 40 }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let log = events::list(store, selling, 0, false, 100).await.unwrap();
    let stock: Vec<&Value> = log
        .iter()
        .filter(|e| e.kind == "stock.changed")
        .map(|e| &e.payload)
        .collect();
    assert_eq!(
        stock,
        // Every stock.changed names the product too, as orders' always did.
        [&json!({ "skus": [{ "sku_id": sku, "product_id": cup.id, "stock": 40 }] })]
    );
    let elsewhere = events::list(store, other, 0, false, 100).await.unwrap();
    assert!(elsewhere.iter().all(|e| e.kind != "stock.changed"));

    // A price change alone is not a stock change.
    http.patch(url(format!("/api/products/{}/skus/{sku}", cup.id)))
        .bearer_auth(&staff)
        .json(&json!({ "price_fen": 5_900 }))
        .send()
        .await
        .unwrap();
    let log = events::list(store, selling, 0, false, 100).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.kind == "stock.changed").count(), 1);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_low_stock_threshold_is_set_per_live_and_told_to_viewer_pages() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let store = relay.store();
    let live = common::new_live(store, "低库存提示").await;
    let staff = common::staff_token(&relay, "host", Role::Assistant).await;
    let viewer = common::viewer_token(store).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/lives/{live}", relay.url());
    let room = format!("{url}/room");
    let patch = |token: &str, body: Value| http.patch(&url).bearer_auth(token).json(&body).send();

    let opened: Value = http.get(&room).send().await.unwrap().json().await.unwrap();
    assert_eq!(opened["live"]["low_stock_threshold"], 9, "the default");

    let changed = patch(&staff, json!({ "low_stock_threshold": 30 }))
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["low_stock_threshold"], 30);
    assert_eq!(changed["title"], "低库存提示", "an absent field stays");
    let log = events::list(store, live, 0, false, 100).await.unwrap();
    let told: Vec<&Value> = log
        .iter()
        .filter(|e| e.kind == "live.updated")
        .map(|e| &e.payload)
        .collect();
    assert_eq!(
        told,
        [&json!({
            "title": "低库存提示",
            "low_stock_threshold": 30,
            "next_when_sold_out": false,
            "pin_when_asked": false,
        })]
    );
    let reopened: Value = http.get(&room).send().await.unwrap().json().await.unwrap();
    assert_eq!(reopened["live"]["low_stock_threshold"], 30);

    // Refusals name the field and change nothing; viewers may not change it at all.
    for (body, field) in [
        (json!({ "low_stock_threshold": -1 }), "low_stock_threshold"),
        (
            json!({ "low_stock_threshold": 1000 }),
            "low_stock_threshold",
        ),
        (json!({ "title": "" }), "title"),
    ] {
        let refused = patch(&staff, body).await.unwrap();
        assert_eq!(refused.status(), 422);
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let unknown = patch(&staff, json!({ "threshold": 3 })).await.unwrap();
    assert_eq!(unknown.status(), 422);
    assert_eq!(
        patch(&viewer, json!({ "low_stock_threshold": 1 }))
            .await
            .unwrap()
            .status(),
        403
    );
    let missing = http
        .patch(format!("{}/api/lives/999", relay.url()))
        .bearer_auth(&staff)
        .json(&json!({ "low_stock_threshold": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let after: Value = http.get(&room).send().await.unwrap().json().await.unwrap();
    assert_eq!(after["live"]["low_stock_threshold"], 30);
    relay.shutdown().await.unwrap();
}
