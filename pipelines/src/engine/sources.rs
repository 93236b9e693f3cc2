//! One bin per layer source, each ending in a ghost `src` pad of raw video that the compositor
//! scales into the layer's rectangle. Sources that cannot start (no camera, unreadable image)
//! become a placeholder card that says why, so a scene never fails as a whole.

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::media::{MediaPlayer, Sound, SoundTarget};
use crate::scene::{
    BackgroundMode, Beauty, Canvas, Crop, Effects, Layer, MaskSource, Rgba, Source,
};
use crate::{Error, Result, make};

/// A CJK-capable family (Debian's fonts-noto-cjk) so Chinese titles never show as boxes.
pub const DEFAULT_FONT: &str = "Noto Sans CJK SC";

/// Solid colours are rendered this small and scaled up by the compositor: same picture, less work.
const COLOUR_SIDE: i32 = 16;

pub struct SourceBin {
    pub bin: gst::Bin,
    /// Why the real source could not start, when this bin is a placeholder.
    pub problem: Option<String>,
    /// Media layers play in a pipeline of their own that loops the file.
    pub player: Option<MediaPlayer>,
}

pub fn element_name(layer_id: &str) -> String {
    format!("layer-{layer_id}")
}

/// Builds the layer's source; falls back to a placeholder naming the problem. A media layer's
/// sound goes to `sound`'s mixer.
pub fn build(layer: &Layer, canvas: Canvas, sound: Option<&SoundTarget>) -> SourceBin {
    match try_build(layer, canvas, sound) {
        Ok(source) => source,
        Err(problem) => {
            tracing::warn!(layer = %layer.id, %problem, "layer source unavailable; showing a placeholder");
            placeholder(layer, canvas, &problem)
        }
    }
}

/// The card shown instead of a source that failed; also used when a running source errors.
pub fn placeholder(layer: &Layer, canvas: Canvas, problem: &str) -> SourceBin {
    let what = match &layer.source {
        Source::Camera { .. } => "摄像头不可用 Camera unavailable",
        Source::Screen { .. } => "无法捕获屏幕 Screen capture unavailable",
        Source::Image { .. } => "图片无法打开 Image unavailable",
        Source::Media { .. } => "视频无法播放 Media unavailable",
        Source::Text { .. } | Source::Colour { .. } => "图层不可用 Layer unavailable",
    };
    let bin = gst::Bin::with_name(&element_name(&layer.id));
    let result = (|| -> Result<()> {
        let src = make("videotestsrc", None)?;
        src.set_property("is-live", true);
        src.set_property_from_str("pattern", "solid-color");
        src.set_property("foreground-color", 0xFF30_3030u32);
        let caps = raw_caps(640, 360, canvas.fps, Some("BGRA"));
        let filter = capsfilter(&caps)?;
        let text = make("textoverlay", None)?;
        text.set_property("text", plain_text(&format!("{what}\n{problem}")));
        text.set_property("font-desc", format!("{DEFAULT_FONT} 18"));
        text.set_property_from_str("halignment", "center");
        text.set_property_from_str("valignment", "center");
        text.set_property_from_str("wrap-mode", "wordchar");
        chain_into(&bin, &[src, filter, text], &layer.crop)
    })();
    if let Err(e) = result {
        tracing::error!(layer = %layer.id, error = %e, "placeholder could not be built");
    }
    SourceBin {
        bin,
        problem: Some(problem.to_owned()),
        player: None,
    }
}

