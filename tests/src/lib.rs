//! Helpers for AnchorDesk's end-to-end tests: locating built binaries, a private X server,
//! tauri-driver, and artifact paths. Every helper that starts a process kills it on drop.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::AsyncBufReadExt;

pub mod abr;
pub mod ffprobe;
pub mod media;
pub mod netns;
pub mod sound;
pub mod studio;
pub mod webdriver;
pub mod x11;
pub use x11::request_window_close;

/// The workspace root (where Cargo.toml and tauri.conf.json live).
/// An HTTP client for a relay's API that lets go of idle connections before the relay does:
/// the relay closes a keep-alive connection idle for 10 s (its header read timeout), and a
/// request sent on one at the moment it closes fails ("connection closed before message
/// completed"). A test that waits 10 s between two calls met exactly that. The studio's
/// client does the same.
pub fn relay_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A binary built by this `cargo test` run (target/<profile>/NAME), found next to the test.
#[track_caller]
pub fn built_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test>-<hash> → target/debug/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace` (or `make test`) first",
        path.display()
    );
    path
}

/// Where tests write screenshots and logs for humans to look at: target/test-artifacts.
pub fn artifacts_dir() -> PathBuf {
    let dir = workspace_root().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

/// A free TCP port on loopback (bound then released; fine for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A UDP port free right now (for SRT listeners).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral UDP port")
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listened on 127.0.0.1:{port} within {timeout:?}")
}

/// True once nothing accepts on `port` any more.
pub fn wait_for_port_closed(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private X server, so UI tests neither need nor disturb a real display.
#[derive(Debug)]
pub struct Xvfb {
    pub display: String,
    _child: KillOnDrop,
}

impl Xvfb {
    pub fn start() -> Result<Self> {
        Self::start_sized(1280, 800)
    }

    /// An X server whose screen is `width`×`height`: windows larger than the default
    /// 1280×800 (a 2560×1440 studio) need a screen to fit on.
    pub fn start_sized(width: u32, height: u32) -> Result<Self> {
        let screen = format!("{width}x{height}x24");
        let mut child = Command::new("Xvfb")
            // -displayfd: Xvfb picks a free display number and writes it to fd 1.
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                &screen,
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start Xvfb (Debian package: xvfb); `make test` installs it")?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("read display number from Xvfb")?;
        let number = line.trim();
        if number.is_empty() {
            bail!("Xvfb exited without reporting a display");
        }
        Ok(Self {
            display: format!(":{number}"),
            _child: KillOnDrop(child),
        })
    }
}

/// `tauri-driver` (WebDriver for Tauri apps) on free ports, with WebKitWebDriver behind it.
#[derive(Debug)]
pub struct TauriDriver {
    pub port: u16,
    _child: KillOnDrop,
}

impl TauriDriver {
    pub fn start(display: &str, envs: &[(&str, &Path)]) -> Result<Self> {
        let port = free_port();
        let native_port = free_port();
        let log = std::fs::File::create(artifacts_dir().join("tauri-driver.log"))?;
        let mut command = Command::new(tauri_driver_path()?);
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", display)
            // Measured here: WEBKIT_DISABLE_COMPOSITING_MODE or WEBKIT_DISABLE_DMABUF_RENDERER make
            // WebKitWebDriver's screenshot hang under Xvfb, and the defaults render fine; so neither is set.
            .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
            .env_remove("WEBKIT_DISABLE_DMABUF_RENDERER")
            .stdout(log.try_clone()?)
            .stderr(log);
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = KillOnDrop(command.spawn().context("cannot start tauri-driver")?);
        wait_for_port(port, Duration::from_secs(20)).context("tauri-driver did not start")?;
        Ok(Self {
            port,
            _child: child,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Debian's `chromedriver` (package chromium-driver) driving Debian's Chromium, headless, as
/// a phone-sized viewer.
#[derive(Debug)]
pub struct ChromeDriver {
    pub port: u16,
    _child: KillOnDrop,
}

impl ChromeDriver {
    pub fn start() -> Result<Self> {
        let port = free_port();
        let log = std::fs::File::create(artifacts_dir().join("chromedriver.log"))?;
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start chromedriver (Debian package: chromium-driver)")?;
        let child = KillOnDrop(child);
        wait_for_port(port, Duration::from_secs(20)).context("chromedriver did not start")?;
        Ok(Self {
            port,
            _child: child,
        })
    }

    /// A WebDriver session on a headless 390×844 Chromium.
    pub async fn phone(&self) -> Result<fantoccini::Client> {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=390,844", "--autoplay-policy=no-user-gesture-required"],
            }),
        );
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("cannot open a WebDriver session on Chromium")
    }
}

fn tauri_driver_path() -> Result<PathBuf> {
    let candidates = [
        std::env::var_os("CARGO_HOME").map(|h| PathBuf::from(h).join("bin/tauri-driver")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tauri-driver")),
    ];
    if let Some(found) = candidates.into_iter().flatten().find(|p| p.exists()) {
        return Ok(found);
    }
    if Command::new("tauri-driver").arg("--help").output().is_ok() {
        return Ok(PathBuf::from("tauri-driver"));
    }
    bail!("tauri-driver not found: `make test` installs it (cargo install tauri-driver --locked)")
}

/// A running `anchordesk-relay serve` on a data directory; killed on drop.
pub struct RelayProcess {
    pub child: tokio::process::Child,
    pub url: String,
    /// The next stdout lines (the RTMP address when RTMP is on).
    pub stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

/// `anchordesk-relay serve` on `data_dir`, listening on `listen`, started through `command`
/// (the relay binary, or a wrapper such as `nsenter` that runs it in another namespace).
pub async fn spawn_relay_with(
    mut command: tokio::process::Command,
    listen: &str,
    data_dir: &Path,
) -> anyhow::Result<RelayProcess> {
    let mut child = command
        .args(["serve", "--listen", listen, "--data-dir"])
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
