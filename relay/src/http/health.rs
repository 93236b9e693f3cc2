//! Liveness and version endpoints.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::{AppState, Result};
use crate::api::{Health, HealthStatus, VersionInfo, path};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(path::HEALTHZ, get(healthz))
        .route(path::VERSION, get(version))
}

/// 200 only when the database answers, so a load balancer or the studio sees a broken store.
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: HealthStatus::Ok,
    }))
}

async fn version(State(state): State<AppState>) -> Result<Json<VersionInfo>> {
    let schema_version = state.store.schema_version().await?;
    Ok(Json(VersionInfo {
        name: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version: u32::try_from(schema_version).unwrap_or(u32::MAX),
        instance_id: state.store.instance_id().await?,
    }))
}
