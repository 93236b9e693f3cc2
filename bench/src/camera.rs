//! What a camera costs the engine by format: a full-canvas camera layer at 720p30 and 1080p30,
//! raw, MJPEG and H.264 (the `test` camera: pre-encoded frames sent at 30 fps and decoded
//! by the path a real webcam of that format takes), with no output running. Measures the
//! process's CPU and how many new camera pictures reach the canvas per second (a frame that
//! differs from the one before; the pattern scrolls). Raw in the same run is the reference
//! (its cost is the pattern being painted each frame, a webcam's is the USB copy).
//!
//! `cargo run --release -p anchordesk-bench --bin camera -- [SECONDS]` (default 15) writes
//! `bench/results/<date>-camera.json`.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anchordesk_pipelines::engine::{Engine, EngineConfig, best_decoder};
use anchordesk_pipelines::scene::{
    CameraFormat, CameraMode, Canvas, Layer, Rect, SCENE_VERSION, Scene, SceneCollection, Source,
};
use anyhow::{Context, Result};
use serde_json::{Value, json};

const WARM_UP: Duration = Duration::from_secs(3);

fn engine(format: CameraFormat, width: u32, height: u32) -> Result<Engine> {
    let canvas = Canvas {
        width,
        height,
        fps: 30,
    };
    let layer = Layer::new(
        "cam",
        Source::Camera {
            device: "test".into(),
            mode: Some(CameraMode {
                width,
                height,
                fps: 30,
                format,
            }),
        },
        Rect {
            x: 0,
            y: 0,
            width,
            height,
        },
    );
    Ok(Engine::start(EngineConfig {
        scenes: SceneCollection {
            version: SCENE_VERSION,
            canvas,
            second_canvas: None,
            scenes: vec![Scene {
                id: "main".into(),
                name: String::new(),
                layers: vec![layer],
            }],
            active_scene: None,
        },
        encoder: Default::default(),
        video_bitrate_kbps: 4000,
        audio: vec![],
    })?)
}

/// A cheap fingerprint of a frame: three rows of pixels (the bars' edges move 4 px a frame).
fn rows(frame: &anchordesk_pipelines::engine::CanvasFrame) -> Result<Vec<[u8; 4]>> {
    let image = frame.to_rgba()?;
    let ys = [image.height / 12, image.height / 2, image.height * 5 / 6];
    Ok(ys
        .iter()
        .flat_map(|&y| (0..image.width).map(move |x| (x, y)))
        .map(|(x, y)| image.pixel(x, y))
        .collect())
}

fn differ(a: &[[u8; 4]], b: &[[u8; 4]]) -> bool {
    a.iter()
        .zip(b)
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(u, v)| u.abs_diff(*v) > 40))
        .count()
        > 20
}

fn measure(format: CameraFormat, width: u32, height: u32, seconds: u64) -> Result<Value> {
    let engine = engine(format, width, height)?;
    std::thread::sleep(WARM_UP);
    let frames = engine.frames(64);
    let cpu_before = anchordesk_bench::cpu_seconds("self");
    let started = Instant::now();
    let (mut composed, mut new) = (0u64, 0u64);
    let mut last: Option<Vec<[u8; 4]>> = None;
    while started.elapsed() < Duration::from_secs(seconds) {
        let frame = frames
            .recv_timeout(Duration::from_secs(5))
            .context("canvas frame")?;
        let signature = rows(&frame)?;
        composed += 1;
        if last.as_ref().is_some_and(|l| differ(l, &signature)) {
            new += 1;
        }
        last = Some(signature);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (anchordesk_bench::cpu_seconds("self") - cpu_before) / elapsed * 100.0;
    let problem = engine
        .stats()
        .borrow()
        .layers
        .iter()
        .find_map(|l| l.problem.clone());
    engine.shutdown();
    let result = json!({
        "layer_problem": problem,
        "format": format!("{format:?}").to_lowercase(),
        "size": format!("{width}x{height}"),
        "cpu_percent_of_one_core": (cpu * 10.0).round() / 10.0,
        "canvas_fps": (composed as f64 / elapsed * 10.0).round() / 10.0,
        "new_camera_pictures_per_s": (new as f64 / elapsed * 10.0).round() / 10.0,
    });
    println!("{result}");
    Ok(result)
}

fn main() -> Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("SECONDS")?
        .unwrap_or(15);
    let mut cases = Vec::new();
    for (width, height) in [(1280, 720), (1920, 1080)] {
        for format in [CameraFormat::Raw, CameraFormat::Mjpeg, CameraFormat::H264] {
            cases.push(measure(format, width, height, seconds)?);
        }
    }
    let cpu = |format: &str, size: &str| {
        cases
            .iter()
            .find(|c| c["format"] == format && c["size"] == size)
            .and_then(|c| c["cpu_percent_of_one_core"].as_f64())
            .unwrap_or(f64::NAN)
    };
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "camera",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin camera -- {seconds}"),
        "setup": "one full-canvas camera layer (the test camera in each format, 30 fps), no output running",
        "decoders": {
            "mjpeg": best_decoder("image/jpeg"),
            "h264": best_decoder("video/x-h264"),
        },
        "cases": cases,
        "mjpeg_over_raw_cpu_720p": cpu("mjpeg", "1280x720") / cpu("raw", "1280x720"),
        "mjpeg_over_raw_cpu_1080p": cpu("mjpeg", "1920x1080") / cpu("raw", "1920x1080"),
        "target": "an MJPEG webcam at 1080p30 delivers 30 new pictures a second",
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-camera.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    Ok(())
}
