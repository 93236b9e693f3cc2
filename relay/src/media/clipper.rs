//! Cuts a stretch of a live recording into its own MP4 without re-encoding: the replay clip
//! (看讲解) of one pin window. The recording is the packager's fragmented MP4, which may still
//! be growing; `qtdemux` reads the fragments written so far.
//!
//! Two pipelines: a reader (`qtdemux` into one appsink per track) that is prerolled and then
//! seeked to the keyframe at or before `from` with `to` as its stop, and a writer (one appsrc
//! per track into `mp4mux`) fed with the reader's buffers, rebased to start at zero. Seeking
//! a demuxer that already feeds a muxer would hand the muxer frames from before the seek.
//! The output has its index at the front (`faststart`) so a browser plays it with range
//! requests before it has it all.

use std::path::Path;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::packager::StopOnDrop;

/// How long a cut may take before it is given up (a 10-minute pin window remuxes in a
/// second or two; this guards against a wedged pipeline).
const CUT_TIMEOUT: Duration = Duration::from_secs(120);

/// How far before `from` the reader starts, to find the keyframe at or before it. qtdemux
/// does not snap a seek in a fragmented file to a keyframe (it starts at the fragment), so
/// the cutter looks for it itself; the relay asks publishers for one every 2 s.
const LOOKBACK: Duration = Duration::from_secs(6);

/// What was cut, in the recording's own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Where the clip's first frame (a keyframe) is in the recording.
    pub starts_at: Duration,
    /// From the first frame to the end of the last.
    pub duration: Duration,
}

