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
