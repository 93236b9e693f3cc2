//! Live media: streams and keys, WHIP ingest, WHEP playback (an SFU over webrtc-rs), and the
//! figures of each stream.

pub mod clipper;
pub mod h264;
pub mod hub;
pub mod origins;
pub mod packager;
pub mod peer;
pub mod publisher;
mod pull;
pub mod rtmp;
pub mod stats;
pub mod streams;

pub use hub::{MediaHub, Session};
pub use packager::MediaDirs;
pub use peer::IceSettings;

/// Why a media request failed; the HTTP layer maps each to its status.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The SDP offer is malformed or has nothing the relay can take (400).
    #[error("{0}")]
    BadOffer(String),
    /// The stream already has a publisher (409).
    #[error("{0}")]
    Busy(String),
    /// Nobody publishes the stream now (503, retry later).
    #[error("{0}")]
    NotLive(String),
    /// No such session on this stream (404).
    #[error("no such session")]
    NoSession,
    /// The media engine failed (500); logged, not shown.
    #[error("{0}")]
    Internal(String),
}

impl MediaError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<MediaError> for crate::error::Error {
    fn from(e: MediaError) -> Self {
        use crate::error::Error;
        match e {
            MediaError::BadOffer(message) => Error::Malformed {
                field: "sdp".into(),
                message,
            },
            MediaError::Busy(message) => Error::Conflict(message),
            MediaError::NotLive(message) => Error::Unavailable {
                message,
                retry_after_ms: 2000,
            },
            MediaError::NoSession => Error::NotFound("session".into()),
            MediaError::Internal(message) => Error::Internal(message),
        }
    }
}
