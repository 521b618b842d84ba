//! Persistence for the coordination server. One SQL path serves SQLite (the embedded
//! default) and PostgreSQL through sqlx's `Any` driver: ids, timestamps (RFC 3339 UTC) and
//! JSON are TEXT, booleans INTEGER, placeholders `$1`. Each backend has its own migrations
//! folder. The audit log is append-only (database triggers refuse UPDATE and DELETE) and
//! hash-chained: each entry's hash covers the previous hash and its own canonical content.
//!
//! Reads are methods of [`Store`]. Every change is a method of [`Tx`], the transaction of
//! one use case: it is opened with the audit entry it will write ([`NewAudit`]), and
//! [`Tx::commit`] appends that entry to the chain inside the same transaction, so a change
//! and its audit entry are committed together or not at all.

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

/// `sqlx::FromRow` for a row struct, each field read from the column of its name. Written
/// out rather than derived: sqlx's derive lives in its macros crate, which compiles the
/// SQLite (with its C library) and PostgreSQL drivers a second time for the build machine
/// (`docs/ci.md`).
macro_rules! from_row {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $ty {
            fn from_row(row: &'r sqlx::any::AnyRow) -> std::result::Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?,)*
                })
            }
        }
    };
}
pub(crate) use from_row;

mod accounts;
mod alerts;
mod audit;
mod care;
mod cases;
pub mod clock;
mod consent;
mod documents;
mod mdt;
mod messages;
mod registry;
mod relations;
#[doc(hidden)]
pub mod testing;
pub mod types;
mod work;
mod writer;

pub use accounts::{ApiTokenRow, Session, User};
pub use alerts::{AlertAckRow, NewSafetyAlert, OnCallRow, OutboxRow, OutgoingRow, SafetyAlertRow};
pub use audit::{AuditEntry, audit_hash};
pub use care::{
    CALENDAR_TOKEN_DAYS, CalendarToken, DecisionNote, DiaryRow, MonitoringRow, NewMonitoring,
    SupportiveRow,
};
pub use cases::{CaseRow, Member, NewCase, RecordVersion, Screening};
pub use clock::{Clock, FixedClock, SharedClock, SystemClock, parse_rfc3339, rfc3339};
pub use consent::LiveConsent;
pub use documents::{CHUNK as DOCUMENT_CHUNK, Document};
pub use mdt::{Assignment, ConsensusRow, DraftRow, MyAssignment, OpinionRow, Signature};
pub use messages::{MessageRow, NotificationRow};
pub use registry::{
    FlagRow, NewFlag, NewStudyVersion, RegistryStudyRow, RegistryVersionRow, SyncRow,
};
pub use relations::RelationRow;
pub use types::{
    Access, AlertAction, AlertSeverity, AlertSource, CaseId, ConsentKind, MemberRole,
    SupportiveState, UserId,
};
pub use work::{AckRow, ConsentNeed, QueuePage, QueueQuery, QueueRow, QueueSort};

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
    /// A stored value that is not one of the values its column allows.
    #[error("stored value `{value}` is not a valid {what}")]
    Corrupt { what: &'static str, value: String },
    /// The shared commit of a group of changes failed; none of them was kept.
    #[error("group commit failed: {0}")]
    GroupCommit(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The migrations of each backend, embedded by `build.rs` as (version, description, SQL).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// One backend's embedded migrations, as sqlx reads a migrations folder: the same versions,
/// descriptions, checksums (of the SQL) and `-- no-transaction` marker.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl sqlx::migrate::MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = std::result::Result<
                        Vec<sqlx::migrate::Migration>,
                        sqlx::error::BoxDynError,
                    >,
                > + Send,
        >,
    > {
        let list = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                sqlx::migrate::Migration::new(
                    version,
                    std::borrow::Cow::Borrowed(description),
                    sqlx::migrate::MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(list)))
    }
}

