//! Chroma key for green (or blue) screens: how far each pixel's chroma is from the key
//! colour's decides whether it is background, with a soft band (smoothness) between; kept
//! pixels near the key colour lose its tint (spill suppression).

use crate::ops::{Plane, smoothstep};
use crate::pixels::{FrameMut, Layout, chroma};
use crate::rows::Spill;

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

/// Foreground alpha (0 = key colour, 1 = keep) at 1/`scale` of the frame's size, from the
/// chroma of each block's mean colour: an edge block gets an in-between alpha, which is the
/// soft edge a keyed person needs anyway.
pub fn mask(frame: &FrameMut<'_>, key: &ChromaKey, scale: usize) -> Plane {
    let k = chroma(key.key.map(f32::from));
    let [r, g, b] = frame.block_means(scale.max(1));
    let mut out = Plane::new(r.w, r.h);
    for (i, o) in out.data.iter_mut().enumerate() {
        let d = distance(chroma([r.data[i], g.data[i], b.data[i]]), k);
        *o = smoothstep(key.similarity, key.similarity + key.smoothness, d);
    }
    out
}

/// Takes the key colour's tint off kept pixels ("despill"): where the key's dominant channel
/// (green for a green screen) stands above both others, it is lowered towards the larger of
/// them by `spill`. Green light bounced onto hair and shoulders turns neutral. As in every
/// keyer, a green garment in front of a green screen loses some green too. `None` when there
/// is nothing to do: no spill asked for, or a grey key with no tint.
pub fn despill(key: &ChromaKey, layout: Layout) -> Option<Spill> {
    let k = key.key;
    let dominant = (0..3).max_by_key(|&c| k[c]).unwrap_or(1);
    let others = [(dominant + 1) % 3, (dominant + 2) % 3];
    if key.spill <= 0.0 || i32::from(k[dominant]) - i32::from(k[others[0]].max(k[others[1]])) < 30 {
        return None;
    }
    let offsets = [layout.r, layout.g, layout.b];
    Some(Spill {
        dominant: offsets[dominant],
        amount: key.spill.min(1.0),
    })
}
