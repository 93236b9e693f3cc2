//! 看讲解: a replay clip of every pin window, cut from the live's recording without
//! re-encoding while the live goes on.
//!
//! One task ([`run`]) watches for closed pin windows (a pin ends at unpin, at the next pin,
//! when its product leaves the cart, or when the live ends). Once the recording holds the
//! window's end, it cuts the window from the keyframe at or before the pin to the unpin into
//! `recordings/{recording}.clips/pin-{id}.mp4`, and records it in `clips` only then, so a
//! crash mid-cut loses that cut alone: the window has no row and is cut at the next start.
//! Clips belong to their recording and are deleted with it ([`delete_recording`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::{Error, Result, now_ms};
use crate::events::{EventHub, LiveEvent};
use crate::media::packager::{self, RecordingMeta};
use crate::media::{MediaDirs, MediaHub};
use crate::store::Store;

/// How long after a window closes its end is in the recording: the packager writes 1 s
/// fragments behind a 200 ms jitter buffer.
const SETTLE: Duration = Duration::from_millis(2_500);
/// How often the task looks for windows to cut when no event wakes it.
const POLL: Duration = Duration::from_secs(2);
/// A window shorter than this is a slip of the finger, not a 讲解.
const MIN_WINDOW_MS: i64 = 1_000;
/// Windows looked at per pass.
const BATCH: i64 = 20;

/// A replay clip of one pin window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Clip {
    pub id: i64,
    pub live_id: i64,
    pub product_id: i64,
    pub pin_id: i64,
    /// Wall-clock ms of the clip's first frame: the keyframe at or before the pin.
    pub starts_at_ms: i64,
    pub duration_ms: i64,
    pub size_bytes: i64,
    /// Where it plays (`video/mp4`, range requests): `/api/clips/{id}/video`.
    pub url: String,
    pub created_at_ms: i64,
}

type ClipRow = (
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
);

fn clip_of(row: ClipRow) -> Clip {
    let (id, live_id, product_id, pin_id, starts, duration, size, created) = row;
    Clip {
        id,
        live_id,
        product_id,
        pin_id,
        starts_at_ms: starts.unwrap_or(0),
        duration_ms: duration.unwrap_or(0),
        size_bytes: size.unwrap_or(0),
        url: format!("/api/clips/{id}/video"),
        created_at_ms: created,
    }
}

/// What cutting and serving clips needs of the relay (its database, media and events), so
/// that this module does not reach into the HTTP layer's state.
#[derive(Clone)]
pub struct ClipContext {
    pub store: Store,
    pub media: MediaHub,
    pub events: EventHub,
}

/// The ready clips of a live, newest first; 404 for no such live.
pub async fn list(relay: &ClipContext, live_id: i64) -> Result<Vec<Clip>> {
    crate::commerce::lives::get(&relay.store, live_id).await?;
    ready(&relay.store, live_id).await
}

/// The ready clips of a live, newest first (a product's latest clip is its first).
pub async fn ready(store: &Store, live_id: i64) -> Result<Vec<Clip>> {
    let rows: Vec<ClipRow> = sqlx::query_as(
        "select id, live_id, product_id, pin_id, starts_at_ms, duration_ms, size_bytes, \
           created_at_ms from clips where live_id = $1 and status = 'ready' order by id desc",
    )
    .bind(live_id)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(clip_of).collect())
}

/// The file of a ready clip.
pub async fn file(relay: &ClipContext, id: i64) -> Result<PathBuf> {
    let file: Option<String> =
        sqlx::query_scalar("select file from clips where id = $1 and status = 'ready'")
            .bind(id)
            .fetch_optional(relay.store.pool())
            .await?
            .flatten();
    let dirs = relay.media.media_dirs();
    file.zip(dirs)
        .map(|(file, dirs)| dirs.recordings.join(file))
        .filter(|path| path.is_file())
        .ok_or_else(|| Error::NotFound(format!("clip {id}")))
}

