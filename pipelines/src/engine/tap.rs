//! Fan-out from the engine's pipeline to output pipelines: an appsink whose samples are pushed
//! into each subscribed output's appsrc. Outputs live in pipelines of their own so a failing
//! network sink never stalls or errors the canvas, the preview or the other outputs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// Frames an output may fall behind before the oldest are dropped (and counted).
const OUTPUT_QUEUE_BUFFERS: u64 = 60;

pub struct Subscriber {
    appsrc: gst_app::AppSrc,
    /// Encoded streams join at a keyframe, or decoders would show garbage until the next one.
    waiting_for_keyframe: AtomicBool,
    pub buffers: AtomicU64,
    pub bytes: AtomicU64,
    pub dropped: AtomicU64,
    /// Running time (ns) of the latest buffer handed on, to compare audio with video.
    pub last_running_time: AtomicU64,
}

impl Subscriber {
    pub fn new(appsrc: gst_app::AppSrc, encoded: bool) -> Arc<Self> {
        appsrc.set_max_buffers(OUTPUT_QUEUE_BUFFERS);
        appsrc.set_property("leaky-type", gst_app::AppLeakyType::Downstream);
        appsrc.set_format(gst::Format::Time);
        appsrc.set_is_live(true);
        // Encoders shift timestamps (x264enc starts at 1000 h) and say so in the segment; the
        // output only computes the right running time if the segment travels with the buffers.
        appsrc.set_property("handle-segment-change", true);
        Arc::new(Self {
            appsrc,
            waiting_for_keyframe: AtomicBool::new(encoded),
            buffers: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_running_time: AtomicU64::new(0),
        })
    }

    pub fn appsrc(&self) -> &gst_app::AppSrc {
        &self.appsrc
    }

    fn offer(&self, sample: &gst::Sample) {
        let Some(buffer) = sample.buffer() else {
            return;
        };
        if self.waiting_for_keyframe.load(Ordering::Relaxed) {
            if buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                return;
            }
            self.waiting_for_keyframe.store(false, Ordering::Relaxed);
        }
        if self.appsrc.current_level_buffers() >= OUTPUT_QUEUE_BUFFERS {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        let running_time = buffer.pts().and_then(|pts| {
            sample
                .segment()
                .and_then(|s| s.downcast_ref::<gst::ClockTime>())
                .and_then(|s| s.to_running_time(pts))
        });
        if let Some(rt) = running_time {
            self.last_running_time
                .store(rt.nseconds(), Ordering::Relaxed);
        }
        self.buffers.fetch_add(1, Ordering::Relaxed);
        self.bytes
            .fetch_add(buffer.size() as u64, Ordering::Relaxed);
        let _ = self.appsrc.push_sample(sample);
    }
}

pub type Observer = Box<dyn Fn(&gst::Sample) + Send + Sync>;

#[derive(Clone)]
pub struct Tap {
    sink: gst_app::AppSink,
    subscribers: Arc<Mutex<Vec<Arc<Subscriber>>>>,
    /// Opened while anyone listens, so an idle encoder costs nothing.
    valve: Option<gst::Element>,
}

impl Tap {
    /// `observer` sees every sample first (the canvas keeps its latest frame this way).
    pub fn new(
        sink: gst_app::AppSink,
        valve: Option<gst::Element>,
        observer: Option<Observer>,
    ) -> Self {
        let subscribers: Arc<Mutex<Vec<Arc<Subscriber>>>> = Arc::default();
        let list = subscribers.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(observe) = &observer {
                        observe(&sample);
                    }
                    let subscribers = list.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    for subscriber in subscribers {
                        subscriber.offer(&sample);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        if let Some(valve) = &valve {
            valve.set_property("drop", true);
        }
        Self {
            sink,
            subscribers,
            valve,
        }
    }

    pub fn subscribe(&self, subscriber: Arc<Subscriber>) {
        let mut list = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        list.push(subscriber);
        if let Some(valve) = &self.valve {
            valve.set_property("drop", false);
        }
        drop(list);
        // A new listener needs a keyframe now, not at the end of the current GOP.
        self.request_keyframe();
    }

    /// Asks the encoder behind this tap for a keyframe with its headers (raw taps ignore it).
    pub fn request_keyframe(&self) {
        let event = gstreamer_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        self.sink.send_event(event);
    }

    pub fn unsubscribe(&self, subscriber: &Arc<Subscriber>) {
        let mut list = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|s| !Arc::ptr_eq(s, subscriber));
        if list.is_empty()
            && let Some(valve) = &self.valve
        {
            valve.set_property("drop", true);
        }
    }
}

/// The streams outputs subscribe to.
#[derive(Clone)]
pub(crate) struct Taps {
    pub raw_video: Tap,
    pub raw_audio: Tap,
    pub h264: Tap,
    pub aac: Tap,
    pub clock: gst::Clock,
    pub base_time: gst::ClockTime,
    pub encoder: Arc<super::encoder::VideoEncoder>,
}
