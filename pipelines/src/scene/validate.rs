//! Validation with errors that name the field, so the studio can point at the wrong input.

use std::collections::HashSet;

use super::{
    BackgroundMode, CANVAS_FPS, CANVAS_SIZES, Canvas, Effects, Layer, Rect, Rgba, SCENE_VERSION,
    SceneCollection, Source,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SceneError {
    /// A JSON path such as `scenes[0].layers[1].rect.width` (empty for the document itself).
    pub field: String,
    pub message: String,
}

impl SceneError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Layers may hang over the canvas edge, but not absurdly far: that is always a typo.
const MAX_OFFSET: i32 = 16_384;
const MAX_SIDE: u32 = 8_192;
const MAX_TEXT_CHARS: usize = 500;

impl SceneCollection {
    pub fn validate(&self) -> Result<(), SceneError> {
        if self.version != SCENE_VERSION {
            return Err(SceneError::new(
                "version",
                format!(
                    "unsupported scene version {} (this build reads {SCENE_VERSION})",
                    self.version
                ),
            ));
        }
        check_canvas(self.canvas, "canvas")?;
        if let Some(second) = self.second_canvas {
            check_canvas(second, "second_canvas")?;
            if second.fps != self.canvas.fps {
                return Err(SceneError::new(
                    "second_canvas.fps",
                    format!(
                        "must equal canvas.fps ({}): both canvases run on one clock",
                        self.canvas.fps
                    ),
                ));
            }
        }
        if self.scenes.is_empty() {
            return Err(SceneError::new("scenes", "at least one scene is needed"));
        }
        let mut scene_ids = HashSet::new();
        for (i, scene) in self.scenes.iter().enumerate() {
            let at = format!("scenes[{i}]");
            check_id(&scene.id, &format!("{at}.id"))?;
            if !scene_ids.insert(scene.id.as_str()) {
                return Err(SceneError::new(
                    format!("{at}.id"),
                    format!("scene id '{}' is used twice", scene.id),
                ));
            }
            let mut layer_ids = HashSet::new();
            for (j, layer) in scene.layers.iter().enumerate() {
                let at = format!("{at}.layers[{j}]");
                layer.validate(&at)?;
                if !layer_ids.insert(layer.id.as_str()) {
                    return Err(SceneError::new(
                        format!("{at}.id"),
                        format!("layer id '{}' is used twice in this scene", layer.id),
                    ));
                }
            }
        }
        if let Some(active) = &self.active_scene
            && !scene_ids.contains(active.as_str())
        {
            return Err(SceneError::new(
                "active_scene",
                format!("no scene has the id '{active}'"),
            ));
        }
        Ok(())
    }
}

impl Layer {
    /// Checks one layer; `at` prefixes the field names (`layer` for a live edit).
    pub fn validate(&self, at: &str) -> Result<(), SceneError> {
        check_id(&self.id, &format!("{at}.id"))?;
        check_rect(self.rect, &format!("{at}.rect"))?;
        if let Some(rect) = self.second_rect {
            check_rect(rect, &format!("{at}.second_rect"))?;
        }
        for (name, value) in [
            ("top", self.crop.top),
            ("right", self.crop.right),
            ("bottom", self.crop.bottom),
            ("left", self.crop.left),
        ] {
            if value > MAX_SIDE {
                return Err(SceneError::new(
                    format!("{at}.crop.{name}"),
                    format!("must be at most {MAX_SIDE}"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.opacity) {
            return Err(SceneError::new(
                format!("{at}.opacity"),
                "must be between 0.0 and 1.0",
            ));
        }
        self.source.validate(&format!("{at}.source"))?;
        if !self.effects.is_off() {
            if !matches!(self.source, Source::Camera { .. }) {
                return Err(SceneError::new(
                    format!("{at}.effects"),
                    "beauty and background apply to camera layers only",
                ));
            }
            self.effects.validate(&format!("{at}.effects"))?;
        }
        Ok(())
    }
}

impl Effects {
    fn validate(&self, at: &str) -> Result<(), SceneError> {
        let b = &self.background;
        for (name, value) in [
            ("beauty.smooth", self.beauty.smooth),
            ("beauty.whiten", self.beauty.whiten),
            ("beauty.sharpen", self.beauty.sharpen),
            ("background.similarity", b.similarity),
            ("background.smoothness", b.smoothness),
            ("background.spill", b.spill),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(SceneError::new(
                    format!("{at}.{name}"),
                    "must be between 0.0 and 1.0",
                ));
            }
        }
        if !(1..=256).contains(&b.blur_radius) {
            return Err(SceneError::new(
                format!("{at}.background.blur_radius"),
                "must be between 1 and 256",
            ));
        }
        check_colour(&b.key_colour, &format!("{at}.background.key_colour"))?;
        check_colour(&b.colour, &format!("{at}.background.colour"))?;
        if b.mode == BackgroundMode::Image && b.image.is_none() {
            return Err(SceneError::new(
                format!("{at}.background.image"),
                "mode image needs a picture",
            ));
        }
        Ok(())
    }
}

impl Source {
    fn validate(&self, at: &str) -> Result<(), SceneError> {
        match self {
            Source::Camera { device, mode } => {
                if device != "test" && !device.starts_with("/dev/") {
                    return Err(SceneError::new(
                        format!("{at}.device"),
                        "must be a device path such as /dev/video0, or \"test\"",
                    ));
                }
                if let Some(mode) = mode
                    && (mode.width == 0 || mode.height == 0 || !(1..=120).contains(&mode.fps))
                {
                    return Err(SceneError::new(
                        format!("{at}.mode"),
                        "width and height must be positive and fps between 1 and 120",
                    ));
                }
            }
            Source::Screen { display, .. } => {
                if let Some(display) = display
                    && !display.contains(':')
                {
                    return Err(SceneError::new(
                        format!("{at}.display"),
                        "must be an X display such as :0",
                    ));
                }
            }
            Source::Image { path } => {
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase);
                if !matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg")) {
                    return Err(SceneError::new(
                        format!("{at}.path"),
                        "must be a .png, .jpg or .jpeg file",
                    ));
                }
            }
            Source::Media { path, volume, .. } => {
                if path.as_os_str().is_empty() {
                    return Err(SceneError::new(format!("{at}.path"), "must not be empty"));
                }
                if !(0.0..=4.0).contains(volume) {
                    return Err(SceneError::new(
                        format!("{at}.volume"),
                        "must be between 0 and 4 (1 keeps the file's level)",
                    ));
                }
            }
            Source::Text {
                text, size, colour, ..
            } => {
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Err(SceneError::new(
                        format!("{at}.text"),
                        format!("must be at most {MAX_TEXT_CHARS} characters"),
                    ));
                }
                if !(4..=512).contains(size) {
                    return Err(SceneError::new(
                        format!("{at}.size"),
                        "must be between 4 and 512",
                    ));
                }
                check_colour(colour, &format!("{at}.colour"))?;
            }
            Source::Colour { colour } => check_colour(colour, &format!("{at}.colour"))?,
        }
        Ok(())
    }
}

fn check_canvas(canvas: Canvas, field: &str) -> Result<(), SceneError> {
    if !CANVAS_SIZES.contains(&(canvas.width, canvas.height)) {
        let sizes: Vec<String> = CANVAS_SIZES
            .iter()
            .map(|(w, h)| format!("{w}×{h}"))
            .collect();
        return Err(SceneError::new(
            field,
            format!(
                "canvas {}×{} is not supported; use one of {}",
                canvas.width,
                canvas.height,
                sizes.join(", ")
            ),
        ));
    }
    if !CANVAS_FPS.contains(&canvas.fps) {
        return Err(SceneError::new(
            format!("{field}.fps"),
            format!(
                "{} fps is not supported; use one of {CANVAS_FPS:?}",
                canvas.fps
            ),
        ));
    }
    Ok(())
}

fn check_rect(rect: Rect, field: &str) -> Result<(), SceneError> {
    for (name, side) in [("width", rect.width), ("height", rect.height)] {
        if side == 0 || side > MAX_SIDE {
            return Err(SceneError::new(
                format!("{field}.{name}"),
                format!("must be between 1 and {MAX_SIDE}"),
            ));
        }
    }
    for (name, offset) in [("x", rect.x), ("y", rect.y)] {
        if offset.abs() > MAX_OFFSET {
            return Err(SceneError::new(
                format!("{field}.{name}"),
                format!("must be between -{MAX_OFFSET} and {MAX_OFFSET}"),
            ));
        }
    }
    Ok(())
}

fn check_colour(colour: &str, field: &str) -> Result<(), SceneError> {
    match Rgba::parse(colour) {
        Some(_) => Ok(()),
        None => Err(SceneError::new(
            field,
            format!("'{colour}' is not a colour; use #RRGGBB or #RRGGBBAA"),
        )),
    }
}

/// Ids become GStreamer element names and appear in URLs: keep them short and plain.
fn check_id(id: &str, field: &str) -> Result<(), SceneError> {
    let plain = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if id.is_empty() || id.len() > 64 || !plain {
        return Err(SceneError::new(
            field,
            "must be 1–64 characters of letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}
