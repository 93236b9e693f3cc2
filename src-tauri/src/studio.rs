//! The studio window: Tauri builder, managed services and their lifecycle.

use std::path::PathBuf;

use anyhow::Context as _;
use tauri::webview::PageLoadEvent;
use tauri::{Emitter, Manager, RunEvent};

use crate::relay_host::{RELAY_STATUS_EVENT, RelayHost};

pub fn run(data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![crate::commands::relay_status])
        // Also the readiness signal end-to-end tests wait for before acting on the window.
        .on_page_load(|_webview, payload| {
            if payload.event() == PageLoadEvent::Finished {
                tracing::info!(url = %payload.url(), "studio page loaded");
            }
        })
        .setup(move |app| {
            let handle = app.handle().clone();
            let host = RelayHost::new(move |status| {
                if let Err(e) = handle.emit(RELAY_STATUS_EVENT, status) {
                    tracing::warn!("cannot emit relay status: {e}");
                }
            });
            app.manage(host.clone());
            let data_dir = match data_dir {
                Some(dir) => dir,
                None => app.path().app_data_dir().context("no app data directory")?,
            };
            tauri::async_runtime::spawn(async move {
                // The failure is already in the status the window shows.
                let _ = host.start(data_dir).await;
            });
            // Ctrl-C in the terminal or a session logout closes the studio the same way as
            // its window does, so the relay drains and the database is closed.
            let handle = app.handle().clone();
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
            Ok(())
        })
        .build(tauri::generate_context!("../tauri.conf.json"))
        .context("cannot build the studio window")?;

    app.run(|app, event| {
        if let RunEvent::Exit = event {
            tracing::info!("studio exiting");
            if let Some(host) = app.try_state::<RelayHost>() {
                let host = host.inner().clone();
                tauri::async_runtime::block_on(host.shutdown());
            }
        }
    });
    Ok(())
}
