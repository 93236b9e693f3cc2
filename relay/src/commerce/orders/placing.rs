//! Placing an order: validated, replayed for a key already used, each line taken from a
//! running 秒杀 or the SKU's stock by a conditional update in one transaction, then written
//! with its coupon and told to the live.

use super::{NewOrder, OrderItem, Placed, load};
use crate::commerce::{Changed, coupons, flash_sales, lives, pin_rules};
use crate::error::{Error, Result, check_range, check_text, now_ms};
use crate::events::{self, LiveEvent, SaleRemaining, SkuStock};
use crate::store::{Conn, Store};

const MAX_ITEMS: usize = 20;
const MAX_QUANTITY: i64 = 99;

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
        if let Some(placed) = already_placed(&mut conn, viewer_id, key).await? {
            return Ok(placed);
        }
        let now = now_ms();
        for item in &new.items {
            if !available(&mut conn, new.live_id, item.sku_id, item.quantity, now).await? {
                return Err(Error::SoldOut(format!("SKU {}", item.sku_id)));
            }
        }
    }
    let mut tx = store.begin_write().await?;
    if let Some(placed) = already_placed(&mut tx, viewer_id, key).await? {
        return Ok(placed);
    }
    if let Some(live_id) = new.live_id
        && lives::status_of(&mut tx, live_id).await?.is_none()
    {
        return Err(Error::invalid("live_id", format!("no live {live_id}")));
    }
    let now = now_ms();
    let taken = take_items(&mut tx, viewer_id, new, now).await?;
    let id = insert_order(&mut tx, viewer_id, key, new, &taken, now, ttl_ms).await?;
    let order = load(&mut tx, id).await?;
    let mut events = Vec::new();
    if let Some(live_id) = new.live_id {
        let created = LiveEvent::OrderCreated {
            order: order.clone(),
        };
        events.push(events::append(&mut tx, live_id, created).await?);
        for event in LiveEvent::stock_and_sales(taken.stock_after.clone(), taken.sales_after) {
            events.push(events::append(&mut tx, live_id, event).await?);
        }
        events.extend(pin_rules::after_stock_fell(&mut tx, live_id, &taken.stock_after).await?);
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

/// The order this key already made, answered as a replay (nothing new to tell anyone).
async fn already_placed(
    conn: &mut Conn,
    viewer_id: i64,
    key: &str,
) -> Result<Option<Changed<Placed>>> {
    let Some(id) = existing_order(conn, viewer_id, key).await? else {
        return Ok(None);
    };
    Ok(Some(Changed {
        value: Placed {
            order: load(conn, id).await?,
            created: false,
        },
        events: Vec::new(),
    }))
}

/// What an order took: its lines at the prices paid, the total, and what is left of each
/// SKU's stock and each 秒杀 it drew on.
struct Taken {
    items: Vec<OrderItem>,
    total: i64,
    stock_after: Vec<SkuStock>,
    sales_after: Vec<SaleRemaining>,
}

/// Takes every line of the order from a running 秒杀 of the live, else from the SKU's stock;
/// any line that cannot be had fails the whole order (the caller's transaction takes nothing).
async fn take_items(conn: &mut Conn, viewer_id: i64, new: &NewOrder, now: i64) -> Result<Taken> {
    let mut taken = Taken {
        items: Vec::with_capacity(new.items.len()),
        total: 0,
        stock_after: Vec::with_capacity(new.items.len()),
        sales_after: Vec::new(),
    };
    for (i, wanted) in new.items.iter().enumerate() {
        let row: Option<(i64, String, i64, String, String)> = sqlx::query_as(
            "select s.price_fen, s.name, p.id, p.title, p.status from skus s \
             join products p on p.id = s.product_id where s.id = $1",
        )
        .bind(wanted.sku_id)
        .fetch_optional(&mut *conn)
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
            Some(live_id) => flash_sales::active(&mut *conn, live_id, wanted.sku_id, now).await?,
            None => None,
        };
        let (price, flash_sale_id) = match sale {
            Some(sale) => {
                let field = format!("items[{i}].quantity");
                let Some(left) = flash_sales::take(
                    &mut *conn,
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
                taken.sales_after.push(SaleRemaining {
                    id: sale.id,
                    remaining: left,
                });
                (sale.sale_price_fen, Some(sale.id))
            }
            None => {
                let left = take_stock(&mut *conn, wanted.sku_id, wanted.quantity)
                    .await?
                    .ok_or_else(|| {
                        Error::SoldOut(format!(
                            "{title} ({sku_name}): fewer than {} left",
                            wanted.quantity
                        ))
                    })?;
                taken.stock_after.push(SkuStock {
                    sku_id: wanted.sku_id,
                    product_id,
                    stock: left,
                });
                (price, None)
            }
        };
        taken.total = price
            .checked_mul(wanted.quantity)
            .and_then(|line| taken.total.checked_add(line))
            .ok_or_else(|| Error::invalid("items", "order total is too large"))?;
        taken.items.push(OrderItem {
            sku_id: wanted.sku_id,
            product_id,
            title,
            sku_name,
            unit_price_fen: price,
            quantity: wanted.quantity,
            flash_sale_id,
        });
    }
    Ok(taken)
}

/// Writes the order and its lines (and redeems its coupon), returning its id.
async fn insert_order(
    conn: &mut Conn,
    viewer_id: i64,
    key: &str,
    new: &NewOrder,
    taken: &Taken,
    now: i64,
    ttl_ms: i64,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "insert into orders (viewer_id, live_id, idempotency_key, status, total_fen, recipient_name, phone, \
         address, created_at_ms, expires_at_ms) values ($1, $2, $3, 'created', $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(viewer_id)
    .bind(new.live_id)
    .bind(key)
    .bind(taken.total)
    .bind(new.shipping.name.trim())
    .bind(&new.shipping.phone)
    .bind(new.shipping.address.trim())
    .bind(now)
    .bind(now + ttl_ms)
    .fetch_one(&mut *conn)
    .await?;
    for item in &taken.items {
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
        .execute(&mut *conn)
        .await?;
    }
    if let Some(claim) = new.coupon_claim_id {
        let order = coupons::Redemption {
            viewer_id,
            order_id: id,
            live_id: new.live_id,
            total_fen: taken.total,
        };
        let discount = coupons::redeem(&mut *conn, claim, order, "coupon_claim_id").await?;
        sqlx::query("update orders set discount_fen = $1, total_fen = $2, coupon_claim_id = $3 where id = $4")
            .bind(discount)
            .bind(taken.total - discount)
            .bind(claim)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
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

/// Takes `quantity` from a SKU's own stock and returns what is left, or takes nothing and
/// returns `None` when fewer are left.
async fn take_stock(conn: &mut Conn, sku_id: i64, quantity: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "update skus set stock = stock - $1 where id = $2 and stock >= $1 returning stock",
    )
    .bind(quantity)
    .bind(sku_id)
    .fetch_optional(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commerce::orders::{NewOrderItem, Shipping};

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
