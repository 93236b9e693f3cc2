//! 看讲解 replay clip cutting: how long the relay's cutter takes to cut a pin window out of a
//! long live recording (a fragmented MP4 like the packager's: 720p30 H.264 with a keyframe
//! every 2 s and Opus, 1 s fragments), for windows of 10 s, 1 min and 5 min at the end of it
//! (the worst place: the reader seeks past everything before). Baseline in the same run:
//! copying the same number of bytes file to file. Target: a clip ready within 10 s of the
//! unpin, i.e. the cutter's 2.5 s wait for the window to settle into the recording plus the
//! cut.
//!
//! `cargo run --release -p anchordesk-bench --bin clips -- [MINUTES] [RUNS]` writes
//! `bench/results/<date>-clips.json`.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anchordesk_relay::media::clipper;
use anyhow::{Context, Result, ensure};
use gstreamer as gst;
use gstreamer::prelude::*;
use serde_json::json;

/// The relay waits this long after an unpin before cutting (`clips::SETTLE`).
const SETTLE_MS: f64 = 2_500.0;
const TARGET_MS: f64 = 10_000.0;

/// Encodes a `minutes`-long recording shaped like the packager's.
fn record(path: &Path, minutes: u64) -> Result<()> {
    let frames = minutes * 60 * 30;
    let audio_buffers = minutes * 60 * 50;
    let description = format!(
        "videotestsrc num-buffers={frames} pattern=snow ! video/x-raw,width=1280,height=720,framerate=30/1 \
         ! x264enc bitrate=2500 key-int-max=60 tune=zerolatency speed-preset=ultrafast ! h264parse \
         ! mp4mux name=m fragment-duration=1000 ! filesink location=\"{}\" \
         audiotestsrc num-buffers={audio_buffers} samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 \
         ! opusenc ! opusparse ! m.",
        path.display()
    );
    let pipeline = gst::parse::launch(&description)?;
    pipeline.set_state(gst::State::Playing)?;
    let message = pipeline
        .bus()
        .context("bus")?
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(1800),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .context("the recording was not written in time")?;
    pipeline.set_state(gst::State::Null)?;
    ensure!(
        matches!(message.view(), gst::MessageView::Eos(_)),
        "{message:?}"
    );
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let minutes: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3);
    gst::init()?;
    let dir = tempfile::tempdir()?;
    let recording = dir.path().join("live.mp4");
    let encode = Instant::now();
    record(&recording, minutes)?;
    let bytes = std::fs::metadata(&recording)?.len();
    println!(
        "recording: {minutes} min, {:.0} MiB, encoded in {:.0} s",
        bytes as f64 / 1_048_576.0,
        encode.elapsed().as_secs_f64()
    );

    let end = Duration::from_secs(minutes * 60 - 5);
    let mut windows = Vec::new();
    for window_s in [10u64, 60, 300] {
        let from = end - Duration::from_secs(window_s);
        let (mut cut_ms, mut copy_ms) = (Vec::new(), Vec::new());
        let mut last = None;
        for run in 0..runs {
            let out = dir.path().join(format!("clip-{window_s}-{run}.mp4"));
            let started = Instant::now();
            let cut = clipper::cut(&recording, from, end, &out).map_err(anyhow::Error::msg)?;
            cut_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let size = std::fs::metadata(&out)?.len();
            // Baseline: the same bytes copied file to file, from the end of the recording.
            let started = Instant::now();
            {
                use std::io::{Read, Seek, SeekFrom, Write};
                let mut src = std::fs::File::open(&recording)?;
                src.seek(SeekFrom::Start(bytes.saturating_sub(size)))?;
                let mut dst = std::fs::File::create(dir.path().join("copy.bin"))?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = src.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    dst.write_all(&buf[..n])?;
                }
                dst.sync_data()?;
            }
            copy_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            std::fs::remove_file(&out)?;
            last = Some((cut, size));
        }
        let (cut, size) = last.context("no run")?;
        let cut_median = anchordesk_bench::median(cut_ms.clone());
        let copy_median = anchordesk_bench::median(copy_ms.clone());
        println!(
            "{window_s:>4} s window: cut {cut_median:.0} ms (copy of its {:.1} MiB: {copy_median:.0} ms, ×{:.1}); clip {:.1} s",
            size as f64 / 1_048_576.0,
            cut_median / copy_median,
            cut.duration.as_secs_f64()
        );
        windows.push(json!({
            "window_s": window_s,
            "cut_ms_median": cut_median,
            "cut_ms": cut_ms,
            "copy_same_bytes_ms_median": copy_median,
            "cut_over_copy": cut_median / copy_median,
            "clip_bytes": size,
            "clip_duration_s": cut.duration.as_secs_f64(),
            "clip_starts_before_window_ms": (from.as_millis() as i64) - (cut.starts_at.as_millis() as i64),
            "unpin_to_ready_ms_estimate": SETTLE_MS + cut_median,
            "target_met": SETTLE_MS + cut_median <= TARGET_MS,
        }));
    }

    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "clips",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin clips -- {minutes} {runs}"),
        "setup": format!("a {minutes}-minute fragmented MP4 like the relay's recordings (1280x720 30 fps H.264 at 2.5 Mbit/s of noise, the worst case for bytes, \
            keyframe every 2 s, Opus, 1 s fragments, {bytes} bytes, in the page cache); each window ends 5 s before \
            the end of the recording; median of {runs} cuts; baseline: copying the clip's byte count from the \
            recording's end to a new file, fsynced"),
        "windows": windows,
        "target": "unpin -> clip ready <= 10 s: the relay's 2.5 s settle wait plus the cut",
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(format!("{}-clips.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}
