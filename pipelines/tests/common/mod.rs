//! Helpers the engine's canvas tests share: layers, a one-scene collection, settled frames.

#![allow(dead_code)]

use std::time::Duration;

use anchordesk_pipelines::engine::{Engine, EngineConfig, RgbaImage};
use anchordesk_pipelines::scene::{
    Canvas, CanvasId, Layer, Rect, SCENE_VERSION, Scene, SceneCollection, Source,
};

pub const CANVAS: Canvas = Canvas {
    width: 1280,
    height: 720,
    fps: 30,
};

pub fn layer(id: &str, source: Source, x: i32, y: i32, width: u32, height: u32) -> Layer {
    Layer::new(
        id,
        source,
        Rect {
            x,
            y,
            width,
            height,
        },
    )
}

pub fn scenes(layers: Vec<Layer>) -> SceneCollection {
    SceneCollection {
        version: SCENE_VERSION,
        canvas: CANVAS,
        second_canvas: None,
        scenes: vec![Scene {
            id: "main".into(),
            name: "主场景".into(),
            layers,
        }],
        active_scene: None,
    }
}

pub fn red_png(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("red.png");
    image::RgbaImage::from_pixel(64, 32, image::Rgba([230, 20, 20, 255]))
        .save(&path)
        .unwrap();
    path
}

pub fn start(layers: Vec<Layer>) -> Engine {
    start_collection(scenes(layers))
}

/// An engine on `collection`, x264 idle, no audio.
pub fn start_collection(collection: SceneCollection) -> Engine {
    Engine::start(EngineConfig {
        scenes: collection,
        encoder: Default::default(),
        video_bitrate_kbps: 2000,
        audio: vec![],
    })
    .unwrap()
}

/// The portrait canvas the dual-canvas tests add beside the landscape one.
pub const PORTRAIT: Canvas = Canvas {
    width: 720,
    height: 1280,
    fps: 30,
};

/// A frame composed after every edit so far has been applied.
pub fn settled_frame(engine: &Engine) -> RgbaImage {
    settled_frame_of(engine, CanvasId::First)
}

/// The same for any canvas the engine composes.
pub fn settled_frame_of(engine: &Engine, canvas: CanvasId) -> RgbaImage {
    let frames = engine
        .frames_of(canvas, 8)
        .expect("the engine composes that canvas");
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            frames
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("canvas frames: {e}; {:?}", engine.stats().borrow())),
        );
    }
    last.unwrap().to_rgba().unwrap()
}

pub fn close(actual: [u8; 4], expected: [u8; 3]) -> bool {
    // I420 rounds colours a little; chroma is shared by 2×2 pixels.
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| (i32::from(*a) - i32::from(e)).abs() <= 12)
}
