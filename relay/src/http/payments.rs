//! Payment routes: gateway callbacks (verified by the provider), staff confirming offline
//! payments, and the methods a buyer can choose.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use ts_rs::TS;

use super::auth::Staff;
use super::{AppPath, AppState, Error, Result};
use crate::auth::Principal;
use crate::commerce::orders::Order;
use crate::commerce::payments::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payments/methods", get(methods))
        .route("/api/payments/{provider}/callback", post(callback))
        .route("/api/orders/{id}/mark-paid", post(mark_paid))
}

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct PaymentMethod {
    pub provider: String,
    pub instructions: String,
}

async fn methods(State(state): State<AppState>) -> Json<Vec<PaymentMethod>> {
    Json(
        state
            .payments
            .iter()
            .map(|p| PaymentMethod {
                provider: p.name().to_owned(),
                instructions: p.instructions(),
            })
            .collect(),
    )
}

/// A gateway's "this order was paid" notice. Forged, stale or malformed callbacks are
/// refused with 401/422 and logged with the sender's address; repeats answer 200 unchanged.
async fn callback(
    State(state): State<AppState>,
    AppPath(provider_name): AppPath<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let provider = state
        .payment_provider(&provider_name)
        .ok_or_else(|| Error::NotFound(format!("payment provider {provider_name}")))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now_secs = crate::error::now_ms() / 1000;
    let callback = provider
        .verify_callback(header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), &body, now_secs)
        .map_err(|rejection| {
            tracing::warn!(provider = provider_name, from = %peer, %rejection, "payment callback rejected");
            match rejection {
                payments::CallbackRejection::BadBody(message) => Error::invalid("body", message),
                _ => Error::Unauthorized,
            }
        })?;
    let changed = payments::mark_paid(
        &state.store,
        callback.order_id,
        provider.name(),
        &callback.transaction_id,
        Some(callback.amount_fen),
    )
    .await?;
    state.events.publish(changed.events);
    let (order, newly_paid) = changed.value;
    Ok(Json(json!({
        "order_id": order.id,
        "status": if newly_paid { "paid" } else { "already_recorded" },
    })))
}

/// Staff confirm an offline payment (cash on delivery, transfer received).
async fn mark_paid(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Order>> {
    let Principal::Staff { id: staff_id, .. } = &staff.0 else {
        return Err(Error::Forbidden("staff only".into()));
    };
    // One offline confirmation per order, whoever presses the button.
    let reference = format!("order-{id}");
    let changed = payments::mark_paid(&state.store, id, "offline", &reference, None).await?;
    staff
        .audit(
            &state,
            "mark paid",
            format!("order {id} (by staff {staff_id})"),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok(Json(changed.value.0))
}
