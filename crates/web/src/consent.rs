//! Versioned consent texts (`catalogue/consents/consents.toml`), a patient's acceptance and
//! withdrawal, and the check that refuses an action without its consent.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cellpath_domain::text::Bi;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::policy::Role;
use crate::{Actor, ApiError, Shared};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentText {
    pub kind: String,
    pub version: String,
    pub title: Bi,
    pub text: Bi,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    consents: Vec<ConsentText>,
}

/// The current consent texts, compiled in.
pub fn texts() -> &'static [ConsentText] {
    static TEXTS: std::sync::OnceLock<Vec<ConsentText>> = std::sync::OnceLock::new();
    TEXTS.get_or_init(|| {
        toml::from_str::<File>(include_str!("../../../catalogue/consents/consents.toml"))
            .map(|f| f.consents)
            .unwrap_or_default()
    })
}

fn current(kind: &str) -> Option<&'static ConsentText> {
    texts().iter().find(|t| t.kind == kind)
}

/// Refuses unless `patient_id` has accepted the current version of every `kinds`.
pub async fn require(state: &Shared, patient_id: &str, kinds: &[&str]) -> Result<(), ApiError> {
    let live = state.store.live_consents(patient_id).await?;
    for kind in kinds {
        let Some(text) = current(kind) else {
            return Err(ApiError::internal());
        };
        if !live.iter().any(|(k, v, _)| k == kind && *v == text.version) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "consent_required",
                format!(
                    "the patient has not given the consent \"{}\" (version {})",
                    text.title.en, text.version
                ),
            ));
        }
    }
    Ok(())
}

pub async fn list(State(state): State<Shared>, actor: Actor) -> Result<Json<Value>, ApiError> {
    let live = state.store.live_consents(&actor.id).await?;
    let out: Vec<Value> = texts()
        .iter()
        .map(|t| {
            let accepted = live
                .iter()
                .find(|(k, v, _)| *k == t.kind && *v == t.version);
            json!({
                "kind": t.kind, "version": t.version, "title": t.title, "text": t.text,
                "accepted_at": accepted.map(|(_, _, at)| at.clone()),
            })
        })
        .collect();
    Ok(Json(json!({"consents": out})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    kind: String,
    version: String,
}

pub async fn accept(
    State(state): State<Shared>,
    actor: Actor,
    body: Bytes,
) -> Result<Response, ApiError> {
    if actor.role != Role::Patient {
        return Err(ApiError::forbidden("only the patient gives consent"));
    }
    let req: Accept = crate::cases::parse_json(&body)?;
    let text = current(&req.kind)
        .ok_or_else(|| ApiError::bad_request("unknown_consent", "no such consent").at("/kind"))?;
    if text.version != req.version {
        return Err(ApiError::bad_request(
            "stale_consent_version",
            format!("the current version is {}", text.version),
        )
        .at("/version"));
    }
    let id = format!("k-{}", crate::auth::random_hex(8));
    state
        .store
        .accept_consent(&id, &actor.id, &req.kind, &req.version)
        .await?;
    state
        .store
        .audit(
            &actor.id,
            &format!("consent.accept.{}", req.kind),
            None,
            &actor.request_id,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"kind": req.kind, "version": req.version})),
    )
        .into_response())
}

pub async fn withdraw(
    State(state): State<Shared>,
    actor: Actor,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    if current(&kind).is_none() {
        return Err(ApiError::not_found());
    }
    let n = state.store.withdraw_consent(&actor.id, &kind).await?;
    if n == 0 {
        return Err(ApiError::not_found());
    }
    state
        .store
        .audit(
            &actor.id,
            &format!("consent.withdraw.{kind}"),
            None,
            &actor.request_id,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
