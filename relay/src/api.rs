//! Wire types of the relay's HTTP API, shared by the relay, the studio's client and the tests.
//! The UI's TypeScript copies are generated from these by ts-rs (`ui/src/bindings/`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// Path builders, so servers, clients and tests agree on URLs.
pub mod path {
    pub const HEALTHZ: &str = "/healthz";
    pub const VERSION: &str = "/api/version";
}

/// `GET /healthz`: the relay answers and its database responds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Health {
    pub status: HealthStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum HealthStatus {
    /// Serving requests and the database answers.
    Ok,
}

/// `GET /api/version`: which relay build and schema a client is talking to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct VersionInfo {
    pub name: String,
    pub version: String,
    /// Highest database migration applied; clients can refuse a relay that is too old.
    pub schema_version: u32,
    /// Stable id of this relay's data directory, so clients can tell two relays apart.
    pub instance_id: String,
}

/// Body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct ErrorDetail {
    /// Machine-readable, e.g. `not_found`, `invalid_field`.
    pub code: String,
    /// Human-readable, in English; the UI translates by `code`.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
}