/// Deletes a recording with its meta and its clips. Refused while the
/// recording is still being written.
pub async fn delete_recording(relay: &ClipContext, file: &str) -> Result<()> {
    let dirs = relay
        .media
        .media_dirs()
        .filter(|_| packager::is_safe_file_name(file) && file.ends_with(".mp4"))
        .ok_or_else(|| Error::NotFound(format!("recording {file}")))?
        .clone();
    let path = dirs.recordings.join(file);
    if !path.is_file() {
        return Err(Error::NotFound(format!("recording {file}")));
    }
    if let Some(meta) = packager::recording_meta(&path)
        && relay.media.publisher(&meta.stream).is_some()
        && newest_recording_of(&dirs, &meta.stream).as_deref() == Some(file)
    {
        return Err(Error::Conflict(format!(
            "recording {file} is still being written: stop the stream first"
        )));
    }
    let mut tx = relay.store.begin_write().await?;
    // The windows keep a row, so they are not cut again from a recording that is gone.
    sqlx::query(
        "update clips set status = 'unavailable', file = null, error = 'recording deleted' \
         where recording = $1",
    )
    .bind(file)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let clips = clips_dir(&path);
    tokio::task::spawn_blocking(move || {
        let _ = std::fs::remove_dir_all(&clips);
        let _ = std::fs::remove_file(packager::meta_path(&path));
        std::fs::remove_file(&path)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
    .map_err(|e| Error::Internal(format!("delete recording {file}: {e}")))?;
    Ok(())
}

fn newest_recording_of(dirs: &MediaDirs, stream: &str) -> Option<String> {
    packager::list_recordings(dirs)
        .ok()?
        .into_iter()
        .find(|r| r.stream == stream)
        .map(|r| r.file)
}

fn clips_dir(recording: &Path) -> PathBuf {
    recording.with_extension("clips")
}

/// A recording that may hold a pin window, with its time zero and its last write.
#[derive(Debug, Clone)]
struct Candidate {
    file: String,
    started_at_ms: i64,
    last_written_ms: i64,
}

/// The recording of `stream` that holds most of `[start, end]`.
fn recording_for(dirs: &MediaDirs, stream: &str, start: i64, end: i64) -> Option<Candidate> {
    let candidates = std::fs::read_dir(&dirs.recordings)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let file = entry.file_name().into_string().ok()?;
            if !file.ends_with(".mp4") {
                return None;
            }
            let RecordingMeta {
                stream: of,
                started_at_ms,
            } = packager::recording_meta(&entry.path())?;
            let modified = entry.metadata().ok()?.modified().ok()?;
            let last_written_ms = modified
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_millis() as i64;
            (of == stream).then_some(Candidate {
                file,
                started_at_ms,
                last_written_ms,
            })
        });
    candidates
        .map(|c| {
            let overlap = end.min(c.last_written_ms) - start.max(c.started_at_ms);
            (overlap, c)
        })
        .filter(|(overlap, _)| *overlap > 0)
        .max_by_key(|(overlap, _)| *overlap)
        .map(|(_, c)| c)
}

/// A closed pin window without a clip row yet.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Window {
    pin_id: i64,
    live_id: i64,
    product_id: i64,
    started_at_ms: i64,
    ended_at_ms: i64,
    stream_name: String,
}

async fn due_windows(relay: &ClipContext) -> Result<Vec<Window>> {
    Ok(sqlx::query_as(
        "select p.id as pin_id, p.live_id, p.product_id, p.started_at_ms, p.ended_at_ms, \
                l.stream_name \
         from pins p join lives l on l.id = p.live_id \
         left join clips c on c.pin_id = p.id \
         where p.ended_at_ms is not null and c.id is null and p.ended_at_ms <= $1 \
         order by p.id limit $2",
    )
    .bind(now_ms() - SETTLE.as_millis() as i64)
    .bind(BATCH)
    .fetch_all(relay.store.pool())
    .await?)
}

/// What became of one window.
enum Outcome {
    Ready {
        recording: String,
        file: String,
        starts_at_ms: i64,
        duration_ms: i64,
        size_bytes: i64,
    },
    Failed {
        recording: Option<String>,
        error: String,
        status: &'static str,
    },
}

