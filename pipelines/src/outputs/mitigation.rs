//! Resolution and frame-rate steps for WHIP at low bandwidth. whipclientsink asks for the
//! caps to encode at every bitrate change (`configure-mitigation-caps`); its own rule switches
//! at fixed thresholds with no hysteresis, so a bitrate wobbling around 1 or 2 Mbit/s rebuilds
//! the encoder (and sends a keyframe) again and again. This rule steps down at once and back up
//! only when the bitrate has stayed well above the threshold for a while.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;

use super::probe::StepLog;
use crate::lock;

/// Where the steps are; each applies below its bitrate. Configurable per WHIP output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MitigationSteps {
    /// The picture's shorter side at most 720 px below this (kbit/s).
    pub sd_720_below_kbps: u32,
    /// At most 360 px below this.
    pub sd_360_below_kbps: u32,
    /// Half the frame rate below this.
    pub half_fps_below_kbps: u32,
}

impl Default for MitigationSteps {
    fn default() -> Self {
        Self {
            sd_720_below_kbps: 2_000,
            sd_360_below_kbps: 1_000,
            half_fps_below_kbps: 500,
        }
    }
}

/// A step back up needs the bitrate this far above its threshold…
const UP_MARGIN: f64 = 1.25;
/// …for this long.
const UP_DWELL: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    /// The shorter side's limit in pixels, if any.
    short_side: Option<u32>,
    half_fps: bool,
}

impl Level {
    fn for_bitrate(steps: &MitigationSteps, kbps: f64) -> Self {
        let below = |threshold: u32| kbps < f64::from(threshold);
        Self {
            short_side: if below(steps.sd_360_below_kbps) {
                Some(360)
            } else if below(steps.sd_720_below_kbps) {
                Some(720)
            } else {
                None
            },
            half_fps: below(steps.half_fps_below_kbps),
        }
    }

    /// Whether `self` is a lower quality than `other` in any respect.
    fn lower_than(self, other: Self) -> bool {
        let side = |l: Self| l.short_side.unwrap_or(u32::MAX);
        side(self) < side(other) || (self.half_fps && !other.half_fps)
    }

    fn describe(self) -> String {
        let size = self
            .short_side
            .map_or_else(|| "full size".to_owned(), |s| format!("{s}p"));
        if self.half_fps {
            format!("{size}, half frame rate")
        } else {
            size
        }
    }
}

pub(crate) struct Mitigation {
    steps: MitigationSteps,
    level: Level,
    /// Since when the bitrate has allowed a higher level.
    better_since: Option<Instant>,
    log: Arc<Mutex<StepLog>>,
}

impl Mitigation {
    pub fn new(steps: MitigationSteps, log: Arc<Mutex<StepLog>>) -> Self {
        Self {
            steps,
            level: Level {
                short_side: None,
                half_fps: false,
            },
            better_since: None,
            log,
        }
    }

    /// The caps to encode at for a `width`×`height` at `fps` input and this bitrate (bit/s).
    pub fn caps(
        &mut self,
        now: Instant,
        (width, height, fps): (u32, u32, gst::Fraction),
        bitrate_bps: i32,
    ) -> gst::Caps {
        let kbps = f64::from(bitrate_bps.max(0)) / 1000.0;
        let wanted = Level::for_bitrate(&self.steps, kbps);
        if wanted.lower_than(self.level) {
            self.change(now, wanted, kbps, "bitrate below the step");
            self.better_since = None;
        } else if wanted != self.level {
            // Up only when the bitrate clears the step by a margin, and keeps doing so.
            let cleared = Level::for_bitrate(&self.steps, kbps / UP_MARGIN);
            if cleared == self.level || cleared.lower_than(self.level) {
                self.better_since = None;
            } else {
                match self.better_since {
                    Some(since) if now.duration_since(since) >= UP_DWELL => {
                        self.change(now, cleared, kbps, "bitrate well above the step for 3 s");
                        self.better_since = None;
                    }
                    Some(_) => {}
                    None => self.better_since = Some(now),
                }
            }
        } else {
            self.better_since = None;
        }

        let mut s = gst::Structure::new_empty("video/x-raw");
        if let Some(limit) = self.level.short_side {
            let short = width.min(height);
            if short > limit {
                let scale = f64::from(limit) / f64::from(short);
                let even = |v: u32| ((f64::from(v) * scale / 2.0).round() as i32 * 2).max(2);
                s.set("width", even(width));
                s.set("height", even(height));
            }
        }
        if self.level.half_fps && fps.numer() > 0 {
            s.set(
                "framerate",
                gst::Fraction::new(fps.numer(), fps.denom() * 2),
            );
        }
        gst::Caps::builder_full_with_any_features()
            .structure(s)
            .build()
    }

