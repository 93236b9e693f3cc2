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

/// The picture of `input`'s video at `seconds`, as ffmpeg decodes it.
pub fn frame_at(input: &str, seconds: f64) -> Result<crate::media::RgbaFrame> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{seconds:.2}"), "-i", input])
        .args(["-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"])
        .output()
        .context("run ffmpeg")?;
    ensure!(
        out.status.success() && !out.stdout.is_empty(),
        "ffmpeg {input}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let picture = image::load_from_memory(&out.stdout)?.to_rgba8();
    Ok(crate::media::RgbaFrame {
        width: picture.width(),
        height: picture.height(),
        data: picture.into_raw(),
    })
}
