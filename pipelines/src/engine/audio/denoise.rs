//! RNNoise-style noise suppression (nnnoiseless) applied in place to 48 kHz F32 audio on a pad
//! probe. It works on 10 ms frames, so the output runs one frame (10 ms) behind its input.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use nnnoiseless::DenoiseState;

const FRAME: usize = DenoiseState::FRAME_SIZE;
/// nnnoiseless expects samples on the 16-bit scale.
const SCALE: f32 = 32_768.0;

struct Channel {
    state: Box<DenoiseState<'static>>,
    pending: Vec<f32>,
    ready: VecDeque<f32>,
}

impl Channel {
    fn new() -> Self {
        Self {
            state: DenoiseState::new(),
            pending: Vec::with_capacity(FRAME),
            // One frame of silence up front: the delay that lets every sample be replaced.
            ready: std::iter::repeat_n(0.0, FRAME).collect(),
        }
    }

    fn process(&mut self, sample: f32) -> f32 {
        self.pending.push(sample * SCALE);
        if self.pending.len() == FRAME {
            let mut out = [0.0f32; FRAME];
            self.state.process_frame(&mut out, &self.pending);
            self.ready.extend(out.iter().map(|s| s / SCALE));
            self.pending.clear();
        }
        self.ready.pop_front().unwrap_or(0.0)
    }
}

/// The switch for one input; off passes audio through untouched.
#[derive(Clone, Default)]
pub struct NoiseSuppression {
    enabled: Arc<AtomicBool>,
    channels: Arc<Mutex<Vec<Channel>>>,
}

impl NoiseSuppression {
    pub fn set_enabled(&self, on: bool) {
        if !self.enabled.swap(on, Ordering::Relaxed) && on {
            // Start fresh: stale state from long ago would colour the first frames.
            self.channels
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Installs the probe on `pad`, which must carry interleaved F32LE at 48 kHz.
    pub fn attach(&self, pad: &gst::Pad, channels: usize) {
        let this = self.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if !this.is_enabled() {
                return gst::PadProbeReturn::Ok;
            }
            let Some(buffer) = info.buffer_mut() else {
                return gst::PadProbeReturn::Ok;
            };
            let buffer = buffer.make_mut();
            let Ok(mut map) = buffer.map_writable() else {
                return gst::PadProbeReturn::Ok;
            };
            let mut states = this.channels.lock().unwrap_or_else(|p| p.into_inner());
            while states.len() < channels {
                states.push(Channel::new());
            }
            for (i, chunk) in map.chunks_exact_mut(4).enumerate() {
                let sample = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                let cleaned = states[i % channels].process(sample);
                chunk.copy_from_slice(&cleaned.to_le_bytes());
            }
            gst::PadProbeReturn::Ok
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic white noise in [-amp, amp].
    fn noise(n: usize, amp: f32) -> Vec<f32> {
        let mut x: u32 = 0x1234_5678;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    fn rms(samples: &[f32]) -> f32 {
        (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
    }

    #[test]
    fn steady_noise_is_pushed_down_and_output_lags_one_frame() {
        // Low-passed white noise, like a fan or road rumble (RNNoise leaves flat white noise
        // mostly alone: it is trained on real-world noise).
        let mut acc = 0.0f32;
        let input: Vec<f32> = noise(48_000 * 2, 0.1)
            .into_iter()
            .map(|w| {
                acc = acc * 0.98 + w;
                acc * 0.2
            })
            .collect();
        let mut channel = Channel::new();
        let output: Vec<f32> = input.iter().map(|s| channel.process(*s)).collect();
        assert!(
            output[..FRAME].iter().all(|s| *s == 0.0),
            "one frame of delay"
        );
        let (before, after) = (rms(&input[48_000..]), rms(&output[48_000..]));
        assert!(after < before * 0.1, "noise {before} → {after}");
    }
}
