//! The events WebSocket fan-out: one shared log reader per live feeding every socket.
//!
//! These tests serve the HTTP app on an [`AppState`] of their own so they can look at its
//! feeds (how many reader tasks run, how often a socket lagged).

mod common;

use std::time::Duration;

use anchordesk_relay::auth::{self, LoginRequest, Role};
use anchordesk_relay::events::{self, Audience, Event, LiveEvent, LiveFeeds};
use anchordesk_relay::http::{self, AppState};
use anchordesk_relay::ui::UiAssets;
use anchordesk_relay::{Store, error::now_ms};
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One event per text message.
const ONE_EACH: &str = "batch=false";
/// JSON arrays of events in text messages.
const BATCH: &str = "batch=true";
/// JSON arrays of events, raw DEFLATE in binary messages.
const DEFLATE: &str = "deflate=true";

struct Relay {
    _dir: tempfile::TempDir,
    state: AppState,
    addr: std::net::SocketAddr,
    cancel: CancellationToken,
    staff: String,
}

impl Relay {
    /// A relay whose live feeds hold `capacity` events (`None`: the default).
    async fn open(capacity: Option<usize>) -> Self {
        Self::open_with(
            capacity.unwrap_or(events::FEED_CAPACITY),
            events::FEED_MIN_GAP,
        )
        .await
    }

    /// A relay whose live feeds hold `capacity` events and read at most once per `min_gap`.
    async fn open_with(capacity: usize, min_gap: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_config(&common::config(dir.path()).await)
            .await
            .unwrap();
        let mut state = AppState::new(store.clone(), UiAssets::new(None));
        state.feeds =
            LiveFeeds::with_settings(store.clone(), state.events.clone(), capacity, min_gap);
        auth::create_staff(&store, "fanout", "fanout-password", Role::Assistant)
            .await
            .unwrap();
        let login = LoginRequest {
            username: "fanout".into(),
            password: "fanout-password".into(),
        };
        let staff = auth::login(&store, &login).await.unwrap().token;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cancel = CancellationToken::new();
        tokio::spawn(http::serve(
            listener,
            http::app(state.clone()),
            cancel.clone().cancelled_owned(),
        ));
        Self {
            _dir: dir,
            state,
            addr,
            cancel,
            staff,
        }
    }

    fn store(&self) -> &Store {
        &self.state.store
    }

    async fn connect(&self, live_id: i64, after: i64, token: &str) -> Socket {
        self.connect_as(live_id, after, token, ONE_EACH).await
    }

    /// `format`: the query that picks the messages' format ([`ONE_EACH`], [`BATCH`], [`DEFLATE`]).
    async fn connect_as(&self, live_id: i64, after: i64, token: &str, format: &str) -> Socket {
        let url = format!(
            "ws://{}/api/lives/{live_id}/events?after={after}&{format}&access_token={token}",
            self.addr
        );
        tokio_tungstenite::connect_async(url).await.unwrap().0
    }

    /// Appends events to `live_id` in one write transaction and publishes them, as the
    /// commerce code does.
    async fn commit(&self, live_id: i64, audiences: &[Audience]) {
        let mut tx = self.store().begin_write().await.unwrap();
        let mut appended = Vec::new();
        for (i, audience) in audiences.iter().enumerate() {
            // One kind of each audience; the payload tells the events apart.
            let event = match audience {
                Audience::Public => LiveEvent::Likes {
                    total: i as i64,
                    delta: now_ms(),
                },
                Audience::Staff => LiveEvent::OrderCancelled { order_id: i as i64 },
            };
            assert_eq!(event.audience(), *audience);
            appended.push(events::append(&mut tx, live_id, event).await.unwrap());
        }
        tx.commit().await.unwrap();
        self.state.events.publish(appended);
    }

