//! The journey planner: the programme's template as a timeline with its ranges, planned and
//! actual dates edited per step, the caregivers' periods, labs that must be recent — and the
//! plan following each change, with its conflicts (visa, caregiver gap, old labs), shown
//! before it is saved. Saving is the API's use case (`PUT …/journey`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cellpath_care::journey::{Plan, PlanInput, StepState};
use cellpath_domain::{Date, Lang};
use cellpath_web::Shared;
use cellpath_web::policy::Action;
use serde_json::{Map, Value, json};

use crate::frame::{Fields, Frame, Signed, done, page_with};
use crate::i18n::{self, tr};
use crate::patient::{case_nav, open};

/// The programme a case without a plan starts from.
const DEFAULT_PROGRAMME: &str = "satri-cel-nmpa";

struct StepRow {
    id: String,
    name: String,
    /// The template's own duration, or that none is published.
    published: String,
    caregiver: bool,
    min: String,
    max: String,
    actual_start: String,
    actual_end: String,
    /// The plan's window for it, in words, and its state.
    when: String,
    state: String,
    state_class: &'static str,
}

struct CaregiverRow {
    n: usize,
    role: String,
    from: String,
    to: String,
    blank: bool,
}

struct LabRow {
    n: usize,
    test: String,
    date: String,
    step: String,
    max_age: String,
    blank: bool,
}

#[derive(Template)]
#[template(path = "planner.html")]
struct PlannerPage {
    f: Frame,
    id: String,
    programmes: Vec<(String, String, bool)>,
    case_label: String,
    start: String,
    visa_end: String,
    bridging_start: String,
    centre_phone: String,
    centre_utc_offset: String,
    extra: String,
    steps: Vec<StepRow>,
    caregivers: Vec<CaregiverRow>,
    labs: Vec<LabRow>,
    svg: String,
    conflicts: Vec<String>,
    error: String,
    /// The plan shown is a preview, not saved.
    previewing: bool,
    sources: Vec<(String, String)>,
}

