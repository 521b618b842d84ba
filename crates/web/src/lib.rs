// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The coordination server: JSON API under `/api/v1`, cookie sessions with CSRF protection,
//! access by role and by case (every decision in `policy`), and an audit entry for every read
//! and write of a case. Handlers only orchestrate: rules live in `domain`, `eligibility` and
//! `policy`, persistence in `store`.

pub mod accounts;
pub mod alerts;
pub mod app;
pub mod auth;
pub mod care;
pub mod cases;
pub mod conn_limit;
pub mod cpu;
pub mod private_fs;
pub mod relations;
pub mod sealed;
pub mod throttle;
pub mod zipcheck;
pub use cases::rescreen_stale;
pub mod consent;
pub mod documents;
pub mod error;
pub mod lang;
pub mod mail;
pub mod mdt;
pub mod messages;
pub mod notify;
pub mod policy;
pub mod registry;
pub mod reports;
pub mod request;
pub mod search;
pub mod work;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use cellpath_eligibility::Catalogue;
use cellpath_store::Store;
use serde::Deserialize;

pub use error::{ApiError, ErrorCode};
use policy::Role;

/// A secret: usable, but never printed (`Debug` says `[redacted]`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Server configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Mark cookies `Secure` (behind TLS).
    pub secure_cookies: bool,
    /// Largest accepted JSON request body, bytes.
    pub max_body: usize,
    /// The largest FHIR import (`…/fhir-import`) read, refused with 413 before more is read.
    pub max_fhir: usize,
    /// Started with `--demo`: only then do the demo accounts (`@demo.cellpath`) work.
    pub demo: bool,
    /// How long a client may take to send a request's headers.
    pub header_timeout: std::time::Duration,
    /// How long a request (reading its body included) may take before a 408.
    pub request_timeout: std::time::Duration,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
    /// Connections one host (an IPv4 address, an IPv6 /64) may hold at once, and requests
    /// one client behind a trusted proxy may have in flight (`conn_limit`).
    pub max_connections_per_address: usize,
    /// Largest accepted document, bytes.
    pub max_document: usize,
    /// Where encrypted documents are kept.
    pub documents_dir: std::path::PathBuf,
    /// AES-256 key for documents; without it, uploads are refused.
    pub document_key: Option<Secret<[u8; 32]>>,
    /// Keep documents' encrypted bytes in the database (so every replica on PostgreSQL
    /// reads them) instead of `documents_dir`.
    pub documents_in_database: bool,
    /// The emergency number the caregiver diary names (the site's; 120 in mainland China).
    pub emergency: cellpath_care::diary::Emergency,
    /// Sign-in attempts per client address.
    pub sign_in_limiter: std::sync::Arc<RateLimiter>,
    /// Failed sign-ins per account and client address (`throttle`).
    pub sign_in_throttle: std::sync::Arc<throttle::SignInThrottle>,
    /// Reverse proxies whose `X-Forwarded-For` is believed for the client's address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// All documents of one case together, bytes.
    pub case_quota: usize,
    /// Journey plans already computed (`care::PlanCache`).
    pub plans: std::sync::Arc<care::PlanCache>,
    /// Screenings already computed for pages (`app::ScreenCache`).
    pub screens: std::sync::Arc<app::ScreenCache>,
    /// Where CPU-bound work runs (`cpu::CpuPool`): off the async workers, bounded.
    pub cpu: std::sync::Arc<cpu::CpuPool>,
    /// This server's index of the registry (`search::Search`).
    pub search: std::sync::Arc<search::Search>,
    /// How long a safety alert waits for an acknowledgement before it escalates (the
    /// centre's choice; `care::oncall::DEFAULT_ACK_WINDOW_SECS` when it sets none).
    pub alert_ack_window: std::time::Duration,
    /// Vital signs that alert on their own (NEWS2's single-parameter limits by default).
    pub vital_limits: cellpath_care::monitoring::VitalLimits,
    /// Where people reach this server, for the links in e-mails (`https://…`, no slash at
    /// the end).
    pub public_url: String,
    /// E-mail (SMTP), when configured: notifications go out by e-mail too, to the accounts
    /// that want it.
    pub mailer: Option<std::sync::Arc<dyn mail::Channel>>,
}

