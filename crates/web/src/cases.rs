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

use crate::policy::{Action, Relation, Role, allows};

const PROCESSING: &str = "health-data-processing";
use crate::{Actor, ApiError, Shared};

/// Parses a JSON body; errors carry the JSON pointer at fault.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = pointer(e.path());
        let inner = e.into_inner();
        let mut err = ApiError::bad_request(
            "invalid_body",
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
        .map_err(|e| ApiError::bad_request("invalid_body", native::json_message(&e)))?;
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
                "unknown_document",
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
        let mut err = ApiError::bad_request("invalid_record", e.message.clone());
        if let Some(p) = &e.path {
            err = err.at(format!(
                "/record/{}",
                p.replace(['.', '['], "/").replace(']', "")
            ));
        }
        err
    })
}

async fn relation(state: &Shared, actor: &Actor, case: &CaseRow) -> Result<Relation, ApiError> {
    if case.owner_id == actor.id {
        return Ok(Relation::Owner);
    }
    let member = state.store.member(&case.id, &actor.id).await?;
    Ok(relation_of(actor, case, member.as_ref()))
}

/// What the actor is to the case, given their membership row.
fn relation_of(actor: &Actor, case: &CaseRow, member: Option<&cellpath_store::Member>) -> Relation {
    if case.owner_id == actor.id {
        return Relation::Owner;
    }
    let Some(m) = member else {
        return Relation::None;
    };
    match (actor.role, m.role.as_str()) {
        (Role::Caregiver, "caregiver") => Relation::Caregiver {
            acts: m.access == "act",
        },
        (Role::Coordinator, "coordinator") => Relation::AssignedCoordinator,
        (Role::Specialist, "specialist") => Relation::AssignedSpecialist,
        _ => Relation::None,
    }
}

/// Loads a case and checks the action; someone with no relation gets 404, as if it did not
/// exist, so ids reveal nothing.
pub(crate) async fn authorise(
    state: &Shared,
    actor: &Actor,
    id: &str,
    action: Action,
) -> Result<CaseRow, ApiError> {
    let (case, member) = state
        .store
        .case_for(id, &actor.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let rel = relation_of(actor, &case, member.as_ref());
    if rel == Relation::None || actor.role == Role::Admin {
        return Err(ApiError::not_found());
    }
    if !allows(actor.role, rel, action) {
        return Err(ApiError::forbidden(format!(
            "your role may not do this on this case ({action:?})"
        )));
    }
    Ok(case)
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
        return ApiError::internal().into_response();
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
            let u = state.store.user(&owner).await?;
            if u.as_ref().map(|u| u.role.as_str()) != Some("patient") {
                return Err(
                    ApiError::bad_request("invalid_owner", "owner_id must name a patient")
                        .at("/owner_id"),
                );
            }
            owner
        }
        (Role::Patient, Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_owner",
                "a patient creates cases for themselves",
            )
            .at("/owner_id"));
        }
        _ => {
            return Err(
                ApiError::bad_request("missing_owner", "owner_id is required").at("/owner_id"),
            );
        }
    };
    crate::consent::require(&state, &owner, &[PROCESSING]).await?;
    let id = format!("c-{}", crate::auth::random_hex(8));
    let record_json = serde_json::to_string(&record).map_err(|_| ApiError::internal())?;
    let case = state
        .store
        .create_case(
            &id,
            &owner,
            &actor.id,
            CaseState::Inquiry.as_str(),
            &record_json,
        )
        .await?;
    match actor.role {
        Role::Coordinator => {
            state
                .store
                .add_member(&id, &actor.id, "coordinator", "act")
                .await?
        }
        Role::Caregiver => {
            state
                .store
                .add_member(&id, &actor.id, "caregiver", "act")
                .await?
        }
        _ => {}
    }
    state
        .store
        .audit(&actor.id, "case.create", Some(&id), &actor.request_id)
        .await?;
    Ok(with_etag(StatusCode::CREATED, &case))
}

pub async fn list(State(state): State<Shared>, actor: Actor) -> Result<Json<Value>, ApiError> {
    if actor.role == Role::Admin {
        return Ok(Json(json!({"cases": []})));
    }
    let cases = state.store.cases_for(&actor.id).await?;
    let mut out = Vec::new();
    for c in &cases {
        if relation(&state, &actor, c).await? != Relation::None {
            out.push(json!({"id": c.id, "state": c.state, "version": c.version, "updated_at": c.updated_at}));
        }
    }
    state
        .store
        .audit(&actor.id, "case.list", None, &actor.request_id)
        .await?;
    Ok(Json(json!({"cases": out})))
}

pub async fn read(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let case = authorise(&state, &actor, &id, Action::ReadCase).await?;
    state
        .store
        .audit(&actor.id, "case.read", Some(&id), &actor.request_id)
        .await?;
    Ok(with_etag(StatusCode::OK, &case))
}

/// The version an update expects: `"vN"`, or `*` for "whatever is current" (RFC 9110).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let raw = headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "if_match_required",
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
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_if_match",
                "If-Match must be an ETag like \"v3\", or *",
            )
        })
}