fn try_build(
    layer: &Layer,
    canvas: Canvas,
    sound: Option<&SoundTarget>,
) -> Result<SourceBin, String> {
    let bin = gst::Bin::with_name(&element_name(&layer.id));
    let mut player = None;
    let elements: Vec<gst::Element> = match &layer.source {
        Source::Colour { colour } => {
            let rgba = Rgba::parse(colour).ok_or_else(|| format!("bad colour {colour}"))?;
            let src = element("videotestsrc")?;
            src.set_property("is-live", true);
            src.set_property_from_str("pattern", "solid-color");
            src.set_property("foreground-color", rgba.argb());
            let caps = raw_caps(COLOUR_SIDE, COLOUR_SIDE, canvas.fps, Some("BGRA"));
            vec![src, filter_element(&caps)?]
        }
        Source::Text {
            text,
            font,
            size,
            colour,
        } => {
            let rgba = Rgba::parse(colour).ok_or_else(|| format!("bad colour {colour}"))?;
            let src = element("videotestsrc")?;
            src.set_property("is-live", true);
            src.set_property_from_str("pattern", "solid-color");
            src.set_property("foreground-color", 0u32);
            let (w, h) = (layer.rect.width as i32, layer.rect.height as i32);
            let caps = raw_caps(w, h, canvas.fps, Some("BGRA"));
            let overlay = element("textoverlay")?;
            overlay.set_property("name", "text");
            configure_text(&overlay, text, font.as_deref(), *size, rgba);
            vec![src, filter_element(&caps)?, overlay]
        }
        Source::Camera { device, mode } => {
            let mut chain = super::camera::chain(device, *mode, canvas)?;
            chain.extend(camera_effects(&layer.effects)?);
            chain
        }
        Source::Screen { display, window } => {
            let src = element("ximagesrc")?;
            let display = display
                .clone()
                .or_else(|| std::env::var("DISPLAY").ok())
                .ok_or("no X display (DISPLAY is not set)")?;
            src.set_property("display-name", &display);
            src.set_property("use-damage", false);
            src.set_property("show-pointer", true);
            if let Some(xid) = window {
                src.set_property("xid", *xid);
            }
            let rate = element("videorate")?;
            let caps = gst::Caps::builder("video/x-raw")
                .field("framerate", gst::Fraction::new(canvas.fps as i32, 1))
                .build();
            // X delivers BGRx whose padding byte is 0, and converting it to a format with alpha
            // (BGRA, AYUV) carries that 0 over: the layer would be invisible. I420 has no alpha
            // (so it is opaque) and is what the outputs encode anyway.
            let opaque = gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .build();
            vec![
                src,
                rate,
                filter_element(&caps)?,
                element("videoconvert")?,
                filter_element(&opaque)?,
            ]
        }
        Source::Image { path } => {
            let (src, caps) = still_image(path, canvas.fps)?;
            let freeze = element("imagefreeze")?;
            freeze.set_property("is-live", true);
            vec![src, freeze, filter_element(&caps)?]
        }
        Source::Media {
            path,
            looping,
            volume,
            muted,
        } => {
            let sound = sound.map(|target| Sound {
                target: target.clone(),
                layer_id: layer.id.clone(),
                gain: *volume,
                muted: *muted || !layer.visible,
            });
            let (media, src) = MediaPlayer::start(path, *looping, sound)?;
            player = Some(media);
            vec![src]
        }
    };
    chain_into(&bin, &elements, &layer.crop).map_err(|e| e.to_string())?;
    Ok(SourceBin {
        bin,
        problem: None,
        player,
    })
}

/// `textoverlay` reads its `text` as Pango markup. What reaches it comes from viewers
/// (nicknames, comments) and product titles, so it is escaped: `<span size="60000">` shows
/// as typed instead of taking over the video, and "M&M 巧克力" (invalid markup, which Pango
/// draws as nothing at all) shows as written.
pub fn plain_text(text: &str) -> String {
    gst::glib::markup_escape_text(text).to_string()
}

pub fn configure_text(
    overlay: &gst::Element,
    text: &str,
    font: Option<&str>,
    size: u32,
    rgba: Rgba,
) {
    overlay.set_property("text", plain_text(text));
    overlay.set_property(
        "font-desc",
        format!("{} {size}", font.unwrap_or(DEFAULT_FONT)),
    );
    overlay.set_property("color", rgba.argb());
    overlay.set_property_from_str("halignment", "left");
    overlay.set_property_from_str("valignment", "top");
    overlay.set_property("shaded-background", false);
    overlay.set_property("draw-shadow", false);
    overlay.set_property("draw-outline", false);
    overlay.set_property("xpad", 0i32);
    overlay.set_property("ypad", 0i32);
    overlay.set_property_from_str("wrap-mode", "wordchar"); // long Chinese lines wrap too
    // `size` is the text's size on the canvas: by default textoverlay scales fonts with the
    // layer's width (÷640), which shrank a 15 px countdown in a 172 px box to 4 px.
    overlay.set_property("auto-resize", false);
}

