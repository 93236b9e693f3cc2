//! What one hostile client can cost the relay: password and stream-key guessing (growing
//! delays, 429 + Retry-After), argon2 off the async workers, slow and piled-up connections,
//! WebSockets per address; and the edge rules: tokens in URLs only for WebSockets, URLs
//! never built from a forged Host, security headers, 413 for an oversized JSON body.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anchordesk_relay::RunningRelay;
use anchordesk_relay::auth::Role;
use anchordesk_relay::http::{self, AppState};
use anchordesk_relay::throttle::{ADDRESS_POLICY, FailurePolicy, Guards, Limits, TARGET_POLICY};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound for what should take a moment; never a measurement.
const SAFETY: Duration = Duration::from_secs(20);

async fn relay_with(
    dir: &std::path::Path,
    edit: impl FnOnce(&mut anchordesk_relay::Config),
) -> RunningRelay {
    let mut config = common::config(dir).await;
    edit(&mut config);
    anchordesk_relay::start(&config).await.unwrap()
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    from: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    // Loopback is a trusted proxy by default, so X-Forwarded-For picks the client address.
    http.post(format!("{base}/api/auth/login"))
        .header("x-forwarded-for", from)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_passwords_for_one_account_make_the_next_try_wait_from_any_address() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    anchordesk_relay::auth::create_staff(relay.store(), "boss", "correct horse", Role::Owner)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let base = relay.url();
    // Five are typos; the sixth still gets its honest 401 and starts the delay.
    for i in 0..6 {
        let response = login(&http, &base, &format!("198.51.100.{i}"), "boss", "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "try {i}");
    }
    // Even the right password waits, from an address that never failed.
    let response = login(&http, &base, "203.0.113.77", "boss", "correct horse").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Other accounts are not locked by it.
    let other = login(&http, &base, "203.0.113.78", "someone", "guess").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    // Once the wait is over the right password works and forgives the failures.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let response = login(&http, &base, "203.0.113.77", "boss", "correct horse").await;
    assert_eq!(response.status(), StatusCode::OK);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn wrong_passwords_sent_together_get_no_more_tries_than_sent_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    anchordesk_relay::auth::create_staff(relay.store(), "boss", "correct horse", Role::Owner)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let base = relay.url();
    let tries: Vec<_> = (0..20)
        .map(|i| {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move {
                let from = format!("198.51.100.{i}");
                login(&http, &base, &from, "boss", "guess").await.status()
            })
        })
        .collect();
    let mut checked = 0;
    for attempt in tries {
        match attempt.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    // Five free tries and the one that starts the delay; the rest waited.
    assert_eq!(checked, 6);
    relay.shutdown().await.unwrap();
}

/// A relay served in-process with its own guards (a small address allowance keeps the test
/// to a few argon2 runs), and its address.
async fn in_process(
    guards: Guards,
) -> (
    tempfile::TempDir,
    AppState,
    SocketAddr,
    tokio_util::sync::CancellationToken,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = anchordesk_relay::Store::open_config(&common::config(dir.path()).await)
        .await
        .unwrap();
    let mut state = AppState::new(store, Default::default());
    let limits = guards.limits.clone();
    state.guards = Arc::new(guards);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    tokio::spawn(http::serve_with_limits(
        listener,
        http::app(state.clone()),
        limits,
        cancel.clone().cancelled_owned(),
    ));
    (dir, state, addr, cancel)
}

#[tokio::test]
async fn wrong_passwords_from_one_address_make_it_wait_for_every_username() {
    let address = FailurePolicy {
        free_failures: 2,
        ..ADDRESS_POLICY
    };
    let guards = Guards::new(Limits::default(), TARGET_POLICY, address);
    let (_dir, _state, addr, cancel) = in_process(guards).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    for name in ["alice", "bob", "carol"] {
        let response = login(&http, &base, "198.51.100.9", name, "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    let response = login(&http, &base, "198.51.100.9", "dave", "guess").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Another address is not held back by it.
    let response = login(&http, &base, "198.51.100.10", "dave", "guess").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_logins_do_not_hold_up_other_requests() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    anchordesk_relay::auth::create_staff(relay.store(), "boss", "correct horse", Role::Owner)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let base = relay.url();
    const LOGINS: usize = 16;
    let done = Arc::new(AtomicUsize::new(0));
    let logins: Vec<_> = (0..LOGINS)
        .map(|i| {
            let (http, base, done) = (http.clone(), base.clone(), done.clone());
            tokio::spawn(async move {
                // Distinct accounts and addresses: no delay gets in the way.
                let from = format!("198.51.100.{i}");
                let status = login(&http, &base, &from, &format!("user{i}"), "guess")
                    .await
                    .status();
                done.fetch_add(1, Ordering::SeqCst);
                status
            })
        })
        .collect();
    // Let the logins reach the relay first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = tokio::time::timeout(SAFETY, http.get(format!("{base}/healthz")).send())
        .await
        .expect("health answers")
        .unwrap();
    let finished_before_health = done.load(Ordering::SeqCst);
    assert_eq!(health.status(), StatusCode::OK);
    // Each login is a full argon2 run; with them on the async workers the health check
    // queued behind them. It must now be answered while most are still being checked.
    assert!(
        finished_before_health < LOGINS / 2,
        "{finished_before_health} of {LOGINS} logins finished before the health check answered"
    );
    for login in logins {
        let status = login.await.unwrap();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
    relay.shutdown().await.unwrap();
}

async fn whip(http: &reqwest::Client, base: &str, key: &str) -> reqwest::Response {
    http.post(format!("{base}/whip/demo"))
        .header("content-type", "application/sdp")
        .bearer_auth(key)
        .body("v=0\r\n")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_stream_keys_on_whip_make_the_next_publish_wait() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo")
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let base = relay.url();
    for i in 0..6 {
        let response = whip(&http, &base, &format!("guess-{i}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "try {i}");
    }
    let response = whip(&http, &base, &key).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // A key in the query string is not a WHIP credential.
    let response = http
        .post(format!("{base}/whip/other?access_token={key}"))
        .header("content-type", "application/sdp")
        .body("v=0\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    relay.shutdown().await.unwrap();
}

/// Asks to publish `stream?key=key` over RTMP, as OBS does; `true` when the relay accepts.
async fn rtmp_publish(addr: SocketAddr, stream: &str, key: &str) -> bool {
    use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
    use rml_rtmp::sessions::{
        ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
        PublishRequestType,
    };
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let mut handshake = Handshake::new(PeerType::Client);
    let hello = handshake.generate_outbound_p0_and_p1().unwrap();
    if socket.write_all(&hello).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending = loop {
        let n = match tokio::time::timeout(SAFETY, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return false,
        };
        match handshake.process_bytes(&buf[..n]).unwrap() {
            HandshakeProcessResult::InProgress { response_bytes } => {
                if socket.write_all(&response_bytes).await.is_err() {
                    return false;
                }
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                if socket.write_all(&response_bytes).await.is_err() {
                    return false;
                }
                break remaining_bytes;
            }
        }
    };
    let (mut session, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
    let mut outbound = vec![session.request_connection("live".into()).unwrap()];
    loop {
        if !pending.is_empty() {
            let Ok(results) = session.handle_input(&pending) else {
                return false;
            };
            outbound.extend(results);
        }
        for result in std::mem::take(&mut outbound) {
            match result {
                ClientSessionResult::OutboundResponse(packet)
                    if socket.write_all(&packet.bytes).await.is_err() =>
                {
                    return false;
                }
                ClientSessionResult::RaisedEvent(ClientSessionEvent::ConnectionRequestAccepted) => {
                    let request = session
                        .request_publishing(format!("{stream}?key={key}"), PublishRequestType::Live)
                        .unwrap();
                    if let ClientSessionResult::OutboundResponse(packet) = request
                        && socket.write_all(&packet.bytes).await.is_err()
                    {
                        return false;
                    }
                }
                ClientSessionResult::RaisedEvent(ClientSessionEvent::PublishRequestAccepted) => {
                    return true;
                }
                _ => {}
            }
        }
        pending = match tokio::time::timeout(SAFETY, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => buf[..n].to_vec(),
            _ => return false,
        };
    }
}

#[tokio::test]
async fn wrong_stream_keys_on_rtmp_make_the_next_publish_wait() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |c| {
        c.rtmp_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let rtmp: SocketAddr = relay
        .rtmp_url()
        .unwrap()
        .trim_start_matches("rtmp://")
        .trim_end_matches("/live")
        .parse()
        .unwrap();
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo")
        .await
        .unwrap();
    assert!(
        rtmp_publish(rtmp, "demo", &key).await,
        "the right key works"
    );
    // Once the first publisher is gone the key works again: what refuses it below is the wait.
    let deadline = tokio::time::Instant::now() + SAFETY;
    while !rtmp_publish(rtmp, "demo", &key).await {
        assert!(tokio::time::Instant::now() < deadline, "publish again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..6 {
        assert!(!rtmp_publish(rtmp, "demo", &format!("guess-{i}")).await);
    }
    assert!(
        !rtmp_publish(rtmp, "demo", &key).await,
        "even the right key waits after six wrong ones"
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn rtmp_connections_past_the_cap_from_one_address_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |c| {
        c.rtmp_listen = Some("127.0.0.1:0".parse().unwrap());
        c.limits.trusted_proxies = Vec::new();
        c.limits.max_connections_per_ip = 2;
    })
    .await;
    let rtmp: SocketAddr = relay
        .rtmp_url()
        .unwrap()
        .trim_start_matches("rtmp://")
        .trim_end_matches("/live")
        .parse()
        .unwrap();
    let mut held = [
        TcpStream::connect(rtmp).await.unwrap(),
        TcpStream::connect(rtmp).await.unwrap(),
    ];
    // Give the accept loop the two before the third.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(rtmp).await.unwrap();
    closed_within(&mut extra, SAFETY).await.expect("closed");
    // Closed for being one too many, not for idling: the older two are still open.
    for stream in &mut held {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut byte)).await;
        assert!(read.is_err(), "a held connection is still open");
    }
    relay.shutdown().await.unwrap();
}

/// Reads until the server closes the connection; `Err` if it is still open after `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Result<Vec<u8>, ()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return Err(()),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_sending_half_a_header_or_nothing_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |c| {
        c.limits.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let mut half = TcpStream::connect(relay.addr()).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(relay.addr()).await.unwrap();
    assert!(
        closed_within(&mut half, SAFETY).await.is_ok(),
        "half a header"
    );
    assert!(closed_within(&mut silent, SAFETY).await.is_ok(), "no bytes");
    // An ordinary client is unaffected.
    let health = reqwest::get(format!("{}/healthz", relay.url()))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    relay.shutdown().await.unwrap();
}

/// A complete keep-alive request on `stream`; the status line of the answer.
async fn request_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(SAFETY, stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn connections_past_the_cap_from_one_address_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |c| {
        c.limits.trusted_proxies = Vec::new();
        c.limits.max_connections_per_ip = 3;
        c.limits.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(relay.addr()).await.unwrap();
        assert_eq!(request_on(&mut stream).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }
    let mut extra = TcpStream::connect(relay.addr()).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let seen = closed_within(&mut extra, SAFETY).await.expect("closed");
    assert!(seen.is_empty(), "no answer on the 4th connection");
    // The held ones still work, and closing one makes room.
    assert_eq!(request_on(&mut held[0]).await, "HTTP/1.1 200 OK");
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + SAFETY;
    loop {
        let mut stream = TcpStream::connect(relay.addr()).await.unwrap();
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let mut buf = [0u8; 64];
        if let Ok(Ok(n)) = tokio::time::timeout(SAFETY, stream.read(&mut buf)).await
            && buf[..n].starts_with(b"HTTP/1.1 200")
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "room again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn websockets_past_the_cap_from_one_address_are_refused_with_429() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |c| {
        c.limits.trusted_proxies = Vec::new();
        c.limits.max_websockets_per_ip = 2;
    })
    .await;
    let live = common::new_live(relay.store(), "直播").await;
    let url = format!("ws://{}/api/lives/{live}/events?after=0", relay.addr());
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(tokio_tungstenite::connect_async(&url).await.unwrap().0);
    }
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS.as_u16());
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("third socket: {:?}", other.map(|(_, r)| r.status())),
    }
    // Plain GETs of the same route are not sockets and not capped.
    let page = reqwest::get(format!("{}/api/lives/{live}/events", relay.url()))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let deadline = tokio::time::Instant::now() + SAFETY;
    while tokio_tungstenite::connect_async(&url).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "a slot again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn access_tokens_in_the_query_work_only_on_the_events_route() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    let viewer = common::viewer_token(relay.store()).await;
    let base = relay.url();
    let me = reqwest::get(format!("{base}/api/me?access_token={viewer}"))
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let me = reqwest::Client::new()
        .get(format!("{base}/api/me"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let live = common::new_live(relay.store(), "直播").await;
    let (socket, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/lives/{live}/events?after=0&access_token={viewer}",
        relay.addr()
    ))
    .await
    .unwrap();
    drop(socket);
    // A wrong token there is still a 401, not anonymous.
    let page = reqwest::get(format!("{base}/api/lives/{live}/events?access_token=nope"))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    relay.shutdown().await.unwrap();
}

async fn create_stream(base: &str, owner: &str, host: Option<&str>) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/api/streams"))
        .bearer_auth(owner)
        .json(&json!({ "name": format!("s{}", rand_suffix()) }));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn rand_suffix() -> String {
    anchordesk_relay::auth::random_hex(4)
}

#[tokio::test]
async fn stream_urls_use_the_public_base_url_and_never_a_forged_host() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    let owner = common::staff_token(&relay, "boss", Role::Owner).await;
    let base = relay.url();
    let listen = relay.addr().to_string();
    let forged = create_stream(&base, &owner, Some("evil.example/phish?")).await;
    let whip = forged["whip_url"].as_str().unwrap();
    assert!(
        whip.starts_with(&format!("http://{listen}/whip/")),
        "{whip}"
    );
    let lan = create_stream(&base, &owner, Some("192.168.1.5:8686")).await;
    let whip = lan["whip_url"].as_str().unwrap();
    assert!(whip.starts_with("http://192.168.1.5:8686/whip/"), "{whip}");
    relay.shutdown().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |c| {
        c.public_base_url = Some("https://shop.example.com".into());
    })
    .await;
    let owner = common::staff_token(&relay, "boss", Role::Owner).await;
    let created = create_stream(&relay.url(), &owner, Some("evil.example")).await;
    let whip = created["whip_url"].as_str().unwrap();
    assert!(whip.starts_with("https://shop.example.com/whip/"), "{whip}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    let base = relay.url();
    for path in ["/", "/live/1", "/api/nope", "/healthz", "/images/none.png"] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_413_naming_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    let big = format!(
        "{{\"username\":\"boss\",\"password\":\"{}\"}}",
        "x".repeat(3 * 1024 * 1024)
    );
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/login", relay.url()))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");
    assert_eq!(body["error"]["field"], "body");
    relay.shutdown().await.unwrap();
}

/// A flash crowd (or a hostile burst of connections) must not overflow the kernel's queue of
/// connections waiting to be accepted: a dropped SYN is retried only a second later. `ss`
/// shows a listening socket's queue size as its Send-Q.
#[tokio::test]
async fn the_http_listener_queues_thousands_of_connections_before_accepting() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(dir.path(), |_| {}).await;
    let port = relay.addr().port();
    let out = std::process::Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let queue: u32 = text
        .split_whitespace()
        .nth(2)
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("no listening socket on {port} in: {text}"));
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    // Tokio's `bind` asked for 1024; the kernel caps whatever is asked at somaxconn.
    assert_eq!(queue, somaxconn.min(8192), "listen queue");
    relay.shutdown().await.unwrap();
}
