//! The `anchordesk-relay` binary as an operator runs it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{relay_command, spawn_relay, wait_exit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn output_of(mut cmd: Command) -> (i32, String) {
    let out = cmd.output().expect("run relay");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The last line of stderr: the one an operator reads.
fn last_line(stderr: &str) -> &str {
    stderr.lines().last().unwrap_or_default()
}

#[test]
fn serves_until_sigterm_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = relay_command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut relay = spawn_relay(cmd);
    let health = http_status(&format!("{}/healthz", relay.url));
    assert_eq!(health, 200);

    kill(Pid::from_raw(relay.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = wait_exit(&mut relay.child, Duration::from_secs(10)).expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(dir.path().join("anchordesk.db").exists());
}

#[test]
fn port_in_use_is_one_clear_line_and_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = relay_command(dir.path());
    cmd.args(["serve", "--listen", &addr.to_string()]);
    let (code, stderr) = output_of(cmd);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        last_line(&stderr),
        format!(
            "anchordesk-relay: error: cannot listen on {addr}: address already in use \
             (is another relay running? pick another with --listen)"
        )
    );
}

#[test]
fn unwritable_data_dir_is_one_clear_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"").unwrap();
    // A path under a regular file fails even for root, unlike permission bits.
    let mut cmd = relay_command(&file.join("data"));
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let (code, stderr) = output_of(cmd);
    assert_eq!(code, 1, "{stderr}");
    let line = last_line(&stderr);
    assert!(
        line.starts_with("anchordesk-relay: error: cannot create data directory")
            && line.contains("plain-file/data"),
        "{line}"
    );
}

#[test]
fn flag_beats_environment_beats_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    let file_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // The file names an occupied port: if it won, start-up would fail.
    std::fs::write(
        &config,
        format!("listen = \"{}\"\n", file_port.local_addr().unwrap()),
    )
    .unwrap();

    let mut env_wins = relay_command(dir.path());
    env_wins
        .args(["serve", "--config"])
        .arg(&config)
        .env("ANCHORDESK_LISTEN", "127.0.0.1:0");
    let relay = spawn_relay(env_wins);
    assert!(relay.url.starts_with("http://127.0.0.1:"));
    drop(relay);

    let mut flag_wins = relay_command(dir.path());
    flag_wins
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env(
            "ANCHORDESK_LISTEN",
            file_port.local_addr().unwrap().to_string(),
        );
    let relay = spawn_relay(flag_wins);
    assert!(relay.url.starts_with("http://127.0.0.1:"));

    let mut file_only = relay_command(dir.path());
    file_only.args(["serve", "--config"]).arg(&config);
    let (code, stderr) = output_of(file_only);
    assert_eq!(
        code, 1,
        "the file's occupied port is used when nothing overrides it: {stderr}"
    );
    assert!(last_line(&stderr).contains("address already in use"));
}

#[test]
fn invalid_config_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, "lisen = \"127.0.0.1:0\"\n").unwrap();
    let mut cmd = relay_command(dir.path());
    cmd.args(["serve", "--config"]).arg(&config);
    let (code, stderr) = output_of(cmd);
    assert_eq!(code, 1);
    let line = last_line(&stderr);
    assert!(
        line.contains("invalid config file") && line.contains("lisen"),
        "{line}"
    );
}

/// A blocking GET returning the status code, to keep these tests synchronous.
fn http_status(url: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().status().as_u16() })
}

#[test]
fn first_owner_is_created_from_the_cli_and_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut create = relay_command(dir.path());
    create
        .args(["user", "create", "--username", "boss"])
        .env("ANCHORDESK_PASSWORD", "a-long-secret");
    let out = create.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "created owner boss (id 1)"
    );

    let mut again = relay_command(dir.path());
    again
        .args(["user", "create", "--username", "boss"])
        .env("ANCHORDESK_PASSWORD", "a-long-secret");
    let (code, stderr) = output_of(again);
    assert_eq!(code, 1);
    assert!(
        last_line(&stderr).contains("username boss is taken"),
        "{stderr}"
    );

    let mut serve = relay_command(dir.path());
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let relay = spawn_relay(serve);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/api/auth/login", relay.url))
            .json(&serde_json::json!({ "username": "boss", "password": "a-long-secret" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 200);
}

#[test]
fn short_password_from_stdin_is_refused_naming_the_field() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = relay_command(dir.path());
    cmd.args([
        "user",
        "create",
        "--username",
        "helper",
        "--role",
        "assistant",
    ])
    .env_remove("ANCHORDESK_PASSWORD")
    .stdin(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(last_line(&stderr).contains("invalid password"), "{stderr}");
}

#[test]
fn demo_seed_fills_a_fresh_shop_once_and_prints_the_owner_login() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = relay_command(dir.path());
    seed.args(["demo", "seed"])
        .env_remove("ANCHORDESK_PASSWORD");
    let out = seed.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("seeded 12 products and live 1"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("owner login: owner / "))
        .expect("generated password printed once");
    assert_eq!(password.len(), 16);

    let mut again = relay_command(dir.path());
    again.args(["demo", "seed"]);
    let (code, stderr) = output_of(again);
    assert_eq!(code, 1);
    assert!(
        last_line(&stderr).contains("already has 12 products"),
        "{stderr}"
    );
}
