//! A headless encode: live test video + test audio → x264 + Opus → fakesink.
//! `anchordesk live --headless` runs it to prove the media stack works on a machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::{Error, Result, make};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestEncodeSpec {
    pub width: i32,
    pub height: i32,
    pub fps: i32,
    pub video_bitrate_kbps: u32,
    /// Stop after this long; `None` runs until the stop flag is raised.
    pub duration: Option<Duration>,
}

impl Default for TestEncodeSpec {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 30,
            video_bitrate_kbps: 2500,
            duration: Some(Duration::from_secs(10)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EncodeSummary {
    /// H.264 access units that left the encoder.
    pub video_frames: u64,
    /// Opus packets that left the encoder.
    pub audio_packets: u64,
    /// Bytes of encoded video, to tell a real encode from an empty one.
    pub video_bytes: u64,
    pub elapsed: Duration,
}

impl std::fmt::Display for EncodeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "encoded {} video frames (x264, {:.0} kbit/s) and {} audio packets (opus) in {:.2} s",
            self.video_frames,
            if secs > 0.0 {
                self.video_bytes as f64 * 8.0 / 1000.0 / secs
            } else {
                0.0
            },
            self.audio_packets,
            secs,
        )
    }
}

/// Counts buffers (and bytes) that pass a pad.
#[derive(Debug, Default)]
struct Counter {
    buffers: AtomicU64,
    bytes: AtomicU64,
}

fn count_on(pad: &gst::Pad, counter: Arc<Counter>) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer() {
            counter.buffers.fetch_add(1, Ordering::Relaxed);
            counter
                .bytes
                .fetch_add(buffer.size() as u64, Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Runs the pipeline for `spec.duration` of wall-clock time (the sources are live) or until
/// `stop` is raised, then drains it with EOS so every frame counted was really encoded.
pub fn run_test_encode(spec: &TestEncodeSpec, stop: &AtomicBool) -> Result<EncodeSummary> {
    crate::init()?;
    let pipeline = gst::Pipeline::with_name("test-encode");

    let vsrc = make("videotestsrc", None)?;
    vsrc.set_property("is-live", true);
    vsrc.set_property_from_str("pattern", "ball");
    let vcaps = make("capsfilter", None)?;
    vcaps.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("width", spec.width)
            .field("height", spec.height)
            .field("framerate", gst::Fraction::new(spec.fps, 1))
            .build(),
    );
    let vconv = make("videoconvert", None)?;
    let venc = make("x264enc", Some("venc"))?;
    venc.set_property_from_str("tune", "zerolatency");
    venc.set_property_from_str("speed-preset", "ultrafast");
    venc.set_property("bitrate", spec.video_bitrate_kbps);
    // Keyframe every 2 s: what players and HLS segmenters expect from a live stream.
    venc.set_property("key-int-max", (spec.fps * 2) as u32);
    let vparse = make("h264parse", None)?;
    let vsink = make("fakesink", Some("vsink"))?;

    let asrc = make("audiotestsrc", None)?;
    asrc.set_property("is-live", true);
    let aconv = make("audioconvert", None)?;
    let ares = make("audioresample", None)?;
    let aenc = make("opusenc", Some("aenc"))?;
    let asink = make("fakesink", Some("asink"))?;

    let video = [&vsrc, &vcaps, &vconv, &venc, &vparse, &vsink];
    let audio = [&asrc, &aconv, &ares, &aenc, &asink];
    pipeline
        .add_many(video.iter().chain(audio.iter()).copied())
        .map_err(|e| Error::StateChange(e.to_string()))?;
    gst::Element::link_many(video).map_err(|e| Error::StateChange(format!("link video: {e}")))?;
    gst::Element::link_many(audio).map_err(|e| Error::StateChange(format!("link audio: {e}")))?;

    let video_count = Arc::new(Counter::default());
    let audio_count = Arc::new(Counter::default());
    count_on(
        &venc.static_pad("src").expect("x264enc has a src pad"),
        video_count.clone(),
    );
    count_on(
        &aenc.static_pad("src").expect("opusenc has a src pad"),
        audio_count.clone(),
    );

    let started = Instant::now();
    let result = drive(&pipeline, spec.duration, stop);
    let elapsed = started.elapsed();
    let _ = pipeline.set_state(gst::State::Null);
    result?;

    Ok(EncodeSummary {
        video_frames: video_count.buffers.load(Ordering::Relaxed),
        audio_packets: audio_count.buffers.load(Ordering::Relaxed),
        video_bytes: video_count.bytes.load(Ordering::Relaxed),
        elapsed,
    })
}

fn drive(pipeline: &gst::Pipeline, duration: Option<Duration>, stop: &AtomicBool) -> Result<()> {
    /// Bus poll interval: how quickly a stop request or the deadline is noticed.
    const POLL: Duration = Duration::from_millis(50);
    /// Live sources stop at EOS at once; this only bounds a hung encoder.
    const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| Error::StateChange(e.to_string()))?;
    let bus = pipeline.bus().expect("a pipeline always has a bus");
    let deadline = duration.map(|d| Instant::now() + d);
    let mut drain_deadline = None;
    loop {
        let now = Instant::now();
        let time_up = deadline.is_some_and(|d| now >= d);
        if drain_deadline.is_none() && (time_up || stop.load(Ordering::Relaxed)) {
            pipeline.send_event(gst::event::Eos::new());
            drain_deadline = Some(now + DRAIN_TIMEOUT);
        }
        if drain_deadline.is_some_and(|d| now >= d) {
            return Err(Error::StateChange(
                "pipeline did not drain within 5 s of EOS".into(),
            ));
        }
        let wait = deadline
            .map_or(POLL, |d| d.saturating_duration_since(now).min(POLL))
            .max(Duration::from_millis(1));
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(wait.as_nanos() as u64),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => return Ok(()),
            Some(gst::MessageView::Error(err)) => {
                return Err(Error::Pipeline {
                    source_element: err
                        .src()
                        .map(|s| s.path_string().to_string())
                        .unwrap_or_default(),
                    message: err.error().to_string(),
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_of_live_test_sources_encodes_frames_and_packets() {
        let spec = TestEncodeSpec {
            width: 320,
            height: 240,
            fps: 30,
            video_bitrate_kbps: 500,
            duration: Some(Duration::from_secs(1)),
        };
        let summary = run_test_encode(&spec, &AtomicBool::new(false)).unwrap();
        // Live sources at 30 fps for 1 s; x264 on a loaded CI box may drop some, never all.
        assert!(summary.video_frames >= 15, "{summary}");
        assert!(summary.audio_packets >= 25, "{summary}");
        assert!(summary.video_bytes > 1000, "{summary}");
        assert!(summary.elapsed >= Duration::from_secs(1));
    }

    #[test]
    fn raised_stop_flag_ends_an_unbounded_run_cleanly() {
        let spec = TestEncodeSpec {
            width: 160,
            height: 120,
            duration: None,
            ..TestEncodeSpec::default()
        };
        let stop = Arc::new(AtomicBool::new(false));
        let raiser = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(700));
                stop.store(true, Ordering::Relaxed);
            })
        };
        let summary = run_test_encode(&spec, &stop).unwrap();
        raiser.join().unwrap();
        assert!(summary.video_frames > 0, "{summary}");
        assert!(summary.elapsed < Duration::from_secs(5), "{summary}");
    }

    #[test]
    fn missing_element_names_its_debian_package() {
        crate::init().unwrap();
        let err = make("no-such-element-xyz", None).unwrap_err();
        assert!(err.to_string().contains("no-such-element-xyz"), "{err}");
    }
}
