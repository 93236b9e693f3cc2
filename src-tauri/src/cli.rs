//! Command line: `anchordesk` opens the studio; `anchordesk live --headless` runs the engine
//! without a window (servers, tests).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "anchordesk",
    version,
    about = "AnchorDesk: live-commerce studio (直播带货工作台)"
)]
pub struct Cli {
    /// Data directory of the bundled relay (database, uploads) [default: the app's data dir].
    #[arg(long, env = "ANCHORDESK_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Assistant mode (中控台 on a second PC): no video engine and no bundled relay; the window
    /// signs in to the anchor's relay with a staff account.
    #[arg(long, env = "ANCHORDESK_ASSISTANT")]
    pub assistant: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the live engine.
    Live(LiveArgs),
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Run without a window (the default for `live`; the windowed studio is `anchordesk`).
    #[arg(long)]
    pub headless: bool,
    /// Scene collection (JSON); without it, a 1280×720 test pattern.
    #[arg(long, value_name = "FILE")]
    pub scene: Option<PathBuf>,
    /// Compose a second canvas from the same sources, e.g. 720x1280 beside a 1280×720 scene
    /// (layers without a `second_rect` are refitted to it).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub second_canvas: Option<(u32, u32)>,
    /// An output that encodes the second canvas instead of the first: whip, rtmp1, srt1,
    /// record…; repeatable.
    #[arg(long, value_name = "OUTPUT", requires = "second_canvas")]
    pub on_second: Vec<String>,
    /// Publish over WHIP with adaptive bitrate (GCC), e.g. http://127.0.0.1:8080/whip/demo.
    #[arg(long, value_name = "URL", requires = "key")]
    pub whip: Option<String>,
    /// The stream's publish key for --whip.
    #[arg(
        long,
        env = "ANCHORDESK_STREAM_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
    /// Push to an RTMP(S) server, key included in the URL; repeat for several platforms.
    #[arg(long, value_name = "URL")]
    pub rtmp: Vec<String>,
    /// Push over SRT (caller), e.g. srt://host:9000?streamid=KEY; repeatable.
    #[arg(long, value_name = "URL")]
    pub srt: Vec<String>,
    /// Record to a file: .mp4 (fragmented) or .mkv; stays playable if the process is killed.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Bitrate of the H.264 encoder shared by RTMP, SRT and the recording, in kbit/s.
    #[arg(long, default_value_t = 4000, value_name = "KBPS", value_parser = clap::value_parser!(u32).range(100..=50_000))]
    pub bitrate: u32,
    /// WHIP bitrate range for GCC, in kbit/s: start, min, max.
    #[arg(long, value_name = "START,MIN,MAX", default_value = "2000,300,6000", value_parser = parse_bitrate_range)]
    pub whip_bitrate: anchordesk_pipelines::outputs::BitrateRange,
    /// How the WHIP output adapts: gcc (as whipclientsink ships it) or gcc_probe (GCC plus
    /// probing upward, for quick recovery after a dip).
    #[arg(long, default_value = "gcc_probe", value_parser = parse_rate_control)]
    pub whip_rate_control: anchordesk_pipelines::outputs::RateControl,
    /// Whose H.264 the WHIP output sends: auto (the engine's encoder when RTMP, SRT or the
    /// recording encode the same canvas, so it is encoded once; else its own), own (its own
    /// encoder, with lower resolution and frame rate on weak links) or shared.
    #[arg(long, value_enum, default_value_t = WhipEncoder::Auto)]
    pub whip_encoder: WhipEncoder,
    /// How RTMP and SRT outputs adapt the encoder's bitrate (at most --bitrate): throughput
    /// (cut early to what the server takes, probe up every second), obs_like (OBS's dynamic
    /// bitrate: cut at 200 ms of queue, +10 % every 4 s) or fixed.
    #[arg(long, default_value = "throughput", value_parser = parse_send_rate_control)]
    pub send_rate_control: anchordesk_pipelines::outputs::SendRateControl,
    /// H.264 encoder: auto (hardware if present), x264, openh264, hardware.
    #[arg(long, default_value = "auto", value_parser = parse_encoder)]
    pub encoder: anchordesk_pipelines::engine::EncoderChoice,
    /// Audio input: default (the system's capture device), tone (440 Hz) or silence.
    #[arg(long, default_value = "default", value_parser = ["default", "tone", "silence"])]
    pub audio: String,
    /// Stop after this long (e.g. 10s, 5m, 1h30m); without it, run until Ctrl-C or SIGTERM.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
}

