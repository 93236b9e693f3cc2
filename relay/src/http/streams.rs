//! `/api/streams`: media streams and their publish keys (owner and anchor), and each stream's
//! live figures (public: the viewer page shows whether the stream is live and how many watch).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Staff;
use super::openapi::{Conflict, Forbidden, Invalid, NotFound, Unauthorized, tag};
use super::{AppJson, AppPath, AppState, Error, Result};
use crate::auth::{Principal, Role};
use crate::media::packager::{self, Recording};
use crate::media::stats::StreamStats;
use crate::media::streams::{self, NewStream, Stream, StreamKey};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(rotate_key))
        .routes(routes!(stats))
        .routes(routes!(recordings))
        .routes(routes!(recording_file, delete_recording))
}

/// Keys let anyone go live as the shop: the owner and the anchor hold them, not assistants.
fn require_publisher_role(staff: &Staff) -> Result<()> {
    match &staff.0 {
        Principal::Staff {
            role: Role::Owner | Role::Anchor,
            ..
        } => Ok(()),
        _ => Err(Error::Forbidden(
            "only the owner or an anchor manage stream keys".into(),
        )),
    }
}

/// The base of the URLs a key comes with: `public_base_url` when configured; else the host
/// the client reached us at, if it is a plain host[:port] (a forged `Host` could otherwise
/// hand the owner a link to someone else's server); else the listen address.
fn http_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(base) = &state.public_base_url {
        return base.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|host| crate::config::is_host_port(host))
        .map_or_else(|| state.public_addr.clone(), str::to_owned);
    format!("http://{host}")
}

fn key_response(state: &AppState, headers: &HeaderMap, name: String, key: String) -> StreamKey {
    let http = http_base(state, headers);
    // RTMP on the host the client used, at the RTMP port.
    let rtmp = state.rtmp_addr.map(|addr| {
        let authority = http
            .split_once("://")
            .map_or(http.as_str(), |(_, rest)| rest);
        let host = match authority.rsplit_once(':') {
            // A bracketed IPv6 address without a port ends in `]`.
            Some((h, port)) if !port.ends_with(']') => h,
            _ => authority,
        };
        format!("rtmp://{host}:{}", addr.port())
    });
    StreamKey::new(name, key, &http, rtmp.as_deref())
}

/// Streams with whether each is live and its viewers now.
#[utoipa::path(
    get,
    path = "/api/streams",
    operation_id = "list_streams",
    tag = tag::STREAMS,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Streams by name", body = Vec<Stream>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
async fn list(State(state): State<AppState>, _staff: Staff) -> Result<Json<Vec<Stream>>> {
    let mut list = streams::list(&state.store).await?;
    for stream in &mut list {
        stream.publishing = state.media.publisher(&stream.name).is_some();
        stream.viewers = state.media.viewer_count(&stream.name) as u32;
    }
    Ok(Json(list))
}

/// Creates a stream; the answer holds its publish key, shown this once.
#[utoipa::path(
    post,
    path = "/api/streams",
    operation_id = "create_stream",
    tag = tag::STREAMS,
    security(("bearer" = [])),
    request_body = NewStream,
    responses(
        (status = 201, description = "The stream, its key and URLs", body = StreamKey),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    AppJson(new): AppJson<NewStream>,
) -> Result<(StatusCode, Json<StreamKey>)> {
    require_publisher_role(&staff)?;
    let (name, key) = streams::create(&state.store, &new.name).await?;
    staff
        .audit(
            &state,
            "stream.create",
            format!("stream {name}"),
            serde_json::Value::Null,
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(key_response(&state, &headers, name, key)),
    ))
}

/// Replaces the stream's key. The current publisher stays on; new publishes need the new key.
#[utoipa::path(
    post,
    path = "/api/streams/{name}/key",
    operation_id = "rotate_stream_key",
    tag = tag::STREAMS,
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Stream name")),
    responses(
        (status = 200, description = "The new key and URLs", body = StreamKey),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
async fn rotate_key(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    AppPath(name): AppPath<String>,
) -> Result<Json<StreamKey>> {
    require_publisher_role(&staff)?;
    let key = streams::rotate_key(&state.store, &name).await?;
    staff
        .audit(
            &state,
            "stream.rotate_key",
            format!("stream {name}"),
            serde_json::Value::Null,
        )
        .await;
    Ok(Json(key_response(&state, &headers, name, key)))
}

/// Live figures: publishing or not, bitrate, frame rate, resolution, loss, viewers.
#[utoipa::path(
    get,
    path = "/api/streams/{name}/stats",
    operation_id = "stream_stats",
    tag = tag::STREAMS,
    params(("name" = String, Path, description = "Stream name")),
    responses(
        (status = 200, description = "The stream's figures now", body = StreamStats),
        (status = 404, response = NotFound),
    ),
)]
async fn stats(
    State(state): State<AppState>,
    AppPath(name): AppPath<String>,
) -> Result<Json<StreamStats>> {
    if !streams::exists(&state.store, &name).await? {
        return Err(Error::NotFound(format!("stream {name}")));
    }
    Ok(Json(state.media.stats(&name).await))
}

/// Recordings of past and current publishes (fragmented MP4, playable while still growing),
/// newest first.
#[utoipa::path(
    get,
    path = "/api/recordings",
    operation_id = "list_recordings",
    tag = tag::STREAMS,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recordings, newest first", body = Vec<Recording>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
async fn recordings(State(state): State<AppState>, _staff: Staff) -> Result<Json<Vec<Recording>>> {
    let Some(dirs) = state.media.media_dirs() else {
        return Ok(Json(Vec::new()));
    };
    let dirs = dirs.clone();
    let list = tokio::task::spawn_blocking(move || packager::list_recordings(&dirs))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("list recordings: {e}")))?;
    Ok(Json(list))
}

/// One recording's bytes (`video/mp4`, with range requests for seeking).
#[utoipa::path(
    get,
    path = "/api/recordings/{file}",
    operation_id = "download_recording",
    tag = tag::STREAMS,
    security(("bearer" = [])),
    params(("file" = String, Path, description = "File name from the list")),
    responses(
        (status = 200, description = "The MP4 file", content_type = "video/mp4"),
        (status = 206, description = "The requested range", content_type = "video/mp4"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
async fn recording_file(
    State(state): State<AppState>,
    _staff: Staff,
    AppPath(file): AppPath<String>,
    request: axum::extract::Request,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    use tower::ServiceExt;
    let path = state
        .media
        .media_dirs()
        .filter(|_| packager::is_safe_file_name(&file) && file.ends_with(".mp4"))
        .map(|dirs| dirs.recordings.join(&file))
        .filter(|path| path.is_file())
        .ok_or_else(|| Error::NotFound(format!("recording {file}")))?;
    let response = tower_http::services::ServeFile::new(path)
        .oneshot(request)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(response.into_response())
}

/// Deletes a recording with its replay clips (owner and anchors). A recording still being
/// written is refused (409).
#[utoipa::path(
    delete,
    path = "/api/recordings/{file}",
    operation_id = "delete_recording",
    tag = tag::STREAMS,
    security(("bearer" = [])),
    params(("file" = String, Path, description = "File name from the list")),
    responses(
        (status = 204, description = "Deleted, with its clips"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
async fn delete_recording(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(file): AppPath<String>,
) -> Result<StatusCode> {
    require_publisher_role(&staff)?;
    crate::clips::delete_recording(&state.clips(), &file).await?;
    staff
        .audit(&state, "delete_recording", file, serde_json::Value::Null)
        .await;
    Ok(StatusCode::NO_CONTENT)
}
