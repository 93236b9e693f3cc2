//! Cameras the anchor can pick: GStreamer's device monitor (V4L2 on Linux) with each camera's
//! capture modes, for the studio's device picker.

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::scene::CameraMode;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Camera {
    /// What goes into a camera layer's `device` (`/dev/video0`).
    pub device: String,
    pub name: String,
    /// Raw and MJPEG modes, largest first.
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
        if !matches!(structure.name().as_str(), "video/x-raw" | "image/jpeg") {
            continue;
        }
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
            };
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
    }
    modes.sort_by_key(|m| std::cmp::Reverse((m.width * m.height, m.fps)));
    modes
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
        let triples: Vec<(u32, u32, u32)> =
            modes.iter().map(|m| (m.width, m.height, m.fps)).collect();
        assert_eq!(
            triples,
            vec![(1920, 1080, 30), (640, 480, 30), (640, 480, 15)]
        );
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
