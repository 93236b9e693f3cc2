//! The adaptive-bitrate harness shared by the `abr` benchmark and its short CI tests: the
//! studio engine publishes over WHIP or RTMP through a [`ShapedLink`] whose rate follows a schedule,
//! while a WHEP viewer of the relay counts complete pictures. Every 100 ms it records GCC's
//! estimate, the encoder's target and output, what crossed the bottleneck, and what the viewer
//! received; [`score`] turns that into time to adapt, time back to 85 % of the link, and freezes.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anchordesk_pipelines::engine::{AudioInput, AudioSource, Engine, EngineConfig};
use anchordesk_pipelines::outputs::{
    BitrateRange, OutputKind, OutputSpec, OutputState, RateControl, SendRateControl,
};
use anchordesk_pipelines::scene::{Canvas, SceneCollection};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use crate::media::WhepPlayer;
use crate::netns::{self, ShapedLink};

pub const TICK: Duration = Duration::from_millis(100);
/// A picture that stays longer than this is a freeze.
const FREEZE: Duration = Duration::from_millis(500);
/// Share of the link the sender should be back to after recovery.
const RECOVERED: f64 = 0.85;

/// Link rate over time: (seconds, kbit/s). The full one is the benchmark's; the short one
/// runs in CI.
pub fn schedule(full: bool) -> Vec<(u64, u32)> {
    if full {
        vec![(20, 6_000), (20, 1_500), (30, 6_000)]
    } else {
        vec![(10, 6_000), (15, 1_500), (15, 6_000)]
    }
}

/// What publishes and how it adapts: WHIP with its controller, or RTMP into the relay's
/// ingest with the shared encoder following one of the send-path rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Whip(RateControl),
    Rtmp(SendRateControl),
}

impl Controller {
    /// `gcc`, `gcc_probe`, `rtmp_throughput`, `rtmp_obs_like`, `rtmp_fixed`.
    pub fn parse(name: &str) -> Result<Self> {
        let rule = |text: &str| serde_json::Value::String(text.to_owned());
        if let Some(rest) = name.strip_prefix("rtmp_") {
            return serde_json::from_value(rule(rest))
                .map(Self::Rtmp)
                .with_context(|| {
                    format!("{name}: expected rtmp_throughput, rtmp_obs_like or rtmp_fixed")
                });
        }
        serde_json::from_value(rule(name))
            .map(Self::Whip)
            .with_context(|| format!("{name}: expected gcc, gcc_probe or rtmp_…"))
    }

