// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The patient's and caregiver's pages: their case, records, pre-screen, consents, team,
//! journey, diary, supportive care and messages. Reads go through the application layer's
//! door (`authorise`, then an audit entry); every change calls the JSON API's use case.

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cellpath_domain::Date;
use cellpath_domain::text::Lang;
use cellpath_eligibility::eval::{ProgrammeResult, ResultKind, Status, Verdict};
use cellpath_store::{CaseRow, ConsentKind};
use cellpath_web::policy::{Action, Role};
use cellpath_web::{ApiError, Shared};

use crate::frame::{Fields, Frame, Nav, Signed, done, json_of, page, page_with};
use crate::i18n::{self, tr};

/// The journey's stages as a patient names them, and the case states in each.
const STAGES: &[(&str, &[&str])] = &[
    ("intake", &["inquiry"]),
    ("records", &["records-requested"]),
    ("prescreen", &["pre-screened"]),
    ("mdt", &["mdt-scheduled", "mdt-in-review"]),
    (
        "decision",
        &[
            "consensus",
            "report-delivered",
            "decision-proceeding",
            "decision-declined",
            "decision-deferred",
        ],
    ),
    ("planning", &["treatment-planning"]),
    ("treatment", &["in-treatment"]),
    ("follow-up", &["follow-up", "closed"]),
];

/// The case pages' navigation, the current one marked.
pub fn case_nav(lang: Lang, id: &str, role: Role, current: &str) -> Vec<Nav> {
    let mut items: Vec<(String, &str)> = if crate::work::works_on_cases(role) {
        // The team's workspace: its tabs, in the order the work goes.
        [
            ("", "nav-overview"),
            ("/summary", "nav-summary"),
            ("/record", "nav-record"),
            ("/records", "nav-documents"),
            ("/prescreen", "nav-prescreen"),
            ("/studies", "nav-studies"),
            ("/mdt", "nav-mdt"),
            ("/journey", "nav-journey"),
            ("/monitoring", "nav-monitoring"),
            ("/diary", "nav-diary"),
            ("/support", "nav-support"),
            ("/messages", "nav-messages"),
            ("/team", "nav-access-log"),
        ]
        .into_iter()
        .map(|(tail, key)| (format!("/cases/{id}{tail}"), key))
        .collect()
    } else {
        vec![
            (format!("/cases/{id}"), "nav-my-case"),
            (format!("/cases/{id}/records"), "nav-records"),
            (format!("/cases/{id}/prescreen"), "nav-prescreen"),
            (format!("/cases/{id}/studies"), "nav-studies"),
            (format!("/cases/{id}/journey"), "nav-journey"),
            (format!("/cases/{id}/diary"), "nav-diary"),
            (format!("/cases/{id}/support"), "nav-support"),
            (format!("/cases/{id}/messages"), "nav-messages"),
            (
                format!("/cases/{id}/team"),
                if role == Role::Patient {
                    "nav-team"
                } else {
                    "nav-team-other"
                },
            ),
        ]
    };
    // The team's tab of a page the patient's navigation names otherwise.
    let team = crate::work::works_on_cases(role);
    let current = match current {
        _ if !team => current,
        "nav-my-case" => "nav-overview",
        "nav-records" => "nav-documents",
        "nav-team" | "nav-team-other" => "nav-access-log",
        other => other,
    };
    if role == Role::Patient {
        items.push(("/consents".to_owned(), "nav-consents"));
    }
    items
        .into_iter()
        .map(|(href, key)| Nav {
            current: key == current,
            label: tr(lang, key, &[]),
            href,
        })
        .collect()
}

/// The navigation outside a case.
pub fn home_nav(lang: Lang, role: Role, current: &str) -> Vec<Nav> {
    let mut items = vec![
        ("/cases", "nav-cases"),
        ("/notifications", "nav-notifications"),
    ];
    if crate::work::works_on_cases(role) {
        items.insert(0, ("/work", "nav-work"));
    }
    if role == Role::Specialist {
        items.insert(1, ("/work/assignments", "nav-assignments"));
    }
    if role == Role::Patient {
        items.push(("/consents", "nav-consents"));
    }
    items.push(("/registry", "nav-trials"));
    if crate::work::works_on_cases(role) {
        items.push(("/registry/flags", "nav-registry"));
    }
    if role == Role::Admin {
        items = vec![
            ("/admin", "nav-admin"),
            ("/registry", "nav-trials"),
            ("/registry/flags", "nav-registry"),
        ];
    }
    items
        .into_iter()
        .map(|(href, key)| Nav {
            current: key == current,
            label: tr(lang, key, &[]),
            href: href.to_owned(),
        })
        .collect()
}

/// Opens a case for a page: the door's access and consent check, then an audit entry of the
/// read.
pub(crate) async fn open(
    state: &Shared,
    s: &Signed,
    id: &str,
    action: Action,
    audit: &str,
) -> Result<CaseRow, Response> {
    let case = state
        .authorise(s.actor(), id, action)
        .await
        .map_err(|e| s.fail(e))?;
    state
        .read(s.actor(), audit, Some(id))
        .await
        .map_err(|e| s.fail(e))?;
    Ok(case)
}

/// A case page's frame for its reader: the case's navigation, and for the patient and the
/// caregivers, from lymphodepletion to the end of the risk window, the pinned "Report a
/// warning sign" button.
pub(crate) async fn case_frame(
    state: &Shared,
    s: &Signed,
    id: &str,
    title_key: &str,
    current: &str,
) -> Frame {
    let mut f = s.frame(title_key, case_nav(s.lang, id, s.actor().role, current));
    if matches!(s.actor().role, Role::Patient | Role::Caregiver) {
        let today = state.today().ok();
        let in_window = match (cellpath_web::care::risk_windows(state, id).await, today) {
            (Ok(Ok(windows)), Some(d)) => windows.iter().any(|w| w.contains(d)),
            _ => false,
        };
        if in_window {
            f.pinned = Some(format!("/cases/{id}/diary#diary-main"));
        }
    }
    f
}

/// A person's name as others see it: the display name, else the e-mail.
pub(crate) async fn name_of(state: &Shared, user_id: &str) -> String {
    match state.store.user(user_id).await {
        Ok(Some(u)) => u.display_name.unwrap_or(u.email),
        _ => "cellpath".to_owned(),
    }
}

// ---------------------------------------------------------------- cases list

struct CaseLine {
    id: String,
    state: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    f: Frame,
    cases: Vec<CaseLine>,
}

pub async fn cases(State(state): State<Shared>, s: Signed) -> Response {
    let rows = match state.store.cases_for(&s.actor().id).await {
        Ok(r) => r,
        Err(e) => return s.fail(e.into()),
    };
    let mut cases = Vec::new();
    for c in rows {
        let member = state
            .store
            .member(&c.id, &s.actor().id)
            .await
            .ok()
            .flatten();
        if cellpath_web::app::relation_of(s.actor(), &c, member.as_ref())
            == cellpath_web::policy::Relation::None
        {
            continue;
        }
        cases.push(CaseLine {
            state: tr(s.lang, &format!("state-{}", c.state), &[]),
            updated: i18n::timestamp(s.lang, &c.updated_at),
            id: c.id,
        });
    }
    if let Err(e) = state.read(s.actor(), "case.list", None).await {
        return s.fail(e);
    }
    let f = s.frame("cases-title", home_nav(s.lang, s.actor().role, "nav-cases"));
    page(&CasesPage { f, cases })
}

// ---------------------------------------------------------------- my case

struct Stage {
    label: String,
    now: bool,
    done: bool,
}

struct NextDate {
    what: String,
    when: String,
}

#[derive(Template)]
#[template(path = "my_case.html")]
struct MyCasePage {
    f: Frame,
    id: String,
    stages: Vec<Stage>,
    state_lay: String,
    missing: Vec<String>,
    next: Vec<NextDate>,
    unread: i64,
    deceased: bool,
    /// The latest signed consensus version, whose reports the patient reads.
    report: Option<i64>,
}

