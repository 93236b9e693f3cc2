//! GStreamer's `whipclientsink` (gst-plugin-webrtc, registered statically) publishing a moving
//! test pattern and a tone: the same WHIP client the studio's engine uses, with GCC congestion
//! control fed by the relay's TWCC feedback.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow};
use gstreamer as gst;
use gstreamer::prelude::*;

/// Initialises GStreamer and registers the Rust WebRTC and RTP plugins once per process (the
/// engine's own initialisation, so tests and the studio register the same elements).
pub fn init() -> Result<()> {
    anchordesk_pipelines::init().map_err(|e| anyhow!("{e}"))
}

/// Points a whipclientsink at `endpoint` with `key`, and turns off its default STUN server
/// (a public one: tests and benchmarks stay offline).
pub fn configure_whip_sink(sink: &gst::Element, endpoint: &str, key: &str) -> Result<()> {
    sink.set_property("stun-server", None::<String>);
    let signaller = sink
        .dynamic_cast_ref::<gst::ChildProxy>()
        .context("whipclientsink is a child proxy")?;
    signaller.set_child_property("signaller::whip-endpoint", endpoint);
    signaller.set_child_property("signaller::auth-token", key);
    Ok(())
}

pub struct GstWhipPublisher {
    pipeline: gst::Pipeline,
    /// Times GCC changed its estimate: it only does so from TWCC feedback.
    estimate_changes: Arc<AtomicUsize>,
    last_estimate: Arc<AtomicU32>,
}

impl GstWhipPublisher {
    /// Starts publishing `width`×`height` at 30 fps to `endpoint` with `key`.
    pub fn start(endpoint: &str, key: &str, width: u32, height: u32) -> Result<Self> {
        init()?;
        let description = format!(
            "videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate=30/1 ! queue ! \
             whipclientsink name=whip video-caps=video/x-h264 congestion-control=gcc do-fec=false \
               start-bitrate=800000 min-bitrate=300000 max-bitrate=4000000 \
             audiotestsrc is-live=true wave=sine ! queue ! whip."
        );
        let pipeline = gst::parse::launch(&description)?
            .downcast::<gst::Pipeline>()
            .map_err(|_| anyhow!("not a pipeline"))?;
        let sink = pipeline.by_name("whip").context("whipclientsink")?;
        configure_whip_sink(&sink, endpoint, key)?;

        let estimate_changes = Arc::new(AtomicUsize::new(0));
        let last_estimate = Arc::new(AtomicU32::new(0));
        let (changes, last) = (estimate_changes.clone(), last_estimate.clone());
        // webrtcsink runs each session in a pipeline of its own; rtpgccbwe lives there.
        sink.connect("consumer-pipeline-created", false, move |args| {
            let session = args[2].get::<gst::Pipeline>().ok()?;
            let (changes, last) = (changes.clone(), last.clone());
            session.connect_deep_element_added(move |_, _, element| {
                let is_gcc = element.factory().is_some_and(|f| f.name() == "rtpgccbwe");
                if !is_gcc {
                    return;
                }
                let (changes, last) = (changes.clone(), last.clone());
                element.connect_notify(Some("estimated-bitrate"), move |bwe, _| {
                    let estimate = bwe.property::<u32>("estimated-bitrate");
                    if last.swap(estimate, Ordering::Relaxed) != estimate {
                        changes.fetch_add(1, Ordering::Relaxed);
                    }
                });
            });
            None
        });
        pipeline.set_state(gst::State::Playing)?;
        Ok(Self {
            pipeline,
            estimate_changes,
            last_estimate,
        })
    }

    /// How often GCC's bandwidth estimate moved (each move follows TWCC feedback).
    pub fn estimate_changes(&self) -> usize {
        self.estimate_changes.load(Ordering::Relaxed)
    }

    /// GCC's latest estimate in bit/s.
    pub fn estimate_bps(&self) -> u32 {
        self.last_estimate.load(Ordering::Relaxed)
    }

    /// The first error on the bus so far, if any.
    pub fn error(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        while let Some(message) = bus.pop() {
            if let gst::MessageView::Error(e) = message.view() {
                return Some(format!("{} ({:?})", e.error(), e.debug()));
            }
        }
        None
    }

    /// Stops the pipeline; whipclientsink sends DELETE for its session.
    pub fn stop(self) -> Result<()> {
        self.pipeline.set_state(gst::State::Null)?;
        Ok(())
    }
}

impl Drop for GstWhipPublisher {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
