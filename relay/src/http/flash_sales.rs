//! `/api/lives/{id}/flash-sales` and `/api/flash-sales/{id}/stop`: 秒杀 set up and stopped by
//! staff, listed for everyone (with the server clock for countdowns).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::auth::Staff;
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::flash_sales::{self, FlashSale, NewFlashSale};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lives/{id}/flash-sales", get(list).post(create))
        .route("/api/flash-sales/{id}/stop", post(stop))
}

async fn list(
    State(state): State<AppState>,
    AppPath(live_id): AppPath<i64>,
) -> Result<Json<Vec<FlashSale>>> {
    Ok(Json(flash_sales::list(&state.store, live_id).await?))
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(live_id): AppPath<i64>,
    AppJson(new): AppJson<NewFlashSale>,
) -> Result<(StatusCode, Json<FlashSale>)> {
    let changed = flash_sales::create(&state.store, live_id, &new).await?;
    staff
        .audit(
            &state,
            "start flash sale",
            format!("sale {} in live {live_id}", changed.value.id),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok((StatusCode::CREATED, Json(changed.value)))
}

async fn stop(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<FlashSale>> {
    let changed = flash_sales::stop(&state.store, id).await?;
    staff
        .audit(
            &state,
            "stop flash sale",
            format!("sale {id}"),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok(Json(changed.value))
}
