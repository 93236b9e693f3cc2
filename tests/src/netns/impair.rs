//! Extra delay and random loss on a [`super::ShapedLink`], in place of `netem` (not built into
//! this kernel, nor is nftables' `queue` expression). `iptables` rules (the xtables `NFQUEUE`
//! target, which the nf_tables backend runs through nft_compat) hand each packet arriving on a
//! veth end to a netfilter queue; a thread of ours holds it for the delay and then accepts it,
//! or drops it for the loss.
//!
//! Both directions are impaired where packets arrive: adv1's ingress in the child namespace
//! (publisher → relay: loss and delay) and adv0's ingress here (relay → publisher: delay).
//! Held on the sending side, a packet would still be charged to its socket: TCP small queues
//! then allow only about a millisecond of data below TCP, so one TCP flow behind a 6 Mbit/s
//! link with 40 ms RTT moved 2.2 Mbit/s (5.7 Mbit/s held at ingress), and held UDP packets
//! fill the sender's socket buffer. The veth has orphaned a packet by the time it arrives.

use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use nfq::{Message, Queue, Verdict};

/// What a [`super::ShapedLink`] adds on top of its rate limit (IPv4 only). The default adds
/// nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Impairment {
    /// Added to each direction, so the round trip grows by twice this.
    pub one_way_delay_ms: u32,
    /// Random loss on the way from the publisher to the relay, per wire packet.
    pub loss_percent: f64,
}

impl Impairment {
    pub const NONE: Self = Self {
        one_way_delay_ms: 0,
        loss_percent: 0.0,
    };

    pub fn is_none(&self) -> bool {
        self.one_way_delay_ms == 0 && self.loss_percent == 0.0
    }

    /// A file-name-friendly label: "none", "40ms_rtt", "1pct_loss", "40ms_rtt_1pct_loss".
    pub fn name(&self) -> String {
        self.to_string()
    }

    fn delay(&self) -> Duration {
        Duration::from_millis(self.one_way_delay_ms.into())
    }
}

impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.one_way_delay_ms > 0 {
            parts.push(format!("{}ms_rtt", 2 * u64::from(self.one_way_delay_ms)));
        }
        if self.loss_percent != 0.0 {
            parts.push(format!("{}pct_loss", self.loss_percent));
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join("_"))
        }
    }
}

/// Queue numbers are per network namespace; each namespace here has one delay line at most.
const QUEUE_NUM: u16 = 2030;
const CHAIN: &str = "anchordesk-impair";
/// Packets the kernel holds for us before it drops; 20 ms of a 50 Mbit/s link is ~90.
const QUEUE_MAX_LEN: u32 = 4096;
/// How late a packet may be noticed or released: nfq gives no fd to poll, so the thread sleeps.
const TICK: Duration = Duration::from_millis(1);
/// After the rules are gone, a packet that was already past them may still reach the queue.
const STOP_GRACE: Duration = Duration::from_millis(5);

/// Where one direction is impaired: a namespace (the child's holder pid, or ours) and the
/// interface packets arrive on there.
#[derive(Clone, Copy)]
struct Ingress {
    holder: Option<u32>,
    interface: &'static str,
}

