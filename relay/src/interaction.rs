//! Comments (弹幕) and likes. A comment is stored when it is posted (so an acknowledged
//! comment is never lost); the events that carry comments and likes to clients are batched:
//! every [`FLUSH_INTERVAL`] each live with something new gets one `comments` event and one
//! `likes` event (the running total), however many arrived in between.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::assist::{self, AskTracker, CartEntry};
use crate::comment_writer::{CommentRow, CommentWriter, Stored};
use crate::commerce::{lives, pin_rules};
use crate::error::{Error, Result, check_range, check_text, now_ms};
use crate::events::{self, EventHub, LiveEvent};
use crate::limits::{Budget, ClientKey, Gcra, Watchers, asker_tag};
use crate::store::Store;

pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
const MAX_COMMENT_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Comment {
    pub id: i64,
    pub live_id: i64,
    pub viewer_id: i64,
    pub nickname: String,
    pub body: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewComment {
    pub body: String,
}

/// Taps since the client last reported (clients batch their own taps too).
#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewLikes {
    pub count: i64,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct MuteRequest {
    /// 0 lifts the mute.
    pub minutes: i64,
}

/// What happens to a comment containing a configured sensitive word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterMode {
    /// Replace each character of the word with ＊ and post the rest.
    #[default]
    Mask,
    /// Refuse the comment with a 422 naming `body`.
    Reject,
}

#[derive(Debug, Clone, Default)]
pub struct WordFilter {
    /// Each word as [`normalized`] reads it.
    words: Vec<Vec<char>>,
    mode: FilterMode,
}

/// Invisible characters a viewer can put inside a word without changing how it reads:
/// soft hyphen, zero-width spaces and joiners, direction marks, variation selectors, BOM.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Han, kana and hangul: scripts written without spaces, so a space or a dot between two
/// of their characters is padding, not a word break.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3FFFF}')
}

/// `text` as the filter compares it, with the index in `text.chars()` each character came
/// from: NFKC per character (full-width and circled forms read as plain ones), lower case,
/// invisible characters dropped, and anything but letters and digits dropped between two
/// CJK characters (`微 信`, `微.信`, `加 我`).
fn normalized(text: &str) -> Vec<(char, usize)> {
    use unicode_normalization::UnicodeNormalization;
    let mut out: Vec<(char, usize)> = Vec::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        if is_invisible(c) {
            continue;
        }
        let mut buf = [0u8; 4];
        for n in c.encode_utf8(&mut buf).nfkc().flat_map(char::to_lowercase) {
            if !is_invisible(n) {
                out.push((n, i));
            }
        }
    }
    let mut kept: Vec<(char, usize)> = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        let (c, _) = out[i];
        if c.is_alphanumeric() {
            kept.push(out[i]);
            i += 1;
            continue;
        }
        let run_end = (i..out.len())
            .find(|&j| out[j].0.is_alphanumeric())
            .unwrap_or(out.len());
        let between_cjk = kept.last().is_some_and(|(p, _)| is_cjk(*p))
            && out.get(run_end).is_some_and(|(n, _)| is_cjk(*n));
        if !between_cjk {
            kept.extend_from_slice(&out[i..run_end]);
        }
        i = run_end;
    }
    kept
}

