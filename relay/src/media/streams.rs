//! Streams and their publish keys. A key is shown once when it is made and stored only as its
//! SHA-256, like session tokens: keys are 128-bit random, so a fast hash is enough and checking
//! one costs nothing on every WHIP POST or RTMP connect.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::commerce::lives::check_stream_name;
use crate::error::{Error, Result, now_ms};
use crate::store::Store;

/// A stream as staff see it in lists (never with its key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, TS, ToSchema)]
#[ts(export)]
pub struct Stream {
    pub name: String,
    pub created_at_ms: i64,
    /// When the current publish key was made (create or rotate).
    pub key_set_at_ms: i64,
    /// A publisher is connected right now.
    pub publishing: bool,
    /// WHEP viewers watching right now.
    pub viewers: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewStream {
    /// a-z, 0-9, '-' and '_', up to 64 characters: it appears in URLs.
    pub name: String,
}

/// A new or rotated key with the URLs to publish and watch. The key is never shown again.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct StreamKey {
    pub name: String,
    pub key: String,
    /// WHIP endpoint; send the key as `Authorization: Bearer <key>`.
    pub whip_url: String,
    /// WHEP endpoint for players (no key needed).
    pub whep_url: String,
    /// RTMP server URL (OBS "Server") when RTMP ingest is on; OBS's stream key field then
    /// takes `{name}?key={key}`.
    #[ts(optional)]
    pub rtmp_url: Option<String>,
    pub hls_url: String,
}

impl StreamKey {
    /// `http_base` is how clients reach the relay's HTTP side (`http://host:port`), `rtmp_base`
    /// its RTMP side (`rtmp://host:1935`) if it has one.
    pub fn new(name: String, key: String, http_base: &str, rtmp_base: Option<&str>) -> Self {
        let http_base = http_base.trim_end_matches('/');
        Self {
            whip_url: format!("{http_base}/whip/{name}"),
            whep_url: format!("{http_base}/whep/{name}"),
            rtmp_url: rtmp_base.map(|base| format!("{}/live", base.trim_end_matches('/'))),
            hls_url: format!("{http_base}/hls/{name}/index.m3u8"),
            name,
            key,
        }
    }
}

fn new_key() -> String {
    crate::auth::random_hex(16)
}

/// Creates a stream and returns its name with its first key.
pub async fn create(store: &Store, name: &str) -> Result<(String, String)> {
    check_stream_name(name).map_err(|_| {
        Error::invalid(
            "name",
            "must be 1–64 characters of a-z, 0-9, '-' and '_' (it appears in URLs)",
        )
    })?;
    let key = new_key();
    let now = now_ms();
    let inserted: Option<i64> = sqlx::query_scalar(
        "insert into streams (name, key_hash, created_at_ms, key_set_at_ms) values ($1, $2, $3, $3) \
         on conflict (name) do nothing returning id",
    )
    .bind(name)
    .bind(crate::auth::token_hash(&key))
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    if inserted.is_none() {
        return Err(Error::Conflict(format!("stream {name} already exists")));
    }
    Ok((name.to_owned(), key))
}

/// Replaces a stream's key; the old one stops working for new publishes at once.
pub async fn rotate_key(store: &Store, name: &str) -> Result<String> {
    let key = new_key();
    let updated =
        sqlx::query("update streams set key_hash = $1, key_set_at_ms = $2 where name = $3")
            .bind(crate::auth::token_hash(&key))
            .bind(now_ms())
            .bind(name)
            .execute(store.pool())
            .await?
            .rows_affected();
    if updated == 0 {
        return Err(Error::NotFound(format!("stream {name}")));
    }
    Ok(key)
}

/// Stored streams, by name, without live state (the media hub adds it).
pub async fn list(store: &Store) -> Result<Vec<Stream>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "select name, created_at_ms, key_set_at_ms from streams order by name limit 1000",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, created_at_ms, key_set_at_ms)| Stream {
            name,
            created_at_ms,
            key_set_at_ms,
            publishing: false,
            viewers: 0,
        })
        .collect())
}

pub async fn exists(store: &Store, name: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("select id from streams where name = $1")
        .bind(name)
        .fetch_optional(store.pool())
        .await?;
    Ok(found.is_some())
}

/// Why a publisher was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    Valid,
    WrongKey,
    UnknownStream,
}

/// Checks a publish key. Comparing hashes (not keys) means the comparison's timing tells an
/// attacker nothing they could use to guess the key.
pub async fn check_key(store: &Store, name: &str, key: &str) -> Result<KeyCheck> {
    let stored: Option<String> = sqlx::query_scalar("select key_hash from streams where name = $1")
        .bind(name)
        .fetch_optional(store.pool())
        .await?;
    Ok(match stored {
        None => KeyCheck::UnknownStream,
        Some(hash) if hash == crate::auth::token_hash(key) => KeyCheck::Valid,
        Some(_) => KeyCheck::WrongKey,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_relay_address() {
        let k = StreamKey::new(
            "demo".into(),
            "k".into(),
            "http://10.0.0.2:8686/",
            Some("rtmp://10.0.0.2:1935"),
        );
        assert_eq!(k.whip_url, "http://10.0.0.2:8686/whip/demo");
        assert_eq!(k.whep_url, "http://10.0.0.2:8686/whep/demo");
        assert_eq!(k.rtmp_url.as_deref(), Some("rtmp://10.0.0.2:1935/live"));
        assert_eq!(k.hls_url, "http://10.0.0.2:8686/hls/demo/index.m3u8");
    }
}
