//! The safety loop's use cases: a warning the family reports at home becomes a safety alert
//! for the case's on-call team (`care::oncall` decides who and when), a team member
//! acknowledges it with what they did, the family sees the receipt, and an alert nobody
//! acknowledges escalates — to the next person on call, then to every treating member.
//! Each step is one transaction with its audit entry; every person told gets a notification
//! on the site and, when their account wants it, an e-mail that holds only a link.

use cellpath_care::diary::{DiaryAnswer, DiaryEntry, SIGNS};
use cellpath_care::oncall::{self, Level, OnCall};
use cellpath_domain::text::{Bi, Lang};
use cellpath_store::{
    AlertAction, AlertSeverity, AlertSource, MemberRole, NewSafetyAlert, OnCallRow, SafetyAlertRow,
    Tx, parse_rfc3339, rfc3339,
};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::policy::Action;
use crate::{Actor, Shared};

/// What the family reported, as the alert keeps it: sign keys and readings, never words
/// (each reader gets them in their language).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    #[serde(default)]
    pub signs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_f: Option<f64>,
}

impl Reported {
    pub fn of(entry: &DiaryEntry) -> Self {
        Self {
            signs: SIGNS
                .iter()
                .filter(|s| entry.has(s.key))
                .map(|s| s.key.to_owned())
                .collect(),
            temperature_c: entry.celsius(),
            temperature_f: entry.temperature_f,
        }
    }

    /// "confusion, 39.6 °C" in the reader's language.
    pub fn words(&self, lang: Lang) -> String {
        let mut parts: Vec<String> = Vec::new();
        for key in &self.signs {
            if let Some(s) = SIGNS.iter().find(|s| s.key == key) {
                parts.push(Bi::new(s.en, s.zh).get(lang).to_owned());
            }
        }
        if let Some(t) = self.temperature_c {
            parts.push(match self.temperature_f {
                Some(f) => format!("{t} °C ({f} °F)"),
                None => format!("{t} °C"),
            });
        }
        match lang {
            Lang::En => parts.join(", "),
            Lang::ZhCn => parts.join("、"),
        }
    }

    fn read(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }
}

/// A safety alert as adapters show it.
#[derive(Clone, Debug)]
pub struct AlertView {
    pub row: SafetyAlertRow,
    pub reported: Reported,
}

impl AlertView {
    fn of(row: SafetyAlertRow) -> Self {
        let reported = Reported::read(&row.reported);
        Self { row, reported }
    }

    pub fn level(&self) -> Level {
        Level::from_stored(self.row.level).unwrap_or(Level::Everyone)
    }
}

/// Words for a severity.
pub fn severity_words(s: AlertSeverity) -> Bi {
    match s {
        AlertSeverity::Emergency => Bi::new("Emergency", "危急"),
        AlertSeverity::Urgent => Bi::new("Urgent", "紧急"),
    }
}

/// Words for what the person who acknowledged did.
pub fn action_words(a: AlertAction) -> Bi {
    match a {
        AlertAction::CalledBack => Bi::new("called the family back", "已回电家属"),
        AlertAction::SentToEmergency => {
            Bi::new("sent the patient to emergency care", "已安排患者前往急诊")
        }
        AlertAction::SeenInPerson => Bi::new("saw the patient in person", "已当面查看患者"),
        AlertAction::Other => Bi::new("acted (see the note)", "已处理（见备注）"),
    }
}

/// The case's treating members: its coordinators and specialists.
pub async fn treating(state: &Shared, case_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(state
        .store
        .members(case_id)
        .await?
        .into_iter()
        .filter(|m| matches!(m.role, MemberRole::Coordinator | MemberRole::Specialist))
        .map(|m| m.user_id)
        .collect())
}