/// Remuxes `[from, to)` of `recording` (H.264 and, if present, Opus) into `out`. `out` is
/// written whole or not at all: the cut goes to a temporary file renamed at the end.
pub fn cut(recording: &Path, from: Duration, to: Duration, out: &Path) -> Result<Cut, String> {
    if to <= from {
        return Err(format!("empty range {from:?}..{to:?}"));
    }
    gst::init().map_err(|e| format!("GStreamer does not start: {e}"))?;
    let partial = out.with_extension("mp4.part");
    match run_cut(recording, from, to, &partial) {
        Ok(cut) => {
            std::fs::rename(&partial, out)
                .map_err(|e| format!("rename {}: {e}", partial.display()))?;
            Ok(cut)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// One track of the cut: the reader's appsink and the writer's appsrc.
struct Track {
    video: bool,
    sink: gst_app::AppSink,
    src: gst_app::AppSrc,
    /// The next buffer read from the sink, not yet passed on.
    next: Option<gst::Buffer>,
    done: bool,
}

fn run_cut(recording: &Path, from: Duration, to: Duration, partial: &Path) -> Result<Cut, String> {
    let deadline = Instant::now() + CUT_TIMEOUT;
    let (reader, reader_bus, tracks) = open_reader(recording, deadline)?;
    let (writer, mut tracks) = open_writer(partial, tracks)?;
    if !tracks.iter().any(|t| t.video) {
        return Err(format!("{} has no H.264 video", recording.display()));
    }
    start_copy(&reader, &reader_bus, &writer, recording, from, to)?;
    let from = gst::ClockTime::from_nseconds(from.as_nanos() as u64);
    let span = copy(&mut tracks, from, &reader_bus, deadline)?;
    for track in &tracks {
        let _ = track.src.end_of_stream();
    }
    finish_writing(&writer, deadline)?;
    let (first, end) = span.ok_or_else(|| {
        format!(
            "no video in {} between {from:?} and {to:?}",
            recording.display()
        )
    })?;
    Ok(Cut {
        starts_at: Duration::from_nanos(first.nseconds()),
        duration: Duration::from_nanos(end.saturating_sub(first).nseconds()),
    })
}

/// A track the demuxer found: its caps and the appsink it arrives on.
type FoundTrack = Result<(gst::Caps, gst_app::AppSink), String>;

/// Opens the recording paused, with an appsink per track, once the demuxer has read the
/// header and announced every track.
fn open_reader(
    recording: &Path,
    deadline: Instant,
) -> Result<(StopOnDrop, gst::Bus, Vec<FoundTrack>), String> {
    let reader = StopOnDrop(gst::Pipeline::new());
    let src = element("filesrc")?;
    src.set_property("location", recording.to_string_lossy().as_ref());
    let demux = element("qtdemux")?;
    reader.add_many([&src, &demux]).map_err(|e| e.to_string())?;
    src.link(&demux).map_err(|e| e.to_string())?;
    // Each track gets its appsink in the demuxer's own thread, before the demuxer pushes
    // to the new pad (an unlinked pad stops it).
    let (pads_tx, pads_rx) = std::sync::mpsc::channel::<FoundTrack>();
    let pads_tx = std::sync::Mutex::new(pads_tx);
    let reader_weak = reader.downgrade();
    demux.connect_pad_added(move |_, pad| {
        let Some(reader) = reader_weak.upgrade() else {
            return;
        };
        let linked = (|| {
            // The queue gives each track its own thread: the demuxer interleaves tracks in
            // one, and a prerolled appsink blocks it before the next track's sink prerolls.
            let queue = element("queue")?;
            // Bounded by bytes only: a time bound could hold one track back while the
            // copy waits for it.
            queue.set_property("max-size-time", 0u64);
            queue.set_property("max-size-buffers", 0u32);
            queue.set_property("max-size-bytes", 32u32 << 20);
            let sink = gst_app::AppSink::builder().sync(false).build();
            reader
                .add_many([&queue, sink.upcast_ref()])
                .map_err(|e| e.to_string())?;
            queue.link(&sink).map_err(|e| e.to_string())?;
            sink.sync_state_with_parent().map_err(|e| e.to_string())?;
            queue.sync_state_with_parent().map_err(|e| e.to_string())?;
            pad.link(&queue.static_pad("sink").ok_or("queue without a pad")?)
                .map_err(|e| format!("link a track: {e:?}"))?;
            let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
            Ok((caps, sink))
        })();
        let _ = pads_tx.lock().expect("not poisoned").send(linked);
    });
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let done_tx = std::sync::Mutex::new(done_tx);
    demux.connect_no_more_pads(move |_| {
        let _ = done_tx.lock().expect("not poisoned").send(());
    });
    reader
        .set_state(gst::State::Paused)
        .map_err(|e| format!("open {}: {e}", recording.display()))?;
    let reader_bus = reader.bus().ok_or("pipeline without a bus")?;
    // The demuxer announces its tracks once it has read the header; an unreadable file
    // errors on the bus instead.
    while done_rx.try_recv().is_err() {
        if let Some(e) = bus_error(&reader_bus) {
            return Err(e);
        }
        if Instant::now() > deadline {
            return Err(format!("{} has no readable header", recording.display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((reader, reader_bus, pads_rx.try_iter().collect()))
}

/// The clip's writer (mp4mux, faststart, into `partial`) with an appsrc and parser per H.264
/// or Opus track; other tracks' appsinks are set to drop what they get.
fn open_writer(partial: &Path, found: Vec<FoundTrack>) -> Result<(StopOnDrop, Vec<Track>), String> {
    let writer = StopOnDrop(gst::Pipeline::new());
    let mux = element("mp4mux")?;
    mux.set_property("faststart", true);
    let file = element("filesink")?;
    file.set_property("location", partial.to_string_lossy().as_ref());
    writer.add_many([&mux, &file]).map_err(|e| e.to_string())?;
    mux.link(&file).map_err(|e| e.to_string())?;
    let mut tracks = Vec::new();
    for linked in found {
        let (caps, sink) = linked?;
        let name = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let (parser, request) = match name.as_str() {
            "video/x-h264" => ("h264parse", "video_%u"),
            "audio/x-opus" => ("opusparse", "audio_%u"),
            // Other tracks are read and dropped.
            _ => {
                sink.set_property("drop", true);
                sink.set_property("max-buffers", 1u32);
                continue;
            }
        };
        let appsrc = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            // Never blocks: a stalled writer then shows as the cut's deadline passing instead
            // of a copy wedged in a push (fed in time order, the queue stays short).
            .block(false)
            .max_bytes(0)
            .build();
        let parse = element(parser)?;
        writer
            .add_many([appsrc.upcast_ref(), &parse])
            .map_err(|e| e.to_string())?;
        appsrc.link(&parse).map_err(|e| e.to_string())?;
        let mux_pad = mux
            .request_pad_simple(request)
            .ok_or_else(|| format!("mp4mux has no {request} pad"))?;
        parse
            .static_pad("src")
            .ok_or("parser without a pad")?
            .link(&mux_pad)
            .map_err(|e| format!("link {parser}: {e:?}"))?;
        tracks.push(Track {
            video: request.starts_with("video"),
            sink,
            src: appsrc,
            next: None,
            done: false,
        });
    }
    Ok((writer, tracks))
}

/// Prerolls the reader (every appsink holds a buffer), seeks it to just before `from` with
/// `to` as its stop (the reader ends with EOS there), and starts both pipelines.
fn start_copy(
    reader: &gst::Pipeline,
    reader_bus: &gst::Bus,
    writer: &gst::Pipeline,
    recording: &Path,
    from: Duration,
    to: Duration,
) -> Result<(), String> {
    reader
        .state(gst::ClockTime::from_seconds(10))
        .0
        .map_err(|_| {
            bus_error(reader_bus).unwrap_or_else(|| "the recording does not preroll".into())
        })?;
    reader
        .seek(
            1.0,
            gst::SeekFlags::FLUSH,
            gst::SeekType::Set,
            gst::ClockTime::from_nseconds(from.saturating_sub(LOOKBACK).as_nanos() as u64),
            gst::SeekType::Set,
            gst::ClockTime::from_nseconds(to.as_nanos() as u64),
        )
        .map_err(|_| format!("cannot seek to {from:?} in {}", recording.display()))?;
    writer
        .set_state(gst::State::Playing)
        .map_err(|e| format!("start writing: {e}"))?;
    reader
        .set_state(gst::State::Playing)
        .map_err(|e| format!("start reading: {e}"))?;
    Ok(())
}

/// Waits (until the deadline) for the writer to finish the file after the tracks ended.
fn finish_writing(writer: &gst::Pipeline, deadline: Instant) -> Result<(), String> {
    let writer_bus = writer.bus().ok_or("pipeline without a bus")?;
    let left = deadline.saturating_duration_since(Instant::now());
    match writer_bus.timed_pop_filtered(
        gst::ClockTime::from_nseconds(left.as_nanos() as u64),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        Some(message) => {
            if let gst::MessageView::Error(e) = message.view() {
                return Err(format!("write the clip: {} ({:?})", e.error(), e.debug()));
            }
        }
        None => return Err("the clip was not finished in time".into()),
    }
    Ok(())
}

/// Moves the reader's buffers to the writer, from the last keyframe at or before `from` (or
/// the first after it, if none is read before it), rebased so that keyframe is at zero;
/// audio from before it is dropped. Returns the span of video copied, in the recording's
/// time.
fn copy(
    tracks: &mut [Track],
    from: gst::ClockTime,
    reader_bus: &gst::Bus,
    deadline: Instant,
) -> Result<Option<(gst::ClockTime, gst::ClockTime)>, String> {
    let mut start = ClipStart::new(from);
    let mut end = gst::ClockTime::ZERO;
    while tracks.iter().any(|t| !t.done || t.next.is_some()) {
        if let Some(e) = bus_error(reader_bus) {
            return Err(format!("read the recording: {e}"));
        }
        if Instant::now() > deadline {
            return Err("the cut did not finish in time".into());
        }
        // Each track's next buffer is read ahead, and the earliest goes first: the writer's
        // muxer interleaves by time, so feeding one track faster than the other fills its
        // queue and blocks the copy (a 1-minute window of 2.5 Mbit/s video did).
        for track in tracks.iter_mut().filter(|t| !t.done && t.next.is_none()) {
            match track
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(20))
            {
                Some(sample) => {
                    track.next = sample.buffer_owned().filter(|b| b.pts().is_some());
                }
                None => track.done = track.sink.is_eos(),
            }
        }
        let waiting = tracks.iter().any(|t| !t.done && t.next.is_none());
        let earliest = tracks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.next.as_ref().map(|b| (i, b.pts().unwrap_or_default())))
            .min_by_key(|(_, pts)| *pts)
            .map(|(i, _)| i);
        // A track with nothing read yet may still have an earlier buffer coming.
        if let Some(index) = earliest.filter(|_| !waiting)
            && let Some(buffer) = tracks[index].next.take()
        {
            start.offer(index, tracks[index].video, buffer);
        }
        if tracks.iter().all(|t| t.done && t.next.is_none()) {
            start.settle();
        }
        for (index, buffer) in start.ready() {
            let track = &tracks[index];
            if track.video {
                let pts = buffer.pts().unwrap_or_default();
                end = end.max(pts + buffer.duration().unwrap_or_default());
            }
            let zero = start.base.unwrap_or_default();
            let mut buffer = buffer;
            {
                let buffer = buffer.make_mut();
                let pts = buffer.pts().unwrap_or_default();
                let dts = buffer.dts().unwrap_or(pts);
                buffer.set_pts(pts.saturating_sub(zero));
                buffer.set_dts(dts.saturating_sub(zero));
            }
            track
                .src
                .push_buffer(buffer)
                .map_err(|e| format!("write the clip: {e:?}"))?;
        }
    }
    Ok(start.base.map(|first| (first, end)))
}

/// Finds where a clip starts: holds buffers until the keyframe at or before `from` is known
/// (a later keyframe, or a frame past `from`, settles it), then lets through what comes at or
/// after it.
struct ClipStart {
    from: gst::ClockTime,
    base: Option<gst::ClockTime>,
    /// The latest keyframe at or before `from` seen so far.
    candidate: Option<gst::ClockTime>,
    held: Vec<(usize, gst::Buffer)>,
    out: Vec<(usize, gst::Buffer)>,
}

impl ClipStart {
    fn new(from: gst::ClockTime) -> Self {
        Self {
            from,
            base: None,
            candidate: None,
            held: Vec::new(),
            out: Vec::new(),
        }
    }

    fn offer(&mut self, track: usize, video: bool, buffer: gst::Buffer) {
        let pts = buffer.pts().unwrap_or_default();
        if let Some(base) = self.base {
            if pts >= base {
                self.out.push((track, buffer));
            }
            return;
        }
        if video {
            let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
            if keyframe && pts <= self.from {
                self.candidate = Some(pts);
            } else if pts > self.from && (keyframe || self.candidate.is_some()) {
                self.base = Some(self.candidate.unwrap_or(pts));
            }
        }
        self.held.push((track, buffer));
        if self.base.is_some() {
            self.release();
        }
    }

    /// The reader is done: whatever keyframe was found starts the clip.
    fn settle(&mut self) {
        if self.base.is_none() && self.candidate.is_some() {
            self.base = self.candidate;
            self.release();
        }
    }

    fn release(&mut self) {
        let base = self.base.unwrap_or_default();
        for (track, buffer) in self.held.drain(..) {
            if buffer.pts().unwrap_or_default() >= base {
                self.out.push((track, buffer));
            }
        }
    }

    fn ready(&mut self) -> Vec<(usize, gst::Buffer)> {
        std::mem::take(&mut self.out)
    }
}

fn element(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|e| format!("{factory}: {e}"))
}

fn bus_error(bus: &gst::Bus) -> Option<String> {
    while let Some(message) = bus.pop() {
        if let gst::MessageView::Error(e) = message.view() {
            return Some(format!("{} ({:?})", e.error(), e.debug()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 12 s recording like the packager's: H.264 with a keyframe every 2 s and Opus, in
    /// 1 s fragments.
    fn recording(dir: &Path) -> std::path::PathBuf {
        recording_of(dir, 12, "smpte", 2048)
    }

    fn recording_of(dir: &Path, seconds: u32, pattern: &str, kbps: u32) -> std::path::PathBuf {
        gst::init().unwrap();
        let path = dir.join("live-1.mp4");
        let description = format!(
            "videotestsrc num-buffers={frames} pattern={pattern} \
               ! video/x-raw,width=320,height=180,framerate=30/1 \
             ! x264enc key-int-max=60 tune=zerolatency speed-preset=ultrafast bitrate={kbps} \
             ! h264parse ! mp4mux name=m fragment-duration=1000 ! filesink location=\"{path}\" \
             audiotestsrc num-buffers={audio} samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 \
             ! opusenc ! opusparse ! m.",
            frames = seconds * 30,
            audio = seconds * 50,
            path = path.display()
        );
        let pipeline = gst::parse::launch(&description).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let message = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(60),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .unwrap();
        assert!(
            matches!(message.view(), gst::MessageView::Eos(_)),
            "{message:?}"
        );
        pipeline.set_state(gst::State::Null).unwrap();
        path
    }

    /// (codec, frames) per stream of a file, by ffprobe.
    fn probe(path: &Path) -> Vec<(String, u64)> {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-show_entries"])
            .args(["stream=codec_name,nb_read_frames", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let (codec, frames) = line.split_once(',')?;
                Some((codec.to_owned(), frames.trim().parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn a_cut_starts_on_the_keyframe_before_and_keeps_both_tracks() {
        let dir = tempfile::tempdir().unwrap();
        let rec = recording(dir.path());
        let out = dir.path().join("clip.mp4");
        let cut = cut(
            &rec,
            Duration::from_millis(4_500),
            Duration::from_millis(8_500),
            &out,
        )
        .unwrap();
        // Keyframes at 0, 2, 4 … s: 4.5 s snaps back to 4 s.
        assert_eq!(cut.starts_at, Duration::from_secs(4), "{cut:?}");
        let ms = cut.duration.as_millis();
        assert!((4_400..=4_600).contains(&ms), "{cut:?}");
        let streams = probe(&out);
        let frames = |codec: &str| streams.iter().find(|(c, _)| c == codec).map(|s| s.1);
        let video = frames("h264").unwrap();
        assert!((130..=140).contains(&video), "{streams:?}");
        assert!(frames("opus").unwrap() > 150, "{streams:?}");
        assert!(!dir.path().join("clip.mp4.part").exists());
    }

    #[test]
    fn a_long_window_of_busy_video_is_copied_in_time_order() {
        // 40 s of noise at 4 Mbit/s: fed a frame per audio packet, the video ran seconds
        // ahead of the audio and filled the writer's queue; the copy stalled.
        let dir = tempfile::tempdir().unwrap();
        let rec = recording_of(dir.path(), 40, "snow", 4000);
        let out = dir.path().join("clip.mp4");
        let cut = cut(
            &rec,
            Duration::from_millis(5_100),
            Duration::from_secs(38),
            &out,
        )
        .unwrap();
        assert_eq!(cut.starts_at, Duration::from_secs(4), "{cut:?}");
        let ms = cut.duration.as_millis();
        assert!((33_900..=34_100).contains(&ms), "{cut:?}");
    }

    #[test]
    fn a_growing_recording_is_cut_from_the_fragments_written_so_far() {
        let dir = tempfile::tempdir().unwrap();
        let rec = recording(dir.path());
        let bytes = std::fs::read(&rec).unwrap();
        // Half the file, cut mid-fragment, as a recording looks while the live goes on.
        let growing = dir.path().join("growing.mp4");
        std::fs::write(&growing, &bytes[..bytes.len() / 2]).unwrap();
        let out = dir.path().join("clip.mp4");
        let cut = cut(
            &growing,
            Duration::from_millis(2_100),
            Duration::from_millis(4_000),
            &out,
        )
        .unwrap();
        assert_eq!(cut.starts_at, Duration::from_secs(2), "{cut:?}");
        let streams = probe(&out);
        assert!(
            streams.iter().any(|(c, n)| c == "h264" && *n >= 55),
            "{streams:?} {cut:?}"
        );
    }

    #[test]
    fn a_broken_file_or_range_is_an_error_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.mp4");
        std::fs::write(&bad, b"not an mp4 at all").unwrap();
        let out = dir.path().join("clip.mp4");
        assert!(cut(&bad, Duration::ZERO, Duration::from_secs(1), &out).is_err());
        assert!(cut(&bad, Duration::from_secs(2), Duration::from_secs(1), &out).is_err());
        assert!(!out.exists());
        assert!(!dir.path().join("clip.mp4.part").exists());
    }
}
