//! 福袋 over real HTTP: keyword entry, one entry per viewer, a draw anyone can re-check.

mod common;

use std::collections::HashSet;

use anchordesk_relay::auth::{self, NewViewer, Role};
use anchordesk_relay::commerce::lotteries::{self, Lottery, draw_winners};
use anchordesk_relay::events;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn keyword_entrants_are_drawn_reproducibly_from_the_committed_seed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let live_id = common::new_live(relay.store(), "福袋专场").await;
    let staff = common::staff_token(&relay, "host", Role::Anchor).await;
    let http = reqwest::Client::new();
    let url = |p: String| format!("{}{p}", relay.url());

    let res = http
        .post(url(format!("/api/lives/{live_id}/lotteries")))
        .bearer_auth(&staff)
        .json(&json!({ "prize": "价值 199 元保温杯", "winners": 3, "keyword": "想要", "duration_secs": 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Lottery = res.json().await.unwrap();
    assert_eq!(created.seed, None, "the seed stays secret until the draw");
    assert_eq!(created.seed_sha256.len(), 64);

    // 15 viewers comment the keyword, 5 just watch; everyone tries to join, twice.
    let mut entrants = HashSet::new();
    for i in 0..20 {
        let session = auth::create_viewer(relay.store(), &NewViewer::default())
            .await
            .unwrap();
        let auth::Principal::Viewer { id, .. } = session.principal else {
            unreachable!()
        };
        if i < 15 {
            let res = http
                .post(url(format!("/api/lives/{live_id}/comments")))
                .bearer_auth(&session.token)
                .json(&json!({ "body": "我想要福袋！" }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
        for _ in 0..2 {
            let res = http
                .post(url(format!("/api/lotteries/{}/join", created.id)))
                .bearer_auth(&session.token)
                // Twenty viewers on twenty phones: one entry per device.
                .header("x-anchordesk-device", format!("device-{i:04}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), if i < 15 { 200 } else { 403 });
        }
        if i < 15 {
            entrants.insert(id);
        }
    }
    assert_eq!(
        lotteries::get(relay.store(), created.id)
            .await
            .unwrap()
            .entrants,
        15
    );

    // Not before its time, and not by a viewer.
    let early = http
        .post(url(format!("/api/lotteries/{}/draw", created.id)))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 409);

    // Time is up: the sweep draws it (the same code the staff button uses).
    let drawn = lotteries::draw_due(relay.store(), created.ends_at_ms)
        .await
        .unwrap();
    assert_eq!(drawn.value, 1);
    let lottery: Lottery = http
        .get(url(format!("/api/lotteries/{}", created.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seed = lottery.seed.clone().expect("seed revealed after the draw");
    assert_eq!(
        hex::encode(Sha256::digest(seed.as_bytes())),
        created.seed_sha256,
        "the seed matches its commitment"
    );
    assert_eq!(lottery.winner_ids.len(), 3);
    assert_eq!(
        lottery.winner_ids.iter().collect::<HashSet<_>>().len(),
        3,
        "nobody wins twice"
    );
    assert!(lottery.winner_ids.iter().all(|w| entrants.contains(w)));

    // Anyone can recompute the winners from the public entrant list and the revealed seed.
    let listed: Vec<i64> = http
        .get(url(format!("/api/lotteries/{}/entrants", created.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(draw_winners(&seed, &listed, 3), lottery.winner_ids);

    let log = events::list(relay.store(), live_id, 0, false, 1000)
        .await
        .unwrap();
    let announced: Vec<&Value> = log
        .iter()
        .filter(|e| e.kind == "lottery.drawn")
        .map(|e| &e.payload)
        .collect();
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0]["lottery"]["seed"], seed);
    relay.shutdown().await.unwrap();
}
