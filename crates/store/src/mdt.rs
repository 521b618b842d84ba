//! The MDT second opinion: assignments, opinions, consensus versions and signatures.

use sqlx::Row;

#[allow(unused_imports)]
use crate::{Result, Store, StoreError, Tx, inserted, is_unique_violation};

/// A specialist assigned to the MDT review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub user_id: String,
    pub due: String,
    pub assigned_at: String,
    /// The record version the specialist was assigned on (unknown for older assignments).
    pub record_version: Option<i64>,
}
crate::from_row!(Assignment {
    user_id,
    due,
    assigned_at,
    record_version
});

/// A submitted opinion (immutable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpinionRow {
    pub id: String,
    pub author_id: String,
    /// The opinion as JSON.
    pub body: String,
    pub submitted_at: String,
    /// The record version it was given on (unknown for opinions older than record history).
    pub record_version: Option<i64>,
}
crate::from_row!(OpinionRow {
    id,
    author_id,
    body,
    submitted_at,
    record_version
});

/// One version of the consensus (immutable; an amendment is a new version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusRow {
    pub version: i64,
    pub lead_id: String,
    /// The consensus as JSON.
    pub body: String,
    pub created_at: String,
    /// The record version it was made on.
    pub record_version: Option<i64>,
}
crate::from_row!(ConsensusRow {
    version,
    lead_id,
    body,
    created_at,
    record_version
});

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub user_id: String,
    pub signed_at: String,
}
crate::from_row!(Signature { user_id, signed_at });

/// One of a specialist's own assignments, with where the case and the record stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyAssignment {
    pub case_id: String,
    /// The patient, as others see them.
    pub owner_name: Option<String>,
    pub owner_email: String,
    pub due: String,
    pub assigned_at: String,
    /// The record version assigned on (unknown for older assignments).
    pub record_version: Option<i64>,
    /// The record version now.
    pub current_version: i64,
    pub state: String,
    /// The record version of one's submitted opinion, when there is one (0 when it predates
    /// record history).
    pub opinion_version: Option<i64>,
    /// Drafts being written (0 or 1).
    pub drafts: i64,
}
crate::from_row!(MyAssignment {
    case_id,
    owner_name,
    owner_email,
    due,
    assigned_at,
    record_version,
    current_version,
    state,
    opinion_version,
    drafts
});

/// An opinion being written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftRow {
    pub body: String,
    pub saved_at: String,
}
crate::from_row!(DraftRow { body, saved_at });

