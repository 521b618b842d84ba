//! What every page shares: who is visiting and in which language, the frame around the
//! content (navigation, language switch, sign-out, the not-medical-advice notice), form
//! fields with their CSRF check, error pages, and the static files.

use std::sync::Arc;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use cellpath_domain::text::Lang;
use cellpath_web::policy::Role;
use cellpath_web::request::RequestCtx;
use cellpath_web::{ApiError, PageSession, Shared};

use crate::i18n::{self, tr};

/// The cookie that keeps a signed-out visitor's language choice.
pub const LANG_COOKIE: &str = "cellpath_lang";

/// A visit to a page: the session if signed in, the language to answer in, and the address
/// asked for (to come back to after signing in or switching language).
#[derive(Clone, Debug)]
pub struct Visit {
    pub session: Option<PageSession>,
    pub lang: Lang,
    pub path: String,
    pub request_id: String,
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The language of a visitor who is not signed in: their earlier choice, else what the
/// browser asks for, else English.
pub fn visitor_lang(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(cellpath_web::lang::from_accept_language)
        })
        .unwrap_or_default()
}

impl FromRequestParts<Shared> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let request_id = parts
            .extensions
            .get::<Arc<RequestCtx>>()
            .map_or_else(String::new, |c| c.id.clone());
        let session = match cellpath_web::page_session(state, parts).await {
            Ok(s) => s,
            Err(e) => {
                let lang = visitor_lang(&parts.headers);
                return Err(error_page(lang, &request_id, &e));
            }
        };
        // The account's language wins: it is what the person chose on the switch.
        let lang = session
            .as_ref()
            .and_then(|s| Lang::parse(&s.user.lang))
            .unwrap_or_else(|| visitor_lang(&parts.headers));
        Ok(Self {
            session,
            lang,
            path,
            request_id,
        })
    }
}

/// A visit by someone signed in; a signed-out visit is sent to sign in and back.
#[derive(Clone, Debug)]
pub struct Signed {
    pub s: PageSession,
    pub lang: Lang,
    pub path: String,
    pub request_id: String,
}

impl FromRequestParts<Shared> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let v = Visit::from_request_parts(parts, state).await?;
        match v.session {
            Some(s) => Ok(Self {
                s,
                lang: v.lang,
                path: v.path,
                request_id: v.request_id,
            }),
            None => {
                // Back to the page after signing in; a form's address is not a page to
                // come back to, so a signed-out POST goes back to the start.
                let next = if parts.method == axum::http::Method::GET {
                    v.path
                } else {
                    "/".to_owned()
                };
                Err(Redirect::to(&format!("/sign-in?next={}", encode(&next))).into_response())
            }
        }
    }
}

impl Signed {
    pub fn actor(&self) -> &cellpath_web::Actor {
        &self.s.actor
    }

    /// The frame of a page with this title (a key).
    pub fn frame(&self, title_key: &str, nav: Vec<Nav>) -> Frame {
        let role = self.s.actor.role;
        // The team's case pages are a workspace: the case's sections as tabs under the
        // page's heading, and their own navigation (queue, assignments) in the header.
        let (nav, tabs) = if crate::work::works_on_cases(role)
            && nav.first().is_some_and(|n| n.href.starts_with("/cases/"))
        {
            (crate::patient::home_nav(self.lang, role, ""), nav)
        } else {
            (nav, Vec::new())
        };
        Frame {
            tabs,
            lang: self.lang,
            csrf: self.s.csrf.clone(),
            who: Some(Who {
                name: self
                    .s
                    .user
                    .display_name
                    .clone()
                    .unwrap_or_else(|| self.s.user.email.clone()),
                role: self.s.actor.role,
            }),
            path: self.path.clone(),
            title: tr(self.lang, title_key, &[]),
            nav,
            flash: flash_of(&self.path, self.lang),
            pinned: None,
        }
    }

    /// An error as a page, in the reader's language.
    pub fn fail(&self, e: ApiError) -> Response {
        error_page(self.lang, &self.request_id, &e)
    }

