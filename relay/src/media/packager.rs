//! HLS and recording for each live stream, with GStreamer and without re-encoding video: the
//! publisher's RTP is depayloaded and remuxed. HLS is MPEG-TS segments (`hlssink2`: H.264 +
//! AAC, what every HLS player and CDN takes; Opus is transcoded to AAC because HLS players
//! do not take Opus in TS). The recording is a fragmented MP4 with the original H.264 and
//! Opus, one fragment per second, so a crash loses at most the last second.
//!
//! GStreamer 1.22 has no LL-HLS muxer (hlssink2 writes whole segments only), so segments are
//! 2 s and the relay asks the publisher for a keyframe every 2 s to cut them there.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::shared::marshal::Marshal;
use tokio::sync::broadcast;

use super::h264;
use super::publisher::{PublishedTrack, Publisher};

/// HLS target segment length; keyframes are requested this often.
pub const SEGMENT_SECONDS: u32 = 2;
/// Segments listed in the live playlist.
const PLAYLIST_LENGTH: u32 = 6;
/// How old a playlist a player may still be reading, in seconds, beyond the window it lists:
/// its `max-age` (1 s) plus what a caching proxy in front adds. nginx with
/// `proxy_cache_use_stale updating` + `proxy_cache_background_update on` answers with the
/// stale copy, however old, while one refresh runs: for a watched stream the copy is at most
/// one player's reload interval (≤ 2 s) plus that refresh (bounded by the proxy timeouts of
/// the README's config: connect 2 s + read 5 s); for a playlist nobody fetched, the cache's
/// `inactive=10s` evicts it first. 1 + 10 + 7 rounds up to 20 s.
const STALE_MARGIN_SECONDS: u32 = 20;
/// Segments kept on disk: the playlist's, those a stale playlist may still name (the margin
/// in segments), the one being written and one for a slow download. 6 + 10 + 2 = 18 segments,
/// 36 s (about 11 MB at 2.5 Mbit/s per stream).
const MAX_FILES: u32 = PLAYLIST_LENGTH + STALE_MARGIN_SECONDS.div_ceil(SEGMENT_SECONDS) + 2;
/// Payload types inside the packaging pipeline (depayloaders check for the dynamic range);
/// each publisher's own are rewritten to these.
const VIDEO_PT: u8 = 96;
const AUDIO_PT: u8 = 111;
/// A stopping pipeline gets this long to finish its files.
pub const EOS_TIMEOUT: Duration = Duration::from_secs(5);

/// Where packaged media goes: `hls/{stream}/` and `recordings/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDirs {
    pub hls: PathBuf,
    pub recordings: PathBuf,
}

impl MediaDirs {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            hls: data_dir.join("hls"),
            recordings: data_dir.join("recordings"),
        }
    }

    pub fn hls_dir(&self, stream: &str) -> PathBuf {
        self.hls.join(stream)
    }
}

/// Whether GStreamer and every element the packager needs are there. Without them the relay
/// still forwards WebRTC; it logs once that HLS and recording are off.
pub fn available() -> Result<(), String> {
    gst::init().map_err(|e| format!("GStreamer does not start: {e}"))?;
    let missing: Vec<&str> = [
        "appsrc",
        "rtpjitterbuffer",
        "rtph264depay",
        "h264parse",
        "rtpopusdepay",
        "opusparse",
        "opusdec",
        "avenc_aac",
        "aacparse",
        "hlssink2",
        "mp4mux",
        "filesink",
    ]
    .into_iter()
    .filter(|name| gst::ElementFactory::find(name).is_none())
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "GStreamer elements missing: {}",
            missing.join(", ")
        ))
    }
}

