//! One encode for several outputs: the studio engine's CPU with WHIP + RTMP + a recording of
//! one canvas against WHIP alone, in the same run. With `whip_encoding = shared` WHIP sends
//! the engine's H.264 (the encoder RTMP and the recording use); with `own`, whipclientsink
//! runs a second x264 of the same canvas (how it was before).
//!
//! The relay (release build) runs in a child network namespace behind a veth (libnice offers
//! no loopback candidates), so its CPU is not in the figures: only this process's (engine,
//! outputs). Rounds alternate the configurations; medians are recorded.
//!
//! `cargo run --release -p anchordesk-bench --no-default-features --bin shared-encode --
//! [SECONDS] [ROUNDS]` (root) writes `bench/results/<date>-shared-encode.json`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use anchordesk_bench::{cpu_seconds, machine, median, relay_binary, results_dir};
use anchordesk_e2e::{abr, netns};
use anchordesk_pipelines::engine::{AudioInput, AudioSource, EncoderChoice, Engine, EngineConfig};
use anchordesk_pipelines::outputs::{
    BitrateRange, OutputKind, OutputSpec, OutputState, RateControl, RecordFormat, WhipEncoding,
};
use anchordesk_pipelines::scene::{Canvas, SceneCollection};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

const KBPS: u32 = 4000;
const WARM_UP: Duration = Duration::from_secs(4);

#[derive(Clone, Copy)]
enum Setup {
    WhipAlone,
    /// WHIP alone on the engine's encoder (x264 `veryfast`; whipclientsink's own is
    /// `ultrafast`, so this is the baseline with the same encoder settings).
    WhipAloneShared,
    AllShared,
    AllOwn,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Self::WhipAlone => "whip_alone",
            Self::WhipAloneShared => "whip_alone_shared",
            Self::AllShared => "whip_rtmp_record_shared",
            Self::AllOwn => "whip_rtmp_record_own",
        }
    }
}

fn outputs(setup: Setup, rig: &abr::Rig, dir: &std::path::Path) -> Vec<OutputSpec> {
    let whip = |encoding| OutputSpec {
        id: "whip".into(),
        kind: OutputKind::Whip {
            url: format!("{}/whip/abr", rig.relay.url),
            key: rig.key.clone(),
            // GCC held at the encoder's bitrate: every configuration encodes at the same rate.
            bitrate: BitrateRange {
                start_kbps: KBPS,
                min_kbps: KBPS,
                max_kbps: KBPS,
            },
            stun_server: None,
            rate_control: RateControl::Gcc,
            mitigation: Default::default(),
            encoding,
        },
        canvas: Default::default(),
    };
    let others = || {
        vec![
            OutputSpec {
                id: "rtmp".into(),
                kind: OutputKind::Rtmp {
                    url: format!("{}/abr2?key={}", rig.rtmp, rig.second_key),
                    rate_control: anchordesk_pipelines::outputs::SendRateControl::Fixed,
                },
                canvas: Default::default(),
            },
            OutputSpec {
                id: "record".into(),
                kind: OutputKind::Record {
                    path: dir.join("bench.mkv"),
                    format: RecordFormat::Mkv,
                },
                canvas: Default::default(),
            },
        ]
    };
    match setup {
        Setup::WhipAlone => vec![whip(WhipEncoding::Own)],
        Setup::WhipAloneShared => vec![whip(WhipEncoding::Shared)],
        Setup::AllShared => [others(), vec![whip(WhipEncoding::Shared)]].concat(),
        Setup::AllOwn => [others(), vec![whip(WhipEncoding::Own)]].concat(),
    }
}

