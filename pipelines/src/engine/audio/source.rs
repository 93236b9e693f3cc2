//! Where an input's sound comes from, and what takes over when that fails. A microphone that
//! cannot be opened, or that goes away mid-live (unplugged, its sound server gone), is
//! replaced by silence and the input reports why: the mix, and every recording and push fed
//! by it, keeps running. Before this, one failing source ended the mixer's stream and left a
//! recording without a playable audio track.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::capture::{self, Capture};
use super::{AudioInput, AudioSource};
use crate::{Error, Result, make};

/// What GStreamer's own capture gets to deliver a first buffer before it counts as absent.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The name of each input's source element inside its bin.
pub(super) const SOURCE: &str = "source";

pub(super) struct Opened {
    pub element: gst::Element,
    pub backend: String,
    pub capture: Option<Capture>,
    /// Why the input plays silence instead of what was asked for.
    pub problem: Option<String>,
}

/// Opens what `input` asks for. `from` is the pipeline's running time when the source joins
/// a running pipeline (a generated source's first buffer is then due now, not at zero).
pub(super) fn open(input: &AudioInput, from: Option<gst::ClockTime>) -> Result<Opened> {
    let opened = |element, backend: &str| Opened {
        element,
        backend: backend.to_owned(),
        capture: None,
        problem: None,
    };
    let element = match &input.source {
        AudioSource::Device { id } => return open_device(input, id.as_deref()),
        AudioSource::Tone { frequency } => {
            let src = test_source("sine", from)?;
            src.set_property("freq", *frequency);
            src.set_property("volume", 0.3f64);
            opened(src, "tone")
        }
        AudioSource::Noise => {
            let src = test_source("red-noise", from)?;
            src.set_property("volume", 0.3f64);
            opened(src, "noise")
        }
        AudioSource::Silence => opened(silence(from)?, "silence"),
    };
    Ok(element)
}

fn open_device(input: &AudioInput, id: Option<&str>) -> Result<Opened> {
    if let Some((element, handle)) = capture::open(id) {
        return Ok(Opened {
            element,
            backend: format!("cpal {}", handle.device),
            capture: Some(handle),
            problem: None,
        });
    }
    match gstreamer_capture_delivers() {
        Ok(()) => {
            tracing::warn!(input = %input.id, "cpal has no capture device; using GStreamer's autoaudiosrc");
            Ok(Opened {
                element: make("autoaudiosrc", None)?,
                backend: "gstreamer autoaudiosrc".to_owned(),
                capture: None,
                problem: None,
            })
        }
        Err(reason) => {
            let device = id.unwrap_or("default");
            let problem =
                format!("没有可用的麦克风 no capture device ({device}: {reason}); sending silence");
            tracing::warn!(input = %input.id, %problem, "audio input falls back to silence");
            Ok(Opened {
                element: silence(None)?,
                backend: "silence".to_owned(),
                capture: None,
                problem: Some(problem),
            })
        }
    }
}

/// Whether GStreamer's `autoaudiosrc` really captures here: it picks an element by rank and
/// state, and on a machine without a microphone the one it picks may start and then fail on
/// its first buffer (openalsrc does). A short pipeline of its own finds out before the
/// engine depends on it.
fn gstreamer_capture_delivers() -> std::result::Result<(), String> {
    let pipeline = gst::Pipeline::new();
    let src = make("autoaudiosrc", None).map_err(|e| e.to_string())?;
    let sink = make("fakesink", None).map_err(|e| e.to_string())?;
    sink.set_property("sync", false);
    pipeline
        .add_many([&src, &sink])
        .map_err(|e| e.to_string())?;
    src.link(&sink).map_err(|e| e.to_string())?;
    let (delivered, first_buffer) = mpsc::sync_channel(1);
    sink.static_pad("sink").expect("fakesink sink").add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            let _ = delivered.try_send(());
            gst::PadProbeReturn::Ok
        },
    );
    let bus = pipeline.bus().expect("pipeline bus");
    let outcome = (|| -> std::result::Result<(), String> {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| "autoaudiosrc cannot start".to_owned())?;
        let deadline = Instant::now() + PROBE_TIMEOUT;
        while Instant::now() < deadline {
            if first_buffer.try_recv().is_ok() {
                return Ok(());
            }
            if let Some(message) = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(20),
                &[gst::MessageType::Error],
            ) && let gst::MessageView::Error(e) = message.view()
            {
                return Err(e.error().to_string());
            }
        }
        Err(format!("no sound within {} ms", PROBE_TIMEOUT.as_millis()))
    })();
    let _ = pipeline.set_state(gst::State::Null);
    outcome
}

/// A live generated source whose timestamps start at `from` (see [`open`]).
fn test_source(wave: &str, from: Option<gst::ClockTime>) -> Result<gst::Element> {
    let src = make("audiotestsrc", None)?;
    src.set_property("is-live", true);
    src.set_property_from_str("wave", wave);
    if let Some(from) = from {
        src.set_property("timestamp-offset", from.nseconds() as i64);
    }
    Ok(src)
}

/// Live silence (see [`open`] for `from`).
pub(super) fn silence(from: Option<gst::ClockTime>) -> Result<gst::Element> {
    test_source("silence", from)
}

/// A live source only ends by failing; its EOS must not reach the mixer, where it would end
/// the programme's audio for good. The failure itself arrives on the bus as an error.
pub(super) fn drop_eos(source: &gst::Element) {
    if let Some(pad) = source.static_pad("src") {
        pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, |_, info| {
            match info.event() {
                Some(event) if event.type_() == gst::EventType::Eos => gst::PadProbeReturn::Drop,
                _ => gst::PadProbeReturn::Ok,
            }
        });
    }
}

/// Swaps the source of `bin` for `new` (silence after a failure, another microphone when the
/// anchor picks one). Never on a streaming thread: the old element is taken out and stopped
/// while the rest of the input keeps running.
pub(super) fn swap(bin: &gst::Bin, new: gst::Element) -> Result<()> {
    let failed = |what: &str| Error::Invalid(format!("audio input {}: {what}", bin.name()));
    let old = bin.by_name(SOURCE).ok_or_else(|| failed("no source"))?;
    let convert = bin
        .by_name("convert")
        .ok_or_else(|| failed("no converter"))?;
    old.unlink(&convert);
    bin.remove(&old)
        .map_err(|_| failed("source cannot be removed"))?;
    let _ = old.set_state(gst::State::Null);
    new.set_property("name", SOURCE);
    drop_eos(&new);
    bin.add(&new)
        .map_err(|_| failed("the new source cannot be added"))?;
    new.link(&convert)
        .map_err(|_| failed("the new source cannot be linked"))?;
    new.sync_state_with_parent()
        .map_err(|_| failed("the new source cannot start"))?;
    Ok(())
}