pub async fn update_record(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = authorise(&state, &actor, &id, Action::EditRecord).await?;
    crate::consent::require(&state, &case.owner_id, &[PROCESSING]).await?;
    let expected = if_match(&headers)?;
    let v: Value = parse_json(&body)?;
    let record = parse_record(&json!({"record": v})["record"])?;
    check_document_links(&state, &id, &v).await?;
    let text = serde_json::to_string(&record).map_err(|_| ApiError::internal())?;
    let case = state.store.update_record(&id, expected, &text).await?;
    state
        .store
        .audit(
            &actor.id,
            "case.record.update",
            Some(&id),
            &actor.request_id,
        )
        .await?;
    rescreen(&state, &case).await?;
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
    authorise(&state, &actor, &id, Action::ReadCase).await?;
    let req: NewMember = parse_json(&body)?;
    let action = if req.role == "caregiver" {
        Action::GrantCaregiver
    } else {
        Action::AssignTeam
    };
    let case = authorise(&state, &actor, &id, action).await?;
    let needs: &[&str] = match req.role.as_str() {
        "caregiver" => &["caregiver-access"],
        "specialist" => &[PROCESSING, "mdt-sharing", "transfer-abroad"],
        _ => &[PROCESSING],
    };
    crate::consent::require(&state, &case.owner_id, needs).await?;
    let user = state.store.user(&req.user_id).await?;
    let Some(user) = user else {
        return Err(ApiError::bad_request("unknown_user", "no such user").at("/user_id"));
    };
    if user.role != req.role {
        return Err(ApiError::bad_request(
            "role_mismatch",
            format!("that user is a {}", user.role),
        )
        .at("/role"));
    }
    let access = match (req.role.as_str(), req.access.as_deref()) {
        ("caregiver", Some(a @ ("view" | "act"))) => a.to_owned(),
        ("caregiver", _) => {
            return Err(
                ApiError::bad_request("invalid_access", "access must be view or act").at("/access"),
            );
        }
        ("coordinator" | "specialist", None) => "act".to_owned(),
        ("coordinator" | "specialist", Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_access",
                "access applies to caregivers only",
            )
            .at("/access"));
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_role",
                "role must be coordinator, specialist or caregiver",
            )
            .at("/role"));
        }
    };
    state
        .store
        .add_member(&id, &req.user_id, &req.role, &access)
        .await?;
    state
        .store
        .audit(
            &actor.id,
            &format!("case.member.add.{}", req.role),
            Some(&id),
            &actor.request_id,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user_id": req.user_id, "role": req.role, "access": access})),
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
    let case = authorise(&state, &actor, &id, Action::Transition).await?;
    let req: TransitionReq = parse_json(&body)?;
    let to: CaseState = req
        .to
        .parse()
        .map_err(|e: String| ApiError::bad_request("invalid_state", e).at("/to"))?;
    let from: CaseState = case.state.parse().map_err(|_| ApiError::internal())?;
    if to == CaseState::Withdrawn && actor.role == Role::Specialist {
        return Err(ApiError::forbidden("specialists cannot withdraw a case"));
    }
    from.transition(to)
        .map_err(|why| ApiError::new(StatusCode::CONFLICT, "illegal_transition", why))?;
    let case = state
        .store
        .set_state(&id, from.as_str(), to.as_str())
        .await?;
    state
        .store
        .audit(
            &actor.id,
            &format!("case.state.{to}"),
            Some(&id),
            &actor.request_id,
        )
        .await?;
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
    let case = authorise(&state, &actor, &id, Action::Screen).await?;
    crate::consent::require(&state, &case.owner_id, &[PROCESSING]).await?;
    let req: ScreenReq = if body.is_empty() {
        ScreenReq::default()
    } else {
        parse_json(&body)?
    };
    let as_of = match req.as_of {
        Some(s) => Date::parse(&s)
            .map_err(|e| ApiError::bad_request("invalid_date", e.to_string()).at("/as_of"))?,
        None => Date::parse(&cellpath_store::now()[..10]).map_err(|_| ApiError::internal())?,
    };
    let lang = match req.lang.as_deref() {
        None => cellpath_eligibility::Lang::En,
        Some(l) => cellpath_eligibility::Lang::parse(l).ok_or_else(|| {
            ApiError::bad_request("invalid_lang", "lang must be en or zh-CN").at("/lang")
        })?,
    };
    let (sid, doc) = store_screening(&state, &case, as_of, lang).await?;
    state
        .store
        .audit(&actor.id, "case.screen", Some(&id), &actor.request_id)
        .await?;
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
    authorise(&state, &actor, &id, Action::ReadCase).await?;
    let list = state.store.screenings(&id).await?;
    state
        .store
        .audit(
            &actor.id,
            "case.screenings.read",
            Some(&id),
            &actor.request_id,
        )
        .await?;
    Ok(Json(json!({
        "screenings": list.iter().map(|s| json!({
            "id": s.id, "case_version": s.case_version, "catalogue_version": s.catalogue_version,
            "as_of": s.as_of, "created_at": s.created_at,
            "screening": serde_json::from_str::<Value>(&s.results).unwrap_or(Value::Null),
        })).collect::<Vec<_>>()
    })))
}

