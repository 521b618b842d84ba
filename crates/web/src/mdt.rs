//! The MDT second opinion: the coordinator assigns specialists with a due date; each
//! submits an opinion (recommendation, rationale, the six questions of the decision
//! framework, confidence); a lead writes the consensus with dissent recorded; each assigned
//! specialist signs. A consensus is never changed — the database refuses it — and an
//! amendment is a new version, signed anew.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cellpath_domain::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cases::{authorise as authorise_case, parse_json};
use cellpath_store::{Access, ConsentKind, MemberRole};

use crate::policy::{Action, Role};
use crate::{Actor, ApiError, ErrorCode, Shared};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recommendation {
    ProceedToCarTEvaluation,
    ConsiderAnAlternative,
    NotSuitable,
    NeedMoreInformation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    Low,
    Moderate,
    High,
}

/// The six questions of the decision framework; every answer is required and non-empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub biomarker_eligibility: String,
    pub treatment_sequence: String,
    pub alternatives: String,
    pub benefit_and_risk: String,
    pub access_and_logistics: String,
    pub recommendation: String,
}

impl Framework {
    fn check(&self, at: &str) -> Result<(), ApiError> {
        for (name, v) in [
            ("biomarker_eligibility", &self.biomarker_eligibility),
            ("treatment_sequence", &self.treatment_sequence),
            ("alternatives", &self.alternatives),
            ("benefit_and_risk", &self.benefit_and_risk),
            ("access_and_logistics", &self.access_and_logistics),
            ("recommendation", &self.recommendation),
        ] {
            if v.trim().is_empty() {
                return Err(ApiError::bad_request(
                    ErrorCode::EmptyAnswer,
                    format!("answer `{name}`"),
                )
                .at(format!("{at}/{name}")));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opinion {
    pub recommendation: Recommendation,
    pub rationale: String,
    pub answers: Framework,
    pub confidence: Confidence,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dissent {
    pub specialist_id: String,
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consensus {
    pub recommendation: Recommendation,
    pub summary: String,
    pub answers: Framework,
    #[serde(default)]
    pub dissent: Vec<Dissent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    user_id: String,
    due: String,
}

async fn assigned(state: &Shared, case_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(state
        .store
        .mdt_assignments(case_id)
        .await?
        .iter()
        .any(|a| a.user_id == user_id))
}

pub async fn assign(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = authorise_case(&state, &actor, &id, Action::AssignTeam).await?;
    let req: Assign = parse_json(&body)?;
    let due = Date::parse(&req.due)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidDate, e.to_string()).at("/due"))?;
    let user = state.store.user(&req.user_id).await?;
    if user.as_ref().map(|u| u.role.as_str()) != Some(Role::Specialist.as_str()) {
        return Err(
            ApiError::bad_request(ErrorCode::NotASpecialist, "assign a specialist").at("/user_id"),
        );
    }
    state
        .require_consents(
            &case.owner_id,
            &[
                ConsentKind::HealthDataProcessing,
                ConsentKind::MdtSharing,
                ConsentKind::TransferAbroad,
            ],
        )
        .await?;
    let is_member = state.store.member(&id, &req.user_id).await?.is_some();
    // The assignment, the membership it implies and the notice are one change.
    let mut tx = state.change(&actor, "mdt.assign", Some(&id)).await?;
    tx.mdt_assign(&id, &req.user_id, &due.to_string(), case.record_version)
        .await?;
    if !is_member {
        tx.add_member(&id, &req.user_id, MemberRole::Specialist, Access::Act)
            .await?;
    }
    let nid = crate::auth::sortable_id("n");
    tx.notify(
        &nid,
        &req.user_id,
        Some(&id),
        "mdt-assignment",
        &crate::messages::notice("mdt-assignment").en,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user_id": req.user_id, "due": due.to_string()})),
    )
        .into_response())
}

pub async fn opinion(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = authorise_case(&state, &actor, &id, Action::ReadCase).await?;
    if !assigned(&state, &id, &actor.id).await? {
        return Err(ApiError::forbidden(
            "only specialists assigned to the MDT review give opinions",
        ));
    }
    let op: Opinion = parse_json(&body)?;
    op.answers.check("/answers")?;
    if op.rationale.trim().is_empty() {
        return Err(
            ApiError::bad_request(ErrorCode::EmptyRationale, "give the rationale").at("/rationale"),
        );
    }
    let oid = crate::auth::sortable_id("o");
    let text = serde_json::to_string(&op).map_err(ApiError::internal)?;
    let mut tx = state.change(&actor, "mdt.opinion", Some(&id)).await?;
    tx.mdt_add_opinion(&oid, &id, &actor.id, &text, case.record_version)
        .await?;
    tx.mdt_drop_draft(&id, &actor.id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": oid, "record_version": case.record_version})),
    )
        .into_response())
}

/// An opinion being written: every part may still be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    #[serde(default)]
    pub recommendation: Option<Recommendation>,
    #[serde(default)]
    pub confidence: Option<Confidence>,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub answers: DraftAnswers,
}

/// The six answers of a draft, each possibly empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DraftAnswers {
    pub biomarker_eligibility: String,
    pub treatment_sequence: String,
    pub alternatives: String,
    pub benefit_and_risk: String,
    pub access_and_logistics: String,
    pub recommendation: String,
}

/// The longest draft kept, in bytes of JSON.
pub const MAX_DRAFT: usize = 64 * 1024;

