//! The relay bundled inside the studio: started in-process on a free loopback port, watched
//! for health, and shut down cleanly when the window closes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchordesk_relay::api::path;
use anchordesk_relay::{Config, RunningRelay};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use ts_rs::TS;

/// Tauri event carrying a [`RelayStatus`] whenever it changes.
pub const RELAY_STATUS_EVENT: &str = "relay-status";

/// How often the studio checks the relay's `/healthz`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
const HEALTH_TIMEOUT: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
#[ts(export)]
pub enum RelayStatus {
    /// Opening the database and binding a port.
    Starting,
    /// Serving at `url`; `healthy` is the last `/healthz` result.
    Running { url: String, healthy: bool },
    /// Could not start; `error` is the reason to show the user.
    Failed { error: String },
    /// Shut down (the studio is closing).
    Stopped,
}

type OnChange = dyn Fn(&RelayStatus) + Send + Sync;

/// Cheap to clone; all clones share one relay.
#[derive(Clone)]
pub struct RelayHost {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<HostState>,
    on_change: Box<OnChange>,
    /// One client for every health probe (loopback, no proxy, short timeout).
    http: reqwest::Client,
}

struct HostState {
    status: RelayStatus,
    relay: Option<RunningRelay>,
    monitor: Option<JoinHandle<()>>,
}

impl RelayHost {
    /// `on_change` is called (outside any lock) with every new status.
    pub fn new(on_change: impl Fn(&RelayStatus) + Send + Sync + 'static) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(HostState {
                    status: RelayStatus::Starting,
                    relay: None,
                    monitor: None,
                }),
                on_change: Box::new(on_change),
                http: reqwest::Client::builder()
                    .timeout(HEALTH_TIMEOUT)
                    .no_proxy()
                    .build()
                    .unwrap_or_default(),
            }),
        }
    }

    pub fn status(&self) -> RelayStatus {
        self.lock().status.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HostState> {
        // A panic elsewhere must not take the status display down with it.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_status(&self, status: RelayStatus) {
        {
            let mut state = self.lock();
            if state.status == status {
                return;
            }
            state.status = status.clone();
        }
        (self.shared.on_change)(&status);
    }

    /// Starts the relay on `data_dir`. On failure the status says why; the studio keeps running.
    pub async fn start(&self, data_dir: PathBuf) -> Result<String, String> {
        self.set_status(RelayStatus::Starting);
        let relay = match anchordesk_relay::start(&Config::bundled(data_dir)).await {
            Ok(relay) => relay,
            Err(e) => {
                let error = e.to_string();
                tracing::error!(%error, "bundled relay failed to start");
                self.set_status(RelayStatus::Failed {
                    error: error.clone(),
                });
                return Err(error);
            }
        };
        let url = relay.url();
        let healthy = check_health(&self.shared.http, &url).await;
        let monitor = tokio::spawn(self.clone().monitor(url.clone()));
        {
            let mut state = self.lock();
            state.relay = Some(relay);
            state.monitor = Some(monitor);
        }
        self.set_status(RelayStatus::Running {
            url: url.clone(),
            healthy,
        });
        Ok(url)
    }

    async fn monitor(self, url: String) {
        let mut ticker = tokio::time::interval(HEALTH_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let healthy = check_health(&self.shared.http, &url).await;
            if !matches!(self.status(), RelayStatus::Running { .. }) {
                return;
            }
            self.set_status(RelayStatus::Running {
                url: url.clone(),
                healthy,
            });
        }
    }

    /// The running relay's database, for the studio's own session on it.
    pub fn store(&self) -> Option<anchordesk_relay::Store> {
        self.lock().relay.as_ref().map(|r| r.store().clone())
    }

    /// Where the running relay keeps product pictures.
    pub fn images_dir(&self) -> Option<PathBuf> {
        self.lock().relay.as_ref().map(|r| r.config().images_dir())
    }

    /// Stops the monitor, lets in-flight requests finish and closes the database.
    pub async fn shutdown(&self) {
        let (relay, monitor) = {
            let mut state = self.lock();
            (state.relay.take(), state.monitor.take())
        };
        if let Some(monitor) = monitor {
            monitor.abort();
        }
        if let Some(relay) = relay {
            if let Err(e) = relay.shutdown().await {
                tracing::warn!("bundled relay stopped with an error: {e}");
            }
            tracing::info!("bundled relay stopped");
            self.set_status(RelayStatus::Stopped);
        }
    }
}

async fn check_health(client: &reqwest::Client, base: &str) -> bool {
    match client.get(format!("{base}{}", path::HEALTHZ)).send().await {
        Ok(res) => res.status().is_success(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording_host() -> (RelayHost, Arc<Mutex<Vec<RelayStatus>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let host = RelayHost::new(move |s| sink.lock().unwrap().push(s.clone()));
        (host, seen)
    }

    #[tokio::test]
    async fn start_reports_a_healthy_relay_then_stopped_after_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let (host, seen) = recording_host();
        let url = host.start(dir.path().to_owned()).await.unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_eq!(
            host.status(),
            RelayStatus::Running {
                url: url.clone(),
                healthy: true
            }
        );
        assert!(dir.path().join("anchordesk.db").exists());

        host.shutdown().await;
        assert_eq!(host.status(), RelayStatus::Stopped);
        assert!(
            reqwest::get(format!("{url}/healthz")).await.is_err(),
            "port must be closed"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.first(),
            Some(&RelayStatus::Running { url, healthy: true })
        );
        assert_eq!(seen.last(), Some(&RelayStatus::Stopped));
    }

    #[tokio::test]
    async fn unusable_data_dir_is_reported_as_failed_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let (host, _) = recording_host();
        let err = host.start(file.join("data")).await.unwrap_err();
        assert!(err.contains("cannot create data directory"), "{err}");
        assert!(matches!(host.status(), RelayStatus::Failed { error } if error == err));
    }
}
