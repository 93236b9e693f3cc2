//! Bitrate control for RTMP and SRT, which carry the shared encoder's stream and have no
//! congestion control of their own that reaches the encoder. The signals are the send path's:
//! how much is waiting to go out (our queue before the sink plus what the socket holds
//! unacknowledged, converted to milliseconds at the rate the far end takes it), how fast the far
//! end takes it, and for SRT the loss its receiver reports.
//!
//! Two rules, selectable so they can be compared on the same link:
//! - [`SendRateControl::Throughput`] (ours): as soon as the queue passes 150 ms and is not
//!   draining, cut to what went through, less what it takes to drain the backlog in about two
//!   seconds; then probe up every second while the queue stays short, in big steps far from the
//!   rate of the last cut and small ones near it.
//! - [`SendRateControl::ObsLike`]: OBS's dynamic bitrate: at 200 ms of queue, down to the
//!   measured throughput; back up by a tenth of the configured bitrate every 4 s.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::probe::{Approach, Ceiling, StepLog};
use crate::lock;

/// How an RTMP or SRT output adapts the shared encoder's bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendRateControl {
    /// Cut to the throughput early, probe back up every second.
    #[default]
    Throughput,
    /// OBS's rule, for comparison.
    ObsLike,
    /// The encoder keeps the bitrate the user chose.
    Fixed,
}

/// The lowest bitrate either rule goes to.
pub const MIN_KBPS: u32 = 300;
/// Throughput is measured over this window: short, so a cut right after the link fell is
/// sized by the new rate, not by an average with the old one.
const WINDOW: Duration = Duration::from_millis(500);
/// No decision this soon after the connection started.
const STARTUP_GRACE: Duration = Duration::from_secs(3);

/// Ours: a queue over this, not shrinking, is congestion.
const QUEUE_HIGH_MS: f64 = 150.0;
/// Ours: probes only while the queue is under this (what is in flight on a short link).
const QUEUE_LOW_MS: f64 = 60.0;
/// Ours: the backlog should be gone within about this long after a cut.
const DRAIN: Duration = Duration::from_secs(2);
/// Ours: a cut keeps at least this share of the throughput (a cut to nothing stalls the stream).
const CUT_FLOOR: f64 = 0.5;
/// Ours: and at most this share, leaving room for audio and muxing overhead.
const CUT_TO: f64 = 0.9;
/// Ours: one cut per this long. The first cut after a fall is sized partly by the old rate
/// (the window straddles the fall); the next one, a window later, by the new rate alone.
const CUT_SPACING: Duration = Duration::from_millis(500);
/// Ours: probes come this often, not sooner than `QUIET_AFTER_CUT` after a cut.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const QUIET_AFTER_CUT: Duration = Duration::from_millis(1500);
/// Probes past any known ceiling grow while they find room, like TCP's slow start: from
/// 1.5 Mbit/s back to 5.5 in three probes.
const PROBE_STEPS: [f64; 3] = [1.25, 1.5, 2.0];
/// Ours: within this share of the last cut's throughput, probes take small steps.
/// Full steps up to 95 % of the throughput at the last cut; past it, the link has room again.
const APPROACH: Approach = Approach {
    near: 0.95,
    forget_above: 1.0,
};

/// OBS-like: queue threshold and the slow way back up.
const OBS_TRIGGER_MS: f64 = 200.0;
const OBS_RAISE_EVERY: Duration = Duration::from_secs(4);

/// SRT: this share of packets lost in the window is congestion, whatever the queue.
const LOSS_HIGH: f64 = 0.02;

/// One reading of the send path; counters are totals since the connection started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendSample {
    pub at: Instant,
    /// Bytes the far end has taken (TCP: acknowledged; SRT: sent, less retransmissions).
    pub delivered_bytes: u64,
    /// Bytes handed to the send path and not yet taken.
    pub backlog_bytes: u64,
    /// The path's round trip without queues (TCP's minimum RTT): that much of the backlog is
    /// merely in flight.
    pub base_rtt_ms: f64,
    /// SRT: packets sent and packets the receiver reported lost, in total.
    pub packets: Option<(u64, u64)>,
}

