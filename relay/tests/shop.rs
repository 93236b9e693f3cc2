//! Products, lives, 小黄车 and pins over real HTTP, and the event log over a real WebSocket.

mod common;

use std::time::Duration;

use anchordesk_relay::RunningRelay;
use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::lives::Live;
use anchordesk_relay::commerce::products::Product;
use anchordesk_relay::events::{self, Event, LiveEvent};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

struct Shop {
    _dir: tempfile::TempDir,
    relay: RunningRelay,
    http: reqwest::Client,
    staff: String,
    viewer: String,
}

impl Shop {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let relay = anchordesk_relay::start(&common::config(dir.path()).await)
            .await
            .unwrap();
        let staff = common::staff_token(&relay, "assistant1", Role::Assistant).await;
        let http = reqwest::Client::new();
        let viewer: Value = http
            .post(format!("{}/api/viewers", relay.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            staff,
            viewer: viewer["token"].as_str().unwrap().to_owned(),
            _dir: dir,
            relay,
            http,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.relay.url()));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn staff_post(&self, path: &str, body: Value) -> Value {
        let (status, value) = self
            .call(reqwest::Method::POST, path, Some(&self.staff), Some(body))
            .await;
        assert!((200..300).contains(&status), "{path}: {status} {value}");
        value
    }

    async fn product(&self, title: &str, price_fen: i64) -> Product {
        serde_json::from_value(
            self.staff_post(
                "/api/products",
                json!({ "title": title, "price_fen": price_fen, "stock": 20 }),
            )
            .await,
        )
        .unwrap()
    }

    /// Two products and a live to sell them in (the cart still empty).
    async fn live_with_two_products(
        &self,
        title: &str,
        a: (&str, i64),
        b: (&str, i64),
    ) -> (Product, Product, Live) {
        let a = self.product(a.0, a.1).await;
        let b = self.product(b.0, b.1).await;
        let live = serde_json::from_value(
            self.staff_post("/api/lives", json!({ "title": title }))
                .await,
        )
        .unwrap();
        (a, b, live)
    }

    fn ws_url(&self, live: i64, after: i64, token: &str) -> String {
        format!(
            "{}/api/lives/{live}/events?after={after}&access_token={token}",
            self.relay.url().replace("http://", "ws://")
        )
    }
}

