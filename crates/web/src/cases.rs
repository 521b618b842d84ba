// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! Case routes: create, list, read (with ETag), update the record (If-Match; a stale
//! write gets 409 with the current version), team and caregiver grants, lifecycle
//! transitions, screening with its stored history, and the case's audit trail.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cellpath_domain::lifecycle::CaseState;
use cellpath_domain::{Case, Date, native};
use cellpath_store::CaseRow;
use serde::Deserialize;
use serde_json::{Value, json};

use cellpath_domain::text::Lang;
use cellpath_store::{Access, ConsentKind, MemberRole};

use crate::policy::{Action, Relation, Role, allows};
use crate::{Actor, ApiError, ErrorCode, Shared};

/// Parses a JSON body; errors carry the JSON pointer at fault.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = pointer(e.path());
        let inner = e.into_inner();
        let mut err = ApiError::bad_request(
            ErrorCode::InvalidBody,
            format!(
                "{} (line {}, column {})",
                native::json_message(&inner),
                inner.line(),
                inner.column()
            ),
        );
        if !pointer.is_empty() {
            err = err.at(pointer);
        }
        err
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidBody, native::json_message(&e)))?;
    Ok(value)
}

/// An RFC 6901 JSON pointer for a serde path.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .map(|s| format!("/{s}"))
        .collect()
}

/// Every `source` in a record that names a document (`document:<id>`), with its pointer.
fn document_sources(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = format!("{at}/{k}");
                match (k.as_str(), child.as_str()) {
                    ("source", Some(text)) => {
                        if let Some(id) = text.strip_prefix("document:") {
                            out.push((here, id.trim().to_owned()));
                        }
                    }
                    _ => document_sources(child, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                document_sources(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A fact whose source is `document:<id>` must name a document of this case.
async fn check_document_links(
    state: &Shared,
    case_id: &str,
    record: &Value,
) -> Result<(), ApiError> {
    let mut links = Vec::new();
    document_sources(record, "/record", &mut links);
    for (pointer, id) in links {
        if state.store.document(case_id, &id).await?.is_none() {
            return Err(ApiError::bad_request(
                ErrorCode::UnknownDocument,
                format!("no document `{id}` on this case"),
            )
            .at(pointer));
        }
    }
    Ok(())
}

/// The record in a request: the native case format as JSON, validated like a case file.
fn parse_record(v: &Value) -> Result<Case, ApiError> {
    native::from_json(&v.to_string()).map_err(|e| {
        let mut err = ApiError::bad_request(ErrorCode::InvalidRecord, e.message.clone());
        if let Some(p) = &e.path {
            err = err.at(format!(
                "/record/{}",
                p.replace(['.', '['], "/").replace(']', "")
            ));
        }
        err
    })
}

/// Loads a case and checks the action (access and consent): see [`AppState::authorise`].
pub(crate) async fn authorise(
    state: &Shared,
    actor: &Actor,
    id: &str,
    action: Action,
) -> Result<CaseRow, ApiError> {
    state.authorise(actor, id, action).await
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).unwrap_or(HeaderValue::from_static("\"v0\""))
}

fn case_json(c: &CaseRow) -> Value {
    json!({
        "id": c.id,
        "owner_id": c.owner_id,
        "state": c.state,
        "version": c.version,
        "record": serde_json::from_str::<Value>(&c.record).unwrap_or(Value::Null),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}

/// The case as sent: the stored record goes out as it is, without being parsed again.
#[derive(serde::Serialize)]
struct CaseOut<'a> {
    id: &'a str,
    owner_id: &'a str,
    state: &'a str,
    version: i64,
    record: &'a serde_json::value::RawValue,
    created_at: &'a str,
    updated_at: &'a str,
}

fn with_etag(status: StatusCode, c: &CaseRow) -> Response {
    let mut h = HeaderMap::new();
    h.insert(axum::http::header::ETAG, etag(c.version));
    let Ok(record) = serde_json::from_str::<&serde_json::value::RawValue>(&c.record) else {
        return ApiError::internal("stored record is not JSON").into_response();
    };
    let out = CaseOut {
        id: &c.id,
        owner_id: &c.owner_id,
        state: &c.state,
        version: c.version,
        record,
        created_at: &c.created_at,
        updated_at: &c.updated_at,
    };
    (status, h, Json(out)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCase {
    record: Value,
    /// A coordinator creates a case for a patient by id.
    #[serde(default)]
    owner_id: Option<String>,
}

pub async fn create(
    State(state): State<Shared>,
    actor: Actor,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !allows(actor.role, Relation::None, Action::CreateCase) {
        return Err(ApiError::forbidden("your role may not create cases"));
    }
    let req: NewCase = parse_json(&body)?;
    let record = parse_record(&req.record)?;
    let owner = match (actor.role, req.owner_id) {
        (Role::Patient, None) => actor.id.clone(),
        (Role::Coordinator | Role::Caregiver, Some(owner)) => {
            // Only with the patient's grant (or an admin-approved coordinator relation); the
            // answer is the same whether or not the patient exists.
            if !state.store.relation_active(&owner, &actor.id).await? {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidOwner,
                    "you may open a case only for a patient who has invited you (or accepted \
                     your request): POST /api/v1/relations",
                )
                .at("/owner_id"));
            }
            owner
        }
        (Role::Patient, Some(_)) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidOwner,
                "a patient creates cases for themselves",
            )
            .at("/owner_id"));
        }
        _ => {
            return Err(
                ApiError::bad_request(ErrorCode::MissingOwner, "owner_id is required")
                    .at("/owner_id"),
            );
        }
    };
    state
        .require_consents(&owner, &[ConsentKind::HealthDataProcessing])
        .await?;
    let id = format!("c-{}", crate::auth::random_hex(8));
    let record_json = serde_json::to_string(&record).map_err(ApiError::internal)?;
    let mut tx = state.change(&actor, "case.create", Some(&id)).await?;
    let case = tx
        .create_case(cellpath_store::NewCase {
            id: &id,
            owner_id: &owner,
            created_by: &actor.id,
            state: CaseState::Inquiry.as_str(),
            record: &record_json,
        })
        .await?;
    let role = match actor.role {
        Role::Coordinator => Some(MemberRole::Coordinator),
        Role::Caregiver => Some(MemberRole::Caregiver),
        _ => None,
    };
    if let Some(role) = role {
        tx.add_member(&id, &actor.id, role, Access::Act).await?;
    }
    tx.commit().await?;
    Ok(with_etag(StatusCode::CREATED, &case))
}

pub async fn list(State(state): State<Shared>, actor: Actor) -> Result<Json<Value>, ApiError> {
    if actor.role == Role::Admin {
        return Ok(Json(json!({"cases": []})));
    }
    let cases = state.store.cases_for(&actor.id).await?;
    let mut out = Vec::new();
    for c in &cases {
        let member = state.store.member(&c.id, &actor.id).await?;
        if crate::app::relation_of(&actor, c, member.as_ref()) != Relation::None {
            out.push(json!({"id": c.id, "state": c.state, "version": c.version, "updated_at": c.updated_at}));
        }
    }
    state.read(&actor, "case.list", None).await?;
    Ok(Json(json!({"cases": out})))
}

pub async fn read(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::ReadCase).await?;
    state.read(&actor, "case.read", Some(&id)).await?;
    Ok(with_etag(StatusCode::OK, &case))
}

