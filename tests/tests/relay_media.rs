//! The relay's media side with real clients: GStreamer's whipclientsink publishing (GCC on),
//! webrtc-rs players over WHEP. WebRTC tests run in their own network namespace (see
//! `anchordesk_e2e::netns`): libnice offers no loopback candidates.

use std::net::IpAddr;
use std::time::Duration;

use anchordesk_e2e::media::{GstWhipPublisher, WhepPlayer};
use anchordesk_e2e::netns::{self, VETH_B};
use anchordesk_relay::RunningRelay;
use anyhow::{Context, Result, ensure};
use serde_json::Value;

struct Relay {
    relay: RunningRelay,
    base: String,
    key: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A relay on loopback HTTP (ICE on every interface) with stream `demo`.
async fn relay_with_stream() -> Result<Relay> {
    let dir = tempfile::tempdir()?;
    let relay =
        anchordesk_relay::start(&anchordesk_relay::Config::bundled(dir.path().into())).await?;
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo").await?;
    Ok(Relay {
        base: relay.url(),
        relay,
        key,
        http: reqwest::Client::new(),
        _dir: dir,
    })
}

impl Relay {
    async fn stats(&self) -> Result<Value> {
        let response = self
            .http
            .get(format!("{}/api/streams/demo/stats", self.base))
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "stats: {}",
            response.status()
        );
        Ok(response.json().await?)
    }

