//! 秒杀 (flash sales): a SKU sold at a sale price, in a limited quantity, for a limited time,
//! with a per-buyer limit. The quantity is reserved out of the SKU's stock when the sale is
//! created, so the sale can never oversell and normal orders cannot eat into it; orders take
//! from `remaining` with a conditional update; when the sale closes, what is left goes back.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use super::products::MAX_PRICE_FEN;
use super::{Changed, lives, pin_rules};
use crate::error::{Error, Result, check_range, now_ms};
use crate::events::{self, Event, LiveEvent, SkuStock};
use crate::store::{Conn, Store};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct FlashSale {
    pub id: i64,
    pub live_id: i64,
    pub sku_id: i64,
    pub sale_price_fen: i64,
    pub quantity: i64,
    pub remaining: i64,
    pub per_user_limit: i64,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// `open` until it ends (time up, sold out and stopped, or stopped by staff).
    pub open: bool,
}

/// `POST /api/lives/{id}/flash-sales`.
#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewFlashSale {
    pub sku_id: i64,
    pub sale_price_fen: i64,
    pub quantity: i64,
    #[serde(default)]
    #[ts(optional)]
    pub per_user_limit: Option<i64>,
    /// Defaults to now; a later time shows a countdown first.
    #[serde(default)]
    #[ts(optional)]
    pub starts_at_ms: Option<i64>,
    pub duration_secs: i64,
}

/// The sale an order item is bought under, as `orders::place` needs it.
#[derive(Debug, Clone, Copy)]
pub struct ActiveSale {
    pub id: i64,
    pub sale_price_fen: i64,
    pub per_user_limit: i64,
}

type Row = (i64, i64, i64, i64, i64, i64, i64, i64, i64, String);

/// The columns of [`Row`], spliced into queries at compile time.
macro_rules! columns {
    () => {
        "id, live_id, sku_id, sale_price_fen, quantity, remaining, per_user_limit, starts_at_ms, ends_at_ms, status"
    };
}

fn from_row(r: Row) -> FlashSale {
    FlashSale {
        id: r.0,
        live_id: r.1,
        sku_id: r.2,
        sale_price_fen: r.3,
        quantity: r.4,
        remaining: r.5,
        per_user_limit: r.6,
        starts_at_ms: r.7,
        ends_at_ms: r.8,
        open: r.9 == "open",
    }
}

async fn load(conn: &mut Conn, id: i64) -> Result<FlashSale> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "select ",
        columns!(),
        " from flash_sales where id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(from_row)
        .ok_or_else(|| Error::NotFound(format!("flash sale {id}")))
}

