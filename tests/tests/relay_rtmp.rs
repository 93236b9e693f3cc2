//! RTMP ingest with a real client: ffmpeg (Debian's, libx264 + AAC from lavfi test sources)
//! pushes to the relay binary; a WHEP player (webrtc-rs, loopback) and the HLS playlist both
//! get the media; a wrong key is refused with a log line naming the stream.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchordesk_e2e::media::{WhepPlayer, create_stream_with_cli, ffmpeg_rtmp_push};
use anchordesk_e2e::{KillOnDrop, built_binary};
use anyhow::{Context, Result, ensure};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_pushes_rtmp_and_whep_and_hls_get_the_media() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let relay_bin = built_binary("anchordesk-relay");
    let key = create_stream_with_cli(&relay_bin, dir.path(), "demo")?;
    let owner = Command::new(&relay_bin)
        .args(["user", "create", "--username", "boss", "--data-dir"])
        .arg(dir.path())
        .env("ANCHORDESK_PASSWORD", "boss-password")
        .output()?;
    ensure!(
        owner.status.success(),
        "{}",
        String::from_utf8_lossy(&owner.stderr)
    );

    let mut relay = Command::new(&relay_bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let logs = Arc::new(Mutex::new(String::new()));
    {
        let (stderr, logs) = (relay.stderr.take().context("stderr")?, logs.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().unwrap().push_str(&line);
                logs.lock().unwrap().push('\n');
            }
        });
    }
    let mut stdout = BufReader::new(relay.stdout.take().context("stdout")?).lines();
    let relay = KillOnDrop(relay);
    let http_url = stdout
        .next()
        .context("first line")??
        .trim_start_matches("anchordesk-relay listening on ")
        .to_owned();
    let rtmp_line = stdout.next().context("second line")??;
    let rtmp_url = rtmp_line
        .strip_prefix("anchordesk-relay RTMP ingest on ")
        .and_then(|l| l.split('/').take(4).collect::<Vec<_>>().join("/").into())
        .context("RTMP line")?;
    assert!(
        rtmp_url.starts_with("rtmp://127.0.0.1:") && rtmp_url.ends_with("/live"),
        "{rtmp_url}"
    );

    // A wrong key: ffmpeg is refused, and the log says which stream.
    let mut refused = ffmpeg_rtmp_push(&format!("{rtmp_url}/demo?key=0000"), (640, 360), 5)?;
    let status = tokio::task::spawn_blocking(move || refused.0.wait()).await??;
    assert!(!status.success(), "ffmpeg with a wrong key succeeded");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !logs.lock().unwrap().contains("RTMP publish refused")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refusal = logs
        .lock()
        .unwrap()
        .lines()
        .find(|l| l.contains("RTMP publish refused"))
        .map(str::to_owned)
        .with_context(|| format!("no refusal logged:\n{}", logs.lock().unwrap()))?;
    assert!(
        refusal.contains("demo") && refusal.contains("wrong key"),
        "{refusal}"
    );

    let _pusher = ffmpeg_rtmp_push(&format!("{rtmp_url}/demo?key={key}"), (640, 360), 40)?;
    let http = reqwest::Client::new();
    let stats_url = format!("{http_url}/api/streams/demo/stats");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let stats: Value = http.get(&stats_url).send().await?.json().await?;
        if stats["video"]["packets"].as_u64().unwrap_or(0) > 30 && !stats["audio"].is_null() {
            assert_eq!(stats["video"]["width"], 640, "{stats}");
            assert_eq!(
                stats["audio"]["codec"]
                    .as_str()
                    .map(str::to_ascii_lowercase)
                    .as_deref(),
                Some("audio/opus")
            );
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "no RTMP media: {stats}\n{}",
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The studio's stats dock reads the stream's figures from the live's feed (staff only).
    let login: Value = http
        .post(format!("{http_url}/api/auth/login"))
        .json(&serde_json::json!({ "username": "boss", "password": "boss-password" }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().context("token")?.to_owned();
    let live: Value = http
        .post(format!("{http_url}/api/lives"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "title": "RTMP 测试", "stream_name": "demo" }))
        .send()
        .await?
        .json()
        .await?;
    let events_url = format!("{http_url}/api/lives/{}/events?after=0", live["id"]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let stats_event = loop {
        let page: Value = http
            .get(&events_url)
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let found = page.as_array().and_then(|events| {
            events
                .iter()
                .rev()
                .find(|e| e["kind"] == "stream.stats")
                .cloned()
        });
        if let Some(event) = found {
            break event;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "no stream.stats event: {page}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(stats_event["audience"], "staff", "{stats_event}");
    assert_eq!(stats_event["payload"]["stream"], "demo");
    assert_eq!(stats_event["payload"]["publishing"], true);
    assert!(
        stats_event["payload"]["video"]["bitrate_bps"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{stats_event}"
    );
    let public: Value = http.get(&events_url).send().await?.json().await?;
    assert!(
        !public.to_string().contains("stream.stats"),
        "viewers must not get stream stats"
    );

    let mut player = WhepPlayer::join(
        &http,
        &http_url,
        "demo",
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        true,
    )
    .await?;
    let frames = player
        .receive_frames(60, Duration::from_secs(20))
        .await?
        .clone();
    assert!(frames.frames >= 60, "{frames:?}");
    assert!(
        frames.first_frame_nal_types.contains(&5),
        "starts at a keyframe: {frames:?}"
    );
    player.leave(&http).await?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let response = http
            .get(format!("{http_url}/hls/demo/index.m3u8"))
            .send()
            .await?;
        if response.status().is_success() && response.text().await?.matches("#EXTINF").count() >= 2
        {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "no HLS segments from RTMP"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(relay);
    Ok(())
}
