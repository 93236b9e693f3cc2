//! One canvas's video chain: a compositor (with a black base layer) → I420 → tee, feeding a
//! raw tap for WHIP outputs and snapshots, a shared H.264 encoder behind a valve for RTMP,
//! SRT and recordings, and preview JPEGs behind a valve of their own. The engine builds one
//! per canvas; all canvases' previews feed one channel, the shown canvas's valve open.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::encoder::{EncoderChoice, VideoEncoder};
use super::tap::{self, Tap};
use super::{CanvasFrame, PREVIEW_FPS, PREVIEW_MAX_SIDE, PreviewFrame, lock, sources};
use crate::scene::{Canvas, CanvasId};
use crate::{Error, Result, make};

/// A canvas's composed frames: how many, the latest, and who wants each one.
#[derive(Default)]
pub(crate) struct FrameStore {
    pub count: AtomicU64,
    last: Mutex<Option<gst::Sample>>,
    listeners: Mutex<Vec<std::sync::mpsc::SyncSender<CanvasFrame>>>,
}

impl FrameStore {
    fn observe(&self, sample: &gst::Sample) {
        self.count.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last) = Some(sample.clone());
        let mut listeners = lock(&self.listeners);
        if listeners.is_empty() {
            return;
        }
        let frame = CanvasFrame::from_sample(sample);
        listeners.retain(|tx| {
            !matches!(
                tx.try_send(frame.clone()),
                Err(std::sync::mpsc::TrySendError::Disconnected(_))
            )
        });
    }

    pub fn latest(&self) -> Option<CanvasFrame> {
        lock(&self.last).as_ref().map(CanvasFrame::from_sample)
    }

    pub fn listen(&self, capacity: usize) -> std::sync::mpsc::Receiver<CanvasFrame> {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        lock(&self.listeners).push(tx);
        rx
    }
}

/// Where every canvas's preview JPEGs go: one channel, numbered across canvases.
#[derive(Clone)]
pub(crate) struct PreviewFeed {
    pub frames: tokio::sync::watch::Sender<Option<Arc<PreviewFrame>>>,
    pub sequence: Arc<AtomicU64>,
}

pub(crate) struct CanvasVideo {
    pub id: CanvasId,
    pub compositor: gst::Element,
    pub raw: Tap,
    pub h264: Tap,
    pub encoder: Arc<VideoEncoder>,
    pub frames: Arc<FrameStore>,
    /// Shut until this canvas is the one previewed and someone watches.
    pub preview_valve: gst::Element,
}

impl CanvasVideo {
    /// Adds the chain to `pipeline`. `encoded_observer` sees each H.264 sample (latency).
    pub fn build(
        pipeline: &gst::Pipeline,
        id: CanvasId,
        canvas: Canvas,
        encoder: EncoderChoice,
        bitrate_kbps: u32,
        encoded_observer: Option<tap::Observer>,
        preview: PreviewFeed,
    ) -> Result<Self> {
        let suffix = match id {
            CanvasId::First => "",
            CanvasId::Second => "-second",
        };
        // A black base layer keeps the canvas ticking even in an empty scene.
        let base = make("videotestsrc", Some(&format!("canvas-base{suffix}")))?;
        base.set_property("is-live", true);
        base.set_property_from_str("pattern", "black");
        let base_caps = make("capsfilter", None)?;
        base_caps.set_property("caps", sources::raw_caps(16, 16, canvas.fps, Some("I420")));
        let compositor = make("compositor", Some(&format!("canvas{suffix}")))?;
        compositor.set_property_from_str("background", "black");
        // Not `ignore-inactive-pads`: with it, a compositor whose every pad was still waiting for
        // its first frame at the first deadline took that for end-of-stream and sent EOS, and
        // the canvas never made a frame (3 of 18 engines started three at a time here).
        // The compositor blends in AYUV: GStreamer 1.22's compositor refuses layers with alpha
        // when its output has none, and left alone it picks exotic formats (GBRA_12LE) from
        // its inputs. One conversion after it gives the I420 the encoders want.
        let canvas_caps = make("capsfilter", None)?;
        canvas_caps.set_property(
            "caps",
            sources::raw_caps(
                canvas.width as i32,
                canvas.height as i32,
                canvas.fps,
                Some("AYUV"),
            ),
        );
        let canvas_convert = make("videoconvert", None)?;
        let i420 = make("capsfilter", None)?;
        i420.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .build(),
        );
        let tee = make("tee", None)?;
        pipeline
            .add_many([
                &base,
                &base_caps,
                &compositor,
                &canvas_caps,
                &canvas_convert,
                &i420,
                &tee,
            ])
            .map_err(add_error)?;
        gst::Element::link_many([&base, &base_caps]).map_err(link_error)?;
        let base_pad = compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Invalid("compositor pad".into()))?;
        base_pad.set_property("width", canvas.width as i32);
        base_pad.set_property("height", canvas.height as i32);
        base_pad.set_property("zorder", 0u32);
        base_caps
            .static_pad("src")
            .expect("capsfilter src")
            .link(&base_pad)
            .map_err(|e| Error::Invalid(format!("base layer: {e}")))?;
        gst::Element::link_many([&compositor, &canvas_caps, &canvas_convert, &i420, &tee])
            .map_err(link_error)?;

        let frames = Arc::new(FrameStore::default());
        let raw_sink = branch_appsink(pipeline, &tee, &[], true)?;
        let store = frames.clone();
        let raw = Tap::new(
            raw_sink,
            None,
            Some(Box::new(move |sample: &gst::Sample| store.observe(sample))),
        );

        let encoder = Arc::new(VideoEncoder::create(encoder, bitrate_kbps, canvas.fps)?);
        let valve = make("valve", None)?;
        let parse = make("h264parse", None)?;
        parse.set_property("config-interval", -1i32);
        let h264_caps = make("capsfilter", None)?;
        h264_caps.set_property(
            "caps",
            gst::Caps::builder("video/x-h264")
                .field("stream-format", "byte-stream")
                .field("alignment", "au")
                .build(),
        );
        let convert = make("videoconvert", None)?;
        let h264_sink = branch_appsink(
            pipeline,
            &tee,
            &[&valve, &convert, &encoder.element, &parse, &h264_caps],
            false,
        )?;
        let h264 = Tap::new(h264_sink, Some(valve), encoded_observer);
        let (preview_sink, preview_valve) =
            preview_branch(pipeline, &tee, canvas.width, canvas.height)?;
        send_previews(&preview_sink, preview);
        Ok(Self {
            id,
            compositor,
            raw,
            h264,
            encoder,
            frames,
            preview_valve,
        })
    }
}

