//! Accounts: an admin creates users and issues one-time set-password links; users set
//! their password through a link, and create scoped API tokens for integrations.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cases::parse_json;
use crate::policy::Role;
use crate::{Actor, ApiError, ErrorCode, Shared, auth};

/// How long a set-password link lives.
const LINK_SECS: u64 = 72 * 3600;
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

fn in_secs(state: &Shared, secs: u64) -> String {
    cellpath_store::rfc3339(state.store.clock().now_secs() + secs)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    role: String,
    #[serde(default)]
    specialty: Option<String>,
    /// The name others on a case see (1–100 characters).
    #[serde(default)]
    display_name: Option<String>,
}

/// A display name as given: trimmed, 1–100 characters, no control or bidi characters.
pub fn display_name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let name = raw.trim();
    let bad = name.chars().any(|c| {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    if name.is_empty() || name.chars().count() > 100 || bad {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidName,
            "a display name has 1–100 characters, without control or direction marks",
        )
        .at("/display_name"));
    }
    Ok(Some(name.to_owned()))
}

pub const SPECIALTIES: [&str; 5] = [
    "medical-oncology",
    "cell-therapy",
    "pathology",
    "radiology",
    "other",
];

/// `POST /api/v1/users` (admin): the account and its one-time set-password link.
pub async fn create_user(
    State(state): State<Shared>,
    actor: Actor,
    body: Bytes,
) -> Result<Response, ApiError> {
    if actor.role != Role::Admin {
        return Err(ApiError::forbidden("only an admin manages accounts"));
    }
    let req: NewUser = parse_json(&body)?;
    let shown = display_name(req.display_name.as_deref())?;
    let email = req.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(
            ApiError::bad_request(ErrorCode::InvalidEmail, "give an e-mail address").at("/email"),
        );
    }
    let role: Role = req
        .role
        .parse()
        .map_err(|e: String| ApiError::bad_request(ErrorCode::InvalidRole, e).at("/role"))?;
    match (role, req.specialty.as_deref()) {
        (Role::Specialist, Some(s)) if SPECIALTIES.contains(&s) => {}
        (Role::Specialist, _) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidSpecialty,
                format!("a specialist needs one of: {}", SPECIALTIES.join(", ")),
            )
            .at("/specialty"));
        }
        (_, Some(_)) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidSpecialty,
                "only specialists have a specialty",
            )
            .at("/specialty"));
        }
        _ => {}
    }
    // An unusable random password until the user sets their own through the link.
    let id = format!("u-{}", auth::random_hex(8));
    let hash = auth::hash_password(auth::random_hex(32))
        .await
        .map_err(ApiError::internal)?;
    let token = auth::random_hex(32);
    let mut tx = state.change(&actor, "account.create", None).await?;
    tx.create_user(&id, &email, &hash, role.as_str(), req.specialty.as_deref())
        .await?;
    if shown.is_some() {
        tx.set_display_name(&id, shown.as_deref()).await?;
    }
    tx.create_password_link(&auth::sha256_hex(&token), &id, &in_secs(&state, LINK_SECS))
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "user_id": id,
            "set_password_token": token,
            "expires_in_hours": LINK_SECS / 3600,
        })),
    )
        .into_response())
}