/// The patient and the caregivers: who reported, and who gets the receipt.
async fn family(state: &Shared, case_id: &str) -> Result<Vec<String>, ApiError> {
    let case = state
        .store
        .case(case_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mut out = vec![case.owner_id];
    out.extend(
        state
            .store
            .members(case_id)
            .await?
            .into_iter()
            .filter(|m| m.role == MemberRole::Caregiver)
            .map(|m| m.user_id),
    );
    Ok(out)
}

fn rota_of(rows: &[OnCallRow]) -> Vec<OnCall> {
    rows.iter()
        .filter_map(|r| {
            Some(OnCall {
                position: u32::try_from(r.position).ok()?,
                user: r.user_id.clone(),
                starts: parse_rfc3339(&r.starts_at)?,
                ends: parse_rfc3339(&r.ends_at)?,
            })
        })
        .collect()
}

fn now_secs(state: &Shared) -> u64 {
    state.store.clock().now_secs()
}

fn window(state: &Shared) -> u64 {
    state.config.alert_ack_window.as_secs().max(60)
}

/// Tells each person of an alert: a notification on the site and, when their account
/// wants it, an e-mail with a link. Inside the caller's change.
async fn tell(
    state: &Shared,
    tx: &mut Tx,
    users: &[String],
    case_id: &str,
    kind: &str,
    alert_id: &str,
    link: &str,
) -> Result<(), ApiError> {
    for user in users {
        let nid = crate::auth::sortable_id("n");
        tx.notify_alert(&nid, user, case_id, kind, alert_id).await?;
        if state.config.mailer.is_some() && state.store.email_notifications(user).await? {
            let oid = crate::auth::sortable_id("mail");
            tx.queue_email(&oid, user, kind, Some(case_id), link)
                .await?;
        }
    }
    Ok(())
}

/// What raising an alert gave: for the family's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Raised {
    pub id: String,
    pub severity: AlertSeverity,
    /// When the team was alerted (RFC 3339 UTC).
    pub alerted_at: String,
    /// If nobody from the team has called by then, call again (RFC 3339 UTC).
    pub call_by: String,
    /// How many people of the team were told.
    pub told: usize,
}

/// Raises the alert a diary answer calls for, inside the diary's change.
pub(crate) async fn raise_from_diary(
    state: &Shared,
    tx: &mut Tx,
    case_id: &str,
    diary_id: &str,
    raised_by: &str,
    entry: &DiaryEntry,
    answer: &DiaryAnswer,
) -> Result<Raised, ApiError> {
    let now = now_secs(state);
    let window = window(state);
    let treating = treating(state, case_id).await?;
    let rota = rota_of(&state.store.on_call(case_id).await?);
    let step = oncall::first(&rota, &treating, now, window);
    let severity = if answer.call_emergency {
        AlertSeverity::Emergency
    } else {
        AlertSeverity::Urgent
    };
    let id = crate::auth::sortable_id("al");
    let reported = serde_json::to_string(&Reported::of(entry)).map_err(ApiError::internal)?;
    let next = step.next_at.map(rfc3339);
    let call_by = rfc3339(now + window);
    tx.add_safety_alert(&NewSafetyAlert {
        id: &id,
        case_id,
        source: AlertSource::Diary,
        source_id: diary_id,
        severity,
        reported: &reported,
        raised_by,
        level: step.level as i64,
        notified: &step.tell,
        next_escalation_at: next.as_deref(),
        call_by: &call_by,
    })
    .await?;
    if step.tell.is_empty() {
        // Nobody of the team is on the case in cellpath: the family's answer says to call
        // the number, and the operators' log says an alert reached no one (no personal data).
        tracing::warn!(case = case_id, alert = %id, "a safety alert has no treating member to tell");
    }
    let link = format!("/cases/{case_id}/monitoring#alert-{id}");
    tell(state, tx, &step.tell, case_id, "safety-alert", &id, &link).await?;
    Ok(Raised {
        id,
        severity,
        alerted_at: rfc3339(now),
        call_by,
        told: step.tell.len(),
    })
}

/// Moves on every alert nobody acknowledged in time (the server calls it every few seconds;
/// tests call it with a fixed clock). Returns how many escalated. Several servers may run
/// it at once: each alert moves once.
pub async fn escalate_due(state: &Shared) -> Result<usize, ApiError> {
    let now = now_secs(state);
    let window = window(state);
    let mut moved = 0;
    for alert in state.store.alerts_due(&rfc3339(now), 100).await? {
        let level = Level::from_stored(alert.level).unwrap_or(Level::Everyone);
        let treating = treating(state, &alert.case_id).await?;
        let rota = rota_of(&state.store.on_call(&alert.case_id).await?);
        let step = oncall::escalate(level, &alert.notified, &rota, &treating, now, window);
        let mut tx = state
            .change_as(
                "system",
                "escalation",
                "safety-alert.escalate",
                Some(&alert.case_id),
            )
            .await?;
        let (to, newly, next) = match step {
            Some(s) => (s.level as i64, s.tell, s.next_at.map(rfc3339)),
            // Everyone was told already: stop the clock, the alert stays open at the top.
            None => (alert.level, Vec::new(), None),
        };
        let mut notified = alert.notified.clone();
        notified.extend(newly.iter().cloned());
        if !tx
            .escalate_alert(&alert.id, alert.level, to, &notified, next.as_deref())
            .await?
        {
            continue; // acknowledged, or another server moved it
        }
        let link = format!("/cases/{}/monitoring#alert-{}", alert.case_id, alert.id);
        tell(
            state,
            &mut tx,
            &newly,
            &alert.case_id,
            "safety-alert-escalated",
            &alert.id,
            &link,
        )
        .await?;
        tx.commit().await?;
        moved += 1;
    }
    Ok(moved)
}

