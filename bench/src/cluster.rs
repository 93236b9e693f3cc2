//! The relay cluster: several `anchordesk-relay serve` processes on one PostgreSQL database.
//! Three measurements, each against its single-relay baseline in the same run:
//! - events: a 讲解 pin made through one relay → the `pin.changed` event on every viewer
//!   socket of every relay (3 relays × S sockets; baseline 1 relay × 3·S sockets);
//! - a 秒杀 rush of B buyers for U units spread over 3 relays against the same rush on 1 relay:
//!   throughput and latency, and that exactly U units sell;
//! - media: a viewer on an edge relay (which pulls the stream from its origin over WHEP) against
//!   one on the origin: first frame (WHEP POST → first complete picture; the edge's first viewer
//!   also waits for the pull to start) and the delay the edge hop adds to every frame.
//!
//! `cargo run --release -p anchordesk-bench --bin cluster -- [SOCKETS_PER_RELAY] [PINS] [BUYERS] [UNITS]`
//! (defaults 1000, 40, 2000, 100). Needs `ANCHORDESK_BENCH_POSTGRES_URL` (`make bench` starts
//! the test server), ffmpeg, and `ulimit -n` above 3·SOCKETS + 1024. Writes
//! `bench/results/<date>-cluster.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anchordesk_bench::{RelayProcess, relay_binary, spawn_relay_with};
use anchordesk_e2e::media::client::post_sdp;
use anchordesk_e2e::media::{WebRtcClient, WhepPlayer, ffmpeg_rtmp_push};
use anchordesk_relay::Store;
use anchordesk_relay::auth::{self, NewViewer, Role};
use anchordesk_relay::commerce::flash_sales::{self, NewFlashSale};
use anchordesk_relay::commerce::lives::{self, CartAdd, LiveStatus, LiveStatusChange, NewLive};
use anchordesk_relay::commerce::products::{self, NewProduct};
use futures_util::StreamExt;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use webrtc::media_stream::track_remote::TrackRemoteEvent;
use webrtc::rtp_transceiver::RTCRtpTransceiverDirection;

const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A shop database of its own on the bench's PostgreSQL server.
async fn database(server: &str) -> anyhow::Result<(String, Store)> {
    let url = anchordesk_relay::store::create_postgres_database(server, "bench_cluster").await?;
    let store = Store::connect_postgres(&url).await?;
    Ok((url, store))
}

/// `n` relay processes on the database at `url`.
async fn relays(
    binary: &Path,
    url: &str,
    n: usize,
) -> anyhow::Result<Vec<(tempfile::TempDir, RelayProcess)>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let dir = tempfile::tempdir()?;
        // `env` sets the database for the relay only (the spawner clears the bench's own).
        let mut command = tokio::process::Command::new("env");
        command
            .arg(format!("ANCHORDESK_DATABASE_URL={url}"))
            .arg(binary);
        let relay = spawn_relay_with(command, "127.0.0.1:0", dir.path()).await?;
        out.push((dir, relay));
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    json!({
        "n": ms.len(),
        "p50_ms": percentile(&ms, 0.50),
        "p99_ms": percentile(&ms, 0.99),
        "max_ms": percentile(&ms, 1.0),
    })
}

