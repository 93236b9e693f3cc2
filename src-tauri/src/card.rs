//! The 讲解 card in the outgoing video. When the relay says a product is pinned, the studio
//! lays a panel with its picture, number, title and price over every scene, as ordinary
//! layers the engine composes; unpinning removes them. Viewers of any platform see it, not
//! only those on the relay's own page.

use std::path::PathBuf;

use anchordesk_pipelines::scene::{Canvas, Layer, LayerCanvases, Rect, Source};
use anchordesk_relay::commerce::lives::Pin;
use anchordesk_relay::commerce::products::Product;
use anchordesk_relay::events::LiveEvent;

/// Every card layer's id starts with this (see `Engine::set_overlay`).
pub const CARD_PREFIX: &str = "card-";
/// The comment the anchor put on screen.
pub const COMMENT_PREFIX: &str = "comment-";
/// Every overlay the studio lays over the user's scenes.
pub const OVERLAY_PREFIXES: [&str; 2] = [CARD_PREFIX, COMMENT_PREFIX];

/// The panel's colour: near-white, so the card reads over any camera picture.
pub const PANEL_COLOUR: &str = "#FFFFFFF2";
const TITLE_COLOUR: &str = "#1A1A1AFF";
const PRICE_COLOUR: &str = "#FF2442FF";
const BADGE_COLOUR: &str = "#FF6A00FF";
const COMMENT_PANEL: &str = "#000000B0";
const COMMENT_TEXT: &str = "#FFFFFFFF";

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
    /// The product's SKUs with their stock: a 秒杀 on any of them, and what is left.
    pub skus: Vec<(i64, i64)>,
}

impl CardContent {
    pub fn has_sku(&self, sku_id: i64) -> bool {
        self.skus.iter().any(|(id, _)| *id == sku_id)
    }

    pub fn total_stock(&self) -> i64 {
        self.skus.iter().map(|(_, stock)| stock).sum()
    }

    /// Applies `stock.changed` figures to the SKUs this card shows.
    pub fn set_stock(&mut self, sku_id: i64, stock: i64) {
        for (id, left) in &mut self.skus {
            if *id == sku_id {
                *left = stock;
            }
        }
    }
}

/// A 秒杀 on the pinned product, as the card shows it at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashOffer {
    pub price_fen: i64,
    pub remaining: i64,
    /// Seconds until it starts (not started) or ends (running).
    pub seconds: i64,
    pub started: bool,
}

impl FlashOffer {
    /// `剩 12 件 · 04:59`, or `05:00 后开抢` before the start.
    pub fn countdown(&self) -> String {
        let s = self.seconds.max(0);
        let clock = format!("{:02}:{:02}", s / 60, s % 60);
        if self.started {
            format!("剩 {} 件 · {clock}", self.remaining)
        } else {
            format!("{clock} 后开抢")
        }
    }
}

impl CardContent {
    /// The card of a pinned product at cart `position`; `None` once the pin is taken down.
    pub fn from_pin(pin: Option<&Pin>, position: Option<i64>, product: &Product) -> Option<Self> {
        pin?;
        Some(Self {
            product_id: product.id,
            position: position.unwrap_or(0),
            title: product.title.clone(),
            price_fen: product.price_fen,
            image_url: product.images.first().map(|i| i.url.clone()),
            skus: product.skus.iter().map(|s| (s.id, s.stock)).collect(),
        })
    }