/// A team member acknowledges an alert, saying what they did; the family is told.
pub async fn acknowledge(
    state: &Shared,
    actor: &Actor,
    case_id: &str,
    alert_id: &str,
    action: AlertAction,
    note: Option<&str>,
) -> Result<(), ApiError> {
    state
        .authorise(actor, case_id, Action::AcknowledgeAlert)
        .await?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidBody,
            "the note has at most 2,000 characters",
        )
        .at("/note"));
    }
    if action == AlertAction::Other && note.is_none() {
        return Err(
            ApiError::bad_request(ErrorCode::EmptyDetails, "say what was done").at("/note"),
        );
    }
    if state.store.safety_alert(case_id, alert_id).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let family = family(state, case_id).await?;
    let mut tx = state
        .change(actor, "safety-alert.acknowledge", Some(case_id))
        .await?;
    tx.acknowledge_safety_alert(case_id, alert_id, &actor.id, action, note)
        .await
        .map_err(|e| match e {
            cellpath_store::StoreError::Duplicate => ApiError::new(
                ErrorCode::AlreadyAcknowledged,
                "this alert was already acknowledged",
            ),
            other => other.into(),
        })?;
    let link = format!("/cases/{case_id}/diary#receipt-{alert_id}");
    tell(
        state,
        &mut tx,
        &family,
        case_id,
        "safety-alert-acknowledged",
        alert_id,
        &link,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A case's safety alerts, newest first (the case's readers; audited).
pub async fn list(
    state: &Shared,
    actor: &Actor,
    case_id: &str,
) -> Result<Vec<AlertView>, ApiError> {
    state.authorise(actor, case_id, Action::ReadCase).await?;
    let rows = state.store.safety_alerts(case_id).await?;
    state
        .read(actor, "safety-alert.read", Some(case_id))
        .await?;
    Ok(rows.into_iter().map(AlertView::of).collect())
}

/// A case's alerts without authorisation or audit: the caller's (a page that already
/// opened the case).
pub async fn of_case(state: &Shared, case_id: &str) -> Result<Vec<AlertView>, ApiError> {
    Ok(state
        .store
        .safety_alerts(case_id)
        .await?
        .into_iter()
        .map(AlertView::of)
        .collect())
}

/// One place on the rota as a coordinator gives it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RotaEntry {
    pub user: String,
    /// RFC 3339 UTC.
    pub starts_at: String,
    pub ends_at: String,
}

/// The most places a rota holds.
pub const MAX_ROTA: usize = 50;

/// The coordinator sets the case's on-call rota (in order: the first is called first).
pub async fn set_rota(
    state: &Shared,
    actor: &Actor,
    case_id: &str,
    rota: &[RotaEntry],
) -> Result<(), ApiError> {
    state.authorise(actor, case_id, Action::SetOnCall).await?;
    if rota.len() > MAX_ROTA {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRota,
            format!("a rota has at most {MAX_ROTA} places"),
        )
        .at("/rota"));
    }
    let treating = treating(state, case_id).await?;
    let mut rows = Vec::with_capacity(rota.len());
    for (i, r) in rota.iter().enumerate() {
        let at = |f: &str| format!("/rota/{i}/{f}");
        if !treating.contains(&r.user) {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRota,
                "only the case's coordinators and specialists can be on call",
            )
            .at(at("user")));
        }
        let (Some(s), Some(e)) = (parse_rfc3339(&r.starts_at), parse_rfc3339(&r.ends_at)) else {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRota,
                "times are RFC 3339 UTC, such as 2026-12-20T08:00:00Z",
            )
            .at(at(if parse_rfc3339(&r.starts_at).is_none() {
                "starts_at"
            } else {
                "ends_at"
            })));
        };
        if e <= s {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRota,
                "a turn on call ends after it starts",
            )
            .at(at("ends_at")));
        }
        rows.push(OnCallRow {
            position: i64::try_from(i).unwrap_or(i64::MAX),
            user_id: r.user.clone(),
            starts_at: rfc3339(s),
            ends_at: rfc3339(e),
        });
    }
    let mut tx = state.change(actor, "on-call.set", Some(case_id)).await?;
    tx.set_on_call(case_id, &rows).await?;
    tx.commit().await?;
    Ok(())
}

