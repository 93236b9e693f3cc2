//! Payment routes: gateway callbacks (verified by the provider), staff confirming offline
//! payments, and the methods a buyer can choose.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::Serialize;
use ts_rs::TS;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Authenticated, Staff};
use super::openapi::{Conflict, Forbidden, Invalid, NotFound, Unauthorized, tag};
use super::{AppPath, AppState, Error, Result};
use crate::api::ErrorBody;
use crate::auth::Principal;
use crate::commerce::orders::{self, Order};
use crate::commerce::payments::{self, PaymentCallback, SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(methods))
        .routes(routes!(callback))
        .routes(routes!(mark_paid))
        .routes(routes!(sandbox_pay))
}

#[derive(Debug, Serialize, TS, ToSchema)]
#[ts(export)]
pub struct PaymentMethod {
    pub provider: String,
    pub instructions: String,
    /// A test gateway on this relay pays the buyer's order:
    /// `POST /api/payments/{provider}/sandbox/{order_id}`.
    pub sandbox: bool,
}

/// The answer to a gateway's callback.
#[derive(Debug, Serialize, TS, ToSchema)]
#[ts(export)]
pub struct CallbackAck {
    pub order_id: i64,
    pub status: CallbackStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CallbackStatus {
    /// This callback recorded the payment.
    Paid,
    /// The payment was already recorded (a repeated callback); nothing changed.
    AlreadyRecorded,
}

/// How a buyer can pay: one entry per payment provider.
#[utoipa::path(
    get,
    path = "/api/payments/methods",
    operation_id = "payment_methods",
    tag = tag::PAYMENTS,
    responses(
        (status = 200, description = "Payment methods", body = Vec<PaymentMethod>),
    ),
)]
async fn methods(State(state): State<AppState>) -> Json<Vec<PaymentMethod>> {
    Json(
        state
            .payments
            .iter()
            .map(|p| PaymentMethod {
                provider: p.name().to_owned(),
                instructions: p.instructions(),
                sandbox: state.payment_sandbox.is_some() && p.name() == SANDBOX_PROVIDER,
            })
            .collect(),
    )
}

/// A gateway's "this order was paid" notice. Forged, stale or malformed callbacks are
/// refused with 401/422 and logged with the sender's address; repeats answer 200 unchanged.
#[utoipa::path(
    post,
    path = "/api/payments/{provider}/callback",
    operation_id = "payment_callback",
    tag = tag::PAYMENTS,
    params(("provider" = String, Path, description = "The provider's name, e.g. `signed`"), ("X-Anchordesk-Timestamp" = i64, Header, description = "Unix seconds when the gateway signed; accepted within 5 minutes"), ("X-Anchordesk-Signature" = String, Header, description = "Hex `HMAC-SHA256(secret, \"<timestamp>.<body>\")`")),
    request_body(
        content = PaymentCallback,
        description = "The raw body is what is signed (the `signed` provider's format)",
        content_type = "application/json",
    ),
    responses(
        (status = 200, description = "Recorded, or already recorded before", body = CallbackAck),
        (status = 401, description = "Missing, stale or forged signature, or a provider that takes no callbacks", body = ErrorBody),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn callback(
    State(state): State<AppState>,
    AppPath(provider_name): AppPath<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CallbackAck>> {
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
    let (order, newly_paid) = record_verified(&state, provider.name(), &callback).await?;
    Ok(Json(CallbackAck {
        order_id: order.id,
        status: if newly_paid {
            CallbackStatus::Paid
        } else {
            CallbackStatus::AlreadyRecorded
        },
    }))
}

/// The provider the test gateway pays through.
const SANDBOX_PROVIDER: &str = "signed";
/// What its payments are recorded as.
const SANDBOX_RECORD: &str = "sandbox";

/// The test gateway (`--payment-sandbox`): the buyer confirms paying their own order, and the
/// relay sends itself the signed callback a real gateway would, through the same verification.
/// Paying again is a no-op.
#[utoipa::path(
    post,
    path = "/api/payments/{provider}/sandbox/{order_id}",
    operation_id = "sandbox_pay",
    tag = tag::PAYMENTS,
    security(("bearer" = [])),
    params(
        ("provider" = String, Path, description = "`signed`"),
        ("order_id" = i64, Path, description = "The buyer's order"),
    ),
    responses(
        (status = 200, description = "The order, paid", body = Order),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No sandbox on this relay, or no such order of the caller's", body = ErrorBody),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn sandbox_pay(
    State(state): State<AppState>,
    Authenticated(buyer): Authenticated,
    AppPath((provider_name, order_id)): AppPath<(String, i64)>,
) -> Result<Json<Order>> {
    let gateway = state
        .payment_sandbox
        .clone()
        .filter(|_| provider_name == SANDBOX_PROVIDER)
        .ok_or_else(|| Error::NotFound(format!("payment sandbox for {provider_name}")))?;
    let provider = state
        .payment_provider(SANDBOX_PROVIDER)
        .ok_or_else(|| Error::NotFound(format!("payment provider {provider_name}")))?;
    if !matches!(buyer, Principal::Viewer { .. }) {
        return Err(Error::Forbidden(
            "the buyer pays, with a viewer account".into(),
        ));
    }
    let order = orders::get(&state.store, &buyer, order_id).await?;
    let notice = PaymentCallback {
        order_id,
        amount_fen: order.total_fen,
        // One payment per order: a second tap records nothing new.
        transaction_id: format!("sandbox-order-{order_id}"),
    };
    let body = serde_json::to_vec(&notice).map_err(|e| Error::Internal(e.to_string()))?;
    let now_secs = crate::error::now_ms() / 1000;
    let signature = gateway.sign(now_secs, &body);
    let verified = provider
        .verify_callback(
            Some(&now_secs.to_string()),
            Some(&signature),
            &body,
            now_secs,
        )
        .map_err(|rejection| Error::Internal(format!("sandbox callback refused: {rejection}")))?;
    Ok(Json(
        // Recorded under a name of its own, so staff never mistake a test payment for money.
        record_verified(&state, SANDBOX_RECORD, &verified).await?.0,
    ))
}

/// Records a verified gateway notice (a repeat is a no-op) and publishes what changed.
async fn record_verified(
    state: &AppState,
    provider: &str,
    notice: &PaymentCallback,
) -> Result<(Order, bool)> {
    let changed = payments::mark_paid(
        &state.store,
        notice.order_id,
        provider,
        &notice.transaction_id,
        Some(notice.amount_fen),
    )
    .await?;
    state.events.publish(changed.events);
    Ok(changed.value)
}

/// Staff confirm an offline payment (cash on delivery, transfer received).
#[utoipa::path(
    post,
    path = "/api/orders/{id}/mark-paid",
    operation_id = "mark_order_paid",
    tag = tag::PAYMENTS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The paid order", body = Order),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
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