/// The HLS pipeline: video remuxed, Opus turned into AAC. Segment names carry the session,
/// so a CDN may cache them forever: a new publish never reuses a name.
fn hls_description(stream: &str, session: &str, dirs: &MediaDirs, audio: bool) -> String {
    let hls = dirs.hls_dir(stream);
    let mut description = format!(
        "{video} ! h264parse config-interval=-1 ! hls.video \
         hlssink2 name=hls target-duration={SEGMENT_SECONDS} playlist-length={PLAYLIST_LENGTH} \
           max-files={max_files} playlist-location=\"{playlist}\" location=\"{segments}\" ",
        video = video_source(),
        max_files = MAX_FILES,
        playlist = hls.join("index.m3u8").display(),
        segments = hls.join(format!("{session}-%05d.ts")).display(),
    );
    if audio {
        description.push_str(&format!(
            "{audio} ! opusdec ! audioconvert ! audioresample ! avenc_aac bitrate=128000 ! aacparse ! hls.audio ",
            audio = audio_source(),
        ));
    }
    description
}

/// The recording pipeline: the original H.264 and Opus in a fragmented MP4.
fn recording_description(recording: &Path, audio: bool) -> String {
    let mut description = format!(
        "{video} ! h264parse ! rec. \
         mp4mux name=rec fragment-duration=1000 ! filesink location=\"{recording}\" ",
        video = video_source(),
        recording = recording.display(),
    );
    if audio {
        description.push_str(&format!("{audio} ! rec. ", audio = audio_source()));
    }
    description
}

fn video_source() -> String {
    format!(
        "appsrc name=video format=time is-live=true do-timestamp=true \
           caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload={VIDEO_PT}\" \
         ! rtpjitterbuffer latency=200 ! rtph264depay"
    )
}

fn audio_source() -> String {
    format!(
        "appsrc name=audio format=time is-live=true do-timestamp=true \
           caps=\"application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,encoding-params=(string)2,payload={AUDIO_PT}\" \
         ! rtpjitterbuffer latency=200 ! rtpopusdepay ! opusparse"
    )
}

/// The recording file of a publish that starts now.
fn recording_path(dirs: &MediaDirs, stream: &str) -> PathBuf {
    let now = crate::error::now_ms();
    dirs.recordings.join(format!("{stream}-{now}.mp4"))
}

/// Packages a publisher's tracks until it ends. Runs as its own task; failures are logged
/// and stop only the packaging, never the live.
/// `record`: also record the stream (the relay it is published to does; an edge does not).
pub async fn run(stream: String, publisher: Arc<Publisher>, dirs: MediaDirs, record: bool) {
    let tracks = publisher.wait_for_all_tracks().await;
    let Some(video) = tracks
        .iter()
        .find(|t| t.kind == RtpCodecKind::Video)
        .cloned()
    else {
        tracing::info!(%stream, "no video track: no HLS or recording");
        return;
    };
    let audio = tracks
        .iter()
        .find(|t| t.kind == RtpCodecKind::Audio)
        .cloned();
    if let Err(e) = package(&stream, &publisher, &dirs, video, audio, record).await {
        tracing::warn!(%stream, "HLS and recording stopped: {e}");
    }
}

/// One GStreamer pipeline fed with the publisher's packets: HLS or the recording.
///
/// Each is a pipeline of its own rather than two branches of one: tied together by tees,
/// a muxer that waits for one track (mp4mux, or hlssink2 closing a segment) held the tee of
/// the other track, and both stopped for good (a loaded machine got there within seconds:
/// one HLS segment, never a playlist). Apart, neither can hold the other, and one that fails
/// leaves the other running.
struct Branch {
    what: &'static str,
    pipeline: StopOnDrop,
    video: gst_app::AppSrc,
    audio: Option<gst_app::AppSrc>,
    /// Still running: not failed, not finished.
    running: bool,
    /// Reads the bus until EOS or an error; stopped with the branch, so a pipeline that never
    /// finished does not leave it waiting forever.
    watcher: tokio::task::JoinHandle<()>,
}

