//! Faster recovery for WHIP on top of GCC. GCC (`rtpgccbwe`) only climbs about 8 % a second
//! and never probes, so after a dip the stream takes tens of seconds to use a link that came
//! back. This prober raises GCC's estimate in steps while nothing says the link is full, and
//! leaves the cutting to GCC: an over-used link still shows up as growing delay, and GCC's cut
//! tells the prober to back off. A probe that was cut marks a ceiling: probes approach it in
//! full steps up to 90 % of it and in small ones (×1.08) past that, so the link is pushed over
//! gently; above 110 % of it, or 20 s later, it is forgotten.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::lock;

/// One probe raises the estimate by this factor.
const STEP: f64 = 1.3;
/// Probes come this often while they succeed.
const INTERVAL: Duration = Duration::from_secs(1);
/// After a failed probe the interval doubles up to this, so a full link is poked rarely.
const MAX_BACKOFF: Duration = Duration::from_secs(3);
/// No probe this soon after GCC cut the estimate (it is reacting to a real queue).
const QUIET_AFTER_CUT: Duration = Duration::from_millis(1500);
/// A probe that was not followed by a cut within this long found room.
const VERDICT_AFTER: Duration = Duration::from_secs(2);
/// An estimate this much below the previous one is a cut.
const CUT: f64 = 0.97;
/// A probe that was cut marks the link's ceiling: full steps up to 90 % of it, small ones in
/// the band up to 110 %; above the band the link has grown.
const APPROACH: Approach = Approach {
    near: 0.9,
    forget_above: 1.1,
};
/// A step near a ceiling; also the smallest probe worth making.
const GENTLE_STEP: f64 = 1.08;
/// A ceiling older than this is forgotten.
const CEILING_MEMORY: Duration = Duration::from_secs(20);

/// Where the link was last found full (in the caller's unit), and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceiling {
    pub rate: f64,
    pub at: Instant,
}

/// How probes approach a [`Ceiling`]; shared by the WHIP prober and the RTMP/SRT rule, which
/// differ only in the band.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Approach {
    /// Full steps stop at this share of the ceiling; gentle ones go on from there.
    pub near: f64,
    /// Past this share the link has grown: the ceiling is forgotten.
    pub forget_above: f64,
}

impl Approach {
    /// `ceiling` if it still applies at `rate`: not too old, not left behind.
    pub fn heed(&self, ceiling: Option<Ceiling>, now: Instant, rate: f64) -> Option<Ceiling> {
        ceiling.filter(|c| {
            now.duration_since(c.at) <= CEILING_MEMORY && rate <= c.rate * self.forget_above
        })
    }

    /// The next probe from `rate` with a full step of `step`, and whether it is a gentle one
    /// near the ceiling. Never smaller than a gentle step, and within one unit of the band
    /// counts as in it: a target truncated to whole units would otherwise stall just under it.
    pub fn next(&self, ceiling: Option<Ceiling>, rate: f64, step: f64) -> (f64, bool) {
        match ceiling {
            Some(c) if rate + 1.0 >= c.rate * self.near => (rate * GENTLE_STEP, true),
            Some(c) => (
                (rate * step)
                    .min(c.rate * self.near)
                    .max(rate * GENTLE_STEP),
                false,
            ),
            None => (rate * step, false),
        }
    }
}

/// How a WHIP output adapts its bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateControl {
    /// GCC as whipclientsink ships it.
    Gcc,
    /// GCC, plus probing upward whenever GCC has not cut for a while.
    #[default]
    GccProbe,
}

/// A bitrate or picture step of a WHIP output, for the stats (and so the UI's graph).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RateStep {
    /// Seconds since the connection started.
    pub at_s: f64,
    /// The estimate before and after (a picture step gives the bitrate at the time in both).
    pub from_kbps: u32,
    pub to_kbps: u32,
    pub cause: &'static str,
}

/// The latest steps of one connection, written by the prober and by the picture steps.
pub(crate) struct StepLog {
    started: Instant,
    steps: VecDeque<RateStep>,
    /// Steps recorded ever, so readers can tell news from what they have.
    recorded: u64,
}

impl StepLog {
    const KEEP: usize = 20;

