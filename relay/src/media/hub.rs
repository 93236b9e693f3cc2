//! The media hub: per stream, its one publisher (WHIP), the tracks it sends, and the viewers
//! (WHEP) those tracks are forwarded to. An SFU: packets are passed on, never decoded.
//!
//! Lifetimes: a publisher lasts until its DELETE, its connection fails, or it stays
//! disconnected past [`DISCONNECT_GRACE`]; its viewers end with it (they are told by RTCP BYE
//! and the connection closing, and can POST again when the stream is back). A viewer lasts
//! until its DELETE or its connection goes. Every path ends in `pc.close()`: webrtc-rs keeps a
//! dropped connection's sockets and task alive otherwise.

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
pub use super::publisher::{PublishedTrack, Publisher};
use super::publisher::{kind_name, new_session_id, stream_stats};
use super::stats::StreamStats;

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

/// An HLS client counts as watching for this long after its last playlist fetch (players
/// reload the live playlist about every segment).
const HLS_CLIENT_WINDOW: Duration =
    Duration::from_secs(3 * super::packager::SEGMENT_SECONDS as u64);

/// HLS clients remembered at once, over all streams (~100 bytes each).
const MAX_HLS_CLIENTS: usize = 200_000;

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

    /// Records that `client` fetched the stream's HLS playlist now.
    pub fn note_hls_client(&self, stream: &str, client: String) {
        let mut guard = self.inner.hls_clients.lock().expect("not poisoned");
        let (clients, pruned) = &mut *guard;
        // Every player fetches the playlist every couple of seconds: sweeping the whole map
        // on each fetch would cost O(clients) per request.
        if pruned.elapsed() >= Duration::from_secs(1) {
            clients.retain(|_, seen| seen.elapsed() < HLS_CLIENT_WINDOW);
            *pruned = Instant::now();
        }
        // Clients name themselves (a player token): a flood of new names must not grow the
        // table without bound. Past the cap, new names are not counted until old ones expire.
        let key = (stream.to_owned(), client);
        if clients.len() < MAX_HLS_CLIENTS || clients.contains_key(&key) {
            clients.insert(key, Instant::now());
        }
    }

    /// HLS clients that fetched the playlist recently: an estimate (one per address and
    /// browser; a CDN in front shows as one).
    pub fn hls_viewers(&self, stream: &str) -> usize {
        self.inner
            .hls_clients
            .lock()
            .expect("not poisoned")
            .0
            .iter()
            .filter(|((s, _), seen)| s == stream && seen.elapsed() < HLS_CLIENT_WINDOW)
            .count()
    }

    /// WHIP: a publisher's offer becomes its session. One publisher per stream: another one
    /// gets [`MediaError::Busy`] unless the current one's connection is already gone.
    pub async fn publish(&self, stream: &str, offer: String) -> Result<Session, MediaError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(MediaError::NotLive("the relay is shutting down".into()));
        }
        let offered = offered_media(&offer)?;
        self.refuse_if_published_elsewhere(stream).await?;
        let (track_tx, track_rx) = mpsc::unbounded_channel();
        let mut peer = self.inner.peers.new_peer(Some(track_tx)).await?;
        let publisher = Arc::new(Publisher::new(
            offered,
            Some((peer.pc.clone(), peer.state.clone())),
        ));
        if let Err(e) = self.claim(stream, &publisher).await {
            let _ = peer.pc.close().await;
            return Err(e);
        }
        let answer = match self.inner.peers.answer(&mut peer, offer).await {
            Ok(answer) => answer,
            Err(e) => {
                self.end_publisher(stream, &publisher).await;
                return Err(e);
            }
        };
        tokio::spawn(collect_tracks(publisher.clone(), track_rx));
        self.start_packaging(stream, &publisher);
        self.hold_origin(stream, &publisher);
        let hub = self.clone();
        let (name, watched, state) = (stream.to_owned(), publisher.clone(), peer.state);
        tokio::spawn(async move {
            tokio::select! {
                () = connection_gone(state) => {
                    tracing::info!(stream = %name, session = %watched.session, "publisher connection gone");
                }
                () = watched.ended.cancelled() => {}
                () = hub.inner.shutdown.cancelled() => {}
            }
            hub.end_publisher(&name, &watched).await;
        });
        tracing::info!(stream, session = %publisher.session, "publisher joined");
        Ok(Session {
            id: publisher.session.clone(),
            answer,
        })
    }

    /// A publisher that is not a WebRTC connection (RTMP): it takes the stream like a WHIP
    /// one, adds its tracks with [`Publisher::add_track`], and ends with [`Self::end_ingest`].
    pub async fn begin_ingest(
        &self,
        stream: &str,
        expected: Vec<RtpCodecKind>,
    ) -> Result<Arc<Publisher>, MediaError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(MediaError::NotLive("the relay is shutting down".into()));
        }
        self.refuse_if_published_elsewhere(stream).await?;
        let publisher = Arc::new(Publisher::new(expected, None));
        self.claim(stream, &publisher).await?;
        self.start_packaging(stream, &publisher);
        self.hold_origin(stream, &publisher);
        let hub = self.clone();
        let (name, watched) = (stream.to_owned(), publisher.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = hub.inner.shutdown.cancelled() => hub.end_publisher(&name, &watched).await,
                () = watched.ended.cancelled() => {}
            }
        });
        tracing::info!(stream, session = %publisher.session, "publisher joined");
        Ok(publisher)
    }

    pub async fn end_ingest(&self, stream: &str, publisher: &Arc<Publisher>) {
        if !publisher.is_ended() {
            tracing::info!(stream, session = %publisher.session, "publisher left");
        }
        self.end_publisher(stream, publisher).await;
    }

    /// Makes `publisher` the stream's, unless a live one holds it.
    async fn claim(&self, stream: &str, publisher: &Arc<Publisher>) -> Result<(), MediaError> {
        let replaced = {
            let mut slots = self.slots();
            let slot = slots.entry(stream.to_owned()).or_default();
            match &slot.publisher {
                // A publisher arriving here replaces this relay's pull of the stream.
                Some(current) if !current.is_gone() && !current.is_pulled() => None,
                _ => Some(slot.publisher.replace(publisher.clone())),
            }
        };
        let Some(previous) = replaced else {
            return Err(MediaError::Busy(format!(
                "stream {stream} already has a publisher; DELETE its session first"
            )));
        };
        if let Some(previous) = previous {
            tracing::info!(stream, session = %previous.session, "replacing a publisher whose connection is gone");
            previous.ended.cancel();
            self.end_publisher_viewers(stream, &previous).await;
            if let Some((pc, _)) = &previous.connection {
                let _ = pc.close().await;
            }
        }
        Ok(())
    }

    fn start_packaging(&self, stream: &str, publisher: &Arc<Publisher>) {
        if let Some(dirs) = &self.inner.dirs {
            // The origin records; an edge only packages HLS for its own viewers.
            let task = tokio::spawn(super::packager::run(
                stream.to_owned(),
                publisher.clone(),
                dirs.clone(),
                !publisher.is_pulled(),
            ));
            let mut packagers = self.inner.packagers.lock().expect("not poisoned");
            packagers.retain(|t| !t.is_finished());
            packagers.push(task);
        }
    }

    /// WHIP DELETE: ends the publisher if `session` is it.
    pub async fn unpublish(&self, stream: &str, session: &str) -> Result<(), MediaError> {
        let publisher = self
            .publisher(stream)
            .filter(|p| p.session == session)
            .ok_or(MediaError::NoSession)?;
        tracing::info!(stream, session, "publisher left");
        self.end_publisher(stream, &publisher).await;
        Ok(())
    }

    async fn end_publisher(&self, stream: &str, publisher: &Arc<Publisher>) {
        publisher.ended.cancel();
        {
            let mut slots = self.slots();
            if let Some(slot) = slots.get_mut(stream)
                && slot
                    .publisher
                    .as_ref()
                    .is_some_and(|p| Arc::ptr_eq(p, publisher))
            {
                slot.publisher = None;
            }
        }
        self.end_publisher_viewers(stream, publisher).await;
        if let Some((pc, _)) = &publisher.connection {
            let _ = pc.close().await;
        }
        if let Some(session) = &publisher.pulled {
            tracing::info!(stream, origin = %session.resource, "pull ended");
            pull::close(&self.inner.http, session).await;
        }
    }

    /// Ends every viewer of the stream: they were watching this publisher.
    async fn end_publisher_viewers(&self, stream: &str, publisher: &Publisher) {
        publisher.ended.cancel();
        let viewers: Vec<Arc<Viewer>> = {
            let mut slots = self.slots();
            slots
                .get_mut(stream)
                .map(|s| s.viewers.drain().map(|(_, v)| v).collect())
                .unwrap_or_default()
        };
        for viewer in viewers {
            end_viewer(&viewer, b"publisher left").await;
        }
    }

    /// WHEP: a viewer's offer becomes a session fed with the publisher's tracks.
    pub async fn play(&self, stream: &str, offer: String) -> Result<Session, MediaError> {
        let offered = offered_media(&offer)?;
        let publisher = self.publisher_or_pull(stream).await?;
        let wanted: Vec<RtpCodecKind> = publisher
            .offered
            .iter()
            .copied()
            .filter(|k| offered.contains(k))
            .collect();
        let tracks = publisher.wait_for_tracks(&wanted).await;
        if tracks.is_empty() {
            return Err(MediaError::NotLive(format!(
                "stream {stream} has no media yet"
            )));
        }
        let mut peer = self.inner.peers.new_peer(None).await?;
        let mut locals = Vec::new();
        for track in &tracks {
            let ssrc = random_ssrc();
            let local = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
                "anchordesk".to_owned(),
                format!("{}-{ssrc}", kind_name(track.kind)),
                kind_name(track.kind).to_owned(),
                track.kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: track.codec.clone(),
                    ..Default::default()
                }],
            )));
            let sender = match peer
                .pc
                .add_track(local.clone() as Arc<dyn TrackLocal>)
                .await
            {
                Ok(sender) => sender,
                Err(e) => {
                    let _ = peer.pc.close().await;
                    return Err(MediaError::internal(e));
                }
            };
            locals.push((track.clone(), ssrc, local, sender));
        }
        let answer = match self.inner.peers.answer(&mut peer, offer).await {
            Ok(answer) => answer,
            Err(e) => {
                let _ = peer.pc.close().await;
                return Err(e);
            }
        };
        let mut forwards = Vec::new();
        for (track, ssrc, local, sender) in locals {
            match viewer_payload_type(&sender, &track.codec).await {
                Some(pt) => forwards.push((track, ssrc, local, pt)),
                None => {
                    let _ = peer.pc.close().await;
                    return Err(MediaError::BadOffer(format!(
                        "the offer has no codec the stream can be sent in ({} {})",
                        track.codec.mime_type, track.codec.sdp_fmtp_line
                    )));
                }
            }
        }
        let session = new_session_id();
        let viewer = Arc::new(Viewer {
            pc: peer.pc.clone(),
            ended: CancellationToken::new(),
            tracks: forwards
                .iter()
                .map(|(_, ssrc, local, _)| (*ssrc, local.clone()))
                .collect(),
        });
        {
            let mut slots = self.slots();
            let slot = slots.entry(stream.to_owned()).or_default();
            let still_current = slot
                .publisher
                .as_ref()
                .is_some_and(|p| Arc::ptr_eq(p, &publisher) && !p.is_ended());
            if still_current {
                slot.viewers.insert(session.clone(), viewer.clone());
            }
        }
        if publisher.is_ended() {
            end_viewer(&viewer, b"publisher left").await;
            return Err(MediaError::NotLive(format!("stream {stream} just ended")));
        }
        for (track, ssrc, local, pt) in forwards {
            tokio::spawn(forward(
                track,
                peer.state.clone(),
                local.clone(),
                ssrc,
                pt,
                publisher.clone(),
                viewer.ended.clone(),
            ));
            tokio::spawn(pass_keyframe_requests(
                local,
                publisher.clone(),
                viewer.ended.clone(),
            ));
        }
        let hub = self.clone();
        let (name, id, state) = (stream.to_owned(), session.clone(), peer.state);
        tokio::spawn(async move {
            tokio::select! {
                () = connection_gone(state) => {
                    tracing::debug!(stream = %name, session = %id, "viewer connection gone");
                }
                () = viewer.ended.cancelled() => {}
            }
            hub.end_viewer_session(&name, &id).await;
        });
        tracing::debug!(stream, %session, "viewer joined");
        Ok(Session {
            id: session,
            answer,
        })
    }

    /// WHEP DELETE.
    pub async fn stop_playing(&self, stream: &str, session: &str) -> Result<(), MediaError> {
        if self.end_viewer_session(stream, session).await {
            Ok(())
        } else {
            Err(MediaError::NoSession)
        }
    }

    async fn end_viewer_session(&self, stream: &str, session: &str) -> bool {
        let viewer = self
            .slots()
            .get_mut(stream)
            .and_then(|s| s.viewers.remove(session));
        match viewer {
            Some(viewer) => {
                end_viewer(&viewer, b"viewer left").await;
                true
            }
            None => false,
        }
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

async fn end_viewer(viewer: &Viewer, reason: &'static [u8]) {
    viewer.ended.cancel();
    for (ssrc, local) in &viewer.tracks {
        let bye = Goodbye {
            sources: vec![*ssrc],
            reason: bytes::Bytes::from_static(reason),
        };
        let _ = local.write_rtcp(vec![Box::new(bye)]).await;
    }
    let _ = viewer.pc.close().await;
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

/// Reads a publisher's tracks as they start (first packet) and fans their packets out.
async fn collect_tracks(
    publisher: Arc<Publisher>,
    mut remote_tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
) {
    loop {
        let remote = tokio::select! {
            () = publisher.ended.cancelled() => return,
            next = remote_tracks.recv() => match next {
                Some(remote) => remote,
                None => return,
            },
        };
        let Some(ssrc) = remote.ssrcs().await.first().copied() else {
            continue;
        };
        let Some(codec) = remote.codec(ssrc).await else {
            continue;
        };
        // The codec says the kind reliably; the track's own kind can still be unset here.
        let kind = if codec.mime_type.to_ascii_lowercase().starts_with("audio/") {
            RtpCodecKind::Audio
        } else {
            RtpCodecKind::Video
        };
        let track = publisher.add_track_from(kind, codec, ssrc, Some(remote.clone()));
        tokio::spawn(read_track(track, publisher.ended.clone()));
    }
}

async fn read_track(track: Arc<PublishedTrack>, ended: CancellationToken) {
    let Some(remote) = track.remote.clone() else {
        return;
    };
    loop {
        let event = tokio::select! {
            () = ended.cancelled() => return,
            event = remote.poll() => event,
        };
        match event {
            Some(TrackRemoteEvent::OnRtpPacket(packet)) => track.push(packet),
            Some(TrackRemoteEvent::OnEnded) | None => return,
            Some(_) => {}
        }
    }
}

/// The payload type this viewer negotiated for the publisher's codec: the exact match, else
/// the same H.264 profile, else any H.264 of the same packetization mode (decoders handle
/// every profile; constrained-baseline senders such as x264 offer 42c0, browsers ask 42e0).
async fn viewer_payload_type(sender: &Arc<dyn RtpSender>, codec: &RTCRtpCodec) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    let codecs = &params.rtp_parameters.codecs;
    let is_rtx = |c: &RTCRtpCodec| c.mime_type.eq_ignore_ascii_case("video/rtx");
    codecs
        .iter()
        .find(|c| same_codec(&c.rtp_codec, codec))
        .or_else(|| {
            codecs.iter().find(|c| {
                !is_rtx(&c.rtp_codec)
                    && c.rtp_codec.mime_type.eq_ignore_ascii_case(&codec.mime_type)
            })
        })
        .map(|c| c.payload_type)
}

/// Forwards one publisher track to one viewer: rewrites SSRC and payload type to the viewer's
/// (webrtc-rs drops, with only a log line, packets that do not match the viewer's negotiation)
/// and strips header extensions, whose ids differ per connection. Video starts at a keyframe.
async fn forward(
    track: Arc<PublishedTrack>,
    mut viewer_state: watch::Receiver<RTCPeerConnectionState>,
    local: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    publisher: Arc<Publisher>,
    ended: CancellationToken,
) {
    // Packets written before DTLS is up are dropped: a keyframe sent then would be lost and
    // the viewer would wait a whole GOP. Start when connected, and ask for a keyframe then.
    tokio::select! {
        () = ended.cancelled() => return,
        connected = viewer_state.wait_for(|s| *s == RTCPeerConnectionState::Connected) => {
            if connected.is_err() {
                return;
            }
        }
    }
    let mut packets = track.subscribe();
    let video = track.kind == RtpCodecKind::Video;
    if video {
        publisher.request_keyframe().await;
    }
    let mut waiting_for_keyframe = video;
    let mut asked_at = Instant::now();
    loop {
        let received = tokio::select! {
            () = ended.cancelled() => return,
            received = packets.recv() => received,
        };
        let mut packet = match received {
            Ok(packet) => packet,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "viewer fell behind");
                if video {
                    waiting_for_keyframe = true;
                    publisher.request_keyframe().await;
                    asked_at = Instant::now();
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if waiting_for_keyframe {
            if !super::h264::starts_keyframe(&packet.payload) {
                if asked_at.elapsed() > KEYFRAME_RETRY {
                    publisher.request_keyframe().await;
                    asked_at = Instant::now();
                }
                continue;
            }
            waiting_for_keyframe = false;
        }
        packet.header.ssrc = ssrc;
        packet.header.payload_type = payload_type;
        packet.header.extension = false;
        packet.header.extension_profile = 0;
        packet.header.extensions.clear();
        packet.header.extensions_padding = 0;
        if local.write_rtp(packet).await.is_err() {
            return;
        }
    }
}

/// Passes a viewer's PLI/FIR on to the publisher (rate-limited there).
async fn pass_keyframe_requests(
    local: Arc<TrackLocalStaticRTP>,
    publisher: Arc<Publisher>,
    ended: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = ended.cancelled() => return,
            event = local.poll() => event,
        };
        match event {
            Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                    publisher.request_keyframe().await;
                }
            }
            Some(_) => {}
            None => return,
        }
    }
}
