//! The ordered event log of each live (`events` table) and its live fan-out.
//!
//! Contract: an event is appended inside the same transaction as the change it describes
//! ([`append`]), and published to subscribers only after that transaction commits
//! ([`EventHub::publish`]). Subscribers MUST tolerate `RecvError::Lagged` by re-reading the
//! log after the last id they saw ([`list`]); the log, not the channel, is the truth.
//! SQLite serialises writers, so ids are assigned in commit order.
//!
//! WebSockets do not read the log on every event themselves: [`LiveFeeds`] runs one reader
//! per live that has sockets and hands each event, serialized once, to all of them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{OnceCell, broadcast};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::{Result, now_ms};
use crate::store::{Conn, Store};

mod live_event;
pub use live_event::{CartPosition, LiveEvent, SaleRemaining, SkuStock, StreamStatsEvent};

/// How many committed events the in-memory channel holds before slow subscribers lag.
const CHANNEL_CAPACITY: usize = 4096;
/// How many batches a live's feed holds for its sockets before a slow socket lags and goes
/// back to the log (a batch is what one read found, up to [`MAX_BATCH_EVENTS`]). Lagging
/// only costs the sockets that fall behind one read each.
pub const FEED_CAPACITY: usize = 256;
/// Most events returned by one HTTP read or one backlog page.
pub const PAGE_LIMIT: i64 = 1000;

/// Who may see an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Audience {
    /// Viewers and staff.
    Public,
    /// Staff only (orders with addresses, moderation).
    Staff,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Staff => "staff",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Event {
    pub id: i64,
    pub live_id: i64,
    /// e.g. `pin.changed`, `cart.changed`, `live.status`.
    pub kind: String,
    pub audience: Audience,
    #[ts(type = "unknown")]
    pub payload: serde_json::Value,
    pub created_at_ms: i64,
}

/// Appends an event inside the caller's transaction; publish it after commit.
pub async fn append(conn: &mut Conn, live_id: i64, event: LiveEvent) -> Result<Event> {
    let audience = event.audience();
    let (kind, payload) = event.into_parts();
    let created_at_ms = now_ms();
    let id: i64 = sqlx::query_scalar(
        "insert into events (live_id, kind, audience, payload, created_at_ms) \
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(live_id)
    .bind(&kind)
    .bind(audience.as_str())
    .bind(payload.to_string())
    .bind(created_at_ms)
    .fetch_one(conn)
    .await?;
    Ok(Event {
        id,
        live_id,
        kind,
        audience,
        payload,
        created_at_ms,
    })
}

/// The id of the live's newest event (0 when it has none): a socket opened with `after=` it
/// gets only what comes next.
pub async fn last_id(store: &Store, live_id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("select coalesce(max(id), 0) from events where live_id = $1")
            .bind(live_id)
            .fetch_one(store.pool())
            .await?,
    )
}

/// Events of a live after `after`, oldest first; staff-only events only when `staff`.
pub async fn list(
    store: &Store,
    live_id: i64,
    after: i64,
    staff: bool,
    limit: i64,
) -> Result<Vec<Event>> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "select id, kind, audience, payload, created_at_ms from events \
         where live_id = $1 and id > $2 and (audience = 'public' or $3) \
         order by id limit $4",
    )
    .bind(live_id)
    .bind(after)
    .bind(staff)
    .bind(limit.clamp(1, PAGE_LIMIT))
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, audience, payload, created_at_ms)| Event {
            id,
            live_id,
            kind,
            audience: if audience == "staff" {
                Audience::Staff
            } else {
                Audience::Public
            },
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            created_at_ms,
        })
        .collect())
}

/// What the hub announces: that the log has grown. Readers take the events themselves from
/// the log after the last id they saw, so an announcement is only ever a wake-up.
#[derive(Debug, Clone)]
pub enum Wake {
    /// An event was committed, by this relay or another on the same database.
    Committed {
        live_id: i64,
        id: i64,
        kind: Arc<str>,
    },
    /// Events may have been committed that nobody announced (the database listener lost its
    /// session, or this relay fell behind the channel): every reader reads the log again.
    CatchUp,
}

/// Fan-out of committed events to this relay's readers: its own commits, and, on PostgreSQL,
/// every other relay's too ([`listen_postgres`]).
#[derive(Debug, Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Wake>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }
}