fn text_at(v: &Value, path: &[&str]) -> String {
    let mut here = v;
    for p in path {
        match here.get(p) {
            Some(x) => here = x,
            None => return String::new(),
        }
    }
    match here {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// When a planned step falls, in words: its window, or that its date is not known yet.
pub(crate) fn when(lang: Lang, st: &cellpath_care::journey::PlannedStep) -> String {
    match st.window {
        Some(w) => match w.end {
            Some(e) => tr(
                lang,
                "journey-window",
                &[
                    ("start", &i18n::date_range(lang, w.start.0, w.start.1)),
                    ("end", &i18n::date_range(lang, e.0, e.1)),
                ],
            ),
            None => tr(
                lang,
                "journey-starts",
                &[("start", &i18n::date_range(lang, w.start.0, w.start.1))],
            ),
        },
        None => tr(lang, "journey-needs-date", &[]),
    }
}

/// The page from a plan file (as JSON) and, when it plans, its plan.
/// What the planner shows: the plan file, its plan when it plans, an error, and whether
/// it is a preview.
struct View<'a> {
    input: &'a Value,
    plan: Option<&'a Plan>,
    error: String,
    previewing: bool,
}

async fn render(
    state: &Shared,
    s: &Signed,
    id: &str,
    view: View<'_>,
    status: StatusCode,
) -> Response {
    let View {
        input,
        plan,
        error,
        previewing,
    } = view;
    let lang = s.lang;
    let programme = input["programme"]
        .as_str()
        .unwrap_or(DEFAULT_PROGRAMME)
        .to_owned();
    let template = cellpath_web::care::template(&programme).ok();
    let steps = template
        .iter()
        .flat_map(|t| t.steps.iter())
        .map(|st| {
            let planned = plan.and_then(|p| p.steps.iter().find(|x| x.id == st.id));
            let (state_text, state_class) = match planned.map(|p| &p.state) {
                Some(StepState::Actual) => (tr(lang, "step-actual", &[]), "met"),
                Some(StepState::NeedsDate) => (tr(lang, "step-needs-date", &[]), "unknown"),
                Some(StepState::Planned) => (tr(lang, "step-planned", &[]), "pending"),
                None => (String::new(), "na"),
            };
            let dur = input["durations"].get(&st.id);
            StepRow {
                id: st.id.clone(),
                name: st.name.get(lang).to_owned(),
                published: st.duration.map_or_else(
                    || tr(lang, "plan-no-published", &[]),
                    |d| tr(lang, "plan-published", &[("days", &d.to_string())]),
                ),
                caregiver: st.caregiver_required,
                min: dur
                    .and_then(|d| d.get(0))
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
                max: dur
                    .and_then(|d| d.get(1))
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
                actual_start: text_at(input, &["actual", &st.id, "start"]),
                actual_end: text_at(input, &["actual", &st.id, "end"]),
                when: planned.map(|p| when(lang, p)).unwrap_or_default(),
                state: state_text,
                state_class,
            }
        })
        .collect();
    let list = |key: &str| input[key].as_array().cloned().unwrap_or_default();
    let mut caregivers: Vec<CaregiverRow> = list("caregivers")
        .iter()
        .enumerate()
        .map(|(n, c)| CaregiverRow {
            n,
            role: text_at(c, &["role"]),
            from: text_at(c, &["from"]),
            to: text_at(c, &["to"]),
            blank: false,
        })
        .collect();
    caregivers.push(CaregiverRow {
        n: caregivers.len(),
        role: String::new(),
        from: String::new(),
        to: String::new(),
        blank: true,
    });
    let mut labs: Vec<LabRow> = list("labs")
        .iter()
        .enumerate()
        .map(|(n, l)| LabRow {
            n,
            test: text_at(l, &["test"]),
            date: text_at(l, &["date"]),
            step: text_at(l, &["step"]),
            max_age: text_at(l, &["max_age_days"]),
            blank: false,
        })
        .collect();
    labs.push(LabRow {
        n: labs.len(),
        test: String::new(),
        date: String::new(),
        step: String::new(),
        max_age: String::new(),
        blank: true,
    });
    let today = state.today().unwrap_or_else(|_| Date::from_days(0));
    let programmes = cellpath_care::journey::SHIPPED
        .iter()
        .map(|(file, _)| {
            let pid = file.trim_end_matches(".toml").to_owned();
            let name = state
                .catalogue
                .programmes()
                .iter()
                .find(|p| p.id == pid)
                .map_or_else(|| pid.clone(), |p| p.name.get(lang).to_owned());
            let chosen = pid == programme;
            (pid, name, chosen)
        })
        .collect();
    let f = s.frame(
        "plan-title",
        case_nav(lang, id, s.actor().role, "nav-journey"),
    );
    page_with(
        status,
        &PlannerPage {
            f,
            id: id.to_owned(),
            case_label: text_at(input, &["case"]),
            start: text_at(input, &["start"]),
            visa_end: text_at(input, &["visa_end"]),
            bridging_start: text_at(input, &["bridging_start"]),
            centre_phone: text_at(input, &["centre_phone"]),
            centre_utc_offset: text_at(input, &["centre_utc_offset"]),
            extra: input
                .get("additional_infusions")
                .map(Value::to_string)
                .unwrap_or_default(),
            programmes,
            steps,
            caregivers,
            labs,
            svg: plan
                .map(|p| crate::svg::timeline(p, lang, today))
                .unwrap_or_default(),
            conflicts: plan
                .map(|p| {
                    p.conflicts
                        .iter()
                        .map(|c| c.message.get(lang).to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            error,
            previewing,
            sources: template
                .map(|t| {
                    t.sources
                        .iter()
                        .map(|x| (x.title.clone(), x.url.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        },
    )
}

/// `GET /cases/{id}/plan`: the stored plan in the planner (or a new one from today + 14 days).
pub async fn planner(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    if let Err(r) = open(&state, &s, &id, Action::PlanJourney, "journey.read").await {
        return r;
    }
    let stored = state.store.journey(&id).await.ok().flatten();
    let input: Value = match &stored {
        Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        None => {
            let start = state
                .today()
                .map(|d| d.add_days(14).to_string())
                .unwrap_or_default();
            json!({"programme": DEFAULT_PROGRAMME, "case": id, "start": start})
        }
    };
    let plan = match serde_json::from_value::<PlanInput>(input.clone()) {
        Ok(i) => cellpath_web::care::plan_of(i).await.ok(),
        Err(_) => None,
    };
    render(
        &state,
        &s,
        &id,
        View {
            input: &input,
            plan: plan.as_ref(),
            error: String::new(),
            previewing: stored.is_none(),
        },
        StatusCode::OK,
    )
    .await
}

/// A problem with one field: its words, in the reader's language.
fn field_error(lang: Lang, field: &str, what: &str) -> String {
    tr(
        lang,
        "field-message",
        &[("field", field), ("message", what)],
    )
}

/// The plan file the form describes (JSON), or the first field that cannot be read.
fn from_form(lang: Lang, f: &Fields, id: &str) -> Result<Value, String> {
    let date = |name: &str, label: &str| -> Result<Option<String>, String> {
        let t = f.text(name);
        if t.is_empty() {
            return Ok(None);
        }
        Date::parse(&t)
            .map(|d| Some(d.to_string()))
            .map_err(|_| field_error(lang, label, &tr(lang, "plan-err-date", &[("value", &t)])))
    };
    let days = |name: &str, label: &str| -> Result<Option<u32>, String> {
        let t = f.text(name);
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<u32>()
            .map(Some)
            .map_err(|_| field_error(lang, label, &tr(lang, "plan-err-days", &[("value", &t)])))
    };
    let programme = f.text("programme");
    let template = cellpath_web::care::template(&programme)
        .map_err(|_| field_error(lang, &tr(lang, "plan-programme", &[]), &programme))?;
    let mut out = Map::new();
    out.insert("programme".into(), json!(programme));
    let label = f.text("case");
    out.insert(
        "case".into(),
        json!(if label.is_empty() {
            id.to_owned()
        } else {
            label
        }),
    );
    let start = date("start", &tr(lang, "plan-start", &[]))?.ok_or_else(|| {
        field_error(
            lang,
            &tr(lang, "plan-start", &[]),
            &tr(lang, "plan-err-needed", &[]),
        )
    })?;
    out.insert("start".into(), json!(start));
    if let Some(v) = date("visa_end", &tr(lang, "plan-visa", &[]))? {
        out.insert("visa_end".into(), json!(v));
    }
    if let Some(v) = date("bridging_start", &tr(lang, "plan-bridging", &[]))? {
        out.insert("bridging_start".into(), json!(v));
    }
    let phone = f.text("centre_phone");
    if !phone.trim().is_empty() {
        let p = cellpath_care::journey::Phone::parse(&phone).map_err(|_| {
            field_error(
                lang,
                &tr(lang, "plan-centre-phone", &[]),
                &tr(lang, "plan-err-phone", &[("value", &phone)]),
            )
        })?;
        out.insert("centre_phone".into(), json!(p.as_str()));
    }
    let offset = f.text("centre_utc_offset");
    if !offset.trim().is_empty() {
        let o = cellpath_care::journey::UtcOffset::parse(&offset).map_err(|_| {
            field_error(
                lang,
                &tr(lang, "plan-centre-offset", &[]),
                &tr(lang, "plan-err-offset", &[("value", &offset)]),
            )
        })?;
        out.insert("centre_utc_offset".into(), json!(o.text()));
    }
    let mut durations = Map::new();
    let mut actual = Map::new();
    for st in &template.steps {
        let name = st.name.get(lang);
        let lmin = format!("{name} · {}", tr(lang, "plan-min", &[]));
        let lmax = format!("{name} · {}", tr(lang, "plan-max", &[]));
        match (
            days(&format!("d.{}.min", st.id), &lmin)?,
            days(&format!("d.{}.max", st.id), &lmax)?,
        ) {
            (Some(a), Some(b)) => {
                if a > b {
                    return Err(field_error(
                        lang,
                        &lmax,
                        &tr(lang, "plan-err-backwards", &[]),
                    ));
                }
                durations.insert(st.id.clone(), json!([a, b]));
            }
            (Some(a), None) | (None, Some(a)) => {
                durations.insert(st.id.clone(), json!([a, a]));
            }
            (None, None) => {}
        }
        let ls = format!("{name} · {}", tr(lang, "plan-actual-start", &[]));
        let le = format!("{name} · {}", tr(lang, "plan-actual-end", &[]));
        let s0 = date(&format!("a.{}.start", st.id), &ls)?;
        let e0 = date(&format!("a.{}.end", st.id), &le)?;
        match (s0, e0) {
            (Some(s), e) => {
                let mut a = json!({"start": s});
                if let Some(e) = e {
                    a["end"] = json!(e);
                }
                actual.insert(st.id.clone(), a);
            }
            (None, Some(_)) => {
                return Err(field_error(lang, &ls, &tr(lang, "plan-err-needed", &[])));
            }
            (None, None) => {}
        }
    }
    out.insert("durations".into(), Value::Object(durations));
    out.insert("actual".into(), Value::Object(actual));
    let rows = |prefix: &str| -> Vec<usize> {
        let mut v: Vec<usize> = f
            .pairs()
            .filter_map(|(k, _)| k.strip_prefix(prefix))
            .filter_map(|r| r.split_once('.'))
            .filter_map(|(n, _)| n.parse().ok())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut caregivers = Vec::new();
    for n in rows("cg.") {
        let role = f.text(&format!("cg.{n}.role"));
        let gone = !f.text(&format!("cg.{n}._remove")).is_empty();
        let what = tr(lang, "plan-caregiver-n", &[("n", &(n + 1).to_string())]);
        let from = date(
            &format!("cg.{n}.from"),
            &format!("{what} · {}", tr(lang, "plan-from", &[])),
        )?;
        let to = date(
            &format!("cg.{n}.to"),
            &format!("{what} · {}", tr(lang, "plan-to", &[])),
        )?;
        if gone || (role.is_empty() && from.is_none() && to.is_none()) {
            continue;
        }
        match (from, to) {
            (Some(a), Some(b)) => caregivers.push(json!({
                "role": if role.is_empty() { tr(lang, "plan-caregiver", &[]) } else { role },
                "from": a, "to": b,
            })),
            _ => return Err(field_error(lang, &what, &tr(lang, "plan-err-period", &[]))),
        }
    }
    out.insert("caregivers".into(), Value::Array(caregivers));
    let mut labs = Vec::new();
    for n in rows("lab.") {
        let gone = !f.text(&format!("lab.{n}._remove")).is_empty();
        let what = tr(lang, "plan-lab-n", &[("n", &(n + 1).to_string())]);
        let test = f.text(&format!("lab.{n}.test"));
        let dated = date(
            &format!("lab.{n}.date"),
            &format!("{what} · {}", tr(lang, "plan-lab-date", &[])),
        )?;
        let age = days(
            &format!("lab.{n}.max_age"),
            &format!("{what} · {}", tr(lang, "plan-lab-age", &[])),
        )?;
        let step = f.text(&format!("lab.{n}.step"));
        if gone || (test.is_empty() && dated.is_none() && age.is_none()) {
            continue;
        }
        match (dated, age) {
            (Some(d), Some(a)) if !test.is_empty() && !step.is_empty() => labs.push(json!({
                "test": test, "date": d, "step": step, "max_age_days": a,
            })),
            _ => return Err(field_error(lang, &what, &tr(lang, "plan-err-lab", &[]))),
        }
    }
    out.insert("labs".into(), Value::Array(labs));
    let extra = f.text("extra");
    if !extra.is_empty()
        && let Ok(v) = serde_json::from_str::<Value>(&extra)
    {
        out.insert("additional_infusions".into(), v);
    }
    Ok(Value::Object(out))
}

/// `POST /cases/{id}/plan`: show the plan the form makes (`preview`), or store it (`save`,
/// the API's use case).
pub async fn planner_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = f.check(&s) {
        return r;
    }
    if let Err(e) = state.authorise(s.actor(), &id, Action::PlanJourney).await {
        return s.fail(e);
    }
    let lang = s.lang;
    let input = match from_form(lang, &f, &id) {
        Ok(v) => v,
        Err(msg) => {
            // What was typed stays: the stored plan is shown with the error.
            let stored = state.store.journey(&id).await.ok().flatten();
            let v = stored
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            return render(
                &state,
                &s,
                &id,
                View {
                    input: &v,
                    plan: None,
                    error: msg,
                    previewing: false,
                },
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    if f.text("_action") == "save" {
        let r = cellpath_web::care::put_journey(
            State(state.clone()),
            s.writer(),
            Path(id.clone()),
            Bytes::from(input.to_string()),
        )
        .await;
        return match r {
            Ok(_) => done(&format!("/cases/{id}/plan"), "plan-saved"),
            Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                let msg = s.message(&e);
                render(
                    &state,
                    &s,
                    &id,
                    View {
                        input: &input,
                        plan: None,
                        error: msg,
                        previewing: true,
                    },
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
            Err(e) => s.fail(e),
        };
    }
    // A preview: the plan follows, nothing is stored.
    let planned = match serde_json::from_value::<PlanInput>(input.clone()) {
        Ok(i) => cellpath_web::care::plan_of(i).await,
        Err(e) => Err(cellpath_web::ApiError::bad_request(
            cellpath_web::ErrorCode::InvalidPlan,
            e.to_string(),
        )),
    };
    match planned {
        Ok(plan) => {
            render(
                &state,
                &s,
                &id,
                View {
                    input: &input,
                    plan: Some(&plan),
                    error: String::new(),
                    previewing: true,
                },
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let msg = s.message(&e);
            render(
                &state,
                &s,
                &id,
                View {
                    input: &input,
                    plan: None,
                    error: msg,
                    previewing: true,
                },
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}
