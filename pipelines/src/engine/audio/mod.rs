//! Audio inputs mixed into one track: per input optional noise suppression, a gain/mute stage
//! and a level meter (peak and RMS ~20 times a second), then `audiomixer`.

mod capture;
mod denoise;
mod source;

pub use capture::{AudioDevice, Capture, list_devices};
pub use denoise::NoiseSuppression;

use gstreamer as gst;
use gstreamer::prelude::*;

use std::collections::HashMap;

use super::tap::Tap;
use super::video::{add_error, branch_appsink, link_error};
use crate::{Error, Result, make};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioInput {
    pub id: String,
    pub source: AudioSource,
    /// Linear gain, 0.0–4.0 (1.0 leaves the level as captured).
    #[serde(default = "unity")]
    pub gain: f64,
    #[serde(default)]
    pub muted: bool,
    /// Suppress steady background noise (fans, street) with nnnoiseless; adds 10 ms.
    #[serde(default)]
    pub noise_suppression: bool,
}

impl AudioInput {
    /// An input at unity gain, unmuted, without noise suppression.
    pub fn new(id: impl Into<String>, source: AudioSource) -> Self {
        Self {
            id: id.into(),
            source,
            gain: 1.0,
            muted: false,
            noise_suppression: false,
        }
    }
}

fn unity() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AudioSource {
    /// A capture device through cpal (`id` from [`list_devices`]; the default input when
    /// absent). Where cpal finds none, GStreamer's `autoaudiosrc` is used instead.
    Device {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A sine tone, for rehearsals and tests.
    Tone {
        #[serde(default = "a440")]
        frequency: f64,
    },
    /// Red (Brownian) noise (like a fan's rumble), to try noise suppression.
    Noise,
    Silence,
}

fn a440() -> f64 {
    440.0
}

/// One meter reading per input, in dBFS per channel.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct AudioLevel {
    pub input: String,
    pub peak_db: Vec<f64>,
    pub rms_db: Vec<f64>,
}

pub const MIX_CAPS_RATE: i32 = 48_000;

pub fn element_name(input_id: &str) -> String {
    format!("audio-{input_id}")
}

/// What the engine reports per audio input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AudioInputStatus {
    pub id: String,
    /// What feeds it (`cpal alsa:hw:1,0`, `gstreamer autoaudiosrc`, `tone`, `silence`, …).
    pub backend: String,
    /// `None` while it plays what was asked for; otherwise why it sends silence.
    pub problem: Option<String>,
}

/// A running input: its noise suppression switch, what feeds it, and the cpal capture it owns
/// (if any).
pub struct InputHandle {
    pub suppression: NoiseSuppression,
    state: std::sync::Mutex<InputState>,
}

struct InputState {
    backend: String,
    problem: Option<String>,
    _capture: Option<Capture>,
}

impl InputHandle {
    pub fn status(&self, id: &str) -> AudioInputStatus {
        let state = crate::engine::lock(&self.state);
        AudioInputStatus {
            id: id.to_owned(),
            backend: state.backend.clone(),
            problem: state.problem.clone(),
        }
    }
}

/// The audio side: inputs → mixer → tee, a raw tap (WHIP's Opus) and an AAC tap (RTMP, SRT,
/// recording) behind a valve.
pub(super) struct AudioChain {
    pub(in crate::engine) mixer: gst::Element,
    pub(in crate::engine) inputs: HashMap<String, InputHandle>,
    pub(in crate::engine) raw: Tap,
    pub(in crate::engine) aac: Tap,
}

impl AudioChain {
    /// With no input configured, one of silence: the outputs always have a sound track.
    pub(in crate::engine) fn build(
        pipeline: &gst::Pipeline,
        configured: &[AudioInput],
    ) -> Result<Self> {
        let mixer = make("audiomixer", Some("mixer"))?;
        let mix_caps = make("capsfilter", None)?;
        mix_caps.set_property(
            "caps",
            gst::Caps::builder("audio/x-raw")
                .field("rate", MIX_CAPS_RATE)
                .field("channels", 2i32)
                .build(),
        );
        let audio_tee = make("tee", None)?;
        pipeline
            .add_many([&mixer, &mix_caps, &audio_tee])
            .map_err(add_error)?;
        gst::Element::link_many([&mixer, &mix_caps, &audio_tee]).map_err(link_error)?;
        let inputs = if configured.is_empty() {
            vec![AudioInput::new("silence", AudioSource::Silence)]
        } else {
            configured.to_vec()
        };
        let mut handles = HashMap::new();
        for input in &inputs {
            handles.insert(input.id.clone(), add_input(pipeline, &mixer, input)?);
        }
        let raw_audio_sink = branch_appsink(pipeline, &audio_tee, &[], true)?;
        let aac_valve = make("valve", None)?;
        let aac = super::encoder::aac_encoder()?;
        let aac_parse = make("aacparse", None)?;
        let aac_convert = make("audioconvert", None)?;
        let aac_sink = branch_appsink(
            pipeline,
            &audio_tee,
            &[&aac_valve, &aac_convert, &aac, &aac_parse],
            false,
        )?;
        Ok(Self {
            mixer,
            inputs: handles,
            raw: Tap::new(raw_audio_sink, None, None),
            aac: Tap::new(aac_sink, Some(aac_valve), None),
        })
    }
}

