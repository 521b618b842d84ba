//! Group commit for SQLite writes.
//!
//! SQLite has one writer at a time. Changes queue here, in process, for the writer's turn
//! (instead of sleeping in SQLite's busy handler). The turn holder works inside a savepoint of
//! one outer transaction; when it commits its savepoint and others are already waiting, it
//! hands the still-open transaction to the next one and waits for the shared commit, so a
//! burst of changes costs one BEGIN and one COMMIT. Every change is answered only after the
//! outer COMMIT, so "committed" still means durable; a change that fails rolls back to its
//! savepoint and touches nothing of the others.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::{Result, StoreError};

/// The most changes one outer transaction carries before it must commit.
const MAX_BATCH: usize = 64;

/// The writer's state, owned by whoever holds the turn.
#[derive(Default)]
pub(crate) struct Writer {
    conn: Option<PoolConnection<Any>>,
    /// An outer transaction is open on `conn`.
    open: bool,
    /// Changes released into the open transaction, waiting for its commit.
    batch: Vec<oneshot::Sender<std::result::Result<(), String>>>,
    next_savepoint: u64,
    /// The audit chain's head as this open transaction sees it.
    pub(crate) head: Option<(i64, String)>,
}

/// The queue of SQLite writers.
#[derive(Clone, Default)]
pub(crate) struct WriteLock {
    state: Arc<Mutex<Writer>>,
    waiting: Arc<AtomicUsize>,
}

/// Counts a writer waiting for the turn, for as long as it waits (also if it is dropped
/// while waiting).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The writer's turn: the connection inside one savepoint of the open transaction.
pub(crate) struct Turn {
    guard: Option<OwnedMutexGuard<Writer>>,
    /// None when this change opened the outer transaction: nothing else is in it, so the
    /// transaction itself is its savepoint (two fewer statements for a lone change).
    savepoint: Option<String>,
    waiting: Arc<AtomicUsize>,
}

impl WriteLock {
    /// Waits for the turn, opens the outer transaction if none is open, and a savepoint.
    pub(crate) async fn turn(&self, pool: &AnyPool) -> Result<Turn> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = {
            let _w = Waiting(&self.waiting);
            self.state.clone().lock_owned().await
        };
        // The transaction's state changes run to completion in a task of their own: a
        // caller that goes away half-way (a dropped request) must not leave the writer
        // believing a transaction is open when it is not, or the reverse.
        let pool = pool.clone();
        let (mut guard, opened) = tokio::spawn(async move {
            let mut guard = guard;
            let opened = open_savepoint(&mut guard, &pool).await;
            (guard, opened)
        })
        .await
        .map_err(|e| StoreError::GroupCommit(e.to_string()))?;
        match opened {
            Ok(savepoint) => Ok(Turn {
                guard: Some(guard),
                savepoint,
                waiting: self.waiting.clone(),
            }),
            Err(e) => {
                // Whoever handed the transaction on is waiting for its commit: end it.
                if guard.open {
                    let _ = commit_batch(&mut guard).await;
                }
                discard_connection(&mut guard);
                Err(e)
            }
        }
    }
}

async fn open_savepoint(w: &mut Writer, pool: &AnyPool) -> Result<Option<String>> {
    if w.conn.is_none() {
        w.conn = Some(pool.acquire().await?);
    }
    if !w.open {
        exec(w, "BEGIN IMMEDIATE").await?;
        w.open = true;
        w.head = None;
        return Ok(None);
    }
    let savepoint = format!("change_{}", w.next_savepoint);
    w.next_savepoint = w.next_savepoint.wrapping_add(1);
    exec(w, &format!("SAVEPOINT {savepoint}")).await?;
    Ok(Some(savepoint))
}

/// Closes the writer's connection instead of returning it to the pool: its transaction
/// state is not known, and a reader must never inherit it.
fn discard_connection(w: &mut Writer) {
    if let Some(conn) = w.conn.take() {
        drop(conn.detach());
    }
    w.open = false;
    w.head = None;
}

