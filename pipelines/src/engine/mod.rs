//! The engine handle: one GStreamer pipeline that composes the active scene on one or two
//! canvases and mixes audio, feeding a preview, snapshots, and any number of outputs that start
//! and stop on their own, each on the canvas it names.
//!
//! ```text
//! layers ─► compositor ─► I420 canvas ─► tee ─┬─► raw appsink ─────────────► WHIP outputs (encode + GCC)
//!   │                                         ├─► 15 fps ≤640 px JPEG ─────► preview (first canvas)
//!   │                                         └─► valve ─► H.264 ─► appsink ► RTMP / SRT / recording
//!   └─ (tee) ─► second compositor ─► I420 ─► tee ─► the same raw and H.264 taps, its own encoder
//! audio inputs ─► gain ─► meter ─► audiomixer ─► tee ─┬─► raw appsink ──────► WHIP outputs (Opus)
//!                                                     └─► valve ─► AAC ─────► RTMP / SRT / recording
//! ```

mod arrival;
pub mod audio;
mod camera;
mod canvas;
pub mod encoder;
mod frame;
mod media;
mod monitor;
pub(crate) mod sources;
pub(crate) mod tap;
mod video;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use tokio::sync::watch;

pub use audio::{
    AudioDevice, AudioInput, AudioInputStatus, AudioLevel, AudioSource,
    list_devices as audio_devices,
};
pub use camera::best_decoder;
pub use canvas::{LayerStatus, Transition};
pub use encoder::EncoderChoice;
pub use encoder::hardware_encoders;
pub use frame::{CanvasFrame, PreviewFrame, RgbaImage};
use monitor::{describe_flow, spawn_bus_watch, spawn_stats};

pub(crate) use crate::lock;
use crate::outputs::{Output, OutputSpec, OutputStats, WhipEncoding};
use crate::scene::{Canvas, CanvasId, Layer, SceneCollection};
use crate::{Error, Result};
use audio::AudioChain;
use canvas::{CanvasGraph, CanvasTarget};
pub(crate) use tap::Taps;
use video::{CanvasVideo, FrameStore, PreviewFeed};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineConfig {
    pub scenes: SceneCollection,
    #[serde(default)]
    pub encoder: EncoderChoice,
    /// Bitrate of the shared H.264 encoder (RTMP, SRT, recording); WHIP outputs adapt their own.
    #[serde(default = "default_bitrate")]
    pub video_bitrate_kbps: u32,
    #[serde(default)]
    pub audio: Vec<AudioInput>,
}

fn default_bitrate() -> u32 {
    4_000
}

/// Seconds without a canvas frame before the stats report a stall.
const STALL_REPORT_SECS: u32 = 3;

/// Longest side of preview frames, and their rate.
pub const PREVIEW_MAX_SIDE: u32 = 640;
pub const PREVIEW_FPS: i32 = 15;

/// Published once a second on [`Engine::stats`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct EngineStats {
    /// Canvas frames composed per second.
    pub fps: f64,
    /// Canvas frames composed since the engine started.
    pub frames: u64,
    /// Frames per second of the second canvas, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_fps: Option<f64>,
    /// The whole process's CPU use over the last second, in % of one core.
    pub cpu_percent: f64,
    /// Mean time from a frame's source timestamp to its encoded form over the last second
    /// (shared encoder; only while an encoded output runs).
    pub encode_latency_ms: Option<f64>,
    /// The shared H.264 encoder (`x264enc`, `openh264enc`, `vah264enc`, …).
    pub encoder: String,
    pub video_bitrate_kbps: u32,
    pub active_scene: String,
    /// The active scene's layers; a layer with a problem shows a placeholder.
    pub layers: Vec<LayerStatus>,
    /// Each audio input, by id; one that failed reports why it sends silence.
    pub audio: Vec<AudioInputStatus>,
    pub outputs: Vec<OutputStats>,
    /// The last pipeline error outside any layer, if one happened.
    pub error: Option<String>,
}

