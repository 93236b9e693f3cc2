//! What ffprobe (Debian's ffmpeg) decodes from a media file or URL: the tests' independent
//! check that what the relay wrote plays.

use std::process::Command;

use anyhow::{Context, Result, ensure};

/// (codec, frames decoded) of each stream of `input`.
pub fn frames(input: &str) -> Result<Vec<(String, u64)>> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .args(["stream=codec_name,nb_read_frames", "-of", "csv=p=0", input])
        .output()
        .context("run ffprobe")?;
    ensure!(
        out.status.success(),
        "ffprobe {input}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (codec, n) = line.split_once(',')?;
            Some((codec.to_owned(), n.trim().parse().ok()?))
        })
        .collect())
}

/// Frames decoded of `codec` over all streams.
pub fn count(streams: &[(String, u64)], codec: &str) -> u64 {
    streams
        .iter()
        .filter(|(c, _)| c == codec)
        .map(|(_, n)| n)
        .sum()
}
