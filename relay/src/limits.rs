//! Limits on what one client can do, keyed on what a real buyer cannot multiply cheaply.
//!
//! A viewer token costs nothing, so a limit keyed only on the viewer id is a limit on
//! patience. The keys used instead (README, "Limits"):
//! - the client's address ([`ClientKey::address`]): the socket peer, or the client a trusted
//!   proxy forwarded, IPv6 cut to its /64 since one subscriber gets a whole /64;
//! - the address plus the device id the viewer page keeps in local storage
//!   ([`ClientKey::device_key`]), so a household or an office behind one address still counts
//!   as several buyers; a script inventing device ids is held back by the issuance limit on
//!   viewer tokens per address;
//! - the phone number at checkout (秒杀).
//!
//! [`Gcra`] keeps its state in the database, so the limit holds across several relays on one
//! database; [`Budget`] is per relay, for counters too hot to write per request (likes).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::store::{Conn, Store};

/// The header the viewer page sends its device id in.
pub const DEVICE_HEADER: &str = "x-anchordesk-device";

/// Who is asking, as far as the network tells: the client's address and the page's device id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    ip: IpAddr,
    device: Option<String>,
    /// The address is a trusted proxy's (or the studio's, on this machine) with no client
    /// named behind it: it stands for everyone, so nothing is counted per address.
    shared: bool,
}

impl ClientKey {
    /// A client at `ip` (already resolved through trusted proxies).
    pub fn new(ip: IpAddr, device: Option<&str>) -> Self {
        Self::resolved(ip, device, false)
    }

    /// A request from a trusted proxy that named no client (see [`Self::shared`]).
    pub fn behind_proxy(ip: IpAddr, device: Option<&str>) -> Self {
        Self::resolved(ip, device, true)
    }

    fn resolved(ip: IpAddr, device: Option<&str>, shared: bool) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut segments = v6.segments();
                    segments[4..].fill(0);
                    IpAddr::V6(Ipv6Addr::from(segments))
                }
            },
            v4 => v4,
        };
        let device = device
            .filter(|d| {
                (8..=64).contains(&d.len())
                    && d.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(str::to_owned);
        Self { ip, device, shared }
    }

    /// The address (an IPv6 /64) to count per, unless it stands for everyone.
    pub fn address(&self) -> Option<String> {
        (!self.shared).then(|| self.ip.to_string())
    }

    /// Address and device id; the address alone when the page sent no usable id; the device
    /// alone behind a proxy that named no client; nothing to count on without either.
    pub fn device_key(&self) -> Option<String> {
        match (&self.device, self.shared) {
            (Some(device), false) => Some(format!("{}#{device}", self.ip)),
            (None, false) => Some(self.ip.to_string()),
            (Some(device), true) => Some(format!("proxy#{device}")),
            (None, true) => None,
        }
    }
}

/// A GCRA limit ("`burst` at once, then one per `period_ms`") on a key, stored in the
/// `rate_limits` table: one conditional upsert per request, so relays sharing a database
/// share the limit and two requests racing cannot both take the last slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    pub burst: i64,
    pub period_ms: i64,
}

/// Rows whose time has passed are deleted every this many checks (by whichever relay).
const PURGE_EVERY: u64 = 1000;
static CHECKS: AtomicU64 = AtomicU64::new(0);

impl Gcra {
    /// Takes one slot for `key` at `now_ms`, or says how long until one is free.
    pub async fn check(&self, store: &Store, key: &str, now_ms: i64) -> Result<()> {
        store
            .small_write(async |conn: &mut Conn| self.check_in(conn, key, now_ms).await)
            .await
    }

