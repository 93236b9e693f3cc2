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
    /// The newest mask, and how many have been made.
    mask: Option<Plane>,
    made: u64,
    stop: bool,
    failed: Option<String>,
}

/// Segmentation on its own thread.
pub struct Worker {
    shared: Arc<(Mutex<Exchange>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    pub fn start() -> TractResult<Self> {
        let segmenter = Segmenter::new()?;
        let shared = Arc::new((Mutex::new(Exchange::default()), Condvar::new()));
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name("anchordesk-segment".into())
            .spawn(move || {
                let (lock, wake) = &*inner;
                loop {
                    let input = {
                        let mut x = lock.lock().unwrap_or_else(|p| p.into_inner());
                        while x.pending.is_none() && !x.stop {
                            x = wake.wait(x).unwrap_or_else(|p| p.into_inner());
                        }
                        if x.stop {
                            return;
                        }
                        x.pending.take().expect("checked above")
                    };
                    let result = segmenter.run(input);
                    let mut x = lock.lock().unwrap_or_else(|p| p.into_inner());
                    match result {
                        Ok(mask) => {
                            x.mask = Some(mask);
                            x.made += 1;
                        }
                        Err(e) => x.failed = Some(e.to_string()),
                    }
                    wake.notify_all();
                }
            })
            .map_err(|e| {
                tract_onnx::prelude::TractError::msg(format!(
                    "cannot start the segmentation thread: {e}"
                ))
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Hands over the newest picture; returns the newest mask, waiting for one only if none
    /// was ever made (the first frame). An inference error is returned once.
    pub fn exchange(&self, input: Vec<f32>) -> Result<Plane, String> {
        let (lock, wake) = &*self.shared;
        let mut x = lock.lock().unwrap_or_else(|p| p.into_inner());
        x.pending = Some(input);
        wake.notify_all();
        while x.mask.is_none() && x.failed.is_none() {
            x = wake.wait(x).unwrap_or_else(|p| p.into_inner());
        }
        if let Some(error) = x.failed.take() {
            return Err(error);
        }
        Ok(x.mask.clone().expect("checked above"))
    }

    /// Masks made so far.
    pub fn made(&self) -> u64 {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner()).made
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
