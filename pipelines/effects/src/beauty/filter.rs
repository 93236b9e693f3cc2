//! The beauty filter on a frame: skin smoothing (fast guided filter on luma, only where the
//! skin mask says skin), whitening (a log tone curve on luma in skin) and sharpening (unsharp
//! mask outside skin). Every change is a luma delta, so hues stay as they were.

use crate::ops::{self, Plane};
use crate::pixels::{self, FrameMut};
use crate::rows;

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

/// Coefficients and the mask are computed at a quarter of the size, where a skin texture is
/// already averaged away; only the final pass (and the sharpening's 3×3 detail) runs at full
/// size. The smoothing is the fast guided filter's `q = a·I + b` with `a`, `b` from the small
/// picture, folded into one delta `A·I + B` with the skin mask and the strength.
const SCALE: usize = 4;

pub fn apply(frame: &mut FrameMut<'_>, s: Strengths) {
    if s.is_identity() || frame.width == 0 || frame.height == 0 {
        return;
    }
    let (w, h) = (frame.width, frame.height);
    let [r, g, b] = frame.block_means(SCALE);
    let (qw, qh) = (r.w, r.h);
    let mut luma = Plane::new(qw, qh);
    let mut skin = Plane::new(qw, qh);
    for i in 0..qw * qh {
        let px = [r.data[i], g.data[i], b.data[i]];
        luma.data[i] = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
        skin.data[i] = pixels::skin_likelihood(px);
    }
    let skin = ops::box_blur(&skin, 1);

    // delta = A·Y + B from the smoothing (zero without it).
    let (mut coef_a, mut coef_b) = (Plane::new(qw, qh), Plane::new(qw, qh));
    if s.smooth > 0.0 {
        let radius = (smoothing_radius(w, h) / SCALE).max(1);
        // Variance below eps counts as texture to flatten: σ ≈ 20 levels at full strength.
        let eps = (20.0 * s.smooth).powi(2);
        let (a, b) = ops::guided_coefficients(&luma, radius, eps);
        let k = s.smooth.min(1.0);
        for i in 0..qw * qh {
            coef_a.data[i] = skin.data[i] * k * (a.data[i] - 1.0);
            coef_b.data[i] = skin.data[i] * k * b.data[i];
        }
    }
    // Whitening as a table on the rounded luma.
    let beta = 1.0 + 3.0 * s.whiten;
    let whiten: Vec<f32> = (0..256)
        .map(|v| {
            if s.whiten > 0.0 {
                whitening_curve(v as f32, beta) - v as f32
            } else {
                0.0
            }
        })
        .collect();
    let sharpen = 1.5 * s.sharpen;

    let mut up_a = ops::Upsampler::new(qw, qh, w, h);
    let mut up_b = ops::Upsampler::new(qw, qh, w, h);
    let mut up_skin = ops::Upsampler::new(qw, qh, w, h);
    // Luma of rows y-1, y, y+1 for the sharpening's 3×3 mean (edges repeat).
    let mut luma_rows = [vec![0.0f32; w], vec![0.0f32; w], vec![0.0f32; w]];
    frame.luma_row(0, &mut luma_rows[0]);
    frame.luma_row(0, &mut luma_rows[1]);
    let [mut a_row, mut b_row, mut skin_row, mut delta] = std::array::from_fn(|_| vec![0.0f32; w]);
    let mut column = vec![0.0f32; w + 2];
    for y in 0..h {
        if y + 1 < h {
            frame.luma_row(y + 1, &mut luma_rows[2]);
        } else {
            let (done, next) = luma_rows.split_at_mut(2);
            next[0].clone_from(&done[1]);
        }
        up_a.row(&coef_a, y);
        up_a.widen_into(&mut a_row);
        up_b.row(&coef_b, y);
        up_b.widen_into(&mut b_row);
        up_skin.row(&skin, y);
        up_skin.widen_into(&mut skin_row);
        let inputs = rows::BeautyRow {
            luma: [&luma_rows[0], &luma_rows[1], &luma_rows[2]],
            a: &a_row,
            b: &b_row,
            skin: &skin_row,
            whiten: &whiten,
            sharpen,
        };
        rows::beauty_delta(&inputs, &mut column, &mut delta);
        let row = &mut frame.data[y * frame.stride..y * frame.stride + 4 * w];
        rows::add_to_colour(row, &delta);
        luma_rows.rotate_left(1);
    }
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
