//! Studio engine cost: CPU time per frame and source → encoder latency for 720p30 and 1080p30
//! scenes of three layers (colour, moving camera test pattern, PNG) with x264 `veryfast`,
//! recording to Matroska, against a `gst-launch-1.0` pipeline of the same elements run in the
//! same session. Frames are counted in the recorded files (ffprobe) for both.
//!
//! `cargo run --release -p anchordesk-bench --bin engine -- [SECONDS]` writes
//! `bench/results/<date>-engine.json`; `… --bin engine -- av-sync [MINUTES]` records a long run
//! (30 minutes by default) and writes `bench/results/<date>-engine-av-sync.json`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anchordesk_pipelines::engine::{AudioInput, AudioSource, EncoderChoice, Engine, EngineConfig};
use anchordesk_pipelines::outputs::{OutputKind, OutputSpec, RecordFormat};
use anchordesk_pipelines::scene::{
    Canvas, Layer, Rect, SCENE_VERSION, Scene, SceneCollection, Source,
};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

const BITRATE_KBPS: u32 = 4000;
const WARM_UP: Duration = Duration::from_secs(3);

fn layer(id: &str, source: Source, rect: Rect) -> Layer {
    Layer::new(id, source, rect)
}

/// The three layers, as a scene and as gst-launch branches into compositor `c`.
fn scene(width: u32, height: u32, png: &Path) -> (SceneCollection, String) {
    let cam = Rect {
        x: (width / 8) as i32,
        y: (height / 8) as i32,
        width: width * 3 / 4,
        height: height * 3 / 4,
    };
    let logo = Rect {
        x: 40,
        y: 40,
        width: 320,
        height: 160,
    };
    let collection = SceneCollection {
        version: SCENE_VERSION,
        canvas: Canvas {
            width,
            height,
            fps: 30,
        },
        second_canvas: None,
        scenes: vec![Scene {
            id: "bench".into(),
            name: String::new(),
            layers: vec![
                layer(
                    "bg",
                    Source::Colour {
                        colour: "#2040C0".into(),
                    },
                    Rect {
                        x: 0,
                        y: 0,
                        width,
                        height,
                    },
                ),
                layer(
                    "cam",
                    Source::Camera {
                        device: "test".into(),
                        mode: None,
                    },
                    cam,
                ),
                layer("logo", Source::Image { path: png.into() }, logo),
            ],
        }],
        active_scene: None,
    };
    let branches = format!(
        "videotestsrc is-live=true pattern=solid-color foreground-color=0xff2040c0 ! \
           video/x-raw,format=BGRA,width=16,height=16,framerate=30/1 ! videocrop ! c.sink_1 \
         videotestsrc is-live=true pattern=smpte motion=wavy horizontal-speed=4 ! \
           video/x-raw,width=1280,height=720,framerate=30/1 ! videocrop ! c.sink_2 \
         filesrc location={png} ! pngdec ! videoconvert ! imagefreeze is-live=true ! \
           video/x-raw,framerate=30/1 ! videocrop ! c.sink_3 \
         videotestsrc is-live=true pattern=black ! video/x-raw,format=I420,width=16,height=16,framerate=30/1 ! c.sink_0",
        png = png.display()
    );
    let pads = format!(
        "sink_0::width={width} sink_0::height={height} sink_0::zorder=0 \
         sink_1::width={width} sink_1::height={height} sink_1::zorder=1 \
         sink_2::xpos={} sink_2::ypos={} sink_2::width={} sink_2::height={} sink_2::zorder=2 \
         sink_3::xpos=40 sink_3::ypos=40 sink_3::width=320 sink_3::height=160 sink_3::zorder=3",
        cam.x, cam.y, cam.width, cam.height
    );
    let launch = format!(
        "compositor name=c background=black ignore-inactive-pads=true {pads} ! \
           video/x-raw,format=AYUV,width={width},height={height},framerate=30/1 ! videoconvert ! \
           video/x-raw,format=I420 ! queue ! x264enc tune=zerolatency speed-preset=veryfast \
           bitrate={BITRATE_KBPS} key-int-max=60 bframes=0 ! h264parse ! queue ! matroskamux name=m ! \
           filesink location=OUT \
         {branches} \
         audiotestsrc is-live=true freq=440 volume=0.3 ! audioconvert ! audioresample ! \
           audio/x-raw,rate=48000,channels=2 ! avenc_aac bitrate=128000 ! aacparse ! queue ! m."
    );
    (collection, launch)
}

