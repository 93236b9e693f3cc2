//! Comments and likes: batching into events, rate limits, sensitive words, moderation.

mod common;

use std::time::Duration;

use anchordesk_relay::auth::{self, NewViewer, Role};
use anchordesk_relay::events::{self, EventHub};
use anchordesk_relay::interaction::{FilterMode, Interaction, NewComment, NewLikes, WordFilter};
use anchordesk_relay::limits::ClientKey;
use anchordesk_relay::{RunningRelay, Store};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn viewer(store: &Store) -> (i64, String) {
    let session = auth::create_viewer(
        store,
        &NewViewer {
            nickname: Some("小红".into()),
        },
    )
    .await
    .unwrap();
    let auth::Principal::Viewer { id, .. } = session.principal else {
        unreachable!()
    };
    (id, session.token)
}

#[tokio::test]
async fn fifty_comments_between_flushes_become_one_event_and_likes_one_total() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_config(&common::config(dir.path()).await)
        .await
        .unwrap();
    let live_id = common::new_live(&store, "晚八点").await;
    let hub = EventHub::default();
    let interaction = Interaction::new(store.clone(), hub.clone(), WordFilter::default());
    for i in 0..50u8 {
        let (viewer_id, _) = viewer(&store).await;
        // Fifty viewers on fifty phones: the limit per address does not come into it.
        let client = ClientKey::new(std::net::IpAddr::from([10, 0, 1, i]), None);
        interaction
            .post_comment(
                live_id,
                viewer_id,
                &client,
                &NewComment {
                    body: format!("第{i}条：这个有货吗"),
                },
            )
            .await
            .unwrap();
        interaction
            .like(live_id, viewer_id, &NewLikes { count: 2 })
            .await
            .unwrap();
    }
    assert_eq!(interaction.flush().await.unwrap(), 2);
    let log = events::list(&store, live_id, 0, false, 1000).await.unwrap();
    let comments: Vec<_> = log.iter().filter(|e| e.kind == "comments").collect();
    assert_eq!(comments.len(), 1, "one batched event");
    assert_eq!(
        comments[0].payload["comments"].as_array().unwrap().len(),
        50
    );
    let likes: Vec<_> = log.iter().filter(|e| e.kind == "likes").collect();
    assert_eq!(
        (likes.len(), likes[0].payload["total"].as_i64()),
        (1, Some(100))
    );
    assert_eq!(
        interaction.flush().await.unwrap(),
        0,
        "nothing new, nothing sent"
    );
}

struct Room {
    dir: tempfile::TempDir,
    relay: RunningRelay,
    http: reqwest::Client,
    live_id: i64,
}

impl Room {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::config(dir.path()).await;
        config.sensitive_words = vec!["微信".into()];
        config.comment_filter = FilterMode::Mask;
        let relay = anchordesk_relay::start(&config).await.unwrap();
        let live_id = common::new_live(relay.store(), "直播间").await;
        Self {
            dir,
            relay,
            http: reqwest::Client::new(),
            live_id,
        }
    }

    async fn comment(&self, token: &str, body: &str) -> reqwest::Response {
        self.comment_via(&self.http, token, body).await
    }

    async fn comment_via(
        &self,
        http: &reqwest::Client,
        token: &str,
        body: &str,
    ) -> reqwest::Response {
        http.post(format!(
            "{}/api/lives/{}/comments",
            self.relay.url(),
            self.live_id
        ))
        .bearer_auth(token)
        .json(&json!({ "body": body }))
        .send()
        .await
        .unwrap()
    }
}

