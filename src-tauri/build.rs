fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist");
    if !dist.join("studio.html").exists() {
        panic!(
            "ui/dist/studio.html is missing: build the UI first with `make ui` \
             (npm --prefix ui ci && npm --prefix ui run build)"
        );
    }
    // Only the commands listed here can be granted to the window (capabilities/default.json);
    // anything else the webview invokes is refused.
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(&[
            "relay_status",
            "studio_info",
            "relay_call",
            "go_live",
            "stop_live",
            "load_demo_products",
            "scenes",
            "set_scenes",
            "cameras",
            "set_audio",
            "microphones",
            "set_microphone",
            "test_recording",
            "studio_mode",
            "connect_relay",
            "presets",
            "start_destination",
            "start_recording",
            "stop_output",
            "set_canvas",
            "set_preview_canvas",
            "settings",
            "update_settings",
            "save_destination",
            "forget_destination",
            "start_saved_destination",
            "show_comment",
        ]));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