    pub fn shared(started: Instant) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self {
            started,
            steps: VecDeque::with_capacity(Self::KEEP),
            recorded: 0,
        }))
    }

    pub fn push(&mut self, now: Instant, from_kbps: u32, to_kbps: u32, cause: &'static str) {
        if self.steps.len() == Self::KEEP {
            self.steps.pop_front();
        }
        self.recorded += 1;
        self.steps.push_back(RateStep {
            at_s: now.duration_since(self.started).as_secs_f64(),
            from_kbps,
            to_kbps,
            cause,
        });
    }

    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// Oldest first.
    pub fn latest(&self) -> Vec<RateStep> {
        self.steps.iter().cloned().collect()
    }
}

pub(crate) struct Prober {
    gcc: gst::Element,
    max_bps: u32,
    log: Arc<Mutex<StepLog>>,
    last_estimate: u32,
    last_cut: Option<Instant>,
    next_probe: Instant,
    backoff: Duration,
    pending: Option<Instant>,
    /// The estimate a probe reached before GCC cut it, and when.
    ceiling: Option<Ceiling>,
}

impl Prober {
    pub fn new(gcc: gst::Element, max_kbps: u32, log: Arc<Mutex<StepLog>>) -> Self {
        let now = Instant::now();
        Self {
            last_estimate: gcc.property::<u32>("estimated-bitrate"),
            gcc,
            max_bps: max_kbps.saturating_mul(1000),
            log,
            last_cut: None,
            next_probe: now + INTERVAL,
            backoff: INTERVAL,
            pending: None,
            ceiling: None,
        }
    }

    /// Call about every 100 ms.
    pub fn tick(&mut self, now: Instant) {
        let estimate = self.gcc.property::<u32>("estimated-bitrate");
        if let Some(at) = self.pending
            && now.duration_since(at) >= VERDICT_AFTER
        {
            self.pending = None;
            self.backoff = INTERVAL;
        }
        if f64::from(estimate) < f64::from(self.last_estimate) * CUT {
            self.last_cut = Some(now);
            if self.pending.take().is_some() {
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                self.ceiling = Some(Ceiling {
                    rate: f64::from(self.last_estimate),
                    at: now,
                });
                self.record(
                    now,
                    self.last_estimate,
                    estimate,
                    "probe found the link full",
                );
            } else {
                self.record(now, self.last_estimate, estimate, "GCC saw the queue grow");
            }
            self.next_probe = now + self.backoff;
        }
        self.last_estimate = estimate;
        let quiet = self
            .last_cut
            .is_none_or(|cut| now.duration_since(cut) >= QUIET_AFTER_CUT);
        self.ceiling = APPROACH.heed(self.ceiling, now, f64::from(estimate));
        if now >= self.next_probe && quiet && estimate < self.max_bps {
            let (raised, _) = APPROACH.next(self.ceiling, f64::from(estimate), STEP);
            let raised = (raised as u32).min(self.max_bps);
            self.gcc.set_property("estimated-bitrate", raised);
            self.record(now, estimate, raised, "probe");
            self.last_estimate = raised;
            self.pending = Some(now);
            self.next_probe = now + INTERVAL;
        }
    }

    fn record(&self, now: Instant, from_bps: u32, to_bps: u32, cause: &'static str) {
        lock(&self.log).push(now, from_bps / 1000, to_bps / 1000, cause);
    }