/// Comments posted at the same moment are written together (on SQLite, one transaction):
/// each poster still gets its own comment's id and nickname, and each is judged alone.
#[tokio::test]
async fn comments_posted_together_are_each_judged_and_answered_with_their_own_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_config(&common::config(dir.path()).await)
        .await
        .unwrap();
    let live_id = common::new_live(&store, "晚八点").await;
    let ended = common::new_live(&store, "昨晚").await;
    sqlx::query("update lives set status = 'ended' where id = $1")
        .bind(ended)
        .execute(store.pool())
        .await
        .unwrap();
    let interaction = std::sync::Arc::new(Interaction::new(
        store.clone(),
        EventHub::default(),
        WordFilter::default(),
    ));
    let (muted, _) = viewer(&store).await;
    interaction
        .mute(
            muted,
            &anchordesk_relay::interaction::MuteRequest { minutes: 5 },
        )
        .await
        .unwrap();
    let (eager, _) = viewer(&store).await;
    let mut posts = Vec::new();
    // 20 viewers once each, one viewer 6 times (3 at once are allowed), one muted, one on an
    // ended live: all in flight together.
    let mut senders: Vec<(i64, i64, String)> = Vec::new();
    for i in 0..20 {
        let (id, _) = viewer(&store).await;
        senders.push((live_id, id, format!("第{i}位")));
    }
    senders.extend((0..6).map(|i| (live_id, eager, format!("抢{i}"))));
    senders.push((live_id, muted, "我被禁言了".into()));
    senders.push((ended, senders[0].1, "来晚了".into()));
    for (n, (live, viewer_id, body)) in senders.iter().cloned().enumerate() {
        let interaction = interaction.clone();
        let client = ClientKey::new(std::net::IpAddr::from([10, 0, 2, n as u8]), None);
        posts.push(tokio::spawn(async move {
            interaction
                .post_comment(live, viewer_id, &client, &NewComment { body })
                .await
        }));
    }
    let mut outcomes = Vec::new();
    for post in posts {
        outcomes.push(post.await.unwrap());
    }
    let stored: Vec<(i64, i64, String, String)> =
        sqlx::query_as("select id, viewer_id, nickname, body from comments order by id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let mut answered = Vec::new();
    for ((live, viewer_id, body), outcome) in senders.iter().zip(&outcomes) {
        match outcome {
            Ok(comment) => {
                assert_eq!((comment.live_id, comment.viewer_id), (*live, *viewer_id));
                assert_eq!((&comment.body, comment.nickname.as_str()), (body, "小红"));
                let row = stored.iter().find(|r| r.0 == comment.id).unwrap();
                assert_eq!(
                    (row.1, &row.3),
                    (*viewer_id, body),
                    "the id is this comment's"
                );
                answered.push(comment.id);
            }
            Err(e) => {
                use anchordesk_relay::error::Error;
                let expected = match (*viewer_id, *live) {
                    (v, _) if v == muted => matches!(e, Error::Forbidden(_)),
                    (_, l) if l == ended => matches!(e, Error::Conflict(_)),
                    (v, _) if v == eager => matches!(e, Error::TooManyRequests { .. }),
                    _ => false,
                };
                assert!(expected, "comment {body} refused: {e}");
            }
        }
    }
    let eager_stored = stored.iter().filter(|r| r.1 == eager).count();
    assert_eq!(
        eager_stored, 3,
        "the viewer's burst of 3 holds inside one write"
    );
    assert_eq!(answered.len(), 23);
    answered.sort_unstable();
    let ids: Vec<i64> = stored.iter().map(|r| r.0).collect();
    assert_eq!(
        answered, ids,
        "every stored comment was answered, none twice"
    );
}

