//! Tauri commands: one-line delegations to the services managed in `setup`.

use anchordesk_pipelines::scene::SceneCollection;
use serde_json::Value;
use tauri::{Emitter, State};

use crate::engine_host::EngineHost;
use crate::overlays::OverlayInput;
use crate::relay_client::{CallError, RELAY_EVENT};
use crate::relay_host::{RelayHost, RelayStatus};
use crate::session::{Session, StudioInfo};
use crate::settings::{
    Orientation, SavedDestination, SettingsStore, SettingsUpdate, StudioSettings,
};
use crate::studio::{STUDIO_READY_EVENT, StudioMode, StudioPaths};

/// The bundled relay's state, URL and health (the UI also listens to `relay-status`).
#[tauri::command]
pub fn relay_status(host: State<'_, RelayHost>) -> RelayStatus {
    host.status()
}

/// The session's relay and live, once connected (the UI also listens to `studio-ready`).
#[tauri::command]
pub fn studio_info(session: State<'_, Session>) -> Option<StudioInfo> {
    session.info()
}

/// One relay API request as the session's staff account; errors carry the relay's code,
/// field and message.
#[tauri::command]
pub async fn relay_call(
    session: State<'_, Session>,
    method: String,
    path: String,
    body: Option<Value>,
) -> Result<Value, CallError> {
    let client = session.client()?;
    client.call(&method, &path, body.as_ref()).await
}

/// Puts the live on air and publishes the programme to the session's relay.
#[tauri::command]
pub async fn go_live(
    session: State<'_, Session>,
    engine: State<'_, EngineHost>,
) -> Result<(), CallError> {
    let (whip_url, key) = session.prepare_go_live().await?;
    engine
        .go_live(&whip_url, &key)
        .map_err(|e| CallError::local("engine", e))
}

/// Stops publishing; the live stays open so the anchor can come back.
#[tauri::command]
pub fn stop_live(engine: State<'_, EngineHost>) -> Result<(), CallError> {
    engine
        .stop_live()
        .map_err(|e| CallError::local("engine", e))
}

/// Fills an empty shop on the bundled relay with the demo catalogue, to try the console.
#[tauri::command]
pub async fn load_demo_products(host: State<'_, RelayHost>) -> Result<usize, CallError> {
    let (Some(store), Some(images)) = (host.store(), host.images_dir()) else {
        return Err(CallError::local(
            "not_connected",
            "内置服务器未运行 bundled relay not running",
        ));
    };
    anchordesk_relay::demo::seed_products(&store, &images)
        .await
        .map(|ids| ids.len())
        .map_err(|e| CallError {
            status: 409,
            code: "conflict".into(),
            message: e.to_string(),
            field: None,
        })
}

/// The scenes for the scene, layer and effects docks (without the studio's overlays).
#[tauri::command]
pub fn scenes(engine: State<'_, EngineHost>) -> Result<SceneCollection, CallError> {
    engine.scenes().map_err(|e| CallError::local("engine", e))
}

/// Shows the edited scenes (a switch fades over `fade_ms`, 0 cuts) and keeps them for the
/// next start; invalid ones change nothing and the error names the field.
#[tauri::command]
pub fn set_scenes(
    engine: State<'_, EngineHost>,
    settings: State<'_, SettingsStore>,
    scenes: SceneCollection,
    fade_ms: u64,
) -> Result<(), CallError> {
    engine
        .set_scenes(scenes, fade_ms)
        .map_err(CallError::invalid)?;
    save_scenes(&engine, &settings);
    Ok(())
}

/// Landscape, portrait or both: the engine restarts on the rescaled scenes, which are returned.
#[tauri::command]
pub fn set_canvas(
    engine: State<'_, EngineHost>,
    settings: State<'_, SettingsStore>,
    orientation: Orientation,
) -> Result<SceneCollection, CallError> {
    let scenes = engine.set_canvas(orientation).map_err(CallError::invalid)?;
    save_scenes(&engine, &settings);
    Ok(scenes)
}

/// Which canvas the preview shows (`first` or `second`), to edit the portrait layout of a
/// studio on both canvases.
#[tauri::command]
pub fn set_preview_canvas(
    engine: State<'_, EngineHost>,
    canvas: anchordesk_pipelines::scene::CanvasId,
) -> Result<(), CallError> {
    engine
        .set_preview_canvas(canvas)
        .map_err(CallError::invalid)
}

