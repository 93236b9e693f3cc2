//! Who is calling: staff (owner, anchor, assistant) with passwords, or anonymous viewers with
//! a device token issued on first visit. Tokens are random, sent as `Authorization: Bearer`,
//! and stored only as SHA-256 hashes.

use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::{Error, Result, check_text, now_ms};
use crate::store::{Conn, Store};
use crate::viewer_sessions::ViewerSessions;

const STAFF_SESSION_MS: i64 = 30 * 24 * 3600 * 1000;
const VIEWER_SESSION_MS: i64 = 365 * 24 * 3600 * 1000;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, clap::ValueEnum, ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Role {
    /// The shop owner: everything, including staff accounts.
    Owner,
    /// Presents the live; manages the sale like an assistant.
    Anchor,
    /// Runs the 中控台: pins, sales, coupons, orders.
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Anchor => "anchor",
            Self::Assistant => "assistant",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "anchor" => Some(Self::Anchor),
            "assistant" => Some(Self::Assistant),
            _ => None,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[ts(export)]
pub enum Principal {
    Staff {
        id: i64,
        username: String,
        role: Role,
    },
    Viewer {
        id: i64,
        nickname: String,
    },
}

impl Principal {
    pub fn is_staff(&self) -> bool {
        matches!(self, Self::Staff { .. })
    }
}

/// Answer to a login or viewer registration: the token to send from now on.
#[derive(Debug, Clone, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Session {
    pub token: String,
    pub principal: Principal,
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Default, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewViewer {
    #[serde(default)]
    #[ts(optional)]
    pub nickname: Option<String>,
}

/// argon2 takes ~20 MiB and tens of milliseconds of a core per call (hundreds in a debug build).
/// On the async workers, a handful of concurrent logins stalled every other request; here it
/// runs on threads of its own, a few at a time, with a bounded queue: past it a login is told
/// to come back (503) instead of piling up. Process-wide, because the cores are.
///
/// The threads run at a low CPU priority ([`HASH_NICE`]): anyone on the internet can make the
/// relay hash (a wrong password costs what a right one does), and on a two-core machine a
/// hash that holds a core at normal priority delays the honest requests that want it. At
/// nice 10 the scheduler hands the core to them at once; logins get what is left.
struct HashPool {
    admitted: Arc<Semaphore>,
    jobs: std::sync::mpsc::SyncSender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Logins waiting for a free hashing slot before new ones get 503.
const HASH_QUEUE: usize = 32;
/// The hashing threads' nice value (0 is normal, 19 the lowest).
const HASH_NICE: libc::c_int = 10;

static HASH_POOL: LazyLock<HashPool> = LazyLock::new(|| {
    // Half the cores at most: media forwarding and the API keep the rest.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    HashPool::new((cores / 2).max(1), HASH_QUEUE)
});

impl HashPool {
    fn new(threads: usize, queue: usize) -> Self {
        let (jobs, waiting) = std::sync::mpsc::sync_channel::<Job>(threads + queue);
        let waiting = Arc::new(std::sync::Mutex::new(waiting));
        for i in 0..threads {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    // On Linux a nice value is per thread: only this one is lowered.
                    // SAFETY: setpriority has no memory-safety preconditions.
                    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASH_NICE) } != 0 {
                        tracing::debug!("password hashing keeps the normal CPU priority");
                    }
                    loop {
                        let job = match waiting.lock() {
                            Ok(waiting) => waiting.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("a thread for password hashing");
        }
        Self {
            admitted: Arc::new(Semaphore::new(threads + queue)),
            jobs,
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let admitted =
            self.admitted
                .clone()
                .try_acquire_owned()
                .map_err(|_| Error::Unavailable {
                    message: "too many password checks at once; retry shortly".into(),
                    retry_after_ms: 1000,
                })?;
        let (done, result) = tokio::sync::oneshot::channel();
        // The permit goes with the work: a caller that gives up (timeout, client gone) does
        // not free a slot while its hash still runs or waits.
        let job: Job = Box::new(move || {
            let result = work();
            // The slot is free before the caller hears back: one that hashes again at once
            // (a login right after a registration) must not find its own finished job still
            // holding it and get a 503 (the queue test caught it once under a parallel build).
            drop(admitted);
            let _ = done.send(result);
        });
        // Never blocks: the admission permit bounds what waits in the channel.
        self.jobs
            .try_send(job)
            .map_err(|e| Error::Internal(format!("password hashing: {e}")))?;
        result
            .await
            .map_err(|e| Error::Internal(format!("password hashing: {e}")))
    }
}

async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    HASH_POOL
        .run(move || {
            use argon2::PasswordHasher;
            argon2::Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| Error::invalid("password", format!("cannot hash: {e}")))
}

/// What an unknown username is checked against, so that it costs what a known one does and
/// the answer's timing does not tell which usernames exist. The hash of a random password
/// nobody kept, with `Argon2::default()`'s parameters (a test keeps them in step).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$OcHNRWvDEvZ/VibfZyhQ0Q$vLGMDzG9/SUjz+UPPJrC5xII0sUfcdenKX8zaOXafA4";

#[cfg(test)]
static VERIFICATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether `password` matches `stored`; `None` (no such account) runs the same check against
/// [`DUMMY_HASH`] and is always false.
async fn verify_password(password: &str, stored: Option<String>) -> Result<bool> {
    let password = password.to_owned();
    HASH_POOL
        .run(move || {
            use argon2::PasswordVerifier;
            #[cfg(test)]
            VERIFICATIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let Ok(parsed) = argon2::PasswordHash::new(&hash) else {
                return false;
            };
            let matches = argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            known && matches
        })
        .await
}

/// `len` bytes from the OS random source, hex-encoded (tokens, seeds, generated passwords).
pub fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    hex::encode(bytes)
}

fn new_token() -> String {
    random_hex(32)
}

/// SHA-256 hex of a random secret (session tokens, stream keys): what is stored instead of it.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn validate_username(username: &str) -> Result<()> {
    check_text("username", username, 3, 32)?;
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::invalid(
            "username",
            "may contain only letters, digits, '_', '-' and '.'",
        ));
    }
    Ok(())
}

