//! RTMP ingest for OBS and ffmpeg: `rtmp://host:1935/live/{stream}?key={key}` (in OBS: server
//! `rtmp://host:1935/live`, stream key `{stream}?key={key}`). rml_rtmp speaks the protocol;
//! GStreamer repackages the FLV payloads as RTP without re-encoding video (H.264 → RTP) and
//! turns AAC into Opus for WebRTC viewers. The stream then enters the same hub as a WHIP
//! publisher, so WHEP viewers, HLS and the recording see no difference.

use std::net::SocketAddr;
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RtpCodecKind};
use rtc::shared::marshal::Unmarshal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::MediaHub;
use super::packager::StopOnDrop;
use super::publisher::{PublishedTrack, Publisher};
use super::streams::{self, KeyCheck};
use crate::store::Store;
use crate::throttle::{Guards, Target};

/// The RTMP application name publishers use.
pub const APP: &str = "live";

/// A connection silent this long is closed (see `Connection::read`).
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts RTMP publishers until `cancel`.
pub async fn serve(
    listener: TcpListener,
    hub: MediaHub,
    store: Store,
    guards: Arc<Guards>,
    cancel: CancellationToken,
) {
    loop {
        let (socket, peer) = tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("RTMP accept failed: {e}");
                    // Out of descriptors, typically: retrying at once would only spin.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // The HTTP side's per-address cap, on its own count: a publisher needs one.
        let slot = if guards.limits.is_trusted(peer.ip()) {
            None
        } else {
            let max = guards.limits.max_connections_per_ip;
            match guards.rtmp_connections.try_hold(peer.ip(), max) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!(%peer, "RTMP connection refused: {max} open from this address");
                    continue;
                }
            }
        };
        let (hub, store, cancel) = (hub.clone(), store.clone(), cancel.clone());
        let guards = guards.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut connection = Connection {
                socket,
                peer,
                hub,
                store,
                guards,
                published: None,
            };
            let result = tokio::select! {
                () = cancel.cancelled() => Ok(()),
                result = connection.run() => result,
            };
            if let Err(e) = result {
                tracing::info!(%peer, "RTMP connection ended: {e}");
            }
            connection.finish().await;
        });
    }
}

/// Splits a publish name `demo?key=abc` into the stream and its key.
pub fn parse_publish_name(name: &str) -> Option<(&str, &str)> {
    let (stream, query) = name.split_once('?')?;
    let key = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "key")
        .map(|(_, v)| v)?;
    (!stream.is_empty() && !key.is_empty()).then_some((stream, key))
}

struct Published {
    stream: String,
    publisher: Arc<Publisher>,
    transmux: Option<Transmux>,
    /// AVCDecoderConfigurationRecord and AudioSpecificConfig, from the sequence headers.
    avc_config: Option<Vec<u8>>,
    aac_config: Option<Vec<u8>>,
}

struct Connection {
    socket: TcpStream,
    peer: SocketAddr,
    hub: MediaHub,
    store: Store,
    /// Failed keys count here as on WHIP, so RTMP is no side door for guessing.
    guards: Arc<Guards>,
    published: Option<Published>,
}

type ConnectionResult = Result<(), String>;

