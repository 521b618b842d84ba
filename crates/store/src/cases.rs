//! Cases, their team (members), lifecycle state, the record with its history, and
//! screenings.
//!
//! The record is never overwritten without keeping what it was: every write adds a row to
//! `record_versions` (append-only; triggers refuse UPDATE and DELETE) numbered by the case
//! version it produced, with who wrote it, when and through which use case.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::types::{Access, MemberRole};
use crate::{Result, Store, StoreError, Tx, inserted};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    pub id: String,
    pub owner_id: String,
    pub created_by: String,
    pub state: String,
    /// Bumped by every change of the case (record or state): the ETag.
    pub version: i64,
    /// The case record as JSON (the native case format).
    pub record: String,
    /// The case version at which the current record was written.
    pub record_version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Store {
    /// Whether the patient lets caregivers with `act` access remove members of the case.
    pub async fn caregivers_manage_members(&self, case_id: &str) -> Result<bool> {
        let row =
            sqlx::query("SELECT caregivers_manage_members FROM case_settings WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(r) => r.try_get::<i32, _>("caregivers_manage_members")? != 0,
            None => false,
        })
    }
}

impl Tx {
    pub async fn set_caregivers_manage_members(
        &mut self,
        case_id: &str,
        allow: bool,
    ) -> Result<()> {
        sqlx::query("DELETE FROM case_settings WHERE case_id = $1")
            .bind(case_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO case_settings (case_id, caregivers_manage_members) VALUES ($1, $2)",
        )
        .bind(case_id)
        .bind(i32::from(allow))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

fn case_from(r: &AnyRow) -> Result<CaseRow> {
    Ok(CaseRow {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        created_by: r.try_get("created_by")?,
        state: r.try_get("state")?,
        version: r.try_get("version")?,
        record: r.try_get("record")?,
        record_version: r.try_get("record_version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    pub role: MemberRole,
    pub access: Access,
}

fn member_from(r: &AnyRow, user_id: String) -> Result<Member> {
    Ok(Member {
        user_id,
        role: MemberRole::from_stored(&r.try_get::<String, _>("role")?)?,
        access: Access::from_stored(&r.try_get::<String, _>("access")?)?,
    })
}

/// One kept version of a case's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordVersion {
    pub case_id: String,
    pub version: i64,
    /// The record as JSON; empty in listings.
    pub record: String,
    pub actor: String,
    /// The use case that wrote it (the audit action, e.g. `case.record.update`).
    pub use_case: String,
    pub at: String,
    /// Why it was written so, when someone said (an import's identity override).
    pub note: Option<String>,
}

fn version_from(r: &AnyRow, with_record: bool) -> Result<RecordVersion> {
    Ok(RecordVersion {
        case_id: r.try_get("case_id")?,
        version: r.try_get("version")?,
        record: if with_record {
            r.try_get("record")?
        } else {
            String::new()
        },
        actor: r.try_get("actor_id")?,
        use_case: r.try_get("use_case")?,
        at: r.try_get("at")?,
        note: r.try_get("note")?,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screening {
    pub id: String,
    /// The record version screened.
    pub case_version: i64,
    pub catalogue_version: String,
    pub as_of: String,
    pub results: String,
    pub created_at: String,
}

const CASE_COLUMNS: &str = "c.id, c.owner_id, c.created_by, c.state, c.version, c.record, \
     c.record_version, c.created_at, c.updated_at";
/// The same columns, unqualified (for `RETURNING`).
const CASE_RETURNING: &str = "id, owner_id, created_by, state, version, record, \
     record_version, created_at, updated_at";

impl Store {
    pub async fn case(&self, id: &str) -> Result<Option<CaseRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1"
        )))
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
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS}, m.role AS role, m.access AS access FROM cases c \
             LEFT JOIN case_members m ON m.case_id = c.id AND m.user_id = $2 WHERE c.id = $1"
        )))
        .bind(id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let member = match r.try_get::<Option<String>, _>("role")? {
                Some(_) => Some(member_from(&r, user_id.to_owned())?),
                None => None,
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.owner_id = $1 \
             OR c.id IN (SELECT case_id FROM case_members WHERE user_id = $1) \
             ORDER BY c.created_at, c.id"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from).collect()
    }

    pub async fn member(&self, case_id: &str, user_id: &str) -> Result<Option<Member>> {
        let row = sqlx::query(
            "SELECT role, access FROM case_members WHERE case_id = $1 AND user_id = $2",
        )
        .bind(case_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| member_from(&r, user_id.to_owned())).transpose()
    }

    /// Every member of a case.
    pub async fn members(&self, case_id: &str) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT user_id, role, access FROM case_members WHERE case_id = $1 ORDER BY user_id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| member_from(r, r.try_get("user_id")?))
            .collect()
    }

    /// The record's versions, oldest first, without the records themselves.
    pub async fn record_versions(&self, case_id: &str) -> Result<Vec<RecordVersion>> {
        let rows = sqlx::query(
            "SELECT case_id, version, actor_id, use_case, at, note FROM record_versions \
             WHERE case_id = $1 ORDER BY version",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| version_from(r, false)).collect()
    }

    /// One version of the record.
    pub async fn record_version(
        &self,
        case_id: &str,
        version: i64,
    ) -> Result<Option<RecordVersion>> {
        let row = sqlx::query(
            "SELECT case_id, version, record, actor_id, use_case, at, note FROM record_versions \
             WHERE case_id = $1 AND version = $2",
        )
        .bind(case_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| version_from(&r, true)).transpose()
    }

    /// The date the latest screening of a case was made as of, if any (without reading the
    /// results of every screening).
    pub async fn latest_screening_as_of(&self, case_id: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT as_of FROM screenings WHERE case_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(case_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("as_of")).transpose()?)
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
}

