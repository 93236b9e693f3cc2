//! A media layer's sound in the programme: mixed at the layer's volume, silent when muted or
//! hidden, absent (and harmless) for a file without sound, and in step with the picture — a
//! clip that flashes and beeps at the same instants is recorded, and the recording's flashes
//! and beeps are found and compared (by ffmpeg, reading the file as a player would).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anchordesk_pipelines::engine::{Engine, EngineConfig};
use anchordesk_pipelines::outputs::{
    OutputKind, OutputSpec, OutputState, RecordFormat, check_playable,
};
use anchordesk_pipelines::scene::{
    Canvas, CanvasId, Layer, Rect, SCENE_VERSION, Scene, SceneCollection, Source,
};
use anyhow::{Context, Result, ensure};

const LAYER: &str = "clip";

fn media(path: &Path, volume: f64, muted: bool, visible: bool) -> Layer {
    let mut layer = Layer::new(
        LAYER,
        Source::Media {
            path: path.to_owned(),
            looping: true,
            volume,
            muted,
        },
        Rect {
            x: 0,
            y: 0,
            width: 1280,
            height: 720,
        },
    );
    layer.visible = visible;
    layer
}

fn engine_with(layer: Layer) -> Result<Engine> {
    Ok(Engine::start(EngineConfig {
        scenes: SceneCollection {
            version: SCENE_VERSION,
            canvas: Canvas {
                width: 1280,
                height: 720,
                fps: 30,
            },
            second_canvas: None,
            scenes: vec![Scene {
                id: "main".into(),
                name: String::new(),
                layers: vec![layer],
            }],
            active_scene: None,
        },
        encoder: Default::default(),
        video_bitrate_kbps: 1500,
        audio: vec![],
    })?)
}

fn record(engine: &Engine, path: &Path) -> Result<()> {
    engine.start_output(OutputSpec {
        id: "record".into(),
        kind: OutputKind::Record {
            path: path.to_owned(),
            format: RecordFormat::default(),
        },
        canvas: CanvasId::First,
    })?;
    // Recording starts on the output's own thread; a test that stops the engine a fixed time
    // later must first know the file is being written, or a slow start on a busy machine
    // leaves a file without a single fragment.
    let started = Instant::now();
    loop {
        let stats = engine.output_stats().into_iter().find(|o| o.id == "record");
        if stats.as_ref().is_some_and(|o| o.state == OutputState::Live) {
            return Ok(());
        }
        ensure!(
            started.elapsed() < Duration::from_secs(15),
            "the recording never started: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ffmpeg(args: &[&str], out: &Path) -> Result<()> {
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .context("run ffmpeg")?;
    ensure!(made.success(), "ffmpeg could not make {}", out.display());
    Ok(())
}

/// Median RMS (dBFS) of the media layer's meter over `window`; `None` without readings.
fn media_rms(engine: &Engine, window: Duration) -> Option<f64> {
    let mut levels = engine.audio_levels();
    let started = Instant::now();
    let mut readings = Vec::new();
    while started.elapsed() < window {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(rms) = levels
            .borrow_and_update()
            .get(&format!("media-{LAYER}"))
            .and_then(|l| l.rms_db.first().copied())
        {
            readings.push(rms);
        }
    }
    readings.sort_by(f64::total_cmp);
    readings.get(readings.len() / 2).copied()
}

#[test]
fn a_media_layers_sound_is_mixed_at_its_volume_and_falls_silent_when_muted_or_hidden() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let clip = dir.path().join("tone.mp4");
    // A 440 Hz sine at ffmpeg's default amplitude (1/8: RMS about -21 dBFS) under a colour.
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=0x20A020:s=320x180:r=30:d=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
        &clip,
    )?;
    let engine = engine_with(media(&clip, 1.0, false, true))?;
    let file = dir.path().join("programme.mp4");
    record(&engine, &file)?;

    let full =
        media_rms(&engine, Duration::from_secs(2)).context("the clip's sound has a meter")?;
    println!("volume 1: {full:.1} dBFS");
    ensure!(
        (-27.0..-15.0).contains(&full),
        "the clip's tone at full volume: {full} dBFS"
    );

    // A quarter of the amplitude is 12 dB down; the player keeps running (no rebuild).
    engine.put_layer("main", media(&clip, 0.25, false, true))?;
    std::thread::sleep(Duration::from_millis(300));
    let quarter = media_rms(&engine, Duration::from_secs(1)).context("meter")?;
    println!("volume 0.25: {quarter:.1} dBFS");
    ensure!(
        (9.0..15.0).contains(&(full - quarter)),
        "volume 0.25 should take the tone 12 dB down: {full} → {quarter}"
    );

    engine.put_layer("main", media(&clip, 1.0, true, true))?;
    std::thread::sleep(Duration::from_millis(300));
    let muted = media_rms(&engine, Duration::from_secs(1)).context("meter")?;
    ensure!(muted < -90.0, "muted: {muted} dBFS");

    engine.put_layer("main", media(&clip, 1.0, false, false))?;
    std::thread::sleep(Duration::from_millis(300));
    let hidden = media_rms(&engine, Duration::from_secs(1)).context("meter")?;
    ensure!(hidden < -90.0, "hidden: {hidden} dBFS");

    // Removed, its input leaves the mix, and its meter the readings.
    engine.remove_layer("main", LAYER)?;
    std::thread::sleep(Duration::from_millis(1500));
    ensure!(
        !engine
            .audio_levels()
            .borrow()
            .contains_key(&format!("media-{LAYER}")),
        "a removed layer's sound is no longer metered"
    );
    engine.shutdown();

    let played = check_playable(&file).map_err(anyhow::Error::msg)?;
    ensure!(played.audio && played.video, "{played:?}");
    let loudest = max_volume_db(&file)?;
    ensure!(
        loudest > -25.0,
        "the tone is in the recording: max {loudest} dB"
    );
    Ok(())
}

