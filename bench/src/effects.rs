//! Effects benchmark: milliseconds per frame on one thread for `anchordeskbeauty`,
//! `anchordeskbackground` (chroma key + blur) and the two chained, at 1280×720 and 1920×1080;
//! then the CPU a live 30 fps GStreamer pipeline with both elements takes.
//!
//! `cargo run --release -p anchordesk-bench --bin effects -- [FRAMES] [SECONDS]` writes
//! `bench/results/<date>-effects.json`.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use gstanchordesk::background::compose::{self, Fill};
use gstanchordesk::background::key::{self, ChromaKey};
use gstanchordesk::beauty::filter::{self, Strengths};
use gstanchordesk::ops;
use gstanchordesk::pixels::{FrameMut, Layout};
use gstanchordesk::segment::{self, Segmenter};
use gstreamer as gst;
use gstreamer::prelude::*;
use serde_json::{Value, json};

const TARGET_CHAIN_720P_MS: f64 = 12.0;
const STRENGTHS: Strengths = Strengths {
    smooth: 0.7,
    whiten: 0.3,
    sharpen: 0.3,
};

/// A green-screen studio frame: a person-like subject (skin, hair, clothes, with texture) in
/// front of a noisy green screen, RGBA.
fn studio_frame(w: usize, h: usize) -> Vec<u8> {
    let mut data = vec![255u8; w * h * 4];
    let (cx, sx, sy) = (w as f32 / 2.0, w as f32 / 1280.0, h as f32 / 720.0);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / sx, y as f32 / sy);
            let head = ((x as f32 - cx) / (110.0 * sx)).powi(2) + ((fy - 240.0) / 140.0).powi(2);
            let body = ((x as f32 - cx) / (300.0 * sx)).powi(2) + ((fy - 660.0) / 240.0).powi(2);
            let t = ((x * 7919 + y * 104_729) % 17) as i32 - 8;
            let c = if head > 1.0 && body > 1.0 {
                [t, 177 + t, 64 + t]
            } else if fy < 180.0 {
                [40 + t / 2, 30, 25]
            } else if head <= 1.0 {
                [214 + t, 164 + t, 134 + t]
            } else if (fx - 640.0).abs() < 80.0 {
                [235, 235, 225]
            } else {
                [180 + t, 40, 45]
            };
            let i = 4 * (y * w + x);
            for k in 0..3 {
                data[i + k] = c[k].clamp(0, 255) as u8;
            }
        }
    }
    data
}

/// What the element does per frame in blur mode with its defaults (temporal smoothing aside).
fn background_step(view: &mut FrameMut<'_>, chroma: &ChromaKey) {
    let mask = ops::box_blur(&key::mask(view, chroma, 2), 1);
    let despill = key::despill(chroma, view.layout);
    compose::compose(view, &mask, Fill::Blur(24), despill);
}

