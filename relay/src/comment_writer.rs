//! Storing comments: the live and the poster checked (open, known, not muted), the viewer's
//! and the address's limits, and the row, in one write.
//!
//! On SQLite, comments posted within a few milliseconds are written together: one task
//! gathers them for [`GATHER`] and writes them in one transaction (read the lives and posters
//! of all of them, read the limits of all their keys, decide in order, write the changed
//! limits, insert the rows), a fixed six statements however many comments. Written alone, a
//! comment was seven round trips to a database thread, and at 500 comments a second those
//! thread hand-offs (a futex wake and two context switches each), not SQLite's work, were
//! most of what a comment cost the relay. A reply still comes only after its comment has
//! committed; viewers see comments at the next flush ([`crate::interaction::FLUSH_INTERVAL`],
//! 100 ms), so a few milliseconds of gathering cost them little.
//!
//! On PostgreSQL each comment is written alone, with the limits as conditional upserts
//! ([`Gcra::check_in`]): relays sharing the database must not read a limit and decide on it
//! while another relay does the same.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::commerce::lives::{self, LiveStatus};
use crate::error::{Error, Result};
use crate::interaction::{COMMENTS_PER_ADDRESS, COMMENTS_PER_VIEWER};
use crate::limits::{self, Gcra};
use crate::store::{Backend, Conn, Store};

/// Most comments in one transaction; more wait for the next.
const MAX_BATCH: usize = 64;
/// Comments waiting for the writer before posters wait to queue.
const QUEUE: usize = 1024;
/// How long the writer waits, after a comment arrives, for others to write with it.
pub const GATHER: Duration = Duration::from_millis(5);

/// A comment to store: its text already checked and filtered; its live and poster are
/// checked when it is written.
#[derive(Debug, Clone)]
pub struct CommentRow {
    pub live_id: i64,
    pub viewer_id: i64,
    pub body: String,
    pub created_at_ms: i64,
    /// The address it came from, unless that stands for everyone (a proxy).
    pub client_ip: Option<String>,
}

impl CommentRow {
    fn viewer_key(&self) -> String {
        format!("comment:viewer:{}", self.viewer_id)
    }

    fn address_key(&self) -> Option<String> {
        self.client_ip
            .as_ref()
            .map(|address| format!("comment:ip:{address}"))
    }
}

/// A stored comment's id and its poster's nickname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub nickname: String,
}

/// A comment's live status, the poster's nickname and mute, and the latest mute of its
/// address, as read for it.
type Commenter = (Option<String>, Option<String>, Option<i64>, Option<i64>);

#[derive(Debug)]
struct Queued {
    row: CommentRow,
    reply: oneshot::Sender<Result<Stored>>,
}

#[derive(Debug)]
pub struct CommentWriter {
    store: Store,
    /// The SQLite writer task's queue, started with the first comment (so that building the
    /// relay's state needs no runtime).
    queue: OnceLock<mpsc::Sender<Queued>>,
}

