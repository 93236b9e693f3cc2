//! The video engine inside the studio: started with the window, its preview served to the
//! page as JPEGs over the `preview://` scheme, its stats pushed once a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchordesk_pipelines::engine::{
    AudioInput, AudioInputStatus, AudioLevel, AudioSource, EncoderChoice, Engine, EngineConfig,
    EngineStats, PreviewFrame, Transition,
};
use anchordesk_pipelines::outputs::{
    BitrateRange, OutputKind, OutputSpec, OutputState, RateControl, RecordFormat, check_playable,
    presets,
};
use anchordesk_pipelines::scene::{Canvas, CanvasId, Layer, SceneCollection, Source};

use crate::settings::Orientation;
use tokio::sync::watch;

/// Tauri event with `{sequence, width, height}` of the newest preview JPEG; the page then
/// loads `preview://localhost/frame?seq=<sequence>`.
pub const PREVIEW_EVENT: &str = "preview-frame";
/// Tauri event with the engine's [`EngineStats`], once a second.
pub const STATS_EVENT: &str = "engine-stats";
/// Tauri event with the audio inputs' meters (`{input: {peak_db, rms_db}}`), ten times a second.
pub const AUDIO_LEVELS_EVENT: &str = "audio-levels";
/// The studio's one audio input.
pub const MIC_INPUT: &str = "mic";
/// The id of the recording output.
pub const RECORD_OUTPUT: &str = "record";
/// The first-start guide's 5 s recording, beside (never instead of) a running recording.
pub const TEST_RECORDING_OUTPUT: &str = "test-recording";
/// The id of the output to the studio's own relay.
pub const RELAY_OUTPUT: &str = "relay";
/// Height of the monitor picture of the canvas not previewed: a thumbnail, refreshed about once
/// a second by the page, so it costs next to nothing beside the preview.
const MONITOR_HEIGHT: u32 = 360;

/// Preview frames sent to the page per second at most: the page is a monitor, not the
/// programme, and each frame costs a JPEG decode in the webview.
const PREVIEW_FPS: u64 = 15;

/// What the studio starts the engine with; from the environment so tests and kiosks can pin
/// it (`ANCHORDESK_CAMERA`, `ANCHORDESK_CANVAS`, `ANCHORDESK_AUDIO`).
#[derive(Debug, Clone, PartialEq)]
pub struct StudioEngineConfig {
    pub camera: String,
    pub canvas: Canvas,
    /// The portrait canvas composed beside a landscape one (`ANCHORDESK_CANVAS=dual`).
    pub second_canvas: Option<Canvas>,
    pub audio: AudioSource,
}

impl StudioEngineConfig {
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let camera = var("ANCHORDESK_CAMERA").unwrap_or_else(|| {
            if std::path::Path::new("/dev/video0").exists() {
                "/dev/video0".into()
            } else {
                "test".into()
            }
        });
        let orientation = match var("ANCHORDESK_CANVAS").as_deref() {
            None | Some("landscape") => Orientation::Landscape,
            Some("portrait") => Orientation::Portrait,
            Some("dual") => Orientation::Dual,
            Some(other) => {
                return Err(format!(
                    "ANCHORDESK_CANVAS: expected landscape, portrait or dual, got {other:?}"
                ));
            }
        };
        let (canvas, second_canvas) = studio_canvases(orientation, 30);
        let audio = match var("ANCHORDESK_AUDIO").as_deref() {
            None | Some("default") => AudioSource::Device { id: None },
            Some("tone") => AudioSource::Tone { frequency: 440.0 },
            Some("silence") => AudioSource::Silence,
            Some(other) => {
                return Err(format!(
                    "ANCHORDESK_AUDIO: expected default, tone or silence, got {other:?}"
                ));
            }
        };
        Ok(Self {
            camera,
            canvas,
            second_canvas,
            audio,
        })
    }

    /// The microphone saved in settings, where the environment asked for none in particular
    /// and that device is still here (an unplugged one leaves the system's default input).
    pub fn with_saved_microphone(
        mut self,
        saved: Option<&str>,
        present: impl Fn(&str) -> bool,
    ) -> Self {
        if let (AudioSource::Device { id: None }, Some(saved)) = (&self.audio, saved) {
            if present(saved) {
                self.audio = AudioSource::Device {
                    id: Some(saved.to_owned()),
                };
            } else {
                tracing::warn!(
                    microphone = saved,
                    "the saved microphone is not here; using the default input"
                );
            }
        }
        self
    }

    /// One scene with the camera filling the canvas.
    pub fn scenes(&self) -> SceneCollection {
        let mut scenes = SceneCollection::test_pattern(self.canvas);
        scenes.second_canvas = self.second_canvas;
        scenes.scenes[0].name = "主场景".into();
        let camera: &mut Layer = &mut scenes.scenes[0].layers[0];
        camera.name = "摄像头".into();
        camera.source = Source::Camera {
            device: self.camera.clone(),
            mode: None,
        };
        scenes
    }
}

