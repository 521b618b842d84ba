//! FHIR import with a preview: upload a bundle (or one patient's Bulk Data ndjson), and
//! before anything is written see first whether the bundle's patient is the case's (a
//! difference stops the import behind a banner until someone overrides it with a reason),
//! then what it adds and updates — by default merged into the record, nothing the bundle does
//! not mention removed, each fact a row to take or leave, in words — what each resource gave,
//! and the lines of therapy it derives; confirm or correct the lines; then import. Both
//! steps are the web layer's use cases (`cases::preview_import`, `cases::write_import`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cellpath_domain::Lang;
use cellpath_fhir::Outcome;
use cellpath_web::policy::Action;
use cellpath_web::{ApiError, ErrorCode, Shared};
use serde_json::{Value, json};

use crate::frame::{Fields, Frame, Signed, UploadProblem, done, page_with};
use crate::i18n::tr;
use crate::patient::case_nav;
use crate::record::{SectionView, section_from_form, section_view};

/// Resources listed one by one; beyond this the page says how many more (used ones first
/// to go — the flagged and skipped are what a coordinator must read).
const LISTED: usize = 300;

struct ResourceLine {
    what: String,
    outcome: String,
    outcome_class: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    f: Frame,
    id: String,
    version: i64,
    max_mb: usize,
    error: String,
    /// The preview, once a file was read.
    preview: Option<PreviewView>,
    can_edit: bool,
    documents: Vec<crate::record::DocOption>,
}

/// One fact of the bundle to take or leave.
struct RowView {
    key: String,
    what: String,
    effect: String,
    before: String,
    after: String,
}

struct PreviewView {
    file: String,
    /// Where the bundle's patient differs from the case's, in words.
    identity: Vec<String>,
    /// "adds 4, updates 2, removes 0".
    summary: String,
    replace: bool,
    rows: Vec<RowView>,
    /// The bundle's record and the name it gives, carried to the confirmation.
    bundle: String,
    subject: String,
    used: usize,
    flagged: usize,
    skipped: usize,
    resources: Vec<ResourceLine>,
    more: usize,
    notes: Vec<String>,
    changes: Vec<crate::record::ChangeLine>,
    sections: Vec<SectionView>,
}

async fn render(
    state: &Shared,
    s: &Signed,
    id: &str,
    version: i64,
    error: String,
    preview: Option<PreviewView>,
    status: StatusCode,
) -> Response {
    let documents = crate::record::case_documents(state, id).await;
    let f = s.frame(
        "imp-title",
        case_nav(s.lang, id, s.actor().role, "nav-record"),
    );
    page_with(
        status,
        &ImportPage {
            f,
            id: id.to_owned(),
            version,
            max_mb: state.config.max_fhir / (1024 * 1024),
            error,
            preview,
            can_edit: true,
            documents,
        },
    )
}

/// `GET /cases/{id}/import`: the upload form (for those who may change the record).
pub async fn import(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    let case = match state.authorise(s.actor(), &id, Action::EditRecord).await {
        Ok(c) => c,
        Err(e) => return s.fail(e),
    };
    render(
        &state,
        &s,
        &id,
        case.record_version,
        String::new(),
        None,
        StatusCode::OK,
    )
    .await
}

fn outcome_words(lang: Lang, o: &Outcome) -> (String, &'static str) {
    let (key, class) = match o {
        Outcome::Used => ("imp-used", "met"),
        Outcome::Flagged => ("imp-flagged", "unknown"),
        Outcome::Skipped => ("imp-skipped", "na"),
    };
    (tr(lang, key, &[]), class)
}

