//! Helpers shared by the relay's integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `anchordesk-relay serve` process; killed on drop if still alive.
pub struct RelayProcess {
    pub child: Child,
    pub url: String,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn relay_command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anchordesk-relay"));
    cmd.env_remove("ANCHORDESK_LISTEN")
        .env_remove("ANCHORDESK_CONFIG")
        .env_remove("ANCHORDESK_UI_DIR")
        .env_remove("ANCHORDESK_DATABASE_URL")
        .env("ANCHORDESK_DATA_DIR", data_dir)
        .env("RUST_LOG", "info");
    cmd
}

/// The PostgreSQL server the test command started, when the suite runs against PostgreSQL.
pub const POSTGRES_ENV: &str = "ANCHORDESK_TEST_POSTGRES_URL";

/// A relay config for a test: SQLite in `dir`, or a fresh PostgreSQL database of its own when
/// the suite runs against PostgreSQL (`make test` runs it both ways).
pub async fn config(dir: &Path) -> anchordesk_relay::Config {
    let mut config = anchordesk_relay::Config::bundled(dir.to_owned());
    if let Ok(server) = std::env::var(POSTGRES_ENV) {
        let url = anchordesk_relay::store::create_postgres_database(&server, "relay_test")
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but: {e}"));
        config.database_url = Some(url);
    }
    config
}

/// [`relay_command`] for the database a [`config`] chose.
pub fn relay_command_for(config: &anchordesk_relay::Config) -> Command {
    let mut cmd = relay_command(&config.data_dir);
    if let Some(url) = &config.database_url {
        cmd.env("ANCHORDESK_DATABASE_URL", url);
    }
    cmd
}

/// Starts the relay with `args` after `serve` and waits for its "listening on" line.
#[track_caller]
pub fn spawn_relay(mut cmd: Command) -> RelayProcess {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn anchordesk-relay");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read relay stdout");
    let url = line
        .trim()
        .strip_prefix("anchordesk-relay listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    RelayProcess { child, url }
}

/// Waits up to `timeout` for the process to exit.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Creates a staff account and logs it in over HTTP, returning its bearer token.
pub async fn staff_token(
    relay: &anchordesk_relay::RunningRelay,
    username: &str,
    role: anchordesk_relay::auth::Role,
) -> String {
    let password = format!("{username}-password");
    anchordesk_relay::auth::create_staff(relay.store(), username, &password, role)
        .await
        .expect("create staff");
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/auth/login", relay.url()))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("login request")
        .json()
        .await
        .expect("login JSON");
    login["token"].as_str().expect("token").to_owned()
}

/// A scheduled live with this title; returns its id.
pub async fn new_live(store: &anchordesk_relay::Store, title: &str) -> i64 {
    let new = anchordesk_relay::commerce::lives::NewLive {
        title: title.into(),
        stream_name: None,
    };
    anchordesk_relay::commerce::lives::create(store, &new)
        .await
        .expect("create live")
        .id
}

/// An active product with one default SKU.
pub async fn product(
    store: &anchordesk_relay::Store,
    title: &str,
    price_fen: i64,
    stock: i64,
) -> anchordesk_relay::commerce::products::Product {
    let new = anchordesk_relay::commerce::products::NewProduct {
        title: title.into(),
        description: None,
        price_fen,
        stock: Some(stock),
        skus: None,
    };
    anchordesk_relay::commerce::products::create(store, &new)
        .await
        .expect("create product")
}

/// A fresh viewer's bearer token.
pub async fn viewer_token(store: &anchordesk_relay::Store) -> String {
    anchordesk_relay::auth::create_viewer(store, &Default::default())
        .await
        .expect("create viewer")
        .token
}