pub async fn create(store: &Store, live_id: i64, new: &NewFlashSale) -> Result<Changed<FlashSale>> {
    check_range("sale_price_fen", new.sale_price_fen, 0, MAX_PRICE_FEN)?;
    check_range("quantity", new.quantity, 1, 1_000_000)?;
    let limit = new.per_user_limit.unwrap_or(1);
    check_range("per_user_limit", limit, 1, 99)?;
    check_range("duration_secs", new.duration_secs, 10, 24 * 3600)?;
    let now = now_ms();
    let starts = new.starts_at_ms.unwrap_or(now);
    check_range(
        "starts_at_ms",
        starts,
        now - 60_000,
        now + 7 * 24 * 3600 * 1000,
    )?;
    let ends = starts + new.duration_secs * 1000;

    let mut tx = store.begin_write().await?;
    lives::require_open(&mut tx, live_id).await?;
    let sku: Option<(i64, i64, i64)> = sqlx::query_as(
        "select s.price_fen, s.stock, s.product_id from skus s join live_products lp on lp.product_id = s.product_id \
         where s.id = $1 and lp.live_id = $2",
    )
    .bind(new.sku_id)
    .bind(live_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((price, stock, product_id)) = sku else {
        return Err(Error::invalid(
            "sku_id",
            "no such SKU among this live's cart products",
        ));
    };
    if new.sale_price_fen >= price {
        return Err(Error::invalid(
            "sale_price_fen",
            format!("must be below the regular price {price}"),
        ));
    }
    let overlapping: Option<i64> = sqlx::query_scalar(
        "select id from flash_sales where live_id = $1 and sku_id = $2 and status = 'open'",
    )
    .bind(live_id)
    .bind(new.sku_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(other) = overlapping {
        return Err(Error::Conflict(format!(
            "flash sale {other} for this SKU is still open"
        )));
    }
    let stock_left: Option<i64> = sqlx::query_scalar(
        "update skus set stock = stock - $1 where id = $2 and stock >= $1 returning stock",
    )
    .bind(new.quantity)
    .bind(new.sku_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(stock_left) = stock_left else {
        return Err(Error::invalid("quantity", format!("only {stock} in stock")));
    };
    let id: i64 = sqlx::query_scalar(
        "insert into flash_sales (live_id, sku_id, sale_price_fen, quantity, remaining, per_user_limit, \
         starts_at_ms, ends_at_ms, status, created_at_ms) values ($1, $2, $3, $4, $4, $5, $6, $7, 'open', $8) returning id",
    )
    .bind(live_id)
    .bind(new.sku_id)
    .bind(new.sale_price_fen)
    .bind(new.quantity)
    .bind(limit)
    .bind(starts)
    .bind(ends)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let sale = load(&mut tx, id).await?;
    let created = events::append(
        &mut tx,
        live_id,
        LiveEvent::FlashSaleCreated {
            sale: sale.clone(),
            server_now_ms: now_ms(),
        },
    )
    .await?;
    // The reserved units leave the SKU's own stock: pages showing it must know.
    let skus = [SkuStock {
        sku_id: new.sku_id,
        product_id,
        stock: stock_left,
    }];
    let reserved = events::append(
        &mut tx,
        live_id,
        LiveEvent::StockChanged {
            skus: skus.to_vec(),
        },
    )
    .await?;
    let mut events = vec![created, reserved];
    events.extend(pin_rules::after_stock_fell(&mut tx, live_id, &skus).await?);
    tx.commit().await?;
    Ok(Changed {
        value: sale,
        events,
    })
}

pub async fn list(store: &Store, live_id: i64) -> Result<Vec<FlashSale>> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "select ",
        columns!(),
        " from flash_sales where live_id = $1 order by id"
    ))
    .bind(live_id)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The open sale of `sku_id` in `live_id` running at `now`, if any.
pub async fn active(
    conn: &mut Conn,
    live_id: i64,
    sku_id: i64,
    now: i64,
) -> Result<Option<ActiveSale>> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "select id, sale_price_fen, per_user_limit from flash_sales where live_id = $1 and sku_id = $2 \
         and status = 'open' and starts_at_ms <= $3 and ends_at_ms > $3",
    )
    .bind(live_id)
    .bind(sku_id)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, sale_price_fen, per_user_limit)| ActiveSale {
        id,
        sale_price_fen,
        per_user_limit,
    }))
}

/// A mainland mobile number as one key, whether written with `+86` or without.
pub fn phone_key(phone: &str) -> &str {
    phone.strip_prefix("+86").unwrap_or(phone)
}

/// Takes `quantity` units of the sale for `viewer_id` shipping to `phone`, within the limit,
/// which holds per viewer and per phone number (viewer tokens are free; a phone number that
/// receives the parcel is not). Returns the units left, or `None` when the sale cannot cover
/// the quantity (sold out).
pub async fn take(
    conn: &mut Conn,
    sale: &ActiveSale,
    viewer_id: i64,
    phone: &str,
    quantity: i64,
    field: &str,
) -> Result<Option<i64>> {
    let phone = phone_key(phone);
    let held: i64 = sqlx::query_scalar(
        "select coalesce((select quantity from flash_sale_buyers where flash_sale_id = $1 and viewer_id = $2), 0)",
    )
    .bind(sale.id)
    .bind(viewer_id)
    .fetch_one(&mut *conn)
    .await?;
    let by_phone: i64 = sqlx::query_scalar(
        "select coalesce((select quantity from flash_sale_phones where flash_sale_id = $1 and phone = $2), 0)",
    )
    .bind(sale.id)
    .bind(phone)
    .fetch_one(&mut *conn)
    .await?;
    let held = held.max(by_phone);
    if held + quantity > sale.per_user_limit {
        return Err(Error::invalid(
            field,
            format!(
                "flash sale limit is {} per buyer; you already hold {held}",
                sale.per_user_limit
            ),
        ));
    }
    let left: Option<i64> = sqlx::query_scalar(
        "update flash_sales set remaining = remaining - $1 where id = $2 and remaining >= $1 returning remaining",
    )
    .bind(quantity)
    .bind(sale.id)
    .fetch_optional(&mut *conn)
    .await?;
    if left.is_some() {
        sqlx::query(
            "insert into flash_sale_buyers (flash_sale_id, viewer_id, quantity) values ($1, $2, $3) \
             on conflict (flash_sale_id, viewer_id) do update set quantity = flash_sale_buyers.quantity + excluded.quantity",
        )
        .bind(sale.id)
        .bind(viewer_id)
        .bind(quantity)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "insert into flash_sale_phones (flash_sale_id, phone, quantity) values ($1, $2, $3) \
             on conflict (flash_sale_id, phone) do update set quantity = flash_sale_phones.quantity + excluded.quantity",
        )
        .bind(sale.id)
        .bind(phone)
        .bind(quantity)
        .execute(conn)
        .await?;
    }
    Ok(left)
}