fn field(body: &Value) -> &str {
    body["error"]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn only_staff_manage_products_and_bad_input_names_the_field() {
    let shop = Shop::open().await;
    let good = json!({ "title": "羊绒围巾", "price_fen": 19_900, "stock": 5 });
    let (status, body) = shop
        .call(
            reqwest::Method::POST,
            "/api/products",
            None,
            Some(good.clone()),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = shop
        .call(
            reqwest::Method::POST,
            "/api/products",
            Some(&shop.viewer),
            Some(good.clone()),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = shop
        .call(
            reqwest::Method::POST,
            "/api/products",
            Some("forged-token"),
            Some(good.clone()),
        )
        .await;
    assert_eq!(status, 401);

    let cases = [
        (json!({ "title": "围巾", "price_fen": -1 }), "price_fen"),
        (json!({ "title": "", "price_fen": 100 }), "title"),
        (json!({ "price_fen": 100 }), "title"),
        (
            json!({ "title": "围巾", "price_fen": "cheap" }),
            "price_fen",
        ),
        (
            json!({ "title": "围巾", "price_fen": 100, "skus": [{ "name": "红", "price_fen": 100, "stock": 1 }, { "name": "蓝", "price_fen": 100, "stock": -3 }] }),
            "skus[1].stock",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = shop
            .call(
                reqwest::Method::POST,
                "/api/products",
                Some(&shop.staff),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert_eq!(field(&answer), expected, "{body} → {answer}");
    }

    let created = shop.staff_post("/api/products", good).await;
    assert_eq!(created["skus"][0]["stock"], 5);
    let id = created["id"].as_i64().unwrap();
    // A viewer reads the catalogue but cannot change a price.
    let (status, _) = shop
        .call(
            reqwest::Method::GET,
            &format!("/api/products/{id}"),
            Some(&shop.viewer),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = shop
        .call(
            reqwest::Method::PATCH,
            &format!("/api/products/{id}"),
            Some(&shop.viewer),
            Some(json!({ "price_fen": 1 })),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = shop
        .call(reqwest::Method::GET, "/api/products/abc", None, None)
        .await;
    assert_eq!((status, field(&body)), (422, "id"));
    shop.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn cart_is_numbered_and_a_pin_reaches_viewers_as_an_event() {
    let shop = Shop::open().await;
    let (a, b, live) = shop
        .live_with_two_products("周末专场", ("A 款保温杯", 5_900), ("B 款茶具", 12_800))
        .await;
    assert_eq!(live.stream_name, format!("live-{}", live.id));

    let path = |p: &str| format!("/api/lives/{}{p}", live.id);
    shop.staff_post(&path("/cart"), json!({ "product_id": a.id }))
        .await;
    let with_b: Live = serde_json::from_value(
        shop.staff_post(&path("/cart"), json!({ "product_id": b.id }))
            .await,
    )
    .unwrap();
    assert_eq!(
        with_b
            .cart
            .iter()
            .map(|i| (i.position, i.product.id))
            .collect::<Vec<_>>(),
        [(1, a.id), (2, b.id)]
    );

    let (status, body) = shop
        .call(
            reqwest::Method::POST,
            &path("/pin"),
            Some(&shop.staff),
            Some(json!({ "product_id": 999 })),
        )
        .await;
    assert_eq!((status, field(&body)), (422, "product_id"));
    let (status, _) = shop
        .call(
            reqwest::Method::POST,
            &path("/pin"),
            Some(&shop.viewer),
            Some(json!({ "product_id": a.id })),
        )
        .await;
    assert_eq!(status, 403, "a viewer cannot pin");

    // A viewer watching the live's event socket sees the pin as it happens.
    let (mut socket, _) = tokio_tungstenite::connect_async(shop.ws_url(live.id, 0, &shop.viewer))
        .await
        .unwrap();
    let backlog: Vec<Event> = next_events(&mut socket, 2).await;
    assert!(backlog.iter().all(|e| e.kind == "cart.changed"));
    shop.staff_post(
        &path("/pin"),
        json!({ "product_id": b.id, "selling_point": "直播间专享" }),
    )
    .await;
    let pinned = next_events(&mut socket, 1).await.remove(0);
    assert_eq!(pinned.kind, "pin.changed");
    assert_eq!(pinned.payload["position"], 2);
    assert_eq!(pinned.payload["product"]["title"], "B 款茶具");
    assert_eq!(pinned.payload["pin"]["selling_point"], "直播间专享");

    // Removing the pinned product unpins it, and B's successor numbers shift.
    let (status, after) = shop
        .call(
            reqwest::Method::DELETE,
            &path(&format!("/cart/{}", b.id)),
            Some(&shop.staff),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(after["pin"].is_null());
    let events = next_events(&mut socket, 2).await;
    assert_eq!(events[0].kind, "pin.changed");
    assert!(events[0].payload["pin"].is_null());
    assert_eq!(events[1].kind, "cart.changed");

    let (_, history) = shop
        .call(
            reqwest::Method::GET,
            &path("/pins"),
            Some(&shop.staff),
            None,
        )
        .await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert!(
        history[0]["ended_at_ms"].as_i64().unwrap()
            >= history[0]["started_at_ms"].as_i64().unwrap()
    );
    shop.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reconnecting_client_resumes_after_its_last_event_and_misses_none() {
    let shop = Shop::open().await;
    let (a, b, live) = shop
        .live_with_two_products("补拍", ("A", 100), ("B", 200))
        .await;
    let path = |p: &str| format!("/api/lives/{}{p}", live.id);
    shop.staff_post(&path("/cart"), json!({ "product_id": a.id }))
        .await;
    shop.staff_post(&path("/cart"), json!({ "product_id": b.id }))
        .await;

    let (mut socket, _) = tokio_tungstenite::connect_async(shop.ws_url(live.id, 0, &shop.viewer))
        .await
        .unwrap();
    let seen = next_events(&mut socket, 2).await;
    let last = seen.last().unwrap().id;
    drop(socket);

    // 50 pins happen while the client is away.
    for i in 0..50 {
        let product = if i % 2 == 0 { a.id } else { b.id };
        shop.staff_post(&path("/pin"), json!({ "product_id": product }))
            .await;
    }
    // A staff-only event in the same log must never reach a viewer.
    let mut conn = shop.relay.store().pool().acquire().await.unwrap();
    events::append(
        &mut conn,
        live.id,
        LiveEvent::OrderCancelled { order_id: 424_242 },
    )
    .await
    .unwrap();
    drop(conn);

    let (mut socket, _) =
        tokio_tungstenite::connect_async(shop.ws_url(live.id, last, &shop.viewer))
            .await
            .unwrap();
    // Viewer-count events may interleave (this very socket is an audience change); the 50
    // pins must all arrive, in order, and nothing staff-only may.
    let mut resumed = Vec::new();
    while resumed
        .iter()
        .filter(|e: &&Event| e.kind == "pin.changed")
        .count()
        < 50
    {
        resumed.extend(next_events(&mut socket, 1).await);
    }
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_millis(300), socket.next()).await
    {
        resumed.push(serde_json::from_str(&text).unwrap());
    }
    let ids: Vec<i64> = resumed.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    assert!(ids[0] > last);
    assert!(
        resumed
            .iter()
            .all(|e| e.kind == "pin.changed" || e.kind == "viewers"),
        "viewer received something else (staff-only?): {:?}",
        resumed.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );

    // Staff read the same log over HTTP, including the staff-only event.
    let (status, page) = shop
        .call(
            reqwest::Method::GET,
            &path(&format!("/events?after={last}")),
            Some(&shop.staff),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let page: Vec<Event> = serde_json::from_value(page).unwrap();
    assert_eq!(page.iter().filter(|e| e.kind == "pin.changed").count(), 50);
    assert_eq!(
        page.iter().filter(|e| e.kind == "order.cancelled").count(),
        1,
        "staff see staff-only events"
    );
    shop.relay.shutdown().await.unwrap();
}

async fn next_events<S>(socket: &mut S, n: usize) -> Vec<Event>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events arrived: {out:?}", out.len()))
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = msg {
            out.push(serde_json::from_str(&text).expect("event JSON"));
        }
    }
    out
}
