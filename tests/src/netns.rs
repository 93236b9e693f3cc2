//! Runs a test inside its own network namespace: libnice (GStreamer's ICE) never offers
//! loopback candidates, so WebRTC between local processes needs a real interface. The
//! namespace has loopback and a veth pair (10.203.0.1 ⇄ 10.203.0.2) and nothing else: no
//! traffic can leave the machine. Creating it needs root (CI runs as root) or unprivileged
//! user namespaces (`unshare --map-root-user`).

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

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
