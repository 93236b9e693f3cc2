//! A stream's publisher (WHIP, RTMP or pulled from an origin) and its tracks: the packets
//! fanned out to viewers, HLS and the recording, keyframe requests, and the stream's figures.
//! The hub keeps publishers by stream; packaging, RTMP ingest and stats take them from here,
//! so none of them needs the hub.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RtpCodecKind};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};

use super::pull::OriginSession;
use super::stats::{StreamStats, TrackCounters};

/// How long a joining viewer waits for the publisher's first packets.
const TRACKS_TIMEOUT: Duration = Duration::from_secs(3);
/// Keyframe requests to a publisher are sent at most this often, however many viewers ask.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);
/// Packets buffered per track for slow consumers: ~2 s of a 2.5 Mbit/s stream.
const TRACK_BUFFER: usize = 1024;

pub(super) fn new_session_id() -> String {
    crate::auth::random_hex(12)
}

pub(super) fn kind_name(kind: RtpCodecKind) -> &'static str {
    match kind {
        RtpCodecKind::Audio => "audio",
        _ => "video",
    }
}

/// One track a publisher sends, with the channel its packets are fanned out on.
pub struct PublishedTrack {
    pub kind: RtpCodecKind,
    pub codec: RTCRtpCodec,
    pub ssrc: u32,
    /// The WebRTC track it comes from (`None` for RTMP): keyframe requests go there.
    pub(super) remote: Option<Arc<dyn TrackRemote>>,
    pub(super) packets: broadcast::Sender<rtp::Packet>,
    pub counters: Mutex<TrackCounters>,
    /// When the last keyframe started (video).
    pub(super) last_keyframe: Mutex<Option<Instant>>,
}

impl PublishedTrack {
    /// Every packet from now on (HLS, recording and viewers each take one).
    pub fn subscribe(&self) -> broadcast::Receiver<rtp::Packet> {
        self.packets.subscribe()
    }

    /// Counts a packet and hands it to every subscriber.
    pub fn push(&self, packet: rtp::Packet) {
        if self.kind == RtpCodecKind::Video && super::h264::starts_keyframe(&packet.payload) {
            *self.last_keyframe.lock().expect("not poisoned") = Some(Instant::now());
        }
        self.counters
            .lock()
            .expect("not poisoned")
            .count(self.kind, &packet);
        // No receivers is fine: nobody watches yet.
        let _ = self.packets.send(packet);
    }
}

pub struct Publisher {
    pub session: String,
    /// The WebRTC connection and its state; `None` for RTMP, whose TCP connection is watched
    /// by the ingest itself.
    pub(super) connection: Option<(
        Arc<dyn PeerConnection>,
        watch::Receiver<RTCPeerConnectionState>,
    )>,
    /// Kinds of the sections in the publisher's offer: the tracks to expect.
    pub(super) offered: Vec<RtpCodecKind>,
    pub(super) tracks: watch::Sender<Vec<Arc<PublishedTrack>>>,
    pub(super) ended: CancellationToken,
    pub(super) last_keyframe_request: Mutex<Option<Instant>>,
    pub started: Instant,
    /// Set when this is an edge's pull of another relay's stream: the session there.
    pub(super) pulled: Option<OriginSession>,
}

impl Publisher {
    pub(super) fn new(
        offered: Vec<RtpCodecKind>,
        connection: Option<(
            Arc<dyn PeerConnection>,
            watch::Receiver<RTCPeerConnectionState>,
        )>,
    ) -> Self {
        Self {
            session: new_session_id(),
            connection,
            offered,
            tracks: watch::Sender::new(Vec::new()),
            ended: CancellationToken::new(),
            last_keyframe_request: Mutex::new(None),
            started: Instant::now(),
            pulled: None,
        }
    }

    /// Whether this is an edge's pull of a stream another relay receives.
    pub fn is_pulled(&self) -> bool {
        self.pulled.is_some()
    }

    pub fn tracks(&self) -> Vec<Arc<PublishedTrack>> {
        self.tracks.borrow().clone()
    }

    pub fn is_ended(&self) -> bool {
        self.ended.is_cancelled()
    }

    /// Resolves when the publisher is gone.
    pub async fn ended(&self) {
        self.ended.cancelled().await
    }

    pub(super) fn is_gone(&self) -> bool {
        self.is_ended()
            || self.connection.as_ref().is_some_and(|(_, state)| {
                matches!(
                    *state.borrow(),
                    RTCPeerConnectionState::Disconnected
                        | RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                )
            })
    }

