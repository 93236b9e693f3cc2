//! The scene model: what the anchor arranges, as versioned JSON.
//!
//! A [`SceneCollection`] holds the canvas (size and frame rate), optionally a second canvas
//! composed from the same sources (landscape for desktops and platforms, portrait for phones),
//! and several scenes, each an ordered list of layers: the first layer is at the bottom, the
//! last on top, like the layer list in OBS. A layer has a place on each canvas; where the second
//! is not given it follows the first ([`Rect::refit`]), so a second canvas needs no setup.

mod validate;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use validate::SceneError;

/// The only version this build reads and writes; older files are migrated here when there are any.
pub const SCENE_VERSION: u32 = 1;

/// Canvas sizes the encoders and relay are tuned for (landscape and the 9:16 portrait phones use).
pub const CANVAS_SIZES: [(u32, u32); 4] = [(1920, 1080), (1280, 720), (1080, 1920), (720, 1280)];
pub const CANVAS_FPS: [u32; 5] = [24, 25, 30, 50, 60];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneCollection {
    pub version: u32,
    pub canvas: Canvas,
    /// Composed at the same time from the same sources (each source is decoded and its effects
    /// run once); its own outputs pick it with [`CanvasId::Second`]. Same frame rate as `canvas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_canvas: Option<Canvas>,
    pub scenes: Vec<Scene>,
    /// Id of the scene on the canvas; the first scene when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_scene: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Canvas {
    pub fn is_portrait(&self) -> bool {
        self.height > self.width
    }
}

/// One of a collection's canvases: what an output encodes, or which frames to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanvasId {
    #[default]
    First,
    Second,
}

/// Which canvases show a layer. Without a second canvas, `second` layers are not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerCanvases {
    #[default]
    Both,
    First,
    Second,
}

impl LayerCanvases {
    pub fn is_both(&self) -> bool {
        *self == Self::Both
    }

    pub fn includes(self, canvas: CanvasId) -> bool {
        matches!(
            (self, canvas),
            (Self::Both, _) | (Self::First, CanvasId::First) | (Self::Second, CanvasId::Second)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Bottom to top.
    #[serde(default)]
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Unique within its scene. A layer with the same id and source in the next scene keeps
    /// running across a switch (the camera is not reopened).
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub source: Source,
    /// Where the layer sits on the canvas, in canvas pixels (it may hang over the edges).
    pub rect: Rect,
    /// Where the layer sits on the second canvas; when absent, `rect` refitted to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_rect: Option<Rect>,
    /// The canvases the layer is on (both by default), e.g. a card laid out for one of them.
    #[serde(default, skip_serializing_if = "LayerCanvases::is_both")]
    pub canvases: LayerCanvases,
    /// Pixels cut from each edge of the source before it is scaled into `rect`.
    #[serde(default, skip_serializing_if = "Crop::is_none")]
    pub crop: Crop,
    #[serde(default = "one")]
    pub opacity: f64,
    #[serde(default = "yes")]
    pub visible: bool,
    /// Locked in the studio's editors (no drag, resize or removal there); the engine ignores it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked: bool,
    /// Beauty and virtual background; camera layers only, changeable live.
    #[serde(default, skip_serializing_if = "Effects::is_off")]
    pub effects: Effects,
}

impl Layer {
    /// A visible, opaque layer of `source` at `rect`, on every canvas, without crop or effects.
    pub fn new(id: impl Into<String>, source: Source, rect: Rect) -> Self {
        Self {
            id: id.into(),
            name: String::new(),
            source,
            rect,
            second_rect: None,
            canvases: LayerCanvases::Both,
            crop: Crop::default(),
            opacity: 1.0,
            visible: true,
            locked: false,
            effects: Effects::default(),
        }
    }
}

/// A camera layer's effects (`anchordeskbeauty` and `anchordeskbackground`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Effects {
    pub beauty: Beauty,
    pub background: Background,
}

impl Effects {
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }
}

