//! `GET /api/lives/{id}/events?after=<id>`: the live's event log. A plain request answers
//! with a JSON page; a WebSocket upgrade sends the backlog after `after`, then every new
//! event as it commits, one JSON text message each, or with `batch=true` JSON arrays of the
//! events that came together (with `deflate=true`, those arrays compressed in binary
//! messages). Viewers never get staff-only events.

use axum::Json;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::client::Client;
use super::client_ip::ClientIp;
use super::openapi::{BadQuery, Invalid, NotFound, TooManyRequests, Unauthorized, tag};
use super::{AppPath, AppState, Error, Result};
use crate::commerce::lives;
use crate::events::{self, Event, FeedBatch, FeedSubscription, PAGE_LIMIT};
use crate::limits::ClientKey;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Resume point: the last event id the client has (0 = from the start).
    #[serde(default)]
    after: i64,
    /// Most events in a JSON page, 1–1000 (default 1000); a WebSocket sends them all.
    #[serde(default = "default_limit")]
    limit: i64,
    /// WebSocket only: send each text message as a JSON array of the events that committed
    /// together (a flush of comments is one message instead of dozens). Default false: one
    /// event object per message.
    #[serde(default)]
    batch: bool,
    /// WebSocket only: each message is a binary message holding what `batch=true` sends,
    /// compressed as raw DEFLATE (RFC 1951; a browser reads it with
    /// `DecompressionStream('deflate-raw')`). Implies `batch`. A burst of comments is an
    /// eighth of the bytes, compressed once for every socket.
    #[serde(default)]
    deflate: bool,
}

/// What tungstenite reads into at a time, zeroed at every poll of the socket's read side
/// (which the send loop does after each message): clients send only pings and a close, and
/// at 4 KiB that zeroing was 3 % of the relay's CPU at 5000 sockets.
const READ_BUFFER_BYTES: usize = 256;
/// When an address at its socket cap may try again.
const WEBSOCKET_RETRY_MS: u64 = 5_000;
const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;

fn default_limit() -> i64 {
    PAGE_LIMIT
}

/// A live's event log after `after`, in id order. A plain GET answers with one JSON page;
/// with a WebSocket upgrade (`Upgrade: websocket`) the socket gets the backlog, then every
/// event as it commits, one JSON `Event` per text message (with `batch=true`, a JSON array of
/// `Event`s per message). Viewers never see staff-only events.
#[utoipa::path(
    get,
    path = "/api/lives/{id}/events",
    operation_id = "live_events",
    tag = tag::EVENTS,
    security((), ("bearer" = []), ("access_token" = [])),
    params(("id" = i64, Path, description = "Live id"), EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = Vec<Event>),
        (status = 101, description = "Switched to a WebSocket of `Event` JSON text messages (arrays of them with `batch=true`; binary raw-DEFLATE arrays with `deflate=true`)"),
        (status = 400, response = BadQuery),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
    ),
)]
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Client(client): Client,
    address: ClientIp,
    AppPath(live_id): AppPath<i64>,
    Query(q): Query<EventsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    // Each socket holds memory and a feed subscription for as long as it stays open; one
    // address gets a few pages' worth, not thousands. Checked before anything reads the
    // database: a burst of refused sockets must not queue honest requests behind it.
    let slot = match (&upgrade, address.trusted) {
        (Ok(_), false) => {
            let max = state.guards.limits.max_websockets_per_ip;
            let slot = state.guards.websockets.try_hold(address.ip, max);
            if slot.is_none() {
                tracing::debug!(ip = %address.ip, "event socket refused: {max} open");
                return Err(Error::TooManyRequests {
                    retry_after_ms: WEBSOCKET_RETRY_MS,
                });
            }
            slot
        }
        _ => None,
    };
    lives::get(&state.store, live_id).await?;
    let staff = caller.is_staff();
    match upgrade {
        Ok(ws) => {
            Ok(ws
                // Clients only send pings and a close here. tungstenite's defaults (a 128 KiB read
                // buffer allocated per socket, 64 MiB messages) would cost 640 MiB of memory at
                // 5000 viewers and let one client make the relay buffer a huge message.
                .read_buffer_size(READ_BUFFER_BYTES)
                .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
                .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
                .on_upgrade(move |socket| async move {
                    let _slot = slot;
                    let socket = EventSocket {
                        socket,
                        format: Format::of(&q),
                        last: q.after,
                    };
                    // Subscribed here: the feed's task, which reads the database, runs on
                    // this runtime rather than with the sockets.
                    let feed = match state.feeds.subscribe(live_id, staff).await {
                        Ok(feed) => feed,
                        Err(e) => {
                            tracing::warn!("event feed unavailable: {e}");
                            return;
                        }
                    };
                    let stream = stream(socket, feed, state, client, live_id, staff);
                    on_fanout_runtime(stream).await;
                })
                .into_response())
        }
        Err(_) => {
            let page = events::list(&state.store, live_id, q.after, staff, q.limit).await?;
            Ok(Json(page).into_response())
        }
    }
}

/// What a socket's messages hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// One event per text message.
    Single,
    /// A JSON array of events per text message.
    Batch,
    /// A JSON array of events per binary message, as raw DEFLATE.
    Deflate,
}

impl Format {
    fn of(q: &EventsQuery) -> Self {
        match (q.deflate, q.batch) {
            (true, _) => Self::Deflate,
            (false, true) => Self::Batch,
            (false, false) => Self::Single,
        }
    }

