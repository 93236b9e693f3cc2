//! One connection of an output: its pipeline (appsrc → mux/encoder → network or file sink),
//! how to tell it is live or broken, and its counters.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::mitigation::Mitigation;
use super::probe::{Prober, StepLog};
use super::send_rate::{SendRate, SendRateControl, SendSample};
use super::tcp_socket::{TcpPeer, rtmp_peers};
use super::whip_rate::{SharedLimit, WhipRate, forward_keyframe_requests};
use super::whip_watch::{WhipWatch, read_whip_stats, watch_whip, whip_health};
use super::{Failure, OutputKind, OutputSpec, RateControl, RateStep, RecordFormat, WhipEncoding};
use crate::engine::encoder::VideoEncoder;
use crate::engine::tap::{Subscriber, Tap, Taps};
use crate::lock;

/// An SRT connection whose sent-byte count stands still this long has lost its receiver.
const SEND_STALL: Duration = Duration::from_secs(3);

pub(crate) enum Health {
    Starting,
    Live,
    Failed(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Metrics {
    pub target_kbps: u32,
    pub measured_kbps: f64,
    pub fps: f64,
    pub dropped_frames: u64,
    pub rtt_ms: Option<f64>,
    pub loss: Option<f64>,
    pub av_offset_ms: Option<f64>,
}

pub(crate) struct Sample {
    pub at: Instant,
    bytes: u64,
    frames: u64,
    dropped: u64,
    target_kbps: u32,
    rtt_ms: Option<f64>,
    loss: Option<f64>,
    av_offset_ms: Option<f64>,
}

impl Metrics {
    pub fn between(a: &Sample, b: &Sample) -> Self {
        let secs = b.at.duration_since(a.at).as_secs_f64().max(1e-3);
        Self {
            target_kbps: b.target_kbps,
            measured_kbps: b.bytes.saturating_sub(a.bytes) as f64 * 8.0 / 1000.0 / secs,
            fps: b.frames.saturating_sub(a.frames) as f64 / secs,
            dropped_frames: b.dropped,
            rtt_ms: b.rtt_ms,
            loss: b.loss,
            av_offset_ms: b.av_offset_ms,
        }
    }
}

/// How an attempt learns that it is live and how many bytes left: fixed by the output's kind.
enum Delivery {
    Whip {
        watch: Arc<WhipWatch>,
        rate: WhipRate,
    },
    /// RTMP or SRT: the sink's `stats` field counting bytes sent on the network, whether
    /// a standstill of that count means the receiver is gone (SRT), and the bitrate control.
    Network {
        sent_field: &'static str,
        watch_stall: bool,
        rate: NetworkRate,
    },
    File,
}

/// How an RTMP or SRT connection drives the shared encoder (see `send_rate`).
struct NetworkRate {
    output: String,
    control: Option<SendRate>,
    encoder: Arc<VideoEncoder>,
    /// The queue between the muxer and the sink.
    queue: gst::Element,
    /// RTMP: the server's addresses, and the connection to it once found.
    peers: Vec<SocketAddr>,
    tcp: Option<TcpPeer>,
    next_search: Instant,
    steps: Arc<Mutex<StepLog>>,
    reported: u64,
}

impl NetworkRate {
    /// Reads the sink's stats once; returns the sample and the sink's count of bytes sent.
    fn sample(&mut self, sink: &gst::Element, sent_field: &str) -> (SendSample, u64) {
        let stats = sink.property::<Option<gst::Structure>>("stats");
        let field = |name: &str| stats.as_ref().map_or(0, |s| structure_count(s, name));
        let sent = field(sent_field);
        let queued = u64::from(self.queue.property::<u32>("current-level-bytes"));
        let now = Instant::now();
        if self.tcp.is_none() && !self.peers.is_empty() && sent > 0 && now >= self.next_search {
            self.tcp = TcpPeer::find(&self.peers);
            self.next_search = now + Duration::from_secs(1);
        }
        let acked = self.tcp.as_ref().and_then(TcpPeer::counters);
        if acked.is_none() {
            self.tcp = None;
        }
        let sample = match (acked, self.peers.is_empty()) {
            // What the socket holds unacknowledged waits too.
            (Some(tcp), _) => SendSample {
                at: now,
                delivered_bytes: tcp.delivered_bytes,
                backlog_bytes: queued + sent.saturating_sub(tcp.delivered_bytes),
                base_rtt_ms: tcp.min_rtt_ms,
                packets: None,
            },
            (None, false) => SendSample {
                at: now,
                delivered_bytes: sent,
                backlog_bytes: queued,
                base_rtt_ms: 0.0,
                packets: None,
            },
            // SRT: libsrt paces nothing in live mode and resends what the receiver missed.
            (None, true) => SendSample {
                at: now,
                delivered_bytes: sent.saturating_sub(field("bytes-retransmitted")),
                backlog_bytes: queued,
                base_rtt_ms: 0.0,
                packets: Some((field("packets-sent"), field("packets-sent-lost"))),
            },
        };
        (sample, sent)
    }

    /// Feeds the control; returns the sink's count of bytes sent.
    fn tick(&mut self, sink: &gst::Element, sent_field: &str) -> u64 {
        let (sample, sent) = self.sample(sink, sent_field);
        // A connection still being made (or never made) says nothing about the link, and its
        // filling queue must not take the encoder down for the outputs that are live.
        if let Some(control) = self.control.as_mut().filter(|_| sample.delivered_bytes > 0) {
            control.set_max_kbps(self.encoder.chosen_kbps());
            if let Some(kbps) = control.tick(sample) {
                self.encoder.limit(&self.output, Some(kbps));
            }
        }
        sent
    }
}

impl Drop for NetworkRate {
    fn drop(&mut self) {
        self.encoder.limit(&self.output, None);
    }
}

pub(crate) struct Attempt {
    pipeline: gst::Pipeline,
    sink: gst::Element,
    video: Arc<Subscriber>,
    audio: Arc<Subscriber>,
    video_tap: Tap,
    audio_tap: Tap,
    delivery: Delivery,
    /// Buffers that reached the sink (a recording is live from the first one).
    reached_sink: Arc<AtomicU64>,
    encoder_kbps: Arc<dyn Fn() -> u32 + Send + Sync>,
    started: Instant,
    /// Network bytes sent so far and when that last changed (RTMP, SRT).
    progress: (u64, Instant),
}

impl Attempt {
    pub fn start(spec: &OutputSpec, taps: &Taps) -> Result<Self, Failure> {
        crate::init().map_err(|e| Failure::Fatal(e.to_string()))?;
        let (description, encoded) = describe(&spec.kind);
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| Failure::Fatal(format!("output pipeline: {e}")))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| Failure::Fatal("output pipeline is not a pipeline".into()))?;
        let by_name = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| Failure::Fatal(format!("output pipeline lacks {name}")))
        };
        let sink = by_name("sink")?;
        let appsrc = |name: &str| -> Result<gst_app::AppSrc, Failure> {
            by_name(name)?
                .downcast::<gst_app::AppSrc>()
                .map_err(|_| Failure::Fatal(format!("{name} is not an appsrc")))
        };
        let (video_src, audio_src) = (appsrc("video")?, appsrc("audio")?);
        let delivery = deliver(spec, taps, &sink, by_name)?;
        let reached_sink = count_reaching(&sink);
        if encoded.video {
            forward_keyframe_requests(&video_src, &taps.h264);
        }

        // Live sources from the start, so the pipeline does not wait to preroll.
        let video = Subscriber::new(video_src, encoded.video);
        let audio = Subscriber::new(audio_src, false);

        // Same clock and base time as the engine: its timestamps are this pipeline's too.
        pipeline.use_clock(Some(&taps.clock));
        pipeline.set_start_time(gst::ClockTime::NONE);
        pipeline.set_base_time(taps.base_time);
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| Failure::Retry(format!("cannot start: {e}")))?;

        let video_tap = if encoded.video {
            taps.h264.clone()
        } else {
            taps.raw_video.clone()
        };
        let audio_tap = if encoded.audio {
            taps.aac.clone()
        } else {
            taps.raw_audio.clone()
        };
        video_tap.subscribe(video.clone());
        audio_tap.subscribe(audio.clone());
        let encoder = taps.encoder.clone();
        Ok(Self {
            pipeline,
            sink,
            video,
            audio,
            video_tap,
            audio_tap,
            delivery,
            reached_sink,
            encoder_kbps: Arc::new(move || encoder.bitrate_kbps()),
            started: Instant::now(),
            progress: (0, Instant::now()),
        })
    }

    /// Waits up to `timeout` for news from the pipeline and says how the connection is doing.
    pub fn poll(&mut self, timeout: Duration) -> Health {
        if let Some(bus) = self.pipeline.bus()
            && let Some(message) = bus.timed_pop_filtered(
                gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
                &[gst::MessageType::Error, gst::MessageType::Eos],
            )
        {
            return Health::Failed(match message.view() {
                gst::MessageView::Error(e) => {
                    let from = message
                        .src()
                        .map(|s| s.name().to_string())
                        .unwrap_or_default();
                    format!("{from}: {}", e.error())
                }
                _ => "the server ended the stream".into(),
            });
        }
        let live = match &mut self.delivery {
            Delivery::Whip { watch, rate } => {
                match (&mut rate.prober, rate.probe_max_kbps) {
                    (Some(prober), _) => prober.tick(Instant::now()),
                    (None, Some(max_kbps)) => {
                        rate.prober = lock(&watch.gcc)
                            .clone()
                            .map(|gcc| Prober::new(gcc, max_kbps, rate.steps.clone()));
                    }
                    (None, None) => {}
                }
                let health = whip_health(watch);
                if let (Some(shared), Health::Live) = (&rate.shared, &health) {
                    shared.follow(rate.estimate_kbps(watch));
                }
                return health;
            }
            Delivery::Network {
                sent_field,
                watch_stall,
                rate,
            } => {
                let sent = rate.tick(&self.sink, sent_field);
                if sent != self.progress.0 {
                    self.progress = (sent, Instant::now());
                } else if *watch_stall && sent > 0 && self.progress.1.elapsed() > SEND_STALL {
                    return Health::Failed(format!(
                        "the receiver took nothing for {} s",
                        SEND_STALL.as_secs()
                    ));
                }
                sent > 0
            }
            Delivery::File => self.reached_sink.load(Ordering::Relaxed) > 0,
        };
        if live {
            Health::Live
        } else if self.started.elapsed() > Duration::from_secs(10) {
            Health::Failed("no connection after 10 s".into())
        } else {
            Health::Starting
        }
    }

    /// GCC's estimate (WHIP) or the measured throughput (RTMP, SRT) and, when there are new
    /// ones, the latest rate steps.
    pub fn rate(&mut self) -> (Option<u32>, Option<Vec<RateStep>>) {
        let (estimate, steps, reported) = match &mut self.delivery {
            Delivery::Whip { watch, rate } => {
                (rate.estimate_kbps(watch), &rate.steps, &mut rate.reported)
            }
            Delivery::Network { rate, .. } => (
                rate.control.as_ref().and_then(SendRate::throughput_kbps),
                &rate.steps,
                &mut rate.reported,
            ),
            Delivery::File => return (None, None),
        };
        let steps = lock(steps);
        if steps.recorded() == *reported {
            return (estimate, None);
        }
        *reported = steps.recorded();
        (estimate, Some(steps.latest()))
    }

    pub fn sample(&self) -> Sample {
        let (mut target_kbps, mut rtt_ms, mut loss) = ((self.encoder_kbps)(), None, None);
        let bytes = match &self.delivery {
            Delivery::Whip { watch: whip, rate } => {
                let stats = self.sink.property::<gst::Structure>("stats");
                let read = read_whip_stats(&stats);
                rtt_ms = read.rtt_ms;
                loss = read.loss;
                // whipclientsink's own encoders are counted as they encode; a shared encoder's
                // picture as it is handed over.
                let audio = whip.encoded_bytes.load(Ordering::Relaxed);
                if rate.shared.is_some() {
                    audio + self.video.bytes.load(Ordering::Relaxed)
                } else {
                    target_kbps = read.target_bps / 1000;
                    audio
                }
            }
            Delivery::Network { sent_field, .. } => sink_count(&self.sink, sent_field),
            Delivery::File => {
                self.video.bytes.load(Ordering::Relaxed) + self.audio.bytes.load(Ordering::Relaxed)
            }
        };
        Sample {
            at: Instant::now(),
            bytes,
            frames: self.video.buffers.load(Ordering::Relaxed),
            dropped: self.video.dropped.load(Ordering::Relaxed),
            target_kbps,
            rtt_ms,
            loss,
            av_offset_ms: {
                let video = self.video.last_running_time.load(Ordering::Relaxed);
                let audio = self.audio.last_running_time.load(Ordering::Relaxed);
                (video > 0 && audio > 0).then(|| (video as f64 - audio as f64) / 1e6)
            },
        }
    }

    /// Ends cleanly: end-of-stream through the muxer so files get their last fragment, then stop.
    pub fn finish(self) {
        self.detach();
        let _ = self.video.appsrc().end_of_stream();
        let _ = self.audio.appsrc().end_of_stream();
        if let Some(bus) = self.pipeline.bus() {
            let _ = bus.timed_pop_filtered(
                gst::ClockTime::from_seconds(5),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }

    pub fn abort(self) {
        self.detach();
        let _ = self.pipeline.set_state(gst::State::Null);
    }

    fn detach(&self) {
        self.video_tap.unsubscribe(&self.video);
        self.audio_tap.unsubscribe(&self.audio);
    }
}

/// The output's pipeline (appsrcs `video` and `audio`, a `sink`, for RTMP and SRT a `sendq`
/// before it) and whether it takes the engine's encoded streams (else raw, which WHIP's
/// `whipclientsink` encodes itself under GCC).
fn describe(kind: &OutputKind) -> (String, Encoded) {
    const ENCODED: Encoded = Encoded {
        video: true,
        audio: true,
    };
    match kind {
        OutputKind::Whip {
            bitrate, encoding, ..
        } => {
            let shared = *encoding == WhipEncoding::Shared;
            (
                format!(
                    "appsrc name=video ! {} ! queue ! \
                     whipclientsink name=sink video-caps=video/x-h264 audio-caps=audio/x-opus \
                       congestion-control=gcc do-fec=false \
                       start-bitrate={} min-bitrate={} max-bitrate={} \
                     appsrc name=audio ! audioconvert ! audioresample ! queue ! sink.",
                    if shared { "h264parse" } else { "videoconvert" },
                    bitrate.start_kbps * 1000,
                    bitrate.min_kbps * 1000,
                    bitrate.max_kbps * 1000,
                ),
                // WebRTC carries Opus, not the engine's AAC: the sound is encoded here.
                Encoded {
                    video: shared,
                    audio: false,
                },
            )
        }
        OutputKind::Rtmp { .. } => (
            "appsrc name=video ! h264parse ! queue ! flvmux name=mux streamable=true ! \
             queue name=sendq max-size-buffers=0 max-size-bytes=0 max-size-time=4000000000 ! \
             rtmp2sink name=sink \
             appsrc name=audio ! aacparse ! queue ! mux."
                .to_owned(),
            ENCODED,
        ),
        OutputKind::Srt { .. } => (
            "appsrc name=video ! h264parse ! queue ! mpegtsmux name=mux alignment=7 ! \
             queue name=sendq max-size-buffers=0 max-size-bytes=0 max-size-time=4000000000 ! \
             srtsink name=sink wait-for-connection=false \
             appsrc name=audio ! aacparse ! queue ! mux."
                .to_owned(),
            ENCODED,
        ),
        OutputKind::Record { format, .. } => (
            format!(
                "appsrc name=video ! h264parse ! queue ! {} name=mux ! filesink name=sink \
                 appsrc name=audio ! aacparse ! queue ! mux.",
                match format {
                    RecordFormat::Mp4 => "mp4mux fragment-duration=1000",
                    RecordFormat::Mkv => "matroskamux",
                    RecordFormat::Mp4Faststart => "mp4mux faststart=true",
                }
            ),
            ENCODED,
        ),
    }
}

/// Which of an output's inputs take the engine's encoded streams (else raw).
#[derive(Clone, Copy)]
struct Encoded {
    video: bool,
    audio: bool,
}

/// Points the sink at the output's destination and sets up how the attempt learns that it is
/// live, how many bytes left and how its bitrate follows the link.
fn deliver(
    spec: &OutputSpec,
    taps: &Taps,
    sink: &gst::Element,
    by_name: impl Fn(&str) -> Result<gst::Element, Failure>,
) -> Result<Delivery, Failure> {
    Ok(match &spec.kind {
        OutputKind::Whip {
            url,
            key,
            stun_server,
            bitrate,
            rate_control,
            mitigation,
            encoding,
        } => {
            sink.set_property("stun-server", stun_server.clone());
            let proxy = sink
                .dynamic_cast_ref::<gst::ChildProxy>()
                .ok_or_else(|| Failure::Fatal("whipclientsink is not a child proxy".into()))?;
            proxy.set_child_property("signaller::whip-endpoint", url);
            proxy.set_child_property("signaller::auth-token", key);
            let steps = StepLog::shared(Instant::now());
            let picture = Mutex::new(Mitigation::new(*mitigation, steps.clone()));
            sink.connect("configure-mitigation-caps", false, move |args| {
                let info = args.get(2)?.get::<gstreamer_video::VideoInfo>().ok()?;
                let bitrate = args.get(3)?.get::<i32>().ok()?;
                let caps = lock(&picture).caps(
                    Instant::now(),
                    (info.width(), info.height(), info.fps()),
                    bitrate,
                );
                Some(caps.to_value())
            });
            Delivery::Whip {
                watch: watch_whip(sink),
                rate: WhipRate {
                    probe_max_kbps: (*rate_control == RateControl::GccProbe)
                        .then_some(bitrate.max_kbps),
                    prober: None,
                    steps,
                    reported: 0,
                    shared: (*encoding == WhipEncoding::Shared).then(|| SharedLimit {
                        output: spec.id.clone(),
                        encoder: taps.encoder.clone(),
                    }),
                },
            }
        }
        OutputKind::Rtmp { url, rate_control } => {
            sink.set_property("location", url);
            Delivery::Network {
                sent_field: "out-bytes-total",
                watch_stall: false,
                rate: network_rate(
                    spec,
                    *rate_control,
                    taps,
                    by_name("sendq")?,
                    rtmp_peers(url),
                ),
            }
        }
        OutputKind::Srt { url, rate_control } => {
            sink.set_property("uri", url);
            // A vanished SRT receiver is only noticed by libsrt after its idle timeout, and
            // not at all while the send window lets writes through.
            Delivery::Network {
                sent_field: "bytes-sent-total",
                watch_stall: true,
                rate: network_rate(spec, *rate_control, taps, by_name("sendq")?, Vec::new()),
            }
        }
        OutputKind::Record { path, .. } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
                && !dir.is_dir()
            {
                return Err(Failure::Fatal(format!(
                    "record.path: folder {} does not exist",
                    dir.display()
                )));
            }
            sink.set_property("location", path);
            Delivery::File
        }
    })
}

