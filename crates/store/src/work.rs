//! The work queue: the cases a person works on, with what needs them — safety alerts first —
//! and the acknowledgement of monitoring alerts.

use sqlx::Row;

use crate::{Result, Store, Tx, inserted};

/// How the work queue is ordered after the cases with safety alerts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueSort {
    /// Most recently changed first.
    #[default]
    Updated,
    /// The earliest MDT opinion still due first; cases with nothing due last.
    Due,
    /// By lifecycle state, then most recently changed.
    State,
}

impl QueueSort {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "updated" => Some(Self::Updated),
            "due" => Some(Self::Due),
            "state" => Some(Self::State),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Due => "due",
            Self::State => "state",
        }
    }

    fn order(self) -> &'static str {
        match self {
            Self::Updated => "q.updated_at DESC",
            Self::Due => "CASE WHEN q.next_due IS NULL THEN 1 ELSE 0 END, q.next_due",
            Self::State => "q.state, q.updated_at DESC",
        }
    }
}

/// One page of the work queue asked for.
#[derive(Clone, Debug)]
pub struct QueueQuery<'a> {
    pub user_id: &'a str,
    /// The patient's consents each member role needs to see a case at all (the policy's,
    /// passed in so the rule lives in one place). A case whose consents do not let the
    /// member in matches no filter, counts in no alert count and sorts by nothing it holds:
    /// it shows as its id only (security round 2, issue 28).
    pub needs: &'a [ConsentNeed],
    /// Only cases in this lifecycle state.
    pub state: Option<&'a str>,
    /// Only cases with unacknowledged safety alerts.
    pub alerts_only: bool,
    pub sort: QueueSort,
    pub offset: i64,
    pub limit: i64,
}

/// A consent a member role needs, at the version in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsentNeed {
    pub role: crate::MemberRole,
    pub kind: crate::ConsentKind,
    pub version: &'static str,
}

/// SQL: the queue's member `cm` may see case `c` by its owner's live consents. Built from
/// enums and the consent texts' versions (checked to be plain words), never from input.
fn open_to_member(needs: &[ConsentNeed]) -> String {
    let plain = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
    };
    let mut roles: Vec<crate::MemberRole> = needs.iter().map(|n| n.role).collect();
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    let parts: Vec<String> = roles
        .into_iter()
        .map(|role| {
            let all: Vec<String> = needs
                .iter()
                .filter(|n| n.role == role)
                .map(|n| {
                    if plain(n.version) {
                        format!(
                            "EXISTS (SELECT 1 FROM consents k WHERE k.user_id = c.owner_id \
                             AND k.kind = '{}' AND k.version = '{}' AND k.withdrawn_at IS NULL)",
                            n.kind.as_str(),
                            n.version
                        )
                    } else {
                        "1 = 0".to_owned()
                    }
                })
                .collect();
            format!(
                "(cm.role <> '{}' OR ({}))",
                role.as_str(),
                all.join(" AND ")
            )
        })
        .collect();
    if parts.is_empty() {
        "1 = 1".to_owned()
    } else {
        format!("({})", parts.join(" AND "))
    }
}

/// One case in the work queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRow {
    pub id: String,
    pub owner_id: String,
    pub owner_name: Option<String>,
    pub owner_email: String,
    pub state: String,
    pub version: i64,
    pub record: String,
    pub record_version: i64,
    pub updated_at: String,
    /// Alerts nobody has acknowledged: monitoring entries' and safety alerts from what the
    /// family reported.
    pub alerts: i64,
    /// Notices of new messages the person has not read.
    pub unread: i64,
    /// The earliest due date of an MDT opinion not yet given.
    pub next_due: Option<String>,
    pub assigned: i64,
    pub submitted: i64,
}
crate::from_row!(QueueRow {
    id,
    owner_id,
    owner_name,
    owner_email,
    state,
    version,
    record,
    record_version,
    updated_at,
    alerts,
    unread,
    next_due,
    assigned,
    submitted
});