/// The case's rota, in order (the case's readers).
pub async fn rota(
    state: &Shared,
    actor: &Actor,
    case_id: &str,
) -> Result<Vec<OnCallRow>, ApiError> {
    state.authorise(actor, case_id, Action::ReadCase).await?;
    let rows = state.store.on_call(case_id).await?;
    state.read(actor, "on-call.read", Some(case_id)).await?;
    Ok(rows)
}

/// Who is on call now, in order, for a page that already opened the case.
pub async fn on_call_now(state: &Shared, case_id: &str) -> Result<Vec<String>, ApiError> {
    let treating = treating(state, case_id).await?;
    let rota = rota_of(&state.store.on_call(case_id).await?);
    Ok(oncall::on_call_now(&rota, &treating, now_secs(state)))
}

// ---------------------------------------------------------------- the JSON API's adapters

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

fn alert_json(a: &AlertView, lang: Lang) -> serde_json::Value {
    serde_json::json!({
        "id": a.row.id,
        "source": a.row.source,
        "severity": a.row.severity,
        "reported": a.reported,
        "reported_words": a.reported.words(lang),
        "raised_by": a.row.raised_by,
        "raised_at": a.row.raised_at,
        "level": match a.level() { Level::First => "first-on-call", Level::Next => "next-on-call", Level::Everyone => "every-treating-member" },
        "notified": a.row.notified,
        "next_escalation_at": a.row.next_escalation_at,
        "call_by": a.row.call_by,
        "acknowledged": a.row.ack.as_ref().map(|k| serde_json::json!({
            "by": k.user_id, "name": k.user_name, "action": k.action, "note": k.note, "at": k.at,
        })),
    })
}

/// `GET /api/v1/cases/{id}/alerts`: the case's safety alerts from the family's reports.
pub async fn list_alerts(
    State(state): State<Shared>,
    actor: Actor,
    ctx: Option<axum::Extension<std::sync::Arc<crate::request::RequestCtx>>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let lang = ctx.map_or(Lang::En, |c| c.0.lang());
    let list = list(&state, &actor, &id).await?;
    Ok(Json(serde_json::json!({
        "alerts": list.iter().map(|a| alert_json(a, lang)).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckReq {
    action: AlertAction,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/v1/cases/{id}/alerts/{aid}/acknowledge`: `{"action": "called-back", "note": …}`.
pub async fn acknowledge_alert(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, aid)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Who may act comes before what they sent: a stranger learns nothing from a 400.
    state
        .authorise(&actor, &id, Action::AcknowledgeAlert)
        .await?;
    let req: AckReq = crate::cases::parse_json(&body)?;
    acknowledge(&state, &actor, &id, &aid, req.action, req.note.as_deref()).await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotaReq {
    rota: Vec<RotaEntry>,
}

/// `GET /api/v1/cases/{id}/on-call`: the rota, in order, and who is on call now.
pub async fn get_rota(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = rota(&state, &actor, &id).await?;
    let now = on_call_now(&state, &id).await?;
    Ok(Json(serde_json::json!({
        "rota": rows.iter().map(|r| serde_json::json!({
            "user": r.user_id, "starts_at": r.starts_at, "ends_at": r.ends_at,
        })).collect::<Vec<_>>(),
        "on_call_now": now,
        "ack_window_minutes": state.config.alert_ack_window.as_secs() / 60,
    })))
}

/// `PUT /api/v1/cases/{id}/on-call`: `{"rota": [{"user", "starts_at", "ends_at"}, …]}`.
pub async fn put_rota(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::SetOnCall).await?;
    let req: RotaReq = crate::cases::parse_json(&body)?;
    set_rota(&state, &actor, &id, &req.rota).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
