//! WebRTC peer connections as the relay makes them (webrtc-rs 0.21): the codecs it accepts,
//! the interceptors that make congestion control and keyframe requests work, where ICE binds,
//! and the non-trickle offer/answer exchange WHIP and WHEP use. See `relay/docs/webrtc-0.21.md`
//! for why each setting is what it is.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{
    Attribute, Interceptor, NackGeneratorBuilder, NackResponderBuilder, Packet, Slot, StreamInfo,
    TaggedPacket,
};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription,
    Registry, SettingEngineBuilder,
};

use super::MediaError;

/// A lost packet is asked for again at most this often (every 100 ms): once, and once more in
/// case the first retransmission was lost too.
const MAX_NACKS_PER_PACKET: u16 = 2;

/// H.264 variants real senders offer, as (profile-level-id, payload type, RTX payload type).
/// webrtc-rs matches H.264 exactly on profile and constraint bytes, so each must be listed:
/// browsers offer 42e01f/42001f/4d001f/640c1f, x264 in GStreamer 42c01e, OBS 42e01f or 640c1f.
const H264_VARIANTS: &[(&str, u8, u8)] = &[
    ("42e01f", 102, 103),
    ("42c01f", 104, 105),
    ("42001f", 106, 107),
    ("4d001f", 108, 109),
    ("640c1f", 110, 111),
    ("64001f", 112, 113),
];
const OPUS_PAYLOAD_TYPE: u8 = 96;

/// How long non-trickle ICE gathering may take. Host candidates only (no STUN), so it is
/// normally done in milliseconds.
const GATHERING_TIMEOUT: Duration = Duration::from_secs(5);

fn video_feedback() -> Vec<RTCPFeedback> {
    [
        ("goog-remb", ""),
        ("ccm", "fir"),
        ("nack", ""),
        ("nack", "pli"),
    ]
    .into_iter()
    .map(|(typ, parameter)| RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    })
    .collect()
}

fn media_engine() -> Result<MediaEngine, MediaError> {
    let mut engine = MediaEngine::default();
    let mut register = |mime: &str, clock_rate, channels, fmtp: String, payload_type, kind| {
        let rtcp_feedback = if mime == MIME_TYPE_H264 {
            video_feedback()
        } else {
            Vec::new()
        };
        engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: RTCRtpCodec {
                    mime_type: mime.to_owned(),
                    clock_rate,
                    channels,
                    sdp_fmtp_line: fmtp,
                    rtcp_feedback,
                },
                payload_type,
            },
            kind,
        )
    };
    for &(profile, pt, rtx_pt) in H264_VARIANTS {
        register(
            MIME_TYPE_H264,
            90_000,
            0,
            format!("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={profile}"),
            pt,
            RtpCodecKind::Video,
        )
        .map_err(MediaError::internal)?;
        register(
            MIME_TYPE_RTX,
            90_000,
            0,
            format!("apt={pt}"),
            rtx_pt,
            RtpCodecKind::Video,
        )
        .map_err(MediaError::internal)?;
    }
    register(
        MIME_TYPE_OPUS,
        48_000,
        2,
        "minptime=10;useinbandfec=1".into(),
        OPUS_PAYLOAD_TYPE,
        RtpCodecKind::Audio,
    )
    .map_err(MediaError::internal)?;
    Ok(engine)
}

/// Marks inbound PLI/FIR as for the application, so a viewer's keyframe request reaches the
/// relay (`TrackLocal::poll`) and can be passed on to the publisher. webrtc-rs stops all
/// inbound RTCP at the interceptor chain otherwise.
#[derive(Default)]
struct KeyframeRequestTap {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

pub fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| is_keyframe_request(p.as_ref()))
                .cloned()
                .collect();
            if requests.is_empty() {
                return Ok(());
            }
            // The core routes compound RTCP by its first packet's media SSRC: keeping only
            // the requests makes that the viewer track's SSRC.
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequestTap {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

/// Where peer connections bind and what they announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceSettings {
    /// Addresses to bind one UDP socket each on; `0.0.0.0` stands for every non-loopback
    /// interface. Loopback must be listed to be offered.
    pub addresses: Vec<IpAddr>,
    /// Public addresses to announce in addition (a merchant behind NAT forwarding the ports).
    pub public_ips: Vec<IpAddr>,
    /// UDP ports to bind from, inclusive; `None`: any free port.
    pub port_range: Option<(u16, u16)>,
}

