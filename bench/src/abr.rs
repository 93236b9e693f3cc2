//! Adaptive bitrate on a shaped link: the studio engine publishes over WHIP to the relay
//! through a `tc tbf` bottleneck that steps 6 Mbit/s → 1.5 Mbit/s → 6 Mbit/s, while a WHEP
//! viewer of the relay watches for frozen pictures.
//!
//! Runs in its own network namespace (re-runs itself under `unshare`; needs root). The relay
//! (release build, a child process) sits in a child namespace behind the bottleneck; the
//! engine and the viewer are in this process. Every 100 ms it records the controller's target,
//! what the encoder produced, what crossed the bottleneck, what the viewer received and its
//! frame rate; from those: time to adapt after the drop, time back to ≥ 85 % of the link after
//! recovery, and pictures frozen for more than 500 ms.
//!
//! `cargo run --release -p anchordesk-bench --bin abr [-- full|short [CONTROLLER…]]`
//! (default `full gcc gcc_probe`). Writes `bench/results/<date>-abr.json`.

use std::time::Duration;

use anchordesk_bench::{relay_binary, spawn_relay_with};
use anchordesk_e2e::abr;
use anchordesk_e2e::media::create_stream_with_cli;
use anchordesk_e2e::netns::{self, ShapedLink};
use anchordesk_pipelines::outputs::RateControl;
use anyhow::{Context, Result};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let full = args.next().is_none_or(|mode| mode != "short");
    let mut controllers: Vec<String> = args.collect();
    if controllers.is_empty() {
        controllers = vec!["gcc".to_owned(), "gcc_probe".to_owned()];
    }
    let parsed = controllers
        .iter()
        .map(|c| {
            serde_json::from_value::<RateControl>(json!(c))
                .with_context(|| format!("controller {c}: expected gcc or gcc_probe"))
        })
        .collect::<Result<Vec<_>>>()?;
    let binary = relay_binary()?;
    netns::enter_for_program()?;
    anchordesk_pipelines::init()?;
    let link = ShapedLink::create(6_000)?;
    let dir = tempfile::tempdir()?;
    let key = create_stream_with_cli(&binary, dir.path(), "abr")?;
    let relay = spawn_relay_with(
        link.command(&binary).into(),
        &format!("{}:0", netns::VETH_B),
        dir.path(),
    )
    .await?;

    let mut runs = Vec::new();
    for (name, controller) in controllers.iter().zip(parsed) {
        let result = abr::run(controller, &abr::schedule(full), &link, &relay.url, &key).await?;
        println!("{name}: {}", summary_line(&result));
        runs.push(result);
        // Let the bottleneck's queue drain before the next controller starts.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }

    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "abr",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!(
            "cargo run --release -p anchordesk-bench --bin abr -- {} {}",
            if full { "full" } else { "short" },
            controllers.join(" ")
        ),
        "setup": "engine (720p30 moving test pattern + tone) → whipclientsink → veth with tc tbf \
            (burst 10 kB, queue 150 ms) → relay in a child namespace → WHEP viewer (webrtc-rs, \
            counts complete pictures); no netem on this kernel, so no added RTT or random loss",
        "targets": "0 freezes > 500 ms after the drop; ≥ 85 % of the link within 10 s of recovery",
        "runs": runs,
    });
    let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&results)?;
    let path = results.join(format!("{}-abr.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}

fn summary_line(run: &Value) -> String {
    format!(
        "adapt {}s, back to 85 % {}s (estimate {}s), {} freezes > 500 ms (longest gap {:.0} ms), \
         low phase {:.0} kbit/s at {:.1} fps, end {:.0} kbit/s at {:.1} fps",
        run["time_to_adapt_s"],
        run["time_to_85_percent_received_s"],
        run["time_to_85_percent_estimate_s"],
        run["freezes_over_500ms"].as_array().map_or(0, Vec::len),
        run["longest_gap_ms"].as_f64().unwrap_or(0.0),
        run["last_10s_of_low_phase"]["received_kbps"]
            .as_f64()
            .unwrap_or(0.0),
        run["last_10s_of_low_phase"]["receiver_fps"]
            .as_f64()
            .unwrap_or(0.0),
        run["last_10s"]["received_kbps"].as_f64().unwrap_or(0.0),
        run["last_10s"]["receiver_fps"].as_f64().unwrap_or(0.0),
    )
}