/// A scene change is already on screen; failing to save it only costs it at the next start.
fn save_scenes(engine: &EngineHost, settings: &SettingsStore) {
    let saved = engine.scenes().and_then(|s| settings.save_scenes(&s));
    if let Err(e) = saved {
        tracing::warn!("scenes not saved: {e}");
    }
}

/// Cameras present now, for the layer dock's device picker.
#[tauri::command]
pub async fn cameras() -> Result<Vec<anchordesk_pipelines::devices::Camera>, CallError> {
    tauri::async_runtime::spawn_blocking(anchordesk_pipelines::devices::cameras)
        .await
        .map_err(|e| CallError::local("engine", e.to_string()))?
        .map_err(|e| CallError::local("engine", e.to_string()))
}

/// The microphones present now and the one the anchor picked (unset: the system's default
/// input). What the input actually plays, and why not, is in the engine's stats.
#[derive(Debug, serde::Serialize)]
pub struct Microphones {
    devices: Vec<anchordesk_pipelines::engine::AudioDevice>,
    chosen: Option<String>,
}

#[tauri::command]
pub async fn microphones(settings: State<'_, SettingsStore>) -> Result<Microphones, CallError> {
    let devices = tauri::async_runtime::spawn_blocking(anchordesk_pipelines::engine::audio_devices)
        .await
        .map_err(|e| CallError::local("engine", e.to_string()))?;
    Ok(Microphones {
        devices,
        chosen: settings.get().microphone,
    })
}

/// Switches the microphone while live and remembers it for the next start; `None` is the
/// system's default input. A device that is not here is refused and nothing changes.
#[tauri::command]
pub async fn set_microphone(
    engine: State<'_, EngineHost>,
    settings: State<'_, SettingsStore>,
    device: Option<String>,
) -> Result<anchordesk_pipelines::engine::AudioInputStatus, CallError> {
    let host = engine.inner().clone();
    let chosen = device.clone();
    // Opening a device can take a second (GStreamer's fallback is probed): off the window's thread.
    let status = tauri::async_runtime::spawn_blocking(move || host.set_microphone(chosen))
        .await
        .map_err(|e| CallError::local("engine", e.to_string()))?
        .map_err(CallError::invalid)?;
    let saved = settings.change(|s| {
        s.microphone = device;
        Ok(())
    });
    if let Err(e) = saved {
        tracing::warn!("microphone choice not saved: {e}");
    }
    Ok(status)
}

/// The microphone's gain (0.0–4.0), mute and noise suppression.
#[tauri::command]
pub fn set_audio(
    engine: State<'_, EngineHost>,
    gain: f64,
    muted: bool,
    noise_suppression: bool,
) -> Result<(), CallError> {
    engine
        .set_audio(gain, muted, noise_suppression)
        .map_err(CallError::invalid)
}

