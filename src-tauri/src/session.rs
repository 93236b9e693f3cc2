//! The studio's working session: which relay it talks to, as whom, which live it runs, and the
//! live's events, which go to the window and drive the 讲解 card in the outgoing video.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anchordesk_relay::Store;
use anchordesk_relay::auth::{self, Role};
use anchordesk_relay::events::LiveEvent;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::engine_host::EngineHost;
use crate::overlays::{self, OverlayInput, RoomView};
use crate::relay_client::{CallError, RelayClient};

/// The staff account the studio uses on its bundled relay.
const STUDIO_ACCOUNT: &str = "studio";
const DEFAULT_LIVE_TITLE: &str = "我的直播间";

/// What the window needs to know about the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct StudioInfo {
    pub relay_url: String,
    pub live_id: i64,
    pub live_title: String,
    pub stream_name: String,
}

/// Cheap to clone; clones share one session.
#[derive(Clone, Default)]
pub struct Session {
    inner: Arc<Mutex<Option<Connected>>>,
    /// Pin the next product in the cart when the pinned one sells out (a setting).
    next_when_sold_out: Arc<AtomicBool>,
    /// Pin a product as soon as the relay suggests it (viewers keep asking; a setting).
    pin_when_asked: Arc<AtomicBool>,
}

#[derive(Clone)]
struct Connected {
    client: RelayClient,
    info: StudioInfo,
    stop: CancellationToken,
    /// The overlay painter's input; none without a video engine (assistant mode).
    overlays: Option<mpsc::UnboundedSender<OverlayInput>>,
}

