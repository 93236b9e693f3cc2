//! Relay configuration. Precedence: command-line flags > `ANCHORDESK_*` environment > config
//! file (TOML) > defaults. clap handles the first two; [`Config::merge`] layers the rest.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::interaction::FilterMode;
use crate::media::IceSettings;

/// Loopback by default: a merchant exposes the relay deliberately, never by accident.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8686));

/// RTMP's usual port (what OBS fills in for `rtmp://host/live`).
pub const DEFAULT_RTMP_PORT: u16 = 1935;

/// An unpaid order gives its stock back after this long.
pub const DEFAULT_ORDER_EXPIRY_MINUTES: i64 = 15;

/// File name of the embedded SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "anchordesk.db";

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML config file; its values apply where no flag or environment variable is given.
    #[arg(long, env = "ANCHORDESK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the database, uploads and recordings [default: the user's data dir + /anchordesk].
    #[arg(long, env = "ANCHORDESK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://user:password@host/db` to keep orders and viewers in PostgreSQL instead of
    /// the SQLite file in the data directory.
    #[arg(
        long,
        env = "ANCHORDESK_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Address for the HTTP API and viewer page [default: 127.0.0.1:8686].
    #[arg(long, env = "ANCHORDESK_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve the viewer UI from this directory instead of the copy embedded in the binary.
    #[arg(long, env = "ANCHORDESK_UI_DIR", value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// Minutes an unpaid order holds its stock before it is cancelled [default: 15].
    #[arg(long, env = "ANCHORDESK_ORDER_EXPIRY_MINUTES", value_name = "MINUTES",
          value_parser = clap::value_parser!(i64).range(1..=10080))]
    pub order_expiry_minutes: Option<i64>,
    /// Shared secret of the signed-callback payment provider (≥ 16 characters); without it
    /// only offline payment is offered. Prefer the environment variable to the flag.
    #[arg(
        long,
        env = "ANCHORDESK_PAYMENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub payment_secret: Option<String>,
    /// A test gateway on this relay: buyers "pay" their own orders through a signed callback
    /// (needs the payment secret). For trying the buying loop and for tests; never in a real shop.
    #[arg(long, env = "ANCHORDESK_PAYMENT_SANDBOX")]
    pub payment_sandbox: bool,
    /// Addresses WebRTC binds and offers to peers (comma-separated); 0.0.0.0 means every
    /// non-loopback interface [default: 0.0.0.0,127.0.0.1].
    #[arg(
        long,
        env = "ANCHORDESK_ICE_ADDRESSES",
        value_name = "IPS",
        value_delimiter = ','
    )]
    pub ice_addresses: Option<Vec<IpAddr>>,
    /// Public IPs to announce besides the interface addresses, for a relay behind NAT whose
    /// router forwards the UDP port range to it (comma-separated).
    #[arg(
        long,
        env = "ANCHORDESK_PUBLIC_IPS",
        value_name = "IPS",
        value_delimiter = ','
    )]
    pub public_ips: Option<Vec<IpAddr>>,
    /// UDP ports for WebRTC, e.g. `40000-40199` (forward them on the router) [default: any].
    #[arg(long, env = "ANCHORDESK_UDP_PORTS", value_name = "LOW-HIGH")]
    pub udp_ports: Option<String>,
    /// Address for RTMP ingest (OBS, ffmpeg) [default: the HTTP address's IP, port 1935, or
    /// any free port when the HTTP port is 0].
    #[arg(long, env = "ANCHORDESK_RTMP_LISTEN", value_name = "ADDR")]
    pub rtmp_listen: Option<SocketAddr>,
    /// Turn RTMP ingest off (WHIP only).
    #[arg(long)]
    pub no_rtmp: bool,
    /// How clients reach this relay, e.g. `https://shop.example.com`: the base of the URLs
    /// the relay hands out (WHIP/WHEP/RTMP with a stream key) [default: the request's Host
    /// when it is a plain host[:port], else the listen address].
    #[arg(long, env = "ANCHORDESK_PUBLIC_BASE_URL", value_name = "URL")]
    pub public_base_url: Option<String>,
    /// Reverse proxies whose X-Forwarded-For names the client (comma-separated IPs); they are
    /// not held to the per-address connection caps [default: 127.0.0.1,::1].
    #[arg(
        long,
        env = "ANCHORDESK_TRUSTED_PROXIES",
        value_name = "IPS",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// With PostgreSQL: the base URL the other relays on the same database reach this one at
    /// to pull the streams it receives, e.g. `http://10.0.0.11:8686` [default: the listen
    /// address when it is a specific IP].
    #[arg(long, env = "ANCHORDESK_CLUSTER_URL", value_name = "URL")]
    pub cluster_url: Option<String>,
    /// A CDN or caching proxy in front of `/hls/` (and the viewer page's static assets), e.g.
    /// `https://cdn.example.com`: the viewer page fetches HLS from there while its API calls,
    /// event socket and WHEP stay on the relays [default: the relay itself].
    #[arg(long, env = "ANCHORDESK_HLS_BASE_URL", value_name = "URL")]
    pub hls_base_url: Option<String>,
}

