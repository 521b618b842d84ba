//! Messages per case between its participants, and the in-app notification list.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cases::parse_json;
use crate::policy::Action;
use crate::{Actor, ApiError, ErrorCode, Shared};

/// Longest message accepted, characters.
const MAX_MESSAGE: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    body: String,
}

/// Tells every participant of a case but `except`, inside the change that calls for it.
pub async fn notify_case(
    state: &Shared,
    tx: &mut cellpath_store::Tx,
    case_id: &str,
    except: &str,
    kind: &str,
    text: &str,
) -> Result<(), ApiError> {
    for user in state.store.participants(case_id).await? {
        if user != except {
            let id = crate::auth::sortable_id("n");
            tx.notify(&id, &user, Some(case_id), kind, text).await?;
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
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let m: NewMessage = parse_json(&body)?;
    let text = m.body.trim();
    if text.is_empty() || text.chars().count() > MAX_MESSAGE {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidMessage,
            format!("a message has 1–{MAX_MESSAGE} characters"),
        )
        .at("/body"));
    }
    let mid = crate::auth::sortable_id("m");
    let mut tx = state.change(&actor, "case.message", Some(&id)).await?;
    tx.add_message(&mid, &id, &actor.id, text).await?;
    // The notification says only that there is a message: no clinical text is copied.
    notify_case(
        &state,
        &mut tx,
        &id,
        &actor.id,
        "message",
        "New message on your case",
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": mid}))).into_response())
}

pub async fn list(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let list = state.store.messages(&id).await?;
    state.read(&actor, "case.messages.read", Some(&id)).await?;
    Ok(Json(json!({
        "messages": list.iter().map(|m| json!({"id": m.id, "author": m.author_id, "body": m.body, "created_at": m.created_at})).collect::<Vec<_>>()
    })))
}

pub async fn notifications(
    State(state): State<Shared>,
    actor: Actor,
) -> Result<Json<Value>, ApiError> {
    let list = state.store.notifications(&actor.id).await?;
    Ok(Json(json!({
        "notifications": list.iter().map(|n| json!({
            "id": n.id, "case_id": n.case_id, "kind": n.kind, "text": n.text,
            "created_at": n.created_at, "read_at": n.read_at,
        })).collect::<Vec<_>>()
    })))
}

pub async fn mark_read(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut tx = state.change(&actor, "notification.read", None).await?;
    if tx.mark_read(&actor.id, &id).await? {
        tx.commit().await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found())
    }
}
