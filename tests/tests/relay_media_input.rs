//! WHIP/WHEP input handling: every bad request gets its status and an `ErrorBody`, nothing
//! panics, and no session outlives its client. webrtc-rs on both ends, over loopback (which
//! the relay offers as a candidate), so no network namespace is needed here.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anchordesk_e2e::media::WebRtcClient;
use anchordesk_e2e::media::client::post_sdp;
use anyhow::{Result, ensure};
use reqwest::StatusCode;
use serde_json::Value;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn publisher_offer() -> Result<(WebRtcClient, String)> {
    let mut client = WebRtcClient::new(LOOPBACK).await?;
    client.add_video_track().await?;
    let offer = client.offer().await?;
    Ok((client, offer))
}

async fn error_of(response: reqwest::Response) -> Result<(StatusCode, Value)> {
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(
        body["error"]["code"].is_string(),
        "not an ErrorBody: {body}"
    );
    Ok((status, body))
}

/// UDP sockets this process holds (the in-process relay's and the clients').
fn udp_sockets() -> usize {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            if let Some(inode) = line.split_whitespace().nth(9) {
                inodes.insert(inode.to_owned());
            }
        }
    }
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|target| {
                    let target = target.to_string_lossy().into_owned();
                    target
                        .strip_prefix("socket:[")
                        .and_then(|s| s.strip_suffix(']'))
                        .map(str::to_owned)
                })
                .filter(|inode| inodes.contains(inode))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_leak_no_session() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let relay =
        anchordesk_relay::start(&anchordesk_relay::Config::bundled(dir.path().into())).await?;
    let (_, key) = anchordesk_relay::media::streams::create(relay.store(), "demo").await?;
    let base = relay.url();
    let whip = format!("{base}/whip/demo");
    let http = reqwest::Client::new();
    let sockets_before = udp_sockets();

    let (publisher, offer) = publisher_offer().await?;
    let post = |url: String, key: Option<String>, content_type: &'static str, body: String| {
        let http = http.clone();
        async move {
            let mut request = http
                .post(url)
                .header("content-type", content_type)
                .body(body);
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            error_of(request.send().await?).await
        }
    };

    let (status, _) = post(whip.clone(), None, "application/sdp", offer.clone()).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no key");
    let (status, _) = post(
        whip.clone(),
        Some("0".repeat(32)),
        "application/sdp",
        offer.clone(),
    )
    .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong key");
    let (status, _) = post(
        format!("{base}/whip/nope"),
        Some(key.clone()),
        "application/sdp",
        offer.clone(),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown stream");
    let (status, body) = post(
        whip.clone(),
        Some(key.clone()),
        "application/sdp",
        "hello".into(),
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "sdp");
    let garbage = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=this is not sdp\r\n".to_owned();
    let (status, body) = post(whip.clone(), Some(key.clone()), "application/sdp", garbage).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = post(
        whip.clone(),
        Some(key.clone()),
        "application/json",
        offer.clone(),
    )
    .await?;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let huge = format!("v=0\r\n{}", "a=x\r\n".repeat(20_000));
    let (status, body) = post(whip.clone(), Some(key.clone()), "application/sdp", huge).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, _) = post(
        format!("{base}/whep/nope"),
        None,
        "application/sdp",
        offer.clone(),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "WHEP of an unknown stream");
    let (status, _) = post(
        format!("{base}/whep/demo"),
        None,
        "application/sdp",
        offer.clone(),
    )
    .await?;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "WHEP while nobody publishes"
    );

    // A good publish, then a second publisher while the first is connected.
    let (status, location, answer) = post_sdp(&http, &whip, Some(&key), offer).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(answer.starts_with("v=0"), "{answer}");
    let location = location.expect("Location");
    assert!(location.starts_with("/whip/demo/"), "{location}");
    publisher.accept_answer(answer).await?;
    let mut publisher = publisher;
    publisher.wait_connected(Duration::from_secs(10)).await?;
    let (second, second_offer) = publisher_offer().await?;
    let (status, body) = post(
        whip.clone(),
        Some(key.clone()),
        "application/sdp",
        second_offer,
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    second.close().await;

    // Someone else's (or a made-up) session is not found; the real one ends the publish.
    let (status, _) = error_of(
        http.delete(format!("{base}/whip/demo/0123456789abcdef01234567"))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = error_of(
        http.delete(format!(
            "{base}/whep/demo/{}",
            location.rsplit('/').next().unwrap()
        ))
        .send()
        .await?,
    )
    .await?;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a WHIP session is not a WHEP session"
    );
    assert_eq!(
        http.delete(format!("{base}{location}"))
            .send()
            .await?
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        http.delete(format!("{base}{location}"))
            .send()
            .await?
            .status(),
        StatusCode::NOT_FOUND
    );
    publisher.close().await;

    // A publisher that vanishes without DELETE is reaped once its connection is gone.
    let (mut vanishing, offer) = publisher_offer().await?;
    let (status, _, answer) = post_sdp(&http, &whip, Some(&key), offer).await?;
    assert_eq!(status, StatusCode::CREATED);
    vanishing.accept_answer(answer).await?;
    vanishing.wait_connected(Duration::from_secs(10)).await?;
    let started = std::time::Instant::now();
    vanishing.close().await;
    let stats_url = format!("{base}/api/streams/demo/stats");
    loop {
        let stats: Value = http.get(&stats_url).send().await?.json().await?;
        if stats["publishing"] == false {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never reaped: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("vanished publisher reaped after {:?}", started.elapsed());

    // A client that POSTs and never connects is reaped too, and then the stream is free.
    let (silent, offer) = publisher_offer().await?;
    let (status, _, _) = post_sdp(&http, &whip, Some(&key), offer).await?;
    assert_eq!(status, StatusCode::CREATED);
    silent.close().await;
    let (comeback, offer) = publisher_offer().await?;
    let started = std::time::Instant::now();
    loop {
        let (status, _, answer) = post_sdp(&http, &whip, Some(&key), offer.clone()).await?;
        if status == StatusCode::CREATED {
            comeback.accept_answer(answer).await?;
            break;
        }
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the silent publisher held the stream"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    comeback.close().await;
    relay.shutdown().await?;

    // Every connection closed: no UDP socket is left behind.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sockets_after = udp_sockets();
    assert!(
        sockets_after <= sockets_before,
        "UDP sockets before {sockets_before}, after {sockets_after}"
    );
    Ok(())
}
