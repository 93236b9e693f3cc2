//! The beauty filter on a frame: skin smoothing (fast guided filter on luma, only where the
//! skin mask says skin), whitening (a log tone curve on luma in skin) and sharpening (unsharp
//! mask outside skin). Every change is a luma delta, so hues stay as they were.

use crate::ops::{self, Plane};
use crate::pixels::{self, FrameMut};

/// Strengths, each 0.0–1.0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Strengths {
    pub smooth: f32,
    pub whiten: f32,
    pub sharpen: f32,
}

impl Strengths {
    pub fn is_identity(&self) -> bool {
        self.smooth <= 0.0 && self.whiten <= 0.0 && self.sharpen <= 0.0
    }
}

/// Window radius of the smoothing at this picture size: about a pore-to-wrinkle scale.
pub fn smoothing_radius(width: usize, height: usize) -> usize {
    (width.min(height) / 90).max(3)
}

/// `255·ln(1 + (β−1)·v/255) / ln β`: lifts shadows and mid-tones, keeps black and white.
fn whitening_curve(v: f32, beta: f32) -> f32 {
    255.0 * (1.0 + (beta - 1.0) * v / 255.0).ln() / beta.ln()
}

pub fn apply(frame: &mut FrameMut<'_>, s: Strengths) {
    if s.is_identity() || frame.width == 0 || frame.height == 0 {
        return;
    }
    let luma = frame.luma();
    let skin = pixels::skin_mask(frame);
    let mut delta = Plane::new(frame.width, frame.height);
    if s.smooth > 0.0 {
        // Variance below eps counts as texture to flatten: σ ≈ 20 levels at full strength.
        let eps = (20.0 * s.smooth).powi(2);
        let smooth = ops::guided_self_fast(&luma, smoothing_radius(frame.width, frame.height), eps);
        for i in 0..delta.data.len() {
            delta.data[i] += skin.data[i] * s.smooth.min(1.0) * (smooth.data[i] - luma.data[i]);
        }
    }
    if s.whiten > 0.0 {
        let beta = 1.0 + 3.0 * s.whiten;
        for i in 0..delta.data.len() {
            let v = luma.data[i];
            delta.data[i] += skin.data[i] * (whitening_curve(v, beta) - v);
        }
    }
    if s.sharpen > 0.0 {
        let blurred = ops::box_blur(&luma, 1);
        let amount = 1.5 * s.sharpen;
        for i in 0..delta.data.len() {
            delta.data[i] += (1.0 - skin.data[i]) * amount * (luma.data[i] - blurred.data[i]);
        }
    }
    frame.add_luma(&delta);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::Layout;

    #[test]
    fn the_whitening_curve_keeps_its_ends_and_lifts_the_middle() {
        assert!(whitening_curve(0.0, 4.0).abs() < 1e-3);
        assert!((whitening_curve(255.0, 4.0) - 255.0).abs() < 1e-3);
        assert!(whitening_curve(128.0, 4.0) > 160.0);
    }

    #[test]
    fn zero_strengths_leave_the_frame_alone() {
        let mut data: Vec<u8> = (0..4 * 8 * 8).map(|i| (i * 31 % 251) as u8).collect();
        let before = data.clone();
        let mut frame = FrameMut {
            data: &mut data,
            width: 8,
            height: 8,
            stride: 32,
            layout: Layout::RGBX,
        };
        apply(&mut frame, Strengths::default());
        assert_eq!(data, before);
    }
}