impl Drop for Branch {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// How a branch's pipeline ended, as its bus told: `Ok` at end of stream.
type BranchEnd = (usize, Result<(), String>);

impl Branch {
    /// Builds and starts a branch; its end (EOS or the first error) is sent on `ended`.
    fn start(
        what: &'static str,
        index: usize,
        description: &str,
        audio: bool,
        ended: tokio::sync::mpsc::UnboundedSender<BranchEnd>,
    ) -> Result<Self, String> {
        let pipeline = gst::parse::launch(description)
            .map_err(|e| format!("build the {what} pipeline: {e}"))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "not a pipeline".to_owned())?;
        let pipeline = StopOnDrop(pipeline);
        let appsrc = |name: &str| {
            pipeline
                .by_name(name)
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                .ok_or_else(|| format!("no appsrc {name} in the {what} pipeline"))
        };
        let video = appsrc("video")?;
        let audio = if audio { Some(appsrc("audio")?) } else { None };
        // Made before the start, so that nothing the pipeline says while starting is missed.
        let mut bus = pipeline.bus().ok_or("pipeline without a bus")?.stream();
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| format!("start the {what} pipeline: {e}"))?;
        let watcher = tokio::spawn(async move {
            let end = loop {
                let Some(message) = bus.next().await else {
                    break Err("the pipeline's bus closed".into());
                };
                match message.view() {
                    gst::MessageView::Eos(_) => break Ok(()),
                    gst::MessageView::Error(e) => {
                        break Err(format!("{} ({:?})", e.error(), e.debug()));
                    }
                    _ => {}
                }
            };
            let _ = ended.send((index, end));
        });
        Ok(Self {
            what,
            pipeline,
            video,
            audio,
            running: true,
            watcher,
        })
    }

    /// Stops a branch that failed; its appsrcs then refuse buffers and the feeds drop them.
    fn stop(&mut self) {
        self.running = false;
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

async fn package(
    stream: &str,
    publisher: &Arc<Publisher>,
    dirs: &MediaDirs,
    video: Arc<PublishedTrack>,
    audio: Option<Arc<PublishedTrack>>,
    record: bool,
) -> Result<(), String> {
    let hls = dirs.hls_dir(stream);
    // The previous publish's playlist and segments go: players must not mix the two.
    let _ = tokio::fs::remove_dir_all(&hls).await;
    tokio::fs::create_dir_all(&hls)
        .await
        .map_err(|e| format!("create {}: {e}", hls.display()))?;
    let recording = recording_path(dirs, stream);
    let has_audio = audio.is_some();
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let mut branches = vec![Branch::start(
        "HLS",
        0,
        &hls_description(stream, &publisher.session, dirs, has_audio),
        has_audio,
        ended_tx.clone(),
    )?];
    // A recording that cannot start (disk full, a directory that cannot be made) costs the
    // recording only: viewers keep their HLS.
    let record = record
        && match start_recording(dirs, &recording, has_audio, ended_tx).await {
            Ok(branch) => {
                branches.push(branch);
                true
            }
            Err(e) => {
                tracing::warn!(stream, "no recording of this live: {e}");
                false
            }
        };
    tracing::info!(stream, recording = %recording.display(), "HLS and recording started");

    // The wall-clock time of the recording's first frame: replay clips map pin times into
    // the file with it. Audio waits for that frame too, so both tracks start together.
    let (started_tx, started) = tokio::sync::watch::channel(None);
    let mut feeds = vec![tokio::spawn(feed(
        video.subscribe(),
        branches.iter().map(|b| b.video.clone()).collect(),
        Track::Video(started_tx),
    ))];
    if let Some(track) = &audio {
        feeds.push(tokio::spawn(feed(
            track.subscribe(),
            branches.iter().filter_map(|b| b.audio.clone()).collect(),
            Track::Audio(started.clone()),
        )));
    }
    if record {
        feeds.push(tokio::spawn(write_meta(
            recording.clone(),
            stream.to_owned(),
            started,
        )));
    }
    let mut keyframes = tokio::time::interval(Duration::from_secs(u64::from(SEGMENT_SECONDS)));
    let mut failures = Vec::new();
    while branches.iter().any(|b| b.running) {
        tokio::select! {
            () = publisher.ended() => break,
            _ = keyframes.tick() => publisher.request_keyframe().await,
            Some((index, end)) = ended.recv() => {
                let branch = &mut branches[index];
                let why = end.err().unwrap_or_else(|| "ended on its own".into());
                tracing::warn!(stream, "{} stopped: {why}", branch.what);
                failures.push(format!("{}: {why}", branch.what));
                branch.stop();
            }
        }
    }
    for task in feeds {
        task.abort();
    }
    finish(&branches, &mut ended, stream).await;
    drop(branches);
    tracing::info!(stream, recording = %recording.display(), "HLS and recording ended");
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The recording's branch, in a directory made for it.
async fn start_recording(
    dirs: &MediaDirs,
    recording: &Path,
    has_audio: bool,
    ended: tokio::sync::mpsc::UnboundedSender<BranchEnd>,
) -> Result<Branch, String> {
    tokio::fs::create_dir_all(&dirs.recordings)
        .await
        .map_err(|e| format!("create {}: {e}", dirs.recordings.display()))?;
    Branch::start(
        "recording",
        1,
        &recording_description(recording, has_audio),
        has_audio,
        ended,
    )
}

/// Ends the branches still running with end-of-stream, so hlssink2 writes #EXT-X-ENDLIST and
/// mp4mux closes its last fragment, and waits for them (at most [`EOS_TIMEOUT`]).
async fn finish(
    branches: &[Branch],
    ended: &mut tokio::sync::mpsc::UnboundedReceiver<BranchEnd>,
    stream: &str,
) {
    let mut finishing = 0;
    for branch in branches.iter().filter(|b| b.running) {
        let _ = branch.video.end_of_stream();
        if let Some(src) = &branch.audio {
            let _ = src.end_of_stream();
        }
        finishing += 1;
    }
    let finished = tokio::time::timeout(EOS_TIMEOUT, async {
        while finishing > 0 {
            let Some((index, end)) = ended.recv().await else {
                break;
            };
            if branches[index].running {
                finishing -= 1;
                if let Err(why) = end {
                    tracing::warn!(
                        stream,
                        "{} did not finish cleanly: {why}",
                        branches[index].what
                    );
                }
            }
        }
    })
    .await;
    if finished.is_err() {
        tracing::warn!(stream, "packaging did not finish in time; stopping it");
    }
}

/// A pipeline must reach NULL before it is dropped, also when its task is cancelled.
pub(super) struct StopOnDrop(pub(super) gst::Pipeline);

impl std::ops::Deref for StopOnDrop {
    type Target = gst::Pipeline;
    fn deref(&self) -> &gst::Pipeline {
        &self.0
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// Which track a feed pushes, with how it tells or learns when the recording starts.
enum Track {
    /// Sends the wall-clock ms of the first keyframe it pushes.
    Video(tokio::sync::watch::Sender<Option<i64>>),
    /// Pushes nothing until the video has started.
    Audio(tokio::sync::watch::Receiver<Option<i64>>),
}

/// Pushes a track's RTP packets into its appsrc in every branch; video from the first
/// keyframe on, audio from then on too. A branch that stopped refuses buffers and is left
/// out from then on.
async fn feed(
    mut packets: broadcast::Receiver<rtp::Packet>,
    mut srcs: Vec<gst_app::AppSrc>,
    track: Track,
) {
    let video = matches!(track, Track::Video(_));
    let mut waiting_for_keyframe = video;
    let mut waiting_for_video = !video;
    let payload_type = if video { VIDEO_PT } else { AUDIO_PT };
    while !srcs.is_empty() {
        let packet = match packets.recv().await {
            Ok(packet) => packet,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                waiting_for_keyframe = video;
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match &track {
            Track::Video(started) => {
                if waiting_for_keyframe {
                    if !h264::starts_keyframe(&packet.payload) {
                        continue;
                    }
                    waiting_for_keyframe = false;
                    if started.borrow().is_none() {
                        let _ = started.send(Some(crate::error::now_ms()));
                    }
                }
            }
            Track::Audio(started) => {
                // Read until the video has started, not for every packet after.
                if waiting_for_video {
                    if started.borrow().is_none() {
                        continue;
                    }
                    waiting_for_video = false;
                }
            }
        }
        let mut packet = packet;
        packet.header.payload_type = payload_type;
        let Ok(bytes) = packet.marshal() else {
            continue;
        };
        // One buffer for all branches: pushing a reference does not copy the bytes.
        let buffer = gst::Buffer::from_slice(bytes);
        srcs.retain(|src| src.push_buffer(buffer.clone()).is_ok());
    }
}

/// What the relay knows of a recording beyond its bytes, kept beside it as `{file}.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordingMeta {
    pub stream: String,
    /// Wall-clock ms of the recording's time zero (its first frame).
    pub started_at_ms: i64,
}

/// Where a recording's [`RecordingMeta`] is kept: `{file}.json` beside it.
pub fn meta_path(recording: &Path) -> PathBuf {
    let mut name = recording.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// Writes the recording's [`RecordingMeta`] once its first frame is in.
async fn write_meta(
    recording: PathBuf,
    stream: String,
    mut started: tokio::sync::watch::Receiver<Option<i64>>,
) {
    let Ok(started_at_ms) = started
        .wait_for(Option::is_some)
        .await
        .map(|v| v.unwrap_or(0))
    else {
        return;
    };
    let meta = RecordingMeta {
        stream,
        started_at_ms,
    };
    let path = meta_path(&recording);
    let partial = path.with_extension("json.part");
    let written = async {
        let bytes = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, &path).await
    };
    if let Err(e) = written.await {
        tracing::warn!(path = %path.display(), "recording meta not written: {e}");
    }
}

/// The [`RecordingMeta`] of `recording`, if it has one (recordings from before it was kept
/// have none).
pub fn recording_meta(recording: &Path) -> Option<RecordingMeta> {
    let bytes = std::fs::read(meta_path(recording)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A recording in the data directory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Recording {
    /// File name, e.g. `demo-1764432000000.mp4`; download at `/api/recordings/{file}`.
    pub file: String,
    pub stream: String,
    pub started_at_ms: i64,
    pub size_bytes: u64,
}

/// Recordings newest first.
pub fn list_recordings(dirs: &MediaDirs) -> std::io::Result<Vec<Recording>> {
    let entries = match std::fs::read_dir(&dirs.recordings) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut list: Vec<Recording> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            let (stream, started) = file.strip_suffix(".mp4")?.rsplit_once('-')?;
            Some(Recording {
                stream: stream.to_owned(),
                started_at_ms: started.parse().ok()?,
                size_bytes: entry.metadata().ok()?.len(),
                file,
            })
        })
        .collect();
    list.sort_by_key(|r| std::cmp::Reverse(r.started_at_ms));
    Ok(list)
}

/// A file name a client may ask for inside a media directory: no paths, no hidden files.
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_leave_the_directory() {
        assert!(is_safe_file_name("index.m3u8"));
        assert!(is_safe_file_name("ab12-00003.ts"));
        for bad in ["", "..", "../x", ".hidden", "a/b", "a\\b", "x%2f"] {
            assert!(!is_safe_file_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_pipelines_name_session_unique_segments_and_record_apart() {
        let dirs = MediaDirs::in_data_dir(Path::new("/data"));
        let hls = hls_description("demo", "abc", &dirs, true);
        assert!(
            hls.contains("location=\"/data/hls/demo/abc-%05d.ts\""),
            "{hls}"
        );
        assert!(
            hls.contains("hls.audio") && !hls.contains("mp4mux"),
            "{hls}"
        );
        let video_only = hls_description("demo", "abc", &dirs, false);
        assert!(!video_only.contains("audio"), "{video_only}");
        let recording = recording_description(Path::new("/data/recordings/x.mp4"), true);
        assert!(
            recording.contains("mp4mux")
                && recording.contains("opusparse ! rec.")
                && !recording.contains("hlssink2"),
            "{recording}"
        );
        let silent = recording_description(Path::new("/r.mp4"), false);
        assert!(!silent.contains("audio"), "{silent}");
    }

    #[test]
    fn recordings_are_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = MediaDirs::in_data_dir(dir.path());
        assert!(list_recordings(&dirs).unwrap().is_empty());
        std::fs::create_dir_all(&dirs.recordings).unwrap();
        for name in ["shop-live-100.mp4", "shop-live-300.mp4", "notes.txt"] {
            std::fs::write(dirs.recordings.join(name), b"x").unwrap();
        }
        let list = list_recordings(&dirs).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].file, "shop-live-300.mp4");
        assert_eq!(list[0].stream, "shop-live");
        assert_eq!(list[0].started_at_ms, 300);
    }
}
