//! Media across three relay processes on one PostgreSQL database: ffmpeg publishes over RTMP
//! to relay 1 (the origin); WHEP players (webrtc-rs) on relays 2 and 3 get the stream, which
//! those edges pull from the origin over WHEP; relay 3's HLS plays in ffprobe; a frozen edge
//! disturbs no other; `kill -9` of the origin ends the edges' viewers, and after the publisher
//! comes back on relay 2 the other edge pulls from there.
//!
//! Starts the throw-away PostgreSQL server of `scripts/test-postgres.sh` if it is not running.
//! Everything is on loopback: webrtc-rs (both relays and the players) offers loopback
//! candidates, and RTMP is TCP, so no network namespace is needed.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anchordesk_e2e::media::{WhepPlayer, ffmpeg_rtmp_push};
use anchordesk_e2e::{built_binary, ffprobe, workspace_root};
use anyhow::{Context, Result, bail, ensure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const STREAM: &str = "demo";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Relay {
    child: tokio::process::Child,
    url: String,
    rtmp: String,
    _dir: tempfile::TempDir,
}

impl Relay {
    async fn start(database_url: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(built_binary("anchordesk-relay"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env_remove("ANCHORDESK_CONFIG")
            .env_remove("ANCHORDESK_LISTEN")
            .env("ANCHORDESK_DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
        let url = lines
            .next_line()
            .await?
            .and_then(|l| {
                l.strip_prefix("anchordesk-relay listening on ")
                    .map(str::to_owned)
            })
            .context("no listening line")?;
        let rtmp = lines
            .next_line()
            .await?
            .and_then(|l| {
                l.strip_prefix("anchordesk-relay RTMP ingest on ")
                    .map(|u| u.split('/').take(4).collect::<Vec<_>>().join("/"))
            })
            .context("no RTMP line")?;
        // Keep reading stdout so the relay never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            url,
            rtmp,
            _dir: dir,
        })
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id().expect("running") as i32)
    }

    async fn stats(&self, http: &reqwest::Client) -> Result<Value> {
        Ok(http
            .get(format!("{}/api/streams/{STREAM}/stats", self.url))
            .send()
            .await?
            .json()
            .await?)
    }
}

/// Joins the stream on `relay` over WHEP, retrying while it answers 503 (not on air there
/// yet), until `within`.
async fn join(http: &reqwest::Client, relay: &str, within: Duration) -> Result<WhepPlayer> {
    let deadline = Instant::now() + within;
    loop {
        match WhepPlayer::join(http, relay, STREAM, LOOPBACK, true).await {
            Ok(player) => return Ok(player),
            Err(e) if Instant::now() < deadline => {
                tracing_free_log(&format!("join {relay}: {e:#}; retrying"));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e.context(format!("WHEP join on {relay}"))),
        }
    }
}

fn tracing_free_log(line: &str) {
    eprintln!("cluster media: {line}");
}

async fn postgres_database() -> Result<String> {
    let out = Command::new(workspace_root().join("scripts/test-postgres.sh"))
        .arg("start")
        .output()
        .context("scripts/test-postgres.sh start")?;
    ensure!(
        out.status.success(),
        "test PostgreSQL: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = String::from_utf8(out.stdout)?.trim().to_owned();
    Ok(anchordesk_relay::store::create_postgres_database(&server, "cluster_media").await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_pull_the_origins_stream_and_follow_it_to_a_new_origin() -> Result<()> {
    let database_url = postgres_database().await?;
    let (key, live_id) = {
        let store = anchordesk_relay::Store::connect_postgres(&database_url).await?;
        let (_, key) = anchordesk_relay::media::streams::create(&store, STREAM).await?;
        let live = anchordesk_relay::commerce::lives::create(
            &store,
            &anchordesk_relay::commerce::lives::NewLive {
                title: "边缘拉流".into(),
                stream_name: Some(STREAM.into()),
            },
        )
        .await?;
        store.close().await;
        (key, live.id)
    };
    let mut relays = Vec::new();
    for _ in 0..3 {
        relays.push(Relay::start(&database_url).await?);
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;

    // The publisher on relay 1: the origin.
    let _pusher = ffmpeg_rtmp_push(
        &format!("{}/{STREAM}?key={key}", relays[0].rtmp),
        (640, 360),
        120,
    )?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while relays[0].stats(&http).await?["video"]["packets"]
        .as_u64()
        .unwrap_or(0)
        < 30
    {
        ensure!(Instant::now() < deadline, "the origin never got video");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Viewers on both edges play it; each edge pulls once, whatever its number of viewers.
    let mut players = Vec::new();
    for (edge, viewers) in [(1, 2), (2, 1)] {
        for _ in 0..viewers {
            let mut player = join(&http, &relays[edge].url, Duration::from_secs(10)).await?;
            let frames = player
                .receive_frames(30, Duration::from_secs(15))
                .await?
                .clone();
            ensure!(frames.frames >= 30, "edge {edge}: {frames:?}");
            ensure!(
                frames.first_frame_nal_types.contains(&5),
                "edge {edge} started off a keyframe: {frames:?}"
            );
            tracing_free_log(&format!(
                "edge {edge}: first frame after {:?}",
                frames.first_frame_after
            ));
            players.push((edge, player));
        }
    }
    let origin_stats = relays[0].stats(&http).await?;
    ensure!(
        origin_stats["viewers"] == 2,
        "the origin serves one pull per edge, not one per viewer: {origin_stats}"
    );
    // Every relay's viewer page shows the live on air.
    for relay in &relays {
        let room: Value = http
            .get(format!("{}/api/lives/{live_id}/room", relay.url))
            .send()
            .await?
            .json()
            .await?;
        ensure!(room["on_air"] == true, "{}: {room}", relay.url);
    }

    // HLS from an edge, packaged from its pull, plays.
    let playlist = format!("{}/hls/{STREAM}/index.m3u8", relays[2].url);
    let deadline = Instant::now() + Duration::from_secs(20);
    let segment = loop {
        let response = http.get(&playlist).send().await?;
        let status = response.status();
        let text = response.text().await?;
        // A live playlist never ends: probe one whole segment of it.
        if let Some(name) = text.lines().find(|l| l.ends_with(".ts")) {
            break format!("{}/hls/{STREAM}/{name}", relays[2].url);
        }
        ensure!(
            Instant::now() < deadline,
            "edge HLS playlist: {status} {text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let streams = tokio::task::spawn_blocking(move || ffprobe::frames(&segment)).await??;
    ensure!(
        ffprobe::count(&streams, "h264") > 10,
        "edge HLS: {streams:?}"
    );
    ensure!(
        ffprobe::count(&streams, "aac") > 10,
        "edge HLS audio: {streams:?}"
    );

    // An edge frozen for 5 s disturbs neither the origin nor the other edge's viewers.
    kill(relays[1].pid(), Signal::SIGSTOP)?;
    let (_, watcher) = players
        .iter_mut()
        .find(|(edge, _)| *edge == 2)
        .context("a viewer on edge 2")?;
    let during = watcher
        .receive_frames(100, Duration::from_secs(8))
        .await?
        .clone();
    kill(relays[1].pid(), Signal::SIGCONT)?;
    ensure!(
        during.frames >= 130,
        "edge 2's viewer stalled while edge 1 was frozen: {during:?}"
    );

    // The origin dies (its publisher still pushing into the void): the edges notice within
    // 5 s and end their viewers.
    kill(relays[0].pid(), Signal::SIGKILL)?;
    let killed = Instant::now();
    drop(_pusher);
    for edge in [1, 2] {
        loop {
            let stats = relays[edge].stats(&http).await?;
            if stats["publishing"] == false && stats["viewers"] == 0 {
                break;
            }
            if killed.elapsed() > Duration::from_secs(6) {
                bail!("edge {edge} still plays a dead origin: {stats}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    tracing_free_log(&format!(
        "origin death noticed after {:?}",
        killed.elapsed()
    ));

    // The publisher comes back on relay 2; relay 3 pulls from it.
    let republished = Instant::now();
    let mut pusher = None;
    while republished.elapsed() < Duration::from_secs(15) {
        let child = ffmpeg_rtmp_push(
            &format!("{}/{STREAM}?key={key}", relays[1].rtmp),
            (640, 360),
            60,
        )?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if relays[1].stats(&http).await?["publishing"] == true {
            pusher = Some(child);
            break;
        }
    }
    let _pusher = pusher.context("the publisher never got back on relay 2")?;
    let mut player = join(&http, &relays[2].url, Duration::from_secs(5)).await?;
    let frames = player.receive_frames(30, Duration::from_secs(10)).await?;
    ensure!(
        frames.frames >= 30,
        "edge 3 after the new origin: {frames:?}"
    );
    tracing_free_log(&format!(
        "new origin: edge 3 plays {:?} after the republish",
        republished.elapsed()
    ));
    Ok(())
}