/// Counts the buffers that reach the sink (a recording is live from the first one).
fn count_reaching(sink: &gst::Element) -> Arc<AtomicU64> {
    let reached = Arc::new(AtomicU64::new(0));
    if let Some(pad) = sink.static_pad("sink") {
        let counter = reached.clone();
        // Muxers such as mpegtsmux push buffer lists.
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, _| {
                counter.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );
    }
    reached
}

fn network_rate(
    spec: &OutputSpec,
    rule: SendRateControl,
    taps: &Taps,
    queue: gst::Element,
    peers: Vec<SocketAddr>,
) -> NetworkRate {
    let steps = StepLog::shared(Instant::now());
    NetworkRate {
        output: spec.id.clone(),
        control: (rule != SendRateControl::Fixed)
            .then(|| SendRate::new(rule, taps.encoder.chosen_kbps(), steps.clone())),
        encoder: taps.encoder.clone(),
        queue,
        peers,
        tcp: None,
        next_search: Instant::now(),
        steps,
        reported: 0,
    }
}

/// A counter of srtsink's or rtmp2sink's stats, whichever integer type the element used.
fn structure_count(stats: &gst::StructureRef, field: &str) -> u64 {
    stats
        .get::<u64>(field)
        .ok()
        .or_else(|| stats.get::<i64>(field).ok().map(|v| v.max(0) as u64))
        .or_else(|| stats.get::<i32>(field).ok().map(|v| v.max(0) as u64))
        .or_else(|| stats.get::<u32>(field).ok().map(u64::from))
        .unwrap_or(0)
}

/// A counter of the sink's `stats`.
fn sink_count(sink: &gst::Element, field: &str) -> u64 {
    sink.property::<Option<gst::Structure>>("stats")
        .map_or(0, |s| structure_count(&s, field))
}