/// What a new case is made of.
#[derive(Clone, Debug)]
pub struct NewCase<'a> {
    pub id: &'a str,
    pub owner_id: &'a str,
    pub created_by: &'a str,
    pub state: &'a str,
    pub record: &'a str,
}

impl Tx {
    /// The case as this transaction sees it.
    pub async fn case(&mut self, id: &str) -> Result<Option<CaseRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(case_from).transpose()
    }

    async fn keep_version(
        &mut self,
        case_id: &str,
        version: i64,
        record: &str,
        note: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO record_versions (case_id, version, record, actor_id, use_case, at, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(case_id)
        .bind(version)
        .bind(record)
        .bind(&self.audit.actor)
        .bind(&self.audit.action)
        .bind(&self.now)
        .bind(note)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn create_case(&mut self, new: NewCase<'_>) -> Result<CaseRow> {
        let r = sqlx::query(
            "INSERT INTO cases (id, owner_id, created_by, state, version, record, record_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, 1, $6, $6)",
        )
        .bind(new.id)
        .bind(new.owner_id)
        .bind(new.created_by)
        .bind(new.state)
        .bind(new.record)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await;
        inserted(r)?;
        self.keep_version(new.id, 1, new.record, None).await?;
        self.case(new.id).await?.ok_or(StoreError::NotFound)
    }

    /// Replaces the record if the case is still at `expected` version (optimistic
    /// concurrency): the compare and the write are one statement, so no update is lost.
    /// `None` writes whatever the current version is (HTTP `If-Match: *`). The new record
    /// is kept as a version of its own.
    pub async fn update_record(
        &mut self,
        id: &str,
        expected: Option<i64>,
        record: &str,
    ) -> Result<CaseRow> {
        self.update_record_noted(id, expected, record, None).await
    }

    /// As [`Tx::update_record`], with a note kept on the version (why it was written so).
    pub async fn update_record_noted(
        &mut self,
        id: &str,
        expected: Option<i64>,
        record: &str,
        note: Option<&str>,
    ) -> Result<CaseRow> {
        // One statement compares, writes and returns the new row.
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE cases SET record = $1, version = version + 1, record_version = version + 1, \
             updated_at = $2 WHERE id = $3 AND ($4 < 0 OR version = $4) RETURNING {CASE_RETURNING}"
        )))
        .bind(record)
        .bind(&self.now)
        .bind(id)
        .bind(expected.unwrap_or(-1))
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(row) = row else {
            let current = sqlx::query("SELECT version FROM cases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            return Err(StoreError::Conflict {
                current: current.try_get("version")?,
            });
        };
        let current = case_from(&row)?;
        self.keep_version(id, current.version, record, note).await?;
        Ok(current)
    }

    pub async fn set_state(&mut self, id: &str, from: &str, to: &str) -> Result<CaseRow> {
        let done = sqlx::query(
            "UPDATE cases SET state = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(to)
        .bind(&self.now)
        .bind(id)
        .bind(from)
        .execute(&mut *self.tx)
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
        &mut self,
        case_id: &str,
        user_id: &str,
        role: MemberRole,
        access: Access,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO case_members (case_id, user_id, role, access) VALUES ($1, $2, $3, $4)",
        )
        .bind(case_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(access.as_str())
        .execute(&mut *self.tx)
        .await;
        inserted(r)
    }

    /// Removes a member; a specialist leaves the MDT team too (their opinions stay).
    pub async fn remove_member(&mut self, case_id: &str, user_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM case_members WHERE case_id = $1 AND user_id = $2")
            .bind(case_id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM mdt_assignments WHERE case_id = $1 AND user_id = $2")
            .bind(case_id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn save_screening(
        &mut self,
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
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
