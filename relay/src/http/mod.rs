//! The relay's HTTP surface. [`app`] builds the router; [`serve`] runs it until shutdown.

mod audit;
mod auth;
mod client;
mod client_ip;
mod clips;
mod coupons;
mod error;
mod events;
mod flash_sales;
mod health;
mod interaction;
mod listen;
mod lives;
mod lotteries;
mod media;
mod openapi;
mod orders;
mod payments;
mod products;
mod security;
mod streams;
mod viewer;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::{AppJson, AppPath, Error, Result};
pub use listen::serve_with_limits;

use crate::commerce::payments::{OfflineProvider, PaymentProvider, SignedCallbackProvider};
use crate::events::{EventHub, LiveFeeds};
use crate::interaction::{Interaction, WordFilter};
use crate::media::MediaHub;
use crate::presence::Presence;
use crate::store::Store;
use crate::ui::UiAssets;

/// The largest body a route takes unless it sets its own limit; past it, 413.
pub const MAX_JSON_BYTES: usize = 2 * 1024 * 1024;

/// How long a request may take before it is answered 408; also bounds graceful shutdown.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub events: EventHub,
    /// One reader of the event log per live with sockets, shared by all of them.
    pub feeds: LiveFeeds,
    pub ui: Arc<UiAssets>,
    /// How long an unpaid order holds its stock.
    pub order_ttl_ms: i64,
    /// Payment providers by name; `offline` is always there.
    pub payments: Arc<Vec<Arc<dyn PaymentProvider>>>,
    /// The test gateway (`--payment-sandbox`): signs callbacks for the `signed` provider.
    pub payment_sandbox: Option<Arc<SignedCallbackProvider>>,
    /// Comments and likes with their batching.
    pub interaction: Arc<Interaction>,
    /// Audit entries older than this are purged.
    pub audit_retention_ms: i64,
    /// Viewer sockets per live (viewers now / peak).
    pub presence: Presence,
    /// This relay process among the relays sharing its database (new at every start).
    pub relay_id: Arc<str>,
    /// Uploaded product pictures; the relay puts it in its data directory.
    pub images_dir: PathBuf,
    /// Publishers, viewers and the packets between them.
    pub media: MediaHub,
    /// `host:port` the relay listens on, for URLs when a request names no host.
    pub public_addr: String,
    /// `public_base_url`: how clients reach this relay (`https://shop.example.com`), for the
    /// URLs the relay hands out; `None`: the request's `Host` when it is a plain host[:port].
    pub public_base_url: Option<String>,
    /// Viewer sessions checked lately, so a viewer's burst of requests reads its session once.
    pub viewer_sessions: Arc<crate::viewer_sessions::ViewerSessions>,
    /// Per-address caps and failed-credential delays.
    pub guards: Arc<crate::throttle::Guards>,
    /// Where RTMP ingest listens, if it is on.
    pub rtmp_addr: Option<std::net::SocketAddr>,
    /// `hls_base_url`: the CDN the viewer page fetches HLS and its bundles from.
    pub hls_base_url: Option<String>,
}

impl AppState {
    /// What the replay-clip work needs of this state.
    pub fn clips(&self) -> crate::clips::ClipContext {
        crate::clips::ClipContext {
            store: self.store.clone(),
            media: self.media.clone(),
            events: self.events.clone(),
        }
    }

    pub fn new(store: Store, ui: UiAssets) -> Self {
        let events = EventHub::default();
        Self {
            interaction: Arc::new(Interaction::new(
                store.clone(),
                events.clone(),
                WordFilter::default(),
            )),
            feeds: LiveFeeds::new(store.clone(), events.clone()),
            store,
            events,
            ui: Arc::new(ui),
            order_ttl_ms: crate::config::DEFAULT_ORDER_EXPIRY_MINUTES * 60_000,
            payments: Arc::new(vec![Arc::new(OfflineProvider::default())]),
            payment_sandbox: None,
            audit_retention_ms: crate::audit::DEFAULT_RETENTION_DAYS * 24 * 3600 * 1000,
            presence: Presence::default(),
            relay_id: crate::auth::random_hex(8).into(),
            images_dir: std::env::temp_dir().join("anchordesk-images"),
            media: MediaHub::default(),
            public_addr: "127.0.0.1".into(),
            public_base_url: None,
            guards: Arc::new(crate::throttle::Guards::default()),
            viewer_sessions: Default::default(),
            rtmp_addr: None,
            hls_base_url: None,
        }
    }

    /// Adds the signed-callback provider with this shared secret.
    pub fn with_payment_secret(mut self, secret: &str) -> Self {
        let mut providers: Vec<Arc<dyn PaymentProvider>> = self.payments.iter().cloned().collect();
        providers.push(Arc::new(SignedCallbackProvider::new(secret)));
        self.payments = Arc::new(providers);
        self
    }

    /// Turns on the test gateway, signing with the signed provider's secret.
    pub fn with_payment_sandbox(mut self, secret: &str) -> Self {
        self.payment_sandbox = Some(Arc::new(SignedCallbackProvider::new(secret)));
        self
    }

    /// Filters comments with the shop's sensitive words.
    pub fn with_word_filter(mut self, filter: WordFilter) -> Self {
        self.interaction = Arc::new(Interaction::new(
            self.store.clone(),
            self.events.clone(),
            filter,
        ));
        self
    }

    pub fn payment_provider(&self, name: &str) -> Option<Arc<dyn PaymentProvider>> {
        self.payments.iter().find(|p| p.name() == name).cloned()
    }
}

/// Every API route, each registered from its handler's `#[utoipa::path]` annotation, together
/// with the OpenAPI document those annotations make (so the two cannot drift apart).
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(auth::router())
        .merge(audit::router())
        .merge(products::router())
        .merge(lives::router())
        .merge(orders::router())
        .merge(coupons::router())
        .merge(lotteries::router())
        .merge(flash_sales::router())
        .merge(payments::router())
        .merge(interaction::router())
        .merge(events::router())
        .merge(streams::router())
        .merge(clips::router())
        .merge(openapi::router())
}

/// The OpenAPI 3.1 document of the routes [`app`] serves (also at `GET /api/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

pub fn app(state: AppState) -> Router {
    let (api, _) = api_router().split_for_parts();
    api.merge(media::router())
        .fallback(viewer::serve)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client::limit_viewer_tokens,
        ))
        .with_state(state)
        .layer((
            security::headers(),
            TraceLayer::new_for_http().make_span_with(security::request_span),
            TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT),
            // Routes with bigger bodies (pictures) set their own limit.
            axum::extract::DefaultBodyLimit::max(MAX_JSON_BYTES),
        ))
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish (each bounded by the request timeout). The per-address caps and
/// header timeout are the defaults; [`serve_with_limits`] takes configured ones.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, app, crate::throttle::Limits::default(), shutdown).await
}