pub async fn audit(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorise(&state, &actor, &id, Action::ReadAudit).await?;
    state
        .store
        .audit(&actor.id, "case.audit.read", Some(&id), &actor.request_id)
        .await?;
    let entries = state.store.audit_entries(Some(&id)).await?;
    Ok(Json(json!({
        "entries": entries.iter().map(|e| json!({
            "seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "request_id": e.request_id,
        })).collect::<Vec<_>>()
    })))
}

/// Imports a FHIR R4 / mCODE bundle as the case's record (If-Match, like any record write),
/// answering with the import report: what was used, flagged and skipped per resource.
pub async fn import_fhir(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let case = authorise(&state, &actor, &id, Action::EditRecord).await?;
    crate::consent::require(&state, &case.owner_id, &[PROCESSING]).await?;
    let expected = if_match(&headers)?;
    let imported = cellpath_fhir::import(&body)
        .map_err(|e| ApiError::bad_request("invalid_fhir", e.to_string()))?;
    let text = serde_json::to_string(&imported.case).map_err(|_| ApiError::internal())?;
    let case = state.store.update_record(&id, expected, &text).await?;
    state
        .store
        .audit(
            &actor.id,
            "case.record.import_fhir",
            Some(&id),
            &actor.request_id,
        )
        .await?;
    rescreen(&state, &case).await?;
    let mut h = HeaderMap::new();
    h.insert(axum::http::header::ETAG, etag(case.version));
    Ok((
        StatusCode::OK,
        h,
        Json(json!({"case": case_json(&case), "import_report": imported.report})),
    )
        .into_response())
}

/// `DELETE /cases/{id}/members/{uid}`: the patient revokes a caregiver; the coordinator
/// ends a specialist's or coordinator's assignment. Access ends at once.
pub async fn remove_member(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, uid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    authorise(&state, &actor, &id, Action::ReadCase).await?;
    let member = state
        .store
        .member(&id, &uid)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let action = if member.role == "caregiver" {
        Action::GrantCaregiver
    } else {
        Action::AssignTeam
    };
    authorise(&state, &actor, &id, action).await?;
    state.store.remove_member(&id, &uid).await?;
    state
        .store
        .audit(
            &actor.id,
            &format!("case.member.remove.{}", member.role),
            Some(&id),
            &actor.request_id,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Screens a case as of a day and stores the result with the catalogue and case versions.
async fn store_screening(
    state: &Shared,
    case: &CaseRow,
    as_of: Date,
    lang: cellpath_eligibility::Lang,
) -> Result<(String, Value), ApiError> {
    let record: Case = serde_json::from_str(&case.record).map_err(|_| ApiError::internal())?;
    let results = cellpath_eligibility::screen(&state.catalogue, &record, as_of, &[]);
    let doc = json!({
        "as_of": as_of.to_string(),
        "catalogue_version": state.catalogue.version(),
        "case_version": case.version,
        "results": cellpath_eligibility::eval::localise(&results, lang),
        "disclaimer": "Not medical advice: a pre-screen for the treating team and the MDT to confirm.",
    });
    let sid = crate::auth::sortable_id("s");
    state
        .store
        .save_screening(
            &sid,
            &case.id,
            case.version,
            state.catalogue.version(),
            &as_of.to_string(),
            &doc.to_string(),
        )
        .await?;
    Ok((sid, doc))
}

fn today() -> Result<Date, ApiError> {
    Date::parse(&cellpath_store::now()[..10]).map_err(|_| ApiError::internal())
}

/// Re-screens a case after its record changed (when its patient consents to processing).
pub(crate) async fn rescreen(state: &Shared, case: &CaseRow) -> Result<(), ApiError> {
    if crate::consent::require(state, &case.owner_id, &[PROCESSING])
        .await
        .is_err()
    {
        return Ok(());
    }
    store_screening(state, case, today()?, cellpath_eligibility::Lang::En).await?;
    state
        .store
        .audit("system", "case.rescreen", Some(&case.id), "rescreen")
        .await?;
    Ok(())
}

/// Re-screens every case whose latest screening used another catalogue or an older record
/// (run at start, so that a catalogue change reaches every case). Returns how many.
pub async fn rescreen_stale(state: &Shared) -> Result<usize, ApiError> {
    let mut n = 0;
    for (id, version) in state.store.case_versions().await? {
        let latest = state.store.screenings(&id).await?.pop();
        let fresh = latest.is_some_and(|s| {
            s.case_version == version && s.catalogue_version == state.catalogue.version()
        });
        if fresh {
            continue;
        }
        if let Some(case) = state.store.case(&id).await? {
            rescreen(state, &case).await?;
            n += 1;
        }
    }
    Ok(n)
}
