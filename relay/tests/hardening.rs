//! What a hostile viewer can do with free identities, extreme numbers and hidden comments
//! (issue 22): each test failed against the relay before its fix.
//!
//! Clients come from several loopback addresses (127.0.0.x): the relay keys limits on the
//! socket's peer address, never on a header.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::payments::{
    SIGNATURE_HEADER, SignedCallbackProvider, TIMESTAMP_HEADER,
};
use anchordesk_relay::events::EventHub;
use anchordesk_relay::interaction::{Interaction, NewComment, WordFilter};
use anchordesk_relay::limits::ClientKey;
use anchordesk_relay::{RunningRelay, Store};
use serde_json::{Value, json};

const SECRET: &str = "hardening-secret-0123456789";

struct Shop {
    _dir: tempfile::TempDir,
    relay: RunningRelay,
    owner: String,
    live_id: i64,
    sku_id: i64,
}

impl Shop {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::config(dir.path()).await;
        config.payment_secret = Some(SECRET.into());
        let relay = anchordesk_relay::start(&config).await.unwrap();
        let owner = common::staff_token(&relay, "owner", Role::Owner).await;
        let live_id = common::new_live(relay.store(), "今晚八点").await;
        let product = common::product(relay.store(), "保温杯", 9_900, 100).await;
        anchordesk_relay::commerce::lives::replace_cart(
            relay.store(),
            live_id,
            &anchordesk_relay::commerce::lives::CartReplace {
                product_ids: vec![product.id],
            },
        )
        .await
        .unwrap();
        Self {
            _dir: dir,
            relay,
            owner,
            live_id,
            sku_id: product.skus[0].id,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.relay.url())
    }

    async fn viewer(&self) -> String {
        common::viewer_token(self.relay.store()).await
    }
}

/// An HTTP client whose connections come from `127.0.0.<n>`.
fn from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(IpAddr::from([127, 0, 0, n])))
        .build()
        .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn field(body: &Value) -> Option<&str> {
    body["error"]["field"].as_str()
}

