//! `anchordeskbackground`: replaces what is behind the person with a blur of the frame, a
//! picture or a colour. The person is told from the background by person segmentation
//! ([`crate::segment`], on a thread of its own) or by a chroma key ([`key`]), the mask
//! smoothed over time against flicker and feathered at its edge.

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

pub mod compose;
mod imp;
pub mod key;

glib::wrapper! {
    pub struct Background(ObjectSubclass<imp::Background>)
        @extends gstreamer_video::VideoFilter, gstreamer_base::BaseTransform, gst::Element, gst::Object;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstAnchordeskBackgroundMode")]
pub enum Mode {
    #[default]
    #[enum_value(name = "Off: pass frames through", nick = "off")]
    Off,
    #[enum_value(name = "Blur the background", nick = "blur")]
    Blur,
    #[enum_value(name = "A picture behind the person", nick = "image")]
    Image,
    #[enum_value(name = "A colour behind the person", nick = "colour")]
    Colour,
}

/// What tells the person from the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstAnchordeskMaskSource")]
pub enum MaskSource {
    #[default]
    #[enum_value(name = "Person segmentation (any background)", nick = "person")]
    Person,
    #[enum_value(name = "Chroma key (green or blue screen)", nick = "chroma-key")]
    ChromaKey,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "anchordeskbackground",
        gst::Rank::NONE,
        Background::static_type(),
    )
}
