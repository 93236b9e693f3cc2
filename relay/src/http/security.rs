//! Headers every response carries, and request logging that leaves tokens out.

use axum::http::{HeaderName, HeaderValue, Request, Uri, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The viewer page loads its scripts, styles, product pictures and clips from the relay; plays
/// WHEP (fetch) or HLS (hls.js runs a worker from a blob: URL and feeds the video element a
/// blob: MediaSource); opens the events WebSocket to the same host (`'self'` covers ws: and
/// wss: there). React sets inline styles through the DOM, which CSP allows, but libraries
/// may write style attributes, hence `'unsafe-inline'` for styles only. No page of the relay
/// is meant to sit in someone else's frame (a shop page framed under a fake overlay is a
/// clickjacking of the buy button).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
     worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The security headers, each set unless the handler chose its own.
pub fn headers() -> (
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
) {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    (
        set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        // Uploaded pictures and recordings are served with the type they were checked as;
        // a browser must not guess HTML out of them.
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // For browsers without frame-ancestors.
        set(header::X_FRAME_OPTIONS, "DENY"),
        set(header::REFERRER_POLICY, "no-referrer"),
    )
}

/// Query parameters that carry a credential.
const SECRET_PARAMS: [&str; 2] = ["access_token", "key"];

/// `uri` with the values of credential parameters replaced, for logs.
pub fn redacted(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_PARAMS.contains(&name) => format!("{name}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

/// The trace span of a request: what `DefaultMakeSpan` records, with the URI redacted. Same
/// target as tower-http's, so `RUST_LOG=tower_http=debug` still shows it.
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    tracing::debug_span!(
        target: "tower_http::trace::make_span",
        "request",
        method = %request.method(),
        uri = %redacted(request.uri()),
        version = ?request.version(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_the_query_are_redacted_and_the_rest_kept() {
        let uri: Uri = "/api/lives/1/events?after=7&access_token=s3cret&x=1"
            .parse()
            .unwrap();
        assert_eq!(
            redacted(&uri),
            "/api/lives/1/events?after=7&access_token=REDACTED&x=1"
        );
        let plain: Uri = "/api/lives/1".parse().unwrap();
        assert_eq!(redacted(&plain), "/api/lives/1");
    }
}
