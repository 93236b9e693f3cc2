//! Relay media benchmark: glass-to-glass latency, WHEP first-frame time, and the relay's CPU
//! and memory per viewer at 1, 10, 50 and 100 WHEP viewers of one 720p30 stream.
//!
//! Runs in its own network namespace (it re-runs itself under `unshare`; needs root). The
//! relay is a child process (release build) so its CPU and memory are its own. The publisher
//! is GStreamer's whipclientsink fed by an appsrc whose frames carry their capture time in a
//! band of black and white blocks; the glass-to-glass player decodes the H.264 it receives
//! (avdec_h264) and reads the time back. Viewers are webrtc-rs clients in this process.
//!
//! `cargo run --release -p anchordesk-bench --bin relay-media [-- MAX_VIEWERS]`; the record goes
//! to `bench/results/<date>-relay-media.json`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anchordesk_bench::{cpu_seconds, relay_binary, spawn_relay, status_mib};
use anchordesk_e2e::media::{WhepPlayer, create_stream_with_cli, gst_publisher};
use anchordesk_e2e::netns;
use anyhow::{Context, Result, anyhow, ensure};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde_json::{Value, json};

const WIDTH: usize = 1280;
const HEIGHT: usize = 720;
const FPS: u64 = 30;
const BITRATE: u32 = 2_500_000;
/// Timestamp band: 40 blocks of 32×48 pixels across the top, one bit each (ms since epoch).
const BITS: usize = 40;
const BLOCK_W: usize = WIDTH / BITS;
const BLOCK_H: usize = 48;
/// The band holds the low 40 bits of the time in ms (wraps every 34 years).
const STAMP_MASK: u64 = (1 << BITS) - 1;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One I420 frame: the timestamp band, then noise so the encoder spends its whole bitrate.
fn frame(stamp_ms: u64, seed: &mut u64) -> Vec<u8> {
    let luma = WIDTH * HEIGHT;
    let mut data = vec![128u8; luma * 3 / 2];
    for row in 0..BLOCK_H {
        for bit in 0..BITS {
            let value = if stamp_ms >> (BITS - 1 - bit) & 1 == 1 {
                235
            } else {
                16
            };
            let start = row * WIDTH + bit * BLOCK_W;
            data[start..start + BLOCK_W].fill(value);
        }
    }
    for px in &mut data[BLOCK_H * WIDTH..luma] {
        // xorshift: cheap noise, different every frame
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *px = (*seed >> 56) as u8;
    }
    data
}

/// Reads the timestamp band of a decoded GRAY8 frame.
fn read_stamp(gray: &[u8], stride: usize) -> u64 {
    let row = BLOCK_H / 2;
    (0..BITS).fold(0u64, |acc, bit| {
        let x = bit * BLOCK_W + BLOCK_W / 2;
        (acc << 1) | u64::from(gray[row * stride + x] > 128)
    })
}

