//! Serves the viewer web app: `/` and `/live/{id}` get the app shell, `/assets/*` the bundles.

use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, Error};
use crate::ui::VIEWER_HTML;

/// Router fallback: anything not matched by an API route.
pub async fn serve(State(state): State<AppState>, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") {
        return Error::NotFound(format!("endpoint {path}")).into_response();
    }
    let (file, immutable) = if path == "/" || path.starts_with("/live/") {
        (VIEWER_HTML, false)
    } else {
        // Vite puts a content hash in every file name under assets/, so they never change.
        (path, path.starts_with("/assets/"))
    };
    let Some(body) = state.ui.get(file).await else {
        return Error::NotFound(format!("page {path}")).into_response();
    };
    let mime = mime_guess::from_path(file).first_or_octet_stream();
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = body.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