/// A fixed-window limit per client address (sign-in throttling). The peer address is the
/// connection's; forwarded headers are not trusted.
#[derive(Debug)]
pub struct RateLimiter {
    per_window: u32,
    window: std::time::Duration,
    seen: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_window: u32, window: std::time::Duration) -> Self {
        Self {
            per_window,
            window,
            seen: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Counts an attempt; false when the address is over its limit.
    pub fn allow(&self, ip: std::net::IpAddr) -> bool {
        let now = std::time::Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if seen.len() > 10_000 {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_window
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            max_body: 16 * 1024 * 1024,
            max_fhir: 64 * 1024 * 1024,
            demo: false,
            header_timeout: std::time::Duration::from_secs(10),
            request_timeout: std::time::Duration::from_secs(120),
            max_connections: 1024,
            max_connections_per_address: 64,
            max_document: 50 * 1024 * 1024,
            documents_dir: std::path::PathBuf::from("data/documents"),
            document_key: None,
            documents_in_database: false,
            emergency: cellpath_care::diary::Emergency::default(),
            sign_in_limiter: std::sync::Arc::new(RateLimiter::new(
                20,
                std::time::Duration::from_secs(60),
            )),
            sign_in_throttle: std::sync::Arc::default(),
            trusted_proxies: Vec::new(),
            plans: std::sync::Arc::default(),
            screens: std::sync::Arc::default(),
            cpu: std::sync::Arc::default(),
            search: std::sync::Arc::default(),
            case_quota: 1024 * 1024 * 1024,
            vital_limits: cellpath_care::monitoring::VitalLimits::default(),
            alert_ack_window: std::time::Duration::from_secs(
                cellpath_care::oncall::DEFAULT_ACK_WINDOW_SECS,
            ),
            public_url: "http://127.0.0.1:8080".into(),
            mailer: None,
        }
    }
}

/// Parses a 32-byte key written as 64 hex digits.
pub fn parse_key(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the document key must be 64 hex digits (32 bytes)".into());
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(key)
}

pub struct AppState {
    pub store: Store,
    pub catalogue: Catalogue,
    pub config: Config,
}

pub type Shared = Arc<AppState>;

/// The signed-in user of a request, with the request's id for the audit log.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: String,
    pub role: Role,
    pub specialty: Option<String>,
    pub request_id: String,
    /// The request changes something (any method but GET, HEAD, OPTIONS): a frozen case
    /// refuses it.
    pub writes: bool,
    /// Signed in with an API token rather than a session: such a caller may not mint
    /// credentials (API tokens, calendar links) or change consents ([`Actor::refuse_token`]).
    pub by_token: bool,
}

impl Actor {
    /// Refuses what only a person signed in may do: mint credentials, change consents. So
    /// a leaked token cannot outlive its revocation through what it made.
    pub fn refuse_token(&self, what: &str) -> Result<(), ApiError> {
        if self.by_token {
            return Err(ApiError::forbidden(format!(
                "an API token cannot {what}; sign in to do it"
            )));
        }
        Ok(())
    }
}

impl FromRequestParts<Shared> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let now = state.store.now();
        let ctx = parts
            .extensions
            .get::<std::sync::Arc<request::RequestCtx>>()
            .cloned();
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let by_token = bearer.is_some();
        let user = if let Some(token) = bearer {
            // API tokens: no cookie, so no CSRF; a read token may only read.
            let (user, scope) = state
                .store
                .api_token(&auth::sha256_hex(token.trim()), &now)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            if scope != "write" && !matches!(parts.method, Method::GET | Method::HEAD) {
                return Err(ApiError::forbidden("this API token is read-only"));
            }
            state
                .store
                .user(&user)
                .await?
                .ok_or_else(ApiError::unauthenticated)?
        } else {
            let cookie = parts
                .headers
                .get(axum::http::header::COOKIE)
                .and_then(|v| v.to_str().ok());
            let token = auth::session_token(cookie).ok_or_else(ApiError::unauthenticated)?;
            let (session, user) = state
                .store
                .session_user(&auth::sha256_hex(&token), &now)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            // CSRF: a cookie-authenticated request that changes something must echo the token.
            if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                let sent = parts
                    .headers
                    .get(auth::CSRF_HEADER)
                    .and_then(|v| v.to_str().ok());
                if sent != Some(session.csrf_token.as_str()) {
                    return Err(ApiError::forbidden(
                        "missing or wrong CSRF token (x-csrf-token)",
                    ));
                }
            }
            user
        };
        if demo_account_off(state, &user.email) {
            return Err(ApiError::unauthenticated());
        }
        let role = user.role.parse().map_err(ApiError::internal)?;
        if let (Some(ctx), Some(lang)) = (&ctx, lang::Lang::parse(&user.lang)) {
            let _ = ctx.account.set(lang);
        }
        Ok(Actor {
            id: user.id,
            role,
            specialty: user.specialty,
            request_id: ctx.map_or_else(|| auth::random_hex(8), |c| c.id.clone()),
            writes: !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS),
            by_token,
        })
    }
}