/// The engine on x264 with a 440 Hz tone, recording to Matroska at `file`.
fn recording_engine(scenes: SceneCollection, bitrate_kbps: u32, file: &Path) -> Result<Engine> {
    let engine = Engine::start(EngineConfig {
        scenes,
        encoder: EncoderChoice::X264,
        video_bitrate_kbps: bitrate_kbps,
        audio: vec![AudioInput::new(
            "tone",
            AudioSource::Tone { frequency: 440.0 },
        )],
    })?;
    engine.start_output(OutputSpec {
        id: "record".into(),
        kind: OutputKind::Record {
            path: file.into(),
            format: RecordFormat::Mkv,
        },
        canvas: Default::default(),
    })?;
    Ok(engine)
}

fn cpu_of(pid: u32) -> f64 {
    anchordesk_bench::cpu_seconds(&pid.to_string())
}

/// Video packets in a recording, counted by ffprobe.
fn video_packets(path: &Path) -> Result<u64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .context("run ffprobe")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| {
            format!(
                "ffprobe on {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

fn run_engine(
    width: u32,
    height: u32,
    png: &Path,
    dir: &Path,
    seconds: u64,
    watch_preview: bool,
) -> Result<Value> {
    let (scenes, _) = scene(width, height, png);
    let file = dir.join(format!("engine-{height}-{watch_preview}.mkv"));
    let engine = recording_engine(scenes, BITRATE_KBPS, &file)?;
    // The studio watches the preview; a headless run does not (and then the engine makes none).
    let preview = watch_preview.then(|| engine.preview());
    std::thread::sleep(WARM_UP);
    let me = std::process::id();
    let (cpu0, t0) = (cpu_of(me), Instant::now());
    let mut latencies = Vec::new();
    let mut stats = engine.stats();
    while t0.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(100));
        if stats.has_changed().unwrap_or(false)
            && let Some(ms) = stats.borrow_and_update().encode_latency_ms
        {
            latencies.push(ms);
        }
    }
    let (cpu, wall) = (cpu_of(me) - cpu0, t0.elapsed().as_secs_f64());
    let dropped = engine
        .output_stats()
        .first()
        .map_or(0, |o| o.dropped_frames);
    let previews = preview.map(|p| p.borrow().as_ref().map_or(0, |f| f.sequence));
    engine.shutdown();
    let packets = video_packets(&file)?;
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    Ok(json!({
        "cpu_percent": cpu / wall * 100.0,
        "frames_recorded": packets,
        "frames_in_window": (wall * 30.0).round(),
        "cpu_ms_per_frame": cpu / (wall * 30.0) * 1000.0,
        "encode_latency_ms_p50": pick(0.5),
        "encode_latency_ms_p95": pick(0.95),
        "dropped_frames": dropped,
        "preview_frames": previews,
    }))
}

fn run_gst_launch(width: u32, height: u32, png: &Path, dir: &Path, seconds: u64) -> Result<Value> {
    let (_, launch) = scene(width, height, png);
    let file = dir.join(format!("baseline-{height}.mkv"));
    let launch = launch.replace("OUT", &file.display().to_string());
    let mut child = Command::new("gst-launch-1.0")
        .arg("-e")
        .args(launch.split_whitespace())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("run gst-launch-1.0")?;
    std::thread::sleep(WARM_UP);
    let (cpu0, t0) = (cpu_of(child.id()), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu, wall) = (cpu_of(child.id()) - cpu0, t0.elapsed().as_secs_f64());
    ensure!(child.try_wait()?.is_none(), "gst-launch-1.0 exited early");
    // -e: SIGINT makes gst-launch send EOS to finalise the file; live sources do not always
    // pass it on, so after 5 s it is killed (Matroska stays readable when cut off).
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait()?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    child.wait()?;
    let packets = video_packets(&file)?;
    Ok(json!({
        "cpu_percent": cpu / wall * 100.0,
        "frames_recorded": packets,
        "cpu_ms_per_frame": cpu / (wall * 30.0) * 1000.0,
    }))
}

/// End time (s) of the video (index 0) and audio (index 1) stream in a recording, from its packets.
fn stream_ends(path: &Path) -> Result<Vec<f64>> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=stream_index,pts_time,duration_time",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .context("run ffprobe")?;
    let mut ends = vec![0.0f64; 2];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let fields: Vec<&str> = line.split(',').collect();
        if let [index, pts, duration, ..] = fields[..]
            && let (Ok(index), Ok(pts)) = (index.parse::<usize>(), pts.parse::<f64>())
            && index < 2
        {
            let end = pts + duration.parse::<f64>().unwrap_or(0.0);
            ends[index] = ends[index].max(end);
        }
    }
    Ok(ends)
}