/// Gives units of a cancelled order back: to the sale while it is open, else to the SKU.
/// Returns the SKU's stock when it changed.
/// Where units of a cancelled order went back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GivenBack {
    /// To the sale, still open: it has this many left now.
    Sale { sale_id: i64, remaining: i64 },
    /// To the SKU's stock (the sale has ended): it has this many now.
    Stock(i64),
}

pub async fn give_back(
    conn: &mut Conn,
    sale_id: i64,
    sku_id: i64,
    (viewer_id, phone): (i64, &str),
    quantity: i64,
) -> Result<GivenBack> {
    sqlx::query("update flash_sale_buyers set quantity = case when quantity > $1 then quantity - $1 else 0 end where flash_sale_id = $2 and viewer_id = $3")
        .bind(quantity)
        .bind(sale_id)
        .bind(viewer_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update flash_sale_phones set quantity = case when quantity > $1 then quantity - $1 else 0 end where flash_sale_id = $2 and phone = $3")
        .bind(quantity)
        .bind(sale_id)
        .bind(phone_key(phone))
        .execute(&mut *conn)
        .await?;
    let back_to_sale: Option<i64> = sqlx::query_scalar(
        "update flash_sales set remaining = remaining + $1 where id = $2 and status = 'open' returning remaining",
    )
    .bind(quantity)
    .bind(sale_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(remaining) = back_to_sale {
        return Ok(GivenBack::Sale { sale_id, remaining });
    }
    let stock: i64 =
        sqlx::query_scalar("update skus set stock = stock + $1 where id = $2 returning stock")
            .bind(quantity)
            .bind(sku_id)
            .fetch_one(conn)
            .await?;
    Ok(GivenBack::Stock(stock))
}

async fn close(conn: &mut Conn, sale: &FlashSale) -> Result<Event> {
    sqlx::query("update flash_sales set status = 'closed', remaining = 0 where id = $1")
        .bind(sale.id)
        .execute(&mut *conn)
        .await?;
    let stock: i64 =
        sqlx::query_scalar("update skus set stock = stock + $1 where id = $2 returning stock")
            .bind(sale.remaining)
            .bind(sale.sku_id)
            .fetch_one(&mut *conn)
            .await?;
    let sold = sale.quantity - sale.remaining;
    events::append(
        conn,
        sale.live_id,
        LiveEvent::FlashSaleEnded {
            id: sale.id,
            sold,
            returned: sale.remaining,
            sku_id: sale.sku_id,
            stock,
        },
    )
    .await
}

/// Staff end a sale early; its unsold units go back to the SKU.
pub async fn stop(store: &Store, id: i64) -> Result<Changed<FlashSale>> {
    let mut tx = store.begin_write().await?;
    let sale = load(&mut tx, id).await?;
    if !sale.open {
        return Err(Error::Conflict(format!(
            "flash sale {id} has already ended"
        )));
    }
    let event = close(&mut tx, &sale).await?;
    let sale = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: sale,
        events: vec![event],
    })
}

/// Closes every open sale whose time is up at `now`.
pub async fn close_due(store: &Store, now: i64) -> Result<Changed<usize>> {
    let mut tx = store.begin_write().await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("select id from flash_sales where status = 'open' and ends_at_ms <= $1")
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        let sale = load(&mut tx, *id).await?;
        out.push(close(&mut tx, &sale).await?);
    }
    tx.commit().await?;
    Ok(Changed {
        value: ids.len(),
        events: out,
    })
}
