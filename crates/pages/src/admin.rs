//! The admin's pages: accounts (create with a one-time set-password link, locked state,
//! role), one's API tokens, the audit chain's verification, the catalogue version and
//! health. Changes call the JSON API's use cases.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cellpath_web::policy::Role;
use cellpath_web::{ApiError, Shared};

use crate::frame::{Fields, Frame, Signed, json_of, page_with};
use crate::i18n::{self, tr};
use crate::patient::home_nav;

struct UserLine {
    id: String,
    email: String,
    name: String,
    role: String,
    locked: bool,
}

struct TokenLine {
    id: String,
    name: String,
    scope: String,
    expires: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    f: Frame,
    users: Vec<UserLine>,
    tokens: Vec<TokenLine>,
    audit_ok: bool,
    audit_entries: usize,
    audit_error: String,
    catalogue: String,
    database: String,
    healthy: bool,
    new_link: String,
    new_token: String,
    error: String,
    specialties: Vec<String>,
}

/// Accounts listed on one page.
const USERS_SHOWN: i64 = 500;

async fn admin_page(
    state: &Shared,
    s: &Signed,
    new_link: String,
    new_token: String,
    error: String,
) -> Response {
    if s.actor().role != Role::Admin {
        return s.fail(ApiError::forbidden("only an admin manages accounts"));
    }
    let lang = s.lang;
    let now = state.store.now();
    let users = state
        .store
        .users(0, USERS_SHOWN)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| UserLine {
            locked: u.locked_until.as_deref().is_some_and(|t| t > now.as_str()),
            role: tr(lang, &format!("role-{}", u.role), &[]),
            name: u.display_name.unwrap_or_default(),
            email: u.email,
            id: u.id,
        })
        .collect();
    let tokens = state
        .store
        .api_tokens(&s.actor().id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|t| TokenLine {
            expires: i18n::timestamp(lang, &t.expires_at),
            revoked: t.revoked_at.is_some(),
            id: t.id,
            name: t.name,
            scope: t.scope,
        })
        .collect();
    let (audit_ok, audit_entries, audit_error) = match state.store.verify_audit().await {
        Ok(n) => (true, n, String::new()),
        Err(e) => (false, 0, e.to_string()),
    };
    let healthy = state.store.ping().await.is_ok();
    let status = crate::frame::status_for(&error);
    let f = s.frame("admin-title", home_nav(lang, Role::Admin, "nav-admin"));
    page_with(
        status,
        &AdminPage {
            f,
            users,
            tokens,
            audit_ok,
            audit_entries,
            audit_error,
            catalogue: state.catalogue.version().to_owned(),
            database: match state.store.backend() {
                cellpath_store::Backend::Sqlite => "SQLite",
                cellpath_store::Backend::Postgres => "PostgreSQL",
            }
            .to_owned(),
            healthy,
            new_link,
            new_token,
            error,
            specialties: cellpath_web::accounts::SPECIALTIES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        },
    )
}

/// The set-password page's address for the link a use case made.
async fn link_of(r: Response) -> String {
    let v = json_of(r).await;
    let token = v["set_password_token"].as_str().unwrap_or_default();
    format!("/set-password?token={token}")
}

pub async fn admin(State(state): State<Shared>, s: Signed) -> Response {
    admin_page(&state, &s, String::new(), String::new(), String::new()).await
}

/// `POST /admin`: create an account (`do=create-user`), an API token (`do=create-token`) or
/// revoke one (`do=revoke-token`), through the API's use cases.
pub async fn admin_post(State(state): State<Shared>, s: Signed, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    let actor = s.writer();
    let fail = |e: ApiError| {
        let msg = s.message(&e);
        (e.status(), msg)
    };
    let result: Result<(String, String), (StatusCode, String)> = match form.get("do") {
        Some("create-user") => {
            let mut json = serde_json::json!({
                "email": form.text("email"),
                "role": form.text("role"),
            });
            let name = form.text("display_name");
            if !name.is_empty() {
                json["display_name"] = name.into();
            }
            let specialty = form.text("specialty");
            if !specialty.is_empty() {
                json["specialty"] = specialty.into();
            }
            match cellpath_web::accounts::create_user(
                State(state.clone()),
                actor,
                Bytes::from(json.to_string()),
            )
            .await
            {
                Ok(r) => Ok((link_of(r).await, String::new())),
                Err(e) => Err(fail(e)),
            }
        }
        Some("new-link") => match cellpath_web::accounts::new_password_link(
            State(state.clone()),
            actor,
            axum::extract::Path(form.text("user")),
        )
        .await
        {
            Ok(r) => Ok((link_of(r).await, String::new())),
            Err(e) => Err(fail(e)),
        },
        Some("create-token") => {
            let json = serde_json::json!({
                "name": form.text("name"),
                "scope": form.text("scope"),
            });
            match cellpath_web::accounts::create_token(
                State(state.clone()),
                actor,
                Bytes::from(json.to_string()),
            )
            .await
            {
                Ok(r) => {
                    let v = json_of(r).await;
                    Ok((
                        String::new(),
                        v["token"].as_str().unwrap_or_default().to_owned(),
                    ))
                }
                Err(e) => Err(fail(e)),
            }
        }
        Some("revoke-token") => cellpath_web::accounts::revoke_token(
            State(state.clone()),
            actor,
            axum::extract::Path(form.text("token")),
        )
        .await
        .map(|_| (String::new(), String::new()))
        .map_err(fail),
        _ => Err((
            StatusCode::BAD_REQUEST,
            tr(s.lang, "admin-unknown-action", &[]),
        )),
    };
    match result {
        Ok((link, token)) => admin_page(&state, &s, link, token, String::new()).await,
        Err((status, msg)) if status.is_client_error() && status != StatusCode::FORBIDDEN => {
            admin_page(&state, &s, String::new(), String::new(), msg).await
        }
        Err((_, msg)) => s.fail(ApiError::forbidden(msg)),
    }
}
