//! The reports of a case: the MDT second-opinion report and the patient's summary, one per
//! signed consensus version, in English or Chinese — built from the consensus, the record
//! version it was made on and that version's screening (`cellpath-report`). Access as for
//! the case (the patient and the caregiver read both kinds); every download audited; a
//! consensus not yet signed by every assigned specialist makes no report.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cellpath_domain::{Case, Date, Lang};
use cellpath_report::{ConsensusIn, Kind, PlanRow, Report};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::mdt::{Consensus, Recommendation};
use crate::policy::Action;
use crate::{Actor, ApiError, ErrorCode, Shared};

fn recommendation_words(r: Recommendation, lang: Lang) -> String {
    let zh = lang == Lang::ZhCn;
    match r {
        Recommendation::ProceedToCarTEvaluation if zh => "进入 CAR-T 评估",
        Recommendation::ProceedToCarTEvaluation => "Proceed to CAR-T evaluation",
        Recommendation::ConsiderAnAlternative if zh => "考虑其他治疗",
        Recommendation::ConsiderAnAlternative => "Consider an alternative",
        Recommendation::NotSuitable if zh => "不适合",
        Recommendation::NotSuitable => "Not suitable",
        Recommendation::NeedMoreInformation if zh => "需要更多信息",
        Recommendation::NeedMoreInformation => "More information needed",
    }
    .to_owned()
}

/// A version of the consensus as the list of reports shows it.
struct Version {
    version: i64,
    body: Consensus,
    record_version: Option<i64>,
    created_at: String,
    signed: bool,
    signatures: Vec<cellpath_store::Signature>,
}

async fn versions(state: &Shared, id: &str) -> Result<Vec<Version>, ApiError> {
    let team = state.store.mdt_assignments(id).await?;
    let mut out = Vec::new();
    for c in state.store.mdt_consensus(id).await? {
        let signatures = state.store.mdt_signatures(id, c.version).await?;
        let signed = !team.is_empty()
            && team
                .iter()
                .all(|a| signatures.iter().any(|s| s.user_id == a.user_id));
        out.push(Version {
            version: c.version,
            body: serde_json::from_str(&c.body).map_err(ApiError::internal)?,
            record_version: c.record_version,
            created_at: c.created_at,
            signed,
            signatures,
        });
    }
    Ok(out)
}

async fn name_of(state: &Shared, user_id: &str) -> String {
    match state.store.user(user_id).await {
        Ok(Some(u)) => u.display_name.unwrap_or(u.email),
        _ => user_id.to_owned(),
    }
}

/// A specialist's specialty in the report's language (an unlisted one as entered).
async fn specialty_of(state: &Shared, user_id: &str, lang: Lang) -> String {
    let Ok(Some(u)) = state.store.user(user_id).await else {
        return String::new();
    };
    let key = u.specialty.unwrap_or_default();
    let zh = lang == Lang::ZhCn;
    match key.as_str() {
        "medical-oncology" if zh => "肿瘤内科",
        "medical-oncology" => "medical oncology",
        "pathology" if zh => "病理科",
        "pathology" => "pathology",
        "cell-therapy" if zh => "细胞治疗",
        "cell-therapy" => "cell therapy",
        "radiology" if zh => "影像科",
        "radiology" => "radiology",
        "other" if zh => "其他专科",
        "other" => "other specialty",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// How a report is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One HTML document (styles inline, no scripts): what the web app shows and prints.
    Html,
    /// A tagged PDF/A with its fonts embedded.
    Pdf,
}

impl Format {
    pub fn parse(ext: &str) -> Option<Self> {
        match ext {
            "html" => Some(Self::Html),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Pdf => "pdf",
        }
    }
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Pdf => "application/pdf",
        }
    }
}

/// A report laid out: the HTML at once, the PDF off the async workers (it takes
/// milliseconds of CPU).
pub async fn render(report: Report, format: Format) -> Result<Vec<u8>, ApiError> {
    match format {
        Format::Html => Ok(cellpath_report::html::html(&report).into_bytes()),
        Format::Pdf => tokio::task::spawn_blocking(move || cellpath_report_pdf::pdf(&report))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal),
    }
}

fn day(ts: &str) -> Date {
    Date::parse(ts.get(..10).unwrap_or(ts)).unwrap_or_else(|_| Date::from_days(0))
}

/// The use case: one report, built (the read audited). Refused while the consensus version
/// is not signed by every assigned specialist. Answers whether a later version supersedes it.
pub async fn report(
    state: &Shared,
    actor: &Actor,
    id: &str,
    version: i64,
    kind: Kind,
    lang: Lang,
) -> Result<(Report, bool), ApiError> {
    let case = state.authorise(actor, id, Action::ReadCase).await?;
    let built = build_report(state, &case, version, kind, lang).await?;
    state.read(actor, "report.download", Some(id)).await?;
    Ok(built)
}