/// A long recording with a tone: how far sound and picture drift apart. Figures: the offset
/// between the latest video and audio timestamps handed to the recording, averaged over the
/// first and the last minute, and where each stream ends in the file.
fn av_sync(minutes: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let png = dir.path().join("logo.png");
    image::RgbaImage::from_pixel(320, 160, image::Rgba([200, 40, 40, 255])).save(&png)?;
    let (scenes, _) = scene(1280, 720, &png);
    let file = dir.path().join("av-sync.mkv");
    let engine = recording_engine(scenes, 2500, &file)?;
    let started = Instant::now();
    let mut offsets: Vec<(f64, f64)> = Vec::new();
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(offset) = engine.output_stats().first().and_then(|o| o.av_offset_ms) {
            offsets.push((started.elapsed().as_secs_f64(), offset));
        }
    }
    let stats = engine.output_stats();
    engine.shutdown();
    let mean = |from: f64, to: f64| {
        let window: Vec<f64> = offsets
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, o)| *o)
            .collect();
        window.iter().sum::<f64>() / window.len().max(1) as f64
    };
    let total = started.elapsed().as_secs_f64();
    let window = 60.0f64.min(total / 2.0);
    let (first, last) = (mean(0.0, window), mean(total - window, total + 1.0));
    let ends = stream_ends(&file)?;
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "engine-av-sync",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin engine -- av-sync {minutes}"),
        "setup": "1280x720@30 three-layer scene + 440 Hz tone, x264 2.5 Mbit/s + AAC recorded to Matroska",
        "minutes": minutes,
        "av_offset_ms_first_window": first,
        "av_offset_ms_last_window": last,
        "window_s": window,
        "drift_ms": last - first,
        "av_offset_ms_max_abs": offsets.iter().map(|(_, o)| o.abs()).fold(0.0, f64::max),
        "file_video_end_s": ends[0],
        "file_audio_end_s": ends[1],
        "file_end_difference_ms": (ends[0] - ends[1]) * 1000.0,
        "dropped_frames": stats.first().map_or(0, |o| o.dropped_frames),
        "target": "drift within one video frame (33 ms) over the run",
        "target_met": (last - first).abs() <= 33.4,
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-engine-av-sync.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    Ok(())
}

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("av-sync") {
        anchordesk_pipelines::init()?;
        let minutes = std::env::args()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(30);
        return av_sync(minutes);
    }
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    anchordesk_pipelines::init()?;
    let dir = tempfile::tempdir()?;
    let png = dir.path().join("logo.png");
    let mut logo = image::RgbaImage::new(320, 160);
    for (x, y, pixel) in logo.enumerate_pixels_mut() {
        *pixel = image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            90,
            if x < 160 { 255 } else { 128 },
        ]);
    }
    logo.save(&png)?;
    let mut cases = Vec::new();
    for (width, height) in [(1280u32, 720u32), (1920, 1080)] {
        let ours = run_engine(width, height, &png, dir.path(), seconds, false)?;
        let baseline = run_gst_launch(width, height, &png, dir.path(), seconds)?;
        let with_preview = run_engine(width, height, &png, dir.path(), seconds, true)?;
        let per_frame = |v: &Value| v["cpu_ms_per_frame"].as_f64().unwrap_or(f64::NAN);
        let ratio = per_frame(&ours) / per_frame(&baseline);
        let preview_ratio = per_frame(&with_preview) / per_frame(&baseline);
        println!(
            "{width}x{height}: engine {ours} | gst-launch {baseline} | ratio {ratio:.2} | with preview {preview_ratio:.2}"
        );
        cases.push(json!({
            "canvas": format!("{width}x{height}@30"),
            "engine": ours,
            "gst_launch": baseline,
            "cpu_per_frame_ratio": ratio,
            "engine_with_preview_watched": with_preview,
            "cpu_per_frame_ratio_with_preview": preview_ratio,
        }));
    }
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "engine",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin engine -- {seconds}"),
        "setup": format!("three layers (colour, 1280x720 moving SMPTE test camera at 3/4 of the canvas, 320x160 PNG with alpha), \
            440 Hz tone; x264 veryfast zerolatency {BITRATE_KBPS} kbit/s + AAC into Matroska; the engine is measured \
            headless (no preview receiver, so no preview is made) and again with its 15 fps JPEG preview watched. Baseline: gst-launch-1.0 with the same elements and recording, in the same session; \
            CPU over {seconds} s after a {} s warm-up; latency = running time at the encoder's output minus the frame's \
            running time", WARM_UP.as_secs()),
        "cases": cases,
        "target": "CPU per frame ratio engine / gst-launch <= 1.10",
        "target_met": cases.iter().all(|c| c["cpu_per_frame_ratio"].as_f64().unwrap_or(f64::MAX) <= 1.10),
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-engine.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    Ok(())
}
