//! Two canvases from the same sources: per-canvas layouts, outputs and preview.

mod common;

use std::time::Duration;

use anchordesk_pipelines::engine::{Engine, RgbaImage, Transition};
use anchordesk_pipelines::scene::{CanvasId, LayerCanvases, Rect, Source};
use common::*;

#[test]
fn two_canvases_compose_the_same_sources_each_with_its_own_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mut logo = layer(
        "logo",
        Source::Image {
            path: red_png(dir.path()),
        },
        100,
        100,
        200,
        100,
    );
    logo.second_rect = Some(Rect {
        x: 400,
        y: 1000,
        width: 200,
        height: 100,
    });
    let mut landscape_only = layer(
        "side",
        Source::Colour {
            colour: "#20C040".into(),
        },
        1000,
        500,
        100,
        100,
    );
    landscape_only.canvases = LayerCanvases::First;
    let mut portrait_only = layer(
        "sheet",
        Source::Colour {
            colour: "#E0E020".into(),
        },
        0,
        0,
        100,
        100,
    );
    portrait_only.canvases = LayerCanvases::Second;
    portrait_only.second_rect = Some(Rect {
        x: 0,
        y: 1180,
        width: 720,
        height: 100,
    });
    let background = layer(
        "bg",
        Source::Colour {
            colour: "#2040C0".into(),
        },
        0,
        0,
        1280,
        720,
    );
    let mut collection = scenes(vec![background, logo, landscape_only, portrait_only]);
    collection.second_canvas = Some(PORTRAIT);
    let engine = start_collection(collection.clone());
    let second = |engine: &Engine| settled_frame_of(engine, CanvasId::Second);
    let (first, portrait) = (settled_frame(&engine), second(&engine));
    assert_eq!((first.width, first.height), (1280, 720));
    assert_eq!((portrait.width, portrait.height), (720, 1280));
    let (red, green, yellow, blue) = ([230, 20, 20], [32, 192, 64], [224, 224, 32], [32, 64, 192]);
    // The background fills both; the logo is where each layout puts it.
    assert!(close(first.pixel(200, 150), red));
    assert!(close(portrait.pixel(500, 1050), red));
    assert!(close(portrait.pixel(200, 150), blue));
    // Layers meant for one canvas stay off the other.
    assert!(close(first.pixel(1050, 550), green));
    assert!(close(first.pixel(50, 50), blue));
    assert!(close(portrait.pixel(360, 1230), yellow));
    assert!(!portrait_has(&portrait, green));
    // A live edit of the second layout moves the logo there only.
    let mut edited = collection;
    edited.scenes[0].layers[1].second_rect = Some(Rect {
        x: 100,
        y: 300,
        width: 200,
        height: 100,
    });
    engine.set_scenes(edited, Transition::Cut).unwrap();
    let (first, portrait) = (settled_frame(&engine), second(&engine));
    assert!(close(portrait.pixel(200, 350), red));
    assert!(close(portrait.pixel(500, 1050), blue));
    assert!(close(first.pixel(200, 150), red));
    // Both canvases tick at the canvas rate.
    let stats = engine.stats();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while stats.borrow().second_fps.is_none_or(|fps| fps < 20.0) {
        assert!(std::time::Instant::now() < deadline, "{:?}", stats.borrow());
        std::thread::sleep(Duration::from_millis(100));
    }
    engine.shutdown();

    fn portrait_has(frame: &RgbaImage, colour: [u8; 3]) -> bool {
        (0..frame.height).step_by(20).any(|y| {
            (0..frame.width)
                .step_by(20)
                .any(|x| close(frame.pixel(x, y), colour))
        })
    }
}

#[test]
fn an_output_on_a_second_canvas_the_scenes_lack_is_refused_by_name() {
    let engine = start(vec![]);
    let error = engine
        .start_output(anchordesk_pipelines::outputs::OutputSpec {
            id: "phones".into(),
            kind: anchordesk_pipelines::outputs::OutputKind::Record {
                path: std::env::temp_dir().join("never.mp4"),
                format: anchordesk_pipelines::outputs::RecordFormat::Mp4,
            },
            canvas: CanvasId::Second,
        })
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("canvas:"), "{error}");
    assert!(engine.snapshot_of(CanvasId::Second).is_none());
    engine.shutdown();
}

#[test]
fn a_picture_refitted_to_the_other_shape_is_cropped_not_squeezed() {
    // Red on the left quarter, blue elsewhere: squeezed into portrait the red would show at
    // the left; cropped to cover, only the middle (blue) is left.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.png");
    image::RgbaImage::from_fn(1280, 720, |x, _| {
        if x < 320 {
            image::Rgba([230, 20, 20, 255])
        } else {
            image::Rgba([32, 64, 192, 255])
        }
    })
    .save(&path)
    .unwrap();
    let mut collection = scenes(vec![layer(
        "photo",
        Source::Image { path },
        0,
        0,
        1280,
        720,
    )]);
    collection.second_canvas = Some(PORTRAIT);
    let engine = start_collection(collection);
    let first = settled_frame(&engine);
    assert!(close(first.pixel(100, 360), [230, 20, 20]));
    let portrait = settled_frame_of(&engine, CanvasId::Second);
    for x in [10, 90, 360, 710] {
        assert!(
            close(portrait.pixel(x, 640), [32, 64, 192]),
            "x {x}: {:?}",
            portrait.pixel(x, 640)
        );
    }
    engine.shutdown();
}

#[test]
fn the_preview_shows_the_canvas_being_edited() {
    let mut collection = scenes(vec![layer(
        "bg",
        Source::Colour {
            colour: "#2040C0".into(),
        },
        0,
        0,
        1280,
        720,
    )]);
    collection.second_canvas = Some(PORTRAIT);
    let engine = start_collection(collection);
    let mut preview = engine.preview();
    type Previews = tokio::sync::watch::Receiver<
        Option<std::sync::Arc<anchordesk_pipelines::engine::PreviewFrame>>,
    >;
    let size_after = |preview: &mut Previews, want: (u32, u32)| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let frame = preview.borrow_and_update().clone();
            if let Some(frame) = frame
                && (frame.width, frame.height) == want
            {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "no {want:?} preview");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    size_after(&mut preview, (640, 360));
    engine.set_preview_canvas(CanvasId::Second).unwrap();
    assert_eq!(engine.preview_canvas(), CanvasId::Second);
    size_after(&mut preview, (360, 640));
    engine.set_preview_canvas(CanvasId::First).unwrap();
    size_after(&mut preview, (640, 360));
    engine.shutdown();

    let single = start(vec![]);
    let refused = single.set_preview_canvas(CanvasId::Second).unwrap_err();
    assert!(refused.to_string().starts_with("canvas:"), "{refused}");
    single.shutdown();
}
