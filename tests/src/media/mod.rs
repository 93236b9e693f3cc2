//! Real media clients for relay tests: a WebRTC client written with webrtc-rs (as a WHEP
//! player or a minimal WHIP publisher) and GStreamer's `whipclientsink` as a publisher.

pub mod client;
pub mod decode;
pub mod gst_publisher;

pub use client::{FrameStats, WebRtcClient, WhepPlayer};
pub use decode::{H264Decoder, RgbaFrame};
pub use gst_publisher::GstWhipPublisher;

/// Creates a stream with the relay binary's CLI (`stream create`) in `data_dir` and returns the
/// publish key it prints once.
pub fn create_stream_with_cli(
    relay: &std::path::Path,
    data_dir: &std::path::Path,
    name: &str,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let created = std::process::Command::new(relay)
        .args(["stream", "create", name, "--data-dir"])
        .arg(data_dir)
        .output()
        .context("run anchordesk-relay stream create")?;
    anyhow::ensure!(
        created.status.success(),
        "stream create: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    String::from_utf8_lossy(&created.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("key:"))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .context("no key: line in stream create's output")
}

/// ffmpeg (Debian's: libx264 and AAC from lavfi test sources) publishing a `width`×`height`
/// 30 fps test pattern at 2.5 Mbit/s, a keyframe every second, and a tone over RTMP to `url`
/// for `seconds`, as OBS would; killed on drop.
pub fn ffmpeg_rtmp_push(
    url: &str,
    (width, height): (u32, u32),
    seconds: u32,
) -> anyhow::Result<crate::KillOnDrop> {
    use anyhow::Context;
    let child = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={width}x{height}:rate=30"))
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args(["-g", "30", "-b:v", "2500k", "-pix_fmt", "yuv420p"])
        .args(["-c:a", "aac", "-b:a", "96k", "-f", "flv", url])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("run ffmpeg")?;
    Ok(crate::KillOnDrop(child))
}