/// Creates a staff account (the CLI's `user create`, or the owner adding staff).
pub async fn create_staff(
    store: &Store,
    username: &str,
    password: &str,
    role: Role,
) -> Result<i64> {
    validate_username(username)?;
    check_text("password", password, 8, 128)?;
    let hash = hash_password(password).await?;
    let inserted = sqlx::query_scalar(
        "insert into staff (username, password_hash, role, created_at_ms) values ($1, $2, $3, $4) \
         on conflict (username) do nothing returning id",
    )
    .bind(username)
    .bind(hash)
    .bind(role.as_str())
    .bind(now_ms())
    .fetch_optional(store.pool())
    .await?;
    inserted.ok_or_else(|| Error::Conflict(format!("username {username} is taken")))
}

/// Checks a staff password and opens a session. Unknown user and wrong password are one
/// answer, so the API does not reveal which usernames exist.
pub async fn login(store: &Store, req: &LoginRequest) -> Result<Session> {
    let row: Option<(i64, String, String)> =
        sqlx::query_as("select id, password_hash, role from staff where username = $1")
            .bind(&req.username)
            .fetch_optional(store.pool())
            .await?;
    let (account, stored) = match row {
        Some((id, stored, role)) => (Some((id, role)), Some(stored)),
        None => (None, None),
    };
    if !verify_password(&req.password, stored).await? {
        return Err(Error::Unauthorized);
    }
    let (id, role) = account.ok_or(Error::Unauthorized)?;
    staff_session(store, id, &req.username, &role).await
}

/// Stores a new session for staff account `id` and returns it with its principal.
async fn staff_session(store: &Store, id: i64, username: &str, role: &str) -> Result<Session> {
    let role = Role::parse(role).ok_or_else(|| Error::Forbidden("unknown role".into()))?;
    let mut conn = store.pool().acquire().await?;
    let token = open_session(&mut conn, Holder::Staff(id)).await?;
    Ok(Session {
        token,
        principal: Principal::Staff {
            id,
            username: username.to_owned(),
            role,
        },
    })
}

/// Opens a session for an existing staff account without its password. Only for a process
/// that already holds the store, such as the studio with its bundled relay: whoever can open
/// the database file can do anything a session could.
pub async fn open_staff_session(store: &Store, username: &str) -> Result<Session> {
    let row: Option<(i64, String)> =
        sqlx::query_as("select id, role from staff where username = $1")
            .bind(username)
            .fetch_optional(store.pool())
            .await?;
    let (id, role) = row.ok_or_else(|| Error::NotFound(format!("staff account {username}")))?;
    staff_session(store, id, username, &role).await
}

