//! The trials registry's rows: each study as last imported and its versions, with what
//! changed from the version before (the `registry` crate computes it; this stores JSON).

use crate::{Result, Store, Tx};

/// A study as last imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryStudyRow {
    pub nct_id: String,
    pub version: i64,
    pub status: Option<String>,
    pub last_update: Option<String>,
    /// The study model as JSON.
    pub study: String,
    pub updated_at: String,
}
crate::from_row!(RegistryStudyRow {
    nct_id,
    version,
    status,
    last_update,
    study,
    updated_at
});

/// One version of a study (append-only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryVersionRow {
    pub version: i64,
    pub study: String,
    /// What changed from the version before, as JSON (`[]` for the first).
    pub changes: String,
    /// Where it came from: the file, or the sync's query and page.
    pub source: String,
    pub at: String,
}
crate::from_row!(RegistryVersionRow {
    version,
    study,
    changes,
    source,
    at
});

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

    /// The studies held among `ids` (any order; those not held are absent).
    pub async fn registry_studies_in(&self, ids: &[&str]) -> Result<Vec<RegistryStudyRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT nct_id, version, status, last_update, study, updated_at \
                 FROM registry_studies WHERE nct_id IN ({})",
                marks.join(", ")
            );
            // Only numbered placeholders are formatted in; the ids are bound.
            let mut q = sqlx::query_as::<_, RegistryStudyRow>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            out.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(out)
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

    /// Studies stored at `since` or later, in the order they were stored (`updated_at`,
    /// then NCT number), after the study `after` (its `updated_at` and NCT number; `None`
    /// for the first page). A search index reads the registry with it and follows it.
    pub async fn registry_studies_since(
        &self,
        since: &str,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<RegistryStudyRow>> {
        let (at, id) = after.unwrap_or(("", ""));
        Ok(sqlx::query_as(
            "SELECT nct_id, version, status, last_update, study, updated_at \
             FROM registry_studies WHERE updated_at >= $1 \
             AND (updated_at > $2 OR (updated_at = $2 AND nct_id > $3)) \
             ORDER BY updated_at, nct_id LIMIT $4",
        )
        .bind(since)
        .bind(at)
        .bind(id)
        .bind(limit)
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

/// Where a registry sync stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRow {
    pub id: String,
    /// The query, as the client sends it without paging and dates (what a resumed or a
    /// next sync must match).
    pub query: String,
    /// The last-update date it reads changes from; none for everything.
    pub since: Option<String>,
    /// The page to ask for next; none before the first page and once finished.
    pub page_token: Option<String>,
    pub pages: i64,
    pub studies: i64,
    pub started_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}
crate::from_row!(SyncRow {
    id,
    query,
    since,
    page_token,
    pages,
    studies,
    started_at,
    updated_at,
    finished_at
});

/// A programme flagged because its registry study changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagRow {
    pub id: String,
    pub programme_id: String,
    pub nct_id: String,
    pub study_version: i64,
    /// What changed, as JSON (the `registry` crate's changes).
    pub changes: String,
    /// Whether the change closes recruitment (re-screened at once).
    pub closes: bool,
    pub raised_at: String,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
}

/// A flag to raise.
#[derive(Clone, Debug)]
pub struct NewFlag<'a> {
    pub id: &'a str,
    pub programme_id: &'a str,
    pub nct_id: &'a str,
    pub study_version: i64,
    pub changes: &'a str,
    pub closes: bool,
}

const SYNC_COLUMNS: &str =
    "id, query, since, page_token, pages, studies, started_at, updated_at, finished_at";
const FLAG_COLUMNS: &str = "id, programme_id, nct_id, study_version, changes, closes, raised_at, \
     reviewed_at, reviewed_by, review_note";

fn flag_from(r: &sqlx::any::AnyRow) -> Result<FlagRow> {
    use sqlx::Row;
    Ok(FlagRow {
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        nct_id: r.try_get("nct_id")?,
        study_version: r.try_get("study_version")?,
        changes: r.try_get("changes")?,
        closes: r.try_get::<i32, _>("closes")? != 0,
        raised_at: r.try_get("raised_at")?,
        reviewed_at: r.try_get("reviewed_at")?,
        reviewed_by: r.try_get("reviewed_by")?,
        review_note: r.try_get("review_note")?,
    })
}

impl Store {
    /// The latest sync of this query that did not finish, if any.
    pub async fn unfinished_sync(&self, query: &str) -> Result<Option<SyncRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SYNC_COLUMNS} FROM registry_syncs WHERE query = $1 AND finished_at IS NULL \
             ORDER BY started_at DESC, id DESC LIMIT 1"
        )))
        .bind(query)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The latest finished sync of this query, if any.
    pub async fn last_finished_sync(&self, query: &str) -> Result<Option<SyncRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SYNC_COLUMNS} FROM registry_syncs WHERE query = $1 \
             AND finished_at IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1"
        )))
        .bind(query)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The programmes' flags, newest first; only those not yet reviewed when `open_only`.
    pub async fn programme_flags(&self, open_only: bool) -> Result<Vec<FlagRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLAG_COLUMNS} FROM programme_flags {} ORDER BY raised_at DESC, id DESC",
            if open_only {
                "WHERE reviewed_at IS NULL"
            } else {
                ""
            }
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(flag_from).collect()
    }

    pub async fn programme_flag(&self, id: &str) -> Result<Option<FlagRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLAG_COLUMNS} FROM programme_flags WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(flag_from).transpose()
    }

    /// The cases screened at least once (each screening covers the whole catalogue).
    pub async fn screened_cases(&self) -> Result<Vec<String>> {
        use sqlx::Row;
        let rows = sqlx::query("SELECT DISTINCT case_id FROM screenings ORDER BY case_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("case_id")?)).collect()
    }
}

impl Tx {
    pub async fn start_sync(&mut self, id: &str, query: &str, since: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO registry_syncs (id, query, since, page_token, pages, studies, started_at, \
             updated_at) VALUES ($1, $2, $3, NULL, 0, 0, $4, $4)",
        )
        .bind(id)
        .bind(query)
        .bind(since)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records a page done: the next page's token, or finished when there is none.
    pub async fn advance_sync(
        &mut self,
        id: &str,
        next_page: Option<&str>,
        studies: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE registry_syncs SET page_token = $1, pages = pages + 1, studies = studies + $2, \
             updated_at = $3, finished_at = CASE WHEN $1 IS NULL THEN $3 ELSE NULL END \
             WHERE id = $4",
        )
        .bind(next_page)
        .bind(studies)
        .bind(&self.now)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn raise_flag(&mut self, f: &NewFlag<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO programme_flags (id, programme_id, nct_id, study_version, changes, closes, \
             raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(f.id)
        .bind(f.programme_id)
        .bind(f.nct_id)
        .bind(f.study_version)
        .bind(f.changes)
        .bind(i32::from(f.closes))
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The flags not yet reviewed, as this transaction sees them.
    pub async fn open_flags(&mut self) -> Result<Vec<FlagRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLAG_COLUMNS} FROM programme_flags WHERE reviewed_at IS NULL \
             ORDER BY raised_at, id"
        )))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(flag_from).collect()
    }

    /// Marks a flag reviewed; false when there is none such or it was reviewed already.
    pub async fn review_flag(&mut self, id: &str, by: &str, note: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE programme_flags SET reviewed_at = $1, reviewed_by = $2, review_note = $3 \
             WHERE id = $4 AND reviewed_at IS NULL",
        )
        .bind(&self.now)
        .bind(by)
        .bind(note)
        .bind(id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }
}
