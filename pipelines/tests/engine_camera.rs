//! Cameras as they are sold: a 1280×720@30 MJPEG webcam and an H.264 UVC camera, stood in for
//! by the `test` camera, which encodes its pattern to that format and sends it through the
//! same decoding a real camera of that format gets. Checked from the outside: the picture on
//! the canvas has the pattern's colours and keeps changing (the camera really delivers
//! frames; the compositor alone would repeat the last one).

mod common;

use std::time::Duration;

use anchordesk_pipelines::engine::RgbaImage;
use anchordesk_pipelines::scene::{CameraFormat, CameraMode, Source};
use common::{layer, start};

fn camera(format: CameraFormat, width: u32, height: u32) -> Source {
    Source::Camera {
        device: "test".into(),
        mode: Some(CameraMode {
            width,
            height,
            fps: 30,
            format,
        }),
    }
}

fn near(actual: [u8; 4], expected: [u8; 3]) -> bool {
    // JPEG and H.264 are lossy, and chroma is shared by 2×2 pixels.
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| (i32::from(*a) - i32::from(e)).abs() <= 16)
}

/// Whether two frames differ along a few rows: the bars scroll 4 px a frame, so each of their
/// edges changes a few pixels of every row.
fn differ(a: &RgbaImage, b: &RgbaImage) -> bool {
    let mut changed = 0u32;
    for y in [60, 200, 340] {
        for x in 0..a.width {
            let (p, q) = (a.pixel(x, y), b.pixel(x, y));
            if p.iter().zip(q).any(|(u, v)| u.abs_diff(v) > 40) {
                changed += 1;
            }
        }
    }
    changed > 20
}

/// Composes `count` frames once the camera's picture arrives (it starts moving), and returns
/// them with how many differ from the one before.
fn watch(engine: &anchordesk_pipelines::engine::Engine, count: usize) -> (Vec<RgbaImage>, usize) {
    let frames = engine.frames(count + 4);
    let next = || {
        frames
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .to_rgba()
            .unwrap()
    };
    let mut previous = next();
    for _ in 0..150 {
        let current = next();
        let moved = differ(&previous, &current);
        previous = current;
        if moved {
            break;
        }
    }
    let images: Vec<RgbaImage> = (0..count).map(|_| next()).collect();
    let changes = images.windows(2).filter(|w| differ(&w[0], &w[1])).count();
    (images, changes)
}

fn check(format: CameraFormat, width: u32, height: u32) {
    let engine = start(vec![layer(
        "cam",
        camera(format, width, height),
        0,
        0,
        1280,
        720,
    )]);
    let (images, changes) = watch(&engine, 45);
    let stats = engine.stats().borrow().clone();
    println!("{format:?} {width}x{height}: {changes} of 44 frame pairs differ; {stats:?}");
    assert_eq!(
        stats
            .layers
            .iter()
            .find(|l| l.id == "cam")
            .and_then(|l| l.problem.clone()),
        None
    );
    // The camera streams (how fast it keeps up on a quiet machine is the camera bench's
    // figure: a loaded test machine drops frames).
    assert!(
        changes >= 11,
        "{format:?}: only {changes} of 44 frames were new"
    );
    // SMPTE bars (100 %) along the upper part: yellow and cyan among them wherever the
    // scroll is, in their colours (a range mix-up in decoding would dull them by ~10 %).
    let row: Vec<[u8; 4]> = (0..1280)
        .step_by(4)
        .map(|x| images[20].pixel(x, 100))
        .collect();
    for (name, colour) in [("yellow", [250, 252, 0]), ("cyan", [0, 250, 249])] {
        assert!(
            row.iter().any(|p| near(*p, colour)),
            "{format:?}: no {name} bar in row 100: {:?}",
            row.iter().step_by(8).collect::<Vec<_>>()
        );
    }
    engine.shutdown();
}

#[test]
fn an_mjpeg_webcam_at_720p30_is_decoded_into_the_canvas() {
    check(CameraFormat::Mjpeg, 1280, 720);
}

#[test]
fn an_h264_camera_is_decoded_into_the_canvas() {
    check(CameraFormat::H264, 640, 360);
}

#[test]
fn a_jpeg_decoder_is_found_here() {
    // jpegdec (gstreamer1.0-plugins-good) at least; a hardware one where the machine has it.
    let decoder = anchordesk_pipelines::engine::best_decoder("image/jpeg");
    println!("JPEG decoder: {decoder:?}");
    assert!(decoder.is_some());
    let h264 = anchordesk_pipelines::engine::best_decoder("video/x-h264");
    println!("H.264 decoder: {h264:?}");
    assert!(h264.is_some());
}

#[test]
fn a_raw_camera_is_the_baseline() {
    check(CameraFormat::Raw, 1280, 720);
}

#[test]
fn an_mjpeg_webcam_at_1080p30_is_decoded_into_the_canvas() {
    check(CameraFormat::Mjpeg, 1920, 1080);
}