impl CommentWriter {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            queue: OnceLock::new(),
        }
    }

    /// Stores the comment if its live is open, its poster known and not muted (nor the
    /// address), and neither the viewer's nor the address's limit refuses it (a refused
    /// comment takes no slot of the other).
    pub async fn write(&self, row: CommentRow) -> Result<Stored> {
        if self.store.backend() == Backend::Postgres {
            return self
                .store
                .small_write(async |conn: &mut Conn| write_one(conn, &row).await)
                .await;
        }
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(self.store.clone(), rx));
            tx
        });
        let stopped = || Error::Internal("the comment writer stopped".into());
        let (reply, answer) = oneshot::channel();
        queue
            .send(Queued { row, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The writer task: from the first comment waiting, gathers others for [`GATHER`] (or up to
/// [`MAX_BATCH`]) and writes them together.
async fn run(store: Store, mut rx: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let until = tokio::time::Instant::now() + GATHER;
        while batch.len() < MAX_BATCH {
            let room = MAX_BATCH - batch.len();
            let more = rx.recv_many(&mut batch, room);
            if !matches!(tokio::time::timeout_at(until, more).await, Ok(n) if n > 0) {
                break;
            }
        }
        let rows: Vec<&CommentRow> = batch.iter().map(|q| &q.row).collect();
        let written = store
            .small_write(async |conn: &mut Conn| write_batch(conn, &rows).await)
            .await;
        match written {
            Ok(outcomes) => {
                for (queued, outcome) in batch.drain(..).zip(outcomes) {
                    // A poster that gave up no longer listens; its comment stays stored.
                    let _ = queued.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::warn!("{} comments not stored: {e}", batch.len());
                for queued in batch.drain(..) {
                    let _ = queued.reply.send(Err(same_failure(&e)));
                }
            }
        }
    }
}

/// What each poster of a failed batch is told: a busy database stays a retryable 503.
fn same_failure(e: &Error) -> Error {
    match e {
        Error::Unavailable {
            message,
            retry_after_ms,
        } => Error::Unavailable {
            message: message.clone(),
            retry_after_ms: *retry_after_ms,
        },
        _ => Error::Internal("the comment could not be stored".into()),
    }
}

/// One comment with the limits as conditional upserts (safe with other relays writing).
async fn write_one(conn: &mut Conn, row: &CommentRow) -> Result<Stored> {
    let found = read_commenters(conn, &[row]).await?;
    let nickname = check_commenter(row, found.into_iter().next().unwrap_or_default())?;
    COMMENTS_PER_VIEWER
        .check_in(conn, &row.viewer_key(), row.created_at_ms)
        .await?;
    if let Some(key) = row.address_key() {
        COMMENTS_PER_ADDRESS
            .check_in(conn, &key, row.created_at_ms)
            .await?;
    }
    let id = insert(conn, &[(row, &nickname)]).await?[0];
    Ok(Stored { id, nickname })
}

/// Comments in one transaction that holds SQLite's write lock, so the limits read here
/// cannot change before they are written back. Outcomes in the order of `rows`.
async fn write_batch(conn: &mut Conn, rows: &[&CommentRow]) -> Result<Vec<Result<Stored>>> {
    let found = read_commenters(conn, rows).await?;
    let checked: Vec<Result<String>> = rows
        .iter()
        .zip(found)
        .map(|(row, commenter)| check_commenter(row, commenter))
        .collect();
    let keys: BTreeSet<String> = rows
        .iter()
        .zip(&checked)
        .filter(|(_, checked)| checked.is_ok())
        .flat_map(|(row, _)| std::iter::once(row.viewer_key()).chain(row.address_key()))
        .collect();
    let mut tats = read_tats(conn, &keys).await?;
    let mut changed = BTreeSet::new();
    let mut admitted = Vec::with_capacity(rows.len());
    for (row, checked) in rows.iter().zip(checked) {
        admitted.push(checked.and_then(|nickname| {
            let mut checks = vec![(COMMENTS_PER_VIEWER, row.viewer_key())];
            checks.extend(row.address_key().map(|key| (COMMENTS_PER_ADDRESS, key)));
            admit_all(&checks, &mut tats, &mut changed, row.created_at_ms)
                .map(|()| nickname)
                .map_err(|retry_after_ms| Error::TooManyRequests { retry_after_ms })
        }));
    }
    write_tats(conn, &tats, &changed).await?;
    let stored: Vec<(&CommentRow, &String)> = rows
        .iter()
        .zip(&admitted)
        .filter_map(|(row, admitted)| Some((*row, admitted.as_ref().ok()?)))
        .collect();
    let mut ids = insert(conn, &stored).await?.into_iter();
    let outcomes = admitted
        .into_iter()
        .map(|admitted| {
            let nickname = admitted?;
            let id = ids.next().ok_or_else(|| {
                Error::Internal("the database returned fewer comment ids than rows".into())
            })?;
            Ok(Stored { id, nickname })
        })
        .collect();
    if let Some(now) = rows.iter().map(|row| row.created_at_ms).max() {
        limits::purge_now_and_then(conn, now, rows.len() as u64).await;
    }
    Ok(outcomes)
}

/// The live, poster and address of each comment, in the order of `rows`, in one query.
async fn read_commenters(conn: &mut Conn, rows: &[&CommentRow]) -> Result<Vec<Commenter>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let n = 4 * i + 1;
            format!(
                "(cast(${n} as bigint), cast(${} as bigint), cast(${} as bigint), cast(${} as text))",
                n + 1,
                n + 2,
                n + 3
            )
        })
        .collect();
    let sql = format!(
        "with asked (i, live_id, viewer_id, client_ip) as (values {}) \
         select a.i, l.status, v.nickname, v.muted_until_ms, \
                (select max(m.muted_until_ms) from muted_addresses m \
                  where m.client_ip = a.client_ip) \
         from asked a left join lives l on l.id = a.live_id \
         left join viewers v on v.id = a.viewer_id order by a.i",
        values.join(", ")
    );
    type Found = (
        i64,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
    );
    let mut query = sqlx::query_as::<_, Found>(sqlx::AssertSqlSafe(sql));
    for (i, row) in rows.iter().enumerate() {
        query = query
            .bind(i as i64)
            .bind(row.live_id)
            .bind(row.viewer_id)
            .bind(&row.client_ip);
    }
    let found = query.fetch_all(&mut *conn).await?;
    Ok(found
        .into_iter()
        .map(|(_, status, nickname, muted, address_muted)| (status, nickname, muted, address_muted))
        .collect())
}

