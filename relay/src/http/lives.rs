//! `/api/lives`: live sessions, their 小黄车 and 讲解 pins. Reads are public; changes are staff.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use super::auth::Staff;
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::Changed;
use crate::commerce::lives::{
    self, CartAdd, CartReplace, Live, LiveStatusChange, NewLive, Pin, PinRequest,
};
use crate::commerce::stats::{self, LiveStats};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lives", get(list).post(create))
        .route("/api/lives/{id}", get(show))
        .route("/api/lives/{id}/status", post(set_status))
        .route("/api/lives/{id}/cart", post(add_to_cart).put(replace_cart))
        .route(
            "/api/lives/{id}/cart/{product_id}",
            delete(remove_from_cart),
        )
        .route("/api/lives/{id}/pin", post(pin).delete(unpin))
        .route("/api/lives/{id}/pins", get(pin_history))
        .route("/api/lives/{id}/stats", get(stats))
}

/// Publishes the change's events (its transaction has committed) and answers with the live.
async fn publish(
    state: &AppState,
    staff: &Staff,
    action: &str,
    changed: Changed<Live>,
) -> Json<Live> {
    staff
        .audit(
            state,
            action,
            format!("live {}", changed.value.id),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Json(changed.value)
}

async fn list(State(state): State<AppState>) -> Result<Json<Vec<Live>>> {
    Ok(Json(lives::list(&state.store).await?))
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(new): AppJson<NewLive>,
) -> Result<(StatusCode, Json<Live>)> {
    let live = lives::create(&state.store, &new).await?;
    staff
        .audit(
            &state,
            "create live",
            format!("live {}", live.id),
            serde_json::Value::Null,
        )
        .await;
    Ok((StatusCode::CREATED, Json(live)))
}

async fn show(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> Result<Json<Live>> {
    Ok(Json(lives::get(&state.store, id).await?))
}

async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(change): AppJson<LiveStatusChange>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "set_status",
        lives::set_status(&state.store, id, &change).await?,
    )
    .await)
}

async fn replace_cart(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<CartReplace>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "replace_cart",
        lives::replace_cart(&state.store, id, &req).await?,
    )
    .await)
}

async fn add_to_cart(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<CartAdd>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "add_to_cart",
        lives::add_to_cart(&state.store, id, &req).await?,
    )
    .await)
}

async fn remove_from_cart(
    State(state): State<AppState>,
    staff: Staff,
    AppPath((id, product_id)): AppPath<(i64, i64)>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "remove_from_cart",
        lives::remove_from_cart(&state.store, id, product_id).await?,
    )
    .await)
}

async fn pin(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<PinRequest>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "pin",
        lives::pin(&state.store, id, &req).await?,
    )
    .await)
}

async fn unpin(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "unpin",
        lives::unpin(&state.store, id).await?,
    )
    .await)
}

async fn pin_history(
    State(state): State<AppState>,
    _staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Vec<Pin>>> {
    lives::get(&state.store, id).await?;
    Ok(Json(lives::pin_history(&state.store, id).await?))
}

/// The dashboard: viewers, interaction, orders and paid GMV, per product and per pin window.
async fn stats(
    State(state): State<AppState>,
    _staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<LiveStats>> {
    lives::get(&state.store, id).await?;
    Ok(Json(
        stats::for_live(&state.store, id, state.presence.counts(id)).await?,
    ))
}