/// What the screening asks for, once each, in the reader's language.
fn requests(results: &[ProgrammeResult], lang: Lang) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in results {
        for c in r.unknowns() {
            if let Some(req) = &c.request {
                let t = req.get(lang).to_owned();
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// The screening a page shows: the record's current version against the catalogue, as of
/// the latest screening's date (today when never screened), in the reader's language.
/// The case screened as of its last requested screening (today if none): what the
/// pre-screen page shows, so every page that quotes the screening agrees with it.
pub(crate) async fn screen_now(
    state: &Shared,
    case: &CaseRow,
) -> Result<
    (
        std::sync::Arc<cellpath_web::app::ScreenedRecord>,
        Date,
        bool,
    ),
    ApiError,
> {
    let latest = state.store.latest_screening_as_of(&case.id).await?;
    let as_of = match &latest {
        Some(d) => Date::parse(d).map_err(ApiError::internal)?,
        None => state.today()?,
    };
    Ok((state.screened(case, as_of).await?, as_of, latest.is_some()))
}

pub async fn my_case(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    let case = match open(&state, &s, &id, Action::ReadCase, "page.case").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = s.lang;
    // A withdrawn case is on no stage: the list shows none as current, the words say why.
    let here = STAGES
        .iter()
        .position(|(_, states)| states.contains(&case.state.as_str()));
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(i, (key, _))| Stage {
            label: tr(lang, &format!("stage-{key}"), &[]),
            now: here == Some(i),
            done: here.is_some_and(|h| i < h),
        })
        .collect();
    // The three reads do not depend on each other.
    let (screened, plan, unread) = tokio::join!(
        screen_now(&state, &case),
        cellpath_web::care::load_plan(&state, &id),
        state.store.unread_messages(&s.actor().id, &id),
    );
    let (screened, _, _) = match screened {
        Ok(r) => r,
        Err(e) => return s.fail(e),
    };
    let deceased = screened.record.patient.deceased;
    let today = state.today().unwrap_or_else(|_| Date::from_days(0));
    let mut next = Vec::new();
    if let Ok(Some(pair)) = plan {
        for step in &pair.1.steps {
            if let Some(w) = step.window
                && w.start.1 >= today
                && next.len() < 3
            {
                next.push(NextDate {
                    what: step.name.get(lang).to_owned(),
                    when: i18n::date_range(lang, w.start.0, w.start.1),
                });
            }
        }
    }
    let unread = unread.unwrap_or(0);
    let f = case_frame(&state, &s, &id, "my-case-title", "nav-my-case").await;
    let state_key = format!("state-{}-lay", case.state);
    let report = cellpath_web::reports::latest_signed(&state, &id)
        .await
        .ok()
        .flatten();
    page(&MyCasePage {
        report,
        state_lay: tr(lang, &state_key, &[]),
        missing: requests(&screened.results, lang),
        f,
        id,
        stages,
        next,
        unread,
        deceased,
    })
}

// ---------------------------------------------------------------- records

struct DocLine {
    id: String,
    filename: String,
    kind: String,
    size: String,
    by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    f: Frame,
    id: String,
    docs: Vec<DocLine>,
    errors: Vec<String>,
    max_mb: usize,
    can_upload: bool,
}

async fn records_page(
    state: &Shared,
    s: &Signed,
    id: &str,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    if let Err(r) = open(state, s, id, Action::ReadCase, "document.list").await {
        return r;
    }
    let docs = match state.store.documents(id).await {
        Ok(d) => d,
        Err(e) => return s.fail(e.into()),
    };
    let mut lines = Vec::new();
    for d in docs {
        lines.push(DocLine {
            by: name_of(state, &d.uploader_id).await,
            at: i18n::timestamp(s.lang, &d.created_at),
            size: i18n::size(s.lang, d.size),
            kind: tr(s.lang, &doc_kind(&d.content_type), &[]),
            filename: d.filename,
            id: d.id,
        });
    }
    let can_upload =
        state.config.document_key.is_some() && s.may(state, id, Action::EditRecord).await;
    let f = case_frame(state, s, id, "records-title", "nav-records").await;
    page_with(
        status,
        &RecordsPage {
            f,
            id: id.to_owned(),
            docs: lines,
            errors,
            max_mb: state.config.max_document / (1024 * 1024),
            can_upload,
        },
    )
}

fn doc_kind(content_type: &str) -> String {
    match content_type {
        "application/pdf" => "doc-pdf",
        "image/png" | "image/jpeg" => "doc-image",
        "application/zip" => "doc-dicom",
        _ => "doc-other",
    }
    .to_owned()
}

pub async fn records(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    records_page(&state, &s, &id, Vec::new(), StatusCode::OK).await
}

/// At most this many files in one sending.
const MAX_FILES: usize = 20;

/// `POST /cases/{id}/records` (multipart): the CSRF field first, then the files, each
/// through the API's upload use case (type, size, quota, encryption, audit). One file's
/// error does not stop the others; every error is listed with its file's name.
pub async fn records_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    // Strangers learn nothing, whatever they send.
    if let Err(e) = state.authorise(s.actor(), &id, Action::ReadCase).await {
        return s.fail(e);
    }
    let Ok(mut form) = form else {
        return s.fail(ApiError::bad_request(
            cellpath_web::ErrorCode::InvalidBody,
            "send the files as a multipart form",
        ));
    };
    let mut errors = Vec::new();
    let mut checked = false;
    let mut count = 0usize;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                errors.push(tr(s.lang, "upload-broken", &[]));
                break;
            }
        };
        match field.name() {
            Some("_csrf") => {
                // Bounded: a huge token part is refused, never read whole.
                let sent = crate::frame::text_part(&mut field)
                    .await
                    .unwrap_or_default();
                if let Err(e) = s.s.check_csrf(Some(&sent)) {
                    return s.fail(e);
                }
                checked = true;
            }
            Some("files") if checked => {
                let name = field.file_name().unwrap_or_default().to_owned();
                if name.is_empty() {
                    continue;
                }
                count += 1;
                if count > MAX_FILES {
                    errors.push(tr(
                        s.lang,
                        "upload-too-many",
                        &[("max", &MAX_FILES.to_string())],
                    ));
                    break;
                }
                let mut headers = HeaderMap::new();
                if let Some(ct) = field
                    .content_type()
                    .and_then(|c| HeaderValue::from_str(c).ok())
                {
                    headers.insert(header::CONTENT_TYPE, ct);
                }
                // The part streams into the use case through a small channel: the field
                // borrows the form, the use case wants a body of its own.
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
                let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async {
                    rx.recv().await.map(|item| (item, rx))
                }));
                let mut field = field;
                let pump = async move {
                    loop {
                        match field.chunk().await {
                            Ok(Some(c)) => {
                                if tx.send(Ok(c)).await.is_err() {
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                                break;
                            }
                        }
                    }
                };
                let q = cellpath_web::documents::UploadQuery {
                    name: Some(name.clone()),
                };
                let actor = s.writer();
                let upload = cellpath_web::documents::upload(
                    State(state.clone()),
                    actor,
                    Path(id.clone()),
                    Query(q),
                    headers,
                    body,
                );
                let ((), result) = tokio::join!(pump, upload);
                if let Err(e) = result {
                    let msg = s.message(&e);
                    errors.push(format!("{name}: {msg}"));
                }
            }
            _ => {
                if !checked {
                    return s.fail(ApiError::forbidden("missing or wrong CSRF token (_csrf)"));
                }
            }
        }
    }
    if !checked {
        return s.fail(ApiError::forbidden("missing or wrong CSRF token (_csrf)"));
    }
    if count == 0 && errors.is_empty() {
        errors.push(tr(s.lang, "upload-none", &[]));
    }
    if errors.is_empty() {
        done(&format!("/cases/{id}/records"), "uploaded")
    } else {
        records_page(&state, &s, &id, errors, StatusCode::BAD_REQUEST).await
    }
}

