//! The 讲解 rules a live turns on (`next_when_sold_out`, `pin_when_asked`) run in the relay, in
//! the transaction that makes them true: once per cause, whichever relay or studio is
//! connected, and also with none. On PostgreSQL too when `ANCHORDESK_TEST_POSTGRES_URL` is set.

mod common;

use anchordesk_relay::RunningRelay;
use anchordesk_relay::auth::Role;
use anchordesk_relay::events;
use serde_json::{Value, json};

struct Shop {
    _dir: tempfile::TempDir,
    relay: RunningRelay,
    http: reqwest::Client,
    staff: String,
    live_id: i64,
    /// The cart's products, in cart order.
    products: Vec<anchordesk_relay::commerce::products::Product>,
}

impl Shop {
    /// A relay with a live whose cart holds one product per stock figure.
    async fn open(stocks: &[i64]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let relay = anchordesk_relay::start(&common::config(dir.path()).await)
            .await
            .unwrap();
        let store = relay.store();
        let live_id = common::new_live(store, "讲解规则").await;
        let mut products = Vec::new();
        for (i, stock) in stocks.iter().enumerate() {
            products.push(common::product(store, &format!("商品{}", i + 1), 6900, *stock).await);
        }
        let staff = common::staff_token(&relay, "anchor", Role::Anchor).await;
        let shop = Self {
            _dir: dir,
            relay,
            http: reqwest::Client::new(),
            staff,
            live_id,
            products,
        };
        let ids: Vec<i64> = shop.products.iter().map(|p| p.id).collect();
        shop.staff_call("PUT", "cart", json!({ "product_ids": ids }))
            .await;
        shop.staff_call("POST", "status", json!({ "status": "live" }))
            .await;
        shop
    }

    async fn staff_call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/api/lives/{}/{path}", self.relay.url(), self.live_id);
        let url = url.trim_end_matches('/');
        let response = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(&self.staff)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn rules(&self, next_when_sold_out: bool, pin_when_asked: bool) -> Value {
        let patch =
            json!({ "next_when_sold_out": next_when_sold_out, "pin_when_asked": pin_when_asked });
        self.staff_call("PATCH", "", patch).await
    }

    async fn pin(&self, at: usize) {
        let body = json!({ "product_id": self.products[at].id });
        self.staff_call("POST", "pin", body).await;
    }

    async fn buy(&self, at: usize, quantity: i64, key: &str) {
        let token = common::viewer_token(self.relay.store()).await;
        let ordered = self
            .http
            .post(format!("{}/api/orders", self.relay.url()))
            .bearer_auth(token)
            .header("idempotency-key", format!("pin-rules-{key}"))
            .json(&json!({
                "live_id": self.live_id,
                "items": [{ "sku_id": self.products[at].skus[0].id, "quantity": quantity }],
                "shipping": { "name": "张三", "phone": "13800138000", "address": "上海市浦东新区世纪大道 100 号" },
            }))
            .send()
            .await
            .unwrap();
        let status = ordered.status();
        assert!(
            status.is_success(),
            "{status} {}",
            ordered.text().await.unwrap()
        );
    }

    async fn pinned(&self) -> Option<i64> {
        let live = anchordesk_relay::commerce::lives::get(self.relay.store(), self.live_id)
            .await
            .unwrap();
        live.pin.map(|p| p.product_id)
    }

    async fn pin_events(&self) -> usize {
        events::list(self.relay.store(), self.live_id, 0, true, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "pin.changed")
            .count()
    }
}

/// The pinned product's last units are bought: with the rule on, the order's own transaction
/// pins the next product that has stock (skipping one that has none), once; the live's page
/// and consoles hear `stock.changed` then `pin.changed`.
#[tokio::test]
async fn a_sold_out_pin_gives_way_to_the_next_product_with_stock() {
    let shop = Shop::open(&[2, 0, 5]).await;
    let live = shop.rules(true, false).await;
    assert_eq!(live["next_when_sold_out"], true);
    assert_eq!(live["pin_when_asked"], false);
    shop.pin(0).await;
    shop.buy(0, 1, "first").await;
    assert_eq!(shop.pinned().await, Some(shop.products[0].id), "one left");
    shop.buy(0, 1, "last").await;
    assert_eq!(shop.pinned().await, Some(shop.products[2].id));
    assert_eq!(shop.pin_events().await, 2, "the staff's pin and the rule's");
    let log = events::list(shop.relay.store(), shop.live_id, 0, false, 1000)
        .await
        .unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    let at = kinds.iter().rposition(|k| *k == "pin.changed").unwrap();
    assert_eq!(kinds[at - 1], "stock.changed", "{kinds:?}");
    // Everything sold out: the pin stays on the sold-out product.
    shop.buy(2, 5, "rest").await;
    assert_eq!(shop.pinned().await, Some(shop.products[2].id));
    assert_eq!(shop.pin_events().await, 2);
    shop.relay.shutdown().await.unwrap();
}

/// With the rule off (the default), a sell-out moves nothing; staff setting a pinned product's
/// stock to zero with the rule on moves the pin as a sale would.
#[tokio::test]
async fn the_sold_out_rule_is_off_by_default_and_follows_stock_set_by_staff() {
    let shop = Shop::open(&[1, 3, 4]).await;
    shop.pin(0).await;
    shop.buy(0, 1, "only").await;
    assert_eq!(shop.pinned().await, Some(shop.products[0].id));

    shop.pin(1).await;
    shop.rules(true, false).await;
    let sku = shop.products[1].skus[0].id;
    let patched = shop
        .http
        .patch(format!(
            "{}/api/products/{}/skus/{sku}",
            shop.relay.url(),
            shop.products[1].id
        ))
        .bearer_auth(&shop.staff)
        .json(&json!({ "stock": 0 }))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success(), "{}", patched.status());
    // Product 1 sold out earlier: the pin skips it.
    assert_eq!(shop.pinned().await, Some(shop.products[2].id));
    shop.relay.shutdown().await.unwrap();
}

/// With "pin when asked" on, five viewers (five addresses) asking for 3号 get it pinned by the
/// comment flush that suggests it; asking again while it is pinned pins nothing more.
#[tokio::test]
async fn a_product_viewers_keep_asking_about_is_pinned_with_the_rule_on() {
    let shop = Shop::open(&[10, 10, 10]).await;
    let live = shop.rules(false, true).await;
    assert_eq!(live["pin_when_asked"], true);
    let ask = |i: u8, body: &'static str| {
        let shop = &shop;
        async move {
            let phone = reqwest::Client::builder()
                .local_address(Some(std::net::IpAddr::from([127, 0, 0, 2 + i])))
                .build()
                .unwrap();
            let token = common::viewer_token(shop.relay.store()).await;
            let posted = phone
                .post(format!(
                    "{}/api/lives/{}/comments",
                    shop.relay.url(),
                    shop.live_id
                ))
                .bearer_auth(token)
                .json(&json!({ "body": body }))
                .send()
                .await
                .unwrap();
            assert_eq!(posted.status(), 201);
        }
    };
    for (i, body) in ["3号有吗", "三号", "３号链接", "链接3", "#3"]
        .into_iter()
        .enumerate()
    {
        ask(i as u8, body).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while shop.pinned().await != Some(shop.products[2].id) {
        assert!(std::time::Instant::now() < deadline, "not pinned");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for (i, body) in ["3号", "3号", "3号"].into_iter().enumerate() {
        ask(5 + i as u8, body).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(shop.pin_events().await, 1);
    shop.relay.shutdown().await.unwrap();
}
