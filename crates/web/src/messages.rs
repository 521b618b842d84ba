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
/// What is stored is the kind and its English notice ([`notice`]): never clinical text.
pub async fn notify_case(
    state: &Shared,
    tx: &mut cellpath_store::Tx,
    case_id: &str,
    except: &str,
    kind: &str,
) -> Result<(), ApiError> {
    let text = notice(kind).en;
    for user in state.store.participants(case_id).await? {
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

/// What a notification says, in the reader's language: never clinical text, only that
/// something on the case needs attention, and where.
pub fn notice(kind: &str) -> cellpath_domain::text::Bi {
    use cellpath_domain::text::Bi;
    match kind {
        "message" => Bi::new("New message on your case.", "您的病例有一条新消息。"),
        "safety-alert" => Bi::new(
            "Something needs your attention on your case now: open it.",
            "您的病例有需要立即关注的情况：请打开查看。",
        ),
        "diary-warning" => Bi::new(
            "The home diary records something that needs attention: open the case.",
            "居家日记记录了需要关注的情况：请打开病例查看。",
        ),
        "mdt-assignment" => Bi::new(
            "You are asked for an MDT opinion on a case.",
            "请您就一个病例提供多学科团队（MDT）意见。",
        ),
        "mdt-consensus" => Bi::new(
            "An MDT consensus on your case is ready to sign.",
            "您病例的多学科团队（MDT）共识已可签署。",
        ),
        "programme-source-changed" => Bi::new(
            "A registry study a programme of your case rests on changed: its screening awaits review or a re-run.",
            "您病例所涉项目依据的一项注册研究有变更：该病例的预筛有待复核或重新运行。",
        ),
        "programme-closed" => Bi::new(
            "A registry study a programme of your case rests on stopped recruiting: the case was screened again.",
            "您病例所涉项目依据的一项注册研究已停止招募：已对该病例重新预筛。",
        ),
        _ => Bi::new(
            "Something needs your attention on your case.",
            "您的病例有需要关注的内容。",
        ),
    }
}

/// `GET /notifications`: one's notifications, newest first, each saying only that
/// something needs attention and linking to the case — and only for cases one may still
/// open (a notice does not outlive the access it was sent under).
pub async fn notifications(
    State(state): State<Shared>,
    actor: Actor,
    ctx: Option<axum::Extension<std::sync::Arc<crate::request::RequestCtx>>>,
) -> Result<Json<Value>, ApiError> {
    let lang = ctx.map_or(cellpath_domain::text::Lang::En, |c| c.0.lang());
    let list = state.store.notifications(&actor.id).await?;
    let mut open: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for n in &list {
        if let Some(case_id) = &n.case_id {
            let may = match open.get(case_id) {
                Some(m) => *m,
                None => {
                    let m = state
                        .authorise(&actor, case_id, Action::ReadCase)
                        .await
                        .is_ok();
                    open.insert(case_id.clone(), m);
                    m
                }
            };
            if !may {
                continue;
            }
        }
        out.push(json!({
            "id": n.id, "case_id": n.case_id, "kind": n.kind,
            "text": notice(&n.kind).get(lang),
            "link": n.case_id.as_ref().map(|c| format!("/api/v1/cases/{c}")),
            "created_at": n.created_at, "read_at": n.read_at,
        }));
    }
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
