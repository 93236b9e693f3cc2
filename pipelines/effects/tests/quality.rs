//! What the effects do to pictures, measured: the chroma key on a generated green-screen
//! frame, and the beauty filter's smoothing of skin against the edges it must keep.
//!
//! Measures (also in the crate docs):
//! - high-frequency energy of a region: Σ (Y − mean₃ₓ₃(Y))² over its pixels, Y = BT.601 luma;
//! - edge energy: Σ |∇Y|² (central differences) over pixels whose gradient is strong
//!   (|∇Y| > 40 levels per pixel) in the original.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_check::Harness;

fn init() {
    gst::init().unwrap();
    gstanchordesk::register_static().unwrap();
}

/// Runs one RGBA frame through `element` with these properties; returns the output bytes.
fn run(element: &str, props: &[(&str, &str)], w: usize, h: usize, rgba: Vec<u8>) -> Vec<u8> {
    let mut harness = Harness::new(element);
    harness.set_src_caps_str(&format!(
        "video/x-raw,format=RGBA,width={w},height={h},framerate=30/1"
    ));
    for (name, value) in props {
        harness
            .element()
            .unwrap()
            .set_property_from_str(name, value);
    }
    harness.play();
    harness.push(gst::Buffer::from_mut_slice(rgba)).unwrap();
    harness
        .pull()
        .unwrap()
        .map_readable()
        .unwrap()
        .as_slice()
        .to_vec()
}

fn px(data: &[u8], w: usize, x: usize, y: usize) -> [i32; 3] {
    let i = 4 * (y * w + x);
    [
        i32::from(data[i]),
        i32::from(data[i + 1]),
        i32::from(data[i + 2]),
    ]
}

fn close(a: [i32; 3], b: [i32; 3], tolerance: i32) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
}

#[derive(Clone, Copy, PartialEq)]
enum Truth {
    Background,
    Subject,
    /// Within 4 px of the subject's outline: neither side is scored there.
    Edge,
    /// Subject pixels tinted by green light bounced off the screen (a ring inside the outline).
    Spill,
}

/// A 640×360 green screen (with sensor noise) and a person-like subject: skin face, dark hair,
/// red top, a pale shirt; the subject's outer 6 px carry 35 % green spill.
fn green_screen() -> (usize, usize, Vec<u8>, Vec<Truth>) {
    let (w, h) = (640usize, 360usize);
    let mut data = vec![255u8; w * h * 4];
    let mut truth = vec![Truth::Background; w * h];
    let green = [0.0f32, 177.0, 64.0];
    // Signed distance to the subject outline (negative inside): a head and a body ellipse.
    let inside = |x: f32, y: f32| -> f32 {
        let head = ((x - 320.0) / 55.0).powi(2) + ((y - 120.0) / 70.0).powi(2);
        let body = ((x - 320.0) / 150.0).powi(2) + ((y - 330.0) / 120.0).powi(2);
        let d_head = (head.sqrt() - 1.0) * 60.0;
        let d_body = (body.sqrt() - 1.0) * 130.0;
        d_head.min(d_body)
    };
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let d = inside(fx, fy);
            let noise = ((x * 7919 + y * 7_727) % 13) as f32 - 6.0;
            let mut c = if d > 0.0 {
                [green[0] + noise, green[1] + noise, green[2] + noise]
            } else if fy < 90.0 {
                [40.0, 30.0, 25.0] // hair
            } else if fy < 190.0 {
                [224.0 + noise, 172.0 + noise, 140.0 + noise] // face
            } else if (fx - 320.0).abs() < 40.0 {
                [235.0, 235.0, 225.0] // shirt
            } else {
                [180.0, 40.0, 45.0] // red top
            };
            let t = if d.abs() <= 4.0 {
                Truth::Edge
            } else if d > 0.0 {
                Truth::Background
            } else if d > -10.0 {
                Truth::Spill
            } else {
                Truth::Subject
            };
            if t == Truth::Spill || (t == Truth::Edge && d <= 0.0) {
                for k in 0..3 {
                    c[k] = c[k] * 0.65 + green[k] * 0.35;
                }
            }
            let i = 4 * (y * w + x);
            for k in 0..3 {
                data[i + k] = c[k].round().clamp(0.0, 255.0) as u8;
            }
            truth[y * w + x] = t;
        }
    }
    (w, h, data, truth)
}

