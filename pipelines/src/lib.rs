//! AnchorDesk media engine. Everything GStreamer stays behind this crate's API.
//!
//! [`engine::Engine`] composes a [`scene::SceneCollection`] and feeds [`outputs`] (WHIP to the
//! relay, RTMP/SRT to platforms, recordings), a preview and stats.

pub mod devices;
pub mod engine;
pub mod outputs;
pub mod scene;

use std::sync::{Mutex, MutexGuard, OnceLock};

/// A lock that a panic elsewhere does not poison for good: the engine's state stays usable
/// after a callback panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// GStreamer itself could not be initialised (missing libraries, broken registry).
    #[error("GStreamer failed to initialise: {0}")]
    Init(String),
    /// A required element is not installed; the message names the Debian package.
    #[error("GStreamer element '{element}' is not installed (Debian package: {package})")]
    MissingElement {
        element: String,
        package: &'static str,
    },
    /// The pipeline was built but failed while running.
    #[error("pipeline error from {source_element}: {message}")]
    Pipeline {
        source_element: String,
        message: String,
    },
    /// A state change did not complete.
    #[error("pipeline could not change state: {0}")]
    StateChange(String),
    /// A scene or an edit was rejected; nothing changed.
    #[error("{0}")]
    Scene(#[from] scene::SceneError),
    /// A request that does not fit the engine's current state (unknown output, canvas change).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Initialises GStreamer and registers the Rust WebRTC (`whipclientsink`) and RTP plugins
/// statically, once per process; later calls return the first result.
pub fn init() -> Result<()> {
    static INIT: OnceLock<Result<()>> = OnceLock::new();
    INIT.get_or_init(|| {
        gstreamer::init().map_err(|e| Error::Init(e.to_string()))?;
        gstrswebrtc::plugin_register_static()
            .and_then(|()| gstrsrtp::plugin_register_static())
            .and_then(|()| gstanchordesk::register_static())
            .map_err(|e| Error::Init(format!("registering gst-plugins-rs: {e}")))
    })
    .clone()
}

/// Which Debian package ships an element, for actionable error messages.
fn package_for(element: &str) -> &'static str {
    match element {
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "opusenc" | "videotestsrc" | "audiotestsrc" | "videoconvert" | "audioconvert"
        | "audioresample" => "gstreamer1.0-plugins-base",
        "h264parse" | "compositor" | "rtmp2sink" | "srtsink" | "mpegtsmux" | "openh264enc"
        | "aacparse" | "voaacenc" => "gstreamer1.0-plugins-bad",
        "textoverlay" | "appsrc" | "appsink" | "audiomixer" | "videorate" | "videoscale"
        | "volume" => "gstreamer1.0-plugins-base",
        "avenc_aac" => "gstreamer1.0-libav",
        "whipclientsink" => "built in (gst-plugin-webrtc)",
        "anchordeskbeauty" | "anchordeskbackground" => "built in (anchordesk-effects)",
        _ => "gstreamer1.0-plugins-good",
    }
}

pub(crate) fn make(factory: &str, name: Option<&str>) -> Result<gstreamer::Element> {
    let mut builder = gstreamer::ElementFactory::make(factory);
    if let Some(name) = name {
        builder = builder.name(name);
    }
    builder.build().map_err(|_| Error::MissingElement {
        element: factory.to_owned(),
        package: package_for(factory),
    })
}

/// Linux's USER_HZ, the unit of /proc/<pid>/stat CPU times, is 100 on every mainstream build.
const CLOCK_TICKS_PER_S: f64 = 100.0;

/// utime + stime of a process (`"self"` or a pid), in seconds, from Linux's `/proc`; `None`
/// where that cannot be read. The engine's stats and the benchmarks both use it.
pub fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of stat(5); `fields` starts at field 3.
    Some((ticks(11)? + ticks(12)?) / CLOCK_TICKS_PER_S)
}