/// The version an update expects: `"vN"`, or `*` for "whatever is current" (RFC 9110).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let raw = headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::IfMatchRequired,
                "send If-Match with the ETag you read, e.g. \"v3\"",
            )
        })?;
    if raw.trim() == "*" {
        return Ok(None);
    }
    raw.trim()
        .trim_matches('"')
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::of(ErrorCode::InvalidIfMatch))
}

/// Writes a new record version and re-screens it, in one transaction with one audit entry.
async fn write_record(
    state: &Shared,
    actor: &Actor,
    use_case: &str,
    case: &CaseRow,
    expected: Option<i64>,
    record: &Case,
) -> Result<CaseRow, ApiError> {
    write_record_noted(state, actor, use_case, case, expected, record, None).await
}

/// As [`write_record`], with a note kept on the record version it makes (why it was
/// written so: an identity override's reason).
async fn write_record_noted(
    state: &Shared,
    actor: &Actor,
    use_case: &str,
    case: &CaseRow,
    expected: Option<i64>,
    record: &Case,
    note: Option<&str>,
) -> Result<CaseRow, ApiError> {
    let text = serde_json::to_string(record).map_err(ApiError::internal)?;
    let screened = screening(
        state,
        record,
        state.today()?,
        Lang::En,
        ScreeningKind::Automatic,
    )
    .await?;
    let mut tx = state.change(actor, use_case, Some(&case.id)).await?;
    let updated = tx
        .update_record_noted(&case.id, expected, &text, note)
        .await?;
    save_screening(state, &mut tx, &updated, screened).await?;
    tx.commit().await?;
    Ok(updated)
}

