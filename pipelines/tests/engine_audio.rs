//! Audio inputs for real: cpal capture (ALSA's `null` device where there is no sound card),
//! GStreamer fallback, meters, gain and mute, noise suppression.

use std::time::{Duration, Instant};

use anchordesk_pipelines::engine::{AudioInput, AudioSource, Engine, EngineConfig, audio_devices};
use anchordesk_pipelines::scene::{Canvas, SceneCollection};

fn engine(inputs: Vec<AudioInput>) -> Engine {
    Engine::start(EngineConfig {
        scenes: SceneCollection::test_pattern(Canvas {
            width: 1280,
            height: 720,
            fps: 30,
        }),
        encoder: Default::default(),
        video_bitrate_kbps: 2000,
        audio: inputs,
    })
    .unwrap()
}

/// Mean RMS (dBFS, first channel) of an input over `window`, from the meters' readings.
fn rms_over(engine: &Engine, input: &str, window: Duration) -> f64 {
    let mut levels = engine.audio_levels();
    let started = Instant::now();
    let mut readings = Vec::new();
    while started.elapsed() < window {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(level) = levels.borrow_and_update().get(input)
            && let Some(rms) = level.rms_db.first()
        {
            readings.push(*rms);
        }
    }
    assert!(
        readings.len() >= 5,
        "meters published {} readings",
        readings.len()
    );
    readings.iter().sum::<f64>() / readings.len() as f64
}