/// A person signed in on a page: the actor, their session's CSRF token (pages carry it in a
/// hidden form field) and their account.
#[derive(Clone, Debug)]
pub struct PageSession {
    pub actor: Actor,
    pub csrf: String,
    pub user: cellpath_store::User,
}

impl PageSession {
    /// Refuses a form whose hidden CSRF field is not this session's token.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), ApiError> {
        let ok = sent.is_some_and(|s| {
            s.len() == self.csrf.len()
                && s.bytes()
                    .zip(self.csrf.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if ok {
            Ok(())
        } else {
            Err(ApiError::forbidden("missing or wrong CSRF token (_csrf)"))
        }
    }
}

/// The session behind a page request, from the cookie alone (pages take no API tokens);
/// `None` when signed out. The page checks its form's CSRF field itself
/// ([`PageSession::check_csrf`]) before it calls a use case that changes something.
pub async fn page_session(
    state: &AppState,
    parts: &Parts,
) -> Result<Option<PageSession>, ApiError> {
    let now = state.store.now();
    let cookie = parts
        .headers
        .get(axum::http::header::COOKIE)
        .and_then(|v| v.to_str().ok());
    let Some(token) = auth::session_token(cookie) else {
        return Ok(None);
    };
    let Some((session, user)) = state
        .store
        .session_user(&auth::sha256_hex(&token), &now)
        .await?
    else {
        return Ok(None);
    };
    if demo_account_off(state, &user.email) {
        return Ok(None);
    }
    let role = user.role.parse().map_err(ApiError::internal)?;
    let ctx = parts
        .extensions
        .get::<std::sync::Arc<request::RequestCtx>>()
        .cloned();
    if let (Some(ctx), Some(lang)) = (&ctx, lang::Lang::parse(&user.lang)) {
        let _ = ctx.account.set(lang);
    }
    Ok(Some(PageSession {
        actor: Actor {
            id: user.id.clone(),
            role,
            specialty: user.specialty.clone(),
            request_id: ctx.map_or_else(|| auth::random_hex(8), |c| c.id.clone()),
            writes: !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS),
            by_token: false,
        },
        csrf: session.csrf_token,
        user,
    }))
}

/// `GET /me/events`: what happened to one's account — every sign-in, failed and throttled
/// sign-in (with when), and account change — so an owner sees an attack on their account.
async fn account_events(
    State(state): State<Shared>,
    actor: Actor,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let events = state.store.account_events(&actor.id, 200).await?;
    Ok(axum::Json(serde_json::json!({
        "events": events.iter().map(|e| serde_json::json!({
            "at": e.at, "event": e.action, "request_id": e.request_id,
        })).collect::<Vec<_>>()
    })))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Shared>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    email: String,
    password: String,
}

pub async fn sign_in(
    State(state): State<Shared>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    ctx: Option<axum::Extension<Arc<request::RequestCtx>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request_id = ctx.map_or_else(|| auth::random_hex(8), |c| c.0.id.clone());
    let ip = throttle::client_ip(
        peer.map(|axum::Extension(axum::extract::ConnectInfo(a))| a),
        headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
        &state.config.trusted_proxies,
    );
    if let Some(ip) = ip
        && !state.config.sign_in_limiter.allow(throttle::bucket(ip))
    {
        return Err(ApiError::of(ErrorCode::TooManyAttempts));
    }
    let form: SignIn = cases::parse_json(&body)?;
    let email = form.email.trim().to_lowercase();
    let user = state.store.user_by_email(&email).await?;
    let now = state.store.clock().now_secs();
    let waiting = state.config.sign_in_throttle.check(&email, ip, now);
    // The password is checked whatever happens next, so every answer costs the same.
    let ok = auth::verify_password(
        form.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    if let Err(wait) = waiting {
        if let Some(u) = &user {
            state
                .change_as(&u.id, &request_id, "session.sign_in_throttled", None)
                .await?
                .commit()
                .await?;
        }
        let mut err = ApiError::of(ErrorCode::TooManyAttempts);
        err.retry_after = Some(wait);
        return Err(err);
    }
    let demo_off = user
        .as_ref()
        .is_some_and(|u| demo_account_off(&state, &u.email));
    if ok && demo_off {
        return Err(ApiError::of(ErrorCode::InvalidCredentials));
    }
    let Some(user) = user.filter(|_| ok) else {
        state.config.sign_in_throttle.failed(&email, ip, now);
        if let Some(u) = state.store.user_by_email(&email).await? {
            state
                .change_as(&u.id, &request_id, "session.sign_in_failed", None)
                .await?
                .commit()
                .await?;
        }
        return Err(ApiError::of(ErrorCode::InvalidCredentials));
    };
    state.config.sign_in_throttle.succeeded(&email, ip);
    let token = auth::random_hex(32);
    let csrf = auth::random_hex(16);
    let expires = cellpath_store::rfc3339(state.store.clock().now_secs() + auth::SESSION_SECS);
    let mut tx = state
        .change_as(&user.id, &request_id, "session.sign_in", None)
        .await?;
    tx.create_session(&auth::sha256_hex(&token), &user.id, &csrf, &expires)
        .await?;
    tx.commit().await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&token, state.config.secure_cookies)) {
        headers.insert(axum::http::header::SET_COOKIE, v);
    }
    let body = serde_json::json!({
        "user": {"id": user.id, "role": user.role, "specialty": user.specialty},
        "csrf_token": csrf,
    });
    Ok((StatusCode::OK, headers, axum::Json(body)).into_response())
}