pub async fn update_record(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::EditRecord).await?;
    let expected = if_match(&headers)?;
    // One parse on the usual path; the slower one only to name what is wrong, or to find
    // document links when the record has any. A record can be megabytes: parsed on the
    // bounded CPU pool, not on this worker.
    let text = body.clone();
    let record = state
        .config
        .cpu
        .run(move || -> Result<Case, ApiError> {
            let fast = std::str::from_utf8(&text)
                .ok()
                .and_then(|t| native::from_json(t).ok());
            match fast {
                Some(record) => Ok(record),
                None => parse_record(&parse_json(&text)?),
            }
        })
        .await??;
    if body.windows(9).any(|w| w == b"document:") {
        let v: Value = parse_json(&body)?;
        check_document_links(&state, &id, &v).await?;
    }
    let case = write_record(
        &state,
        &actor,
        "case.record.update",
        &case,
        expected,
        &record,
    )
    .await?;
    Ok(with_etag(StatusCode::OK, &case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMember {
    user_id: String,
    /// coordinator | specialist | caregiver
    role: String,
    /// view | act (caregivers); specialists and coordinators act.
    #[serde(default)]
    access: Option<String>,
}

pub async fn add_member(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Outsiders learn nothing, not even whether the body was valid.
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let raw: NewMember = parse_json(&body)?;
    let role: MemberRole = raw.role.parse().map_err(|()| {
        ApiError::bad_request(
            ErrorCode::InvalidRole,
            "role must be coordinator, specialist or caregiver",
        )
        .at("/role")
    })?;
    let access: Option<Access> = match raw.access.as_deref() {
        None => None,
        Some(a) => Some(a.parse().map_err(|()| {
            ApiError::bad_request(ErrorCode::InvalidAccess, "access must be view or act")
                .at("/access")
        })?),
    };
    let (user_id, access_req) = (raw.user_id, access);
    let action = if role == MemberRole::Caregiver {
        Action::GrantCaregiver
    } else {
        Action::AssignTeam
    };
    let case = state.authorise(&actor, &id, action).await?;
    let needs: &[ConsentKind] = match role {
        MemberRole::Caregiver => &[ConsentKind::CaregiverAccess],
        MemberRole::Specialist => &[
            ConsentKind::HealthDataProcessing,
            ConsentKind::MdtSharing,
            ConsentKind::TransferAbroad,
        ],
        MemberRole::Coordinator => &[ConsentKind::HealthDataProcessing],
    };
    state.require_consents(&case.owner_id, needs).await?;
    let Some(user) = state.store.user(&user_id).await? else {
        return Err(ApiError::bad_request(ErrorCode::UnknownUser, "no such user").at("/user_id"));
    };
    if user.role != role.as_str() {
        return Err(ApiError::bad_request(
            ErrorCode::RoleMismatch,
            format!("that user is a {}", user.role),
        )
        .at("/role"));
    }
    let access = match (role, access_req) {
        (MemberRole::Caregiver, Some(a)) => a,
        (MemberRole::Caregiver, None) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidAccess,
                "access must be view or act",
            )
            .at("/access"));
        }
        (_, None) => Access::Act,
        (_, Some(_)) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidAccess,
                "access applies to caregivers only",
            )
            .at("/access"));
        }
    };
    let mut tx = state
        .change(&actor, format!("case.member.add.{role}"), Some(&id))
        .await?;
    tx.add_member(&id, &user_id, role, access).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user_id": user_id, "role": role, "access": access})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionReq {
    to: String,
}

pub async fn transition(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::Transition).await?;
    let req: TransitionReq = parse_json(&body)?;
    let to: CaseState = req
        .to
        .parse()
        .map_err(|e: String| ApiError::bad_request(ErrorCode::InvalidState, e).at("/to"))?;
    let from: CaseState = case.state.parse().map_err(ApiError::internal)?;
    if to == CaseState::Withdrawn && actor.role == Role::Specialist {
        return Err(ApiError::forbidden("specialists cannot withdraw a case"));
    }
    from.transition(to)
        .map_err(|why| ApiError::new(ErrorCode::IllegalTransition, why))?;
    let mut tx = state
        .change(&actor, format!("case.state.{to}"), Some(&id))
        .await?;
    let case = tx.set_state(&id, from.as_str(), to.as_str()).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &case))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScreenReq {
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

pub async fn screen(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::Screen).await?;
    let req: ScreenReq = if body.is_empty() {
        ScreenReq::default()
    } else {
        parse_json(&body)?
    };
    let as_of = match req.as_of {
        Some(s) => Date::parse(&s).map_err(|e| {
            ApiError::bad_request(ErrorCode::InvalidDate, e.to_string()).at("/as_of")
        })?,
        None => state.today()?,
    };
    let lang = match req.lang.as_deref() {
        None => Lang::En,
        Some(l) => Lang::parse(l).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidLang, "lang must be en or zh-CN").at("/lang")
        })?,
    };
    let screened = screening(
        &state,
        &stored_record(&case)?,
        as_of,
        lang,
        ScreeningKind::Requested,
    )
    .await?;
    let mut tx = state.change(&actor, "case.screen", Some(&id)).await?;
    let (sid, doc) = save_screening(&state, &mut tx, &case, screened).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": sid, "screening": doc})),
    )
        .into_response())
}

pub async fn screenings(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let list = state.store.screenings(&id).await?;
    state
        .read(&actor, "case.screenings.read", Some(&id))
        .await?;
    let changes = crate::registry::source_changes(&state).await?;
    let mut out = Vec::with_capacity(list.len());
    for s in &list {
        // Stale: a study a programme rests on changed after it was made.
        let since = crate::registry::changes_since(&changes, &s.id, &s.created_at);
        out.push(json!({
            "id": s.id, "case_version": s.case_version, "record_version": s.case_version,
            "catalogue_version": s.catalogue_version,
            "as_of": s.as_of, "created_at": s.created_at,
            "stale": !since.is_empty(),
            "stale_because": since,
            "screening": serde_json::from_str::<Value>(&s.results).unwrap_or(Value::Null),
        }));
    }
    Ok(Json(json!({ "screenings": out })))
}

