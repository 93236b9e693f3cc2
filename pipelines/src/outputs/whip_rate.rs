//! How a WHIP attempt follows the link beyond GCC (the prober, and with a shared encoder the
//! limit GCC's estimate puts on it) and how the relay's keyframe requests reach an encoder
//! outside the attempt's pipeline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::probe::{Prober, StepLog};
use super::whip_watch::WhipWatch;
use crate::engine::encoder::VideoEncoder;
use crate::engine::tap::Tap;
use crate::lock;

/// How a WHIP connection adapts beyond GCC: the prober (made once GCC's estimator exists) and
/// the log of its steps, which the picture steps write too.
pub(super) struct WhipRate {
    /// The output's maximum, when it probes.
    pub probe_max_kbps: Option<u32>,
    pub prober: Option<Prober>,
    pub steps: Arc<Mutex<StepLog>>,
    /// Steps already handed out by `Attempt::rate`.
    pub reported: u64,
    /// With `WhipEncoding::Shared`: the engine's encoder, which follows GCC's estimate.
    pub shared: Option<SharedLimit>,
}

/// A WHIP output's limit on the engine's shared encoder, lifted when the attempt ends.
pub(super) struct SharedLimit {
    pub output: String,
    pub encoder: Arc<VideoEncoder>,
}

impl SharedLimit {
    pub fn follow(&self, estimate_kbps: Option<u32>) {
        if let Some(kbps) = estimate_kbps.filter(|k| *k > 0) {
            self.encoder.limit(&self.output, Some(kbps));
        }
    }
}

impl Drop for SharedLimit {
    fn drop(&mut self) {
        self.encoder.limit(&self.output, None);
    }
}

impl WhipRate {
    /// The prober's estimate when it probes, else GCC's.
    pub fn estimate_kbps(&self, watch: &WhipWatch) -> Option<u32> {
        match &self.prober {
            Some(prober) => Some(prober.estimate_kbps()),
            None => lock(&watch.gcc)
                .as_ref()
                .map(|gcc| gcc.property::<u32>("estimated-bitrate") / 1000),
        }
    }
}

/// The least time between two keyframes asked of the shared encoder for one output: a
/// relay's burst of PLIs (several viewers joining) costs the recording one keyframe, not ten.
const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(500);

/// Keyframe requests that reach the output's video source (a relay's PLI, a new WebRTC
/// session) go on to the engine's encoder, which this pipeline does not contain.
pub(super) fn forward_keyframe_requests(video_src: &gst_app::AppSrc, tap: &Tap) {
    let Some(pad) = video_src.static_pad("src") else {
        return;
    };
    let tap = tap.clone();
    let last: Mutex<Option<Instant>> = Mutex::new(None);
    pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && gstreamer_video::ForceKeyUnitEvent::is(event)
        {
            let mut last = lock(&last);
            if last.is_none_or(|at| at.elapsed() >= KEYFRAME_REQUEST_GAP) {
                *last = Some(Instant::now());
                tap.request_keyframe();
            }
        }
        gst::PadProbeReturn::Ok
    });
}
