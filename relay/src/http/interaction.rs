//! Comments, likes and moderation.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::{Caller, Staff, Viewer};
use super::{AppJson, AppPath, AppState, Result};
use crate::interaction::{Comment, MuteRequest, NewComment, NewLikes};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lives/{id}/comments", post(post_comment).get(list))
        .route("/api/lives/{id}/likes", post(like))
        .route("/api/lives/{id}/clicks", post(click))
        .route("/api/comments/{id}/hide", post(hide))
        .route("/api/viewers/{id}/mute", post(mute))
}

async fn post_comment(
    State(state): State<AppState>,
    viewer: Viewer,
    AppPath(live_id): AppPath<i64>,
    AppJson(req): AppJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>)> {
    let comment = state
        .interaction
        .post_comment(live_id, viewer.id, &req)
        .await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    after: i64,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(live_id): AppPath<i64>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Comment>>> {
    Ok(Json(
        state
            .interaction
            .list(live_id, q.after, caller.is_staff())
            .await?,
    ))
}

/// 202: counted now, announced with the next batch.
async fn like(
    State(state): State<AppState>,
    _viewer: Viewer,
    AppPath(live_id): AppPath<i64>,
    AppJson(req): AppJson<NewLikes>,
) -> Result<StatusCode> {
    state.interaction.like(live_id, &req).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize)]
struct Click {
    product_id: i64,
}

/// A viewer opened a product's card (for conversion per product). 202: counted.
async fn click(
    State(state): State<AppState>,
    _viewer: Viewer,
    AppPath(live_id): AppPath<i64>,
    AppJson(req): AppJson<Click>,
) -> Result<StatusCode> {
    crate::commerce::stats::record_click(&state.store, live_id, req.product_id).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn hide(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode> {
    state.interaction.hide(id).await?;
    staff
        .audit(
            &state,
            "hide comment",
            format!("comment {id}"),
            serde_json::Value::Null,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn mute(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<MuteRequest>,
) -> Result<StatusCode> {
    state.interaction.mute(id, &req).await?;
    staff
        .audit(
            &state,
            "mute viewer",
            format!("viewer {id} for {} min", req.minutes),
            serde_json::Value::Null,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