/// The config file's schema. Every key is optional; unknown keys are an error so typos surface.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub ui_dir: Option<PathBuf>,
    pub order_expiry_minutes: Option<i64>,
    pub payment_secret: Option<String>,
    /// `true`: the test gateway (see `--payment-sandbox`).
    pub payment_sandbox: Option<bool>,
    /// Words masked (or refused) in comments.
    pub sensitive_words: Option<Vec<String>>,
    /// `mask` (default) or `reject`.
    pub comment_filter: Option<FilterMode>,
    /// Days the audit log keeps staff actions (default 180).
    pub audit_retention_days: Option<i64>,
    pub ice_addresses: Option<Vec<IpAddr>>,
    pub public_ips: Option<Vec<IpAddr>>,
    /// `low-high`, e.g. `40000-40199`.
    pub udp_ports: Option<String>,
    pub rtmp_listen: Option<SocketAddr>,
    /// `false` turns RTMP ingest off.
    pub rtmp: Option<bool>,
    /// See `--public-base-url`.
    pub public_base_url: Option<String>,
    /// See `--trusted-proxies`; `[]` trusts nobody, loopback included.
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// Connections one address may hold open at once (default 128).
    pub max_connections_per_ip: Option<usize>,
    /// Event WebSockets one address may hold open at once (default 32).
    pub max_websockets_per_ip: Option<usize>,
    /// Seconds a client has to send a request's headers, also the idle keep-alive limit
    /// (default 10).
    pub header_read_timeout_secs: Option<u64>,
    /// See `--cluster-url`.
    pub cluster_url: Option<String>,
    /// See `--hls-base-url`.
    pub hls_base_url: Option<String>,
}

/// The resolved configuration a relay runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub data_dir: PathBuf,
    /// PostgreSQL URL; `None` keeps the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    /// `None`: serve the viewer UI embedded at build time.
    pub ui_dir: Option<PathBuf>,
    pub order_expiry_minutes: i64,
    pub payment_secret: Option<String>,
    /// Buyers can pay through a test gateway on this relay.
    pub payment_sandbox: bool,
    pub sensitive_words: Vec<String>,
    pub comment_filter: FilterMode,
    pub audit_retention_days: i64,
    /// Where WebRTC binds, what it announces, which ports.
    pub ice: IceSettings,
    /// RTMP ingest address; `None`: off.
    pub rtmp_listen: Option<SocketAddr>,
    /// `scheme://host[:port]` clients reach the relay at, without a trailing slash.
    pub public_base_url: Option<String>,
    /// Per-address caps, header timeout and trusted proxies.
    pub limits: crate::throttle::Limits,
    /// Where other relays of the cluster reach this one (see `--cluster-url`).
    pub cluster_url: Option<String>,
    /// The CDN origin viewer pages fetch HLS from (see `--hls-base-url`), no trailing `/`.
    pub hls_base_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file named by `--config` could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value is out of its allowed range.
    #[error("invalid config value {key}: {message}")]
    Invalid { key: &'static str, message: String },
    /// The config file is not valid TOML for our schema.
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

fn parse_port_range(text: &str) -> Result<(u16, u16), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: "udp_ports",
        message,
    };
    let (low, high) = text
        .split_once('-')
        .ok_or_else(|| invalid(format!("must be LOW-HIGH such as 40000-40199, got {text}")))?;
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p >= 1024)
            .ok_or_else(|| invalid(format!("{p} is not a port from 1024 to 65535")))
    };
    let (low, high) = (port(low)?, port(high)?);
    if low > high {
        return Err(invalid(format!("{low} is above {high}")));
    }
    Ok((low, high))
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })
    }
}

