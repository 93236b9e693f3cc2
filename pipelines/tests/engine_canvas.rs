//! The engine renders a scene for real (GStreamer compositor, x264 idle) and edits it live.

use std::time::Duration;

use anchordesk_pipelines::engine::{Engine, RgbaImage, Transition};
use anchordesk_pipelines::scene::{Scene, Source};

mod common;

use common::*;

#[test]
fn layers_render_in_place_and_a_live_move_shows_within_two_frames() {
    let dir = tempfile::tempdir().unwrap();
    let background = [32, 64, 192];
    let engine = start(vec![
        layer(
            "bg",
            Source::Colour {
                colour: "#2040C0".into(),
            },
            0,
            0,
            1280,
            720,
        ),
        layer(
            "logo",
            Source::Image {
                path: red_png(dir.path()),
            },
            100,
            100,
            200,
            100,
        ),
        layer(
            "cam",
            Source::Camera {
                device: "test".into(),
                mode: None,
            },
            800,
            400,
            320,
            180,
        ),
        layer(
            "title",
            Source::Text {
                text: "直播 LIVE".into(),
                font: None,
                size: 40,
                colour: "#FFFFFF".into(),
            },
            100,
            500,
            500,
            120,
        ),
    ]);
    let frame = settled_frame(&engine);
    assert_eq!((frame.width, frame.height), (1280, 720));
    assert!(
        close(frame.pixel(20, 20), background),
        "{:?}",
        frame.pixel(20, 20)
    );
    assert!(
        close(frame.pixel(200, 150), [230, 20, 20]),
        "{:?}, layers {:?}",
        frame.pixel(200, 150),
        {
            std::thread::sleep(Duration::from_millis(1100));
            engine.stats().borrow().layers.clone()
        }
    );
    assert!(
        close(frame.pixel(400, 150), background),
        "image must stop at its rect"
    );
    // The SMPTE bars' left edge is light grey: nothing like the blue background.
    let cam = frame.pixel(810, 410);
    assert!(cam[0] > 150 && cam[1] > 150, "camera at its rect: {cam:?}");
    // White glyph pixels inside the text rect, none outside it.
    let white = |x0: u32, y0: u32, w: u32, h: u32| {
        (y0..y0 + h)
            .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
            .filter(|&(x, y)| frame.pixel(x, y).iter().take(3).all(|c| *c > 200))
            .count()
    };
    assert!(white(100, 500, 500, 120) > 200, "text rendered");
    assert_eq!(white(100, 630, 500, 60), 0, "nothing below the text rect");

    // Move the image; the frame timestamped two frame periods after the edit shows it moved.
    let frames = engine.frames(64);
    let mut logo = scenes(vec![]).scenes[0].layers.clone();
    logo.push(layer(
        "logo",
        Source::Image {
            path: red_png(dir.path()),
        },
        600,
        100,
        200,
        100,
    ));
    let edited_at = engine.running_time().unwrap();
    engine.put_layer("main", logo.pop().unwrap()).unwrap();
    let period = gstreamer::ClockTime::from_nseconds(1_000_000_000 / u64::from(CANVAS.fps));
    loop {
        let frame = frames.recv_timeout(Duration::from_secs(5)).unwrap();
        let pts = frame.pts.unwrap();
        let rgba = frame.to_rgba().unwrap();
        let moved =
            close(rgba.pixel(700, 150), [230, 20, 20]) && close(rgba.pixel(200, 150), background);
        if moved {
            let late = pts.saturating_sub(edited_at);
            assert!(late <= 2 * period, "move showed {late} after the edit");
            break;
        }
        assert!(
            pts < edited_at + 2 * period,
            "frame at {pts} still shows the old place"
        );
    }
    engine.shutdown();
}

