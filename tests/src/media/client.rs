//! A WebRTC client like a browser's (webrtc-rs 0.21): Chrome's H.264 and Opus payload types,
//! the default interceptors, host candidates on the given address. Plays WHEP streams and
//! counts the H.264 frames it depacketizes; can also offer to publish (WHIP) without media.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription,
    Registry, SettingEngineBuilder, register_default_interceptors,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

struct Handler {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// Chrome's usual offer: H.264 constrained baseline (102), baseline (127), Opus (111).
fn browser_media_engine() -> Result<MediaEngine> {
    let mut engine = MediaEngine::default();
    let feedback: Vec<RTCPFeedback> = [
        ("goog-remb", ""),
        ("ccm", "fir"),
        ("nack", ""),
        ("nack", "pli"),
    ]
    .into_iter()
    .map(|(t, p)| RTCPFeedback {
        typ: t.into(),
        parameter: p.into(),
    })
    .collect();
    for (profile, pt) in [("42e01f", 102), ("42001f", 127)] {
        engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: h264_codec(profile, feedback.clone()),
                payload_type: pt,
            },
            RtpCodecKind::Video,
        )?;
    }
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.into(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    Ok(engine)
}

fn h264_codec(profile: &str, rtcp_feedback: Vec<RTCPFeedback>) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: format!(
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={profile}"
        ),
        rtcp_feedback,
    }
}

/// One client peer connection.
pub struct WebRtcClient {
    pub pc: Arc<dyn PeerConnection>,
    gathered: watch::Receiver<bool>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
}

impl WebRtcClient {
    /// A client with host candidates on `bind` only.
    pub async fn new(bind: IpAddr) -> Result<Self> {
        let mut engine = browser_media_engine()?;
        let registry = register_default_interceptors(Registry::new(), &mut engine)?;
        let (gathered_tx, gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (tracks_tx, tracks) = mpsc::unbounded_channel();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(
                SettingEngineBuilder::new()
                    .with_multicast_dns_mode(MulticastDnsMode::Disabled)
                    .build(),
            )
            .with_handler(Arc::new(Handler {
                gathered: gathered_tx,
                state: state_tx,
                tracks: tracks_tx,
            }))
            .with_udp_addrs(vec![SocketAddr::new(bind, 0)])
            .build()
            .await?;
        Ok(Self {
            pc: Arc::new(pc),
            gathered,
            state,
            tracks,
        })
    }

    pub async fn add_transceiver(
        &self,
        kind: RtpCodecKind,
        direction: RTCRtpTransceiverDirection,
    ) -> Result<()> {
        self.pc
            .add_transceiver_from_kind(
                kind,
                Some(RTCRtpTransceiverInit {
                    direction,
                    ..Default::default()
                }),
            )
            .await?;
        Ok(())
    }

    /// A sendonly H.264 track (for a publisher that offers but need not send).
    pub async fn add_video_track(&self) -> Result<Arc<TrackLocalStaticRTP>> {
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "test".into(),
            "test-video".into(),
            "video".into(),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(0x5eed_0001),
                    ..Default::default()
                },
                codec: h264_codec("42e01f", vec![]),
                ..Default::default()
            }],
        )));
        self.pc
            .add_transceiver_from_track(
                track.clone() as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    ..Default::default()
                }),
            )
            .await?;
        Ok(track)
    }

    /// The complete (non-trickle) offer.
    pub async fn offer(&mut self) -> Result<String> {
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer).await?;
        tokio::time::timeout(Duration::from_secs(5), self.gathered.wait_for(|g| *g))
            .await
            .context("ICE gathering")??;
        Ok(self
            .pc
            .local_description()
            .await
            .ok_or_else(|| anyhow!("no local description"))?
            .sdp)
    }

    pub async fn accept_answer(&self, answer: String) -> Result<()> {
        self.pc
            .set_remote_description(RTCSessionDescription::answer(answer)?)
            .await?;
        Ok(())
    }

    pub async fn wait_connected(&mut self, within: Duration) -> Result<()> {
        tokio::time::timeout(
            within,
            self.state
                .wait_for(|s| *s == RTCPeerConnectionState::Connected),
        )
        .await
        .context("connection state Connected")??;
        Ok(())
    }

    pub async fn next_track(&mut self, within: Duration) -> Result<Arc<dyn TrackRemote>> {
        tokio::time::timeout(within, self.tracks.recv())
            .await
            .context("no track arrived")?
            .ok_or_else(|| anyhow!("connection closed"))
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// POSTs an SDP offer; returns (status, Location, body).
pub async fn post_sdp(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
    sdp: String,
) -> Result<(reqwest::StatusCode, Option<String>, String)> {
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/sdp")
        .body(sdp);
    if let Some(key) = bearer {
        request = request.bearer_auth(key);
    }
    let response = request.send().await?;
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, location, response.text().await?))
}

