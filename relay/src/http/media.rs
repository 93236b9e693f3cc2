//! WHIP (RFC 9725) and WHEP endpoints: SDP offer in, SDP answer out, a session resource to
//! DELETE. They are plain HTTP, not JSON API routes, so they are not in the OpenAPI document;
//! errors still answer with `ErrorBody` JSON.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::client_ip::ClientIp;
use super::{AppState, Error, Result};
use crate::media::Session;
use crate::media::packager::is_safe_file_name;
use crate::media::streams::{self, KeyCheck};
use crate::throttle::{Target, retry_after_ms};

/// Offers are a few KiB; anything this big is not one.
pub const MAX_SDP_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/whip/{stream}", post(publish))
        .route("/whip/{stream}/{session}", delete(unpublish))
        .route("/whep/{stream}", post(play))
        .route("/whep/{stream}/{session}", delete(stop_playing))
        .route("/hls/{stream}/{file}", get(hls_file))
}

/// The offer in a request body: `application/sdp`, at most [`MAX_SDP_BYTES`], UTF-8.
async fn sdp_offer(headers: &HeaderMap, body: Body) -> Result<String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
    {
        return Err(Error::UnsupportedMediaType {
            expected: "application/sdp",
        });
    }
    let bytes = axum::body::to_bytes(body, MAX_SDP_BYTES)
        .await
        .map_err(|_| Error::TooLarge {
            field: "sdp".into(),
            limit_bytes: MAX_SDP_BYTES,
        })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Malformed {
        field: "sdp".into(),
        message: "the offer is not UTF-8 text".into(),
    })
}

fn created(location: String, session: Session) -> Response {
    let mut response = (StatusCode::CREATED, session.answer).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    // Browser publishers and players on another origin read the session URL from here.
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
    response
}

async fn require_stream(state: &AppState, stream: &str) -> Result<()> {
    if streams::exists(&state.store, stream).await? {
        Ok(())
    } else {
        Err(Error::NotFound(format!("stream {stream}")))
    }
}

async fn publish(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    client: ClientIp,
    request: Request,
) -> Result<Response> {
    let (parts, body) = request.into_parts();
    let offer = sdp_offer(&parts.headers, body).await?;
    let Some(key) = super::auth::bearer_token(&parts.headers, &parts.uri) else {
        tracing::warn!(stream, "WHIP publish refused: no key");
        return Err(Error::Unauthorized);
    };
    // Keys are guessed like passwords: the same delays, per stream and per address.
    let target = Target::Stream(&stream);
    state
        .guards
        .admit(&target, client.ip)
        .map_err(|wait| Error::TooManyRequests {
            retry_after_ms: retry_after_ms(wait),
        })?;
    let check = streams::check_key(&state.store, &stream, &key)
        .await
        .inspect_err(|_| state.guards.unchecked(&target, client.ip))?;
    match check {
        KeyCheck::Valid => state.guards.succeeded(&target, client.ip),
        KeyCheck::UnknownStream => {
            state.guards.failed(&target, client.ip);
            return Err(Error::NotFound(format!("stream {stream}")));
        }
        KeyCheck::WrongKey => {
            tracing::warn!(stream, ip = %client.ip, "WHIP publish refused: wrong key");
            state.guards.failed(&target, client.ip);
            return Err(Error::Unauthorized);
        }
    }
    let session = state.media.publish(&stream, offer).await?;
    Ok(created(format!("/whip/{stream}/{}", session.id), session))
}

async fn unpublish(
    State(state): State<AppState>,
    Path((stream, session)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.media.unpublish(&stream, &session).await?;
    Ok(StatusCode::OK)
}

async fn play(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    request: Request,
) -> Result<Response> {
    let (parts, body) = request.into_parts();
    let offer = sdp_offer(&parts.headers, body).await?;
    require_stream(&state, &stream).await?;
    let session = state.media.play(&stream, offer).await?;
    Ok(created(format!("/whep/{stream}/{}", session.id), session))
}

async fn stop_playing(
    State(state): State<AppState>,
    Path((stream, session)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.media.stop_playing(&stream, &session).await?;
    Ok(StatusCode::OK)
}

/// The live playlist changes every segment: a CDN may cache it only for a moment.
const PLAYLIST_CACHE: &str = "public, max-age=1";
/// Segment names are unique per publish, so they never change once written.
const SEGMENT_CACHE: &str = "public, max-age=86400, immutable";

/// HLS playlist and segments, from the stream's directory. Any origin may read them (a CDN or
/// a viewer page elsewhere); playlist fetches count toward the stream's HLS viewers.
async fn hls_file(
    State(state): State<AppState>,
    Path((stream, file)): Path<(String, String)>,
    address: ClientIp,
    request: Request,
) -> Result<Response> {
    let Some(dirs) = state.media.media_dirs() else {
        return Err(Error::NotFound(
            "HLS (the relay has no GStreamer packaging)".into(),
        ));
    };
    if !is_safe_file_name(&stream) || !is_safe_file_name(&file) {
        return Err(Error::NotFound(format!("HLS file {file}")));
    }
    let (content_type, cache) = match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => ("application/vnd.apple.mpegurl", PLAYLIST_CACHE),
        Some("ts") => ("video/mp2t", SEGMENT_CACHE),
        _ => return Err(Error::NotFound(format!("HLS file {file}"))),
    };
    let path = dirs.hls_dir(&stream).join(&file);
    let body = match tokio::fs::read(&path).await {
        Ok(body) => body,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // In a cluster, a stream another relay receives is pulled here and packaged for
            // this relay's HLS players: the playlist follows within a segment or two.
            if content_type.ends_with("mpegurl")
                && state.media.publisher(&stream).is_none()
                && state.media.publisher_or_pull(&stream).await.is_ok()
            {
                state
                    .media
                    .note_hls_client(&stream, hls_client(&request, address));
                return Err(Error::Unavailable {
                    message: format!("stream {stream}: the playlist is being prepared"),
                    retry_after_ms: 2000,
                });
            }
            return Err(Error::NotFound(format!("HLS file {stream}/{file}")));
        }
        Err(e) => return Err(Error::Internal(format!("read {}: {e}", path.display()))),
    };
    if content_type.ends_with("mpegurl") {
        state
            .media
            .note_hls_client(&stream, hls_client(&request, address));
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// Who fetched a playlist, for the HLS viewer estimate: the page's player token (`?v=`, one
/// per browser tab, so viewers sharing an address or a CDN's connection count apart), else
/// address (through a trusted proxy or CDN: the client it names) and browser.
fn hls_client(request: &Request, address: ClientIp) -> String {
    if let Some(token) = player_token(request.uri().query()) {
        return format!("v:{token}");
    }
    // The address as the per-address limits see it: a client's own X-Forwarded-For is not
    // believed, only a trusted proxy's.
    let agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!("{} {agent}", address.ip)
}

/// The `v` query parameter of a playlist URL when it is a plausible token (8–64 URL-safe
/// characters); anything else falls back to address and browser.
fn player_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("v="))
        .filter(|token| {
            (8..=64).contains(&token.len())
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_player_token_names_the_hls_client_and_junk_does_not() {
        assert_eq!(player_token(Some("v=0123abcdEF")), Some("0123abcdEF"));
        assert_eq!(player_token(Some("x=1&v=0123abcd_-")), Some("0123abcd_-"));
        assert_eq!(player_token(Some("v=short")), None);
        assert_eq!(player_token(Some("v=%3Cscript%3E00")), None);
        assert_eq!(player_token(None), None);
    }
}