async fn migrator(backend: Backend) -> Result<sqlx::migrate::Migrator> {
    let list = match backend {
        Backend::Sqlite => embedded::SQLITE,
        Backend::Postgres => embedded::POSTGRES,
    };
    Ok(sqlx::migrate::Migrator::new(Embedded(list)).await?)
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// An insert's outcome, with a unique-key clash reported as `Duplicate`.
pub(crate) fn inserted<T>(r: std::result::Result<T, sqlx::Error>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// The audit entry a change will write: who did what, on which case, in which request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAudit {
    pub actor: String,
    pub action: String,
    pub case_id: Option<String>,
    pub request_id: String,
}

impl NewAudit {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        case_id: Option<&str>,
        request_id: impl Into<String>,
    ) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            case_id: case_id.map(str::to_owned),
            request_id: request_id.into(),
        }
    }
}

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    clock: SharedClock,
    /// SQLite has one writer at a time: writers queue here, in process, instead of
    /// sleeping in SQLite's busy handler (which backs off up to 100 ms at a time).
    writer: WriteLock,
    /// The group-committing appender for the audit entries of reads.
    audit_tx: tokio::sync::mpsc::Sender<audit::AuditRequest>,
}

impl Store {
    /// Connects to `sqlite://PATH` (created if missing; WAL, busy timeout, foreign keys) or
    /// `postgres://…`, on the machine's clock.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_clock(url, std::sync::Arc::new(SystemClock)).await
    }

    /// As [`Store::connect`], on the given clock (tests fix time with a [`FixedClock`]).
    pub async fn connect_with_clock(url: &str, clock: SharedClock) -> Result<Self> {
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
        let writer = WriteLock::default();
        tokio::spawn(audit::audit_writer(
            pool.clone(),
            backend,
            clock.clone(),
            writer.clone(),
            rx,
        ));
        Ok(Self {
            pool,
            backend,
            clock,
            writer,
            audit_tx,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The current time from the store's clock, RFC 3339 UTC.
    pub fn now(&self) -> String {
        self.clock.now()
    }

    pub async fn migrate(&self) -> Result<()> {
        migrator(self.backend).await?.run(&self.pool).await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Opens the transaction of one change, which will write `audit` when it commits. On
    /// SQLite the write lock is taken at once (`BEGIN IMMEDIATE`), so two changes never
    /// deadlock upgrading a read lock.
    pub async fn begin(&self, audit: NewAudit) -> Result<Tx> {
        let tx = open_change(&self.pool, self.backend, &self.writer).await?;
        Ok(Tx {
            tx,
            backend: self.backend,
            now: self.clock.now(),
            audit,
        })
    }
}

pub(crate) use writer::WriteLock;

/// Opens the connection of one change: a transaction on PostgreSQL (its row locks and the
/// audit chain's advisory lock serialise what must be); on SQLite the writer's turn, inside
/// a savepoint of the group-committed transaction.
pub(crate) async fn open_change(
    pool: &AnyPool,
    backend: Backend,
    lock: &WriteLock,
) -> Result<writer::ChangeConn> {
    Ok(match backend {
        Backend::Sqlite => writer::ChangeConn::Sqlite(lock.turn(pool).await?),
        Backend::Postgres => writer::ChangeConn::Postgres(pool.begin().await?),
    })
}

impl Tx {
    /// The change is the account's own, known only once the transaction found it (a
    /// one-time link names its account): its audit entry is written as that account's, so
    /// the account's events list it.
    pub fn audit_as(&mut self, actor: &str) {
        self.audit.actor = actor.to_owned();
    }
}

/// The transaction of one use case's change. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    tx: writer::ChangeConn,
    backend: Backend,
    /// The time of this change: every row it writes carries the same instant.
    now: String,
    audit: NewAudit,
}

impl Tx {
    /// The time stamped on this change.
    pub fn now(&self) -> &str {
        &self.now
    }

    /// Appends this change's audit entry to the chain and commits both. Returns the entry's
    /// sequence number.
    pub async fn commit(mut self) -> Result<i64> {
        let seq = audit::append_in(&mut self.tx, self.backend, &self.now, &[&self.audit]).await?;
        self.tx.commit().await?;
        Ok(seq)
    }

    /// Names the audit action once the change knows it (e.g. the version it created).
    pub fn set_action(&mut self, action: impl Into<String>) {
        self.audit.action = action.into();
    }

    /// For tests of fault handling: runs raw SQL inside the transaction.
    #[doc(hidden)]
    pub async fn execute_raw(&mut self, sql: &'static str) -> Result<u64> {
        Ok(sqlx::query(sql)
            .execute(&mut *self.tx)
            .await?
            .rows_affected())
    }
}

impl Store {
    /// Runs raw SQL (tests use it to show the database refuses audit tampering and to
    /// inject faults).
    pub async fn execute_raw(&self, sql: &'static str) -> Result<u64> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
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

    /// The tables, columns (name, type class, nullability) and constraints of the schema, in
    /// a form that compares across backends (a test asserts SQLite and PostgreSQL agree).
    pub async fn schema(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        match self.backend {
            Backend::Sqlite => {
                let tables = sqlx::query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                for t in tables {
                    let name: String = t.try_get("name")?;
                    let cols = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info('{name}') ORDER BY name"
                    )))
                    .fetch_all(&self.pool)
                    .await?;
                    for c in cols {
                        let col: String = c.try_get("name")?;
                        let ty: String = c.try_get("type")?;
                        let nn: i64 = c.try_get::<i32, _>("nn").map(i64::from)?;
                        let pk: i64 = c.try_get::<i32, _>("pk").map(i64::from)?;
                        let nullability = if nn == 1 || pk > 0 {
                            "not null"
                        } else {
                            "null"
                        };
                        let key = if pk > 0 { " primary key" } else { "" };
                        out.push(format!(
                            "{name}.{col} {} {nullability}{key}",
                            type_class(&ty)
                        ));
                    }
                }
            }
            Backend::Postgres => {
                let cols = sqlx::query(
                    "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                            c.data_type::text AS data_type, c.is_nullable::text AS is_nullable \
                     FROM information_schema.columns c JOIN information_schema.tables t \
                       ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
                     WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
                       AND c.table_name NOT LIKE '_sqlx%' ORDER BY c.table_name, c.column_name",
                )
                .fetch_all(&self.pool)
                .await?;
                let keys = sqlx::query(
                    "SELECT k.table_name::text AS table_name, k.column_name::text AS column_name \
                     FROM information_schema.table_constraints tc \
                     JOIN information_schema.key_column_usage k \
                       ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema \
                     WHERE tc.table_schema = 'public' AND tc.constraint_type = 'PRIMARY KEY'",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut primary = std::collections::HashSet::new();
                for k in keys {
                    let table: String = k.try_get("table_name")?;
                    let col: String = k.try_get("column_name")?;
                    primary.insert(format!("{table}.{col}"));
                }
                for c in cols {
                    let table: String = c.try_get("table_name")?;
                    let col: String = c.try_get("column_name")?;
                    let ty: String = c.try_get("data_type")?;
                    let nullable: String = c.try_get("is_nullable")?;
                    let key = format!("{table}.{col}");
                    out.push(format!(
                        "{key} {} {}{}",
                        type_class(&ty),
                        if nullable == "NO" { "not null" } else { "null" },
                        if primary.contains(&key) {
                            " primary key"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A column type reduced to what both backends mean by it.
fn type_class(ty: &str) -> &'static str {
    let t = ty.to_ascii_lowercase();
    if t.contains("int") {
        "integer"
    } else if t.contains("blob") || t.contains("bytea") {
        "bytes"
    } else if t.contains("real") || t.contains("double") || t.contains("numeric") {
        "real"
    } else {
        "text"
    }
}
