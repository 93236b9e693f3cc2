//! Orders over real HTTP on a real SQLite file: a rush of buyers, idempotent retries,
//! cancellation and expiry giving stock back, and who may see what.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use anchordesk_relay::RunningRelay;
use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::orders::{self, Order, OrderStatus};
use anchordesk_relay::commerce::products::{self, Product};
use serde_json::{Value, json};

async fn relay() -> (tempfile::TempDir, RunningRelay) {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    (dir, relay)
}

async fn product_with_stock(relay: &RunningRelay, stock: i64) -> Product {
    common::product(relay.store(), "秒杀款保温杯", 9_900, stock).await
}

async fn viewer_token(relay: &RunningRelay) -> String {
    common::viewer_token(relay.store()).await
}

fn order_body(sku_id: i64, quantity: i64) -> Value {
    json!({
        "items": [{ "sku_id": sku_id, "quantity": quantity }],
        "shipping": { "name": "李四", "phone": "13900001111", "address": "杭州市西湖区文三路 1 号" }
    })
}

async fn post_order(
    http: &reqwest::Client,
    relay: &RunningRelay,
    token: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    let res = http
        .post(format!("{}/api/orders", relay.url()))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn stock_of(relay: &RunningRelay, product: &Product) -> i64 {
    products::get(relay.store(), product.id).await.unwrap().skus[0].stock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_buyers_for_a_hundred_units_get_exactly_a_hundred_orders() {
    let (_dir, relay) = relay().await;
    let product = product_with_stock(&relay, 100).await;
    let sku = product.skus[0].id;
    let mut tokens = Vec::with_capacity(2000);
    for _ in 0..2000 {
        tokens.push(viewer_token(&relay).await);
    }
    let http = reqwest::Client::new();
    let relay = Arc::new(relay);
    let body = Arc::new(order_body(sku, 1));

    let buyers: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (http, relay, body, token) =
                (http.clone(), relay.clone(), body.clone(), token.clone());
            tokio::spawn(async move {
                let key = format!("rush-{i:08}");
                let (status, order) = post_order(&http, &relay, &token, &key, &body).await;
                (status, order, token, key)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut sold_out = 0;
    for buyer in buyers {
        let (status, order, token, key) = buyer.await.unwrap();
        match status {
            201 => winners.push((order["id"].as_i64().unwrap(), token, key)),
            409 => {
                // Its own code, so the buyer's page can say "sold out" rather than "conflict".
                assert_eq!(order["error"]["code"], "sold_out", "{order}");
                sold_out += 1;
            }
            other => panic!("unexpected status {other}: {order}"),
        }
    }
    assert_eq!(winners.len(), 100, "exactly the stock is sold");
    assert_eq!(sold_out, 1900);
    assert_eq!(stock_of(&relay, &product).await, 0);

    // Every winner retries (a double tap, a flaky network): same order, nothing new.
    for (id, token, key) in &winners {
        let (status, order) = post_order(&http, &relay, token, key, &body).await;
        assert_eq!((status, order["id"].as_i64()), (200, Some(*id)));
    }
    let count: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(relay.store().pool())
        .await
        .unwrap();
    assert_eq!(count, 100);
    let ids: HashSet<i64> = winners.iter().map(|(id, ..)| *id).collect();
    assert_eq!(ids.len(), 100);
}

#[tokio::test]
async fn cancelling_and_expiry_return_stock_and_a_buyer_sees_only_their_orders() {
    let (_dir, relay) = relay().await;
    let product = product_with_stock(&relay, 5).await;
    let sku = product.skus[0].id;
    let http = reqwest::Client::new();
    let alice = viewer_token(&relay).await;
    let bob = viewer_token(&relay).await;

    let (status, first) =
        post_order(&http, &relay, &alice, "alice-0001", &order_body(sku, 2)).await;
    assert_eq!(status, 201, "{first}");
    let first: Order = serde_json::from_value(first).unwrap();
    assert_eq!(first.total_fen, 19_800);
    assert_eq!(first.status, OrderStatus::Created);
    assert_eq!(stock_of(&relay, &product).await, 3);

    // Bob can neither see nor cancel Alice's order.
    let res = http
        .get(format!("{}/api/orders/{}", relay.url(), first.id))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .post(format!("{}/api/orders/{}/cancel", relay.url(), first.id))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let mine: Vec<Order> = http
        .get(format!("{}/api/orders", relay.url()))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(mine.is_empty());

    // Alice cancels: stock back.
    let res = http
        .post(format!("{}/api/orders/{}/cancel", relay.url(), first.id))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(stock_of(&relay, &product).await, 5);

    // Asking for more than is left is refused whole; nothing is taken.
    let (status, body) = post_order(&http, &relay, &bob, "bob-00000001", &order_body(sku, 6)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(stock_of(&relay, &product).await, 5);

    // An unpaid order past its time is cancelled by the sweep and its stock returned.
    let (status, second) =
        post_order(&http, &relay, &bob, "bob-00000002", &order_body(sku, 4)).await;
    assert_eq!(status, 201);
    assert_eq!(stock_of(&relay, &product).await, 1);
    let second: Order = serde_json::from_value(second).unwrap();
    let expired = orders::expire_due(relay.store(), second.expires_at_ms)
        .await
        .unwrap();
    assert_eq!(expired.value, 1);
    assert_eq!(stock_of(&relay, &product).await, 5);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn order_input_errors_name_the_field_and_staff_cannot_buy() {
    let (_dir, relay) = relay().await;
    let product = product_with_stock(&relay, 5).await;
    let sku = product.skus[0].id;
    let http = reqwest::Client::new();
    let viewer = viewer_token(&relay).await;

    let no_key = http
        .post(format!("{}/api/orders", relay.url()))
        .bearer_auth(&viewer)
        .json(&order_body(sku, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 422);
    let body: Value = no_key.json().await.unwrap();
    assert_eq!(body["error"]["field"], "Idempotency-Key");

    let mut bad_phone = order_body(sku, 1);
    bad_phone["shipping"]["phone"] = json!("12345");
    let (status, body) = post_order(&http, &relay, &viewer, "key-bad-phone", &bad_phone).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("shipping.phone"))
    );

    let (status, body) = post_order(
        &http,
        &relay,
        &viewer,
        "key-unknown-sku",
        &order_body(9999, 1),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("items[0].sku_id"))
    );

    let staff = &common::staff_token(&relay, "helper", Role::Assistant).await;
    let (status, _) = post_order(&http, &relay, staff, "staff-order-1", &order_body(sku, 1)).await;
    assert_eq!(status, 403);
    assert_eq!(
        stock_of(&relay, &product).await,
        5,
        "nothing was taken by refused orders"
    );
    relay.shutdown().await.unwrap();
}
