//! 福袋 (lotteries) with an auditable draw. At creation a random seed is generated and only
//! its SHA-256 is published; at the draw the seed is revealed. The winners are the entrants
//! with the smallest `SHA-256(seed ‖ ":" ‖ viewer_id)`, so anyone holding the seed and the
//! entrant list can recompute them, and the shop could not have picked the seed after seeing
//! who entered.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;
use utoipa::ToSchema;

use super::{Changed, lives};
use crate::error::{Error, Result, check_range, check_text, now_ms};
use crate::events::{self, Event, LiveEvent};
use crate::store::{Backend, Conn, Store};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Lottery {
    pub id: i64,
    pub live_id: i64,
    pub prize: String,
    pub winners: i64,
    /// Entry needs a comment containing this in the live; `None`: anyone may join.
    #[ts(optional)]
    pub keyword: Option<String>,
    pub ends_at_ms: i64,
    /// Published from the start: the commitment to the seed.
    pub seed_sha256: String,
    /// Revealed at the draw.
    #[ts(optional)]
    pub seed: Option<String>,
    pub drawn: bool,
    pub entrants: i64,
    /// Viewer ids in winning order, after the draw.
    pub winner_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewLottery {
    pub prize: String,
    pub winners: i64,
    #[serde(default)]
    #[ts(optional)]
    pub keyword: Option<String>,
    pub duration_secs: i64,
}

/// Picks `k` distinct winners from `entrants`, reproducibly from `seed`.
pub fn draw_winners(seed: &str, entrants: &[i64], k: usize) -> Vec<i64> {
    let mut scored: Vec<([u8; 32], i64)> = entrants
        .iter()
        .map(|&viewer| {
            let digest = Sha256::digest(format!("{seed}:{viewer}").as_bytes());
            let mut score = [0u8; 32];
            score.copy_from_slice(&digest);
            (score, viewer)
        })
        .collect();
    scored.sort();
    scored.dedup_by_key(|(_, viewer)| *viewer);
    scored
        .into_iter()
        .take(k)
        .map(|(_, viewer)| viewer)
        .collect()
}

fn seed_hash(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

async fn load(conn: &mut Conn, id: i64) -> Result<Lottery> {
    type Row = (
        i64,
        i64,
        String,
        i64,
        Option<String>,
        i64,
        String,
        String,
        String,
    );
    let row: Option<Row> = sqlx::query_as(
        "select id, live_id, prize, winners, keyword, ends_at_ms, seed, seed_sha256, status from lotteries where id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, live_id, prize, winners, keyword, ends_at_ms, seed, seed_sha256, status)) = row
    else {
        return Err(Error::NotFound(format!("lottery {id}")));
    };
    let entrants: i64 =
        sqlx::query_scalar("select count(*) from lottery_entries where lottery_id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    let winner_ids: Vec<i64> = sqlx::query_scalar(
        "select viewer_id from lottery_winners where lottery_id = $1 order by rank",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let drawn = status == "drawn";
    Ok(Lottery {
        id,
        live_id,
        prize,
        winners,
        keyword,
        ends_at_ms,
        seed_sha256,
        seed: drawn.then_some(seed),
        drawn,
        entrants,
        winner_ids,
    })
}

pub async fn create(store: &Store, live_id: i64, new: &NewLottery) -> Result<Changed<Lottery>> {
    check_text("prize", &new.prize, 1, 40)?;
    check_range("winners", new.winners, 1, 1000)?;
    check_range("duration_secs", new.duration_secs, 10, 24 * 3600)?;
    let keyword = new
        .keyword
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if let Some(keyword) = keyword {
        check_text("keyword", keyword, 1, 20)?;
    }
    let seed = crate::auth::random_hex(32);
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    lives::require_open(&mut tx, live_id).await?;
    let id: i64 = sqlx::query_scalar(
        "insert into lotteries (live_id, prize, winners, keyword, ends_at_ms, seed, seed_sha256, status, created_at_ms) \
         values ($1, $2, $3, $4, $5, $6, $7, 'open', $8) returning id",
    )
    .bind(live_id)
    .bind(new.prize.trim())
    .bind(new.winners)
    .bind(keyword)
    .bind(now + new.duration_secs * 1000)
    .bind(&seed)
    .bind(seed_hash(&seed))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let lottery = load(&mut tx, id).await?;
    let event = events::append(
        &mut tx,
        live_id,
        LiveEvent::LotteryCreated {
            lottery: lottery.clone(),
            server_now_ms: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Changed {
        value: lottery,
        events: vec![event],
    })
}

pub async fn get(store: &Store, id: i64) -> Result<Lottery> {
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, id).await
}

/// A live's latest `limit` lotteries, newest first.
pub async fn recent(store: &Store, live_id: i64, limit: i64) -> Result<Vec<Lottery>> {
    let mut conn = store.pool().acquire().await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("select id from lotteries where live_id = $1 order by id desc limit $2")
            .bind(live_id)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(load(&mut conn, id).await?);
    }
    Ok(out)
}

/// Entrants' viewer ids, for anyone re-checking a draw.
pub async fn entrants(store: &Store, id: i64) -> Result<Vec<i64>> {
    get(store, id).await?;
    Ok(sqlx::query_scalar(
        "select viewer_id from lottery_entries where lottery_id = $1 order by viewer_id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?)
}

/// A viewer joins (again is harmless). With a keyword, they must have commented it in this
/// live since the lottery started. One entry per address + device: fresh viewer tokens from
/// one phone are one entrant.
pub async fn join(
    store: &Store,
    id: i64,
    viewer_id: i64,
    client: &crate::limits::ClientKey,
) -> Result<Lottery> {
    let mut tx = store.begin_write().await?;
    let lottery = load(&mut tx, id).await?;
    let now = now_ms();
    if lottery.drawn || now >= lottery.ends_at_ms {
        return Err(Error::Conflict(format!("lottery {id} is closed")));
    }
    if let Some(keyword) = &lottery.keyword {
        // Substring search without LIKE's wildcards: the keyword may contain % or _.
        let commented: Option<i64> = sqlx::query_scalar(match store.backend() {
            Backend::Sqlite => concat!(
                "select c.id from comments c join lotteries l on l.id = $3 ",
                "where c.live_id = $1 and c.viewer_id = $2 and c.created_at_ms >= l.created_at_ms ",
                "and instr(c.body, $4) > 0 limit 1"
            ),
            Backend::Postgres => concat!(
                "select c.id from comments c join lotteries l on l.id = $3 ",
                "where c.live_id = $1 and c.viewer_id = $2 and c.created_at_ms >= l.created_at_ms ",
                "and strpos(c.body, $4) > 0 limit 1"
            ),
        })
        .bind(lottery.live_id)
        .bind(viewer_id)
        .bind(id)
        .bind(keyword)
        .fetch_optional(&mut *tx)
        .await?;
        if commented.is_none() {
            return Err(Error::Forbidden(format!(
                "comment \"{keyword}\" in the live to join"
            )));
        }
    }
    let other: Option<i64> =
        match client.device_key() {
            Some(key) => sqlx::query_scalar(
                "select viewer_id from lottery_entries where lottery_id = $1 and client_key = $2 \
                 and viewer_id <> $3 limit 1",
            )
            .bind(id)
            .bind(key)
            .bind(viewer_id)
            .fetch_optional(&mut *tx)
            .await?,
            None => None,
        };
    if other.is_some() {
        return Err(Error::Conflict(
            "this device has already joined this lottery".into(),
        ));
    }
    sqlx::query(
        "insert into lottery_entries (lottery_id, viewer_id, joined_at_ms, client_key) values ($1, $2, $3, $4) \
         on conflict (lottery_id, viewer_id) do nothing",
    )
    .bind(id)
    .bind(viewer_id)
    .bind(now)
    .bind(client.device_key())
    .execute(&mut *tx)
    .await?;
    let lottery = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(lottery)
}

async fn draw_in(conn: &mut Conn, id: i64, now: i64) -> Result<(Lottery, Event)> {
    let seed: String = sqlx::query_scalar("select seed from lotteries where id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let lottery = load(conn, id).await?;
    let entrants: Vec<i64> =
        sqlx::query_scalar("select viewer_id from lottery_entries where lottery_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let winners = draw_winners(&seed, &entrants, lottery.winners as usize);
    for (rank, viewer) in winners.iter().enumerate() {
        sqlx::query(
            "insert into lottery_winners (lottery_id, viewer_id, rank) values ($1, $2, $3)",
        )
        .bind(id)
        .bind(viewer)
        .bind(rank as i64 + 1)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("update lotteries set status = 'drawn', drawn_at_ms = $1 where id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let lottery = load(conn, id).await?;
    let event = events::append(
        conn,
        lottery.live_id,
        LiveEvent::LotteryDrawn {
            lottery: lottery.clone(),
        },
    )
    .await?;
    Ok((lottery, event))
}

/// Staff draw once the lottery's time is up.
pub async fn draw(store: &Store, id: i64) -> Result<Changed<Lottery>> {
    let mut tx = store.begin_write().await?;
    let lottery = load(&mut tx, id).await?;
    let now = now_ms();
    if lottery.drawn {
        return Err(Error::Conflict(format!(
            "lottery {id} has already been drawn"
        )));
    }
    if now < lottery.ends_at_ms {
        return Err(Error::Conflict(format!(
            "lottery {id} is open for {} more seconds",
            (lottery.ends_at_ms - now + 999) / 1000
        )));
    }
    let (lottery, event) = draw_in(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(Changed {
        value: lottery,
        events: vec![event],
    })
}

/// Draws every open lottery whose time is up at `now`.
pub async fn draw_due(store: &Store, now: i64) -> Result<Changed<usize>> {
    let mut tx = store.begin_write().await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("select id from lotteries where status = 'open' and ends_at_ms <= $1")
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        out.push(draw_in(&mut tx, *id, now).await?.1);
    }
    tx.commit().await?;
    Ok(Changed {
        value: ids.len(),
        events: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winners_are_distinct_reproducible_and_depend_on_the_seed() {
        let entrants: Vec<i64> = (1..=500).collect();
        let a = draw_winners("seed-a", &entrants, 10);
        assert_eq!(a.len(), 10);
        assert_eq!(
            a.iter().collect::<std::collections::HashSet<_>>().len(),
            10,
            "distinct"
        );
        assert_eq!(draw_winners("seed-a", &entrants, 10), a, "reproducible");
        let mut shuffled = entrants.clone();
        shuffled.reverse();
        assert_eq!(
            draw_winners("seed-a", &shuffled, 10),
            a,
            "entry order does not matter"
        );
        assert_ne!(draw_winners("seed-b", &entrants, 10), a);
        assert_eq!(
            draw_winners("seed-a", &[7, 7, 7], 3),
            vec![7],
            "one entrant wins once"
        );
        assert_eq!(draw_winners("seed-a", &[], 3), Vec::<i64>::new());
    }

    #[test]
    fn the_published_hash_commits_to_the_seed() {
        assert_eq!(
            seed_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
