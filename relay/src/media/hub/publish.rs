//! A stream's publisher: WHIP sessions and ingests taking the stream, its tracks read and
//! fanned out, and its end (which ends its viewers).

use super::*;

impl MediaHub {
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
    pub(super) async fn claim(
        &self,
        stream: &str,
        publisher: &Arc<Publisher>,
    ) -> Result<(), MediaError> {
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

    pub(super) fn start_packaging(&self, stream: &str, publisher: &Arc<Publisher>) {
        if let Some(dirs) = &self.inner.dirs {
            // The origin records; an edge only packages HLS for its own viewers.
            let task = tokio::spawn(crate::media::packager::run(
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

    pub(super) async fn end_publisher(&self, stream: &str, publisher: &Arc<Publisher>) {
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
    pub(super) async fn end_publisher_viewers(&self, stream: &str, publisher: &Publisher) {
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
}

/// Reads a publisher's tracks as they start (first packet) and fans their packets out.
pub(super) async fn collect_tracks(
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

pub(super) async fn read_track(track: Arc<PublishedTrack>, ended: CancellationToken) {
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
