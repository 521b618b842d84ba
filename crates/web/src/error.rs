//! One error shape for the whole API: a code from a closed set ([`ErrorCode`]), a message
//! in the reader's language (English or Simplified Chinese, from `Accept-Language` or the
//! account), an optional technical detail (where in the input, which value), the JSON
//! pointers at fault, and — for unexpected errors — the request id to quote. Causes stay
//! in the server's log, never in responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::lang::Lang;

/// Declares the closed set of error codes with their HTTP status and their messages.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident, $en:literal, $zh:literal;)+) => {
        /// Every error the API can answer with. A test checks each has both messages.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant),+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The stable code clients match on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code),+
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status),+
                }
            }

            /// The message a person reads, in their language.
            pub fn message(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((ErrorCode::$variant, Lang::En) => $en,
                      (ErrorCode::$variant, Lang::ZhCn) => $zh,)+
                }
            }
        }
    };
}

error_codes! {
    Unauthenticated = "unauthenticated", UNAUTHORIZED, "Sign in first.", "请先登录。";
    NotFound = "not_found", NOT_FOUND, "No such resource.", "找不到该内容。";
    Forbidden = "forbidden", FORBIDDEN, "You may not do this.", "您无权执行此操作。";
    ConsentRequired = "consent_required", FORBIDDEN, "The patient has not given the consent this needs.", "患者尚未给予此操作所需的同意。";
    SpecialtyRequired = "specialty_required", FORBIDDEN, "This is decided by another specialty.", "此事项须由其他专科决定。";
    InvalidBody = "invalid_body", BAD_REQUEST, "The request body is not valid.", "请求内容无效。";
    TooLarge = "too_large", PAYLOAD_TOO_LARGE, "The request is too large.", "请求内容过大。";
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT, "The request took too long.", "请求超时。";
    InvalidRecord = "invalid_record", BAD_REQUEST, "The case record is not valid.", "病例记录无效。";
    InvalidFhir = "invalid_fhir", BAD_REQUEST, "The FHIR bundle could not be read.", "无法读取该 FHIR 数据包。";
    SeveralPatients = "several_patients", BAD_REQUEST, "The record holds several patients: name the one to import (?patient=).", "该记录包含多名患者：请用 ?patient= 指明要导入哪一位。";
    InvalidDate = "invalid_date", BAD_REQUEST, "The date is not valid (YYYY-MM-DD).", "日期无效（格式为 YYYY-MM-DD）。";
    InvalidLang = "invalid_lang", BAD_REQUEST, "The language must be en or zh-CN.", "语言必须为 en 或 zh-CN。";
    InvalidOwner = "invalid_owner", BAD_REQUEST, "The case owner is not valid.", "病例所有者无效。";
    MissingOwner = "missing_owner", BAD_REQUEST, "Name the patient who owns the case.", "请指明病例所属的患者。";
    UnknownUser = "unknown_user", BAD_REQUEST, "No such user.", "没有该用户。";
    RoleMismatch = "role_mismatch", BAD_REQUEST, "That user has another role.", "该用户的角色不符。";
    InvalidRole = "invalid_role", BAD_REQUEST, "The role is not valid.", "角色无效。";
    InvalidAccess = "invalid_access", BAD_REQUEST, "The access level is not valid.", "访问级别无效。";
    InvalidSpecialty = "invalid_specialty", BAD_REQUEST, "The specialty is not valid.", "专科无效。";
    InvalidQuery = "invalid_query", BAD_REQUEST, "The query is not valid.", "查询参数无效。";
    InvalidState = "invalid_state", BAD_REQUEST, "No such case state.", "没有该病例状态。";
    IllegalTransition = "illegal_transition", CONFLICT, "The case cannot move to that state from where it is.", "病例无法从当前状态转到该状态。";
    IfMatchRequired = "if_match_required", PRECONDITION_REQUIRED, "Send If-Match with the version you read.", "请在 If-Match 中发送您读取的版本。";
    InvalidIfMatch = "invalid_if_match", BAD_REQUEST, "If-Match must be a version like \"v3\", or *.", "If-Match 必须是类似 \"v3\" 的版本，或 *。";
    VersionConflict = "version_conflict", CONFLICT, "The case changed since you read it.", "自您读取后病例已被修改。";
    Duplicate = "duplicate", CONFLICT, "This already exists.", "该内容已存在。";
    UnknownDocument = "unknown_document", BAD_REQUEST, "No such document on this case.", "此病例没有该文件。";
    UnknownVersion = "unknown_version", NOT_FOUND, "No such version of the record.", "没有该版本的记录。";
    UnknownProgramme = "unknown_programme", BAD_REQUEST, "No such programme.", "没有该项目。";
    UnknownConsent = "unknown_consent", BAD_REQUEST, "No such consent.", "没有该同意书。";
    StaleConsentVersion = "stale_consent_version", BAD_REQUEST, "That is not the current version of the consent.", "这不是同意书的当前版本。";
    InvalidPlan = "invalid_plan", BAD_REQUEST, "The journey plan is not valid.", "治疗行程计划无效。";
    PlanTooLarge = "plan_too_large", UNPROCESSABLE_ENTITY, "The journey plan is over its limits (docs/security.md).", "治疗行程计划超出限制（见 docs/security.md）。";
    InvalidMessage = "invalid_message", BAD_REQUEST, "The message is empty or too long.", "消息为空或过长。";
    EmptyDetails = "empty_details", BAD_REQUEST, "Say what is asked for.", "请说明所需内容。";
    EmptyAnswer = "empty_answer", BAD_REQUEST, "Every question needs an answer.", "每个问题都需要回答。";
    EmptyRationale = "empty_rationale", BAD_REQUEST, "Every answer needs its reasons.", "每个回答都需要说明理由。";
    NotASpecialist = "not_a_specialist", BAD_REQUEST, "That user is not a specialist.", "该用户不是专科医生。";
    UnknownSpecialist = "unknown_specialist", BAD_REQUEST, "That specialist is not on the MDT of this case.", "该专科医生不在此病例的多学科团队中。";
    Superseded = "superseded", CONFLICT, "A newer version exists: sign the latest.", "已有更新版本：请签署最新版本。";
    AlreadySigned = "already_signed", CONFLICT, "Already signed.", "已签署。";
    ConsensusUnsigned = "consensus_unsigned", CONFLICT, "The consensus is not yet signed by every assigned specialist: no report is made from it.", "共识尚未由所有指派的专科医生签署，因此不能据此生成报告。";
    AlreadyAcknowledged = "already_acknowledged", CONFLICT, "These alerts were already acknowledged.", "这些警报已被确认。";
    InvalidTemperature = "invalid_temperature", BAD_REQUEST, "The temperature could not be read as a body temperature.", "无法将该数值读作体温。";
    IdentityMismatch = "identity_mismatch", CONFLICT, "The bundle's patient is not the case's patient: import only with a reason.", "数据包中的患者与本病例的患者不符：如需导入，须说明理由。";
    InvalidRota = "invalid_rota", BAD_REQUEST, "The on-call rota is not valid.", "值班表无效。";
    Held = "held", CONFLICT, "Held: the CRS/ICANS risk window is still open.", "暂缓：细胞因子释放综合征/神经毒性风险期尚未结束。";
    AlreadyDecided = "already_decided", CONFLICT, "This request was already decided.", "该申请已有决定。";
    AlreadyReviewed = "already_reviewed", CONFLICT, "This change was already reviewed.", "该变更已复核。";
    InvalidSearch = "invalid_search", BAD_REQUEST, "The search could not be read (the detail says where).", "无法解析该检索式（详见说明）。";
    DocumentsDisabled = "documents_disabled", SERVICE_UNAVAILABLE, "Documents are switched off on this server.", "此服务器未启用文件功能。";
    UnsupportedType = "unsupported_type", UNSUPPORTED_MEDIA_TYPE, "Only PDF, images and zipped DICOM studies are accepted.", "仅接受 PDF、图片和压缩的 DICOM 影像。";
    Mislabelled = "mislabelled", UNSUPPORTED_MEDIA_TYPE, "The file's content does not match its type.", "文件内容与其类型不符。";
    InvalidName = "invalid_name", BAD_REQUEST, "The file name is not valid.", "文件名无效。";
    InvalidEmail = "invalid_email", BAD_REQUEST, "The e-mail address is not valid.", "电子邮件地址无效。";
    WeakPassword = "weak_password", BAD_REQUEST, "The password is too short (at least 12 characters).", "密码太短（至少 12 个字符）。";
    LinkInvalid = "link_invalid", GONE, "This link has expired or was already used.", "此链接已过期或已被使用。";
    InvalidScope = "invalid_scope", BAD_REQUEST, "The scope must be read or write.", "权限范围必须为 read 或 write。";
    InvalidExpiry = "invalid_expiry", BAD_REQUEST, "The expiry is not valid.", "有效期无效。";
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED, "Wrong e-mail or password.", "电子邮件或密码错误。";
    TooManyAttempts = "too_many_attempts", TOO_MANY_REQUESTS, "Too many sign-in attempts: wait a little (Retry-After says how long).", "登录尝试次数过多：请稍候再试（Retry-After 标明需等待的时间）。";
    NotJson = "not_json", UNSUPPORTED_MEDIA_TYPE, "Send JSON (Content-Type: application/json).", "请以 JSON 格式发送（Content-Type: application/json）。";
    Busy = "busy", SERVICE_UNAVAILABLE, "The server is busy: try again in a moment (Retry-After says when).", "服务器繁忙：请稍后再试（Retry-After 标明何时重试）。";
    Unavailable = "unavailable", SERVICE_UNAVAILABLE, "The service is not available right now.", "服务暂时不可用。";
    Internal = "internal", INTERNAL_SERVER_ERROR, "Something went wrong on our side.", "我们这边出了问题。";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    /// Technical detail about this occurrence (which field, which value), if any.
    pub detail: Option<String>,
    /// JSON pointers at fault.
    pub fields: Vec<String>,
    /// Seconds to wait before trying again (a `Retry-After` header).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// The server is at a limit: 503 with `Retry-After`, never a stalled request.
    pub fn busy(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::of(ErrorCode::Busy)
        }
    }
    pub fn of(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            fields: Vec::new(),
            retry_after: None,
        }
    }
    /// An error with the detail of this occurrence.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            detail: Some(detail.into()),
            ..Self::of(code)
        }
    }
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.fields.push(pointer.into());
        self
    }
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
    pub fn unauthenticated() -> Self {
        Self::of(ErrorCode::Unauthenticated)
    }
    /// Used for other people's cases too, so that ids do not reveal what exists.
    pub fn not_found() -> Self {
        Self::of(ErrorCode::NotFound)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }
    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(code, detail)
    }
    /// An unexpected error: its cause is logged (with the request id, never personal data)
    /// and the client gets a 500 with the request id to quote.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::of(ErrorCode::Internal)
    }

    /// The JSON body in a language. In English the message is the occurrence's own text
    /// when there is one (as the API always answered); in Chinese it is the code's Chinese
    /// message, and the technical detail stays in `detail`.
    pub fn body(&self, lang: Lang, request_id: Option<&str>) -> serde_json::Value {
        #[derive(Serialize)]
        struct Out<'a> {
            code: &'static str,
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            detail: Option<&'a str>,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            fields: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            request_id: Option<&'a str>,
        }
        let out = Out {
            code: self.code.as_str(),
            message: match (lang, self.detail.as_deref()) {
                (Lang::En, Some(d)) => d,
                _ => self.code.message(lang),
            },
            detail: self.detail.as_deref(),
            fields: &self.fields,
            request_id,
        };
        serde_json::json!({ "error": out })
    }
}

impl From<cellpath_store::StoreError> for ApiError {
    fn from(e: cellpath_store::StoreError) -> Self {
        use cellpath_store::StoreError::*;
        match e {
            NotFound => Self::not_found(),
            Conflict { current } => Self::new(
                ErrorCode::VersionConflict,
                format!("the current version is {current}"),
            ),
            Duplicate => Self::of(ErrorCode::Duplicate),
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    /// Rendered in English here; the request layer (`request.rs`) re-renders it in the
    /// reader's language with the request id.
    fn into_response(self) -> Response {
        let body = self.body(Lang::En, None);
        let mut r = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r.extensions_mut().insert(self);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_has_both_messages() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{} twice", c.as_str());
            assert!(!c.message(Lang::En).is_empty());
            let zh = c.message(Lang::ZhCn);
            assert!(
                zh.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
                "{}: {zh}",
                c.as_str()
            );
        }
    }
}
