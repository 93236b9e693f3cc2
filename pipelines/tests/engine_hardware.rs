//! Hardware H.264 encoders (VA, VA-API, NVENC, Quick Sync, …), exercised where the machine has
//! one: the engine encodes with it and the recording must play. Where none works, the test
//! says which were looked for and why each is unusable, and checks that asking for hardware
//! fails with that explanation instead of silently using x264.

use std::time::Duration;

use anchordesk_pipelines::engine::{EncoderChoice, Engine, EngineConfig, hardware_encoders};
use anchordesk_pipelines::outputs::{OutputKind, OutputSpec, RecordFormat, check_playable};
use anchordesk_pipelines::scene::{Canvas, CanvasId, SceneCollection};

#[test]
fn a_hardware_encoder_records_a_playable_file_where_the_machine_has_one() {
    let found = hardware_encoders();
    for (factory, state) in &found {
        println!(
            "{factory}: {}",
            state.as_ref().err().map_or("usable", String::as_str)
        );
    }
    let started = Engine::start(EngineConfig {
        scenes: SceneCollection::test_pattern(Canvas {
            width: 1280,
            height: 720,
            fps: 30,
        }),
        encoder: EncoderChoice::Hardware,
        video_bitrate_kbps: 3000,
        audio: vec![],
    });
    let usable = found.iter().any(|(_, state)| state.is_ok());
    let engine = match (started, usable) {
        (Ok(engine), true) => engine,
        (Err(e), false) => {
            let reason = e.to_string();
            assert!(
                reason.contains("no hardware H.264 encoder works here")
                    && reason.contains("vah264enc"),
                "{reason}"
            );
            println!("skipped: no hardware encoder on this machine ({reason})");
            return;
        }
        (Ok(engine), false) => panic!(
            "hardware chosen with none usable: {}",
            engine.encoder_name()
        ),
        (Err(e), true) => panic!("a usable hardware encoder failed to start: {e}"),
    };
    assert!(
        found.iter().any(|(f, _)| f == engine.encoder_name()),
        "{}",
        engine.encoder_name()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hardware.mp4");
    engine
        .start_output(OutputSpec {
            id: "record".into(),
            kind: OutputKind::Record {
                path: file.clone(),
                format: RecordFormat::default(),
            },
            canvas: CanvasId::First,
        })
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    engine.shutdown();
    let played = check_playable(&file).expect("the hardware-encoded recording plays");
    assert!(
        played.video && played.duration > Duration::from_secs(2),
        "{played:?}"
    );
}