    /// Round-trip time to a WebRTC publisher, from ICE's consent checks on the selected
    /// candidate pair (every 2 s); `None` for RTMP or before the first measurement.
    pub(super) async fn rtt_ms(&self) -> Option<f64> {
        let (pc, _) = self.connection.as_ref()?;
        let report = pc
            .get_stats(Instant::now(), webrtc::peer_connection::StatsSelector::None)
            .await;
        report
            .candidate_pairs()
            .filter(|pair| pair.nominated)
            .map(|pair| pair.current_round_trip_time)
            .find(|rtt| *rtt > 0.0)
            .map(|seconds| (seconds * 10_000.0).round() / 10.0)
    }

    /// Adds a track (its first packet is about to be pushed).
    pub fn add_track(
        &self,
        kind: RtpCodecKind,
        codec: RTCRtpCodec,
        ssrc: u32,
    ) -> Arc<PublishedTrack> {
        self.add_track_from(kind, codec, ssrc, None)
    }

    pub(super) fn add_track_from(
        &self,
        kind: RtpCodecKind,
        codec: RTCRtpCodec,
        ssrc: u32,
        remote: Option<Arc<dyn TrackRemote>>,
    ) -> Arc<PublishedTrack> {
        let track = Arc::new(PublishedTrack {
            kind,
            codec,
            ssrc,
            remote,
            packets: broadcast::Sender::new(TRACK_BUFFER),
            counters: Mutex::new(TrackCounters::default()),
            last_keyframe: Mutex::new(None),
        });
        tracing::info!(
            session = %self.session,
            kind = kind_name(track.kind),
            codec = %track.codec.mime_type,
            fmtp = %track.codec.sdp_fmtp_line,
            "publisher track started"
        );
        self.tracks.send_modify(|list| list.push(track.clone()));
        track
    }

    /// Asks the publisher for a keyframe (PLI). While one asked for less than
    /// [`KEYFRAME_REQUEST_INTERVAL`] ago is still to come, more requests are dropped; once it
    /// has arrived, the next request goes out at once (a viewer joining just after it needs
    /// its own).
    pub async fn request_keyframe(&self) {
        let Some((video, remote)) = self
            .tracks()
            .into_iter()
            .find(|t| t.kind == RtpCodecKind::Video)
            .and_then(|t| t.remote.clone().map(|r| (t, r)))
        else {
            return;
        };
        {
            let mut last = self.last_keyframe_request.lock().expect("not poisoned");
            let keyframe = *video.last_keyframe.lock().expect("not poisoned");
            let pending = last.is_some_and(|asked| {
                asked.elapsed() < KEYFRAME_REQUEST_INTERVAL && keyframe.is_none_or(|k| k < asked)
            });
            if pending {
                return;
            }
            *last = Some(Instant::now());
        }
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: video.ssrc,
        };
        if let Err(e) = remote.write_rtcp(vec![Box::new(pli)]).await {
            tracing::debug!(session = %self.session, "keyframe request not sent: {e}");
        }
    }

    /// Waits until every offered track has started (or the timeout), then returns them.
    pub async fn wait_for_all_tracks(&self) -> Vec<Arc<PublishedTrack>> {
        self.wait_for_tracks(&self.offered).await
    }

    /// Waits until a track of each wanted kind is there (or the timeout), then returns them.
    pub(super) async fn wait_for_tracks(
        &self,
        wanted: &[RtpCodecKind],
    ) -> Vec<Arc<PublishedTrack>> {
        let mut tracks = self.tracks.subscribe();
        let all_there = |list: &Vec<Arc<PublishedTrack>>| {
            wanted.iter().all(|k| list.iter().any(|t| t.kind == *k))
        };
        let _ = tokio::time::timeout(TRACKS_TIMEOUT, tracks.wait_for(all_there)).await;
        let list = tracks.borrow().clone();
        list.into_iter()
            .filter(|t| wanted.contains(&t.kind))
            .collect()
    }
}

/// The stream's figures now: its publisher's tracks (none when nobody publishes) and its
/// WHEP viewers.
pub fn stream_stats(publisher: Option<&Publisher>, viewers: usize) -> StreamStats {
    let mut stats = StreamStats {
        viewers: viewers as u32,
        ..StreamStats::default()
    };
    let Some(publisher) = publisher else {
        return stats;
    };
    stats.publishing = true;
    stats.uptime_s = publisher.started.elapsed().as_secs();
    for track in publisher.tracks() {
        let figures = track
            .counters
            .lock()
            .expect("not poisoned")
            .figures(&track.codec);
        match track.kind {
            RtpCodecKind::Audio => stats.audio = Some(figures),
            _ => stats.video = Some(figures),
        }
    }
    stats
}
