//! What a second canvas costs: the studio's programme (the test camera with beauty and a
//! green-screen background blur, a logo, the 讲解 card laid out per canvas) composed on one
//! 1280×720 canvas recording with x264, against the same sources composed on 1280×720 and
//! 720×1280 at once, each canvas recording with its own x264. The one-canvas run is the
//! baseline in the same session; runs alternate so drift hits both alike. A third
//! configuration composes the second canvas with nothing encoding it (composition alone).
//!
//! `cargo run --release -p anchordesk-bench --bin dual-canvas -- [SECONDS] [ROUNDS]` writes
//! `bench/results/<date>-dual-canvas.json`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anchordesk_lib::card::{self, CARD_PREFIX, CardContent};
use anchordesk_pipelines::engine::{AudioInput, AudioSource, EncoderChoice, Engine, EngineConfig};
use anchordesk_pipelines::outputs::{OutputKind, OutputSpec, RecordFormat};
use anchordesk_pipelines::scene::{
    Background, BackgroundMode, Beauty, Canvas, CanvasId, Effects, Layer, MaskSource, Rect,
    SCENE_VERSION, Scene, SceneCollection, Source,
};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

const TARGET_RATIO: f64 = 1.6;
const WARM_UP: Duration = Duration::from_secs(4);
const LANDSCAPE: Canvas = Canvas {
    width: 1280,
    height: 720,
    fps: 30,
};
const PORTRAIT: Canvas = Canvas {
    width: 720,
    height: 1280,
    fps: 30,
};

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    /// One canvas, one recording.
    One,
    /// Two canvases, a recording each.
    Two,
    /// Two canvases, only the first recording.
    TwoComposedOnly,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::One => "one_canvas",
            Setup::Two => "two_canvases",
            Setup::TwoComposedOnly => "two_canvases_second_not_encoded",
        }
    }
}

fn layer(id: &str, source: Source, rect: Rect) -> Layer {
    Layer::new(id, source, rect)
}

fn scenes(setup: Setup, png: &Path) -> SceneCollection {
    let second = (setup != Setup::One).then_some(PORTRAIT);
    let mut camera = layer(
        "cam",
        Source::Camera {
            device: "test".into(),
            mode: None,
        },
        Rect {
            x: 0,
            y: 0,
            width: 1280,
            height: 720,
        },
    );
    camera.effects = Effects {
        beauty: Beauty {
            smooth: 0.7,
            whiten: 0.3,
            sharpen: 0.3,
        },
        background: Background {
            mode: BackgroundMode::Blur,
            source: MaskSource::ChromaKey,
            ..Background::default()
        },
    };
    let logo = layer(
        "logo",
        Source::Image { path: png.into() },
        Rect {
            x: 1040,
            y: 40,
            width: 200,
            height: 100,
        },
    );
    let pinned = CardContent {
        product_id: 1,
        position: 3,
        title: "保温杯 316不锈钢 500ml".into(),
        price_fen: 6900,
        image_url: None,
        skus: vec![(1, 40)],
    };
    let mut layers = vec![camera, logo];
    layers.extend(card::per_canvas(CARD_PREFIX, LANDSCAPE, second, |on| {
        card::layers(&pinned, Some(png.into()), None, None, on)
    }));
    SceneCollection {
        version: SCENE_VERSION,
        canvas: LANDSCAPE,
        second_canvas: second,
        scenes: vec![Scene {
            id: "bench".into(),
            name: String::new(),
            layers,
        }],
        active_scene: None,
    }
}

fn record(id: &str, path: &Path, canvas: CanvasId) -> OutputSpec {
    OutputSpec {
        id: id.into(),
        kind: OutputKind::Record {
            path: path.into(),
            format: RecordFormat::Mkv,
        },
        canvas,
    }
}

/// Video packets in a recording, counted by ffprobe, and the picture size.
fn probe(path: &Path) -> Result<(u64, String)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_packets,width,height"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .context("run ffprobe")?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let fields: Vec<&str> = text.split(',').collect();
    ensure!(fields.len() == 3, "ffprobe on {}: {text}", path.display());
    Ok((fields[2].parse()?, format!("{}x{}", fields[0], fields[1])))
}