/// A page of the work queue with the counts over every page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueuePage {
    pub rows: Vec<QueueRow>,
    /// Cases matching the filter.
    pub total: i64,
    /// Of the person's cases, those with unacknowledged alerts (whatever the filter).
    pub alerting: i64,
}

/// A case (`c`) has an alert nobody has acknowledged: a monitoring entry's (`NULL` alerts:
/// written before they were counted, so they count), or a safety alert the family's report
/// raised.
const CASE_ALERTING: &str = "(EXISTS (SELECT 1 FROM monitoring m WHERE m.case_id = c.id AND \
     (m.alerts IS NULL OR m.alerts > 0) \
     AND NOT EXISTS (SELECT 1 FROM monitoring_acks k WHERE k.monitoring_id = m.id)) \
     OR EXISTS (SELECT 1 FROM safety_alerts s WHERE s.case_id = c.id \
     AND NOT EXISTS (SELECT 1 FROM safety_alert_acks sk WHERE sk.alert_id = s.id)))";

/// A case's (`c`) alerts nobody has acknowledged, of both kinds.
const CASE_ALERTS: &str = "((SELECT COUNT(*) FROM monitoring m WHERE m.case_id = c.id AND \
     (m.alerts IS NULL OR m.alerts > 0) \
     AND NOT EXISTS (SELECT 1 FROM monitoring_acks k WHERE k.monitoring_id = m.id)) \
     + (SELECT COUNT(*) FROM safety_alerts s WHERE s.case_id = c.id \
     AND NOT EXISTS (SELECT 1 FROM safety_alert_acks sk WHERE sk.alert_id = s.id)))";

/// An acknowledgement of a monitoring entry's alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckRow {
    pub monitoring_id: String,
    pub user_id: String,
    pub at: String,
}
crate::from_row!(AckRow {
    monitoring_id,
    user_id,
    at
});

