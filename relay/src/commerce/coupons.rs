//! 优惠券 (coupons): created by staff, claimed by viewers (never more than the quantity,
//! never more than the per-buyer limit), applied to one order, given back if that order is
//! cancelled while the coupon is still valid.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use super::Changed;
use super::products::MAX_PRICE_FEN;
use crate::error::{Error, MAX_TIME_MS, Result, check_range, check_text, check_time_ms, now_ms};
use crate::events::{self, LiveEvent};
use crate::limits::ClientKey;
use crate::store::{Conn, Store};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Coupon {
    pub id: i64,
    /// The live it is handed out in; `None` = shop-wide.
    #[ts(optional)]
    pub live_id: Option<i64>,
    pub title: String,
    pub amount_off_fen: i64,
    /// The order total (before discount) must reach this.
    pub threshold_fen: i64,
    pub quantity: i64,
    pub claimed: i64,
    pub per_user_limit: i64,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewCoupon {
    #[serde(default)]
    #[ts(optional)]
    pub live_id: Option<i64>,
    pub title: String,
    pub amount_off_fen: i64,
    #[serde(default)]
    #[ts(optional)]
    pub threshold_fen: Option<i64>,
    pub quantity: i64,
    #[serde(default)]
    #[ts(optional)]
    pub per_user_limit: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub valid_from_ms: Option<i64>,
    pub valid_until_ms: i64,
}

/// A coupon a viewer holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct CouponClaim {
    pub id: i64,
    pub coupon: Coupon,
    pub claimed_at_ms: i64,
    #[ts(optional)]
    pub used_order_id: Option<i64>,
}

type Row = (i64, Option<i64>, String, i64, i64, i64, i64, i64, i64, i64);

macro_rules! columns {
    () => {
        "id, live_id, title, amount_off_fen, threshold_fen, quantity, claimed, per_user_limit, valid_from_ms, valid_until_ms"
    };
}

fn from_row(r: Row) -> Coupon {
    Coupon {
        id: r.0,
        live_id: r.1,
        title: r.2,
        amount_off_fen: r.3,
        threshold_fen: r.4,
        quantity: r.5,
        claimed: r.6,
        per_user_limit: r.7,
        valid_from_ms: r.8,
        valid_until_ms: r.9,
    }
}

async fn load(conn: &mut Conn, id: i64) -> Result<Coupon> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "select ",
        columns!(),
        " from coupons where id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(from_row)
        .ok_or_else(|| Error::NotFound(format!("coupon {id}")))
}

