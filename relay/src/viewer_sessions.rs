//! Viewer sessions this relay has checked lately.
//!
//! A viewer in a busy live sends requests in bursts (comments, likes, a cart, an order), and
//! each one read its session from the database: at 500 comments a second that read was one
//! of the round trips that made a comment cost the relay about a millisecond. A session seen
//! within [`VIEWER_SESSION_TTL`] is taken from here instead.
//!
//! Only viewers: a staff token's role and its revocation must take effect at once, and staff
//! send few requests. A viewer's logout on this relay forgets the token at once; on another
//! relay of a cluster it takes effect within the TTL. Only tokens that were valid are kept, so
//! a client guessing tokens still meets the database (and the failed-credential delays) on
//! every try.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Principal;

/// How long a checked viewer session is trusted without reading it again.
pub const VIEWER_SESSION_TTL: Duration = Duration::from_secs(2);

/// Past this many sessions, expired ones are dropped (and if none are, all of them): memory
/// stays bounded however many viewers come and go.
const MAX_SESSIONS: usize = 20_000;

#[derive(Debug, Default)]
pub struct ViewerSessions {
    /// Token hash → the viewer and until when the entry may be used.
    seen: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl ViewerSessions {
    /// The viewer behind this token hash, if checked within the TTL.
    pub fn get(&self, token_hash: &str, now: Instant) -> Option<Principal> {
        let seen = self.lock();
        let (principal, until) = seen.get(token_hash)?;
        (now < *until).then(|| principal.clone())
    }

    /// Remembers a session just read from the database, until the TTL or the session's own
    /// expiry (`expires_in`), whichever comes first. Staff principals are not kept.
    pub fn remember(
        &self,
        token_hash: String,
        principal: &Principal,
        expires_in: Duration,
        now: Instant,
    ) {
        if principal.is_staff() {
            return;
        }
        let until = now + expires_in.min(VIEWER_SESSION_TTL);
        let mut seen = self.lock();
        if seen.len() >= MAX_SESSIONS && !seen.contains_key(&token_hash) {
            seen.retain(|_, (_, until)| *until > now);
            if seen.len() >= MAX_SESSIONS {
                seen.clear();
            }
        }
        seen.insert(token_hash, (principal.clone(), until));
    }

    /// Drops a session (its token was revoked here).
    pub fn forget(&self, token_hash: &str) {
        self.lock().remove(token_hash);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Principal, Instant)>> {
        // The map holds no invariant a panic could break half-way.
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn viewer(id: i64) -> Principal {
        Principal::Viewer {
            id,
            nickname: format!("观众{id}"),
        }
    }

    #[test]
    fn a_viewer_session_is_kept_for_the_ttl_and_no_longer() {
        let sessions = ViewerSessions::default();
        let now = Instant::now();
        sessions.remember("h1".into(), &viewer(1), Duration::from_secs(3600), now);
        assert_eq!(sessions.get("h1", now), Some(viewer(1)));
        assert_eq!(sessions.get("h1", now + VIEWER_SESSION_TTL), None);
        assert_eq!(sessions.get("h2", now), None);
    }

    #[test]
    fn a_session_about_to_expire_is_kept_only_until_it_expires() {
        let sessions = ViewerSessions::default();
        let now = Instant::now();
        sessions.remember("h1".into(), &viewer(1), Duration::from_millis(100), now);
        assert!(
            sessions
                .get("h1", now + Duration::from_millis(99))
                .is_some()
        );
        assert!(
            sessions
                .get("h1", now + Duration::from_millis(100))
                .is_none()
        );
    }

    #[test]
    fn staff_sessions_are_never_kept_and_a_forgotten_one_is_gone() {
        let sessions = ViewerSessions::default();
        let now = Instant::now();
        let staff = Principal::Staff {
            id: 1,
            username: "boss".into(),
            role: Role::Owner,
        };
        sessions.remember("s".into(), &staff, Duration::from_secs(3600), now);
        assert_eq!(sessions.get("s", now), None);
        sessions.remember("h1".into(), &viewer(1), Duration::from_secs(3600), now);
        sessions.forget("h1");
        assert_eq!(sessions.get("h1", now), None);
    }

    #[test]
    fn memory_stays_bounded_however_many_viewers_come() {
        let sessions = ViewerSessions::default();
        let now = Instant::now();
        for i in 0..(MAX_SESSIONS as i64 + 10) {
            sessions.remember(format!("h{i}"), &viewer(i), Duration::from_secs(3600), now);
        }
        assert!(sessions.lock().len() <= MAX_SESSIONS);
        // The newest is there: a full map makes room rather than refusing.
        let last = format!("h{}", MAX_SESSIONS as i64 + 9);
        assert!(sessions.get(&last, now).is_some());
    }
}
