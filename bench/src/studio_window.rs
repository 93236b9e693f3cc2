//! The studio window's whole cost: the real app (release build) under Xvfb, driven over
//! WebDriver like a user, measured with its WebKit processes (the studio process with its
//! engine and bundled relay, WebKitWebProcess, WebKitNetworkProcess): CPU and memory idle
//! with the preview on, then live to its bundled relay. The studio process alone is the
//! baseline in the same run, so the window's share (WebKit) reads as a ratio.
//!
//! `cargo run --release -p anchordesk-bench --bin studio-window -- [SECONDS]` (needs ui/dist,
//! `make ui`) writes `bench/results/<date>-studio-window.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anchordesk_bench::{cpu_seconds, machine, parent_and_name, process_tree, release_binary};
use anchordesk_e2e::Xvfb;
use anchordesk_e2e::webdriver::{
    click, connect, eventually, has, test_pattern_studio, wait_for_running_relay,
};
use anyhow::{Context, Result};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

/// Proportional set size in MiB: shared pages split between the processes sharing them, so
/// the studio and its WebKit processes add up without counting shared libraries twice.
fn pss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The studio app's pid, found below this process (tauri-driver → WebKitWebDriver → app).
fn studio_pid() -> Option<u32> {
    process_tree(std::process::id())
        .into_iter()
        .find(|&pid| parent_and_name(pid).is_some_and(|(_, name)| name == "anchordesk"))
}

/// CPU % of one core and PSS per process kind over `seconds`, for the studio's process tree.
async fn usage(studio: u32, seconds: u64) -> Value {
    let pids = process_tree(studio);
    let start: Vec<(u32, f64)> = pids
        .iter()
        .map(|&pid| (pid, cpu_seconds(&pid.to_string())))
        .collect();
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = t.elapsed().as_secs_f64();
    let mut by_kind: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (pid, before) in start {
        if parent_and_name(pid).is_none() {
            continue;
        }
        // The executable's name: /proc's `comm` cuts "WebKitWebProcess" to 15 characters.
        let name = std::fs::read(format!("/proc/{pid}/cmdline"))
            .ok()
            .and_then(|c| {
                let first = c.split(|b| *b == 0).next()?.to_vec();
                let path = String::from_utf8(first).ok()?;
                Some(path.rsplit('/').next()?.to_owned())
            })
            .unwrap_or_else(|| format!("pid {pid}"));
        let kind = if pid == studio {
            "studio".to_owned()
        } else {
            name
        };
        let entry = by_kind.entry(kind).or_default();
        entry.0 += (cpu_seconds(&pid.to_string()) - before) / elapsed * 100.0;
        entry.1 += pss_mib(pid);
    }
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let total_cpu: f64 = by_kind.values().map(|v| v.0).sum();
    let total_mem: f64 = by_kind.values().map(|v| v.1).sum();
    let (studio_cpu, studio_mem) = by_kind.get("studio").copied().unwrap_or_default();
    json!({
        "total": { "cpu_percent_of_one_core": round(total_cpu), "pss_mib": round(total_mem) },
        "processes": by_kind.iter().map(|(k, (cpu, mem))| (k.clone(), json!({
            "cpu_percent_of_one_core": round(*cpu), "pss_mib": round(*mem),
        }))).collect::<serde_json::Map<_, _>>(),
        "window_share": {
            "cpu": round((total_cpu - studio_cpu) / total_cpu.max(f64::EPSILON) * 100.0) / 100.0,
            "memory": round((total_mem - studio_mem) / total_mem.max(f64::EPSILON) * 100.0) / 100.0,
        },
    })
}

async fn wait_for(client: &Client, what: &str, css: &str) -> Result<()> {
    eventually(what, Duration::from_secs(60), || async {
        Ok(has(client, css).await?.then_some(()))
    })
    .await
}

#[tokio::main]
async fn main() -> Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("SECONDS must be a whole number")?
        .unwrap_or(20);
    let app = release_binary("anchordesk", "anchordesk")?;
    let data_dir = tempfile::tempdir()?;
    let xvfb = Xvfb::start()?;
    let driver = test_pattern_studio(&xvfb.display, data_dir.path())?;
    let client = connect(&driver, &app).await?;
    wait_for_running_relay(&client).await?;
    wait_for(&client, "the preview", "[data-testid=preview]").await?;
    let studio = studio_pid().context("no anchordesk process below this one")?;
    // Start-up work (relay migrations, first frames, page scripts) out of the figures.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = usage(studio, seconds).await;
    println!("idle, preview on: {idle}");

    wait_for(
        &client,
        "the go-live button",
        "[data-testid=go-live]:not([disabled])",
    )
    .await?;
    click(&client, "[data-testid=go-live]").await?;
    wait_for(&client, "live", "[data-testid=live-state][data-state=live]").await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let live = usage(studio, seconds).await;
    println!("live, preview on: {live}");
    let _ = client
        .find(Locator::Css("[data-testid=go-live]"))
        .await?
        .click()
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;

    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "studio-window",
        "date": now,
        "machine": machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin studio-window -- {seconds}"),
        "setup": "the release studio app under Xvfb (1280x800 window) with tauri-driver, \
            test-pattern camera at 1280x720 30 fps, x264, silence; bundled relay on SQLite; \
            preview JPEGs at 15/s in the window; live = WHIP to the bundled relay, no viewer",
        "seconds_per_figure": seconds,
        "idle_preview_on": idle,
        "live_preview_on": live,
        "note": "cpu is % of one core summed over the processes; memory is PSS (shared pages \
            split), so the processes add up; window_share is WebKit's part of the total",
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-studio-window.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}
