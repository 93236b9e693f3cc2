//! Authentication routes and the extractors handlers use to know who is calling.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::client_ip::ClientIp;
use super::openapi::{Invalid, TooManyRequests, Unauthorized, Unavailable, tag};
use super::{AppJson, AppState, Error, Result};
use crate::api::ErrorBody;
use crate::auth::{self, LoginRequest, NewViewer, Principal, Session};
use crate::throttle::{Target, retry_after_ms};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(new_viewer))
        .routes(routes!(me))
}

/// The bearer token of a request: the `Authorization` header, or `access_token` in the
/// query string on a live's events route only (browsers cannot set headers on WebSockets).
/// Anywhere else a token in a URL would end up in proxy logs, browser history and
/// `Referer`s for nothing.
pub fn bearer_token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
    }
    if !takes_query_token(uri.path()) {
        return None;
    }
    uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "access_token")
            .map(|(_, v)| v.to_owned())
    })
}

/// `/api/lives/{id}/events`: the WebSocket route, where a token may come in the query.
fn takes_query_token(path: &str) -> bool {
    path.strip_prefix("/api/lives/")
        .and_then(|rest| rest.strip_suffix("/events"))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The caller, if any credentials were sent. Invalid credentials are a 401, not anonymous:
/// a client with an expired token must learn it.
pub struct Caller(pub Option<Principal>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Some(token) = bearer_token(&parts.headers, &parts.uri) else {
            return Ok(Self(None));
        };
        let principal = auth::authenticate(&state.store, &state.viewer_sessions, &token)
            .await?
            .ok_or(Error::Unauthorized)?;
        Ok(Self(Some(principal)))
    }
}

impl Caller {
    pub fn is_staff(&self) -> bool {
        self.0.as_ref().is_some_and(Principal::is_staff)
    }
}

/// A staff member (owner, anchor, assistant): 401 without credentials, 403 for viewers.
pub struct Staff(pub Principal);

impl Staff {
    /// Records a staff action in the audit log and the server log. The action has already
    /// committed, so a failed audit write is logged loudly rather than failing the request.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        target: String,
        detail: serde_json::Value,
    ) {
        let Principal::Staff { id, username, role } = &self.0 else {
            return;
        };
        tracing::info!(staff_id = id, %username, role = role.as_str(), action, %target, "staff action");
        if let Err(e) =
            crate::audit::record(&state.store, *id, username, action, &target, &detail).await
        {
            tracing::error!(%username, action, %target, "audit log write failed: {e}");
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Some(p @ Principal::Staff { .. }) => Ok(Self(p)),
            Some(Principal::Viewer { .. }) => Err(Error::Forbidden("staff only".into())),
            None => Err(Error::Unauthorized),
        }
    }
}

/// Any authenticated caller: 401 without credentials.
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        Caller::from_request_parts(parts, state)
            .await?
            .0
            .map(Self)
            .ok_or(Error::Unauthorized)
    }
}

/// A viewer (buyer): 401 without credentials, 403 for staff accounts.
pub struct Viewer {
    pub id: i64,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match Authenticated::from_request_parts(parts, state).await?.0 {
            Principal::Viewer { id, .. } => Ok(Self { id }),
            Principal::Staff { .. } => Err(Error::Forbidden(
                "orders are placed with a viewer account".into(),
            )),
        }
    }
}

/// Staff log in with username and password and get a session token.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    operation_id = "login",
    tag = tag::AUTH,
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = Session),
        (
            status = 401,
            description = "Unknown username or wrong password (one answer for both); after \
                           5 failures for the username or 20 from the address, each further \
                           one makes the next try wait (429), 1 s doubling up to 15 min",
            body = ErrorBody,
        ),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ),
)]
async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Json<Session>> {
    // Refused before any hashing: a guesser waiting out the delay costs the relay nothing.
    let target = Target::Account(&req.username);
    state
        .guards
        .admit(&target, client.ip)
        .map_err(|wait| Error::TooManyRequests {
            retry_after_ms: retry_after_ms(wait),
        })?;
    match auth::login(&state.store, &req).await {
        Ok(session) => {
            state.guards.succeeded(&target, client.ip);
            Ok(Json(session))
        }
        Err(Error::Unauthorized) => {
            tracing::info!(ip = %client.ip, "login refused: wrong username or password");
            state.guards.failed(&target, client.ip);
            Err(Error::Unauthorized)
        }
        Err(e) => {
            state.guards.unchecked(&target, client.ip);
            Err(e)
        }
    }
}

/// Ends the session of the token sent.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    operation_id = "logout",
    tag = tag::AUTH,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The token no longer works"),
        (status = 401, response = Unauthorized),
    ),
)]
async fn logout(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<StatusCode> {
    let token = bearer_token(&headers, &uri).ok_or(Error::Unauthorized)?;
    auth::revoke(&state.store, &state.viewer_sessions, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A device's first visit: issues an anonymous viewer identity and its token.
#[utoipa::path(
    post,
    path = "/api/viewers",
    operation_id = "new_viewer",
    tag = tag::AUTH,
    request_body(
        content = Option<NewViewer>,
        description = "Optional: an empty body is a viewer with the default nickname",
        content_type = "application/json",
    ),
    responses(
        (status = 201, description = "A new viewer and its token", body = Session),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
    ),
)]
async fn new_viewer(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Session>)> {
    // The body is optional: a first visit may not have chosen a nickname yet.
    let req: NewViewer = if body.iter().all(u8::is_ascii_whitespace) {
        NewViewer::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::invalid("body", e.to_string()))?
    };
    Ok((
        StatusCode::CREATED,
        Json(auth::create_viewer(&state.store, &req).await?),
    ))
}

/// Who the token belongs to.
#[utoipa::path(
    get,
    path = "/api/me",
    operation_id = "me",
    tag = tag::AUTH,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Principal),
        (status = 401, response = Unauthorized),
    ),
)]
async fn me(Caller(caller): Caller) -> Result<Json<Principal>> {
    caller.map(Json).ok_or(Error::Unauthorized)
}
