//! What the benchmarks share.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

/// The machine a result was measured on, recorded with every result: CPU count and model,
/// memory and OS (figures from different machines are not comparable).
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
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

/// utime + stime of a process (`self` or a pid), in seconds; 0 when it cannot be read.
pub fn cpu_seconds(pid: &str) -> f64 {
    anchordesk_pipelines::process_cpu_seconds(pid).unwrap_or(0.0)
}

/// A `/proc/<pid>/status` size line (VmRSS, VmHWM) in MiB.
pub fn status_mib(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The relay binary to run: `ANCHORDESK_BENCH_RELAY`, else this workspace's, built now so
/// the bench never measures a stale build.
pub fn relay_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("ANCHORDESK_BENCH_RELAY") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args([
            "build",
            "--release",
            "-p",
            "anchordesk-relay",
            "--bin",
            "anchordesk-relay",
        ])
        .status()?;
    anyhow::ensure!(status.success(), "building the relay failed");
    Ok(std::env::current_exe()?.with_file_name("anchordesk-relay"))
}

/// A running `anchordesk-relay serve` on a data directory; killed on drop.
pub struct RelayProcess {
    pub child: tokio::process::Child,
    pub url: String,
    /// The next stdout lines (the RTMP address when RTMP is on).
    pub stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

pub async fn spawn_relay(binary: &Path, data_dir: &Path) -> anyhow::Result<RelayProcess> {
    let mut child = tokio::process::Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("ANCHORDESK_CONFIG")
        .env_remove("ANCHORDESK_LISTEN")
        .env_remove("ANCHORDESK_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stdout = tokio::io::BufReader::new(stdout).lines();
    let line = stdout.next_line().await?.unwrap_or_default();
    let url = line
        .strip_prefix("anchordesk-relay listening on ")
        .ok_or_else(|| anyhow::anyhow!("unexpected relay output: {line:?}"))?
        .to_owned();
    Ok(RelayProcess { child, url, stdout })
}