fn parse_bitrate_range(text: &str) -> Result<anchordesk_pipelines::outputs::BitrateRange, String> {
    let parts: Vec<u32> = text
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| "expected three numbers START,MIN,MAX in kbit/s".to_owned())?;
    let [start_kbps, min_kbps, max_kbps] = parts[..] else {
        return Err("expected three numbers START,MIN,MAX in kbit/s".into());
    };
    Ok(anchordesk_pipelines::outputs::BitrateRange {
        start_kbps,
        min_kbps,
        max_kbps,
    })
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| "expected WIDTHxHEIGHT, e.g. 720x1280".to_owned())?;
    match (w.trim().parse(), h.trim().parse()) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err("expected WIDTHxHEIGHT, e.g. 720x1280".into()),
    }
}

fn parse_rate_control(text: &str) -> Result<anchordesk_pipelines::outputs::RateControl, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| "expected gcc or gcc_probe".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WhipEncoder {
    Auto,
    Own,
    Shared,
}

impl WhipEncoder {
    /// The encoding asked for; `None` leaves it to the outputs of the run.
    pub fn fixed(self) -> Option<anchordesk_pipelines::outputs::WhipEncoding> {
        use anchordesk_pipelines::outputs::WhipEncoding;
        match self {
            Self::Auto => None,
            Self::Own => Some(WhipEncoding::Own),
            Self::Shared => Some(WhipEncoding::Shared),
        }
    }
}

fn parse_send_rate_control(
    text: &str,
) -> Result<anchordesk_pipelines::outputs::SendRateControl, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| "expected throughput, obs_like or fixed".to_owned())
}

fn parse_encoder(text: &str) -> Result<anchordesk_pipelines::engine::EncoderChoice, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| "expected auto, x264, openh264 or hardware".to_owned())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    anchordesk_relay::telemetry::init();
    match cli.command {
        None => match crate::studio::run(cli.data_dir, cli.assistant) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("anchordesk: error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Live(args)) => crate::headless::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_parses_human_durations() {
        let cli = Cli::try_parse_from([
            "anchordesk",
            "live",
            "--headless",
            "--duration",
            "1m30s",
            "--whip",
            "http://127.0.0.1:1/whip/demo",
            "--key",
            "k",
            "--rtmp",
            "rtmp://a/live/1",
            "--rtmp",
            "rtmp://b/live/2",
            "--whip-bitrate",
            "800,200,3000",
        ])
        .unwrap();
        let Some(Command::Live(args)) = cli.command else {
            panic!("expected live");
        };
        assert!(args.headless);
        assert_eq!(args.duration, Some(Duration::from_secs(90)));
        assert_eq!(args.rtmp.len(), 2);
        assert_eq!(args.whip_bitrate.min_kbps, 200);
    }

    #[test]
    fn whip_needs_a_key_and_ranges_need_three_numbers() {
        let err =
            Cli::try_parse_from(["anchordesk", "live", "--whip", "http://h/whip/s"]).unwrap_err();
        assert!(err.to_string().contains("--key"), "{err}");
        let err = Cli::try_parse_from(["anchordesk", "live", "--whip-bitrate", "1,2"]).unwrap_err();
        assert!(err.to_string().contains("START,MIN,MAX"), "{err}");
    }

    #[test]
    fn bad_duration_is_a_clear_cli_error() {
        let err = Cli::try_parse_from(["anchordesk", "live", "--headless", "--duration", "ten"])
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--duration"), "{msg}");
    }
}