    /// The log's ids after `after` as a viewer (`staff = false`) or staff would see them.
    async fn log_ids(&self, live_id: i64, after: i64, staff: bool) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut last = after;
        loop {
            let page = events::list(self.store(), live_id, last, staff, events::PAGE_LIMIT)
                .await
                .unwrap();
            let Some(end) = page.last() else {
                return ids;
            };
            last = end.id;
            ids.extend(page.iter().map(|e| e.id));
        }
    }

    /// Waits until exactly `n` feed tasks run.
    async fn wait_tasks(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.state.feeds.tasks() != n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} feed tasks, expected {n}",
                self.state.feeds.tasks()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Receives `n` events, one per message or in arrays (a batching socket).
async fn receive(socket: &mut Socket, n: usize) -> Vec<Event> {
    receive_messages(socket, n).await.0
}

/// Receives `n` events and counts the messages they came in.
async fn receive_messages(socket: &mut Socket, n: usize) -> (Vec<Event>, usize) {
    let mut out: Vec<Event> = Vec::with_capacity(n);
    let mut messages = 0;
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events arrived", out.len()))
            .expect("socket open")
            .expect("frame");
        let text = match msg {
            Message::Text(text) => text.to_string(),
            Message::Binary(deflated) => inflate(&deflated),
            _ => continue,
        };
        {
            messages += 1;
            match serde_json::from_str(&text).expect("event JSON") {
                serde_json::Value::Array(events) => out.extend(
                    events
                        .into_iter()
                        .map(|e| serde_json::from_value::<Event>(e).expect("event")),
                ),
                event => out.push(serde_json::from_value(event).expect("event")),
            }
        }
    }
    (out, messages)
}

fn inflate(deflated: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(deflated)
        .read_to_string(&mut text)
        .expect("raw DEFLATE of UTF-8 text");
    text
}

/// Checks no socket has anything more (a duplicate) to say shortly after.
async fn assert_quiet<'a>(sockets: impl IntoIterator<Item = &'a mut Socket>) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    for socket in sockets {
        if let Ok(Some(Ok(extra @ (Message::Text(_) | Message::Binary(_))))) =
            tokio::time::timeout(Duration::from_millis(1), socket.next()).await
        {
            panic!("an event too many: {extra:?}");
        }
    }
}

