//! `anchordesk-relay`: the relay as a standalone server for a merchant's machine.

use std::process::ExitCode;

use anchordesk_relay::{Config, ServeArgs, telemetry};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "anchordesk-relay",
    version,
    about = "AnchorDesk relay server: live video, shop and orders on your own machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relay until SIGINT/SIGTERM.
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("anchordesk-relay: error: cannot start async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("anchordesk-relay: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = Config::resolve(args)?;
            let relay = anchordesk_relay::start(&config).await?;
            // Scripts (make demo, tests) read this line to find the port when listening on :0.
            println!("anchordesk-relay listening on {}", relay.url());
            let token = relay.shutdown_token();
            tokio::spawn(async move {
                anchordesk_relay::shutdown_signal().await;
                tracing::info!("shutdown requested; finishing in-flight requests");
                token.cancel();
            });
            relay.wait().await?;
            tracing::info!("relay stopped");
            Ok(())
        }
    }
}
