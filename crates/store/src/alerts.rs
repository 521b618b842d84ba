//! Safety alerts raised by what the family reports at home, their acknowledgement and
//! escalation, the case's on-call rota, and the e-mail outbox.
//!
//! An alert is written in the change that records the report, with everyone told at its
//! first level; escalation is a guarded update (`level` must still be what the escalating
//! server read), so of several replicas exactly one moves an alert on. An acknowledgement is
//! append-only, once per alert.

use sqlx::Row;

use crate::types::{AlertAction, AlertSeverity, AlertSource};
use crate::{Result, Store, Tx, inserted};

/// A safety alert as stored, with its acknowledgement when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafetyAlertRow {
    pub id: String,
    pub case_id: String,
    pub source: AlertSource,
    pub source_id: String,
    pub severity: AlertSeverity,
    /// What was reported (JSON, written by the use case that raised it).
    pub reported: String,
    pub raised_by: String,
    pub raised_at: String,
    pub level: i64,
    /// Everyone told so far.
    pub notified: Vec<String>,
    pub next_escalation_at: Option<String>,
    pub call_by: String,
    pub ack: Option<AlertAckRow>,
}

/// Who acknowledged an alert, what they did and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertAckRow {
    pub user_id: String,
    /// The name others see, when the account has one.
    pub user_name: Option<String>,
    pub action: AlertAction,
    pub note: Option<String>,
    pub at: String,
}

/// A safety alert to record.
#[derive(Clone, Debug)]
pub struct NewSafetyAlert<'a> {
    pub id: &'a str,
    pub case_id: &'a str,
    pub source: AlertSource,
    pub source_id: &'a str,
    pub severity: AlertSeverity,
    pub reported: &'a str,
    pub raised_by: &'a str,
    pub level: i64,
    pub notified: &'a [String],
    pub next_escalation_at: Option<&'a str>,
    pub call_by: &'a str,
}

/// One place on a case's on-call rota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnCallRow {
    pub position: i64,
    pub user_id: String,
    pub starts_at: String,
    pub ends_at: String,
}
crate::from_row!(OnCallRow {
    position,
    user_id,
    starts_at,
    ends_at
});

/// An e-mail waiting in the outbox, with the address and language of its reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingRow {
    pub id: String,
    /// When it was due (the claim's guard).
    pub next_attempt_at: String,
    pub user_id: String,
    pub email: String,
    pub lang: String,
    pub kind: String,
    pub case_id: Option<String>,
    pub link: String,
    pub attempts: i64,
}
crate::from_row!(OutgoingRow {
    id,
    next_attempt_at,
    user_id,
    email,
    lang,
    kind,
    case_id,
    link,
    attempts
});

/// An e-mail's state as the sender's tests and the operator's checks read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub case_id: Option<String>,
    pub attempts: i64,
    pub sent_at: Option<String>,
    pub given_up_at: Option<String>,
    pub last_error: Option<String>,
}
crate::from_row!(OutboxRow {
    id,
    user_id,
    kind,
    case_id,
    attempts,
    sent_at,
    given_up_at,
    last_error
});

const ALERT_COLUMNS: &str = "s.id, s.case_id, s.source, s.source_id, s.severity, s.reported, \
     s.raised_by, s.raised_at, s.level, s.notified, s.next_escalation_at, s.call_by, \
     k.user_id AS ack_user, COALESCE(u.display_name, u.email) AS ack_name, k.action AS ack_action, \
     k.note AS ack_note, k.at AS ack_at";

const ALERT_FROM: &str = "safety_alerts s LEFT JOIN safety_alert_acks k ON k.alert_id = s.id \
     LEFT JOIN users u ON u.id = k.user_id";