pub(crate) struct SendRate {
    rule: SendRateControl,
    max_kbps: u32,
    target_kbps: u32,
    window: VecDeque<SendSample>,
    /// What the far end took over the last window, kbit/s.
    throughput_kbps: Option<u32>,
    last_cut: Option<Instant>,
    next_raise: Instant,
    /// Throughput at the last cut, and when.
    ceiling: Option<Ceiling>,
    /// Probes in a row that found room with no ceiling in sight.
    probes_held: u32,
    started: Instant,
    log: Arc<Mutex<StepLog>>,
}

/// What the window says about the link.
#[derive(Debug, Clone, Copy)]
struct Reading {
    throughput_kbps: f64,
    queue_ms: f64,
    /// The queue grew over the window.
    growing: bool,
    loss: f64,
}

impl SendRate {
    pub fn new(rule: SendRateControl, start_kbps: u32, log: Arc<Mutex<StepLog>>) -> Self {
        let now = Instant::now();
        Self {
            rule,
            max_kbps: start_kbps.max(MIN_KBPS),
            target_kbps: start_kbps.max(MIN_KBPS),
            window: VecDeque::new(),
            throughput_kbps: None,
            last_cut: None,
            next_raise: now + PROBE_EVERY,
            ceiling: None,
            probes_held: 0,
            started: now,
            log,
        }
    }

    #[cfg(test)]
    fn target_kbps(&self) -> u32 {
        self.target_kbps
    }

    pub fn throughput_kbps(&self) -> Option<u32> {
        self.throughput_kbps
    }

    /// The user changed the bitrate: it is the new ceiling.
    pub fn set_max_kbps(&mut self, kbps: u32) {
        self.max_kbps = kbps.max(MIN_KBPS);
        self.target_kbps = self.target_kbps.min(self.max_kbps);
    }

    /// Takes a sample; returns the new target when it changed.
    pub fn tick(&mut self, sample: SendSample) -> Option<u32> {
        self.window.push_back(sample);
        while self
            .window
            .front()
            .is_some_and(|s| sample.at.duration_since(s.at) > WINDOW)
        {
            self.window.pop_front();
        }
        let reading = self.read()?;
        self.throughput_kbps = Some(reading.throughput_kbps.round() as u32);
        // TCP's slow start and the first keyframe queue up at the start of every connection.
        if sample.at < self.started + STARTUP_GRACE {
            return None;
        }
        let before = self.target_kbps;
        let cause = match self.rule {
            SendRateControl::Fixed => return None,
            SendRateControl::Throughput => self.ours(sample.at, reading),
            SendRateControl::ObsLike => self.obs_like(sample.at, reading),
        }?;
        if self.target_kbps == before {
            return None;
        }
        lock(&self.log).push(sample.at, before, self.target_kbps, cause);
        Some(self.target_kbps)
    }

    /// Needs most of a window of samples, so one burst does not decide.
    fn read(&self) -> Option<Reading> {
        let (first, last) = (self.window.front()?, self.window.back()?);
        let secs = last.at.duration_since(first.at).as_secs_f64();
        if secs < WINDOW.as_secs_f64() * 0.8 {
            return None;
        }
        let delivered = last.delivered_bytes.saturating_sub(first.delivered_bytes);
        let throughput_kbps = delivered as f64 * 8.0 / 1000.0 / secs;
        // Bytes × 8 / kbit/s = ms; an idle link with a backlog is an endless queue.
        let queue_ms = (last.backlog_bytes as f64 * 8.0 / throughput_kbps.max(1.0)
            - last.base_rtt_ms)
            .max(0.0);
        let loss = match (first.packets, last.packets) {
            (Some((sent0, lost0)), Some((sent1, lost1))) if sent1 > sent0 => {
                lost1.saturating_sub(lost0) as f64 / (sent1 - sent0) as f64
            }
            _ => 0.0,
        };
        Some(Reading {
            throughput_kbps,
            queue_ms,
            growing: last.backlog_bytes > first.backlog_bytes,
            loss,
        })
    }

