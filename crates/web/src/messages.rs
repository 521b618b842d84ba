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

/// Tells every participant of a case but `except`, inside the change that calls for it —
/// or, for what only the team acts on (an MDT consensus to sign), only its treating members:
/// a family is never sent a notice it can do nothing with. What is stored is the kind and
/// its English notice ([`notice`]): never clinical text.
pub async fn notify_case(
    state: &Shared,
    tx: &mut cellpath_store::Tx,
    case_id: &str,
    except: &str,
    kind: &str,
) -> Result<(), ApiError> {
    let text = notice(kind).en;
    let audience = match kind {
        "mdt-consensus" => crate::alerts::treating(state, case_id).await?,
        _ => state.store.participants(case_id).await?,
    };
    for user in audience {
        if user != except {
            let id = crate::auth::sortable_id("n");
            tx.notify(&id, &user, Some(case_id), kind, &text).await?;
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
    notify_case(&state, &mut tx, &id, &actor.id, "message").await?;
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

pub use crate::notify::notice;

/// `GET /notifications`: one's notifications, newest first, in the reader's language — a
/// safety alert with its patient, severity and what to do — only for cases one may still
/// open, repeats grouped (`notify::notices`).
pub async fn notifications(
    State(state): State<Shared>,
    actor: Actor,
    ctx: Option<axum::Extension<std::sync::Arc<crate::request::RequestCtx>>>,
) -> Result<Json<Value>, ApiError> {
    let lang = ctx.map_or(cellpath_domain::text::Lang::En, |c| c.0.lang());
    let list = crate::notify::notices(&state, &actor, lang).await?;
    let out: Vec<Value> = list
        .iter()
        .map(|n| {
            json!({
                "id": n.ids.first(), "ids": n.ids, "case_id": n.case_id, "kind": n.kind,
                "text": n.text, "severity": n.severity, "count": n.count,
                "link": n.case_id.as_ref().map(|c| format!("/api/v1/cases/{c}")),
                "page": n.page,
                "created_at": n.created_at, "read_at": if n.unread { Value::Null } else { json!(true) },
                "unread": n.unread,
            })
        })
        .collect();
    Ok(Json(json!({ "notifications": out })))
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
