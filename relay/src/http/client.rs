//! Who is on the other end of a request, for the limits in [`crate::limits`].

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client_ip::ClientIp;
use super::{AppState, Error};
use crate::limits::{ClientKey, DEVICE_HEADER, Gcra};

/// The client's address as [`ClientIp`] resolves it (the socket peer, or what a trusted
/// proxy forwarded; never a header anyone else wrote) and the page's device id.
#[derive(Debug, Clone)]
pub struct Client(pub ClientKey);

async fn client_of(parts: &mut Parts, state: &AppState) -> Result<ClientKey, Error> {
    let address = ClientIp::from_request_parts(parts, state).await?;
    let device = parts
        .headers
        .get(DEVICE_HEADER)
        .and_then(|v| v.to_str().ok());
    Ok(if address.trusted {
        ClientKey::behind_proxy(address.ip, device)
    } else {
        ClientKey::new(address.ip, device)
    })
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        Ok(Self(client_of(parts, state).await?))
    }
}

/// Viewer tokens per address: 60 at once (an office or a campus behind one address opening
/// the page together), then one every 2 s. Tokens cost nothing else, and every per-buyer
/// limit keyed on a device id leans on this one.
pub const VIEWER_TOKENS: Gcra = Gcra {
    burst: 60,
    period_ms: 2_000,
};

/// Middleware: applies [`VIEWER_TOKENS`] to `POST /api/viewers` before its handler runs.
pub async fn limit_viewer_tokens(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST && request.uri().path() == "/api/viewers" {
        let (mut parts, body) = request.into_parts();
        let client = match client_of(&mut parts, &state).await {
            Ok(client) => client,
            Err(e) => return e.into_response(),
        };
        // The studio on this machine (or a proxy naming nobody) is not one viewer's address.
        if let Some(address) = client.address()
            && let Err(e) = VIEWER_TOKENS
                .check(
                    &state.store,
                    &format!("viewers:{address}"),
                    crate::error::now_ms(),
                )
                .await
        {
            return e.into_response();
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(request).await
}
