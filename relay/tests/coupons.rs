//! Coupons over real HTTP: claimed within quantity and per-buyer limits, applied once to an
//! order that reaches the threshold, given back when that order is cancelled.

mod common;

use anchordesk_relay::RunningRelay;
use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::products::{self};
use serde_json::{Value, json};

struct Shop {
    _dir: tempfile::TempDir,
    relay: RunningRelay,
    http: reqwest::Client,
    staff: String,
    sku: i64,
}

impl Shop {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let relay = anchordesk_relay::start(&common::config(dir.path()).await)
            .await
            .unwrap();
        let sku = common::product(relay.store(), "手冲咖啡豆 250g", 9_900, 10)
            .await
            .skus[0]
            .id;
        let staff = common::staff_token(&relay, "marketing", Role::Assistant).await;
        Self {
            _dir: dir,
            relay,
            http: reqwest::Client::new(),
            staff,
            sku,
        }
    }

    async fn viewer(&self) -> String {
        common::viewer_token(self.relay.store()).await
    }

    async fn post(
        &self,
        path: &str,
        token: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        // Each buyer on a phone of their own: the per-buyer limit also counts per device.
        let device: String = token.chars().take(40).collect();
        let mut req = self
            .http
            .post(format!("{}{path}", self.relay.url()))
            .bearer_auth(token)
            .header("x-anchordesk-device", format!("device-{device}"));
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn order(&self, token: &str, key: &str, quantity: i64, claim: i64) -> (u16, Value) {
        let body = json!({
            "items": [{ "sku_id": self.sku, "quantity": quantity }],
            "shipping": { "name": "孙八", "phone": "13300005555", "address": "南京市鼓楼区中山路 6 号" },
            "coupon_claim_id": claim,
        });
        self.post("/api/orders", token, Some(body), Some(key)).await
    }
}

fn until_in_an_hour() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    now.as_millis() as i64 + 3_600_000
}

#[tokio::test]
async fn coupons_are_claimed_within_limits_applied_once_and_given_back_on_cancel() {
    let shop = Shop::open().await;
    let coupon = json!({ "title": "满100减20", "amount_off_fen": 2_000, "threshold_fen": 10_000, "quantity": 2, "valid_until_ms": until_in_an_hour() });
    let (status, created) = shop
        .post("/api/coupons", &shop.staff, Some(coupon.clone()), None)
        .await;
    assert_eq!(status, 201, "{created}");
    let coupon_id = created["id"].as_i64().unwrap();
    let claim_path = format!("/api/coupons/{coupon_id}/claim");

    let (alice, bob, carol) = (
        shop.viewer().await,
        shop.viewer().await,
        shop.viewer().await,
    );
    let (status, claim) = shop.post(&claim_path, &alice, None, None).await;
    assert_eq!(status, 201);
    let alice_claim = claim["id"].as_i64().unwrap();
    assert_eq!(
        shop.post(&claim_path, &alice, None, None).await.0,
        409,
        "one per buyer"
    );
    let (status, bob_claim) = shop.post(&claim_path, &bob, None, None).await;
    assert_eq!(status, 201);
    assert_eq!(
        shop.post(&claim_path, &carol, None, None).await.0,
        409,
        "only 2 to give"
    );

    // Below the threshold: refused whole, nothing taken.
    let (status, body) = shop.order(&alice, "alice-small-1", 1, alice_claim).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("coupon_claim_id")),
        "{body}"
    );
    // Someone else's coupon reads as none.
    let (status, _) = shop
        .order(
            &alice,
            "alice-steal-1",
            2,
            bob_claim["id"].as_i64().unwrap(),
        )
        .await;
    assert_eq!(status, 422);

    let (status, order) = shop.order(&alice, "alice-big-01", 2, alice_claim).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (order["total_fen"].as_i64(), order["discount_fen"].as_i64()),
        (Some(17_800), Some(2_000))
    );
    let (status, body) = shop.order(&alice, "alice-again-1", 2, alice_claim).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("coupon_claim_id")),
        "used once only"
    );

    // Cancelling gives the coupon back, ready for another order.
    let order_id = order["id"].as_i64().unwrap();
    assert_eq!(
        shop.post(
            &format!("/api/orders/{order_id}/cancel"),
            &alice,
            None,
            None
        )
        .await
        .0,
        200
    );
    let held: Vec<Value> = shop
        .http
        .get(format!("{}/api/me/coupons", shop.relay.url()))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert!(held[0]["used_order_id"].is_null());
    let stock = products::get(
        shop.relay.store(),
        products::list(shop.relay.store(), false).await.unwrap()[0].id,
    )
    .await
    .unwrap()
    .skus[0]
        .stock;
    assert_eq!(stock, 10, "refused and cancelled orders hold no stock");

    // Only staff create coupons, and nonsense is refused by field.
    assert_eq!(
        shop.post("/api/coupons", &alice, Some(coupon), None)
            .await
            .0,
        403
    );
    let zero = json!({ "title": "无效", "amount_off_fen": 0, "quantity": 1, "valid_until_ms": until_in_an_hour() });
    let (status, body) = shop
        .post("/api/coupons", &shop.staff, Some(zero), None)
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("amount_off_fen"))
    );
    shop.relay.shutdown().await.unwrap();
}