/// Whose session a token opens.
enum Holder {
    Staff(i64),
    Viewer(i64),
}

/// Stores a new session and returns its token (only the hash is kept).
async fn open_session(conn: &mut Conn, holder: Holder) -> Result<String> {
    let (staff_id, viewer_id, lifetime) = match holder {
        Holder::Staff(id) => (Some(id), None, STAFF_SESSION_MS),
        Holder::Viewer(id) => (None, Some(id), VIEWER_SESSION_MS),
    };
    let token = new_token();
    let now = now_ms();
    sqlx::query(
        "insert into sessions (token_hash, staff_id, viewer_id, created_at_ms, expires_at_ms) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(staff_id)
    .bind(viewer_id)
    .bind(now)
    .bind(now + lifetime)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Issues an anonymous viewer identity for a device (first visit of the viewer page).
pub async fn create_viewer(store: &Store, req: &NewViewer) -> Result<Session> {
    let nickname = match req.nickname.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => {
            check_text("nickname", name, 1, 20)?;
            name.to_owned()
        }
        _ => "观众".to_owned(),
    };
    let mut tx = store.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into viewers (nickname, created_at_ms) values ($1, $2) returning id",
    )
    .bind(&nickname)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    let token = open_session(&mut tx, Holder::Viewer(id)).await?;
    tx.commit().await?;
    Ok(Session {
        token,
        principal: Principal::Viewer { id, nickname },
    })
}

/// staff (id, username, role), viewer (id, nickname) and expiry columns of a session lookup.
type SessionRow = (
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
);

/// The principal behind a bearer token, if the token is known and not expired. A viewer
/// session checked within [`crate::viewer_sessions::VIEWER_SESSION_TTL`] comes from `recent`
/// without a database read.
pub async fn authenticate(
    store: &Store,
    recent: &ViewerSessions,
    token: &str,
) -> Result<Option<Principal>> {
    let hash = token_hash(token);
    let checked_at = std::time::Instant::now();
    if let Some(viewer) = recent.get(&hash, checked_at) {
        return Ok(Some(viewer));
    }
    let now = now_ms();
    let row: Option<SessionRow> = sqlx::query_as(
        "select s.id, s.username, s.role, v.id, v.nickname, t.expires_at_ms \
             from sessions t \
             left join staff s on s.id = t.staff_id \
             left join viewers v on v.id = t.viewer_id \
             where t.token_hash = $1 and t.expires_at_ms > $2",
    )
    .bind(&hash)
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    let Some((staff_id, username, role, viewer_id, nickname, expires_at_ms)) = row else {
        return Ok(None);
    };
    let principal = match (staff_id, username, role, viewer_id, nickname) {
        (Some(id), Some(username), Some(role), _, _) => {
            Role::parse(&role).map(|role| Principal::Staff { id, username, role })
        }
        (_, _, _, Some(id), Some(nickname)) => Some(Principal::Viewer { id, nickname }),
        _ => None,
    };
    if let Some(principal) = &principal {
        let expires_in = u64::try_from(expires_at_ms - now).unwrap_or(0);
        recent.remember(
            hash,
            principal,
            std::time::Duration::from_millis(expires_in),
            checked_at,
        );
    }
    Ok(principal)
}

