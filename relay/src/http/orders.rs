//! `/api/orders`: viewers place, read and cancel their own orders; staff see and manage all.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Authenticated, Staff, Viewer};
use super::openapi::{BadQuery, Conflict, Forbidden, Invalid, NotFound, Unauthorized, tag};
use super::{AppJson, AppPath, AppState, Error, Result};
use crate::commerce::orders::{self, NewOrder, Order, OrderStatus};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, place))
        .routes(routes!(show))
        .routes(routes!(cancel))
}

/// 201 with the new order, or 200 with the order this `Idempotency-Key` already made.
#[utoipa::path(
    post,
    path = "/api/orders",
    operation_id = "place_order",
    tag = tag::ORDERS,
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "One key per buy tap: a retry with the same key returns the same order")),
    request_body = NewOrder,
    responses(
        (status = 201, description = "The new order; its stock is held until `expires_at_ms`", body = Order),
        (status = 200, description = "The order this `Idempotency-Key` already placed", body = Order),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only orders placed from this live.
    live_id: Option<i64>,
}

/// Orders: a viewer's own, or all of them for staff.
#[utoipa::path(
    get,
    path = "/api/orders",
    operation_id = "list_orders",
    tag = tag::ORDERS,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Orders, newest first", body = Vec<Order>),
        (status = 400, response = BadQuery),
        (status = 401, response = Unauthorized),
    ),
)]
async fn list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Order>>> {
    Ok(Json(orders::list(&state.store, &who, q.live_id).await?))
}

/// One order: a viewer's own, or any for staff.
#[utoipa::path(
    get,
    path = "/api/orders/{id}",
    operation_id = "get_order",
    tag = tag::ORDERS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn show(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Order>> {
    Ok(Json(orders::get(&state.store, &who, id).await?))
}

/// Cancels an order and returns its stock: a viewer's own unpaid order, or any for staff (a paid one becomes `refunded`).
#[utoipa::path(
    post,
    path = "/api/orders/{id}/cancel",
    operation_id = "cancel_order",
    tag = tag::ORDERS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order after the change", body = Order),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
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