impl EventHub {
    /// Call after the transaction that appended `events` has committed.
    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            self.wake(Wake::Committed {
                live_id: event.live_id,
                id: event.id,
                kind: event.kind.into(),
            });
        }
    }

    pub fn wake(&self, wake: Wake) {
        // No subscribers is fine: the log keeps the event for later readers.
        let _ = self.tx.send(wake);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Wake> {
        self.tx.subscribe()
    }
}

/// The channel the events table's trigger notifies on (migration 0015, PostgreSQL only).
const NOTIFY_CHANNEL: &str = "anchordesk_events";

/// On PostgreSQL, how often readers re-read the log even without a notification: the last
/// line of defence if a notification is lost without the listener noticing.
const CATCH_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Relays every event committed on the database — by any relay — to `hub`, until cancelled.
///
/// The events table's trigger sends `live:id:kind` at commit. The listener's own session
/// sits outside the pool; when it drops and reconnects, notifications sent meanwhile are lost,
/// so every (re)connection announces [`Wake::CatchUp`], as does a slow timer
/// ([`catch_up_regularly`]): the log, read after the last id, is the truth, the notification
/// only makes it fast.
pub async fn listen_postgres(url: String, hub: EventHub, cancel: CancellationToken) {
    let mut backoff = std::time::Duration::from_millis(200);
    loop {
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            // Reconnects are ours to handle (with a catch-up), not sqlx's silent retry.
            listener.ignore_pool_close_event(true);
            listener.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = cancel.cancelled() => return,
            connected = listener => match connected {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!("event listener cannot connect: {e}; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                    continue;
                }
            },
        };
        backoff = std::time::Duration::from_millis(200);
        hub.wake(Wake::CatchUp);
        loop {
            // Not raced against a timer: a half-read notification must not be dropped.
            let received = tokio::select! {
                _ = cancel.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => match parse_notification(notification.payload()) {
                    Some(wake) => hub.wake(wake),
                    None => hub.wake(Wake::CatchUp),
                },
                // The session dropped: connect again and catch up.
                Ok(None) | Err(_) => {
                    tracing::warn!("event listener lost its database session; reconnecting");
                    break;
                }
            }
        }
    }
}

/// Announces [`Wake::CatchUp`] every [`CATCH_UP_EVERY`] until cancelled (PostgreSQL only).
pub async fn catch_up_regularly(hub: EventHub, cancel: CancellationToken) {
    let mut timer = tokio::time::interval(CATCH_UP_EVERY);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = timer.tick() => hub.wake(Wake::CatchUp),
        }
    }
}

/// `live:id:kind` as the trigger writes it.
fn parse_notification(payload: &str) -> Option<Wake> {
    let mut parts = payload.splitn(3, ':');
    let live_id = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    let kind = parts.next()?;
    Some(Wake::Committed {
        live_id,
        id,
        kind: kind.into(),
    })
}

/// A committed event as a feed hands it to sockets: serialized once for all of them (the
/// text is reference-counted, so each socket's copy is a pointer).
#[derive(Debug, Clone)]
pub struct FeedEvent {
    pub id: i64,
    /// The [`Event`] as JSON: the WebSocket text message.
    pub json: Utf8Bytes,
}

/// Events a feed read together (committed together, or in one burst), in id order, as one
/// channel item: at 500 comments a second and 5000 sockets, one item per event cost every
/// socket 500 wake-ups and channel reads a second; one per read costs it ~10.
#[derive(Debug, Clone)]
pub struct FeedBatch {
    pub events: Arc<[FeedEvent]>,
    /// All of `events` as one JSON array: the message a batching socket sends.
    pub array: Utf8Bytes,
    /// `array` compressed, made by the first socket that asks and shared by the rest.
    deflated: Arc<OnceLock<Bytes>>,
}

impl FeedBatch {
    fn new(events: Vec<FeedEvent>) -> Self {
        let array = json_array(events.iter().map(|e| e.json.as_str()));
        Self {
            events: events.into(),
            array: array.into(),
            deflated: Arc::default(),
        }
    }

    /// `array` as raw DEFLATE: the message a socket that asked for `deflate` sends. A burst
    /// of comments is mostly repeated keys; compressed once, it is an eighth of the bytes to
    /// every socket (less queued per socket; at 5000 sockets half the delivery p99 of text,
    /// in the fan-out bench).
    pub fn deflated(&self) -> Bytes {
        self.deflated
            .get_or_init(|| deflate_raw(self.array.as_bytes()))
            .clone()
    }

