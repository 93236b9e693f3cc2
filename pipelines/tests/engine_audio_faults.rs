//! A microphone that goes away mid-live must not cost the recording: a real PulseAudio server
//! provides the "microphone" (its sine source, captured through cpal → ALSA's pulse plugin or
//! GStreamer, whichever the engine picks), the server is killed while the engine records, and
//! the file must still play with sound and picture for the whole run.
//!
//! One test per binary: the sound server is chosen through the process environment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anchordesk_pipelines::engine::{AudioInput, AudioSource, Engine, EngineConfig};
use anchordesk_pipelines::outputs::{
    OutputKind, OutputSpec, OutputState, RecordFormat, check_playable,
};
use anchordesk_pipelines::scene::{Canvas, CanvasId, SceneCollection};

/// A PulseAudio server of the test's own, on a socket in `dir`, whose only source is a sine.
struct SoundServer {
    child: Child,
    socket: PathBuf,
}

impl SoundServer {
    fn start(dir: &Path) -> Self {
        let socket = dir.join("pulse.sock");
        let child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
            ])
            .arg("-L")
            .arg(format!(
                "module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            .args([
                "-L",
                "module-sine-source source_name=mic rate=48000 frequency=440",
            ])
            .env("HOME", dir)
            .env("PULSE_RUNTIME_PATH", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pulseaudio (Debian package pulseaudio; scripts/install-deps.sh test)");
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "pulseaudio did not open {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, socket }
    }

    /// What a USB microphone pulled out, or a crashed sound server, looks like to the app.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SoundServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn median_rms(engine: &Engine, input: &str, window: Duration) -> f64 {
    let mut levels = engine.audio_levels();
    let started = Instant::now();
    let mut readings = Vec::new();
    while started.elapsed() < window {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(rms) = levels
            .borrow_and_update()
            .get(input)
            .and_then(|l| l.rms_db.first().copied())
        {
            readings.push(rms);
        }
    }
    assert!(!readings.is_empty(), "no meter readings for {input}");
    // The median: silence reads as about -700 dB, so one reading from before the capture
    // started would drag a mean far down.
    readings.sort_by(f64::total_cmp);
    readings[readings.len() / 2]
}

#[test]
fn a_microphone_gone_mid_live_is_replaced_by_silence_and_the_recording_plays() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = SoundServer::start(dir.path());
    // SAFETY: set before any thread of this test binary reads the environment (one test here).
    unsafe { std::env::set_var("PULSE_SERVER", format!("unix:{}", server.socket.display())) };

    let engine = Engine::start(EngineConfig {
        scenes: SceneCollection::test_pattern(Canvas {
            width: 1280,
            height: 720,
            fps: 30,
        }),
        encoder: Default::default(),
        video_bitrate_kbps: 1000,
        audio: vec![AudioInput::new("mic", AudioSource::Device { id: None })],
    })
    .unwrap();
    let file = dir.path().join("live.mp4");
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

    let before = engine.audio_inputs();
    println!("before: {before:?}");
    assert_eq!(before.len(), 1);
    assert_ne!(
        before[0].backend, "silence",
        "the sound server's microphone is used"
    );
    assert_eq!(before[0].problem, None);
    let live = median_rms(&engine, "mic", Duration::from_secs(2));
    assert!(
        live > -60.0,
        "the sine is heard before the failure: {live} dBFS"
    );

    server.kill();
    let killed = Instant::now();
    let after = loop {
        let inputs = engine.audio_inputs();
        if inputs[0].problem.is_some() {
            break inputs;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(6),
            "the failure was never reported: {inputs:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("after {:.1} s: {after:?}", killed.elapsed().as_secs_f64());
    assert_eq!(after[0].backend, "silence");
    let silent = median_rms(&engine, "mic", Duration::from_secs(1));
    assert!(silent < -90.0, "silence after the failure: {silent} dBFS");
    // The stats the window and the CLI read say so too.
    let stats = {
        let mut stats = engine.stats();
        let started = Instant::now();
        loop {
            let current = stats.borrow_and_update().clone();
            if current.audio.first().is_some_and(|a| a.problem.is_some()) {
                break current;
            }
            assert!(started.elapsed() < Duration::from_secs(3), "{current:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert!(
        stats.fps > 20.0,
        "the canvas keeps running: {} fps",
        stats.fps
    );
    std::thread::sleep(Duration::from_secs(2));
    let recording = engine
        .output_stats()
        .into_iter()
        .find(|o| o.id == "record")
        .unwrap();
    assert!(
        matches!(recording.state, OutputState::Live),
        "the recording never stopped: {:?}",
        recording.state
    );
    engine.shutdown();

    let played = check_playable(&file).expect("the recording plays");
    assert!(played.video && played.audio, "{played:?}");
    // Started ~2 s before the failure and ran ~3 s past it: the file covers both.
    assert!(
        played.duration > Duration::from_millis(4500),
        "the whole run is in the file: {played:?}"
    );
    let audio = ffprobe_audio_secs(&file);
    assert!(
        audio > 4.5,
        "the sound track runs through the failure: {audio} s of audio"
    );

    // And a file that is not a recording is named as such.
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, vec![0x42u8; 10_000]).unwrap();
    let refused = check_playable(&junk).unwrap_err();
    assert!(refused.contains("junk.mp4"), "{refused}");
}

/// Seconds of audio ffmpeg decodes from the file (every packet, not the container's claim).
fn ffprobe_audio_secs(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries"])
        .args(["packet=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("run ffprobe (ffmpeg)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
        .fold(0.0, f64::max)
}
