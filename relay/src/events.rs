//! The ordered event log of each live (`events` table) and its live fan-out.
//!
//! Contract: an event is appended inside the same transaction as the change it describes
//! ([`append`]), and published to subscribers only after that transaction commits
//! ([`EventHub::publish`]). Subscribers MUST tolerate `RecvError::Lagged` by re-reading the
//! log after the last id they saw ([`list`]); the log, not the channel, is the truth.
//! SQLite serialises writers, so ids are assigned in commit order.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use ts_rs::TS;

use crate::error::{Result, now_ms};
use crate::store::{Conn, Store};

/// How many committed events the in-memory channel holds before slow subscribers lag.
const CHANNEL_CAPACITY: usize = 4096;
/// Most events returned by one HTTP read or one backlog page.
pub const PAGE_LIMIT: i64 = 1000;

/// Who may see an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Audience {
    /// Viewers and staff.
    Public,
    /// Staff only (orders with addresses, moderation).
    Staff,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Staff => "staff",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Event {
    pub id: i64,
    pub live_id: i64,
    /// e.g. `pin.changed`, `cart.changed`, `live.status`.
    pub kind: String,
    pub audience: Audience,
    #[ts(type = "unknown")]
    pub payload: serde_json::Value,
    pub created_at_ms: i64,
}

/// Appends an event inside the caller's transaction; publish it after commit.
pub async fn append(
    conn: &mut Conn,
    live_id: i64,
    kind: &str,
    audience: Audience,
    payload: serde_json::Value,
) -> Result<Event> {
    let created_at_ms = now_ms();
    let id: i64 = sqlx::query_scalar(
        "insert into events (live_id, kind, audience, payload, created_at_ms) \
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(live_id)
    .bind(kind)
    .bind(audience.as_str())
    .bind(payload.to_string())
    .bind(created_at_ms)
    .fetch_one(conn)
    .await?;
    Ok(Event {
        id,
        live_id,
        kind: kind.to_owned(),
        audience,
        payload,
        created_at_ms,
    })
}

/// Events of a live after `after`, oldest first; staff-only events only when `staff`.
pub async fn list(
    store: &Store,
    live_id: i64,
    after: i64,
    staff: bool,
    limit: i64,
) -> Result<Vec<Event>> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "select id, kind, audience, payload, created_at_ms from events \
         where live_id = $1 and id > $2 and (audience = 'public' or $3) \
         order by id limit $4",
    )
    .bind(live_id)
    .bind(after)
    .bind(staff)
    .bind(limit.clamp(1, PAGE_LIMIT))
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, audience, payload, created_at_ms)| Event {
            id,
            live_id,
            kind,
            audience: if audience == "staff" {
                Audience::Staff
            } else {
                Audience::Public
            },
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            created_at_ms,
        })
        .collect())
}

/// In-process fan-out of committed events to WebSocket subscribers.
#[derive(Debug, Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }
}

impl EventHub {
    /// Call after the transaction that appended `events` has committed.
    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            // No subscribers is fine: the log keeps the event for later readers.
            let _ = self.tx.send(Arc::new(event));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}
