//! Hostile mix against one relay while honest viewers watch and buy (issue 22's benchmark).
//!
//! The relay runs as its own process (`anchordesk-relay serve`, built first) in a child
//! network namespace behind a 10 Gbit/s veth ([`ShapedLink`]: far above what the run needs),
//! with `trusted_proxies = []` (a TOML config file), so every client is held to the
//! per-address caps. The bench process, in the parent namespace, adds addresses to its end of
//! the veth and binds each client socket to one of them:
//! - honest: 200 viewers over 20 addresses (10.203.0.100–119, 10 each, under every cap). Each
//!   holds an events WebSocket, reads the room every 2 s and places an order every 4 s
//!   (`Idempotency-Key`, a phone of its own); a staff member (10.203.0.1, a session opened
//!   before the run) pins a product every second, and every viewer's socket times the
//!   `pin.changed` event from the pin's POST;
//! - hostile, from 10 other addresses (10.203.0.10–19) and from a process of its own (this
//!   binary run with `--attack`, so attackers do not share the honest clients' async
//!   workers, as they would not share a machine): 1000 wrong logins spread evenly over
//!   the window (every other one against the real staff account, the rest against made-up
//!   names; open loop, `Retry-After` ignored), 2000 event WebSockets attempted in a burst at
//!   the start (200 per address, 8 at a time per address; the accepted ones are held to the
//!   end), and 500 connections that send half a request header and stall (50 per address;
//!   each reconnects when the relay closes it, so 500 are pending all through the window).
//!
//! The same run measures the quiet case (honest only, a fresh relay and shop) and then the
//! hostile one (honest + hostile, another fresh relay and shop), and reports honest p50/p99
//! of each and the ratio (target: p99 ≤ 2× quiet), what the hostile side got (401/429/503,
//! sockets refused, how long the slow connections were kept), the relay's CPU and memory,
//! and how many times its stderr says "panicked" (target 0). Everything shares the machine's
//! cores. Needs root (network namespaces) and `ulimit -n` ≥ 8192.
//!
//! `cargo run --release -p anchordesk-bench --bin hostile -- [SECONDS]` (default 30: the
//! measured window of each run). Writes `bench/results/<date>-hostile.json`.
//! `ANCHORDESK_BENCH_RELAY=<binary>` runs another relay build instead of building this one.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anchordesk_bench::{cpu_seconds, relay_binary, spawn_relay_with, status_mib};
use anchordesk_e2e::netns::{self, ShapedLink, VETH_A, VETH_B};
use anchordesk_relay::auth::{self, NewViewer, Role};
use anchordesk_relay::commerce::lives::{self, CartAdd, LiveStatus, LiveStatusChange, NewLive};
use anchordesk_relay::commerce::products::{self, NewProduct};
use anchordesk_relay::events;
use anchordesk_relay::{Config, Store};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

const HONEST_VIEWERS: usize = 200;
const HONEST_ADDRESSES: usize = 20;
/// 10.203.0.<HONEST_BASE + i>
const HONEST_BASE: u8 = 100;
const HOSTILE_ADDRESSES: usize = 10;
/// 10.203.0.<HOSTILE_BASE + i>
const HOSTILE_BASE: u8 = 10;
const WRONG_LOGINS: usize = 1000;
const HOSTILE_SOCKETS: usize = 2000;
/// Socket attempts one hostile address has in flight at once.
const HOSTILE_SOCKET_CONCURRENCY: usize = 8;
const SLOW_CONNECTIONS: usize = 500;
const ROOM_EVERY: Duration = Duration::from_secs(2);
const ORDER_EVERY: Duration = Duration::from_secs(4);
const PIN_EVERY: Duration = Duration::from_secs(1);
/// Between the honest sockets being open and the window starting.
const SETTLE: Duration = Duration::from_secs(3);
const STAFF: &str = "boss";
const STAFF_PASSWORD: &str = "correct horse battery staple";
const MADE_UP_NAMES: [&str; 5] = ["admin", "root", "owner", "test", "manager"];
/// Half a request: a request line and a header that never ends.
const HALF_HEADER: &[u8] =
    b"GET /api/lives/1/room HTTP/1.1\r\nHost: 10.203.0.2\r\nUser-Agent: Mozilla/5.0 (slow";

fn address(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 203, 0, last))
}

fn honest_ip(viewer: usize) -> IpAddr {
    address(HONEST_BASE + (viewer % HONEST_ADDRESSES) as u8)
}