/// Adds an input chain ending at a new request pad of `mixer`.
pub fn add_input(
    pipeline: &gst::Pipeline,
    mixer: &gst::Element,
    input: &AudioInput,
) -> Result<InputHandle> {
    let opened = source::open(input, None)?;
    let suppression = add_chain(
        pipeline,
        mixer,
        &input.id,
        opened.element,
        (input.gain, input.muted),
    )?;
    suppression.set_enabled(input.noise_suppression);
    Ok(InputHandle {
        suppression,
        state: std::sync::Mutex::new(InputState {
            backend: opened.backend,
            problem: opened.problem,
            _capture: opened.capture,
        }),
    })
}

/// Mixes the sound `src` delivers (a media layer's) like any input: the same conversion,
/// gain, mute and meter, joining a mixer that may already be running.
pub fn add_element_input(
    pipeline: &gst::Pipeline,
    mixer: &gst::Element,
    input_id: &str,
    src: gst::Element,
    gain: f64,
    muted: bool,
) -> Result<()> {
    add_chain(pipeline, mixer, input_id, src, (gain, muted))?;
    let bin = pipeline
        .by_name(&element_name(input_id))
        .ok_or_else(|| Error::Invalid(format!("audio input {input_id} vanished")))?;
    bin.sync_state_with_parent()
        .map_err(|e| Error::Invalid(format!("audio input {input_id}: {e}")))
}

/// Takes an input out of the mix; nothing happens if there is no such input.
pub fn remove_input(pipeline: &gst::Pipeline, mixer: &gst::Element, input_id: &str) {
    let Some(bin) = pipeline.by_name(&element_name(input_id)) else {
        return;
    };
    let _ = bin.set_state(gst::State::Null);
    if let Some(src) = bin.static_pad("src")
        && let Some(pad) = src.peer()
    {
        let _ = src.unlink(&pad);
        mixer.release_request_pad(&pad);
    }
    let _ = pipeline.remove(&bin);
}

/// What every input is converted to before the mixer (and what a media layer's sound is
/// decoded to).
pub fn mix_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", MIX_CAPS_RATE)
        .field("channels", 2i32)
        .build()
}

fn add_chain(
    pipeline: &gst::Pipeline,
    mixer: &gst::Element,
    input_id: &str,
    src: gst::Element,
    (gain, muted): (f64, bool),
) -> Result<NoiseSuppression> {
    let bin = gst::Bin::with_name(&element_name(input_id));
    src.set_property("name", source::SOURCE);
    source::drop_eos(&src);
    let convert = make("audioconvert", Some("convert"))?;
    let resample = make("audioresample", None)?;
    let format = make("capsfilter", None)?;
    format.set_property("caps", mix_caps());
    let volume = make("volume", Some("gain"))?;
    volume.set_property("volume", gain.clamp(0.0, 4.0));
    volume.set_property("mute", muted);
    let level = make("level", Some("meter"))?;
    level.set_property("interval", 50_000_000u64);
    level.set_property("post-messages", true);
    let elements = [&src, &convert, &resample, &format, &volume, &level];
    let failed = |e: gst::glib::BoolError| Error::Invalid(format!("audio input {input_id}: {e}"));
    bin.add_many(elements).map_err(failed)?;
    gst::Element::link_many(elements).map_err(failed)?;
    let suppression = NoiseSuppression::default();
    suppression.attach(&volume.static_pad("sink").expect("volume sink"), 2);
    let ghost = gst::GhostPad::builder_with_target(&level.static_pad("src").expect("level src"))
        .map_err(|e| Error::Invalid(e.to_string()))?
        .name("src")
        .build();
    bin.add_pad(&ghost)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    pipeline
        .add(&bin)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let pad = mixer
        .request_pad_simple("sink_%u")
        .ok_or_else(|| Error::Invalid("audiomixer has no free pad".into()))?;
    ghost
        .link(&pad)
        .map_err(|e| Error::Invalid(format!("audio input {input_id}: {e}")))?;
    Ok(suppression)
}

