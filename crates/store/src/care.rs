//! The journey plan, calendar subscriptions, monitoring, the caregiver diary and supportive care.

use sqlx::Row;
use sqlx::any::AnyRow;

#[allow(unused_imports)]
use crate::types::SupportiveState;
use crate::{Result, Store, Tx};

/// A monitoring entry with the grades given on entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitoringRow {
    pub id: String,
    pub author_id: String,
    /// The entry as JSON.
    pub entry: String,
    pub crs_grade: i32,
    pub icans_grade: i32,
    pub at: String,
    /// How many alerts it raised (unknown for entries older than the count).
    pub alerts: Option<i32>,
}
crate::from_row!(MonitoringRow {
    id,
    author_id,
    entry,
    crs_grade,
    icans_grade,
    at,
    alerts
});

/// A monitoring entry to record, graded and assessed.
#[derive(Clone, Copy, Debug)]
pub struct NewMonitoring<'a> {
    pub id: &'a str,
    pub case_id: &'a str,
    pub author: &'a str,
    /// The entry as JSON.
    pub entry: &'a str,
    pub crs: i32,
    pub icans: i32,
    /// How many alerts it raised.
    pub alerts: i32,
}

/// The reason of a supportive-care decision, in English and (when given) in Chinese.
#[derive(Clone, Copy, Debug)]
pub struct DecisionNote<'a> {
    pub en: &'a str,
    pub zh: Option<&'a str>,
}

/// A caregiver diary entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiaryRow {
    pub id: String,
    pub author_id: String,
    pub entry: String,
    pub call_now: i32,
    pub at: String,
}
crate::from_row!(DiaryRow {
    id,
    author_id,
    entry,
    call_now,
    at
});

/// How long a calendar link lives (`docs/security.md`).
pub const CALENDAR_TOKEN_DAYS: u64 = 180;

/// A calendar subscription link (the token itself is never stored, only its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarToken {
    pub id: String,
    pub case_id: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}
crate::from_row!(CalendarToken {
    id,
    case_id,
    created_by,
    created_at,
    revoked_at
});

/// A supportive-care request and its decision.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SupportiveRow {
    pub id: String,
    #[serde(rename = "requester")]
    pub requester_id: String,
    pub kind: String,
    pub details: String,
    pub requested_for: String,
    pub state: SupportiveState,
    pub reason: Option<String>,
    /// The reason in Chinese (absent on requests held before it was kept).
    pub reason_zh: Option<String>,
    pub held_until: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub note: Option<String>,
    /// The decision's reason in Chinese (absent when given in one language only).
    pub note_zh: Option<String>,
    pub created_at: String,
}