    /// [`Self::check`] on the caller's connection (inside its [`Store::small_write`]).
    pub async fn check_in(&self, conn: &mut Conn, key: &str, now_ms: i64) -> Result<()> {
        // The theoretical arrival time (tat) moves one period per request; a request passes
        // while tat is at most `tolerance` ahead of now. CASE, not greatest()/max(): SQLite
        // and PostgreSQL spell those differently.
        let tolerance = self.period_ms * (self.burst - 1);
        let passed: Option<i64> = sqlx::query_scalar(
            "insert into rate_limits (limit_key, tat_ms) values ($1, $2 + $3) \
             on conflict (limit_key) do update set tat_ms = \
             case when rate_limits.tat_ms > $2 then rate_limits.tat_ms else $2 end + $3 \
             where rate_limits.tat_ms <= $2 + $4 returning tat_ms",
        )
        .bind(key)
        .bind(now_ms)
        .bind(self.period_ms)
        .bind(tolerance)
        .fetch_optional(&mut *conn)
        .await?;
        purge_now_and_then(conn, now_ms, 1).await;
        if passed.is_some() {
            return Ok(());
        }
        let tat: i64 = sqlx::query_scalar("select tat_ms from rate_limits where limit_key = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(now_ms);
        let wait = tat.saturating_sub(now_ms).saturating_sub(tolerance).max(1);
        Err(Error::TooManyRequests {
            retry_after_ms: u64::try_from(wait).unwrap_or(1),
        })
    }
}

impl Gcra {
    /// [`Self::check_in`]'s rule on a key's stored time (`None`: no row): the new time when a
    /// slot is free, else how long until one is (ms). For a writer that holds the write lock
    /// and reads the rows itself.
    pub fn admit(&self, tat_ms: Option<i64>, now_ms: i64) -> std::result::Result<i64, u64> {
        let tolerance = self.period_ms * (self.burst - 1);
        match tat_ms {
            Some(tat) if tat > now_ms + tolerance => {
                Err(u64::try_from(tat - now_ms - tolerance).unwrap_or(1).max(1))
            }
            Some(tat) => Ok(tat.max(now_ms) + self.period_ms),
            None => Ok(now_ms + self.period_ms),
        }
    }
}

/// Deletes the limits whose time has passed, once every [`PURGE_EVERY`] checks (`checks` is
/// how many this caller made). Failure is harmless: the next purge tries again.
pub async fn purge_now_and_then(conn: &mut Conn, now_ms: i64, checks: u64) {
    let before = CHECKS.fetch_add(checks, Ordering::Relaxed);
    if before / PURGE_EVERY != (before + checks) / PURGE_EVERY {
        let _ = sqlx::query("delete from rate_limits where tat_ms < $1")
            .bind(now_ms)
            .execute(&mut *conn)
            .await;
    }
}

/// A per-key allowance of `per_sec` units a second, saved up to `cap`, kept in memory: a
/// request may ask for many units (a batch of likes) and gets what is left.
#[derive(Debug)]
pub struct Budget {
    per_sec: f64,
    cap: f64,
    keys: Mutex<HashMap<i64, (f64, Instant)>>,
}

/// Past this many keys, the ones whose allowance is full again are forgotten.
const BUDGET_KEYS: usize = 10_000;

impl Budget {
    pub fn new(per_sec: u32, cap: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec),
            cap: f64::from(cap),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Takes up to `wanted` units for `key`; returns how many it got (0 when spent).
    pub fn take(&self, key: i64, wanted: i64, now: Instant) -> i64 {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() > BUDGET_KEYS {
            let full_after = self.cap / self.per_sec;
            keys.retain(|_, (_, last)| {
                now.saturating_duration_since(*last).as_secs_f64() < full_after
            });
        }
        let (left, last) = keys.entry(key).or_insert((self.cap, now));
        let earned = now.saturating_duration_since(*last).as_secs_f64() * self.per_sec;
        *left = (*left + earned).min(self.cap);
        *last = now;
        let got = (wanted.max(0) as f64).min(left.floor());
        *left -= got;
        got as i64
    }
}

/// How many viewer sockets of one address count towards a live's audience.
pub const WATCHERS_PER_IP: usize = 4;

/// Sockets counted per (address, live); a socket past [`WATCHERS_PER_IP`] still gets its
/// events but does not count as a viewer, so one client cannot inflate the number.
#[derive(Debug, Default, Clone)]
pub struct Watchers {
    counts: Arc<Mutex<HashMap<(String, i64), usize>>>,
}

/// Held while a socket counts; dropping it frees the slot.
#[derive(Debug)]
pub struct WatcherSlot {
    counts: Arc<Mutex<HashMap<(String, i64), usize>>>,
    /// `None` for a socket with no address to count on.
    key: Option<(String, i64)>,
}

impl Watchers {
    /// A slot for one more counted socket, or `None` when the address has its share. Sockets
    /// with no address to count on all count.
    pub fn enter(&self, client: &ClientKey, live_id: i64) -> Option<WatcherSlot> {
        let Some(address) = client.address() else {
            return Some(WatcherSlot {
                counts: self.counts.clone(),
                key: None,
            });
        };
        let key = (address, live_id);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(key.clone()).or_default();
        if *count >= WATCHERS_PER_IP {
            return None;
        }
        *count += 1;
        Some(WatcherSlot {
            counts: self.counts.clone(),
            key: Some(key),
        })
    }
}

impl Drop for WatcherSlot {
    fn drop(&mut self) {
        let Some(key) = &self.key else { return };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(key);
            }
        }
    }
}

