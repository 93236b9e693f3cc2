//! Both elements through `gst_check::Harness`: caps, passthrough, live property changes, odd
//! sizes and timestamps.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_check::Harness;

fn init() {
    gst::init().unwrap();
    gstanchordesk::register_static().unwrap();
}

fn caps(format: &str, w: u32, h: u32) -> String {
    format!("video/x-raw,format={format},width={w},height={h},framerate=30/1")
}

/// A frame with texture everywhere (so any filtering shows), 4 bytes a pixel, tightly packed.
fn textured(w: usize, h: usize, pts_ms: u64) -> gst::Buffer {
    let mut data = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let i = 4 * (y * w + x);
            // Skin-toned with fine noise on the left half, grey stripes on the right.
            let noise = ((x * 7919 + y * 104_729) % 23) as i32 - 11;
            let px = if x < w / 2 {
                [210 + noise, 160 + noise, 130 + noise]
            } else if (x / 8) % 2 == 0 {
                [30, 30, 30]
            } else {
                [220, 220, 220]
            };
            for (c, v) in px.iter().enumerate() {
                data[i + c] = (*v).clamp(0, 255) as u8;
            }
            data[i + 3] = 255;
        }
    }
    let mut buffer = gst::Buffer::from_mut_slice(data);
    {
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        b.set_duration(gst::ClockTime::from_mseconds(33));
    }
    buffer
}

fn bytes(buffer: &gst::Buffer) -> Vec<u8> {
    buffer.map_readable().unwrap().as_slice().to_vec()
}

#[test]
fn each_packed_rgb_format_negotiates_and_planar_yuv_is_refused() {
    init();
    for element in ["anchordeskbeauty", "anchordeskbackground"] {
        for format in ["RGBA", "BGRA", "RGBx", "BGRx"] {
            let mut h = Harness::new(element);
            h.set_src_caps_str(&caps(format, 64, 36));
            h.play();
            assert!(h.push(textured(64, 36, 0)).is_ok(), "{element} {format}");
            let out = h.pull().unwrap();
            assert_eq!(out.size(), 64 * 36 * 4);
            let negotiated = h.sinkpad().unwrap().current_caps().unwrap();
            assert_eq!(
                negotiated
                    .structure(0)
                    .unwrap()
                    .get::<&str>("format")
                    .unwrap(),
                format
            );
        }
        let mut h = Harness::new(element);
        h.set_src_caps_str(&caps("I420", 64, 36));
        assert!(
            h.push(gst::Buffer::with_size(64 * 36 * 3 / 2).unwrap())
                .is_err(),
            "{element} takes I420"
        );
    }
}

#[test]
fn strengths_at_zero_pass_the_same_buffer_through_untouched() {
    init();
    let mut h = Harness::new("anchordeskbeauty");
    h.set_src_caps_str(&caps("RGBA", 1281, 721));
    h.play();
    let input = textured(1281, 721, 40);
    let expected = bytes(&input);
    let pointer = input.as_ptr();
    h.push(input).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.as_ptr(), pointer, "passthrough: not even a copy");
    assert_eq!(bytes(&out), expected);
}

#[test]
fn properties_change_while_playing_and_odd_sizes_keep_their_timestamps() {
    init();
    let mut h = Harness::new("anchordeskbeauty");
    h.set_src_caps_str(&caps("BGRx", 1281, 721));
    h.play();
    let element = h.element().unwrap();
    let original = bytes(&textured(1281, 721, 0));

    element.set_property("smooth", 1.0f32);
    element.set_property("sharpen", 0.7f32);
    h.push(textured(1281, 721, 100)).unwrap();
    let filtered = h.pull().unwrap();
    assert_ne!(bytes(&filtered), original, "the filter ran");
    assert_eq!(filtered.pts(), Some(gst::ClockTime::from_mseconds(100)));
    assert_eq!(filtered.duration(), Some(gst::ClockTime::from_mseconds(33)));
    assert_eq!(filtered.size(), 1281 * 721 * 4);

    element.set_property("smooth", 0.0f32);
    element.set_property("sharpen", 0.0f32);
    assert_eq!(element.property::<f32>("smooth"), 0.0);
    h.push(textured(1281, 721, 133)).unwrap();
    let again = h.pull().unwrap();
    assert_eq!(bytes(&again), original, "back to bit-exact");
    assert_eq!(again.pts(), Some(gst::ClockTime::from_mseconds(133)));

    let mut bg = Harness::new("anchordeskbackground");
    bg.set_src_caps_str(&caps("RGBA", 1281, 721));
    bg.play();
    bg.element()
        .unwrap()
        .set_property_from_str("mode", "colour");
    bg.push(textured(1281, 721, 200)).unwrap();
    let out = bg.pull().unwrap();
    assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(200)));
    assert_eq!(out.size(), 1281 * 721 * 4);
}

#[test]
fn strengths_and_modes_are_bounded() {
    init();
    let beauty = gst::ElementFactory::make("anchordeskbeauty")
        .build()
        .unwrap();
    let spec = beauty.find_property("smooth").unwrap();
    let spec = spec
        .downcast_ref::<gstreamer::glib::ParamSpecFloat>()
        .unwrap();
    assert_eq!(
        (spec.minimum(), spec.maximum(), spec.default_value()),
        (0.0, 1.0, 0.0)
    );
    let background = gst::ElementFactory::make("anchordeskbackground")
        .build()
        .unwrap();
    for mode in ["off", "blur", "image", "colour"] {
        background.set_property_from_str("mode", mode);
    }
    assert_eq!(background.property::<u32>("key-color"), 0x00_B1_40);
    // Person segmentation runs on every 3rd frame unless told otherwise, 1–10.
    let every = background.find_property("segment-every").unwrap();
    let every = every
        .downcast_ref::<gstreamer::glib::ParamSpecUInt>()
        .unwrap();
    assert_eq!(
        (every.minimum(), every.maximum(), every.default_value()),
        (1, 10, 3)
    );
    background.set_property("segment-every", 1u32);
    assert_eq!(background.property::<u32>("segment-every"), 1);
}
