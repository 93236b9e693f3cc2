//! Cameras as they are sold: raw YUYV/NV12, MJPEG (what most USB webcams send at 720p/1080p
//! and 30 fps) and H.264 UVC cameras, each decoded with the best decoder the machine has
//! (hardware first). The `test` camera produces the same formats from a test pattern and runs
//! them through the same decoding, so tests cover the path a real webcam takes.

use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::sources::{element, filter_element};
use crate::devices;
use crate::scene::{CameraFormat, CameraMode, Canvas};

/// The elements from the camera to raw video, in order (before the effects).
pub(super) fn chain(
    device: &str,
    mode: Option<CameraMode>,
    canvas: Canvas,
) -> Result<Vec<gst::Element>, String> {
    if device == "test" {
        return test_chain(mode, canvas);
    }
    open_camera(device)?;
    let mode = mode.or_else(|| devices::best_mode(&devices::modes_of_device(device)));
    let src = element("v4l2src")?;
    src.set_property("device", device);
    let format = mode.map_or(CameraFormat::Raw, |m| m.format);
    let mut chain = vec![src, filter_element(&mode_caps(format, mode))?];
    chain.extend(decoder_chain(format)?);
    Ok(chain)
}

/// The stand-in camera: a scrolling test pattern. Raw, it is drawn live; MJPEG and H.264, it
/// is encoded once at the start (one second, a closed GOP for H.264) and sent in a loop at the
/// mode's rate, as a camera's own chip would send it, so only the decoding that follows (the
/// one a real camera of that format gets) costs the engine anything.
fn test_chain(mode: Option<CameraMode>, canvas: Canvas) -> Result<Vec<gst::Element>, String> {
    let mode = mode.unwrap_or(CameraMode {
        width: 1280,
        height: 720,
        fps: canvas.fps,
        format: CameraFormat::Raw,
    });
    if mode.format.is_raw() {
        return Ok(vec![
            test_pattern()?,
            filter_element(&mode_caps(CameraFormat::Raw, Some(mode)))?,
        ]);
    }
    let frames = encode_pattern(mode)?;
    let caps = mode_caps(mode.format, Some(mode));
    let mut chain = vec![
        looping_camera(frames, &caps, mode.fps, mode.format)?,
        filter_element(&caps)?,
    ];
    chain.extend(decoder_chain(mode.format)?);
    Ok(chain)
}

fn test_pattern() -> Result<gst::Element, String> {
    let src = element("videotestsrc")?;
    src.set_property("is-live", true);
    src.set_property_from_str("pattern", "smpte");
    src.set_property("horizontal-speed", 4i32);
    Ok(src)
}

/// One second of the pattern in the camera's format.
fn encode_pattern(mode: CameraMode) -> Result<Vec<gst::Buffer>, String> {
    let pipeline = gst::Pipeline::new();
    let src = test_pattern()?;
    src.set_property("is-live", false);
    src.set_property("num-buffers", mode.fps as i32);
    let raw = CameraMode {
        format: CameraFormat::Raw,
        ..mode
    };
    let mut elements = vec![src];
    match mode.format {
        CameraFormat::Raw => {}
        CameraFormat::Mjpeg => {
            // A webcam's JPEG is full-range (JFIF): the pattern is painted in studio range
            // (pinned, or it would take the full-range tag without the values) and converted.
            let mut studio = mode_caps(CameraFormat::Raw, Some(raw));
            studio.make_mut().set("colorimetry", "bt601");
            let full_range = gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("colorimetry", "1:4:0:0")
                .build();
            elements.extend([
                filter_element(&studio)?,
                element("videoconvert")?,
                filter_element(&full_range)?,
                element("jpegenc")?,
            ]);
        }
        CameraFormat::H264 => {
            // A UVC camera's encoder: no B-frames, and here one GOP for the whole loop.
            let encoder = element("x264enc")?;
            encoder.set_property_from_str("tune", "zerolatency");
            encoder.set_property_from_str("speed-preset", "ultrafast");
            encoder.set_property("key-int-max", mode.fps);
            elements.extend([
                filter_element(&mode_caps(CameraFormat::Raw, Some(raw)))?,
                encoder,
                filter_element(
                    &gst::Caps::builder("video/x-h264")
                        .field("stream-format", "byte-stream")
                        .field("alignment", "au")
                        .build(),
                )?,
            ]);
        }
    }
    let sink = gst_app::AppSink::builder().sync(false).build();
    elements.push(sink.clone().upcast());
    let failed = |e: gst::glib::BoolError| format!("test camera: {e}");
    pipeline.add_many(&elements).map_err(failed)?;
    gst::Element::link_many(&elements).map_err(failed)?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| format!("test camera: {e}"))?;
    let mut frames = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        if let Some(buffer) = sample.buffer_owned() {
            frames.push(buffer);
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    if frames.is_empty() {
        return Err("test camera: nothing was encoded".into());
    }
    Ok(frames)
}

