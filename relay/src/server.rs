//! Relay lifecycle: bind, open the store, serve, shut down.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError};
use crate::error::now_ms;
use crate::events::{LiveEvent, StreamStatsEvent};
use crate::http::{self, AppState};
use crate::interaction::WordFilter;
use crate::media::MediaHub;
use crate::store::{Backend, Store, StoreError};
use crate::ui::UiAssets;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address cannot be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {}", describe_bind_error(.source))]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory or database is unusable.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe_bind_error(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::AddrInUse => {
            "address already in use (is another relay running? pick another with --listen)".into()
        }
        _ => err.to_string(),
    }
}

/// A relay serving in the background. Dropping it does not stop it; call [`Self::shutdown`].
#[derive(Debug)]
pub struct RunningRelay {
    addr: SocketAddr,
    rtmp_addr: Option<SocketAddr>,
    config: Config,
    store: Store,
    cancel: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    /// The sweep, the viewers announcer and the comment/like flusher; awaited before the store closes so their
    /// last writes land.
    background: Vec<JoinHandle<()>>,
}

impl RunningRelay {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:8686`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `rtmp://host:port/live` when RTMP ingest is on.
    pub fn rtmp_url(&self) -> Option<String> {
        self.rtmp_addr
            .map(|a| format!("rtmp://{a}/{}", crate::media::rtmp::APP))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What it was started with (the listen address as asked, not as bound).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A token that, when cancelled, starts graceful shutdown (e.g. from a signal handler).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Waits until the server has stopped, however that was triggered.
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self
            .task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // However the server stopped, the background tasks stop with it.
        self.cancel.cancel();
        for task in self.background {
            let _ = task.await;
        }
        self.store.close().await;
        result
    }

    /// Stops accepting connections, finishes in-flight requests and closes the database.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.cancel.cancel();
        self.wait().await
    }
}

/// How often the time-driven work runs: order expiry, flash-sale ends, lottery draws, audit purge.
/// Publishers and viewers are told the relay is going (their connections close) rather than
/// left to time out.
async fn close_media_on_shutdown(media: MediaHub, cancel: CancellationToken) {
    cancel.cancelled().await;
    media.close_all().await;
}

const EXPIRY_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Gives back the stock of unpaid, expired orders and of flash sales whose time is up, and
/// draws lotteries whose time is up, until the relay shuts down.
async fn sweep(state: AppState, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(EXPIRY_SWEEP);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now = crate::error::now_ms();
        match crate::commerce::orders::expire_due(&state.store, now).await {
            Ok(changed) => {
                if changed.value > 0 {
                    tracing::info!(
                        orders = changed.value,
                        "expired unpaid orders; stock returned"
                    );
                }
                state.events.publish(changed.events);
            }
            Err(e) => tracing::warn!("order expiry sweep failed: {e}"),
        }
        match crate::commerce::flash_sales::close_due(&state.store, now).await {
            Ok(changed) => state.events.publish(changed.events),
            Err(e) => tracing::warn!("flash sale sweep failed: {e}"),
        }
        match crate::commerce::lotteries::draw_due(&state.store, now).await {
            Ok(changed) => state.events.publish(changed.events),
            Err(e) => tracing::warn!("lottery draw sweep failed: {e}"),
        }
        match crate::audit::purge_before(&state.store, now - state.audit_retention_ms).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "purged audit entries past retention"),
            Err(e) => tracing::warn!("audit purge failed: {e}"),
        }
    }
}

/// How often a live's viewer count is announced (only when it changed).
const VIEWERS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Appends a `viewers` event `{now, peak}` for each live whose audience changed.
async fn announce_viewers(state: AppState, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(VIEWERS_INTERVAL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let changed = match state.store.backend() {
            Backend::Sqlite => state.presence.take_changed(),
            // Add up the viewers of every relay on the database.
            Backend::Postgres => {
                match state
                    .presence
                    .sync(&state.store, &state.relay_id, now_ms())
                    .await
                {
                    Ok(changed) => changed,
                    Err(e) => {
                        tracing::warn!("viewer presence sync failed: {e}");
                        continue;
                    }
                }
            }
        };
        for (live_id, counts) in changed {
            let event = LiveEvent::Viewers {
                now: counts.now,
                peak: counts.peak,
            };
            if let Err(e) = append_event(&state, live_id, event).await {
                tracing::warn!(live_id, "viewers event failed: {e}");
            }
        }
    }
}

/// Appends one event under the write lock (so ids become visible in order, which resuming
/// sockets rely on, on PostgreSQL too) and publishes it.
async fn append_event(
    state: &AppState,
    live_id: i64,
    event: LiveEvent,
) -> crate::error::Result<()> {
    let mut tx = state.store.begin_write().await?;
    let event = crate::events::append(&mut tx, live_id, event).await?;
    tx.commit().await?;
    state.events.publish([event]);
    Ok(())
}