    /// An error's message in the reader's language (for a form sent back with it).
    pub fn message(&self, e: &ApiError) -> String {
        e.body(self.lang, None)["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The actor as it is when it changes something (a form was sent).
    pub fn writer(&self) -> cellpath_web::Actor {
        cellpath_web::Actor {
            writes: true,
            ..self.s.actor.clone()
        }
    }

    /// Whether the visitor may change this case in this way (a form worth offering): the
    /// door's own answer, asked as a change.
    pub async fn may(
        &self,
        state: &Shared,
        case_id: &str,
        action: cellpath_web::policy::Action,
    ) -> bool {
        state
            .authorise(&self.writer(), case_id, action)
            .await
            .is_ok()
    }
}

/// A page sent back with a form's error answers 400; without, 200.
pub fn status_for(error: &str) -> StatusCode {
    if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// Percent-encodes a value for a query string.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after signing in or switching language: only a path of this site. Browsers
/// drop tabs and line breaks inside addresses and read `\\` as `/`, so a path holding any of
/// them, or starting `//`, is refused.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A form sent from another site (the browser says so in `Sec-Fetch-Site`). Forms that work
/// without a session — signing in, setting a password, the language — have no CSRF token to
/// check, so another site must not be able to send them (a login CSRF would sign a person
/// into someone else's account).
pub fn from_another_site(v: &Visit, headers: &HeaderMap) -> Option<Response> {
    let cross = headers
        .get("sec-fetch-site")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case("cross-site"));
    cross.then(|| {
        error_page(
            v.lang,
            &v.request_id,
            &ApiError::forbidden("a form from another site"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_path_of_this_site_only() {
        assert_eq!(safe_next(Some("/cases/c-1?x=1")), "/cases/c-1?x=1");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

/// The person signed in, as the frame shows them.
#[derive(Clone, Debug)]
pub struct Who {
    pub name: String,
    pub role: Role,
}

/// One link of the navigation.
#[derive(Clone, Debug)]
pub struct Nav {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// The frame around every page's content.
#[derive(Clone, Debug)]
pub struct Frame {
    pub lang: Lang,
    /// The session's CSRF token, put in every form (empty when signed out).
    pub csrf: String,
    pub who: Option<Who>,
    pub path: String,
    pub title: String,
    pub nav: Vec<Nav>,
    /// The case workspace's tabs (the team's case pages).
    pub tabs: Vec<Nav>,
    /// A confirmation after a form was sent (`?done=…`), in the reader's language.
    pub flash: Option<String>,
    /// The pinned "Report a warning sign" button's address, on a patient's and a
    /// caregiver's pages while the case is in its CRS/ICANS risk window.
    pub pinned: Option<String>,
}

impl Frame {
    /// A frame for someone not signed in.
    pub fn visitor(v: &Visit, title_key: &str) -> Self {
        Self {
            lang: v.lang,
            csrf: v
                .session
                .as_ref()
                .map(|s| s.csrf.clone())
                .unwrap_or_default(),
            who: v.session.as_ref().map(|s| Who {
                name: s
                    .user
                    .display_name
                    .clone()
                    .unwrap_or_else(|| s.user.email.clone()),
                role: s.actor.role,
            }),
            path: v.path.clone(),
            title: tr(v.lang, title_key, &[]),
            nav: Vec::new(),
            tabs: Vec::new(),
            flash: flash_of(&v.path, v.lang),
            pinned: None,
        }
    }

    /// The text of a key in the page's language.
    pub fn t(&self, key: &str) -> String {
        tr(self.lang, key, &[])
    }

    /// The text of a key with one argument.
    pub fn ta(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        tr(self.lang, key, &[(name, &value.to_string())])
    }

    pub fn html_lang(&self) -> &'static str {
        i18n::html_lang(self.lang)
    }

    pub fn zh(&self) -> bool {
        self.lang == Lang::ZhCn
    }

    pub fn role_label(&self, role: &Role) -> String {
        self.t(&format!("role-{}", role.as_str()))
    }

    pub fn asset(&self, name: &str) -> String {
        crate::assets::href(name)
    }
}

/// A confirmation named by `?done=KEY` on a page's address (after a form redirected there);
/// only keys of the `done-` family are shown, so an address cannot put words on a page.
fn flash_of(path: &str, lang: Lang) -> Option<String> {
    let query = path.split_once('?')?.1;
    let key = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("done="))?
        .to_owned();
    let key = format!("done-{key}");
    i18n::has(&key).then(|| tr(lang, &key, &[]))
}

/// Renders a template as a page.
pub fn page(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// Renders a template with a status (a form sent back with its errors).
pub fn page_with(status: StatusCode, t: &impl Template) -> Response {
    let mut r = page(t);
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// Back to a page after a form, with a confirmation (`done-KEY`).
pub fn done(to: &str, key: &str) -> Response {
    // The query before a fragment (`/x#alert-1` → `/x?done=…#alert-1`).
    let (path, fragment) = match to.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (to, String::new()),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}done={key}{fragment}")).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    f: Frame,
    status: u16,
    message: String,
    request_id: String,
}

/// An error as a page: the status, the message in the reader's language, and the request id
/// to quote when the fault is the server's.
pub fn error_page(lang: Lang, request_id: &str, e: &ApiError) -> Response {
    let body = e.body(lang, Some(request_id));
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let status = e.status();
    let internal = status.is_server_error();
    let f = Frame {
        lang,
        csrf: String::new(),
        who: None,
        path: "/".to_owned(),
        title: tr(lang, &format!("error-{}", status_family(status)), &[]),
        nav: Vec::new(),
        tabs: Vec::new(),
        flash: None,
        pinned: None,
    };
    let mut r = page_with(
        status,
        &ErrorPage {
            f,
            status: status.as_u16(),
            message,
            request_id: if internal {
                request_id.to_owned()
            } else {
                String::new()
            },
        },
    );
    if let Some(wait) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&wait.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn status_family(s: StatusCode) -> &'static str {
    match s.as_u16() {
        401 => "signin",
        403 => "forbidden",
        404 => "not-found",
        409 => "conflict",
        413 => "too-large",
        429 => "busy",
        400..=499 => "input",
        _ => "server",
    }
}

/// The page for an unknown address.
pub fn not_found(headers: &HeaderMap) -> Response {
    error_page(visitor_lang(headers), "", &ApiError::not_found())
}

/// A form's fields, from an `application/x-www-form-urlencoded` body.
#[derive(Clone, Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's text, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    /// Every (name, value) in the order sent.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Refuses the form unless it carries the session's CSRF token.
    pub fn check(&self, s: &Signed) -> Result<(), Response> {
        s.s.check_csrf(self.get("_csrf")).map_err(|e| s.fail(e))
    }
}

/// The response body of a use case called through its JSON handler, as JSON.
pub async fn json_of(r: Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

/// A small multipart form read into memory: its text fields and its one file.
#[derive(Debug, Default)]
pub struct Upload {
    pub texts: Vec<(String, String)>,
    /// (file name, content type, bytes) of the file field, when one was sent.
    pub file: Option<(String, Option<String>, Vec<u8>)>,
}

impl Upload {
    pub fn text(&self, name: &str) -> String {
        self.texts
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }
}

/// Why a form could not be read (its page says so in the reader's language).
#[derive(Debug, PartialEq, Eq)]
pub enum UploadProblem {
    Broken,
    TooLarge,
}

/// The longest text part of a multipart form (a CSRF token, a patient id, a mode): a
/// 1 GiB `_csrf` part raised the server's memory by 1.2 GB (security round 2, issue 28).
pub const MAX_TEXT_PART: usize = 4096;
/// The most text parts one multipart form may carry.
pub const MAX_TEXT_PARTS: usize = 32;

/// A text part read up to [`MAX_TEXT_PART`] bytes; `None` past it (what came is dropped,
/// the rest is never read) or when it is not UTF-8.
pub async fn text_part(field: &mut axum::extract::multipart::Field<'_>) -> Option<String> {
    let mut bytes = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(c)) if bytes.len() + c.len() > MAX_TEXT_PART => return None,
            Ok(Some(c)) => bytes.extend_from_slice(&c),
            Ok(None) => break,
            Err(_) => return None,
        }
    }
    String::from_utf8(bytes).ok()
}

/// Reads a multipart form whose CSRF token comes first (a form without it, or with another,
/// is refused as every form is), with one file field of at most `max` bytes. `Err(Response)`
/// is the refusal; `Ok(Err(problem))` a form the page answers with its error.
pub async fn read_upload(
    s: &Signed,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
    file_field: &str,
    max: usize,
) -> Result<Result<Upload, UploadProblem>, Response> {
    let Ok(mut form) = form else {
        return Err(s.fail(ApiError::bad_request(
            cellpath_web::ErrorCode::InvalidBody,
            "send the file as a multipart form",
        )));
    };
    let refused = |why: &str| s.fail(ApiError::new(cellpath_web::ErrorCode::Forbidden, why));
    let mut checked = false;
    let mut upload = Upload::default();
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Ok(Err(UploadProblem::Broken)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "_csrf" {
            let Some(sent) = text_part(&mut field).await else {
                return Err(refused("the CSRF token is not one"));
            };
            s.s.check_csrf(Some(&sent)).map_err(|e| s.fail(e))?;
            checked = true;
        } else if !checked {
            return Err(refused("the form's CSRF token comes first"));
        } else if name == file_field {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field.content_type().map(str::to_owned);
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(c)) if bytes.len() + c.len() > max => {
                        return Ok(Err(UploadProblem::TooLarge));
                    }
                    Ok(Some(c)) => bytes.extend_from_slice(&c),
                    Ok(None) => break,
                    Err(_) => return Ok(Err(UploadProblem::Broken)),
                }
            }
            upload.file = Some((file_name, content_type, bytes));
        } else {
            if upload.texts.len() >= MAX_TEXT_PARTS {
                return Ok(Err(UploadProblem::Broken));
            }
            let Some(value) = text_part(&mut field).await else {
                return Ok(Err(UploadProblem::Broken));
            };
            upload.texts.push((name, value));
        }
    }
    if !checked {
        return Err(refused("no CSRF token"));
    }
    Ok(Ok(upload))
}