/// Strengths 0.0–1.0; all 0 leaves the picture untouched.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Beauty {
    pub smooth: f64,
    pub whiten: f64,
    pub sharpen: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackgroundMode {
    #[default]
    Off,
    Blur,
    Image,
    Colour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskSource {
    /// Person segmentation: any background.
    #[default]
    Person,
    /// A green (or blue) screen.
    ChromaKey,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Background {
    pub mode: BackgroundMode,
    pub source: MaskSource,
    /// The screen's colour, `#RRGGBB`.
    pub key_colour: String,
    /// 0.0–1.0 (chroma distance under which a pixel is background).
    pub similarity: f64,
    /// 0.0–1.0 (soft band above `similarity`).
    pub smoothness: f64,
    /// 0.0–1.0 (how much of the key's tint kept pixels lose).
    pub spill: f64,
    /// Pixels, 1–256 (mode blur).
    pub blur_radius: u32,
    /// `#RRGGBB` (mode colour).
    pub colour: String,
    /// A PNG, JPEG or WebP, scaled to fill (mode image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<PathBuf>,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            mode: BackgroundMode::Off,
            source: MaskSource::Person,
            key_colour: "#00B140".into(),
            similarity: 0.16,
            smoothness: 0.08,
            spill: 0.7,
            blur_radius: 24,
            colour: "#202020".into(),
            image: None,
        }
    }
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crop {
    #[serde(default)]
    pub top: u32,
    #[serde(default)]
    pub right: u32,
    #[serde(default)]
    pub bottom: u32,
    #[serde(default)]
    pub left: u32,
}

impl Rect {
    /// This rectangle of canvas `from`, placed on canvas `to`: one that filled `from` fills
    /// `to`; any other keeps its aspect ratio, scaled by the smaller factor, with its centre at
    /// the same relative place.
    pub fn refit(self, from: Canvas, to: Canvas) -> Rect {
        let (sx, sy) = (
            f64::from(to.width) / f64::from(from.width),
            f64::from(to.height) / f64::from(from.height),
        );
        let fills = self.x <= 0
            && self.y <= 0
            && self.x + self.width as i32 >= from.width as i32
            && self.y + self.height as i32 >= from.height as i32;
        if fills {
            return Rect {
                x: 0,
                y: 0,
                width: to.width,
                height: to.height,
            };
        }
        let s = sx.min(sy);
        let width = ((f64::from(self.width) * s).round() as u32).max(1);
        let height = ((f64::from(self.height) * s).round() as u32).max(1);
        let cx = (f64::from(self.x) + f64::from(self.width) / 2.0) * sx;
        let cy = (f64::from(self.y) + f64::from(self.height) / 2.0) * sy;
        Rect {
            x: (cx - f64::from(width) / 2.0).round() as i32,
            y: (cy - f64::from(height) / 2.0).round() as i32,
            width,
            height,
        }
    }
}

impl Crop {
    pub fn is_none(&self) -> bool {
        *self == Crop::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A V4L2 camera (`/dev/video0`), or `test` for the built-in moving test pattern.
    Camera {
        device: String,
        /// Requested capture size and rate; the camera's nearest mode is used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<CameraMode>,
    },
    /// The X11 screen, or one window of it.
    Screen {
        /// X display such as `:0`; the session's `DISPLAY` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display: Option<String>,
        /// An X window id to capture instead of the whole screen.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<u64>,
    },
    /// A PNG or JPEG file.
    Image { path: PathBuf },
    /// A video file, played in a loop, its sound mixed into the programme.
    Media {
        path: PathBuf,
        #[serde(default = "yes")]
        looping: bool,
        /// Linear gain of the file's sound, 0.0–4.0.
        #[serde(default = "unity_volume")]
        volume: f64,
        #[serde(default)]
        muted: bool,
    },
    Text {
        text: String,
        /// A fontconfig family; a CJK-capable default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        font: Option<String>,
        /// Point size at the canvas's scale.
        #[serde(default = "default_text_size")]
        size: u32,
        /// `#RRGGBB` or `#RRGGBBAA`.
        #[serde(default = "default_text_colour")]
        colour: String,
    },
    Colour {
        /// `#RRGGBB` or `#RRGGBBAA`.
        colour: String,
    },
}

fn default_text_size() -> u32 {
    48
}

fn unity_volume() -> f64 {
    1.0
}

fn default_text_colour() -> String {
    "#FFFFFF".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraMode {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// How the camera delivers this mode; raw when absent.
    #[serde(default, skip_serializing_if = "CameraFormat::is_raw")]
    pub format: CameraFormat,
}

/// What a camera sends over USB. Most webcams give 720p/1080p at 30 fps only as MJPEG (raw
/// YUYV at 1080p is about 5 fps over USB 2); some send H.264 themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraFormat {
    #[default]
    Raw,
    Mjpeg,
    H264,
}

impl CameraFormat {
    pub fn is_raw(&self) -> bool {
        *self == CameraFormat::Raw
    }

    /// The caps name a camera announces the format with.
    pub fn caps_name(self) -> &'static str {
        match self {
            CameraFormat::Raw => "video/x-raw",
            CameraFormat::Mjpeg => "image/jpeg",
            CameraFormat::H264 => "video/x-h264",
        }
    }

    pub fn from_caps_name(name: &str) -> Option<Self> {
        [CameraFormat::Raw, CameraFormat::Mjpeg, CameraFormat::H264]
            .into_iter()
            .find(|f| f.caps_name() == name)
    }
}

/// A colour parsed from `#RRGGBB` / `#RRGGBBAA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgba {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Rgba {
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Self {
            r: byte(0)?,
            g: byte(2)?,
            b: byte(4)?,
            a: if hex.len() == 8 { byte(6)? } else { 255 },
        })
    }

    /// GStreamer's `0xAARRGGBB` colour properties.
    pub fn argb(self) -> u32 {
        u32::from_be_bytes([self.a, self.r, self.g, self.b])
    }
}

