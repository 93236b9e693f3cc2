//! The studio's overlays in the outgoing video: the 讲解 card of the pinned product (with its
//! 秒杀 price and countdown while one runs) and the comment the anchor put on screen. One task
//! owns them, fed by the live's events, so they are applied in event order and a slow picture
//! download never lets an older card replace a newer one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anchordesk_pipelines::scene::Layer;
use anchordesk_relay::commerce::flash_sales::FlashSale;
use anchordesk_relay::commerce::lives::Live;
use anchordesk_relay::events::LiveEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::card::{self, CARD_PREFIX, COMMENT_PREFIX, CardContent, FlashOffer};
use crate::engine_host::EngineHost;
use crate::relay_client::RelayClient;

/// How often a running countdown is redrawn; the layers change only once a second.
const TICK: Duration = Duration::from_millis(250);

pub enum OverlayInput {
    /// The room as read when the session connected (pin, open sales, the relay's clock).
    Room(Box<RoomView>),
    /// One event of the live.
    Event(Box<LiveEvent>),
    /// A comment to show on screen (`nickname`, `body`), or `None` to take it off.
    Comment(Option<(String, String)>),
    /// At or under this many units left the card says "仅剩 N 件".
    LowStockThreshold(i64),
}

/// The default low-stock threshold, the relay's default for a live's viewer pages too.
pub const LOW_STOCK_THRESHOLD: i64 = 9;

/// What the overlays take from a room read (`GET /api/lives/{id}/room`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RoomView {
    pub live: Live,
    pub flash_sales: Vec<FlashSale>,
    pub server_now_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct Sale {
    sku_id: i64,
    price_fen: i64,
    remaining: i64,
    starts_at_ms: i64,
    ends_at_ms: i64,
}

impl Sale {
    /// A sale still open, by its id.
    fn open(sale: &FlashSale) -> Option<(i64, Self)> {
        sale.open.then_some((
            sale.id,
            Self {
                sku_id: sale.sku_id,
                price_fen: sale.sale_price_fen,
                remaining: sale.remaining,
                starts_at_ms: sale.starts_at_ms,
                ends_at_ms: sale.ends_at_ms,
            },
        ))
    }
}

/// What the overlays show, from the events; pure, so the rules are tested without an engine.
#[derive(Debug)]
pub struct OverlayState {
    card: Option<CardContent>,
    sales: HashMap<i64, Sale>,
    /// The relay's clock minus ours: countdowns follow the relay, as the viewer page does.
    clock_offset_ms: i64,
    comment: Option<(String, String)>,
    low_stock: i64,
}

impl Default for OverlayState {
    fn default() -> Self {
        Self {
            card: None,
            sales: HashMap::new(),
            clock_offset_ms: 0,
            comment: None,
            low_stock: LOW_STOCK_THRESHOLD,
        }
    }
}

impl OverlayState {
    pub fn apply(&mut self, input: OverlayInput, local_now_ms: i64) {
        match input {
            OverlayInput::Room(room) => {
                self.clock_offset_ms = room.server_now_ms - local_now_ms;
                self.sales = room.flash_sales.iter().filter_map(Sale::open).collect();
                let live = &room.live;
                self.card = live.pin.as_ref().and_then(|pin| {
                    let item = live.cart.iter().find(|i| i.product.id == pin.product_id)?;
                    CardContent::from_pin(Some(pin), Some(item.position), &item.product)
                });
            }
            OverlayInput::Event(event) => match event.as_ref() {
                LiveEvent::PinChanged { .. } => self.card = CardContent::from_pin_event(&event),
                LiveEvent::FlashSaleCreated {
                    sale,
                    server_now_ms,
                } => {
                    self.clock_offset_ms = server_now_ms - local_now_ms;
                    if let Some((id, sale)) = Sale::open(sale) {
                        self.sales.insert(id, sale);
                    }
                }
                LiveEvent::FlashSaleChanged { sales } => {
                    for left in sales {
                        if let Some(sale) = self.sales.get_mut(&left.id) {
                            sale.remaining = left.remaining;
                        }
                    }
                }
                LiveEvent::FlashSaleEnded {
                    id, sku_id, stock, ..
                } => {
                    self.sales.remove(id);
                    // Unsold sale units went back to the SKU.
                    self.set_stock(*sku_id, *stock);
                }
                LiveEvent::StockChanged { skus } => {
                    for sku in skus {
                        self.set_stock(sku.sku_id, sku.stock);
                    }
                }
                _ => {}
            },
            OverlayInput::Comment(comment) => self.comment = comment,
            OverlayInput::LowStockThreshold(n) => self.low_stock = n,
        }
    }

