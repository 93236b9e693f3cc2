//! Adaptive bitrate on a shaped link: the studio engine publishes over WHIP or RTMP to the
//! relay through a `tc tbf` bottleneck that steps 6 Mbit/s → 1.5 Mbit/s → 6 Mbit/s, while a
//! WHEP viewer of the relay watches for frozen pictures. Each controller runs on the plain
//! link, with 40 ms more round trip, and with 1 % random loss towards the relay.
//!
//! Runs in its own network namespace (re-runs itself under `unshare`; needs root). The relay
//! (release build, a child process) sits in a child namespace behind the bottleneck; the
//! engine and the viewer are in this process. Every 100 ms it records the controller's target,
//! what the encoder produced, what crossed the bottleneck, what the viewer received and its
//! frame rate; from those: time to adapt after the drop, time back to ≥ 85 % of the link after
//! recovery, and pictures frozen for more than 500 ms.
//!
//! `cargo run --release -p anchordesk-bench --bin abr [-- full|short [variants=none,40ms_rtt,1pct_loss] [CONTROLLER…]]`
//! (default: full, all three variants, `gcc gcc_probe rtmp_obs_like rtmp_throughput`). Writes
//! `bench/results/<date>-abr.json` and a PNG per run; `-- plot FILE.json` redraws the PNGs of a
//! recorded run.

use std::time::Duration;