#[test]
fn a_video_without_sound_leaves_the_programme_sound_and_recording_intact() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clip = dir.path().join("silent.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=0x2020A0:s=320x180:r=30:d=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        &clip,
    )?;
    let engine = engine_with(media(&clip, 1.0, false, true))?;
    let file = dir.path().join("programme.mp4");
    record(&engine, &file)?;
    std::thread::sleep(Duration::from_secs(3));
    ensure!(
        media_rms(&engine, Duration::from_millis(500)).is_none(),
        "no sound, no input"
    );
    engine.shutdown();
    let played = check_playable(&file).map_err(anyhow::Error::msg)?;
    ensure!(
        played.audio && played.duration > Duration::from_secs(2),
        "{played:?}"
    );
    Ok(())
}

#[test]
fn a_media_layers_sound_stays_in_step_with_its_picture() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clip = dir.path().join("flash-beep.mp4");
    // Each second: black with a white flash from 0.5 s to 0.6 s, and a 1 kHz beep at exactly
    // the same time.
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=320x180:r=30:d=1,drawbox=c=white:t=fill:enable='between(t,0.5,0.6)'",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=48000:duration=1,volume=enable='not(between(t,0.5,0.6))':volume=0",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "10",
            "-c:a",
            "aac",
            "-shortest",
        ],
        &clip,
    )?;
    let engine = engine_with(media(&clip, 1.0, false, true))?;
    let file = dir.path().join("programme.mp4");
    record(&engine, &file)?;
    std::thread::sleep(Duration::from_secs(6));
    engine.shutdown();

    let flashes = onsets(&flash_levels(&file)?, 100.0);
    let beeps = onsets(&beep_levels(&file)?, -30.0);
    println!("flashes at {flashes:?}\nbeeps at {beeps:?}");
    ensure!(
        flashes.len() >= 3 && beeps.len() >= 3,
        "flashes {flashes:?}, beeps {beeps:?}"
    );
    // Each flash's nearest beep; lip-sync is noticed past about 45 ms early or 125 ms late.
    let offsets: Vec<f64> = flashes
        .iter()
        .map(|f| {
            beeps
                .iter()
                .map(|b| b - f)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(f64::MAX)
        })
        .collect();
    println!("beep − flash (s): {offsets:?}");
    let mut sorted = offsets.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    ensure!(
        (-0.045..=0.1).contains(&median),
        "sound and picture drift apart: median beep − flash {median:.3} s ({offsets:?})"
    );
    Ok(())
}

/// (time, mean luma) of each video frame of `file`.
fn flash_levels(file: &Path) -> Result<Vec<(f64, f64)>> {
    let text = ffmpeg_metadata(
        file,
        &[
            "-vf",
            "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
            "-an",
        ],
    )?;
    Ok(parse_metadata(&text, "lavfi.signalstats.YAVG"))
}

/// (time, RMS dBFS) of each audio frame of `file`.
fn beep_levels(file: &Path) -> Result<Vec<(f64, f64)>> {
    let text = ffmpeg_metadata(
        file,
        &[
            "-af",
            "asetnsamples=n=480,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-",
            "-vn",
        ],
    )?;
    Ok(parse_metadata(&text, "lavfi.astats.Overall.RMS_level"))
}

fn ffmpeg_metadata(file: &Path, filter: &[&str]) -> Result<String> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(file)
        .args(filter)
        .args(["-f", "null", "-"])
        .output()
        .context("run ffmpeg")?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// ffmpeg's `metadata=print` output: a `frame:… pts_time:T` line, then `key=value`.
fn parse_metadata(text: &str, key: &str) -> Vec<(f64, f64)> {
    let mut values = Vec::new();
    let mut time = None;
    for line in text.lines() {
        if let Some(t) = line.split("pts_time:").nth(1) {
            time = t
                .split_whitespace()
                .next()
                .and_then(|t| t.parse::<f64>().ok());
        } else if let (Some(value), Some(t)) = (line.strip_prefix(&format!("{key}=")), time) {
            // Silence reads "-inf".
            let value = value.trim().parse::<f64>().unwrap_or(f64::NEG_INFINITY);
            values.push((t, value));
        }
    }
    values
}

/// Times where the value rises above `threshold` (after being below it).
fn onsets(series: &[(f64, f64)], threshold: f64) -> Vec<f64> {
    let mut above = true;
    let mut times = Vec::new();
    for &(t, v) in series {
        if v > threshold && !above {
            times.push(t);
        }
        above = v > threshold;
    }
    times
}

fn max_volume_db(file: &Path) -> Result<f64> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(file)
        .args(["-af", "volumedetect", "-vn", "-f", "null", "-"])
        .output()
        .context("run ffmpeg")?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.split("max_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .with_context(|| format!("no max_volume in:\n{text}"))
}