fn hostile_ip(i: usize) -> IpAddr {
    address(HOSTILE_BASE + (i % HOSTILE_ADDRESSES) as u8)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile in ms; NaN when empty.
fn percentile(samples: &[Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    ms(sorted[rank - 1])
}

fn summary(samples: &[Duration]) -> Value {
    json!({
        "count": samples.len(),
        "p50_ms": percentile(samples, 0.50),
        "p99_ms": percentile(samples, 0.99),
        "max_ms": percentile(samples, 1.0),
    })
}

fn run_ip(args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("ip").args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// A TCP connection to `to` from `from`.
async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

fn http_client(from: IpAddr) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .local_address(from)
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()?)
}

struct Shop {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    live_id: i64,
    products: Vec<i64>,
    sku: i64,
    viewers: Vec<String>,
    staff_token: String,
    latest: i64,
}

async fn shop() -> anyhow::Result<Shop> {
    let dir = tempfile::tempdir()?;
    let store = Store::open_config(&Config::bundled(dir.path().to_owned())).await?;
    auth::create_staff(&store, STAFF, STAFF_PASSWORD, Role::Owner).await?;
    let staff_token = auth::open_staff_session(&store, STAFF).await?.token;
    let live = lives::create(
        &store,
        &NewLive {
            title: "防刷压测".into(),
            stream_name: None,
        },
    )
    .await?;
    let mut product_ids = Vec::new();
    let mut sku = 0;
    for title in ["压测商品 A", "压测商品 B"] {
        let product = products::create(
            &store,
            &NewProduct {
                title: title.into(),
                description: None,
                price_fen: 9_900,
                stock: Some(10_000_000),
                skus: None,
            },
        )
        .await?;
        if sku == 0 {
            sku = product.skus[0].id;
        }
        lives::add_to_cart(
            &store,
            live.id,
            &CartAdd {
                product_id: product.id,
            },
        )
        .await?;
        product_ids.push(product.id);
    }
    lives::set_status(
        &store,
        live.id,
        &LiveStatusChange {
            status: LiveStatus::Live,
        },
    )
    .await?;
    let mut viewers = Vec::with_capacity(HONEST_VIEWERS);
    for _ in 0..HONEST_VIEWERS {
        viewers.push(
            auth::create_viewer(&store, &NewViewer::default())
                .await?
                .token,
        );
    }
    let latest = events::last_id(&store, live.id).await?;
    store.close().await;
    let config = dir.path().join("relay.toml");
    // Nobody is a trusted proxy: every client, whatever its address, is held to the caps.
    std::fs::write(&config, "trusted_proxies = []\n")?;
    Ok(Shop {
        dir,
        config,
        live_id: live.id,
        products: product_ids,
        sku,
        viewers,
        staff_token,
        latest,
    })
}

/// What one honest viewer measured.
#[derive(Default)]
struct ViewerResult {
    socket_ok: bool,
    room: Vec<Duration>,
    orders: Vec<Duration>,
    /// Every honest request: second of the window it was sent in, and its latency.
    timeline: Vec<(usize, Duration)>,
    failed: BTreeMap<String, usize>,
    /// Pin sequence number → when its event arrived.
    pins: Vec<(usize, Instant)>,
}

struct HonestCtx {
    base: String,
    relay: SocketAddr,
    live_id: i64,
    sku: i64,
    latest: i64,
    run: &'static str,
}

fn pin_seq(text: &str) -> Option<usize> {
    if !text.contains("\"pin.changed\"") {
        return None;
    }
    let event: Value = serde_json::from_str(text).ok()?;
    event["payload"]["pin"]["selling_point"]
        .as_str()?
        .strip_prefix("bench ")?
        .parse()
        .ok()
}

/// An honest viewer: opens its events socket, then reads the room and orders on a fixed
/// schedule from `start` to `end`.
async fn honest_viewer(
    i: usize,
    token: String,
    ctx: Arc<HonestCtx>,
    opened: tokio::sync::mpsc::Sender<bool>,
    mut window: tokio::sync::watch::Receiver<Option<(Instant, Instant)>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> ViewerResult {
    let ip = honest_ip(i);
    let device = format!("bench-device-{i:04}");
    let mut result = ViewerResult::default();
    let url = format!(
        "ws://{}/api/lives/{}/events?after={}",
        ctx.relay, ctx.live_id, ctx.latest
    );
    let socket = async {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        request
            .headers_mut()
            .insert("x-anchordesk-device", device.parse()?);
        let stream = connect_from(ip, ctx.relay).await?;
        anyhow::Ok(tokio_tungstenite::client_async(request, stream).await?.0)
    }
    .await;
    let _ = opened.send(socket.is_ok()).await;
    let reader = match socket {
        Ok(mut socket) => {
            result.socket_ok = true;
            Some(tokio::spawn(async move {
                let mut pins = Vec::new();
                loop {
                    tokio::select! {
                        msg = socket.next() => match msg {
                            Some(Ok(Message::Text(text))) => {
                                let at = Instant::now();
                                if let Some(seq) = pin_seq(&text) {
                                    pins.push((seq, at));
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => return (pins, false),
                        },
                        _ = stop.changed() => return (pins, true),
                    }
                }
            }))
        }
        Err(e) => {
            *result.failed.entry(format!("socket: {e}")).or_default() += 1;
            None
        }
    };
    let Ok(http) = http_client(ip) else {
        return result;
    };
    let Ok(Some((start, end))) = window.wait_for(Option::is_some).await.map(|w| *w) else {
        return result;
    };
    let room_url = format!("{}/api/lives/{}/room", ctx.base, ctx.live_id);
    let order_url = format!("{}/api/orders", ctx.base);
    // Spread the viewers evenly over one room period.
    let offset = ROOM_EVERY.mul_f64(i as f64 / HONEST_VIEWERS as f64);
    let mut tick = 0u32;
    let mut orders = 0usize;
    loop {
        let at = start + offset + ROOM_EVERY * tick;
        if at >= end {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let sent = Instant::now();
        let status = http
            .get(&room_url)
            .bearer_auth(&token)
            .header("x-anchordesk-device", &device)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map(|r| r.status().as_u16());
        let took = sent.elapsed();
        match status {
            Ok(_) => {
                result.room.push(took);
                result
                    .timeline
                    .push((sent.duration_since(start).as_secs() as usize, took));
            }
            Err(e) => *result.failed.entry(format!("room: {e}")).or_default() += 1,
        }
        if tick.is_multiple_of((ORDER_EVERY.as_secs() / ROOM_EVERY.as_secs()) as u32) {
            tokio::time::sleep_until((at + ROOM_EVERY / 2).into()).await;
            let body = json!({
                "live_id": ctx.live_id,
                "items": [{ "sku_id": ctx.sku, "quantity": 1 }],
                "shipping": {
                    "name": "压测",
                    "phone": format!("13{:09}", i * 1000 + orders),
                    "address": "上海市黄浦区南京东路 1 号",
                },
            });
            let sent = Instant::now();
            let status = http
                .post(&order_url)
                .bearer_auth(&token)
                .header("x-anchordesk-device", &device)
                .header("Idempotency-Key", format!("{}-{i:04}-{orders:04}", ctx.run))
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16());
            let took = sent.elapsed();
            match status {
                Ok(201) => {
                    result.orders.push(took);
                    result
                        .timeline
                        .push((sent.duration_since(start).as_secs() as usize, took));
                }
                Ok(s) => *result.failed.entry(format!("order: {s}")).or_default() += 1,
                Err(e) => *result.failed.entry(format!("order: {e}")).or_default() += 1,
            }
            orders += 1;
        }
        tick += 1;
    }
    if let Some(reader) = reader
        && let Ok((pins, stayed_open)) = reader.await
    {
        result.pins = pins;
        if !stayed_open {
            *result
                .failed
                .entry("socket closed early".into())
                .or_default() += 1;
        }
    }
    result
}

/// Staff pin a product every second during the window; returns when each pin was sent.
async fn staff_pins(
    base: String,
    live_id: i64,
    products: Vec<i64>,
    token: String,
    start: Instant,
    end: Instant,
) -> anyhow::Result<(Vec<Instant>, Vec<Duration>, usize)> {
    let http = http_client(VETH_A.parse()?)?;
    let url = format!("{base}/api/lives/{live_id}/pin");
    let (mut sent_at, mut took, mut failed) = (Vec::new(), Vec::new(), 0);
    let mut seq = 0usize;
    loop {
        let at = start + Duration::from_millis(300) + PIN_EVERY * seq as u32;
        if at >= end {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let sent = Instant::now();
        let ok = http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({
                "product_id": products[seq % products.len()],
                "selling_point": format!("bench {seq}"),
            }))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        took.push(sent.elapsed());
        if !ok {
            failed += 1;
        }
        sent_at.push(sent);
        seq += 1;
    }
    Ok((sent_at, took, failed))
}

/// What the hostile side got; the attacker process prints it as JSON for the bench.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Hostile {
    login_status: BTreeMap<String, usize>,
    login_latency: Vec<Duration>,
    sockets_accepted: usize,
    sockets_refused_429: usize,
    sockets_closed_at_accept: usize,
    sockets_other: BTreeMap<String, usize>,
    sockets_held_to_end: usize,
    slow_opened: usize,
    slow_closed_by_relay: usize,
    slow_held_to_end: usize,
    slow_refused_at_connect: usize,
    slow_kept: Vec<Duration>,
}

impl Hostile {
    fn json(&self) -> Value {
        json!({
            "wrong_logins": {
                "sent": self.login_status.values().sum::<usize>(),
                "answers": self.login_status,
                "latency": summary(&self.login_latency),
            },
            "event_sockets": {
                "attempted": HOSTILE_SOCKETS,
                "accepted": self.sockets_accepted,
                "refused_429": self.sockets_refused_429,
                "closed_before_an_answer": self.sockets_closed_at_accept,
                "other": self.sockets_other,
                "still_open_at_the_end": self.sockets_held_to_end,
            },
            "slow_connections": {
                "slots": SLOW_CONNECTIONS,
                "opened": self.slow_opened,
                "closed_by_relay": self.slow_closed_by_relay,
                "pending_at_the_end": self.slow_held_to_end,
                "connect_failed": self.slow_refused_at_connect,
                "kept_open_by_relay_ms": summary(&self.slow_kept),
            },
        })
    }
}

async fn wrong_logins(base: String, start: Instant, end: Instant) -> anyhow::Result<Hostile> {
    let clients: Vec<reqwest::Client> = (0..HOSTILE_ADDRESSES)
        .map(|i| http_client(hostile_ip(i)))
        .collect::<anyhow::Result<_>>()?;
    let url = Arc::new(format!("{base}/api/auth/login"));
    let every = (end - start).div_f64(WRONG_LOGINS as f64);
    let mut tasks = Vec::with_capacity(WRONG_LOGINS);
    for n in 0..WRONG_LOGINS {
        tokio::time::sleep_until((start + every * n as u32).into()).await;
        let http = clients[n % HOSTILE_ADDRESSES].clone();
        let url = url.clone();
        let username = if n % 2 == 0 {
            STAFF
        } else {
            MADE_UP_NAMES[(n / 2) % MADE_UP_NAMES.len()]
        };
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let answer = http
                .post(url.as_str())
                .json(&json!({ "username": username, "password": format!("guess-{n:06}") }))
                .send()
                .await;
            let status = match answer {
                Ok(r) => r.status().as_u16().to_string(),
                Err(e) if e.is_connect() => "connect failed".into(),
                Err(_) => "error".into(),
            };
            (status, sent.elapsed())
        }));
    }
    let mut out = Hostile::default();
    for task in tasks {
        let (status, took) = task.await?;
        *out.login_status.entry(status).or_default() += 1;
        out.login_latency.push(took);
    }
    Ok(out)
}

