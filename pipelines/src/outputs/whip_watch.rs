//! A WHIP attempt's view of `whipclientsink`: its signals (connected, failed, the session
//! removed), the RTCP that says the relay still hears us, and its statistics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::attempt::Health;
use crate::lock;

/// A live WHIP session that hears nothing from the relay for this long is considered gone:
/// webrtc-rs sends TWCC feedback and receiver reports many times a second.
const WHIP_SILENCE: Duration = Duration::from_secs(3);

/// What whipclientsink tells us through its signals.
#[derive(Default)]
pub(super) struct WhipWatch {
    pub(super) connected: AtomicBool,
    pub(super) failed: Mutex<Option<String>>,
    pub(super) removed: AtomicBool,
    pub(super) webrtcbin: Mutex<Option<gst::Element>>,
    pub(super) rtcp_hooked: AtomicBool,
    pub(super) last_rtcp: Arc<Mutex<Option<Instant>>>,
    pub(super) encoded_bytes: Arc<AtomicU64>,
    /// GCC's estimator inside the session, once the session exists.
    pub(super) gcc: Arc<Mutex<Option<gst::Element>>>,
}

/// Hooks whipclientsink's session signals: connection state, session end, and the encoder
/// (to count what GCC lets out).
pub(super) fn watch_whip(sink: &gst::Element) -> Arc<WhipWatch> {
    let watch = Arc::new(WhipWatch::default());
    let w = watch.clone();
    sink.connect("consumer-added", false, move |args| {
        let webrtcbin = args.get(2)?.get::<gst::Element>().ok()?;
        let state_watch = w.clone();
        webrtcbin.connect_notify(Some("connection-state"), move |bin, _| {
            let state =
                bin.property::<gstreamer_webrtc::WebRTCPeerConnectionState>("connection-state");
            match state {
                gstreamer_webrtc::WebRTCPeerConnectionState::Connected => {
                    state_watch.connected.store(true, Ordering::Relaxed);
                }
                gstreamer_webrtc::WebRTCPeerConnectionState::Failed
                | gstreamer_webrtc::WebRTCPeerConnectionState::Closed => {
                    *lock(&state_watch.failed) = Some(format!("WebRTC connection {state:?}"));
                }
                _ => {}
            }
        });
        *lock(&w.webrtcbin) = Some(webrtcbin);
        None
    });
    let gcc = watch.gcc.clone();
    sink.connect("consumer-pipeline-created", false, move |args| {
        let pipeline = args.get(2)?.get::<gst::Bin>().ok()?;
        let gcc = gcc.clone();
        pipeline.connect_deep_element_added(move |_, _, element| {
            if element.factory().is_some_and(|f| f.name() == "rtpgccbwe") {
                *lock(&gcc) = Some(element.clone());
            }
        });
        None
    });
    let w = watch.clone();
    sink.connect("consumer-removed", false, move |_| {
        w.removed.store(true, Ordering::Relaxed);
        None
    });
    let w = watch.clone();
    sink.connect("encoder-setup", false, move |args| {
        let consumer = args
            .get(1)
            .and_then(|v| v.get::<String>().ok())
            .unwrap_or_default();
        if let Some(encoder) = args.get(3).and_then(|v| v.get::<gst::Element>().ok())
            && consumer != "discovery"
            && let Some(pad) = encoder.static_pad("src")
        {
            let counter = w.encoded_bytes.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer() {
                    counter.fetch_add(buffer.size() as u64, Ordering::Relaxed);
                }
                gst::PadProbeReturn::Ok
            });
        }
        Some(false.to_value())
    });
    watch
}

pub(super) fn whip_health(whip: &WhipWatch) -> Health {
    if let Some(reason) = lock(&whip.failed).clone() {
        return Health::Failed(reason);
    }
    if whip.removed.load(Ordering::Relaxed) {
        return Health::Failed("the WebRTC session ended".into());
    }
    if !whip.connected.load(Ordering::Relaxed) {
        return Health::Starting;
    }
    hook_rtcp(whip);
    match *lock(&whip.last_rtcp) {
        Some(at) if at.elapsed() > WHIP_SILENCE => Health::Failed(format!(
            "no RTCP from the relay for {} s",
            WHIP_SILENCE.as_secs()
        )),
        _ => Health::Live,
    }
}

/// Notes the time of every RTCP packet from the relay, through the RTP session inside
/// webrtcbin: the quickest sign that the relay went away (ICE consent takes ~30 s).
fn hook_rtcp(whip: &WhipWatch) {
    if whip.rtcp_hooked.load(Ordering::Relaxed) {
        return;
    }
    let Some(webrtcbin) = lock(&whip.webrtcbin).clone() else {
        return;
    };
    let Some(rtpbin) = webrtcbin
        .downcast_ref::<gst::Bin>()
        .and_then(|bin| bin.by_name("rtpbin"))
    else {
        return;
    };
    let Some(session) =
        rtpbin.emit_by_name::<Option<gst::glib::Object>>("get-internal-session", &[&0u32])
    else {
        return;
    };
    *lock(&whip.last_rtcp) = Some(Instant::now());
    let last = whip.last_rtcp.clone();
    session.connect("on-receiving-rtcp", false, move |_| {
        *lock(&last) = Some(Instant::now());
        None
    });
    whip.rtcp_hooked.store(true, Ordering::Relaxed);
}

pub(super) struct WhipStats {
    pub(super) target_bps: u32,
    pub(super) rtt_ms: Option<f64>,
    pub(super) loss: Option<f64>,
}

/// Digs GCC's encoder target and the receiver's RTT and loss out of whipclientsink's `stats`.
pub(super) fn read_whip_stats(stats: &gst::Structure) -> WhipStats {
    let mut out = WhipStats {
        target_bps: 0,
        rtt_ms: None,
        loss: None,
    };
    for (_, session) in stats.iter() {
        let Ok(session) = session.get::<gst::Structure>() else {
            continue;
        };
        for (name, value) in session.iter() {
            let Ok(entry) = value.get::<gst::Structure>() else {
                continue;
            };
            if name == "consumer-stats" {
                if let Ok(encoders) = entry.get::<gst::Array>("video-encoders") {
                    for encoder in encoders.iter() {
                        if let Ok(encoder) = encoder.get::<gst::Structure>() {
                            out.target_bps =
                                encoder.get::<i32>("bitrate").unwrap_or(0).max(0) as u32;
                        }
                    }
                }
            } else if name.starts_with("rtp-remote-inbound") {
                if let Ok(rtt) = entry.get::<f64>("round-trip-time") {
                    out.rtt_ms = Some(rtt * 1000.0);
                }
                if let Ok(lost) = entry.get::<f64>("fraction-lost") {
                    out.loss = Some(lost);
                }
            }
        }
    }
    out
}