/// What a player got from its video track.
#[derive(Debug, Default, Clone)]
pub struct FrameStats {
    /// Access units (pictures) reassembled from the RTP payloads.
    pub frames: usize,
    /// NAL unit types of the first frame (a keyframe starts with 7 SPS, 8 PPS, 5 IDR).
    pub first_frame_nal_types: Vec<u8>,
    pub bytes: usize,
    /// Payload NAL types of the first packets (FU-A as 28.inner), for diagnosis.
    pub first_packets: Vec<String>,
    /// From the POST to the first complete frame.
    pub first_frame_after: Option<Duration>,
    /// RTP packets that never arrived (gaps in the sequence numbers).
    pub lost_packets: usize,
}

/// A WHEP player.
pub struct WhepPlayer {
    pub client: WebRtcClient,
    /// The session resource (absolute URL) to DELETE.
    pub session_url: String,
    started: Instant,
    video: Option<Arc<dyn TrackRemote>>,
    pub stats: FrameStats,
    depacketizer: H264Packet,
    frame: Vec<u8>,
    last_sequence: Option<u16>,
    /// See [`WhepPlayer::decodable_only`].
    decodable_only: bool,
    /// A packet was lost: pictures are skipped until the next keyframe.
    awaiting_keyframe: bool,
    last_keyframe_request: Option<Instant>,
}

impl WhepPlayer {
    /// Joins `{base}/whep/{stream}` with recvonly video (and audio if `audio`).
    pub async fn join(
        http: &reqwest::Client,
        base: &str,
        stream: &str,
        bind: IpAddr,
        audio: bool,
    ) -> Result<Self> {
        let mut client = WebRtcClient::new(bind).await?;
        client
            .add_transceiver(RtpCodecKind::Video, RTCRtpTransceiverDirection::Recvonly)
            .await?;
        if audio {
            client
                .add_transceiver(RtpCodecKind::Audio, RTCRtpTransceiverDirection::Recvonly)
                .await?;
        }
        let offer = client.offer().await?;
        let started = Instant::now();
        let (status, location, body) =
            post_sdp(http, &format!("{base}/whep/{stream}"), None, offer).await?;
        ensure!(
            status == reqwest::StatusCode::CREATED,
            "WHEP POST: {status} {body}"
        );
        let location = location.ok_or_else(|| anyhow!("WHEP answer without Location"))?;
        client.accept_answer(body).await?;
        Ok(Self {
            client,
            session_url: format!("{base}{location}"),
            started,
            video: None,
            stats: FrameStats::default(),
            depacketizer: H264Packet::default(),
            frame: Vec::new(),
            last_sequence: None,
            decodable_only: false,
            awaiting_keyframe: false,
            last_keyframe_request: None,
        })
    }

    /// From now on, hands out only pictures a decoder can show whole, as a real player
    /// does: after a lost packet it asks for a keyframe (PLI) and skips pictures until one
    /// comes. Off by default, where every reassembled picture counts (the media tests).
    pub fn decodable_only(&mut self) {
        self.decodable_only = true;
    }

    async fn request_keyframe(&mut self, video: &Arc<dyn TrackRemote>, media_ssrc: u32) {
        if self
            .last_keyframe_request
            .is_some_and(|at| at.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.last_keyframe_request = Some(Instant::now());
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc,
        };
        if let Err(e) = video.write_rtcp(vec![Box::new(pli)]).await {
            eprintln!("WHEP player: keyframe request not sent: {e}");
        }
    }

