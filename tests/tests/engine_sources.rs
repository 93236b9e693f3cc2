//! Engine layers that need something outside the process: an X server to capture (Xvfb) and a
//! video file to loop (made by ffmpeg).

use std::process::Command;
use std::time::{Duration, Instant};

use anchordesk_e2e::Xvfb;
use anchordesk_pipelines::engine::{Engine, EngineConfig, RgbaImage};
use anchordesk_pipelines::scene::{
    Canvas, Layer, Rect, SCENE_VERSION, Scene, SceneCollection, Source,
};
use anyhow::{Context, Result, ensure};

fn engine_with(source: Source) -> Result<Engine> {
    let layer = Layer::new(
        "layer",
        source,
        Rect {
            x: 0,
            y: 0,
            width: 640,
            height: 360,
        },
    );
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
        video_bitrate_kbps: 1000,
        audio: vec![],
    })?)
}

fn near(pixel: [u8; 4], rgb: [u8; 3]) -> bool {
    pixel
        .iter()
        .zip(rgb)
        .all(|(a, e)| (i32::from(*a) - i32::from(e)).abs() <= 16)
}

fn frame(engine: &Engine) -> Result<RgbaImage> {
    let frames = engine.frames(4);
    let frame = frames
        .recv_timeout(Duration::from_secs(5))
        .context("canvas frame")?;
    Ok(frame.to_rgba()?)
}

fn layer_problem(engine: &Engine) -> Option<String> {
    engine
        .stats()
        .borrow()
        .layers
        .first()
        .and_then(|l| l.problem.clone())
}

#[test]
fn screen_layer_captures_the_x_display() -> Result<()> {
    let xvfb = Xvfb::start()?;
    let painter = anchordesk_e2e::x11::show_colour(&xvfb.display, 0x00C0_40A0)?;
    let engine = engine_with(Source::Screen {
        display: Some(xvfb.display.clone()),
        window: None,
    })?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let frame = frame(&engine)?;
        if near(frame.pixel(100, 100), [0xC0, 0x40, 0xA0]) {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "screen not captured: {:?}, problem {:?}",
            frame.pixel(100, 100),
            layer_problem(&engine)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Repainting the screen shows up too: it is a live capture, not a still.
    drop(painter);
    let _repainter = anchordesk_e2e::x11::show_colour(&xvfb.display, 0x0020_D020)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    // (Away from the screen's centre, where X draws the pointer.)
    while !near(frame(&engine)?.pixel(100, 100), [0x20, 0xD0, 0x20]) {
        ensure!(Instant::now() < deadline, "repaint not captured");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Outside the layer's rect, the canvas stays black.
    assert!(near(frame(&engine)?.pixel(1000, 600), [0, 0, 0]));
    engine.shutdown();
    Ok(())
}

#[test]
fn media_layer_plays_a_file_in_a_loop() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clip = dir.path().join("clip.mp4");
    // Half a second red, half a second blue.
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "color=c=0xE01010:s=320x180:r=30:d=0.5"])
        .args(["-f", "lavfi", "-i", "color=c=0x1010E0:s=320x180:r=30:d=0.5"])
        .args([
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1[v]",
            "-map",
            "[v]",
        ])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "15"])
        .arg(&clip)
        .status()
        .context("run ffmpeg")?;
    ensure!(made.success(), "ffmpeg could not make the clip");
    let engine = engine_with(Source::Media {
        path: clip,
        looping: true,
        volume: 1.0,
        muted: false,
    })?;
    // Over 3 s a 1 s clip must go red → blue → red again at least twice.
    let started = Instant::now();
    let mut colours = Vec::new();
    let frames = engine.frames(200);
    while started.elapsed() < Duration::from_secs(3) {
        let frame = frames.recv_timeout(Duration::from_secs(5))?;
        let pixel = frame.to_rgba()?.pixel(320, 180);
        let colour = if near(pixel, [0xE0, 0x10, 0x10]) {
            'r'
        } else if near(pixel, [0x10, 0x10, 0xE0]) {
            'b'
        } else {
            continue;
        };
        if colours.last() != Some(&colour) {
            colours.push(colour);
        }
    }
    let changes: String = colours.iter().collect();
    ensure!(
        changes.matches("rb").count() >= 2,
        "the clip did not loop: {changes}, problem {:?}",
        layer_problem(&engine)
    );
    engine.shutdown();
    Ok(())
}