impl WordFilter {
    pub fn new(words: impl IntoIterator<Item = String>, mode: FilterMode) -> Self {
        let mut words: Vec<Vec<char>> = words
            .into_iter()
            .map(|w| {
                normalized(&w)
                    .into_iter()
                    .map(|(c, _)| c)
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        // Longest first, so "加微信号" is masked whole before "微信" matches inside it.
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        Self { words, mode }
    }

    /// Masks (or refuses) every configured word however it is spelt out; the mask covers the
    /// span of the original text the word was read from, padding included.
    pub fn apply(&self, text: &str) -> Result<String> {
        if self.words.is_empty() {
            return Ok(text.to_owned());
        }
        let seen = normalized(text);
        let mut masked = vec![false; text.chars().count()];
        for word in &self.words {
            let mut at = 0;
            while at + word.len() <= seen.len() {
                let hit = seen[at..at + word.len()]
                    .iter()
                    .zip(word)
                    .all(|((c, _), w)| c == w);
                if !hit {
                    at += 1;
                    continue;
                }
                if self.mode == FilterMode::Reject {
                    return Err(Error::invalid(
                        "body",
                        "contains a word this shop does not allow",
                    ));
                }
                let (first, last) = (seen[at].1, seen[at + word.len() - 1].1);
                masked[first..=last].fill(true);
                at += word.len();
            }
        }
        Ok(text
            .chars()
            .zip(&masked)
            .map(|(c, m)| if *m { '＊' } else { c })
            .collect())
    }
}

#[derive(Debug, Default)]
struct Pending {
    /// Each with a tag of the address it came from ("pin when asked" counts addresses).
    comments: Vec<(Comment, i64)>,
    likes: i64,
}

/// A viewer may send 3 comments at once, then one every 2 s.
pub const COMMENTS_PER_VIEWER: Gcra = Gcra {
    burst: 3,
    period_ms: 2_000,
};
/// One address (a household, an office) may send 30 at once, then 2 a second.
pub const COMMENTS_PER_ADDRESS: Gcra = Gcra {
    burst: 30,
    period_ms: 500,
};
/// Likes counted per viewer: a batch of up to 100 taps at once, then 20 a second; the rest
/// are dropped (a thumb does not tap faster).
const LIKES_PER_SEC: u32 = 20;
const LIKES_SAVED: u32 = 100;
/// Product-card opens counted per viewer: 10 at once, then 2 a second.
const CLICKS_PER_SEC: u32 = 2;
const CLICKS_SAVED: u32 = 10;

/// Comments and likes of all lives, with their batching.
#[derive(Debug)]
pub struct Interaction {
    store: Store,
    events: EventHub,
    filter: WordFilter,
    comments: CommentWriter,
    pending: Mutex<HashMap<i64, Pending>>,
    asks: Mutex<AskTracker>,
    likes: Budget,
    clicks: Budget,
    /// Viewer sockets counted per address (see [`crate::limits::Watchers`]).
    pub watchers: Watchers,
}

impl Interaction {
    pub fn new(store: Store, events: EventHub, filter: WordFilter) -> Self {
        Self {
            comments: CommentWriter::new(store.clone()),
            store,
            events,
            filter,
            pending: Mutex::new(HashMap::new()),
            asks: Mutex::new(AskTracker::default()),
            likes: Budget::new(LIKES_PER_SEC, LIKES_SAVED),
            clicks: Budget::new(CLICKS_PER_SEC, CLICKS_SAVED),
            watchers: Watchers::default(),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn check_open_live(&self, live_id: i64) -> Result<()> {
        let mut conn = self.store.pool().acquire().await?;
        lives::require_open(&mut conn, live_id).await
    }

    pub async fn post_comment(
        &self,
        live_id: i64,
        viewer_id: i64,
        client: &ClientKey,
        req: &NewComment,
    ) -> Result<Comment> {
        let body = req.body.trim();
        check_text("body", body, 1, MAX_COMMENT_CHARS)?;
        // The words first: a refused body costs no database work.
        let body = self.filter.apply(body)?;
        let now = now_ms();
        let Stored { id, nickname } = self
            .comments
            .write(CommentRow {
                live_id,
                viewer_id,
                body: body.clone(),
                created_at_ms: now,
                client_ip: client.address(),
            })
            .await?;
        let comment = Comment {
            id,
            live_id,
            viewer_id,
            nickname,
            body,
            created_at_ms: now,
        };
        self.pending()
            .entry(live_id)
            .or_default()
            .comments
            .push((comment.clone(), asker_tag(client, viewer_id)));
        Ok(comment)
    }

    /// Counts a viewer's taps, up to their allowance; returns how many counted.
    pub async fn like(&self, live_id: i64, viewer_id: i64, req: &NewLikes) -> Result<i64> {
        check_range("count", req.count, 1, 100)?;
        self.check_open_live(live_id).await?;
        let counted = self.likes.take(viewer_id, req.count, Instant::now());
        if counted > 0 {
            self.pending().entry(live_id).or_default().likes += counted;
        }
        Ok(counted)
    }

    /// Whether a viewer's product-card open counts (within their allowance).
    pub fn click_counts(&self, viewer_id: i64) -> bool {
        self.clicks.take(viewer_id, 1, Instant::now()) == 1
    }

    /// Writes one event per kind per live for everything since the last flush.
    pub async fn flush(&self) -> Result<usize> {
        let batch = std::mem::take(&mut *self.pending());
        let mut published = 0;
        for (live_id, mut pending) in batch {
            let mut tx = self.store.begin_write().await?;
            let mut out = Vec::new();
            if !pending.comments.is_empty() {
                // Hidden between posting and now (by staff, or a mute), maybe on another relay:
                // under the write lock, so no hide can slip in before the event is written.
                let first = pending
                    .comments
                    .iter()
                    .map(|(c, _)| c.id)
                    .min()
                    .unwrap_or(0);
                let hidden: Vec<i64> = sqlx::query_scalar(
                    "select id from comments where live_id = $1 and id >= $2 and hidden = 1",
                )
                .bind(live_id)
                .bind(first)
                .fetch_all(&mut *tx)
                .await?;
                pending.comments.retain(|(c, _)| !hidden.contains(&c.id));
            }
            if !pending.comments.is_empty() {
                let comments: Vec<&Comment> = pending.comments.iter().map(|(c, _)| c).collect();
                out.push(
                    events::append(
                        &mut tx,
                        live_id,
                        LiveEvent::Comments {
                            comments: comments.into_iter().cloned().collect(),
                        },
                    )
                    .await?,
                );
                for (entry, viewers) in self.asked(&mut tx, live_id, &pending.comments).await? {
                    let product_id = entry.product_id;
                    out.push(
                        events::append(
                            &mut tx,
                            live_id,
                            LiveEvent::AssistSuggested {
                                product_id: entry.product_id,
                                position: entry.position,
                                title: entry.title,
                                viewers: viewers as i64,
                                window_s: assist::ASK_WINDOW_MS / 1000,
                            },
                        )
                        .await?,
                    );
                    out.extend(pin_rules::after_asked(&mut tx, live_id, product_id).await?);
                }
            }
            if pending.likes > 0 {
                let total: i64 = sqlx::query_scalar(
                    "insert into live_likes (live_id, total) values ($1, $2) \
                     on conflict (live_id) do update set total = live_likes.total + excluded.total returning total",
                )
                .bind(live_id)
                .bind(pending.likes)
                .fetch_one(&mut *tx)
                .await?;
                out.push(
                    events::append(
                        &mut tx,
                        live_id,
                        LiveEvent::Likes {
                            total,
                            delta: pending.likes,
                        },
                    )
                    .await?,
                );
            }
            tx.commit().await?;
            published += out.len();
            self.events.publish(out);
        }
        Ok(published)
    }

    /// The cart products enough viewers just asked about, with how many asked.
    async fn asked(
        &self,
        conn: &mut crate::store::Conn,
        live_id: i64,
        comments: &[(Comment, i64)],
    ) -> Result<Vec<(CartEntry, usize)>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "select lp.position, p.id, p.title from live_products lp \
             join products p on p.id = lp.product_id where lp.live_id = $1",
        )
        .bind(live_id)
        .fetch_all(&mut *conn)
        .await?;
        let cart: Vec<CartEntry> = rows
            .into_iter()
            .map(|(position, product_id, title)| CartEntry {
                position,
                product_id,
                title,
            })
            .collect();
        let mut asks = self.asks.lock().unwrap_or_else(|p| p.into_inner());
        let mut suggested = Vec::new();
        for (comment, address) in comments {
            for product in assist::products_asked(&comment.body, &cart) {
                // Counted per address: five fresh tokens from one phone are one asker.
                if let Some(s) = asks.record(live_id, product, *address, comment.created_at_ms)
                    && let Some(entry) = cart.iter().find(|e| e.product_id == s.product_id)
                {
                    suggested.push((entry.clone(), s.viewers));
                }
            }
        }
        Ok(suggested)
    }

    /// Flushes every [`FLUSH_INTERVAL`] until cancelled, then once more so nothing pending is dropped.
    pub async fn run_flusher(&self, cancel: tokio_util::sync::CancellationToken) {
        let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
        loop {
            let stop = tokio::select! {
                _ = cancel.cancelled() => true,
                _ = ticker.tick() => false,
            };
            if let Err(e) = self.flush().await {
                tracing::warn!("comment/like flush failed: {e}");
            }
            if stop {
                return;
            }
        }
    }

    /// Comments of a live after `after`, oldest first; hidden ones only for staff.
    pub async fn list(&self, live_id: i64, after: i64, staff: bool) -> Result<Vec<Comment>> {
        let rows: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(
            "select id, viewer_id, nickname, body, created_at_ms from comments \
             where live_id = $1 and id > $2 and (hidden = 0 or $3) order by id limit 500",
        )
        .bind(live_id)
        .bind(after)
        .bind(staff)
        .fetch_all(self.store.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, viewer_id, nickname, body, created_at_ms)| Comment {
                id,
                live_id,
                viewer_id,
                nickname,
                body,
                created_at_ms,
            })
            .collect())
    }