fn run(setup: Setup, png: &Path, dir: &Path, seconds: u64, round: usize) -> Result<Value> {
    let engine = Engine::start(EngineConfig {
        scenes: scenes(setup, png),
        encoder: EncoderChoice::X264,
        video_bitrate_kbps: 2500,
        audio: vec![AudioInput::new(
            "tone",
            AudioSource::Tone { frequency: 440.0 },
        )],
    })?;
    let mut files = vec![dir.join(format!("{}-{round}-first.mkv", setup.name()))];
    engine.start_output(record("first", &files[0], CanvasId::First))?;
    if setup == Setup::Two {
        files.push(dir.join(format!("{}-{round}-second.mkv", setup.name())));
        engine.start_output(record("second", &files[1], CanvasId::Second))?;
    }
    std::thread::sleep(WARM_UP);
    let (cpu0, t0) = (anchordesk_bench::cpu_seconds("self"), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu, wall) = (
        anchordesk_bench::cpu_seconds("self") - cpu0,
        t0.elapsed().as_secs_f64(),
    );
    let stats = engine.stats().borrow().clone();
    engine.shutdown();
    let mut recorded = Vec::new();
    for file in &files {
        let (packets, size) = probe(file)?;
        recorded.push(json!({ "size": size, "video_frames": packets }));
        let _ = std::fs::remove_file(file);
    }
    let cpu_percent = cpu / wall * 100.0;
    println!(
        "{:<34} round {round}: CPU {cpu_percent:5.1} % of one core, canvas fps {:.1}/{}, recorded {recorded:?}",
        setup.name(),
        stats.fps,
        stats
            .second_fps
            .map_or("-".to_owned(), |f| format!("{f:.1}")),
    );
    Ok(json!({
        "setup": setup.name(),
        "round": round,
        "cpu_percent_of_one_core": (cpu_percent * 10.0).round() / 10.0,
        "first_canvas_fps": stats.fps,
        "second_canvas_fps": stats.second_fps,
        "recordings": recorded,
    }))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map_or(Ok(20), |a| a.parse())?;
    let rounds: usize = args.get(2).map_or(Ok(3), |a| a.parse())?;
    anchordesk_pipelines::init()?;
    let dir = tempfile::tempdir()?;
    let png = dir.path().join("logo.png");
    image::RgbaImage::from_fn(200, 100, |x, _| {
        image::Rgba([(x % 256) as u8, 80, 200, 255])
    })
    .save(&png)?;

    let setups = [Setup::One, Setup::Two, Setup::TwoComposedOnly];
    let mut runs = Vec::new();
    for round in 0..rounds {
        for setup in setups {
            runs.push(run(setup, &png, dir.path(), seconds, round)?);
        }
    }
    let cpu_of = |setup: Setup| {
        anchordesk_bench::median(
            runs.iter()
                .filter(|r| r["setup"] == setup.name())
                .filter_map(|r| r["cpu_percent_of_one_core"].as_f64())
                .collect(),
        )
    };
    let (one, two, composed) = (
        cpu_of(Setup::One),
        cpu_of(Setup::Two),
        cpu_of(Setup::TwoComposedOnly),
    );
    let ratio = two / one;
    println!(
        "median CPU: one canvas {one:.1} %, two canvases {two:.1} % (×{ratio:.2}; target ≤ ×{TARGET_RATIO}), second canvas composed but not encoded {composed:.1} % (×{:.2})",
        composed / one
    );

    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "dual-canvas",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin dual-canvas -- {seconds} {rounds}"),
        "setup": format!("the engine in this process: test camera 1280x720 30 fps with beauty (smooth 0.7, whiten 0.3, \
            sharpen 0.3) and background blur (chroma key), a 200x100 PNG logo, the 讲解 card (panel, picture, 3 texts) \
            laid out per canvas; x264 at 2500 kbit/s recording Matroska per encoded canvas, a 440 Hz tone in AAC; \
            CPU of the whole process over {seconds} s after {} s warm-up; {rounds} rounds, the setups alternating; \
            medians. Baseline: one 1280x720 canvas recording (same run)", WARM_UP.as_secs()),
        "runs": runs,
        "median_cpu_percent": {
            "one_canvas": one,
            "two_canvases": two,
            "two_canvases_second_not_encoded": composed,
        },
        "two_over_one": (ratio * 100.0).round() / 100.0,
        "composed_only_over_one": (composed / one * 100.0).round() / 100.0,
        "target": format!("two canvases <= {TARGET_RATIO}x one canvas's CPU (sources decoded and effects run once)"),
        "target_met": ratio <= TARGET_RATIO,
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-dual-canvas.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}
