//! The full-size passes of the effects, one frame row at a time, written so the compiler
//! vectorises them: the three colour bytes of a pixel are addressed by position (0, 1, 2 in
//! every supported format; byte 3 is alpha or padding and never touched), low-resolution
//! planes arrive already widened to the row, and nothing branches per pixel.
//!
//! Each kernel is built twice on x86-64: for the baseline (SSE2) and for AVX2 + FMA, chosen
//! once per call by what the CPU has. The AVX2 build runs the same arithmetic eight floats at a
//! time; FMA may change the last bit of a float, never a rounded byte by more than one.

use crate::pixels::to_byte;

/// Whether the CPU runs the AVX2 + FMA builds (checked once; the macro caches it).
#[inline]
fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `pub fn $name(args)` that runs `$body` built for AVX2 + FMA when the CPU has them,
/// for the baseline otherwise.
macro_rules! kernel {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn wide_body($($arg: $ty),*) {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if wide() {
                // SAFETY: the CPU has AVX2 and FMA, checked just above.
                return unsafe { wide_body($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

kernel! {
    /// Luma (BT.601) of a row of 4-byte pixels; `weights` are the luma weights of bytes 0–2
    /// (red's 0.299 at red's position, and so on).
    pub fn luma(row: &[u8], weights: [f32; 3], out: &mut [f32]) {
        for (o, p) in out.iter_mut().zip(row.chunks_exact(4)) {
            *o = weights[0] * f32::from(p[0])
                + weights[1] * f32::from(p[1])
                + weights[2] * f32::from(p[2]);
        }
    }
}

kernel! {
    /// A low-resolution row widened to `out`: each output pixel blends source pixels
    /// `x0` and `x1` by `t` (see `ops::Upsampler`). Rows exactly 2 or 4 times as wide (the
    /// effects' own scales) take a path without per-pixel lookups.
    pub fn widen(src: &[f32], taps: &[(u32, u32, f32)], out: &mut [f32]) {
        match (out.len(), src.len()) {
            (o, n) if o == 4 * n => widen_exact::<4>(src, taps, out),
            (o, n) if o == 2 * n => widen_exact::<2>(src, taps, out),
            _ => widen_taps(src, taps, out, 0..out.len()),
        }
    }
}

#[inline(always)]
fn widen_taps(
    src: &[f32],
    taps: &[(u32, u32, f32)],
    out: &mut [f32],
    range: std::ops::Range<usize>,
) {
    for x in range {
        let (x0, x1, t) = taps[x];
        let (a, b) = (src[x0 as usize], src[x1 as usize]);
        out[x] = a + (b - a) * t;
    }
}

/// Output pixel `K·i + j` sits at `i + (j + ½)/K − ½` in the source: between `i − 1` and `i`
/// for the first half of the phases, `i` and `i + 1` for the rest, with fixed weights.
/// Interior source pixels need no clamping; the first and last `K` outputs go through the taps.
#[inline(always)]
fn widen_exact<const K: usize>(src: &[f32], taps: &[(u32, u32, f32)], out: &mut [f32]) {
    let n = src.len();
    if n < 3 {
        widen_taps(src, taps, out, 0..out.len());
        return;
    }
    let interior = out[K..(n - 1) * K].chunks_exact_mut(K).zip(src.windows(3));
    for (o, w) in interior {
        let (l, c, r) = (w[0], w[1], w[2]);
        if K == 4 {
            o[0] = l + (c - l) * 0.625;
            o[1] = l + (c - l) * 0.875;
            o[2] = c + (r - c) * 0.125;
            o[3] = c + (r - c) * 0.375;
        } else {
            o[0] = l + (c - l) * 0.75;
            o[1] = c + (r - c) * 0.25;
        }
    }
    widen_taps(src, taps, out, 0..K);
    widen_taps(src, taps, out, (n - 1) * K..n * K);
}

/// What the beauty filter adds to a pixel's three colour bytes, per pixel of a row.
pub struct BeautyRow<'a> {
    /// Luma of the rows above, at and below this one.
    pub luma: [&'a [f32]; 3],
    /// The smoothing's `A·Y + B` coefficients and the skin mask, widened to the row.
    pub a: &'a [f32],
    pub b: &'a [f32],
    pub skin: &'a [f32],
    /// Whitening delta by rounded luma (256 entries).
    pub whiten: &'a [f32],
    pub sharpen: f32,
}

kernel! {
    /// The beauty filter's luma delta for each pixel of the row: smoothing and whitening where
    /// the skin mask says skin, an unsharp mask (3×3 mean) elsewhere. `column` is scratch,
    /// two longer than the row.
    pub fn beauty_delta(r: &BeautyRow<'_>, column: &mut [f32], delta: &mut [f32]) {
        let [above, here, below] = r.luma;
        let n = delta.len();
        for x in 0..n {
            let luma = here[x];
            // Luma comes from bytes, so the index is 0..=255; `min` lets the check go.
            let whiten = r.whiten[((luma + 0.5) as usize).min(255)];
            delta[x] = r.a[x] * luma + r.b[x] + r.skin[x] * whiten;
        }
        if r.sharpen <= 0.0 || n == 0 {
            return;
        }
        // Column sums with the edge columns repeated once on each side, so every pixel has
        // both neighbours.
        for x in 0..n {
            column[x + 1] = above[x] + here[x] + below[x];
        }
        column[0] = column[1];
        column[n + 1] = column[n];
        for x in 0..n {
            let mean = (column[x] + column[x + 1] + column[x + 2]) * (1.0 / 9.0);
            delta[x] += (1.0 - r.skin[x]) * r.sharpen * (here[x] - mean);
        }
    }
}

kernel! {
    /// Adds `delta` to the three colour bytes of each pixel, rounded and clamped.
    pub fn add_to_colour(row: &mut [u8], delta: &[f32]) {
        for (p, d) in row.chunks_exact_mut(4).zip(delta) {
            p[0] = to_byte(f32::from(p[0]) + d);
            p[1] = to_byte(f32::from(p[1]) + d);
            p[2] = to_byte(f32::from(p[2]) + d);
        }
    }
}

/// Despill by byte position: the key's dominant colour byte and how much of its excess over
/// the other two is taken off (0 = none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spill {
    pub dominant: usize,
    pub amount: f32,
}

impl Spill {
    /// No despill: the foreground's bytes are kept as they are.
    pub const NONE: Self = Self {
        dominant: 0,
        amount: 0.0,
    };
}

kernel! {
    /// `out = back + (fg − back)·mask` per colour byte, the foreground despilled first.
    /// `back` holds the background row by byte position; a mask of 0.999 or more keeps the
    /// foreground as it is.
    pub fn blend(row: &mut [u8], mask: &[f32], back: [&[f32]; 3], spill: Spill) {
        match spill.dominant {
            0 => blend_with::<0>(row, mask, back, spill.amount),
            1 => blend_with::<1>(row, mask, back, spill.amount),
            _ => blend_with::<2>(row, mask, back, spill.amount),
        }
    }
}

/// [`blend`] with the dominant byte known at compile time, so nothing is indexed at run time.
#[inline(always)]
fn blend_with<const D: usize>(row: &mut [u8], mask: &[f32], back: [&[f32]; 3], amount: f32) {
    let n = row.len() / 4;
    let (mask, b0, b1, b2) = (&mask[..n], &back[0][..n], &back[1][..n], &back[2][..n]);
    for (x, p) in row.chunks_exact_mut(4).enumerate() {
        let mut fg = [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])];
        let over = (fg[D] - fg[(D + 1) % 3].max(fg[(D + 2) % 3])).max(0.0);
        // Rounded as the bytes are, so no spill leaves a byte exactly as it was.
        fg[D] = f32::from(to_byte(fg[D] - amount * over));
        let m = if mask[x] >= 0.999 { 1.0 } else { mask[x] };
        for (c, b) in [b0[x], b1[x], b2[x]].into_iter().enumerate() {
            p[c] = to_byte(b + (fg[c] - b) * m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blending_keeps_the_foreground_under_a_full_mask_and_takes_the_back_under_none() {
        let mut row = vec![10, 200, 30, 255, 10, 200, 30, 255];
        let back = [vec![100.0, 100.0], vec![50.0, 50.0], vec![0.0, 0.0]];
        let none = Spill {
            dominant: 1,
            amount: 0.0,
        };
        blend(&mut row, &[1.0, 0.0], [&back[0], &back[1], &back[2]], none);
        assert_eq!(row, [10, 200, 30, 255, 100, 50, 0, 255]);
        // Despill lowers the dominant byte towards the larger of the others.
        let mut row = vec![10, 200, 30, 7];
        let spill = Spill {
            dominant: 1,
            amount: 0.5,
        };
        blend(&mut row, &[1.0], [&back[0], &back[1], &back[2]], spill);
        assert_eq!(row, [10, 115, 30, 7]);
    }

    #[test]
    fn a_delta_is_added_to_the_colour_bytes_only_and_clamped() {
        let mut row = vec![250, 100, 3, 9, 0, 0, 0, 9];
        add_to_colour(&mut row, &[10.4, -2.6]);
        assert_eq!(row, [255, 110, 13, 9, 0, 0, 0, 9]);
    }

    #[test]
    fn widening_2_or_4_times_matches_the_bilinear_resize() {
        use crate::ops::{Plane, Upsampler, resize};
        for (n, k) in [(5, 4), (7, 2), (320, 4), (3, 4), (2, 2), (6, 3)] {
            let plane = Plane {
                w: n,
                h: 1,
                data: (0..n).map(|i| ((i * 37) % 11) as f32).collect(),
            };
            let mut up = Upsampler::new(n, 1, n * k, 1);
            up.row(&plane, 0);
            let mut out = vec![0.0; n * k];
            up.widen_into(&mut out);
            let expected = resize(&plane, n * k, 1).data;
            for (x, (a, b)) in out.iter().zip(&expected).enumerate() {
                assert!((a - b).abs() < 1e-4, "{n}×{k} at {x}: {a} vs {b}");
            }
        }
    }
}