/// Who counts as one asker in an in-memory tally keyed on `i64`: the address, or the viewer
/// when there is no address to count on.
pub fn asker_tag(client: &ClientKey, viewer_id: i64) -> i64 {
    use sha2::{Digest, Sha256};
    let Some(address) = client.address() else {
        return viewer_id;
    };
    let digest = Sha256::digest(address.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    // Negative, so a tag never equals a viewer id.
    i64::from_le_bytes(bytes) | i64::MIN
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The batch writer's rule in Rust and the upsert in SQL agree on every request of a
    /// sequence that bursts, waits, and bursts again.
    #[tokio::test]
    async fn the_rule_in_rust_decides_as_the_upsert_in_sql() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &dir.path().join("t.db"))
            .await
            .unwrap();
        let limit = Gcra {
            burst: 3,
            period_ms: 2_000,
        };
        let mut tat = None;
        for now in [
            0, 1, 2, 3, 500, 2_100, 2_200, 4_100, 9_000, 9_001, 9_002, 9_003,
        ] {
            let sql = limit.check(&store, "k", now).await;
            let rust = limit.admit(tat, now);
            match (&sql, rust) {
                (Ok(()), Ok(next)) => tat = Some(next),
                (Err(Error::TooManyRequests { retry_after_ms }), Err(wait)) => {
                    assert_eq!(*retry_after_ms, wait, "at {now}")
                }
                _ => panic!("at {now}: sql {sql:?}, rust {rust:?}"),
            }
            let stored: i64 =
                sqlx::query_scalar("select tat_ms from rate_limits where limit_key = 'k'")
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
            assert_eq!(Some(stored), tat, "at {now}");
        }
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let a = ClientKey::new("2001:db8:1:2:aaaa::1".parse().unwrap(), None);
        let b = ClientKey::new("2001:db8:1:2:bbbb::9".parse().unwrap(), None);
        assert_eq!(a.address(), b.address());
        let mapped = ClientKey::new("::ffff:10.0.0.7".parse().unwrap(), None);
        assert_eq!(mapped.address().as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn a_device_id_must_look_like_one() {
        let ip = "10.0.0.7".parse().unwrap();
        let key = |device| ClientKey::new(ip, device).device_key();
        assert_eq!(
            key(Some("dev-0123456789")).as_deref(),
            Some("10.0.0.7#dev-0123456789")
        );
        assert_eq!(key(Some("short")).as_deref(), Some("10.0.0.7"));
        assert_eq!(key(Some("has spaces in it")).as_deref(), Some("10.0.0.7"));
        let local = "127.0.0.1".parse().unwrap();
        let proxied = ClientKey::behind_proxy(local, None);
        assert_eq!((proxied.address(), proxied.device_key()), (None, None));
        assert_eq!(
            ClientKey::behind_proxy(local, Some("dev-0123456789"))
                .device_key()
                .as_deref(),
            Some("proxy#dev-0123456789")
        );
    }

    #[test]
    fn a_budget_hands_out_what_is_saved_and_earns_per_second() {
        let budget = Budget::new(20, 100);
        let t0 = Instant::now();
        assert_eq!(budget.take(1, 100, t0), 100);
        assert_eq!(budget.take(1, 100, t0), 0);
        assert_eq!(budget.take(1, 100, t0 + Duration::from_secs(1)), 20);
        assert_eq!(budget.take(2, 30, t0), 30, "keys are independent");
        assert_eq!(budget.take(3, -5, t0), 0);
    }

    #[test]
    fn watchers_past_the_cap_do_not_count_and_slots_come_back() {
        let watchers = Watchers::default();
        let client = ClientKey::new("10.0.0.7".parse().unwrap(), None);
        let slots: Vec<_> = (0..WATCHERS_PER_IP)
            .map(|_| watchers.enter(&client, 1).expect("within the cap"))
            .collect();
        assert!(watchers.enter(&client, 1).is_none());
        assert!(watchers.enter(&client, 2).is_some(), "per live");
        drop(slots);
        assert!(watchers.enter(&client, 1).is_some());
        let studio = ClientKey::behind_proxy("127.0.0.1".parse().unwrap(), None);
        let studios: Vec<_> = (0..10).map(|_| watchers.enter(&studio, 1)).collect();
        assert!(
            studios.iter().all(Option::is_some),
            "no address: every socket counts"
        );
    }
}
