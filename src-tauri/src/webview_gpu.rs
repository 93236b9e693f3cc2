//! Whether the window's web view composites with the GPU. WebKitGTK composites through OpenGL
//! even where no GPU is there to run it; Mesa then renders in software (llvmpipe), which cost
//! the studio more than a core for its 15 fps preview (bench/README.md, studio-window). With no
//! GPU render node the web view draws with its CPU renderer instead, as browsers do for a GPU
//! on their block list. `ANCHORDESK_WEBVIEW_GPU=on|off` overrides the guess.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compositing {
    /// WebKit's default: accelerated compositing through OpenGL.
    Gpu,
    /// WebKit's CPU renderer, without accelerated compositing.
    Cpu,
}

/// `setting` is `ANCHORDESK_WEBVIEW_GPU`; `render_node` whether the machine has a GPU render node.
pub fn choose(setting: Option<&str>, render_node: bool) -> Compositing {
    match setting.map(str::trim) {
        Some("on" | "1" | "true") => Compositing::Gpu,
        Some("off" | "0" | "false") => Compositing::Cpu,
        _ if render_node => Compositing::Gpu,
        _ => Compositing::Cpu,
    }
}

/// A DRM render node (`/dev/dri/renderD128`…): what Mesa needs to draw on a GPU.
pub fn has_render_node(dri: &Path) -> bool {
    std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// The choice for this machine.
pub fn for_this_machine() -> Compositing {
    choose(
        std::env::var("ANCHORDESK_WEBVIEW_GPU").ok().as_deref(),
        has_render_node(Path::new("/dev/dri")),
    )
}

/// Applies `compositing` to a window's web view.
pub fn apply(window: &tauri::WebviewWindow, compositing: Compositing) {
    #[cfg(target_os = "linux")]
    if compositing == Compositing::Cpu {
        let applied = window.with_webview(|webview| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = WebViewExt::settings(&webview.inner()) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
        if let Err(e) = applied {
            tracing::warn!("web view compositing unchanged: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (window, compositing);
    tracing::info!(?compositing, "web view compositing");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_without_a_render_node_draws_the_window_on_the_cpu_unless_told() {
        assert_eq!(choose(None, false), Compositing::Cpu);
        assert_eq!(choose(None, true), Compositing::Gpu);
        assert_eq!(choose(Some("on"), false), Compositing::Gpu);
        assert_eq!(choose(Some("off"), true), Compositing::Cpu);
        assert_eq!(choose(Some("auto"), true), Compositing::Gpu);
    }

    #[test]
    fn render_nodes_are_found_by_name() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_render_node(dir.path()));
        assert!(!has_render_node(&dir.path().join("missing")));
        std::fs::write(dir.path().join("card0"), b"").unwrap();
        assert!(!has_render_node(dir.path()));
        std::fs::write(dir.path().join("renderD128"), b"").unwrap();
        assert!(has_render_node(dir.path()));
    }
}