    /// Polls the stream's stats until `ok` holds (or fails after `within`).
    async fn wait_stats(&self, within: Duration, ok: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let stats = self.stats().await?;
            if ok(&stats) {
                return Ok(stats);
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "stats never matched; last: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn publisher(&self) -> Result<GstWhipPublisher> {
        GstWhipPublisher::start(&format!("{}/whip/demo", self.base), &self.key, 640, 360)
    }

    async fn wait_video(&self, publisher: &GstWhipPublisher) -> Result<Value> {
        self.wait_stats(Duration::from_secs(15), |s| {
            s["video"]["packets"].as_u64().unwrap_or(0) > 30
        })
        .await
        .with_context(|| format!("publisher error: {:?}", publisher.error()))
    }
}

fn player_ip() -> IpAddr {
    VETH_B.parse().expect("an IP")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whipclientsink_publishes_and_a_whep_player_receives_h264() -> Result<()> {
    if !netns::isolate("whipclientsink_publishes_and_a_whep_player_receives_h264") {
        return Ok(());
    }
    let relay = relay_with_stream().await?;
    let publisher = relay.publisher()?;
    let stats = relay.wait_video(&publisher).await?;
    assert_eq!(stats["publishing"], true);
    let codec = |kind: &str| {
        stats[kind]["codec"]
            .as_str()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    assert_eq!(codec("video"), "video/h264", "{stats}");
    assert_eq!(codec("audio"), "audio/opus", "{stats}");

    let mut player = WhepPlayer::join(&relay.http, &relay.base, "demo", player_ip(), true).await?;
    let frames = player
        .receive_frames(60, Duration::from_secs(20))
        .await?
        .clone();
    assert!(frames.frames >= 60, "{frames:?}");
    // The relay starts a joining player at a keyframe: SPS, then the IDR picture.
    assert!(
        frames.first_frame_nal_types.contains(&7) && frames.first_frame_nal_types.contains(&5),
        "first frame is not a keyframe: {frames:?}"
    );
    println!(
        "first frame after {:?}, {} frames, {} bytes",
        frames.first_frame_after, frames.frames, frames.bytes
    );

    let stats = relay
        .wait_stats(Duration::from_secs(5), |s| {
            s["video"]["fps"].as_f64().unwrap_or(0.0) > 0.0
        })
        .await?;
    assert_eq!(stats["viewers"], 1);
    assert_eq!(stats["video"]["width"], 640, "{stats}");
    assert_eq!(stats["video"]["height"], 360, "{stats}");
    assert!(
        stats["video"]["bitrate_bps"].as_u64().unwrap() > 50_000,
        "{stats}"
    );
    // ICE measures the round trip to the publisher every 2 s.
    let stats = relay
        .wait_stats(Duration::from_secs(6), |s| {
            s["rtt_ms"].as_f64().is_some_and(|rtt| rtt > 0.0)
        })
        .await?;
    assert!(stats["rtt_ms"].as_f64().unwrap() < 100.0, "{stats}");

    // GCC only moves its estimate when TWCC feedback comes back from the relay.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while publisher.estimate_changes() == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        publisher.estimate_changes() > 0,
        "the publisher's GCC never got TWCC feedback"
    );
    println!(
        "GCC estimate moved {} times, now {} bit/s",
        publisher.estimate_changes(),
        publisher.estimate_bps()
    );

    assert_eq!(player.leave(&relay.http).await?, reqwest::StatusCode::OK);
    relay
        .wait_stats(Duration::from_secs(5), |s| s["viewers"] == 0)
        .await?;

    // Stopping the pipeline sends WHIP DELETE: the stream is offline at once, not after a timeout.
    publisher.stop()?;
    relay
        .wait_stats(Duration::from_secs(3), |s| s["publishing"] == false)
        .await?;
    relay.relay.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_players_watch_one_stream_and_one_leaving_disturbs_none() -> Result<()> {
    if !netns::isolate("twenty_players_watch_one_stream_and_one_leaving_disturbs_none") {
        return Ok(());
    }
    let relay = relay_with_stream().await?;
    let publisher = relay.publisher()?;
    relay.wait_video(&publisher).await?;

    let mut players = Vec::new();
    for _ in 0..20 {
        players.push(WhepPlayer::join(&relay.http, &relay.base, "demo", player_ip(), false).await?);
    }
    assert_eq!(relay.stats().await?["viewers"], 20);
    for (i, player) in players.iter_mut().enumerate() {
        let frames = player.receive_frames(30, Duration::from_secs(20)).await?;
        assert!(frames.frames >= 30, "player {i}: {frames:?}");
    }
    let leaving = players.remove(7);
    assert_eq!(leaving.leave(&relay.http).await?, reqwest::StatusCode::OK);
    relay
        .wait_stats(Duration::from_secs(5), |s| s["viewers"] == 19)
        .await?;
    for (i, player) in players.iter_mut().enumerate() {
        let before = player.stats.frames;
        let frames = player.receive_frames(30, Duration::from_secs(10)).await?;
        assert!(
            frames.frames >= before + 30,
            "player {i} stalled after one left: {frames:?}"
        );
    }
    for player in players {
        player.leave(&relay.http).await?;
    }
    publisher.stop()?;
    relay.relay.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_are_told_when_the_publisher_leaves_and_can_rejoin() -> Result<()> {
    if !netns::isolate("players_are_told_when_the_publisher_leaves_and_can_rejoin") {
        return Ok(());
    }
    let relay = relay_with_stream().await?;
    let publisher = relay.publisher()?;
    relay.wait_video(&publisher).await?;
    let mut player = WhepPlayer::join(&relay.http, &relay.base, "demo", player_ip(), true).await?;
    player.receive_frames(10, Duration::from_secs(15)).await?;

    publisher.stop()?;
    // The relay closes the player's connection: its state leaves Connected.
    let state = &mut player.client.state;
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| *s != webrtc::peer_connection::RTCPeerConnectionState::Connected),
    )
    .await
    .context("the player was not told the publisher left")??;
    let offline = relay.stats().await?;
    assert_eq!(offline["publishing"], false);
    assert_eq!(offline["viewers"], 0);

    // Joining while offline: 503 with Retry-After, not a hang.
    let mut client = anchordesk_e2e::media::WebRtcClient::new(player_ip()).await?;
    client
        .add_transceiver(
            rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video,
            webrtc::rtp_transceiver::RTCRtpTransceiverDirection::Recvonly,
        )
        .await?;
    let offer = client.offer().await?;
    let response = relay
        .http
        .post(format!("{}/whep/demo", relay.base))
        .header("content-type", "application/sdp")
        .body(offer)
        .send()
        .await?;
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    client.close().await;

    // The publisher comes back; the player rejoins and gets pictures again.
    let publisher = relay.publisher()?;
    relay.wait_video(&publisher).await?;
    let mut player = WhepPlayer::join(&relay.http, &relay.base, "demo", player_ip(), true).await?;
    let frames = player.receive_frames(30, Duration::from_secs(15)).await?;
    assert!(frames.frames >= 30, "{frames:?}");
    player.leave(&relay.http).await?;
    publisher.stop()?;
    relay.relay.shutdown().await?;
    Ok(())
}