struct Shared {
    pipeline: gst::Pipeline,
    canvas: Mutex<CanvasGraph>,
    scenes: Mutex<SceneCollection>,
    /// The first canvas first.
    canvases: Vec<CanvasOutputs>,
    encode_latency: Arc<Mutex<(f64, u32)>>,
    outputs: Mutex<HashMap<String, Output>>,
    stats: watch::Sender<EngineStats>,
    preview: watch::Sender<Option<Arc<PreviewFrame>>>,
    preview_canvas: Mutex<CanvasId>,
    levels: watch::Sender<HashMap<String, AudioLevel>>,
    audio_inputs: HashMap<String, audio::InputHandle>,
    error: Mutex<Option<String>>,
    stop: AtomicBool,
}

/// What one canvas gives: the streams its outputs read, its frames, and its preview's valve
/// (only the shown canvas's opens, and only while watched).
struct CanvasOutputs {
    id: CanvasId,
    taps: Taps,
    frames: Arc<FrameStore>,
    preview_valve: gst::Element,
}

/// Cheap to clone; the engine stops when the last handle is dropped or [`Engine::shutdown`] runs.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    pub fn start(config: EngineConfig) -> Result<Self> {
        crate::init()?;
        config.scenes.validate()?;
        let canvas = config.scenes.canvas;
        let pipeline = gst::Pipeline::with_name("anchordesk-engine");

        let (encode_latency, latency_observer) = encode_latency_observer(&pipeline);
        let mut latency_observer = Some(latency_observer);
        let (preview, _) = watch::channel(None);
        let feed = PreviewFeed {
            frames: preview.clone(),
            sequence: Arc::default(),
        };
        let mut videos = Vec::new();
        for id in config.scenes.canvas_ids() {
            let size = config.scenes.canvas_of(id).unwrap_or(canvas);
            videos.push(CanvasVideo::build(
                &pipeline,
                id,
                size,
                config.encoder,
                config.video_bitrate_kbps,
                latency_observer.take(),
                feed.clone(),
            )?);
        }

        let AudioChain {
            mixer,
            inputs: audio_inputs,
            raw: raw_audio,
            aac,
        } = AudioChain::build(&pipeline, &config.audio)?;
        let clock = gst::SystemClock::obtain();
        pipeline.use_clock(Some(&clock));

        let targets = videos
            .iter()
            .map(|v| CanvasTarget {
                id: v.id,
                compositor: v.compositor.clone(),
            })
            .collect();
        let mut graph = CanvasGraph::new(
            pipeline.clone(),
            targets,
            &config.scenes,
            Some(media::SoundTarget::new(&pipeline, &mixer)),
        );
        let active = config
            .scenes
            .active()
            .cloned()
            .ok_or_else(|| Error::Invalid("no scene".into()))?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| Error::StateChange(format!("engine: {e}")))?;
        // Layers join the running canvas the same way live edits add them: linked into a
        // compositor that had every layer from the start, its first negotiation sometimes
        // never finished when several engines started at once (no frame, ever).
        if let Err(e) = graph.show(&active, Transition::Cut) {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(e);
        }
        // Output pipelines share this clock and base time, so timestamps need no translation.
        let base_time = pipeline.base_time().unwrap_or(gst::ClockTime::ZERO);
        let canvases = videos
            .into_iter()
            .map(|v| {
                let taps = Taps {
                    raw_video: v.raw,
                    raw_audio: raw_audio.clone(),
                    h264: v.h264,
                    aac: aac.clone(),
                    clock: clock.clone(),
                    base_time,
                    encoder: v.encoder,
                };
                CanvasOutputs {
                    id: v.id,
                    taps,
                    frames: v.frames,
                    preview_valve: v.preview_valve,
                }
            })
            .collect();

        let (stats, _) = watch::channel(EngineStats::default());
        let (levels, _) = watch::channel(HashMap::new());
        let shared = Arc::new(Shared {
            pipeline,
            canvas: Mutex::new(graph),
            scenes: Mutex::new(config.scenes.clone()),
            canvases,
            encode_latency,
            outputs: Mutex::new(HashMap::new()),
            stats,
            preview,
            preview_canvas: Mutex::new(CanvasId::First),
            levels,
            audio_inputs,
            error: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        spawn_bus_watch(Arc::downgrade(&shared))?;
        spawn_stats(Arc::downgrade(&shared))?;
        Ok(Self { shared })
    }

    /// Replaces the scenes (for example after the UI edited them); the canvas size and rate
    /// cannot change while the engine runs. Invalid input changes nothing.
    pub fn set_scenes(&self, scenes: SceneCollection, transition: Transition) -> Result<()> {
        self.update_scenes(transition, |_| Ok(scenes))
    }

    /// Replaces the scenes with what `edit` makes of the current ones, under the engine's lock:
    /// no other change (an overlay's, the window's) can land between the read and the write
    /// and be lost. Invalid input changes nothing.
    pub fn update_scenes(
        &self,
        transition: Transition,
        edit: impl FnOnce(&SceneCollection) -> Result<SceneCollection>,
    ) -> Result<()> {
        let mut current = lock(&self.shared.scenes);
        let scenes = edit(&current)?;
        scenes.validate()?;
        if scenes.canvas != current.canvas {
            return Err(Error::Invalid(
                "canvas: size and frame rate cannot change while the engine runs; restart it"
                    .into(),
            ));
        }
        if scenes.second_canvas != current.second_canvas {
            return Err(Error::Invalid(
                "second_canvas: canvases cannot be added, removed or resized while the engine \
                 runs; restart it"
                    .into(),
            ));
        }
        let active = scenes
            .active()
            .cloned()
            .ok_or_else(|| Error::Invalid("no scene".into()))?;
        lock(&self.shared.canvas).show(&active, transition)?;
        *current = scenes;
        Ok(())
    }

    pub fn scenes(&self) -> SceneCollection {
        lock(&self.shared.scenes).clone()
    }

    /// The canvas the engine composes (fixed for its life), without copying its scenes.
    pub fn canvas(&self) -> Canvas {
        lock(&self.shared.scenes).canvas
    }

    /// The second canvas, if the engine composes one (fixed for its life).
    pub fn second_canvas(&self) -> Option<Canvas> {
        lock(&self.shared.scenes).second_canvas
    }

    pub fn switch_scene(&self, scene_id: &str, transition: Transition) -> Result<()> {
        let mut scenes = self.scenes();
        if scenes.scene(scene_id).is_none() {
            return Err(Error::Invalid(format!(
                "active_scene: no scene has the id '{scene_id}'"
            )));
        }
        scenes.active_scene = Some(scene_id.to_owned());
        self.set_scenes(scenes, transition)
    }

    /// Adds the layer on top of `scene_id`, or replaces the layer with the same id in place.
    pub fn put_layer(&self, scene_id: &str, layer: Layer) -> Result<()> {
        layer.validate("layer")?;
        self.edit_scene(scene_id, |scene| {
            match scene.layers.iter_mut().find(|l| l.id == layer.id) {
                Some(existing) => *existing = layer,
                None => scene.layers.push(layer),
            }
            Ok(())
        })
    }

    pub fn remove_layer(&self, scene_id: &str, layer_id: &str) -> Result<()> {
        self.edit_scene(scene_id, |scene| {
            let before = scene.layers.len();
            scene.layers.retain(|l| l.id != layer_id);
            if scene.layers.len() == before {
                return Err(Error::Invalid(format!(
                    "layer: no layer has the id '{layer_id}'"
                )));
            }
            Ok(())
        })
    }

    /// Replaces, in every scene, the layers whose id starts with `prefix` by `layers`, on top.
    /// For overlays the studio drives, such as the pinned product's card, which must stay on
    /// the picture across scene switches. Empty `layers` removes the overlay.
    pub fn set_overlay(&self, prefix: &str, layers: &[Layer]) -> Result<()> {
        for layer in layers {
            layer.validate("layer")?;
            if !layer.id.starts_with(prefix) {
                return Err(Error::Invalid(format!(
                    "layer: overlay layer '{}' must start with '{prefix}'",
                    layer.id
                )));
            }
        }
        self.update_scenes(Transition::Cut, |current| {
            let mut scenes = current.clone();
            for scene in &mut scenes.scenes {
                scene.layers.retain(|l| !l.id.starts_with(prefix));
                scene.layers.extend(layers.iter().cloned());
            }
            Ok(scenes)
        })
    }

    /// Applies `edit` to a copy of one scene and shows the result (nothing changes on error).
    fn edit_scene(
        &self,
        scene_id: &str,
        edit: impl FnOnce(&mut crate::scene::Scene) -> Result<()>,
    ) -> Result<()> {
        self.update_scenes(Transition::Cut, |current| {
            let mut scenes = current.clone();
            let scene = scenes
                .scenes
                .iter_mut()
                .find(|s| s.id == scene_id)
                .ok_or_else(|| {
                    Error::Invalid(format!("scene: no scene has the id '{scene_id}'"))
                })?;
            edit(scene)?;
            Ok(scenes)
        })
    }

    pub fn set_audio_gain(&self, input_id: &str, gain: f64, muted: bool) -> Result<()> {
        audio::set_gain(&self.shared.pipeline, input_id, gain, muted)
    }

    /// Turns noise suppression of an input on or off while live.
    pub fn set_noise_suppression(&self, input_id: &str, on: bool) -> Result<()> {
        self.shared
            .audio_inputs
            .get(input_id)
            .ok_or_else(|| Error::Invalid(format!("audio: no audio input '{input_id}'")))?
            .suppression
            .set_enabled(on);
        Ok(())
    }

    /// Changes what feeds an audio input while live (another microphone, silence, a tone).
    /// A device that is not present is refused and the input keeps what it had.
    pub fn set_audio_source(
        &self,
        input_id: &str,
        source: AudioSource,
    ) -> Result<AudioInputStatus> {
        if let AudioSource::Device { id: Some(id) } = &source
            && !audio::list_devices().iter().any(|d| &d.id == id)
        {
            return Err(Error::Invalid(format!(
                "microphone: no capture device '{id}' on this machine"
            )));
        }
        let handle = self
            .shared
            .audio_inputs
            .get(input_id)
            .ok_or_else(|| Error::Invalid(format!("audio: no audio input '{input_id}'")))?;
        audio::replace_source(
            &self.shared.pipeline,
            handle,
            &AudioInput::new(input_id, source),
        )
    }

    /// Each audio input's source and, if it failed, why it sends silence.
    pub fn audio_inputs(&self) -> Vec<AudioInputStatus> {
        self.shared.audio_statuses()
    }

    /// Changes the shared H.264 encoder's bitrate while live.
    pub fn set_video_bitrate(&self, kbps: u32) -> Result<()> {
        if !(100..=50_000).contains(&kbps) {
            return Err(Error::Invalid(
                "video_bitrate_kbps: must be between 100 and 50000".into(),
            ));
        }
        for canvas in &self.shared.canvases {
            canvas.taps.encoder.set_bitrate_kbps(kbps);
        }
        Ok(())
    }

    pub fn encoder_name(&self) -> &str {
        &self.shared.first().taps.encoder.factory
    }

    /// Starts an output; it then connects, goes live and reconnects by itself.
    pub fn start_output(&self, spec: OutputSpec) -> Result<()> {
        spec.validate()?;
        let mut outputs = lock(&self.shared.outputs);
        if outputs.contains_key(&spec.id) {
            return Err(Error::Invalid(format!(
                "output: an output with the id '{}' is already running",
                spec.id
            )));
        }
        let taps = self
            .shared
            .canvas(spec.canvas)
            .map(|c| &c.taps)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "canvas: output '{}' asks for the second canvas, and the scenes have none",
                    spec.id
                ))
            })?;
        let id = spec.id.clone();
        let output = Output::start(spec, taps.clone())?;
        outputs.insert(id, output);
        Ok(())
    }

    /// How a WHIP output of `canvas` started now should encode: with the engine's encoder
    /// when an output running on that canvas (RTMP, SRT, recording) has it encoding anyway.
    pub fn whip_encoding_for(&self, canvas: CanvasId) -> WhipEncoding {
        WhipEncoding::beside(
            lock(&self.shared.outputs).values().map(Output::spec),
            canvas,
        )
    }

    /// Stops an output; recordings are finalised before this returns.
    pub fn stop_output(&self, id: &str) -> Result<()> {
        let output = lock(&self.shared.outputs)
            .remove(id)
            .ok_or_else(|| Error::Invalid(format!("output: no output has the id '{id}'")))?;
        output.stop();
        Ok(())
    }

    pub fn output_stats(&self) -> Vec<OutputStats> {
        self.shared.output_stats()
    }

    pub fn stats(&self) -> watch::Receiver<EngineStats> {
        self.shared.stats.subscribe()
    }

    /// Preview frames of the shown canvas (the first unless [`Engine::set_preview_canvas`]
    /// chose another); they are made only while at least one receiver is alive.
    pub fn preview(&self) -> watch::Receiver<Option<Arc<PreviewFrame>>> {
        let receiver = self.shared.preview.subscribe();
        self.shared.open_preview(true);
        receiver
    }

    /// Which canvas the preview shows, e.g. the portrait one while its layout is edited.
    pub fn set_preview_canvas(&self, canvas: CanvasId) -> Result<()> {
        if self.shared.canvas(canvas).is_none() {
            return Err(Error::Invalid(
                "canvas: the scenes have no second canvas to preview".into(),
            ));
        }
        *lock(&self.shared.preview_canvas) = canvas;
        self.shared
            .open_preview(self.shared.preview.receiver_count() > 0);
        Ok(())
    }

    pub fn preview_canvas(&self) -> CanvasId {
        *lock(&self.shared.preview_canvas)
    }

    pub fn audio_levels(&self) -> watch::Receiver<HashMap<String, AudioLevel>> {
        self.shared.levels.subscribe()
    }

    /// The latest composed frame of the first canvas.
    pub fn snapshot(&self) -> Option<CanvasFrame> {
        self.snapshot_of(CanvasId::First)
    }

    /// The latest composed frame of a canvas (`None` before the first, or without that canvas).
    pub fn snapshot_of(&self, canvas: CanvasId) -> Option<CanvasFrame> {
        self.shared.canvas(canvas)?.frames.latest()
    }

    /// The canvas's running time now, comparable to frame timestamps.
    pub fn running_time(&self) -> Option<gst::ClockTime> {
        let taps = &self.shared.first().taps;
        taps.clock.time().checked_sub(taps.base_time)
    }

    /// Every composed frame of the first canvas from now on (up to `capacity` queued; later
    /// ones are skipped).
    pub fn frames(&self, capacity: usize) -> std::sync::mpsc::Receiver<CanvasFrame> {
        self.frames_of(CanvasId::First, capacity)
            .expect("the first canvas always exists")
    }

    /// Like [`Engine::frames`] for any canvas; `None` without that canvas.
    pub fn frames_of(
        &self,
        canvas: CanvasId,
        capacity: usize,
    ) -> Option<std::sync::mpsc::Receiver<CanvasFrame>> {
        Some(self.shared.canvas(canvas)?.frames.listen(capacity))
    }

    /// Pads of the composing graph whose last push failed, with the element states: what to
    /// look at when the canvas stops producing frames.
    pub fn diagnose(&self) -> String {
        Self::describe(&self.shared)
    }

    fn describe(shared: &Shared) -> String {
        let mut report = Vec::new();
        describe_flow(shared.pipeline.upcast_ref(), &mut report);
        report.join("\n")
    }

    /// Stops every output (finalising recordings), then the engine.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }
}