/// One configuration on a fresh engine: CPU of this process over `seconds` once every output
/// is live, and each output's frame rate.
async fn measure(setup: Setup, rig: &abr::Rig, seconds: u64) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::start(EngineConfig {
        scenes: SceneCollection::test_pattern(Canvas {
            width: 1280,
            height: 720,
            fps: 30,
        }),
        encoder: EncoderChoice::X264,
        video_bitrate_kbps: KBPS,
        audio: vec![AudioInput::new(
            "tone",
            AudioSource::Tone { frequency: 440.0 },
        )],
    })?;
    let specs = outputs(setup, rig, dir.path());
    let ids: Vec<String> = specs.iter().map(|s| s.id.clone()).collect();
    for spec in specs {
        engine.start_output(spec)?;
    }
    let started = Instant::now();
    loop {
        let stats = engine.output_stats();
        if stats.iter().all(|o| o.state == OutputState::Live) {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(20),
            "{}: outputs not live: {stats:?}",
            setup.name()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(WARM_UP).await;
    let pid = std::process::id().to_string();
    let (cpu0, t0) = (cpu_seconds(&pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = (cpu_seconds(&pid) - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    let stats = engine.output_stats();
    let mut fps = BTreeMap::new();
    for o in &stats {
        fps.insert(o.id.clone(), (o.fps * 10.0).round() / 10.0);
        ensure!(
            o.state == OutputState::Live && o.fps > 25.0,
            "{}: {o:?}",
            setup.name()
        );
    }
    for id in ids {
        engine.stop_output(&id)?;
    }
    engine.shutdown();
    Ok(
        json!({ "setup": setup.name(), "cpu_percent_of_one_core": (cpu * 10.0).round() / 10.0, "fps": fps }),
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(Ok(15), |s| s.parse())?;
    let rounds: usize = args.next().map_or(Ok(3), |s| s.parse())?;
    let binary = relay_binary()?;
    netns::enter_for_program()?;
    let rig = abr::Rig::start(&binary).await?;
    // Wide enough for three 4 Mbit/s streams; the shaper's 10 kB burst caps it near 20 Mbit/s.
    rig.link.set_rate(20_000)?;

    let setups = [
        Setup::WhipAlone,
        Setup::WhipAloneShared,
        Setup::AllShared,
        Setup::AllOwn,
    ];
    let mut runs = Vec::new();
    let mut cpu: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        for setup in setups {
            let run = measure(setup, &rig, seconds).await.context(setup.name())?;
            println!("round {round}: {run}");
            cpu.entry(setup.name())
                .or_default()
                .push(run["cpu_percent_of_one_core"].as_f64().unwrap_or(0.0));
            runs.push(run);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let medians: BTreeMap<&str, f64> = cpu
        .into_iter()
        .map(|(k, v)| (k, (median(v) * 10.0).round() / 10.0))
        .collect();
    let alone = medians[Setup::WhipAlone.name()];
    let ratio = |setup: Setup, base: f64| (medians[setup.name()] / base * 100.0).round() / 100.0;
    let alone_shared = medians[Setup::WhipAloneShared.name()];
    let summary = json!({
        "median_cpu_percent_of_one_core": medians,
        "shared_over_whip_alone": ratio(Setup::AllShared, alone),
        "shared_over_whip_alone_on_the_same_encoder": ratio(Setup::AllShared, alone_shared),
        "own_over_whip_alone": ratio(Setup::AllOwn, alone),
        "target": "WHIP + RTMP + recording ≤ 1.15× WHIP alone",
    });
    println!("{summary}");

    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "shared-encode",
        "date": now,
        "machine": machine(),
        "command": format!("cargo run --release -p anchordesk-bench --no-default-features --bin shared-encode -- {seconds} {rounds}"),
        "setup": "engine: 1280×720 30 fps moving test pattern + 440 Hz tone, x264 at 4000 kbit/s; WHIP to the \
            relay (GCC held at 4000) over a veth into a child namespace; RTMP to the same relay (second stream, \
            fixed rate); Matroska recording in a temporary folder. CPU is this process's (engine and outputs), \
            the relay's is not counted",
        "summary": summary,
        "runs": runs,
    });
    let path = results_dir()?.join(format!("{}-shared-encode.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("recorded in {}", path.display());
    Ok(())
}
