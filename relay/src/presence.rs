//! Who is watching: viewer event sockets per live, now and at peak.
//!
//! Each relay counts its own sockets in memory (a restart starts counting again, which is
//! also when every viewer reconnects). Several relays on one PostgreSQL database add theirs up
//! through the database ([`Presence::sync`]): each writes its own count per live with a
//! heartbeat, and reads the others' fresh rows; the peak is kept there too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::store::Store;

/// A relay's row not refreshed for this long belongs to a relay that is gone.
pub const STALE_AFTER_MS: i64 = 5_000;

#[derive(Debug, Default, Clone)]
pub struct Presence {
    lives: Arc<Mutex<HashMap<i64, Counts>>>,
    /// Per live: viewers on the other relays of the cluster and the cluster's peak, as last
    /// read from the database. Empty on a single relay.
    others: Arc<Mutex<HashMap<i64, Others>>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Others {
    now: i64,
    peak: i64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub now: i64,
    pub peak: i64,
    /// Changed since the last [`Presence::take_changed`].
    changed: bool,
}

/// Held by a viewer's socket; dropping it counts the viewer out.
#[derive(Debug)]
pub struct Watching {
    presence: Presence,
    live_id: i64,
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut lives = self.presence.lock();
        if let Some(counts) = lives.get_mut(&self.live_id) {
            counts.now = (counts.now - 1).max(0);
            counts.changed = true;
        }
    }
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Counts>> {
        self.lives.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn join(&self, live_id: i64) -> Watching {
        let mut lives = self.lock();
        let counts = lives.entry(live_id).or_default();
        counts.now += 1;
        counts.peak = counts.peak.max(counts.now);
        counts.changed = true;
        Watching {
            presence: self.clone(),
            live_id,
        }
    }

    /// This relay's viewers plus, in a cluster, the other relays' (as of the last sync).
    pub fn counts(&self, live_id: i64) -> Counts {
        let local = self.lock().get(&live_id).copied().unwrap_or_default();
        let others = self.others().get(&live_id).copied().unwrap_or_default();
        let now = local.now + others.now;
        Counts {
            now,
            peak: local.peak.max(others.peak).max(now),
            changed: local.changed,
        }
    }

    fn others(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Others>> {
        self.others.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shares this relay's counts with the others on the same database and reads theirs:
    /// writes a heartbeat row per live this relay has (or just had) viewers of, then the sum
    /// of the other relays' fresh rows and the cluster's peak. Returns the lives whose count
    /// changed here, with the cluster's counts, for a `viewers` event (each relay announces
    /// the changes it saw, so a change is announced once).
    pub async fn sync(
        &self,
        store: &Store,
        relay_id: &str,
        now_ms: i64,
    ) -> Result<Vec<(i64, Counts)>> {
        let changed = self.take_changed();
        // Heartbeats for every live with viewers here; a count that fell to 0 removes the row.
        let mut local: HashMap<i64, i64> = self
            .lock()
            .iter()
            .filter(|(_, c)| c.now > 0)
            .map(|(live, c)| (*live, c.now))
            .collect();
        local.extend(changed.iter().map(|(live, c)| (*live, c.now)));
        for (live_id, now) in &local {
            if *now > 0 {
                sqlx::query(
                    "insert into relay_presence (relay_id, live_id, viewers, updated_at_ms) \
                     values ($1, $2, $3, $4) on conflict (relay_id, live_id) \
                     do update set viewers = excluded.viewers, updated_at_ms = excluded.updated_at_ms",
                )
                .bind(relay_id)
                .bind(live_id)
                .bind(now)
                .bind(now_ms)
                .execute(store.pool())
                .await?;
            } else {
                sqlx::query("delete from relay_presence where relay_id = $1 and live_id = $2")
                    .bind(relay_id)
                    .bind(live_id)
                    .execute(store.pool())
                    .await?;
            }
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "select live_id, cast(sum(viewers) as bigint) from relay_presence \
             where relay_id <> $1 and updated_at_ms > $2 group by live_id",
        )
        .bind(relay_id)
        .bind(now_ms - STALE_AFTER_MS)
        .fetch_all(store.pool())
        .await?;
        let previous = self.others().clone();
        let mut others: HashMap<i64, Others> = rows
            .into_iter()
            .map(|(live, now)| {
                let peak = previous.get(&live).map_or(0, |p| p.peak);
                (live, Others { now, peak })
            })
            .collect();
        let changed: HashMap<i64, Counts> = changed.into_iter().collect();
        let lives: std::collections::BTreeSet<i64> =
            local.keys().chain(others.keys()).copied().collect();
        let mut announce = Vec::with_capacity(changed.len());
        for live_id in lives {
            let here = local.get(&live_id).copied().unwrap_or_default();
            let entry = others.entry(live_id).or_default();
            let now = here + entry.now;
            // The cluster's peak is the highest total any relay saw: raise it whenever this
            // relay sees a new high, and read it back for every change it announces.
            if now > entry.peak || changed.contains_key(&live_id) {
                entry.peak = sqlx::query_scalar(
                    "insert into live_viewer_peaks (live_id, peak) values ($1, $2) \
                     on conflict (live_id) do update set peak = case when excluded.peak > live_viewer_peaks.peak \
                     then excluded.peak else live_viewer_peaks.peak end returning peak",
                )
                .bind(live_id)
                .bind(now)
                .fetch_one(store.pool())
                .await?;
            }
            if changed.contains_key(&live_id) {
                announce.push((
                    live_id,
                    Counts {
                        now,
                        peak: entry.peak,
                        changed: false,
                    },
                ));
            }
        }
        *self.others() = others;
        Ok(announce)
    }

    /// Lives whose counts changed since the last call, with their counts now.
    pub fn take_changed(&self) -> Vec<(i64, Counts)> {
        let mut lives = self.lock();
        lives
            .iter_mut()
            .filter(|(_, c)| c.changed)
            .map(|(live, c)| {
                c.changed = false;
                (*live, *c)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_now_and_peak_as_viewers_come_and_go() {
        let presence = Presence::default();
        let a = presence.join(1);
        let b = presence.join(1);
        let _other_live = presence.join(2);
        let now_peak = |live| {
            let c = presence.counts(live);
            (c.now, c.peak)
        };
        assert_eq!(now_peak(1), (2, 2));
        assert_eq!(presence.take_changed().len(), 2);
        assert!(presence.take_changed().is_empty(), "reported once");
        drop(a);
        assert_eq!(now_peak(1), (1, 2));
        drop(b);
        assert_eq!(now_peak(1), (0, 2));
        assert_eq!(
            presence
                .take_changed()
                .iter()
                .map(|(l, _)| *l)
                .collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(now_peak(2), (1, 1));
        assert_eq!(now_peak(3), (0, 0));
    }
}
