//! What one client may cost the relay: failed guesses of a credential (staff passwords, stream
//! keys), counted per target and per address with a growing delay, and connections and
//! WebSockets held at once per address.
//!
//! The counts live in this process's memory, like the comment rate limit: several relays
//! behind a load balancer each count on their own, so a guesser spread over N relays gets N
//! times the tries (still a few per hour per account once the delay has grown).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How failures against one key (an account, a stream, an address) turn into waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Failures allowed before any delay: room for typos.
    pub free_failures: u32,
    /// The wait after the first failure past the free ones; each further failure doubles it.
    pub first_delay: Duration,
    /// The wait never grows past this.
    pub max_delay: Duration,
    /// A key with no failure for this long starts again from zero.
    pub forget_after: Duration,
}

impl FailurePolicy {
    /// The wait after `failures` failures, if any.
    fn delay(&self, failures: u32) -> Option<Duration> {
        let past_free = failures.checked_sub(self.free_failures + 1)?;
        Some(
            self.first_delay
                .checked_mul(1u32.checked_shl(past_free).unwrap_or(u32::MAX))
                .unwrap_or(self.max_delay)
                .min(self.max_delay),
        )
    }
}

/// Per account and per stream: 5 tries, then 1 s, 2 s, 4 s … up to 15 min between tries.
pub const TARGET_POLICY: FailurePolicy = FailurePolicy {
    free_failures: 5,
    first_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
    forget_after: Duration::from_secs(3600),
};

/// Per address: 20 tries (an office behind one NAT mistyping), then the same growing delay.
pub const ADDRESS_POLICY: FailurePolicy = FailurePolicy {
    free_failures: 20,
    ..TARGET_POLICY
};

/// Keys tracked at once per limiter. Past it, keys that no longer hold a delay are dropped
/// first, so a flood of made-up usernames cannot push out a real account's lockout.
const MAX_KEYS: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

/// Failures per key and the delay they earned.
#[derive(Debug)]
pub struct FailureLimiter {
    policy: FailurePolicy,
    entries: Mutex<HashMap<String, Entry>>,
}

