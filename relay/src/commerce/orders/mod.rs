//! Orders: placed by viewers with an idempotency key, stock taken by a conditional update in
//! the same transaction (`… where stock >= qty`), so stock never goes below zero and a retried
//! request never makes a second order. Unpaid orders expire and give their stock back.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

mod closing;
mod placing;

pub use closing::{cancel, expire_due};
pub use placing::place;

use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::store::{Conn, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum OrderStatus {
    /// Placed, stock reserved, waiting for payment.
    Created,
    /// Paid; to be shipped.
    Paid,
    Shipped,
    Completed,
    /// Cancelled before payment (by the buyer, staff or expiry); stock returned.
    Cancelled,
    /// Cancelled after payment; stock returned, money to be refunded.
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "paid" => Self::Paid,
            "shipped" => Self::Shipped,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            "refunded" => Self::Refunded,
            _ => Self::Created,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Shipping {
    pub name: String,
    /// Mainland mobile number, 11 digits.
    pub phone: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct OrderItem {
    pub sku_id: i64,
    pub product_id: i64,
    pub title: String,
    pub sku_name: String,
    pub unit_price_fen: i64,
    pub quantity: i64,
    /// Bought under this 秒杀, at its price.
    #[ts(optional)]
    pub flash_sale_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Order {
    pub id: i64,
    pub viewer_id: i64,
    #[ts(optional)]
    pub live_id: Option<i64>,
    pub status: OrderStatus,
    /// What the buyer pays: the items' sum minus `discount_fen`.
    pub total_fen: i64,
    /// Taken off by a coupon.
    pub discount_fen: i64,
    #[ts(optional)]
    pub coupon_claim_id: Option<i64>,
    pub shipping: Shipping,
    pub items: Vec<OrderItem>,
    pub created_at_ms: i64,
    /// An unpaid order is cancelled at this time and its stock returned.
    pub expires_at_ms: i64,
    #[ts(optional)]
    pub paid_at_ms: Option<i64>,
    #[ts(optional)]
    pub closed_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewOrderItem {
    pub sku_id: i64,
    pub quantity: i64,
}

/// `POST /api/orders` body; the `Idempotency-Key` header goes with it.
#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewOrder {
    /// The live the order was placed from (for its feed and GMV).
    #[serde(default)]
    #[ts(optional)]
    pub live_id: Option<i64>,
    pub items: Vec<NewOrderItem>,
    pub shipping: Shipping,
    /// A coupon the buyer holds (from `POST /api/coupons/{id}/claim`).
    #[serde(default)]
    #[ts(optional)]
    pub coupon_claim_id: Option<i64>,
}

/// The result of placing: `created` is false when the key had already made this order.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Placed {
    pub order: Order,
    pub created: bool,
}

pub async fn load(conn: &mut Conn, id: i64) -> Result<Order> {
    type Row = (
        i64,
        i64,
        Option<i64>,
        String,
        i64,
        String,
        String,
        String,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        i64,
        Option<i64>,
    );
    let row: Option<Row> = sqlx::query_as(
        "select id, viewer_id, live_id, status, total_fen, recipient_name, phone, address, \
         created_at_ms, expires_at_ms, paid_at_ms, closed_at_ms, discount_fen, coupon_claim_id \
         from orders where id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((
        id,
        viewer_id,
        live_id,
        status,
        total_fen,
        name,
        phone,
        address,
        created_at_ms,
        expires_at_ms,
        paid_at_ms,
        closed_at_ms,
        discount_fen,
        coupon_claim_id,
    )) = row
    else {
        return Err(Error::NotFound(format!("order {id}")));
    };
    let items = sqlx::query_as::<_, (i64, i64, String, String, i64, i64, Option<i64>)>(
        "select sku_id, product_id, title, sku_name, unit_price_fen, quantity, flash_sale_id \
         from order_items where order_id = $1 order by sku_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(
        |(sku_id, product_id, title, sku_name, unit_price_fen, quantity, flash_sale_id)| {
            OrderItem {
                sku_id,
                product_id,
                title,
                sku_name,
                unit_price_fen,
                quantity,
                flash_sale_id,
            }
        },
    )
    .collect();
    Ok(Order {
        id,
        viewer_id,
        live_id,
        status: OrderStatus::parse(&status),
        total_fen,
        discount_fen,
        coupon_claim_id,
        shipping: Shipping {
            name,
            phone,
            address,
        },
        items,
        created_at_ms,
        expires_at_ms,
        paid_at_ms,
        closed_at_ms,
    })
}

/// An order as `who` may see it: staff see all, a viewer only their own (others are "not found").
pub async fn get(store: &Store, who: &Principal, id: i64) -> Result<Order> {
    let mut conn = store.pool().acquire().await?;
    let order = load(&mut conn, id).await?;
    match who {
        Principal::Staff { .. } => Ok(order),
        Principal::Viewer { id: viewer, .. } if *viewer == order.viewer_id => Ok(order),
        Principal::Viewer { .. } => Err(Error::NotFound(format!("order {id}"))),
    }
}

/// Newest first: a viewer's own orders, or (staff) all orders, optionally of one live.
pub async fn list(store: &Store, who: &Principal, live_id: Option<i64>) -> Result<Vec<Order>> {
    let viewer = match who {
        Principal::Viewer { id, .. } => Some(*id),
        Principal::Staff { .. } => None,
    };
    let mut conn = store.pool().acquire().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "select id from orders where ($1 is null or viewer_id = $1) and ($2 is null or live_id = $2) \
         order by id desc limit 500",
    )
    .bind(viewer)
    .bind(live_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut orders = Vec::with_capacity(ids.len());
    for id in ids {
        orders.push(load(&mut conn, id).await?);
    }
    Ok(orders)
}