/// `GET /cases/{id}/audit`: who did what, when — each person by name and role (the
/// account's display name, else its e-mail), each calendar link by who made it.
pub async fn audit(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadAudit).await?;
    state.read(&actor, "case.audit.read", Some(&id)).await?;
    let entries = state.store.audit_entries(Some(&id)).await?;
    let links = state.store.calendar_tokens(&id).await?;
    let mut people: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in &entries {
        let (user_id, via) = match e.actor.strip_prefix("calendar-link:") {
            Some(link) => (
                links
                    .iter()
                    .find(|l| l.id == link)
                    .map(|l| l.created_by.clone())
                    .unwrap_or_default(),
                Some(link.to_owned()),
            ),
            None => (e.actor.clone(), None),
        };
        let person = match people.get(&user_id).cloned() {
            Some(p) => p,
            None => {
                let p = match state.store.user(&user_id).await? {
                    Some(u) => json!({
                        "name": u.display_name.clone().unwrap_or_else(|| u.email.clone()),
                        "role": u.role,
                    }),
                    None => json!({"name": "cellpath", "role": "system"}),
                };
                people.insert(user_id.clone(), p.clone());
                p
            }
        };
        out.push(json!({
            "seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
            "request_id": e.request_id,
            "who": person,
            "calendar_link": via,
        }));
    }
    Ok(Json(json!({ "entries": out })))
}

#[derive(Deserialize)]
pub struct ImportQuery {
    /// The patient to import when the record holds several (`Patient/id`, fullUrl or id).
    patient: Option<String>,
    /// `true`: answer what the import would write, and write nothing.
    #[serde(default)]
    preview: Option<bool>,
    /// `merge` (the default: add and update facts, keep the rest) or `replace`.
    #[serde(default)]
    mode: Option<String>,
    /// Import although the bundle's patient differs from the case's, for this reason.
    #[serde(default)]
    override_reason: Option<String>,
}

fn fhir_error(e: &cellpath_fhir::ImportError) -> ApiError {
    let code = match e {
        cellpath_fhir::ImportError::SeveralPatients { .. }
        | cellpath_fhir::ImportError::NoSuchPatient { .. } => ErrorCode::SeveralPatients,
        cellpath_fhir::ImportError::TooLarge { .. } => ErrorCode::TooLarge,
        _ => ErrorCode::InvalidFhir,
    };
    ApiError::bad_request(code, e.to_string())
}

/// [`import_body`] on the bounded CPU pool (`cpu::CpuPool`): reading a large bundle is CPU
/// work that must not hold an async worker.
pub async fn import_body_pooled(
    state: &Shared,
    headers: &HeaderMap,
    body: axum::body::Bytes,
    options: &cellpath_fhir::Options,
) -> Result<cellpath_fhir::Import, ApiError> {
    let headers = headers.clone();
    let options = options.clone();
    state
        .config
        .cpu
        .run(move || import_body(&headers, &body, &options))
        .await?
}

/// Reads a FHIR body: a bundle (or one resource), or Bulk Data ndjson when the content type
/// says so (`application/fhir+ndjson`, `application/x-ndjson`) — one patient either way.
pub fn import_body(
    headers: &HeaderMap,
    body: &[u8],
    options: &cellpath_fhir::Options,
) -> Result<cellpath_fhir::Import, ApiError> {
    let ndjson = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("ndjson"));
    if !ndjson {
        return cellpath_fhir::import_with(body, options).map_err(|e| fhir_error(&e));
    }
    let mut bulk = cellpath_fhir::Bulk::new(options.clone());
    bulk.read("body", body).map_err(ApiError::internal)?;
    let result = bulk.finish();
    if let Some(p) = result.problems.first() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidFhir,
            format!("line {}: {}", p.line, p.message),
        ));
    }
    let patients: Vec<String> = result.cases.iter().map(|c| c.patient.clone()).collect();
    let mut cases = result.cases;
    let index = match &options.patient {
        Some(wanted) => cases.iter().position(|c| {
            c.patient == *wanted || c.patient.strip_prefix("Patient/") == Some(wanted.as_str())
        }),
        None if cases.len() == 1 => Some(0),
        None if cases.is_empty() => None,
        None => {
            return Err(fhir_error(&cellpath_fhir::ImportError::SeveralPatients {
                patients,
            }));
        }
    };
    match index {
        Some(i) => Ok(cases.swap_remove(i).import),
        None => Err(fhir_error(&cellpath_fhir::ImportError::NoSuchPatient {
            wanted: options.patient.clone().unwrap_or_default(),
            patients,
        })),
    }
}

