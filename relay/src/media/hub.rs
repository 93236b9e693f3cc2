//! The media hub: per stream, its one publisher (WHIP), the tracks it sends, and the viewers
//! (WHEP) those tracks are forwarded to. An SFU: packets are passed on, never decoded.
//!
//! Lifetimes: a publisher lasts until its DELETE, its connection fails, or it stays
//! disconnected past [`DISCONNECT_GRACE`]; its viewers end with it (they are told by RTCP BYE
//! and the connection closing, and can POST again when the stream is back). A viewer lasts
//! until its DELETE or its connection goes. Every path ends in `pc.close()`: webrtc-rs keeps a
//! dropped connection's sockets and task alive otherwise.
//!
//! This file holds the registry (a slot per stream: its publisher and viewers) and shutdown;
//! `publish` the publisher's lifetime, `play` the viewers and the forwarding, `hls` the HLS
//! viewer estimate, `edge` the cluster (origin claims and pulls).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::rtcp::goodbye::Goodbye;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};
use webrtc::rtp_transceiver::RtpSender;

use super::MediaError;
use super::origins::Cluster;
use super::packager::MediaDirs;
use super::peer::{IceSettings, PeerFactory, is_keyframe_request, offered_media, same_codec};
use super::pull;

mod edge;
mod hls;
mod play;
mod publish;
pub use super::publisher::{PublishedTrack, Publisher};
use super::publisher::{kind_name, new_session_id, stream_stats};
use super::stats::StreamStats;
use play::end_viewer;
use publish::collect_tracks;

/// A connection that drops to "disconnected" gets this long to come back before it is ended.
pub const DISCONNECT_GRACE: Duration = Duration::from_secs(5);
/// A connection that never connects is ended after this long (a client that got its answer
/// and vanished).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// A viewer waiting for a keyframe asks again after this long.
const KEYFRAME_RETRY: Duration = Duration::from_millis(500);

/// What a WHIP or WHEP POST gets back.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub answer: String,
}

struct Viewer {
    pc: Arc<dyn PeerConnection>,
    ended: CancellationToken,
    /// Our SSRC and track per forwarded track, for the goodbye.
    tracks: Vec<(u32, Arc<TrackLocalStaticRTP>)>,
}

#[derive(Default)]
struct Slot {
    publisher: Option<Arc<Publisher>>,
    viewers: HashMap<String, Arc<Viewer>>,
}

/// When each (stream, client) last fetched the HLS playlist.
type HlsClients = HashMap<(String, String), Instant>;

#[derive(Clone)]
pub struct MediaHub {
    inner: Arc<Inner>,
}

struct Inner {
    peers: PeerFactory,
    /// Where HLS and recordings go; `None` (or GStreamer missing): WebRTC only.
    dirs: Option<MediaDirs>,
    /// HLS clients by stream and client, with when they last fetched the playlist, and when
    /// the stale ones were last dropped.
    hls_clients: Mutex<(HlsClients, Instant)>,
    /// Running HLS/recording tasks: shutdown waits for them to finish their files.
    packagers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    slots: Mutex<HashMap<String, Slot>>,
    shutdown: CancellationToken,
    /// The other relays on the same database, when there are any (PostgreSQL).
    cluster: std::sync::OnceLock<Cluster>,
    /// One pull per stream at a time, however many viewers ask at once.
    pull_turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for MediaHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaHub")
            .field("ice", self.inner.peers.ice())
            .finish_non_exhaustive()
    }
}

impl Default for MediaHub {
    fn default() -> Self {
        Self::new(IceSettings::default(), None)
    }
}

fn random_ssrc() -> u32 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    u32::from_be_bytes(bytes).max(1)
}

impl MediaHub {
    /// `dirs`: package every stream as HLS and record it there (needs GStreamer).
    pub fn new(ice: IceSettings, dirs: Option<MediaDirs>) -> Self {
        let dirs = dirs.filter(|_| match super::packager::available() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("HLS and recording are off: {e}");
                false
            }
        });
        Self {
            inner: Arc::new(Inner {
                peers: PeerFactory::new(ice),
                dirs,
                hls_clients: Mutex::new((HashMap::new(), Instant::now())),
                packagers: Mutex::new(Vec::new()),
                slots: Mutex::new(HashMap::new()),
                shutdown: CancellationToken::new(),
                cluster: std::sync::OnceLock::new(),
                pull_turns: Mutex::new(HashMap::new()),
                http: reqwest::Client::new(),
            }),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.inner.slots.lock().expect("not poisoned")
    }

    /// The stream's current publisher, if one is connected or connecting.
    pub fn publisher(&self, stream: &str) -> Option<Arc<Publisher>> {
        self.slots()
            .get(stream)
            .and_then(|s| s.publisher.clone())
            .filter(|p| !p.is_ended())
    }

    /// Streams with a publisher here now (not the ones this relay pulls from another).
    pub fn publishing_streams(&self) -> Vec<String> {
        self.slots()
            .iter()
            .filter(|(_, slot)| {
                slot.publisher
                    .as_ref()
                    .is_some_and(|p| !p.is_ended() && !p.is_pulled())
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Viewers (WHEP sessions) of a stream right now.
    pub fn viewer_count(&self, stream: &str) -> usize {
        self.slots().get(stream).map_or(0, |s| s.viewers.len())
    }

    /// Live figures of a stream.
    pub async fn stats(&self, stream: &str) -> StreamStats {
        let viewers = self.viewer_count(stream);
        let publisher = self.publisher(stream);
        let mut stats = stream_stats(publisher.as_deref(), viewers);
        stats.hls_viewers = self.hls_viewers(stream) as u32;
        if let Some(publisher) = publisher {
            stats.rtt_ms = publisher.rtt_ms().await;
        }
        stats
    }

    pub fn media_dirs(&self) -> Option<&MediaDirs> {
        self.inner.dirs.as_ref()
    }

    /// Ends every session (relay shutdown).
    pub async fn close_all(&self) {
        self.inner.shutdown.cancel();
        let publishers: Vec<(String, Arc<Publisher>)> = self
            .slots()
            .iter()
            .filter_map(|(name, s)| s.publisher.clone().map(|p| (name.clone(), p)))
            .collect();
        for (name, publisher) in publishers {
            self.end_publisher(&name, &publisher).await;
        }
        let packagers: Vec<_> = self
            .inner
            .packagers
            .lock()
            .expect("not poisoned")
            .drain(..)
            .collect();
        for task in packagers {
            let _ = tokio::time::timeout(super::packager::EOS_TIMEOUT, task).await;
        }
    }
}

/// Resolves when the connection has failed, closed, stayed disconnected past the grace
/// period, or never connected.
async fn connection_gone(mut state: watch::Receiver<RTCPeerConnectionState>) {
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    let mut connected_once = false;
    loop {
        let current = *state.borrow_and_update();
        let wait = match current {
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => return,
            RTCPeerConnectionState::Connected => {
                connected_once = true;
                None
            }
            RTCPeerConnectionState::Disconnected => {
                Some(tokio::time::Instant::now() + DISCONNECT_GRACE)
            }
            _ if connected_once => None,
            _ => Some(deadline),
        };
        let changed = match wait {
            Some(until) => match tokio::time::timeout_at(until, state.changed()).await {
                Ok(changed) => changed,
                Err(_) => return,
            },
            None => state.changed().await,
        };
        if changed.is_err() {
            return;
        }
    }
}
