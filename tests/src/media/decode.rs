//! Decodes the H.264 pictures a [`super::WhepPlayer`] receives into RGBA, so a test can look
//! at what viewers see (for example, that the 讲解 card is in the outgoing video).

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// A decoded picture, RGBA rows without padding.
#[derive(Debug, Clone)]
pub struct RgbaFrame {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl RgbaFrame {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.data[i],
            self.data[i + 1],
            self.data[i + 2],
            self.data[i + 3],
        ]
    }

    /// The share of pixels in the rectangle for which `test` holds.
    pub fn share(&self, x: u32, y: u32, w: u32, h: u32, test: impl Fn([u8; 4]) -> bool) -> f64 {
        let mut hits = 0usize;
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                hits += usize::from(test(self.pixel(xx, yy)));
            }
        }
        hits as f64 / (w as f64 * h as f64).max(1.0)
    }
}

/// `appsrc ! h264parse ! avdec_h264 output-corrupt=false max-threads=1 ! videoconvert ! RGBA appsink`, fed one access unit
/// (Annex B) at a time. Pictures that reference what was never received (before the first
/// keyframe, after a loss) are dropped, not shown corrupted.
pub struct H264Decoder {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    sink: gst_app::AppSink,
}

impl H264Decoder {
    pub fn new() -> Result<Self> {
        anchordesk_pipelines::init()?;
        let pipeline = gst::parse::launch(
            "appsrc name=src is-live=true format=time \
               caps=video/x-h264,stream-format=byte-stream,alignment=au \
             ! h264parse ! avdec_h264 output-corrupt=false max-threads=1 ! videoconvert ! video/x-raw,format=RGBA \
             ! appsink name=sink sync=false max-buffers=4 drop=true",
        )?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline"))?;
        let src = pipeline
            .by_name("src")
            .context("appsrc")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| anyhow!("not an appsrc"))?;
        let sink = pipeline
            .by_name("sink")
            .context("appsink")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| anyhow!("not an appsink"))?;
        pipeline.set_state(gst::State::Playing)?;
        Ok(Self {
            pipeline,
            src,
            sink,
        })
    }

    /// Feeds one access unit; returns the newest picture decoded since the last call, if any
    /// (decoding runs on GStreamer's threads, a picture or so behind).
    pub fn push(&self, access_unit: &[u8]) -> Result<Option<RgbaFrame>> {
        self.src
            .push_buffer(gst::Buffer::from_slice(one_picture(access_unit)))
            .map_err(|e| anyhow!("decoder refused a picture: {e:?}"))?;
        // Never wait here: the caller reads the WebRTC socket on this task, and a reader that
        // stalls lets the kernel drop packets of the next keyframe.
        let mut newest = None;
        while let Some(sample) = self.sink.try_pull_sample(gst::ClockTime::ZERO) {
            newest = Some(sample);
        }
        let Some(sample) = newest else {
            return Ok(None);
        };
        let caps = sample.caps().context("decoded caps")?;
        let s = caps.structure(0).context("caps structure")?;
        let width = s.get::<i32>("width")? as u32;
        let height = s.get::<i32>("height")? as u32;
        let buffer = sample.buffer().context("decoded buffer")?;
        let map = buffer.map_readable()?;
        let stride = map.len() / height as usize;
        let mut data = Vec::with_capacity((width * height * 4) as usize);
        for row in map.chunks(stride).take(height as usize) {
            data.extend_from_slice(&row[..(width * 4) as usize]);
        }
        Ok(Some(RgbaFrame {
            width,
            height,
            data,
        }))
    }

    /// Reads pictures from `player` until one satisfies `test` or `within` passes; returns
    /// the last picture decoded either way.
    pub async fn watch_until(
        &self,
        player: &mut super::WhepPlayer,
        within: Duration,
        test: impl Fn(&RgbaFrame) -> bool,
    ) -> Result<(bool, Option<RgbaFrame>)> {
        let deadline = tokio::time::Instant::now() + within;
        let mut last = None;
        while let Some(unit) = player.next_frame(deadline).await? {
            if let Some(frame) = self.push(&unit)? {
                let done = test(&frame);
                last = Some(frame);
                if done {
                    return Ok((true, last));
                }
            }
        }
        Ok((false, last))
    }
}

/// The access unit with parameter sets and delimiters after its first slice removed.
/// `rtph264pay config-interval=-1` (whipclientsink's payloader) repeats SPS and PPS before
/// every IDR slice; browsers take that, but an SPS after a slice starts a new access unit for
/// `h264parse`, which then decodes each slice of a multi-slice keyframe as a picture of its
/// own (one band of picture and the rest missing).
pub fn one_picture(access_unit: &[u8]) -> Vec<u8> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= access_unit.len() {
        if access_unit[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::with_capacity(access_unit.len());
    let mut seen_slice = false;
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(access_unit.len(), |&next| {
            // Back over this start code (and a 4-byte one's leading zero).
            let mut end = next - 3;
            while end > start && access_unit[end - 1] == 0 {
                end -= 1;
            }
            end
        });
        let nal = &access_unit[start..end];
        let Some(&header) = nal.first() else { continue };
        let kind = header & 0x1f;
        if seen_slice && matches!(kind, 7..=9) {
            continue;
        }
        seen_slice |= (1..=5).contains(&kind);
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    out
}

impl Drop for H264Decoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::one_picture;

    #[test]
    fn parameter_sets_between_slices_are_dropped_and_the_rest_kept() {
        let au = [
            &[0, 0, 0, 1, 9, 0xf0][..],
            &[0, 0, 0, 1, 0x67, 1, 2],
            &[0, 0, 1, 0x68, 3],
            &[0, 0, 1, 0x65, 4, 4],
            &[0, 0, 0, 1, 0x67, 1, 2],
            &[0, 0, 1, 0x68, 3],
            &[0, 0, 1, 0x65, 5, 5],
        ]
        .concat();
        let expected = [
            &[0, 0, 0, 1, 9, 0xf0][..],
            &[0, 0, 0, 1, 0x67, 1, 2],
            &[0, 0, 0, 1, 0x68, 3],
            &[0, 0, 0, 1, 0x65, 4, 4],
            &[0, 0, 0, 1, 0x65, 5, 5],
        ]
        .concat();
        assert_eq!(one_picture(&au), expected);
    }
}
