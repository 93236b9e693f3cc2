//! HLS and recording of a live stream published with GStreamer's whipclientsink: the playlist
//! and segments a CDN and hls.js read, the fragmented MP4 recording, and that recording still
//! plays after the relay is killed mid-live. Checked with ffprobe (Debian's ffmpeg).

use std::process::{Command, Stdio};
use std::time::Duration;

use anchordesk_e2e::built_binary;
use anchordesk_e2e::ffprobe::{count, frames};
use anchordesk_e2e::media::{GstWhipPublisher, create_stream_with_cli};
use anchordesk_e2e::netns;
use anchordesk_relay::auth::Role;
use anyhow::{Context, Result, bail};
use serde_json::Value;

async fn wait_for<T>(
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A bundled relay on `data_dir` with stream `demo`, and a 640×360 WHIP publisher on it.
async fn publishing_to_a_bundled_relay(
    data_dir: &std::path::Path,
) -> Result<(anchordesk_relay::RunningRelay, GstWhipPublisher)> {
    let relay =
        anchordesk_relay::start(&anchordesk_relay::Config::bundled(data_dir.into())).await?;
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo").await?;
    let publisher = GstWhipPublisher::start(&format!("{}/whip/demo", relay.url()), &key, 640, 360)?;
    Ok((relay, publisher))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_is_served_as_hls_and_recorded_to_mp4() -> Result<()> {
    if !netns::isolate("a_live_stream_is_served_as_hls_and_recorded_to_mp4") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let (relay, publisher) = publishing_to_a_bundled_relay(dir.path()).await?;
    let base = relay.url();
    let http = reqwest::Client::new();

    // Three segments of 2 s: the relay asks for a keyframe every 2 s to cut them.
    let playlist = wait_for(Duration::from_secs(20), async || {
        let response = http
            .get(format!("{base}/hls/demo/index.m3u8"))
            .send()
            .await?;
        if !response.status().is_success() {
            return Ok(None);
        }
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(response.headers()["cache-control"], "public, max-age=1");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let text = response.text().await?;
        Ok((text.matches("#EXTINF").count() >= 3).then_some(text))
    })
    .await
    .with_context(|| format!("no HLS playlist; publisher error: {:?}", publisher.error()))?;
    assert!(playlist.starts_with("#EXTM3U"), "{playlist}");
    assert!(playlist.contains("#EXT-X-TARGETDURATION:2"), "{playlist}");
    for line in playlist.lines().filter(|l| l.starts_with("#EXTINF:")) {
        let seconds: f64 = line["#EXTINF:".len()..].trim_end_matches(',').parse()?;
        assert!(seconds <= 3.0, "segment of {seconds} s: {playlist}");
    }
    let segment = playlist
        .lines()
        .find(|l| l.ends_with(".ts"))
        .context("a segment")?;
    let response = http
        .get(format!("{base}/hls/demo/{segment}"))
        .send()
        .await?;
    assert_eq!(response.headers()["content-type"], "video/mp2t");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=86400, immutable"
    );
    let streams = frames(&format!("{base}/hls/demo/{segment}"))?;
    assert!(count(&streams, "h264") >= 30, "{streams:?}");
    assert!(count(&streams, "aac") > 0, "{streams:?}");
    let stats: Value = http
        .get(format!("{base}/api/streams/demo/stats"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(stats["hls_viewers"], 1, "{stats}");
    // Nothing outside the stream's directory is served.
    for bad in ["..%2Fanchordesk.db", "index.txt", "nope.ts"] {
        let status = http
            .get(format!("{base}/hls/demo/{bad}"))
            .send()
            .await?
            .status();
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{bad}");
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    publisher.stop()?;
    // The playlist is closed when the publisher leaves.
    wait_for(Duration::from_secs(10), async || {
        let text = http
            .get(format!("{base}/hls/demo/index.m3u8"))
            .send()
            .await?
            .text()
            .await?;
        Ok(text.contains("#EXT-X-ENDLIST").then_some(()))
    })
    .await
    .context("no #EXT-X-ENDLIST")?;

    let owner = {
        anchordesk_relay::auth::create_staff(relay.store(), "boss", "boss-password", Role::Owner)
            .await?;
        let login: Value = http
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({ "username": "boss", "password": "boss-password" }))
            .send()
            .await?
            .json()
            .await?;
        login["token"].as_str().context("token")?.to_owned()
    };
    let list: Value = http
        .get(format!("{base}/api/recordings"))
        .bearer_auth(&owner)
        .send()
        .await?
        .json()
        .await?;
    let file = list[0]["file"]
        .as_str()
        .with_context(|| format!("no recording: {list}"))?;
    assert_eq!(list[0]["stream"], "demo");
    let url = format!("{base}/api/recordings/{file}");
    assert_eq!(
        http.get(&url).send().await?.status(),
        reqwest::StatusCode::UNAUTHORIZED
    );
    let ranged = http
        .get(&url)
        .bearer_auth(&owner)
        .header("range", "bytes=0-99")
        .send()
        .await?;
    assert_eq!(ranged.status(), reqwest::StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.bytes().await?.len(), 100);
    let streams = frames(
        &dir.path()
            .join("recordings")
            .join(file)
            .display()
            .to_string(),
    )?;
    assert!(
        count(&streams, "h264") >= 120,
        "at least 4 s of video: {streams:?}"
    );
    assert!(count(&streams, "opus") > 0, "{streams:?}");
    relay.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_plays_after_the_relay_is_killed_mid_live() -> Result<()> {
    if !netns::isolate("the_recording_plays_after_the_relay_is_killed_mid_live") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let relay_bin = built_binary("anchordesk-relay");
    let key = create_stream_with_cli(&relay_bin, dir.path(), "demo")?;
    let mut relay = Command::new(&relay_bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()?;
    let url = {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(relay.stdout.take().context("stdout")?).read_line(&mut line)?;
        line.trim()
            .strip_prefix("anchordesk-relay listening on ")
            .context("listening line")?
            .to_owned()
    };
    let publisher = GstWhipPublisher::start(&format!("{url}/whip/demo"), &key, 640, 360)?;
    let recordings = dir.path().join("recordings");
    // The recording itself, not the `.json` beside it.
    let recording = || -> Option<std::path::PathBuf> {
        std::fs::read_dir(&recordings)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "mp4"))
    };
    // Killed on every way out, so a failed check leaves no relay behind.
    let mut relay = anchordesk_e2e::KillOnDrop(relay);
    wait_for(Duration::from_secs(20), async || {
        let size = recording()
            .and_then(|p| p.metadata().ok())
            .map_or(0, |m| m.len());
        Ok((size > 200_000).then_some(()))
    })
    .await
    .with_context(|| {
        format!(
            "the recording did not grow; publisher error: {:?}",
            publisher.error()
        )
    })?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    relay.0.kill()?; // SIGKILL: no chance to finish the file
    relay.0.wait()?;
    drop(publisher);

    let file = recording().context("a recording")?;
    let streams = frames(&file.display().to_string())?;
    assert!(
        count(&streams, "h264") >= 60,
        "{}: {streams:?}",
        file.display()
    );
    Ok(())
}

/// The recording and HLS are separate pipelines: a recording that cannot be written (here its
/// directory's place is taken by a file) leaves the viewers' HLS running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_keeps_running_when_the_recording_cannot_be_written() -> Result<()> {
    if !netns::isolate("hls_keeps_running_when_the_recording_cannot_be_written") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("recordings"), b"not a directory")?;
    let (relay, publisher) = publishing_to_a_bundled_relay(dir.path()).await?;
    let base = relay.url();
    let http = reqwest::Client::new();
    let playlist = wait_for(Duration::from_secs(20), async || {
        let response = http
            .get(format!("{base}/hls/demo/index.m3u8"))
            .send()
            .await?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let text = response.text().await?;
        Ok((text.matches("#EXTINF").count() >= 2).then_some(text))
    })
    .await
    .with_context(|| format!("no HLS playlist; publisher error: {:?}", publisher.error()))?;
    let segment = playlist
        .lines()
        .find(|l| l.ends_with(".ts"))
        .context("a segment")?;
    let streams = frames(&format!("{base}/hls/demo/{segment}"))?;
    assert!(count(&streams, "h264") >= 30, "{streams:?}");
    assert!(count(&streams, "aac") > 0, "{streams:?}");
    assert!(dir.path().join("recordings").is_file());
    publisher.stop()?;
    relay.shutdown().await?;
    Ok(())
}
