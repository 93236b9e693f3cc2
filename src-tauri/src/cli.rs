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
    /// Run without a window.
    #[arg(long)]
    pub headless: bool,
    /// Stop after this long (e.g. 10s, 5m, 1h30m); without it, run until Ctrl-C or SIGTERM.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    anchordesk_relay::telemetry::init();
    match cli.command {
        None => match crate::studio::run(cli.data_dir) {
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
        let cli = Cli::try_parse_from(["anchordesk", "live", "--headless", "--duration", "1m30s"])
            .unwrap();
        let Some(Command::Live(args)) = cli.command else {
            panic!("expected live");
        };
        assert!(args.headless);
        assert_eq!(args.duration, Some(Duration::from_secs(90)));
    }

    #[test]
    fn bad_duration_is_a_clear_cli_error() {
        let err = Cli::try_parse_from(["anchordesk", "live", "--headless", "--duration", "ten"])
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--duration"), "{msg}");
    }
}
