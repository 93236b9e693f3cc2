//! Orders: placed by viewers with an idempotency key, stock taken by a conditional update in
//! the same transaction (`… where stock >= qty`), so stock never goes below zero and a retried
//! request never makes a second order. Unpaid orders expire and give their stock back.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use super::Changed;
mod closing;

pub use closing::{cancel, expire_due};

use super::{coupons, flash_sales, pin_rules};
use crate::auth::Principal;
use crate::error::{Error, Result, check_range, check_text, now_ms};
use crate::events::{self, LiveEvent, SaleRemaining, SkuStock};
use crate::store::{Conn, Store};

const MAX_ITEMS: usize = 20;
const MAX_QUANTITY: i64 = 99;

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

fn check_key(key: &str) -> Result<()> {
    let ok = (8..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(Error::invalid(
            "Idempotency-Key",
            "must be 8–64 printable ASCII characters (e.g. a UUID made once per buy tap)",
        ));
    }
    Ok(())
}

fn check_phone(phone: &str) -> Result<()> {
    let digits = phone.strip_prefix("+86").unwrap_or(phone);
    let ok = digits.len() == 11
        && digits.starts_with('1')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if !ok {
        return Err(Error::invalid(
            "shipping.phone",
            "must be an 11-digit mobile number",
        ));
    }
    Ok(())
}

