//! Storing comments: the viewer's and the address's limits and the row, in one write.
//!
//! On SQLite, comments posted at the same time are written together: one task takes every
//! comment waiting and writes them in one transaction (read the limits of all their keys,
//! decide in order, write the changed limits, insert the rows). A comment written alone was
//! five round trips to a database thread (begin, two limits, the row, commit), and at 500
//! comments a second those thread hand-offs, not SQLite's work, were most of what a comment
//! cost the relay. A reply still comes only after its comment has committed.
//!
//! On PostgreSQL each comment is written alone, with the limits as conditional upserts
//! ([`Gcra::check_in`]): relays sharing the database must not read a limit and decide on it
//! while another relay does the same.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::interaction::{COMMENTS_PER_ADDRESS, COMMENTS_PER_VIEWER};
use crate::limits::{self, Gcra};
use crate::store::{Backend, Conn, Store};

/// Most comments in one transaction; more wait for the next.
const MAX_BATCH: usize = 64;
/// Comments waiting for the writer before posters wait to queue.
const QUEUE: usize = 1024;

/// A comment to store, already checked and filtered.
#[derive(Debug, Clone)]
pub struct CommentRow {
    pub live_id: i64,
    pub viewer_id: i64,
    pub nickname: String,
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

#[derive(Debug)]
struct Queued {
    row: CommentRow,
    reply: oneshot::Sender<Result<i64>>,
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

    /// Stores the comment if neither the viewer's nor the address's limit refuses it (a
    /// refused comment takes no slot of the other); returns its id.
    pub async fn write(&self, row: CommentRow) -> Result<i64> {
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

/// The writer task: writes whatever has queued while the last batch was written.
async fn run(store: Store, mut rx: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
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
async fn write_one(conn: &mut Conn, row: &CommentRow) -> Result<i64> {
    COMMENTS_PER_VIEWER
        .check_in(conn, &row.viewer_key(), row.created_at_ms)
        .await?;
    if let Some(key) = row.address_key() {
        COMMENTS_PER_ADDRESS
            .check_in(conn, &key, row.created_at_ms)
            .await?;
    }
    insert(conn, row).await
}

/// Comments in one transaction that holds SQLite's write lock, so the limits read here
/// cannot change before they are written back. Outcomes in the order of `rows`.
async fn write_batch(conn: &mut Conn, rows: &[&CommentRow]) -> Result<Vec<Result<i64>>> {
    let keys: BTreeSet<String> = rows
        .iter()
        .flat_map(|row| std::iter::once(row.viewer_key()).chain(row.address_key()))
        .collect();
    let mut tats = read_tats(conn, &keys).await?;
    let mut changed = BTreeSet::new();
    let mut admitted = Vec::with_capacity(rows.len());
    for row in rows {
        let viewer_key = row.viewer_key();
        let address_key = row.address_key();
        let mut checks = vec![(COMMENTS_PER_VIEWER, viewer_key)];
        checks.extend(address_key.map(|key| (COMMENTS_PER_ADDRESS, key)));
        admitted.push(admit_all(
            &checks,
            &mut tats,
            &mut changed,
            row.created_at_ms,
        ));
    }
    write_tats(conn, &tats, &changed).await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for (row, admission) in rows.iter().zip(admitted) {
        outcomes.push(match admission {
            Ok(()) => Ok(insert(conn, row).await?),
            Err(retry_after_ms) => Err(Error::TooManyRequests { retry_after_ms }),
        });
    }
    if let Some(now) = rows.iter().map(|row| row.created_at_ms).max() {
        limits::purge_now_and_then(conn, now, rows.len() as u64).await;
    }
    Ok(outcomes)
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

async fn insert(conn: &mut Conn, row: &CommentRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "insert into comments (live_id, viewer_id, nickname, body, created_at_ms, client_ip) \
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(row.live_id)
    .bind(row.viewer_id)
    .bind(&row.nickname)
    .bind(&row.body)
    .bind(row.created_at_ms)
    .bind(&row.client_ip)
    .fetch_one(&mut *conn)
    .await?)
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
