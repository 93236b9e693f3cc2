//! 秒杀 over real HTTP: a rush of buyers never oversells the reserved quantity, the per-buyer
//! limit holds, retries are idempotent, and unsold units go back to the SKU.

mod common;

use std::sync::Arc;

use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::flash_sales::{self, FlashSale};
use anchordesk_relay::commerce::lives::{self, CartAdd};
use anchordesk_relay::commerce::products::{self, Product};
use anchordesk_relay::{RunningRelay, events};
use serde_json::{Value, json};

struct Sale {
    _dir: tempfile::TempDir,
    relay: Arc<RunningRelay>,
    http: reqwest::Client,
    staff: String,
    live_id: i64,
    product: Product,
}

impl Sale {
    async fn open(stock: i64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let relay = anchordesk_relay::start(&common::config(dir.path()).await)
            .await
            .unwrap();
        let product = common::product(relay.store(), "空气炸锅", 29_900, stock).await;
        let live_id = common::new_live(relay.store(), "秒杀夜").await;
        lives::add_to_cart(
            relay.store(),
            live_id,
            &CartAdd {
                product_id: product.id,
            },
        )
        .await
        .unwrap();
        let staff = common::staff_token(&relay, "ops", Role::Assistant).await;
        Self {
            _dir: dir,
            relay: Arc::new(relay),
            http: reqwest::Client::new(),
            staff,
            live_id,
            product,
        }
    }

    fn sku(&self) -> i64 {
        self.product.skus[0].id
    }

    async fn start_sale(&self, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!(
                "{}/api/lives/{}/flash-sales",
                self.relay.url(),
                self.live_id
            ))
            .bearer_auth(&self.staff)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    async fn stock(&self) -> i64 {
        products::get(self.relay.store(), self.product.id)
            .await
            .unwrap()
            .skus[0]
            .stock
    }

    async fn sale(&self, id: i64) -> FlashSale {
        flash_sales::list(self.relay.store(), self.live_id)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.id == id)
            .unwrap()
    }
}