/// whipclientsink publishing timestamped frames at a fixed bitrate until dropped.
struct Publisher {
    pipeline: gst::Pipeline,
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Publisher {
    fn start(endpoint: &str, key: &str) -> Result<Self> {
        gst_publisher::init()?;
        let pipeline = gst::parse::launch(&format!(
            "appsrc name=src is-live=true format=time do-timestamp=true \
               caps=video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={FPS}/1 \
             ! queue max-size-buffers=2 leaky=downstream ! whipclientsink name=whip video-caps=video/x-h264 \
               congestion-control=disabled do-fec=false start-bitrate={BITRATE} min-bitrate={BITRATE} max-bitrate={BITRATE}"
        ))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline"))?;
        let sink = pipeline.by_name("whip").context("whipclientsink")?;
        gst_publisher::configure_whip_sink(&sink, endpoint, key)?;
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .context("appsrc")?;
        pipeline.set_state(gst::State::Playing)?;
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let thread = std::thread::spawn(move || {
            let mut seed = 0x9e37_79b9_7f4a_7c15u64;
            let period = Duration::from_micros(1_000_000 / FPS);
            let mut next = Instant::now();
            while flag.load(Ordering::Relaxed) {
                let buffer = gst::Buffer::from_mut_slice(frame(now_ms(), &mut seed));
                if src.push_buffer(buffer).is_err() {
                    break;
                }
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        Ok(Self {
            pipeline,
            running,
            thread: Some(thread),
        })
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    json!({
        "n": values.len(),
        "p50_ms": percentile(&values, 0.5),
        "p95_ms": percentile(&values, 0.95),
        "max_ms": values.last().copied().unwrap_or(f64::NAN),
    })
}

/// Decodes what one player receives for `seconds` and reads each frame's capture time.
async fn glass_to_glass(
    http: &reqwest::Client,
    base: &str,
    ip: IpAddr,
    seconds: u64,
) -> Result<Vec<f64>> {
    let pipeline = gst::parse::launch(
        "appsrc name=src is-live=true format=time do-timestamp=true \
           caps=video/x-h264,stream-format=byte-stream,alignment=au \
         ! avdec_h264 ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=sink sync=false",
    )?
    .downcast::<gst::Pipeline>()
    .map_err(|_| anyhow!("not a pipeline"))?;
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .context("appsrc")?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .context("appsink")?;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let collected = latencies.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let decoded_at = now_ms();
                // GRAY8 rows of 1280 pixels need no padding: the stride is the width.
                if let Some(map) = sample.buffer().and_then(|b| b.map_readable().ok()) {
                    let stamp = read_stamp(map.as_slice(), WIDTH);
                    let latency = (decoded_at & STAMP_MASK) as f64 - stamp as f64;
                    if (0.0..10_000.0).contains(&latency) {
                        collected.lock().expect("not poisoned").push(latency);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline.set_state(gst::State::Playing)?;
    let mut player = WhepPlayer::join(http, base, "bench", ip, false).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while let Some(frame) = player.next_frame(deadline).await? {
        let _ = src.push_buffer(gst::Buffer::from_slice(frame));
    }
    player.leave(http).await?;
    let _ = src.end_of_stream();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pipeline.set_state(gst::State::Null)?;
    let values = latencies.lock().expect("not poisoned").clone();
    Ok(values)
}

/// Relay CPU and memory with `viewers` WHEP viewers draining the stream.
async fn scaling_level(
    http: &reqwest::Client,
    base: &str,
    ip: IpAddr,
    pid: u32,
    viewers: usize,
    base_rss_mib: f64,
) -> Result<Value> {
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..viewers {
        let mut player = WhepPlayer::join(http, base, "bench", ip, false).await?;
        let (received, stop) = (received.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
                match player.next_frame(deadline).await {
                    Ok(Some(frame)) => {
                        received.fetch_add(frame.len() as u64, Ordering::Relaxed);
                    }
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
            player
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let window = Duration::from_secs(10);
    let (cpu0, bytes0, t0) = (
        cpu_seconds(&pid.to_string()),
        received.load(Ordering::Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(window).await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu_percent = (cpu_seconds(&pid.to_string()) - cpu0) / wall * 100.0;
    let delivered_mbit_s = (received.load(Ordering::Relaxed) - bytes0) as f64 * 8.0 / wall / 1e6;
    let rss = status_mib(pid, "VmRSS:");
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        if let Ok(player) = task.await {
            let _ = player.leave(http).await;
        }
    }
    let level = json!({
        "viewers": viewers,
        "relay_cpu_percent_of_one_core": cpu_percent,
        "relay_cpu_percent_per_viewer": cpu_percent / viewers as f64,
        "delivered_mbit_s": delivered_mbit_s,
        "relay_cpu_percent_per_delivered_mbit_s": cpu_percent / delivered_mbit_s,
        "relay_rss_mib": rss,
        "relay_rss_per_viewer_mib": (rss - base_rss_mib) / viewers as f64,
    });
    eprintln!("{level}");
    Ok(level)
}

#[tokio::main]
async fn main() -> Result<()> {
    let max_viewers: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100);
    let binary = relay_binary()?;
    netns::enter_for_program()?;
    let ip: IpAddr = netns::VETH_B.parse()?;
    let dir = tempfile::tempdir()?;
    let key = create_stream_with_cli(&binary, dir.path(), "bench")?;
    let relay = spawn_relay(&binary, dir.path()).await?;
    let pid = relay.child.id().context("relay pid")?;
    let base = relay.url.clone();
    let http = reqwest::Client::new();
    let idle_rss_mib = status_mib(pid, "VmRSS:");

    let _publisher = Publisher::start(&format!("{base}/whip/bench"), &key)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let publish_stats = loop {
        let stats: Value = http
            .get(format!("{base}/api/streams/bench/stats"))
            .send()
            .await?
            .json()
            .await?;
        if stats["video"]["fps"].as_f64().unwrap_or(0.0) > 20.0 {
            break stats;
        }
        ensure!(
            Instant::now() < deadline,
            "the publisher never got going: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Memory per viewer is counted from here: the publisher, HLS and recording are running.
    let publishing_rss_mib = status_mib(pid, "VmRSS:");
    let publisher_only_cpu = {
        let (c0, t0) = (cpu_seconds(&pid.to_string()), Instant::now());
        tokio::time::sleep(Duration::from_secs(5)).await;
        (cpu_seconds(&pid.to_string()) - c0) / t0.elapsed().as_secs_f64() * 100.0
    };
    let stream_stats: Value = http
        .get(format!("{base}/api/streams/bench/stats"))
        .send()
        .await?
        .json()
        .await?;

    let mut first_frames = Vec::new();
    for _ in 0..20 {
        let mut player = WhepPlayer::join(&http, &base, "bench", ip, false).await?;
        let frames = player
            .receive_frames(1, Duration::from_secs(10))
            .await?
            .clone();
        if let Some(after) = frames.first_frame_after {
            first_frames.push(after.as_secs_f64() * 1000.0);
        }
        player.leave(&http).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!("first frame: {}", summary(first_frames.clone()));

    let latencies = glass_to_glass(&http, &base, ip, 15).await?;
    eprintln!("glass to glass: {}", summary(latencies.clone()));

    let mut levels = Vec::new();
    for viewers in [1, 10, 50, 100].into_iter().filter(|n| *n <= max_viewers) {
        levels.push(scaling_level(&http, &base, ip, pid, viewers, publishing_rss_mib).await?);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let g2g = summary(latencies);
    let first = summary(first_frames);
    let per_viewer_baseline = levels[0]["relay_cpu_percent_per_viewer"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "relay-media",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin relay-media -- {max_viewers}"),
        "relay": binary.display().to_string(),
        "setup": format!("network namespace with a veth pair; relay as a child process; publisher whipclientsink \
            (x264 inside webrtcsink, congestion control off, {} kbit/s) fed {WIDTH}x{HEIGHT}@{FPS} frames of noise \
            with a timestamp band; WHEP viewers are webrtc-rs clients in the bench process that depacketize every frame; \
            glass to glass = decode time (avdec_h264) - frame creation time on the same clock", BITRATE / 1000),
        "publish": publish_stats["video"],
        "stream": stream_stats["video"],
        "relay_cpu_percent_publisher_only": publisher_only_cpu,
        "relay_rss_mib_idle": idle_rss_mib,
        "relay_rss_mib_publishing": publishing_rss_mib,
        "glass_to_glass": g2g,
        "whep_first_frame": first,
        "viewers": levels,
        "ratio_cpu_per_viewer_at_max_over_one": levels.last().and_then(|l| l["relay_cpu_percent_per_viewer"].as_f64()).unwrap_or(f64::NAN) / per_viewer_baseline,
        "targets": "glass to glass p50 <= 100 ms; WHEP first frame <= 300 ms",
        "targets_met": g2g["p50_ms"].as_f64().unwrap_or(f64::MAX) <= 100.0
            && first["p50_ms"].as_f64().unwrap_or(f64::MAX) <= 300.0,
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-relay-media.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    drop(relay);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timestamp_band_reads_back() {
        let mut seed = 1;
        let stamp = 1_764_400_000_123u64;
        let data = frame(stamp, &mut seed);
        assert_eq!(read_stamp(&data, WIDTH), stamp & STAMP_MASK);
    }
}
