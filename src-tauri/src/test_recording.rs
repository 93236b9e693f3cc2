//! The first-start guide's 5 s test recording: made by the engine like any recording, checked
//! with a real demuxer and decoder, and served to the window's `<video>` so the anchor sees
//! and hears what viewers will.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// Overwritten by each test: one file, never a pile of them.
pub const FILE: &str = "test-recording.mp4";
pub const LENGTH: Duration = Duration::from_secs(5);

/// What the window shows beside the player.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRecording {
    pub path: PathBuf,
    /// Where the window plays it.
    pub url: String,
    pub duration_ms: u64,
    pub video: bool,
    pub audio: bool,
}

/// The player, started at the first test recording.
pub type PlayerSlot = tokio::sync::OnceCell<Player>;

/// Serves the test recording to the window's `<video>` over loopback HTTP, at a path no
/// other local user can guess. WebKitGTK's media player loads neither from the studio's own
/// `preview:` scheme (FormatError) nor reliably from a `blob:` copy (its range reads of a
/// blob handed qtdemux wrong bytes); over HTTP with range requests it plays.
pub struct Player {
    /// `http://127.0.0.1:PORT/SECRET/test-recording.mp4`
    pub url: String,
}

impl Player {
    pub async fn start(dir: PathBuf) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let secret = anchordesk_relay::auth::random_hex(16);
        let url = format!("http://{}/{secret}/{FILE}", listener.local_addr()?);
        let app = axum::Router::new().route_service(
            &format!("/{secret}/{FILE}"),
            tower_http::services::ServeFile::new(dir.join(FILE)),
        );
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("test recording player stopped: {e}");
            }
        });
        Ok(Self { url })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_recording_is_served_in_ranges_at_its_secret_path_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), b"0123456789").unwrap();
        let player = Player::start(dir.path().to_owned()).await.unwrap();
        let http = reqwest::Client::new();
        let whole = http.get(&player.url).send().await.unwrap();
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.bytes().await.unwrap().as_ref(), b"0123456789");
        let part = http
            .get(&player.url)
            .header("range", "bytes=2-4")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), 206);
        assert_eq!(part.bytes().await.unwrap().as_ref(), b"234");
        let guessed = player
            .url
            .rsplit_once('/')
            .unwrap()
            .0
            .rsplit_once('/')
            .unwrap()
            .0;
        let guess = http.get(format!("{guessed}/{FILE}")).send().await.unwrap();
        assert_eq!(guess.status(), 404);
    }
}
