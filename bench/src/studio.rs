//! Studio loop benchmark, on the studio's own back end (its engine, bundled relay and session,
//! without the window):
//! - pin → 讲解 card pixels in the outgoing video: the API pin request is sent, and the clock
//!   stops at the first picture a WHEP viewer of the relay decodes with the card's panel in it;
//!   each pin starts from no card (unpinned and gone from the picture);
//! - order → studio feed: a viewer's `POST /api/orders` is sent, and the clock stops when the
//!   studio's session receives its `order.created` (what it then emits to the window);
//! - the studio process's CPU and memory, idle with the preview on, then live.
//!
//! `cargo run --release -p anchordesk-bench --bin studio -- [PINS] [ORDERS]` writes
//! `bench/results/<date>-studio.json`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anchordesk_bench::{cpu_seconds, machine, status_mib};
use anchordesk_e2e::media::{H264Decoder, RgbaFrame, WhepPlayer};
use anchordesk_lib::card::panel_rect;
use anchordesk_lib::engine_host::{EngineHost, StudioEngineConfig};
use anchordesk_lib::relay_client::RelayClient;
use anchordesk_lib::session::Session;
use anchordesk_pipelines::engine::AudioSource;
use anchordesk_pipelines::scene::Canvas;
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const PIN_TARGET_MS: f64 = 300.0;
const ORDER_TARGET_P99_MS: f64 = 200.0;
const CANVAS: Canvas = Canvas {
    width: 1280,
    height: 720,
    fps: 30,
};

