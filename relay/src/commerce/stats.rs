//! The live dashboard's numbers: viewers, interaction, orders, paid GMV, per product and per
//! 讲解 window (did pinning a product sell it?). Computed from the store on request.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::{Result, now_ms};
use crate::presence::Counts;
use crate::store::Store;

/// Orders in these states count towards GMV; spliced into queries at compile time.
macro_rules! paid {
    () => {
        "('paid', 'shipped', 'completed')"
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct ProductStats {
    pub product_id: i64,
    pub title: String,
    /// Times viewers opened its card in this live; orders / clicks is its conversion.
    pub clicks: i64,
    /// Orders containing it (any state but cancelled).
    pub orders: i64,
    pub units: i64,
    pub paid_gmv_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct PinStats {
    pub pin_id: i64,
    pub product_id: i64,
    pub started_at_ms: i64,
    #[ts(optional)]
    pub ended_at_ms: Option<i64>,
    /// Orders for the pinned product placed while it was pinned.
    pub orders: i64,
    pub units: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct LiveStats {
    pub live_id: i64,
    pub viewers_now: i64,
    pub viewers_peak: i64,
    pub comments: i64,
    pub likes: i64,
    /// Orders placed, any state but cancelled.
    pub orders: i64,
    pub paid_orders: i64,
    pub paid_gmv_fen: i64,
    pub products: Vec<ProductStats>,
    pub pins: Vec<PinStats>,
}

pub async fn for_live(store: &Store, live_id: i64, viewers: Counts) -> Result<LiveStats> {
    let pool = store.pool();
    let comments: i64 = sqlx::query_scalar("select count(*) from comments where live_id = $1")
        .bind(live_id)
        .fetch_one(pool)
        .await?;
    let likes: i64 =
        sqlx::query_scalar("select coalesce((select total from live_likes where live_id = $1), 0)")
            .bind(live_id)
            .fetch_one(pool)
            .await?;
    let (orders, paid_orders, paid_gmv_fen): (i64, i64, i64) = sqlx::query_as(concat!(
        "select count(*), cast(coalesce(sum(case when status in ",
        paid!(),
        " then 1 else 0 end), 0) as bigint), cast(coalesce(sum(case when status in ",
        paid!(),
        " then total_fen else 0 end), 0) as bigint) ",
        "from orders where live_id = $1 and status <> 'cancelled'"
    ))
    .bind(live_id)
    .fetch_one(pool)
    .await?;
    let mut products: Vec<ProductStats> = sqlx::query_as::<_, (i64, String, i64, i64, i64)>(concat!(
        "select i.product_id, max(i.title), count(distinct o.id), cast(sum(i.quantity) as bigint), ",
        "cast(coalesce(sum(case when o.status in ",
        paid!(),
        " then i.unit_price_fen * i.quantity else 0 end), 0) as bigint) ",
        "from order_items i join orders o on o.id = i.order_id ",
        "where o.live_id = $1 and o.status <> 'cancelled' group by i.product_id order by 5 desc, 1"
    ))
    .bind(live_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(
        |(product_id, title, orders, units, paid_gmv_fen)| ProductStats {
            product_id,
            title,
            clicks: 0,
            orders,
            units,
            paid_gmv_fen,
        },
    )
    .collect();
    let clicks: Vec<(i64, String, i64)> = sqlx::query_as(
        "select c.product_id, p.title, c.clicks from live_product_clicks c \
         join products p on p.id = c.product_id where c.live_id = $1",
    )
    .bind(live_id)
    .fetch_all(pool)
    .await?;
    for (product_id, title, count) in clicks {
        match products.iter_mut().find(|p| p.product_id == product_id) {
            Some(p) => p.clicks = count,
            None => products.push(ProductStats {
                product_id,
                title,
                clicks: count,
                orders: 0,
                units: 0,
                paid_gmv_fen: 0,
            }),
        }
    }
    // Orders for the pinned product placed inside its window (an open window runs to now).
    let pins = sqlx::query_as::<_, (i64, i64, i64, Option<i64>, i64, i64)>(
        "select p.id, p.product_id, p.started_at_ms, p.ended_at_ms, \
         (select count(distinct o.id) from orders o join order_items i on i.order_id = o.id \
          where o.live_id = p.live_id and o.status <> 'cancelled' and i.product_id = p.product_id \
          and o.created_at_ms >= p.started_at_ms and o.created_at_ms < coalesce(p.ended_at_ms, $2)), \
         (select cast(coalesce(sum(i.quantity), 0) as bigint) from orders o join order_items i on i.order_id = o.id \
          where o.live_id = p.live_id and o.status <> 'cancelled' and i.product_id = p.product_id \
          and o.created_at_ms >= p.started_at_ms and o.created_at_ms < coalesce(p.ended_at_ms, $2)) \
         from pins p where p.live_id = $1 order by p.id",
    )
    .bind(live_id)
    .bind(now_ms() + 1)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(pin_id, product_id, started_at_ms, ended_at_ms, orders, units)| PinStats {
        pin_id,
        product_id,
        started_at_ms,
        ended_at_ms,
        orders,
        units,
    })
    .collect();
    Ok(LiveStats {
        live_id,
        viewers_now: viewers.now,
        viewers_peak: viewers.peak,
        comments,
        likes,
        orders,
        paid_orders,
        paid_gmv_fen,
        products,
        pins,
    })
}

/// Counts a viewer opening a product's card in a live. Only products in the live's cart.
pub async fn record_click(store: &Store, live_id: i64, product_id: i64) -> Result<()> {
    let in_cart: Option<i64> = sqlx::query_scalar(
        "select position from live_products where live_id = $1 and product_id = $2",
    )
    .bind(live_id)
    .bind(product_id)
    .fetch_optional(store.pool())
    .await?;
    if in_cart.is_none() {
        return Err(crate::error::Error::invalid(
            "product_id",
            format!("product {product_id} is not in this live's cart"),
        ));
    }
    sqlx::query(
        "insert into live_product_clicks (live_id, product_id, clicks) values ($1, $2, 1) \
         on conflict (live_id, product_id) do update set clicks = live_product_clicks.clicks + 1",
    )
    .bind(live_id)
    .bind(product_id)
    .execute(store.pool())
    .await?;
    Ok(())
}
