use std::sync::{LazyLock, Mutex};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;
use gstreamer_base::prelude::BaseTransformExt;
use gstreamer_base::subclass::prelude::*;
use gstreamer_video::VideoFrameExt;
use gstreamer_video::subclass::prelude::*;

use super::compose::{self, Backdrop, Fill};
use super::key::{self, ChromaKey};
use super::{MaskSource, Mode};
use crate::ops::{self, Plane};
use crate::pixels::FrameMut;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "anchordeskbackground",
        gst::DebugColorFlags::empty(),
        Some("AnchorDesk virtual background"),
    )
});

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    mode: Mode,
    source: MaskSource,
    key: ChromaKey,
    blur_radius: u32,
    colour: u32,
    image_location: Option<String>,
    /// Weight of the previous frame's mask, 0–1 (0: none).
    temporal: f32,
    /// Mask edge softening, in pixels.
    feather: u32,
    /// Frames per person-segmentation run; the newest mask serves the frames between.
    segment_every: u32,
}

/// A person mask every 3rd frame (10 a second at 30 fps): inference is the dearest step
/// (8.5 ms at 720p here), and with the temporal smoothing a seated anchor's mask keeps up.
const SEGMENT_EVERY: u32 = 3;

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Off,
            source: MaskSource::Person,
            key: ChromaKey::default(),
            blur_radius: 24,
            colour: 0x20_20_20,
            image_location: None,
            temporal: 0.5,
            feather: 2,
            segment_every: SEGMENT_EVERY,
        }
    }
}

#[derive(Default)]
struct State {
    previous_mask: Option<Plane>,
    /// Person segmentation, started on the first frame that needs it.
    segmenter: Option<crate::segment::Worker>,
    /// It failed (warned once); not retried until the element restarts.
    segmentation_failed: bool,
    /// Frames since the last picture went to segmentation.
    since_segmented: u32,
    /// The mask source and frame size `previous_mask` belongs to.
    previous_kind: Option<(MaskSource, usize, usize)>,
    /// A background picture that could not be read: not retried until the path changes.
    unreadable: Option<String>,
    /// The picture for `image` mode: (path, width, height) it was made for, and the pixels.
    backdrop: Option<((String, usize, usize), Backdrop)>,
    picture: Option<(String, image::RgbImage)>,
}

#[derive(Default)]
pub struct Background {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

fn rgb(colour: u32) -> [u8; 3] {
    [(colour >> 16) as u8, (colour >> 8) as u8, colour as u8]
}

impl Background {
    fn settings(&self) -> std::sync::MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update_passthrough(&self) {
        let off = self.settings().mode == Mode::Off;
        self.obj().set_passthrough(off);
    }

    /// The newest person mask (256×144), starting the segmentation thread on first use; every
    /// `every`th frame also goes to segmentation.
    /// `None` while the model loads, and for good once segmentation failed (warned once):
    /// the camera stays on air, unchanged, rather than the layer failing.
    fn person_mask(&self, state: &mut State, view: &FrameMut<'_>, every: u32) -> Option<Plane> {
        if state.segmentation_failed {
            return None;
        }
        if state.segmenter.is_none() {
            match crate::segment::Worker::start() {
                Ok(worker) => state.segmenter = Some(worker),
                Err(e) => {
                    self.segmentation_stopped(state, &e);
                    return None;
                }
            }
        }
        let worker = state.segmenter.as_ref()?;
        let due = state.since_segmented == 0;
        state.since_segmented = (state.since_segmented + 1) % every.max(1);
        let input = due.then(|| crate::segment::input_of(view));
        let mut mask = match worker.exchange(input) {
            crate::segment::Newest::Mask(mask) => mask,
            crate::segment::Newest::NotYet => return None,
            crate::segment::Newest::Failed(why) => {
                self.segmentation_stopped(state, &why);
                return None;
            }
        };
        // The model's probabilities are soft far into the background (0.1–0.3 is common):
        // a steep ramp around 0.5 turns them into a clean alpha, the feather softens the rim.
        for m in &mut mask.data {
            *m = ops::smoothstep(0.3, 0.7, *m);
        }
        Some(mask)
    }

    fn segmentation_stopped(&self, state: &mut State, why: &str) {
        gst::element_imp_warning!(
            self,
            gst::LibraryError::Failed,
            ("Person segmentation is off: {why}. The camera is shown without a virtual background.")
        );
        state.segmentation_failed = true;
        state.segmenter = None;
    }

