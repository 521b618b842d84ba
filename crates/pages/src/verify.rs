//! Checking a report file: upload it and see whether it is, byte for byte, the report of a
//! signed consensus on this server — and whether it was superseded and the record changed
//! since. The API's use case (`POST /api/v1/reports/verify`).

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use cellpath_web::Shared;
use cellpath_web::reports::Verified;

use crate::frame::{Frame, Signed, UploadProblem, page_with};
use crate::i18n::tr;
use crate::patient::home_nav;

/// The largest file checked (a report is tens of kilobytes).
const MAX_BYTES: usize = 4 << 20;

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    f: Frame,
    /// (class, headline, details)
    result: Option<(&'static str, String, Vec<String>)>,
    error: String,
}

fn render(
    s: &Signed,
    result: Option<(&'static str, String, Vec<String>)>,
    error: String,
    status: StatusCode,
) -> Response {
    let f = s.frame("ver-title", home_nav(s.lang, s.actor().role, ""));
    page_with(status, &VerifyPage { f, result, error })
}

/// `GET /verify`: the form.
pub async fn verify(s: Signed) -> Response {
    render(&s, None, String::new(), StatusCode::OK)
}

/// `POST /verify` (multipart): the check.
pub async fn verify_post(
    State(state): State<Shared>,
    s: Signed,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let lang = s.lang;
    let file = match crate::frame::read_upload(&s, form, "report", MAX_BYTES).await {
        Err(refusal) => return refusal,
        Ok(Err(UploadProblem::TooLarge)) => {
            return render(
                &s,
                None,
                tr(lang, "ver-too-large", &[]),
                StatusCode::PAYLOAD_TOO_LARGE,
            );
        }
        Ok(Err(UploadProblem::Broken)) => {
            return render(
                &s,
                None,
                tr(lang, "upload-broken", &[]),
                StatusCode::BAD_REQUEST,
            );
        }
        Ok(Ok(u)) => u.file.map(|(name, _, bytes)| (name, bytes)),
    };
    let Some((name, bytes)) = file.filter(|f| !f.1.is_empty()) else {
        return render(
            &s,
            None,
            tr(lang, "ver-no-file", &[]),
            StatusCode::BAD_REQUEST,
        );
    };
    let result = match cellpath_web::reports::verify(&state, Some(s.actor()), &bytes).await {
        Ok(v) => v,
        Err(e) if e.status() == StatusCode::NOT_FOUND => {
            // A report of a case one cannot open: said as not checkable here, nothing more.
            return render(
                &s,
                Some((
                    "not-met",
                    tr(lang, "ver-unknown", &[("file", &name)]),
                    Vec::new(),
                )),
                String::new(),
                StatusCode::OK,
            );
        }
        Err(e) => return s.fail(e),
    };
    let shown = match result {
        Verified::Matches {
            case_id,
            version,
            kind,
            code,
            superseded,
            record_changed_since,
            ..
        } => {
            let mut details = vec![
                tr(
                    lang,
                    if kind == "mdt" {
                        "ver-kind-mdt"
                    } else {
                        "ver-kind-patient"
                    },
                    &[],
                ),
                tr(
                    lang,
                    "ver-case",
                    &[
                        ("case", &case_id),
                        ("version", &version.to_string()),
                        ("code", &code),
                    ],
                ),
            ];
            details.push(tr(
                lang,
                if superseded {
                    "ver-superseded"
                } else {
                    "ver-current"
                },
                &[],
            ));
            details.push(tr(
                lang,
                if record_changed_since {
                    "ver-record-changed"
                } else {
                    "ver-record-same"
                },
                &[],
            ));
            (
                if superseded || record_changed_since {
                    "unknown"
                } else {
                    "met"
                },
                tr(lang, "ver-matches", &[("file", &name)]),
                details,
            )
        }
        Verified::Altered { case_id, version } => (
            "not-met",
            tr(lang, "ver-altered", &[("file", &name)]),
            vec![tr(
                lang,
                "ver-claims",
                &[("case", &case_id), ("version", &version.to_string())],
            )],
        ),
        Verified::NotAReport => (
            "not-met",
            tr(lang, "ver-not-report", &[("file", &name)]),
            Vec::new(),
        ),
    };
    render(&s, Some(shown), String::new(), StatusCode::OK)
}