    fn ours(&mut self, now: Instant, r: Reading) -> Option<&'static str> {
        let congested = (r.queue_ms > QUEUE_HIGH_MS && r.growing) || r.loss > LOSS_HIGH;
        if congested {
            let due = self
                .last_cut
                .is_none_or(|at| now.duration_since(at) >= CUT_SPACING);
            if !due {
                return None;
            }
            let backlog_kbps = r.queue_ms * r.throughput_kbps / DRAIN.as_millis() as f64;
            let to = (CUT_TO * r.throughput_kbps - backlog_kbps).max(CUT_FLOOR * r.throughput_kbps);
            let to = self.clamp(to);
            if to >= self.target_kbps {
                return None;
            }
            self.target_kbps = to;
            self.last_cut = Some(now);
            self.probes_held = 0;
            self.ceiling = Some(Ceiling {
                rate: r.throughput_kbps,
                at: now,
            });
            self.next_raise = now + QUIET_AFTER_CUT;
            return Some(if r.loss > LOSS_HIGH {
                "loss reported by the receiver"
            } else {
                "send queue growing"
            });
        }
        if now < self.next_raise || r.queue_ms >= QUEUE_LOW_MS || self.target_kbps >= self.max_kbps
        {
            return None;
        }
        self.next_raise = now + PROBE_EVERY;
        let current = f64::from(self.target_kbps);
        // Past the last cut's rate, or long after it, the link has changed.
        self.ceiling = APPROACH.heed(self.ceiling, now, current);
        let ceiling = self.ceiling;
        // Probes that keep finding room past any known ceiling grow: a link that came back is
        // likely far above.
        self.probes_held = if ceiling.is_some() {
            0
        } else {
            self.probes_held + 1
        };
        let step = PROBE_STEPS[(self.probes_held as usize).clamp(1, PROBE_STEPS.len()) - 1];
        let (to, gentle) = APPROACH.next(ceiling, current, step);
        self.target_kbps = self.clamp(to);
        Some(if gentle {
            "probe near the last cut"
        } else {
            "probe"
        })
    }

    fn obs_like(&mut self, now: Instant, r: Reading) -> Option<&'static str> {
        let congested = r.queue_ms >= OBS_TRIGGER_MS || r.loss > LOSS_HIGH;
        if congested {
            self.next_raise = now + OBS_RAISE_EVERY;
            let to = self.clamp(r.throughput_kbps);
            if to >= self.target_kbps {
                return None;
            }
            self.target_kbps = to;
            self.last_cut = Some(now);
            return Some("send queue over 200 ms");
        }
        if now < self.next_raise || self.target_kbps >= self.max_kbps {
            return None;
        }
        self.next_raise = now + OBS_RAISE_EVERY;
        self.target_kbps =
            self.clamp(f64::from(self.target_kbps) + f64::from(self.max_kbps) / 10.0);
        Some("raise by a tenth every 4 s")
    }

    fn clamp(&self, kbps: f64) -> u32 {
        (kbps.round() as u32).clamp(MIN_KBPS, self.max_kbps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A send path in front of a link of `link_kbps`: the encoder writes at the target, the
    /// link takes up to its rate, the rest waits.
    struct Path {
        at: Instant,
        delivered: f64,
        backlog: f64,
    }

    impl Path {
        fn new() -> Self {
            Self {
                at: Instant::now(),
                delivered: 0.0,
                backlog: 0.0,
            }
        }

        fn step(&mut self, target_kbps: u32, link_kbps: u32) -> SendSample {
            let dt = 0.1;
            self.backlog += f64::from(target_kbps) * 1000.0 / 8.0 * dt;
            let sent = self.backlog.min(f64::from(link_kbps) * 1000.0 / 8.0 * dt);
            self.backlog -= sent;
            self.delivered += sent;
            self.at += Duration::from_millis(100);
            SendSample {
                at: self.at,
                delivered_bytes: self.delivered as u64,
                backlog_bytes: self.backlog as u64,
                base_rtt_ms: 0.0,
                packets: None,
            }
        }
    }

    /// Runs `rule` over `(seconds, link kbit/s)` phases; returns the target every 100 ms.
    fn simulate(
        rule: SendRateControl,
        phases: &[(u32, u32)],
    ) -> (Vec<(u32, u32)>, Vec<&'static str>) {
        let log = StepLog::shared(Instant::now());
        let mut rate = SendRate::new(rule, 6_000, log.clone());
        let mut path = Path::new();
        let mut out = Vec::new();
        for &(secs, link) in phases {
            for _ in 0..secs * 10 {
                let sample = path.step(rate.target_kbps(), link);
                rate.tick(sample);
                out.push((link, rate.target_kbps()));
            }
        }
        let causes = lock(&log).latest().iter().map(|s| s.cause).collect();
        (out, causes)
    }

    fn first_at_or_below(trace: &[(u32, u32)], from: usize, kbps: u32) -> Option<f64> {
        trace[from..]
            .iter()
            .position(|t| t.1 <= kbps)
            .map(|i| i as f64 / 10.0)
    }

    fn first_at_or_above(trace: &[(u32, u32)], from: usize, kbps: u32) -> Option<f64> {
        trace[from..]
            .iter()
            .position(|t| t.1 >= kbps)
            .map(|i| i as f64 / 10.0)
    }

    #[test]
    fn ours_cuts_below_a_dropped_link_within_two_seconds_and_is_back_within_ten() {
        let (trace, causes) = simulate(
            SendRateControl::Throughput,
            &[(20, 6_000), (20, 1_500), (30, 6_000)],
        );
        assert!(
            trace[..200].iter().all(|t| t.1 == 6_000),
            "no cut on a link that carries it"
        );
        let adapted = first_at_or_below(&trace, 200, 1_500).expect("adapts");
        assert!(adapted <= 2.0, "adapted after {adapted} s");
        // Probing finds the link's edge each time: a saw-tooth around it, at most one probe
        // (×1.25, half a second) above.
        let low = &trace[250..400];
        let mean = low.iter().map(|t| f64::from(t.1)).sum::<f64>() / low.len() as f64;
        assert!(
            low.iter().all(|t| t.1 <= 1_950) && (1_200.0..=1_575.0).contains(&mean),
            "holds near the link (mean {mean}): {low:?}"
        );
        let back = first_at_or_above(&trace, 400, 5_100).expect("recovers");
        assert!(back <= 10.0, "back to 85 % after {back} s");
        assert!(causes.contains(&"send queue growing") && causes.contains(&"probe"));
    }

    #[test]
    fn obs_like_cuts_at_200_ms_and_climbs_a_tenth_every_four_seconds() {
        let (trace, causes) = simulate(
            SendRateControl::ObsLike,
            &[(20, 6_000), (20, 1_500), (30, 6_000)],
        );
        let adapted = first_at_or_below(&trace, 200, 1_500).expect("adapts");
        assert!(adapted <= 3.0, "adapted after {adapted} s");
        let back = first_at_or_above(&trace, 400, 5_100).expect("recovers within 30 s");
        assert!(
            back > 10.0,
            "OBS's rule needs (5100 - 1500) / 600 × 4 s ≈ 24 s, took {back}"
        );
        assert!(causes.contains(&"raise by a tenth every 4 s"));
    }

    #[test]
    fn fixed_never_changes_and_the_floor_holds() {
        let (trace, _) = simulate(SendRateControl::Fixed, &[(5, 6_000), (10, 200)]);
        assert!(trace.iter().all(|t| t.1 == 6_000));
        let (trace, _) = simulate(SendRateControl::Throughput, &[(5, 6_000), (20, 100)]);
        assert!(trace.iter().all(|t| t.1 >= MIN_KBPS));
        assert_eq!(trace.last().map(|t| t.1), Some(MIN_KBPS));
    }

    #[test]
    fn reported_loss_cuts_even_with_an_empty_queue() {
        let log = StepLog::shared(Instant::now());
        let mut rate = SendRate::new(SendRateControl::Throughput, 4_000, log.clone());
        let start = Instant::now() + STARTUP_GRACE;
        let mut changed = None;
        for i in 1..=12u64 {
            let sample = SendSample {
                at: start + Duration::from_millis(100 * i),
                delivered_bytes: i * 50_000,
                backlog_bytes: 0,
                base_rtt_ms: 0.0,
                // 5 % of packets lost.
                packets: Some((i * 400, i * 20)),
            };
            changed = changed.or(rate.tick(sample));
        }
        assert!(changed.is_some_and(|kbps| kbps < 4_000), "{changed:?}");
        assert_eq!(
            lock(&log).latest()[0].cause,
            "loss reported by the receiver"
        );
    }

    #[test]
    fn a_lower_user_bitrate_caps_the_target() {
        let mut rate = SendRate::new(
            SendRateControl::Throughput,
            6_000,
            StepLog::shared(Instant::now()),
        );
        rate.set_max_kbps(2_500);
        assert_eq!(rate.target_kbps(), 2_500);
        rate.set_max_kbps(100);
        assert_eq!(rate.target_kbps(), MIN_KBPS);
    }
}