enum Attempt {
    Accepted(tokio::task::JoinHandle<bool>),
    Refused429,
    ClosedAtAccept,
    Other(String),
}

/// One hostile socket attempt; an accepted socket is read (and dropped) until `end`.
async fn hostile_socket(from: IpAddr, relay: SocketAddr, url: String, end: Instant) -> Attempt {
    let stream = match connect_from(from, relay).await {
        Ok(s) => s,
        Err(e) => return Attempt::Other(format!("connect: {}", e.kind())),
    };
    match tokio_tungstenite::client_async(url, stream).await {
        Ok((mut socket, _)) => Attempt::Accepted(tokio::spawn(async move {
            let stop = tokio::time::sleep_until(end.into());
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    msg = socket.next() => if !matches!(msg, Some(Ok(_))) { return false },
                    () = &mut stop => return true,
                }
            }
        })),
        Err(tungstenite::Error::Http(response)) if response.status().as_u16() == 429 => {
            Attempt::Refused429
        }
        Err(tungstenite::Error::Http(response)) => {
            Attempt::Other(format!("http {}", response.status().as_u16()))
        }
        Err(
            tungstenite::Error::Io(_)
            | tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Protocol(_),
        ) => Attempt::ClosedAtAccept,
        Err(e) => Attempt::Other(e.to_string()),
    }
}