    fn set_stock(&mut self, sku_id: i64, stock: i64) {
        if let Some(card) = self.card.as_mut() {
            card.set_stock(sku_id, stock);
        }
    }

    /// Units left of the pinned product when that is low enough to say so.
    pub fn stock_left(&self) -> Option<i64> {
        let card = self.card.as_ref()?;
        let left = card.total_stock();
        (!card.skus.is_empty() && left <= self.low_stock).then_some(left)
    }

    pub fn card(&self) -> Option<&CardContent> {
        self.card.as_ref()
    }

    /// The 秒杀 on the pinned product at `local_now_ms`: the one running, else the next to
    /// start; none once it ended or sold out.
    pub fn flash_offer(&self, local_now_ms: i64) -> Option<FlashOffer> {
        let card = self.card.as_ref()?;
        let now = local_now_ms + self.clock_offset_ms;
        let sale = self
            .sales
            .values()
            .filter(|s| card.has_sku(s.sku_id) && s.remaining > 0 && now < s.ends_at_ms)
            .min_by_key(|s| (s.starts_at_ms > now, s.ends_at_ms))?;
        let started = now >= sale.starts_at_ms;
        let until = if started {
            sale.ends_at_ms
        } else {
            sale.starts_at_ms
        };
        Some(FlashOffer {
            price_fen: sale.price_fen,
            remaining: sale.remaining,
            seconds: (until - now + 999) / 1000,
            started,
        })
    }

    pub fn comment(&self) -> Option<&(String, String)> {
        self.comment.as_ref()
    }
}

