// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The journey and safety routes: the plan and its calendar (with revocable subscription
//! links), post-infusion monitoring graded on entry with alerts to the team, the caregiver's
//! symptom diary, and supportive-care requests held in the risk window. The rules are in
//! the `care` crate; this only stores and routes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cellpath_care::journey::{Plan, PlanInput, Template};
use cellpath_care::supportive::{Kind, Triage, Windows};
use cellpath_domain::Date;
use cellpath_domain::text::Lang;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cases::parse_json;
use crate::policy::Action;
use cellpath_store::SupportiveState;

use crate::{Actor, ApiError, ErrorCode, Shared, auth};

pub fn template(programme: &str) -> Result<Template, ApiError> {
    cellpath_care::journey::shipped(programme)
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::UnknownProgramme,
                format!("no journey template for `{programme}`"),
            )
            .at("/programme")
        })?
        .map_err(ApiError::internal)
}

/// Plans on a blocking thread (planning is CPU work the async workers must not do), from
/// the cache when the same stored plan was planned before.
async fn planned(state: &Shared, case_id: &str, text: String) -> Result<PlanPair, ApiError> {
    let key = (case_id.to_owned(), crate::auth::sha256_hex(&text));
    if let Some(hit) = state.config.plans.get(&key) {
        return Ok(hit);
    }
    let pair = tokio::task::spawn_blocking(move || -> Result<(Template, Plan), ApiError> {
        let input: PlanInput = serde_json::from_str(&text).map_err(ApiError::internal)?;
        cellpath_care::journey::check_limits(&input)
            .map_err(|e| ApiError::bad_request(ErrorCode::PlanTooLarge, e))?;
        let t = template(&input.programme)?;
        let plan = cellpath_care::journey::plan(&t, &input).map_err(ApiError::internal)?;
        Ok((t, plan))
    })
    .await
    .map_err(ApiError::internal)??;
    let pair = std::sync::Arc::new(pair);
    state.config.plans.put(key, std::sync::Arc::clone(&pair));
    Ok(pair)
}

/// A stored plan and what was planned from it.
pub type PlanPair = std::sync::Arc<(Template, Plan)>;

/// Plans already computed, by case and the stored plan's hash (so a new plan is a new
/// key); bounded, and emptied when full.
#[derive(Debug, Default)]
pub struct PlanCache {
    map: std::sync::Mutex<std::collections::HashMap<(String, String), PlanPair>>,
}

impl PlanCache {
    const CAPACITY: usize = 1024;

    fn get(&self, key: &(String, String)) -> Option<PlanPair> {
        self.map.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: (String, String), value: PlanPair) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert(key, value);
        }
    }
}

pub async fn load_plan(state: &Shared, case_id: &str) -> Result<Option<PlanPair>, ApiError> {
    let Some(text) = state.store.journey(case_id).await? else {
        return Ok(None);
    };
    planned(state, case_id, text).await.map(Some)
}

/// `PUT /cases/{id}/journey`: the plan file (docs/journey.md) as JSON; a plan over its
/// limits is refused with 422 before anything is planned.
pub async fn put_journey(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::PlanJourney).await?;
    let input: PlanInput = parse_json(&body)?;
    let plan = plan_of(input).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request(ErrorCode::InvalidBody, "not UTF-8"))?;
    let mut tx = state.change(&actor, "journey.update", Some(&id)).await?;
    tx.put_journey(&id, text).await?;
    tx.commit().await?;
    Ok(Json(
        serde_json::to_value(plan).map_err(ApiError::internal)?,
    ))
}

/// Plans a journey without storing it (the planner's preview, and the check before a plan
/// is stored): limits first, then the template, then the planning off the async workers.
pub async fn plan_of(input: PlanInput) -> Result<Plan, ApiError> {
    cellpath_care::journey::check_limits(&input)
        .map_err(|e| ApiError::bad_request(ErrorCode::PlanTooLarge, e))?;
    let t = template(&input.programme)?;
    tokio::task::spawn_blocking(move || cellpath_care::journey::plan(&t, &input))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPlan, e))
}

