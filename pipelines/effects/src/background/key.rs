//! Chroma key for green (or blue) screens: how far each pixel's chroma is from the key
//! colour's decides whether it is background, with a soft band (smoothness) between; kept
//! pixels near the key colour lose its tint (spill suppression).

use crate::ops::{Plane, smoothstep};
use crate::pixels::{FrameMut, chroma};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChromaKey {
    /// The screen's colour, RGB.
    pub key: [u8; 3],
    /// Chroma distance (0–1, of the CbCr plane's extent) under which a pixel is background.
    pub similarity: f32,
    /// Width of the soft band above `similarity`.
    pub smoothness: f32,
    /// 0–1: how much of the key's tint kept pixels near it lose.
    pub spill: f32,
}

impl Default for ChromaKey {
    fn default() -> Self {
        Self {
            key: [0, 177, 64],
            similarity: 0.16,
            smoothness: 0.08,
            spill: 0.7,
        }
    }
}

/// Chroma distance between two pixels, 0 (same chroma) to about 1.
#[inline]
fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() / 181.0
}

/// Foreground alpha per pixel: 0 = key colour (background), 1 = keep.
pub fn mask(frame: &FrameMut<'_>, key: &ChromaKey) -> Plane {
    let k = chroma(key.key.map(f32::from));
    let mut out = Plane::new(frame.width, frame.height);
    for y in 0..frame.height {
        for x in 0..frame.width {
            let d = distance(chroma(frame.rgb(x, y)), k);
            out.data[y * frame.width + x] =
                smoothstep(key.similarity, key.similarity + key.smoothness, d);
        }
    }
    out
}

/// Desaturates kept pixels towards their luma in proportion to how close their chroma is to
/// the key's: green light bounced onto hair and shoulders turns neutral instead of green.
pub fn suppress_spill(frame: &mut FrameMut<'_>, key: &ChromaKey) {
    if key.spill <= 0.0 {
        return;
    }
    let k = chroma(key.key.map(f32::from));
    let reach = key.similarity + key.smoothness + 0.25;
    let layout = frame.layout;
    for y in 0..frame.height {
        for x in 0..frame.width {
            let px = frame.rgb(x, y);
            let d = distance(chroma(px), k);
            let s = key.spill * (1.0 - smoothstep(key.similarity, reach, d));
            if s <= 0.0 {
                continue;
            }
            let luma = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
            let i = y * frame.stride + 4 * x;
            for (c, v) in [(layout.r, px[0]), (layout.g, px[1]), (layout.b, px[2])] {
                frame.data[i + c] = (v + (luma - v) * s).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}