fn validate(new: &NewOrder) -> Result<()> {
    if new.items.is_empty() || new.items.len() > MAX_ITEMS {
        return Err(Error::invalid(
            "items",
            format!("must list 1–{MAX_ITEMS} items"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, item) in new.items.iter().enumerate() {
        check_range(
            &format!("items[{i}].quantity"),
            item.quantity,
            1,
            MAX_QUANTITY,
        )?;
        if !seen.insert(item.sku_id) {
            return Err(Error::invalid(
                format!("items[{i}].sku_id"),
                "SKU listed twice",
            ));
        }
    }
    check_text("shipping.name", &new.shipping.name, 1, 20)?;
    check_phone(&new.shipping.phone)?;
    check_text("shipping.address", &new.shipping.address, 5, 200)?;
    Ok(())
}

/// Places an order for `viewer_id`, or returns the order this key already made.
pub async fn place(
    store: &Store,
    viewer_id: i64,
    key: &str,
    new: &NewOrder,
    ttl_ms: i64,
) -> Result<Changed<Placed>> {
    check_key(key)?;
    validate(new)?;
    // Fast path without the write lock, which every buyer of a flash sale would otherwise
    // queue for: a retry gets its order back, and an item already sold out is refused with
    // a read. Both are checked again under the lock below, which is what makes them true.
    {
        let mut conn = store.pool().acquire().await?;
        if let Some(id) = existing_order(&mut conn, viewer_id, key).await? {
            let order = load(&mut conn, id).await?;
            return Ok(Changed {
                value: Placed {
                    order,
                    created: false,
                },
                events: Vec::new(),
            });
        }
        let now = now_ms();
        for item in &new.items {
            if !available(&mut conn, new.live_id, item.sku_id, item.quantity, now).await? {
                return Err(Error::SoldOut(format!("SKU {}", item.sku_id)));
            }
        }
    }
    let mut tx = store.begin_write().await?;
    if let Some(id) = existing_order(&mut tx, viewer_id, key).await? {
        let order = load(&mut tx, id).await?;
        return Ok(Changed {
            value: Placed {
                order,
                created: false,
            },
            events: Vec::new(),
        });
    }
    if let Some(live_id) = new.live_id
        && super::lives::status_of(&mut tx, live_id).await?.is_none()
    {
        return Err(Error::invalid("live_id", format!("no live {live_id}")));
    }

    let now = now_ms();
    let mut items = Vec::with_capacity(new.items.len());
    let mut stock_after = Vec::with_capacity(new.items.len());
    let mut sales_after = Vec::new();
    let mut total: i64 = 0;
    for (i, wanted) in new.items.iter().enumerate() {
        let row: Option<(i64, String, i64, String, String)> = sqlx::query_as(
            "select s.price_fen, s.name, p.id, p.title, p.status from skus s \
             join products p on p.id = s.product_id where s.id = $1",
        )
        .bind(wanted.sku_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((price, sku_name, product_id, title, status)) = row else {
            return Err(Error::invalid(
                format!("items[{i}].sku_id"),
                format!("no SKU {}", wanted.sku_id),
            ));
        };
        if status != "active" {
            return Err(Error::Conflict(format!("{title} is no longer on sale")));
        }
        let sale = match new.live_id {
            Some(live_id) => flash_sales::active(&mut tx, live_id, wanted.sku_id, now).await?,
            None => None,
        };
        let (price, flash_sale_id) = match sale {
            Some(sale) => {
                let field = format!("items[{i}].quantity");
                let Some(left) = flash_sales::take(
                    &mut tx,
                    &sale,
                    viewer_id,
                    &new.shipping.phone,
                    wanted.quantity,
                    &field,
                )
                .await?
                else {
                    return Err(Error::SoldOut(format!("the 秒杀 for {title} ({sku_name})")));
                };
                sales_after.push(SaleRemaining {
                    id: sale.id,
                    remaining: left,
                });
                (sale.sale_price_fen, Some(sale.id))
            }
            None => {
                take_stock(
                    &mut tx,
                    wanted.sku_id,
                    wanted.quantity,
                    &title,
                    &sku_name,
                    product_id,
                    &mut stock_after,
                )
                .await?;
                (price, None)
            }
        };
        total = price
            .checked_mul(wanted.quantity)
            .and_then(|line| total.checked_add(line))
            .ok_or_else(|| Error::invalid("items", "order total is too large"))?;
        items.push(OrderItem {
            sku_id: wanted.sku_id,
            product_id,
            title,
            sku_name,
            unit_price_fen: price,
            quantity: wanted.quantity,
            flash_sale_id,
        });
    }
    let id: i64 = sqlx::query_scalar(
        "insert into orders (viewer_id, live_id, idempotency_key, status, total_fen, recipient_name, phone, \
         address, created_at_ms, expires_at_ms) values ($1, $2, $3, 'created', $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(viewer_id)
    .bind(new.live_id)
    .bind(key)
    .bind(total)
    .bind(new.shipping.name.trim())
    .bind(&new.shipping.phone)
    .bind(new.shipping.address.trim())
    .bind(now)
    .bind(now + ttl_ms)
    .fetch_one(&mut *tx)
    .await?;
    for item in &items {
        sqlx::query(
            "insert into order_items (order_id, sku_id, product_id, title, sku_name, unit_price_fen, quantity, \
             flash_sale_id) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(item.sku_id)
        .bind(item.product_id)
        .bind(&item.title)
        .bind(&item.sku_name)
        .bind(item.unit_price_fen)
        .bind(item.quantity)
        .bind(item.flash_sale_id)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(claim) = new.coupon_claim_id {
        let order = coupons::Redemption {
            viewer_id,
            order_id: id,
            live_id: new.live_id,
            total_fen: total,
        };
        let discount = coupons::redeem(&mut tx, claim, order, "coupon_claim_id").await?;
        sqlx::query("update orders set discount_fen = $1, total_fen = $2, coupon_claim_id = $3 where id = $4")
            .bind(discount)
            .bind(total - discount)
            .bind(claim)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let order = load(&mut tx, id).await?;
    let mut events = Vec::new();
    if let Some(live_id) = new.live_id {
        events.push(
            events::append(
                &mut tx,
                live_id,
                LiveEvent::OrderCreated {
                    order: order.clone(),
                },
            )
            .await?,
        );
        let fell = stock_after.clone();
        for event in LiveEvent::stock_and_sales(stock_after, sales_after) {
            events.push(events::append(&mut tx, live_id, event).await?);
        }
        events.extend(pin_rules::after_stock_fell(&mut tx, live_id, &fell).await?);
    }
    tx.commit().await?;
    Ok(Changed {
        value: Placed {
            order,
            created: true,
        },
        events,
    })
}

async fn existing_order(conn: &mut Conn, viewer_id: i64, key: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("select id from orders where viewer_id = $1 and idempotency_key = $2")
            .bind(viewer_id)
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

/// Whether `quantity` of a SKU could still be bought now (from the live's running flash sale
/// if there is one, else from stock). Unknown SKUs count as available so that the locked
/// path reports them properly.
async fn available(
    conn: &mut Conn,
    live_id: Option<i64>,
    sku_id: i64,
    quantity: i64,
    now: i64,
) -> Result<bool> {
    if let Some(live_id) = live_id {
        let remaining: Option<i64> = sqlx::query_scalar(
            "select remaining from flash_sales where live_id = $1 and sku_id = $2 and status = 'open' \
             and starts_at_ms <= $3 and ends_at_ms > $3",
        )
        .bind(live_id)
        .bind(sku_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(remaining) = remaining {
            return Ok(remaining >= quantity);
        }
    }
    let stock: Option<i64> = sqlx::query_scalar("select stock from skus where id = $1")
        .bind(sku_id)
        .fetch_optional(conn)
        .await?;
    Ok(stock.is_none_or(|stock| stock >= quantity))
}

/// Takes `quantity` from a SKU's own stock, or fails with "sold out" and takes nothing.
async fn take_stock(
    conn: &mut Conn,
    sku_id: i64,
    quantity: i64,
    title: &str,
    sku_name: &str,
    product_id: i64,
    stock_after: &mut Vec<SkuStock>,
) -> Result<()> {
    let left: Option<i64> = sqlx::query_scalar(
        "update skus set stock = stock - $1 where id = $2 and stock >= $1 returning stock",
    )
    .bind(quantity)
    .bind(sku_id)
    .fetch_optional(conn)
    .await?;
    let Some(left) = left else {
        return Err(Error::SoldOut(format!(
            "{title} ({sku_name}): fewer than {quantity} left"
        )));
    };
    stock_after.push(SkuStock {
        sku_id,
        product_id,
        stock: left,
    });
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shipping(phone: &str) -> Shipping {
        Shipping {
            name: "张三".into(),
            phone: phone.into(),
            address: "上海市浦东新区世纪大道 100 号".into(),
        }
    }

    fn field(err: Error) -> String {
        match err {
            Error::InvalidField { field, .. } => field,
            other => panic!("expected InvalidField, got {other}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let order = |items: Vec<NewOrderItem>, phone: &str| NewOrder {
            live_id: None,
            items,
            shipping: shipping(phone),
            coupon_claim_id: None,
        };
        let one = || {
            vec![NewOrderItem {
                sku_id: 1,
                quantity: 1,
            }]
        };
        assert_eq!(
            field(validate(&order(one(), "12345")).unwrap_err()),
            "shipping.phone"
        );
        assert_eq!(
            field(validate(&order(one(), "12812345678")).unwrap_err()),
            "shipping.phone"
        );
        assert!(validate(&order(one(), "13812345678")).is_ok());
        assert!(validate(&order(one(), "+8613812345678")).is_ok());
        assert_eq!(
            field(validate(&order(vec![], "13812345678")).unwrap_err()),
            "items"
        );
        let zero = vec![NewOrderItem {
            sku_id: 1,
            quantity: 0,
        }];
        assert_eq!(
            field(validate(&order(zero, "13812345678")).unwrap_err()),
            "items[0].quantity"
        );
        assert_eq!(field(check_key("short").unwrap_err()), "Idempotency-Key");
    }
}
