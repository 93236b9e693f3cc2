//! Single-channel float planes and the filters the effects are built from: box blur by running
//! sums (O(1) per pixel whatever the radius), 2× downsampling, bilinear upsampling and the
//! guided filter (He et al.), an edge-preserving smoother made of box blurs.

/// One channel, row-major, `w * h` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            data: vec![0.0; w * h],
        }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }
}

/// Mean over a (2r+1)² window, the window clamped at the borders (so edges are not darkened).
/// Running sums along rows, then a running column sum down the image: O(1) per pixel whatever
/// `r`, and both passes walk memory in order.
pub fn box_blur(src: &Plane, r: usize) -> Plane {
    if r == 0 || src.w == 0 || src.h == 0 {
        return src.clone();
    }
    let (w, h) = (src.w, src.h);
    let rows = blur_rows(&src.data, w, h, r);
    let mut out = Plane::new(w, h);
    let mut column = vec![0.0f32; w];
    // Window [y - r, y + r] ∩ [0, h - 1].
    let first = (r + 1).min(h);
    for y in 0..first {
        for (c, v) in column.iter_mut().zip(&rows[y * w..(y + 1) * w]) {
            *c += v;
        }
    }
    let mut count = first;
    for y in 0..h {
        let inv = 1.0 / count as f32;
        for (o, c) in out.data[y * w..(y + 1) * w].iter_mut().zip(&column) {
            *o = c * inv;
        }
        let enter = y + r + 1;
        if enter < h {
            for (c, v) in column.iter_mut().zip(&rows[enter * w..(enter + 1) * w]) {
                *c += v;
            }
            count += 1;
        }
        if y >= r {
            let leave = y - r;
            for (c, v) in column.iter_mut().zip(&rows[leave * w..(leave + 1) * w]) {
                *c -= v;
            }
            count -= 1;
        }
    }
    out
}

/// Blurs each row of a `w`×`h` array along x. Running sums, so the cost does not grow with `r`.
fn blur_rows(data: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        let dst = &mut out[y * w..(y + 1) * w];
        let mut sum: f32 = row[..(r + 1).min(w)].iter().sum();
        let mut count = (r + 1).min(w);
        for x in 0..w {
            dst[x] = sum / count as f32;
            let enter = x + r + 1;
            if enter < w {
                sum += row[enter];
                count += 1;
            }
            if x >= r {
                sum -= row[x - r];
                count -= 1;
            }
        }
    }
    out
}

/// Samples a low-resolution plane at full-resolution pixel centres, a row at a time: the two
/// source rows are blended once per output row, then widened to the output row. Brings masks and
/// coefficients computed small back to the frame without a full-size copy.
pub struct Upsampler {
    xs: Vec<(u32, u32, f32)>,
    sy: f32,
    src_h: usize,
    row: Vec<f32>,
}

impl Upsampler {
    pub fn new(src_w: usize, src_h: usize, dst_w: usize, dst_h: usize) -> Self {
        let last = src_w.max(1) - 1;
        let sx = src_w as f32 / dst_w as f32;
        let xs = (0..dst_w)
            .map(|x| {
                let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, last as f32);
                let x0 = fx.floor() as usize;
                (x0 as u32, (x0 + 1).min(last) as u32, fx - x0 as f32)
            })
            .collect();
        Self {
            xs,
            sy: src_h as f32 / dst_h as f32,
            src_h,
            row: vec![0.0; src_w],
        }
    }

    /// Prepares output row `y` of `src`; then [`Self::at`] gives its pixels.
    pub fn row(&mut self, src: &Plane, y: usize) {
        let last = self.src_h.max(1) - 1;
        let fy = ((y as f32 + 0.5) * self.sy - 0.5).clamp(0.0, last as f32);
        let y0 = fy.floor() as usize;
        let y1 = (y0 + 1).min(last);
        let t = fy - y0 as f32;
        let a = &src.data[y0 * src.w..(y0 + 1) * src.w];
        let b = &src.data[y1 * src.w..(y1 + 1) * src.w];
        for ((o, a), b) in self.row.iter_mut().zip(a).zip(b) {
            *o = a + (b - a) * t;
        }
    }

    /// The prepared row at every output pixel, into `out` (the output width long).
    pub fn widen_into(&self, out: &mut [f32]) {
        crate::rows::widen(&self.row, &self.xs, out);
    }
}

/// Bilinear resize to `w`×`h` (pixel centres aligned).
pub fn resize(src: &Plane, w: usize, h: usize) -> Plane {
    if src.w == w && src.h == h {
        return src.clone();
    }
    let mut out = Plane::new(w, h);
    if src.w == 0 || src.h == 0 {
        return out;
    }
    let sx = src.w as f32 / w as f32;
    let sy = src.h as f32 / h as f32;
    let xs: Vec<(usize, usize, f32)> = (0..w)
        .map(|x| {
            let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (src.w - 1) as f32);
            let x0 = fx.floor() as usize;
            (x0, (x0 + 1).min(src.w - 1), fx - x0 as f32)
        })
        .collect();
    for y in 0..h {
        let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (src.h - 1) as f32);
        let y0 = fy.floor() as usize;
        let y1 = (y0 + 1).min(src.h - 1);
        let ty = fy - y0 as f32;
        let (r0, r1) = (&src.data[y0 * src.w..], &src.data[y1 * src.w..]);
        let dst = &mut out.data[y * w..(y + 1) * w];
        for (d, &(x0, x1, tx)) in dst.iter_mut().zip(&xs) {
            let top = r0[x0] + (r0[x1] - r0[x0]) * tx;
            let bottom = r1[x0] + (r1[x1] - r1[x0]) * tx;
            *d = top + (bottom - top) * ty;
        }
    }
    out
}

