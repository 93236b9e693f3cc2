//! Comments (弹幕) and likes. A comment is stored when it is posted (so an acknowledged
//! comment is never lost); the events that carry comments and likes to clients are batched:
//! every [`FLUSH_INTERVAL`] each live with something new gets one `comments` event and one
//! `likes` event (the running total), however many arrived in between.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::assist::{self, AskTracker, CartEntry};
use crate::error::{Error, Result, check_range, check_text, now_ms};
use crate::events::{self, Audience, EventHub};
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
    words: Vec<String>,
    mode: FilterMode,
}

impl WordFilter {
    pub fn new(words: impl IntoIterator<Item = String>, mode: FilterMode) -> Self {
        let mut words: Vec<String> = words.into_iter().filter(|w| !w.trim().is_empty()).collect();
        // Longest first, so "加微信号" is masked whole before "微信" matches inside it.
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        Self { words, mode }
    }

    pub fn apply(&self, text: &str) -> Result<String> {
        let mut out = text.to_owned();
        for word in &self.words {
            if out.contains(word.as_str()) {
                if self.mode == FilterMode::Reject {
                    return Err(Error::invalid(
                        "body",
                        "contains a word this shop does not allow",
                    ));
                }
                out = out.replace(word.as_str(), &"＊".repeat(word.chars().count()));
            }
        }
        Ok(out)
    }
}

/// Token bucket per viewer: `burst` comments at once, then one per `every`.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    every: Duration,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(burst: u32, every: Duration) -> Self {
        Self {
            burst: f64::from(burst),
            every,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: i64, now: Instant) -> Result<()> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets.entry(key).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() / self.every.as_secs_f64();
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) * self.every.as_secs_f64();
            Err(Error::TooManyRequests {
                retry_after_ms: (wait * 1000.0).ceil() as u64,
            })
        }
    }
}

#[derive(Debug, Default)]
struct Pending {
    comments: Vec<Comment>,
    likes: i64,
}

/// Comments and likes of all lives, with their batching.
#[derive(Debug)]
pub struct Interaction {
    store: Store,
    events: EventHub,
    filter: WordFilter,
    limiter: RateLimiter,
    pending: Mutex<HashMap<i64, Pending>>,
    asks: Mutex<AskTracker>,
}

impl Interaction {
    pub fn new(store: Store, events: EventHub, filter: WordFilter) -> Self {
        Self {
            store,
            events,
            filter,
            // A viewer may send 3 comments at once, then one every 2 s.
            limiter: RateLimiter::new(3, Duration::from_secs(2)),
            pending: Mutex::new(HashMap::new()),
            asks: Mutex::new(AskTracker::default()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn check_open_live(&self, live_id: i64) -> Result<()> {
        let mut conn = self.store.pool().acquire().await?;
        crate::commerce::lives::require_open(&mut conn, live_id).await
    }

    pub async fn post_comment(
        &self,
        live_id: i64,
        viewer_id: i64,
        req: &NewComment,
    ) -> Result<Comment> {
        let body = req.body.trim();
        check_text("body", body, 1, MAX_COMMENT_CHARS)?;
        self.check_open_live(live_id).await?;
        let (nickname, muted_until): (String, Option<i64>) =
            sqlx::query_as("select nickname, muted_until_ms from viewers where id = $1")
                .bind(viewer_id)
                .fetch_one(self.store.pool())
                .await?;
        let now = now_ms();
        if muted_until.is_some_and(|until| until > now) {
            return Err(Error::Forbidden(
                "you are muted in this shop for now".into(),
            ));
        }
        self.limiter.check(viewer_id, Instant::now())?;
        let body = self.filter.apply(body)?;
        let id: i64 = sqlx::query_scalar(
            "insert into comments (live_id, viewer_id, nickname, body, created_at_ms) values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(live_id)
        .bind(viewer_id)
        .bind(&nickname)
        .bind(&body)
        .bind(now)
        .fetch_one(self.store.pool())
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
            .push(comment.clone());
        Ok(comment)
    }

    pub async fn like(&self, live_id: i64, req: &NewLikes) -> Result<()> {
        check_range("count", req.count, 1, 100)?;
        self.check_open_live(live_id).await?;
        self.pending().entry(live_id).or_default().likes += req.count;
        Ok(())
    }

    /// Writes one event per kind per live for everything since the last flush.
    pub async fn flush(&self) -> Result<usize> {
        let batch = std::mem::take(&mut *self.pending());
        let mut published = 0;
        for (live_id, pending) in batch {
            let mut tx = self.store.begin_write().await?;
            let mut out = Vec::new();
            if !pending.comments.is_empty() {
                out.push(
                    events::append(
                        &mut tx,
                        live_id,
                        "comments",
                        Audience::Public,
                        json!({ "comments": pending.comments }),
                    )
                    .await?,
                );
                for (entry, viewers) in self.asked(&mut tx, live_id, &pending.comments).await? {
                    out.push(
                        events::append(
                            &mut tx,
                            live_id,
                            "assist.suggested",
                            Audience::Staff,
                            json!({
                                "product_id": entry.product_id,
                                "position": entry.position,
                                "title": entry.title,
                                "viewers": viewers,
                                "window_s": assist::ASK_WINDOW_MS / 1000,
                            }),
                        )
                        .await?,
                    );
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
                        "likes",
                        Audience::Public,
                        json!({ "total": total, "delta": pending.likes }),
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
        comments: &[Comment],
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
        for comment in comments {
            for product in assist::products_asked(&comment.body, &cart) {
                if let Some(s) =
                    asks.record(live_id, product, comment.viewer_id, comment.created_at_ms)
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

    /// Staff hide a comment; viewer pages drop it on the `comment.hidden` event.
    pub async fn hide(&self, comment_id: i64) -> Result<()> {
        let mut tx = self.store.begin_write().await?;
        let live_id: Option<i64> =
            sqlx::query_scalar("update comments set hidden = 1 where id = $1 returning live_id")
                .bind(comment_id)
                .fetch_optional(&mut *tx)
                .await?;
        let live_id = live_id.ok_or_else(|| Error::NotFound(format!("comment {comment_id}")))?;
        let event = events::append(
            &mut tx,
            live_id,
            "comment.hidden",
            Audience::Public,
            json!({ "comment_id": comment_id }),
        )
        .await?;
        tx.commit().await?;
        self.events.publish([event]);
        Ok(())
    }

    /// Staff mute a viewer for `minutes` (0 lifts it).
    pub async fn mute(&self, viewer_id: i64, req: &MuteRequest) -> Result<()> {
        check_range("minutes", req.minutes, 0, 60 * 24 * 30)?;
        let until = (req.minutes > 0).then(|| now_ms() + req.minutes * 60_000);
        let changed = sqlx::query("update viewers set muted_until_ms = $1 where id = $2")
            .bind(until)
            .bind(viewer_id)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(Error::NotFound(format!("viewer {viewer_id}")));
        }
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
    fn rate_limit_allows_a_burst_then_refills_over_time() {
        let limiter = RateLimiter::new(3, Duration::from_secs(2));
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check(7, t0).unwrap();
        }
        let Err(Error::TooManyRequests { retry_after_ms }) = limiter.check(7, t0) else {
            panic!("fourth comment at once must be limited");
        };
        assert_eq!(retry_after_ms, 2000);
        limiter
            .check(8, t0)
            .expect("other viewers are not affected");
        limiter
            .check(7, t0 + Duration::from_secs(2))
            .expect("one token back after 2 s");
    }
}