type PreviewCallback = Arc<dyn Fn(&PreviewFrame) + Send + Sync>;
type StatsCallback = Arc<dyn Fn(&EngineStats) + Send + Sync>;
type LevelsCallback = Arc<dyn Fn(&HashMap<String, AudioLevel>) + Send + Sync>;

/// What a restarted engine (a canvas change) needs again: its audio and where its preview,
/// stats and meters go.
#[derive(Clone)]
struct Wiring {
    audio: AudioSource,
    on_preview: PreviewCallback,
    on_stats: StatsCallback,
    on_levels: LevelsCallback,
}

/// Cheap to clone; all clones share one engine.
#[derive(Clone)]
pub struct EngineHost {
    engine: Arc<Mutex<Option<Arc<Engine>>>>,
    failure: Arc<Mutex<Option<String>>>,
    wiring: Arc<Mutex<Option<Wiring>>>,
    /// Bumped each time a new engine runs, so overlays are laid out again on its canvas.
    generation: Arc<watch::Sender<u64>>,
}

impl Default for EngineHost {
    fn default() -> Self {
        Self {
            engine: Default::default(),
            failure: Default::default(),
            wiring: Default::default(),
            generation: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl EngineHost {
    /// Starts the engine on `scenes` and the threads that forward its preview and stats. A
    /// failure is kept for [`Self::failure`] and returned.
    pub fn start(
        &self,
        scenes: SceneCollection,
        audio: AudioSource,
        on_preview: impl Fn(&PreviewFrame) + Send + Sync + 'static,
        on_stats: impl Fn(&EngineStats) + Send + Sync + 'static,
        on_levels: impl Fn(&HashMap<String, AudioLevel>) + Send + Sync + 'static,
    ) -> Result<(), String> {
        let wiring = Wiring {
            audio,
            on_preview: Arc::new(on_preview),
            on_stats: Arc::new(on_stats),
            on_levels: Arc::new(on_levels),
        };
        *lock(&self.wiring) = Some(wiring.clone());
        self.run(scenes, wiring)
    }

    fn run(&self, scenes: SceneCollection, wiring: Wiring) -> Result<(), String> {
        let started = Engine::start(EngineConfig {
            scenes,
            encoder: EncoderChoice::Auto,
            video_bitrate_kbps: 4000,
            audio: vec![AudioInput::new(MIC_INPUT, wiring.audio.clone())],
        });
        let engine = match started {
            Ok(engine) => Arc::new(engine),
            Err(e) => {
                let message = e.to_string();
                *lock(&self.failure) = Some(message.clone());
                return Err(message);
            }
        };
        *lock(&self.failure) = None;
        *lock(&self.engine) = Some(engine.clone());
        self.generation.send_modify(|g| *g += 1);
        let mut preview = engine.preview();
        let weak = Arc::downgrade(&engine);
        let on_preview = wiring.on_preview;
        std::thread::Builder::new()
            .name("studio-preview".into())
            .spawn(move || {
                let period = Duration::from_millis(1000 / PREVIEW_FPS);
                while weak.strong_count() > 0 {
                    std::thread::sleep(period);
                    if preview.has_changed().is_err() {
                        return;
                    }
                    if let Some(frame) = preview.borrow_and_update().clone() {
                        on_preview(&frame);
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        let mut stats = engine.stats();
        let mut levels = engine.audio_levels();
        let weak = Arc::downgrade(&engine);
        let (on_stats, on_levels) = (wiring.on_stats, wiring.on_levels);
        std::thread::Builder::new()
            .name("studio-stats".into())
            .spawn(move || {
                while weak.strong_count() > 0 {
                    std::thread::sleep(Duration::from_millis(100));
                    match stats.has_changed() {
                        Ok(true) => on_stats(&stats.borrow_and_update().clone()),
                        Ok(false) => {}
                        Err(_) => return,
                    }
                    if let Ok(true) = levels.has_changed() {
                        on_levels(&levels.borrow_and_update().clone());
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Changes between landscape (1280×720), portrait (720×1280) and both: the engine
    /// restarts on the rescaled scenes, which are returned. Refused while anything is
    /// published or recorded, as an encoder cannot change its picture size mid-stream.
    pub fn set_canvas(&self, orientation: Orientation) -> Result<SceneCollection, String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        if let Some(busy) = engine
            .output_stats()
            .into_iter()
            .find(|o| !matches!(o.state, OutputState::Stopped | OutputState::Failed { .. }))
        {
            return Err(format!(
                "canvas: 请先停止推流和录制 ({}) stop publishing and recording first",
                busy.id
            ));
        }
        let scenes = self.scenes()?;
        let (canvas, second) = studio_canvases(orientation, scenes.canvas.fps);
        if scenes.canvas == canvas && scenes.second_canvas == second {
            return Ok(scenes);
        }
        let mut rescaled = scenes.with_canvas(canvas);
        rescaled.second_canvas = second;
        let wiring = lock(&self.wiring)
            .clone()
            .ok_or_else(|| self.not_running())?;
        self.shutdown();
        drop(engine);
        if let Err(e) = self.run(rescaled.clone(), wiring.clone()) {
            // Back to the canvas that worked rather than no picture at all.
            tracing::error!("engine failed on the new canvas: {e}");
            self.run(scenes, wiring)?;
            return Err(format!("canvas: {e}"));
        }
        Ok(rescaled)
    }

    /// Which canvas the preview shows; a new engine (canvas change) starts on the first.
    pub fn set_preview_canvas(&self, canvas: CanvasId) -> Result<(), String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        engine.set_preview_canvas(canvas).map_err(|e| e.to_string())
    }

    /// Changes each time a new engine starts (first start, canvas change).
    pub fn generations(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    pub fn engine(&self) -> Option<Arc<Engine>> {
        lock(&self.engine).clone()
    }

    pub fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// The newest preview JPEG.
    /// The newest picture of a canvas as a small JPEG (the monitor of the canvas that is not
    /// previewed, in 横竖双屏); `None` before its first frame or without that canvas.
    pub fn canvas_monitor_jpeg(&self, canvas: CanvasId) -> Option<Vec<u8>> {
        let frame = self.engine()?.snapshot_of(canvas)?;
        frame
            .to_jpeg_of_height(MONITOR_HEIGHT)
            .map_err(|e| tracing::debug!("canvas monitor picture: {e}"))
            .ok()
    }

    pub fn preview_jpeg(&self) -> Option<Vec<u8>> {
        let engine = self.engine()?;
        let frame = engine.preview().borrow().clone()?;
        Some(frame.jpeg.clone())
    }

    /// Publishes to a relay over WHIP (adaptive bitrate with GCC), the portrait canvas when
    /// there are two.
    pub fn go_live(&self, whip_url: &str, key: &str) -> Result<(), String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        let canvas = canvas_for(&engine, true);
        engine
            .start_output(OutputSpec {
                id: RELAY_OUTPUT.into(),
                kind: OutputKind::Whip {
                    url: whip_url.to_owned(),
                    key: key.to_owned(),
                    bitrate: BitrateRange {
                        start_kbps: 2500,
                        min_kbps: 300,
                        max_kbps: 6000,
                    },
                    stun_server: None,
                    rate_control: RateControl::GccProbe,
                    mitigation: Default::default(),
                    // Encoded once with a recording or platform push already running.
                    encoding: engine.whip_encoding_for(canvas),
                },
                canvas,
            })
            .map_err(|e| e.to_string())
    }

    /// A platform destination: the preset's (or the pasted) server with the stream key,
    /// RTMP(S) or SRT by the server's scheme. Output id `dest-<preset>`.
    pub fn start_destination(
        &self,
        preset: &str,
        server: Option<&str>,
        key: &str,
    ) -> Result<String, String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        let url = presets::push_url(preset, server, key)?;
        let id = format!("dest-{preset}");
        let kind = if url.starts_with("srt://") {
            OutputKind::Srt {
                url,
                rate_control: Default::default(),
            }
        } else {
            OutputKind::Rtmp {
                url,
                rate_control: Default::default(),
            }
        };
        engine
            .start_output(OutputSpec {
                id: id.clone(),
                kind,
                canvas: canvas_for(&engine, false),
            })
            .map_err(|e| e.to_string())?;
        Ok(id)
    }

    /// Records the programme to a new fragmented MP4 in `dir` (crash-safe); returns its path.
    pub fn start_recording(&self, dir: &std::path::Path) -> Result<std::path::PathBuf, String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = dir.join(format!("anchordesk-{stamp}.mp4"));
        engine
            .start_output(OutputSpec {
                id: RECORD_OUTPUT.into(),
                kind: OutputKind::Record {
                    path: path.clone(),
                    format: RecordFormat::Mp4,
                },
                canvas: canvas_for(&engine, false),
            })
            .map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Records `test_recording::LENGTH` of the programme (the canvas the anchor edits) into
    /// `dir`, then checks the file with a real demuxer and decoder. Blocks for the length.
    pub fn test_recording(
        &self,
        dir: &std::path::Path,
    ) -> Result<anchordesk_pipelines::outputs::Playable, String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(crate::test_recording::FILE);
        engine
            .start_output(OutputSpec {
                id: TEST_RECORDING_OUTPUT.into(),
                kind: OutputKind::Record {
                    path: path.clone(),
                    // Played back in the window, whose player fails on a fragmented file.
                    format: RecordFormat::Mp4Faststart,
                },
                canvas: engine.preview_canvas(),
            })
            .map_err(|e| e.to_string())?;
        std::thread::sleep(crate::test_recording::LENGTH);
        // Stopping finishes the file (its index is written at the end).
        engine
            .stop_output(TEST_RECORDING_OUTPUT)
            .map_err(|e| e.to_string())?;
        check_playable(&path)
            .map_err(|e| format!("试录文件无法播放 the test recording does not play: {e}"))
    }

    /// Stops any output by id (a destination, the recording, or the relay).
    pub fn stop_output(&self, id: &str) -> Result<(), String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        engine.stop_output(id).map_err(|e| e.to_string())
    }

    pub fn stop_live(&self) -> Result<(), String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        engine.stop_output(RELAY_OUTPUT).map_err(|e| e.to_string())
    }

    /// The scenes as the user edits them: without the studio's own overlays (the 讲解 card).
    pub fn scenes(&self) -> Result<SceneCollection, String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        let mut scenes = engine.scenes();
        for scene in &mut scenes.scenes {
            scene.layers.retain(|l| !is_overlay(l));
        }
        Ok(scenes)
    }

    /// Shows the user's edited scenes; the overlays now on air stay on top of every scene,
    /// whatever copy of the scenes the window edited.
    pub fn set_scenes(&self, mut scenes: SceneCollection, fade_ms: u64) -> Result<(), String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        let transition = if fade_ms == 0 {
            Transition::Cut
        } else {
            Transition::Fade(Duration::from_millis(fade_ms.min(5000)))
        };
        // The studio's overlays as the engine shows them now, read under the same lock as the
        // write: read before, a card or comment put up meanwhile would be dropped for good.
        engine
            .update_scenes(transition, |current| {
                let overlay: Vec<Layer> = current
                    .active()
                    .map(|s| s.layers.iter().filter(|l| is_overlay(l)).cloned().collect())
                    .unwrap_or_default();
                for scene in &mut scenes.scenes {
                    scene.layers.retain(|l| !is_overlay(l));
                    scene.layers.extend(overlay.iter().cloned());
                }
                Ok(scenes)
            })
            .map_err(|e| e.to_string())
    }

    pub fn set_audio(&self, gain: f64, muted: bool, noise_suppression: bool) -> Result<(), String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        if !(0.0..=4.0).contains(&gain) {
            return Err(format!("gain: {gain} is outside 0.0–4.0"));
        }
        engine
            .set_audio_gain(MIC_INPUT, gain, muted)
            .and_then(|()| engine.set_noise_suppression(MIC_INPUT, noise_suppression))
            .map_err(|e| e.to_string())
    }

    /// Switches the microphone while live (`None`: the system's default input). An engine
    /// started later (a canvas change) opens the same one.
    pub fn set_microphone(&self, device: Option<String>) -> Result<AudioInputStatus, String> {
        let engine = self.engine().ok_or_else(|| self.not_running())?;
        let source = AudioSource::Device { id: device };
        let status = engine
            .set_audio_source(MIC_INPUT, source.clone())
            .map_err(|e| e.to_string())?;
        if let Some(wiring) = lock(&self.wiring).as_mut() {
            wiring.audio = source;
        }
        Ok(status)
    }

    fn not_running(&self) -> String {
        self.failure()
            .map(|e| format!("视频引擎未运行 video engine not running: {e}"))
            .unwrap_or_else(|| "视频引擎尚未启动 video engine still starting".into())
    }

    pub fn shutdown(&self) {
        if let Some(engine) = lock(&self.engine).take() {
            engine.shutdown();
        }
    }
}

/// The studio's canvases: 720p, landscape or 9:16.
fn studio_canvas(portrait: bool, fps: u32) -> Canvas {
    let (width, height) = if portrait { (720, 1280) } else { (1280, 720) };
    Canvas { width, height, fps }
}

/// The first and second canvas for an orientation; both means landscape first.
pub fn studio_canvases(orientation: Orientation, fps: u32) -> (Canvas, Option<Canvas>) {
    match orientation {
        Orientation::Landscape => (studio_canvas(false, fps), None),
        Orientation::Portrait => (studio_canvas(true, fps), None),
        Orientation::Dual => (studio_canvas(false, fps), Some(studio_canvas(true, fps))),
    }
}

/// The engine's canvas in the orientation an output prefers (the relay's viewers are on
/// phones: portrait; platforms and recordings: landscape), or its only one.
fn canvas_for(engine: &Engine, portrait: bool) -> CanvasId {
    match engine.second_canvas() {
        Some(second) if second.is_portrait() == portrait => CanvasId::Second,
        _ => CanvasId::First,
    }
}

fn is_overlay(layer: &Layer) -> bool {
    crate::card::OVERLAY_PREFIXES
        .iter()
        .any(|prefix| layer.id.starts_with(prefix))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_picks_camera_canvas_and_audio_with_clear_errors() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let config = StudioEngineConfig::from_vars(vars(&[
            ("ANCHORDESK_CAMERA", "test"),
            ("ANCHORDESK_CANVAS", "portrait"),
            ("ANCHORDESK_AUDIO", "silence"),
        ]))
        .unwrap();
        assert_eq!(config.camera, "test");
        assert!(config.canvas.is_portrait());
        assert_eq!(config.audio, AudioSource::Silence);
        let scenes = config.scenes();
        scenes.validate().unwrap();
        assert_eq!(scenes.scenes[0].layers[0].rect.height, 1280);
        assert_eq!(scenes.second_canvas, None);

        let dual = StudioEngineConfig::from_vars(vars(&[("ANCHORDESK_CANVAS", "dual")]))
            .unwrap()
            .scenes();
        dual.validate().unwrap();
        assert!(!dual.canvas.is_portrait());
        assert!(dual.second_canvas.is_some_and(|c| c.is_portrait()));

        let err =
            StudioEngineConfig::from_vars(vars(&[("ANCHORDESK_CANVAS", "square")])).unwrap_err();
        assert!(err.contains("ANCHORDESK_CANVAS"), "{err}");
        let err = StudioEngineConfig::from_vars(vars(&[("ANCHORDESK_AUDIO", "loud")])).unwrap_err();
        assert!(err.contains("ANCHORDESK_AUDIO"), "{err}");
    }

    #[test]
    fn the_saved_microphone_is_used_when_present_and_not_pinned_by_the_environment() {
        let unpinned = || StudioEngineConfig::from_vars(|_| None).unwrap();
        let usb = Some("alsa:hw:1,0");
        let here = |id: &str| id == "alsa:hw:1,0";
        assert_eq!(
            unpinned().with_saved_microphone(usb, here).audio,
            AudioSource::Device {
                id: Some("alsa:hw:1,0".into())
            }
        );
        // Unplugged since: the default input rather than silence.
        assert_eq!(
            unpinned().with_saved_microphone(usb, |_| false).audio,
            AudioSource::Device { id: None }
        );
        assert_eq!(
            unpinned().with_saved_microphone(None, here).audio,
            AudioSource::Device { id: None }
        );
        let pinned = StudioEngineConfig::from_vars(|name| {
            (name == "ANCHORDESK_AUDIO").then(|| "tone".to_owned())
        })
        .unwrap();
        assert_eq!(
            pinned.with_saved_microphone(usb, here).audio,
            AudioSource::Tone { frequency: 440.0 }
        );
    }
}
