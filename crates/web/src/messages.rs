//! Messages per case between its participants, and the in-app notification list.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cases::{authorise, parse_json};
use crate::policy::Action;
use crate::{Actor, ApiError, Shared};

/// Longest message accepted, characters.
const MAX_MESSAGE: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    body: String,
}

/// Tells every participant of a case but `except`.
pub async fn notify_case(
    state: &Shared,
    case_id: &str,
    except: &str,
    kind: &str,
    text: &str,
) -> Result<(), ApiError> {
    for user in state.store.participants(case_id).await? {
        if user != except {
            let id = crate::auth::sortable_id("n");
            state
                .store
                .notify(&id, &user, Some(case_id), kind, text)
                .await?;
        }
    }
    Ok(())
}

pub async fn post(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorise(&state, &actor, &id, Action::ReadCase).await?;
    let m: NewMessage = parse_json(&body)?;
    let text = m.body.trim();
    if text.is_empty() || text.chars().count() > MAX_MESSAGE {
        return Err(ApiError::bad_request(
            "invalid_message",
            format!("a message has 1–{MAX_MESSAGE} characters"),
        )
        .at("/body"));
    }
    let mid = crate::auth::sortable_id("m");
    state.store.add_message(&mid, &id, &actor.id, text).await?;
    // The notification says only that there is a message: no clinical text is copied.
    notify_case(
        &state,
        &id,
        &actor.id,
        "message",
        "New message on your case",
    )
    .await?;
    state
        .store
        .audit(&actor.id, "case.message", Some(&id), &actor.request_id)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": mid}))).into_response())
}

pub async fn list(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorise(&state, &actor, &id, Action::ReadCase).await?;
    let list = state.store.messages(&id).await?;
    state
        .store
        .audit(
            &actor.id,
            "case.messages.read",
            Some(&id),
            &actor.request_id,
        )
        .await?;
    Ok(Json(json!({
        "messages": list.iter().map(|(mid, a, b, t)| json!({"id": mid, "author": a, "body": b, "created_at": t})).collect::<Vec<_>>()
    })))
}

pub async fn notifications(
    State(state): State<Shared>,
    actor: Actor,
) -> Result<Json<Value>, ApiError> {
    let list = state.store.notifications(&actor.id).await?;
    Ok(Json(json!({
        "notifications": list.iter().map(|(nid, c, k, t, at, read)| json!({
            "id": nid, "case_id": c, "kind": k, "text": t, "created_at": at, "read_at": read,
        })).collect::<Vec<_>>()
    })))
}

pub async fn mark_read(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if state.store.mark_read(&actor.id, &id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found())
    }
}