    /// The latest `limit` visible comments of a live, oldest first.
    pub async fn recent(&self, live_id: i64, limit: i64) -> Result<Vec<Comment>> {
        let after: Option<i64> = sqlx::query_scalar(
            "select min(id) - 1 from (select id from comments \
             where live_id = $1 and hidden = 0 order by id desc limit $2) latest",
        )
        .bind(live_id)
        .bind(limit)
        .fetch_one(self.store.pool())
        .await?;
        let mut comments = self.list(live_id, after.unwrap_or(0), false).await?;
        comments.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(comments)
    }

    /// Staff hide a comment: it leaves every public read (the comments list, the room, and
    /// the stored `comments` events that the log, HTTP or a resuming socket, serves); pages
    /// that already show it drop it on the `comment.hidden` event.
    pub async fn hide(&self, comment_id: i64) -> Result<()> {
        let mut tx = self.store.begin_write().await?;
        let live_id: Option<i64> =
            sqlx::query_scalar("update comments set hidden = 1 where id = $1 returning live_id")
                .bind(comment_id)
                .fetch_optional(&mut *tx)
                .await?;
        let live_id = live_id.ok_or_else(|| Error::NotFound(format!("comment {comment_id}")))?;
        let out = self.withdraw(&mut tx, live_id, &[comment_id]).await?;
        tx.commit().await?;
        self.events.publish(out);
        Ok(())
    }

