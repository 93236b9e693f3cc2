//! `fuzz-inputs [seconds]` (default 300): hostile inputs against an in-process relay for that
//! long (see the library's doc), then `bench/results/<date>-fuzz-inputs.json` with how many
//! inputs of each kind ran, what the relay answered, and every failure (there must be none).

use std::time::{Duration, Instant};

use anchordesk_bench_fuzz::{Tally, Target};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;

/// CPU count and model, memory, OS: as the other benchmarks record them.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("")
        .trim()
        .to_owned();
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0);
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "memory_gib": (mem_kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "os": std::env::consts::OS,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(300);
    let target = Target::open().await?;
    let strategy = target.inputs();
    let seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let mut tally = Tally::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut next_report = started + Duration::from_secs(30);
    while Instant::now() < deadline {
        for _ in 0..200 {
            let input = strategy
                .new_tree(&mut runner)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .current();
            let outcome = target.run(&input).await;
            if outcome.is_failure() {
                eprintln!("FAILURE {outcome:?} on {input:?}");
            }
            tally.record(&input, &outcome);
        }
        target.flush().await;
        if Instant::now() >= next_report {
            println!(
                "{:>4} s: {} inputs, {} failures",
                started.elapsed().as_secs(),
                tally.total(),
                tally.failures.len()
            );
            next_report += Duration::from_secs(30);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "fuzz-inputs",
        "date": now,
        "machine": machine(),
        "command": format!("cargo run --release -p anchordesk-bench-fuzz --bin fuzz-inputs -- {secs}"),
        "seed": seed,
        "seconds": wall,
        "inputs": tally.total(),
        "inputs_per_s": tally.total() as f64 / wall,
        "failures": tally.failures.len(),
        "failure_examples": tally.failures,
        "outcomes_by_target": tally.by_target,
        "pass": "no panic and no 5xx other than 503 for any input",
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-fuzz-inputs.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    if !tally.failures.is_empty() {
        anyhow::bail!("{} inputs failed", tally.failures.len());
    }
    Ok(())
}