fn ids(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn many_sockets_on_a_live_get_every_event_once_in_order_from_one_reader() {
    let relay = Relay::open(None).await;
    let live = common::new_live(relay.store(), "同一场").await;
    let other = common::new_live(relay.store(), "另一场").await;
    relay
        .commit(live, &[Audience::Public, Audience::Staff])
        .await;
    let start = relay.log_ids(live, 0, true).await[1];

    // Viewers ask for each format in turn: all get the same events in the same order.
    let mut viewers = Vec::new();
    for i in 0..42 {
        let token = common::viewer_token(relay.store()).await;
        let format = [ONE_EACH, BATCH, DEFLATE][i % 3];
        viewers.push(relay.connect_as(live, start, &token, format).await);
    }
    let mut staff = Vec::new();
    for _ in 0..2 {
        staff.push(relay.connect(live, start, &relay.staff).await);
    }
    let token = common::viewer_token(relay.store()).await;
    let mut elsewhere = relay.connect(other, 0, &token).await;
    relay.wait_tasks(2).await;

    // Writers race each other, as HTTP handlers do; each commit mixes audiences.
    let writers = (0..4).map(|w| {
        let relay = &relay;
        async move {
            for i in 0..10 {
                let mix = if (w + i) % 2 == 0 {
                    vec![Audience::Public, Audience::Staff, Audience::Public]
                } else {
                    vec![Audience::Staff]
                };
                relay.commit(live, &mix).await;
                if w == 0 && i % 5 == 0 {
                    relay.commit(other, &[Audience::Public]).await;
                }
            }
        }
    });
    futures_util::future::join_all(writers).await;

    let public = relay.log_ids(live, start, false).await;
    let everything = relay.log_ids(live, start, true).await;
    assert_eq!((public.len(), everything.len()), (40, 80));
    for socket in &mut viewers {
        let got = receive(socket, public.len()).await;
        assert_eq!(
            ids(&got),
            public,
            "viewers get the public events in log order"
        );
        assert!(got.iter().all(|e| e.audience == Audience::Public));
    }
    for socket in &mut staff {
        assert_eq!(ids(&receive(socket, everything.len()).await), everything);
    }
    let got = receive(&mut elsewhere, 2).await;
    assert!(got.iter().all(|e| e.live_id == other));
    assert_quiet(viewers.iter_mut().chain(&mut staff).chain([&mut elsewhere])).await;
    assert_eq!(relay.state.feeds.lagged(), 0);

    for mut socket in viewers.into_iter().chain(staff) {
        socket.close(None).await.unwrap();
    }
    relay.wait_tasks(1).await;
    drop(elsewhere);
    relay.wait_tasks(0).await;
}

#[tokio::test]
async fn a_feed_stops_when_its_last_socket_closes_and_restarts_for_the_next() {
    let relay = Relay::open(None).await;
    let live = common::new_live(relay.store(), "来来去去").await;
    let token = common::viewer_token(relay.store()).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(relay.connect(live, 0, &token).await);
    }
    relay.wait_tasks(1).await;

    let mut last = sockets.pop().unwrap();
    for mut socket in sockets {
        socket.close(None).await.unwrap();
    }
    relay.commit(live, &[Audience::Public]).await;
    let first = receive(&mut last, 1).await;
    assert_eq!(
        relay.state.feeds.tasks(),
        1,
        "still one reader for the last socket"
    );

    // A client that goes away without a close frame counts as gone too.
    drop(last);
    relay.wait_tasks(0).await;

    // Written while nobody watches: the next socket reads it from the log, then the new
    // feed carries what follows.
    relay
        .commit(live, &[Audience::Public, Audience::Public])
        .await;
    let mut socket = relay.connect(live, first[0].id, &token).await;
    relay.wait_tasks(1).await;
    relay.commit(live, &[Audience::Public]).await;
    let got = receive(&mut socket, 3).await;
    assert_eq!(ids(&got), relay.log_ids(live, first[0].id, false).await);
    assert_quiet([&mut socket]).await;
    socket.close(None).await.unwrap();
    relay.wait_tasks(0).await;
}

#[tokio::test]
async fn a_socket_that_lags_its_feed_reads_the_log_and_misses_nothing() {
    // A feed that holds one batch (of up to 100 events): a burst of hundreds leaves every
    // socket behind.
    let relay = Relay::open(Some(1)).await;
    let live = common::new_live(relay.store(), "爆单").await;
    let token = common::viewer_token(relay.store()).await;
    // One viewer batches, one deflates, staff take one event per message: every catch-up
    // path is taken.
    let mut viewer = relay.connect_as(live, 0, &token, BATCH).await;
    let mut deflating = relay.connect_as(live, 0, &token, DEFLATE).await;
    let mut staff = relay.connect(live, 0, &relay.staff).await;
    relay.wait_tasks(1).await;

    let burst: Vec<Audience> = (0..300)
        .map(|i| {
            if i % 3 == 0 {
                Audience::Staff
            } else {
                Audience::Public
            }
        })
        .collect();
    relay.commit(live, &burst).await;
    for _ in 0..20 {
        relay
            .commit(live, &[Audience::Public, Audience::Staff])
            .await;
    }

    let public = relay.log_ids(live, 0, false).await;
    let everything = relay.log_ids(live, 0, true).await;
    assert_eq!(ids(&receive(&mut viewer, public.len()).await), public);
    assert_eq!(ids(&receive(&mut deflating, public.len()).await), public);
    assert_eq!(
        ids(&receive(&mut staff, everything.len()).await),
        everything
    );
    assert_quiet([&mut viewer, &mut deflating, &mut staff]).await;
    assert!(
        relay.state.feeds.lagged() > 0,
        "the test must make a socket lag to mean anything"
    );

    // After catching up from the log the socket is back on the feed.
    relay.commit(live, &[Audience::Public]).await;
    let next = receive(&mut viewer, 1).await;
    assert!(next[0].id > *public.last().unwrap());
}

