//! Live events fan-out: N viewers watch one live over the events WebSocket while other
//! viewers comment at R comments/s. Measures, for every (socket, comment) pair, the delay
//! from the comment's POST being sent to the socket receiving the `comments` event that
//! carries it (the relay batches comments every 100 ms, so that batching is part of the
//! figure), plus the relay's CPU and memory. The relay runs as its own process
//! (`anchordesk-relay serve`, built first) so its CPU and RSS are its own, in a network
//! namespace of its own: the clients reach it over a veth pair as viewers on the network
//! would (the relay trusts the bench's address as it would a reverse proxy's, so the
//! per-address caps do not apply to it). The clients share the machine's two cores. The same
//! run measures a baseline with fewer sockets and reports the ratio. Needs root.
//!
//! `cargo run --release -p anchordesk-bench --bin events-fanout -- [SOCKETS] [RATE] [SECONDS]`
//! (defaults 5000, 500, 20; the baseline has 500 sockets). Needs `ulimit -n` above SOCKETS +
//! 1024 (the client holds one descriptor per socket; so does the relay). Writes
//! `bench/results/<date>-events-fanout.json`. `ANCHORDESK_BENCH_RELAY=<binary>` runs another
//! relay build (e.g. an older one, for before/after figures) instead of building this one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anchordesk_bench::{
    RELAY_CPU, cpu_seconds, relay_binary, spawn_relay_with, split_cpus,
    split_cpus_between_relay_and_clients, status_mib,
};
use anchordesk_e2e::netns::{self, ShapedLink, VETH_A, VETH_B};
use anchordesk_relay::auth::{self, NewViewer};
use anchordesk_relay::commerce::lives::{self, LiveStatus, LiveStatusChange, NewLive};
use anchordesk_relay::events::{self, PAGE_LIMIT};
use anchordesk_relay::{Config, Store};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BASELINE_SOCKETS: usize = 500;
/// Sockets connecting at once: below the relay's listen backlog.
const CONNECT_CONCURRENCY: usize = 64;
/// A viewer may comment 3 times at once, then once every 2 s: with `rate × 3` commenters
/// taking turns, each posts once every 3 s and is never refused.
const COMMENTERS_PER_RATE: usize = 3;
/// Latency histogram resolution and range (the max is kept exactly).
const BUCKET_US: u64 = 100;
const BUCKETS: usize = 600_000;

/// What the sockets ask for: the viewer page asks for [`Format::Deflate`] where the
/// browser can inflate (all current ones), for [`Format::Batch`] otherwise.
#[derive(Debug, Clone, Copy)]
enum Format {
    Batch,
    Deflate,
}

impl Format {
    fn query(self) -> &'static str {
        match self {
            Self::Batch => "batch=true",
            Self::Deflate => "batch=true&deflate=true",
        }
    }
}

/// What a viewer might type during a sale: varied, mostly Chinese, as real comments are
/// (the compression figures depend on it; "fanout 123" would flatter them).
const COMMENT_WORDS: [&str; 16] = [
    "这个多少钱",
    "主播好美",
    "链接在哪",
    "还有货吗",
    "已拍",
    "能便宜点吗",
    "尺码怎么选",
    "想要红色的",
    "包邮吗",
    "什么时候发货",
    "上链接",
    "给我留一个",
    "质量怎么样",
    "第二件半价吗",
    "L码还有吗",
    "已下单",
];

fn comment_body(seq: usize) -> String {
    let word = COMMENT_WORDS[seq * 7 % COMMENT_WORDS.len()];
    let other = COMMENT_WORDS[seq * 11 % COMMENT_WORDS.len()];
    format!("{word}！{other} #{seq}")
}

/// The comment number [`comment_body`] put in a body.
fn comment_seq(body: &str) -> Option<usize> {
    body.rsplit_once(" #")?.1.parse().ok()
}

struct Run {
    sockets: usize,
    format: Format,
    connected: usize,
    connect_s: f64,
    posted: usize,
    accepted: usize,
    refused: usize,
    post_wall_s: f64,
    post_p99_ms: f64,
    expected: u64,
    delivered: u64,
    out_of_order: u64,
    /// Message bytes the sockets received from the first comment on.
    received_bytes: u64,
    latency: Histogram,
    relay_cpu_percent: f64,
    client_cpu_percent: f64,
    relay_rss_idle_mib: f64,
    relay_rss_mib: f64,
    relay_hwm_mib: f64,
    drain_s: f64,
}

