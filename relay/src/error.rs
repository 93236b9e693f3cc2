//! The relay's domain error. The HTTP layer maps each variant to a status code
//! (`http::error`); domain code never deals in status codes.

use crate::store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No resource with this id (or not visible to the caller).
    #[error("{0} not found")]
    NotFound(String),
    /// A request field is missing or invalid; `field` names it (`skus[1].stock`).
    #[error("invalid {field}: {message}")]
    InvalidField { field: String, message: String },
    /// The request conflicts with current state (duplicate name, product already in cart).
    #[error("conflict: {0}")]
    Conflict(String),
    /// What was asked for is sold out (or has fewer units left than asked for): a 409 of its
    /// own code, so a buyer's page can say so instead of a generic conflict.
    #[error("sold out: {0}")]
    SoldOut(String),
    /// No valid credentials were given.
    #[error("authentication required")]
    Unauthorized,
    /// The caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller is sending too fast; retry after this many milliseconds.
    #[error("too many requests: retry in {retry_after_ms} ms")]
    TooManyRequests { retry_after_ms: u64 },
    /// An uploaded body is over its limit (`field` names what was too large).
    #[error("{field} is too large: the limit is {limit_bytes} bytes")]
    TooLarge { field: String, limit_bytes: usize },
    /// The request body is malformed in a way that is not one JSON field (an SDP offer).
    #[error("malformed {field}: {message}")]
    Malformed { field: String, message: String },
    /// The body's `Content-Type` is not the one this route takes.
    #[error("Content-Type must be {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// The resource exists but cannot serve now (a stream nobody publishes); retry later.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_ms: u64,
    },
    /// Something on the server failed (media engine); details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// Storage failed; details are logged, never sent to clients.
    #[error("storage error: {0}")]
    Store(StoreError),
}

/// What a client is told when the database is busy (another relay froze holding the write
/// lock, or the pool is exhausted): nothing was written, so the same request can be retried.
const BUSY_RETRY_MS: u64 = 1000;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(db) if crate::store::is_busy(&db) => {
                tracing::warn!("database busy: {db}");
                Self::Unavailable {
                    message: "the shop is busy, please retry".into(),
                    retry_after_ms: BUSY_RETRY_MS,
                }
            }
            e => Self::Store(e),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e).into()
    }
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks a text field's length in characters (not bytes: titles are mostly Chinese), and
/// that it holds no control characters but tab and line breaks: a NUL cuts the text short in
/// C libraries (Pango on the video, exports), and the others draw as boxes or move the cursor.
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    let len = value.chars().count();
    if value.trim().is_empty() && min > 0 {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if len < min || len > max {
        return Err(Error::invalid(
            field,
            format!("must be {min}–{max} characters, got {len}"),
        ));
    }
    Ok(())
}

/// Checks an integer is within `min..=max` (money in fen, stock, quantities).
pub fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<()> {
    if value < min || value > max {
        return Err(Error::invalid(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

/// The latest time a client may name: the end of year 9999, far from `i64` overflow in any
/// sum of a time and a duration the relay takes.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Checks a client's timestamp (unix ms) is within `0..=MAX_TIME_MS`.
pub fn check_time_ms(field: &str, value: i64) -> Result<()> {
    check_range(field, value, 0, MAX_TIME_MS)
}

/// Unix time in milliseconds: how every timestamp is stored.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_length_counts_characters_not_bytes() {
        assert!(check_text("title", "新款连衣裙", 1, 5).is_ok());
        let err = check_text("title", "新款连衣裙!", 1, 5).unwrap_err();
        assert!(err.to_string().contains("title"), "{err}");
        assert!(check_text("title", "   ", 1, 5).is_err());
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_are_not() {
        let err = check_text("nickname", "a\0b", 1, 20).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidField { field, .. } if field == "nickname"),
            "{err}"
        );
        assert!(check_text("body", "x\u{1b}[31m", 1, 20).is_err());
        assert!(check_text("body", "x\u{7f}", 1, 20).is_err());
        assert!(check_text("description", "一行\r\n二行\t三", 1, 20).is_ok());
    }

    #[test]
    fn range_names_the_field() {
        let err = check_range("price_fen", -1, 0, 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid price_fen: must be between 0 and 100, got -1"
        );
    }
}