#[tokio::test]
async fn a_batching_socket_gets_events_committed_together_as_one_message() {
    let relay = Relay::open(None).await;
    let live = common::new_live(relay.store(), "秒杀").await;
    let token = common::viewer_token(relay.store()).await;
    let mut batched = relay.connect_as(live, 0, &token, BATCH).await;
    let mut deflating = relay.connect_as(live, 0, &token, DEFLATE).await;
    let mut single = relay.connect(live, 0, &token).await;
    relay.wait_tasks(1).await;
    // The sockets have read their (empty) backlog once this event reaches them.
    relay.commit(live, &[Audience::Public]).await;
    receive(&mut batched, 1).await;
    receive(&mut deflating, 1).await;
    receive(&mut single, 1).await;

    relay.commit(live, &[Audience::Public; 30]).await;
    let (events, messages) = receive_messages(&mut batched, 30).await;
    let (one_each, per_event) = receive_messages(&mut single, 30).await;
    assert_eq!(ids(&events), ids(&one_each));
    assert_eq!((messages, per_event), (1, 30));

    // The same one message, compressed: a quarter of the bytes or less.
    let Some(Ok(Message::Binary(deflated))) = deflating.next().await else {
        panic!("a deflating socket gets binary messages");
    };
    let array: Vec<Event> = serde_json::from_str(&inflate(&deflated)).unwrap();
    assert_eq!(ids(&array), ids(&events));
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        deflated.len() * 4 <= text.len(),
        "{} bytes deflated from {}",
        deflated.len(),
        text.len()
    );
    assert_quiet([&mut batched, &mut deflating, &mut single]).await;
}

#[tokio::test]
async fn a_burst_of_separate_commits_is_a_few_messages_and_a_lone_event_is_sent_at_once() {
    // A long gap, so the burst below surely commits within it whatever the machine's load.
    let relay = Relay::open_with(events::FEED_CAPACITY, Duration::from_secs(3)).await;
    let live = common::new_live(relay.store(), "抢购").await;
    let token = common::viewer_token(relay.store()).await;
    let mut batched = relay.connect_as(live, 0, &token, BATCH).await;
    let mut single = relay.connect(live, 0, &token).await;
    relay.wait_tasks(1).await;

    // The first event after a quiet spell goes out alone, without waiting for the gap.
    relay.commit(live, &[Audience::Public]).await;
    let (first, messages) = receive_messages(&mut batched, 1).await;
    assert_eq!((first.len(), messages), (1, 1));
    // Ten orders' worth of commits, one transaction each, as a rush of buyers makes them:
    // one message for a batching socket, still one event per message for the other.
    for _ in 0..10 {
        relay.commit(live, &[Audience::Public]).await;
    }
    let (burst, messages) = receive_messages(&mut batched, 10).await;
    assert_eq!(messages, 1, "a burst read once is one message");
    let (one_each, per_event) = receive_messages(&mut single, 11).await;
    assert_eq!(per_event, 11);
    assert_eq!(ids(&one_each)[1..], ids(&burst)[..]);
    assert_quiet([&mut batched, &mut single]).await;
}

/// Viewers have nothing to say on this socket: a big message is refused (the socket closes
/// with "message too big") instead of being buffered, and the feed lets the socket go.
#[tokio::test]
async fn a_client_message_over_4_kib_closes_its_socket() {
    use futures_util::SinkExt;

    let relay = Relay::open(None).await;
    let live = common::new_live(relay.store(), "大消息").await;
    let token = common::viewer_token(relay.store()).await;
    let mut small = relay.connect(live, 0, &token).await;
    small.send(Message::text("x".repeat(1000))).await.unwrap();
    let mut big = relay.connect(live, 0, &token).await;
    relay.wait_tasks(1).await;
    big.send(Message::text("x".repeat(64 * 1024)))
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match big.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the relay closes the socket");
    assert!(
        matches!(closed, None | Some(1009)),
        "closed with {closed:?}, expected 1009 (message too big) or a dropped connection"
    );
    // The small one still gets events.
    relay.commit(live, &[Audience::Public]).await;
    assert_eq!(receive(&mut small, 1).await.len(), 1);
}
