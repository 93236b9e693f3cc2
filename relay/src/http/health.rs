//! Liveness and version endpoints.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::tag;
use super::{AppState, Result};
use crate::api::{ErrorBody, Health, HealthStatus, VersionInfo, path};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(version))
}

/// Liveness: 200 only when the database answers, so a load balancer or the studio sees a
/// broken store.
#[utoipa::path(
    get,
    path = path::HEALTHZ,
    operation_id = "healthz",
    tag = tag::HEALTH,
    responses(
        (status = 200, description = "Serving, and the database answers", body = Health),
        (status = 500, description = "The database does not answer", body = ErrorBody),
    ),
)]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: HealthStatus::Ok,
    }))
}

/// Which relay build and database schema a client is talking to.
#[utoipa::path(
    get,
    path = path::VERSION,
    operation_id = "version",
    tag = tag::HEALTH,
    responses((status = 200, description = "This relay's build and schema", body = VersionInfo)),
)]
async fn version(State(state): State<AppState>) -> Result<Json<VersionInfo>> {
    let schema_version = state.store.schema_version().await?;
    Ok(Json(VersionInfo {
        name: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version: u32::try_from(schema_version).unwrap_or(u32::MAX),
        instance_id: state.store.instance_id().await?,
    }))
}
