//! What goes behind the person: the frame itself blurred, a colour, or a picture scaled to
//! fill; blended by the foreground mask.

use super::key::Despill;
use crate::ops::{self, Plane};
use crate::pixels::FrameMut;

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
pub fn compose(frame: &mut FrameMut<'_>, mask: &Plane, fill: Fill<'_>, despill: Option<Despill>) {
    let (w, h) = (frame.width, frame.height);
    let layout = frame.layout;
    let channels = [layout.r, layout.g, layout.b];
    let blurred: Option<[Plane; 3]> = match fill {
        Fill::Blur(radius) => Some(frame.block_means(4).map(|small| {
            let r = (radius / 4).max(1);
            // Three box passes approximate a Gaussian.
            ops::box_blur(&ops::box_blur(&ops::box_blur(&small, r), r), r)
        })),
        _ => None,
    };
    let mut up_mask = ops::Upsampler::new(mask.w, mask.h, w, h);
    let mut up_back: Option<[ops::Upsampler; 3]> = blurred
        .as_ref()
        .map(|planes| [0, 1, 2].map(|k| ops::Upsampler::new(planes[k].w, planes[k].h, w, h)));
    for y in 0..h {
        up_mask.row(mask, y);
        if let (Some(ups), Some(planes)) = (up_back.as_mut(), blurred.as_ref()) {
            for (up, plane) in ups.iter_mut().zip(planes) {
                up.row(plane, y);
            }
        }
        let row = &mut frame.data[y * frame.stride..y * frame.stride + 4 * w];
        for (x, p) in row.chunks_exact_mut(4).enumerate() {
            if let Some(despill) = &despill {
                despill.apply(p);
            }
            let m = up_mask.at(x);
            if m >= 0.999 {
                continue;
            }
            for (k, &c) in channels.iter().enumerate() {
                let back = match (&fill, &up_back) {
                    (_, Some(ups)) => ups[k].at(x),
                    (Fill::Colour(rgb), _) => f32::from(rgb[k]),
                    (Fill::Picture(p), _) => f32::from(p.rgb[(y * p.width + x) * 3 + k]),
                    (Fill::Blur(_), None) => unreachable!("blur planes are made above"),
                };
                let fg = f32::from(p[c]);
                p[c] = crate::pixels::to_byte(back + (fg - back) * m);
            }
        }
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
