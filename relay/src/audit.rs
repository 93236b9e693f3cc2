//! The audit log: every staff action, who did it and when, with before/after where a value
//! changed. Kept for a configurable period (default 180 days), then purged by the sweep.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::{Result, now_ms};
use crate::store::Store;

pub const DEFAULT_RETENTION_DAYS: i64 = 180;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct AuditEntry {
    pub id: i64,
    pub staff_id: i64,
    pub username: String,
    pub action: String,
    pub target: String,
    #[ts(type = "unknown")]
    pub detail: serde_json::Value,
    pub at_ms: i64,
}

pub async fn record(
    store: &Store,
    staff_id: i64,
    username: &str,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "insert into audit_log (staff_id, username, action, target, detail, at_ms) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(staff_id)
    .bind(username)
    .bind(action)
    .bind(target)
    .bind(detail.to_string())
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Newest first, at most `limit` (1–1000), before `before_id` when paging back.
pub async fn list(store: &Store, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows: Vec<(i64, i64, String, String, String, String, i64)> = sqlx::query_as(
        "select id, staff_id, username, action, target, detail, at_ms from audit_log \
         where ($1 is null or id < $1) order by id desc limit $2",
    )
    .bind(before_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, staff_id, username, action, target, detail, at_ms)| AuditEntry {
                id,
                staff_id,
                username,
                action,
                target,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                at_ms,
            },
        )
        .collect())
}

/// Deletes entries older than `cutoff_ms`; returns how many.
pub async fn purge_before(store: &Store, cutoff_ms: i64) -> Result<u64> {
    Ok(sqlx::query("delete from audit_log where at_ms < $1")
        .bind(cutoff_ms)
        .execute(store.pool())
        .await?
        .rows_affected())
}
