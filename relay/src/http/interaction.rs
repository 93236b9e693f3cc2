//! Comments, likes and moderation.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Caller, Staff, Viewer};
use super::client::Client;
use super::openapi::{
    BadQuery, Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized, tag,
};
use super::{AppJson, AppPath, AppState, Result};
use crate::interaction::{Comment, MuteRequest, NewComment, NewLikes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_comment, list))
        .routes(routes!(like))
        .routes(routes!(click))
        .routes(routes!(hide))
        .routes(routes!(mute))
}

/// A viewer comments (弹幕); checked against the word filter, mutes and the rate limit.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/comments",
    operation_id = "post_comment",
    tag = tag::INTERACTION,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = NewComment,
    responses(
        (status = 201, description = "The stored comment", body = Comment),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
    ),
)]
async fn post_comment(
    State(state): State<AppState>,
    viewer: Viewer,
    Client(client): Client,
    AppPath(live_id): AppPath<i64>,
    AppJson(req): AppJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>)> {
    let comment = state
        .interaction
        .post_comment(live_id, viewer.id, &client, &req)
        .await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only comments with a larger id (0 = from the start).
    #[serde(default)]
    after: i64,
}

/// A live's comments, oldest first; hidden ones only for staff.
#[utoipa::path(
    get,
    path = "/api/lives/{id}/comments",
    operation_id = "list_comments",
    tag = tag::INTERACTION,
    security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Live id"), ListQuery),
    responses(
        (status = 200, description = "Comments", body = Vec<Comment>),
        (status = 400, response = BadQuery),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
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

/// Likes (点赞): counted now, announced with the next batch. A viewer's taps count up to 100
/// at once and 20 a second after that; the rest are dropped, still answered 202.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/likes",
    operation_id = "like",
    tag = tag::INTERACTION,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = NewLikes,
    responses(
        (status = 202, description = "Counted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn like(
    State(state): State<AppState>,
    viewer: Viewer,
    AppPath(live_id): AppPath<i64>,
    AppJson(req): AppJson<NewLikes>,
) -> Result<StatusCode> {
    state.interaction.like(live_id, viewer.id, &req).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
struct Click {
    /// The product whose card was opened.
    product_id: i64,
}

/// A viewer opened a product's card (for conversion per product). Counted up to 10 at once
/// and 2 a second per viewer; the rest are dropped, still answered 202.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/clicks",
    operation_id = "click_product",
    tag = tag::INTERACTION,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = Click,
    responses(
        (status = 202, description = "Counted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn click(
    State(state): State<AppState>,
    viewer: Viewer,
    AppPath(live_id): AppPath<i64>,
    AppJson(req): AppJson<Click>,
) -> Result<StatusCode> {
    if state.interaction.click_counts(viewer.id) {
        crate::commerce::stats::record_click(&state.store, live_id, req.product_id).await?;
    }
    Ok(StatusCode::ACCEPTED)
}

/// Staff hide a comment from viewers.
#[utoipa::path(
    post,
    path = "/api/comments/{id}/hide",
    operation_id = "hide_comment",
    tag = tag::INTERACTION,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Hidden"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
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

/// Staff mute a viewer's comments for a while (0 minutes lifts it).
#[utoipa::path(
    post,
    path = "/api/viewers/{id}/mute",
    operation_id = "mute_viewer",
    tag = tag::INTERACTION,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Viewer id")),
    request_body = MuteRequest,
    responses(
        (status = 204, description = "Muted (or unmuted)"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
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
