//! The work queue of the people who work on cases (coordinators and specialists): their
//! cases with what needs them, safety alerts first. One use case for the API and the page.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use cellpath_store::{QueuePage, QueueQuery, QueueSort};

use crate::policy::Role;
use crate::{Actor, ApiError, ErrorCode, Shared};

/// The most cases on one page of the queue.
pub const MAX_PAGE: i64 = 100;
/// Cases on a page unless asked otherwise.
pub const PAGE: i64 = 25;

/// What the queue is asked for, as it comes in the query string.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    #[serde(default)]
    pub state: Option<String>,
    /// Only cases with unacknowledged safety alerts.
    #[serde(default)]
    pub alerts: Option<bool>,
    #[serde(default)]
    pub sort: Option<String>,
    /// 1-based.
    #[serde(default)]
    pub page: Option<i64>,
    #[serde(default)]
    pub per_page: Option<i64>,
}

/// The queue asked for, checked.
#[derive(Clone, Debug)]
pub struct QueueAsk {
    pub state: Option<String>,
    pub alerts_only: bool,
    pub sort: QueueSort,
    pub page: i64,
    pub per_page: i64,
}

impl QueueParams {
    pub fn check(&self) -> Result<QueueAsk, ApiError> {
        let state = self.state.clone().filter(|s| !s.is_empty());
        if let Some(s) = state
            .as_ref()
            .filter(|s| s.parse::<cellpath_domain::lifecycle::CaseState>().is_err())
        {
            return Err(ApiError::bad_request(ErrorCode::InvalidState, s.clone()).at("state"));
        }
        let sort = match self.sort.as_deref().filter(|s| !s.is_empty()) {
            None => QueueSort::default(),
            Some(s) => QueueSort::parse(s).ok_or_else(|| {
                ApiError::bad_request(ErrorCode::InvalidQuery, "sort: updated, due or state")
                    .at("sort")
            })?,
        };
        let page = self.page.unwrap_or(1);
        if !(1..=1_000_000).contains(&page) {
            return Err(ApiError::bad_request(ErrorCode::InvalidQuery, "page from 1").at("page"));
        }
        let per_page = self.per_page.unwrap_or(PAGE);
        if !(1..=MAX_PAGE).contains(&per_page) {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                format!("per_page 1–{MAX_PAGE}"),
            )
            .at("per_page"));
        }
        Ok(QueueAsk {
            state,
            alerts_only: self.alerts.unwrap_or(false),
            sort,
            page,
            per_page,
        })
    }
}

/// The patient's consents each member role needs, at the versions in force: the policy's
/// own rule (`app::consents_for_relation`), given to the queue's query so that a case closed
/// by consent is filtered, counted and sorted by nothing it holds.
fn member_needs() -> Vec<cellpath_store::ConsentNeed> {
    use crate::policy::Relation;
    use cellpath_store::MemberRole;
    [
        (MemberRole::Coordinator, Relation::AssignedCoordinator),
        (MemberRole::Specialist, Relation::AssignedSpecialist),
        (MemberRole::Caregiver, Relation::Caregiver { acts: false }),
    ]
    .into_iter()
    .flat_map(|(role, rel)| {
        crate::app::consents_for_relation(rel)
            .iter()
            .filter_map(move |kind| {
                crate::consent::current(*kind).map(|t| cellpath_store::ConsentNeed {
                    role,
                    kind: *kind,
                    version: t.version.as_str(),
                })
            })
    })
    .collect()
}

/// The use case: one page of the actor's queue, the read audited.
pub async fn queue(state: &Shared, actor: &Actor, ask: &QueueAsk) -> Result<QueuePage, ApiError> {
    if !matches!(actor.role, Role::Coordinator | Role::Specialist) {
        return Err(ApiError::forbidden(
            "the work queue is for coordinators and specialists",
        ));
    }
    let page = state
        .store
        .work_queue(&QueueQuery {
            user_id: &actor.id,
            needs: &member_needs(),
            state: ask.state.as_deref(),
            alerts_only: ask.alerts_only,
            sort: ask.sort,
            offset: (ask.page - 1) * ask.per_page,
            limit: ask.per_page,
        })
        .await?;
    state.read(actor, "work.queue", None).await?;
    Ok(page)
}