impl SceneCollection {
    /// Parses and validates; every error names the field, e.g. `scenes[0].layers[1].rect.width`.
    pub fn from_json(text: &str) -> Result<Self, SceneError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let collection: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            SceneError::new(
                if path == "." { String::new() } else { path },
                e.inner().to_string(),
            )
        })?;
        collection.validate()?;
        Ok(collection)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn active(&self) -> Option<&Scene> {
        match &self.active_scene {
            Some(id) => self.scenes.iter().find(|s| &s.id == id),
            None => self.scenes.first(),
        }
    }

    pub fn scene(&self, id: &str) -> Option<&Scene> {
        self.scenes.iter().find(|s| s.id == id)
    }

    /// The same scenes on another first canvas (e.g. landscape → portrait), each layer's
    /// rect refitted ([`Rect::refit`]). The second canvas and its layouts stay as they are.
    pub fn with_canvas(&self, canvas: Canvas) -> Self {
        let mut next = self.clone();
        next.canvas = canvas;
        for layer in next.scenes.iter_mut().flat_map(|s| s.layers.iter_mut()) {
            layer.rect = layer.rect.refit(self.canvas, canvas);
        }
        next
    }

    /// The size of canvas `id`, if the collection has it.
    pub fn canvas_of(&self, id: CanvasId) -> Option<Canvas> {
        match id {
            CanvasId::First => Some(self.canvas),
            CanvasId::Second => self.second_canvas,
        }
    }

    /// The canvases this collection composes.
    pub fn canvas_ids(&self) -> Vec<CanvasId> {
        if self.second_canvas.is_some() {
            vec![CanvasId::First, CanvasId::Second]
        } else {
            vec![CanvasId::First]
        }
    }

    /// Where `layer` sits on canvas `id`, or `None` when that canvas does not show it.
    pub fn placement(&self, layer: &Layer, id: CanvasId) -> Option<Rect> {
        if !layer.canvases.includes(id) {
            return None;
        }
        match id {
            CanvasId::First => Some(layer.rect),
            CanvasId::Second => {
                let second = self.second_canvas?;
                Some(
                    layer
                        .second_rect
                        .unwrap_or_else(|| layer.rect.refit(self.canvas, second)),
                )
            }
        }
    }

    /// A one-scene collection: the test-pattern camera filling the canvas.
    pub fn test_pattern(canvas: Canvas) -> Self {
        Self {
            version: SCENE_VERSION,
            canvas,
            second_canvas: None,
            scenes: vec![Scene {
                id: "main".to_owned(),
                name: "测试画面".to_owned(),
                layers: vec![Layer::new(
                    "camera",
                    Source::Camera {
                        device: "test".to_owned(),
                        mode: None,
                    },
                    Rect {
                        x: 0,
                        y: 0,
                        width: canvas.width,
                        height: canvas.height,
                    },
                )],
            }],
            active_scene: None,
        }
    }
}

#[cfg(test)]
mod tests;
