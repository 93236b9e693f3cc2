//! AnchorDesk's video effects as GStreamer elements, written with gstreamer-rs subclassing:
//!
//! - `anchordeskbeauty`: skin smoothing, whitening and sharpening, each 0–1 and live;
//! - `anchordeskbackground`: blur, a picture or a colour behind the person, the person told
//!   from the background by a chroma key (green screens).
//!
//! The engine registers them statically ([`register_static`]); the same crate builds
//! `libgstanchordesk.so`, so `GST_PLUGIN_PATH=target/release gst-inspect-1.0 anchordesk` and
//! `gst-launch-1.0 … ! anchordeskbeauty smooth=0.8 ! …` work too.

use gstreamer as gst;
use gstreamer::glib;

pub mod background;
pub mod beauty;
pub mod ops;
pub mod pixels;
pub mod rows;
pub mod segment;

/// Caps both elements take and give: packed 8-bit RGB with a fourth byte, any size and rate.
/// (Planar YUV goes through videoconvert first; the studio's canvas is RGBA already.)
pub(crate) fn rgb_caps() -> gst::Caps {
    gstreamer_video::VideoCapsBuilder::new()
        .format_list([
            gstreamer_video::VideoFormat::Rgba,
            gstreamer_video::VideoFormat::Bgra,
            gstreamer_video::VideoFormat::Rgbx,
            gstreamer_video::VideoFormat::Bgrx,
        ])
        .build()
}

/// The always-present `src` and `sink` pads of both elements, with [`rgb_caps`].
pub(crate) fn pad_templates() -> Vec<gst::PadTemplate> {
    let caps = rgb_caps();
    [
        ("src", gst::PadDirection::Src),
        ("sink", gst::PadDirection::Sink),
    ]
    .into_iter()
    .map(|(name, direction)| {
        gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &caps)
            .expect("valid template")
    })
    .collect()
}

/// Where red, green and blue sit in a pixel of this format.
pub(crate) fn layout_of(format: gstreamer_video::VideoFormat) -> Option<pixels::Layout> {
    use gstreamer_video::VideoFormat as F;
    match format {
        F::Rgba | F::Rgbx => Some(pixels::Layout::RGBX),
        F::Bgra | F::Bgrx => Some(pixels::Layout::BGRX),
        _ => None,
    }
}

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    beauty::register(plugin)?;
    background::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    anchordesk,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    env!("CARGO_PKG_VERSION"),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    "https://example.invalid/anchordesk",
    "2026-11-30"
);

/// Registers the elements in this process (no plugin file needed). Idempotent.
pub fn register_static() -> Result<(), glib::BoolError> {
    plugin_register_static()
}
