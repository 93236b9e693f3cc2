//! `GET /api/audit`: the shop owner reads what staff did.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Staff;
use super::openapi::{BadQuery, Forbidden, Unauthorized, tag};
use super::{AppState, Error, Result};
use crate::audit::{self, AuditEntry};
use crate::auth::{Principal, Role};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Page back: only entries older than this id.
    before_id: Option<i64>,
    /// Most entries returned, 1–1000 (default 200).
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    200
}

/// Owner only: the audit log watches the other staff. Newest first.
#[utoipa::path(
    get,
    path = "/api/audit",
    operation_id = "list_audit",
    tag = tag::AUDIT,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Audit entries, newest first", body = Vec<AuditEntry>),
        (status = 401, response = Unauthorized),
        (status = 400, response = BadQuery),
        (status = 403, response = Forbidden),
    ),
)]
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