/// Source timestamp → encoder output on the first canvas: the running time a frame was due
/// at, against the clock when its encoded form reaches the tap (sum of milliseconds, count).
fn encode_latency_observer(pipeline: &gst::Pipeline) -> (Arc<Mutex<(f64, u32)>>, tap::Observer) {
    let encode_latency: Arc<Mutex<(f64, u32)>> = Arc::default();
    let (pipeline, latency) = (pipeline.downgrade(), encode_latency.clone());
    let observer: tap::Observer = Box::new(move |sample: &gst::Sample| {
        let Some(pipeline) = pipeline.upgrade() else {
            return;
        };
        let due = sample.buffer().and_then(|b| b.pts()).and_then(|pts| {
            sample
                .segment()
                .and_then(|s| s.downcast_ref::<gst::ClockTime>())
                .and_then(|s| s.to_running_time(pts))
        });
        if let (Some(due), Some(now)) = (due, pipeline.current_running_time()) {
            let mut sum = lock(&latency);
            sum.0 += (now.nseconds() as f64 - due.nseconds() as f64) / 1e6;
            sum.1 += 1;
        }
    });
    (encode_latency, observer)
}

impl Shared {
    /// Opens the shown canvas's preview valve while `watched`, and shuts every other.
    fn open_preview(&self, watched: bool) {
        let shown = *lock(&self.preview_canvas);
        for canvas in &self.canvases {
            let open = watched && canvas.id == shown;
            canvas.preview_valve.set_property("drop", !open);
        }
    }

