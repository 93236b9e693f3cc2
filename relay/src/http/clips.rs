//! 看讲解 replay clips: each live's list (public: the viewer page's "看讲解" button) and each
//! clip's video with range requests.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{NotFound, tag};
use super::{AppPath, AppState, Error, Result};
use crate::clips::{self, Clip};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(video))
}

/// The live's ready replay clips, newest first (a product's latest clip is its first).
#[utoipa::path(
    get,
    path = "/api/lives/{id}/clips",
    operation_id = "list_clips",
    tag = tag::CLIPS,
    params(("id" = i64, Path, description = "Live id")),
    responses(
        (status = 200, description = "Clips, newest first", body = Vec<Clip>),
        (status = 404, response = NotFound),
    ),
)]
async fn list(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> Result<Json<Vec<Clip>>> {
    Ok(Json(clips::list(&state.clips(), id).await?))
}

/// One clip's MP4 (H.264 and Opus, index first), with range requests for seeking.
#[utoipa::path(
    get,
    path = "/api/clips/{id}/video",
    operation_id = "clip_video",
    tag = tag::CLIPS,
    params(("id" = i64, Path, description = "Clip id")),
    responses(
        (status = 200, description = "The MP4 file", content_type = "video/mp4"),
        (status = 206, description = "The requested range", content_type = "video/mp4"),
        (status = 404, response = NotFound),
    ),
)]
async fn video(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    request: axum::extract::Request,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    use tower::ServiceExt;
    let path = clips::file(&state.clips(), id).await?;
    let response = tower_http::services::ServeFile::new(path)
        .oneshot(request)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(response.into_response())
}