/// Ends the session of this token (logout).
pub async fn revoke(store: &Store, recent: &ViewerSessions, token: &str) -> Result<()> {
    let hash = token_hash(token);
    recent.forget(&hash);
    sqlx::query("delete from sessions where token_hash = $1")
        .bind(&hash)
        .execute(store.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &dir.path().join("t.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn staff_login_issues_a_token_that_authenticates() {
        let (_dir, store) = store().await;
        create_staff(&store, "boss", "correct horse", Role::Owner)
            .await
            .unwrap();
        let req = LoginRequest {
            username: "boss".into(),
            password: "correct horse".into(),
        };
        let session = login(&store, &req).await.unwrap();
        let who = authenticate(&store, &ViewerSessions::default(), &session.token)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            who,
            Principal::Staff {
                role: Role::Owner,
                ..
            }
        ));
        revoke(&store, &ViewerSessions::default(), &session.token)
            .await
            .unwrap();
        assert_eq!(
            authenticate(&store, &ViewerSessions::default(), &session.token)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_process_holding_the_store_opens_a_staff_session_without_the_password() {
        let (_dir, store) = store().await;
        create_staff(&store, "studio", "some random words", Role::Owner)
            .await
            .unwrap();
        let session = open_staff_session(&store, "studio").await.unwrap();
        match authenticate(&store, &ViewerSessions::default(), &session.token)
            .await
            .unwrap()
        {
            Some(Principal::Staff { username, role, .. }) => {
                assert_eq!((username.as_str(), role), ("studio", Role::Owner));
            }
            other => panic!("not a staff session: {other:?}"),
        }
        assert!(matches!(
            open_staff_session(&store, "nobody").await,
            Err(Error::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn wrong_password_and_unknown_user_are_both_unauthorized() {
        let (_dir, store) = store().await;
        create_staff(&store, "boss", "correct horse", Role::Owner)
            .await
            .unwrap();
        for (username, password) in [("boss", "wrong password"), ("nobody", "correct horse")] {
            let req = LoginRequest {
                username: username.into(),
                password: password.into(),
            };
            assert!(matches!(
                login(&store, &req).await,
                Err(Error::Unauthorized)
            ));
        }
    }

    #[tokio::test]
    async fn duplicate_username_is_a_conflict_and_short_password_names_the_field() {
        let (_dir, store) = store().await;
        create_staff(&store, "boss", "correct horse", Role::Owner)
            .await
            .unwrap();
        let dup = create_staff(&store, "boss", "another one", Role::Anchor).await;
        assert!(matches!(dup, Err(Error::Conflict(_))));
        let short = create_staff(&store, "helper", "short", Role::Assistant)
            .await
            .unwrap_err();
        assert!(matches!(short, Error::InvalidField { ref field, .. } if field == "password"));
    }

    #[tokio::test]
    async fn an_unknown_username_costs_a_password_check_like_a_known_one() {
        use std::sync::atomic::Ordering;
        let (_dir, store) = store().await;
        let before = VERIFICATIONS.load(Ordering::SeqCst);
        let req = LoginRequest {
            username: "nobody".into(),
            password: "correct horse".into(),
        };
        assert!(matches!(
            login(&store, &req).await,
            Err(Error::Unauthorized)
        ));
        assert!(VERIFICATIONS.load(Ordering::SeqCst) > before);
    }

    #[test]
    fn the_dummy_hash_has_the_parameters_new_hashes_get() {
        let parsed = argon2::PasswordHash::new(DUMMY_HASH).unwrap();
        let params = argon2::Params::try_from(&parsed).unwrap();
        let default = argon2::Argon2::default();
        let default = default.params();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
        assert_eq!(parsed.algorithm, argon2::Algorithm::default().ident());
    }

    #[tokio::test]
    async fn a_full_hashing_queue_answers_unavailable_and_frees_when_done() {
        let pool = HashPool::new(1, 0);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let pool = Arc::new(pool);
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                })
                .await
            })
        };
        started_rx.await.unwrap();
        assert!(matches!(
            pool.run(|| ()).await,
            Err(Error::Unavailable { retry_after_ms, .. }) if retry_after_ms > 0
        ));
        release_tx.send(()).unwrap();
        busy.await.unwrap().unwrap();
        pool.run(|| ()).await.unwrap();
    }

    #[tokio::test]
    async fn passwords_are_hashed_at_a_low_cpu_priority() {
        let pool = HashPool::new(1, 0);
        // SAFETY: getpriority has no memory-safety preconditions.
        let nice = pool
            .run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) })
            .await
            .unwrap();
        assert_eq!(nice, HASH_NICE);
        // SAFETY: as above.
        let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        assert_ne!(here, HASH_NICE, "only the hashing threads are lowered");
    }

    #[tokio::test]
    async fn viewer_gets_a_device_token_and_default_nickname() {
        let (_dir, store) = store().await;
        let session = create_viewer(&store, &NewViewer::default()).await.unwrap();
        let recent = ViewerSessions::default();
        let who = authenticate(&store, &recent, &session.token)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(who, Principal::Viewer { ref nickname, .. } if nickname == "观众"));
        assert!(!who.is_staff());
        assert_eq!(
            authenticate(&store, &recent, "not-a-token").await.unwrap(),
            None
        );
        // Checked once, the session is trusted for a while without a read; a logout on this
        // relay ends it at once all the same.
        let hash = token_hash(&session.token);
        assert_eq!(recent.get(&hash, std::time::Instant::now()), Some(who));
        revoke(&store, &recent, &session.token).await.unwrap();
        assert_eq!(
            authenticate(&store, &recent, &session.token).await.unwrap(),
            None
        );
    }
}