impl Config {
    /// Resolves flags/environment (already parsed by clap), the config file they name, and defaults.
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let udp_ports = args.udp_ports.clone().or(file.udp_ports.clone());
        let mut config = Self::merge(args, file);
        if let Some(range) = udp_ports {
            config.ice.port_range = Some(parse_port_range(&range)?);
        }
        if config.ice.addresses.is_empty() {
            return Err(ConfigError::Invalid {
                key: "ice_addresses",
                message: "needs at least one address (0.0.0.0 for every interface)".into(),
            });
        }
        if !(1..=10080).contains(&config.order_expiry_minutes) {
            return Err(ConfigError::Invalid {
                key: "order_expiry_minutes",
                message: format!(
                    "must be 1–10080 (a week), got {}",
                    config.order_expiry_minutes
                ),
            });
        }
        if !(1..=3650).contains(&config.audit_retention_days) {
            return Err(ConfigError::Invalid {
                key: "audit_retention_days",
                message: format!("must be 1–3650, got {}", config.audit_retention_days),
            });
        }
        if let Some(url) = &config.database_url
            && crate::store::Backend::of_url(url).is_none()
        {
            return Err(ConfigError::Invalid {
                key: "database_url",
                message: format!(
                    "must start with postgres:// or postgresql:// (got {}); leave it out for SQLite",
                    crate::store::redact_url(url)
                ),
            });
        }
        if let Some(url) = &config.public_base_url
            && !is_base_url(url)
        {
            return Err(ConfigError::Invalid {
                key: "public_base_url",
                message: format!(
                    "must be http:// or https:// and a host[:port] with no path, got {url}"
                ),
            });
        }
        if let Some(url) = &config.hls_base_url
            && !is_base_url(url)
        {
            return Err(ConfigError::Invalid {
                key: "hls_base_url",
                message: format!(
                    "must be http:// or https:// and a host[:port] with no path, got {url}"
                ),
            });
        }
        let limits = &config.limits;
        for (key, value) in [
            ("max_connections_per_ip", limits.max_connections_per_ip),
            ("max_websockets_per_ip", limits.max_websockets_per_ip),
        ] {
            if !(1..=1_000_000).contains(&value) {
                return Err(ConfigError::Invalid {
                    key,
                    message: format!("must be 1–1000000, got {value}"),
                });
            }
        }
        if !(1..=300).contains(&limits.header_read_timeout.as_secs()) {
            return Err(ConfigError::Invalid {
                key: "header_read_timeout_secs",
                message: format!(
                    "must be 1–300, got {}",
                    limits.header_read_timeout.as_secs()
                ),
            });
        }
        if config.payment_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::Invalid {
                key: "payment_secret",
                message: "must be at least 16 characters".into(),
            });
        }
        if config.payment_sandbox && config.payment_secret.is_none() {
            return Err(ConfigError::Invalid {
                key: "payment_sandbox",
                message: "needs payment_secret: the sandbox pays through signed callbacks".into(),
            });
        }
        Ok(config)
    }

    pub fn merge(args: ServeArgs, file: FileConfig) -> Self {
        let listen = args.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN);
        let rtmp_on = !args.no_rtmp && file.rtmp.unwrap_or(true);
        let rtmp_listen = rtmp_on.then(|| {
            args.rtmp_listen
                .or(file.rtmp_listen)
                // An ephemeral HTTP port (tests, several relays) gets an ephemeral RTMP port.
                .unwrap_or(SocketAddr::new(
                    listen.ip(),
                    if listen.port() == 0 {
                        0
                    } else {
                        DEFAULT_RTMP_PORT
                    },
                ))
        });
        let defaults = crate::throttle::Limits::default();
        let limits = crate::throttle::Limits {
            max_connections_per_ip: file
                .max_connections_per_ip
                .unwrap_or(defaults.max_connections_per_ip),
            max_websockets_per_ip: file
                .max_websockets_per_ip
                .unwrap_or(defaults.max_websockets_per_ip),
            header_read_timeout: file
                .header_read_timeout_secs
                .map_or(defaults.header_read_timeout, std::time::Duration::from_secs),
            trusted_proxies: args
                .trusted_proxies
                .or(file.trusted_proxies)
                .unwrap_or(defaults.trusted_proxies),
        };
        Self {
            rtmp_listen,
            public_base_url: args
                .public_base_url
                .or(file.public_base_url)
                .map(|url| url.trim_end_matches('/').to_owned()),
            limits,
            cluster_url: args.cluster_url.or(file.cluster_url),
            hls_base_url: args
                .hls_base_url
                .or(file.hls_base_url)
                .map(|url| url.trim_end_matches('/').to_owned()),
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(default_data_dir),
            database_url: args.database_url.or(file.database_url),
            listen,
            ui_dir: args.ui_dir.or(file.ui_dir),
            order_expiry_minutes: args
                .order_expiry_minutes
                .or(file.order_expiry_minutes)
                .unwrap_or(DEFAULT_ORDER_EXPIRY_MINUTES),
            payment_secret: args.payment_secret.or(file.payment_secret),
            payment_sandbox: args.payment_sandbox || file.payment_sandbox.unwrap_or(false),
            sensitive_words: file.sensitive_words.unwrap_or_default(),
            comment_filter: file.comment_filter.unwrap_or_default(),
            audit_retention_days: file
                .audit_retention_days
                .unwrap_or(crate::audit::DEFAULT_RETENTION_DAYS),
            ice: IceSettings {
                addresses: args
                    .ice_addresses
                    .or(file.ice_addresses)
                    .unwrap_or_else(|| IceSettings::default().addresses),
                public_ips: args.public_ips.or(file.public_ips).unwrap_or_default(),
                port_range: None,
            },
        }
    }

    /// A relay for one data directory on a free loopback port: what the studio bundles.
    pub fn bundled(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database_url: None,
            listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)),
            ui_dir: None,
            order_expiry_minutes: DEFAULT_ORDER_EXPIRY_MINUTES,
            payment_secret: None,
            payment_sandbox: false,
            sensitive_words: Vec::new(),
            comment_filter: FilterMode::Mask,
            audit_retention_days: crate::audit::DEFAULT_RETENTION_DAYS,
            ice: IceSettings::default(),
            // The studio publishes over WHIP; a merchant's standalone relay takes RTMP too.
            rtmp_listen: None,
            public_base_url: None,
            limits: crate::throttle::Limits::default(),
            cluster_url: None,
            hls_base_url: None,
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }

    /// Uploaded product pictures (also with PostgreSQL: files stay on the relay's disk).
    pub fn images_dir(&self) -> PathBuf {
        self.data_dir.join("images")
    }
}