    /// Reads video until `frames` more frames are complete or `within` passes.
    pub async fn receive_frames(&mut self, frames: usize, within: Duration) -> Result<&FrameStats> {
        let deadline = tokio::time::Instant::now() + within;
        let target = self.stats.frames + frames;
        while self.stats.frames < target {
            if self.next_frame(deadline).await?.is_none() {
                break;
            }
        }
        Ok(&self.stats)
    }

    /// The next complete picture (an H.264 access unit in Annex B), or `None` at `deadline`.
    pub async fn next_frame(&mut self, deadline: tokio::time::Instant) -> Result<Option<Vec<u8>>> {
        while self.video.is_none() {
            let Ok(track) = tokio::time::timeout_at(
                deadline,
                self.client.next_track(Duration::from_secs(3600)),
            )
            .await
            else {
                return Ok(None);
            };
            let track = track?;
            if track.kind().await == RtpCodecKind::Video {
                self.video = Some(track);
            }
        }
        let video = self.video.clone().expect("set above");
        loop {
            let event = match tokio::time::timeout_at(deadline, video.poll()).await {
                Ok(Some(event)) => event,
                Ok(None) => bail!("the video track ended after {} frames", self.stats.frames),
                Err(_) => return Ok(None),
            };
            let TrackRemoteEvent::OnRtpPacket(packet) = event else {
                continue;
            };
            if packet.payload.is_empty() {
                continue;
            }
            if self.stats.first_packets.len() < 12 {
                let p = &packet.payload;
                let t = p[0] & 0x1f;
                self.stats.first_packets.push(match t {
                    28 => format!(
                        "28.{}{}",
                        p.get(1).map_or(0, |b| b & 0x1f),
                        if p.get(1).is_some_and(|b| b & 0x80 != 0) {
                            "s"
                        } else {
                            ""
                        }
                    ),
                    24 => format!("24[{}]", p.get(3).map_or(0, |b| b & 0x1f)),
                    t => t.to_string(),
                });
            }
            let sequence = packet.header.sequence_number;
            if let Some(last) = self.last_sequence.replace(sequence) {
                let gap = sequence.wrapping_sub(last).wrapping_sub(1);
                // Small gaps only: a large one is a reordered or repeated packet.
                if gap > 0 && gap < 1000 {
                    self.stats.lost_packets += usize::from(gap);
                    if self.decodable_only {
                        self.frame.clear();
                        self.awaiting_keyframe = true;
                        self.request_keyframe(&video, packet.header.ssrc).await;
                    }
                }
            }
            let data = self
                .depacketizer
                .depacketize(&packet.payload)
                .context("depacketize H.264")?;
            self.frame.extend_from_slice(&data);
            self.stats.bytes += packet.payload.len();
            if packet.header.marker && !self.frame.is_empty() {
                if self.awaiting_keyframe {
                    if !annex_b_nal_types(&self.frame).contains(&5) {
                        self.frame.clear();
                        self.request_keyframe(&video, packet.header.ssrc).await;
                        continue;
                    }
                    self.awaiting_keyframe = false;
                }
                if self.stats.frames == 0 {
                    self.stats.first_frame_nal_types = annex_b_nal_types(&self.frame);
                    self.stats.first_frame_after = Some(self.started.elapsed());
                }
                self.stats.frames += 1;
                return Ok(Some(std::mem::take(&mut self.frame)));
            }
        }
    }

    pub async fn leave(self, http: &reqwest::Client) -> Result<reqwest::StatusCode> {
        let status = http.delete(&self.session_url).send().await?.status();
        self.client.close().await;
        Ok(status)
    }
}

/// NAL unit types in an Annex B byte stream.
fn annex_b_nal_types(data: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut i = 0;
    while i + 3 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            types.push(data[i + 3] & 0x1f);
            i += 3;
        } else {
            i += 1;
        }
    }
    types
}
