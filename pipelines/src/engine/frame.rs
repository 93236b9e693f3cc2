//! Frames the engine hands out: the preview's JPEGs and composed canvas frames (snapshots,
//! tests), with their conversion to RGBA or JPEG.

use gstreamer as gst;

use crate::{Error, Result};

/// A preview frame for the UI.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewFrame {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Increases by one per frame.
    pub sequence: u64,
}

/// A composed canvas frame, for snapshots and tests.
#[derive(Debug, Clone)]
pub struct CanvasFrame {
    pub pts: Option<gst::ClockTime>,
    sample: gst::Sample,
}

impl CanvasFrame {
    pub(super) fn from_sample(sample: &gst::Sample) -> Self {
        Self {
            pts: sample.buffer().and_then(|b| b.pts()),
            sample: sample.clone(),
        }
    }

    /// The frame converted to `caps` (raw RGBA, JPEG, …).
    fn convert(&self, caps: &gst::Caps) -> Result<(gst::Buffer, Option<gst::Caps>)> {
        let converted = gstreamer_video::convert_sample(
            &self.sample,
            caps,
            Some(gst::ClockTime::from_seconds(2)),
        )
        .map_err(|e| Error::Invalid(format!("frame conversion: {e}")))?;
        let buffer = converted
            .buffer_owned()
            .ok_or_else(|| Error::Invalid("converted frame without data".into()))?;
        Ok((buffer, converted.caps_owned()))
    }

    /// The frame as tightly packed RGBA.
    pub fn to_rgba(&self) -> Result<RgbaImage> {
        let (buffer, caps) = self.convert(
            &gst::Caps::builder("video/x-raw")
                .field("format", "RGBA")
                .build(),
        )?;
        let info = caps
            .and_then(|c| gstreamer_video::VideoInfo::from_caps(&c).ok())
            .ok_or_else(|| Error::Invalid("frame without caps".into()))?;
        let map = buffer
            .map_readable()
            .map_err(|_| Error::Invalid("frame not readable".into()))?;
        let (width, height, stride) = (info.width(), info.height(), info.stride()[0] as usize);
        let mut pixels = Vec::with_capacity((width * height * 4) as usize);
        for row in 0..height as usize {
            pixels.extend_from_slice(&map[row * stride..row * stride + width as usize * 4]);
        }
        Ok(RgbaImage {
            width,
            height,
            pixels,
        })
    }

    /// The frame as JPEG.
    pub fn to_jpeg(&self) -> Result<Vec<u8>> {
        self.jpeg(gst::Caps::builder("image/jpeg").build())
    }

    /// The frame as a JPEG `height` pixels high (its aspect kept): a small monitor picture.
    pub fn to_jpeg_of_height(&self, height: u32) -> Result<Vec<u8>> {
        let (width, full) = self
            .sample
            .caps()
            .and_then(|c| gstreamer_video::VideoInfo::from_caps(c).ok())
            .map(|info| (info.width(), info.height()))
            .ok_or_else(|| Error::Invalid("frame without caps".into()))?;
        let height = height.clamp(2, full.max(2));
        // Even sizes: JPEG's chroma subsampling wants them.
        let width =
            ((u64::from(width) * u64::from(height) / u64::from(full.max(1))) as u32 & !1).max(2);
        self.jpeg(
            gst::Caps::builder("image/jpeg")
                .field("width", width as i32)
                .field("height", (height & !1) as i32)
                .build(),
        )
    }

    fn jpeg(&self, caps: gst::Caps) -> Result<Vec<u8>> {
        let (buffer, _) = self.convert(&caps)?;
        let map = buffer
            .map_readable()
            .map_err(|_| Error::Invalid("snapshot not readable".into()))?;
        Ok(map.to_vec())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl RgbaImage {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.pixels[i],
            self.pixels[i + 1],
            self.pixels[i + 2],
            self.pixels[i + 3],
        ]
    }
}
