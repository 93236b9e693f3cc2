//! The live dashboard over real HTTP: viewers, orders, paid GMV, per product and per pin.

mod common;

use std::time::Duration;

use anchordesk_relay::RunningRelay;
use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::lives::{self, CartReplace};
use anchordesk_relay::commerce::stats::LiveStats;
use serde_json::{Value, json};

async fn product(relay: &RunningRelay, title: &str, price_fen: i64) -> (i64, i64) {
    let p = common::product(relay.store(), title, price_fen, 50).await;
    (p.id, p.skus[0].id)
}

#[tokio::test]
async fn stats_add_up_orders_gmv_pins_and_watching_viewers() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let (a, a_sku) = product(&relay, "A 茶叶", 100).await;
    let (b, b_sku) = product(&relay, "B 茶杯", 200).await;
    let live_id = common::new_live(relay.store(), "茶会").await;
    lives::replace_cart(
        relay.store(),
        live_id,
        &CartReplace {
            product_ids: vec![a, b],
        },
    )
    .await
    .unwrap();
    let staff = common::staff_token(&relay, "anchor1", Role::Anchor).await;
    let http = reqwest::Client::new();
    let url = |p: String| format!("{}{p}", relay.url());
    let staff_post = |path: String, body: Value| {
        let req = http.post(url(path)).bearer_auth(&staff).json(&body);
        async move { assert!(req.send().await.unwrap().status().is_success()) }
    };
    let order = |token: String, sku: i64, quantity: i64, key: &'static str| {
        let req = http
            .post(url("/api/orders".into()))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({
                "live_id": live_id,
                "items": [{ "sku_id": sku, "quantity": quantity }],
                "shipping": { "name": "周九", "phone": "13200006666", "address": "武汉市江汉区解放大道 2 号" }
            }));
        async move {
            let body: Value = req.send().await.unwrap().json().await.unwrap();
            body["id"].as_i64().unwrap()
        }
    };
    let viewer = || async { common::viewer_token(relay.store()).await };

    // While A is pinned: v1 buys 2×A and pays, v2 buys B (unpaid), v3 buys A and cancels.
    staff_post(
        format!("/api/lives/{live_id}/pin"),
        json!({ "product_id": a }),
    )
    .await;
    let (v1, v2, v3, v4) = (
        viewer().await,
        viewer().await,
        viewer().await,
        viewer().await,
    );
    let o1 = order(v1.clone(), a_sku, 2, "stats-order-1").await;
    staff_post(format!("/api/orders/{o1}/mark-paid"), json!({})).await;
    order(v2.clone(), b_sku, 1, "stats-order-2").await;
    let o3 = order(v3.clone(), a_sku, 1, "stats-order-3").await;
    let res = http
        .post(url(format!("/api/orders/{o3}/cancel")))
        .bearer_auth(&v3)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Then B is pinned: v4 buys B and pays.
    staff_post(
        format!("/api/lives/{live_id}/pin"),
        json!({ "product_id": b }),
    )
    .await;
    let o4 = order(v4.clone(), b_sku, 1, "stats-order-4").await;
    staff_post(format!("/api/orders/{o4}/mark-paid"), json!({})).await;

    for token in [&v1, &v2] {
        let res = http
            .post(url(format!("/api/lives/{live_id}/comments")))
            .bearer_auth(token)
            .json(&json!({ "body": "好喝吗" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let res = http
        .post(url(format!("/api/lives/{live_id}/likes")))
        .bearer_auth(&v1)
        .json(&json!({ "count": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);

    // Viewers open product cards: A twice, B once; a product outside the cart is refused.
    for (token, product) in [(&v1, a), (&v2, a), (&v3, b)] {
        let res = http
            .post(url(format!("/api/lives/{live_id}/clicks")))
            .bearer_auth(token)
            .json(&json!({ "product_id": product }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    let res = http
        .post(url(format!("/api/lives/{live_id}/clicks")))
        .bearer_auth(&v1)
        .json(&json!({ "product_id": 9999 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // Two viewers watching, then one leaves.
    let ws = |token: &str| {
        format!(
            "{}/api/lives/{live_id}/events?access_token={token}",
            relay.url().replace("http://", "ws://")
        )
    };
    let (first, _) = tokio_tungstenite::connect_async(ws(&v1)).await.unwrap();
    let (second, _) = tokio_tungstenite::connect_async(ws(&v2)).await.unwrap();
    let stats_now = || async {
        http.get(url(format!("/api/lives/{live_id}/stats")))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap()
            .json::<LiveStats>()
            .await
            .unwrap()
    };
    let mut stats = stats_now().await;
    for _ in 0..50 {
        if stats.viewers_now == 2 && stats.likes == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        stats = stats_now().await;
    }
    assert_eq!((stats.viewers_now, stats.viewers_peak), (2, 2));
    drop(first);
    for _ in 0..50 {
        stats = stats_now().await;
        if stats.viewers_now == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((stats.viewers_now, stats.viewers_peak), (1, 2));
    drop(second);

    assert_eq!((stats.comments, stats.likes), (2, 5));
    assert_eq!(
        (stats.orders, stats.paid_orders, stats.paid_gmv_fen),
        (3, 2, 400),
        "cancelled orders do not count"
    );
    let by_product: Vec<(i64, i64, i64, i64)> = stats
        .products
        .iter()
        .map(|p| (p.product_id, p.orders, p.units, p.paid_gmv_fen))
        .collect();
    assert!(by_product.contains(&(a, 1, 2, 200)), "{by_product:?}");
    assert!(by_product.contains(&(b, 2, 2, 200)), "{by_product:?}");
    let by_pin: Vec<(i64, i64, i64)> = stats
        .pins
        .iter()
        .map(|p| (p.product_id, p.orders, p.units))
        .collect();
    assert_eq!(
        by_pin,
        vec![(a, 1, 2), (b, 1, 1)],
        "orders of the pinned product inside each window"
    );

    let res = http
        .get(url(format!("/api/lives/{live_id}/stats")))
        .bearer_auth(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    relay.shutdown().await.unwrap();
}
