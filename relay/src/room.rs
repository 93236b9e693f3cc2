//! A live room as a viewer page opens it: everything it shows, read in one request, and the
//! event id to resume the events socket from.
//!
//! The resume point is read *before* the state. An event committed in between is then both
//! in the state and sent again by the socket; every event the page applies carries absolute
//! values (the pin, stock left, a sale's remaining units) or an id to de-duplicate on
//! (comments), so applying it twice is harmless, while reading it after the state could skip
//! one for good.

use serde::Serialize;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::clips::{self, Clip};
use crate::commerce::coupons::{self, Coupon};
use crate::commerce::flash_sales::{self, FlashSale};
use crate::commerce::lives::{self, Live};
use crate::commerce::lotteries::{self, Lottery};
use crate::error::{Result, now_ms};
use crate::interaction::{Comment, Interaction};
use crate::store::Store;

/// Comments a page opens with; older ones are history, not conversation.
pub const RECENT_COMMENTS: i64 = 50;
/// Lotteries a page opens with: the open ones and the latest results.
pub const RECENT_LOTTERIES: i64 = 3;

/// `GET /api/lives/{id}/room`.
#[derive(Debug, Clone, Serialize, TS, ToSchema)]
#[ts(export)]
pub struct Room {
    pub live: Live,
    /// Open the events socket with `after=` this.
    pub last_event_id: i64,
    /// The relay's clock when this was read: countdowns run against it, not the phone's.
    pub server_now_ms: i64,
    /// The stream is being published right now (worth asking WHEP for).
    pub on_air: bool,
    pub viewers_now: i64,
    pub likes: i64,
    /// Sales still open, oldest first.
    pub flash_sales: Vec<FlashSale>,
    /// Coupons on offer in this live (and shop-wide ones).
    pub coupons: Vec<Coupon>,
    /// The latest lotteries, newest first.
    pub lotteries: Vec<Lottery>,
    /// The latest visible comments, oldest first.
    pub comments: Vec<Comment>,
    /// 看讲解 replay clips, newest first.
    pub clips: Vec<Clip>,
}

/// What the HTTP layer knows that the store does not.
#[derive(Debug, Clone, Copy)]
pub struct Presence {
    pub on_air: bool,
    pub viewers_now: i64,
}

pub async fn load(
    store: &Store,
    interaction: &Interaction,
    live_id: i64,
    presence: impl FnOnce(&Live) -> Presence,
) -> Result<Room> {
    let last_event_id = crate::events::last_id(store, live_id).await?;
    let live = lives::get(store, live_id).await?;
    let likes: Option<i64> = sqlx::query_scalar("select total from live_likes where live_id = $1")
        .bind(live_id)
        .fetch_optional(store.pool())
        .await?;
    let mut flash_sales = flash_sales::list(store, live_id).await?;
    flash_sales.retain(|sale| sale.open);
    let Presence {
        on_air,
        viewers_now,
    } = presence(&live);
    Ok(Room {
        last_event_id,
        server_now_ms: now_ms(),
        on_air,
        viewers_now,
        likes: likes.unwrap_or(0),
        flash_sales,
        coupons: coupons::list(store, Some(live_id)).await?,
        lotteries: lotteries::recent(store, live_id, RECENT_LOTTERIES).await?,
        comments: interaction.recent(live_id, RECENT_COMMENTS).await?,
        clips: clips::ready(store, live_id).await?,
        live,
    })
}
