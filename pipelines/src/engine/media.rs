//! Media layers: a video file played in a pipeline of its own at its own pace (looping by
//! seeking back at the end). Its frames reach the canvas, and its sound the programme's mixer,
//! through appsrcs that stamp them on arrival: the file's timeline and seeks never disturb the
//! live pipeline, and picture and sound, paced by the same clock, arrive together.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::audio;
use super::sources::{element, filter_element};

/// Where media layers' sound goes: the engine's mixer.
#[derive(Clone)]
pub struct SoundTarget {
    pub pipeline: gst::glib::WeakRef<gst::Pipeline>,
    pub mixer: gst::glib::WeakRef<gst::Element>,
}

impl SoundTarget {
    pub fn new(pipeline: &gst::Pipeline, mixer: &gst::Element) -> Self {
        Self {
            pipeline: pipeline.downgrade(),
            mixer: mixer.downgrade(),
        }
    }

    /// Takes a layer's sound out of the mix (after its player stopped).
    pub fn remove(&self, layer_id: &str) {
        if let (Some(pipeline), Some(mixer)) = (self.pipeline.upgrade(), self.mixer.upgrade()) {
            audio::remove_input(&pipeline, &mixer, &input_id(layer_id));
        }
    }

    pub fn set_gain(&self, layer_id: &str, gain: f64, muted: bool) {
        if let Some(pipeline) = self.pipeline.upgrade() {
            // A file without sound has no input: nothing to set.
            let _ = audio::set_gain(&pipeline, &input_id(layer_id), gain, muted);
        }
    }
}

/// The mixer input that carries a media layer's sound (its meter reports under this id).
pub fn input_id(layer_id: &str) -> String {
    format!("media-{layer_id}")
}

/// A layer's sound, and how loud.
pub struct Sound {
    pub target: SoundTarget,
    pub layer_id: String,
    pub gain: f64,
    pub muted: bool,
}

pub struct MediaPlayer {
    pipeline: gst::Pipeline,
    stop: Arc<AtomicBool>,
}

impl MediaPlayer {
    /// Starts playing `path`; returns the player and the appsrc its frames arrive on. The
    /// file's sound, if it has any, joins the mixer of `sound` once the file is opened.
    pub fn start(
        path: &Path,
        looping: bool,
        sound: Option<Sound>,
    ) -> Result<(Self, gst::Element), String> {
        if !path.is_file() {
            return Err(format!("{}: 文件不存在 (no such file)", path.display()));
        }
        let appsrc = gst_app::AppSrc::builder()
            .is_live(true)
            .format(gst::Format::Time)
            .max_buffers(2)
            .leaky_type(gst_app::AppLeakyType::Upstream)
            .build();
        let pipeline = gst::Pipeline::new();
        let filesrc = element("filesrc")?;
        filesrc.set_property("location", path);
        let decode = element("decodebin")?;
        let convert = element("videoconvert")?;
        let scale = element("videoscale")?;
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "BGRA")
            .build();
        let filter = filter_element(&caps)?;
        let sink = gst_app::AppSink::builder().sync(true).build();
        pipeline
            .add_many([
                &filesrc,
                &decode,
                &convert,
                &scale,
                &filter,
                sink.upcast_ref(),
            ])
            .map_err(|e| e.to_string())?;
        filesrc.link(&decode).map_err(|e| e.to_string())?;
        gst::Element::link_many([&convert, &scale, &filter, sink.upcast_ref()])
            .map_err(|e| e.to_string())?;
        let convert_weak = convert.downgrade();
        let player_weak = pipeline.downgrade();
        decode.connect_pad_added(move |_, pad| {
            let kind = pad
                .current_caps()
                .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
                .unwrap_or_default();
            if kind.starts_with("video/") {
                if let Some(convert) = convert_weak.upgrade()
                    && let Some(sink) = convert.static_pad("sink")
                    && !sink.is_linked()
                {
                    let _ = pad.link(&sink);
                }
            } else if kind.starts_with("audio/")
                && let (Some(sound), Some(player)) = (&sound, player_weak.upgrade())
                && let Err(e) = play_sound(&player, pad, sound)
            {
                tracing::warn!(layer = %sound.layer_id, error = %e, "media layer's sound not mixed");
            }
        });
        let target = appsrc.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| forward(sink, &target))
                .build(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let bus = pipeline.bus().ok_or("media bus")?;
        let weak = pipeline.downgrade();
        let stopping = stop.clone();
        let name = path.display().to_string();
        std::thread::Builder::new()
            .name("media-loop".into())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
                        continue;
                    };
                    let Some(pipeline) = weak.upgrade() else {
                        break;
                    };
                    match message.view() {
                        gst::MessageView::Eos(_) if looping => {
                            let _ = pipeline.seek_simple(
                                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                                gst::ClockTime::ZERO,
                            );
                        }
                        gst::MessageView::Error(e) => {
                            tracing::warn!(file = %name, error = %e.error(), "media layer stopped");
                            break;
                        }
                        _ => {}
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| format!("{}: cannot play: {e}", path.display()))?;
        Ok((Self { pipeline, stop }, appsrc.upcast()))
    }
}

/// Hands a decoded sample to the live side, to be stamped there on arrival.
fn forward(
    sink: &gst_app::AppSink,
    target: &gst_app::AppSrc,
) -> Result<gst::FlowSuccess, gst::FlowError> {
    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
    if let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) {
        if target.caps().as_deref() != Some(caps) {
            target.set_caps(Some(&caps.to_owned()));
        }
        super::arrival::push(target, buffer.copy());
    }
    Ok(gst::FlowSuccess::Ok)
}

/// The file has sound: decode it to the mix format in the player (paced like its frames) and
/// feed it to a new mixer input. Added only now, as a sink that never gets a buffer would
/// keep the player from ever starting.
fn play_sound(player: &gst::Pipeline, pad: &gst::Pad, sound: &Sound) -> Result<(), String> {
    let (Some(engine), Some(mixer)) = (
        sound.target.pipeline.upgrade(),
        sound.target.mixer.upgrade(),
    ) else {
        return Err("the engine is gone".into());
    };
    let live = gst_app::AppSrc::builder()
        .caps(&audio::mix_caps())
        .is_live(true)
        .format(gst::Format::Time)
        .max_buffers(8)
        .leaky_type(gst_app::AppLeakyType::Upstream)
        .build();
    audio::add_element_input(
        &engine,
        &mixer,
        &input_id(&sound.layer_id),
        live.clone().upcast(),
        sound.gain,
        sound.muted,
    )
    .map_err(|e| e.to_string())?;
    let convert = element("audioconvert")?;
    let resample = element("audioresample")?;
    let format = filter_element(&audio::mix_caps())?;
    let sink = gst_app::AppSink::builder().sync(true).build();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| forward(sink, &live))
            .build(),
    );
    let elements = [&convert, &resample, &format, sink.upcast_ref()];
    player.add_many(elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(elements).map_err(|e| e.to_string())?;
    for element in elements {
        element
            .sync_state_with_parent()
            .map_err(|e| e.to_string())?;
    }
    pad.link(&convert.static_pad("sink").expect("audioconvert sink"))
        .map_err(|e| e.to_string())?;
    Ok(())
}

impl Drop for MediaPlayer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