    /// A JSON array of events as this format's message.
    fn array(self, array: String) -> Message {
        match self {
            Self::Deflate => Message::Binary(events::deflate_raw(array.as_bytes())),
            Self::Batch | Self::Single => Message::Text(array.into()),
        }
    }
}

/// A client's event socket and where it is in the log.
struct EventSocket {
    socket: WebSocket,
    format: Format,
    /// The last event id sent (or the client's `after`).
    last: i64,
}

impl EventSocket {
    /// Queues the batch's events the client does not have yet (a backlog or catch-up may
    /// have sent some); call `flush` after.
    async fn feed(&mut self, batch: &FeedBatch) -> Result<(), axum::Error> {
        if batch.last_id() <= self.last {
            return Ok(());
        }
        let whole = batch.first_id() > self.last;
        match self.format {
            // The usual case: the whole batch, one message shared by every socket.
            Format::Batch if whole => self.socket.feed(Message::Text(batch.array.clone())).await?,
            Format::Deflate if whole => self.socket.feed(Message::Binary(batch.deflated())).await?,
            Format::Batch | Format::Deflate => {
                let fresh = batch.events.iter().filter(|e| e.id > self.last);
                let array = events::json_array(fresh.map(|e| e.json.as_str()));
                self.socket.feed(self.format.array(array)).await?;
            }
            Format::Single => {
                for event in batch.events.iter().filter(|e| e.id > self.last) {
                    self.socket.feed(Message::Text(event.json.clone())).await?;
                }
            }
        }
        self.last = batch.last_id();
        Ok(())
    }

    /// Sends every event after `last` that the log holds, page by page.
    async fn catch_up(&mut self, state: &AppState, live_id: i64, staff: bool) -> Result<(), ()> {
        loop {
            let page = events::list(&state.store, live_id, self.last, staff, PAGE_LIMIT)
                .await
                .map_err(|e| tracing::warn!("event stream read failed: {e}"))?;
            let full = page.len() as i64 == PAGE_LIMIT;
            let Some(last) = page.last().map(|e| e.id) else {
                return Ok(());
            };
            if self.format != Format::Single {
                let text = serde_json::to_string(&page).map_err(|_| ())?;
                self.socket
                    .send(self.format.array(text))
                    .await
                    .map_err(|_| ())?;
            } else {
                for event in &page {
                    let text = serde_json::to_string(event).map_err(|_| ())?;
                    self.socket
                        .feed(Message::Text(text.into()))
                        .await
                        .map_err(|_| ())?;
                }
                self.socket.flush().await.map_err(|_| ())?;
            }
            self.last = last;
            if !full {
                return Ok(());
            }
        }
    }
}

/// Sends every event after the socket's `last`, in id order, until the client goes away.
///
/// Live events come from the live's shared feed ([`crate::events::LiveFeeds`]), already
/// serialized; only the backlog, and the catch-up of a socket that lagged its feed, read the
/// log. The feed's doc explains why subscribing before reading the backlog misses nothing.
async fn stream(
    mut socket: EventSocket,
    mut feed: FeedSubscription,
    state: AppState,
    client: ClientKey,
    live_id: i64,
    staff: bool,
) {
    // A viewer's socket counts as watching until it ends (staff consoles do not count), and
    // only the first few of one address do: one client cannot inflate the audience.
    let slot = (!staff)
        .then(|| state.interaction.watchers.enter(&client, live_id))
        .flatten();
    let _watching = slot.is_some().then(|| state.presence.join(live_id));
    if socket.catch_up(&state, live_id, staff).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            received = feed.recv() => match received {
                Ok(batch) => {
                    // Write every batch already waiting, then flush once.
                    let mut next = Ok(Some(batch));
                    while let Ok(Some(batch)) = next {
                        if socket.feed(&batch).await.is_err() {
                            return;
                        }
                        next = feed.try_recv();
                    }
                    if socket.socket.flush().await.is_err() {
                        return;
                    }
                    if next.is_err() && socket.catch_up(&state, live_id, staff).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if socket.catch_up(&state, live_id, staff).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The runtime event sockets write on, apart from the one serving requests.
///
/// A feed's batch wakes every socket of the live at once: at 5000 sockets, 5000 tasks land in
/// the runtime's queues, most in its shared queue, where a request's database reply (it comes
/// from a database thread, so it queues there too) waited behind all of them, at each of a
/// comment's round trips. Posting a comment took most of a second under that load, which is
/// most of how late it reached the viewers. On their own runtime the sockets still get their
/// share of the CPU from the OS, and requests no longer queue behind them.
fn fanout_runtime() -> &'static tokio::runtime::Handle {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // Half the cores: the other half serve requests, the database and the media.
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads((cores / 2).max(1))
                .thread_name("relay-fanout")
                .enable_all()
                .build()
                .expect("a runtime for event sockets (threads and an epoll instance)")
        })
        .handle()
}

/// Runs a socket's stream on [`fanout_runtime`]; it ends with the caller (a relay that shuts
/// down drops its connections' tasks, and their sockets go with them).
async fn on_fanout_runtime(work: impl Future<Output = ()> + Send + 'static) {
    let _ = tokio_util::task::AbortOnDropHandle::new(fanout_runtime().spawn(work)).await;
}
