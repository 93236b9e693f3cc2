//! Live sources fed from another thread (a stand-in camera, a microphone's callback, a media
//! file's player) stamp each buffer with the running time at which it arrives, as a capture
//! device does.
//!
//! Not appsrc's `do-timestamp`: it stamps at push time, and appsrc takes buffers before it is
//! started. In the moment between a layer's bin joining the running pipeline (which gives the
//! appsrc the clock) and its starting to play (which gives it the base time), a buffer was
//! stamped with the clock's absolute time, hours ahead. A decoder never lets time go
//! backwards, so every later frame carried that stamp, and the compositor, waiting for hours
//! to pass, showed the layer's first picture for good (about 1 start in 15 of a stand-in
//! camera on a loaded machine; a microphone or media layer could meet the same moment).

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// The running time of something that arrives now; `None` until the source plays (what
/// arrives before then is lost, as a camera's frames are before it is opened).
pub(crate) fn now(appsrc: &gst_app::AppSrc) -> Option<gst::ClockTime> {
    if appsrc.current_state() != gst::State::Playing {
        return None;
    }
    let base = appsrc.base_time()?;
    appsrc.clock()?.time().checked_sub(base)
}

/// Pushes `buffer` stamped with its arrival time; drops it while the source is not playing.
pub(crate) fn push(appsrc: &gst_app::AppSrc, mut buffer: gst::Buffer) {
    let Some(pts) = now(appsrc) else { return };
    let b = buffer.make_mut();
    b.set_pts(pts);
    b.set_dts(gst::ClockTime::NONE);
    let _ = appsrc.push_buffer(buffer);
}