    fn change(&mut self, now: Instant, to: Level, kbps: f64, reason: &'static str) {
        tracing::info!(from = %self.level.describe(), to = %to.describe(), kbps, reason, "WHIP picture step");
        let label = match (to.short_side, to.half_fps) {
            (_, true) => "picture: half frame rate",
            (Some(360), _) => "picture: 360p",
            (Some(_), _) => "picture: 720p",
            (None, _) => "picture: full size",
        };
        lock(&self.log).push(now, kbps as u32, kbps as u32, label);
        self.level = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HD: (u32, u32, gst::Fraction) = (1920, 1080, gst::Fraction::from_integer(30));

    fn size(caps: &gst::Caps) -> Option<(i32, i32)> {
        let s = caps.structure(0)?;
        Some((s.get("width").ok()?, s.get("height").ok()?))
    }

    #[test]
    fn steps_down_at_once_and_up_only_after_a_clear_margin_for_three_seconds() {
        crate::init().unwrap();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let log = StepLog::shared(t0);
        let mut m = Mitigation::new(MitigationSteps::default(), log.clone());
        assert_eq!(size(&m.caps(at(0), HD, 4_000_000)), None, "full size");
        assert_eq!(size(&m.caps(at(100), HD, 1_900_000)), Some((1280, 720)));
        // Wobbling just above 2 Mbit/s does not go back up…
        assert_eq!(size(&m.caps(at(200), HD, 2_100_000)), Some((1280, 720)));
        assert_eq!(size(&m.caps(at(5_000), HD, 2_200_000)), Some((1280, 720)));
        // …2.6 Mbit/s for 3 s does.
        assert_eq!(size(&m.caps(at(6_000), HD, 2_600_000)), Some((1280, 720)));
        assert_eq!(size(&m.caps(at(8_000), HD, 2_600_000)), Some((1280, 720)));
        assert_eq!(size(&m.caps(at(9_100), HD, 2_600_000)), None);
        // A dip in between restarts the wait.
        assert_eq!(size(&m.caps(at(9_200), HD, 900_000)), Some((640, 360)));
        let half = m.caps(at(9_300), HD, 400_000);
        assert_eq!(
            half.structure(0)
                .unwrap()
                .get::<gst::Fraction>("framerate")
                .unwrap(),
            gst::Fraction::new(30, 2)
        );
        let causes: Vec<&str> = lock(&log).latest().iter().map(|c| c.cause).collect();
        assert_eq!(
            causes,
            [
                "picture: 720p",
                "picture: full size",
                "picture: 360p",
                "picture: half frame rate"
            ]
        );
    }

    #[test]
    fn portrait_keeps_its_shape_and_small_pictures_are_not_scaled_up() {
        crate::init().unwrap();
        let t0 = Instant::now();
        let portrait = (1080, 1920, gst::Fraction::from_integer(30));
        let mut m = Mitigation::new(MitigationSteps::default(), StepLog::shared(t0));
        assert_eq!(size(&m.caps(t0, portrait, 1_500_000)), Some((720, 1280)));
        let small = (640, 360, gst::Fraction::from_integer(30));
        assert_eq!(size(&m.caps(t0, small, 1_500_000)), None);
    }
}
