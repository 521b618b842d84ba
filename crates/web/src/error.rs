//! One error shape for the whole API: a stable code (which the UI translates), a message,
//! and the JSON pointers at fault. Internals stay in the server's log, never in responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.fields.push(pointer.into());
        self
    }
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
    }
    /// Used for other people's cases too, so that ids do not reveal what exists.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side",
        )
    }
}

impl From<cellpath_store::StoreError> for ApiError {
    fn from(e: cellpath_store::StoreError) -> Self {
        use cellpath_store::StoreError::*;
        match e {
            NotFound => Self::not_found(),
            Conflict { current } => Self::new(
                StatusCode::CONFLICT,
                "version_conflict",
                format!("the case changed since you read it; the current version is {current}"),
            ),
            Duplicate => Self::new(StatusCode::CONFLICT, "duplicate", "already exists"),
            other => {
                // The cause goes to the log (no personal data in it), not to the client.
                eprintln!("store error: {other}");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        (status, Json(serde_json::json!({ "error": self }))).into_response()
    }
}
