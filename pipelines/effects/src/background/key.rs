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

/// Takes the key colour's tint off kept pixels ("despill"): where the key's dominant channel
/// (green for a green screen) stands above both others, it is lowered towards the larger of
/// them by `spill`. Green light bounced onto hair and shoulders turns neutral. As in every
/// keyer, a green garment in front of a green screen loses some green too.
pub fn suppress_spill(frame: &mut FrameMut<'_>, key: &ChromaKey) {
    if key.spill <= 0.0 {
        return;
    }
    let k = key.key;
    let dominant = (0..3).max_by_key(|&c| k[c]).unwrap_or(1);
    let others = [(dominant + 1) % 3, (dominant + 2) % 3];
    // A grey or pale key has no tint to take off.
    if i32::from(k[dominant]) - i32::from(k[others[0]].max(k[others[1]])) < 30 {
        return;
    }
    let layout = frame.layout;
    let offsets = [layout.r, layout.g, layout.b];
    let (d, o0, o1) = (offsets[dominant], offsets[others[0]], offsets[others[1]]);
    for y in 0..frame.height {
        let row = &mut frame.data[y * frame.stride..];
        for x in 0..frame.width {
            let p = &mut row[4 * x..4 * x + 4];
            let limit = p[o0].max(p[o1]);
            if p[d] > limit {
                let excess = f32::from(p[d] - limit);
                p[d] = (f32::from(p[d]) - key.spill * excess).round() as u8;
            }
        }
    }
}
