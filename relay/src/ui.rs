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
    /// Neither are dotfiles (`.env`, `.git/…` of a UI checkout).
    pub async fn get(&self, rel: &str) -> Option<Cow<'static, [u8]>> {
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() || rel == "studio.html" || !is_plain_relative(Path::new(rel)) {
            return None;
        }
        match self {
            Self::Embedded => Embedded::get(rel).map(|f| f.data),
            Self::Dir(root) => {
                let path = confined(root, rel).await?;
                tokio::fs::read(path).await.ok().map(Cow::Owned)
            }
        }
    }
}

/// Only plain names, none starting with a dot.
fn is_plain_relative(path: &Path) -> bool {
    path.components().all(|c| match c {
        Component::Normal(name) => !name.as_encoded_bytes().starts_with(b"."),
        _ => false,
    })
}

/// `root/rel` resolved through any symlinks, if it is a file still inside `root`: a link in
/// the UI directory must not serve `/etc` or the database next to it.
async fn confined(root: &Path, rel: &str) -> Option<PathBuf> {
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let path = tokio::fs::canonicalize(root.join(rel)).await.ok()?;
    let inside = path.starts_with(&root) && tokio::fs::metadata(&path).await.ok()?.is_file();
    inside.then_some(path)
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
    async fn dotfiles_and_symlinks_out_of_the_ui_dir_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ui_dir = dir.path().join("ui");
        std::fs::create_dir_all(ui_dir.join("assets")).unwrap();
        std::fs::write(ui_dir.join("viewer.html"), b"<html>").unwrap();
        std::fs::write(ui_dir.join(".env"), b"SECRET=1").unwrap();
        std::fs::create_dir_all(ui_dir.join(".git")).unwrap();
        std::fs::write(ui_dir.join(".git/config"), b"[core]").unwrap();
        std::fs::write(dir.path().join("anchordesk.db"), b"phones").unwrap();
        std::os::unix::fs::symlink(dir.path().join("anchordesk.db"), ui_dir.join("db.js")).unwrap();
        std::os::unix::fs::symlink(dir.path(), ui_dir.join("assets/up")).unwrap();
        std::os::unix::fs::symlink(ui_dir.join("viewer.html"), ui_dir.join("index.html")).unwrap();
        let ui = UiAssets::Dir(ui_dir);
        assert!(ui.get("viewer.html").await.is_some());
        assert!(ui.get(".env").await.is_none());
        assert!(ui.get(".git/config").await.is_none());
        assert!(ui.get("db.js").await.is_none());
        assert!(ui.get("assets/up/anchordesk.db").await.is_none());
        assert!(ui.get("assets").await.is_none(), "a directory is no file");
        // A link that stays inside the directory is fine.
        assert!(ui.get("index.html").await.is_some());
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