    /// Takes comments out of the pending batch (this relay), out of the stored `comments`
    /// events, and appends a `comment.hidden` for each. Runs in the caller's write
    /// transaction; `flush` re-checks `hidden` under the same lock for other relays' batches.
    async fn withdraw(
        &self,
        tx: &mut crate::store::Conn,
        live_id: i64,
        ids: &[i64],
    ) -> Result<Vec<events::Event>> {
        if let Some(pending) = self.pending().get_mut(&live_id) {
            pending.comments.retain(|(c, _)| !ids.contains(&c.id));
        }
        let Some(&first) = ids.iter().min() else {
            return Ok(Vec::new());
        };
        // A comment's batch is written after the comment, so its event's id is above the
        // live's last event id at that time; reading from the comment's own time is enough.
        let since: i64 = sqlx::query_scalar("select created_at_ms from comments where id = $1")
            .bind(first)
            .fetch_one(&mut *tx)
            .await?;
        let batches: Vec<(i64, String)> = sqlx::query_as(
            "select id, payload from events where live_id = $1 and kind = 'comments' and created_at_ms >= $2",
        )
        .bind(live_id)
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        for (event_id, payload) in batches {
            let Ok(mut payload) = serde_json::from_str::<serde_json::Value>(&payload) else {
                continue;
            };
            let Some(list) = payload["comments"].as_array_mut() else {
                continue;
            };
            let before = list.len();
            list.retain(|c| c["id"].as_i64().is_none_or(|id| !ids.contains(&id)));
            if list.len() == before {
                continue;
            }
            sqlx::query("update events set payload = $1 where id = $2")
                .bind(payload.to_string())
                .bind(event_id)
                .execute(&mut *tx)
                .await?;
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(
                events::append(tx, live_id, LiveEvent::CommentHidden { comment_id: *id }).await?,
            );
        }
        Ok(out)
    }