pub async fn sign_out(
    State(state): State<Shared>,
    headers: HeaderMap,
    actor: Actor,
) -> Result<Response, ApiError> {
    if let Some(token) = auth::session_token(
        headers
            .get(axum::http::header::COOKIE)
            .and_then(|v| v.to_str().ok()),
    ) {
        let mut tx = state.change(&actor, "session.sign_out", None).await?;
        tx.delete_session(&auth::sha256_hex(&token)).await?;
        tx.commit().await?;
    }
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie(state.config.secure_cookies)) {
        h.insert(axum::http::header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

async fn me(actor: Actor) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "id": actor.id, "role": actor.role.as_str(), "specialty": actor.specialty,
    }))
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

/// One API route: the single table from which both the router and the OpenAPI document
/// are built, so that the documentation cannot drift and the authorisation matrix test
/// reaches every route.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Needs a signed-in session.
    pub auth: bool,
}

const fn r(method: &'static str, path: &'static str, summary: &'static str, auth: bool) -> Route {
    Route {
        method,
        path,
        summary,
        auth,
    }
}

fn table() -> Vec<(Route, MethodRouter<Shared>)> {
    use axum::routing::{delete, put};
    vec![
        (
            r("GET", "/healthz", "The process is up", false),
            get(healthz),
        ),
        (
            r("GET", "/readyz", "The database is reachable", false),
            get(readyz),
        ),
        (
            r("GET", "/api/openapi.json", "This document", false),
            get(openapi_json),
        ),
        (
            r(
                "POST",
                "/api/v1/sessions",
                "Sign in (sets the session cookie, returns the CSRF token)",
                false,
            ),
            post(sign_in),
        ),
        (
            r("DELETE", "/api/v1/sessions", "Sign out", true),
            delete(sign_out),
        ),
        (r("GET", "/api/v1/me", "The signed-in user", true), get(me)),
        (
            r(
                "GET",
                "/api/v1/me/notifications",
                "Whether one's notifications also come by e-mail",
                true,
            ),
            get(accounts::get_notification_prefs),
        ),
        (
            r(
                "PUT",
                "/api/v1/me/notifications",
                "Turn one's notifications by e-mail on or off",
                true,
            ),
            put(accounts::put_notification_prefs),
        ),
        (
            r(
                "POST",
                "/api/v1/users",
                "Create an account and its one-time set-password link (admin)",
                true,
            ),
            post(accounts::create_user),
        ),
        (
            r(
                "POST",
                "/api/v1/users/{uid}/password-link",
                "A new one-time set-password link for an account: forgotten password or locked account (admin)",
                true,
            ),
            post(accounts::new_password_link),
        ),
        (
            r(
                "GET",
                "/api/v1/me/events",
                "One's account events, newest first: sign-ins, failed and throttled sign-ins, account changes",
                true,
            ),
            get(account_events),
        ),
        (
            r(
                "GET",
                "/api/v1/me/assignments",
                "A specialist's own MDT assignments: due dates, the record version assigned on, whether the record changed since, opinion given",
                true,
            ),
            get(work::my_assignments),
        ),
        (
            r(
                "POST",
                "/api/v1/relations",
                "A care relation: a patient invites (user_id), a caregiver or coordinator asks (patient_id), an admin approves a coordinator (both)",
                true,
            ),
            post(relations::create),
        ),
        (
            r("GET", "/api/v1/relations", "One's care relations", true),
            get(relations::list),
        ),
        (
            r(
                "POST",
                "/api/v1/relations/{rid}/accept",
                "The patient accepts a caregiver's or coordinator's request",
                true,
            ),
            post(relations::accept),
        ),
        (
            r(
                "DELETE",
                "/api/v1/relations/{rid}",
                "End a care relation (the patient, the other party or an admin)",
                true,
            ),
            axum::routing::delete(relations::revoke),
        ),
        (
            r(
                "POST",
                "/api/v1/password",
                "Set one's password with a one-time link",
                false,
            ),
            post(accounts::set_password),
        ),
        (
            r(
                "POST",
                "/api/v1/tokens",
                "Create a scoped API token (shown once)",
                true,
            ),
            post(accounts::create_token),
        ),
        (
            r("GET", "/api/v1/tokens", "One's API tokens", true),
            get(accounts::list_tokens),
        ),
        (
            r(
                "DELETE",
                "/api/v1/tokens/{tid}",
                "Revoke an API token",
                true,
            ),
            axum::routing::delete(accounts::revoke_token),
        ),
        (
            r(
                "GET",
                "/api/v1/consents",
                "Consent texts and one's acceptance",
                true,
            ),
            get(consent::list),
        ),
        (
            r(
                "POST",
                "/api/v1/consents",
                "Accept the current version of a consent",
                true,
            ),
            post(consent::accept),
        ),
        (
            r(
                "DELETE",
                "/api/v1/consents/{kind}",
                "Withdraw a consent",
                true,
            ),
            delete(consent::withdraw),
        ),
        (
            r("POST", "/api/v1/cases", "Open a case", true),
            post(cases::create),
        ),
        (
            r("GET", "/api/v1/cases", "The cases one may see", true),
            get(cases::list),
        ),
        (
            r(
                "GET",
                "/api/v1/work",
                "The work queue: one's cases with what needs them, safety alerts first",
                true,
            ),
            get(work::read),
        ),
        (
            r(
                "GET",
                "/api/v1/registry/studies/{nct_id}",
                "A registry study as held, with every version and what changed",
                true,
            ),
            get(registry::http::study),
        ),
        (
            r(
                "GET",
                "/api/v1/registry/search",
                "Search the registry (?q= in the query language, ?sort=relevance|updated, ?page=): hits with highlights, facets, how the query was read",
                true,
            ),
            get(search::http::search),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/studies",
                "Recruiting registry studies for the case, ranked, each with why it was suggested",
                true,
            ),
            get(search::http::for_case),
        ),
        (
            r(
                "GET",
                "/api/v1/registry/flags",
                "Programmes flagged because their registry study changed (?all=true: reviewed too)",
                true,
            ),
            get(registry::http::flags),
        ),
        (
            r(
                "POST",
                "/api/v1/registry/flags/{flag}/review",
                "Mark a flagged programme reviewed, with a note",
                true,
            ),
            post(registry::http::review),
        ),
        (
            r("GET", "/api/v1/cases/{id}", "A case, with its ETag", true),
            get(cases::read),
        ),
        (
            r(
                "PUT",
                "/api/v1/cases/{id}/record",
                "Replace the record (If-Match)",
                true,
            ),
            put(cases::update_record),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/record/versions",
                "The record's kept versions: who, when, which use case",
                true,
            ),
            get(cases::record_versions),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/record/versions/{v}",
                "One version of the record",
                true,
            ),
            get(cases::record_version),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/record/diff",
                "What changed between two record versions (?from=&to=), fact by fact",
                true,
            ),
            get(cases::record_diff),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/fhir-import",
                "Import a FHIR bundle, or one patient's Bulk Data ndjson, as the record (If-Match; ?patient= when it holds several; ?preview=true answers what it would write and writes nothing)",
                true,
            ),
            post(cases::import_fhir),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/fhir",
                "The record as an mCODE STU4 bundle (application/fhir+json), each resource with its source",
                true,
            ),
            get(cases::export_fhir),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/members",
                "Assign a coordinator or specialist, or grant a caregiver",
                true,
            ),
            post(cases::add_member),
        ),
        (
            r(
                "DELETE",
                "/api/v1/cases/{id}/members/{uid}",
                "Revoke a caregiver or end an assignment",
                true,
            ),
            axum::routing::delete(cases::remove_member),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/transitions",
                "Move the case along its lifecycle",
                true,
            ),
            post(cases::transition),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/screenings",
                "Screen the case and store the result",
                true,
            ),
            post(cases::screen),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/screenings",
                "The screening history",
                true,
            ),
            get(cases::screenings),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/audit",
                "Who accessed the case",
                true,
            ),
            get(cases::audit),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/documents",
                "Upload a PDF, image or zipped DICOM study (?name=)",
                true,
            ),
            post(documents::upload),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/documents",
                "The case's documents",
                true,
            ),
            get(documents::list),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/documents/{did}",
                "Download a document",
                true,
            ),
            get(documents::download),
        ),
        (
            r(
                "PUT",
                "/api/v1/cases/{id}/journey",
                "Set the journey plan (docs/journey.md) and get the windows",
                true,
            ),
            axum::routing::put(care::put_journey),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/journey",
                "The journey plan: windows and conflicts",
                true,
            ),
            get(care::get_journey),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/journey.ics",
                "The journey as an iCalendar file",
                true,
            ),
            get(care::journey_ics),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/calendar-tokens",
                "A secret, revocable calendar subscription URL",
                true,
            ),
            post(care::create_calendar_token),
        ),
        (
            r(
                "DELETE",
                "/api/v1/cases/{id}/calendar-tokens/{cid}",
                "Revoke a calendar subscription",
                true,
            ),
            axum::routing::delete(care::revoke_calendar_token),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/calendar-tokens",
                "The case's calendar links (all for the patient, one's own for others), with expiry",
                true,
            ),
            get(care::list_calendar_tokens),
        ),
        (
            r(
                "PUT",
                "/api/v1/cases/{id}/settings",
                "What the patient allows on the case: {\"caregivers_manage_members\": bool}",
                true,
            ),
            put(cases::put_settings),
        ),
        (
            r(
                "GET",
                "/calendar/{file}",
                "A calendar subscription (the secret token in the URL)",
                false,
            ),
            get(care::calendar_feed),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/monitoring",
                "A monitoring entry, graded on entry (treating team)",
                true,
            ),
            post(care::monitor),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/monitoring",
                "CRS and ICANS grades over time",
                true,
            ),
            get(care::monitoring),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/monitoring/{mid}/acknowledge",
                "Acknowledge a monitoring entry's alerts (treating team)",
                true,
            ),
            post(care::acknowledge),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/diary",
                "A home symptom diary entry, answered at once; a warning sign raises a safety alert for the team on call",
                true,
            ),
            post(care::diary),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/alerts",
                "The safety alerts the family's reports raised, with their acknowledgements",
                true,
            ),
            get(alerts::list_alerts),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/alerts/{aid}/acknowledge",
                "Acknowledge a safety alert, saying what was done (treating team)",
                true,
            ),
            post(alerts::acknowledge_alert),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/on-call",
                "The case's on-call rota and who is on call now",
                true,
            ),
            get(alerts::get_rota),
        ),
        (
            r(
                "PUT",
                "/api/v1/cases/{id}/on-call",
                "Set the case's on-call rota (its coordinator)",
                true,
            ),
            put(alerts::put_rota),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/supportive",
                "Ask for supportive care",
                true,
            ),
            post(care::request_support),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/supportive",
                "Supportive-care requests and decisions",
                true,
            ),
            get(care::list_support),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/supportive/{rid}/decision",
                "Approve or decline (oncology specialist)",
                true,
            ),
            post(care::decide_support),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/messages",
                "Write to the case's participants",
                true,
            ),
            post(messages::post),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/messages",
                "The case's messages",
                true,
            ),
            get(messages::list),
        ),
        (
            r(
                "GET",
                "/api/v1/notifications",
                "One's notifications, newest first",
                true,
            ),
            get(messages::notifications),
        ),
        (
            r(
                "POST",
                "/api/v1/notifications/{nid}/read",
                "Mark a notification read",
                true,
            ),
            post(messages::mark_read),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/mdt",
                "The MDT review: team, opinions, consensus versions",
                true,
            ),
            get(mdt::read),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/reports",
                "The reports of each consensus version: signed or not, superseded or current, whether the record changed since",
                true,
            ),
            get(reports::list),
        ),
        (
            r(
                "POST",
                "/api/v1/reports/verify",
                "Check a report file (the body): byte for byte the report of a signed consensus on this server, superseded or not, the record changed since or not",
                true,
            ),
            post(reports::verify_file),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/reports/{file}",
                "One report as HTML or PDF: {version}.html or {version}.pdf, ?kind=mdt|patient&lang=en|zh-CN (refused while the consensus is unsigned; every download audited)",
                true,
            ),
            get(reports::file),
        ),
        (
            r(
                "PUT",
                "/api/v1/cases/{id}/mdt/draft",
                "Save one's draft opinion (an assigned specialist)",
                true,
            ),
            put(mdt::save_draft),
        ),
        (
            r(
                "GET",
                "/api/v1/cases/{id}/mdt/draft",
                "One's own draft opinion",
                true,
            ),
            get(mdt::read_draft),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/mdt/assignments",
                "Assign a specialist with a due date",
                true,
            ),
            post(mdt::assign),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/mdt/opinions",
                "Submit an opinion",
                true,
            ),
            post(mdt::opinion),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/mdt/consensus",
                "Write (or amend) the consensus",
                true,
            ),
            post(mdt::consensus),
        ),
        (
            r(
                "POST",
                "/api/v1/cases/{id}/mdt/consensus/{version}/signatures",
                "Sign the latest consensus",
                true,
            ),
            post(mdt::sign),
        ),
    ]
}