/// `GET /cases/{id}/records/{did}`: the API's download use case (access, audit, decryption).
pub async fn download(
    State(state): State<Shared>,
    s: Signed,
    Path((id, did)): Path<(String, String)>,
) -> Response {
    match cellpath_web::documents::download(State(state), s.actor().clone(), Path((id, did))).await
    {
        Ok(r) => r,
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------- pre-screen

struct CriterionView {
    mark: &'static str,
    status_label: String,
    status_class: &'static str,
    kind: String,
    text: String,
    explanation: String,
    request: Option<String>,
    /// Each piece of evidence, with the document of the case it came from when it names one.
    evidence: Vec<(String, Option<String>)>,
    source: String,
    id: String,
    recorded: Vec<String>,
}

struct ProgrammeView {
    name: String,
    verdict: String,
    verdict_class: &'static str,
    means: String,
    not_means: String,
    met: usize,
    not_met: usize,
    unknown: usize,
    criteria: Vec<CriterionView>,
    summary: String,
    /// Judgement items (for the team's side-by-side view), and the section's anchor.
    judgement: usize,
    anchor: String,
}

#[derive(Template)]
#[template(path = "prescreen.html")]
struct PrescreenPage {
    f: Frame,
    id: String,
    screened: bool,
    as_of: String,
    programmes: Vec<ProgrammeView>,
    cldn_svg: String,
    cldn_rows: Vec<(String, String)>,
    cldn_detail: String,
    cldn_thresholds: Vec<String>,
    can_screen: bool,
    disclaimer: String,
    /// The team's view: programmes side by side, the technical detail open, screenings
    /// over time.
    team: bool,
    history: Vec<crate::screenings::ScreeningLine>,
    /// Why the latest stored screening is out of date: its registry studies that changed.
    stale: Vec<String>,
}

fn criterion_view(c: &cellpath_eligibility::eval::CriterionResult, lang: Lang) -> CriterionView {
    let (mark, class) = match c.status {
        Status::Met => ("✓", "met"),
        Status::NotMet => ("✗", "not-met"),
        Status::Unknown => ("?", "unknown"),
        Status::NotApplicable => ("–", "na"),
    };
    let kind = match c.kind {
        ResultKind::Inclusion => "kind-inclusion",
        ResultKind::Exclusion => "kind-exclusion",
        ResultKind::ClinicianJudgement => "kind-judgement",
    };
    CriterionView {
        mark,
        status_label: c.status.label().get(lang).to_owned(),
        status_class: class,
        kind: tr(lang, kind, &[]),
        text: c.text.get(lang).to_owned(),
        explanation: c.explanation.get(lang).to_owned(),
        request: c.request.as_ref().map(|r| r.get(lang).to_owned()),
        evidence: c
            .evidence
            .iter()
            .map(|e| {
                let text = e.get(lang).to_owned();
                let doc = text.split("document:").nth(1).map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect::<String>()
                });
                (text, doc.filter(|d| !d.is_empty()))
            })
            .collect(),
        source: c.source.clone(),
        id: c.id.clone(),
        recorded: c.recorded.iter().map(|e| e.get(lang).to_owned()).collect(),
    }
}