/// Keeps the engine's overlays in step with the events until `stop`.
pub async fn paint(
    mut inputs: mpsc::UnboundedReceiver<OverlayInput>,
    client: RelayClient,
    engine: EngineHost,
    cache_dir: PathBuf,
    stop: CancellationToken,
) {
    let mut state = OverlayState::default();
    let mut generations = engine.generations();
    let mut shown: HashMap<&'static str, Vec<Layer>> = HashMap::new();
    let mut picture: Option<(String, Option<PathBuf>)> = None;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let started = std::time::Instant::now();
        let mut from_event = false;
        tokio::select! {
            _ = stop.cancelled() => return,
            input = inputs.recv() => {
                let Some(input) = input else { return };
                state.apply(input, now_ms());
                while let Ok(newer) = inputs.try_recv() {
                    state.apply(newer, now_ms());
                }
                from_event = true;
            }
            changed = generations.changed() => {
                if changed.is_err() {
                    return;
                }
                // A new engine (canvas change) has none of the overlays, on a new canvas.
                shown.clear();
            }
            _ = tick.tick() => {}
        }
        let Some(running) = engine.engine() else {
            continue;
        };
        let (canvas, second) = (running.canvas(), running.second_canvas());
        let image_url = state.card().and_then(|c| c.image_url.clone());
        let picture_path = match (&picture, image_url) {
            (Some((url, path)), Some(wanted)) if *url == wanted => path.clone(),
            (_, Some(wanted)) => {
                let path = fetch_picture(&client, &wanted, &cache_dir).await;
                picture = Some((wanted, path.clone()));
                path
            }
            (_, None) => None,
        };
        let card_layers = state
            .card()
            .map(|c| {
                let flash = state.flash_offer(now_ms());
                card::per_canvas(CARD_PREFIX, canvas, second, |on| {
                    card::layers(
                        c,
                        picture_path.clone(),
                        flash.as_ref(),
                        state.stock_left(),
                        on,
                    )
                })
            })
            .unwrap_or_default();
        let comment_layers = state
            .comment()
            .map(|(who, what)| {
                card::per_canvas(COMMENT_PREFIX, canvas, second, |on| {
                    card::comment_layers(who, what, on)
                })
            })
            .unwrap_or_default();
        for (prefix, layers) in [(CARD_PREFIX, card_layers), (COMMENT_PREFIX, comment_layers)] {
            if shown.get(prefix) == Some(&layers)
                || (layers.is_empty() && !shown.contains_key(prefix))
            {
                continue;
            }
            let engine = running.clone();
            let applying = layers.clone();
            let applied =
                tokio::task::spawn_blocking(move || engine.set_overlay(prefix, &applying)).await;
            match applied {
                Ok(Ok(())) => {
                    if from_event {
                        tracing::info!(
                            prefix,
                            applied_ms = started.elapsed().as_millis(),
                            "overlay updated in the video"
                        );
                    }
                    shown.insert(prefix, layers);
                }
                Ok(Err(e)) => tracing::warn!("cannot show the {prefix} overlay: {e}"),
                Err(e) => tracing::warn!("overlay task failed: {e}"),
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The product's picture saved under `cache_dir` (relay pictures are content-addressed, so a
/// saved file never goes stale). `None` when it cannot be fetched: the card shows without it.
async fn fetch_picture(client: &RelayClient, url: &str, cache_dir: &Path) -> Option<PathBuf> {
    let name = url.rsplit('/').next().filter(|n| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    })?;
    let path = cache_dir.join(name);
    if path.exists() {
        return Some(path);
    }
    let bytes = match client.get_bytes(url).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(url, "card picture not fetched: {e}");
            return None;
        }
    };
    tokio::fs::create_dir_all(cache_dir).await.ok()?;
    let partial = path.with_extension("part");
    tokio::fs::write(&partial, &bytes).await.ok()?;
    tokio::fs::rename(&partial, &path).await.ok()?;
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: i64 = 1_000_000;

    /// A room read with product 7 (SKU 70, 50 left) pinned at cart position 2.
    fn room(sales: Value) -> OverlayInput {
        let room = json!({
            "server_now_ms": NOW + 5_000,
            "flash_sales": sales,
            "live": {
                "id": 1, "title": "直播", "stream_name": "demo", "status": "live",
                "created_at_ms": 1, "low_stock_threshold": 9,
                "pin": { "id": 1, "product_id": 7, "selling_point": "", "started_at_ms": 1 },
                "cart": [{ "position": 2, "product": {
                    "id": 7, "title": "保温杯", "description": "", "price_fen": 6900,
                    "status": "active", "images": [], "created_at_ms": 1, "updated_at_ms": 1,
                    "skus": [{ "id": 70, "name": "白", "price_fen": 6900, "stock": 50 }]
                }}]
            }
        });
        OverlayInput::Room(Box::new(serde_json::from_value(room).expect("a room")))
    }

    fn sale(id: i64, sku: i64, starts: i64, ends: i64) -> Value {
        json!({ "id": id, "live_id": 1, "sku_id": sku, "sale_price_fen": 4900, "quantity": 5,
                "remaining": 5, "per_user_limit": 1, "starts_at_ms": starts, "ends_at_ms": ends,
                "open": true })
    }

    /// An event as the relay's feed carries it; a payload that is not what the relay sends
    /// fails here.
    fn event(kind: &str, payload: Value) -> OverlayInput {
        OverlayInput::Event(Box::new(
            serde_json::from_value(json!({ "kind": kind, "payload": payload }))
                .expect("a live event"),
        ))
    }

    #[test]
    fn the_card_counts_down_on_the_relay_clock_and_follows_units_and_the_end() {
        let mut state = OverlayState::default();
        // Relay clock is 5 s ahead of ours; the sale runs until relay time NOW + 65 s.
        state.apply(room(json!([sale(9, 70, NOW, NOW + 65_000)])), NOW);
        assert_eq!(state.card().unwrap().position, 2);
        let offer = state.flash_offer(NOW).unwrap();
        assert_eq!(
            (offer.started, offer.seconds, offer.remaining),
            (true, 60, 5)
        );
        assert_eq!(offer.countdown(), "剩 5 件 · 01:00");

        state.apply(
            event(
                "flashsale.changed",
                json!({ "sales": [{ "id": 9, "remaining": 1 }] }),
            ),
            NOW,
        );
        assert_eq!(state.flash_offer(NOW).unwrap().remaining, 1);
        // Time up on the relay's clock (ours says 5 s are left).
        assert_eq!(state.flash_offer(NOW + 60_000), None);
        state.apply(
            event(
                "flashsale.ended",
                json!({ "id": 9, "sold": 4, "returned": 1, "sku_id": 70, "stock": 51 }),
            ),
            NOW,
        );
        assert_eq!(state.flash_offer(NOW), None);
    }

    #[test]
    fn a_sale_on_another_product_or_not_started_yet_is_shown_as_such() {
        let mut state = OverlayState::default();
        state.apply(room(json!([sale(1, 99, NOW, NOW + 60_000)])), NOW);
        assert_eq!(state.flash_offer(NOW), None, "another product's sale");
        state.apply(
            event(
                "flashsale.created",
                json!({ "sale": sale(2, 70, NOW + 30_000, NOW + 90_000), "server_now_ms": NOW }),
            ),
            NOW,
        );
        let offer = state.flash_offer(NOW).unwrap();
        assert_eq!((offer.started, offer.seconds), (false, 30));
        state.apply(event("pin.changed", json!({ "pin": null })), NOW);
        assert_eq!(state.card(), None);
        assert_eq!(state.flash_offer(NOW), None);
    }

    #[test]
    fn a_comment_is_shown_until_taken_off() {
        let mut state = OverlayState::default();
        state.apply(
            OverlayInput::Comment(Some(("小王".into(), "3号多少钱".into()))),
            NOW,
        );
        assert_eq!(state.comment().unwrap().1, "3号多少钱");
        state.apply(OverlayInput::Comment(None), NOW);
        assert_eq!(state.comment(), None);
    }

    #[test]
    fn low_stock_is_said_at_the_threshold_and_follows_stock_events() {
        let mut state = OverlayState::default();
        state.apply(room(json!([])), NOW);
        assert_eq!(state.stock_left(), None, "50 left is not low");
        state.apply(
            event(
                "stock.changed",
                json!({ "skus": [{ "sku_id": 70, "product_id": 7, "stock": 9 }] }),
            ),
            NOW,
        );
        assert_eq!(state.stock_left(), Some(9));
        state.apply(OverlayInput::LowStockThreshold(5), NOW);
        assert_eq!(state.stock_left(), None);
        state.apply(
            event(
                "stock.changed",
                json!({ "skus": [{ "sku_id": 70, "product_id": 7, "stock": 0 }] }),
            ),
            NOW,
        );
        assert_eq!(state.stock_left(), Some(0));
        // A sale's unsold units come back when it ends.
        state.apply(
            event(
                "flashsale.ended",
                json!({ "id": 1, "sold": 0, "returned": 4, "sku_id": 70, "stock": 4 }),
            ),
            NOW,
        );
        assert_eq!(state.stock_left(), Some(4));
    }
}