    /// Staff mute a viewer for `minutes` (0 lifts it). The mute also holds for the address the
    /// viewer last commented from (a fresh token there is as muted), and the viewer's
    /// comments leave every public read, as hidden ones do.
    pub async fn mute(&self, viewer_id: i64, req: &MuteRequest) -> Result<()> {
        check_range("minutes", req.minutes, 0, 60 * 24 * 30)?;
        let until = (req.minutes > 0).then(|| now_ms() + req.minutes * 60_000);
        let mut tx = self.store.begin_write().await?;
        let changed = sqlx::query("update viewers set muted_until_ms = $1 where id = $2")
            .bind(until)
            .bind(viewer_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(Error::NotFound(format!("viewer {viewer_id}")));
        }
        let address: Option<Option<String>> = sqlx::query_scalar(
            "select client_ip from comments where viewer_id = $1 order by id desc limit 1",
        )
        .bind(viewer_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(address) = address.flatten() {
            sqlx::query(
                "insert into muted_addresses (client_ip, muted_until_ms) values ($1, $2) \
                 on conflict (client_ip) do update set muted_until_ms = excluded.muted_until_ms",
            )
            .bind(&address)
            .bind(until.unwrap_or(0))
            .execute(&mut *tx)
            .await?;
        }
        let mut out = Vec::new();
        if until.is_some() {
            let shown: Vec<(i64, i64)> = sqlx::query_as(
                "update comments set hidden = 1 where viewer_id = $1 and hidden = 0 returning live_id, id",
            )
            .bind(viewer_id)
            .fetch_all(&mut *tx)
            .await?;
            let mut by_live: HashMap<i64, Vec<i64>> = HashMap::new();
            for (live_id, id) in shown {
                by_live.entry(live_id).or_default().push(id);
            }
            for (live_id, ids) in by_live {
                out.extend(self.withdraw(&mut tx, live_id, &ids).await?);
            }
        }
        tx.commit().await?;
        self.events.publish(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_words_are_masked_longest_first_or_rejected() {
        let words = || vec!["微信".to_owned(), "加微信号".to_owned()];
        let mask = WordFilter::new(words(), FilterMode::Mask);
        assert_eq!(mask.apply("主播加微信号多少").unwrap(), "主播＊＊＊＊多少");
        assert_eq!(mask.apply("我的微信").unwrap(), "我的＊＊");
        assert_eq!(mask.apply("这件多少钱").unwrap(), "这件多少钱");
        let reject = WordFilter::new(words(), FilterMode::Reject);
        assert!(
            matches!(reject.apply("加微信"), Err(Error::InvalidField { field, .. }) if field == "body")
        );
    }

    #[test]
    fn words_spelt_out_with_padding_or_compatibility_forms_are_masked() {
        let words = || vec!["微信".to_owned(), "加我".to_owned(), "vx".to_owned()];
        let mask = WordFilter::new(words(), FilterMode::Mask);
        assert_eq!(mask.apply("加微\u{200b}信呀").unwrap(), "加＊＊＊呀");
        assert_eq!(mask.apply("我的微 信号").unwrap(), "我的＊＊＊号");
        assert_eq!(mask.apply("微\u{00ad}信").unwrap(), "＊＊＊");
        assert_eq!(mask.apply("快加 我吧").unwrap(), "快＊＊＊吧");
        assert_eq!(mask.apply("ＶＸ：123").unwrap(), "＊＊：123");
        assert_eq!(mask.apply("微.信").unwrap(), "＊＊＊");
        // Padding only counts between CJK characters: Latin words keep their spaces.
        assert_eq!(mask.apply("v x").unwrap(), "v x");
        assert_eq!(mask.apply("这件多少钱").unwrap(), "这件多少钱");
        let reject = WordFilter::new(words(), FilterMode::Reject);
        assert!(reject.apply("微\u{200b}信").is_err());
        assert!(WordFilter::default().apply("微信").is_ok());
    }
}