impl Ingress {
    fn iptables_restore(&self, rules: &str) -> Result<()> {
        let mut command = match self.holder {
            Some(pid) => {
                let mut c = Command::new("nsenter");
                c.args(["-t", &pid.to_string(), "-n", "--", "iptables-restore"]);
                c
            }
            None => Command::new("iptables-restore"),
        };
        let mut child = command
            .args(["--wait", "--noflush"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("run iptables-restore (install iptables: scripts/install-deps.sh)")?;
        // On a failure iptables-restore may exit before reading it all: its stderr says why.
        let written = child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(rules.as_bytes());
        let output = child.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No such file or directory") && stderr.contains("nsenter") {
            bail!("iptables-restore not found: install iptables (scripts/install-deps.sh)");
        }
        ensure!(
            output.status.success(),
            "iptables-restore on {} ({}): {}\n{rules}",
            self.interface,
            output.status,
            stderr.trim()
        );
        Ok(written?)
    }

    fn install(&self) -> Result<()> {
        let (chain, interface) = (CHAIN, self.interface);
        self.iptables_restore(&format!(
            "*filter\n:{chain} - [0:0]\n-I INPUT 1 -i {interface} -j {chain}\n\
             -A {chain} -j NFQUEUE --queue-num {QUEUE_NUM} --queue-bypass\nCOMMIT\n"
        ))
    }

    fn remove(&self) -> Result<()> {
        let (chain, interface) = (CHAIN, self.interface);
        self.iptables_restore(&format!(
            "*filter\n-D INPUT -i {interface} -j {chain}\n-F {chain}\n-X {chain}\nCOMMIT\n"
        ))
    }

    /// The kernel's count of packets it dropped because our queue or socket was full.
    fn overflows(&self) -> Option<u64> {
        let path = match self.holder {
            Some(pid) => format!("/proc/{pid}/net/netfilter/nfnetlink_queue"),
            None => "/proc/self/net/netfilter/nfnetlink_queue".to_owned(),
        };
        // queue_num portid queue_total copy_mode copy_range queue_dropped user_dropped id_seq 1
        let text = std::fs::read_to_string(path).ok()?;
        text.lines().find_map(|line| {
            let fields: Vec<u64> = line
                .split_whitespace()
                .map(|w| w.parse().ok())
                .collect::<Option<_>>()?;
            match fields[..] {
                [num, _, _, _, _, dropped, user_dropped, ..] if num == u64::from(QUEUE_NUM) => {
                    Some(dropped + user_dropped)
                }
                _ => None,
            }
        })
    }

    /// A queue socket bound in this ingress' namespace. A socket stays in the namespace it was
    /// created in, so for the child's it is created on a thread that enters that namespace.
    fn open_queue(&self) -> Result<Queue> {
        let Some(pid) = self.holder else {
            return open_queue_here();
        };
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
            .context("open the child network namespace")?;
        std::thread::spawn(move || {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .context("enter the child network namespace")?;
            open_queue_here()
        })
        .join()
        .map_err(|_| anyhow::anyhow!("opening the netfilter queue panicked"))?
    }
}

fn open_queue_here() -> Result<Queue> {
    let mut queue = Queue::open().context("open a netfilter queue socket (needs CAP_NET_ADMIN)")?;
    queue
        .bind(QUEUE_NUM)
        .with_context(|| format!("bind netfilter queue {QUEUE_NUM} (already in use?)"))?;
    // Verdicts need no payload: copying only metadata keeps each message a few hundred bytes.
    queue.set_copy_range(QUEUE_NUM, 0)?;
    queue.set_queue_max_len(QUEUE_NUM, QUEUE_MAX_LEN)?;
    queue.set_nonblocking(true);
    Ok(queue)
}

/// The rules and the delay-line thread of one impairment; dropping it removes both.
pub(super) struct Active {
    installed: Vec<Ingress>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Active {
    pub(super) fn start(holder: u32, impairment: Impairment) -> Result<Self> {
        let loss = impairment.loss_percent;
        ensure!(
            loss.is_finite() && (0.0..=100.0).contains(&loss),
            "loss_percent must be within 0..=100, not {loss}"
        );
        let forward = Ingress {
            holder: Some(holder),
            interface: "adv1",
        };
        let backward = Ingress {
            holder: None,
            interface: "adv0",
        };
        let mut lines = vec![Line::new(forward.open_queue()?, impairment.delay(), loss)];
        let mut ingresses = vec![forward];
        if impairment.one_way_delay_ms > 0 {
            lines.push(Line::new(backward.open_queue()?, impairment.delay(), 0.0));
            ingresses.push(backward);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("link-impairment".into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || {
                    let result = run(lines, &stop);
                    // Said at once: without a reader, packets pass unimpaired from here on.
                    if let Err(e) = &result {
                        eprintln!("link impairment: the delay line stopped: {e}");
                    }
                    result
                }
            })?;
        let mut active = Self {
            installed: Vec::new(),
            stop,
            thread: Some(thread),
        };
        // Rules last: until a queue has a reader, `--queue-bypass` would let packets through.
        for ingress in ingresses {
            ingress.install()?;
            active.installed.push(ingress);
        }
        Ok(active)
    }

    /// Removes the rules, then lets the thread release what it holds and stop.
    pub(super) fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<()> {
        let mut result = Ok(());
        for ingress in self.installed.drain(..) {
            if let Some(n) = ingress.overflows().filter(|&n| n > 0) {
                eprintln!(
                    "link impairment: the kernel dropped {n} packets arriving on {} because the delay line's queue was full",
                    ingress.interface
                );
            }
            if let Err(e) = ingress.remove() {
                result = result.and(Err(e));
            }
        }
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    result =
                        result.and(Err(anyhow::Error::from(e).context("the delay line failed")))
                }
                Err(_) => result = result.and(Err(anyhow::anyhow!("the delay line panicked"))),
            }
        }
        result
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            eprintln!("link impairment: {e:#}");
        }
    }
}

/// One direction: its queue and the packets it holds, oldest first. The delay is the same for
/// every packet, so release order is arrival order.
struct Line {
    queue: Queue,
    held: VecDeque<(Instant, Message)>,
    delay: Duration,
    loss: f64,
}

impl Line {
    fn new(queue: Queue, delay: Duration, loss_percent: f64) -> Self {
        Self {
            queue,
            held: VecDeque::new(),
            delay,
            loss: loss_percent / 100.0,
        }
    }

    /// Takes in every packet waiting in the socket.
    fn receive(&mut self, rng: &mut XorShift, releasing_all: bool) -> std::io::Result<()> {
        loop {
            let mut message = match self.queue.recv() {
                Ok(message) => message,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            // The kernel segments GSO packets before queueing them, so this is per wire packet.
            if self.loss > 0.0 && rng.unit() < self.loss {
                message.set_verdict(Verdict::Drop);
                self.queue.verdict(message)?;
            } else if self.delay.is_zero() || releasing_all {
                self.queue.verdict(message)?;
            } else {
                self.held.push_back((Instant::now() + self.delay, message));
            }
        }
    }

    /// Accepts what is due (or everything), and says when the next packet will be.
    fn release(&mut self, now: Instant, all: bool) -> std::io::Result<Option<Instant>> {
        while let Some((due, _)) = self.held.front() {
            if *due > now && !all {
                return Ok(Some(*due));
            }
            let (_, message) = self.held.pop_front().expect("front exists");
            self.queue.verdict(message)?;
        }
        Ok(None)
    }
}

fn run(mut lines: Vec<Line>, stop: &AtomicBool) -> std::io::Result<()> {
    let mut rng = XorShift::from_time();
    let mut stopping_since = None;
    loop {
        if stopping_since.is_none() && stop.load(Ordering::Acquire) {
            stopping_since = Some(Instant::now());
        }
        let all = stopping_since.is_some();
        let mut wake = Instant::now() + TICK;
        for line in &mut lines {
            line.receive(&mut rng, all)?;
            if let Some(due) = line.release(Instant::now(), all)? {
                wake = wake.min(due);
            }
        }
        if stopping_since.is_some_and(|t| t.elapsed() >= STOP_GRACE) {
            return Ok(());
        }
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
}

/// xorshift64*: plenty for a coin flip per packet.
struct XorShift(u64);

impl XorShift {
    fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self(nanos | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}
