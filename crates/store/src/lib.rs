//! Persistence for the coordination server. One SQL path serves SQLite (the embedded
//! default) and PostgreSQL through sqlx's `Any` driver: ids, timestamps (RFC 3339 UTC) and
//! JSON are TEXT, booleans INTEGER, placeholders `$1`. Each backend has its own migrations
//! folder. The audit log is append-only (database triggers refuse UPDATE and DELETE) and
//! hash-chained: each entry's hash covers the previous hash and its own canonical content.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

#[doc(hidden)]
pub mod testing;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("not found")]
    NotFound,
    /// An optimistic-concurrency conflict: the record changed since it was read.
    #[error("version conflict: the current version is {current}")]
    Conflict { current: i64 },
    #[error("already exists")]
    Duplicate,
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("audit chain broken at entry {seq}: {why}")]
    AuditBroken { seq: i64, why: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The current time, RFC 3339 UTC with seconds.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// An insert's outcome, with a unique-key clash reported as `Duplicate`.
fn inserted<T>(r: std::result::Result<T, sqlx::Error>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub specialty: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
}

fn user_from(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        specialty: r.try_get("specialty")?,
        failed_logins: i64::from(r.try_get::<i32, _>("failed_logins")?),
        locked_until: r.try_get("locked_until")?,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub csrf_token: String,
    pub expires_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    pub id: String,
    pub owner_id: String,
    pub created_by: String,
    pub state: String,
    pub version: i64,
    /// The case record as JSON (the native case format).
    pub record: String,
    pub created_at: String,
    pub updated_at: String,
}

fn case_from(r: &AnyRow) -> Result<CaseRow> {
    Ok(CaseRow {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        created_by: r.try_get("created_by")?,
        state: r.try_get("state")?,
        version: r.try_get("version")?,
        record: r.try_get("record")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub case_id: String,
    pub uploader_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: String,
}

fn document_from(r: &AnyRow) -> Result<Document> {
    Ok(Document {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        uploader_id: r.try_get("uploader_id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    /// coordinator | specialist | caregiver
    pub role: String,
    /// view | act
    pub access: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screening {
    pub id: String,
    pub case_version: i64,
    pub catalogue_version: String,
    pub as_of: String,
    pub results: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub case_id: Option<String>,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an audit entry: SHA-256 over the previous hash and the entry's canonical
/// content (fields joined by a separator that cannot appear in them).
pub fn audit_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    case_id: Option<&str>,
    request_id: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        at,
        actor,
        action,
        case_id.unwrap_or(""),
        request_id,
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

struct AuditRequest {
    actor: String,
    action: String,
    case_id: Option<String>,
    request_id: String,
    done: tokio::sync::oneshot::Sender<Result<i64>>,
}

/// Most entries written in one transaction.
const AUDIT_BATCH: usize = 512;

/// The single in-process appender: takes what is queued, chains it, writes it in one
/// transaction, then answers every waiting request. Another process appending at the same
/// time makes the insert fail on the `seq` key; the batch is then re-read and retried.
async fn audit_writer(pool: AnyPool, mut rx: tokio::sync::mpsc::Receiver<AuditRequest>) {
    let mut last: Option<(i64, String)> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < AUDIT_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut outcome = Err(StoreError::AuditBroken {
            seq: 0,
            why: "could not append after 20 attempts".into(),
        });
        for _ in 0..20 {
            match append_batch(&pool, &mut last, &batch).await {
                Ok(first_seq) => {
                    outcome = Ok(first_seq);
                    break;
                }
                Err(StoreError::Database(e)) if is_unique_violation(&e) => last = None,
                Err(e) => {
                    last = None;
                    outcome = Err(e);
                    break;
                }
            }
        }
        match outcome {
            Ok(first_seq) => {
                for (i, r) in batch.into_iter().enumerate() {
                    let _ = r.done.send(Ok(first_seq + i as i64));
                }
            }
            Err(e) => {
                let why = e.to_string();
                for r in batch {
                    let _ = r.done.send(Err(StoreError::AuditBroken {
                        seq: 0,
                        why: why.clone(),
                    }));
                }
            }
        }
    }
}

async fn append_batch(
    pool: &AnyPool,
    last: &mut Option<(i64, String)>,
    batch: &[AuditRequest],
) -> Result<i64> {
    let mut tx = pool.begin().await?;
    let (mut seq, mut prev) = match last.clone() {
        Some(l) => l,
        None => {
            let row = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                Some(r) => (r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?),
                None => (0, GENESIS.to_owned()),
            }
        }
    };
    let first = seq + 1;
    let at = now();
    for r in batch {
        seq += 1;
        let hash = audit_hash(
            &prev,
            seq,
            &at,
            &r.actor,
            &r.action,
            r.case_id.as_deref(),
            &r.request_id,
        );
        sqlx::query(
            "INSERT INTO audit (seq, at, actor, action, case_id, request_id, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq)
        .bind(&at)
        .bind(&r.actor)
        .bind(&r.action)
        .bind(r.case_id.as_deref())
        .bind(&r.request_id)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        prev = hash;
    }
    tx.commit().await?;
    *last = Some((seq, prev));
    Ok(first)
}

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The audit writer task's queue.
    audit_tx: tokio::sync::mpsc::Sender<AuditRequest>,
}

impl Store {
    /// Connects to `sqlite://PATH` (created if missing; WAL, busy timeout, foreign keys) or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA busy_timeout = 5000",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA synchronous = NORMAL",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await?;
        let (audit_tx, rx) = tokio::sync::mpsc::channel(4096);
        tokio::spawn(audit_writer(pool.clone(), rx));
        Ok(Self {
            pool,
            backend,
            audit_tx,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ── users ──────────────────────────────────────────────────────────────────────────

    pub async fn create_user(
        &self,
        id: &str,
        email: &str,
        password_hash: &str,
        role: &str,
        specialty: Option<&str>,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, specialty, failed_logins, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .bind(role)
        .bind(specialty)
        .bind(now())
        .execute(&self.pool)
        .await;
        inserted(r)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// Records a failed sign-in; after `limit` failures the account is locked until `until`.
    pub async fn login_failed(&self, id: &str, limit: i64, until: &str) -> Result<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(limit as i32)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn login_succeeded(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_password_link(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO password_links (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses a set-password link once: returns its user if it was live, and marks it used in
    /// the same statement so that two uses cannot both succeed.
    pub async fn use_password_link(&self, token_hash: &str, now: &str) -> Result<Option<String>> {
        let done = sqlx::query(
            "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT user_id FROM password_links WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(row.try_get("user_id")?))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_api_token(
        &self,
        id: &str,
        token_hash: &str,
        user_id: &str,
        name: &str,
        scope: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, user_id, name, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(user_id)
        .bind(name)
        .bind(scope)
        .bind(now())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// (user, scope) of a live API token.
    pub async fn api_token(&self, token_hash: &str, now: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT user_id, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("user_id")?, r.try_get("scope")?)))
            .transpose()
    }

    /// (id, name, scope, created, expires, revoked) of a user's tokens.
    #[allow(clippy::type_complexity)]
    pub async fn api_tokens(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, String, String, String, String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT id, name, scope, created_at, expires_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("name")?,
                    r.try_get("scope")?,
                    r.try_get("created_at")?,
                    r.try_get("expires_at")?,
                    r.try_get("revoked_at")?,
                ))
            })
            .collect()
    }

    pub async fn revoke_api_token(&self, user_id: &str, id: &str) -> Result<bool> {
        Ok(sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    // ── sessions ───────────────────────────────────────────────────────────────────────

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A live session (not expired at `now`).
    pub async fn session(&self, token_hash: &str, now: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token, expires_at FROM sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session {
                user_id: r.try_get("user_id")?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// A live session and its user, in one query (every signed-in request does this).
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: &str,
    ) -> Result<Option<(Session, User)>> {
        let row = sqlx::query(
            "SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let user = user_from(&r)?;
            Ok((
                Session {
                    user_id: user.id.clone(),
                    csrf_token: r.try_get("csrf_token")?,
                    expires_at: r.try_get("expires_at")?,
                },
                user,
            ))
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ── cases ──────────────────────────────────────────────────────────────────────────

    pub async fn create_case(
        &self,
        id: &str,
        owner_id: &str,
        created_by: &str,
        state: &str,
        record: &str,
    ) -> Result<CaseRow> {
        let at = now();
        sqlx::query(
            "INSERT INTO cases (id, owner_id, created_by, state, version, record, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $6, $6)",
        )
        .bind(id)
        .bind(owner_id)
        .bind(created_by)
        .bind(state)
        .bind(record)
        .bind(&at)
        .execute(&self.pool)
        .await?;
        self.case(id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn case(&self, id: &str) -> Result<Option<CaseRow>> {
        let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(case_from).transpose()
    }

    /// A case with the user's membership of it, in one query (every case request does this).
    pub async fn case_for(
        &self,
        id: &str,
        user_id: &str,
    ) -> Result<Option<(CaseRow, Option<Member>)>> {
        let row = sqlx::query(
            "SELECT c.*, m.role AS member_role, m.access AS member_access FROM cases c \
             LEFT JOIN case_members m ON m.case_id = c.id AND m.user_id = $2 WHERE c.id = $1",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let member = match (
                r.try_get::<Option<String>, _>("member_role")?,
                r.try_get::<Option<String>, _>("member_access")?,
            ) {
                (Some(role), Some(access)) => Some(Member {
                    user_id: user_id.to_owned(),
                    role,
                    access,
                }),
                _ => None,
            };
            Ok((case_from(&r)?, member))
        })
        .transpose()
    }

    /// Every case id with its current version.
    pub async fn case_versions(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT id, version FROM cases ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("version")?)))
            .collect()
    }

    /// Cases a user may list: owned, or a member of.
    pub async fn cases_for(&self, user_id: &str) -> Result<Vec<CaseRow>> {
        let rows = sqlx::query(
            "SELECT * FROM cases WHERE owner_id = $1 \
             OR id IN (SELECT case_id FROM case_members WHERE user_id = $1) ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from).collect()
    }

    /// Replaces the record if the case is still at `expected` version (optimistic
    /// concurrency): the compare and the write are one statement, so no update is lost.
    /// `None` writes whatever the current version is (HTTP `If-Match: *`).
    pub async fn update_record(
        &self,
        id: &str,
        expected: Option<i64>,
        record: &str,
    ) -> Result<CaseRow> {
        let done = match expected {
            Some(v) => {
                sqlx::query(
                    "UPDATE cases SET record = $1, version = version + 1, updated_at = $2 \
                     WHERE id = $3 AND version = $4",
                )
                .bind(record)
                .bind(now())
                .bind(id)
                .bind(v)
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE cases SET record = $1, version = version + 1, updated_at = $2 WHERE id = $3",
                )
                .bind(record)
                .bind(now())
                .bind(id)
                .execute(&self.pool)
                .await?
            }
        };
        let current = self.case(id).await?.ok_or(StoreError::NotFound)?;
        if done.rows_affected() == 1 {
            Ok(current)
        } else {
            Err(StoreError::Conflict {
                current: current.version,
            })
        }
    }

    pub async fn set_state(&self, id: &str, from: &str, to: &str) -> Result<CaseRow> {
        let done = sqlx::query(
            "UPDATE cases SET state = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(to)
        .bind(now())
        .bind(id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        let current = self.case(id).await?.ok_or(StoreError::NotFound)?;
        if done.rows_affected() == 1 {
            Ok(current)
        } else {
            Err(StoreError::Conflict {
                current: current.version,
            })
        }
    }

    pub async fn add_member(
        &self,
        case_id: &str,
        user_id: &str,
        role: &str,
        access: &str,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO case_members (case_id, user_id, role, access) VALUES ($1, $2, $3, $4)",
        )
        .bind(case_id)
        .bind(user_id)
        .bind(role)
        .bind(access)
        .execute(&self.pool)
        .await;
        inserted(r)
    }

    pub async fn remove_member(&self, case_id: &str, user_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM case_members WHERE case_id = $1 AND user_id = $2")
            .bind(case_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn member(&self, case_id: &str, user_id: &str) -> Result<Option<Member>> {
        let row = sqlx::query(
            "SELECT user_id, role, access FROM case_members WHERE case_id = $1 AND user_id = $2",
        )
        .bind(case_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Member {
                user_id: r.try_get("user_id")?,
                role: r.try_get("role")?,
                access: r.try_get("access")?,
            })
        })
        .transpose()
    }

    // ── screenings ─────────────────────────────────────────────────────────────────────

    pub async fn save_screening(
        &self,
        id: &str,
        case_id: &str,
        case_version: i64,
        catalogue_version: &str,
        as_of: &str,
        results: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO screenings (id, case_id, case_version, catalogue_version, as_of, results, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(case_id)
        .bind(case_version)
        .bind(catalogue_version)
        .bind(as_of)
        .bind(results)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn screenings(&self, case_id: &str) -> Result<Vec<Screening>> {
        let rows = sqlx::query(
            "SELECT id, case_version, catalogue_version, as_of, results, created_at FROM screenings \
             WHERE case_id = $1 ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Screening {
                    id: r.try_get("id")?,
                    case_version: r.try_get("case_version")?,
                    catalogue_version: r.try_get("catalogue_version")?,
                    as_of: r.try_get("as_of")?,
                    results: r.try_get("results")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    // ── consents ───────────────────────────────────────────────────────────────────────

    pub async fn accept_consent(
        &self,
        id: &str,
        user_id: &str,
        kind: &str,
        version: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (id, user_id, kind, version, accepted_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(user_id)
        .bind(kind)
        .bind(version)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Withdraws every live acceptance of `kind`; returns how many were withdrawn.
    pub async fn withdraw_consent(&self, user_id: &str, kind: &str) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE consents SET withdrawn_at = $1 WHERE user_id = $2 AND kind = $3 AND withdrawn_at IS NULL",
        )
        .bind(now())
        .bind(user_id)
        .bind(kind)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// The versions of `kind` a user has accepted and not withdrawn.
    pub async fn live_consents(&self, user_id: &str) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT kind, version, accepted_at FROM consents WHERE user_id = $1 AND withdrawn_at IS NULL ORDER BY accepted_at",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kind")?,
                    r.try_get("version")?,
                    r.try_get("accepted_at")?,
                ))
            })
            .collect()
    }

    /// Everyone on a case: the owner and the members.
    pub async fn participants(&self, case_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT owner_id AS user_id FROM cases WHERE id = $1 \
             UNION SELECT user_id FROM case_members WHERE case_id = $1",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("user_id")?)).collect()
    }

    // ── journey, calendar, monitoring, diary, supportive care ─────────────────────────

    pub async fn put_journey(&self, case_id: &str, input: &str) -> Result<()> {
        let at = now();
        let updated =
            sqlx::query("UPDATE journeys SET input = $1, updated_at = $2 WHERE case_id = $3")
                .bind(input)
                .bind(&at)
                .bind(case_id)
                .execute(&self.pool)
                .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO journeys (case_id, input, updated_at) VALUES ($1, $2, $3)")
                .bind(case_id)
                .bind(input)
                .bind(&at)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn journey(&self, case_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT input FROM journeys WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("input")?)).transpose()
    }

    pub async fn create_calendar_token(
        &self,
        id: &str,
        token_hash: &str,
        case_id: &str,
        by: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO calendar_tokens (id, token_hash, case_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(case_id)
        .bind(by)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The case of a live calendar token.
    pub async fn calendar_case(&self, token_hash: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT case_id FROM calendar_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(r.try_get("case_id")?)).transpose()
    }

    pub async fn revoke_calendar_token(&self, case_id: &str, id: &str) -> Result<bool> {
        Ok(sqlx::query("UPDATE calendar_tokens SET revoked_at = $1 WHERE id = $2 AND case_id = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .bind(case_id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn add_monitoring(
        &self,
        id: &str,
        case_id: &str,
        author: &str,
        entry: &str,
        crs: i32,
        icans: i32,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO monitoring (id, case_id, author_id, entry, crs_grade, icans_grade, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(case_id)
        .bind(author)
        .bind(entry)
        .bind(crs)
        .bind(icans)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// (id, author, entry JSON, CRS grade, ICANS grade, at), oldest first.
    #[allow(clippy::type_complexity)]
    pub async fn monitoring(
        &self,
        case_id: &str,
    ) -> Result<Vec<(String, String, String, i32, i32, String)>> {
        let rows = sqlx::query(
            "SELECT id, author_id, entry, crs_grade, icans_grade, at FROM monitoring WHERE case_id = $1 ORDER BY at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("author_id")?,
                    r.try_get("entry")?,
                    r.try_get("crs_grade")?,
                    r.try_get("icans_grade")?,
                    r.try_get("at")?,
                ))
            })
            .collect()
    }

    pub async fn add_diary(
        &self,
        id: &str,
        case_id: &str,
        author: &str,
        entry: &str,
        call_now: bool,
    ) -> Result<()> {
        sqlx::query("INSERT INTO diary (id, case_id, author_id, entry, call_now, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(case_id)
            .bind(author)
            .bind(entry)
            .bind(i32::from(call_now))
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn add_supportive(
        &self,
        id: &str,
        case_id: &str,
        requester: &str,
        kind: &str,
        details: &str,
        requested_for: &str,
        state: &str,
        reason: Option<&str>,
        held_until: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO supportive_requests (id, case_id, requester_id, kind, details, requested_for, state, reason, held_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(case_id)
        .bind(requester)
        .bind(kind)
        .bind(details)
        .bind(requested_for)
        .bind(state)
        .bind(reason)
        .bind(held_until)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Decides a request that is still `from`; false when it is not (any more).
    pub async fn decide_supportive(
        &self,
        case_id: &str,
        id: &str,
        from: &str,
        to: &str,
        by: &str,
        note: &str,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE supportive_requests SET state = $1, decided_by = $2, decided_at = $3, note = $4 \
             WHERE id = $5 AND case_id = $6 AND state = $7",
        )
        .bind(to)
        .bind(by)
        .bind(now())
        .bind(note)
        .bind(id)
        .bind(case_id)
        .bind(from)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Every request of a case as JSON objects, oldest first.
    pub async fn supportive(&self, case_id: &str) -> Result<Vec<serde_json::Value>> {
        let rows = sqlx::query(
            "SELECT * FROM supportive_requests WHERE case_id = $1 ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let get = |k: &str| -> Result<Option<String>> { Ok(r.try_get::<Option<String>, _>(k)?) };
                Ok(serde_json::json!({
                    "id": get("id")?, "requester": get("requester_id")?, "kind": get("kind")?,
                    "details": get("details")?, "requested_for": get("requested_for")?,
                    "state": get("state")?, "reason": get("reason")?, "held_until": get("held_until")?,
                    "decided_by": get("decided_by")?, "decided_at": get("decided_at")?, "note": get("note")?,
                    "created_at": get("created_at")?,
                }))
            })
            .collect()
    }

    pub async fn supportive_one(
        &self,
        case_id: &str,
        id: &str,
    ) -> Result<Option<(String, String, Option<String>)>> {
        let row = sqlx::query("SELECT kind, state, held_until FROM supportive_requests WHERE case_id = $1 AND id = $2")
            .bind(case_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                r.try_get("kind")?,
                r.try_get("state")?,
                r.try_get("held_until")?,
            ))
        })
        .transpose()
    }

    // ── documents ──────────────────────────────────────────────────────────────────────

    #[allow(clippy::too_many_arguments)]
    pub async fn add_document(
        &self,
        id: &str,
        case_id: &str,
        uploader: &str,
        filename: &str,
        content_type: &str,
        size: i64,
        sha256: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO documents (id, case_id, uploader_id, filename, content_type, size, sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(case_id)
        .bind(uploader)
        .bind(filename)
        .bind(content_type)
        .bind(size)
        .bind(sha256)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn documents(&self, case_id: &str) -> Result<Vec<Document>> {
        let rows =
            sqlx::query("SELECT * FROM documents WHERE case_id = $1 ORDER BY created_at, id")
                .bind(case_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(document_from).collect()
    }

    pub async fn document(&self, case_id: &str, id: &str) -> Result<Option<Document>> {
        let row = sqlx::query("SELECT * FROM documents WHERE case_id = $1 AND id = $2")
            .bind(case_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(document_from).transpose()
    }

    // ── messages and notifications ─────────────────────────────────────────────────────

    pub async fn add_message(
        &self,
        id: &str,
        case_id: &str,
        author: &str,
        body: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO messages (id, case_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(case_id)
            .bind(author)
            .bind(body)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// (id, author, body, created at), oldest first.
    pub async fn messages(&self, case_id: &str) -> Result<Vec<(String, String, String, String)>> {
        let rows = sqlx::query(
            "SELECT id, author_id, body, created_at FROM messages WHERE case_id = $1 ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("author_id")?,
                    r.try_get("body")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }

    pub async fn notify(
        &self,
        id: &str,
        user_id: &str,
        case_id: Option<&str>,
        kind: &str,
        text: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, case_id, kind, text, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(case_id)
        .bind(kind)
        .bind(text)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// (id, case, kind, text, created at, read at), newest first.
    #[allow(clippy::type_complexity)]
    pub async fn notifications(
        &self,
        user_id: &str,
    ) -> Result<
        Vec<(
            String,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
        )>,
    > {
        let rows = sqlx::query(
            "SELECT id, case_id, kind, text, created_at, read_at FROM notifications WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("case_id")?,
                    r.try_get("kind")?,
                    r.try_get("text")?,
                    r.try_get("created_at")?,
                    r.try_get("read_at")?,
                ))
            })
            .collect()
    }

    /// Marks one of the user's notifications read; false when it is not theirs.
    pub async fn mark_read(&self, user_id: &str, id: &str) -> Result<bool> {
        Ok(
            sqlx::query("UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3")
                .bind(now())
                .bind(id)
                .bind(user_id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1,
        )
    }

    // ── MDT ────────────────────────────────────────────────────────────────────────────

    pub async fn mdt_assign(&self, case_id: &str, user_id: &str, due: &str) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO mdt_assignments (case_id, user_id, due, assigned_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(case_id)
        .bind(user_id)
        .bind(due)
        .bind(now())
        .execute(&self.pool)
        .await;
        inserted(r)
    }

    /// (user id, due date) of every specialist assigned to the MDT review.
    pub async fn mdt_assignments(&self, case_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT user_id, due FROM mdt_assignments WHERE case_id = $1 ORDER BY assigned_at, user_id")
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("due")?)))
            .collect()
    }

    pub async fn mdt_add_opinion(
        &self,
        id: &str,
        case_id: &str,
        author: &str,
        body: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mdt_opinions (id, case_id, author_id, body, submitted_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(case_id)
        .bind(author)
        .bind(body)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// (author, body JSON, submitted at), oldest first.
    pub async fn mdt_opinions(&self, case_id: &str) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT author_id, body, submitted_at FROM mdt_opinions WHERE case_id = $1 ORDER BY submitted_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("author_id")?,
                    r.try_get("body")?,
                    r.try_get("submitted_at")?,
                ))
            })
            .collect()
    }

    /// Adds the next consensus version; returns its number.
    pub async fn mdt_add_consensus(&self, case_id: &str, lead: &str, body: &str) -> Result<i64> {
        for _ in 0..10 {
            let last = sqlx::query("SELECT version FROM mdt_consensus WHERE case_id = $1 ORDER BY version DESC LIMIT 1")
                .bind(case_id)
                .fetch_optional(&self.pool)
                .await?;
            let version = match last {
                Some(r) => r.try_get::<i64, _>("version")? + 1,
                None => 1,
            };
            let r = sqlx::query(
                "INSERT INTO mdt_consensus (case_id, version, lead_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(case_id)
            .bind(version)
            .bind(lead)
            .bind(body)
            .bind(now())
            .execute(&self.pool)
            .await;
            match r {
                Ok(_) => return Ok(version),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Duplicate)
    }

    /// (version, lead, body JSON, created at), oldest first.
    pub async fn mdt_consensus(&self, case_id: &str) -> Result<Vec<(i64, String, String, String)>> {
        let rows = sqlx::query(
            "SELECT version, lead_id, body, created_at FROM mdt_consensus WHERE case_id = $1 ORDER BY version",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("version")?,
                    r.try_get("lead_id")?,
                    r.try_get("body")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }

    pub async fn mdt_sign(&self, case_id: &str, version: i64, user_id: &str) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO mdt_signatures (case_id, version, user_id, signed_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(case_id)
        .bind(version)
        .bind(user_id)
        .bind(now())
        .execute(&self.pool)
        .await;
        inserted(r)
    }

    /// (user, signed at) for one consensus version.
    pub async fn mdt_signatures(
        &self,
        case_id: &str,
        version: i64,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT user_id, signed_at FROM mdt_signatures WHERE case_id = $1 AND version = $2 ORDER BY signed_at, user_id",
        )
        .bind(case_id)
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("signed_at")?)))
            .collect()
    }

    // ── audit ──────────────────────────────────────────────────────────────────────────

    /// Appends an audit entry, chaining its hash to the previous entry's, and returns its
    /// sequence number once it is committed. Entries from concurrent requests are written
    /// together by one writer task (group commit), so that recording every read does not
    /// make reads wait on each other.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        case_id: Option<&str>,
        request_id: &str,
    ) -> Result<i64> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let req = AuditRequest {
            actor: actor.to_owned(),
            action: action.to_owned(),
            case_id: case_id.map(str::to_owned),
            request_id: request_id.to_owned(),
            done,
        };
        let broken = || StoreError::AuditBroken {
            seq: 0,
            why: "the audit writer stopped".into(),
        };
        self.audit_tx.send(req).await.map_err(|_| broken())?;
        answer.await.map_err(|_| broken())?
    }

    pub async fn audit_entries(&self, case_id: Option<&str>) -> Result<Vec<AuditEntry>> {
        let rows = match case_id {
            Some(c) => {
                sqlx::query("SELECT * FROM audit WHERE case_id = $1 ORDER BY seq")
                    .bind(c)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM audit ORDER BY seq")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    case_id: r.try_get("case_id")?,
                    request_id: r.try_get("request_id")?,
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect()
    }

    /// Checks the whole chain: sequence without gaps, each entry linked to the previous
    /// hash, each hash recomputed from the content. Returns the number of entries.
    pub async fn verify_audit(&self) -> Result<usize> {
        let entries = self.audit_entries(None).await?;
        let mut prev = GENESIS.to_owned();
        for (i, e) in entries.iter().enumerate() {
            let expected_seq = i as i64 + 1;
            let broken = |why: &str| StoreError::AuditBroken {
                seq: e.seq,
                why: why.to_owned(),
            };
            if e.seq != expected_seq {
                return Err(broken("sequence gap"));
            }
            if e.prev_hash != prev {
                return Err(broken("does not link to the previous entry"));
            }
            let h = audit_hash(
                &e.prev_hash,
                e.seq,
                &e.at,
                &e.actor,
                &e.action,
                e.case_id.as_deref(),
                &e.request_id,
            );
            if h != e.hash {
                return Err(broken("content does not match its hash"));
            }
            prev = e.hash.clone();
        }
        Ok(entries.len())
    }

    /// An online, consistent copy of a SQLite database (`VACUUM INTO`), safe while the
    /// server runs. PostgreSQL is backed up with its own tools (docs/operations.md).
    pub async fn backup_sqlite(&self, to: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported(
                "backup copies SQLite databases; back PostgreSQL up with pg_dump (docs/operations.md)",
            ));
        }
        let path = to.to_string_lossy().replace('\'', "''");
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{path}'")))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Runs raw SQL (tests use it to show the database refuses audit tampering).
    pub async fn execute_raw(&self, sql: &'static str) -> Result<u64> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_564_800), "2026-11-25T00:00:00Z");
        assert_eq!(rfc3339(951_825_599), "2000-02-29T11:59:59Z");
    }
}