impl Store {
    /// One page of a person's work queue. Ordering needs only each case's alert flag and
    /// due date; the rest is counted for the page's rows alone, so a long queue stays fast.
    pub async fn work_queue(&self, q: &QueueQuery<'_>) -> Result<QueuePage> {
        let state = q.state.unwrap_or("");
        let alerts_only = i32::from(q.alerts_only);
        let due = if q.sort == QueueSort::Due {
            "(SELECT MIN(a.due) FROM mdt_assignments a WHERE a.case_id = c.id AND NOT EXISTS \
             (SELECT 1 FROM mdt_opinions o WHERE o.case_id = a.case_id AND o.author_id = a.user_id))"
        } else {
            "NULL"
        };
        // SQLite without statistics would read each case through its primary key, walking
        // the long record to reach `updated_at`; the covering index holds all the queue
        // orders by. (PostgreSQL chooses well by itself.)
        let cases = match self.backend() {
            crate::Backend::Sqlite => "cases c INDEXED BY cases_queue",
            crate::Backend::Postgres => "cases c",
        };
        // The page's ids and the count over every page in one pass.
        let open = open_to_member(q.needs);
        // A case closed to the member by consent: no state, date, due date or alert to
        // filter, sort or count by — only its id, at the end.
        let found = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT q.id, COUNT(*) OVER () AS total FROM (SELECT c.id, \
             CASE WHEN {open} THEN c.state END AS state, \
             CASE WHEN {open} THEN c.updated_at END AS updated_at, \
             CASE WHEN {open} THEN {due} END AS next_due, \
             CASE WHEN {open} AND {CASE_ALERTING} THEN 0 ELSE 1 END AS calm \
             FROM case_members cm JOIN {cases} ON c.id = cm.case_id \
             WHERE cm.user_id = $1 AND ($2 = '' OR (c.state = $2 AND {open})) AND ($3 = 0 OR \
             ({open} AND {CASE_ALERTING}))) q \
             ORDER BY q.calm, {}, q.id LIMIT $4 OFFSET $5",
            q.sort.order()
        )))
        .bind(q.user_id)
        .bind(state)
        .bind(alerts_only)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(&self.pool)
        .await?;
        let mut ids = Vec::with_capacity(found.len());
        let mut total: Option<i64> = None;
        for r in &found {
            ids.push(r.try_get::<String, _>("id")?);
            total = Some(r.try_get("total")?);
        }
        let total = match total {
            Some(t) => t,
            // A page past the end has no rows to carry the count: count on its own.
            None => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n FROM case_members cm JOIN cases c ON c.id = cm.case_id \
                 WHERE cm.user_id = $1 AND ($2 = '' OR (c.state = $2 AND {open})) AND ($3 = 0 OR \
                 ({open} AND {CASE_ALERTING}))"
            )))
            .bind(q.user_id)
            .bind(state)
            .bind(alerts_only)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?,
        };
        // The rows of the page, with their counts, in one query (ids are bound, never
        // written into the statement).
        let mut rows: Vec<QueueRow> = Vec::with_capacity(ids.len());
        if !ids.is_empty() {
            let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT c.id, c.owner_id, u.display_name AS owner_name, u.email AS owner_email, \
                 c.state, c.version, c.record, c.record_version, c.updated_at, \
                 {CASE_ALERTS} AS alerts, \
                 (SELECT COUNT(*) FROM notifications n WHERE n.user_id = $1 AND n.case_id = c.id \
                  AND n.kind = 'message' AND n.read_at IS NULL) AS unread, \
                 (SELECT MIN(a.due) FROM mdt_assignments a WHERE a.case_id = c.id AND NOT EXISTS \
                  (SELECT 1 FROM mdt_opinions o WHERE o.case_id = a.case_id AND o.author_id = a.user_id)) AS next_due, \
                 (SELECT COUNT(*) FROM mdt_assignments a WHERE a.case_id = c.id) AS assigned, \
                 (SELECT COUNT(*) FROM mdt_assignments a WHERE a.case_id = c.id AND EXISTS \
                  (SELECT 1 FROM mdt_opinions o WHERE o.case_id = a.case_id AND o.author_id = a.user_id)) AS submitted \
                 FROM cases c JOIN users u ON u.id = c.owner_id WHERE c.id IN ({})",
                marks.join(", ")
            );
            let mut query = sqlx::query_as::<_, QueueRow>(sqlx::AssertSqlSafe(sql)).bind(q.user_id);
            for id in &ids {
                query = query.bind(id);
            }
            let mut found = query.fetch_all(&self.pool).await?;
            // Back in the page's order.
            for id in &ids {
                if let Some(i) = found.iter().position(|r| &r.id == id) {
                    rows.push(found.swap_remove(i));
                }
            }
        }
        let alerting: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM case_members cm JOIN cases c ON c.id = cm.case_id \
             WHERE cm.user_id = $1 AND {open} AND {CASE_ALERTING}"
        )))
        .bind(q.user_id)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(QueuePage {
            rows,
            total,
            alerting,
        })
    }

    /// The acknowledgements of a case's monitoring alerts.
    pub async fn monitoring_acks(&self, case_id: &str) -> Result<Vec<AckRow>> {
        Ok(sqlx::query_as(
            "SELECT monitoring_id, user_id, at FROM monitoring_acks WHERE case_id = $1 \
             ORDER BY at, monitoring_id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Tx {
    /// Acknowledges one entry's alerts; a second acknowledgement is `Duplicate`.
    pub async fn acknowledge_alerts(
        &mut self,
        case_id: &str,
        monitoring_id: &str,
        user_id: &str,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO monitoring_acks (monitoring_id, case_id, user_id, at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(monitoring_id)
        .bind(case_id)
        .bind(user_id)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await;
        inserted(r)
    }
}