impl Default for IceSettings {
    fn default() -> Self {
        Self {
            addresses: vec![
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            ],
            public_ips: Vec::new(),
            port_range: None,
        }
    }
}

struct Handler {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    tracks: Option<mpsc::UnboundedSender<Arc<dyn TrackRemote>>>,
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
        // Runs on the connection's driver task: hand the track off, never wait here.
        if let Some(tx) = &self.tracks {
            let _ = tx.send(track);
        }
    }
}

/// One peer connection with the signals the relay waits on.
pub struct Peer {
    pub pc: Arc<dyn PeerConnection>,
    gathered: watch::Receiver<bool>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
}

/// Builds peer connections with the relay's codecs, interceptors and ICE settings.
#[derive(Debug)]
pub struct PeerFactory {
    ice: IceSettings,
    next_port: AtomicU32,
}

impl PeerFactory {
    pub fn new(ice: IceSettings) -> Self {
        Self {
            ice,
            next_port: AtomicU32::new(0),
        }
    }

    pub fn ice(&self) -> &IceSettings {
        &self.ice
    }

    /// A new connection. `tracks` receives the remote's tracks as their first packet arrives.
    pub async fn new_peer(
        &self,
        tracks: Option<mpsc::UnboundedSender<Arc<dyn TrackRemote>>>,
    ) -> Result<Peer, MediaError> {
        let attempts = match self.ice.port_range {
            Some((low, high)) => usize::from(high - low) + 1,
            None => 1,
        };
        let mut last_error = None;
        // With a port range, a port another connection holds makes the build fail: try the
        // next ones (there is no socket sharing between connections in webrtc-rs 0.21).
        for _ in 0..attempts.min(64) {
            match self.try_build(self.bind_addresses(), tracks.clone()).await {
                Ok(peer) => return Ok(peer),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| MediaError::internal("no ICE address to bind")))
    }

    fn bind_addresses(&self) -> Vec<SocketAddr> {
        let port = match self.ice.port_range {
            Some((low, high)) => {
                let span = u32::from(high - low) + 1;
                low + (self.next_port.fetch_add(1, Ordering::Relaxed) % span) as u16
            }
            None => 0,
        };
        self.ice
            .addresses
            .iter()
            .map(|ip| SocketAddr::new(*ip, port))
            .collect()
    }