/// Links `elements` in order, adds a `videocrop` named `crop` and ghosts the last src pad.
fn chain_into(bin: &gst::Bin, elements: &[gst::Element], crop: &Crop) -> Result<()> {
    let cropper = make("videocrop", Some("crop"))?;
    set_crop(&cropper, crop);
    let mut all = elements.to_vec();
    all.push(cropper);
    bin.add_many(&all)
        .map_err(|e| Error::Invalid(format!("layer bin: {e}")))?;
    gst::Element::link_many(&all).map_err(|e| Error::Invalid(format!("layer links: {e}")))?;
    let last = all.last().and_then(|e| e.static_pad("src"));
    let ghost = gst::GhostPad::builder_with_target(&last.ok_or(Error::Invalid("no src".into()))?)
        .map_err(|e| Error::Invalid(e.to_string()))?
        .name("src")
        .build();
    bin.add_pad(&ghost)
        .map_err(|e| Error::Invalid(format!("ghost pad: {e}")))?;
    Ok(())
}

pub fn set_crop(cropper: &gst::Element, crop: &Crop) {
    cropper.set_property("top", crop.top as i32);
    cropper.set_property("right", crop.right as i32);
    cropper.set_property("bottom", crop.bottom as i32);
    cropper.set_property("left", crop.left as i32);
}

/// Beauty and background after a camera, always (each passes buffers through untouched while
/// off), so effects can be switched on live without reopening the camera. They work on RGBA.
fn camera_effects(effects: &Effects) -> Result<Vec<gst::Element>, String> {
    let rgba = gst::Caps::builder("video/x-raw")
        .field("format", "RGBA")
        .build();
    let beauty = make("anchordeskbeauty", Some("beauty")).map_err(|e| e.to_string())?;
    let background = make("anchordeskbackground", Some("background")).map_err(|e| e.to_string())?;
    configure_effects(&beauty, &background, effects);
    Ok(vec![
        element("videoconvert")?,
        filter_element(&rgba)?,
        beauty,
        background,
    ])
}

/// Sets the effect elements to `effects` (also while playing).
pub fn configure_effects(beauty: &gst::Element, background: &gst::Element, effects: &Effects) {
    let Beauty {
        smooth,
        whiten,
        sharpen,
    } = effects.beauty;
    beauty.set_property("smooth", smooth as f32);
    beauty.set_property("whiten", whiten as f32);
    beauty.set_property("sharpen", sharpen as f32);
    let b = &effects.background;
    // Off goes first and on goes last: a frame between two of these calls never runs a
    // half-set background (say blur with the person source when the chroma key was asked for).
    let set_mode = || {
        background.set_property_from_str(
            "mode",
            match b.mode {
                BackgroundMode::Off => "off",
                BackgroundMode::Blur => "blur",
                BackgroundMode::Image => "image",
                BackgroundMode::Colour => "colour",
            },
        )
    };
    if b.mode == BackgroundMode::Off {
        set_mode();
    }
    let rgb =
        |colour: &str| Rgba::parse(colour).map_or(0, |c| u32::from_be_bytes([0, c.r, c.g, c.b]));
    background.set_property_from_str(
        "mask-source",
        match b.source {
            MaskSource::Person => "person",
            MaskSource::ChromaKey => "chroma-key",
        },
    );
    background.set_property("key-color", rgb(&b.key_colour));
    background.set_property("similarity", b.similarity as f32);
    background.set_property("smoothness", b.smoothness as f32);
    background.set_property("spill", b.spill as f32);
    background.set_property("blur-radius", b.blur_radius);
    background.set_property("color", rgb(&b.colour));
    background.set_property(
        "image-location",
        b.image.as_ref().map(|p| p.to_string_lossy().into_owned()),
    );
    if b.mode != BackgroundMode::Off {
        set_mode();
    }
}

pub(super) fn element(factory: &str) -> Result<gst::Element, String> {
    make(factory, None).map_err(|e| e.to_string())
}

