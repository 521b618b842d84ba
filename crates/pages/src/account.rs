//! Signing in and out, setting a password from a one-time link, the language switch, and
//! the about page. Sign-in and the password link call the JSON API's own use cases.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cellpath_domain::text::Lang;
use cellpath_web::Shared;
use cellpath_web::policy::Role;
use cellpath_web::request::RequestCtx;
use serde::Deserialize;

use crate::frame::{Fields, Frame, LANG_COOKIE, Visit, done, encode, page, page_with, safe_next};

/// `GET /`: the patient's or caregiver's case, the admin's pages, or signing in.
pub async fn home(State(state): State<Shared>, v: Visit) -> Response {
    let Some(s) = &v.session else {
        return Redirect::to("/sign-in").into_response();
    };
    if s.actor.role == Role::Admin {
        return Redirect::to("/admin").into_response();
    }
    // One case: straight to it; none or several: the list.
    match state.store.cases_for(&s.actor.id).await {
        Ok(cases) if cases.len() == 1 => {
            Redirect::to(&format!("/cases/{}", cases[0].id)).into_response()
        }
        _ => Redirect::to("/cases").into_response(),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    f: Frame,
    next: String,
    email: String,
    error: String,
}

pub async fn sign_in_page(v: Visit, Query(q): Query<NextQuery>) -> Response {
    if v.session.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    page(&SignInPage {
        f: Frame::visitor(&v, "sign-in-title"),
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: String::new(),
    })
}

/// `POST /sign-in`: the API's sign-in use case (throttling, lockout, audit), then back to
/// the page the person wanted.
pub async fn sign_in(
    State(state): State<Shared>,
    v: Visit,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    ctx: Option<Extension<Arc<RequestCtx>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = crate::frame::from_another_site(&v, &headers) {
        return refused;
    }
    let form = Fields::parse(&body);
    let next = safe_next(form.get("next"));
    let email = form.text("email");
    let json =
        serde_json::json!({"email": email, "password": form.get("password").unwrap_or_default()});
    let body = Bytes::from(json.to_string());
    match cellpath_web::sign_in(State(state), peer, ctx, headers, body).await {
        Ok(r) => {
            let mut out = Redirect::to(&next).into_response();
            if let Some(c) = r.headers().get(header::SET_COOKIE) {
                out.headers_mut().insert(header::SET_COOKIE, c.clone());
            }
            out
        }
        Err(e) => {
            let status = e.status();
            let retry = e.retry_after;
            let body = e.body(v.lang, None);
            let mut r = page_with(
                status,
                &SignInPage {
                    f: Frame::visitor(&v, "sign-in-title"),
                    next,
                    email,
                    error: body["error"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                },
            );
            if let Some(w) = retry
                && let Ok(h) = HeaderValue::from_str(&w.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, h);
            }
            r
        }
    }
}

/// `POST /sign-out`: the API's sign-out (the session ends on the server), then the sign-in
/// page.
pub async fn sign_out(
    State(state): State<Shared>,
    s: crate::frame::Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = Fields::parse(&body).check(&s) {
        return r;
    }
    match cellpath_web::sign_out(State(state), headers, s.s.actor.clone()).await {
        Ok(r) => {
            let mut out = done("/sign-in", "signed-out");
            if let Some(c) = r.headers().get(header::SET_COOKIE) {
                out.headers_mut().insert(header::SET_COOKIE, c.clone());
            }
            out
        }
        Err(e) => s.fail(e),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    f: Frame,
    token: String,
    error: String,
}

pub async fn set_password_page(v: Visit, Query(q): Query<TokenQuery>) -> Response {
    page(&SetPasswordPage {
        f: Frame::visitor(&v, "set-password-title"),
        token: q.token.unwrap_or_default(),
        error: String::new(),
    })
}

/// `POST /set-password`: the API's use case; the two entries must agree first.
pub async fn set_password(
    State(state): State<Shared>,
    v: Visit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = crate::frame::from_another_site(&v, &headers) {
        return refused;
    }
    let form = Fields::parse(&body);
    let token = form.text("token");
    let fail = |status: StatusCode, error: String| {
        page_with(
            status,
            &SetPasswordPage {
                f: Frame::visitor(&v, "set-password-title"),
                token: token.clone(),
                error,
            },
        )
    };
    let (p1, p2) = (
        form.get("password").unwrap_or_default(),
        form.get("again").unwrap_or_default(),
    );
    if p1 != p2 {
        return fail(
            StatusCode::BAD_REQUEST,
            crate::i18n::tr(v.lang, "set-password-mismatch", &[]),
        );
    }
    let json = serde_json::json!({"token": token, "password": p1, "lang": v.lang.code()});
    match cellpath_web::accounts::set_password(State(state), Bytes::from(json.to_string())).await {
        Ok(_) => done("/sign-in", "password-set"),
        Err(e) => {
            let body = e.body(v.lang, None);
            fail(
                e.status(),
                body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    }
}

/// `POST /language`: remembered on the account when signed in (audited), and in a cookie
/// for the visitor's next pages either way.
pub async fn language(
    State(state): State<Shared>,
    v: Visit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = crate::frame::from_another_site(&v, &headers) {
        return refused;
    }
    let form = Fields::parse(&body);
    let next = safe_next(form.get("next"));
    let Some(lang) = form.get("lang").and_then(Lang::parse) else {
        return crate::frame::error_page(
            v.lang,
            &v.request_id,
            &cellpath_web::ApiError::bad_request(
                cellpath_web::ErrorCode::InvalidLang,
                "en or zh-CN",
            )
            .at("lang"),
        );
    };
    if let Some(s) = &v.session {
        if let Err(e) = s.check_csrf(form.get("_csrf")) {
            return crate::frame::error_page(v.lang, &v.request_id, &e);
        }
        let saved = async {
            let mut tx = state.change(&s.actor, "account.language", None).await?;
            tx.set_lang(&s.actor.id, lang.code()).await?;
            tx.commit().await?;
            Ok::<(), cellpath_web::ApiError>(())
        }
        .await;
        if let Err(e) = saved {
            return crate::frame::error_page(v.lang, &v.request_id, &e);
        }
    }
    let mut r = Redirect::to(&next).into_response();
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
        encode(lang.code()),
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(h) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, h);
    }
    r
}

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage {
    f: Frame,
    catalogue: String,
}

pub async fn about(State(state): State<Shared>, v: Visit) -> Response {
    page(&AboutPage {
        f: Frame::visitor(&v, "about-title"),
        catalogue: state.catalogue.version().to_owned(),
    })
}