/// The programmes' CLDN18.2 thresholds, for the bar.
pub(crate) fn thresholds(state: &Shared, lang: Lang) -> Vec<crate::svg::Threshold> {
    use cellpath_eligibility::catalogue::{BiomarkerRule, Rule};
    fn walk(rule: &Rule, out: &mut Vec<(cellpath_domain::Intensity, f64)>) {
        match rule {
            Rule::All(rs) | Rule::Any(rs) => rs.iter().for_each(|r| walk(r, out)),
            Rule::Not(r) => walk(r, out),
            Rule::Biomarker(BiomarkerRule::Cldn18 {
                min_intensity,
                min_percent,
                ..
            }) => out.push((*min_intensity, min_percent.value())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for p in state.catalogue.programmes() {
        let mut found = Vec::new();
        for c in p.criteria() {
            if let Some(r) = &c.rule {
                walk(r, &mut found);
            }
        }
        if let Some((intensity, percent)) = found.first() {
            out.push(crate::svg::Threshold {
                programme: p.name.get(lang).to_owned(),
                intensity: *intensity,
                percent: *percent,
            });
        }
    }
    out
}

pub async fn prescreen(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    let case = match open(&state, &s, &id, Action::ReadCase, "case.screenings.read").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = s.lang;
    let (done, as_of, screened) = match screen_now(&state, &case).await {
        Ok(r) => r,
        Err(e) => return s.fail(e),
    };
    let (record, results) = (&done.record, &done.results);
    let programmes = results
        .iter()
        .map(|r| {
            let (verdict_class, key) = match r.verdict {
                Verdict::Eligible => ("met", "eligible"),
                Verdict::NeedsInformation => ("unknown", "needs-information"),
                Verdict::Ineligible => ("not-met", "ineligible"),
            };
            let name = state
                .catalogue
                .programmes()
                .iter()
                .find(|p| p.id == r.programme)
                .map_or_else(|| r.programme.clone(), |p| p.name.get(lang).to_owned());
            let count = |st: Status| {
                r.criteria
                    .iter()
                    .filter(|c| c.status == st && c.kind != ResultKind::ClinicianJudgement)
                    .count()
            };
            ProgrammeView {
                name,
                verdict: r.verdict.label().get(lang).to_owned(),
                verdict_class,
                means: tr(lang, &format!("verdict-{key}-means"), &[]),
                not_means: tr(lang, &format!("verdict-{key}-not-means"), &[]),
                met: count(Status::Met),
                not_met: count(Status::NotMet),
                unknown: count(Status::Unknown),
                summary: cellpath_eligibility::eval::verdict_text(r, lang),
                criteria: r.criteria.iter().map(|c| criterion_view(c, lang)).collect(),
                judgement: r
                    .criteria
                    .iter()
                    .filter(|c| c.kind == ResultKind::ClinicianJudgement)
                    .count(),
                anchor: format!("p-{}", r.programme),
            }
        })
        .collect();
    let limits = thresholds(&state, lang);
    let (cldn_svg, cldn_rows, cldn_detail, cldn_thresholds) = match record.cldn18.last() {
        Some(r) => {
            let rows = crate::svg::per_level(r)
                .into_iter()
                .map(|(l, v)| {
                    let label = match l.level() {
                        0 => "0".to_owned(),
                        n => format!("{n}+"),
                    };
                    let value = v.map_or_else(
                        || tr(lang, "cldn-not-reported", &[]),
                        |v| i18n::percent(lang, v),
                    );
                    (label, value)
                })
                .collect();
            let detail = tr(
                lang,
                "cldn-detail",
                &[
                    (
                        "clone",
                        r.clone.as_deref().unwrap_or(&tr(lang, "not-recorded", &[])),
                    ),
                    (
                        "specimen",
                        r.specimen
                            .as_deref()
                            .unwrap_or(&tr(lang, "not-recorded", &[])),
                    ),
                    (
                        "date",
                        &r.specimen_date
                            .map_or_else(|| tr(lang, "not-recorded", &[]), |d| d.to_string()),
                    ),
                ],
            );
            (
                crate::svg::cldn_bar(r, &limits, lang),
                rows,
                detail,
                crate::svg::threshold_lines(r, &limits, lang),
            )
        }
        None => (String::new(), Vec::new(), String::new(), Vec::new()),
    };
    let can_screen = s.actor().role == Role::Coordinator;
    let team = crate::work::works_on_cases(s.actor().role);
    let history = if team {
        crate::screenings::history(&state, &id, lang).await
    } else {
        Vec::new()
    };
    let stale = match stale_lines(&state, &id, lang).await {
        Ok(l) => l,
        Err(e) => return s.fail(e),
    };
    let f = case_frame(&state, &s, &id, "prescreen-title", "nav-prescreen").await;
    page(&PrescreenPage {
        stale,
        f,
        id,
        screened,
        as_of: i18n::date(lang, as_of),
        programmes,
        cldn_svg,
        cldn_rows,
        cldn_detail,
        cldn_thresholds,
        can_screen,
        disclaimer: tr(
            lang,
            if team {
                "prescreen-disclaimer-team"
            } else {
                "prescreen-disclaimer"
            },
            &[],
        ),
        team,
        history,
    })
}

/// The registry changes made after the case's latest screening, in words (empty: it is not
/// stale, or there is none).
async fn stale_lines(
    state: &Shared,
    case_id: &str,
    lang: Lang,
) -> Result<Vec<String>, cellpath_web::ApiError> {
    let Some(latest) = state.store.screenings(case_id).await?.pop() else {
        return Ok(Vec::new());
    };
    let changes = cellpath_web::registry::source_changes(state).await?;
    Ok(
        cellpath_web::registry::changes_since(&changes, &latest.id, &latest.created_at)
            .into_iter()
            .map(|c| {
                let v = crate::registry::flag_view(state, c, lang);
                tr(
                    lang,
                    "prescreen-stale-line",
                    &[
                        ("programme", &v.programme),
                        ("study", &v.nct_id),
                        ("date", &v.raised),
                        (
                            "changes",
                            &v.changes.join(if lang == Lang::ZhCn { "；" } else { "; " }),
                        ),
                    ],
                )
            })
            .collect(),
    )
}

/// `POST /cases/{id}/prescreen`: re-screen today (the API's use case).
pub async fn prescreen_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    if form.get("do") == Some("ask") {
        return ask_patient(&state, &s, &id).await;
    }
    let lang = s.lang.code();
    let json = serde_json::json!({"lang": lang}).to_string();
    match cellpath_web::cases::screen(
        State(state),
        s.actor().clone(),
        Path(id.clone()),
        Bytes::from(json),
    )
    .await
    {
        Ok(_) => done(&format!("/cases/{id}/prescreen"), "screened"),
        Err(e) => s.fail(e),
    }
}

/// The pre-screen's requests (what would settle each unknown) sent to the patient as one
/// message, in the patient's language, through the messages use case.
async fn ask_patient(state: &Shared, s: &Signed, id: &str) -> Response {
    let case = match state.authorise(s.actor(), id, Action::Screen).await {
        Ok(c) => c,
        Err(e) => return s.fail(e),
    };
    let patient_lang = match state.store.user(&case.owner_id).await {
        Ok(Some(u)) => Lang::parse(&u.lang).unwrap_or_default(),
        Ok(None) => Lang::default(),
        Err(e) => return s.fail(e.into()),
    };
    let screened = match screen_now(state, &case).await {
        Ok((x, _, _)) => x,
        Err(e) => return s.fail(e),
    };
    let asks = requests(&screened.results, patient_lang);
    if asks.is_empty() {
        return done(&format!("/cases/{id}/prescreen"), "nothing-to-ask");
    }
    let mut body = tr(patient_lang, "ask-intro", &[]);
    for a in &asks {
        body.push_str("\n• ");
        body.push_str(a);
    }
    body.push_str("\n\n");
    body.push_str(&tr(patient_lang, "ask-outro", &[]));
    match cellpath_web::messages::post(
        State(state.clone()),
        s.writer(),
        Path(id.to_owned()),
        Bytes::from(serde_json::json!({ "body": body }).to_string()),
    )
    .await
    {
        Ok(_) => done(&format!("/cases/{id}/prescreen"), "requests-sent"),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------- consents

struct ConsentView {
    kind: String,
    version: String,
    title: String,
    text: String,
    gates: String,
    given: Option<String>,
}

struct HistoryLine {
    at: String,
    what: String,
}

#[derive(Template)]
#[template(path = "consents.html")]
struct ConsentsPage {
    f: Frame,
    consents: Vec<ConsentView>,
    history: Vec<HistoryLine>,
    patient: bool,
}

pub async fn consents(State(state): State<Shared>, s: Signed) -> Response {
    let lang = s.lang;
    let live = match state.store.live_consents(&s.actor().id).await {
        Ok(l) => l,
        Err(e) => return s.fail(e.into()),
    };
    let consents = cellpath_web::consent::texts()
        .iter()
        .map(|t| ConsentView {
            kind: t.kind.as_str().to_owned(),
            version: t.version.clone(),
            title: t.title.get(lang).to_owned(),
            text: t.text.get(lang).to_owned(),
            gates: tr(lang, &format!("consent-gates-{}", t.kind.as_str()), &[]),
            given: live
                .iter()
                .find(|c| c.kind == t.kind && c.version == t.version)
                .map(|c| i18n::timestamp(lang, &c.accepted_at)),
        })
        .collect();
    let events = state
        .store
        .consent_events(&s.actor().id, 200)
        .await
        .unwrap_or_default();
    let history = events
        .iter()
        .filter_map(|e| {
            let (verb, kind) = if let Some(k) = e.action.strip_prefix("consent.accept.") {
                ("consent-history-given", k)
            } else if let Some(k) = e.action.strip_prefix("consent.withdraw.") {
                ("consent-history-withdrawn", k)
            } else {
                return None;
            };
            let title = kind
                .parse::<ConsentKind>()
                .ok()
                .and_then(cellpath_web::consent::current)
                .map_or_else(|| kind.to_owned(), |t| t.title.get(lang).to_owned());
            Some(HistoryLine {
                at: i18n::timestamp(lang, &e.at),
                what: tr(lang, verb, &[("consent", &title)]),
            })
        })
        .collect();
    let f = s.frame(
        "consents-title",
        home_nav(lang, s.actor().role, "nav-consents"),
    );
    page(&ConsentsPage {
        f,
        consents,
        history,
        patient: s.actor().role == Role::Patient,
    })
}

/// `POST /consents`: give (`give=KIND` with `version`) or withdraw (`withdraw=KIND`) through
/// the API's use cases.
pub async fn consents_post(State(state): State<Shared>, s: Signed, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    let actor = s.writer();
    let result = if let Some(kind) = form.get("give") {
        let json = serde_json::json!({"kind": kind, "version": form.text("version")});
        cellpath_web::consent::accept(State(state), actor, Bytes::from(json.to_string()))
            .await
            .map(|_| "consent-given")
    } else if let Some(kind) = form.get("withdraw") {
        cellpath_web::consent::withdraw(State(state), actor, Path(kind.to_owned()))
            .await
            .map(|_| "consent-withdrawn")
    } else {
        Err(ApiError::bad_request(
            cellpath_web::ErrorCode::InvalidBody,
            "give or withdraw a consent",
        ))
    };
    match result {
        Ok(key) => done("/consents", key),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------- team and access

struct MemberView {
    user_id: String,
    name: String,
    role: String,
    access: String,
    removable: bool,
}

struct AccessLine {
    at: String,
    who: String,
    role: String,
    what: String,
}

struct LinkView {
    id: String,
    by: String,
    made: String,
    expires: String,
    revoked: bool,
}

struct RequestView {
    id: String,
    name: String,
    role: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    f: Frame,
    id: String,
    owner: String,
    members: Vec<MemberView>,
    requests: Vec<RequestView>,
    access: Vec<AccessLine>,
    links: Vec<LinkView>,
    can_invite: bool,
    can_audit: bool,
    error: String,
    more_access: usize,
}

/// How many access-list lines a page shows (newest first).
const ACCESS_LINES: usize = 200;

async fn team_page(state: &Shared, s: &Signed, id: &str, error: String) -> Response {
    let case = match open(state, s, id, Action::ReadCase, "case.members.read").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = s.lang;
    let members = match state.store.members(id).await {
        Ok(m) => m,
        Err(e) => return s.fail(e.into()),
    };
    let is_owner = case.owner_id == s.actor().id;
    let mut views = Vec::new();
    for m in &members {
        views.push(MemberView {
            name: name_of(state, &m.user_id).await,
            role: tr(lang, &format!("role-{}", m.role.as_str()), &[]),
            access: tr(lang, &format!("access-{}", m.access.as_str()), &[]),
            removable: is_owner || m.user_id == s.actor().id,
            user_id: m.user_id.clone(),
        });
    }
    let can_invite = s.may(state, id, Action::GrantCaregiver).await;
    let can_audit = state
        .authorise(s.actor(), id, Action::ReadAudit)
        .await
        .is_ok();
    let mut access = Vec::new();
    let mut more_access = 0;
    if can_audit {
        if let Err(e) = state.read(s.actor(), "case.audit.read", Some(id)).await {
            return s.fail(e);
        }
        let entries = state
            .store
            .audit_entries(Some(id))
            .await
            .unwrap_or_default();
        more_access = entries.len().saturating_sub(ACCESS_LINES);
        let mut names: std::collections::HashMap<String, (String, String)> =
            std::collections::HashMap::new();
        for e in entries.iter().rev().take(ACCESS_LINES) {
            let uid = e
                .actor
                .strip_prefix("calendar-link:")
                .map_or(e.actor.as_str(), |_| "");
            let (who, role) = match names.get(uid) {
                Some(v) => v.clone(),
                None => {
                    let v = match state.store.user(uid).await.ok().flatten() {
                        Some(u) => (
                            u.display_name.unwrap_or(u.email),
                            tr(lang, &format!("role-{}", u.role), &[]),
                        ),
                        None => (tr(lang, "access-system", &[]), String::new()),
                    };
                    names.insert(uid.to_owned(), v.clone());
                    v
                }
            };
            access.push(AccessLine {
                at: i18n::timestamp(lang, &e.at),
                who,
                role,
                what: action_text(lang, &e.action),
            });
        }
    }
    let links = state
        .store
        .calendar_tokens(id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|t| is_owner || t.created_by == s.actor().id)
        .collect::<Vec<_>>();
    let mut link_views = Vec::new();
    for t in links {
        let made = Date::parse(t.created_at.get(..10).unwrap_or_default()).ok();
        link_views.push(LinkView {
            by: name_of(state, &t.created_by).await,
            made: i18n::timestamp(lang, &t.created_at),
            expires: made.map_or_else(String::new, |d| {
                i18n::date(lang, d.add_days(cellpath_store::CALENDAR_TOKEN_DAYS as i64))
            }),
            revoked: t.revoked_at.is_some(),
            id: t.id,
        });
    }
    let mut requests = Vec::new();
    if is_owner {
        for r in state
            .store
            .relations_of(&s.actor().id)
            .await
            .unwrap_or_default()
        {
            if r.status == "requested" && r.patient_id == s.actor().id {
                let role = match state.store.user(&r.user_id).await.ok().flatten() {
                    Some(u) => tr(lang, &format!("role-{}", u.role), &[]),
                    None => String::new(),
                };
                requests.push(RequestView {
                    name: name_of(state, &r.user_id).await,
                    role,
                    id: r.id,
                });
            }
        }
    }
    let owner = name_of(state, &case.owner_id).await;
    let (title, nav) = if s.actor().role == Role::Patient {
        ("team-title", "nav-team")
    } else {
        ("team-title-other", "nav-team-other")
    };
    let f = s.frame(title, case_nav(lang, id, s.actor().role, nav));
    let status = crate::frame::status_for(&error);
    page_with(
        status,
        &TeamPage {
            f,
            id: id.to_owned(),
            owner,
            members: views,
            requests,
            access,
            links: link_views,
            can_invite,
            can_audit,
            error,
            more_access,
        },
    )
}

/// An audit action in words: the family of what was done, never its details.
fn action_text(lang: Lang, action: &str) -> String {
    let families = [
        ("document.download", "act-document-download"),
        ("document.upload", "act-document-upload"),
        ("document.", "act-documents"),
        ("case.record", "act-record"),
        ("case.screen", "act-screen"),
        ("case.member.add", "act-member-add"),
        ("case.member.remove", "act-member-remove"),
        ("case.member", "act-members"),
        ("case.audit", "act-audit"),
        ("case.message", "act-message"),
        ("case.transition", "act-transition"),
        ("case.create", "act-create"),
        ("case.", "act-case"),
        ("page.case", "act-case"),
        ("journey.calendar", "act-calendar"),
        ("journey.", "act-journey"),
        ("calendar.", "act-calendar"),
        ("diary.", "act-diary"),
        ("supportive.", "act-support"),
        ("monitoring.", "act-monitoring"),
        ("mdt.", "act-mdt"),
        ("fhir.", "act-record"),
        ("demo.", "act-create"),
    ];
    let key = families
        .iter()
        .find(|(prefix, _)| action.starts_with(prefix))
        .map_or("act-other", |(_, k)| k);
    tr(lang, key, &[])
}

pub async fn team(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    team_page(&state, &s, &id, String::new()).await
}

/// `POST /cases/{id}/team`: invite a caregiver by e-mail, accept a request, remove a member,
/// make or revoke a calendar link — each through the API's use case.
pub async fn team_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    let actor = s.writer();
    let back = format!("/cases/{id}/team");
    let result: Result<&str, ApiError> = match form.get("do") {
        Some("invite") => invite(&state, &actor, &id, &form).await,
        Some("accept") => cellpath_web::relations::accept(
            State(state.clone()),
            actor,
            Path(form.text("relation")),
        )
        .await
        .map(|_| "request-accepted"),
        Some("remove") => cellpath_web::cases::remove_member(
            State(state.clone()),
            actor,
            Path((id.clone(), form.text("user"))),
        )
        .await
        .map(|_| "member-removed"),
        Some("revoke-link") => cellpath_web::care::revoke_calendar_token(
            State(state.clone()),
            actor,
            Path((id.clone(), form.text("link"))),
        )
        .await
        .map(|_| "link-revoked"),
        _ => Err(ApiError::bad_request(
            cellpath_web::ErrorCode::InvalidBody,
            "no such action",
        )),
    };
    match result {
        // Removing oneself ends one's access: back to one's cases.
        Ok("member-removed") if form.text("user") == s.actor().id => done("/cases", "left-case"),
        Ok(key) => done(&back, key),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let msg = s.message(&e);
            team_page(&state, &s, &id, msg).await
        }
        Err(e) => s.fail(e),
    }
}

/// A caregiver invited by e-mail: the patient's care relation with them (if not already
/// there), then their place on the case with the access chosen.
async fn invite(
    state: &Shared,
    actor: &cellpath_web::Actor,
    id: &str,
    form: &Fields,
) -> Result<&'static str, ApiError> {
    let email = form.text("email").to_lowercase();
    let unknown = || {
        ApiError::bad_request(
            cellpath_web::ErrorCode::UnknownUser,
            "no caregiver account has this e-mail address",
        )
        .at("email")
    };
    let user = state
        .store
        .user_by_email(&email)
        .await?
        .filter(|u| u.role == "caregiver")
        .ok_or_else(unknown)?;
    let access = match form.get("access") {
        Some("act") => "act",
        _ => "view",
    };
    let related = state.store.relation_active(&actor.id, &user.id).await?;
    if !related && actor.role == Role::Patient {
        let json = serde_json::json!({"user_id": user.id});
        cellpath_web::relations::create(
            State(state.clone()),
            actor.clone(),
            Bytes::from(json.to_string()),
        )
        .await?;
    }
    let json = serde_json::json!({"user_id": user.id, "role": "caregiver", "access": access});
    cellpath_web::cases::add_member(
        State(state.clone()),
        actor.clone(),
        Path(id.to_owned()),
        Bytes::from(json.to_string()),
    )
    .await?;
    Ok("caregiver-invited")
}

// ---------------------------------------------------------------- journey

struct StepView {
    name: String,
    when: String,
    state: String,
    actual: bool,
    tasks: Vec<String>,
    bring: Vec<String>,
    contact: Option<String>,
    basis: String,
}

#[derive(Template)]
#[template(path = "journey.html")]
struct JourneyPage {
    f: Frame,
    id: String,
    has_plan: bool,
    svg: String,
    steps: Vec<StepView>,
    conflicts: Vec<String>,
    new_link: String,
    sources: Vec<(String, String)>,
    can_link: bool,
}

async fn journey_page(state: &Shared, s: &Signed, id: &str, new_link: String) -> Response {
    if let Err(r) = open(state, s, id, Action::ReadCase, "journey.read").await {
        return r;
    }
    let lang = s.lang;
    let pair = match cellpath_web::care::load_plan(state, id).await {
        Ok(p) => p,
        Err(e) => return s.fail(e),
    };
    let today = state.today().unwrap_or_else(|_| Date::from_days(0));
    let (svg, steps, conflicts, sources) = match &pair {
        Some(pair) => {
            let (t, plan) = (&pair.0, &pair.1);
            let steps = plan
                .steps
                .iter()
                .map(|st| {
                    let tpl = t.steps.iter().find(|x| x.id == st.id);
                    let when = crate::planner::when(lang, st);
                    let state_key = match st.state {
                        cellpath_care::journey::StepState::Planned => "step-planned",
                        cellpath_care::journey::StepState::Actual => "step-actual",
                        cellpath_care::journey::StepState::NeedsDate => "step-needs-date",
                    };
                    StepView {
                        name: st.name.get(lang).to_owned(),
                        when,
                        state: tr(lang, state_key, &[]),
                        actual: st.state == cellpath_care::journey::StepState::Actual,
                        tasks: tpl.map_or_else(Vec::new, |x| {
                            x.tasks.iter().map(|b| b.get(lang).to_owned()).collect()
                        }),
                        bring: tpl.map_or_else(Vec::new, |x| {
                            x.bring.iter().map(|b| b.get(lang).to_owned()).collect()
                        }),
                        contact: tpl
                            .and_then(|x| x.contact.as_ref())
                            .map(|b| b.get(lang).to_owned()),
                        basis: st.basis.get(lang).to_owned(),
                    }
                })
                .collect();
            let conflicts = plan
                .conflicts
                .iter()
                .map(|c| c.message.get(lang).to_owned())
                .collect();
            let sources = t
                .sources
                .iter()
                .map(|s| (s.title.clone(), s.url.clone()))
                .collect();
            (
                crate::svg::timeline(plan, lang, today),
                steps,
                conflicts,
                sources,
            )
        }
        None => (String::new(), Vec::new(), Vec::new(), Vec::new()),
    };
    let can_link = s.may(state, id, Action::PlanJourney).await;
    let f = case_frame(state, s, id, "journey-title", "nav-journey").await;
    page(&JourneyPage {
        can_link,
        f,
        id: id.to_owned(),
        has_plan: pair.is_some(),
        svg,
        steps,
        conflicts,
        new_link,
        sources,
    })
}

pub async fn journey(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    journey_page(&state, &s, &id, String::new()).await
}

/// `POST /cases/{id}/journey`: make a calendar link (the API's use case); the link is shown
/// once, to copy into a calendar application.
pub async fn journey_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = Fields::parse(&body).check(&s) {
        return r;
    }
    let actor = s.writer();
    match cellpath_web::care::create_calendar_token(State(state.clone()), actor, Path(id.clone()))
        .await
    {
        Ok(r) => {
            let v = json_of(r).await;
            let path = v["url"].as_str().unwrap_or_default().to_owned();
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if state.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            let link = if path.starts_with('/') {
                format!("{scheme}://{host}{path}")
            } else {
                path
            };
            journey_page(&state, &s, &id, link).await
        }
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------- diary

struct DiaryLine {
    at: String,
    by: String,
    summary: String,
    call_now: bool,
}

#[derive(Template)]
#[template(path = "diary.html")]
struct DiaryPage {
    f: Frame,
    id: String,
    answer: Option<AnswerView>,
    history: Vec<DiaryLine>,
    error: String,
    temperature: String,
    emergency: String,
    /// The treating team's 24-hour number as the plan records it (shown, and dialled).
    team_phone: Option<(String, String)>,
    signs: Vec<(String, String, bool)>,
    receipts: Vec<ReceiptView>,
}

/// The answer to what was just reported, shown where the eyes are: at the form.
struct AnswerView {
    call_now: bool,
    call_emergency: bool,
    instruction: String,
    reported: String,
    temperature_note: Option<String>,
    measure_again: bool,
    /// "The team was alerted at 21:02 …; if nobody has called you by 21:17, call …".
    alerted: Option<String>,
}

/// Where an alert the family raised stands, in their words.
struct ReceiptView {
    id: String,
    text: String,
    acknowledged: bool,
}

/// The warning signs the diary asks about, in the order a caregiver meets them (the care
/// rules' list: `care::diary::SIGNS`).
pub fn signs() -> impl Iterator<Item = &'static str> {
    cellpath_care::diary::SIGNS.iter().map(|s| s.key)
}

async fn receipts(state: &Shared, lang: Lang, id: &str) -> Result<Vec<ReceiptView>, ApiError> {
    let (phone, offset) = cellpath_web::care::centre_contacts(state, id).await?;
    let phone = phone.map_or_else(
        || tr(lang, "diary-team-number-unknown", &[]),
        |p| p.as_str().to_owned(),
    );
    let mut out = Vec::new();
    for a in cellpath_web::alerts::of_case(state, id)
        .await?
        .iter()
        .take(5)
    {
        let at = cellpath_web::notify::clock_time(&a.row.raised_at, offset);
        let text = match &a.row.ack {
            Some(k) => tr(
                lang,
                "diary-receipt-acked",
                &[
                    ("at", &at),
                    ("what", &a.reported.words(lang)),
                    (
                        "name",
                        &k.user_name
                            .clone()
                            .unwrap_or_else(|| tr(lang, "diary-a-team-member", &[])),
                    ),
                    ("acked", &cellpath_web::notify::clock_time(&k.at, offset)),
                    (
                        "action",
                        cellpath_web::alerts::action_words(k.action).get(lang),
                    ),
                ],
            ),
            // Nobody treats the case in cellpath: the receipt says what the answer said.
            None if a.row.notified.is_empty() => tr(
                lang,
                "diary-receipt-nobody",
                &[("what", &a.reported.words(lang)), ("phone", &phone)],
            ),
            None => tr(
                lang,
                "diary-receipt-waiting",
                &[
                    ("at", &at),
                    ("what", &a.reported.words(lang)),
                    (
                        "by",
                        &cellpath_web::notify::clock_time(&a.row.call_by, offset),
                    ),
                    ("phone", &phone),
                ],
            ),
        };
        out.push(ReceiptView {
            id: a.row.id.clone(),
            text,
            acknowledged: a.row.ack.is_some(),
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn diary_page(
    state: &Shared,
    s: &Signed,
    id: &str,
    answer: Option<AnswerView>,
    error: String,
    temperature: String,
    ticked: &[String],
) -> Response {
    if let Err(r) = open(state, s, id, Action::ReadCase, "diary.read").await {
        return r;
    }
    let lang = s.lang;
    let rows = match state.store.diary(id).await {
        Ok(r) => r,
        Err(e) => return s.fail(e.into()),
    };
    let mut history = Vec::new();
    for r in rows.iter().rev() {
        let entry: serde_json::Value = serde_json::from_str(&r.entry).unwrap_or_default();
        let e = &entry["entry"];
        let mut parts = Vec::new();
        if let Some(t) = e["temperature_c"].as_f64() {
            parts.push(tr(lang, "diary-temp-was", &[("t", &format!("{t:.1}"))]));
        } else if let Some(t) = e["temperature_f"].as_f64() {
            let c = cellpath_care::diary::fahrenheit_to_celsius(t);
            parts.push(tr(lang, "diary-temp-was", &[("t", &format!("{c:.1}"))]));
        }
        for sign in signs() {
            if e[sign].as_bool() == Some(true) {
                parts.push(tr(lang, &format!("sign-{sign}"), &[]));
            }
        }
        if parts.is_empty() {
            parts.push(tr(lang, "diary-nothing", &[]));
        }
        history.push(DiaryLine {
            at: i18n::timestamp(lang, &r.at),
            by: name_of(state, &r.author_id).await,
            summary: parts.join(" · "),
            call_now: r.call_now != 0,
        });
    }
    let (phone, _) = match cellpath_web::care::centre_contacts(state, id).await {
        Ok(c) => c,
        Err(e) => return s.fail(e),
    };
    let receipts = match receipts(state, lang, id).await {
        Ok(r) => r,
        Err(e) => return s.fail(e),
    };
    let status = crate::frame::status_for(&error);
    let mut f = case_frame(state, s, id, "diary-title", "nav-diary").await;
    f.pinned = None; // this is the page the pinned button leads to
    page_with(
        status,
        &DiaryPage {
            f,
            id: id.to_owned(),
            answer,
            history,
            error,
            temperature,
            emergency: state.config.emergency.number.clone(),
            team_phone: phone.map(|p| (p.as_str().to_owned(), p.dial())),
            signs: signs()
                .map(|k| {
                    (
                        k.to_owned(),
                        tr(lang, &format!("sign-{k}"), &[]),
                        ticked.iter().any(|t| t == k),
                    )
                })
                .collect(),
            receipts,
        },
    )
}

pub async fn diary(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    diary_page(&state, &s, &id, None, String::new(), String::new(), &[]).await
}

/// `POST /cases/{id}/diary`: the diary's use case answers at once, in the reader's language,
/// and warning signs raise a safety alert for the team on call. The answer is shown at the
/// form (the form's address ends in `#answer`, so without JavaScript too the page opens
/// there), with what was reported and the numbers to call.
pub async fn diary_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    let lang = s.lang;
    let raw_t = form.text("temperature");
    let ticked: Vec<String> = signs()
        .filter(|k| form.get(k).is_some())
        .map(str::to_owned)
        .collect();
    let mut entry = cellpath_care::diary::DiaryEntry::default();
    if !raw_t.trim().is_empty() {
        match cellpath_care::diary::read_temperature(&raw_t) {
            Ok(cellpath_care::diary::TypedTemperature::Celsius(c)) => entry.temperature_c = Some(c),
            Ok(cellpath_care::diary::TypedTemperature::Fahrenheit(f)) => {
                entry.temperature_f = Some(f);
            }
            Err(e) => {
                let msg = e.words().get(lang).to_owned();
                return diary_page(&state, &s, &id, None, msg, raw_t, &ticked).await;
            }
        }
    }
    for k in &ticked {
        entry.set(k);
    }
    match cellpath_web::care::record_diary(&state, &s.writer(), &id, entry, lang).await {
        Ok(out) => {
            let alerted = match &out.alert {
                Some(al) => {
                    let (phone, offset) =
                        match cellpath_web::care::centre_contacts(&state, &id).await {
                            Ok(c) => c,
                            Err(e) => return s.fail(e),
                        };
                    let phone = phone.map_or_else(
                        || tr(lang, "diary-team-number-unknown", &[]),
                        |p| p.as_str().to_owned(),
                    );
                    Some(if al.told == 0 {
                        tr(lang, "diary-alerted-nobody", &[("phone", &phone)])
                    } else {
                        tr(
                            lang,
                            "diary-alerted",
                            &[
                                (
                                    "at",
                                    &cellpath_web::notify::clock_time(&al.alerted_at, offset),
                                ),
                                ("by", &cellpath_web::notify::clock_time(&al.call_by, offset)),
                                ("phone", &phone),
                            ],
                        )
                    })
                }
                None => None,
            };
            let a = out.answer;
            let answer = AnswerView {
                call_now: a.call_now,
                call_emergency: a.call_emergency,
                instruction: a.instruction,
                reported: a.reported,
                temperature_note: a.temperature_note,
                measure_again: a.measure_again,
                alerted,
            };
            diary_page(
                &state,
                &s,
                &id,
                Some(answer),
                String::new(),
                String::new(),
                &[],
            )
            .await
        }
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let msg = s.message(&e);
            diary_page(&state, &s, &id, None, msg, raw_t, &ticked).await
        }
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------- supportive care

struct SupportLine {
    rid: String,
    /// Awaiting a decision (or held): a specialist who decides is offered the form.
    open: bool,
    kind: String,
    details: String,
    when: String,
    state: String,
    state_class: &'static str,
    reason: Option<String>,
    note: Option<String>,
}

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage {
    f: Frame,
    id: String,
    kinds: Vec<(String, String)>,
    lines: Vec<SupportLine>,
    error: String,
    today: String,
    can_request: bool,
    can_decide: bool,
    /// The risk windows of the plan, in words, or why they cannot be known.
    windows: Vec<String>,
}

const KINDS: &[&str] = &[
    "nutrition",
    "sleep",
    "fatigue",
    "emotional-support",
    "tcm-herbal",
    "supplements",
    "acupuncture",
    "other",
];

async fn support_page(state: &Shared, s: &Signed, id: &str, error: String) -> Response {
    if let Err(r) = open(state, s, id, Action::ReadCase, "supportive.read").await {
        return r;
    }
    let lang = s.lang;
    let rows = state.store.supportive(id).await.unwrap_or_default();
    let lines = rows
        .iter()
        .rev()
        .map(|r| {
            let (key, class) = match r.state.as_str() {
                "approved" => ("support-approved", "met"),
                "declined" => ("support-declined", "not-met"),
                "held" => ("support-held", "unknown"),
                _ => ("support-pending", "pending"),
            };
            let reason = match lang {
                Lang::ZhCn => r.reason_zh.clone().or_else(|| r.reason.clone()),
                Lang::En => r.reason.clone(),
            };
            let reason = reason.map(|why| match &r.held_until {
                Some(u) => tr(
                    lang,
                    "support-held-until",
                    &[
                        ("reason", &why),
                        (
                            "until",
                            &Date::parse(u).map_or_else(|_| u.clone(), |d| i18n::date(lang, d)),
                        ),
                    ],
                ),
                None => why,
            });
            SupportLine {
                rid: r.id.clone(),
                open: matches!(
                    r.state,
                    cellpath_store::SupportiveState::AwaitingApproval
                        | cellpath_store::SupportiveState::Held
                ),
                kind: tr(lang, &format!("kind-{}", r.kind), &[]),
                details: r.details.clone(),
                when: Date::parse(&r.requested_for)
                    .map_or_else(|_| r.requested_for.clone(), |d| i18n::date(lang, d)),
                state: tr(lang, key, &[]),
                state_class: class,
                reason,
                note: match lang {
                    Lang::ZhCn => r.note_zh.clone().or_else(|| r.note.clone()),
                    Lang::En => r.note.clone(),
                }
                .filter(|n| !n.is_empty()),
            }
        })
        .collect();
    let kinds = KINDS
        .iter()
        .map(|k| ((*k).to_owned(), tr(lang, &format!("kind-{k}"), &[])))
        .collect();
    let today = state.today().map(|d| d.to_string()).unwrap_or_default();
    let can_request = s.may(state, id, Action::RequestSupport).await;
    // Decided by an oncology specialist on the case (medical oncology or cell therapy).
    let can_decide = s.may(state, id, Action::DecideSupport).await
        && s.actor()
            .specialty
            .as_deref()
            .is_some_and(cellpath_care::supportive::may_approve);
    let windows = if can_decide {
        match cellpath_web::care::risk_windows(state, id).await {
            Ok(Ok(ws)) => ws
                .iter()
                .map(|w| {
                    tr(
                        lang,
                        "support-window",
                        &[
                            ("from", &i18n::date(lang, w.from)),
                            ("to", &i18n::date(lang, w.to)),
                            ("days", &w.days_after.to_string()),
                        ],
                    )
                })
                .collect(),
            Ok(Err(why)) => vec![match lang {
                Lang::ZhCn => why.zh.clone(),
                Lang::En => why.en.clone(),
            }],
            Err(e) => return s.fail(e),
        }
    } else {
        Vec::new()
    };
    let status = crate::frame::status_for(&error);
    let f = case_frame(state, s, id, "support-title", "nav-support").await;
    page_with(
        status,
        &SupportPage {
            f,
            id: id.to_owned(),
            kinds,
            lines,
            error,
            today,
            can_request,
            can_decide,
            windows,
        },
    )
}

pub async fn support(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    support_page(&state, &s, &id, String::new()).await
}

/// `POST /cases/{id}/support`: the API's use case triages the request (held in the risk
/// window for herbs and supplements) and records it.
pub async fn support_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    if form.get("do") == Some("decide") {
        return support_decide(&state, &s, &id, &form).await;
    }
    let mut json = serde_json::json!({
        "kind": form.text("kind"),
        "details": form.text("details"),
        "requested_for": form.text("from"),
    });
    let until = form.text("until");
    if !until.is_empty() {
        json["requested_until"] = until.into();
    }
    let actor = s.writer();
    match cellpath_web::care::request_support(
        State(state.clone()),
        actor,
        Path(id.clone()),
        Bytes::from(json.to_string()),
    )
    .await
    {
        Ok(_) => done(&format!("/cases/{id}/support"), "support-requested"),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let field = match e.fields.first().map(String::as_str) {
                Some("/details") => tr(s.lang, "support-details", &[]),
                Some("/requested_for") => tr(s.lang, "support-from", &[]),
                Some("/requested_until") => tr(s.lang, "support-until", &[]),
                Some("/kind") => tr(s.lang, "support-kind", &[]),
                _ => String::new(),
            };
            let msg = s.message(&e);
            let msg = if field.is_empty() {
                msg
            } else {
                tr(
                    s.lang,
                    "field-message",
                    &[("field", &field), ("message", &msg)],
                )
            };
            support_page(&state, &s, &id, msg).await
        }
        Err(e) => s.fail(e),
    }
}

/// An oncology specialist approves or declines a request, with the reason in both
/// languages (the API's decision use case: held requests stay held in the risk window).
async fn support_decide(state: &Shared, s: &Signed, id: &str, form: &Fields) -> Response {
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("decline") => false,
        _ => {
            let msg = tr(
                s.lang,
                "field-message",
                &[
                    ("field", &tr(s.lang, "support-decision", &[])),
                    ("message", &tr(s.lang, "support-choose", &[])),
                ],
            );
            return support_page(state, s, id, msg).await;
        }
    };
    let json = serde_json::json!({
        "approve": approve,
        "note": form.text("note"),
        "note_zh": form.text("note_zh"),
    });
    match cellpath_web::care::decide_support(
        State(state.clone()),
        s.writer(),
        Path((id.to_owned(), form.text("rid"))),
        Bytes::from(json.to_string()),
    )
    .await
    {
        Ok(_) => done(&format!("/cases/{id}/support"), "support-decided"),
        Err(e) if matches!(e.status(), StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            support_page(state, s, id, s.message(&e)).await
        }
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------- messages

struct MessageView {
    by: String,
    at: String,
    body: String,
    mine: bool,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesPage {
    f: Frame,
    id: String,
    messages: Vec<MessageView>,
    error: String,
}

async fn messages_page(state: &Shared, s: &Signed, id: &str, error: String) -> Response {
    if let Err(r) = open(state, s, id, Action::ReadCase, "case.messages.read").await {
        return r;
    }
    let rows = state.store.messages(id).await.unwrap_or_default();
    let mut messages = Vec::new();
    for m in rows {
        messages.push(MessageView {
            by: name_of(state, &m.author_id).await,
            at: i18n::timestamp(s.lang, &m.created_at),
            mine: m.author_id == s.actor().id,
            body: m.body,
        });
    }
    // Opening the messages reads the case's message notices.
    if let Ok(list) = state.store.notifications(&s.actor().id).await {
        for n in list.iter().filter(|n| {
            n.read_at.is_none() && n.case_id.as_deref() == Some(id) && n.kind == "message"
        }) {
            let _ = cellpath_web::messages::mark_read(
                State(state.clone()),
                s.writer(),
                Path(n.id.clone()),
            )
            .await;
        }
    }
    let status = crate::frame::status_for(&error);
    let f = case_frame(state, s, id, "messages-title", "nav-messages").await;
    page_with(
        status,
        &MessagesPage {
            f,
            id: id.to_owned(),
            messages,
            error,
        },
    )
}

pub async fn messages(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    messages_page(&state, &s, &id, String::new()).await
}

pub async fn messages_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    let json = serde_json::json!({"body": form.get("body").unwrap_or_default()});
    let actor = s.writer();
    match cellpath_web::messages::post(
        State(state.clone()),
        actor,
        Path(id.clone()),
        Bytes::from(json.to_string()),
    )
    .await
    {
        Ok(_) => done(&format!("/cases/{id}/messages"), "message-sent"),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let msg = s.message(&e);
            messages_page(&state, &s, &id, msg).await
        }
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------- notifications

struct NoticeView {
    text: String,
    at: String,
    link: Option<String>,
    unread: bool,
    urgent: bool,
    count: usize,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    f: Frame,
    notices: Vec<NoticeView>,
    /// E-mail notifications: whether this server sends e-mail, and whether the account wants it.
    email_available: bool,
    email_on: bool,
}

pub async fn notifications(State(state): State<Shared>, s: Signed) -> Response {
    let lang = s.lang;
    // Only notices of cases one may still open, repeats grouped, alerts with their patient,
    // severity and what to do (`notify::notices`).
    let list = match cellpath_web::notify::notices(&state, s.actor(), lang).await {
        Ok(l) => l,
        Err(e) => return s.fail(e),
    };
    let notices = list
        .into_iter()
        .map(|n| NoticeView {
            urgent: n.severity.is_some() || n.kind == "monitoring-alert",
            text: n.text,
            at: i18n::timestamp(lang, &n.created_at),
            link: n.page,
            unread: n.unread,
            count: n.count,
        })
        .collect();
    let email_on = match state.store.email_notifications(&s.actor().id).await {
        Ok(on) => on,
        Err(e) => return s.fail(e.into()),
    };
    let f = s.frame(
        "notifications-title",
        home_nav(lang, s.actor().role, "nav-notifications"),
    );
    page(&NotificationsPage {
        f,
        notices,
        email_available: state.config.mailer.is_some(),
        email_on,
    })
}

/// `POST /notifications/email`: the account's choice of notifications by e-mail.
pub async fn notifications_email(State(state): State<Shared>, s: Signed, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    let on = form.get("email").is_some();
    match cellpath_web::accounts::set_email_notifications(&state, &s.writer(), on).await {
        Ok(()) => done(
            "/notifications#email",
            if on { "email-on" } else { "email-off" },
        ),
        Err(e) => s.fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys built from data (a case state, a role, a kind…) exist for every value the data
    /// can take, in both languages.
    #[test]
    fn every_key_family_is_complete() {
        let mut want: Vec<String> = Vec::new();
        for st in cellpath_domain::lifecycle::CaseState::ALL {
            want.push(format!("state-{}", st.as_str()));
            want.push(format!("state-{}-lay", st.as_str()));
        }
        for (stage, states) in STAGES {
            want.push(format!("stage-{stage}"));
            for st in *states {
                assert!(
                    cellpath_domain::lifecycle::CaseState::ALL
                        .iter()
                        .any(|s| s.as_str() == *st),
                    "{st} is no case state"
                );
            }
        }
        for r in Role::ALL {
            want.push(format!("role-{}", r.as_str()));
        }
        for a in cellpath_store::Access::ALL {
            want.push(format!("access-{}", a.as_str()));
        }
        for k in KINDS {
            want.push(format!("kind-{k}"));
            assert!(
                k.parse::<cellpath_care::supportive::Kind>().is_ok(),
                "{k} is no kind of support"
            );
        }
        for k in signs() {
            want.push(format!("sign-{k}"));
        }
        for t in cellpath_web::consent::texts() {
            want.push(format!("consent-gates-{}", t.kind.as_str()));
        }
        for v in ["eligible", "needs-information", "ineligible"] {
            want.push(format!("verdict-{v}-means"));
            want.push(format!("verdict-{v}-not-means"));
        }
        for s in cellpath_web::accounts::SPECIALTIES {
            want.push(format!("specialty-{s}"));
        }
        for e in [
            "signin",
            "forbidden",
            "not-found",
            "conflict",
            "too-large",
            "busy",
            "input",
            "server",
        ] {
            want.push(format!("error-{e}"));
        }
        for d in [
            "signed-out",
            "password-set",
            "uploaded",
            "screened",
            "consent-given",
            "consent-withdrawn",
            "caregiver-invited",
            "request-accepted",
            "member-removed",
            "left-case",
            "link-revoked",
            "support-requested",
            "message-sent",
        ] {
            want.push(format!("done-{d}"));
        }
        for c in ["application/pdf", "image/png", "application/zip", "x"] {
            want.push(doc_kind(c));
        }
        for a in ["document.upload", "case.read", "nothing.known"] {
            assert!(!action_text(Lang::ZhCn, a).starts_with('⟦'), "{a}");
        }
        let missing: Vec<&String> = want.iter().filter(|k| !i18n::has(k)).collect();
        assert!(missing.is_empty(), "keys missing: {missing:?}");
    }
}
