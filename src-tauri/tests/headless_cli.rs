//! `anchordesk live --headless` as a server operator or CI runs it.

use std::process::Command;

fn anchordesk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_anchordesk"))
}

#[test]
fn headless_live_encodes_frames_and_exits_zero() {
    let out = anchordesk()
        .args(["live", "--headless", "--duration", "3s"])
        .output()
        .expect("run anchordesk");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let line = stdout.lines().last().expect("a summary line");
    assert!(line.starts_with("anchordesk live: encoded "), "{line}");
    let frames: u64 = line
        .trim_start_matches("anchordesk live: encoded ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("frame count");
    // 3 s at 30 fps is 90; a loaded 2-core machine may drop a few, never most.
    assert!(frames >= 45, "{line}");
}

#[test]
fn live_without_headless_explains_itself() {
    let out = anchordesk()
        .args(["live"])
        .output()
        .expect("run anchordesk");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--headless"), "{stderr}");
}

#[test]
fn bad_duration_is_rejected_with_the_flag_named() {
    let out = anchordesk()
        .args(["live", "--headless", "--duration", "soon"])
        .output()
        .expect("run anchordesk");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--duration"), "{stderr}");
}

#[test]
fn ctrl_c_ends_an_unbounded_headless_run_with_a_summary() {
    let child = anchordesk()
        .args(["live", "--headless"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run anchordesk");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("anchordesk live: encoded "), "{stdout}");
}
