//! A relay in a cluster: the streams it receives are claimed as its own (origin), and the
//! streams another relay receives are pulled from there over WHEP when a viewer here asks for
//! them (edge), once per stream, shared by all of this relay's viewers.

use std::sync::Arc;
use std::time::Duration;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;

use super::super::MediaError;
use super::super::origins::Cluster;
use super::super::pull;
use super::{MediaHub, Publisher, collect_tracks, connection_gone};

/// How often an edge checks that a stream it pulls is still watched here and still held by
/// its origin; it lets go of the pull after [`PULL_IDLE_CHECKS`] checks in a row without a
/// viewer.
const PULL_IDLE_CHECK: Duration = Duration::from_secs(1);
const PULL_IDLE_CHECKS: u32 = 4;

impl MediaHub {
    /// Joins a cluster: streams published here are announced as this relay's, and streams
    /// published on another relay are pulled from it when a viewer here asks for them.
    pub fn join_cluster(&self, cluster: Cluster) {
        let _ = self.inner.cluster.set(cluster);
    }

    /// Streams on air anywhere in the cluster (here only, without one).
    pub async fn on_air_streams(&self) -> Vec<String> {
        let mut streams = self.publishing_streams();
        if let Some(cluster) = self.inner.cluster.get() {
            match cluster.on_air().await {
                Ok(elsewhere) => streams.extend(elsewhere),
                Err(e) => tracing::warn!("cluster streams unknown: {e}"),
            }
            streams.sort();
            streams.dedup();
        }
        streams
    }

    /// One publisher per stream in the whole cluster: another relay's live claim refuses a
    /// second one here (a dead origin's claim lapses within [`super::origins::STALE_AFTER_MS`]).
    pub(super) async fn refuse_if_published_elsewhere(
        &self,
        stream: &str,
    ) -> Result<(), MediaError> {
        let Some(cluster) = self.inner.cluster.get() else {
            return Ok(());
        };
        match cluster.origin_of(stream).await {
            Ok(Some(origin)) => Err(MediaError::Busy(format!(
                "stream {stream} already has a publisher on relay {origin}"
            ))),
            Ok(None) => Ok(()),
            Err(e) => Err(MediaError::internal(e)),
        }
    }

    /// In a cluster, claims the stream for this relay while `publisher` lasts.
    pub(super) fn hold_origin(&self, stream: &str, publisher: &Arc<Publisher>) {
        if let Some(cluster) = self.inner.cluster.get() {
            tokio::spawn(
                cluster
                    .clone()
                    .hold(stream.to_owned(), publisher.ended.clone()),
            );
        }
    }

    /// The stream's publisher here, or, in a cluster, a pull of it from the relay that
    /// receives it (started now, or shared with this relay's other viewers).
    pub async fn publisher_or_pull(&self, stream: &str) -> Result<Arc<Publisher>, MediaError> {
        if let Some(publisher) = self.publisher(stream) {
            return Ok(publisher);
        }
        let not_live = || MediaError::NotLive(format!("stream {stream} is not live"));
        let cluster = self.inner.cluster.get().ok_or_else(not_live)?;
        let turn = self
            .inner
            .pull_turns
            .lock()
            .expect("not poisoned")
            .entry(stream.to_owned())
            .or_default()
            .clone();
        let _turn = turn.lock().await;
        // Another viewer's request may have started the pull while this one waited.
        if let Some(publisher) = self.publisher(stream) {
            return Ok(publisher);
        }
        let origin = cluster
            .origin_of(stream)
            .await
            .map_err(MediaError::internal)?
            .ok_or_else(not_live)?;
        self.pull(stream, &origin).await
    }

    async fn pull(&self, stream: &str, origin: &str) -> Result<Arc<Publisher>, MediaError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(MediaError::NotLive("the relay is shutting down".into()));
        }
        let (track_tx, track_rx) = mpsc::unbounded_channel();
        let mut peer = self.inner.peers.new_peer(Some(track_tx)).await?;
        let session = match pull::open(
            &self.inner.peers,
            &self.inner.http,
            &mut peer,
            origin,
            stream,
        )
        .await
        {
            Ok(session) => session,
            Err(e) => {
                let _ = peer.pc.close().await;
                return Err(e);
            }
        };
        let mut publisher = Publisher::new(
            vec![RtpCodecKind::Video, RtpCodecKind::Audio],
            Some((peer.pc.clone(), peer.state.clone())),
        );
        publisher.pulled = Some(session);
        let publisher = Arc::new(publisher);
        if let Err(e) = self.claim(stream, &publisher).await {
            self.end_publisher(stream, &publisher).await;
            return Err(e);
        }
        tokio::spawn(collect_tracks(publisher.clone(), track_rx));
        self.start_packaging(stream, &publisher);
        let hub = self.clone();
        let (name, watched, state) = (stream.to_owned(), publisher.clone(), peer.state);
        let origin_url = origin.to_owned();
        tokio::spawn(async move {
            tokio::select! {
                () = connection_gone(state) => {
                    tracing::info!(stream = %name, "pull from the origin lost");
                }
                () = hub.until_unneeded(&name, &origin_url) => {}
                () = watched.ended.cancelled() => {}
                () = hub.inner.shutdown.cancelled() => {}
            }
            hub.end_publisher(&name, &watched).await;
        });
        tracing::info!(stream, origin, "pulling from the origin relay");
        Ok(publisher)
    }

    /// Resolves once nobody here has watched the stream (WHEP or HLS) for a few checks in a
    /// row, or once `origin` no longer holds the stream (it died: its heartbeat lapsed, which
    /// is noticed sooner than a dead WebRTC connection; or the stream moved to another relay).
    async fn until_unneeded(&self, stream: &str, origin: &str) {
        let mut idle_checks = 0;
        loop {
            tokio::time::sleep(PULL_IDLE_CHECK).await;
            if let Some(cluster) = self.inner.cluster.get()
                && let Ok(current) = cluster.origin_of(stream).await
                && current.as_deref() != Some(origin)
            {
                tracing::info!(stream, origin, "the origin no longer holds the stream");
                return;
            }
            if self.viewer_count(stream) == 0 && self.hls_viewers(stream) == 0 {
                idle_checks += 1;
                if idle_checks >= PULL_IDLE_CHECKS {
                    return;
                }
            } else {
                idle_checks = 0;
            }
        }
    }
}
