//! The trials registry's rows: each study as last imported and its versions, with what
//! changed from the version before (the `registry` crate computes it; this stores JSON).

use crate::{Result, Store, Tx};

/// A study as last imported.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryStudyRow {
    pub nct_id: String,
    pub version: i64,
    pub status: Option<String>,
    pub last_update: Option<String>,
    /// The study model as JSON.
    pub study: String,
    pub updated_at: String,
}

/// One version of a study (append-only).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryVersionRow {
    pub version: i64,
    pub study: String,
    /// What changed from the version before, as JSON (`[]` for the first).
    pub changes: String,
    /// Where it came from: the file, or the sync's query and page.
    pub source: String,
    pub at: String,
}

/// A study version to store.
#[derive(Clone, Debug)]
pub struct NewStudyVersion<'a> {
    pub nct_id: &'a str,
    pub version: i64,
    pub status: Option<&'a str>,
    pub last_update: Option<&'a str>,
    pub study: &'a str,
    pub changes: &'a str,
    pub source: &'a str,
}

impl Store {
    pub async fn registry_study(&self, nct_id: &str) -> Result<Option<RegistryStudyRow>> {
        Ok(sqlx::query_as(
            "SELECT nct_id, version, status, last_update, study, updated_at \
             FROM registry_studies WHERE nct_id = $1",
        )
        .bind(nct_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A study's versions, oldest first.
    pub async fn registry_versions(&self, nct_id: &str) -> Result<Vec<RegistryVersionRow>> {
        Ok(sqlx::query_as(
            "SELECT version, study, changes, source, at FROM registry_versions \
             WHERE nct_id = $1 ORDER BY version",
        )
        .bind(nct_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many studies the registry holds.
    pub async fn registry_count(&self) -> Result<i64> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM registry_studies")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

impl Tx {
    /// Stores a new version of a study and makes it the current one. Version 1 creates the
    /// study; a version that is not the next one is refused by the primary key.
    pub async fn put_study_version(&mut self, v: &NewStudyVersion<'_>) -> Result<()> {
        let current = if v.version == 1 {
            "INSERT INTO registry_studies (version, status, last_update, study, updated_at, nct_id) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        } else {
            "UPDATE registry_studies SET version = $1, status = $2, last_update = $3, study = $4, \
             updated_at = $5 WHERE nct_id = $6"
        };
        sqlx::query(current)
            .bind(v.version)
            .bind(v.status)
            .bind(v.last_update)
            .bind(v.study)
            .bind(&self.now)
            .bind(v.nct_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO registry_versions (nct_id, version, study, changes, source, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(v.nct_id)
        .bind(v.version)
        .bind(v.study)
        .bind(v.changes)
        .bind(v.source)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
