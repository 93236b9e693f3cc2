//! Runs a test inside its own network namespace: libnice (GStreamer's ICE) never offers
//! loopback candidates, so WebRTC between local processes needs a real interface. The
//! namespace has loopback and a veth pair (10.203.0.1 ⇄ 10.203.0.2) and nothing else: no
//! traffic can leave the machine. Creating it needs root (CI runs as root) or unprivileged
//! user namespaces (`unshare --map-root-user`).
//!
//! [`ShapedLink`] puts a bottleneck (`tc tbf`) between this namespace and a child one, and can
//! add delay and random loss ([`Impairment`]). This kernel has no `netem` qdisc and no
//! nftables `queue` expression, so those come from `iptables` `NFQUEUE` rules and a delay-line
//! thread in this process (`netns/impair.rs` says why they sit on each end's ingress).

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

mod impair;
pub use impair::Impairment;

const INSIDE: &str = "ANCHORDESK_TEST_NETNS";

/// The veth ends' addresses inside the namespace.
pub const VETH_A: &str = "10.203.0.1";
pub const VETH_B: &str = "10.203.0.2";

/// Call first in a test: returns `true` inside the namespace (go on with the test), `false`
/// in the outer run after the test passed inside one (return at once). Panics if it failed.
/// `test` is the test function's name as libtest knows it (the fn name at file top level).
#[track_caller]
pub fn isolate(test: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        configure().expect("configure the test network namespace");
        return true;
    }
    if let Err(e) = rerun_inside(test) {
        panic!("{test} in a network namespace: {e:#}");
    }
    false
}

/// For a program (a benchmark): outside, re-runs this executable with the same arguments in
/// a fresh namespace and exits with its status; inside, configures the namespace and returns.
pub fn enter_for_program() -> Result<()> {
    if std::env::var_os(INSIDE).is_some() {
        return configure();
    }
    let status = unshare_self()?
        .args(std::env::args_os().skip(1))
        .status()
        .context("run unshare (util-linux)")?;
    std::process::exit(status.code().unwrap_or(1));
}

fn rerun_inside(test: &str) -> Result<()> {
    let output = unshare_self()?
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .stderr(Stdio::inherit())
        .output()
        .context("run unshare (util-linux)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    ensure!(
        output.status.success(),
        "the test failed inside ({})",
        output.status
    );
    // With a wrong name libtest runs nothing and still succeeds: make sure it ran.
    if !stdout.contains("test result: ok. 1 passed") {
        bail!("the test did not run inside the namespace (is `{test}` its exact name?)");
    }
    Ok(())
}

/// `unshare --net -- <this executable>`, marked as running inside; the caller adds arguments.
fn unshare_self() -> Result<Command> {
    let mut unshare = Command::new("unshare");
    if !nix_is_root() {
        unshare.arg("--map-root-user");
    }
    unshare
        .args(["--net", "--"])
        .arg(std::env::current_exe()?)
        .env(INSIDE, "1");
    Ok(unshare)
}

fn nix_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn configure() -> Result<()> {
    let steps: [&[&str]; 6] = [
        &["link", "set", "lo", "up"],
        &[
            "link", "add", "adv0", "type", "veth", "peer", "name", "adv1",
        ],
        &["addr", "add", &format!("{VETH_A}/24"), "dev", "adv0"],
        &["addr", "add", &format!("{VETH_B}/24"), "dev", "adv1"],
        &["link", "set", "adv0", "up"],
        &["link", "set", "adv1", "up"],
    ];
    for args in steps {
        let status = Command::new("ip")
            .args(args)
            .status()
            .context("run ip (iproute2)")?;
        ensure!(status.success(), "ip {} failed", args.join(" "));
    }
    Ok(())
}

/// A bottleneck between this namespace and a child one. [`isolate`]'s veth pair has both ends
/// here, so traffic between them takes loopback and no qdisc on the veth sees it; moving
/// [`VETH_B`]'s end into a child namespace makes packets cross the veth, where `tc` shapes the
/// way out of this namespace (publisher → relay). The way back is not shaped. [`Self::impair`]
/// adds delay both ways and loss on the way to the relay.
pub struct ShapedLink {
    holder: std::process::Child,
    impairment: std::sync::Mutex<Option<impair::Active>>,
}

