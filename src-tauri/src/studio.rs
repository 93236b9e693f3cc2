//! The studio window: Tauri builder, managed services and their lifecycle.

use std::path::PathBuf;

use anchordesk_pipelines::scene::CanvasId;
use anyhow::Context as _;
use tauri::webview::PageLoadEvent;
use tauri::{Emitter, Manager, RunEvent};

use crate::engine_host::{
    AUDIO_LEVELS_EVENT, EngineHost, PREVIEW_EVENT, STATS_EVENT, StudioEngineConfig,
};
use crate::overlays::OverlayInput;
use crate::relay_client::RELAY_EVENT;
use crate::relay_host::{RELAY_STATUS_EVENT, RelayHost};
use crate::session::Session;
use crate::settings::SettingsStore;

/// Where the studio keeps its data (the bundled relay's, recordings, caches).
pub struct StudioPaths(pub PathBuf);

impl StudioPaths {
    /// The studio's own recordings. Not `recordings/`: that is where the bundled relay
    /// records what it receives.
    pub fn recordings(&self) -> PathBuf {
        self.0.join("studio-recordings")
    }
}

/// `studio` (engine and bundled relay) or `assistant` (a remote relay's console only).
pub struct StudioMode(pub &'static str);

/// Tauri event with the [`crate::session::StudioInfo`] once the session is connected.
pub const STUDIO_READY_EVENT: &str = "studio-ready";
/// Tauri event with a message when the session or the engine could not start.
pub const STUDIO_ERROR_EVENT: &str = "studio-error";

pub fn run(data_dir: Option<PathBuf>, assistant: bool) -> anyhow::Result<()> {
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![
            crate::commands::relay_status,
            crate::commands::studio_info,
            crate::commands::relay_call,
            crate::commands::go_live,
            crate::commands::stop_live,
            crate::commands::load_demo_products,
            crate::commands::scenes,
            crate::commands::set_scenes,
            crate::commands::cameras,
            crate::commands::set_audio,
            crate::commands::microphones,
            crate::commands::set_microphone,
            crate::commands::test_recording,
            crate::commands::studio_mode,
            crate::commands::connect_relay,
            crate::commands::presets,
            crate::commands::start_destination,
            crate::commands::start_recording,
            crate::commands::stop_output,
            crate::commands::set_canvas,
            crate::commands::set_preview_canvas,
            crate::commands::settings,
            crate::commands::update_settings,
            crate::commands::save_destination,
            crate::commands::forget_destination,
            crate::commands::start_saved_destination,
            crate::commands::show_comment,
        ])
        .register_asynchronous_uri_scheme_protocol("preview", serve_preview)
        // Also the readiness signal end-to-end tests wait for before acting on the window.
        .on_page_load(|_webview, payload| {
            if payload.event() == PageLoadEvent::Finished {
                tracing::info!(url = %payload.url(), "studio page loaded");
            }
        })
        .setup(move |app| set_up(app, data_dir, assistant))
        .build(tauri::generate_context!("../tauri.conf.json"))
        .context("cannot build the studio window")?;

    app.run(|app, event| {
        if let RunEvent::Exit = event {
            shut_down(app);
        }
    });
    Ok(())
}

/// Starts the engine off the main thread (opening a camera can take a second) and forwards
/// its preview and stats to the window. It opens on the scenes saved last time, unless the
/// environment pins the camera or canvas (tests, kiosks).
fn start_engine(handle: tauri::AppHandle, engine: EngineHost, settings: SettingsStore) {
    std::thread::spawn(move || {
        let saved_microphone = settings.get().microphone;
        let config = match StudioEngineConfig::from_env() {
            Ok(config) => config.with_saved_microphone(saved_microphone.as_deref(), |id| {
                anchordesk_pipelines::engine::audio_devices()
                    .iter()
                    .any(|d| d.id == id)
            }),
            Err(e) => {
                let _ = handle.emit(STUDIO_ERROR_EVENT, e);
                return;
            }
        };
        let pinned = ["ANCHORDESK_CAMERA", "ANCHORDESK_CANVAS"]
            .iter()
            .any(|name| std::env::var_os(name).is_some());
        let scenes = settings
            .scenes()
            .filter(|_| !pinned)
            .unwrap_or_else(|| config.scenes());
        let previews = handle.clone();
        let stats = handle.clone();
        let levels = handle.clone();
        let started = engine.start(
            scenes,
            config.audio.clone(),
            move |frame| {
                let _ = previews.emit(
                    PREVIEW_EVENT,
                    serde_json::json!({
                        "sequence": frame.sequence,
                        "width": frame.width,
                        "height": frame.height,
                    }),
                );
            },
            move |current| {
                let _ = stats.emit(STATS_EVENT, current);
            },
            move |current| {
                let _ = levels.emit(AUDIO_LEVELS_EVENT, current);
            },
        );
        if let Err(e) = started {
            tracing::error!("video engine failed to start: {e}");
            let _ = handle.emit(
                STUDIO_ERROR_EVENT,
                format!("视频引擎启动失败 video engine: {e}"),
            );
        }
    });
}