/// A report built for a case already opened: no access check, no audit (the callers do both).
async fn build_report(
    state: &Shared,
    case: &cellpath_store::CaseRow,
    version: i64,
    kind: Kind,
    lang: Lang,
) -> Result<(Report, bool), ApiError> {
    let id = case.id.as_str();
    let all = versions(state, id).await?;
    let superseded = all.iter().any(|v| v.version > version);
    let v = all
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownVersion,
                format!("no consensus version {version}"),
            )
        })?;
    if !v.signed {
        return Err(ApiError::of(ErrorCode::ConsensusUnsigned));
    }
    let record_version = v.record_version.unwrap_or(case.record_version);
    let text = match state.store.record_version(id, record_version).await? {
        Some(r) => r.record,
        None => case.record.clone(),
    };
    let record: Case = serde_json::from_str(&text).map_err(ApiError::internal)?;
    let screened_on = day(&v.created_at);
    let screening =
        cellpath_eligibility::screen(&state.screening_catalogue(), &record, screened_on, &[]);
    let names: Vec<(String, String)> = state
        .catalogue
        .programmes()
        .iter()
        .map(|p| (p.id.clone(), p.name.get(lang).to_owned()))
        .collect();
    let mut dissent = Vec::new();
    for d in &v.body.dissent {
        let who = name_of(state, &d.specialist_id).await;
        let who = match specialty_of(state, &d.specialist_id, lang).await {
            s if s.is_empty() => who,
            s => format!("{who} ({s})"),
        };
        dissent.push((who, d.note.clone()));
    }
    let mut signatures = Vec::new();
    for s in &v.signatures {
        signatures.push((
            name_of(state, &s.user_id).await,
            specialty_of(state, &s.user_id, lang).await,
            day(&s.signed_at),
        ));
    }
    let a = &v.body.answers;
    let consensus = ConsensusIn {
        version: v.version,
        recommendation: serde_json::to_value(v.body.recommendation)
            .ok()
            .and_then(|x| x.as_str().map(str::to_owned))
            .unwrap_or_default(),
        recommendation_words: recommendation_words(v.body.recommendation, lang),
        summary: v.body.summary.clone(),
        answers: [
            a.biomarker_eligibility.clone(),
            a.treatment_sequence.clone(),
            a.alternatives.clone(),
            a.benefit_and_risk.clone(),
            a.access_and_logistics.clone(),
            a.recommendation.clone(),
        ],
        dissent,
        signatures,
    };
    let plan = match crate::care::load_plan(state, id).await? {
        Some(pair) => pair
            .1
            .steps
            .iter()
            .map(|st| PlanRow {
                step: st.name.get(lang).to_owned(),
                when: match st.window {
                    Some(w) => match w.end {
                        Some(e) => format!("{} – {}", w.start.0, e.1),
                        None => format!("{} –", w.start.0),
                    },
                    None => "?".to_owned(),
                },
                source: st.basis.get(lang).to_owned(),
            })
            .collect(),
        None => Vec::new(),
    };
    let evidence = cellpath_eligibility::evidence::shipped().map_err(ApiError::internal)?;
    let report = cellpath_report::build(&cellpath_report::Input {
        case_id: id,
        kind,
        lang,
        record: &record,
        record_version,
        consensus: &consensus,
        screening: &screening,
        screened_on,
        catalogue_version: state.catalogue.version(),
        programme_names: &names,
        evidence: &evidence,
        plan,
    });
    Ok((report, superseded))
}

/// The operator's report (the command line on the server's data): the given consensus
/// version, or the latest signed one; audited as the `system` actor.
pub async fn report_for_operator(
    state: &Shared,
    case_id: &str,
    version: Option<i64>,
    kind: Kind,
    lang: Lang,
) -> Result<Report, ApiError> {
    let case = state
        .store
        .case(case_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let version = match version {
        Some(v) => v,
        None => latest_signed(state, case_id)
            .await?
            .ok_or_else(|| ApiError::of(ErrorCode::ConsensusUnsigned))?,
    };
    let (report, _) = build_report(state, &case, version, kind, lang).await?;
    state
        .store
        .audit("system", "report.download", Some(case_id), "cli")
        .await?;
    Ok(report)
}

/// What checking a report file found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verified {
    /// Not a cellpath report (no claim of what it is).
    NotAReport,
    /// Byte for byte the report this server makes for that signed consensus version.
    Matches {
        case_id: String,
        version: i64,
        kind: &'static str,
        lang: &'static str,
        code: String,
        /// A later consensus version amends it.
        superseded: bool,
        /// The record changed after the consensus was made.
        record_changed_since: bool,
    },
    /// It claims to be a report of this server, but its content differs from what that
    /// consensus version makes (a changed byte, or another version's code).
    Altered { case_id: String, version: i64 },
}