fn capsfilter(caps: &gst::Caps) -> Result<gst::Element> {
    let filter = make("capsfilter", None)?;
    filter.set_property("caps", caps);
    Ok(filter)
}

pub(super) fn filter_element(caps: &gst::Caps) -> Result<gst::Element, String> {
    capsfilter(caps).map_err(|e| e.to_string())
}

pub fn raw_caps(width: i32, height: i32, fps: u32, format: Option<&str>) -> gst::Caps {
    let mut caps = gst::Caps::builder("video/x-raw")
        .field("width", width)
        .field("height", height)
        .field("framerate", gst::Fraction::new(fps as i32, 1));
    if let Some(format) = format {
        caps = caps.field("format", format);
    }
    caps.build()
}

/// Decodes the picture once with the `image` crate (clear errors for broken files) and hands it
/// to an appsrc as a single RGBA frame; `imagefreeze` repeats it at the canvas rate.
fn still_image(path: &Path, fps: u32) -> Result<(gst::Element, gst::Caps), String> {
    let picture = image::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .into_rgba8();
    let (w, h) = (picture.width() as i32, picture.height() as i32);
    let caps = gst::Caps::builder("video/x-raw")
        .field("format", "RGBA")
        .field("width", w)
        .field("height", h)
        .field("framerate", gst::Fraction::new(0, 1))
        // Fully specified, or imagefreeze's accept-caps check (a subset test against what
        // downstream offers, which names these) refuses them.
        .field("interlace-mode", "progressive")
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build();
    let src = gst_app::AppSrc::builder()
        .caps(&caps)
        .format(gst::Format::Time)
        .build();
    let mut buffer = gst::Buffer::from_mut_slice(picture.into_raw());
    buffer
        .get_mut()
        .map(|b| b.set_pts(gst::ClockTime::ZERO))
        .ok_or("image buffer")?;
    src.push_buffer(buffer)
        .map_err(|e| format!("image push: {e}"))?;
    src.end_of_stream().map_err(|e| format!("image eos: {e}"))?;
    let out = raw_caps(w, h, fps, None);
    Ok((src.upcast(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `text` white on black through `configure_text` and counts the lit pixels.
    fn lit_pixels(text: &str) -> (String, usize) {
        crate::init().expect("GStreamer");
        let pipeline = gst::parse::launch(
            "videotestsrc num-buffers=1 pattern=black ! video/x-raw,format=BGRA,width=320,height=80 \
             ! textoverlay name=text ! appsink name=sink sync=false",
        )
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let overlay = pipeline.by_name("text").expect("textoverlay");
        let white = Rgba::parse("#ffffffff").expect("colour");
        configure_text(&overlay, text, None, 24, white);
        let handed: String = overlay.property("text");
        let sink = pipeline
            .by_name("sink")
            .expect("appsink")
            .downcast::<gst_app::AppSink>()
            .expect("an appsink");
        pipeline.set_state(gst::State::Playing).expect("playing");
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(10))
            .expect("a frame");
        let buffer = sample.buffer().expect("buffer");
        let map = buffer.map_readable().expect("readable");
        let lit = map
            .chunks_exact(4)
            .filter(|px| px[0] > 128 && px[1] > 128 && px[2] > 128)
            .count();
        drop(map);
        pipeline.set_state(gst::State::Null).expect("stopped");
        (handed, lit)
    }

    #[test]
    fn markup_from_viewers_and_titles_is_drawn_as_typed() {
        let (handed, lit) = lit_pixels("<b>");
        assert_eq!(handed, "&lt;b&gt;");
        assert!(lit > 20, "<b> drawn literally, {lit} pixels lit");
        let (handed, lit) = lit_pixels("M&M 巧克力");
        assert_eq!(handed, "M&amp;M 巧克力");
        assert!(lit > 20, "a title with & is not blank, {lit} pixels lit");
        let (handed, _) = lit_pixels("<span foreground=\"red\" size=\"60000\">大字</span>");
        assert!(
            handed.starts_with("&lt;span foreground=&quot;red&quot;"),
            "{handed}"
        );
    }
}