/// The window's services (relay host, engine, session, settings), then, in the studio (not
/// the assistant's console), the engine, the bundled relay and the session on it.
fn set_up(
    app: &mut tauri::App,
    data_dir: Option<PathBuf>,
    assistant: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(window) = app.get_webview_window("main") {
        crate::webview_gpu::apply(&window, crate::webview_gpu::for_this_machine());
    }
    let handle = app.handle().clone();
    let host = RelayHost::new(move |status| {
        if let Err(e) = handle.emit(RELAY_STATUS_EVENT, status) {
            tracing::warn!("cannot emit relay status: {e}");
        }
    });
    app.manage(host.clone());
    let engine = EngineHost::default();
    app.manage(engine.clone());
    let session = Session::default();
    app.manage(session.clone());
    app.manage(StudioMode(if assistant { "assistant" } else { "studio" }));
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => app.path().app_data_dir().context("no app data directory")?,
    };
    app.manage(StudioPaths(data_dir.clone()));
    app.manage(crate::test_recording::PlayerSlot::new());
    let settings = SettingsStore::open(&data_dir.join("settings"));
    app.manage(settings.clone());
    if assistant {
        // The 中控台 on a second PC: the window signs in to the anchor's relay.
        return Ok(());
    }
    start_engine(app.handle().clone(), engine.clone(), settings.clone());
    connect_bundled(
        app.handle().clone(),
        host,
        session,
        engine,
        settings,
        data_dir,
    );
    close_on_signal(app.handle().clone());
    Ok(())
}

/// Starts the bundled relay and opens the studio's session on it, telling the window
/// (`studio-ready` or `studio-error`); a relay failure is in the status the window shows.
fn connect_bundled(
    handle: tauri::AppHandle,
    host: RelayHost,
    session: Session,
    engine: EngineHost,
    settings: SettingsStore,
    data_dir: PathBuf,
) {
    let cache_dir = data_dir.join("cache").join("cards");
    tauri::async_runtime::spawn(async move {
        let Ok(url) = host.start(data_dir).await else {
            return;
        };
        let Some(store) = host.store() else {
            return;
        };
        let events = handle.clone();
        let connected = session
            .connect_bundled(&url, &store, engine, cache_dir, move |event| {
                if let Err(e) = events.emit(RELAY_EVENT, event) {
                    tracing::warn!("cannot emit a relay event: {e}");
                }
            })
            .await;
        let emitted = match connected {
            Ok(info) => {
                let saved = settings.get();
                if let Some(n) = saved.low_stock_threshold {
                    let _ = session.overlay(OverlayInput::LowStockThreshold(n));
                }
                handle.emit(STUDIO_READY_EVENT, info)
            }
            Err(e) => {
                tracing::error!("studio session failed: {e:#}");
                handle.emit(STUDIO_ERROR_EVENT, format!("{e:#}"))
            }
        };
        if let Err(e) = emitted {
            tracing::warn!("cannot emit the session state: {e}");
        }
    });
}

/// Ctrl-C in the terminal or a session logout closes the studio the same way as its window
/// does, so the relay drains and the database is closed.
fn close_on_signal(handle: tauri::AppHandle) {
    let signal = {
        let runtime = tauri::async_runtime::handle();
        let _entered = runtime.inner().enter();
        anchordesk_relay::shutdown_signal()
    };
    tauri::async_runtime::spawn(async move {
        signal.await;
        tracing::info!("signal received; closing the studio");
        handle.exit(0);
    });
}

/// `preview://`: the newest preview JPEG; the page asks for it on each `preview-frame` event.
/// `canvas-first` and `canvas-second`: a small picture of that canvas now, for the monitor of
/// the canvas that is not previewed (横竖双屏). Scaling and encoding it takes milliseconds, so
/// it is made off the window's thread.
fn serve_preview(
    ctx: tauri::UriSchemeContext<'_, tauri::Wry>,
    request: tauri::http::Request<Vec<u8>>,
    responder: tauri::UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    let canvas = match request.uri().path().trim_end_matches('/') {
        "/canvas-first" => Some(CanvasId::First),
        "/canvas-second" => Some(CanvasId::Second),
        _ => None,
    };
    let respond = move |jpeg: Option<Vec<u8>>| {
        let builder = tauri::http::Response::builder().header("cache-control", "no-store");
        responder.respond(
            match jpeg {
                Some(jpeg) => builder.header("content-type", "image/jpeg").body(jpeg),
                None => builder.status(404).body(Vec::new()),
            }
            .expect("static response parts are valid"),
        );
    };
    match canvas {
        Some(canvas) => {
            tauri::async_runtime::spawn_blocking(move || {
                respond(app.state::<EngineHost>().canvas_monitor_jpeg(canvas));
            });
        }
        None => respond(app.state::<EngineHost>().preview_jpeg()),
    }
}

/// The window closed (or a signal or logout asked): the session, the engine and the bundled
/// relay stop in that order, so the relay drains and its database is closed.
fn shut_down(app: &tauri::AppHandle) {
    tracing::info!("studio exiting");
    if let Some(session) = app.try_state::<Session>() {
        session.close();
    }
    if let Some(engine) = app.try_state::<EngineHost>() {
        engine.shutdown();
    }
    if let Some(host) = app.try_state::<RelayHost>() {
        let host = host.inner().clone();
        tauri::async_runtime::block_on(host.shutdown());
    }
}