async fn socket_flood(
    relay: SocketAddr,
    live_id: i64,
    end: Instant,
) -> anyhow::Result<(Hostile, Vec<tokio::task::JoinHandle<bool>>)> {
    let url = format!("ws://{relay}/api/lives/{live_id}/events?after=0");
    let per_address = HOSTILE_SOCKETS / HOSTILE_ADDRESSES;
    let mut addresses = Vec::new();
    for a in 0..HOSTILE_ADDRESSES {
        let url = url.clone();
        addresses.push(tokio::spawn(async move {
            let from = hostile_ip(a);
            let gate = Arc::new(tokio::sync::Semaphore::new(HOSTILE_SOCKET_CONCURRENCY));
            let mut tries = Vec::with_capacity(per_address);
            for _ in 0..per_address {
                let permit = gate.clone().acquire_owned().await.expect("open semaphore");
                let url = url.clone();
                tries.push(tokio::spawn(async move {
                    let attempt = hostile_socket(from, relay, url, end).await;
                    drop(permit);
                    attempt
                }));
            }
            let mut results = Vec::with_capacity(per_address);
            for t in tries {
                results.push(t.await.unwrap_or(Attempt::Other("task".into())));
            }
            results
        }));
    }
    let mut out = Hostile::default();
    let mut held = Vec::new();
    for a in addresses {
        for attempt in a.await? {
            match attempt {
                Attempt::Accepted(h) => {
                    out.sockets_accepted += 1;
                    held.push(h);
                }
                Attempt::Refused429 => out.sockets_refused_429 += 1,
                Attempt::ClosedAtAccept => out.sockets_closed_at_accept += 1,
                Attempt::Other(what) => *out.sockets_other.entry(what).or_default() += 1,
            }
        }
    }
    Ok((out, held))
}