/// Imports a FHIR R4 / mCODE bundle (or one patient's Bulk Data ndjson) as the case's record
/// (If-Match, like any record write), answering with the import report: what was used,
/// flagged and skipped per resource. A record about several patients is refused with the
/// list unless `?patient=` names one.
pub async fn import_fhir(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    query: axum::extract::Query<ImportQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::EditRecord).await?;
    let preview = query.0.preview.unwrap_or(false);
    let expected = if preview { None } else { if_match(&headers)? };
    let limit = state.config.max_fhir;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "FHIR imports are limited to {} MiB (the server's fhir_max_input_mb)",
                limit / (1024 * 1024)
            ),
        )
    })?;
    let options = cellpath_fhir::Options {
        patient: query.0.patient,
        max_input_bytes: limit as u64,
    };
    let imported = import_body_pooled(&state, &headers, body, &options).await?;
    let mode = match query.0.mode.as_deref() {
        None => cellpath_domain::merge::Mode::Merge,
        Some(m) => cellpath_domain::merge::Mode::parse(m).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidQuery, "mode is merge or replace").at("/mode")
        })?,
    };
    if preview {
        let p = preview_import(&state, &actor, &case, imported, mode).await?;
        return Ok((StatusCode::OK, Json(p.to_json())).into_response());
    }
    let case = write_import(
        &state,
        &actor,
        &id,
        expected,
        &imported,
        &ImportChoice {
            mode,
            leave_out: &[],
            override_reason: query.0.override_reason.as_deref(),
            lines: None,
        },
    )
    .await?;
    let mut h = HeaderMap::new();
    h.insert(axum::http::header::ETAG, etag(case.version));
    Ok((
        StatusCode::OK,
        h,
        Json(json!({"case": case_json(&case), "import_report": imported.report})),
    )
        .into_response())
}

/// What an import would write: by default the bundle's facts merged into the record
/// (added or updated, nothing the bundle does not mention removed), the rows of that merge,
/// the report per resource, the lines of therapy it derives, every fact it would change —
/// and, first, whether the bundle's patient is the case's. Nothing is written.
pub struct ImportPreview {
    pub import: cellpath_fhir::Import,
    /// The record version the preview was made against (for the If-Match of the import).
    pub version: i64,
    pub mode: cellpath_domain::merge::Mode,
    /// The record the import would write.
    pub record: Case,
    /// Each fact of the bundle that would change the record (merge), to take or leave.
    pub rows: Vec<cellpath_domain::merge::Row>,
    pub summary: cellpath_domain::merge::Summary,
    /// Where the bundle's patient differs from the case's: the import stops until someone
    /// overrides it with a reason.
    pub identity: Vec<cellpath_domain::merge::Mismatch>,
    pub lines: Option<cellpath_domain::lines::LinesOfTherapy>,
    pub changes: Vec<cellpath_domain::diff::Change>,
    /// The record as it is now (the other side of `changes`).
    pub previous: Value,
}

impl ImportPreview {
    pub fn to_json(&self) -> Value {
        json!({
            "preview": true,
            "record_version": self.version,
            "mode": self.mode,
            "identity": {
                "matches": self.identity.is_empty(),
                "differences": self.identity,
            },
            "summary": self.summary,
            "rows": self.rows,
            "record": self.record,
            "import_report": self.import.report,
            "lines": self.lines.as_ref().map(|l| &l.lines),
            "changes": self.changes,
        })
    }
}

/// The name the case's patient goes by, for the identity check.
async fn owner_name(state: &Shared, case: &CaseRow) -> Result<Option<String>, ApiError> {
    Ok(state
        .store
        .user(&case.owner_id)
        .await?
        .and_then(|u| u.display_name))
}

/// The record an import writes: merged with the rows `take` accepts, or the bundle's.
fn imported_record(
    current: &Case,
    import: &Case,
    mode: cellpath_domain::merge::Mode,
    take: &dyn Fn(&str) -> bool,
) -> cellpath_domain::merge::Merged {
    match mode {
        cellpath_domain::merge::Mode::Merge => cellpath_domain::merge::merge(current, import, take),
        cellpath_domain::merge::Mode::Replace => {
            let before = serde_json::to_value(current).unwrap_or(Value::Null);
            let after = serde_json::to_value(import).unwrap_or(Value::Null);
            let changes = cellpath_domain::diff::diff(&before, &after);
            let count = |k: cellpath_domain::diff::ChangeKind| {
                changes.iter().filter(|c| c.kind == k).count()
            };
            cellpath_domain::merge::Merged {
                case: import.clone(),
                rows: Vec::new(),
                summary: cellpath_domain::merge::Summary {
                    adds: count(cellpath_domain::diff::ChangeKind::Added),
                    updates: count(cellpath_domain::diff::ChangeKind::Changed),
                    removes: count(cellpath_domain::diff::ChangeKind::Removed),
                },
            }
        }
    }
}