/// `GET /api/v1/work`: the work queue. A case whose consent no longer lets this person in
/// is listed by id only, marked `"access": false`.
pub async fn read(
    State(state): State<Shared>,
    actor: Actor,
    params: Result<Query<QueueParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let ask = params.check()?;
    let page = queue(&state, &actor, &ask).await?;
    let opens = futures_util::future::join_all(
        page.rows
            .iter()
            .map(|r| state.authorise(&actor, &r.id, crate::policy::Action::ReadCase)),
    )
    .await;
    let mut cases = Vec::with_capacity(page.rows.len());
    for (row, open) in page.rows.iter().zip(opens) {
        let open = open.is_ok();
        cases.push(if open {
            json!({
                "id": row.id, "access": true, "state": row.state, "updated_at": row.updated_at,
                "patient": row.owner_name.clone().unwrap_or_else(|| row.owner_email.clone()),
                "alerts": row.alerts, "unread_messages": row.unread, "next_due": row.next_due,
                "mdt": {"assigned": row.assigned, "submitted": row.submitted},
            })
        } else {
            json!({"id": row.id, "access": false})
        });
    }
    Ok(Json(json!({
        "page": ask.page, "per_page": ask.per_page, "total": page.total,
        "alerting": page.alerting, "cases": cases,
    })))
}

/// One of a specialist's own assignments, as the API and the page show it.
#[derive(Clone, Debug, Serialize)]
pub struct MyAssignment {
    pub case_id: String,
    /// False when the case's consent no longer lets this person in: the id only.
    pub access: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub due: String,
    /// Past its due date with no opinion given.
    pub overdue: bool,
    pub assigned_at: String,
    /// The record version assigned on, and the version now.
    pub record_version: Option<i64>,
    pub current_version: Option<i64>,
    /// The record changed since the assignment (or since one's opinion, once given).
    pub record_changed: bool,
    pub submitted: bool,
    pub drafting: bool,
}

/// The use case: the specialist's own assignments on every case, earliest due first, each
/// case checked through the door, the read audited.
pub async fn assignments(state: &Shared, actor: &Actor) -> Result<Vec<MyAssignment>, ApiError> {
    if actor.role != Role::Specialist {
        return Err(ApiError::forbidden("assignments are for MDT specialists"));
    }
    let rows = state.store.my_assignments(&actor.id).await?;
    let today = state.today()?.to_string();
    let opens = futures_util::future::join_all(
        rows.iter()
            .map(|r| state.authorise(actor, &r.case_id, crate::policy::Action::ReadCase)),
    )
    .await;
    let mut out = Vec::with_capacity(rows.len());
    for (r, open) in rows.into_iter().zip(opens) {
        let submitted = r.opinion_version.is_some();
        let seen = r.opinion_version.filter(|v| *v > 0).or(r.record_version);
        let access = open.is_ok();
        out.push(MyAssignment {
            overdue: !submitted && r.due.as_str() < today.as_str(),
            access,
            state: access.then(|| r.state.clone()),
            patient: access.then(|| r.owner_name.clone().unwrap_or(r.owner_email.clone())),
            record_changed: access && seen.is_some_and(|v| v != r.current_version),
            current_version: access.then_some(r.current_version),
            record_version: r.record_version.filter(|_| access),
            case_id: r.case_id,
            due: r.due,
            assigned_at: r.assigned_at,
            submitted,
            drafting: r.drafts > 0 && !submitted,
        });
    }
    state.read(actor, "work.assignments", None).await?;
    Ok(out)
}

/// `GET /api/v1/me/assignments`: the specialist's own MDT assignments.
pub async fn my_assignments(
    State(state): State<Shared>,
    actor: Actor,
) -> Result<Json<Value>, ApiError> {
    let list = assignments(&state, &actor).await?;
    Ok(Json(json!({ "assignments": list })))
}
