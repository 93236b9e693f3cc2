//! `anchordesk live` as a server operator or CI runs it: the real engine, a real recording.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn anchordesk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_anchordesk"))
}

/// What Debian's gst-discoverer-1.0 finds in a file (it decodes headers and a few frames).
fn discover(path: &Path) -> String {
    let out = Command::new("gst-discoverer-1.0")
        .arg(path)
        .output()
        .expect("run gst-discoverer-1.0 (gstreamer1.0-plugins-base-apps)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Video frames ffmpeg decodes from the file (every one, not the container's claim).
fn decoded_frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("run ffprobe (ffmpeg)");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn duration_secs(discovered: &str) -> f64 {
    let line = discovered
        .lines()
        .find(|l| l.trim_start().starts_with("Duration:"))
        .unwrap_or_else(|| panic!("no duration in:\n{discovered}"));
    let time = line.trim().trim_start_matches("Duration:").trim();
    let parts: Vec<f64> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    parts.iter().fold(0.0, |acc, p| acc * 60.0 + p)
}

fn summary_frames(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("anchordesk live: composed "))
        .unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    line.trim_start_matches("anchordesk live: composed ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("frame count")
}

#[test]
fn headless_live_records_a_file_that_plays() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.mp4");
    let out = anchordesk()
        .args(["live", "--duration", "4s", "--audio", "tone", "--record"])
        .arg(&file)
        .output()
        .expect("run anchordesk");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    // 4 s at 30 fps is 120; a loaded 2-core machine may drop a few, never most.
    assert!(summary_frames(&stdout) >= 60, "{stdout}");
    assert!(stdout.contains("record record live"), "{stdout}");
    let found = discover(&file);
    assert!(found.contains("H.264"), "{found}");
    assert!(found.to_lowercase().contains("aac"), "{found}");
    assert!(duration_secs(&found) > 2.0, "{found}");
}

#[test]
fn a_second_canvas_records_portrait_beside_a_landscape_recording() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("scene.json");
    // A logo placed for each canvas.
    std::fs::write(
        &scene,
        r##"{"version":1,"canvas":{"width":1280,"height":720,"fps":30},
            "scenes":[{"id":"main","layers":[
              {"id":"cam","source":{"kind":"camera","device":"test"},
               "rect":{"x":0,"y":0,"width":1280,"height":720}},
              {"id":"logo","source":{"kind":"colour","colour":"#FF0000"},
               "rect":{"x":40,"y":40,"width":100,"height":100},
               "second_rect":{"x":20,"y":1100,"width":160,"height":160}}]}]}"##,
    )
    .unwrap();
    let (portrait, landscape) = (dir.path().join("phones.mp4"), dir.path().join("desk.mp4"));
    let out = anchordesk()
        .args(["live", "--duration", "4s", "--audio", "tone", "--scene"])
        .arg(&scene)
        .args(["--second-canvas", "720x1280", "--on-second", "record"])
        .arg("--record")
        .arg(&portrait)
        .args(["--rtmp", "rtmp://127.0.0.1:9/live/never"])
        .output()
        .expect("run anchordesk");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The RTMP output (first canvas) never connects: that fails the run, the recording is kept.
    assert!(stdout.contains("second canvas fps"), "{stdout}");
    assert!(stdout.contains("record record live"), "{stdout}\n{stderr}");
    let found = discover(&portrait);
    assert!(found.contains("Width: 720"), "{found}");
    assert!(found.contains("Height: 1280"), "{found}");
    assert!(duration_secs(&found) > 2.0, "{found}");

    // One run, the landscape recording on the first canvas.
    let out = anchordesk()
        .args(["live", "--duration", "3s", "--audio", "silence", "--scene"])
        .arg(&scene)
        .args(["--second-canvas", "720x1280", "--record"])
        .arg(&landscape)
        .output()
        .expect("run anchordesk");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = discover(&landscape);
    assert!(found.contains("Width: 1280"), "{found}");

    // Mistakes name the flag.
    let out = anchordesk()
        .args([
            "live",
            "--duration",
            "1s",
            "--second-canvas",
            "720x1280",
            "--on-second",
            "whip",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--on-second whip"), "{stderr}");
    let out = anchordesk()
        .args(["live", "--duration", "1s", "--second-canvas", "700x700"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--second-canvas 700x700: second_canvas"),
        "{stderr}"
    );
}

#[test]
fn a_recording_killed_with_sigkill_still_plays() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["killed.mp4", "killed.mkv"] {
        let file = dir.path().join(name);
        let mut child = anchordesk()
            .args(["live", "--audio", "tone", "--record"])
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run anchordesk");
        let stdout = child.stdout.take().unwrap();
        let lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        // Wait until the recording has run ~4 s, then kill without warning.
        let mut live_lines = 0;
        for line in lines.map_while(Result::ok) {
            if line.contains("record record live") {
                live_lines += 1;
            }
            if live_lines >= 4 {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let found = discover(&file);
        assert!(found.contains("H.264"), "{name}: {found}");
        // Decode it all: a fragmented MP4 cut off without its index reports only its first
        // fragment's duration, but every complete fragment plays.
        let frames = decoded_frames(&file);
        assert!(frames >= 60, "{name}: only {frames} frames decode");
    }
}

#[test]
fn a_bad_scene_file_names_the_field_and_a_bad_url_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("scene.json");
    std::fs::write(
        &scene,
        r#"{"version":1,"canvas":{"width":1280,"height":720,"fps":30},
            "scenes":[{"id":"main","layers":[{"id":"c","source":{"kind":"colour","colour":"red"},
            "rect":{"x":0,"y":0,"width":10,"height":10}}]}]}"#,
    )
    .unwrap();
    let out = anchordesk()
        .args(["live", "--duration", "1s", "--scene"])
        .arg(&scene)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scenes[0].layers[0].source.colour"),
        "{stderr}"
    );

    let out = anchordesk()
        .args(["live", "--duration", "1s", "--rtmp", "http://example/live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rtmp.url"), "{stderr}");
}

