//! One error type for every handler, rendered as [`crate::api::ErrorBody`] JSON.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::{ErrorBody, ErrorDetail};
use crate::store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No resource at this path.
    #[error("not found: {0}")]
    NotFound(String),
    /// A request field is missing or invalid; `field` names it for the client.
    #[error("invalid {field}: {message}")]
    InvalidField { field: String, message: String },
    /// Storage failed; details are logged, never sent to clients.
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
}

impl Error {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> ErrorDetail {
        match self {
            Self::NotFound(what) => ErrorDetail {
                code: "not_found".into(),
                message: format!("{what} not found"),
                field: None,
            },
            Self::InvalidField { field, message } => ErrorDetail {
                code: "invalid_field".into(),
                message: message.clone(),
                field: Some(field.clone()),
            },
            Self::Store(_) => ErrorDetail {
                code: "internal".into(),
                message: "internal server error".into(),
                field: None,
            },
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status_code().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: self.detail(),
        };
        (self.status_code(), Json(body)).into_response()
    }
}