fn alert_of(r: &sqlx::any::AnyRow) -> Result<SafetyAlertRow> {
    let notified: String = r.try_get("notified")?;
    let notified: Vec<String> =
        serde_json::from_str(&notified).map_err(|_| crate::StoreError::Corrupt {
            what: "alert recipients",
            value: notified,
        })?;
    let ack = match r.try_get::<Option<String>, _>("ack_user")? {
        None => None,
        Some(user_id) => Some(AlertAckRow {
            user_id,
            user_name: r.try_get("ack_name")?,
            action: AlertAction::from_stored(&r.try_get::<String, _>("ack_action")?)?,
            note: r.try_get("ack_note")?,
            at: r.try_get("ack_at")?,
        }),
    };
    Ok(SafetyAlertRow {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        source: AlertSource::from_stored(&r.try_get::<String, _>("source")?)?,
        source_id: r.try_get("source_id")?,
        severity: AlertSeverity::from_stored(&r.try_get::<String, _>("severity")?)?,
        reported: r.try_get("reported")?,
        raised_by: r.try_get("raised_by")?,
        raised_at: r.try_get("raised_at")?,
        level: r.try_get("level")?,
        notified,
        next_escalation_at: r.try_get("next_escalation_at")?,
        call_by: r.try_get("call_by")?,
        ack,
    })
}