use anchordesk_bench::{relay_binary, results_dir};
use anchordesk_e2e::abr;
use anchordesk_e2e::netns;
use anyhow::{Context, Result};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some("plot") {
        // Re-draws the PNGs of a recorded run: `abr plot bench/results/<date>-abr.json`.
        let path = std::env::args().nth(2).context("abr plot FILE.json")?;
        let record: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let date = record["date"]
            .as_str()
            .unwrap_or("undated")
            .get(..10)
            .unwrap_or("undated");
        for run in record["runs"].as_array().into_iter().flatten() {
            let png = results_dir()?.join(format!("{date}-abr-{}.png", run_name(run)));
            plot(run, &png)?;
            println!("plot: {}", png.display());
        }
        return Ok(());
    }
    let full = args.next().is_none_or(|mode| mode != "short");
    let mut variants = vec![
        netns::Impairment::NONE,
        netns::Impairment {
            one_way_delay_ms: 20,
            loss_percent: 0.0,
        },
        netns::Impairment {
            one_way_delay_ms: 0,
            loss_percent: 1.0,
        },
    ];
    let mut controllers: Vec<String> = Vec::new();
    for arg in args {
        match arg.strip_prefix("variants=") {
            Some(list) => {
                let wanted: Vec<&str> = list.split(',').collect();
                variants.retain(|v| wanted.contains(&v.name().as_str()));
                anyhow::ensure!(
                    !variants.is_empty(),
                    "variants: expected some of none, 40ms_rtt, 1pct_loss"
                );
            }
            None => controllers.push(arg),
        }
    }
    if controllers.is_empty() {
        controllers = ["gcc", "gcc_probe", "rtmp_obs_like", "rtmp_throughput"]
            .map(str::to_owned)
            .to_vec();
    }
    let parsed = controllers
        .iter()
        .map(|c| abr::Controller::parse(c))
        .collect::<Result<Vec<_>>>()?;
    let binary = relay_binary()?;
    netns::enter_for_program()?;
    let rig = abr::Rig::start(&binary).await?;

    let mut runs = Vec::new();
    for variant in &variants {
        rig.link.impair(*variant)?;
        for controller in &parsed {
            let mut result = rig.run(*controller, &abr::schedule(full)).await?;
            result["variant"] = json!(variant.name());
            println!("{}: {}", run_name(&result), summary_line(&result));
            let png = results_dir()?.join(format!("{}-abr-{}.png", today(), run_name(&result)));
            plot(&result, &png)?;
            println!("plot: {}", png.display());
            runs.push(result);
            // Let the bottleneck's queue drain before the next controller starts.
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }
    rig.link.impair(netns::Impairment::NONE)?;

    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "abr",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!(
            "cargo run --release -p anchordesk-bench --bin abr -- {} variants={} {}",
            if full { "full" } else { "short" },
            variants.iter().map(|v| v.name()).collect::<Vec<_>>().join(","),
            controllers.join(" ")
        ),
        "setup": "engine (720p30 moving test pattern + tone) → whipclientsink (WHIP: own encoder, GCC) \
            or flvmux → rtmp2sink (RTMP: the shared x264 encoder at most 5500 kbit/s) → veth with tc tbf \
            (burst 10 kB, queue 150 ms) → relay in a child namespace (RTMP ingest repackages to RTP) → \
            WHEP viewer (webrtc-rs, counts complete pictures). Variants: 20 ms added each way \
            (40ms_rtt) or 1 % random loss towards the relay (1pct_loss), both from iptables NFQUEUE \
            and a delay line in the bench process (no netem on this kernel)",
        "targets": "0 freezes > 500 ms after the drop; ≥ 85 % of the link within 10 s of recovery",
        "runs": runs,
    });
    let path = results_dir()?.join(format!("{}-abr.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}

/// `<variant>-<controller>`, e.g. `40ms_rtt-gcc_probe`.
fn run_name(run: &Value) -> String {
    format!(
        "{}-{}",
        run["variant"].as_str().unwrap_or("none"),
        run["controller"].as_str().unwrap_or("run")
    )
}

fn summary_line(run: &Value) -> String {
    format!(
        "adapt {}s, back to 85 %: video received {}s, link use {}s, estimate {}s, {} freezes > 500 ms (longest gap {:.0} ms), \
         low phase {:.0} kbit/s at {:.1} fps, end {:.0} kbit/s at {:.1} fps",
        run["time_to_adapt_s"],
        run["time_to_85_percent_received_s"],
        run["time_to_85_percent_link_use_s"],
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

fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_owned()
}

/// One PNG per run, 10 px per second and 1 px per 20 kbit/s: the link's rate in black, the
/// estimate in blue (GCC's on WHIP, the measured throughput on RTMP), the encoder's target in orange, what the viewer received in green (0.5 s
/// average), and a
/// red bar under every picture frozen for more than 500 ms. Grid lines every 1 Mbit/s and 10 s.
fn plot(run: &Value, path: &std::path::Path) -> Result<()> {
    const KBPS_PER_PX: f64 = 20.0;
    const PX_PER_S: f64 = 10.0;
    const TOP_KBPS: f64 = 7_000.0;
    let ticks = run["ticks"].as_array().context("ticks")?;
    let seconds = ticks
        .last()
        .and_then(|t| t[0].as_f64())
        .unwrap_or(0.0)
        .ceil();
    let (width, height) = (
        (seconds * PX_PER_S) as u32 + 1,
        (TOP_KBPS / KBPS_PER_PX) as u32 + 1,
    );
    let mut img = image::RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let y_of = |kbps: f64| -> i64 { (height as f64 - 1.0 - kbps / KBPS_PER_PX).round() as i64 };
    let x_of = |s: f64| -> i64 { (s * PX_PER_S).round() as i64 };
    let put = |img: &mut image::RgbImage, x: i64, y: i64, colour: [u8; 3]| {
        if (0..width as i64).contains(&x) && (0..height as i64).contains(&y) {
            img.put_pixel(x as u32, y as u32, image::Rgb(colour));
        }
    };
    for kbps in (1_000..7_000).step_by(1_000) {
        for x in 0..width as i64 {
            put(&mut img, x, y_of(f64::from(kbps)), [225, 225, 225]);
        }
    }
    for s in (0..seconds as i64).step_by(10) {
        for y in 0..height as i64 {
            put(&mut img, x_of(s as f64), y, [225, 225, 225]);
        }
    }
    for freeze in run["freezes_over_500ms"].as_array().into_iter().flatten() {
        let from = freeze["at_s"].as_f64().unwrap_or(0.0);
        let to = from + freeze["ms"].as_f64().unwrap_or(0.0) / 1000.0;
        for x in x_of(from)..=x_of(to) {
            for y in height as i64 - 12..height as i64 {
                put(&mut img, x, y, [220, 30, 30]);
            }
        }
    }
    // Columns: s, link, estimate, target, encoded, through bottleneck, drops, received, fps.
    for (column, colour) in [
        (1, [0, 0, 0]),
        (3, [240, 140, 0]),
        (2, [30, 80, 220]),
        (7, [20, 160, 60]),
    ] {
        // Received bytes come in keyframe-sized bursts: draw them as a 0.5 s moving average.
        let window = if column == 7 { 5 } else { 1 };
        let points: Vec<(i64, i64)> = ticks
            .windows(window)
            .filter_map(|w| {
                let mean =
                    w.iter().map(|t| t[column].as_f64()).sum::<Option<f64>>()? / window as f64;
                Some((x_of(w[window - 1][0].as_f64()?), y_of(mean)))
            })
            .collect();
        for pair in points.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
            for i in 0..=steps {
                let x = x0 + (x1 - x0) * i / steps;
                let y = y0 + (y1 - y0) * i / steps;
                put(&mut img, x, y, colour);
                put(&mut img, x, y + 1, colour);
            }
        }
    }
    img.save(path)?;
    Ok(())
}