/// `http(s)://` + [`is_host_port`], nothing after it.
pub fn is_base_url(url: &str) -> bool {
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .is_some_and(is_host_port)
}

/// A plain `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address, and a port
/// of digits. What a `Host` header must look like before the relay puts it into a URL: no
/// userinfo, path, spaces or quotes that would turn a link into someone else's.
pub fn is_host_port(text: &str) -> bool {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    });
    let host_ok = text.starts_with('[')
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    port_ok && host_ok
}

/// `$XDG_DATA_HOME/anchordesk` (usually `~/.local/share/anchordesk`).
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("anchordesk")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let args = ServeArgs {
            listen: Some(addr("127.0.0.1:9000")),
            ..ServeArgs::default()
        };
        let file = FileConfig {
            data_dir: Some("/srv/shop".into()),
            database_url: Some("postgres://shop@db/shop".into()),
            listen: Some(addr("0.0.0.0:80")),
            ui_dir: None,
            order_expiry_minutes: Some(30),
            payment_secret: None,
            payment_sandbox: Some(true),
            sensitive_words: None,
            comment_filter: None,
            audit_retention_days: None,
            ice_addresses: Some(vec!["10.0.0.5".parse().unwrap()]),
            rtmp_listen: None,
            rtmp: None,
            cluster_url: None,
            hls_base_url: None,
            public_base_url: None,
            trusted_proxies: None,
            max_connections_per_ip: None,
            max_websockets_per_ip: None,
            header_read_timeout_secs: None,
            public_ips: Some(vec!["203.0.113.7".parse().unwrap()]),
            udp_ports: None,
        };
        let config = Config::merge(args, file);
        assert_eq!(
            config.ice.addresses,
            vec!["10.0.0.5".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            config.ice.public_ips,
            vec!["203.0.113.7".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(config.listen, addr("127.0.0.1:9000"));
        assert!(
            config.payment_sandbox,
            "the file turns the sandbox on without a flag"
        );
        assert_eq!(config.data_dir, PathBuf::from("/srv/shop"));
        assert_eq!(config.ui_dir, None);
        assert_eq!(config.order_expiry_minutes, 30);
        assert_eq!(
            config.database_url.as_deref(),
            Some("postgres://shop@db/shop")
        );
    }

    #[test]
    fn a_database_url_that_is_not_postgres_is_refused_without_its_password() {
        let args = ServeArgs {
            database_url: Some("mysql://shop:hunter22@db/shop".into()),
            ..ServeArgs::default()
        };
        let err = Config::resolve(args).unwrap_err().to_string();
        assert!(err.contains("database_url"), "{err}");
        assert!(!err.contains("hunter22"), "{err}");
    }

    #[test]
    fn udp_port_ranges_are_checked() {
        assert_eq!(parse_port_range("40000-40199").unwrap(), (40000, 40199));
        for bad in ["40000", "40199-40000", "80-90", "a-b", "40000-70000"] {
            let err = parse_port_range(bad).unwrap_err().to_string();
            assert!(err.contains("udp_ports"), "{bad}: {err}");
        }
        let args = ServeArgs {
            udp_ports: Some("41000-41009".into()),
            ..ServeArgs::default()
        };
        assert_eq!(
            Config::resolve(args).unwrap().ice.port_range,
            Some((41000, 41009))
        );
    }

    #[test]
    fn defaults_listen_on_loopback_8686() {
        let config = Config::merge(ServeArgs::default(), FileConfig::default());
        assert_eq!(config.listen, addr("127.0.0.1:8686"));
        assert_eq!(config.rtmp_listen, Some(addr("127.0.0.1:1935")));
        let off = ServeArgs {
            no_rtmp: true,
            ..ServeArgs::default()
        };
        assert_eq!(Config::merge(off, FileConfig::default()).rtmp_listen, None);
        assert!(config.data_dir.ends_with("anchordesk"));
    }

    #[test]
    fn unknown_config_key_is_rejected_with_its_name() {
        let dir = std::env::temp_dir().join(format!("anchordesk-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.toml");
        std::fs::write(&path, "listn = \"127.0.0.1:1\"\n").unwrap();
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("listn"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hosts_and_base_urls_follow_a_strict_grammar() {
        for good in [
            "shop.example.com",
            "shop.example.com:8686",
            "10.0.0.2:8686",
            "localhost",
            "[::1]:8686",
            "[2001:db8::1]",
        ] {
            assert!(is_host_port(good), "{good}");
        }
        for bad in [
            "",
            "evil.com/phish",
            "a@b.com",
            "shop.example.com:",
            "shop.example.com:99999",
            "shop .com",
            "x\"y.com",
            "[::1",
            "[nope]:80",
            "-bad.com",
            "a..b",
        ] {
            assert!(!is_host_port(bad), "{bad}");
        }
        assert!(is_base_url("https://shop.example.com"));
        assert!(!is_base_url("ftp://shop.example.com"));
        assert!(!is_base_url("https://shop.example.com/path"));
        let args = ServeArgs {
            public_base_url: Some("https://shop.example.com/".into()),
            ..ServeArgs::default()
        };
        assert_eq!(
            Config::resolve(args).unwrap().public_base_url.as_deref(),
            Some("https://shop.example.com")
        );
        let args = ServeArgs {
            public_base_url: Some("shop.example.com".into()),
            ..ServeArgs::default()
        };
        let err = Config::resolve(args).unwrap_err().to_string();
        assert!(err.contains("public_base_url"), "{err}");
        let file: FileConfig =
            toml::from_str("hls_base_url = \"https://cdn.example.com/\"\n").unwrap();
        assert_eq!(
            Config::merge(ServeArgs::default(), file)
                .hls_base_url
                .as_deref(),
            Some("https://cdn.example.com")
        );
        let args = ServeArgs {
            hls_base_url: Some("https://cdn.example.com/live".into()),
            ..ServeArgs::default()
        };
        let err = Config::resolve(args).unwrap_err().to_string();
        assert!(err.contains("hls_base_url"), "{err}");
    }

    #[test]
    fn limits_come_from_the_file_and_trusted_proxies_from_flags_too() {
        let file: FileConfig = toml::from_str(
            "max_connections_per_ip = 8\nmax_websockets_per_ip = 2\nheader_read_timeout_secs = 5\ntrusted_proxies = []\n",
        )
        .unwrap();
        let config = Config::merge(ServeArgs::default(), file);
        assert_eq!(config.limits.max_connections_per_ip, 8);
        assert_eq!(config.limits.max_websockets_per_ip, 2);
        assert_eq!(config.limits.header_read_timeout.as_secs(), 5);
        assert!(config.limits.trusted_proxies.is_empty());
        let defaults = Config::merge(ServeArgs::default(), FileConfig::default());
        assert!(defaults.limits.is_trusted("127.0.0.1".parse().unwrap()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "header_read_timeout_secs = 0\n").unwrap();
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let err = Config::resolve(args).unwrap_err().to_string();
        assert!(err.contains("header_read_timeout_secs"), "{err}");
    }

    #[test]
    fn config_file_values_are_parsed() {
        let parsed: FileConfig =
            toml::from_str("data_dir = \"/var/lib/anchordesk\"\nlisten = \"0.0.0.0:8686\"\n")
                .unwrap();
        assert_eq!(parsed.data_dir, Some(PathBuf::from("/var/lib/anchordesk")));
        assert_eq!(parsed.listen, Some(addr("0.0.0.0:8686")));
    }
}