/// Every route, for documentation and tests.
pub fn routes() -> Vec<Route> {
    table().into_iter().map(|(r, _)| r).collect()
}

/// The OpenAPI 3.1 document, built from the route table.
pub fn openapi() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for route in routes() {
        let params: Vec<serde_json::Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| serde_json::json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = serde_json::json!({
            "summary": route.summary,
            "responses": {
                "default": {"description": "JSON; errors are {\"error\": {\"code\", \"message\", \"fields\"}}"}
            },
        });
        if !params.is_empty() {
            op["parameters"] = params.into();
        }
        if route.auth {
            op["security"] = serde_json::json!([{"session": []}]);
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| serde_json::json!({}));
        entry[route.method.to_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "cellpath", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Coordination API. Decision support, not medical advice."},
        "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": auth::COOKIE}}},
        "paths": paths,
    })
}

async fn openapi_json() -> axum::Json<serde_json::Value> {
    axum::Json(openapi())
}

/// The e-mail domain of the demo accounts, which work only while the server runs `--demo`.
pub const DEMO_DOMAIN: &str = "@demo.cellpath";

/// A demo account on a server not started `--demo`: it cannot sign in or act.
fn demo_account_off(state: &AppState, email: &str) -> bool {
    !state.config.demo && email.ends_with(DEMO_DOMAIN)
}