impl Run {
    fn json(&self) -> Value {
        json!({
            "sockets": self.sockets,
            "format": self.format.query(),
            "sockets_connected": self.connected,
            "connect_all_s": self.connect_s,
            "comments_posted": self.posted,
            "comments_accepted": self.accepted,
            "comments_refused": self.refused,
            "comments_per_s": self.accepted as f64 / self.post_wall_s,
            "post_p99_ms": self.post_p99_ms,
            "deliveries_expected": self.expected,
            "received_mib": self.received_bytes as f64 / (1024.0 * 1024.0),
            "received_bytes_per_comment_per_socket": self.received_bytes as f64 / self.delivered.max(1) as f64,
            "deliveries": self.delivered,
            "out_of_order": self.out_of_order,
            "delivery_p50_ms": self.latency.percentile(0.50),
            "delivery_p99_ms": self.latency.percentile(0.99),
            "delivery_max_ms": self.latency.max_ms(),
            "drain_after_last_post_s": self.drain_s,
            "relay_cpu_percent_of_one_core": self.relay_cpu_percent,
            "client_cpu_percent_of_one_core": self.client_cpu_percent,
            "relay_rss_idle_mib": self.relay_rss_idle_mib,
            "relay_rss_with_sockets_mib": self.relay_rss_mib,
            "relay_peak_rss_mib": self.relay_hwm_mib,
        })
    }
}

struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: Duration,
}

impl Histogram {
    fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: Duration::ZERO,
        }
    }

    fn add(&mut self, d: Duration) {
        let bucket = (d.as_micros() as u64 / BUCKET_US).min(BUCKETS as u64 - 1);
        self.counts[bucket as usize] += 1;
        self.total += 1;
        self.max = self.max.max(d);
    }

    /// Upper edge of the bucket holding the p-quantile, in ms.
    fn percentile(&self, p: f64) -> f64 {
        let rank = ((self.total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return ((i as u64 + 1) * BUCKET_US) as f64 / 1000.0;
            }
        }
        f64::NAN
    }

    fn max_ms(&self) -> f64 {
        self.max.as_secs_f64() * 1000.0
    }
}

struct Shop {
    dir: tempfile::TempDir,
    live_id: i64,
    watchers: Vec<String>,
    commenters: Vec<String>,
    /// The log's last public id before the run: sockets resume after it.
    latest: i64,
}

async fn shop(sockets: usize, commenters: usize) -> anyhow::Result<Shop> {
    let dir = tempfile::tempdir()?;
    let store = Store::open_config(&Config::bundled(dir.path().to_owned())).await?;
    let live = lives::create(
        &store,
        &NewLive {
            title: "弹幕压测".into(),
            stream_name: None,
        },
    )
    .await?;
    lives::set_status(
        &store,
        live.id,
        &LiveStatusChange {
            status: LiveStatus::Live,
        },
    )
    .await?;
    let viewer = || async { auth::create_viewer(&store, &NewViewer::default()).await };
    let mut watchers = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        watchers.push(viewer().await?.token);
    }
    let mut posters = Vec::with_capacity(commenters);
    for _ in 0..commenters {
        posters.push(viewer().await?.token);
    }
    let latest = events::last_id(&store, live.id).await?;
    store.close().await;
    Ok(Shop {
        dir,
        live_id: live.id,
        watchers,
        commenters: posters,
        latest,
    })
}

