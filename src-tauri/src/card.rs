//! The 讲解 card in the outgoing video. When the relay says a product is pinned, the studio
//! lays a panel with its picture, number, title and price over every scene, as ordinary
//! layers the engine composes; unpinning removes them. Viewers of any platform see it, not
//! only those on the relay's own page.

use std::path::PathBuf;

use anchordesk_pipelines::scene::{Canvas, Crop, Effects, Layer, Rect, Source};
use serde_json::Value;

/// Every card layer's id starts with this (see `Engine::set_overlay`).
pub const CARD_PREFIX: &str = "card-";

/// The panel's colour: near-white, so the card reads over any camera picture.
pub const PANEL_COLOUR: &str = "#FFFFFFF2";
const TITLE_COLOUR: &str = "#1A1A1AFF";
const PRICE_COLOUR: &str = "#FF2442FF";
const BADGE_COLOUR: &str = "#FF6A00FF";

/// What the card shows, taken from a `pin.changed` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardContent {
    pub product_id: i64,
    /// The cart position ("N号链接").
    pub position: i64,
    pub title: String,
    pub price_fen: i64,
    /// The main picture's relay path (`/images/…`), if the product has one.
    pub image_url: Option<String>,
}

impl CardContent {
    /// `None` for an unpin (`{"pin": null}`) or a payload without a product.
    pub fn from_pin_event(payload: &Value) -> Option<Self> {
        if payload.get("pin").is_none_or(Value::is_null) {
            return None;
        }
        let product = payload.get("product")?;
        Some(Self {
            product_id: product.get("id")?.as_i64()?,
            position: payload.get("position").and_then(Value::as_i64).unwrap_or(0),
            title: product.get("title")?.as_str()?.to_owned(),
            price_fen: product.get("price_fen")?.as_i64()?,
            image_url: product
                .get("images")
                .and_then(|i| i.get(0))
                .and_then(|i| i.get("url"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// `¥399.00` from integer fen.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", fen / 100, fen % 100)
}

/// Where the card's panel sits: bottom-left in landscape; in portrait a bottom sheet above
/// the area a phone's own controls cover.
pub fn panel_rect(canvas: Canvas) -> Rect {
    let scale = canvas.width.min(canvas.height) as f64 / 720.0;
    let px = |v: f64| (v * scale).round() as u32;
    let margin = px(32.0);
    let height = px(200.0);
    if canvas.is_portrait() {
        Rect {
            x: margin as i32,
            y: (canvas.height as f64 * 0.78) as i32 - height as i32,
            width: canvas.width - 2 * margin,
            height,
        }
    } else {
        Rect {
            x: margin as i32,
            y: (canvas.height - margin - height) as i32,
            width: px(560.0).min(canvas.width - 2 * margin),
            height,
        }
    }
}

/// The card's layers, bottom to top. `picture` is the main picture saved locally.
pub fn layers(card: &CardContent, picture: Option<PathBuf>, canvas: Canvas) -> Vec<Layer> {
    let panel = panel_rect(canvas);
    let pad = panel.height / 12;
    let picture_side = panel.height - 2 * pad;
    let text_x = panel.x + (pad + picture_side + pad) as i32;
    let text_width = panel.width.saturating_sub(picture_side + 3 * pad).max(1);
    let font = |share: f64| ((panel.height as f64 * share).round() as u32).max(6);
    let mut layers = vec![layer(
        "panel",
        Source::Colour {
            colour: PANEL_COLOUR.into(),
        },
        panel,
    )];
    if let Some(path) = picture {
        layers.push(layer(
            "picture",
            Source::Image { path },
            Rect {
                x: panel.x + pad as i32,
                y: panel.y + pad as i32,
                width: picture_side,
                height: picture_side,
            },
        ));
    }
    let line = panel.height / 4;
    let badge = if card.position > 0 {
        format!("讲解中 · {}号链接", card.position)
    } else {
        "讲解中".to_owned()
    };
    layers.push(text(
        "badge",
        badge,
        font(0.08),
        BADGE_COLOUR,
        text_x,
        panel.y + pad as i32,
        text_width,
        line,
    ));
    layers.push(text(
        "title",
        card.title.clone(),
        font(0.085),
        TITLE_COLOUR,
        text_x,
        panel.y + (pad + line) as i32,
        text_width,
        line * 2 - pad,
    ));
    layers.push(text(
        "price",
        yuan(card.price_fen),
        font(0.13),
        PRICE_COLOUR,
        text_x,
        panel.y + (panel.height - pad - line) as i32,
        text_width,
        line,
    ));
    layers
}

fn layer(name: &str, source: Source, rect: Rect) -> Layer {
    Layer {
        id: format!("{CARD_PREFIX}{name}"),
        name: format!("讲解卡片 {name}"),
        source,
        rect,
        crop: Crop::default(),
        opacity: 1.0,
        visible: true,
        effects: Effects::default(),
    }
}

#[allow(clippy::too_many_arguments)]
fn text(
    name: &str,
    text: String,
    size: u32,
    colour: &str,
    x: i32,
    y: i32,
    width: u32,
    height: u32,
) -> Layer {
    layer(
        name,
        Source::Text {
            text,
            font: None,
            size,
            colour: colour.into(),
        },
        Rect {
            x,
            y,
            width,
            height: height.max(1),
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const LANDSCAPE: Canvas = Canvas {
        width: 1280,
        height: 720,
        fps: 30,
    };
    const PORTRAIT: Canvas = Canvas {
        width: 1080,
        height: 1920,
        fps: 30,
    };

    fn pinned() -> Value {
        json!({
            "pin": { "id": 4, "product_id": 7, "selling_point": "", "started_at_ms": 1 },
            "position": 3,
            "product": {
                "id": 7, "title": "保温杯 316不锈钢 500ml", "price_fen": 6900,
                "images": [{ "id": 1, "url": "/images/ab.png", "content_type": "image/png",
                             "width": 600, "height": 600 }]
            }
        })
    }

    #[test]
    fn a_pin_event_gives_the_card_and_an_unpin_none() {
        let card = CardContent::from_pin_event(&pinned()).unwrap();
        assert_eq!(card.product_id, 7);
        assert_eq!(card.position, 3);
        assert_eq!(card.price_fen, 6900);
        assert_eq!(card.image_url.as_deref(), Some("/images/ab.png"));
        assert_eq!(CardContent::from_pin_event(&json!({ "pin": null })), None);
        assert_eq!(CardContent::from_pin_event(&json!({})), None);
    }

    #[test]
    fn prices_are_shown_in_yuan_from_fen() {
        assert_eq!(yuan(6900), "¥69.00");
        assert_eq!(yuan(3990), "¥39.90");
        assert_eq!(yuan(5), "¥0.05");
        assert_eq!(yuan(-150), "-¥1.50");
    }

    #[test]
    fn the_card_is_valid_and_inside_the_canvas_in_both_orientations() {
        let card = CardContent::from_pin_event(&pinned()).unwrap();
        for canvas in [LANDSCAPE, PORTRAIT] {
            let layers = layers(&card, Some("/tmp/p.png".into()), canvas);
            assert_eq!(layers.len(), 5);
            let panel = layers[0].rect;
            for l in &layers {
                l.validate("layer").unwrap();
                assert!(l.id.starts_with(CARD_PREFIX));
                let r = l.rect;
                assert!(r.x >= panel.x && r.y >= panel.y, "{} outside panel", l.id);
                assert!(
                    r.x + r.width as i32 <= panel.x + panel.width as i32,
                    "{}",
                    l.id
                );
                assert!(
                    r.y + r.height as i32 <= panel.y + panel.height as i32,
                    "{}",
                    l.id
                );
            }
            assert!(panel.x >= 0 && panel.y >= 0);
            assert!(panel.x as u32 + panel.width <= canvas.width);
            assert!(panel.y as u32 + panel.height <= canvas.height);
        }
        let portrait = panel_rect(PORTRAIT);
        assert!(
            portrait.width > PORTRAIT.width * 8 / 10,
            "a bottom sheet in portrait"
        );
        let without_picture = layers(&card, None, LANDSCAPE);
        assert!(without_picture.iter().all(|l| l.id != "card-picture"));
    }
}