/// The use case of a preview: the import read against the case (already authorised for
/// editing the record), the read audited, nothing written.
pub async fn preview_import(
    state: &Shared,
    actor: &Actor,
    case: &CaseRow,
    import: cellpath_fhir::Import,
    mode: cellpath_domain::merge::Mode,
) -> Result<ImportPreview, ApiError> {
    let current_json: Value = serde_json::from_str(&case.record).map_err(ApiError::internal)?;
    let current: Case = serde_json::from_value(current_json.clone()).map_err(ApiError::internal)?;
    let identity = cellpath_domain::merge::identity(
        &current,
        owner_name(state, case).await?.as_deref(),
        &import.case,
        import.subject_name.as_deref(),
    );
    let merged = imported_record(&current, &import.case, mode, &|_| true);
    let next = serde_json::to_value(&merged.case).map_err(ApiError::internal)?;
    let changes = cellpath_domain::diff::diff(&current_json, &next);
    let lines = cellpath_domain::lines::lines_of_therapy(&merged.case);
    state
        .read(actor, "case.record.import_preview", Some(&case.id))
        .await?;
    Ok(ImportPreview {
        import,
        version: case.record_version,
        mode,
        record: merged.case,
        rows: merged.rows,
        summary: merged.summary,
        identity,
        lines,
        changes,
        previous: current_json,
    })
}

/// How a confirmed import is written.
#[derive(Clone, Debug)]
pub struct ImportChoice<'a> {
    pub mode: cellpath_domain::merge::Mode,
    /// The rows of a merge left out (`cldn18.0`…); none by default.
    pub leave_out: &'a [String],
    /// Why the import goes on although the bundle's patient differs from the case's; without
    /// it such an import is refused.
    pub override_reason: Option<&'a str>,
    /// Lines of therapy as the coordinator confirmed or corrected them (`None`: keep the
    /// record's).
    pub lines: Option<Option<Vec<cellpath_domain::ConfirmedLine>>>,
}

/// The use case of a confirmed import: the bundle's record merged into the case's (or
/// replacing it), on the version previewed; refused while the bundle's patient differs from
/// the case's unless a reason is given — then written with that reason kept on the version
/// and its own audit action.
pub async fn write_import(
    state: &Shared,
    actor: &Actor,
    id: &str,
    expected: Option<i64>,
    import: &cellpath_fhir::Import,
    choice: &ImportChoice<'_>,
) -> Result<CaseRow, ApiError> {
    let case = state.authorise(actor, id, Action::EditRecord).await?;
    let current: Case = serde_json::from_str(&case.record).map_err(ApiError::internal)?;
    let identity = cellpath_domain::merge::identity(
        &current,
        owner_name(state, &case).await?.as_deref(),
        &import.case,
        import.subject_name.as_deref(),
    );
    let reason = choice
        .override_reason
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if !identity.is_empty() && reason.is_none() {
        let what: Vec<&str> = identity
            .iter()
            .map(|m| match m.field {
                cellpath_domain::merge::IdentityField::BirthDate => "birth date",
                cellpath_domain::merge::IdentityField::Sex => "sex",
                cellpath_domain::merge::IdentityField::Name => "name",
                cellpath_domain::merge::IdentityField::PrimarySite => "primary site",
            })
            .collect();
        return Err(ApiError::new(
            ErrorCode::IdentityMismatch,
            format!(
                "the bundle's patient differs from the case's ({}): import only with a reason (override_reason)",
                what.join(", ")
            ),
        ));
    }
    if reason.is_some_and(|r| r.chars().count() > 1000) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidBody,
            "the reason has at most 1,000 characters",
        )
        .at("/override_reason"));
    }
    let leave = |k: &str| !choice.leave_out.iter().any(|x| x == k);
    let mut record = imported_record(&current, &import.case, choice.mode, &leave).case;
    if let Some(lines) = &choice.lines {
        record.lines.clone_from(lines);
    }
    let use_case = if identity.is_empty() {
        "case.record.import_fhir"
    } else {
        "case.record.import_fhir.identity_override"
    };
    let note = reason.map(|r| format!("imported although the bundle's patient differs: {r}"));
    write_record_noted(
        state,
        actor,
        use_case,
        &case,
        expected,
        &record,
        note.as_deref(),
    )
    .await
}

/// `GET /cases/{id}/fhir`: the record as an mCODE STU4 bundle, each resource with its source.
pub async fn export_fhir(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::ReadCase).await?;
    let record = stored_record(&case)?;
    state
        .read(&actor, "case.record.export_fhir", Some(&id))
        .await?;
    let body = serde_json::to_vec(&cellpath_fhir::export(&record)).map_err(ApiError::internal)?;
    let mut h = HeaderMap::new();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    h.insert(axum::http::header::ETAG, etag(case.version));
    Ok((StatusCode::OK, h, body).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    caregivers_manage_members: bool,
}

/// `PUT /cases/{id}/settings` (the patient): what the patient allows on the case — whether
/// caregivers with `act` access may remove members for them.
pub async fn put_settings(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::GrantCaregiver).await?;
    if case.owner_id != actor.id {
        return Err(ApiError::forbidden("only the patient sets what is allowed"));
    }
    let s: Settings = parse_json(&body)?;
    let mut tx = state.change(&actor, "case.settings", Some(&id)).await?;
    tx.set_caregivers_manage_members(&id, s.caregivers_manage_members)
        .await?;
    tx.commit().await?;
    Ok(Json(json!({"caregivers_manage_members": s.caregivers_manage_members})).into_response())
}

