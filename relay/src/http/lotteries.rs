//! 福袋 routes: staff create and draw, viewers join, anyone can audit a draw.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::auth::{Staff, Viewer};
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::lotteries::{self, Lottery, NewLottery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lives/{id}/lotteries", post(create))
        .route("/api/lotteries/{id}", get(show))
        .route("/api/lotteries/{id}/entrants", get(entrants))
        .route("/api/lotteries/{id}/join", post(join))
        .route("/api/lotteries/{id}/draw", post(draw))
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(live_id): AppPath<i64>,
    AppJson(new): AppJson<NewLottery>,
) -> Result<(StatusCode, Json<Lottery>)> {
    let changed = lotteries::create(&state.store, live_id, &new).await?;
    staff
        .audit(
            &state,
            "create lottery",
            format!("lottery {} in live {live_id}", changed.value.id),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok((StatusCode::CREATED, Json(changed.value)))
}

async fn show(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> Result<Json<Lottery>> {
    Ok(Json(lotteries::get(&state.store, id).await?))
}

async fn entrants(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Vec<i64>>> {
    Ok(Json(lotteries::entrants(&state.store, id).await?))
}

async fn join(
    State(state): State<AppState>,
    viewer: Viewer,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Lottery>> {
    Ok(Json(lotteries::join(&state.store, id, viewer.id).await?))
}

async fn draw(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Lottery>> {
    let changed = lotteries::draw(&state.store, id).await?;
    staff
        .audit(
            &state,
            "draw lottery",
            format!("lottery {id}"),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok(Json(changed.value))
}
