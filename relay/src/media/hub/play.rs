//! A stream's viewers: WHEP sessions fed with the publisher's tracks, packets forwarded
//! with our own SSRC, keyframe requests passed upstream.

use super::*;

impl MediaHub {
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
            let local = sending_track(track, ssrc);
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

    pub(super) async fn end_viewer_session(&self, stream: &str, session: &str) -> bool {
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
}

pub(super) async fn end_viewer(viewer: &Viewer, reason: &'static [u8]) {
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

/// The payload type this viewer negotiated for the publisher's codec: the exact match, else
/// the same H.264 profile, else any H.264 of the same packetization mode (decoders handle
/// every profile; constrained-baseline senders such as x264 offer 42c0, browsers ask 42e0).
pub(super) async fn viewer_payload_type(
    sender: &Arc<dyn RtpSender>,
    codec: &RTCRtpCodec,
) -> Option<u8> {
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
pub(super) async fn forward(
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
            if !crate::media::h264::starts_keyframe(&packet.payload) {
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
pub(super) async fn pass_keyframe_requests(
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

/// The viewer's copy of a published track: same kind and codec, an SSRC of its own.
fn sending_track(track: &PublishedTrack, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
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
    )))
}
