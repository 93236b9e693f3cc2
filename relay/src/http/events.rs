//! `GET /api/lives/{id}/events?after=<id>`: the live's event log. A plain request answers
//! with a JSON page; a WebSocket upgrade sends the backlog after `after`, then every new
//! event as it commits, one JSON text message each. Viewers never get staff-only events.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::auth::Caller;
use super::{AppPath, AppState, Result};
use crate::commerce::lives;
use crate::events::{self, PAGE_LIMIT};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/lives/{id}/events", get(events))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    /// Resume point: the last event id the client has (0 = from the start).
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    PAGE_LIMIT
}

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(live_id): AppPath<i64>,
    Query(q): Query<EventsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    lives::get(&state.store, live_id).await?;
    let staff = caller.is_staff();
    match upgrade {
        Ok(ws) => Ok(ws
            .on_upgrade(move |socket| stream(socket, state, live_id, q.after, staff))
            .into_response()),
        Err(_) => {
            let page = events::list(&state.store, live_id, q.after, staff, q.limit).await?;
            Ok(Json(page).into_response())
        }
    }
}

/// Sends every event after `after`, in id order, until the client goes away.
///
/// The broadcast channel is only a wake-up: on each notification for this live the log is
/// re-read after the last id sent. Two writers may publish in either order after their
/// commits, but SQLite commits them in id order, so reading the log never skips one.
async fn stream(mut socket: WebSocket, state: AppState, live_id: i64, after: i64, staff: bool) {
    // A viewer's socket counts as watching until it ends (staff consoles do not count).
    let _watching = (!staff).then(|| state.presence.join(live_id));
    // Subscribe before reading the backlog so nothing committed in between is missed.
    let mut rx = state.events.subscribe();
    let mut last = after;
    if catch_up(&mut socket, &state, live_id, staff, &mut last)
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            received = rx.recv() => {
                let wake = match received {
                    Ok(event) => event.live_id == live_id && event.id > last,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                };
                if wake {
                    // Coalesce a burst of notifications into one read.
                    while rx.try_recv().is_ok() {}
                    if catch_up(&mut socket, &state, live_id, staff, &mut last).await.is_err() {
                        return;
                    }
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn catch_up(
    socket: &mut WebSocket,
    state: &AppState,
    live_id: i64,
    staff: bool,
    last: &mut i64,
) -> Result<(), ()> {
    loop {
        let page = events::list(&state.store, live_id, *last, staff, PAGE_LIMIT)
            .await
            .map_err(|e| tracing::warn!("event stream read failed: {e}"))?;
        let full = page.len() as i64 == PAGE_LIMIT;
        for event in page {
            let text = serde_json::to_string(&event).map_err(|_| ())?;
            socket
                .send(Message::Text(text.into()))
                .await
                .map_err(|_| ())?;
            *last = event.id;
        }
        if !full {
            return Ok(());
        }
    }
}