async fn exec(w: &mut Writer, sql: &str) -> Result<()> {
    let conn = w
        .conn
        .as_deref_mut()
        .ok_or(StoreError::Unsupported("the writer has no connection"))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Commits the open transaction and answers everyone waiting on it.
async fn commit_batch(w: &mut Writer) -> Result<()> {
    // Marked closed first: whatever happens to the COMMIT, the next turn begins anew.
    w.open = false;
    w.head = None;
    let outcome = exec(w, "COMMIT").await;
    if outcome.is_err() {
        let _ = exec(w, "ROLLBACK").await;
    }
    let answer = outcome.as_ref().map(|_| ()).map_err(|e| e.to_string());
    for waiter in w.batch.drain(..) {
        let _ = waiter.send(answer.clone());
    }
    outcome
}

impl Turn {
    pub(crate) fn writer(&mut self) -> &mut Writer {
        self.guard
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("a turn holds the writer until it ends"))
    }

    /// Keeps this change: releases its savepoint, then either commits the outer
    /// transaction or — when others are already waiting — hands it on and waits for the
    /// commit that one of them makes. Returns once the change is durable.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let mut guard = self
            .guard
            .take()
            .unwrap_or_else(|| unreachable!("a turn holds the writer until it ends"));
        let savepoint = self.savepoint.take();
        let waiting = self.waiting.clone();
        // Runs to completion even if the caller goes away (see `turn`).
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            if let Some(sp) = &savepoint
                && let Err(e) = exec(&mut guard, &format!("RELEASE {sp}")).await
            {
                let _ = exec(&mut guard, &format!("ROLLBACK TO {sp}")).await;
                let _ = tx.send(Err(e.to_string()));
                return;
            }
            if waiting.load(Ordering::SeqCst) > 0 && guard.batch.len() < MAX_BATCH {
                // Hand the open transaction on; the next holder's commit answers us.
                guard.batch.push(tx);
                return;
            }
            let outcome = commit_batch(&mut guard).await;
            let _ = tx.send(outcome.map_err(|e| e.to_string()));
        });
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::GroupCommit(why)),
            Err(_) => Err(StoreError::GroupCommit(
                "the group commit ended without an answer".into(),
            )),
        }
    }
}

impl Drop for Turn {
    /// A change dropped without commit rolls back to its savepoint. The writer's turn then
    /// passes on; if nobody is waiting, the open transaction (holding others' released
    /// changes) is committed now.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let savepoint = self.savepoint.clone();
        let cleanup = async move {
            let Some(savepoint) = savepoint else {
                // This change opened the transaction and nothing else is in it.
                let _ = exec(&mut guard, "ROLLBACK").await;
                guard.open = false;
                guard.head = None;
                return;
            };
            let undone = exec(&mut guard, &format!("ROLLBACK TO {savepoint}")).await;
            let released = exec(&mut guard, &format!("RELEASE {savepoint}")).await;
            if undone.is_err() || released.is_err() {
                // The connection is in an unknown state: end its transaction and start over.
                let _ = exec(&mut guard, "ROLLBACK").await;
                guard.open = false;
                guard.head = None;
                discard_connection(&mut guard);
                for waiter in guard.batch.drain(..) {
                    let _ = waiter.send(Err("a change could not be rolled back".into()));
                }
                return;
            }
            // The chain head may have been extended inside the undone savepoint.
            guard.head = None;
            // A failed change flushes the group: a writer that lost a version race must see
            // the changes it raced against committed when it reads again, or optimistic
            // retries would chase versions that only the open transaction can see.
            if guard.open {
                let _ = commit_batch(&mut guard).await;
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(cleanup);
            }
            Err(_) => {
                // No runtime to finish on: drop the connection, which ends its transaction.
            }
        }
    }
}

/// The connection of one change: a PostgreSQL transaction, or SQLite's writer turn.
pub(crate) enum ChangeConn {
    Postgres(sqlx::Transaction<'static, Any>),
    Sqlite(Turn),
}

impl Deref for ChangeConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Postgres(tx) => tx,
            Self::Sqlite(turn) => turn
                .guard
                .as_ref()
                .and_then(|g| g.conn.as_deref())
                .unwrap_or_else(|| unreachable!("a turn holds a connection")),
        }
    }
}

impl DerefMut for ChangeConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Postgres(tx) => tx,
            Self::Sqlite(turn) => turn
                .guard
                .as_mut()
                .and_then(|g| g.conn.as_deref_mut())
                .unwrap_or_else(|| unreachable!("a turn holds a connection")),
        }
    }
}

impl ChangeConn {
    /// The cached chain head of SQLite's open transaction (None on PostgreSQL).
    pub(crate) fn head(&mut self) -> Option<&mut Option<(i64, String)>> {
        match self {
            Self::Postgres(_) => None,
            Self::Sqlite(turn) => Some(&mut turn.writer().head),
        }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Self::Postgres(tx) => Ok(tx.commit().await?),
            Self::Sqlite(turn) => turn.commit().await,
        }
    }
}
