//! The built viewer UI (`ui/dist`): embedded in the binary at build time, or read from a
//! directory given by `--ui-dir` (for UI development without rebuilding the relay).

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../ui/dist/"]
#[exclude = "studio.html"]
struct Embedded;

/// Entry document of the viewer single-page app.
pub const VIEWER_HTML: &str = "viewer.html";

#[derive(Debug, Clone, Default)]
pub enum UiAssets {
    /// The copy built into this binary.
    #[default]
    Embedded,
    /// A directory on disk (`--ui-dir`).
    Dir(PathBuf),
}

impl UiAssets {
    pub fn new(dir: Option<PathBuf>) -> Self {
        dir.map_or(Self::Embedded, Self::Dir)
    }

    /// Contents of a file by its path relative to the UI root, refusing anything that would
    /// step outside it. The studio entry is not served: it only works inside the Tauri window.
    pub async fn get(&self, rel: &str) -> Option<Cow<'static, [u8]>> {
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() || rel == "studio.html" || !is_plain_relative(Path::new(rel)) {
            return None;
        }
        match self {
            Self::Embedded => Embedded::get(rel).map(|f| f.data),
            Self::Dir(root) => tokio::fs::read(root.join(rel)).await.ok().map(Cow::Owned),
        }
    }
}

fn is_plain_relative(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn embedded_viewer_is_present_and_studio_is_not_served() {
        let ui = UiAssets::Embedded;
        let html = ui.get(VIEWER_HTML).await.expect("viewer.html embedded");
        assert!(String::from_utf8_lossy(&html).contains("<div id=\"root\">"));
        assert!(ui.get("studio.html").await.is_none());
    }

    #[tokio::test]
    async fn path_traversal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), b"x").unwrap();
        let ui = UiAssets::Dir(dir.path().join("ui"));
        assert!(ui.get("../secret").await.is_none());
        // A leading slash is relative to the UI root, never the filesystem root.
        assert!(ui.get("/etc/passwd").await.is_none());
    }
}