impl Session {
    /// Opens the studio's session on the relay it bundles: its own owner account (created on
    /// first start with a random password nobody uses), the newest live not yet ended (or a
    /// new one), and the live's events from now on.
    pub async fn connect_bundled(
        &self,
        relay_url: &str,
        store: &Store,
        engine: EngineHost,
        cache_dir: PathBuf,
        on_event: impl Fn(&Value) + Send + Sync + 'static,
    ) -> anyhow::Result<StudioInfo> {
        match auth::create_staff(store, STUDIO_ACCOUNT, &auth::random_hex(32), Role::Owner).await {
            Ok(_) | Err(anchordesk_relay::error::Error::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let session = auth::open_staff_session(store, STUDIO_ACCOUNT).await?;
        let client = RelayClient::new(relay_url, session.token);
        self.connect(client, Some(engine), cache_dir, on_event)
            .await
            .map_err(anyhow::Error::from)
    }

    /// Assistant mode: signs in to another machine's relay as a staff account (no engine
    /// here, so pins drive no card in this PC's video).
    pub async fn connect_remote(
        &self,
        url: &str,
        username: &str,
        password: &str,
        on_event: impl Fn(&Value) + Send + Sync + 'static,
    ) -> Result<StudioInfo, CallError> {
        let base = url.trim().trim_end_matches('/');
        let valid = reqwest::Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if valid.is_none() {
            return Err(CallError {
                status: 0,
                code: "invalid_field".into(),
                message: "请输入中继地址，例如 http://192.168.1.20:8080 (a relay URL)".into(),
                field: Some("url".into()),
            });
        }
        let login = RelayClient::new(base, String::new())
            .call(
                "POST",
                "/api/auth/login",
                Some(&json!({ "username": username, "password": password })),
            )
            .await?;
        if login["principal"]["kind"] != "staff" {
            return Err(CallError::local(
                "forbidden",
                "这不是员工账号 not a staff account",
            ));
        }
        let token = login["token"].as_str().unwrap_or_default().to_owned();
        self.close();
        self.connect(
            RelayClient::new(base, token),
            None,
            PathBuf::new(),
            on_event,
        )
        .await
    }

    async fn connect(
        &self,
        client: RelayClient,
        engine: Option<EngineHost>,
        cache_dir: PathBuf,
        on_event: impl Fn(&Value) + Send + Sync + 'static,
    ) -> Result<StudioInfo, CallError> {
        let live = current_live(&client).await?;
        let live_id = live["id"].as_i64().unwrap_or_default();
        let info = StudioInfo {
            relay_url: client.base().to_owned(),
            live_id,
            live_title: live["title"].as_str().unwrap_or_default().to_owned(),
            stream_name: live["stream_name"].as_str().unwrap_or_default().to_owned(),
        };
        // The resume point first, then the state: an event in between is applied twice,
        // which the card tolerates (it shows the newest pin), but none is lost.
        let room = client
            .call("GET", &format!("/api/lives/{live_id}/room"), None)
            .await?;
        let after = room["last_event_id"].as_i64().unwrap_or(0);
        let stop = CancellationToken::new();
        let overlays = engine.map(|engine| {
            let (sender, inputs) = mpsc::unbounded_channel();
            match serde_json::from_value::<RoomView>(room) {
                Ok(room) => {
                    let _ = sender.send(OverlayInput::Room(Box::new(room)));
                }
                Err(e) => tracing::warn!("the room read has no card to show: {e}"),
            }
            tokio::spawn(overlays::paint(
                inputs,
                client.clone(),
                engine,
                cache_dir,
                stop.clone(),
            ));
            sender
        });
        let follower = client.clone();
        let stopped = stop.clone();
        let painter = overlays.clone();
        let next_when_sold_out = self.next_when_sold_out.clone();
        let pin_when_asked = self.pin_when_asked.clone();
        let staff = client.clone();
        tokio::spawn(async move {
            follower
                .follow_events(live_id, after, stopped, move |event| {
                    // Kinds newer than this studio do not read as a LiveEvent: nothing to do.
                    if let Ok(live_event) = serde_json::from_value::<LiveEvent>(event.clone()) {
                        match &live_event {
                            LiveEvent::StockChanged { .. }
                                if next_when_sold_out.load(Ordering::Relaxed) =>
                            {
                                tokio::spawn(pin_next_if_sold_out(staff.clone(), live_id));
                            }
                            LiveEvent::AssistSuggested { product_id, .. }
                                if pin_when_asked.load(Ordering::Relaxed) =>
                            {
                                let (staff, product_id) = (staff.clone(), *product_id);
                                tokio::spawn(pin(staff, live_id, product_id, "asked by viewers"));
                            }
                            _ => {}
                        }
                        if let Some(painter) = &painter
                            && matches!(
                                live_event,
                                LiveEvent::PinChanged { .. }
                                    | LiveEvent::StockChanged { .. }
                                    | LiveEvent::FlashSaleCreated { .. }
                                    | LiveEvent::FlashSaleChanged { .. }
                                    | LiveEvent::FlashSaleEnded { .. }
                            )
                        {
                            let _ = painter.send(OverlayInput::Event(Box::new(live_event)));
                        }
                    }
                    on_event(&event);
                })
                .await;
        });
        *lock(&self.inner) = Some(Connected {
            client,
            info: info.clone(),
            stop,
            overlays,
        });
        Ok(info)
    }

    pub fn info(&self) -> Option<StudioInfo> {
        lock(&self.inner).as_ref().map(|c| c.info.clone())
    }

    pub fn client(&self) -> Result<RelayClient, CallError> {
        lock(&self.inner)
            .as_ref()
            .map(|c| c.client.clone())
            .ok_or_else(|| CallError::local("not_connected", "尚未连接服务器 not connected yet"))
    }

    /// Marks the live on air and returns where and with which key to publish. The key is
    /// rotated each time: the studio keeps no publish key on disk for its own relay.
    pub async fn prepare_go_live(&self) -> Result<(String, String), CallError> {
        let client = self.client()?;
        let info = self.info().expect("a client implies info");
        let name = &info.stream_name;
        let key = match client
            .call("POST", &format!("/api/streams/{name}/key"), None)
            .await
        {
            Ok(key) => key,
            Err(e) if e.status == 404 => {
                client
                    .call("POST", "/api/streams", Some(&json!({ "name": name })))
                    .await?
            }
            Err(e) => return Err(e),
        };
        let live = client
            .call("GET", &format!("/api/lives/{}", info.live_id), None)
            .await?;
        if live["status"] == "scheduled" {
            client
                .call(
                    "POST",
                    &format!("/api/lives/{}/status", info.live_id),
                    Some(&json!({ "status": "live" })),
                )
                .await?;
        }
        let field = |k: &str| key[k].as_str().unwrap_or_default().to_owned();
        Ok((field("whip_url"), field("key")))
    }

    /// The settings' rules the session acts on: whether a sold-out pinned product gives way
    /// to the next one in the cart, and whether a product viewers keep asking about is pinned
    /// without waiting for a click.
    pub fn set_rules(&self, next_when_sold_out: bool, pin_when_asked: bool) {
        self.next_when_sold_out
            .store(next_when_sold_out, Ordering::Relaxed);
        self.pin_when_asked.store(pin_when_asked, Ordering::Relaxed);
    }

    /// Changes what the overlays in the video show (a comment on screen, the low-stock
    /// threshold); refused without a video engine.
    pub fn overlay(&self, input: OverlayInput) -> Result<(), CallError> {
        let inner = lock(&self.inner);
        let connected = inner
            .as_ref()
            .ok_or_else(|| CallError::local("not_connected", "尚未连接服务器 not connected yet"))?;
        let painter = connected.overlays.as_ref().ok_or_else(|| {
            CallError::local(
                "no_engine",
                "助理模式没有视频画面 no video in assistant mode",
            )
        })?;
        painter
            .send(input)
            .map_err(|_| CallError::local("engine", "画面已关闭 the studio is closing"))
    }

    pub fn close(&self) {
        if let Some(connected) = lock(&self.inner).take() {
            connected.stop.cancel();
        }
    }
}

/// The cart position to pin when the pinned product has sold out: the next one after it
/// with stock, wrapping round; `None` when the pinned one still has stock, nothing is pinned,
/// or nothing else has stock.
pub fn next_to_pin(live: &Value) -> Option<i64> {
    let pinned = live["pin"]["product_id"].as_i64()?;
    let cart = live["cart"].as_array()?;
    let stock = |item: &Value| -> i64 {
        item["product"]["skus"]
            .as_array()
            .map(|skus| skus.iter().filter_map(|s| s["stock"].as_i64()).sum())
            .unwrap_or(0)
    };
    let at = cart
        .iter()
        .position(|item| item["product"]["id"].as_i64() == Some(pinned))?;
    if stock(&cart[at]) > 0 {
        return None;
    }
    (1..cart.len())
        .map(|step| &cart[(at + step) % cart.len()])
        .find(|item| stock(item) > 0)
        .and_then(|item| item["product"]["id"].as_i64())
}

/// Pins the next product with stock when the pinned one sold out. Stock events come in
/// bursts: a second check after the switch finds the new product in stock and does nothing.
async fn pin_next_if_sold_out(client: RelayClient, live_id: i64) {
    let next = match client
        .call("GET", &format!("/api/lives/{live_id}"), None)
        .await
    {
        Ok(live) => next_to_pin(&live),
        Err(e) => {
            tracing::warn!("cannot read the live to follow a sell-out: {e}");
            return;
        }
    };
    if let Some(product_id) = next {
        pin(client, live_id, product_id, "the pinned product sold out").await;
    }
}

/// Pins a product on the studio's own initiative (a rule the user turned on), saying why.
async fn pin(client: RelayClient, live_id: i64, product_id: i64, why: &'static str) {
    let pinned = client
        .call(
            "POST",
            &format!("/api/lives/{live_id}/pin"),
            Some(&json!({ "product_id": product_id })),
        )
        .await;
    match pinned {
        Ok(_) => tracing::info!(product_id, why, "pinned by a studio rule"),
        Err(e) => tracing::warn!(product_id, why, "cannot pin by a studio rule: {e}"),
    }
}

/// The live the studio runs: the newest one not ended, else a new one.
async fn current_live(client: &RelayClient) -> Result<Value, CallError> {
    let lives = client.call("GET", "/api/lives", None).await?;
    let newest_open = lives.as_array().and_then(|lives| {
        lives
            .iter()
            .filter(|l| l["status"] != "ended")
            .max_by_key(|l| l["id"].as_i64())
            .cloned()
    });
    match newest_open {
        Some(live) => Ok(live),
        None => {
            client
                .call(
                    "POST",
                    "/api/lives",
                    Some(&json!({ "title": DEFAULT_LIVE_TITLE })),
                )
                .await
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, stock: i64) -> Value {
        json!({ "position": id, "product": { "id": id, "skus": [{ "id": id * 10, "stock": stock }] } })
    }

    #[test]
    fn the_next_product_with_stock_follows_a_sell_out_wrapping_round() {
        let live = |pinned: i64, cart: Vec<Value>| json!({ "pin": { "product_id": pinned }, "cart": cart });
        assert_eq!(next_to_pin(&live(1, vec![item(1, 0), item(2, 5)])), Some(2));
        assert_eq!(
            next_to_pin(&live(2, vec![item(1, 3), item(2, 0), item(3, 0)])),
            Some(1)
        );
        assert_eq!(
            next_to_pin(&live(1, vec![item(1, 2), item(2, 5)])),
            None,
            "still in stock"
        );
        assert_eq!(
            next_to_pin(&live(1, vec![item(1, 0), item(2, 0)])),
            None,
            "nothing left"
        );
        assert_eq!(
            next_to_pin(&json!({ "pin": null, "cart": [item(1, 0)] })),
            None
        );
    }

    /// The studio's session on a real bundled relay with `stocks.len()` products in the cart.
    async fn studio_with_cart(
        stocks: &[i64],
        next_when_sold_out: bool,
        pin_when_asked: bool,
    ) -> (
        tempfile::TempDir,
        anchordesk_relay::RunningRelay,
        Session,
        StudioInfo,
        Vec<Value>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let relay = anchordesk_relay::start(&anchordesk_relay::Config::bundled(dir.path().into()))
            .await
            .unwrap();
        let session = Session::default();
        session.set_rules(next_when_sold_out, pin_when_asked);
        let info = session
            .connect_bundled(
                &relay.url(),
                relay.store(),
                EngineHost::default(),
                dir.path().join("cards"),
                |_| {},
            )
            .await
            .unwrap();
        let staff = session.client().unwrap();
        let mut products = Vec::new();
        for (i, stock) in stocks.iter().enumerate() {
            let body =
                json!({ "title": format!("商品{}", i + 1), "price_fen": 6900, "stock": stock });
            products.push(
                staff
                    .call("POST", "/api/products", Some(&body))
                    .await
                    .unwrap(),
            );
        }
        let ids: Vec<i64> = products.iter().map(|p| p["id"].as_i64().unwrap()).collect();
        staff
            .call(
                "PUT",
                &format!("/api/lives/{}/cart", info.live_id),
                Some(&json!({ "product_ids": ids })),
            )
            .await
            .unwrap();
        (dir, relay, session, info, products)
    }

    async fn wait_for_pin(session: &Session, live_id: i64, product_id: i64) {
        let staff = session.client().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let now = staff
                .call("GET", &format!("/api/lives/{live_id}"), None)
                .await
                .unwrap();
            if now["pin"]["product_id"].as_i64() == Some(product_id) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still pinned: {}",
                now["pin"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn new_viewer(http: &reqwest::Client, url: &str) -> String {
        let viewer: Value = http
            .post(format!("{url}/api/viewers"))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        viewer["token"].as_str().unwrap().to_owned()
    }

    /// A real bundled relay: the pinned product's last units are bought and, with the option
    /// on, the studio's session pins the next product in the cart.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_sold_out_pin_moves_to_the_next_product_when_the_option_is_on() {
        let (_dir, relay, session, info, products) = studio_with_cart(&[2, 5], true, false).await;
        let staff = session.client().unwrap();
        staff
            .call(
                "POST",
                &format!("/api/lives/{}/pin", info.live_id),
                Some(&json!({ "product_id": products[0]["id"] })),
            )
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let token = new_viewer(&http, &relay.url()).await;
        let ordered = http
            .post(format!("{}/api/orders", relay.url()))
            .bearer_auth(token)
            .header("idempotency-key", "sell-out")
            .json(&json!({
                "live_id": info.live_id,
                "items": [{ "sku_id": products[0]["skus"][0]["id"], "quantity": 2 }],
                "shipping": { "name": "张三", "phone": "13800138000", "address": "上海市浦东新区世纪大道 100 号" },
            }))
            .send()
            .await
            .unwrap();
        assert!(ordered.status().is_success(), "{}", ordered.status());
        wait_for_pin(&session, info.live_id, products[1]["id"].as_i64().unwrap()).await;
        session.close();
        relay.shutdown().await.unwrap();
    }

    /// With "pin when asked" on, five viewers asking for 3号 get it pinned.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_product_viewers_keep_asking_about_is_pinned_when_the_option_is_on() {
        let (_dir, relay, session, info, products) =
            studio_with_cart(&[10, 10, 10], false, true).await;
        let http = reqwest::Client::new();
        for body in ["3号有吗", "三号", "３号链接", "链接3", "#3"] {
            let token = new_viewer(&http, &relay.url()).await;
            let posted = http
                .post(format!(
                    "{}/api/lives/{}/comments",
                    relay.url(),
                    info.live_id
                ))
                .bearer_auth(token)
                .json(&json!({ "body": body }))
                .send()
                .await
                .unwrap();
            assert!(posted.status().is_success());
        }
        wait_for_pin(&session, info.live_id, products[2]["id"].as_i64().unwrap()).await;
        session.close();
        relay.shutdown().await.unwrap();
    }
}
