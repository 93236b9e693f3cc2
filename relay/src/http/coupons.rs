//! `/api/coupons`: staff create, anyone lists, viewers claim and see what they hold.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::{Staff, Viewer};
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::coupons::{self, Coupon, CouponClaim, NewCoupon};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/coupons", get(list).post(create))
        .route("/api/coupons/{id}/claim", post(claim))
        .route("/api/me/coupons", get(held))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    live_id: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Coupon>>> {
    Ok(Json(coupons::list(&state.store, q.live_id).await?))
}

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

async fn claim(
    State(state): State<AppState>,
    viewer: Viewer,
    AppPath(id): AppPath<i64>,
) -> Result<(StatusCode, Json<CouponClaim>)> {
    Ok((
        StatusCode::CREATED,
        Json(coupons::claim(&state.store, id, viewer.id).await?),
    ))
}

async fn held(State(state): State<AppState>, viewer: Viewer) -> Result<Json<Vec<CouponClaim>>> {
    Ok(Json(coupons::held_by(&state.store, viewer.id).await?))
}