    /// The picture for `image` mode, scaled to cover the frame; loaded once per path and size.
    fn backdrop<'a>(
        &self,
        state: &'a mut State,
        path: &str,
        w: usize,
        h: usize,
    ) -> Option<&'a Backdrop> {
        let wanted = (path.to_owned(), w, h);
        if state.unreadable.as_deref() == Some(path) {
            return None;
        }
        if state.backdrop.as_ref().map(|(k, _)| k) != Some(&wanted) {
            if state.picture.as_ref().map(|(p, _)| p.as_str()) != Some(path) {
                match image::open(path) {
                    Ok(picture) => state.picture = Some((path.to_owned(), picture.to_rgb8())),
                    Err(e) => {
                        state.unreadable = Some(path.to_owned());
                        gst::element_imp_warning!(
                            self,
                            gst::ResourceError::OpenRead,
                            ("Cannot read the background picture {path}: {e}")
                        );
                        state.picture = None;
                        state.backdrop = None;
                        return None;
                    }
                }
            }
            let picture = &state.picture.as_ref()?.1;
            state.backdrop = Some((wanted, Backdrop::cover(picture, w, h)));
        }
        state.backdrop.as_ref().map(|(_, b)| b)
    }
}

#[glib::object_subclass]
impl ObjectSubclass for Background {
    const NAME: &'static str = "GstAnchordeskBackground";
    type Type = super::Background;
    type ParentType = gstreamer_video::VideoFilter;
}

fn unit(name: &str, nick: &str, blurb: &str, default: f32) -> glib::ParamSpec {
    glib::ParamSpecFloat::builder(name)
        .nick(nick)
        .blurb(blurb)
        .minimum(0.0)
        .maximum(1.0)
        .default_value(default)
        .mutable_playing()
        .build()
}