/// An appsrc that sends `frames` over and over at `fps`, stamped on arrival like a camera's.
/// JPEG frames stand alone, so a busy decoder costs only the frames it misses; an H.264
/// frame dropped would break every picture up to the next keyframe, so those wait instead.
fn looping_camera(
    frames: Vec<gst::Buffer>,
    caps: &gst::Caps,
    fps: u32,
    format: CameraFormat,
) -> Result<gst::Element, String> {
    let builder = gst_app::AppSrc::builder()
        .caps(caps)
        .format(gst::Format::Time)
        .is_live(true)
        .max_buffers(2);
    let appsrc = if format == CameraFormat::H264 {
        builder.block(true).build()
    } else {
        builder.leaky_type(gst_app::AppLeakyType::Upstream).build()
    };
    let weak = appsrc.downgrade();
    let interval = Duration::from_secs(1) / fps.max(1);
    std::thread::Builder::new()
        .name("test-camera".into())
        .spawn(move || {
            let mut next = Instant::now();
            for frame in frames.iter().cycle() {
                // The layer owns the appsrc: once it is gone, so is the camera.
                let Some(appsrc) = weak.upgrade() else { break };
                super::arrival::push(&appsrc, frame.copy());
                drop(appsrc);
                next += interval;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
        .map_err(|e| format!("test camera: {e}"))?;
    Ok(appsrc.upcast())
}

fn mode_caps(format: CameraFormat, mode: Option<CameraMode>) -> gst::Caps {
    let mut caps = gst::Caps::builder(format.caps_name());
    if let Some(mode) = mode {
        caps = caps
            .field("width", mode.width as i32)
            .field("height", mode.height as i32)
            .field("framerate", gst::Fraction::new(mode.fps as i32, 1));
    }
    caps.build()
}

/// Parser (where needed) and decoder for a compressed camera format.
fn decoder_chain(format: CameraFormat) -> Result<Vec<gst::Element>, String> {
    let parser = match format {
        CameraFormat::Raw => return Ok(Vec::new()),
        CameraFormat::Mjpeg => None,
        CameraFormat::H264 => Some("h264parse"),
    };
    let decoder = best_decoder(format.caps_name())
        .ok_or_else(|| format!("no decoder for {} is installed", format.caps_name()))?;
    let mut chain = Vec::new();
    // jpegdec takes a webcam's frames as they come; hardware JPEG decoders want them parsed.
    let parser =
        parser.or((decoder != "jpegdec" && format == CameraFormat::Mjpeg).then_some("jpegparse"));
    if let Some(parser) = parser {
        chain.push(element(parser)?);
    }
    tracing::info!(%decoder, format = format.caps_name(), "camera decoder");
    chain.push(element(&decoder)?);
    Ok(chain)
}

/// The decoder to use for `caps_name`: hardware decoders first (VA-API, NVDEC, V4L2 M2M:
/// GStreamer registers them only where the device exists), then by rank.
pub fn best_decoder(caps_name: &str) -> Option<String> {
    crate::init().ok()?;
    let caps = gst::Caps::new_empty_simple(caps_name);
    let mut candidates: Vec<gst::ElementFactory> =
        gst::ElementFactory::factories_with_type(gst::ElementFactoryType::DECODER, gst::Rank::NONE)
            .into_iter()
            .filter(|f| f.can_sink_any_caps(&caps))
            .filter(|f| is_hardware(f) || f.rank() >= gst::Rank::MARGINAL)
            .collect();
    candidates.sort_by_key(|f| std::cmp::Reverse((is_hardware(f), f.rank())));
    candidates.first().map(|f| f.name().to_string())
}

fn is_hardware(factory: &gst::ElementFactory) -> bool {
    factory
        .metadata(gst::ELEMENT_METADATA_KLASS)
        .is_some_and(|klass| klass.contains("Hardware"))
}

/// A camera that is missing or taken by another app says so here, before GStreamer would post
/// an error from its streaming thread.
fn open_camera(device: &str) -> Result<(), String> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{device} 不存在 (not found)"))
        }
        Err(e) => Err(format!("{device}: {e}")),
    }
}
