//! The studio engine's outputs against the real relay: WHIP with GCC (in a network namespace:
//! libnice offers no loopback candidates), RTMP into the relay's RTMP ingest, a recording
//! alongside, reconnects after the relay restarts, and a bad URL that leaves the rest alone.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anchordesk_e2e::media::WhepPlayer;
use anchordesk_e2e::netns::{self, VETH_B};
use anchordesk_pipelines::engine::{AudioInput, AudioSource, Engine, EngineConfig};
use anchordesk_pipelines::outputs::{
    BitrateRange, OutputKind, OutputSpec, OutputState, OutputStats, RecordFormat, WhipEncoding,
    check_playable,
};
use anchordesk_pipelines::scene::CanvasId;
use anchordesk_pipelines::scene::{Canvas, SceneCollection};
use anyhow::{Context, Result, ensure};
use serde_json::Value;

fn engine() -> Result<Engine> {
    Ok(Engine::start(EngineConfig {
        scenes: SceneCollection::test_pattern(Canvas {
            width: 1280,
            height: 720,
            fps: 30,
        }),
        encoder: Default::default(),
        video_bitrate_kbps: 1500,
        audio: vec![AudioInput::new(
            "tone",
            AudioSource::Tone { frequency: 440.0 },
        )],
    })?)
}

fn output(engine: &Engine, id: &str) -> Option<OutputStats> {
    engine.output_stats().into_iter().find(|o| o.id == id)
}

