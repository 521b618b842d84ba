//! The append-only, hash-chained audit log: appends inside a use case's transaction, the
//! group-committed appender for reads, and verification.

use sha2::{Digest, Sha256};
use sqlx::Row;

#[allow(unused_imports)]
use crate::{Backend, NewAudit, Result, SharedClock, Store, StoreError, is_unique_violation};

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

fn entry_from(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
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

pub(crate) struct AuditRequest {
    entry: NewAudit,
    done: tokio::sync::oneshot::Sender<Result<i64>>,
}

/// Most entries written in one transaction.
const AUDIT_BATCH: usize = 512;

/// A fixed key for PostgreSQL's transaction-scoped advisory lock that serialises appends to
/// the chain across every process on the database (each append reads the head, then
/// extends it). On SQLite, `BEGIN IMMEDIATE` already serialises writers.
const CHAIN_LOCK: i64 = 0x6365_6c6c_7061_7468;

/// Appends `entries` to the chain inside `tx`, all stamped `at`; returns the first entry's
/// sequence number. The head is read inside the transaction, after the chain lock, so
/// appends from use cases, the read appender and other processes interleave safely.
pub(crate) async fn append_in(
    change: &mut crate::writer::ChangeConn,
    backend: Backend,
    at: &str,
    entries: &[&NewAudit],
) -> Result<i64> {
    // SQLite's open group transaction remembers the head it last wrote (nobody else can
    // write meanwhile); PostgreSQL reads it after taking the chain lock.
    let cached = change.head().and_then(Option::take);
    let (first, head) = append(&mut *change, backend, at, entries, cached).await?;
    if let Some(h) = change.head() {
        *h = Some(head);
    }
    Ok(first)
}

async fn append(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    at: &str,
    entries: &[&NewAudit],
    cached: Option<(i64, String)>,
) -> Result<(i64, (i64, String))> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    let (mut seq, mut prev) = match cached {
        Some(head) => head,
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
    for e in entries {
        seq += 1;
        let hash = audit_hash(
            &prev,
            seq,
            at,
            &e.actor,
            &e.action,
            e.case_id.as_deref(),
            &e.request_id,
        );
        sqlx::query(
            "INSERT INTO audit (seq, at, actor, action, case_id, request_id, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq)
        .bind(at)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(e.case_id.as_deref())
        .bind(&e.request_id)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        prev = hash;
    }
    Ok((first, (seq, prev)))
}

/// The single in-process appender for the entries of reads: takes what is queued, appends
/// it in one transaction, then answers every waiting request (group commit), so recording
/// every read does not make reads wait on each other one by one.
pub(crate) async fn audit_writer(
    pool: sqlx::AnyPool,
    backend: Backend,
    clock: SharedClock,
    writer: crate::WriteLock,
    mut rx: tokio::sync::mpsc::Receiver<AuditRequest>,
) {
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
            match append_batch(&pool, backend, &clock, &writer, &batch).await {
                Ok(first_seq) => {
                    outcome = Ok(first_seq);
                    break;
                }
                // Another process extended the chain between our read and insert.
                Err(StoreError::Database(e)) if is_unique_violation(&e) => {}
                Err(e) => {
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
    pool: &sqlx::AnyPool,
    backend: Backend,
    clock: &SharedClock,
    writer: &crate::WriteLock,
    batch: &[AuditRequest],
) -> Result<i64> {
    let mut change = crate::open_change(pool, backend, writer).await?;
    let entries: Vec<&NewAudit> = batch.iter().map(|r| &r.entry).collect();
    let first = append_in(&mut change, backend, &clock.now(), &entries).await?;
    change.commit().await?;
    Ok(first)
}

impl Store {
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
            entry: NewAudit::new(actor, action, case_id, request_id),
            done,
        };
        let broken = || StoreError::AuditBroken {
            seq: 0,
            why: "the audit writer stopped".into(),
        };
        self.audit_tx.send(req).await.map_err(|_| broken())?;
        answer.await.map_err(|_| broken())?
    }

    /// The events of an account (sign-ins, failed and throttled sign-ins, account changes),
    /// newest first, at most `limit`.
    pub async fn account_events(&self, user_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM audit WHERE actor = $1 AND case_id IS NULL \
             AND (action LIKE 'session.%' OR action LIKE 'account.%') ORDER BY seq DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from).collect()
    }

    /// One's consents given and withdrawn, newest first (the consents page's history).
    pub async fn consent_events(&self, user_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM audit WHERE actor = $1 AND case_id IS NULL \
             AND action LIKE 'consent.%' ORDER BY seq DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from).collect()
    }

    /// The last entry of the chain, if any.
    pub async fn audit_head(&self) -> Result<Option<AuditEntry>> {
        let row = sqlx::query("SELECT * FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry_from).transpose()
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
        rows.iter().map(entry_from).collect()
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
}