    pub fn name(&self) -> String {
        let text = |v: serde_json::Result<Value>| {
            v.ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        match self {
            Self::Whip(c) => text(serde_json::to_value(c)),
            Self::Rtmp(c) => format!("rtmp_{}", text(serde_json::to_value(c))),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Tick {
    pub at_s: f64,
    pub link_kbps: u32,
    pub estimate_kbps: u32,
    pub target_kbps: u32,
    pub encoded_kbps: f64,
    pub sent_kbps: f64,
    pub dropped_packets: u64,
    pub received_kbps: f64,
    pub receiver_fps: f64,
}

/// What the viewer got: arrival time and size of each complete picture.
type Arrivals = Arc<Mutex<Vec<(Instant, usize)>>>;

async fn watch(
    http: reqwest::Client,
    base: String,
    until: tokio::time::Instant,
    arrivals: Arrivals,
) -> Result<()> {
    let ip: IpAddr = netns::VETH_A.parse()?;
    let mut player = WhepPlayer::join(&http, &base, "abr", ip, false).await?;
    while let Some(frame) = player.next_frame(until).await? {
        arrivals
            .lock()
            .expect("not poisoned")
            .push((Instant::now(), frame.len()));
    }
    player.leave(&http).await?;
    Ok(())
}

/// The shared encoder's bitrate for RTMP runs: the user's setting, and so the ceiling. Below
/// the 6 Mbit/s link, as a streamer would set it, leaving room for audio and headers.
const RTMP_MAX_KBPS: u32 = 5_500;

/// Where the relay behind the link takes streams.
pub struct Relay<'a> {
    pub http: &'a str,
    /// `rtmp://host:port/live`
    pub rtmp: &'a str,
    /// The publish key of stream `abr`.
    pub key: &'a str,
}

/// One publish through `link` following `phases`, scored.
pub async fn run(
    controller: Controller,
    phases: &[(u64, u32)],
    link: &ShapedLink,
    relay: &Relay<'_>,
) -> Result<Value> {
    link.set_rate(phases[0].1)?;
    let engine = Engine::start(EngineConfig {
        scenes: SceneCollection::test_pattern(Canvas {
            width: 1280,
            height: 720,
            fps: 30,
        }),
        encoder: Default::default(),
        video_bitrate_kbps: RTMP_MAX_KBPS,
        audio: vec![AudioInput::new(
            "tone",
            AudioSource::Tone { frequency: 440.0 },
        )],
    })?;
    let base = relay.http;
    engine.start_output(OutputSpec {
        id: "relay".into(),
        kind: match controller {
            Controller::Whip(rate_control) => OutputKind::Whip {
                url: format!("{base}/whip/abr"),
                key: relay.key.to_owned(),
                bitrate: BitrateRange {
                    start_kbps: 2_000,
                    min_kbps: 300,
                    max_kbps: 6_000,
                },
                stun_server: None,
                rate_control,
                mitigation: Default::default(),
                encoding: Default::default(),
            },
            Controller::Rtmp(rate_control) => OutputKind::Rtmp {
                url: format!("{}/abr?key={}", relay.rtmp, relay.key),
                rate_control,
            },
        },
        canvas: Default::default(),
    })?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let live = engine
            .output_stats()
            .iter()
            .any(|o| o.id == "relay" && o.state == OutputState::Live);
        if live {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "WHIP never went live: {:?}",
            engine.output_stats()
        );
        tokio::time::sleep(TICK).await;
    }

    let total: u64 = phases.iter().map(|p| p.0).sum();
    let start = Instant::now();
    let until = tokio::time::Instant::from_std(start + Duration::from_secs(total));
    let arrivals: Arrivals = Arc::default();
    let viewer = tokio::spawn(watch(
        reqwest::Client::new(),
        relay.http.to_owned(),
        until,
        arrivals.clone(),
    ));

    let mut ticks = Vec::new();
    let mut phase_end = Duration::from_secs(phases[0].0);
    let mut phase = 0;
    let mut last = (Instant::now(), link.counters()?, 0usize);
    let mut next = Instant::now() + TICK;
    while Instant::now() < start + Duration::from_secs(total) {
        tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
        next += TICK;
        if start.elapsed() >= phase_end && phase + 1 < phases.len() {
            phase += 1;
            phase_end += Duration::from_secs(phases[phase].0);
            link.set_rate(phases[phase].1)?;
        }
        let now = Instant::now();
        let counters = link.counters()?;
        let secs = now.duration_since(last.0).as_secs_f64();
        let output = engine
            .output_stats()
            .into_iter()
            .find(|o| o.id == "relay")
            .context("output gone")?;
        let (received_bytes, frames) = {
            let got = arrivals.lock().expect("not poisoned");
            let fresh = &got[last.2.min(got.len())..];
            (fresh.iter().map(|a| a.1).sum::<usize>(), got.len())
        };
        ticks.push(Tick {
            at_s: start.elapsed().as_secs_f64(),
            link_kbps: phases[phase].1,
            estimate_kbps: output.estimate_kbps.unwrap_or(0),
            target_kbps: output.target_kbps,
            encoded_kbps: output.measured_kbps,
            sent_kbps: counters.0.saturating_sub(last.1.0) as f64 * 8.0 / 1000.0 / secs,
            dropped_packets: counters.1.saturating_sub(last.1.1),
            received_kbps: received_bytes as f64 * 8.0 / 1000.0 / secs,
            receiver_fps: (frames - last.2.min(frames)) as f64 / secs,
        });
        last = (now, counters, frames);
    }
    viewer.await??;
    let steps = engine
        .output_stats()
        .into_iter()
        .find(|o| o.id == "relay")
        .map(|o| o.rate_steps)
        .unwrap_or_default();
    engine.shutdown();

    let arrivals = arrivals.lock().expect("not poisoned").clone();
    let mut result = score(controller, phases, &ticks, &arrivals, start);
    result["last_rate_steps"] = serde_json::to_value(steps)?;
    Ok(result)
}

/// Seconds from `from` to the end of the first 1 s window at or after it where `ok` holds.
fn time_until(ticks: &[Tick], from: f64, ok: impl Fn(&[Tick]) -> bool) -> Option<f64> {
    time_until_held(ticks, from, 1, ok)
}

/// The same, for a window followed by `seconds - 1` more where `ok` holds too. Recovery is
/// measured so: over RTMP the backlog of the low phase leaves in one burst when the link comes
/// back, which fills a single second without the sender having recovered.
fn time_until_held(
    ticks: &[Tick],
    from: f64,
    seconds: usize,
    ok: impl Fn(&[Tick]) -> bool,
) -> Option<f64> {
    let window = (Duration::from_secs(1).as_millis() / TICK.as_millis()) as usize;
    (0..ticks.len())
        .filter(|&i| ticks[i].at_s >= from)
        .find(|&i| {
            (0..seconds).all(|k| {
                let start = i + k * window;
                ticks.get(start..start + window).is_some_and(&ok)
            })
        })
        .map(|i| ticks[i + window - 1].at_s - from)
}

/// Recovery must hold this many seconds in a row.
const HELD_S: usize = 3;

fn mean(ticks: &[Tick], f: impl Fn(&Tick) -> f64) -> f64 {
    ticks.iter().map(f).sum::<f64>() / ticks.len().max(1) as f64
}

/// The figures of one run (see the module docs), with its ticks.
pub fn score(
    controller: Controller,
    phases: &[(u64, u32)],
    ticks: &[Tick],
    arrivals: &[(Instant, usize)],
    start: Instant,
) -> Value {
    let drop_at = phases[0].0 as f64;
    let recover_at = (phases[0].0 + phases[1].0) as f64;
    let (low, high) = (f64::from(phases[1].1), f64::from(phases[2].1));
    // GCC's estimate is read every tick, the encoder's target only once a second; on RTMP the
    // estimate is the measured throughput, which is below the link by definition.
    let adapted = time_until(ticks, drop_at, |w| match controller {
        Controller::Whip(_) => mean(w, |t| f64::from(t.estimate_kbps)) <= low,
        Controller::Rtmp(_) => mean(w, |t| f64::from(t.target_kbps)) <= low,
    });
    let recovered_sent = time_until_held(ticks, recover_at, HELD_S, |w| {
        mean(w, |t| t.received_kbps) >= RECOVERED * high
    });
    // Everything the publisher put through the link: video, audio, RTP/SRTP headers, RTX.
    let recovered_link = time_until_held(ticks, recover_at, HELD_S, |w| {
        mean(w, |t| t.sent_kbps) >= RECOVERED * high
    });
    let recovered_estimate = time_until_held(ticks, recover_at, HELD_S, |w| {
        mean(w, |t| f64::from(t.estimate_kbps)) >= RECOVERED * high
    });
    let freezes: Vec<Value> = arrivals
        .windows(2)
        .filter(|p| p[1].0.duration_since(p[0].0) > FREEZE)
        .map(|p| {
            json!({
                "at_s": p[0].0.duration_since(start).as_secs_f64(),
                "ms": p[1].0.duration_since(p[0].0).as_secs_f64() * 1000.0,
            })
        })
        .collect();
    let longest_ms = arrivals
        .windows(2)
        .map(|p| p[1].0.duration_since(p[0].0).as_secs_f64() * 1000.0)
        .fold(0.0, f64::max);
    let during = |from: f64, to: f64| -> Vec<Tick> {
        ticks
            .iter()
            .filter(|t| t.at_s >= from && t.at_s < to)
            .copied()
            .collect()
    };
    let settled_low = during(recover_at - 10.0, recover_at);
    let settled_high = during(ticks.last().map_or(0.0, |t| t.at_s) - 10.0, f64::MAX);
    json!({
        "controller": controller.name(),
        "schedule_s_kbps": phases,
        "time_to_adapt_s": adapted,
        "recovery_rule": "seconds from the step up to the end of the first 1 s window whose mean is ≥ 85 % of the link, followed by 2 more such windows",
        "time_to_85_percent_received_s": recovered_sent,
        "time_to_85_percent_link_use_s": recovered_link,
        "time_to_85_percent_estimate_s": recovered_estimate,
        "freezes_over_500ms": freezes,
        "longest_gap_ms": longest_ms,
        "frames_received": arrivals.len(),
        "last_10s_of_low_phase": {
            "received_kbps": mean(&settled_low, |t| t.received_kbps),
            "receiver_fps": mean(&settled_low, |t| t.receiver_fps),
            "dropped_at_bottleneck": settled_low.iter().map(|t| t.dropped_packets).sum::<u64>(),
        },
        "last_10s": {
            "received_kbps": mean(&settled_high, |t| t.received_kbps),
            "receiver_fps": mean(&settled_high, |t| t.receiver_fps),
        },
        "ticks": ticks.iter().map(|t| json!([
            (t.at_s * 10.0).round() / 10.0, t.link_kbps, t.estimate_kbps, t.target_kbps, t.encoded_kbps.round(),
            t.sent_kbps.round(), t.dropped_packets, t.received_kbps.round(), t.receiver_fps.round()
        ])).collect::<Vec<_>>(),
        "tick_columns": ["s", "link kbit/s", "estimate kbit/s (GCC on WHIP; throughput on RTMP)", "encoder target kbit/s", "encoded kbit/s", "through bottleneck kbit/s",
            "bottleneck drops (packets)", "received kbit/s (video payload)", "receiver fps"],
    })
}

/// A shaped link with the relay behind it and a stream `abr` to publish to.
pub struct Rig {
    pub link: ShapedLink,
    pub relay: crate::RelayProcess,
    pub rtmp: String,
    pub key: String,
    /// A second stream (`abr2`) for runs that push two outputs at once.
    pub second_key: String,
    _data: tempfile::TempDir,
}

impl Rig {
    /// Call inside a network namespace; `relay` is the `anchordesk-relay` binary to run.
    pub async fn start(relay: &std::path::Path) -> Result<Self> {
        anchordesk_pipelines::init()?;
        let link = ShapedLink::create(6_000)?;
        let data = tempfile::tempdir()?;
        let key = crate::media::create_stream_with_cli(relay, data.path(), "abr")?;
        let second_key = crate::media::create_stream_with_cli(relay, data.path(), "abr2")?;
        let mut command = link.command(relay);
        // Only the veth address: a socket on the namespace's loopback, paired with the
        // viewer's veth candidate, fails every write ("Invalid argument") and once won ICE.
        command.env("ANCHORDESK_ICE_ADDRESSES", netns::VETH_B);
        let mut relay =
            crate::spawn_relay_with(command.into(), &format!("{}:0", netns::VETH_B), data.path())
                .await?;
        // "anchordesk-relay RTMP ingest on rtmp://…/live/<stream>?key=<key>"
        let line = relay.stdout.next_line().await?.unwrap_or_default();
        let rtmp = line
            .split_whitespace()
            .find_map(|w| w.strip_suffix("/<stream>?key=<key>"))
            .with_context(|| format!("no RTMP address in {line:?}"))?
            .to_owned();
        Ok(Self {
            link,
            relay,
            rtmp,
            key,
            second_key,
            _data: data,
        })
    }

    pub async fn run(&self, controller: Controller, phases: &[(u64, u32)]) -> Result<Value> {
        let relay = Relay {
            http: &self.relay.url,
            rtmp: &self.rtmp,
            key: &self.key,
        };
        run(controller, phases, &self.link, &relay).await
    }
}
