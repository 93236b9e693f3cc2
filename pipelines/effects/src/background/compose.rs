//! What goes behind the person: the frame itself blurred, a colour, or a picture scaled to
//! fill; blended by the foreground mask.

use crate::ops::{self, Plane};
use crate::pixels::FrameMut;
use crate::rows;

/// A background picture already scaled and cropped to the frame size, RGB.
#[derive(Debug, Clone, PartialEq)]
pub struct Backdrop {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Backdrop {
    /// Scales `picture` to cover `width`×`height` (cropping the overflow, centred), like CSS
    /// `object-fit: cover`.
    pub fn cover(picture: &image::RgbImage, width: usize, height: usize) -> Self {
        let (pw, ph) = (picture.width() as f32, picture.height() as f32);
        let scale = (width as f32 / pw).max(height as f32 / ph);
        let (sw, sh) = ((pw * scale).ceil() as u32, (ph * scale).ceil() as u32);
        let scaled = image::imageops::resize(
            picture,
            sw.max(1),
            sh.max(1),
            image::imageops::FilterType::Triangle,
        );
        let (ox, oy) = (
            (sw as usize - width.min(sw as usize)) / 2,
            (sh as usize - height.min(sh as usize)) / 2,
        );
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let p =
                    scaled.get_pixel(((ox + x) as u32).min(sw - 1), ((oy + y) as u32).min(sh - 1));
                rgb.extend_from_slice(&p.0);
            }
        }
        Self { width, height, rgb }
    }
}

pub enum Fill<'a> {
    /// The frame blurred with this radius (in pixels of the full frame).
    Blur(usize),
    Colour([u8; 3]),
    Picture(&'a Backdrop),
}

/// `out = fg·mask + fill·(1 − mask)` in place, `mask` at any smaller size (it is sampled up
/// row by row), the foreground despilled on the way. A blurred background is made at a
/// quarter of the size: 16× less work, and it is blurred anyway.
pub fn compose(
    frame: &mut FrameMut<'_>,
    mask: &Plane,
    fill: Fill<'_>,
    despill: Option<rows::Spill>,
) {
    let (w, h) = (frame.width, frame.height);
    let layout = frame.layout;
    let channels = [layout.r, layout.g, layout.b];
    // Each blurred colour plane with what samples it up.
    let mut blurred: Option<[(Plane, ops::Upsampler); 3]> = match fill {
        Fill::Blur(radius) => Some(frame.block_means(4).map(|small| {
            let r = (radius / 4).max(1);
            // Three box passes approximate a Gaussian.
            let plane = ops::box_blur(&ops::box_blur(&ops::box_blur(&small, r), r), r);
            let up = ops::Upsampler::new(plane.w, plane.h, w, h);
            (plane, up)
        })),
        _ => None,
    };
    let mut up_mask = ops::Upsampler::new(mask.w, mask.h, w, h);
    let mut mask_row = vec![0.0f32; w];
    // The background's row by byte position (`channels` maps red, green, blue to theirs).
    let mut back: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0f32; w]);
    if let Fill::Colour(rgb) = fill {
        for (k, &c) in channels.iter().enumerate() {
            back[c].fill(f32::from(rgb[k]));
        }
    }
    let spill = despill.unwrap_or(rows::Spill::NONE);
    for y in 0..h {
        up_mask.row(mask, y);
        up_mask.widen_into(&mut mask_row);
        match (&fill, blurred.as_mut()) {
            (Fill::Blur(_), Some(planes)) => {
                for ((plane, up), &c) in planes.iter_mut().zip(&channels) {
                    up.row(plane, y);
                    up.widen_into(&mut back[c]);
                }
            }
            (Fill::Picture(picture), _) => {
                let start = y * picture.width * 3;
                let src = &picture.rgb[start..start + 3 * w];
                for (x, px) in src.chunks_exact(3).enumerate() {
                    for (k, &c) in channels.iter().enumerate() {
                        back[c][x] = f32::from(px[k]);
                    }
                }
            }
            _ => {}
        }
        let row = &mut frame.data[y * frame.stride..y * frame.stride + 4 * w];
        rows::blend(row, &mask_row, [&back[0], &back[1], &back[2]], spill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::Layout;

    #[test]
    fn cover_fills_the_frame_and_crops_the_longer_side() {
        // 4×2 picture, left half red, right half blue, onto a 2×2 frame: the middle is kept.
        let mut picture = image::RgbImage::new(4, 2);
        for (x, _, p) in picture.enumerate_pixels_mut() {
            *p = if x < 2 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            };
        }
        let b = Backdrop::cover(&picture, 2, 2);
        assert_eq!((b.width, b.height, b.rgb.len()), (2, 2, 12));
        assert!(b.rgb[0] > 150, "left column is reddish");
        assert!(b.rgb[5] > 150, "right column is bluish");
    }

    #[test]
    fn colour_fill_replaces_background_and_keeps_foreground() {
        let mut data = vec![100u8; 4 * 2];
        let mut frame = FrameMut {
            data: &mut data,
            width: 2,
            height: 1,
            stride: 8,
            layout: Layout::RGBX,
        };
        let mask = Plane {
            w: 2,
            h: 1,
            data: vec![1.0, 0.0],
        };
        compose(&mut frame, &mask, Fill::Colour([0, 255, 0]), None);
        assert_eq!(&data[0..3], &[100, 100, 100]);
        assert_eq!(&data[4..7], &[0, 255, 0]);
    }
}