pub async fn get_journey(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let pair = load_plan(&state, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let plan = &pair.1;
    state.read(&actor, "journey.read", Some(&id)).await?;
    Ok(Json(
        serde_json::to_value(plan).map_err(ApiError::internal)?,
    ))
}

fn ics_response(t: &Template, plan: &Plan, lang: Lang, today: Date) -> Result<Response, ApiError> {
    let body = cellpath_care::ics::to_ics(t, plan, lang, today);
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    Ok((StatusCode::OK, h, body).into_response())
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `GET /cases/{id}/journey.ics[?lang=en|zh-CN]`: the calendar in the language asked for,
/// else the reader's (`Accept-Language`, else the account's).
pub async fn journey_ics(
    State(state): State<Shared>,
    actor: Actor,
    ctx: Option<axum::Extension<std::sync::Arc<crate::request::RequestCtx>>>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<LangQuery>,
) -> Result<Response, ApiError> {
    let asked = match q.lang.as_deref() {
        None => None,
        Some(l) => Some(Lang::parse(l).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidLang, "lang must be en or zh-CN").at("lang")
        })?),
    };
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let pair = load_plan(&state, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    state.read(&actor, "journey.calendar", Some(&id)).await?;
    let lang = asked.unwrap_or_else(|| ctx.map_or(Lang::En, |c| c.0.lang()));
    ics_response(&pair.0, &pair.1, lang, state.today()?)
}

/// `POST /cases/{id}/calendar-tokens`: a secret subscription URL for calendar programs.
pub async fn create_calendar_token(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    actor.refuse_token("create calendar links")?;
    state.authorise(&actor, &id, Action::PlanJourney).await?;
    let token = auth::random_hex(24);
    let tid = format!("cal-{}", auth::random_hex(6));
    let mut tx = state
        .change(&actor, "journey.calendar_token.create", Some(&id))
        .await?;
    tx.create_calendar_token(&tid, &auth::sha256_hex(&token), &id, &actor.id)
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": tid, "url": format!("/calendar/{token}.ics")})),
    )
        .into_response())
}