#[test]
fn the_chroma_key_replaces_the_screen_keeps_the_subject_and_takes_the_green_off_its_edge() {
    init();
    let (w, h, input, truth) = green_screen();
    let magenta = [255, 0, 255];
    let out = run(
        "anchordeskbackground",
        &[
            ("mode", "colour"),
            ("mask-source", "chroma-key"),
            ("color", "16711935"),
            ("temporal", "0"),
        ],
        w,
        h,
        input.clone(),
    );
    let (mut bg, mut bg_replaced, mut subject, mut subject_kept) = (0, 0, 0, 0);
    let (mut spill_before, mut spill_after, mut spill_n) = (0.0, 0.0, 0.0);
    for y in 0..h {
        for x in 0..w {
            match truth[y * w + x] {
                Truth::Background => {
                    bg += 1;
                    bg_replaced += i32::from(close(px(&out, w, x, y), magenta, 8));
                }
                Truth::Subject => {
                    subject += 1;
                    subject_kept += i32::from(close(px(&out, w, x, y), px(&input, w, x, y), 6));
                }
                Truth::Spill => {
                    // Green excess: how much green stands above the other two channels.
                    let excess = |[r, g, b]: [i32; 3]| (g - r.max(b)).max(0) as f64;
                    spill_before += excess(px(&input, w, x, y));
                    spill_after += excess(px(&out, w, x, y));
                    spill_n += 1.0;
                }
                Truth::Edge => {}
            }
        }
    }
    let replaced = f64::from(bg_replaced) / f64::from(bg);
    let kept = f64::from(subject_kept) / f64::from(subject);
    eprintln!(
        "background replaced {:.2} %, subject kept {:.2} %, spill excess {:.1} -> {:.1}",
        replaced * 100.0,
        kept * 100.0,
        spill_before / spill_n,
        spill_after / spill_n
    );
    assert!(replaced >= 0.99, "background replaced {replaced}");
    assert!(kept >= 0.99, "subject kept {kept}");
    assert!(
        spill_after < spill_before * 0.5,
        "spill {spill_before} -> {spill_after}"
    );
}

fn luma(data: &[u8], w: usize, h: usize) -> Vec<f64> {
    (0..w * h)
        .map(|i| {
            0.299 * f64::from(data[4 * i])
                + 0.587 * f64::from(data[4 * i + 1])
                + 0.114 * f64::from(data[4 * i + 2])
        })
        .collect()
}

/// Σ (Y − 3×3 mean)² over pixels where `select` holds.
fn high_frequency(y: &[f64], w: usize, h: usize, select: &dyn Fn(usize, usize) -> bool) -> f64 {
    let mut sum = 0.0;
    for yy in 1..h - 1 {
        for x in 1..w - 1 {
            if !select(x, yy) {
                continue;
            }
            let mean = (0..9)
                .map(|k| y[(yy + k / 3 - 1) * w + x + k % 3 - 1])
                .sum::<f64>()
                / 9.0;
            sum += (y[yy * w + x] - mean).powi(2);
        }
    }
    sum
}

fn gradient(y: &[f64], w: usize, x: usize, yy: usize) -> f64 {
    let gx = (y[yy * w + x + 1] - y[yy * w + x - 1]) / 2.0;
    let gy = (y[(yy + 1) * w + x] - y[(yy - 1) * w + x]) / 2.0;
    (gx * gx + gy * gy).sqrt()
}

#[test]
fn smoothing_flattens_skin_texture_and_keeps_strong_edges_elsewhere() {
    init();
    // Left: skin with pore-scale texture; right: a sharp black/white pattern (not skin).
    let (w, h) = (320usize, 240usize);
    let mut input = vec![255u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let i = 4 * (y * w + x);
            let c = if x < w / 2 {
                let t = ((x * 7919 + y * 104_729) % 17) as i32 - 8;
                [214 + t, 164 + t, 134 + t]
            } else if ((x / 12) + (y / 12)) % 2 == 0 {
                [20, 20, 20]
            } else {
                [235, 235, 235]
            };
            for k in 0..3 {
                input[i + k] = c[k].clamp(0, 255) as u8;
            }
        }
    }
    let out = run(
        "anchordeskbeauty",
        &[("smooth", "1.0")],
        w,
        h,
        input.clone(),
    );
    let (y0, y1) = (luma(&input, w, h), luma(&out, w, h));
    let skin = |x: usize, y: usize| x > 20 && x < w / 2 - 20 && y > 20 && y < h - 20;
    let hf0 = high_frequency(&y0, w, h, &skin);
    let hf1 = high_frequency(&y1, w, h, &skin);
    let (mut e0, mut e1) = (0.0, 0.0);
    for yy in 1..h - 1 {
        for x in w / 2 + 2..w - 1 {
            let g = gradient(&y0, w, x, yy);
            if g > 40.0 {
                e0 += g * g;
                e1 += gradient(&y1, w, x, yy).powi(2);
            }
        }
    }
    eprintln!(
        "skin high-frequency energy {:.0} -> {:.0} ({:.0} % less); edge energy kept {:.1} %",
        hf0,
        hf1,
        (1.0 - hf1 / hf0) * 100.0,
        e1 / e0 * 100.0
    );
    assert!(
        hf1 <= hf0 * 0.6,
        "skin texture fell only to {:.2}",
        hf1 / hf0
    );
    assert!(e1 >= e0 * 0.9, "edges kept only {:.2}", e1 / e0);
}