#[tokio::test]
async fn a_payment_callback_with_the_most_negative_timestamp_is_refused_not_a_panic() {
    let shop = Shop::open().await;
    let body = json!({ "order_id": 1, "amount_fen": 100, "transaction_id": "wx-1" }).to_string();
    let gateway = SignedCallbackProvider::new(SECRET);
    for at in [i64::MIN, i64::MAX, i64::MIN + 1] {
        let (status, answer) = send(
            from(1)
                .post(shop.url("/api/payments/signed/callback"))
                .header("content-type", "application/json")
                .header(TIMESTAMP_HEADER, at.to_string())
                .header(SIGNATURE_HEADER, gateway.sign(at, body.as_bytes()))
                .body(body.clone()),
        )
        .await;
        assert_eq!(status, 401, "timestamp {at}: {answer}");
    }
    // The relay is still there.
    let (status, _) = send(from(1).get(shop.url(anchordesk_relay::api::path::HEALTHZ))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn coupon_times_at_the_end_of_i64_are_refused_naming_the_field() {
    let shop = Shop::open().await;
    for (from_ms, until_ms, named) in [
        (i64::MAX, i64::MAX, "valid_from_ms"),
        (0, i64::MAX, "valid_until_ms"),
        (i64::MIN, 1, "valid_from_ms"),
    ] {
        let (status, body) = send(
            from(1)
                .post(shop.url("/api/coupons"))
                .bearer_auth(&shop.owner)
                .json(
                    &json!({ "title": "满100减10", "amount_off_fen": 1000, "quantity": 10,
                    "valid_from_ms": from_ms, "valid_until_ms": until_ms }),
                ),
        )
        .await;
        assert_eq!((status, field(&body)), (422, Some(named)), "{body}");
    }
}

#[tokio::test]
async fn viewer_tokens_are_rate_limited_per_address() {
    let shop = Shop::open().await;
    let http = from(2);
    let mut refused = None;
    for i in 0..80 {
        let res = http.post(shop.url("/api/viewers")).send().await.unwrap();
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
            refused = Some(i);
            break;
        }
        assert_eq!(res.status(), 201, "token {i}");
    }
    let refused = refused.expect("80 tokens from one address in a row are not all given");
    assert!(
        refused >= 20,
        "an office opening the page together is served: {refused}"
    );
    let (status, _) = send(from(3).post(shop.url("/api/viewers"))).await;
    assert_eq!(status, 201, "another address is not affected");
    // Behind a proxy on this machine (trusted by default), the address it forwards counts.
    let proxied = |client: &'static str| {
        from(1)
            .post(shop.url("/api/viewers"))
            .header("x-forwarded-for", client)
    };
    let mut statuses = Vec::new();
    for _ in 0..80 {
        statuses.push(send(proxied("203.0.113.9")).await.0);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(send(proxied("203.0.113.10")).await.0, 201);
}

#[tokio::test]
async fn a_coupon_limit_of_one_holds_for_fresh_tokens_from_one_device() {
    let shop = Shop::open().await;
    let (status, coupon) = send(
        from(1)
            .post(shop.url("/api/coupons"))
            .bearer_auth(&shop.owner)
            .json(
                &json!({ "live_id": shop.live_id, "title": "满100减10", "amount_off_fen": 1000,
                "quantity": 100, "per_user_limit": 1, "valid_until_ms": 4_000_000_000_000i64 }),
            ),
    )
    .await;
    assert_eq!(status, 201, "{coupon}");
    let claim = shop.url(&format!("/api/coupons/{}/claim", coupon["id"]));
    let attacker = from(4);
    let mut claimed = 0;
    for _ in 0..10 {
        let token = shop.viewer().await;
        let request = attacker
            .post(&claim)
            .bearer_auth(&token)
            .header("x-anchordesk-device", "device-aaaa-0001");
        if send(request).await.0 == 201 {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1, "ten fresh tokens, one device: one coupon");
    // No device id: the address alone is the buyer.
    let token = shop.viewer().await;
    assert_eq!(send(from(5).post(&claim).bearer_auth(&token)).await.0, 201);
    let token = shop.viewer().await;
    assert_eq!(send(from(5).post(&claim).bearer_auth(&token)).await.0, 409);
    // Someone else on the same Wi-Fi, with their own phone, gets theirs.
    let token = shop.viewer().await;
    let other = attacker
        .post(&claim)
        .bearer_auth(&token)
        .header("x-anchordesk-device", "device-bbbb-0002");
    assert_eq!(send(other).await.0, 201);
}

#[tokio::test]
async fn a_live_coupon_does_not_apply_to_orders_in_another_live() {
    let shop = Shop::open().await;
    let other_live = common::new_live(shop.relay.store(), "明晚").await;
    let (_, coupon) = send(
        from(1)
            .post(shop.url("/api/coupons"))
            .bearer_auth(&shop.owner)
            .json(
                &json!({ "live_id": shop.live_id, "title": "本场专享", "amount_off_fen": 500,
                "quantity": 10, "valid_until_ms": 4_000_000_000_000i64 }),
            ),
    )
    .await;
    let token = shop.viewer().await;
    let (status, claim) = send(
        from(6)
            .post(shop.url(&format!("/api/coupons/{}/claim", coupon["id"])))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 201, "{claim}");
    let order = |live_id: i64, key: &str| {
        from(6)
            .post(shop.url("/api/orders"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&json!({
                "live_id": live_id,
                "items": [{ "sku_id": shop.sku_id, "quantity": 1 }],
                "shipping": { "name": "李四", "phone": "13900001111", "address": "杭州市西湖区文三路 1 号" },
                "coupon_claim_id": claim["id"],
            }))
    };
    let (status, body) = send(order(other_live, "other-live-1")).await;
    assert_eq!(
        (status, field(&body)),
        (422, Some("coupon_claim_id")),
        "{body}"
    );
    let (status, body) = send(order(shop.live_id, "this-live-01")).await;
    assert_eq!(
        (status, body["discount_fen"].as_i64()),
        (201, Some(500)),
        "{body}"
    );
}

#[tokio::test]
async fn a_flash_sale_limit_counts_orders_by_the_phone_number_too() {
    let shop = Shop::open().await;
    let (status, sale) = send(
        from(1)
            .post(shop.url(&format!("/api/lives/{}/flash-sales", shop.live_id)))
            .bearer_auth(&shop.owner)
            .json(
                &json!({ "sku_id": shop.sku_id, "sale_price_fen": 990, "quantity": 20,
                "per_user_limit": 1, "duration_secs": 600 }),
            ),
    )
    .await;
    assert_eq!(status, 201, "{sale}");
    let buy = |token: String, key: String, phone: &'static str| {
        from(7)
            .post(shop.url("/api/orders"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({
                "live_id": shop.live_id,
                "items": [{ "sku_id": shop.sku_id, "quantity": 1 }],
                "shipping": { "name": "钱七", "phone": phone, "address": "广州市天河区体育西路 3 号" },
            }))
    };
    let mut sold = 0;
    for i in 0..5 {
        // The same phone written both ways a form accepts.
        let phone = if i % 2 == 0 {
            "13500004444"
        } else {
            "+8613500004444"
        };
        let (status, body) = send(buy(shop.viewer().await, format!("same-phone-{i}"), phone)).await;
        match status {
            201 => sold += 1,
            422 => assert_eq!(field(&body), Some("items[0].quantity"), "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(sold, 1, "five fresh tokens, one phone: one unit");
    let (status, _) = send(buy(
        shop.viewer().await,
        "other-phone-1".into(),
        "13600003333",
    ))
    .await;
    assert_eq!(status, 201, "another buyer is not affected");
}

#[tokio::test]
async fn one_device_is_one_lottery_entrant_whatever_its_tokens() {
    let shop = Shop::open().await;
    let (status, lottery) = send(
        from(1)
            .post(shop.url(&format!("/api/lives/{}/lotteries", shop.live_id)))
            .bearer_auth(&shop.owner)
            .json(&json!({ "prize": "保温杯", "winners": 1, "duration_secs": 600 })),
    )
    .await;
    assert_eq!(status, 201, "{lottery}");
    let join = shop.url(&format!("/api/lotteries/{}/join", lottery["id"]));
    let mut joined = 0;
    for _ in 0..5 {
        let token = shop.viewer().await;
        if send(from(8).post(&join).bearer_auth(token)).await.0 == 200 {
            joined += 1;
        }
    }
    assert_eq!(joined, 1);
    let token = shop.viewer().await;
    assert_eq!(send(from(9).post(&join).bearer_auth(token)).await.0, 200);
    let entrants = anchordesk_relay::commerce::lotteries::entrants(
        shop.relay.store(),
        lottery["id"].as_i64().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(entrants.len(), 2);
}

async fn comment(shop: &Shop, http: &reqwest::Client, token: &str, body: &str) -> (u16, Value) {
    send(
        http.post(shop.url(&format!("/api/lives/{}/comments", shop.live_id)))
            .bearer_auth(token)
            .json(&json!({ "body": body })),
    )
    .await
}

#[tokio::test]
async fn a_mute_holds_for_a_fresh_token_from_the_same_address_and_hides_the_comments() {
    let shop = Shop::open().await;
    let troll = shop.viewer().await;
    let (status, posted) = comment(&shop, &from(10), &troll, "加我 13912345678").await;
    assert_eq!(status, 201);
    let troll_id = posted["viewer_id"].as_i64().unwrap();
    // Flushed into a `comments` event before the mute, as it would be in a live.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _) = send(
        from(1)
            .post(shop.url(&format!("/api/viewers/{troll_id}/mute")))
            .bearer_auth(&shop.owner)
            .json(&json!({ "minutes": 10 })),
    )
    .await;
    assert_eq!(status, 204);
    let fresh = shop.viewer().await;
    assert_eq!(comment(&shop, &from(10), &fresh, "我又来了").await.0, 403);
    let neighbour = shop.viewer().await;
    assert_eq!(comment(&shop, &from(11), &neighbour, "主播好").await.0, 201);

    let events = from(1)
        .get(shop.url(&format!("/api/lives/{}/events?after=0", shop.live_id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!events.contains("13912345678"), "{events}");
    let room = from(1)
        .get(shop.url(&format!("/api/lives/{}/room", shop.live_id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!room.contains("13912345678"), "{room}");
}

#[tokio::test]
async fn a_hidden_comment_leaves_the_event_log_the_room_and_the_comment_list() {
    let shop = Shop::open().await;
    let viewer = shop.viewer().await;
    let (_, kept) = comment(&shop, &from(12), &viewer, "这个多少钱").await;
    let (status, posted) = comment(&shop, &from(12), &viewer, "私聊 13800138000").await;
    assert_eq!(status, 201);
    // Hidden once it is in a batch, and once while it may still be pending.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pending = shop.viewer().await;
    let (_, quick) = comment(&shop, &from(13), &pending, "加V 13700137000").await;
    for id in [&posted["id"], &quick["id"]] {
        let (status, _) = send(
            from(1)
                .post(shop.url(&format!("/api/comments/{id}/hide")))
                .bearer_auth(&shop.owner),
        )
        .await;
        assert_eq!(status, 204);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    for path in [
        format!("/api/lives/{}/events?after=0", shop.live_id),
        format!("/api/lives/{}/room", shop.live_id),
        format!("/api/lives/{}/comments", shop.live_id),
    ] {
        let text = from(14)
            .get(shop.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains("13800138000"), "{path}: {text}");
        assert!(!text.contains("13700137000"), "{path}: {text}");
        if !path.contains("events") {
            assert!(
                text.contains("这个多少钱"),
                "{path} keeps the others: {text}"
            );
        }
    }
    // Staff still see what was hidden, in the comment list.
    let staff_list = from(1)
        .get(shop.url(&format!("/api/lives/{}/comments", shop.live_id)))
        .bearer_auth(&shop.owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(staff_list.contains("13800138000"));
    assert!(kept["id"].is_i64());
}

#[tokio::test]
async fn control_characters_are_refused_in_comments_and_nicknames() {
    let shop = Shop::open().await;
    let viewer = shop.viewer().await;
    let (status, body) = comment(&shop, &from(15), &viewer, "hi\u{0}there").await;
    assert_eq!((status, field(&body)), (422, Some("body")), "{body}");
    let (status, body) = comment(&shop, &from(15), &viewer, "\u{1b}[2J").await;
    assert_eq!((status, field(&body)), (422, Some("body")), "{body}");
    let (status, body) = send(
        from(15)
            .post(shop.url("/api/viewers"))
            .json(&json!({ "nickname": "小\u{0}红" })),
    )
    .await;
    assert_eq!((status, field(&body)), (422, Some("nickname")), "{body}");
}

#[tokio::test]
async fn likes_are_capped_per_viewer_per_second() {
    let shop = Shop::open().await;
    let viewer = shop.viewer().await;
    let http = from(16);
    let started = Instant::now();
    for _ in 0..400 {
        let (status, _) = send(
            http.post(shop.url(&format!("/api/lives/{}/likes", shop.live_id)))
                .bearer_auth(&viewer)
                .json(&json!({ "count": 100 })),
        )
        .await;
        assert_eq!(status, 202);
    }
    let elapsed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let room: Value = from(16)
        .get(shop.url(&format!("/api/lives/{}/room", shop.live_id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let likes = room["likes"].as_i64().unwrap();
    // 100 saved up, then 20 a second, whatever was sent (40,000 here).
    let allowed = 100 + (20.0 * (elapsed + 1.0)) as i64;
    assert!(
        (100..=allowed).contains(&likes),
        "{likes} likes in {elapsed:.1} s"
    );
}

#[tokio::test]
async fn one_address_counts_as_a_few_viewers_however_many_sockets_it_opens() {
    use futures_util::StreamExt;
    let shop = Shop::open().await;
    let ws = shop
        .url(&format!("/api/lives/{}/events?after=0", shop.live_id))
        .replace("http://", "ws://");
    let mut sockets = Vec::new();
    for _ in 0..12 {
        // From 127.0.0.18: 127.0.0.1 is the trusted proxy (the studio), not one viewer.
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.bind("127.0.0.18:0".parse().unwrap()).unwrap();
        let stream = tcp.connect(shop.relay.addr()).await.unwrap();
        let (socket, _) = tokio_tungstenite::client_async(ws.as_str(), stream)
            .await
            .unwrap();
        sockets.push(socket);
    }
    let viewers_now = || async {
        let room: Value = from(17)
            .get(shop.url(&format!("/api/lives/{}/room", shop.live_id)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        room["viewers_now"].as_i64().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while viewers_now().await < anchordesk_relay::limits::WATCHERS_PER_IP as i64 {
        assert!(Instant::now() < deadline, "sockets never counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        viewers_now().await,
        anchordesk_relay::limits::WATCHERS_PER_IP as i64
    );
    // Every socket still gets the live's events.
    for socket in &mut sockets {
        drop(socket.next());
    }
}

/// Two relays on one database (two `Interaction`s on one store): the comment limit is one.
#[tokio::test]
async fn the_comment_rate_limit_holds_across_relays_sharing_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_config(&common::config(dir.path()).await)
        .await
        .unwrap();
    let live_id = common::new_live(&store, "晚八点").await;
    let a = Interaction::new(store.clone(), EventHub::default(), WordFilter::default());
    let b = Interaction::new(store.clone(), EventHub::default(), WordFilter::default());
    let session = anchordesk_relay::auth::create_viewer(&store, &Default::default())
        .await
        .unwrap();
    let anchordesk_relay::auth::Principal::Viewer { id: viewer, .. } = session.principal else {
        unreachable!()
    };
    let client = ClientKey::new(IpAddr::from([10, 0, 0, 1]), None);
    let say = |n: i64| NewComment {
        body: format!("第{n}条"),
    };
    for n in 0..3 {
        let relay = if n % 2 == 0 { &a } else { &b };
        relay
            .post_comment(live_id, viewer, &client, &say(n))
            .await
            .unwrap();
    }
    let Err(anchordesk_relay::error::Error::TooManyRequests { retry_after_ms }) =
        b.post_comment(live_id, viewer, &client, &say(3)).await
    else {
        panic!("a fourth comment at once is limited on the other relay too");
    };
    assert!(
        (1..=2000).contains(&retry_after_ms),
        "one comment back within 2 s: {retry_after_ms}"
    );
}

#[tokio::test]
async fn an_upload_for_an_unknown_product_leaves_no_file() {
    let shop = Shop::open().await;
    let png = anchordesk_relay::commerce::images::generated_png(64, 48, [1, 2, 3], [200, 100, 50]);
    let (status, _) = send(
        from(1)
            .post(shop.url("/api/products/999999/images"))
            .bearer_auth(&shop.owner)
            .header("content-type", "image/png")
            .body(png),
    )
    .await;
    assert_eq!(status, 404);
    let dir = shop.relay.config().images_dir();
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?} in {}", dir.display());
}