/// `DELETE /cases/{id}/members/{uid}`: the patient removes anyone — a caregiver, a
/// coordinator, a specialist — and so may a caregiver with `act` access where the patient
/// allows it (`PUT …/settings`); an assigned coordinator removes coordinators and
/// specialists.
/// Access ends at once, and a specialist leaves the MDT team (their signed opinions stay).
pub async fn remove_member(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, uid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::RemoveMember).await?;
    let member = state
        .store
        .member(&id, &uid)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let caregiver = actor.role == Role::Caregiver;
    if caregiver && !state.store.caregivers_manage_members(&id).await? {
        return Err(ApiError::forbidden(
            "the patient has not allowed caregivers to remove members",
        ));
    }
    if member.role == MemberRole::Caregiver && case.owner_id != actor.id && !caregiver {
        return Err(ApiError::forbidden(
            "only the patient (or a caregiver they allow) removes a caregiver",
        ));
    }
    let mut tx = state
        .change(
            &actor,
            format!("case.member.remove.{}", member.role),
            Some(&id),
        )
        .await?;
    tx.remove_member(&id, &uid).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A screening of one record as of a day, computed before any transaction opens (it is the
/// CPU-heavy part, and SQLite's writer must not wait on it).
struct Screened {
    as_of: Date,
    doc: serde_json::Map<String, Value>,
}

/// A screening someone asked for keeps every criterion's explanation; the automatic one
/// after each record change keeps the verdicts and each criterion's status (computed without
/// building explanations), since the explanation is reproducible from the record version.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScreeningKind {
    Requested,
    Automatic,
}

/// [`screening_now`] on the bounded CPU pool (`cpu::CpuPool`), never on an async worker.
async fn screening(
    state: &Shared,
    record: &Case,
    as_of: Date,
    lang: Lang,
    kind: ScreeningKind,
) -> Result<Screened, ApiError> {
    let shared = std::sync::Arc::clone(state);
    let record = record.clone();
    state
        .config
        .cpu
        .run(move || screening_now(&shared, &record, as_of, lang, kind))
        .await
}

fn screening_now(
    state: &Shared,
    record: &Case,
    as_of: Date,
    lang: Lang,
    kind: ScreeningKind,
) -> Screened {
    let mut doc = serde_json::Map::new();
    doc.insert("as_of".into(), json!(as_of.to_string()));
    doc.insert("catalogue_version".into(), json!(state.catalogue.version()));
    match kind {
        ScreeningKind::Requested => {
            let results =
                cellpath_eligibility::screen(&state.screening_catalogue(), record, as_of, &[]);
            doc.insert("kind".into(), json!("requested"));
            doc.insert(
                "results".into(),
                json!(cellpath_eligibility::eval::localise(&results, lang)),
            );
        }
        ScreeningKind::Automatic => {
            doc.insert("kind".into(), json!("automatic"));
            doc.insert(
                "summary".into(),
                json!(cellpath_eligibility::screen_summary(
                    &state.screening_catalogue(),
                    record,
                    as_of
                )),
            );
        }
    }
    doc.insert(
        "disclaimer".into(),
        json!(
            cellpath_domain::text::Bi::new(
                "Not medical advice: a pre-screen for the treating team and the MDT to confirm.",
                "非医疗建议：本预筛结果须由主治团队和多学科团队确认。",
            )
            .get(lang)
        ),
    );
    Screened { as_of, doc }
}

/// Stores a screening inside the caller's transaction, naming the record version screened
/// and the catalogue version.
async fn save_screening(
    state: &Shared,
    tx: &mut cellpath_store::Tx,
    case: &CaseRow,
    s: Screened,
) -> Result<(String, Value), ApiError> {
    let mut doc = s.doc;
    // What the registry says changed, not yet reviewed, beside the verdicts it may undo.
    let changes: Vec<_> = crate::registry::open_source_changes(tx)
        .await?
        .into_iter()
        .filter(|c| state.catalogue.get(&c.programme_id).is_some())
        .collect();
    if !changes.is_empty() {
        doc.insert("source_changes".into(), json!(changes));
    }
    doc.insert("case_version".into(), json!(case.record_version));
    doc.insert("record_version".into(), json!(case.record_version));
    let doc = Value::Object(doc);
    let sid = crate::auth::sortable_id("s");
    tx.save_screening(
        &sid,
        &case.id,
        case.record_version,
        state.catalogue.version(),
        &s.as_of.to_string(),
        &doc.to_string(),
    )
    .await?;
    Ok((sid, doc))
}

fn stored_record(case: &CaseRow) -> Result<Case, ApiError> {
    serde_json::from_str(&case.record).map_err(ApiError::internal)
}