impl ObjectImpl for Background {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let d = Settings::default();
            vec![
                glib::ParamSpecEnum::builder_with_default("mode", d.mode)
                    .nick("Mode")
                    .blurb("What replaces the background")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("mask-source", d.source)
                    .nick("Mask source")
                    .blurb("What tells the person from the background")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("key-color")
                    .nick("Key colour")
                    .blurb("The screen's colour as 0xRRGGBB (green screen 0x00B140, blue 0x0047BB)")
                    .maximum(0xFF_FF_FF)
                    .default_value(u32::from_be_bytes([
                        0,
                        d.key.key[0],
                        d.key.key[1],
                        d.key.key[2],
                    ]))
                    .mutable_playing()
                    .build(),
                unit(
                    "similarity",
                    "Similarity",
                    "Chroma distance to the key under which a pixel is background",
                    d.key.similarity,
                ),
                unit(
                    "smoothness",
                    "Smoothness",
                    "Width of the soft band above the similarity",
                    d.key.smoothness,
                ),
                unit(
                    "spill",
                    "Spill suppression",
                    "How much of the key's tint kept pixels near it lose",
                    d.key.spill,
                ),
                unit(
                    "temporal",
                    "Temporal smoothing",
                    "Weight of the previous frame's mask (against flicker)",
                    d.temporal,
                ),
                glib::ParamSpecUInt::builder("segment-every")
                    .nick("Segment every")
                    .blurb("Run person segmentation on every Nth frame (1 = every frame)")
                    .minimum(1)
                    .maximum(10)
                    .default_value(d.segment_every)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("feather")
                    .nick("Feather")
                    .blurb("Softening of the mask's edge, in pixels")
                    .maximum(64)
                    .default_value(d.feather)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("blur-radius")
                    .nick("Blur radius")
                    .blurb("Background blur in pixels (mode blur)")
                    .minimum(1)
                    .maximum(256)
                    .default_value(d.blur_radius)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("color")
                    .nick("Colour")
                    .blurb("Background colour as 0xRRGGBB (mode colour)")
                    .maximum(0xFF_FF_FF)
                    .default_value(d.colour)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("image-location")
                    .nick("Image location")
                    .blurb("Background picture (PNG, JPEG, WebP), scaled to fill (mode image)")
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        {
            let mut s = self.settings();
            match pspec.name() {
                "mode" => s.mode = value.get().expect("type checked upstream"),
                "mask-source" => s.source = value.get().expect("type checked upstream"),
                "key-color" => s.key.key = rgb(value.get().expect("type checked upstream")),
                "similarity" => s.key.similarity = value.get().expect("type checked upstream"),
                "smoothness" => s.key.smoothness = value.get().expect("type checked upstream"),
                "spill" => s.key.spill = value.get().expect("type checked upstream"),
                "temporal" => s.temporal = value.get().expect("type checked upstream"),
                "feather" => s.feather = value.get().expect("type checked upstream"),
                "segment-every" => s.segment_every = value.get().expect("type checked upstream"),
                "blur-radius" => s.blur_radius = value.get().expect("type checked upstream"),
                "color" => s.colour = value.get().expect("type checked upstream"),
                "image-location" => s.image_location = value.get().expect("type checked upstream"),
                _ => unreachable!("only the properties above are installed"),
            }
            gst::debug!(CAT, imp = self, "{} changed", pspec.name());
        }
        self.update_passthrough();
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings();
        let [r, g, b] = s.key.key;
        match pspec.name() {
            "mode" => s.mode.to_value(),
            "mask-source" => s.source.to_value(),
            "key-color" => u32::from_be_bytes([0, r, g, b]).to_value(),
            "similarity" => s.key.similarity.to_value(),
            "smoothness" => s.key.smoothness.to_value(),
            "spill" => s.key.spill.to_value(),
            "temporal" => s.temporal.to_value(),
            "feather" => s.feather.to_value(),
            "segment-every" => s.segment_every.to_value(),
            "blur-radius" => s.blur_radius.to_value(),
            "color" => s.colour.to_value(),
            "image-location" => s.image_location.to_value(),
            _ => unreachable!("only the properties above are installed"),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.update_passthrough();
    }
}

impl GstObjectImpl for Background {}

impl ElementImpl for Background {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "AnchorDesk background",
                "Filter/Effect/Video",
                "Blur, picture or colour behind the person, keyed from a green screen",
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

impl BaseTransformImpl for Background {
    const MODE: gstreamer_base::subclass::BaseTransformMode =
        gstreamer_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // A new stream starts afresh: no old mask, no segmentation thread, failures retried.
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = State::default();
        Ok(())
    }
}

impl VideoFilterImpl for Background {
    fn transform_frame_ip(
        &self,
        frame: &mut gstreamer_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings().clone();
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
        if settings.mode == Mode::Off {
            return Ok(gst::FlowSuccess::Ok);
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());

        let mut mask = match settings.source {
            // The key at half size: a quarter of the work, and edges are feathered anyway.
            MaskSource::ChromaKey => key::mask(&view, &settings.key, 2),
            MaskSource::Person => match self.person_mask(&mut state, &view, settings.segment_every)
            {
                Some(mask) => mask,
                // No mask yet (or none to be had): the frame goes out as it came.
                None => return Ok(gst::FlowSuccess::Ok),
            },
        };
        // Smoothing over time only between masks of the same source and frame size.
        let kind = Some((settings.source, width, height));
        if state.previous_kind != kind {
            state.previous_mask = None;
            state.previous_kind = kind;
        }
        if let Some(previous) = state
            .previous_mask
            .as_ref()
            .filter(|p| p.w == mask.w && p.h == mask.h)
        {
            let keep = settings.temporal.clamp(0.0, 1.0);
            for (m, p) in mask.data.iter_mut().zip(&previous.data) {
                *m = *m * (1.0 - keep) + p * keep;
            }
        }
        state.previous_mask = Some(mask.clone());
        if settings.feather > 0 {
            // `feather` is in frame pixels; the mask is smaller.
            let radius = (settings.feather as f32 * mask.w as f32 / width as f32).round() as usize;
            mask = ops::box_blur(&mask, radius.max(1));
        }
        let despill = match settings.source {
            MaskSource::ChromaKey => key::despill(&settings.key, layout),
            MaskSource::Person => None,
        };

        let colour = rgb(settings.colour);
        match settings.mode {
            Mode::Off => {}
            Mode::Blur => compose::compose(
                &mut view,
                &mask,
                Fill::Blur(settings.blur_radius as usize),
                despill,
            ),
            Mode::Colour => compose::compose(&mut view, &mask, Fill::Colour(colour), despill),
            Mode::Image => {
                let path = settings.image_location.unwrap_or_default();
                match self.backdrop(&mut state, &path, width, height) {
                    Some(backdrop) => {
                        compose::compose(&mut view, &mask, Fill::Picture(backdrop), despill)
                    }
                    // No readable picture: a colour, never the green screen itself.
                    None => compose::compose(&mut view, &mask, Fill::Colour(colour), despill),
                }
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
