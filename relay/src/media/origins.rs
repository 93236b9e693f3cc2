//! Which relay receives which stream (its origin), for relays sharing one database.
//!
//! The relay a publisher reaches announces the stream with a heartbeat; the others find the
//! origin here when a viewer asks them for the stream and pull it from there over WHEP
//! ([`super::hub::MediaHub::pull`]). A heartbeat older than [`STALE_AFTER_MS`] is a dead
//! origin: nobody pulls from it, and a publisher that comes back on another relay takes the
//! stream over at its first heartbeat.

use std::sync::Arc;
use std::time::Duration;

use crate::error::now_ms;
use crate::store::Store;

/// How often an origin renews its claim.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A claim not renewed for this long belongs to a relay that is gone.
pub const STALE_AFTER_MS: i64 = 3_000;

/// This relay as a member of a cluster: the database it shares, its id, and the base URL
/// the other relays reach it at.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub store: Store,
    pub relay_id: Arc<str>,
    pub url: Arc<str>,
}

impl Cluster {
    /// Claims `stream` for this relay (or renews the claim).
    pub async fn announce(&self, stream: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "insert into stream_origins (stream_name, relay_id, relay_url, heartbeat_ms) \
             values ($1, $2, $3, $4) on conflict (stream_name) do update \
             set relay_id = excluded.relay_id, relay_url = excluded.relay_url, \
             heartbeat_ms = excluded.heartbeat_ms",
        )
        .bind(stream)
        .bind(&*self.relay_id)
        .bind(&*self.url)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Gives up this relay's claim on `stream` (another relay's newer claim stays).
    pub async fn withdraw(&self, stream: &str) -> Result<(), sqlx::Error> {
        sqlx::query("delete from stream_origins where stream_name = $1 and relay_id = $2")
            .bind(stream)
            .bind(&*self.relay_id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// The base URL of the live origin of `stream`, when it is another relay.
    pub async fn origin_of(&self, stream: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "select relay_url from stream_origins \
             where stream_name = $1 and relay_id <> $2 and heartbeat_ms > $3",
        )
        .bind(stream)
        .bind(&*self.relay_id)
        .bind(now_ms() - STALE_AFTER_MS)
        .fetch_optional(self.store.pool())
        .await
    }

    /// Streams some relay of the cluster receives now.
    pub async fn on_air(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("select stream_name from stream_origins where heartbeat_ms > $1")
            .bind(now_ms() - STALE_AFTER_MS)
            .fetch_all(self.store.pool())
            .await
    }

    /// Keeps `stream` claimed until `ended`, then withdraws the claim.
    pub async fn hold(self, stream: String, ended: tokio_util::sync::CancellationToken) {
        let mut ticker = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                () = ended.cancelled() => break,
                _ = ticker.tick() => {
                    if let Err(e) = self.announce(&stream).await {
                        tracing::warn!(%stream, "origin heartbeat failed: {e}");
                    }
                }
            }
        }
        if let Err(e) = self.withdraw(&stream).await {
            tracing::warn!(%stream, "origin claim not withdrawn: {e}");
        }
    }
}