async fn buy(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    live_id: i64,
    sku: i64,
) -> (u16, Value) {
    // Each buyer ships to a phone of their own (the 秒杀 limit counts per phone too): one
    // made from the idempotency key, which is one per buyer and the same on a retry.
    let digits: u64 = key
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    let phone = format!("135{:08}", digits % 100_000_000);
    let res = http
        .post(format!("{url}/api/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({
            "live_id": live_id,
            "items": [{ "sku_id": sku, "quantity": 1 }],
            "shipping": { "name": "钱七", "phone": phone, "address": "广州市天河区体育西路 3 号" }
        }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_buyers_get_exactly_the_hundred_units_of_a_flash_sale() {
    let shop = Sale::open(1_000).await;
    let (status, sale) = shop
        .start_sale(json!({ "sku_id": shop.sku(), "sale_price_fen": 9_900, "quantity": 100, "duration_secs": 600 }))
        .await;
    assert_eq!(status, 201, "{sale}");
    let sale_id = sale["id"].as_i64().unwrap();
    assert_eq!(
        shop.stock().await,
        900,
        "the sale's 100 units are reserved out of stock"
    );

    let mut tokens = Vec::with_capacity(2000);
    for _ in 0..2000 {
        tokens.push(common::viewer_token(shop.relay.store()).await);
    }
    let url = shop.relay.url();
    let buyers: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (http, url, token) = (shop.http.clone(), url.clone(), token.clone());
            let (live_id, sku) = (shop.live_id, shop.sku());
            tokio::spawn(async move {
                let key = format!("flash-{i:06}");
                let (status, order) = buy(&http, &url, &token, &key, live_id, sku).await;
                (status, order, token, key)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for buyer in buyers {
        let (status, order, token, key) = buyer.await.unwrap();
        match status {
            201 => {
                assert_eq!(order["total_fen"], 9_900, "sold at the sale price");
                assert_eq!(order["items"][0]["flash_sale_id"], sale_id);
                winners.push((order["id"].as_i64().unwrap(), token, key));
            }
            409 => {}
            other => panic!("unexpected {other}: {order}"),
        }
    }
    assert_eq!(winners.len(), 100);
    assert_eq!(shop.sale(sale_id).await.remaining, 0);
    assert_eq!(
        shop.stock().await,
        900,
        "regular stock untouched by the sale"
    );

    // Retries return the same order; a second purchase by a winner breaks the limit of 1.
    let (id, token, key) = &winners[0];
    let (status, again) = buy(&shop.http, &url, token, key, shop.live_id, shop.sku()).await;
    assert_eq!((status, again["id"].as_i64()), (200, Some(*id)));
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(shop.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(orders, 100);
}

#[tokio::test]
async fn the_limit_holds_and_unsold_units_return_when_the_sale_stops() {
    let shop = Sale::open(50).await;
    let (_, sale) = shop
        .start_sale(json!({ "sku_id": shop.sku(), "sale_price_fen": 19_900, "quantity": 10, "per_user_limit": 1, "duration_secs": 600 }))
        .await;
    let sale_id = sale["id"].as_i64().unwrap();
    assert_eq!(shop.stock().await, 40);
    let url = shop.relay.url();

    let alice = common::viewer_token(shop.relay.store()).await;
    let (status, first) = buy(
        &shop.http,
        &url,
        &alice,
        "alice-flash-1",
        shop.live_id,
        shop.sku(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, second) = buy(
        &shop.http,
        &url,
        &alice,
        "alice-flash-2",
        shop.live_id,
        shop.sku(),
    )
    .await;
    assert_eq!(
        (status, second["error"]["field"].as_str()),
        (422, Some("items[0].quantity")),
        "{second}"
    );

    // Cancelling while the sale runs gives the unit back to the sale and to Alice's limit.
    let first_id = first["id"].as_i64().unwrap();
    let res = shop
        .http
        .post(format!("{url}/api/orders/{first_id}/cancel"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(shop.sale(sale_id).await.remaining, 10);
    // Viewer pages learn both: the units the sale took from stock, and the unit it got back.
    let log = events::list(shop.relay.store(), shop.live_id, 0, false, 1000)
        .await
        .unwrap();
    let reserved = log.iter().find(|e| e.kind == "stock.changed").unwrap();
    assert_eq!(reserved.payload["skus"][0]["stock"], 40);
    let returned = log
        .iter()
        .rev()
        .find(|e| e.kind == "flashsale.changed")
        .unwrap();
    assert_eq!(
        returned.payload["sales"],
        json!([{ "id": sale_id, "remaining": 10 }])
    );
    let (status, _) = buy(
        &shop.http,
        &url,
        &alice,
        "alice-flash-3",
        shop.live_id,
        shop.sku(),
    )
    .await;
    assert_eq!(status, 201, "the limit counts held units, not attempts");

    for i in 0..2 {
        let token = common::viewer_token(shop.relay.store()).await;
        assert_eq!(
            buy(
                &shop.http,
                &url,
                &token,
                &format!("other-{i:04}"),
                shop.live_id,
                shop.sku()
            )
            .await
            .0,
            201
        );
    }
    assert_eq!(shop.sale(sale_id).await.remaining, 7);

    let res = shop
        .http
        .post(format!("{url}/api/flash-sales/{sale_id}/stop"))
        .bearer_auth(&shop.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        shop.stock().await,
        47,
        "7 unsold units are back; 3 were sold"
    );
    // After the sale, orders pay the regular price from regular stock.
    let bob = common::viewer_token(shop.relay.store()).await;
    let (status, regular) = buy(
        &shop.http,
        &url,
        &bob,
        "bob-after-sale",
        shop.live_id,
        shop.sku(),
    )
    .await;
    assert_eq!((status, regular["total_fen"].as_i64()), (201, Some(29_900)));
    assert_eq!(shop.stock().await, 46);

    let log = events::list(shop.relay.store(), shop.live_id, 0, false, 1000)
        .await
        .unwrap();
    for kind in ["flashsale.created", "flashsale.changed", "flashsale.ended"] {
        assert!(log.iter().any(|e| e.kind == kind), "missing {kind}");
    }
    let created = log.iter().find(|e| e.kind == "flashsale.created").unwrap();
    assert!(
        created.payload["server_now_ms"].as_i64().is_some(),
        "countdowns need the server clock"
    );
}

#[tokio::test]
async fn bad_flash_sales_are_refused_naming_the_field() {
    let shop = Sale::open(5).await;
    let sku = shop.sku();
    let cases = [
        (
            json!({ "sku_id": sku, "sale_price_fen": 29_900, "quantity": 1, "duration_secs": 60 }),
            "sale_price_fen",
        ),
        (
            json!({ "sku_id": sku, "sale_price_fen": 100, "quantity": 6, "duration_secs": 60 }),
            "quantity",
        ),
        (
            json!({ "sku_id": 4242, "sale_price_fen": 100, "quantity": 1, "duration_secs": 60 }),
            "sku_id",
        ),
        (
            json!({ "sku_id": sku, "sale_price_fen": 100, "quantity": 1, "duration_secs": 1 }),
            "duration_secs",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = shop.start_sale(body.clone()).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (422, Some(field)),
            "{body} → {answer}"
        );
    }
    let viewer = common::viewer_token(shop.relay.store()).await;
    let res = shop
        .http
        .post(format!(
            "{}/api/lives/{}/flash-sales",
            shop.relay.url(),
            shop.live_id
        ))
        .bearer_auth(&viewer)
        .json(&json!({ "sku_id": sku, "sale_price_fen": 100, "quantity": 1, "duration_secs": 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(shop.stock().await, 5, "refused sales reserve nothing");
}
