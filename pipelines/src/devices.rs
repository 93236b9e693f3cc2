//! Cameras the anchor can pick: GStreamer's device monitor (V4L2 on Linux) with each camera's
//! capture modes, for the studio's device picker.

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::scene::{CameraFormat, CameraMode};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Camera {
    /// What goes into a camera layer's `device` (`/dev/video0`).
    pub device: String,
    pub name: String,
    /// Raw, MJPEG and H.264 modes, largest first.
    pub modes: Vec<CameraMode>,
}

/// Cameras present now; empty on a machine without any.
pub fn cameras() -> crate::Result<Vec<Camera>> {
    crate::init()?;
    let monitor = gst::DeviceMonitor::new();
    monitor.add_filter(Some("Video/Source"), None);
    monitor
        .start()
        .map_err(|e| crate::Error::Invalid(format!("device monitor: {e}")))?;
    let devices = monitor.devices();
    monitor.stop();
    Ok(devices
        .iter()
        .filter_map(|device| {
            let properties = device.properties()?;
            let path = ["api.v4l2.path", "device.path"]
                .iter()
                .find_map(|key| properties.get::<String>(*key).ok())?;
            Some(Camera {
                device: path,
                name: device.display_name().to_string(),
                modes: device
                    .caps()
                    .map(|caps| modes_of(&caps))
                    .unwrap_or_default(),
            })
        })
        .collect())
}

/// Fixed width/height/framerate triples in `caps` (ranges and lists expanded where fixed).
pub fn modes_of(caps: &gst::Caps) -> Vec<CameraMode> {
    let mut modes = Vec::new();
    for structure in caps.iter() {
        let Some(format) = CameraFormat::from_caps_name(structure.name().as_str()) else {
            continue;
        };
        let (Ok(width), Ok(height)) = (
            structure.get::<i32>("width"),
            structure.get::<i32>("height"),
        ) else {
            continue;
        };
        let rates: Vec<gst::Fraction> = match structure.value("framerate") {
            Ok(value) => {
                if let Ok(rate) = value.get::<gst::Fraction>() {
                    vec![rate]
                } else if let Ok(list) = value.get::<gst::List>() {
                    list.iter()
                        .filter_map(|v| v.get::<gst::Fraction>().ok())
                        .collect()
                } else {
                    Vec::new()
                }
            }
            Err(_) => Vec::new(),
        };
        for rate in rates {
            if rate.denom() <= 0 || rate.numer() <= 0 {
                continue;
            }
            let mode = CameraMode {
                width: width as u32,
                height: height as u32,
                fps: (rate.numer() as f64 / rate.denom() as f64).round() as u32,
                format,
            };
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
    }
    // Raw first among equals: it needs no decoding.
    modes.sort_by_key(|m| {
        (
            std::cmp::Reverse((m.width * m.height, m.fps)),
            m.format != CameraFormat::Raw,
        )
    });
    modes
}

/// Largest modes worth capturing: beyond 1080p a camera costs decoding and scaling the canvas
/// does not show.
const LARGEST_USEFUL: (u32, u32) = (1920, 1080);

/// The mode a camera layer without one uses: the largest up to 1080p that keeps 25 fps or
/// more (whatever its format), else the fastest. Picking by size alone took raw 1080p at 5 fps
/// on most webcams.
pub fn best_mode(modes: &[CameraMode]) -> Option<CameraMode> {
    let fits = |m: &&CameraMode| m.width <= LARGEST_USEFUL.0 && m.height <= LARGEST_USEFUL.1;
    let fluid = modes
        .iter()
        .filter(fits)
        .filter(|m| m.fps >= 25)
        .copied()
        .max_by_key(|m| {
            (
                m.width * m.height,
                std::cmp::Reverse(m.format != CameraFormat::Raw),
                std::cmp::Reverse(m.fps.abs_diff(30)),
            )
        });
    fluid.or_else(|| {
        modes
            .iter()
            .filter(fits)
            .copied()
            .max_by_key(|m| (m.fps, m.width * m.height))
    })
}

/// The modes of the camera at `device` (a `/dev/video*` path), from the device monitor.
pub fn modes_of_device(device: &str) -> Vec<CameraMode> {
    cameras()
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.device == device)
        .map(|c| c.modes)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_come_from_raw_and_mjpeg_caps_largest_first() {
        crate::init().unwrap();
        let caps: gst::Caps =
            "video/x-raw, format=YUY2, width=640, height=480, framerate={ 30/1, 15/1 }; \
             image/jpeg, width=1920, height=1080, framerate=30/1; \
             video/x-raw, format=YUY2, width=640, height=480, framerate=30/1; \
             video/x-h264, width=3840, height=2160, framerate=30/1"
                .parse()
                .unwrap();
        let modes = modes_of(&caps);
        let listed: Vec<(u32, u32, u32, CameraFormat)> = modes
            .iter()
            .map(|m| (m.width, m.height, m.fps, m.format))
            .collect();
        assert_eq!(
            listed,
            vec![
                (3840, 2160, 30, CameraFormat::H264),
                (1920, 1080, 30, CameraFormat::Mjpeg),
                (640, 480, 30, CameraFormat::Raw),
                (640, 480, 15, CameraFormat::Raw),
            ]
        );
    }

    fn mode(width: u32, height: u32, fps: u32, format: CameraFormat) -> CameraMode {
        CameraMode {
            width,
            height,
            fps,
            format,
        }
    }

    #[test]
    fn the_automatic_mode_is_fluid_1080p_mjpeg_not_raw_1080p_at_5_fps() {
        // A typical USB 2 webcam.
        let webcam = [
            mode(1920, 1080, 5, CameraFormat::Raw),
            mode(1280, 720, 10, CameraFormat::Raw),
            mode(640, 480, 30, CameraFormat::Raw),
            mode(1920, 1080, 30, CameraFormat::Mjpeg),
            mode(1280, 720, 30, CameraFormat::Mjpeg),
            mode(3840, 2160, 30, CameraFormat::Mjpeg),
        ];
        assert_eq!(
            best_mode(&webcam),
            Some(mode(1920, 1080, 30, CameraFormat::Mjpeg))
        );
        // Raw wins a tie: nothing to decode.
        let both = [
            mode(1280, 720, 30, CameraFormat::Mjpeg),
            mode(1280, 720, 30, CameraFormat::Raw),
        ];
        assert_eq!(
            best_mode(&both),
            Some(mode(1280, 720, 30, CameraFormat::Raw))
        );
        // 30 fps preferred over 60 at the same size.
        let rates = [
            mode(1280, 720, 60, CameraFormat::Mjpeg),
            mode(1280, 720, 30, CameraFormat::Mjpeg),
        ];
        assert_eq!(
            best_mode(&rates),
            Some(mode(1280, 720, 30, CameraFormat::Mjpeg))
        );
        // Nothing fluid: the fastest.
        let slow = [
            mode(1920, 1080, 5, CameraFormat::Raw),
            mode(640, 480, 15, CameraFormat::Raw),
        ];
        assert_eq!(
            best_mode(&slow),
            Some(mode(640, 480, 15, CameraFormat::Raw))
        );
        assert_eq!(best_mode(&[]), None);
    }

    #[test]
    fn listing_cameras_works_without_any() {
        // CI machines have no camera; the call must still succeed.
        let cameras = cameras().unwrap();
        assert!(
            cameras.iter().all(|c| c.device.starts_with("/dev/")),
            "{cameras:?}"
        );
    }
}
