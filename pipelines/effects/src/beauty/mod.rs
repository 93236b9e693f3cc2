//! `anchordeskbeauty`: see [`filter`] for what it does to a frame.

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

pub mod filter;
mod imp;

glib::wrapper! {
    pub struct Beauty(ObjectSubclass<imp::Beauty>)
        @extends gstreamer_video::VideoFilter, gstreamer_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "anchordeskbeauty",
        gst::Rank::NONE,
        Beauty::static_type(),
    )
}
