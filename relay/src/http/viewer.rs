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
    let mut body = body.into_owned();
    let cdn = state.hls_base_url.as_deref();
    if let Some(cdn) = cdn
        && file == VIEWER_HTML
    {
        body = behind_cdn(&body, cdn);
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(cdn) = cdn {
        if file == VIEWER_HTML {
            if let Ok(value) = HeaderValue::from_str(&csp_with(cdn)) {
                headers.insert(header::CONTENT_SECURITY_POLICY, value);
            }
        } else if immutable {
            // The page loads its module scripts with `crossorigin`: from the CDN's origin they
            // need CORS. They are the same public bundles for everyone.
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
    response
}

/// The page's name for the CDN: read by the viewer app to build its HLS URLs.
pub const HLS_BASE_META: &str = "anchordesk-hls-base";

/// The app shell with its bundles loaded from the CDN and the CDN's origin in a meta tag.
/// `cdn` is a validated `scheme://host[:port]` (no quotes, no markup).
fn behind_cdn(html: &[u8], cdn: &str) -> Vec<u8> {
    let html = String::from_utf8_lossy(html);
    let html = html
        .replace("=\"/assets/", &format!("=\"{cdn}/assets/"))
        .replacen(
            "</head>",
            &format!("<meta name=\"{HLS_BASE_META}\" content=\"{cdn}\" />\n  </head>"),
            1,
        );
    html.into_bytes()
}

/// The relay's policy with the CDN allowed for bundles and for HLS (hls.js fetches the
/// playlist and segments; Safari's own player loads them as media).
fn csp_with(cdn: &str) -> String {
    super::security::CONTENT_SECURITY_POLICY
        .replace("script-src 'self'", &format!("script-src 'self' {cdn}"))
        .replace("style-src 'self'", &format!("style-src 'self' {cdn}"))
        .replace("media-src 'self'", &format!("media-src 'self' {cdn}"))
        .replace("connect-src 'self'", &format!("connect-src 'self' {cdn}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_behind_a_cdn_loads_bundles_and_hls_from_it() {
        let html = br#"<head><script type="module" crossorigin src="/assets/viewer-1.js"></script>
<link rel="stylesheet" crossorigin href="/assets/viewer-1.css"></head>"#;
        let out = String::from_utf8(behind_cdn(html, "https://cdn.example.com")).unwrap();
        assert!(
            out.contains(r#"src="https://cdn.example.com/assets/viewer-1.js""#),
            "{out}"
        );
        assert!(
            out.contains(r#"href="https://cdn.example.com/assets/viewer-1.css""#),
            "{out}"
        );
        assert!(
            out.contains(
                r#"<meta name="anchordesk-hls-base" content="https://cdn.example.com" />"#
            ),
            "{out}"
        );
        let csp = csp_with("https://cdn.example.com");
        assert!(
            csp.contains("connect-src 'self' https://cdn.example.com;"),
            "{csp}"
        );
        assert!(
            csp.contains("media-src 'self' https://cdn.example.com blob:;"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self' https://cdn.example.com;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}
