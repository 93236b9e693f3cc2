//! What tests and benchmarks look for in the studio's outgoing picture.

use crate::media::RgbaFrame;

/// The 讲解 card's panel in a 1280×720 landscape programme: bottom-left, 32 px from the edges,
/// 560×200 (`anchordesk_lib::card::panel_rect`, checked against it by the studio bench).
pub const CARD_PANEL_720P: (u32, u32, u32, u32) = (32, 488, 560, 200);

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