    fn first(&self) -> &CanvasOutputs {
        &self.canvases[0]
    }

    fn canvas(&self, id: CanvasId) -> Option<&CanvasOutputs> {
        self.canvases.iter().find(|c| c.id == id)
    }

    /// Frames composed so far on each canvas, first canvas first.
    fn audio_statuses(&self) -> Vec<AudioInputStatus> {
        let mut list: Vec<AudioInputStatus> = self
            .audio_inputs
            .iter()
            .map(|(id, input)| input.status(id))
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// An audio input's source failed: silence takes its place so outputs keep their sound track.
    fn audio_failed(&self, input_id: &str, failed: &gst::Object, problem: &str) {
        let Some(handle) = self.audio_inputs.get(input_id) else {
            return;
        };
        match audio::fall_back_to_silence(&self.pipeline, input_id, handle, failed, problem) {
            Ok(true) => {
                tracing::warn!(input = %input_id, %problem, "audio input failed; sending silence instead")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(input = %input_id, error = %e, "audio input failed and silence could not replace it")
            }
        }
    }

    fn frame_counts(&self) -> Vec<u64> {
        self.canvases
            .iter()
            .map(|c| c.frames.count.load(Ordering::Relaxed))
            .collect()
    }

    /// Every output's figures, ordered by id.
    fn output_stats(&self) -> Vec<OutputStats> {
        let mut stats: Vec<OutputStats> = lock(&self.outputs).values().map(Output::stats).collect();
        stats.sort_by(|a, b| a.id.cmp(&b.id));
        stats
    }

    fn shutdown(&self) {
        if self.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        let outputs: Vec<Output> = lock(&self.outputs).drain().map(|(_, o)| o).collect();
        for output in outputs {
            output.stop();
        }
        // The whole graph first: stopping the compositor wakes a layer blocked in a query on
        // its pad, which stopping that layer alone would wait for forever.
        let _ = self.pipeline.set_state(gst::State::Null);
        lock(&self.canvas).clear();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.shutdown();
    }
}