/// Each JPEG of `sink` onto the preview channel, with its size and a new sequence number.
fn send_previews(sink: &gst_app::AppSink, feed: PreviewFeed) {
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let size = sample.caps().and_then(|c| {
                    c.structure(0)
                        .map(|s| (s.get::<i32>("width"), s.get::<i32>("height")))
                });
                if let (Some(buffer), Some((Ok(width), Ok(height)))) = (sample.buffer(), size)
                    && let Ok(map) = buffer.map_readable()
                {
                    feed.frames.send_replace(Some(Arc::new(PreviewFrame {
                        jpeg: map.to_vec(),
                        width: width as u32,
                        height: height as u32,
                        sequence: feed.sequence.fetch_add(1, Ordering::Relaxed) + 1,
                    })));
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

pub(crate) fn add_error(e: gst::glib::BoolError) -> Error {
    Error::Invalid(format!("engine graph: {e}"))
}

pub(crate) fn link_error(e: gst::glib::BoolError) -> Error {
    Error::Invalid(format!("engine graph links: {e}"))
}

/// `tee ! queue ! elements… ! appsink`. A raw branch drops old frames rather than slow the canvas.
pub(crate) fn branch_appsink(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    elements: &[&gst::Element],
    leaky: bool,
) -> Result<gst_app::AppSink> {
    let queue = make("queue", None)?;
    if leaky {
        queue.set_property_from_str("leaky", "downstream");
        queue.set_property("max-size-buffers", 3u32);
    }
    let sink = gst_app::AppSink::builder()
        .sync(false)
        .max_buffers(4)
        .drop(true)
        .build();
    // Encoder branches stay empty while their valve is shut; an async sink would wait for a
    // preroll buffer that never comes and hold the whole pipeline in PAUSED.
    sink.set_property("async", false);
    let mut chain: Vec<&gst::Element> = vec![&queue];
    chain.extend_from_slice(elements);
    chain.push(sink.upcast_ref());
    pipeline
        .add_many(chain.iter().copied())
        .map_err(add_error)?;
    gst::Element::link_many(chain.iter().copied()).map_err(link_error)?;
    tee.link(&queue).map_err(link_error)?;
    Ok(sink)
}

/// 15 fps JPEG frames whose longest side is at most [`PREVIEW_MAX_SIDE`], behind a valve that
/// is open only while someone watches the preview (a headless run pays nothing for it).
fn preview_branch(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    width: u32,
    height: u32,
) -> Result<(gst_app::AppSink, gst::Element)> {
    let valve = make("valve", None)?;
    valve.set_property("drop", true);
    let scale = f64::from(PREVIEW_MAX_SIDE) / f64::from(width.max(height));
    let (w, h) = (
        ((f64::from(width) * scale) as i32) & !1,
        ((f64::from(height) * scale) as i32) & !1,
    );
    let rate = make("videorate", None)?;
    rate.set_property("drop-only", true);
    let rate_caps = make("capsfilter", None)?;
    rate_caps.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("framerate", gst::Fraction::new(PREVIEW_FPS, 1))
            .build(),
    );
    let videoscale = make("videoscale", None)?;
    let size_caps = make("capsfilter", None)?;
    size_caps.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("width", w)
            .field("height", h)
            .build(),
    );
    let jpeg = make("jpegenc", None)?;
    jpeg.set_property("quality", 70i32);
    let sink = branch_appsink(
        pipeline,
        tee,
        &[&valve, &rate, &rate_caps, &videoscale, &size_caps, &jpeg],
        true,
    )?;
    Ok((sink, valve))
}
