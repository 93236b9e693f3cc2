//! Person segmentation: MediaPipe Selfie Segmentation (landscape, Apache-2.0; converted to ONNX
//! by `assets/models/convert_selfie_segmentation.py`), embedded in the binary and run with
//! tract on the CPU. Input: the frame squashed to 256×144 RGB 0–1 (as MediaPipe feeds it);
//! output: person probability at 256×144.
//!
//! [`Worker`] runs it on a thread of its own: the video thread hands over the latest small
//! picture and takes the latest mask, so inference never holds a frame up and runs as often
//! as the CPU allows.

use std::sync::{Arc, Condvar, Mutex};

use tract_onnx::prelude::*;

use crate::ops::Plane;
use crate::pixels::FrameMut;

static MODEL: &[u8] = include_bytes!("../../../assets/models/selfie_segmentation_landscape.onnx");
pub const INPUT_W: usize = 256;
pub const INPUT_H: usize = 144;

pub struct Segmenter {
    plan: Arc<TypedRunnableModel>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Segmenter")
    }
}

impl Segmenter {
    pub fn new() -> TractResult<Self> {
        let plan = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(MODEL))?
            .with_input_fact(0, f32::fact([1, INPUT_H, INPUT_W, 3]).into())?
            .into_optimized()?
            .into_runnable()?;
        Ok(Self { plan })
    }

    /// Person probability 0–1 at 256×144 for an input made by [`input_of`].
    pub fn run(&self, input: Vec<f32>) -> TractResult<Plane> {
        let tensor = tract_ndarray::Array4::from_shape_vec((1, INPUT_H, INPUT_W, 3), input)?;
        let outputs = self.plan.run(tvec!(Tensor::from(tensor).into()))?;
        release_avx_state();
        let probability = outputs[0].to_plain_array_view::<f32>()?;
        Ok(Plane {
            w: INPUT_W,
            h: INPUT_H,
            data: probability.iter().copied().collect(),
        })
    }
}

/// tract's AVX kernels return without `vzeroupper`; the SSE code that follows them (our own
/// filters, GStreamer's) then runs about 4× slower until the upper halves are cleared.
fn release_avx_state() {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        #[target_feature(enable = "avx")]
        fn zero_upper() {
            std::arch::x86_64::_mm256_zeroupper()
        }
        // SAFETY: the CPU has AVX, checked just above.
        unsafe { zero_upper() }
    }
}

/// The frame squashed to 256×144 (area average), RGB scaled to 0–1, NHWC.
pub fn input_of(frame: &FrameMut<'_>) -> Vec<f32> {
    let mut input = vec![0.0f32; INPUT_W * INPUT_H * 3];
    let (sx, sy) = (
        frame.width as f32 / INPUT_W as f32,
        frame.height as f32 / INPUT_H as f32,
    );
    for oy in 0..INPUT_H {
        let (y0, y1) = (
            (oy as f32 * sy) as usize,
            (((oy + 1) as f32 * sy).ceil() as usize).min(frame.height),
        );
        for ox in 0..INPUT_W {
            let (x0, x1) = (
                (ox as f32 * sx) as usize,
                (((ox + 1) as f32 * sx).ceil() as usize).min(frame.width),
            );
            let mut sum = [0.0f32; 3];
            for y in y0..y1.max(y0 + 1) {
                for x in x0..x1.max(x0 + 1) {
                    let p = frame.rgb(x.min(frame.width - 1), y.min(frame.height - 1));
                    for k in 0..3 {
                        sum[k] += p[k];
                    }
                }
            }
            let n = ((y1.max(y0 + 1) - y0) * (x1.max(x0 + 1) - x0)) as f32;
            let i = (oy * INPUT_W + ox) * 3;
            for k in 0..3 {
                input[i + k] = sum[k] / n / 255.0;
            }
        }
    }
    input
}

#[derive(Default)]
struct Exchange {
    /// The newest picture waiting for inference (an older one is dropped unrun).
    pending: Option<Vec<f32>>,
    /// The newest mask.
    mask: Option<Plane>,
    stop: bool,
    /// Why segmentation stopped for good (the model did not load, or inference failed or
    /// panicked); the thread has ended.
    failed: Option<String>,
}

/// What [`Worker::exchange`] has for the frame.
#[derive(Debug)]
pub enum Newest {
    /// The newest mask (possibly a few frames old).
    Mask(Plane),
    /// None yet: the model is loading or the first inference runs.
    NotYet,
    /// Segmentation stopped for good, with why.
    Failed(String),
}

/// Segmentation on its own thread: the model loads there, inference runs there, and the video
/// thread never waits for either.
pub struct Worker {
    shared: Arc<(Mutex<Exchange>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn run_worker(shared: &(Mutex<Exchange>, Condvar)) -> Result<(), String> {
    let (lock, wake) = shared;
    let segmenter = Segmenter::new().map_err(|e| format!("cannot load the model: {e}"))?;
    loop {
        let input = {
            let mut x = lock.lock().unwrap_or_else(|p| p.into_inner());
            while x.pending.is_none() && !x.stop {
                x = wake.wait(x).unwrap_or_else(|p| p.into_inner());
            }
            match x.pending.take() {
                Some(input) if !x.stop => input,
                _ => return Ok(()),
            }
        };
        let mask = segmenter
            .run(input)
            .map_err(|e| format!("inference failed: {e}"))?;
        if mask.data.len() != INPUT_W * INPUT_H {
            return Err(format!(
                "the model gave {} values, not {}",
                mask.data.len(),
                INPUT_W * INPUT_H
            ));
        }
        let mut x = lock.lock().unwrap_or_else(|p| p.into_inner());
        x.mask = Some(mask);
    }
}

impl Worker {
    pub fn start() -> Result<Self, String> {
        let shared = Arc::new((Mutex::new(Exchange::default()), Condvar::new()));
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name("anchordesk-segment".into())
            .spawn(move || {
                // A panic in tract must not leave the video thread with a silent mask forever.
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_worker(&inner)))
                        .unwrap_or_else(|_| Err("the segmentation thread panicked".to_owned()));
                if let Err(why) = outcome {
                    inner.0.lock().unwrap_or_else(|p| p.into_inner()).failed = Some(why);
                }
            })
            .map_err(|e| format!("cannot start the segmentation thread: {e}"))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Hands over the newest picture, if any, and returns what there is now, without waiting.
    pub fn exchange(&self, input: Option<Vec<f32>>) -> Newest {
        let (lock, wake) = &*self.shared;
        let mut x = lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = &x.failed {
            return Newest::Failed(why.clone());
        }
        if let Some(input) = input {
            x.pending = Some(input);
            wake.notify_all();
        }
        match &x.mask {
            Some(mask) => Newest::Mask(mask.clone()),
            None => Newest::NotYet,
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