/// The audio input an element belongs to, for a message posted by it (or by an element
/// nested inside its source, as autoaudiosrc's chosen element is).
pub fn input_of(element: &gst::Object) -> Option<String> {
    let mut current = element.clone();
    loop {
        let parent = current.parent()?;
        if parent.parent().is_none() {
            return current.name().strip_prefix("audio-").map(str::to_owned);
        }
        current = parent;
    }
}

/// Replaces a failed input's source with silence and records why; a second error from the
/// same failure changes nothing, nor does the error of a source already replaced (the anchor
/// picked another one while the bus thread was on its way here). Returns whether it replaced
/// anything.
pub fn fall_back_to_silence(
    pipeline: &gst::Pipeline,
    input_id: &str,
    handle: &InputHandle,
    failed: &gst::Object,
    problem: &str,
) -> Result<bool> {
    let mut state = crate::engine::lock(&handle.state);
    if state.problem.is_some() && state.backend == "silence" {
        return Ok(false);
    }
    let bin = pipeline
        .by_name(&element_name(input_id))
        .and_then(|b| b.downcast::<gst::Bin>().ok())
        .ok_or_else(|| Error::Invalid(format!("no audio input '{input_id}'")))?;
    if !failed.has_as_ancestor(&bin) {
        return Ok(false);
    }
    source::swap(&bin, source::silence(pipeline.current_running_time())?)?;
    // The cpal stream (if any) stops with its handle.
    state._capture = None;
    state.problem = Some(format!("{} ({}); sending silence", problem, state.backend));
    state.backend = "silence".to_owned();
    Ok(true)
}

/// Puts what `input` asks for (another microphone, silence, a tone) in place of the running
/// input's source, keeping its gain, meter, noise suppression and place in the mix. A device
/// that cannot open becomes silence with the reason, as at start.
pub fn replace_source(
    pipeline: &gst::Pipeline,
    handle: &InputHandle,
    input: &AudioInput,
) -> Result<AudioInputStatus> {
    // Held throughout, so a failure the bus thread is handling cannot interleave.
    let mut state = crate::engine::lock(&handle.state);
    let bin = pipeline
        .by_name(&element_name(&input.id))
        .and_then(|b| b.downcast::<gst::Bin>().ok())
        .ok_or_else(|| Error::Invalid(format!("audio: no audio input '{}'", input.id)))?;
    let opened = source::open(input, pipeline.current_running_time())?;
    source::swap(&bin, opened.element)?;
    // The old cpal stream (if any) stops with its handle.
    state._capture = opened.capture;
    state.backend = opened.backend;
    state.problem = opened.problem;
    drop(state);
    Ok(handle.status(&input.id))
}

/// Sets gain and mute of a running input.
pub fn set_gain(pipeline: &gst::Pipeline, input_id: &str, gain: f64, muted: bool) -> Result<()> {
    let bin = pipeline
        .by_name(&element_name(input_id))
        .and_then(|b| b.downcast::<gst::Bin>().ok())
        .ok_or_else(|| Error::Invalid(format!("no audio input '{input_id}'")))?;
    let volume = bin
        .by_name("gain")
        .ok_or_else(|| Error::Invalid("input without gain".into()))?;
    volume.set_property("volume", gain.clamp(0.0, 4.0));
    volume.set_property("mute", muted);
    Ok(())
}

/// Reads a `level` element message; `None` for any other message.
pub fn parse_level(message: &gst::Message) -> Option<AudioLevel> {
    let gst::MessageView::Element(element) = message.view() else {
        return None;
    };
    let structure = element.structure()?;
    if structure.name() != "level" {
        return None;
    }
    let bin = message.src()?.parent()?;
    let input = bin.name().strip_prefix("audio-")?.to_owned();
    let read = |field: &str| -> Vec<f64> {
        structure
            .get::<gst::glib::ValueArray>(field)
            .map(|values| values.iter().filter_map(|v| v.get::<f64>().ok()).collect())
            .unwrap_or_default()
    };
    Some(AudioLevel {
        input,
        peak_db: read("peak"),
        rms_db: read("rms"),
    })
}
