//! Delay and random loss on the shaped link (`netns::Impairment`), measured with UDP datagrams
//! echoed back from the link's far end. The link is fast (50 Mbit/s) so that only the
//! impairment shows; the datagrams are paced, so the bottleneck never queues.

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anchordesk_e2e::KillOnDrop;
use anchordesk_e2e::netns::{self, Impairment, ShapedLink};
use anyhow::{Context, Result, ensure};

#[test]
fn delay_adds_to_the_round_trip_both_ways() -> Result<()> {
    if !netns::isolate("delay_adds_to_the_round_trip_both_ways") {
        return Ok(());
    }
    let link = ShapedLink::create(50_000)?;
    let echo = Echo::start(&link)?;

    let plain = echo.probe(1000, Duration::from_millis(1))?;
    println!("no impairment: {plain}");
    ensure!(plain.lost == 0, "datagrams lost on a plain link: {plain}");
    ensure!(
        plain.median() < Duration::from_millis(5),
        "a plain link is slow: {plain}"
    );

    let delay = Impairment {
        one_way_delay_ms: 20,
        ..Impairment::NONE
    };
    assert_eq!(delay.name(), "40ms_rtt");
    link.impair(delay)?;
    let delayed = echo.probe(2000, Duration::from_millis(1))?;
    println!("{delay}: {delayed}");
    ensure!(delayed.lost == 0, "a delay alone lost datagrams: {delayed}");
    ensure!(
        (Duration::from_millis(40)..Duration::from_millis(60)).contains(&delayed.median()),
        "20 ms each way should make the round trip 40-60 ms: {delayed}"
    );
    ensure!(
        delayed.min() >= Duration::from_millis(40),
        "a datagram came back early: {delayed}"
    );

    // A second call replaces the first; NONE removes the rules and the delay line.
    link.impair(Impairment {
        one_way_delay_ms: 5,
        ..Impairment::NONE
    })?;
    let shorter = echo.probe(300, Duration::from_millis(1))?;
    println!("10ms_rtt: {shorter}");
    ensure!(
        (Duration::from_millis(10)..Duration::from_millis(20)).contains(&shorter.median()),
        "replacing 20 ms with 5 ms each way: {shorter}"
    );
    link.impair(Impairment::NONE)?;
    let rules = Command::new("iptables-save").output()?;
    ensure!(
        !String::from_utf8_lossy(&rules.stdout).contains("anchordesk-impair"),
        "the rules outlived the impairment"
    );
    let after = echo.probe(300, Duration::from_millis(1))?;
    println!("removed: {after}");
    ensure!(
        after.median() < Duration::from_millis(5) && after.lost == 0,
        "the link did not recover: {after}"
    );
    Ok(())
}

#[test]
fn loss_drops_about_one_percent_toward_the_relay() -> Result<()> {
    if !netns::isolate("loss_drops_about_one_percent_toward_the_relay") {
        return Ok(());
    }
    let link = ShapedLink::create(50_000)?;
    let echo = Echo::start(&link)?;
    let loss = Impairment {
        loss_percent: 1.0,
        ..Impairment::NONE
    };
    assert_eq!(loss.name(), "1pct_loss");
    link.impair(loss)?;
    // 4000 at p = 0.01: 40 expected, sd 6.3; the bounds below are 4.4 sd away or more.
    let sent = 4000;
    let lossy = echo.probe(sent, Duration::from_micros(500))?;
    println!("{loss}: {lossy}");
    let percent = 100.0 * lossy.lost as f64 / sent as f64;
    ensure!(
        (0.3..2.5).contains(&percent),
        "1 % loss lost {percent:.2} % of datagrams: {lossy}"
    );
    ensure!(
        lossy.median() < Duration::from_millis(5),
        "loss alone should not delay: {lossy}"
    );
    Ok(())
}

/// A UDP echo server on the link's far end (python3, so the test needs no second binary).
struct Echo {
    _server: KillOnDrop,
    socket: UdpSocket,
}

const ECHO_SERVER: &str = "import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1], flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
";

impl Echo {
    fn start(link: &ShapedLink) -> Result<Self> {
        let mut child = link
            .command("python3")
            .args(["-c", ECHO_SERVER, netns::VETH_B])
            .stdout(Stdio::piped())
            .spawn()
            .context("run python3 in the child namespace")?;
        let stdout = child.stdout.take().expect("piped stdout");
        let server = KillOnDrop(child);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
        let port: u16 = line
            .trim()
            .parse()
            .with_context(|| format!("the echo server printed {line:?}, not its port"))?;
        let socket = UdpSocket::bind((netns::VETH_A, 0))?;
        socket.connect((netns::VETH_B, port))?;
        socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        Ok(Self {
            _server: server,
            socket,
        })
    }

    /// Sends `count` datagrams `spacing` apart while collecting the echoes; a datagram not back
    /// 300 ms after the last was sent counts as lost.
    fn probe(&self, count: usize, spacing: Duration) -> Result<Probe> {
        let start = Instant::now();
        let sender = self.socket.try_clone()?;
        let sending = std::thread::spawn(move || -> std::io::Result<()> {
            let mut payload = [0u8; 200];
            for seq in 0..count {
                let due = start + spacing * seq as u32;
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                payload[..8].copy_from_slice(&(seq as u64).to_le_bytes());
                let sent = start.elapsed().as_nanos() as u64;
                payload[8..16].copy_from_slice(&sent.to_le_bytes());
                sender.send(&payload)?;
            }
            Ok(())
        });
        let deadline = start + spacing * count as u32 + Duration::from_millis(300);
        let mut seen = vec![false; count];
        let mut rtts = Vec::with_capacity(count);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            let n = match self.socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            };
            let now = start.elapsed();
            ensure!(n >= 16, "a short echo ({n} bytes)");
            let seq = u64::from_le_bytes(buf[..8].try_into()?) as usize;
            let sent = Duration::from_nanos(u64::from_le_bytes(buf[8..16].try_into()?));
            // Anything else is a late echo of an earlier probe.
            if seq < count && !seen[seq] && sent <= now {
                seen[seq] = true;
                rtts.push(now - sent);
            }
        }
        sending
            .join()
            .map_err(|_| anyhow::anyhow!("the sender panicked"))??;
        rtts.sort();
        ensure!(!rtts.is_empty(), "no echo came back at all");
        Ok(Probe {
            lost: count - rtts.len(),
            rtts,
        })
    }
}

struct Probe {
    /// Sorted.
    rtts: Vec<Duration>,
    lost: usize,
}

impl Probe {
    fn quantile(&self, q: f64) -> Duration {
        self.rtts[((self.rtts.len() - 1) as f64 * q).round() as usize]
    }

    fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    fn min(&self) -> Duration {
        self.rtts[0]
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "{} echoed, {} lost; round trip min {:.2} ms, median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.rtts.len(),
            self.lost,
            ms(self.min()),
            ms(self.median()),
            ms(self.quantile(0.99)),
            ms(self.rtts[self.rtts.len() - 1]),
        )
    }
}