/// Cuts one window (blocking: GStreamer and the file system).
fn cut_window(dirs: &MediaDirs, window: &Window) -> Outcome {
    let unavailable = |error: String| Outcome::Failed {
        recording: None,
        error,
        status: "unavailable",
    };
    if window.ended_at_ms - window.started_at_ms < MIN_WINDOW_MS {
        return unavailable("pinned for less than a second".into());
    }
    let Some(recording) = recording_for(
        dirs,
        &window.stream_name,
        window.started_at_ms,
        window.ended_at_ms,
    ) else {
        return unavailable(format!(
            "no recording of stream {} covers the pin",
            window.stream_name
        ));
    };
    let path = dirs.recordings.join(&recording.file);
    let clips = clips_dir(&path);
    if let Err(e) = std::fs::create_dir_all(&clips) {
        return Outcome::Failed {
            recording: Some(recording.file),
            error: format!("create {}: {e}", clips.display()),
            status: "failed",
        };
    }
    let name = format!("pin-{}.mp4", window.pin_id);
    let out = clips.join(&name);
    let millis = |ms: i64| Duration::from_millis(ms.max(0) as u64);
    let from = millis(window.started_at_ms - recording.started_at_ms);
    let to = millis(window.ended_at_ms - recording.started_at_ms);
    match crate::media::clipper::cut(&path, from, to, &out) {
        Ok(cut) => Outcome::Ready {
            file: format!(
                "{}/{name}",
                clips.file_name().unwrap_or_default().to_string_lossy()
            ),
            recording: recording.file,
            starts_at_ms: recording.started_at_ms + cut.starts_at.as_millis() as i64,
            duration_ms: cut.duration.as_millis() as i64,
            size_bytes: std::fs::metadata(&out).map_or(0, |m| m.len() as i64),
        },
        Err(error) => Outcome::Failed {
            recording: Some(recording.file),
            error,
            status: "failed",
        },
    }
}

/// Cuts every due window once; returns how many were dealt with.
pub async fn cut_due(relay: &ClipContext) -> Result<usize> {
    let Some(dirs) = relay.media.media_dirs().cloned() else {
        return Ok(0);
    };
    let windows = due_windows(relay).await?;
    for window in &windows {
        let outcome = {
            let dirs = dirs.clone();
            let window = window.clone();
            tokio::task::spawn_blocking(move || cut_window(&dirs, &window))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
        };
        record(relay, window, outcome).await?;
    }
    Ok(windows.len())
}