pub async fn create(store: &Store, new: &NewCoupon) -> Result<Changed<Coupon>> {
    check_text("title", &new.title, 1, 30)?;
    check_range("amount_off_fen", new.amount_off_fen, 1, MAX_PRICE_FEN)?;
    let threshold = new.threshold_fen.unwrap_or(0);
    check_range("threshold_fen", threshold, 0, MAX_PRICE_FEN)?;
    check_range("quantity", new.quantity, 1, 1_000_000)?;
    let limit = new.per_user_limit.unwrap_or(1);
    check_range("per_user_limit", limit, 1, 99)?;
    let now = now_ms();
    let from = new.valid_from_ms.unwrap_or(now);
    check_time_ms("valid_from_ms", from)?;
    check_range(
        "valid_until_ms",
        new.valid_until_ms,
        from.max(now) + 1,
        MAX_TIME_MS,
    )?;
    let mut tx = store.begin_write().await?;
    if let Some(live_id) = new.live_id
        && super::lives::status_of(&mut tx, live_id).await?.is_none()
    {
        return Err(Error::invalid("live_id", format!("no live {live_id}")));
    }
    let id: i64 = sqlx::query_scalar(
        "insert into coupons (live_id, title, amount_off_fen, threshold_fen, quantity, per_user_limit, \
         valid_from_ms, valid_until_ms, created_at_ms) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(new.live_id)
    .bind(new.title.trim())
    .bind(new.amount_off_fen)
    .bind(threshold)
    .bind(new.quantity)
    .bind(limit)
    .bind(from)
    .bind(new.valid_until_ms)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let coupon = load(&mut tx, id).await?;
    let mut out = Vec::new();
    if let Some(live_id) = coupon.live_id {
        out.push(
            events::append(
                &mut tx,
                live_id,
                LiveEvent::CouponCreated {
                    coupon: coupon.clone(),
                },
            )
            .await?,
        );
    }
    tx.commit().await?;
    Ok(Changed {
        value: coupon,
        events: out,
    })
}

pub async fn list(store: &Store, live_id: Option<i64>) -> Result<Vec<Coupon>> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "select ",
        columns!(),
        " from coupons where ($1 is null or live_id = $1 or live_id is null) and valid_until_ms > $2 order by id desc"
    ))
    .bind(live_id)
    .bind(now_ms())
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// A viewer claims one of the coupon's units. The per-buyer limit counts the viewer's claims
/// and, apart, the claims from the same address + device: a fresh viewer token is free.
pub async fn claim(
    store: &Store,
    coupon_id: i64,
    viewer_id: i64,
    client: &ClientKey,
) -> Result<CouponClaim> {
    let mut tx = store.begin_write().await?;
    let coupon = load(&mut tx, coupon_id).await?;
    let now = now_ms();
    if now < coupon.valid_from_ms || now >= coupon.valid_until_ms {
        return Err(Error::Conflict(format!(
            "coupon {coupon_id} is not valid now"
        )));
    }
    let held: i64 = sqlx::query_scalar(
        "select count(*) from coupon_claims where coupon_id = $1 and viewer_id = $2",
    )
    .bind(coupon_id)
    .bind(viewer_id)
    .fetch_one(&mut *tx)
    .await?;
    let from_client: i64 = match client.device_key() {
        Some(key) => {
            sqlx::query_scalar(
                "select count(*) from coupon_claims where coupon_id = $1 and client_key = $2",
            )
            .bind(coupon_id)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?
        }
        None => 0,
    };
    if held.max(from_client) >= coupon.per_user_limit {
        return Err(Error::Conflict(format!(
            "limit of {} per buyer reached",
            coupon.per_user_limit
        )));
    }
    let taken = sqlx::query(
        "update coupons set claimed = claimed + 1 where id = $1 and claimed < quantity",
    )
    .bind(coupon_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if taken == 0 {
        return Err(Error::Conflict(format!(
            "coupon {coupon_id} is all claimed"
        )));
    }
    let id: i64 = sqlx::query_scalar(
        "insert into coupon_claims (coupon_id, viewer_id, claimed_at_ms, client_key) values ($1, $2, $3, $4) returning id",
    )
    .bind(coupon_id)
    .bind(viewer_id)
    .bind(now)
    .bind(client.device_key())
    .fetch_one(&mut *tx)
    .await?;
    let coupon = load(&mut tx, coupon_id).await?;
    tx.commit().await?;
    Ok(CouponClaim {
        id,
        coupon,
        claimed_at_ms: now,
        used_order_id: None,
    })
}

/// The coupons a viewer holds, newest first.
pub async fn held_by(store: &Store, viewer_id: i64) -> Result<Vec<CouponClaim>> {
    let mut conn = store.pool().acquire().await?;
    let rows: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "select id, coupon_id, claimed_at_ms, used_order_id from coupon_claims where viewer_id = $1 order by id desc",
    )
    .bind(viewer_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, coupon_id, claimed_at_ms, used_order_id) in rows {
        out.push(CouponClaim {
            id,
            coupon: load(&mut conn, coupon_id).await?,
            claimed_at_ms,
            used_order_id,
        });
    }
    Ok(out)
}

/// Where an order is placed and what it costs, for [`redeem`].
#[derive(Debug, Clone, Copy)]
pub struct Redemption {
    pub viewer_id: i64,
    pub order_id: i64,
    /// The live the order is placed from; a live's coupon applies only to its orders.
    pub live_id: Option<i64>,
    pub total_fen: i64,
}

/// Uses a held coupon for an order, in the order's transaction; returns the discount.
/// `field` names the request field for errors.
pub async fn redeem(conn: &mut Conn, claim_id: i64, order: Redemption, field: &str) -> Result<i64> {
    let Redemption {
        viewer_id,
        order_id,
        live_id,
        total_fen,
    } = order;
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "select coupon_id, viewer_id, used_order_id from coupon_claims where id = $1",
    )
    .bind(claim_id)
    .fetch_optional(&mut *conn)
    .await?;
    // Someone else's coupon reads the same as none at all.
    let Some((coupon_id, _, used)) = row.filter(|(_, owner, _)| *owner == viewer_id) else {
        return Err(Error::invalid(
            field,
            format!("you hold no coupon {claim_id}"),
        ));
    };
    if used.is_some() {
        return Err(Error::invalid(field, "this coupon has already been used"));
    }
    let coupon = load(conn, coupon_id).await?;
    if let Some(scope) = coupon.live_id
        && live_id != Some(scope)
    {
        return Err(Error::invalid(
            field,
            format!("this coupon is for orders in live {scope}"),
        ));
    }
    let now = now_ms();
    if now < coupon.valid_from_ms || now >= coupon.valid_until_ms {
        return Err(Error::invalid(field, "this coupon is not valid now"));
    }
    if total_fen < coupon.threshold_fen {
        return Err(Error::invalid(
            field,
            format!("needs an order of at least {} fen", coupon.threshold_fen),
        ));
    }
    let marked = sqlx::query(
        "update coupon_claims set used_order_id = $1 where id = $2 and used_order_id is null",
    )
    .bind(order_id)
    .bind(claim_id)
    .execute(conn)
    .await?
    .rows_affected();
    if marked == 0 {
        return Err(Error::invalid(field, "this coupon has already been used"));
    }
    Ok(coupon.amount_off_fen.min(total_fen))
}

/// Gives a cancelled order's coupon back to its holder.
pub async fn release(conn: &mut Conn, order_id: i64) -> Result<()> {
    sqlx::query("update coupon_claims set used_order_id = null where used_order_id = $1")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}
