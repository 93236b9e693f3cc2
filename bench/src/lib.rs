//! What the benchmarks share.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

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
    release_binary("anchordesk-relay", "anchordesk-relay")
}

/// The middle value (the upper of the two middle ones for an even count); `values` not empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `bench/results`, created if missing.
pub fn results_dir() -> anyhow::Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A binary of this workspace in release mode, built now (a no-op when up to date).
pub fn release_binary(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["build", "--release", "-p", package, "--bin", bin])
        .status()?;
    anyhow::ensure!(status.success(), "building {bin} failed");
    Ok(std::env::current_exe()?.with_file_name(bin))
}

/// A process's parent pid and command name from `/proc/<pid>/stat`.
pub fn parent_and_name(pid: u32) -> Option<(u32, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, tail) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let parent = tail.split_whitespace().nth(1)?.parse().ok()?;
    Some((parent, name))
}

/// `root` and every process below it, now.
pub fn process_tree(root: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent_and_name(pid)?.0)))
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            all.iter()
                .filter(|(_, p)| *p == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    tree
}

pub use anchordesk_e2e::{RelayProcess, spawn_relay_with};

/// `anchordesk-relay serve` on loopback.
pub async fn spawn_relay(binary: &Path, data_dir: &Path) -> anyhow::Result<RelayProcess> {
    spawn_relay_with(
        tokio::process::Command::new(binary),
        "127.0.0.1:0",
        data_dir,
    )
    .await
}

/// This process's open-files limit (`ulimit -n`): a bench holding thousands of sockets checks
/// it first.
pub fn open_files_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(u64::MAX)
}

/// `ANCHORDESK_BENCH_CPUS=split`: the relay and its clients as two one-core machines on this
/// two-core one. On a shared veth, the kernel work of a packet's receiver runs on the sender's
/// CPU, so a relay sending to thousands of local sockets was also charged for the clients'
/// receive path, which on a network is the viewers' machines' work. Split, each side's
/// receive work runs on its own CPU (receive packet steering on each veth end), the relay is
/// held to CPU 0 and the bench's clients to CPU 1: the relay has one core instead of a share
/// of two, and what it spends is its own.
pub fn split_cpus() -> bool {
    std::env::var("ANCHORDESK_BENCH_CPUS").is_ok_and(|v| v == "split")
}

/// The CPU the relay is held to with [`split_cpus`]; the clients take the other.
pub const RELAY_CPU: &str = "0";

/// Sets up [`split_cpus`]: packets that reach the clients' veth end (`adv0`, this namespace)
/// are processed on CPU 1 and those that reach the relay's (`adv1`, the link's child
/// namespace) on CPU 0; every thread of this process is moved to CPU 1. Start the relay under
/// `taskset -c` [`RELAY_CPU`].
pub fn split_cpus_between_relay_and_clients(
    link: &anchordesk_e2e::netns::ShapedLink,
) -> anyhow::Result<()> {
    // sysfs shows the network devices of the namespace it was mounted in: mount a fresh one
    // in a throwaway mount namespace inside the right network namespace.
    let steer = |device: &str, mask: &str| {
        format!(
            "mount -t sysfs sysfs /sys && echo {mask} > /sys/class/net/{device}/queues/rx-0/rps_cpus"
        )
    };
    let mut clients = std::process::Command::new("unshare");
    clients.args(["-m", "sh", "-c", &steer("adv0", "2")]);
    let mut relay = link.command("unshare");
    relay.args(["-m", "sh", "-c", &steer("adv1", "1")]);
    let mut pin = std::process::Command::new("taskset");
    pin.args(["-a", "-p", "-c", "1", &std::process::id().to_string()]);
    for mut command in [clients, relay, pin] {
        let out = command.output()?;
        anyhow::ensure!(
            out.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