    async fn try_build(
        &self,
        addresses: Vec<SocketAddr>,
        tracks: Option<mpsc::UnboundedSender<Arc<dyn TrackRemote>>>,
    ) -> Result<Peer, MediaError> {
        let mut engine = media_engine()?;
        // webrtc-rs's defaults (NACK both ways, RTCP reports, and the TWCC receiver that gives
        // a publisher's GCC its feedback), except that a lost packet is NACKed at most
        // `MAX_NACKS_PER_PACKET` times. Left unlimited, every packet lost at a full bottleneck
        // was asked for again every 100 ms for as long as the receive log remembered it (~3 s),
        // and the retransmissions filled the uplink: GCC fell to its floor and stayed there on
        // a 1.5 Mbit/s link (bench `abr`). The tap comes last (closest to the application).
        let registry = Registry::new()
            .with(Slot::NackResponder, NackResponderBuilder::new().build())
            .with(
                Slot::NackGenerator,
                NackGeneratorBuilder::new()
                    .with_max_nacks_per_packet(MAX_NACKS_PER_PACKET)
                    .build(),
            );
        configure_simulcast_extension_headers(&mut engine).map_err(MediaError::internal)?;
        let registry = configure_rtcp_reports(
            configure_twcc_receiver_only(registry, &mut engine).map_err(MediaError::internal)?,
        )
        .with(Slot::from(14_000usize), KeyframeRequestTap::default());
        let settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .build();
        let (gathered_tx, gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let handler = Arc::new(Handler {
            gathered: gathered_tx,
            state: state_tx,
            tracks,
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(handler)
            .with_udp_addrs(addresses)
            .build()
            .await
            .map_err(MediaError::internal)?;
        Ok(Peer {
            pc: Arc::new(pc),
            gathered,
            state,
        })
    }

    /// Answers an offer without trickle: the answer carries every candidate.
    pub async fn answer(&self, peer: &mut Peer, offer: String) -> Result<String, MediaError> {
        let offer = RTCSessionDescription::offer(offer)
            .map_err(|e| MediaError::BadOffer(format!("not an SDP offer: {e}")))?;
        peer.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| MediaError::BadOffer(format!("SDP offer refused: {e}")))?;
        let answer = peer
            .pc
            .create_answer(None)
            .await
            .map_err(|e| MediaError::BadOffer(format!("cannot answer this offer: {e}")))?;
        peer.pc
            .set_local_description(answer)
            .await
            .map_err(MediaError::internal)?;
        tokio::time::timeout(GATHERING_TIMEOUT, peer.gathered.wait_for(|done| *done))
            .await
            .map_err(|_| MediaError::internal("ICE gathering did not finish"))?
            .map_err(MediaError::internal)?;
        let local = peer
            .pc
            .local_description()
            .await
            .ok_or_else(|| MediaError::internal("no local description after answering"))?;
        Ok(announce_public_ips(&local.sdp, &self.ice.public_ips))
    }
}

impl PeerFactory {
    /// A complete (non-trickle) offer to receive one video and one audio track: what a relay
    /// sends another relay to pull a stream over WHEP.
    pub async fn receive_offer(&self, peer: &mut Peer) -> Result<String, MediaError> {
        for kind in [RtpCodecKind::Video, RtpCodecKind::Audio] {
            peer.pc
                .add_transceiver_from_kind(
                    kind,
                    Some(webrtc::rtp_transceiver::RTCRtpTransceiverInit {
                        direction: webrtc::rtp_transceiver::RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(MediaError::internal)?;
        }
        let offer = peer
            .pc
            .create_offer(None)
            .await
            .map_err(MediaError::internal)?;
        peer.pc
            .set_local_description(offer)
            .await
            .map_err(MediaError::internal)?;
        tokio::time::timeout(GATHERING_TIMEOUT, peer.gathered.wait_for(|done| *done))
            .await
            .map_err(|_| MediaError::internal("ICE gathering did not finish"))?
            .map_err(MediaError::internal)?;
        let local = peer
            .pc
            .local_description()
            .await
            .ok_or_else(|| MediaError::internal("no local description after offering"))?;
        Ok(local.sdp)
    }

    /// Takes the answer to [`Self::receive_offer`].
    pub async fn accept_answer(&self, peer: &Peer, answer: String) -> Result<(), MediaError> {
        let answer = RTCSessionDescription::answer(answer)
            .map_err(|e| MediaError::internal(format!("not an SDP answer: {e}")))?;
        peer.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| MediaError::internal(format!("SDP answer refused: {e}")))
    }
}

/// Adds, for each host candidate, the same port on each public IP: what a merchant's NAT
/// forwards to this machine. (webrtc-rs 0.21 has the 1:1 NAT setting but does not use it.)
fn announce_public_ips(sdp: &str, public_ips: &[IpAddr]) -> String {
    if public_ips.is_empty() {
        return sdp.to_owned();
    }
    let mut out = String::with_capacity(sdp.len() * 2);
    for line in sdp.split_inclusive('\n') {
        out.push_str(line);
        let Some(candidate) = line.trim_end().strip_prefix("a=candidate:") else {
            continue;
        };
        // foundation component transport priority address port typ host ...
        let fields: Vec<&str> = candidate.split(' ').collect();
        if fields.len() < 8 || fields[6] != "typ" || fields[7] != "host" {
            continue;
        }
        for (i, ip) in public_ips.iter().enumerate() {
            let priority = fields[3]
                .parse::<u32>()
                .unwrap_or(1)
                .saturating_sub(1 + i as u32);
            out.push_str(&format!(
                "a=candidate:{}p{i} {} {} {priority} {ip} {} typ host\r\n",
                fields[0], fields[1], fields[2], fields[5]
            ));
        }
    }
    out
}

/// How many sendable tracks of each kind an SDP offer has, and whether it parses at all:
/// the checks that give a clear 400 before any connection is made.
pub fn offered_media(sdp: &str) -> Result<Vec<RtpCodecKind>, MediaError> {
    if !sdp.starts_with("v=0") {
        return Err(MediaError::BadOffer(
            "the body is not an SDP offer (it must start with v=0)".into(),
        ));
    }
    let kinds: Vec<RtpCodecKind> = sdp
        .lines()
        .filter_map(|l| l.strip_prefix("m="))
        .filter_map(|m| match m.split(' ').next() {
            Some("video") => Some(RtpCodecKind::Video),
            Some("audio") => Some(RtpCodecKind::Audio),
            _ => None,
        })
        .collect();
    if kinds.is_empty() {
        return Err(MediaError::BadOffer(
            "the SDP offer has no audio or video section".into(),
        ));
    }
    Ok(kinds)
}

/// Whether a codec one side negotiated is the publisher's codec, as webrtc-rs matches them:
/// H.264 by packetization mode and profile (not level).
pub fn same_codec(a: &RTCRtpCodec, b: &RTCRtpCodec) -> bool {
    if !a.mime_type.eq_ignore_ascii_case(&b.mime_type) {
        return false;
    }
    if !a.mime_type.eq_ignore_ascii_case(MIME_TYPE_H264) {
        return true;
    }
    fn mode(c: &RTCRtpCodec) -> &str {
        fmtp(&c.sdp_fmtp_line, "packetization-mode").unwrap_or("0")
    }
    let profile = |c: &RTCRtpCodec| {
        fmtp(&c.sdp_fmtp_line, "profile-level-id")
            .and_then(|p| p.get(..4))
            .map(str::to_ascii_lowercase)
    };
    mode(a) == mode(b) && profile(a).is_some() && profile(a) == profile(b)
}

fn fmtp<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        k.eq_ignore_ascii_case(key).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264(fmtp: &str) -> RTCRtpCodec {
        RTCRtpCodec {
            mime_type: MIME_TYPE_H264.into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: fmtp.into(),
            rtcp_feedback: vec![],
        }
    }

    #[test]
    fn h264_matches_on_profile_not_level() {
        let a = h264("packetization-mode=1;profile-level-id=42c01e");
        let b = h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42C01F");
        let c = h264("packetization-mode=1;profile-level-id=42e01f");
        let d = h264("packetization-mode=0;profile-level-id=42c01f");
        assert!(same_codec(&a, &b));
        assert!(!same_codec(&a, &c));
        assert!(!same_codec(&a, &d));
    }

    #[test]
    fn offers_must_be_sdp_with_media() {
        assert!(matches!(
            offered_media("hello"),
            Err(MediaError::BadOffer(_))
        ));
        assert!(matches!(
            offered_media("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"),
            Err(MediaError::BadOffer(_))
        ));
        let kinds = offered_media(
            "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nm=audio 9 UDP/TLS/RTP/SAVPF 97\r\n",
        )
        .unwrap();
        assert_eq!(kinds, vec![RtpCodecKind::Video, RtpCodecKind::Audio]);
    }

    #[test]
    fn public_ips_are_announced_beside_host_candidates() {
        let sdp = "v=0\r\na=candidate:1 1 udp 2130706431 10.0.0.2 40000 typ host\r\na=end-of-candidates\r\n";
        let out = announce_public_ips(sdp, &["203.0.113.7".parse().unwrap()]);
        assert!(
            out.contains("a=candidate:1p0 1 udp 2130706430 203.0.113.7 40000 typ host\r\n"),
            "{out}"
        );
        assert_eq!(announce_public_ips(sdp, &[]), sdp);
    }
}