/// How often each publishing stream's figures go to the staff of its lives.
const STREAM_STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Appends a staff-only `stream.stats` event (publishing, bitrate, fps, resolution, loss,
/// viewers) every 2 s to each open live shown on a publishing stream: the studio's stats
/// dock and an assistant's second PC read it from the live's feed.
async fn announce_stream_stats(state: AppState, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(STREAM_STATS_INTERVAL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        for stream in state.media.publishing_streams() {
            let lives: Vec<i64> = match sqlx::query_scalar(
                "select id from lives where stream_name = $1 and status <> 'ended'",
            )
            .bind(&stream)
            .fetch_all(state.store.pool())
            .await
            {
                Ok(lives) => lives,
                Err(e) => {
                    tracing::warn!(stream, "stream stats: {e}");
                    continue;
                }
            };
            if lives.is_empty() {
                continue;
            }
            let stats = StreamStatsEvent {
                stats: state.media.stats(&stream).await,
                stream: stream.clone(),
            };
            for live_id in lives {
                let event = LiveEvent::StreamStats(stats.clone());
                if let Err(e) = append_event(&state, live_id, event).await {
                    tracing::warn!(live_id, "stream stats event failed: {e}");
                }
            }
        }
    }
}

/// Connections the kernel queues for the HTTP listener before it accepts them (capped by
/// `net.core.somaxconn`). A live's start is a flash crowd, and a hostile client opening
/// hundreds of connections at once must not fill the queue: a connection the kernel drops
/// there retries its SYN only after a second. Tokio's `bind` asks for 1024.
const LISTEN_BACKLOG: u32 = 8192;

fn bind_with_backlog(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted relay may rebind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Binds the listen address, opens the store (applying migrations) and starts serving.
pub async fn start(config: &Config) -> Result<RunningRelay, StartError> {
    let listener = bind_with_backlog(config.listen).map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let rtmp = match config.rtmp_listen {
        Some(rtmp_addr) => {
            Some(
                TcpListener::bind(rtmp_addr)
                    .await
                    .map_err(|source| StartError::Listen {
                        addr: rtmp_addr,
                        source,
                    })?,
            )
        }
        None => None,
    };
    let rtmp_addr = rtmp.as_ref().and_then(|l| l.local_addr().ok());
    let store = Store::open_config(config).await?;
    let mut state = AppState::new(store.clone(), UiAssets::new(config.ui_dir.clone()));
    state.order_ttl_ms = config.order_expiry_minutes * 60_000;
    state.images_dir = config.images_dir();
    state.audit_retention_ms = config.audit_retention_days * 24 * 3600 * 1000;
    state.media = MediaHub::new(
        config.ice.clone(),
        Some(crate::media::MediaDirs::in_data_dir(&config.data_dir)),
    );
    state.public_addr = addr.to_string();
    state.rtmp_addr = rtmp_addr;
    state.public_base_url = config.public_base_url.clone();
    state.hls_base_url = config.hls_base_url.clone();
    state.guards = std::sync::Arc::new(crate::throttle::Guards::new(
        config.limits.clone(),
        crate::throttle::TARGET_POLICY,
        crate::throttle::ADDRESS_POLICY,
    ));
    if let Some(secret) = &config.payment_secret {
        state = state.with_payment_secret(secret);
        if config.payment_sandbox {
            tracing::warn!("payment sandbox on: buyers can mark their own orders paid");
            state = state.with_payment_sandbox(secret);
        }
    }
    state = state.with_word_filter(WordFilter::new(
        config.sensitive_words.clone(),
        config.comment_filter,
    ));
    let cancel = CancellationToken::new();
    let interaction = state.interaction.clone();
    let flush_cancel = cancel.clone();
    let background = vec![
        tokio::spawn(sweep(state.clone(), cancel.clone())),
        tokio::spawn(announce_viewers(state.clone(), cancel.clone())),
        tokio::spawn(announce_stream_stats(state.clone(), cancel.clone())),
        tokio::spawn(async move { interaction.run_flusher(flush_cancel).await }),
        tokio::spawn(close_media_on_shutdown(state.media.clone(), cancel.clone())),
        tokio::spawn(crate::clips::run(state.clips(), cancel.clone())),
    ];
    let mut background = background;
    if store.backend() == Backend::Postgres {
        // Other relays may share this database: announce the streams published here, pull the
        // ones published there.
        state.media.join_cluster(crate::media::origins::Cluster {
            store: store.clone(),
            relay_id: state.relay_id.clone(),
            url: cluster_url(config, addr).into(),
        });
    }
    if let Some(url) = store.postgres_url() {
        // Other relays on this database commit events too: wake this relay's feeds for them.
        let (hub, url) = (state.events.clone(), url.to_owned());
        background.push(tokio::spawn(crate::events::listen_postgres(
            url,
            hub.clone(),
            cancel.clone(),
        )));
        background.push(tokio::spawn(crate::events::catch_up_regularly(
            hub,
            cancel.clone(),
        )));
    }
    if let Some(listener) = rtmp {
        background.push(tokio::spawn(crate::media::rtmp::serve(
            listener,
            state.media.clone(),
            store.clone(),
            state.guards.clone(),
            cancel.clone(),
        )));
    }
    let shutdown = cancel.clone().cancelled_owned();
    let limits = config.limits.clone();
    let task = tokio::spawn(http::serve_with_limits(
        listener,
        http::app(state),
        limits,
        shutdown,
    ));
    tracing::info!(
        %addr,
        data_dir = %config.data_dir.display(),
        database = store.backend().as_str(),
        "relay listening"
    );
    Ok(RunningRelay {
        addr,
        rtmp_addr,
        config: config.clone(),
        store,
        cancel,
        task,
        background,
    })
}

/// Where the other relays of a cluster reach this one: the configured URL, else the bound
/// address (a wildcard address stands for this machine's loopback, which only relays on the
/// same machine can reach: set `cluster_url` across machines).
fn cluster_url(config: &Config, addr: SocketAddr) -> String {
    if let Some(url) = &config.cluster_url {
        return url.trim_end_matches('/').to_owned();
    }
    let ip = match addr.ip() {
        ip if ip.is_unspecified() => std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM: what every AnchorDesk process treats as
/// "stop gracefully". The handlers are registered when this is called, not when the future is
/// first polled, so a signal arriving right after start-up is never lost to the default action.
/// Must be called inside a Tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (int, term) => {
                let err = int
                    .err()
                    .or(term.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                tracing::warn!("cannot listen for signals ({err}); stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
}