#[test]
fn meters_follow_gain_and_mute_about_twenty_times_a_second() {
    let engine = engine(vec![AudioInput::new(
        "mic",
        AudioSource::Tone { frequency: 440.0 },
    )]);
    std::thread::sleep(Duration::from_millis(500));
    // audiotestsrc at volume 0.3: a sine's RMS is 0.3/√2 → −13.5 dBFS.
    let full = rms_over(&engine, "mic", Duration::from_secs(1));
    assert!((full + 13.5).abs() < 1.5, "rms {full}");
    engine.set_audio_gain("mic", 0.5, false).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let half = rms_over(&engine, "mic", Duration::from_secs(1));
    assert!((full - half - 6.0).abs() < 1.5, "{full} → {half}");
    engine.set_audio_gain("mic", 1.0, true).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let muted = rms_over(&engine, "mic", Duration::from_secs(1));
    assert!(muted < -90.0, "muted rms {muted}");
    assert!(engine.set_audio_gain("nope", 1.0, false).is_err());

    // ~20 readings a second.
    let mut levels = engine.audio_levels();
    levels.mark_unchanged();
    let started = Instant::now();
    let mut updates = 0;
    while started.elapsed() < Duration::from_secs(2) {
        if levels.has_changed().unwrap_or(false) {
            levels.mark_unchanged();
            updates += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        (30..=50).contains(&updates),
        "{updates} meter updates in 2 s"
    );
    engine.shutdown();
}

#[test]
fn noise_suppression_takes_steady_noise_down_while_live() {
    let engine = engine(vec![AudioInput::new("room", AudioSource::Noise)]);
    std::thread::sleep(Duration::from_millis(500));
    let raw = rms_over(&engine, "room", Duration::from_secs(1));
    engine.set_noise_suppression("room", true).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let cleaned = rms_over(&engine, "room", Duration::from_secs(1));
    println!("red noise {raw:.1} dBFS → {cleaned:.1} dBFS with suppression");
    assert!(raw - cleaned > 10.0, "{raw} → {cleaned}");
    engine.set_noise_suppression("room", false).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let again = rms_over(&engine, "room", Duration::from_secs(1));
    assert!((again - raw).abs() < 2.0, "{raw} vs {again}");
    assert!(engine.set_noise_suppression("nope", true).is_err());
    engine.shutdown();
}

#[test]
fn cpal_devices_capture_and_an_unknown_device_falls_back_to_gstreamer() {
    let devices = audio_devices();
    println!("cpal capture devices: {devices:?}");
    // ALSA always has its `null` device (zero samples), sound card or not.
    let null = devices
        .iter()
        .find(|d| d.id == "alsa:null")
        .expect("ALSA null device listed");
    assert!(null.channels >= 1 && null.sample_rate > 0, "{null:?}");
    let engine = engine(vec![
        AudioInput::new(
            "null",
            AudioSource::Device {
                id: Some(null.id.clone()),
            },
        ),
        AudioInput::new(
            "missing",
            AudioSource::Device {
                id: Some("alsa:no-such-card".into()),
            },
        ),
    ]);
    // An unknown device falls back to GStreamer's own capture if that delivers sound here,
    // and to silence, saying why, if it does not (a machine without a microphone).
    let inputs = engine.audio_inputs();
    println!("inputs: {inputs:?}");
    let missing = inputs.iter().find(|i| i.id == "missing").unwrap();
    match missing.backend.as_str() {
        "gstreamer autoaudiosrc" => assert_eq!(missing.problem, None),
        "silence" => {
            let problem = missing.problem.as_deref().unwrap_or_default();
            assert!(
                problem.contains("no capture device (alsa:no-such-card"),
                "{problem}"
            );
        }
        other => panic!("unexpected backend for a missing device: {other}"),
    }
    let null = inputs.iter().find(|i| i.id == "null").unwrap();
    assert_eq!(
        (null.backend.as_str(), &null.problem),
        ("cpal alsa:null", &None)
    );
    std::thread::sleep(Duration::from_millis(500));
    // Real capture of zeros: the meter runs and reads silence.
    let silent = rms_over(&engine, "null", Duration::from_secs(1));
    assert!(silent < -90.0, "{silent}");
    // The canvas is not disturbed by either.
    assert!(engine.stats().borrow().fps > 20.0);
    engine.shutdown();
}

/// The anchor picks another microphone while live: the input's source changes in place (its
/// gain and place in the mix stay), a device that is not here is refused with the input left
/// as it was, and a generated source joining mid-live is heard at once (its first buffer is
/// due now, not at the pipeline's start, or the mixer would drop it as late).
#[test]
fn the_microphone_changes_while_live_and_an_absent_one_is_refused() {
    let engine = engine(vec![AudioInput::new(
        "mic",
        AudioSource::Tone { frequency: 440.0 },
    )]);
    std::thread::sleep(Duration::from_millis(500));
    let tone = rms_over(&engine, "mic", Duration::from_secs(1));
    assert!((tone + 13.5).abs() < 1.5, "tone first: {tone}");

    let null = engine
        .set_audio_source(
            "mic",
            AudioSource::Device {
                id: Some("alsa:null".into()),
            },
        )
        .unwrap();
    assert_eq!(
        (null.backend.as_str(), &null.problem),
        ("cpal alsa:null", &None)
    );
    std::thread::sleep(Duration::from_millis(300));
    let silent = rms_over(&engine, "mic", Duration::from_secs(1));
    assert!(
        silent < -90.0,
        "ALSA's null device captures zeros: {silent}"
    );

    let refused = engine
        .set_audio_source(
            "mic",
            AudioSource::Device {
                id: Some("alsa:no-such-card".into()),
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("microphone") && refused.contains("alsa:no-such-card"),
        "{refused}"
    );
    let kept = engine.audio_inputs();
    assert_eq!(kept[0].backend, "cpal alsa:null", "{kept:?}");

    let back = engine
        .set_audio_source("mic", AudioSource::Tone { frequency: 440.0 })
        .unwrap();
    assert_eq!(back.backend, "tone");
    std::thread::sleep(Duration::from_millis(300));
    let again = rms_over(&engine, "mic", Duration::from_secs(1));
    assert!((again + 13.5).abs() < 1.5, "the tone heard again: {again}");
    assert!(
        engine
            .set_audio_source("guest", AudioSource::Silence)
            .is_err(),
        "no such input"
    );
    assert!(engine.stats().borrow().fps > 20.0);
    engine.shutdown();
}
