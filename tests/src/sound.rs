//! A PulseAudio server of a test's own, as a PC has one: speakers (a null sink) and a
//! microphone (a 440 Hz sine source), on a socket in a directory of its own. A window that
//! plays sound (WebKit's media player) fails without any audio output, so the studio tests
//! that play media give it this one. Debian package `pulseaudio`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::KillOnDrop;

pub struct SoundServer {
    /// `PULSE_SERVER` for the processes that use it.
    pub address: String,
    _server: KillOnDrop,
    _dir: tempfile::TempDir,
}

impl SoundServer {
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("pulse.sock");
        let child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
            ])
            .arg("-L")
            .arg(format!(
                "module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            .args(["-L", "module-null-sink sink_name=speakers"])
            .args([
                "-L",
                "module-sine-source source_name=mic rate=48000 frequency=440",
            ])
            .env("HOME", dir.path())
            .env("PULSE_RUNTIME_PATH", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(
                "start pulseaudio (Debian package pulseaudio; scripts/install-deps.sh test)",
            )?;
        let server = KillOnDrop(child);
        let started = Instant::now();
        while !socket.exists() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "pulseaudio did not open {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            address: format!("unix:{}", socket.display()),
            _server: server,
            _dir: dir,
        })
    }
}