/// Events: `relays` relays with `sockets` viewer sockets each; `pins` pins, each through the
/// next relay in turn, 200 ms apart. Returns the summary of (socket, pin) delays.
async fn pins_to_sockets(
    binary: &Path,
    server: &str,
    relays_n: usize,
    sockets: usize,
    pins: usize,
) -> anyhow::Result<Value> {
    let (url, store) = database(server).await?;
    auth::create_staff(&store, "bench", "bench-password", Role::Assistant).await?;
    let product = products::create(
        &store,
        &NewProduct {
            title: "讲解压测".into(),
            description: None,
            price_fen: 9_900,
            stock: Some(1000),
            skus: None,
        },
    )
    .await?;
    let live = lives::create(
        &store,
        &NewLive {
            title: "三台中继".into(),
            stream_name: None,
        },
    )
    .await?;
    lives::add_to_cart(
        &store,
        live.id,
        &CartAdd {
            product_id: product.id,
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
    let mut tokens = Vec::with_capacity(relays_n * sockets);
    for _ in 0..relays_n * sockets {
        tokens.push(
            auth::create_viewer(&store, &NewViewer::default())
                .await?
                .token,
        );
    }
    let latest = anchordesk_relay::events::last_id(&store, live.id).await?;
    let cluster = relays(binary, &url, relays_n).await?;
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/auth/login", cluster[0].1.url))
        .json(&json!({ "username": "bench", "password": "bench-password" }))
        .send()
        .await?
        .json()
        .await?;
    let staff = login["token"].as_str().unwrap_or_default().to_owned();

    // Each socket keeps the arrival time of every pin.changed event it gets.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let mut watchers = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let ws = cluster[i % relays_n].1.url.replacen("http://", "ws://", 1);
        let url = format!(
            "{ws}/api/lives/{}/events?after={latest}&access_token={token}",
            live.id
        );
        let permit = gate.clone().acquire_owned().await?;
        let mut stop = stop_rx.clone();
        watchers.push(tokio::spawn(async move {
            let connected = tokio_tungstenite::connect_async(url).await;
            drop(permit);
            let mut socket = connected?.0;
            let mut arrivals: Vec<(i64, Instant)> = Vec::new();
            loop {
                tokio::select! {
                    msg = socket.next() => match msg {
                        Some(Ok(Message::Text(text))) if text.contains("\"kind\":\"pin.changed\"") => {
                            let event: Value = serde_json::from_str(&text)?;
                            arrivals.push((event["id"].as_i64().unwrap_or(0), Instant::now()));
                        }
                        Some(Ok(_)) => {}
                        _ => anyhow::bail!("socket ended"),
                    },
                    _ = stop.changed() => return anyhow::Ok(arrivals),
                }
            }
        }));
    }
    // Let every socket connect and settle.
    let _ = gate.acquire_many(64).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut sent = Vec::with_capacity(pins);
    for n in 0..pins {
        let relay = &cluster[n % relays_n].1.url;
        let at = Instant::now();
        http.post(format!("{relay}/api/lives/{}/pin", live.id))
            .bearer_auth(&staff)
            .json(&json!({ "product_id": product.id, "selling_point": format!("第 {n} 次讲解") }))
            .send()
            .await?
            .error_for_status()?;
        sent.push(at);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pin_ids: Vec<i64> = sqlx::query_scalar(
        "select id from events where live_id = $1 and id > $2 and kind = 'pin.changed' order by id",
    )
    .bind(live.id)
    .bind(latest)
    .fetch_all(store.pool())
    .await?;
    anyhow::ensure!(
        pin_ids.len() == pins,
        "{} pin events for {pins} pins",
        pin_ids.len()
    );
    let sent_of: HashMap<i64, Instant> = pin_ids.into_iter().zip(sent).collect();
    let _ = stop_tx.send(true);
    let mut delays = Vec::with_capacity(tokens.len() * pins);
    let mut missing = 0usize;
    for watcher in watchers {
        let arrivals = watcher.await??;
        missing += pins - arrivals.len().min(pins);
        for (id, at) in arrivals {
            if let Some(sent) = sent_of.get(&id) {
                delays.push(at.saturating_duration_since(*sent).as_secs_f64() * 1000.0);
            }
        }
    }
    store.close().await;
    let mut out = summary(delays);
    out["relays"] = json!(relays_n);
    out["sockets"] = json!(relays_n * sockets);
    out["pins"] = json!(pins);
    out["deliveries_missing"] = json!(missing);
    Ok(out)
}

/// A 秒杀 of `units` with `buyers` pressing buy at once, spread over `relays_n` relays.
async fn flash_sale(
    binary: &Path,
    server: &str,
    relays_n: usize,
    buyers: usize,
    units: i64,
) -> anyhow::Result<Value> {
    let (url, store) = database(server).await?;
    let product = products::create(
        &store,
        &NewProduct {
            title: "秒杀压测".into(),
            description: None,
            price_fen: 10_000,
            stock: Some(units * 10),
            skus: None,
        },
    )
    .await?;
    let sku = product.skus[0].id;
    let live = lives::create(
        &store,
        &NewLive {
            title: "秒杀".into(),
            stream_name: None,
        },
    )
    .await?;
    lives::add_to_cart(
        &store,
        live.id,
        &CartAdd {
            product_id: product.id,
        },
    )
    .await?;
    let sale = NewFlashSale {
        sku_id: sku,
        sale_price_fen: 1_000,
        quantity: units,
        per_user_limit: Some(1),
        starts_at_ms: None,
        duration_secs: 3600,
    };
    flash_sales::create(&store, live.id, &sale).await?;
    let mut tokens = Vec::with_capacity(buyers);
    for _ in 0..buyers {
        tokens.push(
            auth::create_viewer(&store, &NewViewer::default())
                .await?
                .token,
        );
    }
    let cluster = relays(binary, &url, relays_n).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(buyers)
        .build()?;
    let start = Arc::new(tokio::sync::Barrier::new(buyers + 1));
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (http, start) = (http.clone(), start.clone());
            let base = cluster[i % relays_n].1.url.clone();
            let live_id = live.id;
            tokio::spawn(async move {
                let body = json!({
                    "live_id": live_id,
                    "items": [{ "sku_id": sku, "quantity": 1 }],
                    "shipping": { "name": "压测", "phone": format!("139{i:08}"), "address": "上海市黄浦区南京东路 1 号" }
                });
                // The room is open before the sale, as on the viewer page: warm connections.
                let _ = http
                    .get(format!("{base}/api/lives/{live_id}/flash-sales"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                start.wait().await;
                let sent = Instant::now();
                let status = http
                    .post(format!("{base}/api/orders"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("cluster-{i:08}"))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                (status, sent.elapsed().as_secs_f64() * 1000.0)
            })
        })
        .collect();
    start.wait().await;
    let began = Instant::now();
    let (mut ok, mut sold_out, mut other) = (0i64, 0usize, 0usize);
    let mut latencies = Vec::with_capacity(buyers);
    for task in tasks {
        let (status, ms) = task.await?;
        match status {
            201 => ok += 1,
            409 => sold_out += 1,
            _ => other += 1,
        }
        latencies.push(ms);
    }
    let wall = began.elapsed().as_secs_f64();
    anyhow::ensure!(ok == units, "sold {ok} of {units} over {relays_n} relays");
    store.close().await;
    let mut out = summary(latencies);
    out["relays"] = json!(relays_n);
    out["orders_ok"] = json!(ok);
    out["sold_out"] = json!(sold_out);
    out["other_status"] = json!(other);
    out["requests_per_s"] = json!(buyers as f64 / wall);
    Ok(out)
}

/// Arrival time of each video frame's last packet (marker bit), by RTP timestamp, for
/// `within`, on a fresh WHEP session to `base`.
async fn frame_arrivals(
    http: &reqwest::Client,
    base: &str,
    within: Duration,
) -> anyhow::Result<HashMap<u32, Instant>> {
    let mut client = WebRtcClient::new(LOOPBACK).await?;
    client
        .add_transceiver(RtpCodecKind::Video, RTCRtpTransceiverDirection::Recvonly)
        .await?;
    let offer = client.offer().await?;
    let (status, _, answer) = post_sdp(http, &format!("{base}/whep/demo"), None, offer).await?;
    anyhow::ensure!(
        status == reqwest::StatusCode::CREATED,
        "WHEP {status}: {answer}"
    );
    client.accept_answer(answer).await?;
    let track = client.next_track(Duration::from_secs(10)).await?;
    let deadline = tokio::time::Instant::now() + within;
    let mut arrivals = HashMap::new();
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, track.poll()).await {
        if let TrackRemoteEvent::OnRtpPacket(packet) = event
            && packet.header.marker
        {
            arrivals
                .entry(packet.header.timestamp)
                .or_insert_with(Instant::now);
        }
    }
    client.close().await;
    Ok(arrivals)
}

/// First frame of `joins` WHEP viewers on `base`, one after another, in ms.
async fn first_frames(
    http: &reqwest::Client,
    base: &str,
    joins: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(joins);
    for _ in 0..joins {
        let mut player = WhepPlayer::join(http, base, "demo", LOOPBACK, false).await?;
        let frames = player
            .receive_frames(1, Duration::from_secs(10))
            .await?
            .clone();
        let first = frames
            .first_frame_after
            .ok_or_else(|| anyhow::anyhow!("no frame on {base}"))?;
        out.push(first.as_secs_f64() * 1000.0);
        player.leave(http).await?;
    }
    Ok(out)
}

/// Edge against origin: ffmpeg publishes 720p30 (a keyframe every second) and a tone over
/// RTMP to the origin.
async fn edge_media(binary: &Path, server: &str, joins: usize) -> anyhow::Result<Value> {
    let (url, store) = database(server).await?;
    let (_, key) = anchordesk_relay::media::streams::create(&store, "demo").await?;
    store.close().await;
    let mut cluster = relays(binary, &url, 2).await?;
    let rtmp = cluster[0]
        .1
        .stdout
        .next_line()
        .await?
        .and_then(|l| {
            l.strip_prefix("anchordesk-relay RTMP ingest on ")
                .map(|u| u.split('/').take(4).collect::<Vec<_>>().join("/"))
        })
        .ok_or_else(|| anyhow::anyhow!("no RTMP line"))?;
    let ffmpeg = ffmpeg_rtmp_push(&format!("{rtmp}/demo?key={key}"), (1280, 720), 3600)?;
    let http = reqwest::Client::new();
    let (origin, edge) = (cluster[0].1.url.clone(), cluster[1].1.url.clone());
    let result = async {
        // The origin has media once a player gets a frame there.
        let deadline = Instant::now() + Duration::from_secs(20);
        while first_frames(&http, &origin, 1).await.is_err() {
            anyhow::ensure!(Instant::now() < deadline, "the origin never played");
        }
        let origin_first = first_frames(&http, &origin, joins).await?;
        // Cold: the edge has no pull yet (it lets go of one 4 s after its last viewer).
        let mut edge_cold = Vec::new();
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(7)).await;
            edge_cold.extend(first_frames(&http, &edge, 1).await?);
        }
        // Warm: another viewer keeps the pull up.
        let _holder = WhepPlayer::join(&http, &edge, "demo", LOOPBACK, false).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let edge_warm = first_frames(&http, &edge, joins).await?;
        // The edge hop's delay: the same frames seen on both relays at once.
        let (on_origin, on_edge) = tokio::join!(
            frame_arrivals(&http, &origin, Duration::from_secs(15)),
            frame_arrivals(&http, &edge, Duration::from_secs(15)),
        );
        let (on_origin, on_edge) = (on_origin?, on_edge?);
        let hop: Vec<f64> = on_edge
            .iter()
            .filter_map(|(ts, at)| {
                let first = on_origin.get(ts)?;
                Some(
                    (at.saturating_duration_since(*first).as_secs_f64()
                        - first.saturating_duration_since(*at).as_secs_f64())
                        * 1000.0,
                )
            })
            .collect();
        anyhow::ensure!(hop.len() > 100, "only {} frames seen on both", hop.len());
        anyhow::Ok(json!({
            "first_frame_origin": summary(origin_first),
            "first_frame_edge_cold_pull": summary(edge_cold),
            "first_frame_edge_warm_pull": summary(edge_warm),
            "edge_hop_extra_delay_per_frame": summary(hop),
        }))
    }
    .await;
    drop(ffmpeg);
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: usize| -> anyhow::Result<usize> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (sockets, pins, buyers, units) = (arg(1, 1000)?, arg(2, 40)?, arg(3, 2000)?, arg(4, 100)?);
    let server = std::env::var("ANCHORDESK_BENCH_POSTGRES_URL").map_err(|_| {
        anyhow::anyhow!(
            "set ANCHORDESK_BENCH_POSTGRES_URL (scripts/test-postgres.sh start prints one)"
        )
    })?;
    let binary: PathBuf = relay_binary()?;

    let events_cluster = pins_to_sockets(&binary, &server, 3, sockets, pins).await?;
    eprintln!("events, 3 relays: {events_cluster}");
    let events_single = pins_to_sockets(&binary, &server, 1, 3 * sockets, pins).await?;
    eprintln!("events, 1 relay: {events_single}");
    let sale_cluster = flash_sale(&binary, &server, 3, buyers, units as i64).await?;
    eprintln!("flash sale, 3 relays: {sale_cluster}");
    let sale_single = flash_sale(&binary, &server, 1, buyers, units as i64).await?;
    eprintln!("flash sale, 1 relay: {sale_single}");
    let media = edge_media(&binary, &server, 10).await?;
    eprintln!("media: {media}");

    let ratio = |a: &Value, b: &Value, key: &str| {
        a[key].as_f64().unwrap_or(f64::NAN) / b[key].as_f64().unwrap_or(f64::NAN)
    };
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "cluster",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin cluster -- {sockets} {pins} {buyers} {units}"),
        "setup": "relays as child processes (anchordesk-relay serve) on one PostgreSQL 15 on loopback (scripts/test-postgres.sh); WebSocket, HTTP and WebRTC clients in the bench process on the same 2-core machine",
        "events_pin_to_every_socket": {
            "three_relays": events_cluster,
            "one_relay_same_sockets": events_single,
            "ratio_p99_three_over_one": ratio(&events_cluster, &events_single, "p99_ms"),
        },
        "flash_sale_burst": {
            "three_relays": sale_cluster,
            "one_relay": sale_single,
            "ratio_requests_per_s_three_over_one": ratio(&sale_cluster, &sale_single, "requests_per_s"),
            "ratio_p99_three_over_one": ratio(&sale_cluster, &sale_single, "p99_ms"),
        },
        "edge_pull": media,
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-cluster.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    Ok(())
}
