//! Renders [`crate::error::Error`] as [`crate::api::ErrorBody`] JSON with a status code, and
//! makes malformed JSON bodies answer in the same format.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::api::{ErrorBody, ErrorDetail};
pub use crate::error::{Error, Result};

fn status_code(error: &Error) -> StatusCode {
    match error {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Conflict(_) | Error::SoldOut(_) => StatusCode::CONFLICT,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Malformed { .. } => StatusCode::BAD_REQUEST,
        Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Store(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn detail(error: &Error) -> ErrorDetail {
    let (code, field) = match error {
        Error::NotFound(_) => ("not_found", None),
        Error::InvalidField { field, .. } => ("invalid_field", Some(field.clone())),
        Error::Conflict(_) => ("conflict", None),
        Error::SoldOut(_) => ("sold_out", None),
        Error::Unauthorized => ("unauthorized", None),
        Error::Forbidden(_) => ("forbidden", None),
        Error::TooManyRequests { .. } => ("rate_limited", None),
        Error::TooLarge { field, .. } => ("too_large", Some(field.clone())),
        Error::Malformed { field, .. } => ("malformed", Some(field.clone())),
        Error::UnsupportedMediaType { .. } => {
            ("unsupported_media_type", Some("Content-Type".into()))
        }
        Error::Unavailable { .. } => ("unavailable", None),
        Error::Store(_) | Error::Internal(_) => ("internal", None),
    };
    let message = match error {
        Error::InvalidField { message, .. } => message.clone(),
        Error::Malformed { message, .. } => message.clone(),
        Error::Store(_) | Error::Internal(_) => "internal server error".to_owned(),
        other => other.to_string(),
    };
    ErrorDetail {
        code: code.to_owned(),
        message,
        field,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status_code(&self);
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (
            status,
            Json(ErrorBody {
                error: detail(&self),
            }),
        )
            .into_response();
        if let Error::TooManyRequests { retry_after_ms }
        | Error::Unavailable { retry_after_ms, .. } = self
        {
            let secs = retry_after_ms.div_ceil(1000).max(1);
            if let Ok(value) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// `Json<T>` whose rejections (bad syntax, wrong type, missing field) are our 4xx JSON,
/// naming the field serde complained about where it can.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> Error {
    // Over `DefaultBodyLimit`: the body was never read, so it is not "invalid" but too big.
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Error::TooLarge {
            field: "body".into(),
            limit_bytes: super::MAX_JSON_BYTES,
        };
    }
    let text = rejection.body_text();
    Error::invalid(field_of(&text), text)
}

/// axum/serde messages name the field either as a path segment
/// ("…target type: skus[0].stock: invalid type…") or in backticks ("missing field `title`").
fn field_of(text: &str) -> String {
    text.split(": ")
        .skip(1)
        .find(|segment| !segment.is_empty() && !segment.contains(' '))
        .or_else(|| text.split('`').nth(1))
        .unwrap_or("body")
        .to_owned()
}

/// `Path<T>` whose rejections (e.g. `/api/products/abc`) are our 4xx JSON naming `id`.
pub struct AppPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(Error::invalid("id", rejection.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn field_is_found_in_serde_messages() {
        let typed = "Failed to deserialize the JSON body into the target type: skus[0].stock: invalid type: string \"x\", expected i64 at line 1 column 40";
        assert_eq!(field_of(typed), "skus[0].stock");
        let missing = "Failed to deserialize the JSON body into the target type: missing field `title` at line 1 column 2";
        assert_eq!(field_of(missing), "title");
        assert_eq!(
            field_of("Failed to parse the request body as JSON: expected value at line 1 column 1"),
            "body"
        );
    }
}
