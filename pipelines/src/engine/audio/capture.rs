//! Microphones through cpal: the device list, and capture pushed into an appsrc. Where cpal
//! finds no usable device (no sound card, a server), GStreamer's `autoaudiosrc` is used.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// A capture device as the studio's mixer lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AudioDevice {
    /// Stable id to put in a scene's audio input (`alsa:hw:1,0`, …).
    pub id: String,
    pub name: String,
    pub channels: u16,
    pub sample_rate: u32,
    pub is_default: bool,
}

/// Capture devices cpal can open with a default configuration.
pub fn list_devices() -> Vec<AudioDevice> {
    let host = cpal::default_host();
    let default = host
        .default_input_device()
        .and_then(|d| d.id().ok())
        .map(|id| id.to_string());
    let Ok(devices) = host.input_devices() else {
        return Vec::new();
    };
    devices
        .filter_map(|device| {
            let id = device.id().ok()?.to_string();
            let config = device.default_input_config().ok()?;
            let name = device
                .description()
                .map(|d| d.to_string())
                .unwrap_or_else(|_| id.clone());
            Some(AudioDevice {
                is_default: default.as_deref() == Some(id.as_str()),
                id,
                name,
                channels: config.channels(),
                sample_rate: config.sample_rate(),
            })
        })
        .collect()
}

/// A running cpal stream. cpal streams are not `Send` on every platform, so each lives on a
/// thread of its own until this handle is dropped.
pub struct Capture {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub device: String,
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A device that delivers no samples for this long is treated as gone.
const SILENT_DEVICE: Duration = Duration::from_secs(2);

/// Posts the failure as the source's error, so the engine handles it like any source's.
fn report_failure(appsrc: &gst_app::AppSrc, message: &str) {
    appsrc.post_error_message(gst::error_msg!(gst::ResourceError::Read, ("{}", message)));
}

/// Opens `id` (or the default input) and returns an appsrc fed with its samples as F32LE, or
/// `None` when cpal has no such device (the caller falls back to GStreamer).
pub fn open(id: Option<&str>) -> Option<(gst::Element, Capture)> {
    let host = cpal::default_host();
    let device = match id {
        Some(id) => host
            .input_devices()
            .ok()?
            .find(|d| d.id().ok().is_some_and(|i| i.to_string() == id))?,
        None => host.default_input_device()?,
    };
    let config = device.default_input_config().ok()?;
    let (channels, rate) = (config.channels(), config.sample_rate());
    let name = device.id().ok()?.to_string();
    let caps = gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", rate as i32)
        .field("channels", i32::from(channels))
        .build();
    let appsrc = gst_app::AppSrc::builder()
        .caps(&caps)
        .format(gst::Format::Time)
        .is_live(true)
        .max_buffers(20)
        .leaky_type(gst_app::AppLeakyType::Upstream)
        .build();
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let target = appsrc.clone();
    let reporter = appsrc.clone();
    let stopping = stop.clone();
    let label = name.clone();
    // Milliseconds since `opened` when cpal last delivered samples: a device that goes away
    // does not always say so (an ALSA stream may just stop calling back).
    let opened = Instant::now();
    let last_delivery = Arc::new(AtomicU64::new(0));
    let delivered = last_delivery.clone();
    let thread = std::thread::Builder::new()
        .name("audio-capture".into())
        .spawn(move || {
            // One allocation per callback: samples are converted straight into the buffer.
            let push = move |samples: &mut dyn Iterator<Item = f32>| {
                let bytes: Vec<u8> = samples.flat_map(f32::to_le_bytes).collect();
                delivered.store(opened.elapsed().as_millis() as u64, Ordering::Relaxed);
                crate::engine::arrival::push(&target, gst::Buffer::from_mut_slice(bytes));
            };
            let on_error = {
                let reporter = reporter.clone();
                move |e: cpal::Error| {
                    tracing::warn!(error = %e, "audio capture error");
                    report_failure(&reporter, &format!("麦克风断开 capture device failed: {e}"));
                }
            };
            let stream = match start_stream(&device, config, push, on_error) {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let mut reported = false;
            while !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let silent_for = opened
                    .elapsed()
                    .saturating_sub(Duration::from_millis(last_delivery.load(Ordering::Relaxed)));
                if !reported && silent_for > SILENT_DEVICE {
                    reported = true;
                    report_failure(
                        &reporter,
                        &format!(
                            "麦克风无声音 capture device delivered nothing for {} s",
                            silent_for.as_secs()
                        ),
                    );
                }
            }
            drop(stream);
        })
        .ok()?;
    match ready_rx.recv() {
        Ok(Ok(())) => {
            tracing::info!(device = %label, rate, channels, "audio capture started (cpal)");
            Some((
                appsrc.upcast(),
                Capture {
                    stop,
                    thread: Some(thread),
                    device: name,
                },
            ))
        }
        Ok(Err(e)) => {
            tracing::warn!(device = %label, error = %e, "cpal could not capture");
            let _ = thread.join();
            None
        }
        Err(_) => None,
    }
}

/// Opens and starts the device's input stream at its own sample format, handing `push` the
/// samples as f32.
fn start_stream(
    device: &cpal::Device,
    config: cpal::SupportedStreamConfig,
    push: impl Fn(&mut dyn Iterator<Item = f32>) + Send + 'static,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, String> {
    let stream = match config.sample_format() {
        cpal::SampleFormat::F32 => device.build_input_stream(
            config.into(),
            move |data: &[f32], _: &_| push(&mut data.iter().copied()),
            on_error,
            None,
        ),
        cpal::SampleFormat::I16 => device.build_input_stream(
            config.into(),
            move |data: &[i16], _: &_| {
                push(&mut data.iter().map(|s| f32::from(*s) / 32_768.0));
            },
            on_error,
            None,
        ),
        cpal::SampleFormat::I32 => device.build_input_stream(
            config.into(),
            move |data: &[i32], _: &_| {
                push(
                    &mut data
                        .iter()
                        .map(|s| (f64::from(*s) / 2_147_483_648.0) as f32),
                );
            },
            on_error,
            None,
        ),
        other => return Err(format!("unsupported sample format {other}")),
    };
    let stream = stream.map_err(|e| e.to_string())?;
    stream.play().map_err(|e| e.to_string())?;
    Ok(stream)
}