/// The web pages served beside the API (`cellpath-pages`): their routes, and the answer to
/// an unknown address outside `/api/` (a page, not JSON).
pub struct Pages {
    pub routes: Router<Shared>,
    pub not_found: fn(&axum::http::HeaderMap) -> Response,
}

/// The application router: the API alone.
pub fn router(state: Shared) -> Router {
    router_with(state, None)
}

/// The application router with the web pages, behind the same request, security-header
/// and timeout layers as the API.
pub fn router_with(state: Shared, pages: Option<Pages>) -> Router {
    let max_body = state.config.max_body;
    let in_flight = conn_limit::PerAddress::new(state.config.max_connections_per_address);
    let proxies = Arc::new(state.config.trusted_proxies.clone());
    let mut router = Router::new();
    for (route, handler) in table() {
        // Documents and FHIR imports read their own body up to their own limit, answering
        // 413 in the API's error shape.
        let handler = if (route.path.ends_with("/documents")
            || route.path.ends_with("/fhir-import"))
            && route.method == "POST"
        {
            handler.layer(axum::extract::DefaultBodyLimit::disable())
        } else {
            handler
        };
        router = router.route(route.path, handler);
    }
    let hsts = state.config.secure_cookies;
    let request_timeout = state.config.request_timeout;
    let router = match pages {
        Some(pages) => {
            let not_found = pages.not_found;
            router
                .merge(pages.routes)
                .fallback(move |req: axum::extract::Request| async move {
                    if req.uri().path().starts_with("/api/") {
                        ApiError::not_found().into_response()
                    } else {
                        not_found(req.headers())
                    }
                })
        }
        None => router.fallback(fallback),
    };
    router
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(request::json_only))
        .layer(axum::middleware::from_fn(move |req, next| {
            conn_limit::in_flight(Arc::clone(&in_flight), Arc::clone(&proxies), req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            request::timeout(request_timeout, req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            request::security_headers(hsts, req, next)
        }))
        .layer(axum::middleware::from_fn(request::layer))
        .with_state(state)
}

/// Creates a user with an argon2id-hashed password; `by` is who did it (for the audit).
pub async fn create_user(
    state: &AppState,
    by: &str,
    email: &str,
    password: &str,
    role: Role,
    specialty: Option<&str>,
) -> Result<String, ApiError> {
    let id = format!("u-{}", auth::random_hex(8));
    let hash = auth::hash_password(password.to_owned())
        .await
        .map_err(ApiError::internal)?;
    let mut tx = state.change_as(by, "setup", "account.create", None).await?;
    tx.create_user(&id, &email.to_lowercase(), &hash, role.as_str(), specialty)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Serves on an already-bound listener until the process is stopped (Ctrl-C / SIGINT), then
/// lets open requests finish for up to 10 s.
///
/// Every connection is bounded (`docs/security.md`): headers must arrive within
/// [`Config::header_timeout`], a request (body included) must be answered within
/// [`Config::request_timeout`] (408 otherwise, in the request layer), and at most
/// [`Config::max_connections`] connections are served at once — a further one is closed at
/// once, so a flood cannot starve the server of memory or file descriptors.
pub async fn serve(listener: tokio::net::TcpListener, state: Shared) -> std::io::Result<()> {
    serve_with(listener, state, None).await
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// [`serve`], with the web pages beside the API.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: Shared,
    pages: Option<Pages>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let header_timeout = state.config.header_timeout;
    let max_connections = state.config.max_connections;
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let per_address = conn_limit::PerAddress::new(state.config.max_connections_per_address);
    // Behind a trusted proxy every connection is the proxy's: its clients are capped per
    // request instead (`conn_limit::in_flight`).
    let trusted: Vec<std::net::IpAddr> = state.config.trusted_proxies.clone();
    let app = router_with(state, pages);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Stopped by Ctrl-C (SIGINT) or by SIGTERM — how systemd and containers stop a service —
    // alike, so the shutdown checkpoint is written either way (security round 2, issue 28).
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A client that vanished between SYN and accept, or no descriptors left for
                // a moment: keep serving the others.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let host_slot = if trusted.contains(&peer.ip()) {
            None
        } else {
            match per_address.try_acquire(peer.ip()) {
                Some(s) => Some(s),
                None => {
                    tracing::warn!("connections per address reached: closing a new connection");
                    drop(stream);
                    continue;
                }
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!("connection limit reached: closing a new connection");
            drop(stream);
            continue;
        };
        let keep_alive = conn_limit::keep_alive(slots.available_permits(), max_connections);
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let app = app.clone();
                async move { tower::ServiceExt::oneshot(app, req.map(axum::body::Body::new)).await }
            },
        );
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(keep_alive)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop((slot, host_slot));
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {}
    }
    Ok(())
}