/// The use case: checks a report file against the signed consensus it names. From the API
/// (`who` given: the case must be open to them, the check audited) or from the command line
/// on the server's data (`who` none: the operator; nothing clinical is answered).
pub async fn verify(
    state: &Shared,
    who: Option<&Actor>,
    bytes: &[u8],
) -> Result<Verified, ApiError> {
    let (claim, format) = match cellpath_report_pdf::claim(bytes) {
        Some(c) => (c, Format::Pdf),
        None => match cellpath_report::html::claim(bytes) {
            Some(c) => (c, Format::Html),
            None => return Ok(Verified::NotAReport),
        },
    };
    let case = match who {
        Some(actor) => {
            state
                .authorise(actor, &claim.case_id, Action::ReadCase)
                .await?
        }
        None => state
            .store
            .case(&claim.case_id)
            .await?
            .ok_or_else(ApiError::not_found)?,
    };
    let altered = || Verified::Altered {
        case_id: claim.case_id.clone(),
        version: claim.version,
    };
    let result = match build_report(state, &case, claim.version, claim.kind, claim.lang).await {
        Ok((report, superseded)) => {
            let code = report.code.clone();
            let record_version = report.record_version;
            let made = render(report, format).await?;
            if made == bytes && code == claim.code {
                Verified::Matches {
                    case_id: claim.case_id.clone(),
                    version: claim.version,
                    kind: claim.kind.as_str(),
                    lang: if claim.lang == Lang::ZhCn {
                        "zh-CN"
                    } else {
                        "en"
                    },
                    code,
                    superseded,
                    record_changed_since: record_version != case.record_version,
                }
            } else {
                altered()
            }
        }
        // The version it names does not exist, or was never signed.
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => altered(),
        Err(e) => return Err(e),
    };
    if let Some(actor) = who {
        state
            .read(actor, "report.verify", Some(&claim.case_id))
            .await?;
    }
    Ok(result)
}

/// `POST /reports/verify` (the file as the body): whether it is a report this server made
/// from a signed consensus, whether that was amended since, whether the record changed.
pub async fn verify_file(
    State(state): State<Shared>,
    actor: Actor,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let v = verify(&state, Some(&actor), &body).await?;
    Ok(Json(serde_json::to_value(v).map_err(ApiError::internal)?))
}

/// The latest consensus version signed by every assigned specialist, if any (for the pages'
/// links; the caller has opened the case).
pub async fn latest_signed(state: &Shared, id: &str) -> Result<Option<i64>, ApiError> {
    Ok(versions(state, id)
        .await?
        .iter()
        .filter(|v| v.signed)
        .map(|v| v.version)
        .max())
}

/// `GET /cases/{id}/reports`: every consensus version and its reports — signed or not yet,
/// superseded or current.
pub async fn list(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let case = state.authorise(&actor, &id, Action::ReadCase).await?;
    let all = versions(&state, &id).await?;
    let latest = all.iter().map(|v| v.version).max();
    state.read(&actor, "report.list", Some(&id)).await?;
    Ok(Json(json!({
        "reports": all.iter().map(|v| json!({
            "version": v.version,
            "signed": v.signed,
            "superseded": Some(v.version) != latest,
            "record_version": v.record_version,
            "record_changed_since": v.record_version.is_some_and(|r| r != case.record_version),
            "created_at": v.created_at,
            "kinds": ["mdt", "patient"],
            "languages": ["en", "zh-CN"],
            "html": v.signed.then(|| format!("/api/v1/cases/{id}/reports/{}.html", v.version)),
            "pdf": v.signed.then(|| format!("/api/v1/cases/{id}/reports/{}.pdf", v.version)),
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// `GET /cases/{id}/reports/{version}.{html|pdf}?kind=mdt|patient&lang=en|zh-CN`: one report
/// as an HTML document (styles inline, no scripts) or a PDF/A.
pub async fn file(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, ApiError> {
    // Strangers learn nothing from the shape of their request.
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let (version, ext) = file.split_once('.').ok_or_else(|| {
        ApiError::bad_request(ErrorCode::InvalidQuery, "{version}.html or {version}.pdf")
    })?;
    let version: i64 = version.parse().map_err(|_| {
        ApiError::bad_request(
            ErrorCode::UnknownVersion,
            format!("`{version}` is not a version"),
        )
    })?;
    let format = Format::parse(ext).ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("`.{ext}`: reports are served as .html or .pdf"),
        )
    })?;
    let kind = match q.kind.as_deref() {
        None => Kind::Mdt,
        Some(k) => Kind::parse(k).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidQuery, "kind: mdt or patient").at("kind")
        })?,
    };
    let lang = match q.lang.as_deref() {
        None | Some("en") => Lang::En,
        Some("zh-CN") => Lang::ZhCn,
        Some(_) => {
            return Err(
                ApiError::bad_request(ErrorCode::InvalidQuery, "lang: en or zh-CN").at("lang"),
            );
        }
    };
    let (report, superseded) = report(&state, &actor, &id, version, kind, lang).await?;
    let code = report.code.clone();
    let name = format!(
        "cellpath-{}-{id}-v{version}-{}.{}",
        kind.as_str(),
        report.lang,
        format.extension()
    );
    let mut r = (StatusCode::OK, render(report, format).await?).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    // Shown in the browser, saved under a name that says what it is.
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // The document's own styles, and nothing else: no scripts, no requests.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    );
    if let Ok(v) = HeaderValue::from_str(&code) {
        h.insert("x-verification-code", v);
    }
    if superseded {
        h.insert("x-superseded", HeaderValue::from_static("true"));
    }
    Ok(r)
}