/// The bottleneck's queue: like a home uplink's buffer, deep enough that GCC sees the delay grow.
const SHAPER_LATENCY: &str = "150ms";
/// At least an MTU and rate/HZ; small, so keyframes cannot slip through unshaped.
const SHAPER_BURST: &str = "10kb";

impl ShapedLink {
    /// Call inside the namespace (after [`isolate`] or [`enter_for_program`]).
    pub fn create(rate_kbit: u32) -> Result<Self> {
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "infinity"])
            .spawn()
            .context("run unshare (util-linux)")?;
        let link = Self {
            holder,
            impairment: Default::default(),
        };
        // The child exists once unshare has exec'd sleep; until then its namespace is ours.
        let ours = std::fs::read_link("/proc/self/ns/net")?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_link(format!("/proc/{}/ns/net", link.pid())).ok() == Some(ours.clone())
        {
            ensure!(
                std::time::Instant::now() < deadline,
                "the child namespace never appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let pid = link.pid().to_string();
        run("ip", &["link", "set", "adv1", "netns", &pid])?;
        // Moving the interface dropped its address and state.
        for args in [
            &["link", "set", "lo", "up"][..],
            &["addr", "add", &format!("{VETH_B}/24"), "dev", "adv1"],
            &["link", "set", "adv1", "up"],
        ] {
            let mut all = vec!["-t", &pid, "-n", "--", "ip"];
            all.extend_from_slice(args);
            run("nsenter", &all)?;
        }
        link.tbf("add", rate_kbit)?;
        Ok(link)
    }

    fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// Changes the rate in place; the queue and its counters carry over.
    pub fn set_rate(&self, rate_kbit: u32) -> Result<()> {
        self.tbf("change", rate_kbit)
    }

    /// `tc qdisc add|change` of the bottleneck: a `change` must restate every parameter.
    fn tbf(&self, verb: &str, rate_kbit: u32) -> Result<()> {
        let rate = format!("{rate_kbit}kbit");
        run(
            "tc",
            &[
                "qdisc",
                verb,
                "dev",
                "adv0",
                "root",
                "handle",
                "1:",
                "tbf",
                "rate",
                &rate,
                "burst",
                SHAPER_BURST,
                "latency",
                SHAPER_LATENCY,
            ],
        )
    }

    /// Replaces the link's delay and loss ([`Impairment::NONE`] removes them). Needs `iptables`.
    pub fn impair(&self, impairment: Impairment) -> Result<()> {
        let mut active = self.impairment.lock().unwrap_or_else(|e| e.into_inner());
        // The new queues bind the numbers the old ones hold, so the old go first.
        if let Some(old) = active.take() {
            old.stop()?;
        }
        if !impairment.is_none() {
            *active = Some(impair::Active::start(self.pid(), impairment)?);
        }
        Ok(())
    }

    /// Bytes the bottleneck has let through, and packets it dropped.
    pub fn counters(&self) -> Result<(u64, u64)> {
        let out = Command::new("tc")
            .args(["-s", "qdisc", "show", "dev", "adv0"])
            .output()
            .context("run tc")?;
        let text = String::from_utf8_lossy(&out.stdout);
        // " Sent 123 bytes 4 pkt (dropped 5, overlimits 6 requeues 0)"
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
            .filter(|w| !w.is_empty())
            .collect();
        let after = |key: &str| -> Option<u64> {
            let i = words.iter().position(|w| *w == key)?;
            words.get(i + 1)?.parse().ok()
        };
        let bytes = after("Sent").context("tc -s shows no Sent")?;
        Ok((bytes, after("dropped").unwrap_or(0)))
    }

    /// `program` run inside the child namespace (where [`VETH_B`] lives).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command
            .args(["-t", &self.pid().to_string(), "-n", "--"])
            .arg(program);
        command
    }
}

impl Drop for ShapedLink {
    fn drop(&mut self) {
        // Its rules live partly in the child namespace, which dies with the holder.
        drop(
            self.impairment
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("run {program}"))?;
    ensure!(
        output.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}