fn card_shown(frame: &RgbaFrame) -> bool {
    let panel = panel_rect(CANVAS);
    frame.share(
        panel.x as u32 + 4,
        panel.y as u32 + 3,
        panel.width - 8,
        10,
        |p| p[..3].iter().all(|&c| c >= 225),
    ) > 0.95
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(ms: Vec<f64>) -> Value {
    let in_order: Vec<f64> = ms.iter().map(|v| (v * 10.0).round() / 10.0).collect();
    let mut ms = ms;
    ms.sort_by(f64::total_cmp);
    json!({
        "in_order_ms": in_order,
        "samples": ms.len(),
        "p50_ms": percentile(&ms, 0.5),
        "p95_ms": percentile(&ms, 0.95),
        "p99_ms": percentile(&ms, 0.99),
        "max_ms": ms.last().copied().unwrap_or(f64::NAN),
    })
}

/// CPU % of one core and RSS of this process over `seconds`.
async fn usage(seconds: u64) -> (f64, f64) {
    let start = cpu_seconds("self");
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = (cpu_seconds("self") - start) / t.elapsed().as_secs_f64() * 100.0;
    (cpu, status_mib(std::process::id(), "VmRSS:"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let pins: usize = args.get(1).map_or(Ok(20), |a| a.parse())?;
    let orders: usize = args.get(2).map_or(Ok(50), |a| a.parse())?;
    ensure!(
        orders <= 100,
        "the product ordered has 100 in stock: at most 100 orders"
    );

    anchordesk_relay::telemetry::init();
    let dir = tempfile::tempdir()?;
    let relay = anchordesk_relay::start(&anchordesk_relay::Config::bundled(dir.path().into()))
        .await
        .context("bundled relay")?;
    let url = relay.url();
    let products =
        anchordesk_relay::demo::seed_products(relay.store(), &relay.config().images_dir()).await?;

    let engine = EngineHost::default();
    let previews = Arc::new(Mutex::new(0u64));
    let seen = previews.clone();
    engine
        .start(
            StudioEngineConfig {
                camera: "test".into(),
                canvas: CANVAS,
                second_canvas: None,
                audio: AudioSource::Silence,
            }
            .scenes(),
            AudioSource::Silence,
            // The window's share of the preview: each frame's JPEG is read once.
            move |frame: &anchordesk_pipelines::engine::PreviewFrame| {
                *seen.lock().unwrap() += frame.jpeg.len() as u64;
            },
            |_| {},
            |_| {},
        )
        .map_err(anyhow::Error::msg)?;
    let (orders_seen, mut order_events) = mpsc::unbounded_channel::<(i64, Instant)>();
    let session = Session::default();
    let info = session
        .connect_bundled(
            &url,
            relay.store(),
            engine.clone(),
            dir.path().join("cards"),
            move |event| {
                if event["kind"] == "order.created"
                    && let Some(id) = event["payload"]["order"]["id"].as_i64()
                {
                    let _ = orders_seen.send((id, Instant::now()));
                }
            },
        )
        .await?;
    let staff = session.client().map_err(anyhow::Error::msg)?;
    for id in &products[..3] {
        staff
            .call(
                "POST",
                &format!("/api/lives/{}/cart", info.live_id),
                Some(&json!({ "product_id": id })),
            )
            .await?;
    }

    println!("idle (preview on) for 10 s…");
    let (idle_cpu, idle_rss) = usage(10).await;

    let (whip, key) = session.prepare_go_live().await?;
    engine.go_live(&whip, &key).map_err(anyhow::Error::msg)?;
    let http = reqwest::Client::new();
    let mut player = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match WhepPlayer::join(&http, &url, &info.stream_name, "127.0.0.1".parse()?, false)
                .await
            {
                Ok(player) => break player,
                Err(e) if Instant::now() < deadline => {
                    tracing_free_sleep(&e).await;
                }
                Err(e) => return Err(e),
            }
        }
    };
    let decoder = H264Decoder::new()?;
    let (playing, _) = decoder
        .watch_until(&mut player, Duration::from_secs(20), |_| true)
        .await?;
    ensure!(playing, "no picture from the relay");
    println!("live for 10 s…");
    // Watching all along: a player left unread would hand the first pin 10 s of backlog.
    let (live_cpu, live_rss) = {
        let start = cpu_seconds("self");
        let t = Instant::now();
        decoder
            .watch_until(&mut player, Duration::from_secs(10), |_| false)
            .await?;
        let cpu = (cpu_seconds("self") - start) / t.elapsed().as_secs_f64() * 100.0;
        (cpu, status_mib(std::process::id(), "VmRSS:"))
    };

    let mut pin_ms = Vec::with_capacity(pins);
    for i in 0..pins {
        let product = products[i % 3];
        let sent = Instant::now();
        staff
            .call(
                "POST",
                &format!("/api/lives/{}/pin", info.live_id),
                Some(&json!({ "product_id": product })),
            )
            .await?;
        let (shown, _) = decoder
            .watch_until(&mut player, Duration::from_secs(10), card_shown)
            .await?;
        ensure!(shown, "pin {i}: the card never reached the video");
        pin_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        staff
            .call("DELETE", &format!("/api/lives/{}/pin", info.live_id), None)
            .await?;
        let (gone, _) = decoder
            .watch_until(&mut player, Duration::from_secs(10), |f| !card_shown(f))
            .await?;
        ensure!(gone, "unpin {i}: the card stayed in the video");
    }
    println!("pin → card in video: {}", summary(pin_ms.clone()));

    let order_ms = order_latencies(&url, &staff, info.live_id, orders, &mut order_events).await?;
    println!("order → studio feed: {}", summary(order_ms.clone()));

    engine.stop_live().map_err(anyhow::Error::msg)?;
    session.close();
    engine.shutdown();
    relay.shutdown().await?;

    let pins_summary = summary(pin_ms);
    let orders_summary = summary(order_ms);
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "studio",
        "date": now,
        "machine": machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin studio -- {pins} {orders}"),
        "setup": "the studio's engine (test-pattern camera, 1280x720 30 fps, x264, silence), its \
            bundled relay on SQLite and its session in one process, without the window; the \
            outgoing stream is WHIP to that relay and a webrtc-rs WHEP viewer decodes it",
        "pin_to_card_in_video": pins_summary,
        "pin_target_ms": PIN_TARGET_MS,
        "pin_target_met": pins_summary["p95_ms"].as_f64().is_some_and(|v| v <= PIN_TARGET_MS),
        "order_to_studio_feed": orders_summary,
        "order_target_p99_ms": ORDER_TARGET_P99_MS,
        "order_target_met": orders_summary["p99_ms"].as_f64().is_some_and(|v| v <= ORDER_TARGET_P99_MS),
        "idle_preview_on": { "cpu_percent_of_one_core": idle_cpu, "rss_mib": idle_rss },
        "live_preview_on": { "cpu_percent_of_one_core": live_cpu, "rss_mib": live_rss },
        "preview_jpeg_bytes_read": *previews.lock().unwrap(),
        "note": "process figures include the WHEP viewer and its decoder while live; \
            the window (WebKit) is not included",
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-studio.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}

async fn tracing_free_sleep(e: &anyhow::Error) {
    eprintln!("WHEP not ready yet: {e:#}");
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Viewers each place one order from the live; ms from sending each to the studio session
/// receiving its `order.created`.
async fn order_latencies(
    url: &str,
    staff: &RelayClient,
    live_id: i64,
    orders: usize,
    events: &mut mpsc::UnboundedReceiver<(i64, Instant)>,
) -> Result<Vec<f64>> {
    let live = staff
        .call("GET", &format!("/api/lives/{live_id}"), None)
        .await?;
    let sku = live["cart"][2]["product"]["skus"][0]["id"]
        .as_i64()
        .context("a SKU")?;
    let http = reqwest::Client::new();
    let mut ms = Vec::with_capacity(orders);
    for i in 0..orders {
        // A new buyer each time, as in a real live (and outside the clock).
        let viewer: Value = http
            .post(format!("{url}/api/viewers"))
            .json(&json!({ "nickname": format!("观众{i}") }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = viewer["token"].as_str().context("viewer token")?.to_owned();
        let sent = Instant::now();
        let placed: Value = http
            .post(format!("{url}/api/orders"))
            .bearer_auth(&token)
            .header("idempotency-key", format!("bench-{i}-{}", std::process::id()))
            .json(&json!({
                "live_id": live_id,
                "items": [{ "sku_id": sku, "quantity": 1 }],
                "shipping": { "name": "张三", "phone": "13800138000", "address": "上海市浦东新区世纪大道 100 号" },
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = placed["id"].as_i64().context("order id")?;
        let arrived = loop {
            let (seen, at) = tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await?
                .context("event feed ended")?;
            if seen == id {
                break at;
            }
        };
        ms.push(arrived.duration_since(sent).as_secs_f64() * 1000.0);
    }
    Ok(ms)
}