/// Mean and p95 ms per frame of `step` over `frames` fresh copies of `frame`.
fn time_per_frame(
    frame: &[u8],
    w: usize,
    h: usize,
    frames: usize,
    step: &dyn Fn(&mut FrameMut<'_>),
) -> Value {
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let mut data = frame.to_vec();
        let mut view = FrameMut {
            data: &mut data,
            width: w,
            height: h,
            stride: 4 * w,
            layout: Layout::RGBX,
        };
        let start = Instant::now();
        step(&mut view);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    json!({ "mean_ms": mean, "p50_ms": times[times.len() / 2], "p95_ms": times[times.len() * 95 / 100] })
}

/// CPU share of one core that a live 30 fps pipeline takes for `seconds`, with `chain` between
/// the source and the sink (the same pipeline without it is the baseline).
fn pipeline_cpu(w: usize, h: usize, chain: &str, seconds: u64) -> Result<f64> {
    let description = format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,format=RGBA,width={w},height={h},framerate=30/1 ! {chain} fakesink sync=true"
    );
    let pipeline = gst::parse::launch(&description)?
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    pipeline.set_state(gst::State::Playing)?;
    std::thread::sleep(Duration::from_secs(2));
    let (cpu0, t0) = (anchordesk_bench::cpu_seconds("self"), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let share = (anchordesk_bench::cpu_seconds("self") - cpu0) / t0.elapsed().as_secs_f64();
    pipeline.set_state(gst::State::Null)?;
    Ok(share * 100.0)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(60);
    let seconds: u64 = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(10);
    gst::init()?;
    gstanchordesk::register_static().context("registering the effects")?;
    let chroma = ChromaKey::default();

    // Person segmentation: the inference (on its own thread in the element) and what the
    // video thread does per frame (the model's input, then compositing with the newest mask).
    let segmenter = Segmenter::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sizes = Vec::new();
    let mut inference = Vec::new();
    for (w, h) in [(1280usize, 720usize), (1920, 1080)] {
        let frame = studio_frame(w, h);
        let mut copy = frame.clone();
        let view = FrameMut {
            data: &mut copy,
            width: w,
            height: h,
            stride: 4 * w,
            layout: Layout::RGBX,
        };
        let input = segment::input_of(&view);
        let person = segmenter
            .run(input.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for _ in 0..frames.min(30) {
            let start = Instant::now();
            segmenter
                .run(input.clone())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            inference.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        let beauty = time_per_frame(&frame, w, h, frames, &|v| filter::apply(v, STRENGTHS));
        let background = time_per_frame(&frame, w, h, frames, &|v| background_step(v, &chroma));
        let background_person = time_per_frame(&frame, w, h, frames, &|v| {
            let _ = segment::input_of(v);
            compose::compose(v, &person, Fill::Blur(24), None);
        });
        let chain = time_per_frame(&frame, w, h, frames, &|v| {
            filter::apply(v, STRENGTHS);
            background_step(v, &chroma);
        });
        let chain_person = time_per_frame(&frame, w, h, frames, &|v| {
            filter::apply(v, STRENGTHS);
            let _ = segment::input_of(v);
            compose::compose(v, &person, Fill::Blur(24), None);
        });
        println!(
            "{w}x{h}: beauty {beauty}, background {background}, person {background_person}, chain {chain}, chain with person {chain_person}"
        );
        sizes.push(json!({
            "width": w, "height": h, "beauty": beauty,
            "background_chroma_blur": background, "background_person_blur_video_thread": background_person,
            "chain": chain, "chain_person_video_thread": chain_person,
        }));
    }
    inference.sort_by(f64::total_cmp);
    let inference_ms = json!({
        "mean_ms": inference.iter().sum::<f64>() / inference.len() as f64,
        "p50_ms": inference[inference.len() / 2],
        "p95_ms": inference[inference.len() * 95 / 100],
    });
    println!("segmentation inference (256x144): {inference_ms}");

    let chain =
        "anchordeskbeauty smooth=0.7 whiten=0.3 sharpen=0.3 ! anchordeskbackground mode=blur ! ";
    let baseline = pipeline_cpu(1280, 720, "", seconds)?;
    let with_effects = pipeline_cpu(1280, 720, chain, seconds)?;
    println!(
        "720p30 pipeline: {with_effects:.1} % of a core with the effects, {baseline:.1} % without"
    );

    let chain_720 = sizes[0]["chain"]["mean_ms"].as_f64().unwrap_or(f64::MAX);
    // With person segmentation, one core's work per frame: the video thread's share plus the
    // inference, which the element runs on every `segment-every`th frame.
    let every: u32 = gst::ElementFactory::make("anchordeskbackground")
        .build()?
        .property("segment-every");
    let inference_mean = inference_ms["mean_ms"].as_f64().unwrap_or(f64::MAX);
    let person_720 = sizes[0]["chain_person_video_thread"]["mean_ms"]
        .as_f64()
        .unwrap_or(f64::MAX)
        + inference_mean / f64::from(every);
    println!(
        "720p chain: chroma key {chain_720:.2} ms/frame; person segmentation {person_720:.2} ms/frame (inference every {every} frames)"
    );
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "effects",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin effects -- {frames} {seconds}"),
        "setup": format!("one thread; {frames} frames per case, each a fresh copy of a generated green-screen studio frame \
            (textured skin, hair, clothes); beauty smooth 0.7 whiten 0.3 sharpen 0.3; background = chroma key (default key), \
            feather 2, despill, blur 24 px; pipeline: videotestsrc is-live 30 fps RGBA ! effects ! fakesink sync=true, \
            CPU of this process over {seconds} s after 2 s, baseline the same pipeline without effects"),
        "sizes": sizes,
        "segmentation_inference_256x144": inference_ms,
        "pipeline_720p30_cpu_percent": with_effects,
        "pipeline_720p30_baseline_cpu_percent": baseline,
        "chain_720p_person_per_frame_ms": person_720,
        "segment_every_frames": every,
        "target": format!("chain at 720p <= {TARGET_CHAIN_720P_MS} ms/frame on one core (chroma key; and with person \
            segmentation, the video thread plus the inference per frame at the element's cadence)"),
        "target_met": chain_720 <= TARGET_CHAIN_720P_MS && person_720 <= TARGET_CHAIN_720P_MS,
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-effects.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}
