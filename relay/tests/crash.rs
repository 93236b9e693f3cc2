//! Crash safety: `kill -9` the relay in the middle of a sale. Every order that was answered
//! with a 2xx must exist afterwards, stock + sold must equal the initial stock, and the
//! database and its event log must be intact.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anchordesk_relay::Store;
use anchordesk_relay::commerce::lives::{self, CartAdd, NewLive};
use anchordesk_relay::commerce::products::{self};
use anchordesk_relay::store::Backend;
use common::{relay_command_for, spawn_relay};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

const INITIAL_STOCK: i64 = 1_000;
const BUYERS: usize = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_orders_survive_kill_9_mid_sale() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path()).await;

    // Seed the shop with the library, then hand the database to the relay process.
    let store = Store::open_config(&config).await.unwrap();
    let product = common::product(&store, "整点秒杀 电饭煲", 19_900, INITIAL_STOCK).await;
    let sku = product.skus[0].id;
    let live = lives::create(
        &store,
        &NewLive {
            title: "双11 专场".into(),
            stream_name: None,
        },
    )
    .await
    .unwrap();
    lives::add_to_cart(
        &store,
        live.id,
        &CartAdd {
            product_id: product.id,
        },
    )
    .await
    .unwrap();
    let mut tokens = Vec::with_capacity(BUYERS);
    for _ in 0..BUYERS {
        tokens.push(common::viewer_token(&store).await);
    }
    store.close().await;

    let mut cmd = relay_command_for(&config);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut relay = spawn_relay(cmd);
    let url = relay.url.clone();
    let acked = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let buyers: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (http, url, acked) = (http.clone(), url.clone(), acked.clone());
            tokio::spawn(async move {
                let body = json!({
                    "live_id": live.id,
                    "items": [{ "sku_id": sku, "quantity": 1 + (i % 3) as i64 }],
                    "shipping": { "name": "王五", "phone": "13700002222", "address": "深圳市南山区科技园 8 栋" }
                });
                let res = http
                    .post(format!("{url}/api/orders"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("crash-{i:06}"))
                    .json(&body)
                    .send()
                    .await;
                let Ok(res) = res else { return None };
                if !res.status().is_success() {
                    return None;
                }
                let order: serde_json::Value = res.json().await.ok()?;
                acked.fetch_add(1, Ordering::SeqCst);
                Some((order["id"].as_i64()?, order["items"][0]["quantity"].as_i64()?))
            })
        })
        .collect();

    // Kill the relay without warning once the sale is well under way.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.load(Ordering::SeqCst) < 50 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    kill(Pid::from_raw(relay.child.id() as i32), Signal::SIGKILL).unwrap();
    let _ = relay.child.wait();

    let mut acknowledged = Vec::new();
    for buyer in buyers {
        if let Some(order) = buyer.await.unwrap() {
            acknowledged.push(order);
        }
    }
    eprintln!(
        "crash test: {} of {BUYERS} orders acknowledged before the kill",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 50,
        "the kill came after {} acknowledged orders",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() < BUYERS,
        "the kill should interrupt the sale"
    );

    // Reopen after the crash (this also replays SQLite's WAL, as a restarted relay would).
    let store = Store::open_config(&config).await.unwrap();
    if store.backend() == Backend::Sqlite {
        let integrity: String = sqlx::query_scalar("pragma integrity_check")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(integrity, "ok");
    }
    for (id, quantity) in &acknowledged {
        let stored: Option<i64> =
            sqlx::query_scalar("select i.quantity from orders o join order_items i on i.order_id = o.id where o.id = $1")
                .bind(id)
                .fetch_optional(store.pool())
                .await
                .unwrap();
        assert_eq!(
            stored,
            Some(*quantity),
            "acknowledged order {id} lost or changed"
        );
    }
    let sold: i64 =
        sqlx::query_scalar("select cast(coalesce(sum(quantity), 0) as bigint) from order_items")
            .fetch_one(store.pool())
            .await
            .unwrap();
    let left = products::get(&store, product.id).await.unwrap().skus[0].stock;
    assert_eq!(left + sold, INITIAL_STOCK, "stock {left} + sold {sold}");

    // Each committed order has its staff event, in one increasing log.
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let created_events: i64 = sqlx::query_scalar(
        "select count(*) from events where live_id = $1 and kind = 'order.created'",
    )
    .bind(live.id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(created_events, orders);

    // And the restarted relay serves the same orders.
    store.close().await;
    let mut cmd = relay_command_for(&config);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let restarted = spawn_relay(cmd);
    let health = http
        .get(format!("{}/healthz", restarted.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