#[test]
fn missing_camera_and_broken_image_show_placeholders_and_the_canvas_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let engine = start(vec![
        layer(
            "cam",
            Source::Camera {
                device: "/dev/video-missing".into(),
                mode: None,
            },
            0,
            0,
            640,
            360,
        ),
        layer("pic", Source::Image { path: broken }, 640, 0, 640, 360),
    ]);
    let frame = settled_frame(&engine);
    // The placeholder card is dark grey, not black.
    let card = frame.pixel(20, 20);
    assert!(card[0] > 30 && card[0] < 70, "placeholder card: {card:?}");
    let mut stats = engine.stats();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let current = stats.borrow_and_update().clone();
        if current.fps > 20.0 {
            let problem = |id: &str| {
                current
                    .layers
                    .iter()
                    .find(|l| l.id == id)
                    .and_then(|l| l.problem.clone())
                    .unwrap_or_default()
            };
            assert!(problem("cam").contains("/dev/video-missing"), "{current:?}");
            assert!(problem("pic").contains("broken.png"), "{current:?}");
            assert!(current.encoder.ends_with("enc"), "{current:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no stats: {current:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    engine.shutdown();
}

#[test]
fn scene_switch_with_fade_and_preview_frames() {
    let mut collection = scenes(vec![layer(
        "bg",
        Source::Colour {
            colour: "#FF0000".into(),
        },
        0,
        0,
        1280,
        720,
    )]);
    collection.scenes.push(Scene {
        id: "break".into(),
        name: "休息".into(),
        layers: vec![layer(
            "green",
            Source::Colour {
                colour: "#00FF00".into(),
            },
            0,
            0,
            1280,
            720,
        )],
    });
    let engine = start_collection(collection);
    assert!(close(settled_frame(&engine).pixel(640, 360), [255, 0, 0]));
    engine
        .switch_scene("break", Transition::Fade(Duration::from_millis(300)))
        .unwrap();
    assert!(close(settled_frame(&engine).pixel(640, 360), [0, 255, 0]));
    assert!(engine.switch_scene("nope", Transition::Cut).is_err());

    let mut preview = engine.preview();
    preview.mark_unchanged();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let frame = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), preview.changed())
            .await
            .unwrap()
            .unwrap();
        preview.borrow().clone().unwrap()
    });
    assert_eq!((frame.width, frame.height), (640, 360));
    assert_eq!(&frame.jpeg[..2], &[0xFF, 0xD8], "a JPEG");
    let snapshot = engine.snapshot().unwrap().to_jpeg().unwrap();
    assert_eq!(&snapshot[..2], &[0xFF, 0xD8]);
    // The monitor picture of a canvas: smaller, the aspect kept, still the green scene.
    let monitor = engine.snapshot().unwrap().to_jpeg_of_height(180).unwrap();
    let monitor = image::load_from_memory(&monitor).unwrap().to_rgb8();
    assert_eq!(monitor.dimensions(), (320, 180));
    // JPEG moves a saturated green a little more than the raw frames' tolerance.
    let [r, g, b] = monitor.get_pixel(160, 90).0;
    assert!(g > 200 && r < 40 && b < 40, "{:?}", [r, g, b]);
    engine.shutdown();
}

#[test]
fn engines_started_together_all_compose_frames() {
    // Several engines at once on two cores: each compositor sees its first deadline before
    // any layer has delivered a frame, which once ended a canvas for good.
    let camera = || {
        layer(
            "camera",
            Source::Camera {
                device: "test".into(),
                mode: None,
            },
            0,
            0,
            CANVAS.width,
            CANVAS.height,
        )
    };
    for round in 0..2 {
        let engines: Vec<Engine> = (0..4).map(|_| start(vec![camera()])).collect();
        std::thread::sleep(Duration::from_secs(4));
        for (i, engine) in engines.iter().enumerate() {
            let stats = engine.stats().borrow().clone();
            assert!(
                stats.frames >= 30 && stats.error.is_none(),
                "round {round}, engine {i}: {stats:?}\n{}",
                engine.diagnose()
            );
        }
        for engine in &engines {
            engine.shutdown();
        }
    }
}

#[test]
fn camera_effects_switch_on_live_on_the_running_camera() {
    use anchordesk_pipelines::scene::{Background, BackgroundMode, MaskSource};
    let mut camera = layer(
        "camera",
        Source::Camera {
            device: "test".into(),
            mode: None,
        },
        0,
        0,
        1280,
        720,
    );
    let engine = start(vec![camera.clone()]);
    let orange = |frame: &RgbaImage| {
        frame
            .pixels
            .chunks_exact(4)
            .filter(|p| close([p[0], p[1], p[2], p[3]], [255, 128, 0]))
            .count()
    };
    assert_eq!(orange(&settled_frame(&engine)), 0);

    // The test camera's SMPTE bars include a full green one: key it out, put orange behind.
    camera.effects.background = Background {
        mode: BackgroundMode::Colour,
        source: MaskSource::ChromaKey,
        key_colour: "#00FF00".into(),
        similarity: 0.1,
        colour: "#FF8000".into(),
        ..Background::default()
    };
    camera.effects.beauty.smooth = 0.5;
    engine
        .set_scenes(scenes(vec![camera.clone()]), Transition::Cut)
        .unwrap();
    // The change reaches the canvas a few frames later (queues; the effect elements take
    // their settings at their next frame, later when five engines share two cores).
    let until = |done: &dyn Fn(usize) -> bool| {
        (0..30)
            .map(|_| orange(&settled_frame(&engine)))
            .find(|n| done(*n))
    };
    let keyed = until(&|n| n > 0).unwrap_or(0);
    // One bar of seven across the top two thirds of the picture.
    assert!(keyed > 1280 * 720 / 16, "{keyed} orange pixels");
    assert!(
        engine
            .stats()
            .borrow()
            .layers
            .iter()
            .all(|l| l.problem.is_none())
    );

    camera.effects = Default::default();
    engine
        .set_scenes(scenes(vec![camera]), Transition::Cut)
        .unwrap();
    assert_eq!(until(&|n| n == 0), Some(0), "off again");
}
