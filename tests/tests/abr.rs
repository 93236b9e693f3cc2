//! Adaptive bitrate on a real shaped link (short schedule; the full comparison is the `abr`
//! benchmark): the engine publishes over WHIP through a `tc tbf` bottleneck that drops from
//! 6 Mbit/s to 1.5 Mbit/s and comes back, to the relay in another network namespace, while a
//! WHEP viewer counts pictures. Bounds are loose on purpose: CI machines are noisy.

use anchordesk_e2e::netns;
use anchordesk_e2e::{abr, built_binary};
use anchordesk_pipelines::outputs::RateControl;
use anyhow::{Result, ensure};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_adapts_to_a_shaped_link_without_long_freezes() -> Result<()> {
    if !netns::isolate("whip_adapts_to_a_shaped_link_without_long_freezes") {
        return Ok(());
    }
    let rig = abr::Rig::start(&built_binary("anchordesk-relay")).await?;
    let result = rig
        .run(RateControl::GccProbe, &abr::schedule(false))
        .await?;
    let summary = |r: &serde_json::Value| {
        let mut r = r.clone();
        r["ticks"] = serde_json::Value::Null;
        r.to_string()
    };
    println!("{}", summary(&result));
    ensure!(
        result["time_to_adapt_s"].as_f64().is_some_and(|s| s < 10.0),
        "GCC's estimate never came down to the 1.5 Mbit/s link: {}",
        summary(&result)
    );
    ensure!(
        result["longest_gap_ms"]
            .as_f64()
            .is_some_and(|ms| ms < 2000.0),
        "the picture froze for more than 2 s: {}",
        summary(&result)
    );
    ensure!(
        result["last_10s"]["received_kbps"]
            .as_f64()
            .is_some_and(|kbps| kbps > 1_500.0),
        "the stream did not climb above the old bottleneck after recovery: {}",
        summary(&result)
    );
    Ok(())
}
