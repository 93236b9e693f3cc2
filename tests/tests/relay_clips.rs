//! 看讲解 replay clips end to end: a live published with GStreamer's whipclientsink, product
//! A pinned for 10 s then B; A's clip is cut from the recording while the live goes on,
//! starts within a GOP of the pin, lasts the window, plays from the viewer page in Chromium,
//! and goes with its recording. And a relay killed mid-live loses no clip: the window that
//! closed just before the crash is cut at the next start.

use std::path::Path;
use std::time::{Duration, Instant};

use anchordesk_e2e::ffprobe::{count, frames};
use anchordesk_e2e::media::GstWhipPublisher;
use anchordesk_e2e::webdriver::eventually;
use anchordesk_e2e::{ChromeDriver, artifacts_dir, built_binary, netns, spawn_relay_with};
use anchordesk_relay::auth::Role;
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use serde_json::{Value, json};

/// The relay asks publishers for a keyframe this often: a clip starts at most this much
/// before its pin.
const GOP_MS: i64 = 2_000;
/// Slack for the recording's clock (its first frame is stamped when it reaches the packager).
const SLACK_MS: i64 = 500;

/// A shop with stream `demo`, products A and B in one live's cart, and an owner.
struct Shop {
    key: String,
    live_id: i64,
    a: i64,
    b: i64,
}

async fn shop(store: &anchordesk_relay::Store) -> Result<Shop> {
    use anchordesk_relay::commerce::{lives, products};
    let (_, key) = anchordesk_relay::media::streams::create(store, "demo").await?;
    anchordesk_relay::auth::create_staff(store, "boss", "boss-password", Role::Owner).await?;
    let product = |title: &str| products::NewProduct {
        title: title.into(),
        description: None,
        price_fen: 9_900,
        stock: Some(50),
        skus: None,
    };
    let a = products::create(store, &product("保温杯 A")).await?.id;
    let b = products::create(store, &product("围巾 B")).await?.id;
    let live = lives::create(
        store,
        &lives::NewLive {
            title: "看讲解".into(),
            stream_name: Some("demo".into()),
        },
    )
    .await?;
    for product_id in [a, b] {
        lives::add_to_cart(store, live.id, &lives::CartAdd { product_id }).await?;
    }
    Ok(Shop {
        key,
        live_id: live.id,
        a,
        b,
    })
}

async fn login(http: &reqwest::Client, base: &str) -> Result<String> {
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": "boss", "password": "boss-password" }))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"].as_str().context("token")?.to_owned())
}

/// Pins `product_id`; returns when the relay says the pin started.
async fn pin(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    live_id: i64,
    product_id: i64,
) -> Result<i64> {
    let response = http
        .post(format!("{base}/api/lives/{live_id}/pin"))
        .bearer_auth(token)
        .json(&json!({ "product_id": product_id }))
        .send()
        .await?;
    ensure!(response.status().is_success(), "pin: {}", response.status());
    let live: Value = response.json().await?;
    live["pin"]["started_at_ms"].as_i64().context("pin start")
}

/// Waits until the recording of the live has its first frame (its meta file is written).
async fn recording_started(data_dir: &Path, publisher: &GstWhipPublisher) -> Result<()> {
    let recordings = data_dir.join("recordings");
    eventually(
        "the recording's first frame",
        Duration::from_secs(20),
        || async {
            let started = std::fs::read_dir(&recordings).is_ok_and(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().ends_with(".mp4.json"))
            });
            Ok(started.then_some(()))
        },
    )
    .await
    .with_context(|| format!("publisher error: {:?}", publisher.error()))
}

/// The live's ready clips, as the viewer page reads them.
async fn live_clips(http: &reqwest::Client, base: &str, live_id: i64) -> Result<Value> {
    Ok(http
        .get(format!("{base}/api/lives/{live_id}/clips"))
        .send()
        .await?
        .json()
        .await?)
}

/// The live's clip of `product_id`, once there is one.
async fn clip_of(
    http: &reqwest::Client,
    base: &str,
    live_id: i64,
    product_id: i64,
    within: Duration,
) -> Result<Value> {
    eventually("the replay clip", within, || async {
        let clips = live_clips(http, base, live_id).await?;
        Ok(clips
            .as_array()
            .and_then(|list| list.iter().find(|c| c["product_id"] == product_id))
            .cloned())
    })
    .await
}