/// The ids of the events in a message: one event (`{"id":123,"live_id":1,"kind":…`) or an
/// array of them (a batching socket). `Event` serializes `id`, `live_id`, `kind` first; a
/// comment inside a payload has `viewer_id` after `live_id`, so it is not taken for an event.
/// A scan, so the sockets do not parse whole batches of comments 5000 times over.
fn event_ids(text: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("{\"id\":") {
        rest = &rest[at + 6..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let Ok(id) = rest[..digits].parse::<i64>() else {
            continue;
        };
        let after = &rest[digits..];
        let Some(live) = after.strip_prefix(",\"live_id\":") else {
            continue;
        };
        let live_digits = live
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(live.len());
        if live[live_digits..].starts_with(",\"kind\":") {
            ids.push(id);
        }
    }
    ids
}

/// Progress of a socket that has not connected yet, or failed to.
const CONNECTING: i64 = -1;
const FAILED: i64 = -2;

/// The event ids of the compressed messages seen so far, by the messages' hash: every socket
/// gets the same bytes for a batch, and inflating each copy would make the bench's own CPU
/// (on the relay's machine) the figure. Each distinct message is still inflated and read.
#[derive(Clone, Default)]
struct Inflated(Arc<std::sync::Mutex<HashMap<u64, Arc<[i64]>>>>);

impl Inflated {
    fn event_ids(&self, deflated: &[u8]) -> anyhow::Result<Arc<[i64]>> {
        use std::hash::{BuildHasher, RandomState};
        use std::io::Read;
        static HASHER: std::sync::LazyLock<RandomState> =
            std::sync::LazyLock::new(RandomState::new);
        let key = HASHER.hash_one(deflated);
        if let Some(ids) = self.0.lock().expect("cache lock").get(&key) {
            return Ok(ids.clone());
        }
        let mut text = String::new();
        flate2::read::DeflateDecoder::new(deflated).read_to_string(&mut text)?;
        let ids: Arc<[i64]> = event_ids(&text).into();
        self.0.lock().expect("cache lock").insert(key, ids.clone());
        Ok(ids)
    }
}

/// Posts `total` comments at `rate` a second from a runtime of its own thread; each post's
/// send time, status (0: no answer) and time to answer.
///
/// The posters stand for other devices than the 5000 watchers: on the watchers' runtime, a
/// post (and its clock) waited behind the client's reading of every socket's message, which
/// the relay did not cause.
fn post_comments(
    url: &str,
    commenters: &[String],
    rate: usize,
    total: usize,
) -> anyhow::Result<Vec<(Instant, u16, Duration)>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .build()?;
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut posts = Vec::with_capacity(total);
        for seq in 0..total {
            ticker.tick().await;
            let post = http
                .post(url)
                .bearer_auth(&commenters[seq % commenters.len()])
                .json(&json!({ "body": comment_body(seq) }));
            posts.push(tokio::spawn(async move {
                let sent = Instant::now();
                let status = post.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
                (sent, status, sent.elapsed())
            }));
        }
        let mut posted = Vec::with_capacity(total);
        for post in posts {
            posted.push(post.await?);
        }
        anyhow::Ok(posted)
    })
}

/// One viewer socket: records when each event arrived until told to stop, and publishes the
/// last event id it received in `progress[i]`; counts the bytes of its messages in `bytes`.
#[allow(clippy::too_many_arguments)]
async fn watch(
    url: String,
    token: String,
    permit: tokio::sync::OwnedSemaphorePermit,
    progress: Arc<Vec<AtomicI64>>,
    i: usize,
    inflated: Inflated,
    bytes: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<(i64, Instant)>> {
    let result = async {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        anyhow::Ok(tokio_tungstenite::connect_async(request).await?.0)
    }
    .await;
    drop(permit);
    let mut socket = match result {
        Ok(socket) => socket,
        Err(e) => {
            progress[i].store(FAILED, Ordering::Release);
            return Err(e);
        }
    };
    progress[i].store(0, Ordering::Release);
    let mut received = Vec::with_capacity(512);
    loop {
        tokio::select! {
            msg = socket.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
                    let ids = event_ids(&text);
                    let last = *ids
                        .last()
                        .ok_or_else(|| anyhow::anyhow!("not an event: {text}"))?;
                    received.extend(ids.into_iter().map(|id| (id, at)));
                    progress[i].store(last, Ordering::Release);
                }
                Some(Ok(Message::Binary(deflated))) => {
                    let at = Instant::now();
                    bytes.fetch_add(deflated.len() as u64, Ordering::Relaxed);
                    let ids = inflated.event_ids(&deflated)?;
                    let last = *ids
                        .last()
                        .ok_or_else(|| anyhow::anyhow!("a compressed message without events"))?;
                    received.extend(ids.iter().map(|&id| (id, at)));
                    progress[i].store(last, Ordering::Release);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => anyhow::bail!("socket failed: {e}"),
                None => anyhow::bail!("relay closed the socket"),
            },
            _ = stop.changed() => return Ok(received),
        }
    }
}