/// `PUT /cases/{id}/mdt/draft`: an assigned specialist saves the opinion they are writing
/// (replacing the last save). Nobody else reads it.
pub async fn save_draft(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorise_case(&state, &actor, &id, Action::ReadCase).await?;
    if !assigned(&state, &id, &actor.id).await? {
        return Err(ApiError::forbidden(
            "only specialists assigned to the MDT review give opinions",
        ));
    }
    let draft: Draft = parse_json(&body)?;
    let text = serde_json::to_string(&draft).map_err(ApiError::internal)?;
    if text.len() > MAX_DRAFT {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!("at most {MAX_DRAFT} bytes"),
        ));
    }
    let mut tx = state.change(&actor, "mdt.draft", Some(&id)).await?;
    tx.mdt_save_draft(&id, &actor.id, &text).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The actor's own draft, if any (no authorisation or audit: the caller's).
pub async fn own_draft(
    state: &Shared,
    case_id: &str,
    user_id: &str,
) -> Result<Option<(Draft, String)>, ApiError> {
    match state.store.mdt_draft(case_id, user_id).await? {
        Some(row) => Ok(Some((
            serde_json::from_str(&row.body).map_err(ApiError::internal)?,
            row.saved_at,
        ))),
        None => Ok(None),
    }
}

/// `GET /cases/{id}/mdt/draft`: one's own draft opinion.
pub async fn read_draft(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorise_case(&state, &actor, &id, Action::ReadCase).await?;
    let draft = own_draft(&state, &id, &actor.id).await?;
    state.read(&actor, "mdt.draft.read", Some(&id)).await?;
    Ok(Json(match draft {
        Some((d, at)) => json!({"draft": d, "saved_at": at}),
        None => json!({"draft": null}),
    }))
}

pub async fn consensus(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = authorise_case(&state, &actor, &id, Action::ReadCase).await?;
    if !assigned(&state, &id, &actor.id).await? {
        return Err(ApiError::forbidden(
            "the lead must be a specialist assigned to the review",
        ));
    }
    let c: Consensus = parse_json(&body)?;
    c.answers.check("/answers")?;
    let team: Vec<String> = state
        .store
        .mdt_assignments(&id)
        .await?
        .into_iter()
        .map(|a| a.user_id)
        .collect();
    for (i, d) in c.dissent.iter().enumerate() {
        if !team.contains(&d.specialist_id) {
            return Err(ApiError::bad_request(
                ErrorCode::UnknownSpecialist,
                "dissent must name an assigned specialist",
            )
            .at(format!("/dissent/{i}/specialist_id")));
        }
    }
    let text = serde_json::to_string(&c).map_err(ApiError::internal)?;
    let mut tx = state.change(&actor, "mdt.consensus", Some(&id)).await?;
    let version = tx
        .mdt_add_consensus(&id, &actor.id, &text, case.record_version)
        .await?;
    tx.set_action(format!("mdt.consensus.v{version}"));
    crate::messages::notify_case(&state, &mut tx, &id, &actor.id, "mdt-consensus").await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"version": version, "record_version": case.record_version})),
    )
        .into_response())
}

pub async fn sign(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, version)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    authorise_case(&state, &actor, &id, Action::ReadCase).await?;
    if !assigned(&state, &id, &actor.id).await? {
        return Err(ApiError::forbidden("only assigned specialists sign"));
    }
    let versions = state.store.mdt_consensus(&id).await?;
    let latest = versions.last().map(|v| v.version);
    if !versions.iter().any(|v| v.version == version) {
        return Err(ApiError::not_found());
    }
    if latest != Some(version) {
        return Err(ApiError::new(
            ErrorCode::Superseded,
            "this consensus was amended: sign the latest version",
        ));
    }
    let mut tx = state
        .change(&actor, format!("mdt.sign.v{version}"), Some(&id))
        .await?;
    tx.mdt_sign(&id, version, &actor.id)
        .await
        .map_err(|e| match e {
            cellpath_store::StoreError::Duplicate => {
                ApiError::new(ErrorCode::AlreadySigned, "you already signed this version")
            }
            other => other.into(),
        })?;
    tx.commit().await?;
    Ok(StatusCode::CREATED.into_response())
}

pub async fn read(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let case = authorise_case(&state, &actor, &id, Action::ReadCase).await?;
    let team = state.store.mdt_assignments(&id).await?;
    let opinions = state.store.mdt_opinions(&id).await?;
    let mut versions = Vec::new();
    for c in state.store.mdt_consensus(&id).await? {
        let signatures = state.store.mdt_signatures(&id, c.version).await?;
        let signed = team
            .iter()
            .all(|a| signatures.iter().any(|s| s.user_id == a.user_id));
        versions.push(json!({
            "version": c.version, "lead": c.lead_id, "created_at": c.created_at,
            "record_version": c.record_version,
            // The record changed after this consensus was made (unknown for older ones).
            "record_changed_since": c.record_version.map(|v| v != case.record_version),
            "consensus": serde_json::from_str::<Value>(&c.body).unwrap_or(Value::Null),
            "signatures": signatures.iter().map(|s| json!({"user_id": s.user_id, "signed_at": s.signed_at})).collect::<Vec<_>>(),
            "signed": signed,
        }));
    }
    state.read(&actor, "mdt.read", Some(&id)).await?;
    Ok(Json(json!({
        "record_version": case.record_version,
        "team": team.iter().map(|a| json!({"user_id": a.user_id, "due": a.due, "record_version": a.record_version})).collect::<Vec<_>>(),
        "opinions": opinions.iter().map(|o| json!({
            "author": o.author_id, "submitted_at": o.submitted_at,
            "record_version": o.record_version,
            "opinion": serde_json::from_str::<Value>(&o.body).unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
        "consensus": versions,
    })))
}