/// One slow-connection slot: half a header, then nothing; again whenever the relay closes it.
async fn slow_slot(from: IpAddr, relay: SocketAddr, end: Instant) -> Hostile {
    let mut out = Hostile::default();
    while Instant::now() < end {
        let mut stream = match connect_from(from, relay).await {
            Ok(s) => s,
            Err(_) => {
                out.slow_refused_at_connect += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        out.slow_opened += 1;
        if stream.write_all(HALF_HEADER).await.is_err() {
            out.slow_closed_by_relay += 1;
            out.slow_kept.push(Duration::ZERO);
            continue;
        }
        let opened = Instant::now();
        let mut buf = [0u8; 1024];
        let closed = tokio::select! {
            _ = async {
                // Whatever the relay answers (a 408, nothing), wait for it to close.
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 { break; }
                }
            } => true,
            () = tokio::time::sleep_until(end.into()) => false,
        };
        if closed {
            out.slow_closed_by_relay += 1;
            out.slow_kept.push(opened.elapsed());
        } else {
            out.slow_held_to_end += 1;
        }
    }
    out
}

/// The whole hostile mix from `start` to `start + window`, as run in the attacker process.
/// Which parts of the mix run: `ANCHORDESK_HOSTILE_PARTS=logins,sockets,slow` (the default,
/// all three); fewer tell which part costs the honest clients what.
const PARTS_VAR: &str = "ANCHORDESK_HOSTILE_PARTS";

fn hostile_parts() -> String {
    std::env::var(PARTS_VAR).unwrap_or_else(|_| "logins,sockets,slow".into())
}

fn part(name: &str) -> bool {
    hostile_parts().split(',').any(|p| p.trim() == name)
}

async fn attack(
    base: String,
    relay: SocketAddr,
    live_id: i64,
    start: Instant,
    window: Duration,
) -> anyhow::Result<Hostile> {
    let end = start + window;
    let logins = tokio::spawn(async move {
        if part("logins") {
            wrong_logins(base, start, end).await
        } else {
            Ok(Hostile::default())
        }
    });
    let sockets = tokio::spawn(async move {
        if !part("sockets") {
            return anyhow::Ok((Hostile::default(), Vec::new()));
        }
        tokio::time::sleep_until(start.into()).await;
        socket_flood(relay, live_id, end).await
    });
    let slow_slots = if part("slow") { SLOW_CONNECTIONS } else { 0 };
    let slow: Vec<_> = (0..slow_slots)
        .map(|s| {
            tokio::spawn(async move {
                tokio::time::sleep_until(start.into()).await;
                slow_slot(hostile_ip(s), relay, end).await
            })
        })
        .collect();
    let mut h = logins.await??;
    let (s, held) = sockets.await??;
    h.sockets_accepted = s.sockets_accepted;
    h.sockets_refused_429 = s.sockets_refused_429;
    h.sockets_closed_at_accept = s.sockets_closed_at_accept;
    h.sockets_other = s.sockets_other;
    for socket in held {
        if socket.await.unwrap_or(false) {
            h.sockets_held_to_end += 1;
        }
    }
    for slot in slow {
        let s = slot.await?;
        h.slow_opened += s.slow_opened;
        h.slow_closed_by_relay += s.slow_closed_by_relay;
        h.slow_held_to_end += s.slow_held_to_end;
        h.slow_refused_at_connect += s.slow_refused_at_connect;
        h.slow_kept.extend(s.slow_kept);
    }
    Ok(h)
}

/// The attacker process's nice value: `ANCHORDESK_HOSTILE_NICE` (default 0, the honest
/// clients' and the relay's). Attackers are other machines; on this one their CPU is taken
/// from the relay and the honest clients. At 19 the attack still runs in full (the bench
/// reports what it sent) but yields the cores, which is closer to an attacker elsewhere.
fn attacker_nice() -> i32 {
    std::env::var("ANCHORDESK_HOSTILE_NICE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The first argument that makes this binary the attacker process.
const ATTACK_ARG: &str = "--attack";

/// The hostile clients run in a process of their own, as attackers are other machines: in
/// the bench's process they shared its async workers with the honest viewers, whose
/// requests then also waited behind the attackers' tasks, which measured the bench rather
/// than the relay. The machine's two cores stay shared by all three processes.
struct Attacker {
    child: tokio::process::Child,
    pid: u32,
}

impl Attacker {
    fn spawn(
        base: &str,
        relay: SocketAddr,
        live_id: i64,
        start: Instant,
        window: Duration,
    ) -> anyhow::Result<Self> {
        let delay = start.saturating_duration_since(Instant::now());
        // `nice` execs the bench binary: the child's pid is the attacker's.
        let child = tokio::process::Command::new("nice")
            .args(["-n", &attacker_nice().to_string()])
            .arg(std::env::current_exe()?)
            .args([
                ATTACK_ARG,
                base,
                &relay.to_string(),
                &live_id.to_string(),
                &delay.as_millis().to_string(),
                &window.as_millis().to_string(),
            ])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("attacker exited at once"))?;
        Ok(Self { child, pid })
    }

    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.pid.to_string())
    }

    async fn finish(self) -> anyhow::Result<Hostile> {
        let out = self.child.wait_with_output().await?;
        anyhow::ensure!(out.status.success(), "attacker process: {}", out.status);
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

/// The attacker process: `--attack BASE RELAY_ADDR LIVE_ID DELAY_MS WINDOW_MS`; prints what
/// the hostile side got as JSON.
async fn attacker_main(args: &[String]) -> anyhow::Result<()> {
    let [base, relay, live_id, delay_ms, window_ms] = args else {
        anyhow::bail!("{ATTACK_ARG} BASE RELAY_ADDR LIVE_ID DELAY_MS WINDOW_MS");
    };
    let start = Instant::now() + Duration::from_millis(delay_ms.parse()?);
    let hostile = attack(
        base.clone(),
        relay.parse()?,
        live_id.parse()?,
        start,
        Duration::from_millis(window_ms.parse()?),
    )
    .await?;
    println!("{}", serde_json::to_string(&hostile)?);
    Ok(())
}

struct RunResult {
    name: &'static str,
    window_s: f64,
    honest_sockets: usize,
    room: Vec<Duration>,
    orders: Vec<Duration>,
    timeline: Vec<(usize, Duration)>,
    pin_delivery: Vec<Duration>,
    pins_sent: usize,
    pin_deliveries_missing: usize,
    pin_post: Vec<Duration>,
    pin_failed: usize,
    honest_failed: BTreeMap<String, usize>,
    hostile: Option<Hostile>,
    relay_cpu_percent: f64,
    client_cpu_percent: f64,
    /// The attacker process's CPU (hostile run only).
    attacker_cpu_percent: Option<f64>,
    relay_rss_idle_mib: f64,
    relay_rss_end_mib: f64,
    relay_hwm_mib: f64,
    relay_panics: usize,
    relay_stderr_lines: usize,
    relay_stderr_sample: Vec<String>,
}

impl RunResult {
    fn all_requests(&self) -> Vec<Duration> {
        self.room.iter().chain(&self.orders).copied().collect()
    }

    /// Honest requests sent from second `from` of the window on.
    fn requests_from(&self, from: usize) -> Vec<Duration> {
        self.timeline
            .iter()
            .filter(|(s, _)| *s >= from)
            .map(|(_, d)| *d)
            .collect()
    }

    /// Honest request latency per second of the window (by send time).
    fn by_second(&self) -> Vec<Value> {
        let last = self.timeline.iter().map(|(s, _)| *s).max().unwrap_or(0);
        (0..=last)
            .map(|second| {
                let in_it: Vec<Duration> = self
                    .timeline
                    .iter()
                    .filter(|(s, _)| *s == second)
                    .map(|(_, d)| *d)
                    .collect();
                json!({
                    "s": second,
                    "n": in_it.len(),
                    "p50_ms": percentile(&in_it, 0.5),
                    "p99_ms": percentile(&in_it, 0.99),
                    "max_ms": percentile(&in_it, 1.0),
                })
            })
            .collect()
    }

    fn json(&self) -> Value {
        json!({
            "run": self.name,
            "window_s": self.window_s,
            "honest_viewers": HONEST_VIEWERS,
            "honest_sockets_open": self.honest_sockets,
            "honest_requests": summary(&self.all_requests()),
            "honest_requests_after_the_first_5_s": summary(&self.requests_from(5)),
            "honest_requests_by_second": self.by_second(),
            "room_reads": summary(&self.room),
            "orders": summary(&self.orders),
            "honest_failures": self.honest_failed,
            "pin_delivery": summary(&self.pin_delivery),
            "pins_sent": self.pins_sent,
            "pin_deliveries_missing": self.pin_deliveries_missing,
            "pin_post": summary(&self.pin_post),
            "pin_post_failed": self.pin_failed,
            "hostile": self.hostile.as_ref().map(Hostile::json),
            "relay_cpu_percent_of_one_core": self.relay_cpu_percent,
            "bench_process_cpu_percent_of_one_core": self.client_cpu_percent,
            "attacker_process_cpu_percent_of_one_core": self.attacker_cpu_percent,
            "relay_rss_idle_mib": self.relay_rss_idle_mib,
            "relay_rss_end_mib": self.relay_rss_end_mib,
            "relay_peak_rss_mib": self.relay_hwm_mib,
            "relay_panics": self.relay_panics,
            "relay_stderr_lines": self.relay_stderr_lines,
            "relay_stderr_first_lines": self.relay_stderr_sample,
        })
    }
}

async fn run(
    binary: &Path,
    link: &ShapedLink,
    name: &'static str,
    hostile: bool,
    window: Duration,
) -> anyhow::Result<RunResult> {
    let shop = shop().await?;
    let mut command = link.command("env");
    command
        .arg(format!("ANCHORDESK_CONFIG={}", shop.config.display()))
        .arg(binary)
        .stderr(Stdio::piped());
    let mut relay =
        spawn_relay_with(command.into(), &format!("{VETH_B}:0"), shop.dir.path()).await?;
    let pid = relay.child.id().expect("running relay");
    let stderr = relay.child.stderr.take().expect("piped stderr");
    let stderr_task = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let (mut panics, mut count, mut sample) = (0usize, 0usize, Vec::new());
        while let Ok(Some(line)) = lines.next_line().await {
            count += 1;
            if line.contains("panicked") {
                panics += 1;
            }
            if sample.len() < 20 || line.contains("panicked") && sample.len() < 40 {
                sample.push(line);
            }
        }
        (panics, count, sample)
    });
    let base = relay.url.clone();
    let relay_addr: SocketAddr = base
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("relay url {base}"))?
        .parse()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let relay_rss_idle_mib = status_mib(pid, "VmRSS:");

    let ctx = Arc::new(HonestCtx {
        base: base.clone(),
        relay: relay_addr,
        live_id: shop.live_id,
        sku: shop.sku,
        latest: shop.latest,
        run: name,
    });
    // The window starts once every honest socket is open and has settled; viewers wait for it.
    let connect_deadline = Instant::now() + Duration::from_secs(60);
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel(HONEST_VIEWERS);
    let (window_tx, window_rx) = tokio::sync::watch::channel(None);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut viewers = Vec::with_capacity(HONEST_VIEWERS);
    for (i, token) in shop.viewers.iter().cloned().enumerate() {
        viewers.push(tokio::spawn(honest_viewer(
            i,
            token,
            ctx.clone(),
            opened_tx.clone(),
            window_rx.clone(),
            stop_rx.clone(),
        )));
    }
    drop(opened_tx);
    let mut honest_sockets = 0;
    for _ in 0..HONEST_VIEWERS {
        match tokio::time::timeout_at(connect_deadline.into(), opened_rx.recv()).await {
            Ok(Some(true)) => honest_sockets += 1,
            Ok(Some(false)) => {}
            _ => break,
        }
    }
    tokio::time::sleep(SETTLE).await;

    let start = Instant::now() + Duration::from_millis(200);
    let end = start + window;
    let _ = window_tx.send(Some((start, end)));
    let pins = tokio::spawn(staff_pins(
        base.clone(),
        shop.live_id,
        shop.products.clone(),
        shop.staff_token.clone(),
        start,
        end,
    ));
    let attacker = if hostile {
        Some(Attacker::spawn(
            &base,
            relay_addr,
            shop.live_id,
            start,
            window,
        )?)
    } else {
        None
    };
    tokio::time::sleep_until(start.into()).await;
    let relay_cpu0 = cpu_seconds(&pid.to_string());
    let client_cpu0 = cpu_seconds("self");
    let attacker_cpu0 = attacker.as_ref().map_or(0.0, Attacker::cpu_seconds);
    tokio::time::sleep_until(end.into()).await;
    let wall = start.elapsed().as_secs_f64();
    let relay_cpu_percent = (cpu_seconds(&pid.to_string()) - relay_cpu0) / wall * 100.0;
    let client_cpu_percent = (cpu_seconds("self") - client_cpu0) / wall * 100.0;
    let attacker_cpu_percent = attacker
        .as_ref()
        .map(|a| (a.cpu_seconds() - attacker_cpu0) / wall * 100.0);
    let relay_rss_end_mib = status_mib(pid, "VmRSS:");
    // The last pin's events have had time to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop_tx.send(true);

    let (pin_sent_at, pin_post, pin_failed) = pins.await??;
    let mut result = RunResult {
        name,
        window_s: window.as_secs_f64(),
        honest_sockets,
        room: Vec::new(),
        orders: Vec::new(),
        timeline: Vec::new(),
        pin_delivery: Vec::new(),
        pins_sent: pin_sent_at.len(),
        pin_deliveries_missing: 0,
        pin_post,
        pin_failed,
        honest_failed: BTreeMap::new(),
        hostile: None,
        relay_cpu_percent,
        client_cpu_percent,
        attacker_cpu_percent: None,
        relay_rss_idle_mib,
        relay_rss_end_mib,
        relay_hwm_mib: 0.0,
        relay_panics: 0,
        relay_stderr_lines: 0,
        relay_stderr_sample: Vec::new(),
    };
    for viewer in viewers {
        let v = viewer.await?;
        result.room.extend(v.room);
        result.orders.extend(v.orders);
        result.timeline.extend(v.timeline);
        for (what, n) in v.failed {
            *result.honest_failed.entry(what).or_default() += n;
        }
        if v.socket_ok {
            let got: HashMap<usize, Instant> = v.pins.into_iter().collect();
            for (seq, sent) in pin_sent_at.iter().enumerate() {
                match got.get(&seq) {
                    Some(at) => result
                        .pin_delivery
                        .push(at.saturating_duration_since(*sent)),
                    None => result.pin_deliveries_missing += 1,
                }
            }
        }
    }
    if let Some(attacker) = attacker {
        result.hostile = Some(attacker.finish().await?);
    }
    result.attacker_cpu_percent = attacker_cpu_percent;
    result.relay_hwm_mib = status_mib(pid, "VmHWM:");
    // Still running? A relay that died mid-run is a finding too.
    if let Ok(Some(status)) = relay.child.try_wait() {
        result
            .honest_failed
            .insert(format!("relay exited during the run: {status}"), 1);
    }
    drop(relay);
    let (panics, lines, sample) = tokio::time::timeout(Duration::from_secs(10), stderr_task)
        .await
        .map_err(|_| anyhow::anyhow!("relay stderr never closed"))??;
    result.relay_panics = panics;
    result.relay_stderr_lines = lines;
    result.relay_stderr_sample = sample;
    Ok(result)
}

