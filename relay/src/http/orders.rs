//! `/api/orders`: viewers place, read and cancel their own orders; staff see and manage all.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::{Authenticated, Staff, Viewer};
use super::{AppJson, AppPath, AppState, Error, Result};
use crate::commerce::orders::{self, NewOrder, Order, OrderStatus};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orders", get(list).post(place))
        .route("/api/orders/{id}", get(show))
        .route("/api/orders/{id}/cancel", post(cancel))
}

/// 201 with the new order, or 200 with the order this `Idempotency-Key` already made.
async fn place(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    AppJson(new): AppJson<NewOrder>,
) -> Result<(StatusCode, Json<Order>)> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Error::invalid("Idempotency-Key", "header is required: one key per buy tap")
        })?;
    let placed = orders::place(&state.store, viewer.id, key, &new, state.order_ttl_ms).await?;
    state.events.publish(placed.events);
    let status = if placed.value.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(placed.value.order)))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    live_id: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Order>>> {
    Ok(Json(orders::list(&state.store, &who, q.live_id).await?))
}

async fn show(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Order>> {
    Ok(Json(orders::get(&state.store, &who, id).await?))
}

async fn cancel(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Order>> {
    let changed = orders::cancel(&state.store, &who, id).await?;
    if who.is_staff() {
        let action = match changed.value.status {
            OrderStatus::Refunded => "refund order",
            _ => "cancel order",
        };
        let detail = serde_json::json!({ "after": changed.value });
        Staff(who)
            .audit(&state, action, format!("order {id}"), detail)
            .await;
    }
    state.events.publish(changed.events);
    Ok(Json(changed.value))
}
