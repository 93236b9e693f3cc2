//! The studio's working session: which relay it talks to, as whom, which live it runs, and the
//! live's events, which go to the window and drive the 讲解 card in the outgoing video.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anchordesk_relay::Store;
use anchordesk_relay::auth::{self, Role};
use anchordesk_relay::events::LiveEvent;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::engine_host::EngineHost;
use crate::overlays::{self, OverlayInput, RoomView};
use crate::relay_client::{CallError, RelayClient};

/// The staff account the studio uses on its bundled relay.
const STUDIO_ACCOUNT: &str = "studio";
const DEFAULT_LIVE_TITLE: &str = "我的直播间";

/// What the window needs to know about the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct StudioInfo {
    pub relay_url: String,
    pub live_id: i64,
    pub live_title: String,
    pub stream_name: String,
}

/// Cheap to clone; clones share one session.
#[derive(Clone, Default)]
pub struct Session {
    inner: Arc<Mutex<Option<Connected>>>,
}

#[derive(Clone)]
struct Connected {
    client: RelayClient,
    info: StudioInfo,
    stop: CancellationToken,
    /// The overlay painter's input; none without a video engine (assistant mode).
    overlays: Option<mpsc::UnboundedSender<OverlayInput>>,
}

impl Session {
    /// Opens the studio's session on the relay it bundles: its own owner account (created on
    /// first start with a random password nobody uses), the newest live not yet ended (or a
    /// new one), and the live's events from now on.
    pub async fn connect_bundled(
        &self,
        relay_url: &str,
        store: &Store,
        engine: EngineHost,
        cache_dir: PathBuf,
        on_event: impl Fn(&Value) + Send + Sync + 'static,
    ) -> anyhow::Result<StudioInfo> {
        match auth::create_staff(store, STUDIO_ACCOUNT, &auth::random_hex(32), Role::Owner).await {
            Ok(_) | Err(anchordesk_relay::error::Error::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let session = auth::open_staff_session(store, STUDIO_ACCOUNT).await?;
        let client = RelayClient::new(relay_url, session.token);
        self.connect(client, Some(engine), cache_dir, on_event)
            .await
            .map_err(anyhow::Error::from)
    }

    /// Assistant mode: signs in to another machine's relay as a staff account (no engine
    /// here, so pins drive no card in this PC's video).
    pub async fn connect_remote(
        &self,
        url: &str,
        username: &str,
        password: &str,
        on_event: impl Fn(&Value) + Send + Sync + 'static,
    ) -> Result<StudioInfo, CallError> {
        let base = url.trim().trim_end_matches('/');
        let valid = reqwest::Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if valid.is_none() {
            return Err(CallError {
                status: 0,
                code: "invalid_field".into(),
                message: "请输入中继地址，例如 http://192.168.1.20:8080 (a relay URL)".into(),
                field: Some("url".into()),
            });
        }
        let login = RelayClient::new(base, String::new())
            .call(
                "POST",
                "/api/auth/login",
                Some(&json!({ "username": username, "password": password })),
            )
            .await?;
        if login["principal"]["kind"] != "staff" {
            return Err(CallError::local(
                "forbidden",
                "这不是员工账号 not a staff account",
            ));
        }
        let token = login["token"].as_str().unwrap_or_default().to_owned();
        self.close();
        self.connect(
            RelayClient::new(base, token),
            None,
            PathBuf::new(),
            on_event,
        )
        .await
    }

    async fn connect(
        &self,
        client: RelayClient,
        engine: Option<EngineHost>,
        cache_dir: PathBuf,
        on_event: impl Fn(&Value) + Send + Sync + 'static,
    ) -> Result<StudioInfo, CallError> {
        let live = current_live(&client).await?;
        let live_id = live["id"].as_i64().unwrap_or_default();
        let info = StudioInfo {
            relay_url: client.base().to_owned(),
            live_id,
            live_title: live["title"].as_str().unwrap_or_default().to_owned(),
            stream_name: live["stream_name"].as_str().unwrap_or_default().to_owned(),
        };
        // The resume point first, then the state: an event in between is applied twice,
        // which the card tolerates (it shows the newest pin), but none is lost.
        let room = client
            .call("GET", &format!("/api/lives/{live_id}/room"), None)
            .await?;
        let after = room["last_event_id"].as_i64().unwrap_or(0);
        let stop = CancellationToken::new();
        let overlays = engine.map(|engine| {
            let (sender, inputs) = mpsc::unbounded_channel();
            match serde_json::from_value::<RoomView>(room) {
                Ok(room) => {
                    let _ = sender.send(OverlayInput::Room(Box::new(room)));
                }
                Err(e) => tracing::warn!("the room read has no card to show: {e}"),
            }
            tokio::spawn(overlays::paint(
                inputs,
                client.clone(),
                engine,
                cache_dir,
                stop.clone(),
            ));
            sender
        });
        let follower = client.clone();
        let stopped = stop.clone();
        let painter = overlays.clone();
        tokio::spawn(async move {
            follower
                .follow_events(live_id, after, stopped, move |event| {
                    // The card in the video follows these; kinds newer than this studio do not
                    // read as a LiveEvent and paint nothing.
                    if let Some(painter) = &painter
                        && let Ok(live_event) = serde_json::from_value::<LiveEvent>(event.clone())
                        && matches!(
                            live_event,
                            LiveEvent::PinChanged { .. }
                                | LiveEvent::StockChanged { .. }
                                | LiveEvent::FlashSaleCreated { .. }
                                | LiveEvent::FlashSaleChanged { .. }
                                | LiveEvent::FlashSaleEnded { .. }
                        )
                    {
                        let _ = painter.send(OverlayInput::Event(Box::new(live_event)));
                    }
                    on_event(&event);
                })
                .await;
        });
        *lock(&self.inner) = Some(Connected {
            client,
            info: info.clone(),
            stop,
            overlays,
        });
        Ok(info)
    }

    pub fn info(&self) -> Option<StudioInfo> {
        lock(&self.inner).as_ref().map(|c| c.info.clone())
    }

    pub fn client(&self) -> Result<RelayClient, CallError> {
        lock(&self.inner)
            .as_ref()
            .map(|c| c.client.clone())
            .ok_or_else(|| CallError::local("not_connected", "尚未连接服务器 not connected yet"))
    }

    /// Marks the live on air and returns where and with which key to publish. The key is
    /// rotated each time: the studio keeps no publish key on disk for its own relay.
    pub async fn prepare_go_live(&self) -> Result<(String, String), CallError> {
        let client = self.client()?;
        let info = self.info().expect("a client implies info");
        let name = &info.stream_name;
        let key = match client
            .call("POST", &format!("/api/streams/{name}/key"), None)
            .await
        {
            Ok(key) => key,
            Err(e) if e.status == 404 => {
                client
                    .call("POST", "/api/streams", Some(&json!({ "name": name })))
                    .await?
            }
            Err(e) => return Err(e),
        };
        let live = client
            .call("GET", &format!("/api/lives/{}", info.live_id), None)
            .await?;
        if live["status"] == "scheduled" {
            client
                .call(
                    "POST",
                    &format!("/api/lives/{}/status", info.live_id),
                    Some(&json!({ "status": "live" })),
                )
                .await?;
        }
        let field = |k: &str| key[k].as_str().unwrap_or_default().to_owned();
        Ok((field("whip_url"), field("key")))
    }

    /// Changes what the overlays in the video show (a comment on screen, the low-stock
    /// threshold); refused without a video engine.
    pub fn overlay(&self, input: OverlayInput) -> Result<(), CallError> {
        let inner = lock(&self.inner);
        let connected = inner
            .as_ref()
            .ok_or_else(|| CallError::local("not_connected", "尚未连接服务器 not connected yet"))?;
        let painter = connected.overlays.as_ref().ok_or_else(|| {
            CallError::local(
                "no_engine",
                "助理模式没有视频画面 no video in assistant mode",
            )
        })?;
        painter
            .send(input)
            .map_err(|_| CallError::local("engine", "画面已关闭 the studio is closing"))
    }

    pub fn close(&self) {
        if let Some(connected) = lock(&self.inner).take() {
            connected.stop.cancel();
        }
    }
}

/// The live the studio runs: the newest one not ended, else a new one.
async fn current_live(client: &RelayClient) -> Result<Value, CallError> {
    let lives = client.call("GET", "/api/lives", None).await?;
    let newest_open = lives.as_array().and_then(|lives| {
        lives
            .iter()
            .filter(|l| l["status"] != "ended")
            .max_by_key(|l| l["id"].as_i64())
            .cloned()
    });
    match newest_open {
        Some(live) => Ok(live),
        None => {
            client
                .call(
                    "POST",
                    "/api/lives",
                    Some(&json!({ "title": DEFAULT_LIVE_TITLE })),
                )
                .await
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