/// Checks a clip against the window it was cut for: it starts on the keyframe at or just
/// before the pin and lasts to the unpin, give or take a GOP.
fn check_window(clip: &Value, pinned_at: i64, unpinned_at: i64) -> Result<()> {
    let starts = clip["starts_at_ms"].as_i64().context("starts_at_ms")?;
    let duration = clip["duration_ms"].as_i64().context("duration_ms")?;
    let lead = pinned_at - starts;
    ensure!(
        (-SLACK_MS..=GOP_MS + SLACK_MS).contains(&lead),
        "the clip starts {lead} ms before the pin: {clip}"
    );
    let window = unpinned_at - pinned_at;
    ensure!(
        (duration - window).abs() <= GOP_MS + SLACK_MS,
        "a {window} ms window gave a {duration} ms clip: {clip}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_window_becomes_a_clip_that_plays_on_the_viewer_page() -> Result<()> {
    if !netns::isolate("a_pin_window_becomes_a_clip_that_plays_on_the_viewer_page") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let relay =
        anchordesk_relay::start(&anchordesk_relay::Config::bundled(dir.path().into())).await?;
    let shop = shop(relay.store()).await?;
    let base = relay.url();
    let http = anchordesk_e2e::relay_http_client();
    let token = login(&http, &base).await?;
    let publisher = GstWhipPublisher::start(&format!("{base}/whip/demo"), &shop.key, 640, 360)?;
    recording_started(dir.path(), &publisher).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let pinned_at = pin(&http, &base, &token, shop.live_id, shop.a).await?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let unpinned_at = pin(&http, &base, &token, shop.live_id, shop.b).await?;
    let unpinned = Instant::now();
    let clip = clip_of(&http, &base, shop.live_id, shop.a, Duration::from_secs(20)).await?;
    eprintln!(
        "clip of A ready {} ms after the unpin, while the live goes on: {clip}",
        unpinned.elapsed().as_millis()
    );
    check_window(&clip, pinned_at, unpinned_at)?;
    let url = format!("{base}{}", clip["url"].as_str().context("url")?);
    let streams = frames(&url)?;
    assert!(count(&streams, "h264") >= 8 * 30, "{streams:?}");
    assert!(count(&streams, "opus") > 0, "{streams:?}");
    let ranged = http
        .get(&url)
        .header("range", "bytes=0-1023")
        .send()
        .await?;
    assert_eq!(ranged.status(), reqwest::StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.headers()["content-type"], "video/mp4");
    // B is still pinned: no clip of it yet.
    let clips = live_clips(&http, &base, shop.live_id).await?;
    assert_eq!(clips.as_array().map(Vec::len), Some(1), "{clips}");

    // A phone opens the 小黄车 and plays A's 讲解.
    let chrome = ChromeDriver::start()?;
    let phone = chrome.phone().await?;
    let played = async {
        phone.goto(&format!("{base}/live/{}", shop.live_id)).await?;
        phone
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(".cart-button"))
            .await?
            .click()
            .await?;
        phone
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(&format!(
                "[data-testid=replay][data-product-id='{}']",
                shop.a
            )))
            .await?
            .click()
            .await?;
        let position = eventually("the clip playing", Duration::from_secs(15), || async {
            let time = phone
                .execute(
                    "const v = document.querySelector('[data-testid=replay-video]');\
                     return v && !v.paused && v.readyState >= 3 ? v.currentTime : 0;",
                    vec![],
                )
                .await?;
            Ok(time.as_f64().filter(|t| *t > 1.0))
        })
        .await?;
        let png = phone.screenshot().await?;
        std::fs::write(artifacts_dir().join("viewer-replay-clip.png"), png)?;
        // Only A has a clip: B's row offers none.
        let b_buttons = phone
            .find_all(Locator::Css(&format!(
                "[data-testid=replay][data-product-id='{}']",
                shop.b
            )))
            .await?;
        anyhow::Ok((position, b_buttons.len()))
    }
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), phone.close()).await;
    let (position, b_buttons) = played?;
    eprintln!("the viewer page played A's clip to {position:.1} s");
    assert_eq!(b_buttons, 0);

    // The recording is deleted with its clips, not while it is being written.
    let list: Value = http
        .get(format!("{base}/api/recordings"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let file = list[0]["file"].as_str().context("recording")?.to_owned();
    let delete = || {
        http.delete(format!("{base}/api/recordings/{file}"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(delete().await?.status(), reqwest::StatusCode::CONFLICT);
    publisher.stop()?;
    eventually("the publisher gone", Duration::from_secs(10), || async {
        let stats: Value = http
            .get(format!("{base}/api/streams/demo/stats"))
            .send()
            .await?
            .json()
            .await?;
        Ok((stats["publishing"] == false).then_some(()))
    })
    .await?;
    assert_eq!(delete().await?.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(
        http.get(&url).send().await?.status(),
        reqwest::StatusCode::NOT_FOUND
    );
    let clips = live_clips(&http, &base, shop.live_id).await?;
    assert_eq!(clips, json!([]));
    let left: Vec<_> = std::fs::read_dir(dir.path().join("recordings"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    relay.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_live_cuts_the_closed_window_at_its_next_start() -> Result<()> {
    if !netns::isolate("a_relay_killed_mid_live_cuts_the_closed_window_at_its_next_start") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let shop = {
        let relay =
            anchordesk_relay::start(&anchordesk_relay::Config::bundled(dir.path().into())).await?;
        let shop = shop(relay.store()).await?;
        relay.shutdown().await?;
        shop
    };
    let relay_bin = built_binary("anchordesk-relay");
    let spawn = || {
        spawn_relay_with(
            tokio::process::Command::new(&relay_bin),
            "127.0.0.1:0",
            dir.path(),
        )
    };
    let mut relay = spawn().await?;
    let http = anchordesk_e2e::relay_http_client();
    let token = login(&http, &relay.url).await?;
    let publisher =
        GstWhipPublisher::start(&format!("{}/whip/demo", relay.url), &shop.key, 640, 360)?;
    recording_started(dir.path(), &publisher).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pinned_at = pin(&http, &relay.url, &token, shop.live_id, shop.a).await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let unpinned_at = pin(&http, &relay.url, &token, shop.live_id, shop.b).await?;
    // Killed before A's window has settled into the recording: nothing of it is cut yet.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    relay.child.start_kill()?;
    relay.child.wait().await?;
    drop(publisher);

    let relay = spawn().await?;
    let clip = clip_of(
        &http,
        &relay.url,
        shop.live_id,
        shop.a,
        Duration::from_secs(20),
    )
    .await?;
    check_window(&clip, pinned_at, unpinned_at)?;
    let url = format!("{}{}", relay.url, clip["url"].as_str().context("url")?);
    let streams = frames(&url)?;
    assert!(count(&streams, "h264") >= 4 * 30, "{streams:?}");
    Ok(())
}
