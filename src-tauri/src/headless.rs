//! `anchordesk live`: the engine without a window, printing a stats line each second.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anchordesk_pipelines::engine::{
    AudioInput, AudioInputStatus, AudioSource, Engine, EngineConfig, EngineStats,
};
use anchordesk_pipelines::outputs::{
    OutputKind, OutputSpec, OutputState, RecordFormat, check_playable, share_encoder_where_possible,
};
use anchordesk_pipelines::scene::{Canvas, CanvasId, SceneCollection};

use crate::cli::LiveArgs;

pub fn run(args: &LiveArgs) -> ExitCode {
    match run_engine(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("anchordesk live: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_engine(args: &LiveArgs) -> Result<ExitCode, String> {
    let mut scenes = match &args.scene {
        Some(path) => load_scene(path)?,
        None => SceneCollection::test_pattern(Canvas {
            width: 1280,
            height: 720,
            fps: 30,
        }),
    };
    if let Some((width, height)) = args.second_canvas {
        scenes.second_canvas = Some(Canvas {
            width,
            height,
            fps: scenes.canvas.fps,
        });
        scenes
            .validate()
            .map_err(|e| format!("--second-canvas {width}x{height}: {e}"))?;
    }
    let outputs = outputs_from(args)?;
    let audio = AudioInput::new(
        "main",
        match args.audio.as_str() {
            "tone" => AudioSource::Tone { frequency: 440.0 },
            "silence" => AudioSource::Silence,
            _ => AudioSource::Device { id: None },
        },
    );
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signal(stop.clone());
    let engine = Engine::start(EngineConfig {
        scenes,
        encoder: args.encoder,
        video_bitrate_kbps: args.bitrate,
        audio: vec![audio],
    })
    .map_err(|e| e.to_string())?;
    let recordings: Vec<(String, std::path::PathBuf)> = outputs
        .iter()
        .filter_map(|o| match &o.kind {
            OutputKind::Record { path, .. } => Some((o.id.clone(), path.clone())),
            _ => None,
        })
        .collect();
    for output in outputs {
        engine.start_output(output).map_err(|e| e.to_string())?;
    }
    for input in &engine.audio_inputs() {
        println!("{}", audio_line(input));
    }
    let started = Instant::now();
    let mut stats = engine.stats();
    let mut frames = 0;
    while !stop.load(Ordering::Relaxed) && args.duration.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(100));
        if stats.has_changed().unwrap_or(false) {
            let current = stats.borrow_and_update().clone();
            frames = current.frames;
            println!("{}", stats_line(started.elapsed(), &current));
        }
    }
    let last = engine.output_stats();
    engine.shutdown();
    let failed: Vec<String> = last
        .iter()
        .filter_map(|o| match &o.state {
            OutputState::Failed { reason } => Some(format!("{}: {reason}", o.id)),
            _ => None,
        })
        .collect();
    println!(
        "anchordesk live: composed {} frames in {:.1} s with {}; outputs: {}",
        frames,
        started.elapsed().as_secs_f64(),
        engine.encoder_name(),
        if last.is_empty() {
            "none".to_owned()
        } else {
            last.iter()
                .map(|o| format!("{} ({} reconnects)", o.id, o.reconnects))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let mut ok = failed.is_empty();
    if !ok {
        eprintln!("anchordesk live: failed outputs: {}", failed.join("; "));
    }
    // A recording is only worth its name if it plays: checked here, not left to the anchor.
    for (id, path) in &recordings {
        match check_playable(path) {
            Ok(found) => println!(
                "anchordesk live: {id}: {} plays ({:.1} s, video and audio)",
                path.display(),
                found.duration.as_secs_f64()
            ),
            Err(reason) => {
                eprintln!("anchordesk live: {id}: unplayable recording: {reason}");
                ok = false;
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Where an audio input's sound comes from, and why it is silence if it is.
fn audio_line(input: &AudioInputStatus) -> String {
    match &input.problem {
        None => format!("anchordesk live: audio {}: {}", input.id, input.backend),
        Some(problem) => format!("anchordesk live: audio {}: {problem}", input.id),
    }
}

fn load_scene(path: &Path) -> Result<SceneCollection, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--scene {}: {e}", path.display()))?;
    SceneCollection::from_json(&text).map_err(|e| format!("--scene {}: {e}", path.display()))
}

fn outputs_from(args: &LiveArgs) -> Result<Vec<OutputSpec>, String> {
    let mut outputs = Vec::new();
    if let Some(url) = &args.whip {
        outputs.push(OutputSpec {
            id: "whip".into(),
            kind: OutputKind::Whip {
                url: url.clone(),
                key: args.key.clone().unwrap_or_default(),
                bitrate: args.whip_bitrate,
                stun_server: None,
                rate_control: args.whip_rate_control,
                mitigation: Default::default(),
                encoding: args.whip_encoder.fixed().unwrap_or_default(),
            },
            canvas: Default::default(),
        });
    }
    for (i, url) in args.rtmp.iter().enumerate() {
        outputs.push(OutputSpec {
            id: format!("rtmp{}", i + 1),
            kind: OutputKind::Rtmp {
                url: url.clone(),
                rate_control: args.send_rate_control,
            },
            canvas: Default::default(),
        });
    }
    for (i, url) in args.srt.iter().enumerate() {
        outputs.push(OutputSpec {
            id: format!("srt{}", i + 1),
            kind: OutputKind::Srt {
                url: url.clone(),
                rate_control: args.send_rate_control,
            },
            canvas: Default::default(),
        });
    }
    if let Some(path) = &args.record {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("mp4") => RecordFormat::Mp4,
            Some("mkv") => RecordFormat::Mkv,
            _ => {
                return Err(format!(
                    "--record {}: use a .mp4 or .mkv file name",
                    path.display()
                ));
            }
        };
        outputs.push(OutputSpec {
            id: "record".into(),
            kind: OutputKind::Record {
                path: path.clone(),
                format,
            },
            canvas: Default::default(),
        });
    }
    let ids: Vec<String> = outputs.iter().map(|o| o.id.clone()).collect();
    for id in &args.on_second {
        let output = outputs.iter_mut().find(|o| &o.id == id).ok_or_else(|| {
            format!(
                "--on-second {id}: no such output (outputs: {})",
                ids.join(", ")
            )
        })?;
        output.canvas = CanvasId::Second;
    }
    if args.whip_encoder.fixed().is_none() {
        share_encoder_where_possible(&mut outputs);
    }
    for output in &outputs {
        output.validate().map_err(|e| e.to_string())?;
    }
    Ok(outputs)
}

/// One line per second: the canvas, then each output's state and rates.
fn stats_line(elapsed: Duration, stats: &EngineStats) -> String {
    let mut line = format!(
        "[{:>7.1} s] fps {:.1} cpu {:.0}% encoder {}",
        elapsed.as_secs_f64(),
        stats.fps,
        stats.cpu_percent,
        stats.encoder
    );
    if let Some(fps) = stats.second_fps {
        line.push_str(&format!(" second canvas fps {fps:.1}"));
    }
    for layer in &stats.layers {
        if let Some(problem) = &layer.problem {
            line.push_str(&format!(" | layer {}: {problem}", layer.id));
        }
    }
    for input in &stats.audio {
        if let Some(problem) = &input.problem {
            line.push_str(&format!(" | audio {}: {problem}", input.id));
        }
    }
    for output in &stats.outputs {
        let state = match &output.state {
            OutputState::Connecting => "connecting".to_owned(),
            OutputState::Live => "live".to_owned(),
            OutputState::Reconnecting { reason, attempt } => {
                format!("reconnecting #{attempt} ({reason})")
            }
            OutputState::Failed { reason } => format!("failed ({reason})"),
            OutputState::Stopped => "stopped".to_owned(),
        };
        line.push_str(&format!(
            " | {} {} {state} {:.0} kbit/s target {} fps {:.1} dropped {}",
            output.id,
            output.kind,
            output.measured_kbps,
            output.target_kbps,
            output.fps,
            output.dropped_frames
        ));
        if let Some(rtt) = output.rtt_ms {
            line.push_str(&format!(" rtt {rtt:.0} ms"));
        }
    }
    if let Some(error) = &stats.error {
        line.push_str(&format!(" | error: {error}"));
    }
    line
}

/// Ctrl-C or SIGTERM ends the run gracefully (recordings finalised, summary printed).
/// The handlers are registered before this returns, so no early signal is lost.
fn stop_on_signal(stop: Arc<AtomicBool>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("anchordesk live: warning: signals not handled: {e}");
            return;
        }
    };
    let signal = {
        let _runtime = rt.enter();
        anchordesk_relay::shutdown_signal()
    };
    std::thread::spawn(move || {
        rt.block_on(signal);
        stop.store(true, Ordering::Relaxed);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use anchordesk_pipelines::outputs::WhipEncoding;
    use clap::Parser;

    fn whip_encoding(args: &[&str]) -> Result<WhipEncoding, String> {
        let mut all = vec![
            "anchordesk",
            "live",
            "--whip",
            "http://127.0.0.1:1/whip/demo",
            "--key",
            "k",
        ];
        all.extend_from_slice(args);
        let Some(Command::Live(live)) =
            Cli::try_parse_from(all).map_err(|e| e.to_string())?.command
        else {
            return Err("expected live".into());
        };
        let outputs = outputs_from(&live)?;
        outputs
            .iter()
            .find_map(|o| match &o.kind {
                OutputKind::Whip { encoding, .. } => Some(*encoding),
                _ => None,
            })
            .ok_or_else(|| "no whip output".into())
    }

    #[test]
    fn whip_shares_the_engine_encoder_when_another_output_encodes_its_canvas() {
        assert_eq!(whip_encoding(&[]), Ok(WhipEncoding::Own));
        assert_eq!(
            whip_encoding(&["--record", "a.mp4", "--rtmp", "rtmp://h/live/k"]),
            Ok(WhipEncoding::Shared)
        );
        assert_eq!(
            whip_encoding(&["--record", "a.mkv", "--whip-encoder", "own"]),
            Ok(WhipEncoding::Own)
        );
        assert_eq!(
            whip_encoding(&["--whip-encoder", "shared"]),
            Ok(WhipEncoding::Shared)
        );
        // The recording encodes the other canvas: nothing to share.
        assert_eq!(
            whip_encoding(&[
                "--second-canvas",
                "720x1280",
                "--record",
                "a.mkv",
                "--on-second",
                "record"
            ]),
            Ok(WhipEncoding::Own)
        );
        let refused = whip_encoding(&["--whip-encoder", "twice"]).unwrap_err();
        assert!(refused.contains("auto, own, shared"), "{refused}");
    }
}
