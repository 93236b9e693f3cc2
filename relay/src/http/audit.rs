//! `GET /api/audit`: the shop owner reads what staff did.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::Staff;
use super::{AppState, Error, Result};
use crate::audit::{self, AuditEntry};
use crate::auth::{Principal, Role};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/audit", get(list))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    before_id: Option<i64>,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    200
}

/// Owner only: the audit log watches the other staff.
async fn list(
    State(state): State<AppState>,
    Staff(who): Staff,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>> {
    if !matches!(
        who,
        Principal::Staff {
            role: Role::Owner,
            ..
        }
    ) {
        return Err(Error::Forbidden(
            "only the shop owner reads the audit log".into(),
        ));
    }
    Ok(Json(audit::list(&state.store, q.before_id, q.limit).await?))
}
