//! Closing orders: a buyer or staff cancelling, staff refunding, and unpaid orders expiring.
//! Every path returns the order's stock (and flash-sale units and coupon) in one transaction.

use super::{Order, OrderStatus, load};
use crate::auth::Principal;
use crate::commerce::Changed;
use crate::commerce::flash_sales::GivenBack;
use crate::commerce::{coupons, flash_sales};
use crate::error::{Error, Result, now_ms};
use crate::events::{self, Event, LiveEvent, SaleRemaining, SkuStock};
use crate::store::{Conn, Store};

/// Closes an order and returns its stock, in the caller's transaction.
async fn close(
    conn: &mut Conn,
    order: &Order,
    status: OrderStatus,
    now: i64,
) -> Result<Vec<Event>> {
    if order.coupon_claim_id.is_some() {
        coupons::release(conn, order.id).await?;
    }
    sqlx::query("update orders set status = $1, closed_at_ms = $2 where id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(order.id)
        .execute(&mut *conn)
        .await?;
    let mut stock_after = Vec::new();
    let mut sales_after = Vec::new();
    for item in &order.items {
        let given_back = match item.flash_sale_id {
            Some(sale) => {
                let buyer = (order.viewer_id, order.shipping.phone.as_str());
                flash_sales::give_back(conn, sale, item.sku_id, buyer, item.quantity).await?
            }
            None => GivenBack::Stock(
                sqlx::query_scalar(
                    "update skus set stock = stock + $1 where id = $2 returning stock",
                )
                .bind(item.quantity)
                .bind(item.sku_id)
                .fetch_one(&mut *conn)
                .await?,
            ),
        };
        match given_back {
            GivenBack::Stock(left) => stock_after.push(SkuStock {
                sku_id: item.sku_id,
                product_id: item.product_id,
                stock: left,
            }),
            GivenBack::Sale { sale_id, remaining } => {
                sales_after.push(SaleRemaining {
                    id: sale_id,
                    remaining,
                });
            }
        }
    }
    let mut events = Vec::new();
    if let Some(live_id) = order.live_id {
        events
            .push(events::append(conn, live_id, LiveEvent::order_closed(status, order.id)).await?);
        // Units back in an open 秒杀: a page that said sold out can sell them again.
        for event in LiveEvent::stock_and_sales(stock_after, sales_after) {
            events.push(events::append(conn, live_id, event).await?);
        }
    }
    Ok(events)
}

/// A buyer cancels their unpaid order; staff cancel an unpaid one or refund a paid one.
pub async fn cancel(store: &Store, who: &Principal, id: i64) -> Result<Changed<Order>> {
    let mut tx = store.begin_write().await?;
    let order = load(&mut tx, id).await?;
    let status = match (who, order.status) {
        (Principal::Viewer { id: viewer, .. }, _) if *viewer != order.viewer_id => {
            return Err(Error::NotFound(format!("order {id}")));
        }
        (_, OrderStatus::Created) => OrderStatus::Cancelled,
        (Principal::Staff { .. }, OrderStatus::Paid) => OrderStatus::Refunded,
        (Principal::Viewer { .. }, OrderStatus::Paid) => {
            return Err(Error::Forbidden(
                "a paid order is refunded by the shop".into(),
            ));
        }
        (_, other) => {
            return Err(Error::Conflict(format!(
                "a {} order cannot be cancelled",
                other.as_str()
            )));
        }
    };
    let events = close(&mut tx, &order, status, now_ms()).await?;
    let order = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed {
        value: order,
        events,
    })
}

/// Cancels every unpaid order whose time ran out by `now`, returning their stock.
pub async fn expire_due(store: &Store, now: i64) -> Result<Changed<usize>> {
    let mut tx = store.begin_write().await?;
    let due: Vec<i64> = sqlx::query_scalar(
        "select id from orders where status = 'created' and expires_at_ms <= $1 order by id limit 500",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut events = Vec::new();
    for id in &due {
        let order = load(&mut tx, *id).await?;
        events.extend(close(&mut tx, &order, OrderStatus::Cancelled, now).await?);
    }
    tx.commit().await?;
    Ok(Changed {
        value: due.len(),
        events,
    })
}
