//! Flash-sale rush: N buyers press buy at the same instant over real HTTP against a relay.
//! Measures orders/s and latency percentiles for a 秒杀 and, in the same run as the
//! baseline, for the same rush against plain stock; on SQLite and, when
//! `ANCHORDESK_BENCH_POSTGRES_URL` names a PostgreSQL server (`make bench` starts one), on
//! PostgreSQL too, each rush in a fresh database.
//!
//! `cargo run --release -p anchordesk-bench --bin flash-sale -- [BUYERS] [UNITS]`
//! (defaults 2000 and 100). Writes `bench/results/<date>-flash-sale.json`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anchordesk_relay::auth::{self, NewViewer};
use anchordesk_relay::commerce::flash_sales::{self, NewFlashSale};
use anchordesk_relay::commerce::lives::{self, CartAdd, NewLive};
use anchordesk_relay::commerce::products::{self, NewProduct};
use anchordesk_relay::{Config, RunningRelay};
use serde_json::json;

struct Rush {
    ok: usize,
    sold_out: usize,
    other: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Rush {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[idx].as_secs_f64() * 1000.0
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "orders_ok": self.ok,
            "sold_out": self.sold_out,
            "other_status": self.other,
            "wall_ms": self.wall.as_secs_f64() * 1000.0,
            "requests_per_s": self.latencies.len() as f64 / self.wall.as_secs_f64(),
            "p50_ms": self.percentile(0.50),
            "p99_ms": self.percentile(0.99),
            "max_ms": self.percentile(1.0),
        })
    }
}

/// A relay with one product in one live; `flash` puts `units` on a 秒杀, else `units` is the stock.
async fn shop(
    units: i64,
    flash: bool,
    postgres: Option<&str>,
) -> anyhow::Result<(tempfile::TempDir, RunningRelay, i64, i64)> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::bundled(dir.path().to_owned());
    if let Some(server) = postgres {
        config.database_url =
            Some(anchordesk_relay::store::create_postgres_database(server, "bench").await?);
    }
    let relay = anchordesk_relay::start(&config).await?;
    let stock = if flash { units * 10 } else { units };
    let product = products::create(
        relay.store(),
        &NewProduct {
            title: "压测商品".into(),
            description: None,
            price_fen: 10_000,
            stock: Some(stock),
            skus: None,
        },
    )
    .await?;
    let sku = product.skus[0].id;
    let live = lives::create(
        relay.store(),
        &NewLive {
            title: "压测".into(),
            stream_name: None,
        },
    )
    .await?;
    lives::add_to_cart(
        relay.store(),
        live.id,
        &CartAdd {
            product_id: product.id,
        },
    )
    .await?;
    if flash {
        let sale = NewFlashSale {
            sku_id: sku,
            sale_price_fen: 1_000,
            quantity: units,
            per_user_limit: Some(1),
            starts_at_ms: None,
            duration_secs: 3600,
        };
        flash_sales::create(relay.store(), live.id, &sale).await?;
    }
    Ok((dir, relay, live.id, sku))
}

async fn rush(
    buyers: usize,
    units: i64,
    flash: bool,
    postgres: Option<&str>,
    spread: Duration,
) -> anyhow::Result<Rush> {
    let (_dir, relay, live_id, sku) = shop(units, flash, postgres).await?;
    let mut tokens = Vec::with_capacity(buyers);
    for _ in 0..buyers {
        tokens.push(
            auth::create_viewer(relay.store(), &NewViewer::default())
                .await?
                .token,
        );
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(buyers)
        .build()?;
    let url = Arc::new(relay.url());
    let start = Arc::new(tokio::sync::Barrier::new(buyers + 1));
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (http, url, start) = (http.clone(), url.clone(), start.clone());
            tokio::spawn(async move {
                // A phone per buyer: the 秒杀 limit counts per phone number too.
                let body = json!({
                    "live_id": live_id,
                    "items": [{ "sku_id": sku, "quantity": 1 }],
                    "shipping": { "name": "压测", "phone": format!("138{i:08}"), "address": "上海市黄浦区南京东路 1 号" }
                });
                // Each buyer has the room open, as the viewer page does before anyone can buy:
                // the rush measures orders over open connections, not 2000 TCP handshakes.
                let _ = http
                    .get(format!("{url}/api/lives/{live_id}/flash-sales"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status());
                start.wait().await;
                // Buyer i arrives at i/buyers of the spread (all at once when it is zero).
                tokio::time::sleep(spread.mul_f64(i as f64 / buyers as f64)).await;
                let sent = Instant::now();
                let status = http
                    .post(format!("{url}/api/orders"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("bench-{i:08}"))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                (status, sent.elapsed())
            })
        })
        .collect();
    start.wait().await;
    let began = Instant::now();
    let mut result = Rush {
        ok: 0,
        sold_out: 0,
        other: 0,
        wall: Duration::ZERO,
        latencies: Vec::with_capacity(buyers),
    };
    for task in tasks {
        let (status, latency) = task.await?;
        match status {
            201 => result.ok += 1,
            409 => result.sold_out += 1,
            _ => result.other += 1,
        }
        result.latencies.push(latency);
    }
    result.wall = began.elapsed();
    anyhow::ensure!(result.ok as i64 == units, "sold {} of {units}", result.ok);
    relay.shutdown().await?;
    Ok(result)
}

/// The rush twice per store: everyone at the same instant (burst: p99 is the time to drain
/// the queue), and the same buyers arriving evenly over one second (p99 is service latency at
/// that arrival rate). Each with its plain-stock baseline in the same run.
async fn suite(
    buyers: usize,
    units: i64,
    postgres: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let mut out = serde_json::Map::new();
    out.insert(
        "store".into(),
        match postgres {
            None => "sqlite (WAL, synchronous=NORMAL)".into(),
            Some(_) => "postgresql 15 on loopback (throwaway cluster from scripts/test-postgres.sh, default settings)".into(),
        },
    );
    for (name, spread) in [
        ("burst", Duration::ZERO),
        ("spread_1s", Duration::from_secs(1)),
    ] {
        let baseline = rush(buyers, units, false, postgres, spread).await?;
        let flash = rush(buyers, units, true, postgres, spread).await?;
        out.insert(
            name.into(),
            json!({
                "baseline_plain_stock": baseline.json(),
                "flash_sale": flash.json(),
                "ratio_p99_flash_over_baseline": flash.percentile(0.99) / baseline.percentile(0.99),
            }),
        );
    }
    Ok(out.into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let buyers: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let units: i64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(100);

    let sqlite = suite(buyers, units, None).await?;
    let postgres = match std::env::var("ANCHORDESK_BENCH_POSTGRES_URL") {
        Ok(server) => suite(buyers, units, Some(&server)).await?,
        Err(_) => serde_json::Value::Null,
    };
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let record = json!({
        "benchmark": "flash-sale",
        "date": now,
        "machine": anchordesk_bench::machine(),
        "command": format!("cargo run --release -p anchordesk-bench --bin flash-sale -- {buyers} {units}"),
        "buyers": buyers,
        "units": units,
        "sqlite": sqlite,
        "postgres": postgres,
        "target": "p99 <= 50 ms on SQLite",
        "connections": "each buyer's keep-alive connection is open before the rush (it loaded the room's flash sales)",
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-flash-sale.json", &now[..10]));
    std::fs::write(&path, serde_json::to_string_pretty(&record)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    println!("recorded in {}", path.display());
    Ok(())
}
