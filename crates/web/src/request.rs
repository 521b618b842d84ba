//! The request layer: every request gets an id, a tracing span carrying it, a one-line
//! access log (method, route template, status, time — never the path's values, bodies or
//! personal data), and errors rendered in the reader's language with the id of the request
//! on unexpected failures.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::ApiError;
use crate::lang::{Lang, from_accept_language};

/// What the layer knows of a request, shared with the handlers through its extensions.
#[derive(Debug)]
pub struct RequestCtx {
    pub id: String,
    /// From `Accept-Language`, when it names a language we speak.
    pub accept: Option<Lang>,
    /// The signed-in account's language, set by the `Actor` extractor.
    pub account: OnceLock<Lang>,
}

impl RequestCtx {
    /// The language to answer in: what the request asks for, else the account's, else
    /// English.
    pub fn lang(&self) -> Lang {
        self.accept
            .or_else(|| self.account.get().copied())
            .unwrap_or_default()
    }
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let accept = req
        .headers()
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(from_accept_language);
    let ctx = Arc::new(RequestCtx {
        id: crate::auth::random_hex(8),
        accept,
        account: OnceLock::new(),
    });
    req.extensions_mut().insert(ctx.clone());
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!("request", id = %ctx.id);
    let mut response = next.run(req).instrument(span.clone()).await;
    if let Some(err) = response.extensions_mut().remove::<ApiError>() {
        let internal = err.code == crate::error::ErrorCode::Internal;
        let body = err.body(ctx.lang(), internal.then_some(ctx.id.as_str()));
        let mut again = (err.status(), axum::Json(body)).into_response();
        for (name, value) in response.headers() {
            if name != axum::http::header::CONTENT_LENGTH
                && name != axum::http::header::CONTENT_TYPE
            {
                again.headers_mut().insert(name.clone(), value.clone());
            }
        }
        response = again;
    }
    if let Ok(v) = axum::http::HeaderValue::from_str(&ctx.id) {
        response.headers_mut().insert("x-request-id", v);
    }
    span.in_scope(|| {
        tracing::info!(
            target: "cellpath::access",
            method = %method,
            route = %route,
            status = response.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "access"
        );
    });
    response
}

/// Headers every answer carries (`docs/security.md`): no inline script or framing, no
/// sniffing, no referrer, nothing personal kept in caches, HSTS behind TLS. A 413 from a body
/// limit becomes the API's error shape.
pub async fn security_headers(hsts: bool, req: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, StatusCode, header};
    let mut response = next.run(req).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        response = ApiError::new(
            crate::error::ErrorCode::TooLarge,
            "the request body is over the limit",
        )
        .into_response();
    }
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    // A document that set a stricter policy of its own (a report) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            h,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        );
    }
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    // Everything the server answers is personal or about a person's care, but for the
    // health checks; an answer that chose its own caching keeps it.
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if hsts {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// A request (reading its body included) that takes longer than `limit` is answered 408, so
/// a body that trickles in cannot hold a connection and a worker for ever.
pub async fn timeout(limit: std::time::Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            crate::error::ErrorCode::RequestTimeout,
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

/// The API reads JSON (or FHIR, or a document's own bytes): a write sent as one of the
/// content types a browser may send across sites without asking first — a plain-text
/// "form", an urlencoded or a multipart form — is refused before it is read, and signing in
/// is refused from another site altogether. Without this, a page elsewhere could sign a
/// visitor's browser into an account of the attacker's choosing through
/// `POST /api/v1/sessions` (login CSRF; security round 2, issue 28).
pub async fn json_only(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if !writes || !path.starts_with("/api/") {
        return next.run(req).await;
    }
    let simple = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|t| {
            matches!(
                t.as_str(),
                "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
            )
        });
    if simple {
        return crate::ApiError::new(
            crate::error::ErrorCode::NotJson,
            "send JSON with Content-Type: application/json",
        )
        .into_response();
    }
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site && path == "/api/v1/sessions" {
        return crate::ApiError::forbidden("signing in from another site is refused")
            .into_response();
    }
    next.run(req).await
}
