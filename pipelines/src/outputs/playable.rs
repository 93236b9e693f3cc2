//! Whether a finished recording plays: its streams are decoded up to the first frames (as a
//! player or gst-discoverer does), so a file with a broken track is found before the anchor
//! relies on it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::lock;
use crate::make;

/// How long decoding the first frames may take before the file counts as unplayable.
const PREROLL_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq)]
pub struct Playable {
    pub video: bool,
    pub audio: bool,
    pub duration: Duration,
}

/// Decodes the start of `path`; `Err` says why it would not play. A playable recording has a
/// video and an audio stream and a duration.
pub fn check_playable(path: &Path) -> std::result::Result<Playable, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if size == 0 {
        return Err(format!("{} is empty", path.display()));
    }
    let pipeline = gst::Pipeline::new();
    let build = || -> crate::Result<gst::Element> {
        let src = make("filesrc", None)?;
        src.set_property("location", path.to_string_lossy().as_ref());
        let decode = make("decodebin", None)?;
        pipeline
            .add_many([&src, &decode])
            .map_err(|e| crate::Error::Invalid(e.to_string()))?;
        src.link(&decode)
            .map_err(|e| crate::Error::Invalid(e.to_string()))?;
        Ok(decode)
    };
    let decode = build().map_err(|e| e.to_string())?;
    let streams: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = streams.clone();
    let weak = pipeline.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let kind = pad
            .current_caps()
            .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
            .unwrap_or_default();
        lock(&seen).push(kind);
        let Ok(sink) = make("fakesink", None) else {
            return;
        };
        sink.set_property("sync", false);
        if pipeline.add(&sink).is_ok() {
            let _ = sink.sync_state_with_parent();
            let _ = pad.link(&sink.static_pad("sink").expect("fakesink sink"));
        }
    });
    let outcome = preroll(&pipeline);
    let duration = pipeline
        .query_duration::<gst::ClockTime>()
        .map(|d| Duration::from_nanos(d.nseconds()));
    let _ = pipeline.set_state(gst::State::Null);
    outcome.map_err(|e| format!("{} does not play: {e}", path.display()))?;
    let streams = lock(&streams).clone();
    let playable = Playable {
        video: streams.iter().any(|s| s.starts_with("video/")),
        audio: streams.iter().any(|s| s.starts_with("audio/")),
        duration: duration.unwrap_or_default(),
    };
    let missing = [
        (!playable.video).then_some("video"),
        (!playable.audio).then_some("audio"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    if !missing.is_empty() {
        return Err(format!(
            "{} has no playable {} (streams: {streams:?})",
            path.display(),
            missing.join(" or ")
        ));
    }
    if playable.duration.is_zero() {
        return Err(format!("{} has no duration", path.display()));
    }
    Ok(playable)
}

fn preroll(pipeline: &gst::Pipeline) -> std::result::Result<(), String> {
    pipeline
        .set_state(gst::State::Paused)
        .map_err(|_| "it cannot be opened".to_owned())?;
    let bus = pipeline.bus().expect("pipeline bus");
    let deadline = Instant::now() + PREROLL_TIMEOUT;
    while Instant::now() < deadline {
        let Some(message) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(100),
            &[gst::MessageType::AsyncDone, gst::MessageType::Error],
        ) else {
            continue;
        };
        match message.view() {
            gst::MessageView::AsyncDone(_) => return Ok(()),
            gst::MessageView::Error(e) => return Err(e.error().to_string()),
            _ => {}
        }
    }
    Err(format!("no frame within {} s", PREROLL_TIMEOUT.as_secs()))
}
