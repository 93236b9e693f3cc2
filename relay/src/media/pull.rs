//! The WHEP side of an edge relay: one standard WHEP session to a stream's origin relay,
//! whose tracks the edge then forwards to its own viewers and packages as HLS.

use std::time::Duration;

use super::MediaError;
use super::peer::{Peer, PeerFactory};

/// How long an origin gets to answer the pull's offer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A pull session on the origin: its URL, to DELETE when the edge no longer needs it.
#[derive(Debug, Clone)]
pub struct OriginSession {
    pub resource: String,
}

/// Offers to receive `stream` from the relay at `origin` and completes the exchange on `peer`.
pub async fn open(
    peers: &PeerFactory,
    http: &reqwest::Client,
    peer: &mut Peer,
    origin: &str,
    stream: &str,
) -> Result<OriginSession, MediaError> {
    let offer = peers.receive_offer(peer).await?;
    let endpoint = format!("{}/whep/{stream}", origin.trim_end_matches('/'));
    let response = http
        .post(&endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/sdp")
        .body(offer)
        .timeout(ANSWER_TIMEOUT)
        .send()
        .await
        .map_err(|e| MediaError::NotLive(format!("origin relay of {stream} unreachable: {e}")))?;
    let status = response.status();
    if status == reqwest::StatusCode::SERVICE_UNAVAILABLE
        || status == reqwest::StatusCode::NOT_FOUND
    {
        return Err(MediaError::NotLive(format!("stream {stream} is not live")));
    }
    if status != reqwest::StatusCode::CREATED {
        return Err(MediaError::internal(format!(
            "origin relay answered the pull of {stream} with {status}"
        )));
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| resolve(&endpoint, l));
    let answer = response
        .text()
        .await
        .map_err(|e| MediaError::internal(format!("origin answer: {e}")))?;
    peers.accept_answer(peer, answer).await?;
    Ok(OriginSession {
        resource: location.unwrap_or(endpoint),
    })
}

/// Ends the pull session on the origin (best effort: the origin also ends it when the
/// connection goes).
pub async fn close(http: &reqwest::Client, session: &OriginSession) {
    if let Err(e) = http
        .delete(&session.resource)
        .timeout(ANSWER_TIMEOUT)
        .send()
        .await
    {
        tracing::debug!(resource = %session.resource, "pull not deleted on the origin: {e}");
    }
}

/// A `Location` header relative to the endpoint it came from.
fn resolve(endpoint: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    // `http://host:port/whep/x` + `/whep/x/session` → `http://host:port/whep/x/session`.
    let origin_end = endpoint
        .find("://")
        .and_then(|scheme| endpoint[scheme + 3..].find('/').map(|p| p + scheme + 3))
        .unwrap_or(endpoint.len());
    format!("{}{}", &endpoint[..origin_end], location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_origin() {
        assert_eq!(
            resolve("http://10.0.0.2:8686/whep/demo", "/whep/demo/abc"),
            "http://10.0.0.2:8686/whep/demo/abc"
        );
        assert_eq!(
            resolve("http://a/whep/demo", "https://b/whep/demo/1"),
            "https://b/whep/demo/1"
        );
    }
}