#[test]
fn bad_duration_is_rejected_with_the_flag_named() {
    let out = anchordesk()
        .args(["live", "--headless", "--duration", "soon"])
        .output()
        .expect("run anchordesk");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--duration"), "{stderr}");
}

#[test]
fn ctrl_c_ends_an_unbounded_headless_run_with_a_summary() {
    let child = anchordesk()
        .args(["live", "--headless", "--audio", "silence"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run anchordesk");
    std::thread::sleep(Duration::from_millis(2000));
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("anchordesk live: composed "), "{stdout}");
}

/// A machine with no sound at all, as a server or a desktop without a microphone has: ALSA
/// with no devices configured and no sound server to reach.
fn without_sound(command: &mut Command, dir: &Path) {
    let empty = dir.join("asound.conf");
    std::fs::write(&empty, "").unwrap();
    command.env("ALSA_CONFIG_PATH", &empty).env(
        "PULSE_SERVER",
        format!("unix:{}", dir.join("no-server").display()),
    );
}

#[test]
fn live_without_a_microphone_says_so_and_records_silence_that_plays() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.mp4");
    let mut command = anchordesk();
    command
        .args(["live", "--duration", "6s", "--record"])
        .arg(&file);
    without_sound(&mut command, dir.path());
    let out = command.output().expect("run anchordesk");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("anchordesk live: audio main: 没有可用的麦克风 no capture device"),
        "the fallback is announced: {stdout}"
    );
    assert!(
        stdout.contains("| audio main: "),
        "and on the stats line: {stdout}"
    );
    assert!(
        stdout.contains("record: ") && stdout.contains(" plays ("),
        "{stdout}"
    );
    let found = discover(&file);
    assert!(found.contains("H.264"), "{found}");
    assert!(found.to_lowercase().contains("aac"), "{found}");
    assert!(duration_secs(&found) > 4.0, "{found}");
}

#[test]
fn a_camera_that_is_not_there_shows_a_placeholder_and_the_recording_plays() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("scene.json");
    std::fs::write(
        &scene,
        r##"{"version":1,"canvas":{"width":1280,"height":720,"fps":30},
            "scenes":[{"id":"main","layers":[
              {"id":"cam","source":{"kind":"camera","device":"/dev/video77"},
               "rect":{"x":0,"y":0,"width":1280,"height":720}}]}]}"##,
    )
    .unwrap();
    let file = dir.path().join("b.mp4");
    let out = anchordesk()
        .args(["live", "--duration", "5s", "--audio", "tone", "--scene"])
        .arg(&scene)
        .arg("--record")
        .arg(&file)
        .output()
        .expect("run anchordesk");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("| layer cam: "),
        "the placeholder is reported: {stdout}"
    );
    assert!(summary_frames(&stdout) >= 60, "{stdout}");
    let found = discover(&file);
    assert!(found.contains("H.264"), "{found}");
    assert!(duration_secs(&found) > 3.0, "{found}");
}