impl Connection {
    async fn run(&mut self) -> ConnectionResult {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut handshake = Handshake::new(PeerType::Server);
        let leftover = loop {
            let n = self.read(&mut buffer).await?;
            match handshake
                .process_bytes(&buffer[..n])
                .map_err(|e| format!("handshake: {e:?}"))?
            {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.write(&response_bytes).await?;
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    self.write(&response_bytes).await?;
                    break remaining_bytes;
                }
            }
        };
        let (mut session, results) = ServerSession::new(ServerSessionConfig::new())
            .map_err(|e| format!("session: {e:?}"))?;
        self.handle(&mut session, results).await?;
        let results = session
            .handle_input(&leftover)
            .map_err(|e| format!("input: {e:?}"))?;
        self.handle(&mut session, results).await?;
        loop {
            let n = self.read(&mut buffer).await?;
            let results = session
                .handle_input(&buffer[..n])
                .map_err(|e| format!("input: {e:?}"))?;
            self.handle(&mut session, results).await?;
        }
    }

    async fn read(&mut self, buffer: &mut [u8]) -> Result<usize, String> {
        // A publisher sends media many times a second: silence means the network is gone
        // even if no FIN arrived, and the stream must be freed for a reconnect.
        match tokio::time::timeout(READ_TIMEOUT, self.socket.read(buffer)).await {
            Err(_) => Err(format!("nothing received for {} s", READ_TIMEOUT.as_secs())),
            Ok(Ok(0)) => Err("closed by the client".into()),
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(e.to_string()),
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> ConnectionResult {
        self.socket
            .write_all(bytes)
            .await
            .map_err(|e| e.to_string())
    }

    async fn handle(
        &mut self,
        session: &mut ServerSession,
        results: Vec<ServerSessionResult>,
    ) -> ConnectionResult {
        for result in results {
            match result {
                ServerSessionResult::OutboundResponse(packet) => self.write(&packet.bytes).await?,
                ServerSessionResult::RaisedEvent(event) => {
                    let more = self.on_event(session, event).await?;
                    Box::pin(self.handle(session, more)).await?;
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    async fn on_event(
        &mut self,
        session: &mut ServerSession,
        event: ServerSessionEvent,
    ) -> Result<Vec<ServerSessionResult>, String> {
        let accept = |session: &mut ServerSession, id| {
            session
                .accept_request(id)
                .map_err(|e| format!("accept: {e:?}"))
        };
        match event {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                if app_name != APP {
                    tracing::warn!(peer = %self.peer, app = %app_name, "RTMP refused: the application must be `{APP}`");
                    return Err(format!("unknown application {app_name}"));
                }
                accept(session, request_id)
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                stream_key,
                ..
            } => {
                let Some((stream, key)) = parse_publish_name(&stream_key) else {
                    tracing::warn!(peer = %self.peer, name = %stream_key.split('?').next().unwrap_or(""), "RTMP publish refused: no ?key= in the stream name");
                    return Err("no key".into());
                };
                let target = Target::Stream(stream);
                if let Err(wait) = self.guards.admit(&target, self.peer.ip()) {
                    tracing::warn!(peer = %self.peer, stream, "RTMP publish refused: too many wrong keys, retry in {} s", wait.as_secs().max(1));
                    return Err(format!("publish to {stream} refused"));
                }
                let check = streams::check_key(&self.store, stream, key)
                    .await
                    .map_err(|e| {
                        self.guards.unchecked(&target, self.peer.ip());
                        e.to_string()
                    })?;
                if check == KeyCheck::Valid {
                    self.guards.succeeded(&target, self.peer.ip());
                } else {
                    self.guards.failed(&target, self.peer.ip());
                    tracing::warn!(peer = %self.peer, stream, "RTMP publish refused: {}", match check {
                        KeyCheck::UnknownStream => "unknown stream",
                        _ => "wrong key",
                    });
                    return Err(format!("publish to {stream} refused"));
                }
                let publisher = self
                    .hub
                    .begin_ingest(stream, vec![RtpCodecKind::Video, RtpCodecKind::Audio])
                    .await
                    .map_err(|e| {
                        tracing::warn!(peer = %self.peer, stream, "RTMP publish refused: {e}");
                        e.to_string()
                    })?;
                tracing::info!(peer = %self.peer, stream, "RTMP publisher connected");
                self.published = Some(Published {
                    stream: stream.to_owned(),
                    publisher,
                    transmux: None,
                    avc_config: None,
                    aac_config: None,
                });
                accept(session, request_id)
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                Err("the publisher finished".into())
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => {
                self.on_video(&data, timestamp.value)?;
                Ok(Vec::new())
            }
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => {
                self.on_audio(&data, timestamp.value)?;
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// An FLV video tag body: frame type + codec, AVC packet type, composition time, data.
    fn on_video(&mut self, tag: &[u8], dts_ms: u32) -> ConnectionResult {
        let Some(published) = self.published.as_mut() else {
            return Ok(());
        };
        if tag.len() < 5 {
            return Ok(());
        }
        if tag[0] & 0x0f != 7 {
            return Err("only H.264 (FLV codec 7) video is supported".into());
        }
        let keyframe = tag[0] >> 4 == 1;
        let cts = i32::from_be_bytes([0, tag[2], tag[3], tag[4]]) << 8 >> 8;
        match tag[1] {
            0 => published.avc_config = Some(tag[5..].to_vec()),
            1 => {
                if published.transmux.is_none() {
                    let Some(avc) = published.avc_config.clone() else {
                        return Ok(()); // no sequence header yet: nothing decodable
                    };
                    published.transmux = Some(Transmux::start(
                        &published.publisher,
                        &avc,
                        published.aac_config.as_deref(),
                    )?);
                }
                if let Some(transmux) = &published.transmux {
                    let pts = i64::from(dts_ms) + i64::from(cts);
                    transmux.push_video(&tag[5..], dts_ms, pts.max(0) as u64, keyframe);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An FLV audio tag body: format byte, AAC packet type, data.
    fn on_audio(&mut self, tag: &[u8], pts_ms: u32) -> ConnectionResult {
        let Some(published) = self.published.as_mut() else {
            return Ok(());
        };
        if tag.len() < 3 || tag[0] >> 4 != 10 {
            return Ok(()); // not AAC: the stream goes on without sound
        }
        match tag[1] {
            0 => published.aac_config = Some(tag[2..].to_vec()),
            _ => {
                if let Some(transmux) = &published.transmux {
                    transmux.push_audio(&tag[2..], pts_ms);
                }
            }
        }
        Ok(())
    }

    async fn finish(&mut self) {
        if let Some(published) = self.published.take() {
            drop(published.transmux);
            self.hub
                .end_ingest(&published.stream, &published.publisher)
                .await;
        }
    }
}

/// FLV payloads in, RTP packets out into the publisher's tracks.
struct Transmux {
    /// Held for its drop: the pipeline stops when the connection's ingest ends.
    _pipeline: StopOnDrop,
    video: gst_app::AppSrc,
    audio: Option<gst_app::AppSrc>,
}

const VIDEO_PT: u8 = 96;
const AUDIO_PT: u8 = 111;

impl Transmux {
    fn start(publisher: &Arc<Publisher>, avc: &[u8], aac: Option<&[u8]>) -> Result<Self, String> {
        if avc.len() < 4 {
            return Err("the H.264 sequence header is too short".into());
        }
        gst::init().map_err(|e| e.to_string())?;
        let mut description = format!(
            "appsrc name=video format=time is-live=true \
               caps=\"video/x-h264,stream-format=avc,alignment=au,codec_data=(buffer){avc}\" \
             ! h264parse ! rtph264pay pt={VIDEO_PT} mtu=1200 config-interval=-1 aggregate-mode=zero-latency \
             ! appsink name=video_rtp sync=false ",
            avc = hex::encode(avc),
        );
        if let Some(aac) = aac {
            description.push_str(&format!(
                "appsrc name=audio format=time is-live=true \
                   caps=\"audio/mpeg,mpegversion=4,stream-format=raw,codec_data=(buffer){aac}\" \
                 ! aacparse ! avdec_aac ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 \
                 ! opusenc bitrate=96000 ! rtpopuspay pt={AUDIO_PT} ! appsink name=audio_rtp sync=false ",
                aac = hex::encode(aac),
            ));
        }
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| format!("RTMP transmux: {e}"))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "not a pipeline".to_owned())?;
        let appsrc = |name: &str| {
            pipeline
                .by_name(name)
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        };
        let video = appsrc("video").ok_or("no video appsrc")?;
        let audio = appsrc("audio");
        // profile_idc, constraint flags, level_idc: bytes 1–3 of the avcC record.
        let video_codec = RTCRtpCodec {
            mime_type: MIME_TYPE_H264.into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: format!(
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={}",
                hex::encode(&avc[1..4])
            ),
            rtcp_feedback: vec![],
        };
        route_rtp(
            &pipeline,
            "video_rtp",
            publisher,
            RtpCodecKind::Video,
            video_codec,
        )?;
        if audio.is_some() {
            let audio_codec = RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.into(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            };
            route_rtp(
                &pipeline,
                "audio_rtp",
                publisher,
                RtpCodecKind::Audio,
                audio_codec,
            )?;
        }
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| format!("RTMP transmux: {e}"))?;
        Ok(Self {
            _pipeline: StopOnDrop(pipeline),
            video,
            audio,
        })
    }

    fn push_video(&self, data: &[u8], dts_ms: u32, pts_ms: u64, keyframe: bool) {
        let mut buffer = gst::Buffer::from_slice(data.to_vec());
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_dts(gst::ClockTime::from_mseconds(u64::from(dts_ms)));
            buffer.set_pts(gst::ClockTime::from_mseconds(pts_ms));
            if !keyframe {
                buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        let _ = self.video.push_buffer(buffer);
    }

    fn push_audio(&self, data: &[u8], pts_ms: u32) {
        let Some(audio) = &self.audio else {
            return;
        };
        let mut buffer = gst::Buffer::from_slice(data.to_vec());
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(gst::ClockTime::from_mseconds(u64::from(pts_ms)));
        }
        let _ = audio.push_buffer(buffer);
    }
}

/// Takes the RTP packets an appsink receives into a new track of the publisher (created at
/// the first packet, as a WebRTC track starts at its first packet).
fn route_rtp(
    pipeline: &gst::Pipeline,
    name: &str,
    publisher: &Arc<Publisher>,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
) -> Result<(), String> {
    let sink = pipeline
        .by_name(name)
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| format!("no appsink {name}"))?;
    let publisher = publisher.clone();
    let mut track: Option<Arc<PublishedTrack>> = None;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(buffer) = sample.buffer() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let Ok(map) = buffer.map_readable() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let mut bytes = map.as_slice();
                let Ok(packet) = rtp::Packet::unmarshal(&mut bytes) else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let track = track.get_or_insert_with(|| {
                    publisher.add_track(kind, codec.clone(), packet.header.ssrc)
                });
                track.push(packet);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_names_carry_the_key() {
        assert_eq!(parse_publish_name("demo?key=abc"), Some(("demo", "abc")));
        assert_eq!(
            parse_publish_name("demo?x=1&key=abc"),
            Some(("demo", "abc"))
        );
        assert_eq!(parse_publish_name("demo"), None);
        assert_eq!(parse_publish_name("demo?key="), None);
        assert_eq!(parse_publish_name("?key=abc"), None);
    }
}