    pub fn first_id(&self) -> i64 {
        self.events.first().map_or(0, |e| e.id)
    }

    pub fn last_id(&self) -> i64 {
        self.events.last().map_or(0, |e| e.id)
    }
}

/// `data` compressed as raw DEFLATE (RFC 1951: no zlib or gzip header), which browsers
/// undo with `DecompressionStream('deflate-raw')`.
pub fn deflate_raw(data: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::default(),
    );
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map(Bytes::from)
        .expect("compressing into memory cannot fail")
}

/// Serialized JSON values joined as one JSON array.
pub fn json_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

/// The least time between two reads of one feed. An event after a quiet spell is read at once;
/// one that commits within this long of the last read waits for the rest of it, with whatever
/// else commits meanwhile. A rush of 100 orders committed one by one was 100 messages to every
/// socket; it is now a few, at most this much later. Every socket's message costs the relay a
/// send (and at thousands of sockets, sends are most of its work).
pub const FEED_MIN_GAP: std::time::Duration = std::time::Duration::from_millis(10);

/// Most events in one [`FeedBatch`]: a batch is one WebSocket message for a batching socket,
/// and a burst of a thousand events is better sent as a few messages than one big one.
const MAX_BATCH_EVENTS: usize = 100;

/// One reader of the log per live that has sockets, instead of one per socket.
///
/// Each feed runs a task that wakes on [`EventHub`] notifications for its live, reads the
/// log after the last id it read (one query, whatever the number of sockets) and sends every
/// event in id order, in batches of what one read found, on two channels: one for viewers
/// (public events) and one for staff (everything). The task ends when the live's last
/// subscription is dropped.
///
/// Why a socket never misses an event, given it subscribes ([`Self::subscribe`]) before it
/// reads its backlog from the log and then forwards feed events with ids above the last it
/// sent:
/// - ids are committed in id order, because every writer is serialized
///   ([`Store::begin_write`]: SQLite's write lock, PostgreSQL's advisory lock), so a read of
///   the log always returns a prefix of it and the feed, reading after its last id on every
///   wake-up, sends every event of its live in order;
/// - the feed starts from the log's highest id read before the first subscription returns,
///   and it listens to the hub before that read, so it sends every event after that point;
/// - an event the backlog read did not see was committed after it, hence read and sent by the
///   feed after the socket subscribed: the socket receives it, or, if it fell so far behind
///   that the channel dropped it ([`RecvError::Lagged`]), reads the log again after its last id.
#[derive(Debug, Clone)]
pub struct LiveFeeds {
    inner: Arc<FeedsInner>,
}

#[derive(Debug)]
struct FeedsInner {
    store: Store,
    hub: EventHub,
    capacity: usize,
    min_gap: std::time::Duration,
    feeds: Mutex<HashMap<i64, Slot>>,
    next_feed_id: AtomicU64,
    tasks: AtomicUsize,
    lagged: AtomicU64,
}

#[derive(Debug)]
struct Slot {
    feed: Arc<Feed>,
    subscribers: usize,
}

#[derive(Debug)]
struct Feed {
    /// Tells a subscription of a feed that has ended from one of its successor.
    id: u64,
    public: broadcast::Sender<FeedBatch>,
    staff: broadcast::Sender<FeedBatch>,
    /// Set once the task runs: later subscribers wait for it, so their backlog read comes
    /// after the feed's starting point.
    started: OnceCell<()>,
    stop: CancellationToken,
}

/// A socket's place on its live's feed; dropping it leaves (the last one out stops the feed).
#[derive(Debug)]
pub struct FeedSubscription {
    rx: broadcast::Receiver<FeedBatch>,
    membership: Membership,
}

#[derive(Debug)]
struct Membership {
    inner: Arc<FeedsInner>,
    live_id: i64,
    feed_id: u64,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut feeds = self.inner.lock();
        if let Some(slot) = feeds.get_mut(&self.live_id)
            && slot.feed.id == self.feed_id
        {
            slot.subscribers -= 1;
            if slot.subscribers == 0 {
                slot.feed.stop.cancel();
                feeds.remove(&self.live_id);
            }
        }
    }
}