fn ratio(hostile: &[Duration], quiet: &[Duration], p: f64) -> f64 {
    percentile(hostile, p) / percentile(quiet, p)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(ATTACK_ARG) {
        // Already in the bench's namespace, with its addresses: the parent spawned it there.
        return attacker_main(&args[2..]).await;
    }
    let seconds: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let limit = anchordesk_bench::open_files_limit();
    anyhow::ensure!(
        limit >= 8192,
        "open files limit {limit} is too low (the bench holds ~2000 sockets, so does the relay): run `ulimit -n 20000` first"
    );
    let binary = relay_binary()?;
    netns::enter_for_program()?;
    // The shaper only bounds the way to the relay, far above what this run sends.
    let link = ShapedLink::create(10_000_000)?;
    for last in (0..HOSTILE_ADDRESSES)
        .map(|i| HOSTILE_BASE + i as u8)
        .chain((0..HONEST_ADDRESSES).map(|i| HONEST_BASE + i as u8))
    {
        run_ip(&[
            "addr",
            "add",
            &format!("{}/24", address(last)),
            "dev",
            "adv0",
        ])?;
    }
    let window = Duration::from_secs(seconds);

    let quiet = run(&binary, &link, "quiet", false, window).await?;
    eprintln!("quiet: {}", quiet.json());
    let hostile = run(&binary, &link, "hostile", true, window).await?;
    eprintln!("hostile: {}", hostile.json());

    let all_q = quiet.all_requests();
    let all_h = hostile.all_requests();
    let ratio_p99 = ratio(&all_h, &all_q, 0.99);
    let honest_ok = hostile.honest_failed.is_empty()
        && quiet.honest_failed.is_empty()
        && hostile.honest_sockets == HONEST_VIEWERS
        && hostile.pin_deliveries_missing == 0;
    let panics = quiet.relay_panics + hostile.relay_panics;
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "hostile",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin hostile -- {seconds}"),
        "relay": binary.display().to_string(),
        "store": "sqlite (WAL, synchronous=NORMAL)",
        "setup": "relay as a child process in its own network namespace behind a 10 Gbit/s veth, trusted_proxies = [] (config file); clients in the parent namespace bound to extra addresses on its veth end: 200 honest viewers over 20 addresses (10 each) and staff at 10.203.0.1 in the bench process, hostile clients from 10 other addresses in a process of their own (the bench binary with --attack); all on the same 2-core machine. Each run (quiet, then hostile) has a fresh relay and shop.",
        "honest": format!("{HONEST_VIEWERS} viewers: each an events WebSocket, GET room every {} s, POST /api/orders every {} s (Idempotency-Key, own phone); staff pins every {} s, delivery = socket receive - pin POST sent", ROOM_EVERY.as_secs(), ORDER_EVERY.as_secs(), PIN_EVERY.as_secs()),
        "hostile_parts": hostile_parts(),
        "attacker_nice": attacker_nice(),
        "hostile_mix": format!("{WRONG_LOGINS} wrong logins spread evenly over the window from {HOSTILE_ADDRESSES} addresses (every other one against the real staff account, the rest against {MADE_UP_NAMES:?}; open loop, Retry-After ignored); {HOSTILE_SOCKETS} event WebSockets attempted at the window's start ({} per address, {HOSTILE_SOCKET_CONCURRENCY} at a time per address; accepted ones held to the end); {SLOW_CONNECTIONS} connections sending half a header and stalling ({} per address), each reopened when the relay closes it", HOSTILE_SOCKETS / HOSTILE_ADDRESSES, SLOW_CONNECTIONS / HOSTILE_ADDRESSES),
        "window_s": seconds,
        "quiet": quiet.json(),
        "hostile": hostile.json(),
        "ratio_p50_honest_requests": ratio(&all_h, &all_q, 0.50),
        "ratio_p99_honest_requests": ratio_p99,
        "ratio_p99_honest_requests_after_the_first_5_s": ratio(&hostile.requests_from(5), &quiet.requests_from(5), 0.99),
        "ratio_p99_room_reads": ratio(&hostile.room, &quiet.room, 0.99),
        "ratio_p99_orders": ratio(&hostile.orders, &quiet.orders, 0.99),
        "ratio_p99_pin_delivery": ratio(&hostile.pin_delivery, &quiet.pin_delivery, 0.99),
        "relay_panics": panics,
        "target": "honest p99 (room reads and orders) <= 2x the quiet run's, 0 panics",
        "target_met": ratio_p99 <= 2.0 && panics == 0 && honest_ok,
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-hostile.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    Ok(())
}
