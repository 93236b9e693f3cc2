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

    pub fn counts(&self, live_id: i64) -> Counts {
        self.lock().get(&live_id).copied().unwrap_or_default()
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
