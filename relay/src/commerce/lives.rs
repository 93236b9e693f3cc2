//! Live sessions, their 小黄车 (cart, numbered 1…N as viewers say "3号链接") and 讲解 pins.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use super::Changed;
use super::products::{self, Product, ProductStatus};
use crate::error::{Error, Result, check_text, now_ms};
use crate::events::{self, CartPosition, Event, LiveEvent};
use crate::store::{Conn, Store};

const MAX_CART: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum LiveStatus {
    /// Created, not started.
    Scheduled,
    /// On air.
    Live,
    /// Over; the cart and pins are frozen.
    Ended,
}

impl LiveStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Live => "live",
            Self::Ended => "ended",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "live" => Self::Live,
            "ended" => Self::Ended,
            _ => Self::Scheduled,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct CartItem {
    /// 1-based: what the anchor calls "N号链接".
    pub position: i64,
    pub product: Product,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Pin {
    pub id: i64,
    pub product_id: i64,
    pub selling_point: String,
    pub started_at_ms: i64,
    #[ts(optional)]
    pub ended_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Live {
    pub id: i64,
    pub title: String,
    /// The media side's stream this live is shown on (WHIP/RTMP/HLS name).
    pub stream_name: String,
    pub status: LiveStatus,
    pub created_at_ms: i64,
    #[ts(optional)]
    pub started_at_ms: Option<i64>,
    #[ts(optional)]
    pub ended_at_ms: Option<i64>,
    pub cart: Vec<CartItem>,
    /// The product being presented (讲解) right now.
    #[ts(optional)]
    pub pin: Option<Pin>,
    /// "仅剩 N 件" shows on the card and viewer pages at or under this stock (0 turns it off).
    pub low_stock_threshold: i64,
    /// When the pinned product sells out, the next one in the cart with stock is pinned.
    /// (Absent from older relays' answers: off.)
    #[serde(default)]
    pub next_when_sold_out: bool,
    /// A product enough viewers ask about in the comments is pinned (see `assist`).
    #[serde(default)]
    pub pin_when_asked: bool,
}

/// The most a low-stock threshold can be: past it every product would be "low".
pub const MAX_LOW_STOCK_THRESHOLD: i64 = 999;

/// A change to a live's settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, TS, ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct LivePatch {
    #[serde(default)]
    #[ts(optional)]
    pub title: Option<String>,
    /// 0–999.
    #[serde(default)]
    #[ts(optional)]
    pub low_stock_threshold: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub next_when_sold_out: Option<bool>,
    #[serde(default)]
    #[ts(optional)]
    pub pin_when_asked: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewLive {
    pub title: String,
    /// Defaults to `live-<id>`.
    #[serde(default)]
    #[ts(optional)]
    pub stream_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct LiveStatusChange {
    pub status: LiveStatus,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct CartReplace {
    /// The whole cart in display order.
    pub product_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct CartAdd {
    pub product_id: i64,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct PinRequest {
    pub product_id: i64,
    /// A short selling point shown on the card (e.g. "今日直播间专享价").
    #[serde(default)]
    #[ts(optional)]
    pub selling_point: Option<String>,
}

/// Stream names appear in URLs (`/whip/{name}`, `rtmp://…/live/{name}`, `/hls/{name}/…`).
pub(crate) fn check_stream_name(name: &str) -> Result<()> {
    check_text("stream_name", name, 1, 64)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "stream_name",
            "may contain only a-z, 0-9, '-' and '_' (it appears in URLs)",
        ));
    }
    Ok(())
}

pub async fn create(store: &Store, new: &NewLive) -> Result<Live> {
    check_text("title", &new.title, 1, 60)?;
    if let Some(name) = &new.stream_name {
        check_stream_name(name)?;
    }
    let mut tx = store.begin_write().await?;
    // A unique placeholder keeps the NOT NULL UNIQUE column valid until the id is known.
    let placeholder = format!("pending-{}", now_ms());
    let id: i64 = sqlx::query_scalar(
        "insert into lives (title, stream_name, status, created_at_ms) values ($1, $2, 'scheduled', $3) \
         on conflict (stream_name) do nothing returning id",
    )
    .bind(new.title.trim())
    .bind(new.stream_name.as_deref().unwrap_or(&placeholder))
    .bind(now_ms())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::Conflict("stream_name is already used by another live".into()))?;
    if new.stream_name.is_none() {
        sqlx::query("update lives set stream_name = $1 where id = $2")
            .bind(format!("live-{id}"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let live = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(live)
}

pub async fn load(conn: &mut Conn, id: i64) -> Result<Live> {
    type Row = (
        i64,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        i64,
        i64,
        i64,
    );
    let row: Option<Row> = sqlx::query_as(
        "select id, title, stream_name, status, created_at_ms, started_at_ms, ended_at_ms, \
         low_stock_threshold, next_when_sold_out, pin_when_asked from lives where id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((
        id,
        title,
        stream_name,
        status,
        created_at_ms,
        started_at_ms,
        ended_at_ms,
        low_stock_threshold,
        next_when_sold_out,
        pin_when_asked,
    )) = row
    else {
        return Err(Error::NotFound(format!("live {id}")));
    };
    let items: Vec<(i64, i64)> = sqlx::query_as(
        "select position, product_id from live_products where live_id = $1 order by position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut cart = Vec::with_capacity(items.len());
    for (position, product_id) in items {
        cart.push(CartItem {
            position,
            product: products::load(conn, product_id).await?,
        });
    }
    let pin = open_pin(conn, id).await?;
    Ok(Live {
        id,
        title,
        stream_name,
        status: LiveStatus::parse(&status),
        created_at_ms,
        started_at_ms,
        ended_at_ms,
        cart,
        pin,
        low_stock_threshold,
        next_when_sold_out: next_when_sold_out != 0,
        pin_when_asked: pin_when_asked != 0,
    })
}

async fn open_pin(conn: &mut Conn, live_id: i64) -> Result<Option<Pin>> {
    let row: Option<(i64, i64, String, i64)> = sqlx::query_as(
        "select id, product_id, selling_point, started_at_ms from pins \
         where live_id = $1 and ended_at_ms is null",
    )
    .bind(live_id)
    .fetch_optional(conn)
    .await?;
    Ok(
        row.map(|(id, product_id, selling_point, started_at_ms)| Pin {
            id,
            product_id,
            selling_point,
            started_at_ms,
            ended_at_ms: None,
        }),
    )
}

pub async fn get(store: &Store, id: i64) -> Result<Live> {
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, id).await
}

pub async fn list(store: &Store) -> Result<Vec<Live>> {
    let mut conn = store.pool().acquire().await?;
    let ids: Vec<i64> = sqlx::query_scalar("select id from lives order by id desc limit 200")
        .fetch_all(&mut *conn)
        .await?;
    let mut lives = Vec::with_capacity(ids.len());
    for id in ids {
        lives.push(load(&mut conn, id).await?);
    }
    Ok(lives)
}

/// Changes a live's title, low-stock threshold or 讲解 rules; pages hear `live.updated`.
pub async fn update(store: &Store, id: i64, patch: &LivePatch) -> Result<Changed<Live>> {
    if let Some(title) = &patch.title {
        check_text("title", title, 1, 60)?;
    }
    let title = patch.title.as_deref().map(str::trim);
    if let Some(n) = patch.low_stock_threshold
        && !(0..=MAX_LOW_STOCK_THRESHOLD).contains(&n)
    {
        return Err(Error::invalid(
            "low_stock_threshold",
            format!("must be between 0 and {MAX_LOW_STOCK_THRESHOLD}"),
        ));
    }
    let mut tx = store.begin_write().await?;
    load(&mut tx, id).await?;
    sqlx::query(
        "update lives set title = coalesce($1, title), \
         low_stock_threshold = coalesce($2, low_stock_threshold), \
         next_when_sold_out = coalesce($3, next_when_sold_out), \
         pin_when_asked = coalesce($4, pin_when_asked) where id = $5",
    )
    .bind(title)
    .bind(patch.low_stock_threshold)
    .bind(patch.next_when_sold_out.map(i64::from))
    .bind(patch.pin_when_asked.map(i64::from))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let live = load(&mut tx, id).await?;
    let event = events::append(
        &mut tx,
        id,
        LiveEvent::LiveUpdated {
            title: live.title.clone(),
            low_stock_threshold: live.low_stock_threshold,
            next_when_sold_out: live.next_when_sold_out,
            pin_when_asked: live.pin_when_asked,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Changed {
        value: live,
        events: vec![event],
    })
}

/// scheduled → live → ended; ending a live closes its open pin.
pub async fn set_status(
    store: &Store,
    id: i64,
    change: &LiveStatusChange,
) -> Result<Changed<Live>> {
    let mut tx = store.begin_write().await?;
    let live = load(&mut tx, id).await?;
    let allowed = matches!(
        (live.status, change.status),
        (LiveStatus::Scheduled, LiveStatus::Live)
            | (LiveStatus::Live, LiveStatus::Ended)
            | (LiveStatus::Scheduled, LiveStatus::Ended)
    );
    if !allowed {
        return Err(Error::Conflict(format!(
            "a {} live cannot become {}",
            live.status.as_str(),
            change.status.as_str()
        )));
    }
    let now = now_ms();
    let (started, ended) = match change.status {
        LiveStatus::Live => (Some(now), None),
        _ => (live.started_at_ms, Some(now)),
    };
    sqlx::query("update lives set status = $1, started_at_ms = $2, ended_at_ms = $3 where id = $4")
        .bind(change.status.as_str())
        .bind(started)
        .bind(ended)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut events = Vec::new();
    if change.status == LiveStatus::Ended && live.pin.is_some() {
        events.push(close_pin(&mut tx, id, now).await?);
    }
    events.push(
        events::append(
            &mut tx,
            id,
            LiveEvent::LiveStatus {
                status: change.status,
            },
        )
        .await?,
    );
    let live = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: live,
        events,
    })
}

/// The status of a live, or `None` when there is no such live.
pub async fn status_of(conn: &mut Conn, live_id: i64) -> Result<Option<LiveStatus>> {
    let status: Option<String> = sqlx::query_scalar("select status from lives where id = $1")
        .bind(live_id)
        .fetch_optional(conn)
        .await?;
    Ok(status.as_deref().map(LiveStatus::parse))
}

/// Fails unless the live exists (404) and has not ended (409): what anything added to a
/// live (a sale, a lottery, a comment) needs.
pub async fn require_open(conn: &mut Conn, live_id: i64) -> Result<()> {
    check_open(live_id, status_of(conn, live_id).await?)
}

/// [`require_open`] for a status read along with other things (`None`: no such live).
pub fn check_open(live_id: i64, status: Option<LiveStatus>) -> Result<()> {
    match status {
        None => Err(Error::NotFound(format!("live {live_id}"))),
        Some(LiveStatus::Ended) => Err(Error::Conflict(format!("live {live_id} has ended"))),
        Some(_) => Ok(()),
    }
}

fn ensure_open(live: &Live) -> Result<()> {
    if live.status == LiveStatus::Ended {
        return Err(Error::Conflict(format!("live {} has ended", live.id)));
    }
    Ok(())
}

async fn write_cart(conn: &mut Conn, live_id: i64, product_ids: &[i64]) -> Result<Event> {
    sqlx::query("delete from live_products where live_id = $1")
        .bind(live_id)
        .execute(&mut *conn)
        .await?;
    for (i, product_id) in product_ids.iter().enumerate() {
        sqlx::query(
            "insert into live_products (live_id, product_id, position) values ($1, $2, $3)",
        )
        .bind(live_id)
        .bind(product_id)
        .bind(i as i64 + 1)
        .execute(&mut *conn)
        .await?;
    }
    let items: Vec<_> = product_ids
        .iter()
        .enumerate()
        .map(|(i, &product_id)| CartPosition {
            position: i as i64 + 1,
            product_id,
        })
        .collect();
    events::append(conn, live_id, LiveEvent::CartChanged { items }).await
}

async fn check_cart_products(conn: &mut Conn, product_ids: &[i64], field: &str) -> Result<()> {
    if product_ids.len() > MAX_CART {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_CART} products per live"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, id) in product_ids.iter().enumerate() {
        let at = if product_ids.len() == 1 && field == "product_id" {
            field.to_owned()
        } else {
            format!("{field}[{i}]")
        };
        if !seen.insert(*id) {
            return Err(Error::invalid(at, format!("product {id} is listed twice")));
        }
        match products::load(conn, *id).await {
            Ok(p) if p.status == ProductStatus::Active => {}
            Ok(_) => return Err(Error::invalid(at, format!("product {id} is archived"))),
            Err(Error::NotFound(_)) => return Err(Error::invalid(at, format!("no product {id}"))),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Replaces the cart with `product_ids` in that order.
pub async fn replace_cart(store: &Store, live_id: i64, req: &CartReplace) -> Result<Changed<Live>> {
    let mut tx = store.begin_write().await?;
    let live = load(&mut tx, live_id).await?;
    ensure_open(&live)?;
    check_cart_products(&mut tx, &req.product_ids, "product_ids").await?;
    let event = write_cart(&mut tx, live_id, &req.product_ids).await?;
    let live = load(&mut tx, live_id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: live,
        events: vec![event],
    })
}

/// Appends one product at the end of the cart (it becomes "N+1号链接").
pub async fn add_to_cart(store: &Store, live_id: i64, req: &CartAdd) -> Result<Changed<Live>> {
    let mut tx = store.begin_write().await?;
    let live = load(&mut tx, live_id).await?;
    ensure_open(&live)?;
    if live
        .cart
        .iter()
        .any(|item| item.product.id == req.product_id)
    {
        return Err(Error::Conflict(format!(
            "product {} is already in the cart",
            req.product_id
        )));
    }
    check_cart_products(&mut tx, &[req.product_id], "product_id").await?;
    let mut ids: Vec<i64> = live.cart.iter().map(|item| item.product.id).collect();
    ids.push(req.product_id);
    let event = write_cart(&mut tx, live_id, &ids).await?;
    let live = load(&mut tx, live_id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: live,
        events: vec![event],
    })
}

/// Removes a product; the ones after it move up a number. Unpins it if it was pinned.
pub async fn remove_from_cart(
    store: &Store,
    live_id: i64,
    product_id: i64,
) -> Result<Changed<Live>> {
    let mut tx = store.begin_write().await?;
    let live = load(&mut tx, live_id).await?;
    ensure_open(&live)?;
    if !live.cart.iter().any(|item| item.product.id == product_id) {
        return Err(Error::NotFound(format!(
            "product {product_id} in the cart of live {live_id}"
        )));
    }
    let mut events = Vec::new();
    if live
        .pin
        .as_ref()
        .is_some_and(|p| p.product_id == product_id)
    {
        events.push(close_pin(&mut tx, live_id, now_ms()).await?);
    }
    let ids: Vec<i64> = live
        .cart
        .iter()
        .map(|item| item.product.id)
        .filter(|id| *id != product_id)
        .collect();
    events.push(write_cart(&mut tx, live_id, &ids).await?);
    let live = load(&mut tx, live_id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: live,
        events,
    })
}

async fn close_pin(conn: &mut Conn, live_id: i64, now: i64) -> Result<Event> {
    sqlx::query("update pins set ended_at_ms = $1 where live_id = $2 and ended_at_ms is null")
        .bind(now)
        .bind(live_id)
        .execute(&mut *conn)
        .await?;
    events::append(
        conn,
        live_id,
        LiveEvent::PinChanged {
            pin: None,
            position: None,
            product: None,
        },
    )
    .await
}

/// Pins (讲解) a product of the cart; the previous pin window ends at the same instant.
pub async fn pin(store: &Store, live_id: i64, req: &PinRequest) -> Result<Changed<Live>> {
    let selling_point = req
        .selling_point
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    check_text("selling_point", &selling_point, 0, 40)?;
    let mut tx = store.begin_write().await?;
    let live = load(&mut tx, live_id).await?;
    ensure_open(&live)?;
    let event = pin_in(&mut tx, &live, req.product_id, selling_point).await?;
    let live = load(&mut tx, live_id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: live,
        events: vec![event],
    })
}

/// Pins `product_id` of `live`'s cart in the caller's transaction, ending the pin before.
pub(crate) async fn pin_in(
    conn: &mut Conn,
    live: &Live,
    product_id: i64,
    selling_point: String,
) -> Result<Event> {
    let Some(item) = live.cart.iter().find(|item| item.product.id == product_id) else {
        return Err(Error::invalid(
            "product_id",
            format!("product {product_id} is not in this live's cart"),
        ));
    };
    let now = now_ms();
    sqlx::query("update pins set ended_at_ms = $1 where live_id = $2 and ended_at_ms is null")
        .bind(now)
        .bind(live.id)
        .execute(&mut *conn)
        .await?;
    let pin_id: i64 = sqlx::query_scalar(
        "insert into pins (live_id, product_id, selling_point, started_at_ms) values ($1, $2, $3, $4) returning id",
    )
    .bind(live.id)
    .bind(product_id)
    .bind(&selling_point)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let pin = Pin {
        id: pin_id,
        product_id,
        selling_point,
        started_at_ms: now,
        ended_at_ms: None,
    };
    events::append(
        conn,
        live.id,
        LiveEvent::PinChanged {
            pin: Some(pin),
            position: Some(item.position),
            product: Some(item.product.clone()),
        },
    )
    .await
}

/// Ends the current pin window, if any.
pub async fn unpin(store: &Store, live_id: i64) -> Result<Changed<Live>> {
    let mut tx = store.begin_write().await?;
    let live = load(&mut tx, live_id).await?;
    let events = if live.pin.is_some() {
        vec![close_pin(&mut tx, live_id, now_ms()).await?]
    } else {
        Vec::new()
    };
    let live = load(&mut tx, live_id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: live,
        events,
    })
}

/// Every pin window of a live, oldest first (analytics, replay clips).
pub async fn pin_history(store: &Store, live_id: i64) -> Result<Vec<Pin>> {
    let rows: Vec<(i64, i64, String, i64, Option<i64>)> = sqlx::query_as(
        "select id, product_id, selling_point, started_at_ms, ended_at_ms from pins where live_id = $1 order by id",
    )
    .bind(live_id)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, product_id, selling_point, started_at_ms, ended_at_ms)| Pin {
                id,
                product_id,
                selling_point,
                started_at_ms,
                ended_at_ms,
            },
        )
        .collect())
}