/// Polls until `ok` holds for the output's stats; returns them and how long it took.
async fn wait_output(
    engine: &Engine,
    id: &str,
    within: Duration,
    ok: impl Fn(&OutputStats) -> bool,
) -> Result<(OutputStats, Duration)> {
    let started = Instant::now();
    loop {
        let stats = output(engine, id).context("output gone")?;
        if ok(&stats) {
            return Ok((stats, started.elapsed()));
        }
        ensure!(
            started.elapsed() < within,
            "output {id} after {within:?}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// WHIP to stream `demo` of the relay at `base`, GCC from 600 kbit/s (300–4000).
fn whip_to_demo(base: &str, key: &str, encoding: WhipEncoding) -> OutputSpec {
    OutputSpec {
        id: "relay".into(),
        kind: OutputKind::Whip {
            url: format!("{base}/whip/demo"),
            key: key.to_owned(),
            bitrate: BitrateRange {
                start_kbps: 600,
                min_kbps: 300,
                max_kbps: 4000,
            },
            stun_server: None,
            rate_control: Default::default(),
            mitigation: Default::default(),
            encoding,
        },
        canvas: Default::default(),
    }
}

fn mkv_recording(path: &std::path::Path) -> OutputSpec {
    OutputSpec {
        id: "record".into(),
        kind: OutputKind::Record {
            path: path.to_owned(),
            format: RecordFormat::Mkv,
        },
        canvas: Default::default(),
    }
}

/// The relay's media stats of stream `demo`.
async fn demo_stats(http: &reqwest::Client, base: &str) -> Result<Value> {
    Ok(http
        .get(format!("{base}/api/streams/demo/stats"))
        .send()
        .await?
        .json()
        .await?)
}

async fn relay_at(
    dir: &std::path::Path,
    listen: SocketAddr,
    rtmp: bool,
) -> Result<anchordesk_relay::RunningRelay> {
    let mut config = anchordesk_relay::Config::bundled(dir.into());
    config.listen = listen;
    if rtmp {
        config.rtmp_listen = Some("127.0.0.1:0".parse()?);
    }
    Ok(anchordesk_relay::start(&config).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_publishes_whip_with_gcc_and_comes_back_after_a_relay_restart() -> Result<()> {
    if !netns::isolate("engine_publishes_whip_with_gcc_and_comes_back_after_a_relay_restart") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let listen: SocketAddr = format!("127.0.0.1:{}", anchordesk_e2e::free_port()).parse()?;
    let relay = relay_at(dir.path(), listen, false).await?;
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo").await?;
    let base = relay.url();

    let engine = engine()?;
    engine.start_output(whip_to_demo(&base, &key, WhipEncoding::Own))?;
    let (_, took) = wait_output(&engine, "relay", Duration::from_secs(15), |o| {
        o.state == OutputState::Live
    })
    .await?;
    println!("WHIP live after {took:?}");

    let http = reqwest::Client::new();
    let player_ip: IpAddr = VETH_B.parse()?;
    let mut player = WhepPlayer::join(&http, &base, "demo", player_ip, true).await?;
    let frames = player
        .receive_frames(30, Duration::from_secs(15))
        .await?
        .clone();
    ensure!(frames.frames >= 30, "{frames:?}");
    let stats = demo_stats(&http, &base).await?;
    // whipclientsink scales the picture down while GCC's target is low (640×360 at 600
    // kbit/s) and back up as it rises.
    let width = stats["video"]["width"].as_u64().unwrap_or(0);
    ensure!((640..=1280).contains(&width), "{stats}");

    // GCC moves the encoder's target as TWCC feedback comes in.
    let mut targets = std::collections::BTreeSet::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) && targets.len() < 3 {
        if let Some(o) = output(&engine, "relay")
            && o.target_kbps > 0
        {
            targets.insert(o.target_kbps);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(targets.len() >= 2, "GCC target never changed: {targets:?}");
    let live = output(&engine, "relay").context("stats")?;
    println!("targets {targets:?}, now {live:?}");
    ensure!(live.measured_kbps > 50.0, "{live:?}");
    ensure!(live.rtt_ms.is_some(), "no RTT: {live:?}");
    drop(player);

    // The relay goes away for 5 s and comes back on the same address with the same data.
    relay.shutdown().await?;
    wait_output(&engine, "relay", Duration::from_secs(8), |o| {
        matches!(o.state, OutputState::Reconnecting { .. })
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let relay = relay_at(dir.path(), listen, false).await?;
    let (back, took) = wait_output(&engine, "relay", Duration::from_secs(10), |o| {
        o.state == OutputState::Live
    })
    .await?;
    println!("WHIP live again {took:?} after the relay restarted: {back:?}");
    ensure!(took <= Duration::from_secs(3), "took {took:?} to come back");
    ensure!(back.reconnects >= 1, "{back:?}");
    let mut player = WhepPlayer::join(&http, &relay.url(), "demo", player_ip, true).await?;
    player.receive_frames(10, Duration::from_secs(10)).await?;
    engine.stop_output("relay")?;
    engine.shutdown();
    relay.shutdown().await?;
    Ok(())
}

/// WHIP started while a recording runs takes the engine's encoder (one encode for both): the
/// relay gets the full picture, GCC's estimate limits that encoder (so the recording's
/// bitrate follows the link too), a viewer who joins late gets a picture at once, and the
/// limit goes when WHIP stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_beside_a_recording_shares_its_encoder_and_drives_its_bitrate() -> Result<()> {
    if !netns::isolate("whip_beside_a_recording_shares_its_encoder_and_drives_its_bitrate") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let relay = relay_at(dir.path(), "127.0.0.1:0".parse()?, false).await?;
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo").await?;
    let base = relay.url();
    let recording = dir.path().join("shared.mkv");

    let engine = engine()?;
    ensure!(engine.whip_encoding_for(CanvasId::First) == WhipEncoding::Own);
    engine.start_output(mkv_recording(&recording))?;
    let encoding = engine.whip_encoding_for(CanvasId::First);
    ensure!(encoding == WhipEncoding::Shared, "{encoding:?}");
    ensure!(engine.whip_encoding_for(CanvasId::Second) == WhipEncoding::Own);
    engine.start_output(whip_to_demo(&base, &key, encoding))?;
    wait_output(&engine, "relay", Duration::from_secs(15), |o| {
        o.state == OutputState::Live
    })
    .await?;

    // GCC starts at 600 kbit/s: the shared encoder (the recording's target) follows it.
    let (record, took) = wait_output(&engine, "record", Duration::from_secs(5), |o| {
        o.target_kbps > 0 && o.target_kbps < 1500
    })
    .await?;
    println!("the shared encoder follows GCC after {took:?}: {record:?}");

    let http = reqwest::Client::new();
    let player_ip: IpAddr = VETH_B.parse()?;
    let asked = Instant::now();
    let mut player = WhepPlayer::join(&http, &base, "demo", player_ip, true).await?;
    let frames = player
        .receive_frames(30, Duration::from_secs(15))
        .await?
        .clone();
    println!("late viewer: 30 frames {:?} after asking", asked.elapsed());
    ensure!(frames.frames >= 30, "{frames:?}");
    let stats = demo_stats(&http, &base).await?;
    // No picture steps on a shared encoder: the relay gets the canvas as recorded.
    ensure!(stats["video"]["width"].as_u64() == Some(1280), "{stats}");
    let live = output(&engine, "relay").context("stats")?;
    ensure!(live.measured_kbps > 100.0, "{live:?}");
    ensure!(live.fps > 20.0, "{live:?}");
    drop(player);

    engine.stop_output("relay")?;
    let (record, _) = wait_output(&engine, "record", Duration::from_secs(5), |o| {
        o.target_kbps == 1500
    })
    .await?;
    println!("WHIP gone, the encoder back at its own bitrate: {record:?}");
    engine.stop_output("record")?;
    engine.shutdown();
    let played = check_playable(&recording).map_err(anyhow::Error::msg)?;
    println!("recording: {played:?}");
    ensure!(
        played.video && played.audio && played.duration >= Duration::from_secs(2),
        "{played:?}"
    );
    relay.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_into_the_relay_plays_as_hls_while_recording_and_a_bad_url_disturbs_neither()
-> Result<()> {
    // The relay's warnings (a packaging pipeline that stops, a publish that ends) go to this
    // test's output, so a failure says why.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn,anchordesk_relay=info")
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir()?;
    let relay = relay_at(dir.path(), "127.0.0.1:0".parse()?, true).await?;
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo").await?;
    let rtmp = relay.rtmp_url().context("rtmp on")?;
    let recording = dir.path().join("studio.mkv");

    let engine = engine()?;
    engine.start_output(OutputSpec {
        id: "relay".into(),
        kind: OutputKind::Rtmp {
            url: format!("{rtmp}/demo?key={key}"),
            rate_control: Default::default(),
        },
        canvas: Default::default(),
    })?;
    engine.start_output(mkv_recording(&recording))?;
    // Nobody listens on port 9: this platform output keeps retrying on its own.
    engine.start_output(OutputSpec {
        id: "platform".into(),
        kind: OutputKind::Rtmp {
            url: "rtmp://127.0.0.1:9/live/key".into(),
            rate_control: Default::default(),
        },
        canvas: Default::default(),
    })?;
    assert!(
        engine
            .start_output(OutputSpec {
                id: "bad".into(),
                kind: OutputKind::Srt {
                    url: "udp://nowhere".into(),
                    rate_control: Default::default(),
                },
                canvas: Default::default(),
            })
            .unwrap_err()
            .to_string()
            .starts_with("srt.url")
    );

    wait_output(&engine, "relay", Duration::from_secs(15), |o| {
        o.state == OutputState::Live
    })
    .await?;
    wait_output(&engine, "record", Duration::from_secs(5), |o| {
        o.state == OutputState::Live
    })
    .await?;
    let (platform, _) = wait_output(
        &engine,
        "platform",
        Duration::from_secs(10),
        |o| matches!(o.state, OutputState::Reconnecting { attempt, .. } if attempt >= 2),
    )
    .await?;
    println!("platform output: {platform:?}");

    // The relay turns the RTMP push into HLS; gst-discoverer recognises the stream there.
    let http = reqwest::Client::new();
    let playlist = format!("{}/hls/demo/index.m3u8", relay.url());
    // The first playlist is written when the first 2 s segment closes; on a CI machine
    // running three engines on two cores that has taken longer than 20 s.
    let deadline = Instant::now() + Duration::from_secs(45);
    while !http.get(&playlist).send().await?.status().is_success() {
        if Instant::now() > deadline {
            let files: Vec<String> = std::fs::read_dir(dir.path().join("hls/demo"))
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            anyhow::bail!(
                "no HLS playlist after 45 s; hls/demo holds {files:?}; relay output {:?}",
                output(&engine, "relay")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let found = tokio::task::spawn_blocking(move || {
        std::process::Command::new("gst-discoverer-1.0")
            .arg(&playlist)
            .output()
    })
    .await??;
    let found = String::from_utf8_lossy(&found.stdout).to_string();
    ensure!(found.contains("H.264"), "discoverer on HLS:\n{found}");
    let (relay_out, _) = wait_output(&engine, "relay", Duration::from_secs(1), |o| {
        o.state == OutputState::Live
    })
    .await?;
    // The server's acknowledgements are counted (TCP_INFO of rtmp2sink's socket), and the
    // platform output that never connects has not pulled the shared encoder down.
    ensure!(
        relay_out.measured_kbps > 100.0
            && relay_out.target_kbps == 1500
            && relay_out.estimate_kbps.is_some_and(|kbps| kbps > 100),
        "{relay_out:?}"
    );

    engine.shutdown();
    let found = std::process::Command::new("gst-discoverer-1.0")
        .arg(&recording)
        .output()?;
    let found = String::from_utf8_lossy(&found.stdout).to_string();
    ensure!(
        found.contains("H.264") && found.to_lowercase().contains("aac"),
        "recording:\n{found}"
    );
    relay.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srt_output_reaches_a_listener_and_reconnects_when_it_returns() -> Result<()> {
    use gstreamer::prelude::*;
    let port = anchordesk_e2e::free_udp_port();
    // A real SRT listener (GStreamer's srtsrc) that demuxes the MPEG-TS and counts H.264.
    let listen = |port: u16| -> Result<(
        gstreamer::Pipeline,
        std::sync::Arc<std::sync::atomic::AtomicU64>,
    )> {
        gstreamer::init()?;
        let pipeline = gstreamer::parse::launch(&format!(
            "srtsrc uri=srt://127.0.0.1:{port}?mode=listener ! tsdemux ! h264parse name=parse ! fakesink sync=false"
        ))?
        .downcast::<gstreamer::Pipeline>()
        .map_err(|_| anyhow::anyhow!("pipeline"))?;
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = count.clone();
        pipeline
            .by_name("parse")
            .and_then(|p| p.static_pad("src"))
            .context("parse src")?
            .add_probe(gstreamer::PadProbeType::BUFFER, move |_, _| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                gstreamer::PadProbeReturn::Ok
            });
        pipeline.set_state(gstreamer::State::Playing)?;
        Ok((pipeline, count))
    };
    let (listener, frames) = listen(port)?;
    let engine = engine()?;
    engine.start_output(OutputSpec {
        id: "srt".into(),
        kind: OutputKind::Srt {
            url: format!("srt://127.0.0.1:{port}"),
            rate_control: Default::default(),
        },
        canvas: Default::default(),
    })?;
    wait_output(&engine, "srt", Duration::from_secs(10), |o| {
        o.state == OutputState::Live
    })
    .await?;
    // The bitrate control reads what libsrt delivered (sent less retransmitted).
    wait_output(&engine, "srt", Duration::from_secs(5), |o| {
        o.estimate_kbps.is_some_and(|kbps| kbps > 100)
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames.load(std::sync::atomic::Ordering::Relaxed) < 30 {
        ensure!(Instant::now() < deadline, "listener got {frames:?} frames");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    listener.set_state(gstreamer::State::Null)?;
    wait_output(&engine, "srt", Duration::from_secs(15), |o| {
        matches!(o.state, OutputState::Reconnecting { .. })
    })
    .await?;
    let (_listener, frames) = listen(port)?;
    let (_, took) = wait_output(&engine, "srt", Duration::from_secs(10), |o| {
        o.state == OutputState::Live
    })
    .await?;
    println!("SRT live again {took:?} after the listener returned");
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames.load(std::sync::atomic::Ordering::Relaxed) < 30 {
        ensure!(
            Instant::now() < deadline,
            "second listener got {frames:?} frames"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.shutdown();
    Ok(())
}