async fn record(relay: &ClipContext, window: &Window, outcome: Outcome) -> Result<()> {
    let now = now_ms();
    let mut tx = relay.store.begin_write().await?;
    let event = match outcome {
        Outcome::Ready {
            recording,
            file,
            starts_at_ms,
            duration_ms,
            size_bytes,
        } => {
            let id: i64 = sqlx::query_scalar(
                "insert into clips (pin_id, live_id, product_id, status, recording, file, \
                   starts_at_ms, duration_ms, size_bytes, created_at_ms) \
                 values ($1, $2, $3, 'ready', $4, $5, $6, $7, $8, $9) returning id",
            )
            .bind(window.pin_id)
            .bind(window.live_id)
            .bind(window.product_id)
            .bind(&recording)
            .bind(&file)
            .bind(starts_at_ms)
            .bind(duration_ms)
            .bind(size_bytes)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let clip = clip_of((
                id,
                window.live_id,
                window.product_id,
                window.pin_id,
                Some(starts_at_ms),
                Some(duration_ms),
                Some(size_bytes),
                now,
            ));
            tracing::info!(
                live_id = window.live_id,
                pin_id = window.pin_id,
                duration_ms,
                "replay clip ready"
            );
            Some(
                crate::events::append(
                    &mut tx,
                    window.live_id,
                    LiveEvent::ClipReady { clip: clip.clone() },
                )
                .await?,
            )
        }
        Outcome::Failed {
            recording,
            error,
            status,
        } => {
            if status == "failed" {
                tracing::warn!(pin_id = window.pin_id, "replay clip not cut: {error}");
            }
            sqlx::query(
                "insert into clips (pin_id, live_id, product_id, status, recording, error, \
                   created_at_ms) values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(window.pin_id)
            .bind(window.live_id)
            .bind(window.product_id)
            .bind(status)
            .bind(recording)
            .bind(error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            None
        }
    };
    tx.commit().await?;
    relay.events.publish(event);
    Ok(())
}

/// Removes half-written clips a crash left behind.
fn sweep_partial(dirs: &MediaDirs) {
    let Ok(entries) = std::fs::read_dir(&dirs.recordings) else {
        return;
    };
    for dir in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        if dir.extension().is_some_and(|e| e == "clips")
            && let Ok(files) = std::fs::read_dir(&dir)
        {
            for file in files.filter_map(|e| e.ok()).map(|e| e.path()) {
                if file.to_string_lossy().ends_with(".part") {
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }
}

/// Cuts clips until cancelled: woken by pin changes, and every [`POLL`] for windows whose
/// end has settled into the recording since.
pub async fn run(relay: ClipContext, cancel: CancellationToken) {
    let Some(dirs) = relay.media.media_dirs().cloned() else {
        return;
    };
    let _ = tokio::task::spawn_blocking(move || sweep_partial(&dirs)).await;
    let mut events = relay.events.subscribe();
    let mut ticker = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
            event = events.recv() => match event {
                Ok(crate::events::Wake::Committed { kind, .. }) if &*kind == "pin.changed" => {
                    // The window that just closed settles into the recording first.
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(SETTLE) => {}
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
        }
        if let Err(e) = cut_due(&relay).await {
            tracing::warn!("replay clips: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_recording(dirs: &MediaDirs, file: &str, stream: &str, started_at_ms: i64) {
        std::fs::create_dir_all(&dirs.recordings).unwrap();
        let path = dirs.recordings.join(file);
        std::fs::write(&path, b"x").unwrap();
        let meta = RecordingMeta {
            stream: stream.into(),
            started_at_ms,
        };
        std::fs::write(
            packager::meta_path(&path),
            serde_json::to_vec(&meta).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn a_window_goes_to_the_recording_of_its_stream_that_holds_most_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = MediaDirs::in_data_dir(dir.path());
        let now = now_ms();
        // The first publish ran until 61 s ago; the second started 60 s ago.
        write_recording(&dirs, "shop-1.mp4", "shop", now - 600_000);
        std::fs::File::options()
            .write(true)
            .open(dirs.recordings.join("shop-1.mp4"))
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(61))
            .unwrap();
        write_recording(&dirs, "shop-2.mp4", "shop", now - 60_000);
        write_recording(&dirs, "other-3.mp4", "other", now - 30_000);
        std::fs::write(dirs.recordings.join("old-4.mp4"), b"no meta").unwrap();
        let pick = |start, end| recording_for(&dirs, "shop", start, end).map(|c| c.file);
        assert_eq!(
            pick(now - 20_000, now - 10_000).as_deref(),
            Some("shop-2.mp4")
        );
        // Mostly before the second publish began.
        assert_eq!(
            pick(now - 100_000, now - 50_000).as_deref(),
            Some("shop-1.mp4")
        );
        // After every recording's last write, or of a stream never recorded.
        assert_eq!(pick(now + 10_000, now + 20_000), None);
        assert_eq!(
            recording_for(&dirs, "nope", now - 20_000, now - 10_000).map(|c| c.file),
            None
        );
    }

    #[test]
    fn half_written_clips_are_swept_and_finished_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = MediaDirs::in_data_dir(dir.path());
        let clips = dirs.recordings.join("shop-1.clips");
        std::fs::create_dir_all(&clips).unwrap();
        std::fs::write(clips.join("pin-1.mp4"), b"done").unwrap();
        std::fs::write(clips.join("pin-2.mp4.part"), b"half").unwrap();
        sweep_partial(&dirs);
        assert!(clips.join("pin-1.mp4").exists());
        assert!(!clips.join("pin-2.mp4.part").exists());
    }
}
