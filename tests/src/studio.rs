//! What tests and benchmarks look for in the studio's outgoing picture.

use crate::media::RgbaFrame;

/// The 讲解 card's panel in a 1280×720 landscape programme: bottom-left, 32 px from the edges,
/// 560×200 (`anchordesk_lib::card::panel_rect`, checked against it by the studio bench).
pub const CARD_PANEL_720P: (u32, u32, u32, u32) = (32, 488, 560, 200);

/// The same card in a 720×1280 portrait programme: a bottom sheet across the width, its
/// bottom at 78 % of the height, above where a phone's own controls sit.
pub const CARD_PANEL_PORTRAIT_720P: (u32, u32, u32, u32) = (32, 798, 656, 200);

/// Share of near-white pixels in the panel's top padding strip, where only the panel shows.
pub fn card_panel_white(frame: &RgbaFrame, panel: (u32, u32, u32, u32)) -> f64 {
    let (x, y, w, _) = panel;
    frame.share(x + 4, y + 3, w - 8, 10, |p| {
        p[..3].iter().all(|&c| c >= 225)
    })
}

/// Share of the card's price red (#FF2442, anti-aliased over white) in the price line, which
/// sits right of the picture at the bottom of the panel.
pub fn card_price_red(frame: &RgbaFrame, panel: (u32, u32, u32, u32)) -> f64 {
    let (x, y, w, h) = panel;
    let pad = h / 12;
    let text_x = x + h - pad;
    let line = h / 4;
    frame.share(text_x, y + h - pad - line, w - (text_x - x), line, |p| {
        p[0] > 200 && p[1] < 150 && p[2] < 160
    })
}

/// The whole card is in the picture: its panel and its price (the card's layers start within
/// a few frames of each other; this waits for the last of them).
pub fn card_in_picture(frame: &RgbaFrame, panel: (u32, u32, u32, u32)) -> bool {
    card_panel_white(frame, panel) > 0.95 && card_price_red(frame, panel) > 0.003
}

/// Share of the countdown's orange (#FF6A00) right of the price, where a running 秒杀's
/// "剩 N 件 · mm:ss" sits (`anchordesk_lib::card::layers` with a flash offer).
pub fn card_countdown_orange(frame: &RgbaFrame, panel: (u32, u32, u32, u32)) -> f64 {
    let (x, y, w, h) = panel;
    let pad = h / 12;
    let text_x = x + h - pad;
    let half = (w - (h - 2 * pad) - 3 * pad) / 2;
    let line = h / 4;
    frame.share(text_x + half, y + h - pad - line, half, line, |p| {
        p[0] > 200 && (70..170).contains(&p[1]) && p[2] < 100
    })
}

/// Share of dark pixels in the top padding of the on-screen comment's strip, which sits a
/// tenth of the card's height above the card and is two fifths of its height tall.
pub fn comment_strip_dark(frame: &RgbaFrame, panel: (u32, u32, u32, u32)) -> f64 {
    let (x, y, w, h) = panel;
    let strip_h = h * 2 / 5;
    let top = y - h / 10 - strip_h;
    frame.share(x + 4, top + 2, w - 8, strip_h / 5 - 4, |p| {
        p[..3].iter().all(|&c| c < 100)
    })
}

/// Share of white text pixels inside the on-screen comment's strip.
pub fn comment_strip_text(frame: &RgbaFrame, panel: (u32, u32, u32, u32)) -> f64 {
    let (x, y, w, h) = panel;
    let strip_h = h * 2 / 5;
    let top = y - h / 10 - strip_h;
    let pad = strip_h / 5;
    frame.share(x + pad, top + pad, w - 2 * pad, strip_h - 2 * pad, |p| {
        p[..3].iter().all(|&c| c > 200)
    })
}

/// The on-screen comment is whole in the picture: its strip and its words (its layers start
/// within a few frames of each other).
pub fn comment_in_picture(frame: &RgbaFrame, panel: (u32, u32, u32, u32)) -> bool {
    comment_strip_dark(frame, panel) > 0.9 && comment_strip_text(frame, panel) > 0.02
}

/// The product pinned in a live now, as the relay reports it.
pub async fn pinned_product(relay: &str, live_id: i64) -> anyhow::Result<Option<i64>> {
    let live: serde_json::Value = reqwest::get(format!("{relay}/api/lives/{live_id}"))
        .await?
        .json()
        .await?;
    Ok(live["pin"]["product_id"].as_i64())
}

/// A new viewer posts `body` in a live.
pub async fn post_comment(
    relay: &str,
    live_id: i64,
    nickname: &str,
    body: &str,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let viewer: serde_json::Value = http
        .post(format!("{relay}/api/viewers"))
        .json(&serde_json::json!({ "nickname": nickname }))
        .send()
        .await?
        .json()
        .await?;
    let token = viewer["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no viewer token in {viewer}"))?;
    let posted = http
        .post(format!("{relay}/api/lives/{live_id}/comments"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "body": body }))
        .send()
        .await?;
    anyhow::ensure!(posted.status().is_success(), "comment: {}", posted.status());
    Ok(())
}
