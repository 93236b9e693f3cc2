//! The 讲解 rules a live can turn on (`next_when_sold_out`, `pin_when_asked`), applied in the
//! transaction that makes them true: the order that sells the last unit pins the next product,
//! the comment flush that suggests a product pins it. They used to run in each connected
//! studio, reacting to events: two studios (or an anchor and an assistant) pinned twice, and a
//! live with no studio connected had no rules at all.

use crate::commerce::lives::{self, Live};
use crate::error::Result;
use crate::events::{Event, SkuStock};
use crate::store::Conn;

/// The product to pin when the pinned one has sold out: the next one in the cart with stock,
/// wrapping round; `None` when the pinned one still has stock, nothing is pinned, or nothing
/// else has stock.
pub fn next_to_pin(live: &Live) -> Option<i64> {
    let pinned = live.pin.as_ref()?.product_id;
    let stock = |at: usize| live.cart[at].product.total_stock();
    let at = live
        .cart
        .iter()
        .position(|item| item.product.id == pinned)?;
    if stock(at) > 0 {
        return None;
    }
    let len = live.cart.len();
    (1..len)
        .map(|step| (at + step) % len)
        .find(|&i| stock(i) > 0)
        .map(|i| live.cart[i].product.id)
}

/// After stock left SKUs (`changed`, their stock now): when one of the live's pinned
/// product's SKUs reached zero, the whole product is sold out and the live's rule is on, pins
/// the next product with stock.
pub async fn after_stock_fell(
    conn: &mut Conn,
    live_id: i64,
    changed: &[SkuStock],
) -> Result<Option<Event>> {
    // The common case (stock left, none ran out) costs nothing.
    if !changed.iter().any(|s| s.stock == 0) {
        return Ok(None);
    }
    let pinned: Option<(i64, i64)> = sqlx::query_as(
        "select l.next_when_sold_out, p.product_id from lives l \
         join pins p on p.live_id = l.id and p.ended_at_ms is null where l.id = $1",
    )
    .bind(live_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((1, product_id)) = pinned else {
        return Ok(None);
    };
    if !changed
        .iter()
        .any(|s| s.product_id == product_id && s.stock == 0)
    {
        return Ok(None);
    }
    let live = lives::load(conn, live_id).await?;
    match next_to_pin(&live) {
        Some(next) => {
            tracing::info!(
                live_id,
                next,
                "the pinned product sold out: pinning the next"
            );
            Ok(Some(lives::pin_in(conn, &live, next, String::new()).await?))
        }
        None => Ok(None),
    }
}

/// After viewers' questions suggested `product_id`: pins it when the live's rule is on and it
/// is not pinned already.
pub async fn after_asked(conn: &mut Conn, live_id: i64, product_id: i64) -> Result<Option<Event>> {
    let state: Option<(i64, Option<i64>)> = sqlx::query_as(
        "select l.pin_when_asked, p.product_id from lives l \
         left join pins p on p.live_id = l.id and p.ended_at_ms is null where l.id = $1",
    )
    .bind(live_id)
    .fetch_optional(&mut *conn)
    .await?;
    match state {
        Some((1, pinned)) if pinned != Some(product_id) => {
            let live = lives::load(conn, live_id).await?;
            tracing::info!(live_id, product_id, "viewers keep asking: pinning");
            Ok(Some(
                lives::pin_in(conn, &live, product_id, String::new()).await?,
            ))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A live pinning `pinned` (if any) with products 1, 2, … holding `stocks`.
    fn live(pinned: Option<i64>, stocks: &[i64]) -> Live {
        let cart: Vec<_> = (1..).zip(stocks).map(|(id, stock)| json!({
            "position": id,
            "product": {
                "id": id, "title": "商品", "description": "", "price_fen": 100, "status": "active",
                "skus": [{ "id": id * 10, "name": "默认", "price_fen": 100, "stock": stock }],
                "images": [], "created_at_ms": 0, "updated_at_ms": 0,
            },
        })).collect();
        let pin = pinned.map(|product_id| {
            json!({
                "id": 1, "product_id": product_id, "selling_point": "", "started_at_ms": 0,
            })
        });
        serde_json::from_value(json!({
            "id": 1, "title": "直播", "stream_name": "live-1", "status": "live", "created_at_ms": 0,
            "cart": cart, "pin": pin, "low_stock_threshold": 9,
            "next_when_sold_out": true, "pin_when_asked": false,
        }))
        .unwrap()
    }

    #[test]
    fn the_next_product_with_stock_follows_a_sell_out_wrapping_round() {
        assert_eq!(next_to_pin(&live(Some(1), &[0, 5])), Some(2));
        assert_eq!(next_to_pin(&live(Some(2), &[3, 0, 0])), Some(1));
        assert_eq!(next_to_pin(&live(Some(1), &[2, 5])), None, "still in stock");
        assert_eq!(next_to_pin(&live(Some(1), &[0, 0])), None, "nothing left");
        assert_eq!(next_to_pin(&live(None, &[0])), None, "nothing pinned");
    }
}