/// `DELETE /cases/{id}/calendar-tokens/{cid}`: the patient revokes any link on the case;
/// others their own.
pub async fn revoke_calendar_token(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, tid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let case = state.authorise(&actor, &id, Action::RevokeCalendar).await?;
    let mine = state
        .store
        .calendar_tokens(&id)
        .await?
        .iter()
        .any(|t| t.id == tid && t.created_by == actor.id);
    if case.owner_id != actor.id && !mine {
        return Err(ApiError::not_found());
    }
    let mut tx = state
        .change(&actor, "journey.calendar_token.revoke", Some(&id))
        .await?;
    if !tx.revoke_calendar_token(&id, &tid).await? {
        return Err(ApiError::not_found());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /cases/{id}/calendar-tokens`: the case's calendar links — every one for the patient,
/// one's own for others — with who made each, when it expires and whether it is revoked.
pub async fn list_calendar_tokens(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let case = state.authorise(&actor, &id, Action::ReadCase).await?;
    let tokens = state.store.calendar_tokens(&id).await?;
    state
        .read(&actor, "journey.calendar_token.list", Some(&id))
        .await?;
    let days = cellpath_store::CALENDAR_TOKEN_DAYS;
    let links: Vec<Value> = tokens
        .iter()
        .filter(|t| case.owner_id == actor.id || t.created_by == actor.id)
        .map(|t| {
            let made = cellpath_domain::Date::parse(t.created_at.get(..10).unwrap_or_default());
            json!({
                "id": t.id, "created_by": t.created_by, "created_at": t.created_at,
                "expires_on": made.map(|d| d.add_days(days as i64).to_string()).ok(),
                "revoked_at": t.revoked_at,
            })
        })
        .collect();
    Ok(Json(
        json!({"calendar_tokens": links, "lifetime_days": days}),
    ))
}

/// `GET /calendar/{token}.ics`: the subscription itself, authorised by its secret and by its
/// creator's access today — a link dies with the creator's access to the case, with the
/// consent that access needs, when revoked, and after 180 days.
pub async fn calendar_feed(
    State(state): State<Shared>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let token = file.strip_suffix(".ics").ok_or_else(ApiError::not_found)?;
    let link = state
        .store
        .calendar_token(&auth::sha256_hex(token))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let creator = state
        .store
        .user(&link.created_by)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let request_id = auth::random_hex(8);
    let as_creator = Actor {
        id: creator.id.clone(),
        role: creator.role.parse().map_err(ApiError::internal)?,
        specialty: creator.specialty.clone(),
        request_id: request_id.clone(),
        writes: false,
        by_token: false,
    };
    // The one door, as the creator: no access or consent today, no feed (and no hint why).
    state
        .authorise(&as_creator, &link.case_id, Action::ReadCase)
        .await
        .map_err(|_| ApiError::not_found())?;
    let pair = load_plan(&state, &link.case_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    state
        .store
        .audit(
            &format!("calendar-link:{}", link.id),
            "journey.calendar.feed",
            Some(&link.case_id),
            &request_id,
        )
        .await?;
    // In the language of the person who made the link.
    let lang = Lang::parse(&creator.lang).unwrap_or_default();
    ics_response(&pair.0, &pair.1, lang, state.today()?)
}

/// `POST /cases/{id}/monitoring`: an entry by the treating team, graded on entry; any CRS
/// or ICANS, or a rise in grade, alerts the case's team naming the rule.
pub async fn monitor(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::Monitor).await?;
    let entry: cellpath_care::monitoring::Entry = parse_json(&body)?;
    let history = state.store.monitoring(&id).await?;
    // Fever stops being required only once CRS has been present: the history says so.
    let crs_seen_before = history.iter().any(|m| m.crs_grade > 0);
    let previous = match history.last() {
        Some(m) => Some(
            serde_json::from_str::<cellpath_care::monitoring::Entry>(&m.entry)
                .map_err(ApiError::internal)?,
        ),
        None => None,
    };
    let (grades, alerts) = cellpath_care::monitoring::assess_with(
        &entry,
        previous.as_ref(),
        crs_seen_before,
        &state.config.vital_limits,
    );
    let mid = auth::sortable_id("mon");
    let text = std::str::from_utf8(&body).map_err(ApiError::internal)?;
    let mut tx = state.change(&actor, "monitoring.entry", Some(&id)).await?;
    tx.add_monitoring(cellpath_store::NewMonitoring {
        id: &mid,
        case_id: &id,
        author: &actor.id,
        entry: text,
        crs: i32::from(grades.crs.grade),
        icans: i32::from(grades.icans.grade),
        alerts: i32::try_from(alerts.len()).unwrap_or(i32::MAX),
    })
    .await?;
    // One notice per entry that raised any alert, to the treating team (not the family, who
    // would get an alarm without a word of what to do): the alerts themselves (rule and
    // grade) are on the case, for those who may open it.
    if !alerts.is_empty() {
        let team: Vec<String> = crate::alerts::treating(&state, &id)
            .await?
            .into_iter()
            .filter(|u| u != &actor.id)
            .collect();
        for user in team {
            let nid = auth::sortable_id("n");
            tx.notify_alert(&nid, &user, &id, "monitoring-alert", &mid)
                .await?;
        }
    }
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": mid, "grades": grades, "alerts": alerts})),
    )
        .into_response())
}

/// A monitoring entry as read back: its grades and the alerts it raised, assessed again
/// from the history by the rules that graded it on entry, and who acknowledged them.
#[derive(Clone, Debug)]
pub struct Assessed {
    pub row: cellpath_store::MonitoringRow,
    pub entry: cellpath_care::monitoring::Entry,
    pub grades: cellpath_care::monitoring::Grades,
    pub alerts: Vec<cellpath_care::monitoring::Alert>,
    pub ack: Option<cellpath_store::AckRow>,
}

/// A case's monitoring, oldest first, assessed (no authorisation or audit: the caller's).
pub async fn assessed(state: &Shared, case_id: &str) -> Result<Vec<Assessed>, ApiError> {
    let rows = state.store.monitoring(case_id).await?;
    let mut acks = state.store.monitoring_acks(case_id).await?;
    let mut out: Vec<Assessed> = Vec::with_capacity(rows.len());
    let mut crs_seen_before = false;
    for row in rows {
        let entry: cellpath_care::monitoring::Entry =
            serde_json::from_str(&row.entry).map_err(ApiError::internal)?;
        let previous = out.last().map(|a| &a.entry);
        let (grades, alerts) = cellpath_care::monitoring::assess_with(
            &entry,
            previous,
            crs_seen_before,
            &state.config.vital_limits,
        );
        crs_seen_before |= row.crs_grade > 0;
        let ack = acks
            .iter()
            .position(|a| a.monitoring_id == row.id)
            .map(|i| acks.swap_remove(i));
        out.push(Assessed {
            row,
            entry,
            grades,
            alerts,
            ack,
        });
    }
    Ok(out)
}

pub async fn monitoring(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let list = assessed(&state, &id).await?;
    state.read(&actor, "monitoring.read", Some(&id)).await?;
    Ok(Json(json!({
        "entries": list.iter().map(|a| json!({
            // A grade that could not be given is null, never 0 ("none").
            "id": a.row.id, "author": a.row.author_id,
            "crs_grade": a.grades.crs.grade_if_graded(),
            "icans_grade": a.grades.icans.grade_if_graded(), "at": a.row.at,
            "grades": a.grades, "alerts": a.alerts,
            "acknowledged": a.ack.as_ref().map(|k| json!({"by": k.user_id, "at": k.at})),
        })).collect::<Vec<_>>(),
        "source": cellpath_care::SOURCE,
        "vital_limits": state.config.vital_limits,
        "vital_limits_source": cellpath_care::monitoring::VITAL_LIMITS_SOURCE,
    })))
}

/// `POST /cases/{id}/monitoring/{mid}/acknowledge`: one of the treating team has seen an
/// entry's alerts. Once per entry; the alerts stay on the record.
pub async fn acknowledge(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, mid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::Monitor).await?;
    let list = assessed(&state, &id).await?;
    let Some(entry) = list.iter().find(|a| a.row.id == mid) else {
        return Err(ApiError::not_found());
    };
    if entry.alerts.is_empty() {
        return Err(ApiError::new(
            ErrorCode::AlreadyAcknowledged,
            "this entry raised no alert",
        ));
    }
    let mut tx = state
        .change(&actor, "monitoring.acknowledge", Some(&id))
        .await?;
    tx.acknowledge_alerts(&id, &mid, &actor.id)
        .await
        .map_err(|e| match e {
            cellpath_store::StoreError::Duplicate => ApiError::new(
                ErrorCode::AlreadyAcknowledged,
                "these alerts were already acknowledged",
            ),
            other => other.into(),
        })?;
    tx.commit().await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiaryReq {
    entry: cellpath_care::diary::DiaryEntry,
    #[serde(default)]
    lang: Option<String>,
}

/// The diary's answer to the family, and the alert it raised for the team.
#[derive(Clone, Debug, Serialize)]
pub struct DiaryOutcome {
    #[serde(flatten)]
    pub answer: cellpath_care::diary::DiaryAnswer,
    /// The safety alert raised when a call is advised: when the team was alerted and until
    /// when to wait for their call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<crate::alerts::Raised>,
}

/// The treating centre's contacts as the case's journey plan records them.
pub async fn centre_contacts(
    state: &Shared,
    case_id: &str,
) -> Result<
    (
        Option<cellpath_care::journey::Phone>,
        Option<cellpath_care::journey::UtcOffset>,
    ),
    ApiError,
> {
    let Some(text) = state.store.journey(case_id).await? else {
        return Ok((None, None));
    };
    let input: PlanInput = serde_json::from_str(&text).map_err(ApiError::internal)?;
    Ok((input.centre_phone, input.centre_utc_offset))
}

/// Records a diary entry and answers it in `lang`; a warning sign raises a safety alert for
/// the case's on-call team in the same change.
pub async fn record_diary(
    state: &Shared,
    actor: &Actor,
    case_id: &str,
    entry: cellpath_care::diary::DiaryEntry,
    lang: Lang,
) -> Result<DiaryOutcome, ApiError> {
    state.authorise(actor, case_id, Action::Diary).await?;
    if entry.temperature_c.is_some() && entry.temperature_f.is_some() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidTemperature,
            "give the temperature in °C or in °F, not both",
        )
        .at("/entry/temperature_f"));
    }
    if entry
        .temperature_c
        .or(entry.temperature_f)
        .is_some_and(|t| !t.is_finite())
    {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidTemperature,
            "the temperature must be a number",
        )
        .at("/entry/temperature_c"));
    }
    let (phone, _) = centre_contacts(state, case_id).await?;
    let answer = cellpath_care::diary::answer(
        &entry,
        lang,
        &state.config.emergency,
        phone.as_ref().map(cellpath_care::journey::Phone::as_str),
    );
    let did = auth::sortable_id("dy");
    let text = serde_json::to_string(&serde_json::json!({ "entry": entry_json(&entry) }))
        .map_err(ApiError::internal)?;
    let mut tx = state.change(actor, "diary.entry", Some(case_id)).await?;
    tx.add_diary(&did, case_id, &actor.id, &text, answer.call_now)
        .await?;
    let alert = if answer.call_now {
        Some(
            crate::alerts::raise_from_diary(
                state, &mut tx, case_id, &did, &actor.id, &entry, &answer,
            )
            .await?,
        )
    } else {
        None
    };
    tx.commit().await?;
    Ok(DiaryOutcome { answer, alert })
}

/// The entry as stored: only what was given (the diary's history reads it back).
fn entry_json(e: &cellpath_care::diary::DiaryEntry) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(t) = e.temperature_c {
        m.insert("temperature_c".into(), json!(t));
    }
    if let Some(t) = e.temperature_f {
        m.insert("temperature_f".into(), json!(t));
    }
    for sign in cellpath_care::diary::SIGNS {
        if e.has(sign.key) {
            m.insert(sign.key.into(), json!(true));
        }
    }
    Value::Object(m)
}

/// `POST /cases/{id}/diary`: answers at once, in the reader's language; warning signs raise a
/// safety alert for the team on call.
pub async fn diary(
    State(state): State<Shared>,
    actor: Actor,
    ctx: Option<axum::Extension<std::sync::Arc<crate::request::RequestCtx>>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::Diary).await?;
    let req: DiaryReq = parse_json(&body)?;
    let lang = match req.lang.as_deref() {
        // The reader's language: what the request asks for, else the account's.
        None => ctx.map_or(Lang::En, |c| c.0.lang()),
        Some(l) => Lang::parse(l).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidLang, "en or zh-CN").at("/lang")
        })?,
    };
    let out = record_diary(&state, &actor, &id, req.entry, lang).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(out).map_err(ApiError::internal)?),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SupportReq {
    kind: Kind,
    details: String,
    /// The first day of what is asked for.
    requested_for: String,
    /// The last day, when it lasts (a course of herbs); the whole period is checked.
    #[serde(default)]
    requested_until: Option<String>,
}

/// The case's risk windows, or why they cannot be known (no plan, or one that does not date
/// lymphodepletion and infusion): the supportive-care rule fails closed on the latter.
pub async fn risk_windows(state: &Shared, case_id: &str) -> Result<Windows, ApiError> {
    let Some(text) = state.store.journey(case_id).await? else {
        return Ok(Err(cellpath_domain::text::Bi::new(
            "the case has no treatment plan, so the risk window cannot be checked",
            "此病例尚无治疗计划，因此无法核对风险期",
        )));
    };
    let input: PlanInput = serde_json::from_str(&text).map_err(ApiError::internal)?;
    let t = template(&input.programme)?;
    let plan = cellpath_care::journey::plan(&t, &input).map_err(ApiError::internal)?;
    Ok(cellpath_care::supportive::windows_of(&t, &plan, &input))
}

/// `POST /cases/{id}/supportive`: a request, awaiting an oncology specialist — or held, with
/// the reason, when it is TCM or herbal inside the risk window of the case's journey plan.
pub async fn request_support(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::RequestSupport).await?;
    let req: SupportReq = parse_json(&body)?;
    let when = Date::parse(&req.requested_for).map_err(|e| {
        ApiError::bad_request(ErrorCode::InvalidDate, e.to_string()).at("/requested_for")
    })?;
    if req.details.trim().is_empty() {
        return Err(
            ApiError::bad_request(ErrorCode::EmptyDetails, "say what is asked for").at("/details"),
        );
    }
    let until = match req.requested_until.as_deref() {
        None => when,
        Some(u) => {
            let u = Date::parse(u).map_err(|e| {
                ApiError::bad_request(ErrorCode::InvalidDate, e.to_string()).at("/requested_until")
            })?;
            if u < when {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidDate,
                    "requested_until is before requested_for",
                )
                .at("/requested_until"));
            }
            u
        }
    };
    let windows = risk_windows(&state, &id).await?;
    let triage = cellpath_care::supportive::triage(req.kind, when, until, &windows);
    let (state_name, reason, until) = match &triage {
        Triage::AwaitingApproval { caution } => (
            "awaiting-approval",
            caution.as_ref().map(|c| (c.en.as_str(), c.zh.as_str())),
            None,
        ),
        Triage::Held { until, reason } => (
            "held",
            Some((reason.en.as_str(), reason.zh.as_str())),
            until.map(|u| u.to_string()),
        ),
    };
    let rid = auth::sortable_id("sup");
    let kind = serde_json::to_value(req.kind).map_err(ApiError::internal)?;
    let mut tx = state
        .change(
            &actor,
            format!("supportive.request.{state_name}"),
            Some(&id),
        )
        .await?;
    tx.add_supportive(
        &rid,
        &id,
        &actor.id,
        kind.as_str().unwrap_or("other"),
        req.details.trim(),
        &when.to_string(),
        state_name,
        reason,
        until.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": rid, "triage": triage})),
    )
        .into_response())
}

pub async fn list_support(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let list = state.store.supportive(&id).await?;
    state.read(&actor, "supportive.read", Some(&id)).await?;
    Ok(Json(json!({"requests": list})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    approve: bool,
    /// The reason, in English.
    #[serde(default)]
    note: String,
    /// The reason in Chinese, so each reader has it in their language.
    #[serde(default)]
    note_zh: Option<String>,
}

/// `POST /cases/{id}/supportive/{rid}/decision`: an oncology specialist on the case decides;
/// a held request cannot be approved before its window closes.
pub async fn decide_support(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, rid)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::DecideSupport).await?;
    if !actor
        .specialty
        .as_deref()
        .is_some_and(cellpath_care::supportive::may_approve)
    {
        return Err(ApiError::forbidden(
            "supportive care is decided by medical oncology or cell therapy",
        ));
    }
    let d: Decision = parse_json(&body)?;
    let request = state
        .store
        .supportive_one(&id, &rid)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (current, held_until) = (request.state, request.held_until.clone());
    let today = state.today()?.to_string();
    // Fail closed at the decision too: a held kind is approved only when today's plan
    // dates every window and the request touches none of them.
    let still_held = match request.kind.parse::<Kind>() {
        Ok(kind) if kind.held_in_window() && d.approve => {
            let from = Date::parse(&request.requested_for).map_err(ApiError::internal)?;
            let windows = risk_windows(&state, &id).await?;
            matches!(
                cellpath_care::supportive::triage(kind, from, from, &windows),
                Triage::Held { .. }
            )
        }
        _ => false,
    };
    if d.approve
        && (still_held
            || (current == SupportiveState::Held
                && held_until.as_deref().is_some_and(|u| today.as_str() < u)))
    {
        return Err(ApiError::new(
            ErrorCode::Held,
            match held_until.filter(|_| !still_held) {
                Some(u) => format!("held until {u} (CRS/ICANS risk window)"),
                None => "held: the request touches a CRS/ICANS risk window of the current plan, \
                         or the plan does not date the window"
                    .to_owned(),
            },
        ));
    }
    if !matches!(
        current,
        SupportiveState::AwaitingApproval | SupportiveState::Held
    ) {
        return Err(ApiError::new(
            ErrorCode::AlreadyDecided,
            format!("the request is {current}"),
        ));
    }
    let to = if d.approve {
        SupportiveState::Approved
    } else {
        SupportiveState::Declined
    };
    let mut tx = state
        .change(&actor, format!("supportive.{to}"), Some(&id))
        .await?;
    if !tx
        .decide_supportive(
            &id,
            &rid,
            current.as_str(),
            to.as_str(),
            &actor.id,
            cellpath_store::DecisionNote {
                en: d.note.trim(),
                zh: d
                    .note_zh
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty()),
            },
        )
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::AlreadyDecided,
            "decided meanwhile",
        ));
    }
    tx.commit().await?;
    Ok((StatusCode::OK, Json(json!({"id": rid, "state": to}))).into_response())
}
