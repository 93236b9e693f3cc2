//! Payment callbacks and offline confirmation over real HTTP.

mod common;

use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::payments::{
    SIGNATURE_HEADER, SignedCallbackProvider, TIMESTAMP_HEADER,
};
use anchordesk_relay::{RunningRelay, events};
use serde_json::{Value, json};

const SECRET: &str = "shop-gateway-secret-42";

struct PaidShop {
    _dir: tempfile::TempDir,
    relay: RunningRelay,
    http: reqwest::Client,
    viewer: String,
    live_id: i64,
    sku: i64,
}

impl PaidShop {
    async fn open() -> Self {
        Self::open_with(false).await
    }

    async fn open_with(sandbox: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::config(dir.path()).await;
        config.payment_secret = Some(SECRET.into());
        config.payment_sandbox = sandbox;
        let relay = anchordesk_relay::start(&config).await.unwrap();
        let sku = common::product(relay.store(), "蚕丝被", 39_900, 10)
            .await
            .skus[0]
            .id;
        let live_id = common::new_live(relay.store(), "家纺专场").await;
        let viewer = common::viewer_token(relay.store()).await;
        Self {
            _dir: dir,
            relay,
            http: reqwest::Client::new(),
            viewer,
            live_id,
            sku,
        }
    }

    async fn order(&self, key: &str) -> Value {
        let res = self
            .http
            .post(format!("{}/api/orders", self.relay.url()))
            .bearer_auth(&self.viewer)
            .header("Idempotency-Key", key)
            .json(&json!({
                "live_id": self.live_id,
                "items": [{ "sku_id": self.sku, "quantity": 2 }],
                "shipping": { "name": "赵六", "phone": "13600003333", "address": "成都市锦江区春熙路 9 号" }
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }

    async fn callback(&self, body: &Value, timestamp: i64, secret: &str) -> (u16, Value) {
        let raw = serde_json::to_vec(body).unwrap();
        let signature = SignedCallbackProvider::new(secret).sign(timestamp, &raw);
        let res = self
            .http
            .post(format!("{}/api/payments/signed/callback", self.relay.url()))
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn status_of(&self, order_id: i64) -> String {
        let order: Value = self
            .http
            .get(format!("{}/api/orders/{order_id}", self.relay.url()))
            .bearer_auth(&self.viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        order["status"].as_str().unwrap().to_owned()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_valid_callback_marks_paid_once_and_forgeries_are_rejected() {
    let shop = PaidShop::open().await;
    let order = shop.order("pay-key-0001").await;
    let id = order["id"].as_i64().unwrap();
    let paid = json!({ "order_id": id, "amount_fen": 79_800, "transaction_id": "wx-20261122-1" });

    // Forged (wrong secret), stale (6 minutes old), wrong amount, unknown order: all refused.
    let (status, _) = shop.callback(&paid, now(), "not-the-shop-secret").await;
    assert_eq!(status, 401);
    let (status, _) = shop.callback(&paid, now() - 360, SECRET).await;
    assert_eq!(status, 401);
    let wrong_amount = json!({ "order_id": id, "amount_fen": 1, "transaction_id": "wx-cheap" });
    let (status, body) = shop.callback(&wrong_amount, now(), SECRET).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("amount_fen"))
    );
    let unknown =
        json!({ "order_id": 999_999, "amount_fen": 79_800, "transaction_id": "wx-ghost" });
    let (status, _) = shop.callback(&unknown, now(), SECRET).await;
    assert_eq!(status, 404);
    assert_eq!(shop.status_of(id).await, "created");

    // The real one, then the gateway repeating itself.
    let (status, body) = shop.callback(&paid, now(), SECRET).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("paid")));
    let (status, body) = shop.callback(&paid, now(), SECRET).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("already_recorded"))
    );
    assert_eq!(shop.status_of(id).await, "paid");

    let log = events::list(shop.relay.store(), shop.live_id, 0, true, 1000)
        .await
        .unwrap();
    assert_eq!(log.iter().filter(|e| e.kind == "order.paid").count(), 1);
    let payments: i64 = sqlx::query_scalar("select count(*) from payments")
        .fetch_one(shop.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(payments, 1);
    shop.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn offline_payment_is_confirmed_by_staff_only() {
    let shop = PaidShop::open().await;
    let id = shop.order("offline-key-1").await["id"].as_i64().unwrap();
    let url = format!("{}/api/orders/{id}/mark-paid", shop.relay.url());

    let res = shop
        .http
        .post(&url)
        .bearer_auth(&shop.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "a buyer cannot mark their own order paid"
    );
    let staff = common::staff_token(&shop.relay, "cashier", Role::Assistant).await;
    let res = shop
        .http
        .post(&url)
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(shop.status_of(id).await, "paid");
    let res = shop
        .http
        .post(&url)
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "pressing paid twice records one payment");

    // Staff cancelling a paid order refunds it, and both actions are in the audit log.
    let res = shop
        .http
        .post(format!("{}/api/orders/{id}/cancel", shop.relay.url()))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(shop.status_of(id).await, "refunded");
    let actions: Vec<String> = anchordesk_relay::audit::list(shop.relay.store(), None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"mark paid".to_owned()) && actions.contains(&"refund order".to_owned()),
        "{actions:?}"
    );

    let methods: Vec<Value> = shop
        .http
        .get(format!("{}/api/payments/methods", shop.relay.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = methods
        .iter()
        .filter_map(|m| m["provider"].as_str())
        .collect();
    assert_eq!(names, ["offline", "signed"]);
    // The offline provider takes no callbacks.
    let (status, _) = {
        let res = shop
            .http
            .post(format!(
                "{}/api/payments/offline/callback",
                shop.relay.url()
            ))
            .body("{}")
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), ())
    };
    assert_eq!(status, 401);
    shop.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_sandbox_gateway_pays_a_buyers_own_order_through_a_signed_callback_once() {
    let methods = |shop: &PaidShop| {
        let request = shop
            .http
            .get(format!("{}/api/payments/methods", shop.relay.url()));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let pay = |shop: &PaidShop, id: i64, token: &str| {
        let request = shop
            .http
            .post(format!(
                "{}/api/payments/signed/sandbox/{id}",
                shop.relay.url()
            ))
            .bearer_auth(token);
        async move {
            let res = request.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };

    // Off unless asked for: no sandbox flag on the method, and its route answers 404.
    let plain = PaidShop::open().await;
    assert!(
        methods(&plain)
            .await
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["sandbox"] == false)
    );
    let id = plain.order("plain-order-1").await["id"].as_i64().unwrap();
    assert_eq!(pay(&plain, id, &plain.viewer).await.0, 404);
    assert_eq!(plain.status_of(id).await, "created");

    let shop = PaidShop::open_with(true).await;
    let offered = methods(&shop).await;
    let signed = offered
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["provider"] == "signed")
        .unwrap();
    assert_eq!(signed["sandbox"], true);
    let order = shop.order("sandbox-order-1").await;
    let id = order["id"].as_i64().unwrap();

    // Someone else's order is not theirs to pay.
    let stranger = common::viewer_token(shop.relay.store()).await;
    assert_eq!(pay(&shop, id, &stranger).await.0, 404);
    assert_eq!(pay(&shop, id, "not-a-token").await.0, 401);

    let (status, paid) = pay(&shop, id, &shop.viewer).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "paid");
    let (status, again) = pay(&shop, id, &shop.viewer).await;
    assert_eq!(status, 200, "paying twice records one payment: {again}");
    let log = events::list(shop.relay.store(), shop.live_id, 0, true, 1000)
        .await
        .unwrap();
    assert_eq!(log.iter().filter(|e| e.kind == "order.paid").count(), 1);
    let recorded: (String, String, i64) =
        sqlx::query_as("select provider, reference, amount_fen from payments where order_id = $1")
            .bind(id)
            .fetch_one(shop.relay.store().pool())
            .await
            .unwrap();
    let total = order["total_fen"].as_i64().unwrap();
    assert_eq!(
        recorded,
        ("sandbox".into(), format!("sandbox-order-{id}"), total),
        "test payments are recorded apart from the gateway's"
    );
}

#[test]
fn the_sandbox_needs_the_payment_secret() {
    let dir = tempfile::tempdir().unwrap();
    let args = anchordesk_relay::ServeArgs {
        data_dir: Some(dir.path().to_owned()),
        payment_sandbox: true,
        ..Default::default()
    };
    let error = anchordesk_relay::Config::resolve(args).unwrap_err();
    assert!(error.to_string().contains("payment_sandbox"), "{error}");
}