/// Re-screens a case inside the caller's change (a registry study it was screened against
/// stopped recruiting). False when the case is gone or its owner's consent to processing is
/// not in force: such a case is left as it is.
pub(crate) async fn rescreen_in(
    state: &Shared,
    tx: &mut cellpath_store::Tx,
    case_id: &str,
) -> Result<bool, ApiError> {
    let Some(case) = tx.case(case_id).await? else {
        return Ok(false);
    };
    if state
        .require_consents(&case.owner_id, &[ConsentKind::HealthDataProcessing])
        .await
        .is_err()
    {
        return Ok(false);
    }
    let screened = screening(
        state,
        &stored_record(&case)?,
        state.today()?,
        Lang::En,
        ScreeningKind::Automatic,
    )
    .await?;
    save_screening(state, tx, &case, screened).await?;
    Ok(true)
}

/// Why re-screening at start failed (for the command line, which has no HTTP).
#[derive(Debug, thiserror::Error)]
#[error("re-screening failed: {0}")]
pub struct RescreenError(String);

/// Re-screens every case whose latest screening used another catalogue or an older record
/// (run at start, so that a catalogue change reaches every case). Returns how many. Each
/// re-screen is a change of its own, audited as the system's.
pub async fn rescreen_stale(state: &Shared) -> Result<usize, RescreenError> {
    rescreen_all(state).await.map_err(|e| {
        RescreenError(format!(
            "{}{}",
            e.code.as_str(),
            e.detail.map(|d| format!(": {d}")).unwrap_or_default()
        ))
    })
}

async fn rescreen_all(state: &Shared) -> Result<usize, ApiError> {
    let mut n = 0;
    for (id, _) in state.store.case_versions().await? {
        let Some(case) = state.store.case(&id).await? else {
            continue;
        };
        let latest = state.store.screenings(&id).await?.pop();
        let fresh = latest.is_some_and(|s| {
            s.case_version == case.record_version
                && s.catalogue_version == state.catalogue.version()
        });
        if fresh {
            continue;
        }
        let mut tx = state
            .change_as("system", "rescreen", "case.rescreen", Some(&id))
            .await?;
        // Without consent to processing nothing is screened, and the change is dropped.
        if rescreen_in(state, &mut tx, &id).await? {
            tx.commit().await?;
            n += 1;
        }
    }
    Ok(n)
}

/// `GET /cases/{id}/record/versions`: every kept version of the record — who wrote it,
/// when, through which use case — newest last.
pub async fn record_versions(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let case = state.authorise(&actor, &id, Action::ReadCase).await?;
    let versions = state.store.record_versions(&id).await?;
    state
        .read(&actor, "case.record.versions", Some(&id))
        .await?;
    Ok(Json(json!({
        "current": case.record_version,
        "versions": versions.iter().map(|v| json!({
            "version": v.version, "actor": v.actor, "use_case": v.use_case, "at": v.at,
        })).collect::<Vec<_>>(),
    })))
}

fn version_number(raw: &str) -> Result<i64, ApiError> {
    raw.trim_start_matches('v').parse().map_err(|_| {
        ApiError::new(
            ErrorCode::UnknownVersion,
            format!("`{raw}` is not a version number"),
        )
    })
}

/// `GET /cases/{id}/record/versions/{v}`: one version of the record.
pub async fn record_version(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, v)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let n = version_number(&v)?;
    let version = state
        .store
        .record_version(&id, n)
        .await?
        .ok_or_else(|| ApiError::of(ErrorCode::UnknownVersion))?;
    state.read(&actor, "case.record.version", Some(&id)).await?;
    Ok(Json(json!({
        "version": version.version, "actor": version.actor, "use_case": version.use_case,
        "at": version.at,
        "record": serde_json::from_str::<Value>(&version.record).map_err(ApiError::internal)?,
    })))
}

/// `from` and `to` of a diff query (read after access is decided, so that outsiders learn
/// nothing from its errors).
fn diff_query(raw: Option<&str>) -> Result<(i64, i64), ApiError> {
    let (mut from, mut to) = (None, None);
    for pair in raw.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("from", v)) => from = Some(version_number(v)?),
            Some(("to", v)) => to = Some(version_number(v)?),
            _ => {}
        }
    }
    match (from, to) {
        (Some(f), Some(t)) => Ok((f, t)),
        _ => Err(ApiError::new(
            ErrorCode::UnknownVersion,
            "give ?from=N&to=M (record versions)",
        )),
    }
}

/// `GET /cases/{id}/record/diff?from=2&to=5`: what changed between two versions, fact by
/// fact (JSON pointers with the value before and after).
pub async fn record_diff(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let (from, to) = diff_query(query.as_deref())?;
    let load = async |n: i64| -> Result<Value, ApiError> {
        let v = state
            .store
            .record_version(&id, n)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::UnknownVersion, format!("v{n}")))?;
        serde_json::from_str(&v.record).map_err(ApiError::internal)
    };
    let (a, b) = (load(from).await?, load(to).await?);
    let changes = cellpath_domain::diff::diff(&a, &b);
    state.read(&actor, "case.record.diff", Some(&id)).await?;
    Ok(Json(json!({"from": from, "to": to, "changes": changes})))
}