impl FeedSubscription {
    /// The next batch of the feed. `Lagged`: batches were dropped for this subscriber, so read
    /// the log after the last id sent. `Closed`: the feed failed to read the log and ended.
    pub async fn recv(&mut self) -> Result<FeedBatch, RecvError> {
        let received = self.rx.recv().await;
        if let Err(RecvError::Lagged(_)) = received {
            self.membership.inner.lagged.fetch_add(1, Ordering::Relaxed);
        }
        received
    }

    /// The next batch if one is already waiting (a socket writes all that wait before it
    /// flushes once). `Err(Lagged)` as from [`Self::recv`]; a closed feed shows at the next
    /// `recv`.
    pub fn try_recv(&mut self) -> Result<Option<FeedBatch>, RecvError> {
        match self.rx.try_recv() {
            Ok(event) => Ok(Some(event)),
            Err(TryRecvError::Empty | TryRecvError::Closed) => Ok(None),
            Err(TryRecvError::Lagged(missed)) => {
                self.membership.inner.lagged.fetch_add(1, Ordering::Relaxed);
                Err(RecvError::Lagged(missed))
            }
        }
    }
}

impl FeedsInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Slot>> {
        self.feeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a feed that ended on its own, unless a successor already took its place.
    fn forget(&self, live_id: i64, feed_id: u64) {
        let mut feeds = self.lock();
        if feeds
            .get(&live_id)
            .is_some_and(|slot| slot.feed.id == feed_id)
        {
            feeds.remove(&live_id);
        }
    }
}

impl LiveFeeds {
    pub fn new(store: Store, hub: EventHub) -> Self {
        Self::with_capacity(store, hub, FEED_CAPACITY)
    }

    /// Feeds whose channels hold `capacity` batches (tests use a tiny one to make sockets lag).
    pub fn with_capacity(store: Store, hub: EventHub, capacity: usize) -> Self {
        Self::with_settings(store, hub, capacity, FEED_MIN_GAP)
    }

    /// Feeds whose channels hold `capacity` batches and that read the log at most once per
    /// `min_gap` (tests use a long one to see a burst coalesce).
    pub fn with_settings(
        store: Store,
        hub: EventHub,
        capacity: usize,
        min_gap: std::time::Duration,
    ) -> Self {
        Self {
            inner: Arc::new(FeedsInner {
                store,
                hub,
                capacity: capacity.max(1),
                min_gap,
                feeds: Mutex::new(HashMap::new()),
                next_feed_id: AtomicU64::new(0),
                tasks: AtomicUsize::new(0),
                lagged: AtomicU64::new(0),
            }),
        }
    }

    /// Joins the feed of `live_id` (starting it if this is its first subscriber): public
    /// events, and staff-only ones too when `staff`. Read the backlog only after this returns.
    pub async fn subscribe(&self, live_id: i64, staff: bool) -> Result<FeedSubscription> {
        let (feed, rx) = {
            let mut feeds = self.inner.lock();
            let slot = feeds.entry(live_id).or_insert_with(|| Slot {
                feed: Arc::new(Feed {
                    id: self.inner.next_feed_id.fetch_add(1, Ordering::Relaxed),
                    public: broadcast::channel(self.inner.capacity).0,
                    staff: broadcast::channel(self.inner.capacity).0,
                    started: OnceCell::new(),
                    stop: CancellationToken::new(),
                }),
                subscribers: 0,
            });
            slot.subscribers += 1;
            let rx = if staff {
                slot.feed.staff.subscribe()
            } else {
                slot.feed.public.subscribe()
            };
            (slot.feed.clone(), rx)
        };
        let membership = Membership {
            inner: self.inner.clone(),
            live_id,
            feed_id: feed.id,
        };
        feed.started
            .get_or_try_init(|| self.start(live_id, &feed))
            .await?;
        Ok(FeedSubscription { rx, membership })
    }

    async fn start(&self, live_id: i64, feed: &Feed) -> Result<()> {
        // Listen before reading the starting point: an event committed after that read
        // then always wakes the task.
        let wake = self.inner.hub.subscribe();
        let start: i64 = sqlx::query_scalar("select coalesce(max(id), 0) from events")
            .fetch_one(self.inner.store.pool())
            .await?;
        self.inner.tasks.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(run_feed(
            self.inner.clone(),
            FeedTask {
                live_id,
                feed_id: feed.id,
                last: start,
                public: feed.public.clone(),
                staff: feed.staff.clone(),
            },
            wake,
            feed.stop.clone(),
        ));
        Ok(())
    }

