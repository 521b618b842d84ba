//! Care relations (`docs/security.md`): opening a case in a patient's name needs the
//! patient's grant — an invitation the patient makes, or a request the patient accepts — or,
//! for a coordinator, an admin's approval. The patient (or an admin) can end it at any time.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cases::parse_json;
use crate::policy::Role;
use crate::{Actor, ApiError, ErrorCode, Shared};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRelation {
    #[serde(default)]
    patient_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

fn json_of(r: &cellpath_store::RelationRow) -> Value {
    json!({
        "id": r.id, "patient_id": r.patient_id, "user_id": r.user_id, "status": r.status,
        "created_by": r.created_by, "created_at": r.created_at, "decided_at": r.decided_at,
    })
}

/// `POST /api/v1/relations`: a patient invites a caregiver or coordinator (`user_id`: active
/// at once); a caregiver or coordinator asks a patient (`patient_id`: requested, until the
/// patient accepts); an admin approves a coordinator for a patient (both: active).
pub async fn create(
    State(state): State<Shared>,
    actor: Actor,
    body: Bytes,
) -> Result<Response, ApiError> {
    actor.refuse_token("grant relations")?;
    let req: NewRelation = parse_json(&body)?;
    let (patient, user, status) = match (actor.role, req.patient_id, req.user_id) {
        (Role::Patient, None, Some(user)) => (actor.id.clone(), user, "active"),
        (Role::Caregiver | Role::Coordinator, Some(patient), None) => {
            (patient, actor.id.clone(), "requested")
        }
        (Role::Admin, Some(patient), Some(user)) => (patient, user, "active"),
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidBody,
                "a patient names user_id; a caregiver or coordinator names patient_id; an admin names both",
            ));
        }
    };
    let p = state.store.user(&patient).await?;
    if p.as_ref().map(|u| u.role.as_str()) != Some("patient") {
        return Err(
            ApiError::bad_request(ErrorCode::UnknownUser, "no such patient").at("/patient_id"),
        );
    }
    let u = state.store.user(&user).await?;
    let allowed: &[&str] = if actor.role == Role::Admin {
        &["coordinator"]
    } else {
        &["caregiver", "coordinator"]
    };
    if !u
        .as_ref()
        .is_some_and(|u| allowed.contains(&u.role.as_str()))
    {
        return Err(ApiError::bad_request(
            ErrorCode::RoleMismatch,
            format!("the other party must be a {}", allowed.join(" or ")),
        )
        .at("/user_id"));
    }
    let id = crate::auth::sortable_id("rel");
    let mut tx = state
        .change(&actor, format!("relation.{status}"), None)
        .await?;
    tx.add_relation(&id, &patient, &user, status, &actor.id)
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "status": status})),
    )
        .into_response())
}

/// `GET /api/v1/relations`: one's relations, as the patient or the other party.
pub async fn list(State(state): State<Shared>, actor: Actor) -> Result<Json<Value>, ApiError> {
    let list = state.store.relations_of(&actor.id).await?;
    Ok(Json(
        json!({"relations": list.iter().map(json_of).collect::<Vec<_>>()}),
    ))
}

/// `POST /api/v1/relations/{rid}/accept`: the patient accepts a request.
pub async fn accept(
    State(state): State<Shared>,
    actor: Actor,
    Path(rid): Path<String>,
) -> Result<Response, ApiError> {
    actor.refuse_token("accept relations")?;
    let r = state
        .store
        .relation(&rid)
        .await?
        .filter(|r| r.patient_id == actor.id)
        .ok_or_else(ApiError::not_found)?;
    let mut tx = state.change(&actor, "relation.accept", None).await?;
    if !tx
        .set_relation_status(&r.id, &["requested"], "active")
        .await?
    {
        return Err(ApiError::not_found());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/v1/relations/{rid}`: the patient, the other party or an admin ends it.
pub async fn revoke(
    State(state): State<Shared>,
    actor: Actor,
    Path(rid): Path<String>,
) -> Result<Response, ApiError> {
    let r = state
        .store
        .relation(&rid)
        .await?
        .filter(|r| r.patient_id == actor.id || r.user_id == actor.id || actor.role == Role::Admin)
        .ok_or_else(ApiError::not_found)?;
    let mut tx = state.change(&actor, "relation.revoke", None).await?;
    if !tx
        .set_relation_status(&r.id, &["requested", "active"], "revoked")
        .await?
    {
        return Err(ApiError::not_found());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
