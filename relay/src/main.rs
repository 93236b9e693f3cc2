//! `anchordesk-relay`: the relay as a standalone server for a merchant's machine.

use std::process::ExitCode;

use anchordesk_relay::auth::{self, Role};
use anchordesk_relay::media::streams::{self, StreamKey};
use anchordesk_relay::{Config, ServeArgs, Store, telemetry};
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
    /// Manage staff accounts (owner, anchor, assistant).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Media streams and their publish keys.
    Stream {
        #[command(subcommand)]
        command: StreamCommand,
    },
    /// The demo shop.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Fill an empty data directory with a demo shop: owner `owner`, 12 products, one live.
    /// The owner's password is ANCHORDESK_PASSWORD, else one is generated and printed.
    Seed {
        #[command(flatten)]
        store: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
enum StreamCommand {
    /// Create a stream and print its publish key (shown once) with the WHIP and WHEP URLs.
    Create {
        /// a-z, 0-9, '-' and '_' (it appears in URLs).
        name: String,
        #[command(flatten)]
        store: ServeArgs,
    },
    /// Give a stream a new key; the old one stops working for new publishes.
    RotateKey {
        name: String,
        #[command(flatten)]
        store: ServeArgs,
    },
    /// List the streams.
    List {
        #[command(flatten)]
        store: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a staff account. The password is read from ANCHORDESK_PASSWORD, else from the
    /// first line of standard input, so it never appears in the process list or shell history.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum, default_value_t = Role::Owner)]
        role: Role,
        #[command(flatten)]
        store: ServeArgs,
    },
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
            let signal = anchordesk_relay::shutdown_signal();
            // Scripts (make demo, tests) read this line to find the port when listening on :0;
            // it is printed only once signals are handled.
            println!("anchordesk-relay listening on {}", relay.url());
            if let Some(rtmp) = relay.rtmp_url() {
                // A reader that took only the first line may have closed the pipe: that must
                // not stop the relay (println! would panic).
                use std::io::Write;
                let _ = writeln!(
                    std::io::stdout(),
                    "anchordesk-relay RTMP ingest on {rtmp}/<stream>?key=<key>"
                );
            }
            let token = relay.shutdown_token();
            tokio::spawn(async move {
                signal.await;
                tracing::info!("shutdown requested; finishing in-flight requests");
                token.cancel();
            });
            relay.wait().await?;
            tracing::info!("relay stopped");
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Seed { store },
        } => {
            let config = Config::resolve(store)?;
            let store = Store::open_config(&config).await?;
            let (password, generated) = match std::env::var("ANCHORDESK_PASSWORD") {
                Ok(p) => (p, false),
                Err(_) => (auth::random_hex(8), true),
            };
            let seeded =
                anchordesk_relay::demo::seed(&store, &config.images_dir(), &password).await;
            store.close().await;
            let seeded = seeded?;
            println!(
                "seeded {} products and live {} in {}",
                seeded.products,
                seeded.live_id,
                config.data_dir.display()
            );
            if generated {
                println!("owner login: {} / {password}", seeded.owner);
            } else {
                println!(
                    "owner login: {} (password from ANCHORDESK_PASSWORD)",
                    seeded.owner
                );
            }
            Ok(())
        }
        Command::Stream { command } => stream_command(command).await,
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    role,
                    store,
                },
        } => {
            let password = match std::env::var("ANCHORDESK_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let config = Config::resolve(store)?;
            let store = Store::open_config(&config).await?;
            let id = auth::create_staff(&store, &username, &password, role).await?;
            store.close().await;
            println!("created {} {username} (id {id})", role.as_str());
            Ok(())
        }
    }
}

/// How publishers reach a relay started with this config: its listen address, with the
/// wildcard replaced by loopback (the merchant substitutes the LAN or public address).
fn http_base(config: &Config) -> String {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

fn rtmp_base(config: &Config) -> Option<String> {
    let mut addr = config.rtmp_listen?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Some(format!("rtmp://{addr}"))
}

fn print_key(key: &StreamKey) {
    println!("stream:   {}", key.name);
    println!("key:      {}  (shown once; keep it secret)", key.key);
    println!(
        "WHIP URL: {}  (send the key as a Bearer token)",
        key.whip_url
    );
    println!("WHEP URL: {}", key.whep_url);
    if let Some(rtmp) = &key.rtmp_url {
        println!(
            "RTMP URL: {rtmp}  (OBS stream key: {}?key={})",
            key.name, key.key
        );
    }
    println!("HLS URL:  {}", key.hls_url);
}

async fn stream_command(command: StreamCommand) -> anyhow::Result<()> {
    let (StreamCommand::Create { store, .. }
    | StreamCommand::RotateKey { store, .. }
    | StreamCommand::List { store }) = &command;
    let config = Config::resolve(store.clone())?;
    let store = Store::open_config(&config).await?;
    let result = async {
        match &command {
            StreamCommand::Create { name, .. } => {
                let (name, key) = streams::create(&store, name).await?;
                print_key(&StreamKey::new(
                    name,
                    key,
                    &http_base(&config),
                    rtmp_base(&config).as_deref(),
                ));
            }
            StreamCommand::RotateKey { name, .. } => {
                let key = streams::rotate_key(&store, name).await?;
                print_key(&StreamKey::new(
                    name.clone(),
                    key,
                    &http_base(&config),
                    rtmp_base(&config).as_deref(),
                ));
            }
            StreamCommand::List { .. } => {
                for stream in streams::list(&store).await? {
                    println!("{}", stream.name);
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