/// The poster's nickname if the comment's live is open and neither its poster nor its
/// address is muted at the time it was posted.
fn check_commenter(row: &CommentRow, found: Commenter) -> Result<String> {
    let (status, nickname, muted_until, address_muted_until) = found;
    lives::check_open(row.live_id, status.as_deref().map(LiveStatus::parse))?;
    let nickname = nickname.ok_or(sqlx::Error::RowNotFound)?;
    let now = row.created_at_ms;
    if muted_until.is_some_and(|until| until > now)
        || address_muted_until.is_some_and(|until| until > now)
    {
        return Err(Error::Forbidden(
            "you are muted in this shop for now".into(),
        ));
    }
    Ok(nickname)
}

/// Takes a slot of every limit in `checks`, or none of them: the longest wait on refusal.
fn admit_all(
    checks: &[(Gcra, String)],
    tats: &mut HashMap<String, i64>,
    changed: &mut BTreeSet<String>,
    now_ms: i64,
) -> std::result::Result<(), u64> {
    let mut next = Vec::with_capacity(checks.len());
    let mut wait = None;
    for (limit, key) in checks {
        match limit.admit(tats.get(key).copied(), now_ms) {
            Ok(tat) => next.push((key, tat)),
            Err(ms) => wait = Some(wait.unwrap_or(0).max(ms)),
        }
    }
    if let Some(ms) = wait {
        return Err(ms);
    }
    for (key, tat) in next {
        tats.insert(key.clone(), tat);
        changed.insert(key.clone());
    }
    Ok(())
}

async fn read_tats(conn: &mut Conn, keys: &BTreeSet<String>) -> Result<HashMap<String, i64>> {
    let sql = format!(
        "select limit_key, tat_ms from rate_limits where limit_key in ({})",
        placeholders(1, keys.len(), 1)
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
    for key in keys {
        query = query.bind(key);
    }
    Ok(query.fetch_all(&mut *conn).await?.into_iter().collect())
}

async fn write_tats(
    conn: &mut Conn,
    tats: &HashMap<String, i64>,
    changed: &BTreeSet<String>,
) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "insert into rate_limits (limit_key, tat_ms) values {} \
         on conflict (limit_key) do update set tat_ms = excluded.tat_ms",
        placeholders(1, changed.len(), 2)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for key in changed {
        query = query.bind(key).bind(tats[key]);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// `$first, $first+1, …` for `count` values, or `($1, $2), ($3, $4), …` for `width` > 1.
fn placeholders(first: usize, count: usize, width: usize) -> String {
    (0..count)
        .map(|i| {
            let one: Vec<String> = (0..width)
                .map(|j| format!("${}", first + i * width + j))
                .collect();
            if width == 1 {
                one.concat()
            } else {
                format!("({})", one.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts the comments in one statement; their ids in the order of `rows`.
async fn insert(conn: &mut Conn, rows: &[(&CommentRow, &String)]) -> Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "insert into comments (live_id, viewer_id, nickname, body, created_at_ms, client_ip) \
         values {} returning id",
        placeholders(1, rows.len(), 6)
    );
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    for (row, nickname) in rows {
        query = query
            .bind(row.live_id)
            .bind(row.viewer_id)
            .bind(*nickname)
            .bind(&row.body)
            .bind(row.created_at_ms)
            .bind(&row.client_ip);
    }
    let mut ids = query.fetch_all(&mut *conn).await?;
    // RETURNING gives no order, but one statement's rows take ascending ids in VALUES order.
    ids.sort_unstable();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_values_and_rows() {
        assert_eq!(placeholders(1, 3, 1), "$1, $2, $3");
        assert_eq!(placeholders(1, 2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn a_comment_refused_by_one_limit_takes_no_slot_of_the_other() {
        let viewer = Gcra {
            burst: 1,
            period_ms: 1000,
        };
        let address = Gcra {
            burst: 1,
            period_ms: 1000,
        };
        let mut tats = HashMap::from([("a".to_owned(), 5_000)]);
        let mut changed = BTreeSet::new();
        let checks = [(viewer, "v".to_owned()), (address, "a".to_owned())];
        assert_eq!(
            admit_all(&checks, &mut tats, &mut changed, 1_000),
            Err(4_000)
        );
        assert!(!tats.contains_key("v") && changed.is_empty());
        assert_eq!(admit_all(&checks, &mut tats, &mut changed, 5_000), Ok(()));
        assert_eq!((tats["v"], tats["a"]), (6_000, 6_000));
    }
}
