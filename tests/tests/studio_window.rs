//! The real studio app under Xvfb, driven through tauri-driver + WebKitWebDriver.

use std::time::{Duration, Instant};

use anchordesk_e2e::{
    TauriDriver, Xvfb, artifacts_dir, built_binary, request_window_close, wait_for_port_closed,
};
use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// Runs one WebDriver step with a deadline, so a wedged driver fails the test by name
/// instead of hanging CI.
async fn step<T>(name: &str, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    eprintln!("studio e2e: {name}");
    tokio::time::timeout(Duration::from_secs(45), fut)
        .await
        .with_context(|| format!("step '{name}' timed out"))?
        .with_context(|| format!("step '{name}' failed"))
}

async fn connect(driver: &TauriDriver) -> Result<Client> {
    let app = built_binary("anchordesk");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app.to_string_lossy() }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .context("cannot open a WebDriver session on the studio")
}

/// Polls the relay badge until it says running (the relay starts asynchronously).
async fn wait_for_running_relay(client: &Client) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(badge) = client.find(Locator::Css("[data-testid=relay-state]")).await
            && badge.attr("data-state").await?.as_deref() == Some("running")
        {
            let url = client
                .find(Locator::Css("[data-testid=relay-url]"))
                .await?
                .text()
                .await?;
            return Ok(url);
        }
        if Instant::now() > deadline {
            bail!("the studio never showed a running relay");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn studio_window_shows_a_healthy_bundled_relay_and_stops_it_on_close() -> Result<()> {
    let data_dir = tempfile::tempdir()?;
    let xvfb = Xvfb::start()?;
    let driver = TauriDriver::start(&xvfb.display, &[("ANCHORDESK_DATA_DIR", data_dir.path())])?;
    let client = step("open session", connect(&driver)).await?;

    let url = step("wait for running relay", wait_for_running_relay(&client)).await?;
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "relay URL shown: {url}"
    );
    let title = step("read title", async {
        Ok(client.find(Locator::Css("h1")).await?.text().await?)
    })
    .await?;
    assert_eq!(title, "AnchorDesk 直播工作台", "the studio opens in zh-CN");

    // What the window shows is the real relay: it answers, on the app's data dir.
    let health = step("relay health", async {
        Ok(reqwest::get(format!("{url}/healthz")).await?)
    })
    .await?;
    assert_eq!(health.status(), 200);
    assert!(data_dir.path().join("anchordesk.db").exists());

    let png = step("screenshot", async { Ok(client.screenshot().await?) }).await?;
    std::fs::write(artifacts_dir().join("studio-window.png"), &png)?;
    assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");

    // The user closes the window (the message a window manager sends for the × button):
    // the app quits, its relay drains and the database is closed cleanly, which SQLite shows
    // by checkpointing and removing the write-ahead log.
    let port: u16 = url.rsplit(':').next().unwrap_or_default().parse()?;
    request_window_close(&xvfb.display, "AnchorDesk 直播工作台")?;
    assert!(
        wait_for_port_closed(port, Duration::from_secs(15)),
        "relay still listening after the window closed"
    );
    let wal = data_dir.path().join("anchordesk.db-wal");
    let deadline = Instant::now() + Duration::from_secs(5);
    while wal.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !wal.exists(),
        "database was not closed cleanly (WAL left behind)"
    );
    // The app is gone with its window; ending the session only tidies up the driver.
    let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
    Ok(())
}