impl Store {
    /// A specialist's draft opinion on a case, if any.
    pub async fn mdt_draft(&self, case_id: &str, user_id: &str) -> Result<Option<DraftRow>> {
        Ok(sqlx::query_as(
            "SELECT body, saved_at FROM mdt_drafts WHERE case_id = $1 AND user_id = $2",
        )
        .bind(case_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every specialist assigned to the MDT review, in the order assigned.
    pub async fn mdt_assignments(&self, case_id: &str) -> Result<Vec<Assignment>> {
        Ok(sqlx::query_as(
            "SELECT user_id, due, assigned_at, record_version FROM mdt_assignments WHERE case_id = $1 \
             ORDER BY assigned_at, user_id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A specialist's own assignments on every case, the earliest due first.
    pub async fn my_assignments(&self, user_id: &str) -> Result<Vec<MyAssignment>> {
        Ok(sqlx::query_as(
            "SELECT a.case_id, u.display_name AS owner_name, u.email AS owner_email, \
                    a.due, a.assigned_at, a.record_version, \
                    c.record_version AS current_version, c.state, \
                    (SELECT MAX(COALESCE(o.record_version, 0)) FROM mdt_opinions o \
                      WHERE o.case_id = a.case_id AND o.author_id = a.user_id) AS opinion_version, \
                    (SELECT COUNT(*) FROM mdt_drafts d \
                      WHERE d.case_id = a.case_id AND d.user_id = a.user_id) AS drafts \
             FROM mdt_assignments a JOIN cases c ON c.id = a.case_id \
             JOIN users u ON u.id = c.owner_id \
             WHERE a.user_id = $1 ORDER BY a.due, a.case_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The opinions, oldest first.
    pub async fn mdt_opinions(&self, case_id: &str) -> Result<Vec<OpinionRow>> {
        Ok(sqlx::query_as(
            "SELECT id, author_id, body, submitted_at, record_version FROM mdt_opinions \
             WHERE case_id = $1 ORDER BY submitted_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The consensus versions, oldest first.
    pub async fn mdt_consensus(&self, case_id: &str) -> Result<Vec<ConsensusRow>> {
        Ok(sqlx::query_as(
            "SELECT version, lead_id, body, created_at, record_version FROM mdt_consensus \
             WHERE case_id = $1 ORDER BY version",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The signatures of one consensus version.
    pub async fn mdt_signatures(&self, case_id: &str, version: i64) -> Result<Vec<Signature>> {
        Ok(sqlx::query_as(
            "SELECT user_id, signed_at FROM mdt_signatures WHERE case_id = $1 AND version = $2 \
             ORDER BY signed_at, user_id",
        )
        .bind(case_id)
        .bind(version)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Tx {
    /// Saves (or replaces) a specialist's draft opinion.
    pub async fn mdt_save_draft(&mut self, case_id: &str, user_id: &str, body: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO mdt_drafts (case_id, user_id, body, saved_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (case_id, user_id) DO UPDATE SET body = excluded.body, saved_at = excluded.saved_at",
        )
        .bind(case_id)
        .bind(user_id)
        .bind(body)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Removes a draft once its opinion is submitted.
    pub async fn mdt_drop_draft(&mut self, case_id: &str, user_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM mdt_drafts WHERE case_id = $1 AND user_id = $2")
            .bind(case_id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Assigns a specialist with a due date, on the record version they will review.
    pub async fn mdt_assign(
        &mut self,
        case_id: &str,
        user_id: &str,
        due: &str,
        record_version: i64,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO mdt_assignments (case_id, user_id, due, assigned_at, record_version) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(case_id)
        .bind(user_id)
        .bind(due)
        .bind(&self.now)
        .bind(record_version)
        .execute(&mut *self.tx)
        .await;
        inserted(r)
    }

    /// Adds an opinion given on `record_version` of the case's record.
    pub async fn mdt_add_opinion(
        &mut self,
        id: &str,
        case_id: &str,
        author: &str,
        body: &str,
        record_version: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mdt_opinions (id, case_id, author_id, body, submitted_at, record_version) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(case_id)
        .bind(author)
        .bind(body)
        .bind(&self.now)
        .bind(record_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Adds the next consensus version, made on `record_version`; returns its number. A
    /// concurrent amendment that took the same number makes this one a `Duplicate`.
    pub async fn mdt_add_consensus(
        &mut self,
        case_id: &str,
        lead: &str,
        body: &str,
        record_version: i64,
    ) -> Result<i64> {
        let last = sqlx::query(
            "SELECT version FROM mdt_consensus WHERE case_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(case_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let version = match last {
            Some(r) => r.try_get::<i64, _>("version")? + 1,
            None => 1,
        };
        let r = sqlx::query(
            "INSERT INTO mdt_consensus (case_id, version, lead_id, body, created_at, record_version) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(case_id)
        .bind(version)
        .bind(lead)
        .bind(body)
        .bind(&self.now)
        .bind(record_version)
        .execute(&mut *self.tx)
        .await;
        inserted(r)?;
        Ok(version)
    }

    pub async fn mdt_sign(&mut self, case_id: &str, version: i64, user_id: &str) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO mdt_signatures (case_id, version, user_id, signed_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(case_id)
        .bind(version)
        .bind(user_id)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await;
        inserted(r)
    }
}