/// The preview of an import as the page shows it.
fn preview_view(lang: Lang, file: String, p: &cellpath_web::cases::ImportPreview) -> PreviewView {
    let report = &p.import.report;
    let count = |o: Outcome| report.resources.iter().filter(|r| r.outcome == o).count();
    // What needs reading first: flagged, then skipped, then used.
    let mut ordered: Vec<_> = report.resources.iter().collect();
    ordered.sort_by_key(|r| match r.outcome {
        Outcome::Flagged => 0,
        Outcome::Skipped => 1,
        Outcome::Used => 2,
    });
    let resources = ordered
        .iter()
        .take(LISTED)
        .map(|r| {
            let (outcome, outcome_class) = outcome_words(lang, &r.outcome);
            ResourceLine {
                what: format!(
                    "{}{}",
                    r.resource_type,
                    r.id.as_deref().map(|i| format!("/{i}")).unwrap_or_default()
                ),
                outcome,
                outcome_class,
                detail: r.detail.join("; "),
            }
        })
        .collect();
    // The lines as the record would hold them once confirmed: the derived ones, each with
    // what it rests on.
    let record = serde_json::to_value(&p.record).unwrap_or(Value::Null);
    let derived: Vec<Value> = p
        .lines
        .as_ref()
        .map(|l| {
            l.lines
                .iter()
                .map(|x| {
                    let mut v = json!({
                        "drugs": x.drugs, "setting": x.setting, "counts": x.counts,
                        "outcome": x.outcome, "source": tr(lang, "imp-lines-source", &[]),
                    });
                    if let Some(d) = x.start {
                        v["start"] = json!(d);
                    }
                    if let Some(d) = x.end {
                        v["end"] = json!(d);
                    }
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    let confirmed = p.record.lines.is_some();
    let mut shown = record.clone();
    if !confirmed && !derived.is_empty() {
        shown["lines"] = Value::Array(derived);
    }
    let mut sections = section_view(lang, "lines", &shown);
    // Derived lines are shown in the rows, but stay unconfirmed until the coordinator says.
    if !confirmed {
        for sec in &mut sections {
            for c in &mut sec.states {
                c.selected = c.value == "unknown";
            }
        }
    }
    let identity = p
        .identity
        .iter()
        .map(|m| {
            let field = tr(
                lang,
                match m.field {
                    cellpath_domain::merge::IdentityField::BirthDate => "imp-id-birth-date",
                    cellpath_domain::merge::IdentityField::Sex => "imp-id-sex",
                    cellpath_domain::merge::IdentityField::Name => "imp-id-name",
                    cellpath_domain::merge::IdentityField::PrimarySite => "imp-id-site",
                },
                &[],
            );
            tr(
                lang,
                "imp-id-differs",
                &[
                    ("field", &field),
                    ("record", &m.record),
                    ("bundle", &m.bundle),
                ],
            )
        })
        .collect();
    let rows = p
        .rows
        .iter()
        .map(|r| RowView {
            key: r.key.clone(),
            what: {
                let n: usize = r
                    .key
                    .rsplit('.')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                crate::record::fact_words(
                    lang,
                    &if matches!(r.section, "patient" | "primary") {
                        format!("/{}", r.section)
                    } else {
                        format!("/{}/{n}", r.section)
                    },
                )
            },
            effect: tr(
                lang,
                match r.effect {
                    cellpath_domain::merge::Effect::Adds => "imp-row-adds",
                    cellpath_domain::merge::Effect::Updates => "imp-row-updates",
                },
                &[],
            ),
            before: r
                .before
                .as_ref()
                .map(|b| crate::record::fact_in_words(lang, r.section, b))
                .unwrap_or_default(),
            after: crate::record::fact_in_words(lang, r.section, &r.after),
        })
        .collect();
    PreviewView {
        file,
        identity,
        summary: tr(
            lang,
            "imp-summary",
            &[
                ("adds", &p.summary.adds.to_string()),
                ("updates", &p.summary.updates.to_string()),
                ("removes", &p.summary.removes.to_string()),
            ],
        ),
        replace: p.mode == cellpath_domain::merge::Mode::Replace,
        rows,
        bundle: serde_json::to_string(&p.import.case).unwrap_or_default(),
        subject: p.import.subject_name.clone().unwrap_or_default(),
        used: count(Outcome::Used),
        flagged: count(Outcome::Flagged),
        skipped: count(Outcome::Skipped),
        more: report.resources.len().saturating_sub(LISTED),
        resources,
        notes: report.notes.clone(),
        changes: crate::record::change_lines(lang, &p.previous, &record),
        sections,
    }
}

/// `POST /cases/{id}/import` (multipart): read the file and show the preview. Nothing is
/// written.
pub async fn import_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let case = match state.authorise(s.actor(), &id, Action::EditRecord).await {
        Ok(c) => c,
        Err(e) => return s.fail(e),
    };
    let lang = s.lang;
    let limit = state.config.max_fhir;
    let again = |error: String, status: StatusCode| {
        let state = state.clone();
        let s = s.clone();
        let id = id.clone();
        async move { render(&state, &s, &id, case.record_version, error, None, status).await }
    };
    let upload = match crate::frame::read_upload(&s, form, "bundle", limit).await {
        Err(refusal) => return refusal,
        Ok(Err(UploadProblem::TooLarge)) => {
            let msg = tr(
                lang,
                "imp-too-large",
                &[("max", &(limit / (1024 * 1024)).to_string())],
            );
            return again(msg, StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Ok(Err(UploadProblem::Broken)) => {
            return again(tr(lang, "upload-broken", &[]), StatusCode::BAD_REQUEST).await;
        }
        Ok(Ok(u)) => u,
    };
    let patient = Some(upload.text("patient")).filter(|p| !p.is_empty());
    let mode = if upload.text("mode") == "replace" {
        cellpath_domain::merge::Mode::Replace
    } else {
        cellpath_domain::merge::Mode::Merge
    };
    let file = upload.file;
    let Some((name, ct, bytes)) = file.filter(|f| !f.2.is_empty()) else {
        return again(tr(lang, "imp-no-file", &[]), StatusCode::BAD_REQUEST).await;
    };
    let mut headers = HeaderMap::new();
    let ndjson = name.to_ascii_lowercase().ends_with(".ndjson")
        || ct.as_deref().is_some_and(|c| c.contains("ndjson"));
    if ndjson {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+ndjson"),
        );
    }
    let options = cellpath_fhir::Options {
        patient,
        max_input_bytes: limit as u64,
    };
    let imported =
        match cellpath_web::cases::import_body_pooled(&state, &headers, bytes.into(), &options)
            .await
        {
            Ok(i) => i,
            Err(e) => {
                let msg = tr(
                    lang,
                    "imp-refused",
                    &[("file", &name), ("why", &s.message(&e))],
                );
                return again(msg, StatusCode::BAD_REQUEST).await;
            }
        };
    let preview =
        match cellpath_web::cases::preview_import(&state, s.actor(), &case, imported, mode).await {
            Ok(p) => p,
            Err(e) => return s.fail(e),
        };
    let view = preview_view(lang, name, &preview);
    render(
        &state,
        &s,
        &id,
        preview.version,
        String::new(),
        Some(view),
        StatusCode::OK,
    )
    .await
}

/// `POST /cases/{id}/import/confirm`: write the previewed record, with the lines as the
/// coordinator confirmed or corrected them, on the version previewed.
pub async fn confirm(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if let Err(r) = fields.check(&s) {
        return r;
    }
    // Strangers learn nothing, whatever they send.
    if let Err(e) = state.authorise(s.actor(), &id, Action::EditRecord).await {
        return s.fail(e);
    }
    let lang = s.lang;
    let version: i64 = fields.text("version").parse().unwrap_or(0);
    let Ok(bundle) = cellpath_domain::native::from_json(fields.get("bundle").unwrap_or_default())
    else {
        return s.fail(ApiError::bad_request(
            ErrorCode::InvalidRecord,
            "the previewed record is missing; preview the file again",
        ));
    };
    let import = cellpath_fhir::Import {
        case: bundle,
        report: cellpath_fhir::ImportReport::default(),
        subject_name: Some(fields.text("subject")).filter(|n| !n.is_empty()),
    };
    let mode = if fields.text("mode") == "replace" {
        cellpath_domain::merge::Mode::Replace
    } else {
        cellpath_domain::merge::Mode::Merge
    };
    // Rows not ticked are left out.
    let leave_out: Vec<String> = fields
        .all("row")
        .into_iter()
        .filter(|k| fields.get(&format!("take.{k}")).is_none())
        .map(str::to_owned)
        .collect();
    let override_reason = if fields.get("override").is_some() {
        Some(fields.text("reason"))
    } else {
        None
    };
    let (lines, errors) = section_from_form(lang, &fields, "lines");
    let problem = if let Some((field, msg)) = errors.iter().next() {
        Some(tr(
            lang,
            "field-message",
            &[
                (
                    "field",
                    &crate::record::fact_words(lang, &format!("/{}", field.replace('.', "/"))),
                ),
                ("message", msg),
            ],
        ))
    } else if fields.get("override").is_some() && fields.text("reason").trim().is_empty() {
        Some(tr(lang, "imp-id-reason-needed", &[]))
    } else {
        None
    };
    let lines = match lines.map(serde_json::from_value::<Vec<cellpath_domain::ConfirmedLine>>) {
        None => None,
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            return s.fail(ApiError::bad_request(
                ErrorCode::InvalidRecord,
                e.to_string(),
            ));
        }
    };
    let written = match problem {
        Some(p) => Err(p),
        None => {
            let choice = cellpath_web::cases::ImportChoice {
                mode,
                leave_out: &leave_out,
                override_reason: override_reason.as_deref(),
                lines: Some(lines),
            };
            match cellpath_web::cases::write_import(
                &state,
                s.actor(),
                &id,
                Some(version),
                &import,
                &choice,
            )
            .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.code == ErrorCode::VersionConflict => {
                    Err(tr(lang, "imp-conflict", &[]))
                }
                Err(e) if e.code == ErrorCode::IdentityMismatch => {
                    Err(tr(lang, "imp-id-stopped", &[]))
                }
                Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                    Err(s.message(&e))
                }
                Err(e) => return s.fail(e),
            }
        }
    };
    match written {
        Ok(()) => done(&format!("/cases/{id}/record"), "imp-imported"),
        Err(msg) => {
            let case = match state.authorise(s.actor(), &id, Action::EditRecord).await {
                Ok(c) => c,
                Err(e) => return s.fail(e),
            };
            let conflict = msg == tr(lang, "imp-conflict", &[]);
            let status = if conflict {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            // The preview again, with the message above it: the choices are still there to
            // correct (on a conflict the record moved, so the file is previewed afresh).
            let again = if conflict {
                None
            } else {
                match cellpath_web::cases::preview_import(&state, s.actor(), &case, import, mode)
                    .await
                {
                    Ok(p) => Some(preview_view(lang, fields.text("file"), &p)),
                    Err(e) => return s.fail(e),
                }
            };
            render(&state, &s, &id, case.record_version, msg, again, status).await
        }
    }
}
