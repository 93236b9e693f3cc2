//! `/api/coupons`: staff create, anyone lists, viewers claim and see what they hold.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Staff, Viewer};
use super::client::Client;
use super::openapi::{BadQuery, Conflict, Forbidden, Invalid, NotFound, Unauthorized, tag};
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::coupons::{self, Coupon, CouponClaim, NewCoupon};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(claim))
        .routes(routes!(held))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this live's coupons (and the shop-wide ones).
    live_id: Option<i64>,
}

/// The coupons on offer.
#[utoipa::path(
    get,
    path = "/api/coupons",
    operation_id = "list_coupons",
    tag = tag::COUPONS,
    responses(
        (status = 200, description = "Coupons", body = Vec<Coupon>),
        (status = 400, response = BadQuery),
    ),
)]
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Coupon>>> {
    Ok(Json(coupons::list(&state.store, q.live_id).await?))
}

/// Staff create a coupon.
#[utoipa::path(
    post,
    path = "/api/coupons",
    operation_id = "create_coupon",
    tag = tag::COUPONS,
    security(("bearer" = [])),
    request_body = NewCoupon,
    responses(
        (status = 201, description = "The new coupon", body = Coupon),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(new): AppJson<NewCoupon>,
) -> Result<(StatusCode, Json<Coupon>)> {
    let changed = coupons::create(&state.store, &new).await?;
    staff
        .audit(
            &state,
            "create coupon",
            format!("coupon {}", changed.value.id),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok((StatusCode::CREATED, Json(changed.value)))
}

/// A viewer claims one of a coupon.
#[utoipa::path(
    post,
    path = "/api/coupons/{id}/claim",
    operation_id = "claim_coupon",
    tag = tag::COUPONS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Coupon id"), ("X-Anchordesk-Device" = Option<String>, Header, description = "The viewer page's device id (8–64 of `A-Za-z0-9_-`): the per-buyer limit also counts claims per address + device")),
    responses(
        (status = 201, description = "The claim, to use in an order", body = CouponClaim),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn claim(
    State(state): State<AppState>,
    viewer: Viewer,
    Client(client): Client,
    AppPath(id): AppPath<i64>,
) -> Result<(StatusCode, Json<CouponClaim>)> {
    Ok((
        StatusCode::CREATED,
        Json(coupons::claim(&state.store, id, viewer.id, &client).await?),
    ))
}

/// The coupons the calling viewer holds.
#[utoipa::path(
    get,
    path = "/api/me/coupons",
    operation_id = "held_coupons",
    tag = tag::COUPONS,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The viewer's claims", body = Vec<CouponClaim>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
async fn held(State(state): State<AppState>, viewer: Viewer) -> Result<Json<Vec<CouponClaim>>> {
    Ok(Json(coupons::held_by(&state.store, viewer.id).await?))
}
