//! What each event of a live says: one variant per kind, with its payload typed. On the wire
//! (the log, the WebSocket, `GET …/events`) an event is `{kind, payload}` as before; the UI
//! gets the same union from ts-rs (`ui/src/bindings/LiveEvent.ts`), so a payload changed here
//! fails the UI's typecheck instead of a page at run time.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Audience;
use crate::clips::Clip;
use crate::commerce::coupons::Coupon;
use crate::commerce::flash_sales::FlashSale;
use crate::commerce::lives::{LiveStatus, Pin};
use crate::commerce::lotteries::Lottery;
use crate::commerce::orders::{Order, OrderStatus};
use crate::commerce::products::Product;
use crate::interaction::Comment;
use crate::media::stats::StreamStats;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", content = "payload")]
#[ts(export)]
pub enum LiveEvent {
    /// The live's title, low-stock threshold or 讲解 rules changed.
    #[serde(rename = "live.updated")]
    LiveUpdated {
        title: String,
        low_stock_threshold: i64,
        #[serde(default)]
        next_when_sold_out: bool,
        #[serde(default)]
        pin_when_asked: bool,
    },
    #[serde(rename = "live.status")]
    LiveStatus { status: LiveStatus },
    /// The 小黄车 was set anew: positions and products, in order.
    #[serde(rename = "cart.changed")]
    CartChanged { items: Vec<CartPosition> },
    /// A product pinned (讲解), with its place in the cart and the product; `pin: null` when
    /// the pin was taken down.
    #[serde(rename = "pin.changed")]
    PinChanged {
        pin: Option<Pin>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        position: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        product: Option<Product>,
    },
    /// Clients count a sale down against the relay's clock (`server_now_ms`), not their own.
    #[serde(rename = "flashsale.created")]
    FlashSaleCreated { sale: FlashSale, server_now_ms: i64 },
    #[serde(rename = "flashsale.changed")]
    FlashSaleChanged { sales: Vec<SaleRemaining> },
    /// A sale ended; its unsold units (`returned`) went back to the SKU, now at `stock`.
    #[serde(rename = "flashsale.ended")]
    FlashSaleEnded {
        id: i64,
        sold: i64,
        returned: i64,
        sku_id: i64,
        stock: i64,
    },
    #[serde(rename = "stock.changed")]
    StockChanged { skus: Vec<SkuStock> },
    #[serde(rename = "order.created")]
    OrderCreated { order: Order },
    #[serde(rename = "order.paid")]
    OrderPaid { order: Order, provider: String },
    #[serde(rename = "order.cancelled")]
    OrderCancelled { order_id: i64 },
    #[serde(rename = "order.refunded")]
    OrderRefunded { order_id: i64 },
    #[serde(rename = "coupon.created")]
    CouponCreated { coupon: Coupon },
    #[serde(rename = "lottery.created")]
    LotteryCreated {
        lottery: Lottery,
        server_now_ms: i64,
    },
    #[serde(rename = "lottery.drawn")]
    LotteryDrawn { lottery: Lottery },
    /// New comments, oldest first, in one batch.
    #[serde(rename = "comments")]
    Comments { comments: Vec<Comment> },
    #[serde(rename = "comment.hidden")]
    CommentHidden { comment_id: i64 },
    #[serde(rename = "likes")]
    Likes { total: i64, delta: i64 },
    /// Viewers asked for a product of the cart within `window_s`: the studio may pin it.
    #[serde(rename = "assist.suggested")]
    AssistSuggested {
        product_id: i64,
        position: i64,
        title: String,
        viewers: i64,
        window_s: i64,
    },
    /// Viewers watching now and the most at once, across every relay of the live.
    #[serde(rename = "viewers")]
    Viewers { now: i64, peak: i64 },
    #[serde(rename = "stream.stats")]
    StreamStats(StreamStatsEvent),
    #[serde(rename = "clip.ready")]
    ClipReady { clip: Clip },
}

/// A product's place in the 小黄车 (`cart.changed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CartPosition {
    pub position: i64,
    pub product_id: i64,
}

/// Units a 秒杀 has left (`flashsale.changed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SaleRemaining {
    pub id: i64,
    pub remaining: i64,
}

/// A SKU's stock after a change (`stock.changed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SkuStock {
    pub sku_id: i64,
    pub product_id: i64,
    pub stock: i64,
}

/// A publishing stream's figures for the staff of the lives shown on it (`stream.stats`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StreamStatsEvent {
    pub stream: String,
    #[serde(flatten)]
    pub stats: StreamStats,
}

impl LiveEvent {
    /// Who may see it: orders (with buyers' addresses), moderation hints and the stream's
    /// health are for staff.
    pub fn audience(&self) -> Audience {
        match self {
            Self::OrderCreated { .. }
            | Self::OrderPaid { .. }
            | Self::OrderCancelled { .. }
            | Self::OrderRefunded { .. }
            | Self::AssistSuggested { .. }
            | Self::StreamStats(_) => Audience::Staff,
            _ => Audience::Public,
        }
    }

    /// The event of an order closed with `status` (cancelled or refunded).
    pub fn order_closed(status: OrderStatus, order_id: i64) -> Self {
        match status {
            OrderStatus::Refunded => Self::OrderRefunded { order_id },
            _ => Self::OrderCancelled { order_id },
        }
    }

    /// What pages showing stock must hear after units left or came back: the SKUs' stock
    /// and the 秒杀s' remaining units, each only when something changed.
    pub fn stock_and_sales(stock: Vec<SkuStock>, sales: Vec<SaleRemaining>) -> Vec<Self> {
        let mut events = Vec::new();
        if !stock.is_empty() {
            events.push(Self::StockChanged { skus: stock });
        }
        if !sales.is_empty() {
            events.push(Self::FlashSaleChanged { sales });
        }
        events
    }

    /// `kind` and `payload` as the log stores them and clients receive them.
    pub(super) fn into_parts(self) -> (String, serde_json::Value) {
        let mut value = serde_json::to_value(self).expect("events serialize to JSON");
        let payload = value
            .get_mut("payload")
            .map(serde_json::Value::take)
            .unwrap_or_default();
        let kind = value["kind"].as_str().unwrap_or_default().to_owned();
        (kind, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_their_wire_shape() {
        let (kind, payload) = LiveEvent::PinChanged {
            pin: None,
            position: None,
            product: None,
        }
        .into_parts();
        assert_eq!(kind, "pin.changed");
        assert_eq!(payload, serde_json::json!({ "pin": null }));
        let (kind, payload) = LiveEvent::order_closed(OrderStatus::Refunded, 7).into_parts();
        assert_eq!(
            (kind.as_str(), payload),
            ("order.refunded", serde_json::json!({ "order_id": 7 }))
        );
        let stats = LiveEvent::StreamStats(StreamStatsEvent {
            stream: "demo".into(),
            stats: StreamStats::default(),
        });
        assert_eq!(stats.audience(), Audience::Staff);
        let (kind, payload) = stats.into_parts();
        assert_eq!(kind, "stream.stats");
        assert_eq!(payload["stream"], "demo");
        assert!(payload.get("stats").is_none(), "flattened: {payload}");
        assert!(LiveEvent::stock_and_sales(vec![], vec![]).is_empty());
    }

    #[test]
    fn a_logged_event_reads_back_as_its_variant() {
        let event = LiveEvent::Likes {
            total: 10,
            delta: 3,
        };
        let (kind, payload) = event.clone().into_parts();
        let back: LiveEvent =
            serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))
                .unwrap();
        assert_eq!(back, event);
        assert_eq!(back.audience(), Audience::Public);
    }
}