/// `studio` or `assistant` (started with `--assistant`).
#[tauri::command]
pub fn studio_mode(mode: State<'_, StudioMode>) -> &'static str {
    mode.0
}

/// Assistant mode: signs in to the anchor's relay and follows its newest open live.
#[tauri::command]
pub async fn connect_relay(
    app: tauri::AppHandle,
    session: State<'_, Session>,
    settings: State<'_, SettingsStore>,
    url: String,
    username: String,
    password: String,
) -> Result<StudioInfo, CallError> {
    let events = app.clone();
    let info = session
        .connect_remote(&url, &username, &password, move |event| {
            if let Err(e) = events.emit(RELAY_EVENT, event) {
                tracing::warn!("cannot emit a relay event: {e}");
            }
        })
        .await?;
    // Remembered for the next start; never the password.
    let remembered = settings.change(|s| {
        s.relay_url = Some(info.relay_url.clone());
        s.username = Some(username.trim().to_owned());
        Ok(())
    });
    if let Err(e) = remembered {
        tracing::warn!("relay address not saved: {e}");
    }
    if let Err(e) = app.emit(STUDIO_READY_EVENT, &info) {
        tracing::warn!("cannot emit the session state: {e}");
    }
    Ok(info)
}

/// Platform presets for the destinations dock (fixed servers, or "paste the server").
#[tauri::command]
pub fn presets() -> Vec<anchordesk_pipelines::outputs::presets::Preset> {
    anchordesk_pipelines::outputs::presets::PRESETS.to_vec()
}

/// Starts pushing to a platform with a key typed for this push.
#[tauri::command]
pub fn start_destination(
    engine: State<'_, EngineHost>,
    preset: String,
    server: Option<String>,
    key: String,
) -> Result<String, CallError> {
    engine
        .start_destination(&preset, server.as_deref(), key.trim())
        .map_err(CallError::invalid)
}

/// Starts a saved destination with its saved key.
#[tauri::command]
pub fn start_saved_destination(
    engine: State<'_, EngineHost>,
    settings: State<'_, SettingsStore>,
    id: String,
) -> Result<String, CallError> {
    let (destination, key) = settings.destination(&id).map_err(CallError::invalid)?;
    engine
        .start_destination(&destination.preset, destination.server.as_deref(), &key)
        .map_err(CallError::invalid)
}

/// Saves a destination under a name (its key apart, readable by the user only). The server
/// and key are checked as a push would check them, so a saved one can start.
#[tauri::command]
pub fn save_destination(
    settings: State<'_, SettingsStore>,
    name: String,
    preset: String,
    server: Option<String>,
    key: String,
) -> Result<SavedDestination, CallError> {
    let server = server
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    anchordesk_pipelines::outputs::presets::push_url(&preset, server.as_deref(), key.trim())
        .map_err(CallError::invalid)?;
    settings
        .save_destination(&name, &preset, server.as_deref(), key.trim())
        .map_err(CallError::invalid)
}

#[tauri::command]
pub fn forget_destination(settings: State<'_, SettingsStore>, id: String) -> Result<(), CallError> {
    settings.forget_destination(&id).map_err(CallError::invalid)
}

/// The user's saved settings (language, relay, destinations without keys, effect presets).
#[tauri::command]
pub fn settings(settings: State<'_, SettingsStore>) -> StudioSettings {
    settings.get()
}

#[tauri::command]
pub fn update_settings(
    settings: State<'_, SettingsStore>,
    session: State<'_, Session>,
    update: SettingsUpdate,
) -> Result<StudioSettings, CallError> {
    tracing::info!(?update, "settings changed from the window");
    let low_stock = update.low_stock_threshold;
    let saved = settings.update(update).map_err(CallError::invalid)?;
    if let Some(threshold) = low_stock
        && let Err(e) = session.overlay(OverlayInput::LowStockThreshold(threshold))
    {
        // Saved; the studio's video (if any) takes it at the next connect.
        tracing::info!("low-stock threshold not sent to the overlays: {e}");
    }
    Ok(saved)
}

/// Puts a viewer's comment on screen over every scene, or takes it off (`comment: null`).
#[tauri::command]
pub fn show_comment(
    session: State<'_, Session>,
    nickname: Option<String>,
    body: Option<String>,
) -> Result<(), CallError> {
    let comment = match (nickname, body) {
        (Some(nickname), Some(body)) if !body.trim().is_empty() => {
            Some((nickname, body.trim().to_owned()))
        }
        (None, None) => None,
        _ => {
            return Err(CallError::invalid(
                "body: 评论内容为空 the comment is empty",
            ));
        }
    };
    session.overlay(OverlayInput::Comment(comment))
}

/// Starts recording the programme into the studio's data directory; returns the file.
#[tauri::command]
pub fn start_recording(
    engine: State<'_, EngineHost>,
    paths: State<'_, StudioPaths>,
) -> Result<String, CallError> {
    engine
        .start_recording(&paths.recordings())
        .map(|p| p.display().to_string())
        .map_err(|e| CallError::local("engine", e))
}

/// The first-start guide's test: 5 s of the programme recorded, checked, and played back in
/// the window from a loopback address.
#[tauri::command]
pub async fn test_recording(
    engine: State<'_, EngineHost>,
    paths: State<'_, StudioPaths>,
    player: State<'_, crate::test_recording::PlayerSlot>,
) -> Result<crate::test_recording::TestRecording, CallError> {
    let (host, dir) = (engine.inner().clone(), paths.recordings());
    let path = dir.join(crate::test_recording::FILE);
    let url = player
        .get_or_try_init(|| crate::test_recording::Player::start(dir.clone()))
        .await
        .map_err(|e| CallError::local("engine", e.to_string()))?
        .url
        .clone();
    let played = tauri::async_runtime::spawn_blocking(move || host.test_recording(&dir))
        .await
        .map_err(|e| CallError::local("engine", e.to_string()))?
        .map_err(|e| CallError::local("engine", e))?;
    Ok(crate::test_recording::TestRecording {
        path,
        url,
        duration_ms: played.duration.as_millis() as u64,
        video: played.video,
        audio: played.audio,
    })
}

/// Stops one output: a destination, the recording or the relay.
#[tauri::command]
pub fn stop_output(engine: State<'_, EngineHost>, id: String) -> Result<(), CallError> {
    engine
        .stop_output(&id)
        .map_err(|e| CallError::local("engine", e))
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
