//! H.264 encoder choice: hardware when present and working, else x264, else openh264.

use std::collections::BTreeMap;
use std::sync::Mutex;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderChoice {
    /// First working of: hardware (VA, VA-API, NVENC, Quick Sync, VideoToolbox, Media
    /// Foundation), x264, openh264.
    #[default]
    Auto,
    X264,
    Openh264,
    Hardware,
}

/// Hardware encoders in the order we prefer them; all take kbit/s.
const HARDWARE: [&str; 6] = [
    "nvh264enc",
    "vah264enc",
    "vaapih264enc",
    "qsvh264enc",
    "vtenc_h264",
    "mfh264enc",
];

/// Each hardware encoder this machine could use, and why not where it cannot: the plugin is
/// not installed, or it is but no device answers (a VA plugin without a GPU behind it).
pub fn hardware_encoders() -> Vec<(String, std::result::Result<(), String>)> {
    if let Err(e) = crate::init() {
        return vec![("gstreamer".to_owned(), Err(e.to_string()))];
    }
    HARDWARE
        .iter()
        .map(|factory| {
            let state = match gst::ElementFactory::make(factory).build() {
                // VA and NVENC register their elements only where they find a GPU.
                Err(_) => Err("not available (plugin missing or no GPU for it)".to_owned()),
                Ok(element) => {
                    let ready = element.set_state(gst::State::Ready).is_ok();
                    let _ = element.set_state(gst::State::Null);
                    if ready {
                        Ok(())
                    } else {
                        Err("installed, but no device opens".to_owned())
                    }
                }
            };
            ((*factory).to_owned(), state)
        })
        .collect()
}

/// An encoder element, configured for live: no B-frames, a keyframe every 2 s.
pub struct VideoEncoder {
    pub element: gst::Element,
    pub factory: String,
    /// The bitrate the user chose, and what each adapting network output (RTMP, SRT) allows
    /// now: they share this encoder, so it runs at the lowest of them.
    rates: Mutex<Rates>,
}

#[derive(Default)]
struct Rates {
    chosen_kbps: u32,
    limits: BTreeMap<String, u32>,
}

impl Rates {
    fn effective_kbps(&self) -> u32 {
        self.limits
            .values()
            .copied()
            .fold(self.chosen_kbps, u32::min)
    }
}

impl VideoEncoder {
    pub fn create(choice: EncoderChoice, bitrate_kbps: u32, fps: u32) -> Result<Self> {
        let candidates: Vec<&str> = match choice {
            EncoderChoice::Auto => HARDWARE
                .iter()
                .copied()
                .chain(["x264enc", "openh264enc"])
                .collect(),
            EncoderChoice::X264 => vec!["x264enc"],
            EncoderChoice::Openh264 => vec!["openh264enc"],
            EncoderChoice::Hardware => HARDWARE.to_vec(),
        };
        for factory in &candidates {
            let Ok(element) = gst::ElementFactory::make(factory).build() else {
                continue;
            };
            // A hardware encoder's plugin can exist without a device behind it.
            if element.set_state(gst::State::Ready).is_err() {
                let _ = element.set_state(gst::State::Null);
                continue;
            }
            let _ = element.set_state(gst::State::Null);
            let encoder = Self {
                element,
                factory: (*factory).to_owned(),
                rates: Mutex::default(),
            };
            encoder.configure(fps);
            encoder.set_bitrate_kbps(bitrate_kbps);
            tracing::info!(encoder = factory, "video encoder selected");
            return Ok(encoder);
        }
        if choice == EncoderChoice::Hardware {
            let found: Vec<String> = hardware_encoders()
                .into_iter()
                .map(|(factory, state)| format!("{factory}: {}", state.unwrap_err()))
                .collect();
            return Err(Error::Invalid(format!(
                "no hardware H.264 encoder works here ({})",
                found.join("; ")
            )));
        }
        Err(Error::MissingElement {
            element: candidates.join(" | "),
            package: "gstreamer1.0-plugins-ugly (x264enc) or gstreamer1.0-plugins-bad (openh264enc)",
        })
    }

    fn configure(&self, fps: u32) {
        let gop = fps * 2;
        match self.factory.as_str() {
            "x264enc" => {
                self.element.set_property_from_str("tune", "zerolatency");
                self.element
                    .set_property_from_str("speed-preset", "veryfast");
                self.element.set_property("key-int-max", gop);
                self.element.set_property("bframes", 0u32);
            }
            "openh264enc" => {
                self.element
                    .set_property_from_str("rate-control", "bitrate");
                self.element.set_property_from_str("complexity", "low");
                self.element.set_property("gop-size", gop);
            }
            "nvh264enc" => {
                self.element.set_property("gop-size", gop as i32);
                self.element.set_property("bframes", 0u32);
                self.element.set_property("zerolatency", true);
            }
            _ => {
                if self.element.find_property("key-int-max").is_some() {
                    self.element.set_property("key-int-max", gop);
                }
            }
        }
    }

    /// The user's bitrate, changeable while playing (x264 and the hardware encoders
    /// reconfigure live); an adapting output's lower limit still wins.
    pub fn set_bitrate_kbps(&self, kbps: u32) {
        let mut rates = self.rates.lock().unwrap_or_else(|e| e.into_inner());
        rates.chosen_kbps = kbps;
        self.apply(rates.effective_kbps());
    }

    /// The bitrate the user chose: the ceiling of every adapting output.
    pub fn chosen_kbps(&self) -> u32 {
        self.rates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .chosen_kbps
    }

    /// What `output` can carry now (`None`: no limit, e.g. when it stops).
    pub fn limit(&self, output: &str, kbps: Option<u32>) {
        let mut rates = self.rates.lock().unwrap_or_else(|e| e.into_inner());
        match kbps {
            Some(kbps) => rates.limits.insert(output.to_owned(), kbps),
            None => rates.limits.remove(output),
        };
        let effective = rates.effective_kbps();
        if effective != self.bitrate_kbps() {
            self.apply(effective);
        }
    }

    fn apply(&self, kbps: u32) {
        match self.factory.as_str() {
            "openh264enc" => self.element.set_property("bitrate", kbps * 1000),
            _ => self.element.set_property("bitrate", kbps),
        }
    }

    pub fn bitrate_kbps(&self) -> u32 {
        let value = self.element.property::<u32>("bitrate");
        match self.factory.as_str() {
            "openh264enc" => value / 1000,
            _ => value,
        }
    }
}

/// AAC for RTMP, SRT and recordings: libav's encoder, else voaacenc.
pub fn aac_encoder() -> Result<gst::Element> {
    for factory in ["avenc_aac", "voaacenc", "fdkaacenc"] {
        if let Ok(element) = gst::ElementFactory::make(factory).build() {
            element.set_property("bitrate", 128_000i32);
            return Ok(element);
        }
    }
    Err(Error::MissingElement {
        element: "avenc_aac".into(),
        package: "gstreamer1.0-libav",
    })
}