#[tokio::test]
async fn comments_reach_watchers_in_batches_masked_and_rate_limited() {
    let room = Room::open().await;
    let ws = format!(
        "{}/api/lives/{}/events?after=0",
        room.relay.url().replace("http://", "ws://"),
        room.live_id
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();

    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(viewer(room.relay.store()).await.1);
    }
    let posts = tokens.iter().map(|t| room.comment(t, "主播加个微信"));
    for res in futures_util::future::join_all(posts).await {
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["body"], "主播加个＊＊");
    }

    let mut received = 0;
    let mut batches = 0;
    while received < 10 {
        let msg = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(text) = msg else { continue };
        let event: Value = serde_json::from_str(&text).unwrap();
        if event["kind"] == "comments" {
            batches += 1;
            received += event["payload"]["comments"].as_array().unwrap().len();
        }
    }
    assert_eq!(received, 10);
    assert!(
        batches <= 3,
        "10 comments posted at once arrived in {batches} events"
    );

    // Three at once are fine; the fourth is told when to retry.
    let spammer = viewer(room.relay.store()).await.1;
    for _ in 0..3 {
        assert_eq!(room.comment(&spammer, "好看").await.status(), 201);
    }
    let limited = room.comment(&spammer, "好看").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");

    let (status, field) = {
        let res = room.comment(&tokens[0], "").await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        (status, body["error"]["field"].as_str().map(str::to_owned))
    };
    assert_eq!((status, field.as_deref()), (422, Some("body")));
    room.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn staff_hide_comments_and_mute_viewers_and_likes_are_totalled() {
    let room = Room::open().await;
    let (viewer_id, token) = viewer(room.relay.store()).await;
    let staff = common::staff_token(&room.relay, "moderator", Role::Assistant).await;
    let posted: Value = room.comment(&token, "广告广告").await.json().await.unwrap();
    let comment_id = posted["id"].as_i64().unwrap();

    let url = |p: String| format!("{}{p}", room.relay.url());
    let res = room
        .http
        .post(url(format!("/api/comments/{comment_id}/hide")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "viewers cannot moderate");
    let res = room
        .http
        .post(url(format!("/api/comments/{comment_id}/hide")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let visible: Vec<Value> = room
        .http
        .get(url(format!("/api/lives/{}/comments", room.live_id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        visible.is_empty(),
        "hidden comments are not shown to viewers"
    );

    let res = room
        .http
        .post(url(format!("/api/viewers/{viewer_id}/mute")))
        .bearer_auth(&staff)
        .json(&json!({ "minutes": 10 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(room.comment(&token, "我又来了").await.status(), 403);

    for count in [5, 10, 1] {
        let res = room
            .http
            .post(url(format!("/api/lives/{}/likes", room.live_id)))
            .bearer_auth(&token)
            .json(&json!({ "count": count }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    // Shutdown flushes what is pending, so the total is in the log afterwards.
    let Room {
        dir: _dir,
        relay,
        live_id,
        ..
    } = room;
    let config = relay.config().clone();
    relay.shutdown().await.unwrap();
    let store = Store::open_config(&config).await.unwrap();
    let log = events::list(&store, live_id, 0, true, 1000).await.unwrap();
    let total = log
        .iter()
        .filter(|e| e.kind == "likes")
        .filter_map(|e| e.payload["total"].as_i64())
        .max();
    assert_eq!(total, Some(16));
    assert!(
        log.iter()
            .any(|e| e.kind == "comment.hidden" && e.payload["comment_id"] == comment_id)
    );
}

/// Five viewers asking about product 3 within 30 s, in the ways viewers write it, give the
/// staff one suggestion to pin it; viewers never see it, and nothing is pinned.
#[tokio::test]
async fn viewers_asking_about_a_product_make_a_pin_suggestion_for_staff_only() {
    let room = Room::open().await;
    let store = room.relay.store();
    let mut cart = Vec::new();
    for title in ["保温杯 316不锈钢", "真丝睡衣套装", "折叠收纳箱 三件套"] {
        cart.push(common::product(store, title, 6900, 50).await.id);
    }
    anchordesk_relay::commerce::lives::replace_cart(
        store,
        room.live_id,
        &anchordesk_relay::commerce::lives::CartReplace {
            product_ids: cart.clone(),
        },
    )
    .await
    .unwrap();
    let staff = common::staff_token(&room.relay, "helper", Role::Assistant).await;
    let ws = format!(
        "{}/api/lives/{}/events?after=0&access_token={staff}",
        room.relay.url().replace("http://", "ws://"),
        room.live_id
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();

    let asks = [
        "3号还有吗",
        "三号链接多少钱",
        "想要３号",
        "链接3 有大号吗",
        "#3 上车",
    ];
    for (i, body) in asks.iter().enumerate() {
        let token = viewer(store).await.1;
        // Five viewers on five phones: asks count per address (127.0.0.2–6).
        let phone = reqwest::Client::builder()
            .local_address(Some(std::net::IpAddr::from([127, 0, 0, 2 + i as u8])))
            .build()
            .unwrap();
        assert_eq!(room.comment_via(&phone, &token, body).await.status(), 201);
        // A viewer repeating themself does not count twice, nor a fresh token on their phone.
        if i == 0 {
            assert_eq!(
                room.comment_via(&phone, &token, "3号!!").await.status(),
                201
            );
            let again = viewer(store).await.1;
            assert_eq!(
                room.comment_via(&phone, &again, "3号呢").await.status(),
                201
            );
        }
    }
    let suggestion = loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a suggestion within 5 s")
            .unwrap()
            .unwrap();
        let Message::Text(text) = msg else { continue };
        let event: Value = serde_json::from_str(&text).unwrap();
        if event["kind"] == "assist.suggested" {
            break event;
        }
    };
    assert_eq!(suggestion["payload"]["product_id"], cart[2]);
    assert_eq!(suggestion["payload"]["position"], 3);
    assert_eq!(suggestion["payload"]["viewers"], 5);

    let public = events::list(store, room.live_id, 0, false, 1000)
        .await
        .unwrap();
    assert!(public.iter().all(|e| e.kind != "assist.suggested"));
    let staff_log = events::list(store, room.live_id, 0, true, 1000)
        .await
        .unwrap();
    assert_eq!(
        staff_log
            .iter()
            .filter(|e| e.kind == "assist.suggested")
            .count(),
        1
    );
    let live = anchordesk_relay::commerce::lives::get(store, room.live_id)
        .await
        .unwrap();
    assert!(live.pin.is_none(), "a suggestion never pins by itself");
    room.relay.shutdown().await.unwrap();
}
