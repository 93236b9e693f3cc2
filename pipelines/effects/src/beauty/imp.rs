use std::sync::{LazyLock, Mutex};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;
use gstreamer_base::prelude::BaseTransformExt;
use gstreamer_base::subclass::prelude::*;
use gstreamer_video::VideoFrameExt;
use gstreamer_video::subclass::prelude::*;

use super::filter::{self, Strengths};
use crate::pixels::FrameMut;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "anchordeskbeauty",
        gst::DebugColorFlags::empty(),
        Some("AnchorDesk beauty filter"),
    )
});

#[derive(Default)]
pub struct Beauty {
    settings: Mutex<Strengths>,
}

impl Beauty {
    fn settings(&self) -> std::sync::MutexGuard<'_, Strengths> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// All strengths 0: buffers go through untouched (no copy, bit-exact).
    fn update_passthrough(&self) {
        let identity = self.settings().is_identity();
        self.obj().set_passthrough(identity);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for Beauty {
    const NAME: &'static str = "GstAnchordeskBeauty";
    type Type = super::Beauty;
    type ParentType = gstreamer_video::VideoFilter;
}

fn strength(name: &str, nick: &str, blurb: &str) -> glib::ParamSpec {
    glib::ParamSpecFloat::builder(name)
        .nick(nick)
        .blurb(blurb)
        .minimum(0.0)
        .maximum(1.0)
        .default_value(0.0)
        .mutable_playing()
        .build()
}

impl ObjectImpl for Beauty {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                strength(
                    "smooth",
                    "Smooth",
                    "Skin smoothing (edge-preserving, in skin only)",
                ),
                strength(
                    "whiten",
                    "Whiten",
                    "Brightening of skin by a tone curve on luma",
                ),
                strength("sharpen", "Sharpen", "Unsharp mask outside skin"),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let v: f32 = value.get().expect("type checked upstream");
        {
            let mut s = self.settings();
            match pspec.name() {
                "smooth" => s.smooth = v,
                "whiten" => s.whiten = v,
                "sharpen" => s.sharpen = v,
                _ => unreachable!("only the properties above are installed"),
            }
            gst::debug!(CAT, imp = self, "{} = {v}", pspec.name());
        }
        self.update_passthrough();
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings();
        match pspec.name() {
            "smooth" => s.smooth.to_value(),
            "whiten" => s.whiten.to_value(),
            "sharpen" => s.sharpen.to_value(),
            _ => unreachable!("only the properties above are installed"),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.update_passthrough();
    }
}

impl GstObjectImpl for Beauty {}

impl ElementImpl for Beauty {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "AnchorDesk beauty",
                "Filter/Effect/Video",
                "Skin smoothing, whitening and sharpening on the CPU",
                "AnchorDesk",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(crate::pad_templates);
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for Beauty {
    const MODE: gstreamer_base::subclass::BaseTransformMode =
        gstreamer_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;
}

impl VideoFilterImpl for Beauty {
    fn transform_frame_ip(
        &self,
        frame: &mut gstreamer_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let strengths = *self.settings();
        let layout = crate::layout_of(frame.format()).ok_or(gst::FlowError::NotNegotiated)?;
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
        let mut view = FrameMut {
            data,
            width,
            height,
            stride,
            layout,
        };
        filter::apply(&mut view, strengths);
        Ok(gst::FlowSuccess::Ok)
    }
}
