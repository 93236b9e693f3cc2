//! The studio's client of a relay: the bundled one, or a remote one in assistant mode.
//! The staff token stays in Rust: the window reaches the API only through [`RelayClient::call`]
//! (the `relay_call` command), and a live's events come to it as `relay-event`s.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde::Serialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

/// Tauri event carrying one relay `Event` (the live's event log entry) as the relay sent it.
pub const RELAY_EVENT: &str = "relay-event";

const CALL_TIMEOUT: Duration = Duration::from_secs(15);
const POOL_IDLE: Duration = Duration::from_secs(5);
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// A failed API call as the window shows it: the relay's own code, field and message, or
/// `network` when no answer came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CallError {
    /// HTTP status; 0 when the relay could not be reached.
    pub status: u16,
    pub code: String,
    pub message: String,
    #[ts(optional)]
    pub field: Option<String>,
}

impl CallError {
    pub fn local(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: 0,
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }

    /// A refusal whose message starts with the field it is about (`"server: …"`), as the
    /// engine and the settings word theirs; the field is set so the window marks it.
    pub fn invalid(message: impl Into<String>) -> Self {
        let message = message.into();
        let field = message
            .split_once(':')
            .map(|(head, _)| head)
            .filter(|head| {
                !head.is_empty()
                    && head
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
            })
            .map(str::to_owned);
        Self {
            status: 0,
            code: "invalid".into(),
            message,
            field,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for CallError {}

/// Cheap to clone; clones share the HTTP connection pool.
#[derive(Clone)]
pub struct RelayClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl RelayClient {
    /// `base` is the relay's HTTP root (`http://host:port`), `token` a staff session's.
    pub fn new(base: &str, token: String) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::builder()
                .timeout(CALL_TIMEOUT)
                // The relay closes a keep-alive connection idle for 10 s; reusing one it is
                // closing at that moment would fail a call, so let go of them sooner.
                .pool_idle_timeout(POOL_IDLE)
                .build()
                .expect("a TLS-less reqwest client always builds"),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A product picture (`/images/…`), through the same connection pool as the API.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, CallError> {
        if !confined_to(path, "/images/") {
            return Err(CallError::local(
                "invalid_path",
                format!("not a relay picture: {path}"),
            ));
        }
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| CallError::local("network", e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CallError {
                status: status.as_u16(),
                code: "not_found".into(),
                message: format!("{path}: {status}"),
                field: None,
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CallError::local("network", e.to_string()))?;
        Ok(bytes.to_vec())
    }

    /// One API request. `path` must be an `/api/…` path: the window gets no other reach.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        if !confined_to(path, "/api/") {
            return Err(CallError::local(
                "invalid_path",
                format!("not a relay API path: {path}"),
            ));
        }
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| CallError::local("invalid_method", format!("bad method {method}")))?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CallError::local("network", e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| CallError::local("network", e.to_string()))?;
        if status.is_success() {
            return Ok(if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            });
        }
        let error = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("error").cloned());
        let text_of = |key: &str| {
            error
                .as_ref()
                .and_then(|e| e.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Err(CallError {
            status: status.as_u16(),
            code: text_of("code").unwrap_or_else(|| "http".into()),
            message: text_of("message").unwrap_or(text),
            field: text_of("field"),
        })
    }

    /// Follows a live's events from `after` until `stop`: every event goes to `on_event` once,
    /// in order, across reconnects (each resumes after the last id delivered).
    pub async fn follow_events(
        &self,
        live_id: i64,
        mut after: i64,
        stop: CancellationToken,
        on_event: impl Fn(Value) + Send,
    ) {
        let ws_base = self
            .base
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        let mut wait = RECONNECT_MIN;
        while !stop.is_cancelled() {
            let url = format!(
                "{ws_base}/api/lives/{live_id}/events?after={after}&batch=true&access_token={}",
                self.token
            );
            let connected = tokio::select! {
                _ = stop.cancelled() => return,
                c = tokio_tungstenite::connect_async(url.as_str()) => c,
            };
            match connected {
                Ok((mut socket, _)) => {
                    wait = RECONNECT_MIN;
                    loop {
                        let message = tokio::select! {
                            _ = stop.cancelled() => return,
                            m = socket.next() => m,
                        };
                        match message {
                            Some(Ok(Message::Text(text))) => {
                                // A batch: the events that committed together, in order.
                                let events = match serde_json::from_str::<Value>(&text) {
                                    Ok(Value::Array(events)) => events,
                                    Ok(event) => vec![event],
                                    Err(_) => continue,
                                };
                                for event in events {
                                    let id = event.get("id").and_then(Value::as_i64).unwrap_or(0);
                                    // The relay never repeats an id on one socket; this
                                    // guards the resume after a reconnect.
                                    if id > after {
                                        after = id;
                                        on_event(event);
                                    }
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::debug!(live_id, "event socket dropped: {e}");
                                break;
                            }
                            None => break,
                        }
                    }
                }
                Err(e) => tracing::debug!(live_id, "event socket not connected: {e}"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(RECONNECT_MAX);
        }
    }
}

/// Whether `path` stays under `prefix` as the relay will see it. reqwest (the URL standard)
/// turns `/api/%2e%2e/x` into `/x`, so a check on the raw text is not enough: the path part is
/// percent-decoded first, and any dot segment, backslash, control character or leftover `%`
/// (a double encoding) is refused rather than second-guessed.
fn confined_to(path: &str, prefix: &str) -> bool {
    if path.contains('#') {
        return false;
    }
    let path = path.split('?').next().unwrap_or_default();
    let Some(decoded) = percent_decode(path) else {
        return false;
    };
    path.starts_with(prefix)
        && decoded.starts_with(prefix)
        && !decoded.contains(['%', '\\'])
        && !decoded.chars().any(char::is_control)
        && !decoded
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// `%XX` escapes decoded; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_dot_segments_and_backslashes_do_not_leave_the_api() {
        for bad in [
            "/api/../images/x.png",
            "/api/%2e%2e/images/x.png",
            "/api/%2E%2E/healthz",
            "/api/.%2e/x",
            "/api/%2e/x",
            "/api/x/%2e%2e%2f%2e%2e%2fimages",
            "/api/..%5cimages",
            "/api/%5c..",
            "/api/a\\..\\b",
            "/api/%252e%252e/x",
            "/api/%zz",
            "/api/x#frag",
            "/api/%0a",
            "/images/x.png",
            "/%61pi/me",
        ] {
            assert!(!confined_to(bad, "/api/"), "{bad}");
        }
        for good in [
            "/api/me",
            "/api/lives/1/events?after=3",
            "/api/streams/%E7%9B%B4%E6%92%AD/key",
            "/api/products?q=a/../b",
        ] {
            assert!(confined_to(good, "/api/"), "{good}");
        }
        assert!(confined_to("/images/1/a.png", "/images/"));
        assert!(!confined_to("/images/%2e%2e/api/me", "/images/"));
    }

    #[tokio::test]
    async fn only_api_paths_are_reachable_and_errors_are_local() {
        let client = RelayClient::new("http://127.0.0.1:9", "t".into());
        let e = client.call("GET", "/images/x.png", None).await.unwrap_err();
        assert_eq!(e.code, "invalid_path");
        let e = client
            .call("GET", "/api/../images/x.png", None)
            .await
            .unwrap_err();
        assert_eq!(e.code, "invalid_path");
        let e = client.call("GET", "/api/me", None).await.unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (0, "network"));
    }

    #[test]
    fn a_local_refusal_names_its_field_when_the_message_starts_with_one() {
        let e = CallError::invalid("server: 需要 rtmp:// 地址");
        assert_eq!(e.field.as_deref(), Some("server"));
        let e = CallError::invalid("scenes[0].layers[1].rect.width: must be > 0");
        assert_eq!(e.field.as_deref(), Some("scenes[0].layers[1].rect.width"));
        assert_eq!(CallError::invalid("视频引擎未运行: x").field, None);
    }
}