/// The guided filter's coefficients with the image as its own guide: the output is
/// `a·I + b`, where flat areas (variance below `eps`) get `a ≈ 0` (the window's mean) and
/// edges (variance above it) `a ≈ 1` (kept). Both come box-blurred over the window, as the
/// filter averages them. `r` in pixels of `src`.
pub fn guided_coefficients(src: &Plane, r: usize, eps: f32) -> (Plane, Plane) {
    let mean = box_blur(src, r);
    let squares = Plane {
        w: src.w,
        h: src.h,
        data: src.data.iter().map(|v| v * v).collect(),
    };
    let mean_sq = box_blur(&squares, r);
    let mut a = Plane::new(src.w, src.h);
    let mut b = Plane::new(src.w, src.h);
    for i in 0..src.data.len() {
        let var = (mean_sq.data[i] - mean.data[i] * mean.data[i]).max(0.0);
        a.data[i] = var / (var + eps);
        b.data[i] = (1.0 - a.data[i]) * mean.data[i];
    }
    (box_blur(&a, r), box_blur(&b, r))
}

/// Hermite step from 0 at `lo` to 1 at `hi`.
#[inline]
pub fn smoothstep(lo: f32, hi: f32, x: f32) -> f32 {
    if hi <= lo {
        return if x >= hi { 1.0 } else { 0.0 };
    }
    let t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guided filter applied: `a·I + b` (see [`guided_coefficients`]).
    fn guided_self(src: &Plane, r: usize, eps: f32) -> Plane {
        let (a, b) = guided_coefficients(src, r, eps);
        Plane {
            w: src.w,
            h: src.h,
            data: src
                .data
                .iter()
                .zip(a.data.iter().zip(&b.data))
                .map(|(i, (a, b))| a * i + b)
                .collect(),
        }
    }

    fn ramp(w: usize, h: usize) -> Plane {
        Plane {
            w,
            h,
            data: (0..w * h).map(|i| (i % w) as f32).collect(),
        }
    }

    #[test]
    fn box_blur_matches_a_direct_window_mean_with_clamped_borders() {
        let src = Plane {
            w: 7,
            h: 5,
            data: (0..35).map(|i| ((i * 37) % 11) as f32).collect(),
        };
        let r = 2;
        let blurred = box_blur(&src, r);
        for y in 0..5usize {
            for x in 0..7usize {
                let (mut sum, mut n) = (0.0, 0.0);
                for yy in y.saturating_sub(r)..=(y + r).min(4) {
                    for xx in x.saturating_sub(r)..=(x + r).min(6) {
                        sum += src.at(xx, yy);
                        n += 1.0;
                    }
                }
                assert!((blurred.at(x, y) - sum / n).abs() < 1e-4, "({x},{y})");
            }
        }
    }

    #[test]
    fn resizing_keeps_a_ramp_a_ramp_and_odd_sizes_work() {
        let src = ramp(9, 3);
        let half = resize(&src, 5, 2);
        assert_eq!((half.w, half.h), (5, 2));
        let back = resize(&half, 9, 3);
        assert_eq!((back.w, back.h), (9, 3));
        // Monotone along x, within half a step of the original in the middle.
        for x in 1..9 {
            assert!(back.at(x, 1) >= back.at(x - 1, 1));
        }
        assert!((back.at(4, 1) - 4.0).abs() < 1.0);
    }

    #[test]
    fn the_guided_filter_flattens_noise_and_keeps_a_step() {
        let (w, h) = (64, 32);
        let mut src = Plane::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let base = if x < w / 2 { 60.0 } else { 200.0 };
                let noise = (((x * 7 + y * 13) % 5) as f32 - 2.0) * 3.0;
                src.data[y * w + x] = base + noise;
            }
        }
        {
            let out = guided_self(&src, 4, 400.0);
            // Noise inside the flat halves shrinks...
            let spread = |p: &Plane, x0: usize| {
                let vals: Vec<f32> = (8..24)
                    .flat_map(|y| (x0..x0 + 8).map(move |x| (x, y)))
                    .map(|(x, y)| p.at(x, y))
                    .collect();
                let mean = vals.iter().sum::<f32>() / vals.len() as f32;
                vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / vals.len() as f32
            };
            assert!(spread(&out, 4) < spread(&src, 4) * 0.3);
            // ...while the step between them stays sharp.
            assert!(out.at(w / 2 + 2, 16) - out.at(w / 2 - 3, 16) > 120.0);
        }
    }
}
