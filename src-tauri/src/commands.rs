//! Tauri commands: one-line delegations to the services managed in `setup`.

use tauri::State;

use crate::relay_host::{RelayHost, RelayStatus};

/// The bundled relay's state, URL and health (the UI also listens to `relay-status`).
#[tauri::command]
pub fn relay_status(host: State<'_, RelayHost>) -> RelayStatus {
    host.status()
}

#[cfg(test)]
mod tests {
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
    use tauri::webview::InvokeRequest;

    use crate::relay_host::{RelayHost, RelayStatus};

    fn invoke(webview: &tauri::WebviewWindow<tauri::test::MockRuntime>, cmd: &str) -> RelayStatus {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // The app's own origin on Linux; any other origin counts as remote content.
            url: "tauri://localhost".parse().expect("valid url"),
            body: InvokeBody::default(),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(webview, request)
            .expect("command succeeds")
            .deserialize()
            .expect("RelayStatus JSON")
    }

    #[test]
    fn relay_status_answers_over_ipc_with_the_real_bundled_relay() {
        let dir = tempfile::tempdir().unwrap();
        let host = RelayHost::new(|_| {});
        let app = mock_builder()
            .manage(host.clone())
            .invoke_handler(tauri::generate_handler![super::relay_status])
            .build(mock_context(noop_assets()))
            .expect("mock app builds");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock window");

        assert_eq!(invoke(&webview, "relay_status"), RelayStatus::Starting);

        let url = tauri::async_runtime::block_on(host.start(dir.path().to_owned())).unwrap();
        assert_eq!(
            invoke(&webview, "relay_status"),
            RelayStatus::Running { url, healthy: true }
        );
        tauri::async_runtime::block_on(host.shutdown());
        assert_eq!(invoke(&webview, "relay_status"), RelayStatus::Stopped);
    }
}
