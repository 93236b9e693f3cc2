//! Outputs: WHIP to the relay (whipclientsink with GCC), RTMP(S) and SRT to platforms, and local
//! recordings. Each runs in a pipeline of its own, fed from the engine's taps, supervised by a
//! thread that reconnects with backoff and reports its state.

mod attempt;
mod mitigation;
mod playable;
pub mod presets;
mod probe;
mod send_rate;
mod tcp_socket;
mod whip_rate;
mod whip_watch;

pub use mitigation::MitigationSteps;
pub use playable::{Playable, check_playable};
pub use probe::{RateControl, RateStep};
pub use send_rate::SendRateControl;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::tap::Taps;
use crate::lock;
use crate::scene::CanvasId;
use crate::{Error, Result};
use attempt::{Attempt, Health};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Names the output in stats and in stop requests (`relay`, `bilibili`, `record`).
    pub id: String,
    #[serde(flatten)]
    pub kind: OutputKind,
    /// The canvas it encodes: the first unless the scenes have a second and this names it.
    #[serde(default, skip_serializing_if = "is_first")]
    pub canvas: CanvasId,
}

fn is_first(canvas: &CanvasId) -> bool {
    *canvas == CanvasId::First
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputKind {
    /// WHIP (WebRTC) with GCC congestion control: the encoder follows the link.
    Whip {
        url: String,
        /// The stream's publish key, sent as the Bearer token.
        key: String,
        #[serde(default)]
        bitrate: BitrateRange,
        /// Off by default: the bundled relay is on the LAN or loopback.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stun_server: Option<String>,
        #[serde(default)]
        rate_control: RateControl,
        /// Resolution and frame-rate steps at low bitrates (own encoder only).
        #[serde(default)]
        mitigation: MitigationSteps,
        /// Whose encoder the picture comes from.
        #[serde(default)]
        encoding: WhipEncoding,
    },
    /// `rtmp://` or `rtmps://` URL including the stream key.
    Rtmp {
        url: String,
        /// How the shared encoder follows this connection's throughput.
        #[serde(default)]
        rate_control: SendRateControl,
    },
    /// `srt://host:port?streamid=…` (caller mode).
    Srt {
        url: String,
        #[serde(default)]
        rate_control: SendRateControl,
    },
    Record {
        path: PathBuf,
        #[serde(default)]
        format: RecordFormat,
    },
}

/// Where a WHIP output's H.264 comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhipEncoding {
    /// whipclientsink encodes the raw canvas itself: GCC sets that encoder's bitrate and the
    /// picture steps (lower resolution or frame rate) apply. Best when WHIP is the only output.
    #[default]
    Own,
    /// The engine's encoder, which RTMP, SRT and recording of the same canvas use too: one
    /// encode for all of them. GCC's estimate becomes this output's limit on that encoder
    /// (the lowest limit wins, as for RTMP), keyframe requests from the relay reach it, and
    /// there are no picture steps (a recording cannot change size mid-file).
    Shared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordFormat {
    /// Fragmented MP4: each second is a self-contained fragment, so a killed app leaves a
    /// playable file.
    #[default]
    Mp4,
    /// Matroska, also playable when cut off.
    Mkv,
    /// MP4 with its index at the front: what a web page's player (WebKit's, a browser's)
    /// reads by ranges, where a fragmented file fails. A recording cut off has no index, so
    /// only for short ones (the setup guide's test).
    Mp4Faststart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitrateRange {
    pub start_kbps: u32,
    pub min_kbps: u32,
    pub max_kbps: u32,
}

impl Default for BitrateRange {
    fn default() -> Self {
        Self {
            start_kbps: 2_000,
            min_kbps: 300,
            max_kbps: 6_000,
        }
    }
}

impl WhipEncoding {
    /// For a WHIP output of `canvas` beside `others`: the engine's encoder when one of them
    /// (RTMP, SRT, recording) encodes that canvas with it anyway, so it is encoded once.
    pub fn beside<'a>(others: impl IntoIterator<Item = &'a OutputSpec>, canvas: CanvasId) -> Self {
        let encoding = others
            .into_iter()
            .any(|o| o.canvas == canvas && !matches!(o.kind, OutputKind::Whip { .. }));
        if encoding { Self::Shared } else { Self::Own }
    }
}

/// Each WHIP output of `outputs` set by [`WhipEncoding::beside`] the others.
pub fn share_encoder_where_possible(outputs: &mut [OutputSpec]) {
    let chosen: Vec<Option<WhipEncoding>> = outputs
        .iter()
        .map(|o| {
            matches!(o.kind, OutputKind::Whip { .. })
                .then(|| WhipEncoding::beside(outputs.iter(), o.canvas))
        })
        .collect();
    for (output, chosen) in outputs.iter_mut().zip(chosen) {
        if let (OutputKind::Whip { encoding, .. }, Some(chosen)) = (&mut output.kind, chosen) {
            *encoding = chosen;
        }
    }
}

impl OutputSpec {
    pub fn validate(&self) -> Result<()> {
        let plain = self
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if self.id.is_empty() || self.id.len() > 64 || !plain {
            return Err(Error::Invalid(
                "output.id: must be 1–64 characters of letters, digits, '-' or '_'".into(),
            ));
        }
        let scheme = |url: &str, allowed: &[&str], field: &str| -> Result<()> {
            let ok = allowed.iter().any(|s| url.starts_with(s))
                && url.len() > url.find("://").map_or(0, |i| i + 3);
            if ok {
                Ok(())
            } else {
                Err(Error::Invalid(format!(
                    "{field}: '{url}' is not a {} URL",
                    allowed.join(" or ")
                )))
            }
        };
        match &self.kind {
            OutputKind::Whip {
                url, key, bitrate, ..
            } => {
                scheme(url, &["http://", "https://"], "whip.url")?;
                if key.is_empty() {
                    return Err(Error::Invalid(
                        "whip.key: the stream's publish key is needed".into(),
                    ));
                }
                if !(bitrate.min_kbps <= bitrate.start_kbps
                    && bitrate.start_kbps <= bitrate.max_kbps
                    && bitrate.min_kbps >= 50
                    && bitrate.max_kbps <= 50_000)
                {
                    return Err(Error::Invalid(
                        "whip.bitrate: need 50 ≤ min_kbps ≤ start_kbps ≤ max_kbps ≤ 50000".into(),
                    ));
                }
            }
            OutputKind::Rtmp { url, .. } => scheme(url, &["rtmp://", "rtmps://"], "rtmp.url")?,
            OutputKind::Srt { url, .. } => scheme(url, &["srt://"], "srt.url")?,
            OutputKind::Record { path, .. } => {
                if path.as_os_str().is_empty() {
                    return Err(Error::Invalid("record.path: must not be empty".into()));
                }
            }
        }
        Ok(())
    }

    fn kind_name(&self) -> &'static str {
        match self.kind {
            OutputKind::Whip { .. } => "whip",
            OutputKind::Rtmp { .. } => "rtmp",
            OutputKind::Srt { .. } => "srt",
            OutputKind::Record { .. } => "record",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutputState {
    Connecting,
    Live,
    Reconnecting { reason: String, attempt: u32 },
    Failed { reason: String },
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputStats {
    pub id: String,
    pub kind: &'static str,
    #[serde(flatten)]
    pub state: OutputState,
    /// What the encoder aims for (GCC's choice on WHIP), kbit/s.
    pub target_kbps: u32,
    /// What actually left in the last second, kbit/s.
    pub measured_kbps: f64,
    pub fps: f64,
    pub dropped_frames: u64,
    pub rtt_ms: Option<f64>,
    /// Fraction of packets the receiver reported lost (WHIP), 0–1.
    pub loss: Option<f64>,
    pub reconnects: u64,
    /// GCC's bandwidth estimate (WHIP) or what the server took over the last second (RTMP,
    /// SRT), kbit/s, fresh every 100 ms.
    pub estimate_kbps: Option<u32>,
    /// The latest bitrate and picture steps with their causes, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rate_steps: Vec<RateStep>,
    /// Latest video minus latest audio timestamp handed to this output (running time, ms):
    /// steady over a run when sound and picture stay in sync; jitters by a frame or so.
    pub av_offset_ms: Option<f64>,
}

/// Backoff between attempts: quick at first, then once a second, so a server that comes back
/// is reached within about a second (a refused attempt costs a few milliseconds).
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(match attempt {
        0 | 1 => 250,
        2 => 500,
        _ => 1_000,
    })
}

struct Shared {
    spec: OutputSpec,
    taps: Taps,
    stop: AtomicBool,
    state: Mutex<OutputState>,
    reconnects: AtomicU64,
    metrics: Mutex<attempt::Metrics>,
    /// The estimate (GCC's on WHIP, the throughput on RTMP/SRT; every poll) and the latest
    /// rate steps.
    rate: Mutex<(Option<u32>, Vec<RateStep>)>,
}

pub struct Output {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Output {
    pub(crate) fn start(spec: OutputSpec, taps: Taps) -> Result<Self> {
        let shared = Arc::new(Shared {
            spec,
            taps,
            stop: AtomicBool::new(false),
            state: Mutex::new(OutputState::Connecting),
            reconnects: AtomicU64::new(0),
            metrics: Mutex::default(),
            rate: Mutex::default(),
        });
        let runner = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("output-{}", shared.spec.id))
            .spawn(move || supervise(&runner))
            .map_err(|e| Error::Invalid(format!("output thread: {e}")))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    pub fn stats(&self) -> OutputStats {
        let metrics = lock(&self.shared.metrics).clone();
        let (estimate_kbps, rate_steps) = lock(&self.shared.rate).clone();
        OutputStats {
            id: self.shared.spec.id.clone(),
            kind: self.shared.spec.kind_name(),
            state: lock(&self.shared.state).clone(),
            target_kbps: metrics.target_kbps,
            measured_kbps: metrics.measured_kbps,
            fps: metrics.fps,
            dropped_frames: metrics.dropped_frames,
            rtt_ms: metrics.rtt_ms,
            loss: metrics.loss,
            reconnects: self.shared.reconnects.load(Ordering::Relaxed),
            estimate_kbps,
            rate_steps,
            av_offset_ms: metrics.av_offset_ms,
        }
    }

    pub fn spec(&self) -> &OutputSpec {
        &self.shared.spec
    }

    /// Stops and waits: a recording is finalised, a WHIP session deleted, RTMP unpublished.
    pub fn stop(mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn set_state(shared: &Shared, state: OutputState) {
    let mut current = lock(&shared.state);
    if *current != state {
        tracing::info!(output = %shared.spec.id, state = ?state, "output state");
        *current = state;
    }
}

fn supervise(shared: &Shared) {
    let mut attempt_no = 0u32;
    while !shared.stop.load(Ordering::SeqCst) {
        if attempt_no > 0 {
            shared.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let reason = match Attempt::start(&shared.spec, &shared.taps) {
            Ok(attempt) => run_attempt(shared, attempt, &mut attempt_no),
            Err(Failure::Fatal(reason)) => {
                set_state(shared, OutputState::Failed { reason });
                return;
            }
            Err(Failure::Retry(reason)) => reason,
        };
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        if matches!(shared.spec.kind, OutputKind::Record { .. }) {
            // A recording that failed (disk full, unwritable path) must not silently start a
            // new file over the old one.
            set_state(shared, OutputState::Failed { reason });
            return;
        }
        attempt_no += 1;
        set_state(
            shared,
            OutputState::Reconnecting {
                reason,
                attempt: attempt_no,
            },
        );
        let until = Instant::now() + backoff(attempt_no);
        while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    set_state(shared, OutputState::Stopped);
}

pub(crate) enum Failure {
    /// Configuration that will never work (unknown element, unwritable file).
    Fatal(String),
    /// Network or server trouble: try again.
    Retry(String),
}

/// Runs one connection until it fails or the output is stopped; returns why it ended.
fn run_attempt(shared: &Shared, mut attempt: Attempt, attempt_no: &mut u32) -> String {
    if !matches!(*lock(&shared.state), OutputState::Reconnecting { .. }) {
        set_state(shared, OutputState::Connecting);
    }
    let mut live_since: Option<Instant> = None;
    let mut last_sample = attempt.sample();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            attempt.finish();
            return "stopped".into();
        }
        match attempt.poll(Duration::from_millis(100)) {
            Health::Failed(reason) => {
                tracing::warn!(output = %shared.spec.id, %reason, "output dropped");
                attempt.abort();
                return reason;
            }
            Health::Live if live_since.is_none() => {
                live_since = Some(Instant::now());
                set_state(shared, OutputState::Live);
            }
            _ => {}
        }
        // Only a connection that held for a while resets the backoff.
        if live_since.is_some_and(|t| t.elapsed() > Duration::from_secs(5)) {
            *attempt_no = 0;
        }
        if last_sample.at.elapsed() >= Duration::from_secs(1) {
            let now = attempt.sample();
            *lock(&shared.metrics) = attempt::Metrics::between(&last_sample, &now);
            last_sample = now;
        }
        let (estimate_kbps, new_steps) = attempt.rate();
        let mut rate = lock(&shared.rate);
        rate.0 = estimate_kbps;
        if let Some(steps) = new_steps {
            rate.1 = steps;
        }
    }
}