/// `POST /api/v1/users/{uid}/password-link` (admin): a new one-time set-password link for
/// an existing account — a forgotten password, or a locked account (setting the password
/// unlocks it). Earlier links stay valid until used or expired.
pub async fn new_password_link(
    State(state): State<Shared>,
    actor: Actor,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    if actor.role != Role::Admin {
        return Err(ApiError::forbidden("only an admin manages accounts"));
    }
    actor.refuse_token("make set-password links")?;
    let user = state
        .store
        .user(&uid)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let token = auth::random_hex(32);
    let mut tx = state.change(&actor, "account.password.link", None).await?;
    tx.create_password_link(
        &auth::sha256_hex(&token),
        &user.id,
        &in_secs(&state, LINK_SECS),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "user_id": user.id,
            "set_password_token": token,
            "expires_in_hours": LINK_SECS / 3600,
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPassword {
    token: String,
    password: String,
    /// The language the person set their password in (`en` or `zh-CN`): the account's
    /// language from then on.
    #[serde(default)]
    lang: Option<String>,
}

/// `POST /api/v1/password`: set one's password with a one-time link.
pub async fn set_password(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: SetPassword = parse_json(&body)?;
    let lang = match req.lang.as_deref() {
        None => None,
        Some(l) => Some(crate::lang::Lang::parse(l).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidLang, "en or zh-CN").at("/lang")
        })?),
    };
    if req.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(
            ErrorCode::WeakPassword,
            format!("use at least {MIN_PASSWORD} characters"),
        )
        .at("/password"));
    }
    let hash = auth::hash_password(req.password)
        .await
        .map_err(ApiError::internal)?;
    let now = state.store.now();
    // The link is used and the password set in one change; an unknown link writes nothing.
    let mut tx = state
        .change_as("link", &auth::random_hex(8), "account.password.set", None)
        .await?;
    let user = tx
        .use_password_link(&auth::sha256_hex(&req.token), &now)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::LinkInvalid,
                "this link is unknown, used or expired",
            )
        })?;
    tx.set_password(&user, &hash).await?;
    // A new password ends what the old one let in: every session and API token of the
    // account (security round 2, issue 28: an old session could still mint a 365-day
    // token). The link set it; no session did, so none stays.
    tx.end_sessions_and_tokens(&user).await?;
    tx.audit_as(&user);
    if let Some(lang) = lang {
        tx.set_lang(&user, lang.code()).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    /// read | write
    scope: String,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// `POST /api/v1/tokens`: a scoped API token, shown once.
pub async fn create_token(
    State(state): State<Shared>,
    actor: Actor,
    body: Bytes,
) -> Result<Response, ApiError> {
    actor.refuse_token("create API tokens")?;
    let req: NewToken = parse_json(&body)?;
    if !matches!(req.scope.as_str(), "read" | "write") {
        return Err(
            ApiError::bad_request(ErrorCode::InvalidScope, "scope is read or write").at("/scope"),
        );
    }
    let name = req.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidName,
            "name the token (1–100 characters)",
        )
        .at("/name"));
    }
    let days = req.expires_in_days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(
            ApiError::bad_request(ErrorCode::InvalidExpiry, "1–365 days").at("/expires_in_days"),
        );
    }
    let id = format!("t-{}", auth::random_hex(8));
    let token = format!("cp_{}", auth::random_hex(32));
    let expires = in_secs(&state, u64::from(days) * 86_400);
    let mut tx = state.change(&actor, "account.token.create", None).await?;
    tx.create_api_token(
        &id,
        &auth::sha256_hex(&token),
        &actor.id,
        name,
        &req.scope,
        &expires,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "token": token, "scope": req.scope})),
    )
        .into_response())
}

pub async fn list_tokens(
    State(state): State<Shared>,
    actor: Actor,
) -> Result<Json<Value>, ApiError> {
    let list = state.store.api_tokens(&actor.id).await?;
    Ok(Json(json!({
        "tokens": list.iter().map(|t| json!({
            "id": t.id, "name": t.name, "scope": t.scope, "created_at": t.created_at,
            "expires_at": t.expires_at, "revoked_at": t.revoked_at,
        })).collect::<Vec<_>>()
    })))
}

pub async fn revoke_token(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut tx = state.change(&actor, "account.token.revoke", None).await?;
    if !tx.revoke_api_token(&actor.id, &id).await? {
        return Err(ApiError::not_found());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whether one's notifications also come by e-mail (an account's own choice).
pub async fn set_email_notifications(
    state: &Shared,
    actor: &Actor,
    on: bool,
) -> Result<(), ApiError> {
    let mut tx = state
        .change(
            actor,
            if on {
                "account.email-notifications.on"
            } else {
                "account.email-notifications.off"
            },
            None,
        )
        .await?;
    tx.set_email_notifications(&actor.id, on).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationPrefs {
    email: bool,
}

/// `GET /api/v1/me/notifications`: `{"email": bool, "email_available": bool}`.
pub async fn get_notification_prefs(
    State(state): State<Shared>,
    actor: Actor,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let email = state.store.email_notifications(&actor.id).await?;
    Ok(axum::Json(serde_json::json!({
        "email": email,
        "email_available": state.config.mailer.is_some(),
    })))
}

/// `PUT /api/v1/me/notifications`: `{"email": true|false}`.
pub async fn put_notification_prefs(
    State(state): State<Shared>,
    actor: Actor,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: NotificationPrefs = parse_json(&body)?;
    set_email_notifications(&state, &actor, req.email).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