    /// Feed tasks running now (one per live with sockets).
    pub fn tasks(&self) -> usize {
        self.inner.tasks.load(Ordering::Relaxed)
    }

    /// How many times a subscriber fell behind its feed and had to read the log instead.
    pub fn lagged(&self) -> u64 {
        self.inner.lagged.load(Ordering::Relaxed)
    }
}

struct FeedTask {
    live_id: i64,
    feed_id: u64,
    /// The highest id read from the log.
    last: i64,
    public: broadcast::Sender<FeedBatch>,
    staff: broadcast::Sender<FeedBatch>,
}

/// Counts a feed task out however it ends.
struct Running(Arc<FeedsInner>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.tasks.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn run_feed(
    inner: Arc<FeedsInner>,
    mut feed: FeedTask,
    mut wake: broadcast::Receiver<Wake>,
    stop: CancellationToken,
) {
    let _running = Running(inner.clone());
    let mut last_read: Option<tokio::time::Instant> = None;
    loop {
        let woke = tokio::select! {
            _ = stop.cancelled() => return,
            received = wake.recv() => match received {
                Ok(Wake::Committed { live_id, id, .. }) => live_id == feed.live_id && id > feed.last,
                Ok(Wake::CatchUp) | Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            },
        };
        if !woke {
            continue;
        }
        if let Some(next) = last_read.map(|at| at + inner.min_gap) {
            tokio::select! {
                _ = stop.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
            }
        }
        last_read = Some(tokio::time::Instant::now());
        // A burst of commits is one read.
        while !matches!(
            wake.try_recv(),
            Err(TryRecvError::Closed | TryRecvError::Empty)
        ) {}
        if let Err(e) = feed.read_and_send(&inner.store).await {
            // Dropping the senders closes every subscription: the sockets end and their
            // clients resume with `after=` from the log, as after any disconnect.
            tracing::warn!(live_id = feed.live_id, "event feed read failed: {e}");
            inner.forget(feed.live_id, feed.feed_id);
            return;
        }
    }
}

impl FeedTask {
    async fn read_and_send(&mut self, store: &Store) -> Result<()> {
        loop {
            let page = list(store, self.live_id, self.last, true, PAGE_LIMIT).await?;
            let full = page.len() as i64 == PAGE_LIMIT;
            for chunk in page.chunks(MAX_BATCH_EVENTS) {
                let mut public = Vec::with_capacity(chunk.len());
                let mut staff = Vec::with_capacity(chunk.len());
                for event in chunk {
                    let json = serde_json::to_string(event)
                        .expect("an event is strings, integers and a JSON value");
                    let item = FeedEvent {
                        id: event.id,
                        json: json.into(),
                    };
                    if event.audience == Audience::Public {
                        public.push(item.clone());
                    }
                    staff.push(item);
                    self.last = event.id;
                }
                // No subscriber on a channel is fine: it has no sockets to send to.
                if !public.is_empty() {
                    let _ = self.public.send(FeedBatch::new(public));
                }
                let _ = self.staff.send(FeedBatch::new(staff));
            }
            if !full {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_its_events_as_one_json_array() {
        let batch = FeedBatch::new(vec![
            FeedEvent {
                id: 4,
                json: r#"{"id":4}"#.into(),
            },
            FeedEvent {
                id: 9,
                json: r#"{"id":9}"#.into(),
            },
        ]);
        assert_eq!(batch.array.as_str(), r#"[{"id":4},{"id":9}]"#);
        assert_eq!((batch.first_id(), batch.last_id()), (4, 9));
        assert_eq!(json_array([]), "[]");
    }

    #[test]
    fn notifications_parse_as_the_trigger_writes_them() {
        match parse_notification("7:1042:pin.changed") {
            Some(Wake::Committed { live_id, id, kind }) => {
                assert_eq!((live_id, id, &*kind), (7, 1042, "pin.changed"));
            }
            other => panic!("{other:?}"),
        }
        // A kind may itself hold colons; anything malformed is a catch-up, never a panic.
        assert!(matches!(
            parse_notification("1:2:a:b"),
            Some(Wake::Committed { kind, .. }) if &*kind == "a:b"
        ));
        assert!(parse_notification("x:2:k").is_none());
        assert!(parse_notification("").is_none());
    }
}