impl Store {
    /// A case's safety alerts, newest first.
    pub async fn safety_alerts(&self, case_id: &str) -> Result<Vec<SafetyAlertRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM {ALERT_FROM} WHERE s.case_id = $1 \
             ORDER BY s.raised_at DESC, s.id DESC"
        )))
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_of).collect()
    }

    /// One safety alert of a case.
    pub async fn safety_alert(&self, case_id: &str, id: &str) -> Result<Option<SafetyAlertRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM {ALERT_FROM} WHERE s.case_id = $1 AND s.id = $2"
        )))
        .bind(case_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(alert_of).transpose()
    }

    /// Alerts nobody has acknowledged whose time to escalate has come (`now`, RFC 3339 UTC).
    pub async fn alerts_due(&self, now: &str, limit: i64) -> Result<Vec<SafetyAlertRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM {ALERT_FROM} WHERE k.alert_id IS NULL \
             AND s.next_escalation_at IS NOT NULL AND s.next_escalation_at <= $1 \
             ORDER BY s.next_escalation_at, s.id LIMIT $2"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_of).collect()
    }

    /// The case's on-call rota, in order.
    pub async fn on_call(&self, case_id: &str) -> Result<Vec<OnCallRow>> {
        Ok(sqlx::query_as(
            "SELECT position, user_id, starts_at, ends_at FROM on_call WHERE case_id = $1 \
             ORDER BY position",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// E-mails due to be sent (`now`, RFC 3339 UTC), oldest first, with their readers'
    /// addresses and languages.
    pub async fn outbox_due(&self, now: &str, limit: i64) -> Result<Vec<OutgoingRow>> {
        Ok(sqlx::query_as(
            "SELECT o.id, o.next_attempt_at, o.user_id, u.email, u.lang, o.kind, o.case_id, \
             o.link, o.attempts \
             FROM outbox o JOIN users u ON u.id = o.user_id \
             WHERE o.sent_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= $1 \
             ORDER BY o.next_attempt_at, o.id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every e-mail of the outbox, newest first (operators' checks and tests).
    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, kind, case_id, attempts, sent_at, given_up_at, last_error \
             FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether an account takes its notifications by e-mail too.
    pub async fn email_notifications(&self, user_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT email_notifications FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i32, _>("email_notifications")? != 0,
            None => false,
        })
    }
}

impl Tx {
    pub async fn add_safety_alert(&mut self, a: &NewSafetyAlert<'_>) -> Result<()> {
        let notified = serde_json::to_string(a.notified).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO safety_alerts (id, case_id, source, source_id, severity, reported, \
             raised_by, raised_at, level, notified, next_escalation_at, call_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(a.id)
        .bind(a.case_id)
        .bind(a.source.as_str())
        .bind(a.source_id)
        .bind(a.severity.as_str())
        .bind(a.reported)
        .bind(a.raised_by)
        .bind(&self.now)
        .bind(a.level)
        .bind(notified)
        .bind(a.next_escalation_at)
        .bind(a.call_by)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves an alert from level `from` to `to`, with everyone told so far and when it next
    /// escalates. False when another server moved it first or someone acknowledged it.
    pub async fn escalate_alert(
        &mut self,
        id: &str,
        from: i64,
        to: i64,
        notified: &[String],
        next_escalation_at: Option<&str>,
    ) -> Result<bool> {
        let notified = serde_json::to_string(notified).unwrap_or_else(|_| "[]".into());
        Ok(sqlx::query(
            "UPDATE safety_alerts SET level = $1, notified = $2, next_escalation_at = $3 \
             WHERE id = $4 AND level = $5 \
             AND NOT EXISTS (SELECT 1 FROM safety_alert_acks k WHERE k.alert_id = $4)",
        )
        .bind(to)
        .bind(notified)
        .bind(next_escalation_at)
        .bind(id)
        .bind(from)
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    /// Acknowledges an alert; a second acknowledgement is `Duplicate`.
    pub async fn acknowledge_safety_alert(
        &mut self,
        case_id: &str,
        alert_id: &str,
        user_id: &str,
        action: AlertAction,
        note: Option<&str>,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO safety_alert_acks (alert_id, case_id, user_id, action, note, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(alert_id)
        .bind(case_id)
        .bind(user_id)
        .bind(action.as_str())
        .bind(note)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await;
        inserted(r)?;
        // Nothing more to escalate.
        sqlx::query("UPDATE safety_alerts SET next_escalation_at = NULL WHERE id = $1")
            .bind(alert_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Replaces a case's on-call rota.
    pub async fn set_on_call(&mut self, case_id: &str, rota: &[OnCallRow]) -> Result<()> {
        sqlx::query("DELETE FROM on_call WHERE case_id = $1")
            .bind(case_id)
            .execute(&mut *self.tx)
            .await?;
        for r in rota {
            sqlx::query(
                "INSERT INTO on_call (case_id, position, user_id, starts_at, ends_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(case_id)
            .bind(r.position)
            .bind(&r.user_id)
            .bind(&r.starts_at)
            .bind(&r.ends_at)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// A notification about a safety alert (its words are made from the alert when read).
    pub async fn notify_alert(
        &mut self,
        id: &str,
        user_id: &str,
        case_id: &str,
        kind: &str,
        alert_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, case_id, kind, text, created_at, alert_id) \
             VALUES ($1, $2, $3, $4, '', $5, $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(case_id)
        .bind(kind)
        .bind(&self.now)
        .bind(alert_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// An e-mail to send after this change commits.
    pub async fn queue_email(
        &mut self,
        id: &str,
        user_id: &str,
        kind: &str,
        case_id: Option<&str>,
        link: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (id, user_id, kind, case_id, link, created_at, attempts, \
             next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(kind)
        .bind(case_id)
        .bind(link)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Takes an e-mail due at `due` for sending until `until`; false when another server
    /// took it first. (A server that stops mid-send leaves it to be tried again at `until`.)
    pub async fn claim_email(&mut self, id: &str, due: &str, until: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND next_attempt_at = $3 \
             AND sent_at IS NULL AND given_up_at IS NULL",
        )
        .bind(until)
        .bind(id)
        .bind(due)
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    /// The e-mail went out.
    pub async fn email_sent(&mut self, id: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(&self.now)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The e-mail could not be sent: try again at `retry_at`, or give up when `None`.
    pub async fn email_failed(
        &mut self,
        id: &str,
        error: &str,
        retry_at: Option<&str>,
    ) -> Result<()> {
        match retry_at {
            Some(at) => sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, \
                 last_error = $2 WHERE id = $3",
            )
            .bind(at)
            .bind(error)
            .bind(id),
            None => sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, given_up_at = $1, last_error = $2 \
                 WHERE id = $3",
            )
            .bind(&self.now)
            .bind(error)
            .bind(id),
        }
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// An account's choice of notifications by e-mail.
    pub async fn set_email_notifications(&mut self, user_id: &str, on: bool) -> Result<()> {
        sqlx::query("UPDATE users SET email_notifications = $1 WHERE id = $2")
            .bind(i32::from(on))
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