/// Every `comments` event after `after`, as event id → the comment numbers it carries.
async fn comment_batches(
    http: &reqwest::Client,
    base: &str,
    live_id: i64,
    after: i64,
    token: &str,
) -> anyhow::Result<HashMap<i64, Vec<usize>>> {
    let mut batches = HashMap::new();
    let mut last = after;
    loop {
        let page: Vec<Value> = http
            .get(format!(
                "{base}/api/lives/{live_id}/events?after={last}&limit={PAGE_LIMIT}"
            ))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let Some(end) = page.last() else {
            return Ok(batches);
        };
        last = end["id"].as_i64().unwrap_or(i64::MAX);
        for event in &page {
            if event["kind"] != "comments" {
                continue;
            }
            let seqs = event["payload"]["comments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| comment_seq(c["body"].as_str()?))
                .collect();
            batches.insert(event["id"].as_i64().unwrap_or(0), seqs);
        }
    }
}

async fn run(
    binary: &Path,
    link: &ShapedLink,
    sockets: usize,
    rate: usize,
    seconds: u64,
    format: Format,
) -> anyhow::Result<Run> {
    let total = rate * seconds as usize;
    let shop = shop(sockets, (rate * COMMENTERS_PER_RATE).max(1)).await?;
    let mut command = if split_cpus() {
        let mut taskset = link.command("taskset");
        taskset.args(["-c", RELAY_CPU, "env"]);
        taskset
    } else {
        link.command("env")
    };
    command
        .arg(format!("ANCHORDESK_TRUSTED_PROXIES={VETH_A}"))
        .arg(binary);
    let relay = spawn_relay_with(command.into(), &format!("{VETH_B}:0"), shop.dir.path()).await?;
    let pid = relay.child.id().expect("running relay");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let relay_rss_idle_mib = status_mib(pid, "VmRSS:");

    let ws_base = relay.url.replacen("http://", "ws://", 1);
    let url = format!(
        "{ws_base}/api/lives/{}/events?after={}&{}",
        shop.live_id,
        shop.latest,
        format.query()
    );
    let inflated = Inflated::default();
    let bytes = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let progress: Arc<Vec<AtomicI64>> =
        Arc::new((0..sockets).map(|_| AtomicI64::new(CONNECTING)).collect());
    let connecting = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECT_CONCURRENCY));
    let mut watchers = Vec::with_capacity(sockets);
    for (i, token) in shop.watchers.iter().enumerate() {
        let permit = gate.clone().acquire_owned().await?;
        watchers.push(tokio::spawn(watch(
            url.clone(),
            token.clone(),
            permit,
            progress.clone(),
            i,
            inflated.clone(),
            bytes.clone(),
            stop_rx.clone(),
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while progress
        .iter()
        .any(|p| p.load(Ordering::Acquire) == CONNECTING)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_s = connecting.elapsed().as_secs_f64();
    // Let the connection burst settle (viewer-count events, backlogs) before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    let comment_url = Arc::new(format!("{}/api/lives/{}/comments", relay.url, shop.live_id));
    let commenters = Arc::new(shop.commenters.clone());
    let bytes0 = bytes.load(Ordering::Relaxed);
    let relay_cpu0 = cpu_seconds(&pid.to_string());
    let client_cpu0 = cpu_seconds("self");
    let began = Instant::now();
    let posted = {
        let (comment_url, commenters) = (comment_url.clone(), commenters.clone());
        tokio::task::spawn_blocking(move || post_comments(&comment_url, &commenters, rate, total))
            .await??
    };
    let mut sent_at = Vec::with_capacity(total);
    let mut post_latency = Histogram::new();
    let (mut accepted, mut refused) = (0, 0);
    for (sent, status, took) in posted {
        sent_at.push(sent);
        post_latency.add(took);
        if status == 201 {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    let post_wall_s = began.elapsed().as_secs_f64();
    let posted_all = Instant::now();

    // Once the last batch is flushed (every 100 ms), wait for every socket to receive it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let batches = comment_batches(
        &http,
        &relay.url,
        shop.live_id,
        shop.latest,
        &shop.commenters[0],
    )
    .await?;
    let last_batch = batches.keys().copied().max().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && progress
            .iter()
            .any(|p| (0..last_batch).contains(&p.load(Ordering::Acquire)))
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain_s = posted_all.elapsed().as_secs_f64();
    let wall = began.elapsed().as_secs_f64();
    let relay_cpu_percent = (cpu_seconds(&pid.to_string()) - relay_cpu0) / wall * 100.0;
    let client_cpu_percent = (cpu_seconds("self") - client_cpu0) / wall * 100.0;
    let relay_rss_mib = status_mib(pid, "VmRSS:");
    let relay_hwm_mib = status_mib(pid, "VmHWM:");

    let _ = stop_tx.send(true);
    let mut latency = Histogram::new();
    let (mut connected, mut delivered, mut out_of_order) = (0, 0u64, 0u64);
    for watcher in watchers {
        let Ok(received) = watcher.await? else {
            continue;
        };
        connected += 1;
        for pair in received.windows(2) {
            if pair[1].0 <= pair[0].0 {
                out_of_order += 1;
            }
        }
        for (id, at) in received {
            for &seq in batches.get(&id).into_iter().flatten() {
                latency.add(at.saturating_duration_since(sent_at[seq]));
                delivered += 1;
            }
        }
    }
    drop(relay);
    Ok(Run {
        sockets,
        format,
        received_bytes: bytes.load(Ordering::Relaxed) - bytes0,
        connected,
        connect_s,
        posted: total,
        accepted,
        refused,
        post_wall_s,
        post_p99_ms: post_latency.percentile(0.99),
        expected: accepted as u64 * connected as u64,
        delivered,
        out_of_order,
        latency,
        relay_cpu_percent,
        client_cpu_percent,
        relay_rss_idle_mib,
        relay_rss_mib,
        relay_hwm_mib,
        drain_s,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let sockets: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let rate: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(500);
    let seconds: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let limit = anchordesk_bench::open_files_limit();
    anyhow::ensure!(
        limit >= sockets as u64 + 1024,
        "open files limit {limit} is too low for {sockets} sockets: run `ulimit -n {}` first",
        sockets + 1024
    );
    let binary = relay_binary()?;
    netns::enter_for_program()?;
    // The viewers' side of the veth pair is this namespace, the relay's a child one; the
    // shaper only bounds the upload (comment POSTs), far above what they need.
    let link = ShapedLink::create(10_000_000)?;
    if split_cpus() {
        split_cpus_between_relay_and_clients(&link)?;
    }

    let baseline_sockets = BASELINE_SOCKETS.min(sockets);
    let baseline = run(
        &binary,
        &link,
        baseline_sockets,
        rate,
        seconds,
        Format::Deflate,
    )
    .await?;
    eprintln!("baseline: {}", baseline.json());
    let fanout = run(&binary, &link, sockets, rate, seconds, Format::Deflate).await?;
    eprintln!("fan-out: {}", fanout.json());
    // The same load on sockets that take uncompressed JSON (a browser without
    // DecompressionStream, third-party clients).
    let text = run(&binary, &link, sockets, rate, seconds, Format::Batch).await?;
    eprintln!("fan-out, uncompressed: {}", text.json());
    let p99 = fanout.latency.percentile(0.99);
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "events-fanout",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin events-fanout -- {sockets} {rate} {seconds}"),
        "relay": binary.display().to_string(),
        "store": "sqlite (WAL, synchronous=NORMAL)",
        "cpus": if split_cpus() {
            "split (ANCHORDESK_BENCH_CPUS=split): relay held to CPU 0, the clients to CPU 1, each veth end's receive work on its side's CPU: two one-core machines"
        } else {
            "shared: relay and clients on both cores, the clients' receive work on the relay's CPU (veth)"
        },
        "setup": "relay as a child process (anchordesk-relay serve) in its own network namespace, reached over a veth pair; WebSocket clients in the bench process in the parent namespace, comment posters on a runtime of their own thread there, on the same 2-core machine; sockets ask for compressed batches (batch=true&deflate=true) as the viewer page does (the last run: uncompressed batches, batch=true); comment bodies are varied Chinese phrases; latency = socket receive time - comment POST send time (includes the relay's 100 ms comment batching)",
        "sockets": sockets,
        "comments_per_s": rate,
        "seconds": seconds,
        "baseline": baseline.json(),
        "fanout": fanout.json(),
        "fanout_uncompressed": text.json(),
        "ratio_p99_uncompressed_over_compressed": text.latency.percentile(0.99) / p99,
        "ratio_relay_cpu_uncompressed_over_compressed": text.relay_cpu_percent / fanout.relay_cpu_percent,
        "ratio_p99_fanout_over_baseline": p99 / baseline.latency.percentile(0.99),
        "ratio_relay_cpu_fanout_over_baseline": fanout.relay_cpu_percent / baseline.relay_cpu_percent,
        "target": "5000 sockets, 500 comments/s, delivery p99 <= 250 ms",
        "target_met": sockets >= 5000
            && fanout.accepted as f64 >= 0.99 * (rate * seconds as usize) as f64
            && fanout.delivered == fanout.expected
            && fanout.connected == sockets
            && p99 <= 250.0,
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-events-fanout.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{comment_body, comment_seq, event_ids};

    #[test]
    fn a_comment_body_carries_its_number() {
        for seq in [0, 7, 12345] {
            assert_eq!(comment_seq(&comment_body(seq)), Some(seq));
        }
    }

    #[test]
    fn event_ids_are_read_from_single_events_and_batches_but_not_from_comments() {
        let comment = r#"{"id":77,"live_id":1,"viewer_id":5,"nickname":"a","body":"b"}"#;
        let event = |id: i64| {
            format!(
                r#"{{"id":{id},"live_id":1,"kind":"comments","audience":"public","payload":{{"comments":[{comment}]}},"created_at_ms":1}}"#
            )
        };
        assert_eq!(event_ids(&event(9)), vec![9]);
        assert_eq!(
            event_ids(&format!("[{},{}]", event(10), event(11))),
            vec![10, 11]
        );
        assert!(event_ids(comment).is_empty());
    }
}
