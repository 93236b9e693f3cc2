//! Several relay processes on one PostgreSQL database act as one relay: events cross between
//! them, viewers add up, one frozen relay stalls nobody, and stock stays exact.
//!
//! These run only when the suite runs against PostgreSQL (`make test` runs the relay's
//! integration tests a second time with `ANCHORDESK_TEST_POSTGRES_URL`); SQLite is one relay.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anchordesk_relay::Store;
use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::lives::{self, CartAdd, LiveStatus, LiveStatusChange, NewLive};
use common::{RelayProcess, relay_command, spawn_relay};
use futures_util::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A shop on a fresh PostgreSQL database and `n` relay processes serving it.
struct Cluster {
    _dirs: Vec<tempfile::TempDir>,
    relays: Vec<RelayProcess>,
    store: Store,
    live_id: i64,
    sku_id: i64,
    staff: String,
    http: reqwest::Client,
}

const STOCK: i64 = 100_000;

impl Cluster {
    /// `None` when the suite runs on SQLite.
    async fn start(n: usize, stock: i64) -> Option<Self> {
        let Ok(server) = std::env::var(common::POSTGRES_ENV) else {
            eprintln!(
                "cluster tests need PostgreSQL ({}): skipped",
                common::POSTGRES_ENV
            );
            return None;
        };
        let url = anchordesk_relay::store::create_postgres_database(&server, "cluster_test")
            .await
            .unwrap();
        let store = Store::connect_postgres(&url).await.unwrap();
        anchordesk_relay::auth::create_staff(&store, "zhuli", "zhuli-password", Role::Assistant)
            .await
            .unwrap();
        let product = common::product(&store, "云南小粒咖啡", 5_900, stock).await;
        let live = lives::create(
            &store,
            &NewLive {
                title: "三台中继 一场直播".into(),
                stream_name: None,
            },
        )
        .await
        .unwrap();
        lives::add_to_cart(
            &store,
            live.id,
            &CartAdd {
                product_id: product.id,
            },
        )
        .await
        .unwrap();
        lives::set_status(
            &store,
            live.id,
            &LiveStatusChange {
                status: LiveStatus::Live,
            },
        )
        .await
        .unwrap();
        let mut dirs = Vec::new();
        let mut relays = Vec::new();
        for _ in 0..n {
            let dir = tempfile::tempdir().unwrap();
            let mut cmd = relay_command(dir.path());
            cmd.env("ANCHORDESK_DATABASE_URL", &url)
                .env("RUST_LOG", "warn")
                .args(["serve", "--listen", "127.0.0.1:0", "--no-rtmp"]);
            relays.push(spawn_relay(cmd));
            dirs.push(dir);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let login: Value = http
            .post(format!("{}/api/auth/login", relays[0].url))
            .json(&json!({ "username": "zhuli", "password": "zhuli-password" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Some(Self {
            _dirs: dirs,
            relays,
            store,
            live_id: live.id,
            sku_id: product.skus[0].id,
            staff: login["token"].as_str().unwrap().to_owned(),
            http,
        })
    }

    fn relay(&self, i: usize) -> &str {
        &self.relays[i].url
    }

    async fn last_event_id(&self) -> i64 {
        anchordesk_relay::events::last_id(&self.store, self.live_id)
            .await
            .unwrap()
    }

    /// A viewer's event socket on relay `i`, from after the newest event.
    async fn viewer_socket(&self, i: usize) -> Socket {
        let token = common::viewer_token(&self.store).await;
        let after = self.last_event_id().await;
        let ws = self.relay(i).replacen("http://", "ws://", 1);
        let url = format!(
            "{ws}/api/lives/{}/events?after={after}&access_token={token}",
            self.live_id
        );
        tokio_tungstenite::connect_async(url).await.unwrap().0
    }

    async fn pin(&self, i: usize, selling_point: &str) {
        let product_id: i64 = sqlx::query_scalar("select product_id from skus where id = $1")
            .bind(self.sku_id)
            .fetch_one(self.store.pool())
            .await
            .unwrap();
        let res = self
            .http
            .post(format!("{}/api/lives/{}/pin", self.relay(i), self.live_id))
            .bearer_auth(&self.staff)
            .json(&json!({ "product_id": product_id, "selling_point": selling_point }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "pin: {}", res.status());
    }

    fn order_body(&self) -> Value {
        json!({
            "live_id": self.live_id,
            "items": [{ "sku_id": self.sku_id, "quantity": 1 }],
            "shipping": { "name": "李四", "phone": "13800001111", "address": "杭州市西湖区文三路 90 号" }
        })
    }

    async fn stock(&self) -> i64 {
        sqlx::query_scalar("select stock from skus where id = $1")
            .bind(self.sku_id)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    async fn sold(&self) -> i64 {
        sqlx::query_scalar(
            "select cast(coalesce(sum(quantity), 0) as bigint) from order_items where sku_id = $1",
        )
        .bind(self.sku_id)
        .fetch_one(self.store.pool())
        .await
        .unwrap()
    }
}

/// The next event of `kind` on the socket, waiting at most `within`.
async fn next_of_kind(socket: &mut Socket, kind: &str, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = message {
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["kind"] == kind {
                return Some(event);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pins_made_on_one_relay_reach_viewer_sockets_on_every_relay() {
    let Some(cluster) = Cluster::start(3, STOCK).await else {
        return;
    };
    let mut sockets = Vec::new();
    for i in 0..3 {
        sockets.push(cluster.viewer_socket(i).await);
    }
    for n in 0..20 {
        let made = Instant::now();
        let selling_point = format!("第 {n} 次讲解");
        cluster.pin(n % 3, &selling_point).await;
        for (i, socket) in sockets.iter_mut().enumerate() {
            let event = next_of_kind(socket, "pin.changed", Duration::from_secs(1))
                .await
                .unwrap_or_else(|| {
                    panic!("pin {n} made on relay {} missed relay {i} for 1 s", n % 3)
                });
            assert_eq!(
                event["payload"]["pin"]["selling_point"], selling_point,
                "relay {i} got the pins in order"
            );
        }
        eprintln!("pin {n}: on every relay after {:?}", made.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn viewers_on_three_relays_add_up_in_every_relays_room() {
    let Some(cluster) = Cluster::start(3, STOCK).await else {
        return;
    };
    // 2 + 1 + 1 viewers.
    let mut sockets = Vec::new();
    for i in [0, 0, 1, 2] {
        sockets.push(cluster.viewer_socket(i).await);
    }
    for i in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let room: Value = cluster
                .http
                .get(format!(
                    "{}/api/lives/{}/room",
                    cluster.relay(i),
                    cluster.live_id
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if room["viewers_now"] == 4 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "relay {i} counts {} viewers, not 4",
                room["viewers_now"]
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // One leaves relay 0: the count everywhere follows, and the peak stays.
    drop(sockets.remove(0));
    let mut watcher = sockets.pop().unwrap();
    // This socket also saw the counts rise while the others joined: wait for the one that
    // says a viewer left after there were four.
    loop {
        let event = next_of_kind(&mut watcher, "viewers", Duration::from_secs(10))
            .await
            .expect("a viewers event of 3 now, 4 at peak, after one viewer left");
        if event["payload"]["now"] == 3 && event["payload"]["peak"] == 4 {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_relay_stalls_no_other_relays_orders() {
    let Some(cluster) = Cluster::start(3, STOCK).await else {
        return;
    };
    let tokens: Vec<String> = {
        let mut tokens = Vec::new();
        for _ in 0..3 {
            tokens.push(common::viewer_token(&cluster.store).await);
        }
        tokens
    };
    // Keep relay 0 writing as fast as it can, so that it is caught inside a transaction.
    let stop = tokio_util::sync::CancellationToken::new();
    let busy = Arc::new(AtomicI64::new(0));
    let mut load = Vec::new();
    for task in 0..12 {
        let (http, url, body, token, stop, busy) = (
            cluster.http.clone(),
            cluster.relay(0).to_owned(),
            cluster.order_body(),
            tokens[0].clone(),
            stop.clone(),
            busy.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let _ = http
                    .post(format!("{url}/api/orders"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("load-{task:02}-{n:06}"))
                    .json(&body)
                    .send()
                    .await;
                busy.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while busy.load(Ordering::Relaxed) < 50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Freeze relay 0 until one of its sessions holds the write lock, idle in its transaction:
    // the case that stalled every relay before.
    let pid = Pid::from_raw(cluster.relays[0].child.id() as i32);
    let mut caught = false;
    for _ in 0..200 {
        kill(pid, Signal::SIGSTOP).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let holders: i64 = sqlx::query_scalar(
            "select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid \
             where l.locktype = 'advisory' and l.granted and a.state = 'idle in transaction' \
             and a.datname = current_database()",
        )
        .fetch_one(cluster.store.pool())
        .await
        .unwrap();
        if holders > 0 {
            caught = true;
            break;
        }
        kill(pid, Signal::SIGCONT).unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    assert!(caught, "relay 0 was never frozen inside a write");
    let frozen_at = Instant::now();

    // The other relays keep selling for the 20 s relay 0 stays frozen.
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut sold = 0;
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while frozen_at.elapsed() < Duration::from_secs(20) {
        n += 1;
        let relay = 1 + n % 2;
        let asked = Instant::now();
        let res = quick
            .post(format!("{}/api/orders", cluster.relay(relay)))
            .bearer_auth(&tokens[relay])
            .header("Idempotency-Key", format!("frozen-{n:06}"))
            .json(&cluster.order_body())
            .send()
            .await
            .unwrap_or_else(|e| panic!("order {n} on relay {relay} unanswered in 5 s: {e}"));
        assert!(
            res.status().is_success(),
            "order {n} on relay {relay} while relay 0 is frozen: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
        slowest = slowest.max(asked.elapsed());
        sold += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("frozen relay: {sold} orders on the others in 20 s, slowest {slowest:?}");
    assert!(sold >= 20, "only {sold} orders in 20 s");

    // Thawed, relay 0 sells again, and nothing was sold twice or lost.
    kill(pid, Signal::SIGCONT).unwrap();
    stop.cancel();
    for task in load {
        task.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = cluster
            .http
            .post(format!("{}/api/orders", cluster.relay(0)))
            .bearer_auth(&tokens[0])
            .header(
                "Idempotency-Key",
                format!("thawed-{}", Instant::now().elapsed().as_nanos()),
            )
            .json(&cluster.order_body())
            .send()
            .await;
        if res.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "relay 0 never sold again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(cluster.stock().await + cluster.sold().await, STOCK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_buyers_over_three_relays_buy_exactly_the_stock() {
    const UNITS: i64 = 100;
    const BUYERS: usize = 2000;
    let Some(cluster) = Cluster::start(3, UNITS).await else {
        return;
    };
    let mut tokens = Vec::with_capacity(BUYERS);
    for _ in 0..BUYERS {
        tokens.push(common::viewer_token(&cluster.store).await);
    }
    let buyers: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (http, url, body) = (
                cluster.http.clone(),
                cluster.relay(i % 3).to_owned(),
                cluster.order_body(),
            );
            tokio::spawn(async move {
                let res = http
                    .post(format!("{url}/api/orders"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("rush-{i:06}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (res.status().as_u16(), res.text().await.unwrap_or_default())
            })
        })
        .collect();
    let mut created = 0;
    let mut sold_out = 0;
    for buyer in buyers {
        match buyer.await.unwrap() {
            (201 | 200, _) => created += 1,
            (409, _) => sold_out += 1,
            (other, body) => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!((created, sold_out), (UNITS, BUYERS as i64 - UNITS));
    assert_eq!(cluster.stock().await, 0);
    assert_eq!(cluster.sold().await, UNITS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_viewers_comment_limit_and_mute_hold_across_three_relays() {
    let Some(cluster) = Cluster::start(3, STOCK).await else {
        return;
    };
    let viewer = anchordesk_relay::auth::create_viewer(&cluster.store, &Default::default())
        .await
        .unwrap();
    let anchordesk_relay::auth::Principal::Viewer { id: viewer_id, .. } = viewer.principal else {
        unreachable!("a viewer session")
    };
    let comment = |relay: usize, n: usize| {
        let (http, url, token) = (
            cluster.http.clone(),
            format!(
                "{}/api/lives/{}/comments",
                cluster.relay(relay),
                cluster.live_id
            ),
            viewer.token.clone(),
        );
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({ "body": format!("第 {n} 条：有优惠吗") }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Three at once, then one every 2 s: spread over the relays, the fourth is refused.
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(comment(n % 3, n).await);
    }
    assert_eq!(statuses, [201, 201, 201, 429]);

    // Muted through relay 0, the viewer is muted on relay 2 as well.
    let res = cluster
        .http
        .post(format!("{}/api/viewers/{viewer_id}/mute", cluster.relay(0)))
        .bearer_auth(&cluster.staff)
        .json(&json!({ "minutes": 10 }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "mute: {}", res.status());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(comment(2, 9).await, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_picture_uploaded_through_one_relay_is_served_by_every_relay() {
    let Some(cluster) = Cluster::start(2, STOCK).await else {
        return;
    };
    let product_id: i64 = sqlx::query_scalar("select product_id from skus where id = $1")
        .bind(cluster.sku_id)
        .fetch_one(cluster.store.pool())
        .await
        .unwrap();
    // Added where no relay keeps its files: only the database has it for them.
    let elsewhere = tempfile::tempdir().unwrap();
    let png =
        anchordesk_relay::commerce::images::generated_png(64, 48, [200, 30, 30], [30, 30, 200]);
    let image =
        anchordesk_relay::commerce::images::add(&cluster.store, elsewhere.path(), product_id, &png)
            .await
            .unwrap();
    for i in 0..2 {
        for _ in 0..2 {
            let res = cluster
                .http
                .get(format!("{}{}", cluster.relay(i), image.url))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "relay {i}");
            assert_eq!(
                res.bytes().await.unwrap().as_ref(),
                png.as_slice(),
                "relay {i}"
            );
        }
    }
}
