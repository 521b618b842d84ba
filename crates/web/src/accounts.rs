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
use crate::{Actor, ApiError, Shared, auth};

/// How long a set-password link lives.
const LINK_SECS: u64 = 72 * 3600;
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

fn in_secs(secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    cellpath_store::rfc3339(now + secs)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    role: String,
    #[serde(default)]
    specialty: Option<String>,
}

const SPECIALTIES: [&str; 5] = [
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
    let email = req.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(ApiError::bad_request("invalid_email", "give an e-mail address").at("/email"));
    }
    let role: Role = req
        .role
        .parse()
        .map_err(|e: String| ApiError::bad_request("invalid_role", e).at("/role"))?;
    match (role, req.specialty.as_deref()) {
        (Role::Specialist, Some(s)) if SPECIALTIES.contains(&s) => {}
        (Role::Specialist, _) => {
            return Err(ApiError::bad_request(
                "invalid_specialty",
                format!("a specialist needs one of: {}", SPECIALTIES.join(", ")),
            )
            .at("/specialty"));
        }
        (_, Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_specialty",
                "only specialists have a specialty",
            )
            .at("/specialty"));
        }
        _ => {}
    }
    // An unusable random password until the user sets their own through the link.
    let id = crate::create_user(
        &state.store,
        &email,
        &auth::random_hex(32),
        role,
        req.specialty.as_deref(),
    )
    .await?;
    let token = auth::random_hex(32);
    state
        .store
        .create_password_link(&auth::sha256_hex(&token), &id, &in_secs(LINK_SECS))
        .await?;
    state
        .store
        .audit(&actor.id, "account.create", None, &actor.request_id)
        .await?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPassword {
    token: String,
    password: String,
}

/// `POST /api/v1/password`: set one's password with a one-time link.
pub async fn set_password(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: SetPassword = parse_json(&body)?;
    if req.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(
            "weak_password",
            format!("use at least {MIN_PASSWORD} characters"),
        )
        .at("/password"));
    }
    let user = state
        .store
        .use_password_link(&auth::sha256_hex(&req.token), &cellpath_store::now())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::GONE,
                "link_invalid",
                "this link is unknown, used or expired",
            )
        })?;
    let hash = auth::hash_password(req.password)
        .await
        .map_err(|_| ApiError::internal())?;
    state.store.set_password(&user, &hash).await?;
    state
        .store
        .audit(&user, "account.password.set", None, "link")
        .await?;
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
    let req: NewToken = parse_json(&body)?;
    if !matches!(req.scope.as_str(), "read" | "write") {
        return Err(ApiError::bad_request("invalid_scope", "scope is read or write").at("/scope"));
    }
    let name = req.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(
            ApiError::bad_request("invalid_name", "name the token (1–100 characters)").at("/name"),
        );
    }
    let days = req.expires_in_days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(ApiError::bad_request("invalid_expiry", "1–365 days").at("/expires_in_days"));
    }
    let id = format!("t-{}", auth::random_hex(8));
    let token = format!("cp_{}", auth::random_hex(32));
    state
        .store
        .create_api_token(
            &id,
            &auth::sha256_hex(&token),
            &actor.id,
            name,
            &req.scope,
            &in_secs(u64::from(days) * 86_400),
        )
        .await?;
    state
        .store
        .audit(&actor.id, "account.token.create", None, &actor.request_id)
        .await?;
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
        "tokens": list.iter().map(|(id, name, scope, created, expires, revoked)| json!({
            "id": id, "name": name, "scope": scope, "created_at": created,
            "expires_at": expires, "revoked_at": revoked,
        })).collect::<Vec<_>>()
    })))
}

pub async fn revoke_token(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !state.store.revoke_api_token(&actor.id, &id).await? {
        return Err(ApiError::not_found());
    }
    state
        .store
        .audit(&actor.id, "account.token.revoke", None, &actor.request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
