//! Versioned consent texts (`catalogue/consents/consents.toml`), a patient's acceptance and
//! withdrawal, and the check that refuses an action without its consent.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cellpath_domain::text::Bi;
use cellpath_store::ConsentKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::policy::Role;
use crate::{Actor, ApiError, ErrorCode, Shared};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentText {
    pub kind: ConsentKind,
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

/// The current text of a consent.
pub fn current(kind: ConsentKind) -> Option<&'static ConsentText> {
    texts().iter().find(|t| t.kind == kind)
}

pub async fn list(State(state): State<Shared>, actor: Actor) -> Result<Json<Value>, ApiError> {
    let live = state.store.live_consents(&actor.id).await?;
    let out: Vec<Value> = texts()
        .iter()
        .map(|t| {
            let accepted = live
                .iter()
                .find(|c| c.kind == t.kind && c.version == t.version);
            json!({
                "kind": t.kind, "version": t.version, "title": t.title, "text": t.text,
                "accepted_at": accepted.map(|c| c.accepted_at.clone()),
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
    actor.refuse_token("give consent")?;
    if actor.role != Role::Patient {
        return Err(ApiError::forbidden("only the patient gives consent"));
    }
    let req: Accept = crate::cases::parse_json(&body)?;
    let text = req.kind.parse().ok().and_then(current).ok_or_else(|| {
        ApiError::bad_request(ErrorCode::UnknownConsent, "no such consent").at("/kind")
    })?;
    if text.version != req.version {
        return Err(ApiError::bad_request(
            ErrorCode::StaleConsentVersion,
            format!("the current version is {}", text.version),
        )
        .at("/version"));
    }
    let id = format!("k-{}", crate::auth::random_hex(8));
    let mut tx = state
        .change(&actor, format!("consent.accept.{}", req.kind), None)
        .await?;
    tx.accept_consent(&id, &actor.id, text.kind, &req.version)
        .await?;
    tx.commit().await?;
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
    actor.refuse_token("withdraw consent")?;
    let Some(text) = kind.parse().ok().and_then(current) else {
        return Err(ApiError::not_found());
    };
    let mut tx = state
        .change(&actor, format!("consent.withdraw.{kind}"), None)
        .await?;
    if tx.withdraw_consent(&actor.id, text.kind).await? == 0 {
        return Err(ApiError::not_found());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
