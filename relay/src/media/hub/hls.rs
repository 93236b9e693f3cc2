//! HLS viewers: who fetched a stream's playlist lately (an estimate; a CDN in front counts as one).

use super::*;

/// An HLS client counts as watching for this long after its last playlist fetch (players
/// reload the live playlist about every segment).
const HLS_CLIENT_WINDOW: Duration =
    Duration::from_secs(3 * crate::media::packager::SEGMENT_SECONDS as u64);

/// HLS clients remembered at once, over all streams (~100 bytes each).
const MAX_HLS_CLIENTS: usize = 200_000;

impl MediaHub {
    /// Records that `client` fetched the stream's HLS playlist now.
    pub fn note_hls_client(&self, stream: &str, client: String) {
        let mut guard = self.inner.hls_clients.lock().expect("not poisoned");
        let (clients, pruned) = &mut *guard;
        // Every player fetches the playlist every couple of seconds: sweeping the whole map
        // on each fetch would cost O(clients) per request.
        if pruned.elapsed() >= Duration::from_secs(1) {
            clients.retain(|_, seen| seen.elapsed() < HLS_CLIENT_WINDOW);
            *pruned = Instant::now();
        }
        // Clients name themselves (a player token): a flood of new names must not grow the
        // table without bound. Past the cap, new names are not counted until old ones expire.
        let key = (stream.to_owned(), client);
        if clients.len() < MAX_HLS_CLIENTS || clients.contains_key(&key) {
            clients.insert(key, Instant::now());
        }
    }

    /// HLS clients that fetched the playlist recently: an estimate (one per address and
    /// browser; a CDN in front shows as one).
    pub fn hls_viewers(&self, stream: &str) -> usize {
        self.inner
            .hls_clients
            .lock()
            .expect("not poisoned")
            .0
            .iter()
            .filter(|((s, _), seen)| s == stream && seen.elapsed() < HLS_CLIENT_WINDOW)
            .count()
    }
}