    /// The card a `pin.changed` event asks for: `None` for an unpin (or a pin without its
    /// product, which the relay does not send).
    pub fn from_pin_event(event: &LiveEvent) -> Option<Self> {
        match event {
            LiveEvent::PinChanged {
                pin,
                position,
                product: Some(product),
            } => Self::from_pin(pin.as_ref(), *position, product),
            _ => None,
        }
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

/// The card's layers, bottom to top. `picture` is the main picture saved locally; with a
/// 秒杀 the card shows its price and countdown instead of the list price; `stock_left`, when
/// stock is low, shows "仅剩 N 件" (or "已售罄") beside the price.
pub fn layers(
    card: &CardContent,
    picture: Option<PathBuf>,
    flash: Option<&FlashOffer>,
    stock_left: Option<i64>,
    canvas: Canvas,
) -> Vec<Layer> {
    let panel = panel_rect(canvas);
    let pad = panel.height / 12;
    let picture_side = panel.height - 2 * pad;
    let text_x = panel.x + (pad + picture_side + pad) as i32;
    let text_width = panel.width.saturating_sub(picture_side + 3 * pad).max(1);
    let font = |share: f64| ((panel.height as f64 * share).round() as u32).max(6);
    let mut layers = vec![layer(
        CARD_PREFIX,
        "panel",
        Source::Colour {
            colour: PANEL_COLOUR.into(),
        },
        panel,
    )];
    if let Some(path) = picture {
        layers.push(layer(
            CARD_PREFIX,
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
    let what = if flash.is_some_and(|f| f.started) {
        "秒杀中"
    } else {
        "讲解中"
    };
    let badge = if card.position > 0 {
        format!("{what} · {}号链接", card.position)
    } else {
        what.to_owned()
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
    let price_y = panel.y + (panel.height - pad - line) as i32;
    // Beside the price: a 秒杀's units and countdown, else low stock.
    let (price_fen, note) = match (flash, stock_left) {
        (Some(flash), _) => (flash.price_fen, Some(flash.countdown())),
        (None, Some(0)) => (card.price_fen, Some("已售罄".to_owned())),
        (None, Some(left)) => (card.price_fen, Some(format!("仅剩 {left} 件"))),
        (None, None) => (card.price_fen, None),
    };
    let half = (text_width / 2).max(1);
    layers.push(text(
        "price",
        yuan(price_fen),
        font(0.13),
        PRICE_COLOUR,
        text_x,
        price_y,
        if note.is_some() { half } else { text_width },
        line,
    ));
    if let Some(note) = note {
        layers.push(text(
            "countdown",
            note,
            font(0.075),
            BADGE_COLOUR,
            text_x + half as i32,
            price_y + (line / 4) as i32,
            half,
            line - line / 4,
        ));
    }
    layers
}

/// A viewer's comment the anchor put on screen: a dark strip above where the card sits.
pub fn comment_layers(nickname: &str, body: &str, canvas: Canvas) -> Vec<Layer> {
    let card = panel_rect(canvas);
    let height = card.height * 2 / 5;
    let gap = card.height / 10;
    let strip = Rect {
        x: card.x,
        y: (card.y - gap as i32 - height as i32).max(0),
        width: card.width,
        height,
    };
    let pad = height / 5;
    let words: String = body.chars().take(60).collect();
    vec![
        layer(
            COMMENT_PREFIX,
            "panel",
            Source::Colour {
                colour: COMMENT_PANEL.into(),
            },
            strip,
        ),
        layer(
            COMMENT_PREFIX,
            "text",
            Source::Text {
                text: format!("{nickname}：{words}"),
                font: None,
                // Font sizes are points: 0.28 of the strip is one line with room to spare.
                size: ((height as f64 * 0.28).round() as u32).max(6),
                colour: COMMENT_TEXT.into(),
            },
            Rect {
                x: strip.x + pad as i32,
                y: strip.y + (pad / 2) as i32,
                width: strip.width.saturating_sub(2 * pad).max(1),
                height: (height - pad).max(1),
            },
        ),
    ]
}

/// The second canvas's copy of an overlay's layers has ids `{prefix}2-{name}`.
const SECOND_COPY: &str = "2-";

/// An overlay laid out for each canvas the engine composes: `build` lays it out for one canvas
/// (bottom sheet in portrait, side card in landscape). With a second canvas, each canvas shows
/// only its own copy, so neither needs any setup.
pub fn per_canvas(
    prefix: &str,
    first: Canvas,
    second: Option<Canvas>,
    build: impl Fn(Canvas) -> Vec<Layer>,
) -> Vec<Layer> {
    let mut layers = build(first);
    let Some(second) = second else {
        return layers;
    };
    for layer in &mut layers {
        layer.canvases = LayerCanvases::First;
    }
    layers.extend(build(second).into_iter().map(|mut layer| {
        let name = layer
            .id
            .strip_prefix(prefix)
            .unwrap_or(&layer.id)
            .to_owned();
        layer.id = format!("{prefix}{SECOND_COPY}{name}");
        layer.canvases = LayerCanvases::Second;
        layer.second_rect = Some(layer.rect);
        layer
    }));
    layers
}

fn layer(prefix: &str, name: &str, source: Source, rect: Rect) -> Layer {
    let mut layer = Layer::new(format!("{prefix}{name}"), source, rect);
    let what = if prefix == COMMENT_PREFIX {
        "上屏评论"
    } else {
        "讲解卡片"
    };
    layer.name = format!("{what} {name}");
    layer
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
        CARD_PREFIX,
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

    /// A `pin.changed` as the relay sends it: product 7 at cart position 3.
    fn pinned() -> LiveEvent {
        serde_json::from_value(json!({
            "kind": "pin.changed",
            "payload": {
                "pin": { "id": 4, "product_id": 7, "selling_point": "", "started_at_ms": 1 },
                "position": 3,
                "product": {
                    "id": 7, "title": "保温杯 316不锈钢 500ml", "description": "", "price_fen": 6900,
                    "status": "active", "created_at_ms": 1, "updated_at_ms": 1,
                    "skus": [
                        { "id": 70, "name": "白", "price_fen": 6900, "stock": 4 },
                        { "id": 71, "name": "黑", "price_fen": 6900, "stock": 20 }
                    ],
                    "images": [{ "id": 1, "url": "/images/ab.png", "content_type": "image/png",
                                 "width": 600, "height": 600 }]
                }
            }
        }))
        .expect("a pin.changed event")
    }

    #[test]
    fn a_pin_event_gives_the_card_and_an_unpin_none() {
        let card = CardContent::from_pin_event(&pinned()).unwrap();
        assert_eq!(card.product_id, 7);
        assert_eq!(card.position, 3);
        assert_eq!(card.price_fen, 6900);
        assert_eq!(card.image_url.as_deref(), Some("/images/ab.png"));
        let unpinned = LiveEvent::PinChanged {
            pin: None,
            position: None,
            product: None,
        };
        assert_eq!(CardContent::from_pin_event(&unpinned), None);
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
            let flash = FlashOffer {
                price_fen: 4900,
                remaining: 12,
                seconds: 299,
                started: true,
            };
            let plain = layers(&card, Some("/tmp/p.png".into()), None, None, canvas);
            assert_eq!(plain.len(), 5);
            let layers = layers(&card, Some("/tmp/p.png".into()), Some(&flash), None, canvas);
            assert_eq!(layers.len(), 6);
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
        let without_picture = layers(&card, None, None, None, LANDSCAPE);
        assert!(without_picture.iter().all(|l| l.id != "card-picture"));
    }

    fn text_of(layers: &[Layer], id: &str) -> String {
        match &layers.iter().find(|l| l.id == id).unwrap().source {
            Source::Text { text, .. } => text.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_flash_sale_shows_its_price_units_and_countdown() {
        let card = CardContent::from_pin_event(&pinned()).unwrap();
        assert_eq!(card.skus, vec![(70, 4), (71, 20)]);
        assert_eq!(card.total_stock(), 24);
        let mut flash = FlashOffer {
            price_fen: 4900,
            remaining: 12,
            seconds: 299,
            started: true,
        };
        let on = layers(&card, None, Some(&flash), Some(3), LANDSCAPE);
        assert_eq!(text_of(&on, "card-price"), "¥49.00");
        assert_eq!(text_of(&on, "card-countdown"), "剩 12 件 · 04:59");
        assert_eq!(text_of(&on, "card-badge"), "秒杀中 · 3号链接");
        flash.started = false;
        flash.seconds = 65;
        assert_eq!(flash.countdown(), "01:05 后开抢");
        let off = layers(&card, None, None, None, LANDSCAPE);
        assert_eq!(text_of(&off, "card-price"), "¥69.00");
        assert_eq!(text_of(&off, "card-badge"), "讲解中 · 3号链接");
        assert!(off.iter().all(|l| l.id != "card-countdown"));
        let low = layers(&card, None, None, Some(3), LANDSCAPE);
        assert_eq!(text_of(&low, "card-countdown"), "仅剩 3 件");
        let gone = layers(&card, None, None, Some(0), LANDSCAPE);
        assert_eq!(text_of(&gone, "card-countdown"), "已售罄");
    }

    #[test]
    fn a_comment_on_screen_sits_above_the_card_inside_the_canvas() {
        for canvas in [LANDSCAPE, PORTRAIT] {
            let long = "好".repeat(200);
            let layers = comment_layers("小王", &long, canvas);
            assert_eq!(layers.len(), 2);
            let card = panel_rect(canvas);
            for l in &layers {
                l.validate("layer").unwrap();
                assert!(l.id.starts_with(COMMENT_PREFIX));
                assert!(l.rect.y >= 0 && l.rect.y + (l.rect.height as i32) <= card.y);
            }
            assert!(text_of(&layers, "comment-text").starts_with("小王："));
            assert!(text_of(&layers, "comment-text").chars().count() <= 63);
        }
    }

    #[test]
    fn with_two_canvases_each_gets_its_own_layout_of_the_card() {
        let card = CardContent::from_pin_event(&pinned()).unwrap();
        let build = |on| layers(&card, None, None, None, on);
        let landscape = Canvas {
            width: 1920,
            height: 1080,
            fps: 30,
        };
        let both = per_canvas(CARD_PREFIX, landscape, Some(PORTRAIT), build);
        assert_eq!(both.len(), 2 * build(landscape).len());
        let mut scenes = anchordesk_pipelines::scene::SceneCollection::test_pattern(landscape);
        scenes.second_canvas = Some(PORTRAIT);
        scenes.scenes[0].layers.extend(both.iter().cloned());
        scenes.validate().unwrap();
        use anchordesk_pipelines::scene::CanvasId;
        let panel = |id: &str, on| {
            let layer = both.iter().find(|l| l.id == id).unwrap();
            scenes.placement(layer, on)
        };
        // The side card on landscape only, the bottom sheet on portrait only.
        assert_eq!(
            panel("card-panel", CanvasId::First),
            Some(panel_rect(landscape))
        );
        assert_eq!(panel("card-panel", CanvasId::Second), None);
        assert_eq!(
            panel("card-2-panel", CanvasId::Second),
            Some(panel_rect(PORTRAIT))
        );
        assert_eq!(panel("card-2-panel", CanvasId::First), None);
        assert!(both.iter().all(|l| l.id.starts_with(CARD_PREFIX)));
        // One canvas: the layers as they were.
        assert_eq!(
            per_canvas(CARD_PREFIX, landscape, None, build),
            build(landscape)
        );
    }
}