impl FailureLimiter {
    pub fn new(policy: FailurePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves counts that are still counts.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` while `key` must wait before its next try.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.entries().get(key) {
            Some(entry) if entry.blocked_until > now => Err(entry.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure of `key`; returns the wait it now has, if any.
    pub fn fail(&self, key: &str, now: Instant) -> Option<Duration> {
        let policy = self.policy;
        let mut entries = self.entries();
        if !entries.contains_key(key) && entries.len() >= MAX_KEYS {
            entries.retain(|_, e| now.duration_since(e.last_failure) < policy.forget_after);
            if entries.len() >= MAX_KEYS {
                entries.retain(|_, e| e.blocked_until > now);
            }
            if entries.len() >= MAX_KEYS {
                // Every slot holds a live lockout: the address limit still applies.
                return None;
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: now,
        });
        if now.duration_since(entry.last_failure) >= policy.forget_after {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        let delay = policy.delay(entry.failures)?;
        entry.blocked_until = now + delay;
        Some(delay)
    }

    /// A counted failure turned out wrong just now: its delay runs from now, not from when
    /// the try was admitted (a slow check must not eat the wait).
    fn confirm(&self, key: &str, now: Instant) {
        let policy = self.policy;
        if let Some(entry) = self.entries().get_mut(key) {
            entry.last_failure = now;
            if let Some(delay) = policy.delay(entry.failures) {
                entry.blocked_until = entry.blocked_until.max(now + delay);
            }
        }
    }

    /// `check` and `fail` under one lock: `Err(wait)`, or the try is counted.
    fn attempt(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if let Some(entry) = self.entries().get(key)
            && entry.blocked_until > now
        {
            return Err(entry.blocked_until - now);
        }
        self.fail(key, now);
        Ok(())
    }

    /// A success: `key`'s failures are forgiven.
    pub fn succeed(&self, key: &str) {
        self.entries().remove(key);
    }

    /// Takes back one counted failure (a try that turned out right, or never got checked);
    /// a delay it set is lifted once the count is back within the free ones.
    pub fn forgive(&self, key: &str) {
        let mut entries = self.entries();
        let Some(entry) = entries.get_mut(key) else {
            return;
        };
        entry.failures = entry.failures.saturating_sub(1);
        if entry.failures == 0 {
            entries.remove(key);
        } else if entry.failures <= self.policy.free_failures {
            entry.blocked_until = entry.last_failure;
        }
    }
}

/// The unit addresses are counted in: an IPv4 address, or an IPv6 /64 (one customer's
/// network; its 2^64 addresses cost nothing to hop between).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Things held open at once per address (connections, WebSockets), up to a cap.
#[derive(Debug, Clone, Default)]
pub struct PerAddress {
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One held slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
    key: IpAddr,
}

impl PerAddress {
    /// A slot for `ip` if it holds fewer than `max`.
    pub fn try_hold(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let key = address_key(ip);
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(key).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            held: self.held.clone(),
            key,
        })
    }

    /// Slots `ip` holds now.
    pub fn held(&self, ip: IpAddr) -> usize {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(&address_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// Connections one address may hold open at once (HTTP keep-alive and WebSockets included).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 128;
/// Event WebSockets one address may hold open at once (a viewer page holds one).
pub const DEFAULT_MAX_WEBSOCKETS_PER_IP: usize = 32;
/// A request's headers must arrive within this; it is also how long an idle keep-alive
/// connection stays open.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The caps a relay enforces per address, from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_connections_per_ip: usize,
    pub max_websockets_per_ip: usize,
    pub header_read_timeout: Duration,
    /// Peers whose `X-Forwarded-For` is believed. Their own address is not held to the
    /// per-address caps: a reverse proxy carries many clients.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            max_websockets_per_ip: DEFAULT_MAX_WEBSOCKETS_PER_IP,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            trusted_proxies: default_trusted_proxies(),
        }
    }
}

/// Loopback: on the relay's own machine the peer is the studio or a reverse proxy.
pub fn default_trusted_proxies() -> Vec<IpAddr> {
    vec![
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ]
}

impl Limits {
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.trusted_proxies
            .iter()
            .any(|p| p.to_canonical() == peer)
    }

    /// The client behind `peer`: the peer itself, or, when the peer is a trusted proxy, the
    /// last address in `X-Forwarded-For` that is not one of our proxies (the ones before it
    /// are whatever the client chose to write).
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in header.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                // Garbage in the chain: stop at the last address a trusted hop vouched for.
                break;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }
}

/// The relay's guards, shared by the HTTP routes and RTMP ingest.
#[derive(Debug)]
pub struct Guards {
    pub limits: Limits,
    /// Failed logins per username.
    pub accounts: FailureLimiter,
    /// Failed publishes per stream name.
    pub streams: FailureLimiter,
    /// Failed logins and publishes per client address.
    pub addresses: FailureLimiter,
    /// Event WebSockets per client address.
    pub websockets: PerAddress,
    /// RTMP connections per peer address.
    pub rtmp_connections: PerAddress,
}

impl Default for Guards {
    fn default() -> Self {
        Self::new(Limits::default(), TARGET_POLICY, ADDRESS_POLICY)
    }
}

/// A credential check that went through [`Guards::admit`].
pub enum Target<'a> {
    Account(&'a str),
    Stream(&'a str),
}

impl Guards {
    pub fn new(limits: Limits, target: FailurePolicy, address: FailurePolicy) -> Self {
        Self {
            limits,
            accounts: FailureLimiter::new(target),
            streams: FailureLimiter::new(target),
            addresses: FailureLimiter::new(address),
            websockets: PerAddress::default(),
            rtmp_connections: PerAddress::default(),
        }
    }

    fn target(&self, target: &Target<'_>) -> (&FailureLimiter, String) {
        // Longer names cannot exist; cutting them keeps the map's keys small.
        let cut = |s: &str| s.chars().take(64).collect::<String>();
        match target {
            Target::Account(name) => (&self.accounts, cut(name)),
            Target::Stream(name) => (&self.streams, cut(name)),
        }
    }

    /// `Err(wait)` while either the target or the address must wait before another try.
    /// An admitted try counts as a failure at once, so that tries sent together cannot all
    /// pass before the first of them has failed; the caller then reports how it ended:
    /// [`Self::failed`], [`Self::succeeded`] or [`Self::unchecked`].
    pub fn admit(&self, target: &Target<'_>, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let (limiter, key) = self.target(target);
        let address = address_key(ip).to_string();
        match (
            limiter.attempt(&key, now),
            self.addresses.attempt(&address, now),
        ) {
            (Ok(()), Ok(())) => Ok(()),
            (Ok(()), Err(wait)) => {
                limiter.forgive(&key);
                Err(wait)
            }
            (Err(wait), Ok(())) => {
                self.addresses.forgive(&address);
                Err(wait)
            }
            (Err(a), Err(b)) => Err(a.max(b)),
        }
    }

    /// The admitted try was wrong: the waits it earned start now.
    pub fn failed(&self, target: &Target<'_>, ip: IpAddr) {
        let now = Instant::now();
        let (limiter, key) = self.target(target);
        limiter.confirm(&key, now);
        self.addresses.confirm(&address_key(ip).to_string(), now);
    }

    /// The admitted try was right: the target starts again from zero, and the address gets
    /// this try back (only this one, or one known account would let an address guess at
    /// every other).
    pub fn succeeded(&self, target: &Target<'_>, ip: IpAddr) {
        let (limiter, key) = self.target(target);
        limiter.succeed(&key);
        self.addresses.forgive(&address_key(ip).to_string());
    }

    /// The admitted try was never checked (the server was busy, storage failed).
    pub fn unchecked(&self, target: &Target<'_>, ip: IpAddr) {
        let (limiter, key) = self.target(target);
        limiter.forgive(&key);
        self.addresses.forgive(&address_key(ip).to_string());
    }
}

/// `Retry-After` in milliseconds for a wait, never 0.
pub fn retry_after_ms(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_starts_after_the_free_failures_and_doubles_up_to_the_cap() {
        let limiter = FailureLimiter::new(TARGET_POLICY);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.fail("boss", t0), None);
            assert!(limiter.check("boss", t0).is_ok());
        }
        let mut delays = Vec::new();
        let mut now = t0;
        for _ in 0..14 {
            let delay = limiter.fail("boss", now).expect("a delay");
            assert_eq!(limiter.check("boss", now), Err(delay));
            delays.push(delay.as_secs());
            now += delay;
            assert!(limiter.check("boss", now).is_ok(), "free again once waited");
        }
        assert_eq!(
            delays,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]
        );
        assert!(limiter.check("someone-else", t0).is_ok());
        limiter.succeed("boss");
        assert_eq!(limiter.fail("boss", now), None, "a success forgives");
    }

    #[test]
    fn tries_count_when_admitted_so_concurrent_ones_cannot_all_pass() {
        let guards = Guards::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let boss = Target::Account("boss");
        // Six admitted before any of them has an answer: the sixth sets the delay.
        for _ in 0..6 {
            assert!(guards.admit(&boss, ip).is_ok());
        }
        assert!(guards.admit(&boss, "192.0.2.2".parse().unwrap()).is_err());
        // A right answer among them clears the account and gives the address its try back.
        guards.succeeded(&boss, ip);
        assert!(guards.admit(&boss, ip).is_ok());
        guards.succeeded(&boss, ip);
        for i in 0..30 {
            let target = Target::Account("someone");
            assert!(guards.admit(&target, ip).is_ok(), "try {i}");
            guards.succeeded(&target, ip);
        }
        // Tries never checked are taken back, delay included.
        let stream = Target::Stream("demo");
        for _ in 0..6 {
            guards.admit(&stream, ip).unwrap();
        }
        assert!(guards.admit(&stream, ip).is_err());
        guards.unchecked(&stream, ip);
        assert!(guards.admit(&stream, ip).is_ok());
    }

    #[test]
    fn failures_are_forgotten_after_an_idle_hour() {
        let limiter = FailureLimiter::new(TARGET_POLICY);
        let t0 = Instant::now();
        for _ in 0..6 {
            limiter.fail("boss", t0);
        }
        let later = t0 + Duration::from_secs(3600);
        assert!(limiter.check("boss", later).is_ok());
        assert_eq!(limiter.fail("boss", later), None, "counting starts again");
    }

    #[test]
    fn many_made_up_keys_do_not_push_out_a_lockout() {
        let limiter = FailureLimiter::new(TARGET_POLICY);
        let t0 = Instant::now();
        for _ in 0..6 {
            limiter.fail("boss", t0);
        }
        for i in 0..MAX_KEYS + 10 {
            limiter.fail(&format!("made-up-{i}"), t0);
        }
        assert!(limiter.check("boss", t0).is_err());
        assert!(limiter.entries().len() <= MAX_KEYS);
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn slots_per_address_are_capped_and_given_back() {
        let slots = PerAddress::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| slots.try_hold(ip, 3).unwrap()).collect();
        assert!(slots.try_hold(ip, 3).is_none());
        assert!(slots.try_hold("192.0.2.2".parse().unwrap(), 3).is_some());
        drop(held);
        assert_eq!(slots.held(ip), 0);
        assert!(slots.try_hold(ip, 3).is_some());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let limits = Limits {
            trusted_proxies: vec!["10.0.0.1".parse().unwrap()],
            ..Limits::default()
        };
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(limits.client_ip(stranger, Some("203.0.113.5")), stranger);
        assert_eq!(limits.client_ip(proxy, Some("203.0.113.5")), client);
        // What the client wrote itself (left of what the proxy appended) is not believed.
        assert_eq!(
            limits.client_ip(proxy, Some("1.2.3.4, 203.0.113.5, 10.0.0.1")),
            client
        );
        assert_eq!(limits.client_ip(proxy, Some("not an ip")), proxy);
        assert_eq!(limits.client_ip(proxy, None), proxy);
    }
}
