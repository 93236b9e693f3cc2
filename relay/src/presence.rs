//! Who is watching: viewer event sockets per live, now and at peak. In memory: a restart
//! starts counting again, which is also when every viewer reconnects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone)]
pub struct Presence {
    lives: Arc<Mutex<HashMap<i64, Counts>>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub now: i64,
    pub peak: i64,
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
        Watching {
            presence: self.clone(),
            live_id,
        }
    }

    pub fn counts(&self, live_id: i64) -> Counts {
        self.lock().get(&live_id).copied().unwrap_or_default()
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
        assert_eq!(presence.counts(1), Counts { now: 2, peak: 2 });
        drop(a);
        assert_eq!(presence.counts(1), Counts { now: 1, peak: 2 });
        drop(b);
        assert_eq!(presence.counts(1), Counts { now: 0, peak: 2 });
        assert_eq!(presence.counts(2).now, 1);
        assert_eq!(presence.counts(3), Counts::default());
    }
}
