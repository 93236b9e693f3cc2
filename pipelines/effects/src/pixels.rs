//! Packed 4-byte RGB frames (RGBA, BGRA, RGBx, BGRx) as the effects see them, and what they
//! read from them: luma and a skin likelihood.

use crate::ops::{self, Plane};

/// Byte offsets of red, green and blue in a 4-byte pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub r: usize,
    pub g: usize,
    pub b: usize,
}

impl Layout {
    pub const RGBX: Self = Self { r: 0, g: 1, b: 2 };
    pub const BGRX: Self = Self { r: 2, g: 1, b: 0 };

    /// BT.601 luma weights by byte position.
    pub fn luma_weights(self) -> [f32; 3] {
        let mut weights = [0.0; 3];
        weights[self.r] = 0.299;
        weights[self.g] = 0.587;
        weights[self.b] = 0.114;
        weights
    }
}

/// A frame's pixels, mutable in place.
pub struct FrameMut<'a> {
    pub data: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes from one row to the next (≥ 4 × width).
    pub stride: usize,
    pub layout: Layout,
}

impl FrameMut<'_> {
    #[inline]
    pub fn rgb(&self, x: usize, y: usize) -> [f32; 3] {
        let i = y * self.stride + 4 * x;
        let p = &self.data[i..i + 4];
        [
            f32::from(p[self.layout.r]),
            f32::from(p[self.layout.g]),
            f32::from(p[self.layout.b]),
        ]
    }

    /// Red, green and blue averaged over `factor`×`factor` blocks (edge blocks over what is
    /// there): the frame small, in one pass over its bytes.
    pub fn block_means(&self, factor: usize) -> [Plane; 3] {
        let (w, h) = (self.width.div_ceil(factor), self.height.div_ceil(factor));
        let mut sums = [vec![0u32; w * h], vec![0u32; w * h], vec![0u32; w * h]];
        let mut counts = vec![0u32; w * h];
        let Layout { r, g, b } = self.layout;
        for y in 0..self.height {
            let row = &self.data[y * self.stride..y * self.stride + 4 * self.width];
            let base = (y / factor) * w;
            // A block's pixels of this row at a time: no division per pixel.
            for (bx, block) in row.chunks(4 * factor).enumerate() {
                let (mut sr, mut sg, mut sb) = (0u32, 0u32, 0u32);
                for p in block.chunks_exact(4) {
                    sr += u32::from(p[r]);
                    sg += u32::from(p[g]);
                    sb += u32::from(p[b]);
                }
                let i = base + bx;
                sums[0][i] += sr;
                sums[1][i] += sg;
                sums[2][i] += sb;
                counts[i] += (block.len() / 4) as u32;
            }
        }
        sums.map(|sum| Plane {
            w,
            h,
            data: sum
                .iter()
                .zip(&counts)
                .map(|(s, n)| *s as f32 / (*n).max(1) as f32)
                .collect(),
        })
    }

    /// BT.601 luma of row `y` into `out` (length `width`).
    pub fn luma_row(&self, y: usize, out: &mut [f32]) {
        let row = &self.data[y * self.stride..y * self.stride + 4 * self.width];
        crate::rows::luma(row, self.layout.luma_weights(), out);
    }
}

/// A value to a byte, rounded. `f32::round` is a libm call on baseline x86-64 (no SSE4.1);
/// adding ½ to a clamped, non-negative value and truncating is one instruction, and one that
/// vectorises: Rust's saturating `as` casts do not.
#[inline]
pub fn to_byte(v: f32) -> u8 {
    // `max`/`min` (unlike `clamp`) turn NaN into 0, so what is converted is finite, 0.5–255.5.
    #[allow(clippy::manual_clamp)]
    let v = v.max(0.0).min(255.0) + 0.5;
    // SAFETY: `v` is finite and well inside i32's range.
    unsafe { v.to_int_unchecked::<i32>() as u8 }
}

/// (Cb, Cr) of a pixel, full range, 128 = neutral.
#[inline]
pub fn chroma([r, g, b]: [f32; 3]) -> (f32, f32) {
    (
        128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
    )
}

#[inline]
pub fn skin_likelihood(px: [f32; 3]) -> f32 {
    let luma = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
    let (cb, cr) = chroma(px);
    let d = (((cb - 102.0) / 25.0).powi(2) + ((cr - 153.0) / 20.0).powi(2)).sqrt();
    let in_ellipse = 1.0 - ops::smoothstep(0.7, 1.2, d);
    let lit = ops::smoothstep(30.0, 60.0, luma) * (1.0 - ops::smoothstep(240.0, 252.0, luma));
    in_ellipse * lit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_to_bytes_and_out_of_range_or_nan_clamp() {
        assert_eq!(to_byte(0.49), 0);
        assert_eq!(to_byte(0.5), 1);
        assert_eq!(to_byte(254.6), 255);
        assert_eq!(to_byte(300.0), 255);
        assert_eq!(to_byte(-4.0), 0);
        assert_eq!(to_byte(f32::NAN), 0);
        assert_eq!(to_byte(f32::INFINITY), 255);
    }

    #[test]
    fn skin_tones_score_high_and_green_blue_and_grey_low() {
        for skin in [
            [224.0, 172.0, 140.0],
            [198.0, 134.0, 103.0],
            [141.0, 85.0, 60.0],
        ] {
            assert!(skin_likelihood(skin) > 0.8, "{skin:?}");
        }
        for other in [
            [40.0, 180.0, 70.0],
            [30.0, 60.0, 200.0],
            [128.0, 128.0, 128.0],
            [10.0, 8.0, 6.0],
        ] {
            assert!(skin_likelihood(other) < 0.1, "{other:?}");
        }
    }

    #[test]
    fn luma_rows_and_block_means_honour_the_channel_order_and_stride() {
        let mut data = vec![0u8; 2 * 12];
        // 2×2 BGRx with a 12-byte stride (4 bytes of padding per row).
        data[0..4].copy_from_slice(&[255, 0, 0, 0]); // blue
        data[4..8].copy_from_slice(&[0, 0, 255, 0]); // red
        data[8..12].copy_from_slice(&[99, 99, 99, 99]); // padding: never read
        let frame = FrameMut {
            data: &mut data,
            width: 2,
            height: 2,
            stride: 12,
            layout: Layout::BGRX,
        };
        let mut row = [0.0f32; 2];
        frame.luma_row(0, &mut row);
        assert!((row[0] - 0.114 * 255.0).abs() < 0.01);
        assert!((row[1] - 0.299 * 255.0).abs() < 0.01);
        let [r, g, b] = frame.block_means(2);
        assert_eq!((r.w, r.h), (1, 1));
        assert!((r.data[0] - 255.0 / 4.0).abs() < 0.01, "red {}", r.data[0]);
        assert!((b.data[0] - 255.0 / 4.0).abs() < 0.01, "blue {}", b.data[0]);
        assert_eq!(g.data[0], 0.0);
    }
}