    pub fn estimate_kbps(&self) -> u32 {
        self.last_estimate / 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcc(bps: u32) -> gst::Element {
        crate::init().unwrap();
        let gcc = gst::ElementFactory::make("rtpgccbwe").build().unwrap();
        gcc.set_property("estimated-bitrate", bps);
        gcc
    }

    fn estimate(gcc: &gst::Element) -> u32 {
        gcc.property::<u32>("estimated-bitrate")
    }

    #[test]
    fn probes_up_while_gcc_holds_and_backs_off_when_a_probe_is_cut() {
        let t0 = Instant::now();
        let gcc = gcc(1_000_000);
        let mut prober = Prober::new(gcc.clone(), 6_000, StepLog::shared(t0));
        prober.tick(t0 + Duration::from_millis(500));
        assert_eq!(
            estimate(&gcc),
            1_000_000,
            "no probe before the first interval"
        );
        prober.tick(t0 + Duration::from_millis(1_100));
        assert_eq!(estimate(&gcc), 1_300_000);
        prober.tick(t0 + Duration::from_millis(2_100));
        assert_eq!(estimate(&gcc), 1_690_000);

        // GCC cuts right after the probe: the link was full.
        gcc.set_property("estimated-bitrate", 1_200_000u32);
        prober.tick(t0 + Duration::from_millis(2_300));
        let log = lock(&prober.log);
        let (steps, recorded) = (log.latest(), log.recorded());
        drop(log);
        assert_eq!(recorded, 3);
        assert_eq!(steps[2].cause, "probe found the link full");
        assert_eq!((steps[2].from_kbps, steps[2].to_kbps), (1_690, 1_200));
        // Backed off to 2 s: nothing at +1.5 s, a probe at +2 s, stopping short of where the
        // last probe was cut.
        prober.tick(t0 + Duration::from_millis(3_800));
        assert_eq!(estimate(&gcc), 1_200_000);
        prober.tick(t0 + Duration::from_millis(4_400));
        assert_eq!(
            estimate(&gcc),
            1_521_000,
            "a full step stops at 90 % of the ceiling"
        );
        prober.tick(t0 + Duration::from_millis(5_500));
        assert_eq!(estimate(&gcc), 1_642_680, "near the ceiling, a small step");
        prober.tick(t0 + Duration::from_millis(6_600));
        assert_eq!(estimate(&gcc), 1_774_094);
        prober.tick(t0 + Duration::from_millis(7_700));
        assert_eq!(estimate(&gcc), 1_916_021);
        // Past 110 % of the ceiling the link has grown: full steps again.
        prober.tick(t0 + Duration::from_millis(8_800));
        assert_eq!(estimate(&gcc), 2_490_827);
    }

    #[test]
    fn a_probe_truncated_just_under_the_band_does_not_stall_there() {
        let t0 = Instant::now();
        // 90 % of the ceiling is 1_111_110.3 bps: a target of 1_111_110 is in the band.
        let ceiling = Some(Ceiling {
            rate: 1_234_567.0,
            at: t0,
        });
        let (to, gentle) = APPROACH.next(ceiling, 1_111_110.0, STEP);
        assert!(gentle && to > 1_111_110.0 * 1.07, "{to}");
        // Just below the band a full step is capped there, but never smaller than a gentle one.
        let (to, gentle) = APPROACH.next(ceiling, 1_100_000.0, STEP);
        assert!(
            !gentle && (to - 1_100_000.0 * GENTLE_STEP).abs() < 1e-6,
            "{to}"
        );
        assert!(APPROACH.heed(ceiling, t0, 1_358_000.0).is_some());
        assert!(
            APPROACH.heed(ceiling, t0, 1_359_000.0).is_none(),
            "left behind"
        );
        assert!(
            APPROACH
                .heed(ceiling, t0 + CEILING_MEMORY + Duration::from_secs(1), 1.0)
                .is_none(),
            "too old"
        );
    }

    #[test]
    fn never_probes_past_the_maximum_or_right_after_gcc_cut_on_its_own() {
        let t0 = Instant::now();
        let gcc = gcc(5_500_000);
        let mut prober = Prober::new(gcc.clone(), 6_000, StepLog::shared(t0));
        prober.tick(t0 + Duration::from_millis(1_100));
        assert_eq!(estimate(&gcc), 6_000_000);
        prober.tick(t0 + Duration::from_millis(2_200));
        assert_eq!(
            estimate(&gcc),
            6_000_000,
            "at the maximum: nothing to probe"
        );

        gcc.set_property("estimated-bitrate", 3_000_000u32);
        prober.tick(t0 + Duration::from_millis(4_500));
        assert_eq!(
            lock(&prober.log).latest().last().unwrap().cause,
            "GCC saw the queue grow"
        );
        prober.tick(t0 + Duration::from_millis(5_600));
        assert_eq!(estimate(&gcc), 3_000_000, "quiet for 1.5 s after a cut");
        prober.tick(t0 + Duration::from_millis(6_100));
        assert_eq!(estimate(&gcc), 3_900_000);
    }
}