fn supportive_from(r: &AnyRow) -> Result<SupportiveRow> {
    Ok(SupportiveRow {
        id: r.try_get("id")?,
        requester_id: r.try_get("requester_id")?,
        kind: r.try_get("kind")?,
        details: r.try_get("details")?,
        requested_for: r.try_get("requested_for")?,
        state: SupportiveState::from_stored(&r.try_get::<String, _>("state")?)?,
        reason: r.try_get("reason")?,
        reason_zh: r.try_get("reason_zh")?,
        held_until: r.try_get("held_until")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        note: r.try_get("note")?,
        note_zh: r.try_get("note_zh")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    pub async fn journey(&self, case_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT input FROM journeys WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("input")?)).transpose()
    }

    /// A live calendar link by its token's hash: not revoked, and made less than
    /// [`CALENDAR_TOKEN_DAYS`] days ago.
    pub async fn calendar_token(&self, token_hash: &str) -> Result<Option<CalendarToken>> {
        let cutoff = crate::rfc3339(
            self.clock()
                .now_secs()
                .saturating_sub(CALENDAR_TOKEN_DAYS * 86_400),
        );
        Ok(sqlx::query_as(
            "SELECT id, case_id, created_by, created_at, revoked_at FROM calendar_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL AND created_at > $2",
        )
        .bind(token_hash)
        .bind(cutoff)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every calendar link of a case, newest first (revoked ones too, for the record).
    pub async fn calendar_tokens(&self, case_id: &str) -> Result<Vec<CalendarToken>> {
        Ok(sqlx::query_as(
            "SELECT id, case_id, created_by, created_at, revoked_at FROM calendar_tokens \
             WHERE case_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A case's monitoring entries, oldest first.
    pub async fn monitoring(&self, case_id: &str) -> Result<Vec<MonitoringRow>> {
        Ok(sqlx::query_as(
            "SELECT id, author_id, entry, crs_grade, icans_grade, at, alerts FROM monitoring \
             WHERE case_id = $1 ORDER BY at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A case's diary entries, oldest first.
    pub async fn diary(&self, case_id: &str) -> Result<Vec<DiaryRow>> {
        Ok(sqlx::query_as(
            "SELECT id, author_id, entry, call_now, at FROM diary WHERE case_id = $1 ORDER BY at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every supportive-care request of a case, oldest first.
    pub async fn supportive(&self, case_id: &str) -> Result<Vec<SupportiveRow>> {
        let rows = sqlx::query(
            "SELECT * FROM supportive_requests WHERE case_id = $1 ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(supportive_from).collect()
    }

    pub async fn supportive_one(&self, case_id: &str, id: &str) -> Result<Option<SupportiveRow>> {
        let row = sqlx::query("SELECT * FROM supportive_requests WHERE case_id = $1 AND id = $2")
            .bind(case_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(supportive_from).transpose()
    }
}

impl Tx {
    pub async fn put_journey(&mut self, case_id: &str, input: &str) -> Result<()> {
        let at = self.now.clone();
        let updated =
            sqlx::query("UPDATE journeys SET input = $1, updated_at = $2 WHERE case_id = $3")
                .bind(input)
                .bind(&at)
                .bind(case_id)
                .execute(&mut *self.tx)
                .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO journeys (case_id, input, updated_at) VALUES ($1, $2, $3)")
                .bind(case_id)
                .bind(input)
                .bind(&at)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    pub async fn create_calendar_token(
        &mut self,
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
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn revoke_calendar_token(&mut self, case_id: &str, id: &str) -> Result<bool> {
        Ok(sqlx::query("UPDATE calendar_tokens SET revoked_at = $1 WHERE id = $2 AND case_id = $3 AND revoked_at IS NULL")
            .bind(&self.now)
            .bind(id)
            .bind(case_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn add_monitoring(&mut self, m: NewMonitoring<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO monitoring (id, case_id, author_id, entry, crs_grade, icans_grade, at, alerts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.id)
        .bind(m.case_id)
        .bind(m.author)
        .bind(m.entry)
        .bind(m.crs)
        .bind(m.icans)
        .bind(&self.now)
        .bind(m.alerts)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn add_diary(
        &mut self,
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
            .bind(&self.now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn add_supportive(
        &mut self,
        id: &str,
        case_id: &str,
        requester: &str,
        kind: &str,
        details: &str,
        requested_for: &str,
        state: &str,
        reason: Option<(&str, &str)>,
        held_until: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO supportive_requests (id, case_id, requester_id, kind, details, requested_for, state, reason, reason_zh, held_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(case_id)
        .bind(requester)
        .bind(kind)
        .bind(details)
        .bind(requested_for)
        .bind(state)
        .bind(reason.map(|r| r.0))
        .bind(reason.map(|r| r.1))
        .bind(held_until)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Decides a request that is still `from`; false when it is not (any more).
    pub async fn decide_supportive(
        &mut self,
        case_id: &str,
        id: &str,
        from: &str,
        to: &str,
        by: &str,
        note: DecisionNote<'_>,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE supportive_requests SET state = $1, decided_by = $2, decided_at = $3, note = $4, \
             note_zh = $8 WHERE id = $5 AND case_id = $6 AND state = $7",
        )
        .bind(to)
        .bind(by)
        .bind(&self.now)
        .bind(note.en)
        .bind(id)
        .bind(case_id)
        .bind(from)
        .bind(note.zh)
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }
}
