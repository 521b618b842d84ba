// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The pages of the people who work on cases: the work queue (safety alerts first) and
//! post-infusion monitoring — an entry form with a live grade preview, the grades over time
//! and the alerts inbox. Every read and change goes through the same use cases as the API.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use cellpath_care::monitoring::{Alert, Entry, Grades};
use cellpath_domain::Date;
use cellpath_domain::text::Lang;
use cellpath_web::Shared;
use cellpath_web::policy::{Action, Role};
use cellpath_web::work::{QueueAsk, QueueParams};
use serde_json::{Value, json};

use crate::frame::{Fields, Frame, Signed, done, page_with, status_for};
use crate::i18n::{self, tr};
use crate::patient::{case_nav, home_nav};

// ---------------------------------------------------------------- work queue

struct QueueLine {
    id: String,
    open: bool,
    patient: String,
    state: String,
    alerts: i64,
    unread: i64,
    mdt: String,
    due: String,
    overdue: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "work.html")]
struct WorkPage {
    f: Frame,
    lines: Vec<QueueLine>,
    summary: String,
    alerting: Option<String>,
    states: Vec<(String, String, bool)>,
    sorts: Vec<(String, String, bool)>,
    alerts_only: bool,
    page_of: String,
    prev: Option<String>,
    next: Option<String>,
}

/// The address of another page of the same queue.
fn queue_link(ask: &QueueAsk, page: i64) -> String {
    let mut q = vec![format!("page={page}")];
    if let Some(s) = &ask.state {
        q.push(format!("state={}", crate::frame::encode(s)));
    }
    if ask.alerts_only {
        q.push("alerts=true".to_owned());
    }
    q.push(format!("sort={}", ask.sort.as_str()));
    format!("/work?{}", q.join("&"))
}

/// `GET /work`: the work queue, paginated, filtered and sorted by the query string.
pub async fn work(
    State(state): State<Shared>,
    s: Signed,
    params: Result<Query<QueueParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = s.lang;
    let ask = match params {
        Ok(Query(p)) => {
            // A checkbox sends "on"; the API's `alerts=true` is accepted too.
            match p.check() {
                Ok(a) => a,
                Err(e) => return s.fail(e),
            }
        }
        Err(e) => {
            return s.fail(cellpath_web::ApiError::bad_request(
                cellpath_web::ErrorCode::InvalidQuery,
                e.body_text(),
            ));
        }
    };
    let page = match cellpath_web::work::queue(&state, s.actor(), &ask).await {
        Ok(p) => p,
        Err(e) => return s.fail(e),
    };
    let today = state.today().ok();
    // Each row through the door (consent may have ended one), side by side.
    let opens = futures_util::future::join_all(
        page.rows
            .iter()
            .map(|r| state.authorise(s.actor(), &r.id, Action::ReadCase)),
    )
    .await;
    let mut lines = Vec::with_capacity(page.rows.len());
    for (r, open) in page.rows.iter().zip(opens) {
        let open = open.is_ok();
        let due = r.next_due.as_deref().and_then(|d| Date::parse(d).ok());
        lines.push(QueueLine {
            id: r.id.clone(),
            open,
            patient: if open {
                r.owner_name
                    .clone()
                    .unwrap_or_else(|| r.owner_email.clone())
            } else {
                tr(lang, "work-no-access", &[])
            },
            // A case closed by consent is its id and "no access": no stage, MDT progress,
            // due date or last change (security round 2, issue 28).
            state: if open {
                tr(lang, &format!("state-{}", r.state), &[])
            } else {
                "—".to_owned()
            },
            alerts: if open { r.alerts } else { 0 },
            unread: if open { r.unread } else { 0 },
            mdt: if !open || r.assigned == 0 {
                "—".to_owned()
            } else {
                tr(
                    lang,
                    "work-mdt-count",
                    &[
                        ("submitted", &r.submitted.to_string()),
                        ("assigned", &r.assigned.to_string()),
                    ],
                )
            },
            due: due
                .filter(|_| open)
                .map_or_else(|| "—".to_owned(), |d| i18n::date(lang, d)),
            overdue: open && matches!((due, today), (Some(d), Some(t)) if d < t),
            updated: if open {
                i18n::timestamp(lang, &r.updated_at)
            } else {
                "—".to_owned()
            },
        });
    }
    let pages = ((page.total + ask.per_page - 1) / ask.per_page).max(1);
    let states = cellpath_domain::lifecycle::CaseState::ALL
        .iter()
        .map(|st| {
            let v = st.as_str().to_owned();
            let chosen = ask.state.as_deref() == Some(st.as_str());
            (v.clone(), tr(lang, &format!("state-{v}"), &[]), chosen)
        })
        .collect();
    let sorts = ["updated", "due", "state"]
        .iter()
        .map(|k| {
            (
                (*k).to_owned(),
                tr(lang, &format!("work-sort-{k}"), &[]),
                ask.sort.as_str() == *k,
            )
        })
        .collect();
    let f = s.frame("work-title", home_nav(lang, s.actor().role, "nav-work"));
    page_with(
        StatusCode::OK,
        &WorkPage {
            f,
            lines,
            summary: tr(lang, "work-total", &[("n", &page.total.to_string())]),
            alerting: (page.alerting > 0)
                .then(|| tr(lang, "work-alerting", &[("n", &page.alerting.to_string())])),
            states,
            sorts,
            alerts_only: ask.alerts_only,
            page_of: tr(
                lang,
                "work-page-of",
                &[
                    ("page", &ask.page.to_string()),
                    ("pages", &pages.to_string()),
                ],
            ),
            prev: (ask.page > 1).then(|| queue_link(&ask, ask.page - 1)),
            next: (ask.page < pages).then(|| queue_link(&ask, ask.page + 1)),
        },
    )
}

// ---------------------------------------------------------------- monitoring

/// A choice in a select: (value, label, chosen).
type Choice = (String, String, bool);

const DEVICES: &[&str] = &[
    "none",
    "blow-by",
    "low-flow-nasal-cannula",
    "high-flow-nasal-cannula",
    "facemask",
    "non-rebreather",
    "venturi",
    "cpap",
    "bipap",
    "mechanical-ventilation",
];
const CONSCIOUSNESS: &[&str] = &[
    "normal",
    "awakens-spontaneously",
    "awakens-to-voice",
    "awakens-to-touch",
    "unarousable",
];
const SEIZURES: &[&str] = &[
    "none",
    "rapidly-resolving",
    "nonconvulsive-eeg-resolving",
    "prolonged-or-repetitive",
];
const MOTOR: &[&str] = &["none", "deep-focal"];
const OEDEMA: &[&str] = &["none", "focal", "diffuse"];
pub const PRESSURE_SIGNS: &[&str] = &[
    "decerebrate-posturing",
    "decorticate-posturing",
    "cranial-nerve-vi-palsy",
    "papilloedema",
    "cushings-triad",
];
/// The five ICE parts and the most points each gives.
const ICE_PARTS: &[(&str, u8)] = &[
    ("orientation", 4),
    ("naming", 3),
    ("commands", 1),
    ("writing", 1),
    ("attention", 1),
];

/// The monitoring form as sent (or empty), kept as text so a form sent back with an error
/// shows what was typed.
#[derive(Clone, Debug, Default)]
struct MonForm {
    temp: String,
    antipyretics: bool,
    hypotension: bool,
    vasopressors: String,
    vasopressin: bool,
    device: String,
    flow: String,
    sbp: String,
    hr: String,
    rr: String,
    spo2: String,
    ice_na: bool,
    ice: Vec<String>,
    consciousness: String,
    seizure: String,
    motor: String,
    oedema: String,
    signs: Vec<String>,
}

impl MonForm {
    fn empty() -> Self {
        Self {
            vasopressors: "0".to_owned(),
            device: "none".to_owned(),
            ice: vec![String::new(); ICE_PARTS.len()],
            consciousness: "normal".to_owned(),
            seizure: "none".to_owned(),
            motor: "none".to_owned(),
            oedema: "none".to_owned(),
            ..Self::default()
        }
    }

    fn from_fields(f: &Fields) -> Self {
        Self {
            temp: f.text("temp"),
            antipyretics: f.get("antipyretics").is_some(),
            hypotension: f.get("hypotension").is_some(),
            vasopressors: f.text("vasopressors"),
            vasopressin: f.get("vasopressin").is_some(),
            device: f.text("device"),
            flow: f.text("flow"),
            sbp: f.text("sbp"),
            hr: f.text("hr"),
            rr: f.text("rr"),
            spo2: f.text("spo2"),
            ice_na: f.get("ice_na").is_some(),
            ice: ICE_PARTS
                .iter()
                .map(|(p, _)| f.text(&format!("ice_{p}")))
                .collect(),
            consciousness: f.text("consciousness"),
            seizure: f.text("seizure"),
            motor: f.text("motor"),
            oedema: f.text("oedema"),
            signs: f.all("ps").into_iter().map(str::to_owned).collect(),
        }
    }
}

/// A form field's trouble, naming the field in the reader's language.
fn field_error(lang: Lang, field: &str, lo: &str, hi: &str) -> String {
    tr(
        lang,
        "mon-error-range",
        &[
            ("field", &tr(lang, &format!("mon-{field}"), &[])),
            ("lo", lo),
            ("hi", hi),
        ],
    )
}

/// A number in a range, or the error naming the field.
fn number(lang: Lang, field: &str, text: &str, lo: f64, hi: f64) -> Result<f64, String> {
    text.trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (lo..=hi).contains(v))
        .ok_or_else(|| field_error(lang, field, &lo.to_string(), &hi.to_string()))
}

fn optional(lang: Lang, field: &str, text: &str, lo: f64, hi: f64) -> Result<Value, String> {
    if text.trim().is_empty() {
        Ok(Value::Null)
    } else {
        number(lang, field, text, lo, hi).map(|v| json!(v.round() as i64))
    }
}

fn one_of(lang: Lang, field: &str, text: &str, set: &[&str]) -> Result<String, String> {
    set.contains(&text).then(|| text.to_owned()).ok_or_else(|| {
        tr(
            lang,
            "mon-error-choice",
            &[("field", &tr(lang, &format!("mon-{field}"), &[]))],
        )
    })
}

/// The entry as the API takes it, or every field's trouble.
fn entry_json(lang: Lang, m: &MonForm) -> Result<Value, Vec<String>> {
    let mut errors = Vec::new();
    let mut ok = |r: Result<Value, String>| match r {
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            Value::Null
        }
    };
    let temp = ok(number(lang, "temp", &m.temp, 25.0, 45.0).map(|t| json!(t)));
    let vasopressors =
        ok(number(lang, "vasopressors", &m.vasopressors, 0.0, 10.0)
            .map(|v| json!(v.round() as i64)));
    let device = ok(one_of(lang, "device", &m.device, DEVICES).map(Value::from));
    let flow = ok(optional(lang, "flow", &m.flow, 0.0, 80.0).map(|v| {
        // Flow is a decimal; `optional` rounds whole units, so take it again unrounded.
        if v.is_null() {
            v
        } else {
            json!(
                m.flow
                    .trim()
                    .replace(',', ".")
                    .parse::<f64>()
                    .unwrap_or(0.0)
            )
        }
    }));
    let vitals = json!({
        "systolic_bp_mmhg": ok(optional(lang, "sbp", &m.sbp, 30.0, 300.0)),
        "heart_rate_bpm": ok(optional(lang, "hr", &m.hr, 20.0, 300.0)),
        "respiratory_rate_min": ok(optional(lang, "rr", &m.rr, 2.0, 80.0)),
        "spo2_percent": ok(optional(lang, "spo2", &m.spo2, 40.0, 100.0)),
    });
    let mut icans = json!({
        "consciousness": ok(one_of(lang, "consciousness", &m.consciousness, CONSCIOUSNESS).map(Value::from)),
        "seizure": ok(one_of(lang, "seizure", &m.seizure, SEIZURES).map(Value::from)),
        "motor_weakness": ok(one_of(lang, "motor", &m.motor, MOTOR).map(Value::from)),
        "cerebral_edema": ok(one_of(lang, "oedema", &m.oedema, OEDEMA).map(Value::from)),
        "pressure_signs": m.signs.iter().filter(|s| PRESSURE_SIGNS.contains(&s.as_str())).collect::<Vec<_>>(),
    });
    if m.ice_na {
        icans["ice_score"] = Value::Null;
    } else {
        let mut parts = serde_json::Map::new();
        for ((part, max), v) in ICE_PARTS.iter().zip(&m.ice) {
            let n = ok(
                number(lang, &format!("ice-{part}"), v, 0.0, f64::from(*max))
                    .map(|n| json!(n.round() as i64)),
            );
            parts.insert((*part).to_owned(), n);
        }
        icans["ice"] = Value::Object(parts);
    }
    let mut crs = json!({
        "temperature_c": temp,
        "antipyretics_or_anticytokine_given": m.antipyretics,
        "hypotension": m.hypotension,
        "vasopressors": vasopressors,
        "vasopressin": m.vasopressin,
        "oxygen": {"device": device},
    });
    if !flow.is_null() {
        crs["oxygen"]["flow_l_min"] = flow;
    }
    if errors.is_empty() {
        Ok(json!({"crs": crs, "icans": icans, "vitals": vitals}))
    } else {
        Err(errors)
    }
}

/// The live preview: the grades with their reasons, in the reader's language.
#[derive(Template)]
#[template(path = "monitoring_preview.html")]
struct PreviewPart {
    f: Frame,
    errors: Vec<String>,
    ice: Option<String>,
    grades: Vec<GradeView>,
    source: String,
}

struct GradeView {
    name: &'static str,
    grade: String,
    class: &'static str,
    reasons: Vec<String>,
}

fn grade_views(lang: Lang, g: &Grades) -> Vec<GradeView> {
    [("CRS", &g.crs), ("ICANS", &g.icans)]
        .into_iter()
        .map(|(name, gr)| GradeView {
            name,
            grade: if !gr.graded {
                tr(lang, "mon-ungraded", &[("grade", &gr.grade.to_string())])
            } else if gr.grade == 0 {
                tr(lang, "mon-grade-none", &[])
            } else {
                tr(lang, "mon-grade", &[("grade", &gr.grade.to_string())])
            },
            class: if !gr.graded || gr.grade > 0 {
                "not-met"
            } else {
                "met"
            },
            reasons: match lang {
                Lang::ZhCn => gr.reasons_zh.clone(),
                Lang::En => gr.reasons.clone(),
            },
        })
        .collect()
}

fn source_line(lang: Lang) -> String {
    tr(
        lang,
        "mon-source",
        &[
            ("source", cellpath_care::SOURCE),
            ("asof", cellpath_care::SOURCE_AS_OF),
        ],
    )
}

/// Grades a form for the preview (nothing is stored).
fn preview(s: &Signed, m: &MonForm, crs_before: bool) -> PreviewPart {
    let lang = s.lang;
    let f = s.frame("mon-title", Vec::new());
    match entry_json(lang, m)
        .and_then(|v| serde_json::from_value::<Entry>(v).map_err(|e| vec![e.to_string()]))
    {
        Ok(entry) => {
            let (grades, _) = cellpath_care::monitoring::assess(&entry, None, crs_before);
            PreviewPart {
                f,
                errors: Vec::new(),
                ice: entry.icans.ice.score().map(|n| n.to_string()),
                grades: grade_views(lang, &grades),
                source: source_line(lang),
            }
        }
        Err(errors) => PreviewPart {
            f,
            errors,
            ice: None,
            grades: Vec::new(),
            source: source_line(lang),
        },
    }
}

struct AlertView {
    id: String,
    at: String,
    grades: String,
    alerts: Vec<String>,
    acked: Option<String>,
}

/// A safety alert from the family's report at home, as the monitoring inbox shows it.
struct HomeAlertView {
    id: String,
    at: String,
    severity: String,
    emergency: bool,
    reported: String,
    /// Who was told, and how far it escalated.
    told: String,
    /// Who acknowledged it, when and what they did.
    acked: Option<String>,
}

struct EntryView {
    at: String,
    crs: String,
    icans: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "monitoring.html")]
struct MonitoringPage {
    f: Frame,
    id: String,
    can_enter: bool,
    form: MonForm,
    error: String,
    preview: String,
    crs_before: bool,
    inbox: Vec<AlertView>,
    home_alerts: Vec<HomeAlertView>,
    can_ack_home: bool,
    ack_actions: Vec<(String, String)>,
    /// Who is on call now, in order, and after how long an alert escalates.
    on_call: String,
    can_set_rota: bool,
    history: Vec<EntryView>,
    chart: String,
    devices: Vec<Choice>,
    consciousness: Vec<Choice>,
    seizures: Vec<Choice>,
    motor: Vec<Choice>,
    oedema: Vec<Choice>,
    signs: Vec<Choice>,
    ice_parts: Vec<(String, String, Vec<Choice>)>,
    source: String,
}

fn choices(lang: Lang, prefix: &str, set: &[&str], chosen: &str) -> Vec<Choice> {
    set.iter()
        .map(|v| {
            (
                (*v).to_owned(),
                tr(lang, &format!("{prefix}-{v}"), &[]),
                *v == chosen,
            )
        })
        .collect()
}

/// An alert in the reader's language (the rule, with the grades of its entry).
/// An alert as the team reads it: the care rules' own words, with the values that fired
/// (the same text the API and the notifications give).
pub fn alert_text(lang: Lang, a: &Alert) -> String {
    a.text(lang).to_owned()
}

async fn monitoring_page(
    state: &Shared,
    s: &Signed,
    id: &str,
    form: MonForm,
    error: String,
    preview_html: String,
) -> Response {
    let lang = s.lang;
    if let Err(e) = state.authorise(s.actor(), id, Action::ReadCase).await {
        return s.fail(e);
    }
    let list = match cellpath_web::care::assessed(state, id).await {
        Ok(l) => l,
        Err(e) => return s.fail(e),
    };
    if let Err(e) = state.read(s.actor(), "monitoring.read", Some(id)).await {
        return s.fail(e);
    }
    let can_enter = s.may(state, id, Action::Monitor).await;
    let can_ack_home = s.may(state, id, Action::AcknowledgeAlert).await;
    let can_set_rota = s.may(state, id, Action::SetOnCall).await;
    let home = match cellpath_web::alerts::of_case(state, id).await {
        Ok(l) => l,
        Err(e) => return s.fail(e),
    };
    let offset = match cellpath_web::care::centre_contacts(state, id).await {
        Ok((_, o)) => o,
        Err(e) => return s.fail(e),
    };
    let mut home_alerts: Vec<HomeAlertView> = Vec::new();
    for a in &home {
        let mut names = Vec::new();
        for u in &a.row.notified {
            names.push(crate::patient::name_of(state, u).await);
        }
        let told = tr(
            lang,
            match a.level() {
                cellpath_care::oncall::Level::First => "alert-told-first",
                cellpath_care::oncall::Level::Next => "alert-told-next",
                cellpath_care::oncall::Level::Everyone => "alert-told-everyone",
            },
            &[("names", &names.join(", "))],
        );
        home_alerts.push(HomeAlertView {
            id: a.row.id.clone(),
            at: cellpath_web::notify::clock_time(&a.row.raised_at, offset),
            severity: cellpath_web::alerts::severity_words(a.row.severity)
                .get(lang)
                .to_owned(),
            emergency: a.row.severity == cellpath_store::AlertSeverity::Emergency,
            reported: a.reported.words(lang),
            told,
            acked: a.row.ack.as_ref().map(|k| {
                let mut t = tr(
                    lang,
                    "alert-acked-by",
                    &[
                        (
                            "name",
                            &k.user_name.clone().unwrap_or_else(|| k.user_id.clone()),
                        ),
                        ("at", &cellpath_web::notify::clock_time(&k.at, offset)),
                        (
                            "action",
                            cellpath_web::alerts::action_words(k.action).get(lang),
                        ),
                    ],
                );
                if let Some(n) = &k.note {
                    t.push_str(" — ");
                    t.push_str(n);
                }
                t
            }),
        });
    }
    // Open alerts first, newest first within each.
    home_alerts.sort_by_key(|a| a.acked.is_some());
    let on_call = match cellpath_web::alerts::on_call_now(state, id).await {
        Ok(list) if list.is_empty() => tr(
            lang,
            "alert-on-call-nobody",
            &[(
                "minutes",
                &(state.config.alert_ack_window.as_secs() / 60).to_string(),
            )],
        ),
        Ok(list) => {
            let mut names = Vec::new();
            for u in &list {
                names.push(crate::patient::name_of(state, u).await);
            }
            tr(
                lang,
                "alert-on-call",
                &[
                    ("names", &names.join(" → ")),
                    (
                        "minutes",
                        &(state.config.alert_ack_window.as_secs() / 60).to_string(),
                    ),
                ],
            )
        }
        Err(e) => return s.fail(e),
    };
    let ack_actions = cellpath_web::notify::actions()
        .iter()
        .map(|a| {
            (
                a.as_str().to_owned(),
                cellpath_web::alerts::action_words(*a).get(lang).to_owned(),
            )
        })
        .collect();
    let crs_before = list.iter().any(|a| a.row.crs_grade > 0);
    let grades_text = |g: &Grades| {
        tr(
            lang,
            "mon-grades",
            &[
                ("crs", &g.crs.grade.to_string()),
                ("icans", &g.icans.grade.to_string()),
            ],
        )
    };
    // Unacknowledged first, newest first within each.
    let mut inbox: Vec<AlertView> = list
        .iter()
        .rev()
        .filter(|a| !a.alerts.is_empty())
        .map(|a| AlertView {
            id: a.row.id.clone(),
            at: i18n::timestamp(lang, &a.row.at),
            grades: grades_text(&a.grades),
            alerts: a.alerts.iter().map(|x| alert_text(lang, x)).collect(),
            acked: a.ack.as_ref().map(|k| i18n::timestamp(lang, &k.at)),
        })
        .collect();
    inbox.sort_by_key(|a| a.acked.is_some());
    let history = list
        .iter()
        .rev()
        .map(|a| EntryView {
            at: i18n::timestamp(lang, &a.row.at),
            crs: grade_views(lang, &a.grades)[0].grade.clone(),
            icans: grade_views(lang, &a.grades)[1].grade.clone(),
            reasons: grade_views(lang, &a.grades)
                .into_iter()
                .flat_map(|g| g.reasons)
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect();
    let points: Vec<crate::svg::GradePoint> = list
        .iter()
        .map(|a| crate::svg::GradePoint {
            label: i18n::timestamp(lang, &a.row.at),
            crs: a.grades.crs.grade,
            icans: a.grades.icans.grade,
        })
        .collect();
    let chart = crate::svg::grades_chart(
        &points,
        &tr(lang, "mon-chart-title", &[]),
        &tr(lang, "mon-grade-axis", &[]),
    );
    let ice_parts = ICE_PARTS
        .iter()
        .zip(&form.ice)
        .map(|((part, max), v)| {
            let mut opts: Vec<Choice> = vec![(String::new(), "—".to_owned(), v.is_empty())];
            opts.extend((0..=*max).map(|n| (n.to_string(), n.to_string(), *v == n.to_string())));
            (
                (*part).to_owned(),
                tr(
                    lang,
                    &format!("mon-ice-{part}"),
                    &[("max", &max.to_string())],
                ),
                opts,
            )
        })
        .collect();
    let signs = PRESSURE_SIGNS
        .iter()
        .map(|v| {
            (
                (*v).to_owned(),
                tr(lang, &format!("ps-{v}"), &[]),
                form.signs.iter().any(|s| s == v),
            )
        })
        .collect();
    let status = status_for(&error);
    let f = s.frame(
        "mon-title",
        case_nav(lang, id, s.actor().role, "nav-monitoring"),
    );
    page_with(
        status,
        &MonitoringPage {
            f,
            id: id.to_owned(),
            can_enter,
            devices: choices(lang, "device", DEVICES, &form.device),
            consciousness: choices(lang, "consc", CONSCIOUSNESS, &form.consciousness),
            seizures: choices(lang, "seizure", SEIZURES, &form.seizure),
            motor: choices(lang, "motor", MOTOR, &form.motor),
            oedema: choices(lang, "oedema", OEDEMA, &form.oedema),
            signs,
            ice_parts,
            form,
            error,
            preview: preview_html,
            crs_before,
            inbox,
            home_alerts,
            can_ack_home,
            ack_actions,
            on_call,
            can_set_rota,
            history,
            chart,
            source: source_line(lang),
        },
    )
}

pub async fn monitoring(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    monitoring_page(
        &state,
        &s,
        &id,
        MonForm::empty(),
        String::new(),
        String::new(),
    )
    .await
}

fn render(t: &impl Template) -> String {
    t.render().unwrap_or_default()
}

/// `POST /cases/{id}/monitoring`: preview (without JavaScript), save, or acknowledge.
pub async fn monitoring_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if let Err(r) = fields.check(&s) {
        return r;
    }
    let here = format!("/cases/{id}/monitoring");
    match fields.text("_action").as_str() {
        "ack-alert" => {
            let aid = fields.text("alert");
            let Ok(action) = fields.text("action").parse::<cellpath_store::AlertAction>() else {
                return s.fail(cellpath_web::ApiError::bad_request(
                    cellpath_web::ErrorCode::InvalidBody,
                    "say what was done",
                ));
            };
            let note = fields.text("note");
            match cellpath_web::alerts::acknowledge(
                &state,
                &s.writer(),
                &id,
                &aid,
                action,
                Some(note.as_str()),
            )
            .await
            {
                Ok(()) => done(&format!("{here}#alert-{aid}"), "alert-acknowledged"),
                Err(e) if e.status() == StatusCode::BAD_REQUEST => {
                    let msg = s.message(&e);
                    monitoring_page(&state, &s, &id, MonForm::empty(), msg, String::new()).await
                }
                Err(e) => s.fail(e),
            }
        }
        "ack" => {
            let mid = fields.text("entry");
            match cellpath_web::care::acknowledge(
                State(state.clone()),
                s.writer(),
                Path((id.clone(), mid)),
            )
            .await
            {
                Ok(_) => done(&here, "alerts-acknowledged"),
                Err(e) => s.fail(e),
            }
        }
        "preview" => {
            if let Err(e) = state.authorise(&s.writer(), &id, Action::Monitor).await {
                return s.fail(e);
            }
            let form = MonForm::from_fields(&fields);
            let part = render(&preview(&s, &form, fields.get("crs_before").is_some()));
            monitoring_page(&state, &s, &id, form, String::new(), part).await
        }
        _ => {
            let form = MonForm::from_fields(&fields);
            let json = match entry_json(s.lang, &form) {
                Ok(j) => j,
                Err(errors) => {
                    return monitoring_page(
                        &state,
                        &s,
                        &id,
                        form,
                        errors.join(" · "),
                        String::new(),
                    )
                    .await;
                }
            };
            match cellpath_web::care::monitor(
                State(state.clone()),
                s.writer(),
                Path(id.clone()),
                Bytes::from(json.to_string()),
            )
            .await
            {
                Ok(_) => done(&here, "monitoring-saved"),
                Err(e) if e.status() == StatusCode::BAD_REQUEST => {
                    let msg = s.message(&e);
                    monitoring_page(&state, &s, &id, form, msg, String::new()).await
                }
                Err(e) => s.fail(e),
            }
        }
    }
}

/// `POST /cases/{id}/monitoring/preview`: the live grade preview as the entry is typed (an
/// HTML fragment for htmx). Reads nothing of the case but whether the visitor may enter
/// monitoring, so nothing is audited; the history's one input (CRS seen before) comes from
/// the page, and the saved entry is graded again from the stored history.
pub async fn monitoring_preview(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if let Err(r) = fields.check(&s) {
        return r;
    }
    if let Err(e) = state.authorise(&s.writer(), &id, Action::Monitor).await {
        return s.fail(e);
    }
    let form = MonForm::from_fields(&fields);
    let part = preview(&s, &form, fields.get("crs_before").is_some());
    match part.render() {
        Ok(html) => Html(html).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Whether the role works on cases (and so has a work queue).
pub fn works_on_cases(role: Role) -> bool {
    matches!(role, Role::Coordinator | Role::Specialist)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every choice the form offers is a value the grading rules read, and has its words.
    #[test]
    fn every_choice_is_a_rule_input_and_has_words() {
        fn parses<T: serde::de::DeserializeOwned>(v: &str) -> bool {
            serde_json::from_value::<T>(Value::from(v)).is_ok()
        }
        use cellpath_care::icans::{CerebralEdema, MotorWeakness, PressureSign, Seizure};
        use cellpath_care::{Consciousness, OxygenDevice};
        let mut want = Vec::new();
        for (prefix, set, ok) in [
            (
                "device",
                DEVICES,
                parses::<OxygenDevice> as fn(&str) -> bool,
            ),
            ("consc", CONSCIOUSNESS, parses::<Consciousness>),
            ("seizure", SEIZURES, parses::<Seizure>),
            ("motor", MOTOR, parses::<MotorWeakness>),
            ("oedema", OEDEMA, parses::<CerebralEdema>),
            ("ps", PRESSURE_SIGNS, parses::<PressureSign>),
        ] {
            for v in set {
                assert!(ok(v), "{prefix}: {v} is no input of the rules");
                want.push(format!("{prefix}-{v}"));
            }
        }
        for (part, _) in ICE_PARTS {
            want.push(format!("mon-ice-{part}"));
        }
        for f in [
            "temp",
            "vasopressors",
            "flow",
            "sbp",
            "hr",
            "rr",
            "spo2",
            "consciousness",
        ] {
            want.push(format!("mon-{f}"));
        }
        for k in ["updated", "due", "state"] {
            want.push(format!("work-sort-{k}"));
        }
        for d in ["monitoring-saved", "alerts-acknowledged"] {
            want.push(format!("done-{d}"));
        }
        let missing: Vec<&String> = want.iter().filter(|k| !i18n::has(k)).collect();
        assert!(missing.is_empty(), "keys missing: {missing:?}");
    }

    /// Every alert a rule can raise is put in words (a new rule without words fails here).
    #[test]
    fn every_alert_rule_has_words() {
        let entry: Entry = serde_json::from_value(json!({
            "crs": {"temperature_c": 39.0, "antipyretics_or_anticytokine_given": false,
                    "hypotension": true, "vasopressors": 1, "vasopressin": true,
                    "oxygen": {"device": "facemask"}},
            "icans": {"ice_score": 2, "consciousness": "awakens-to-touch",
                      "seizure": "rapidly-resolving", "motor_weakness": "deep-focal",
                      "cerebral_edema": "none"}
        }))
        .expect("entry");
        let (_, alerts) = cellpath_care::monitoring::assess(&entry, None, false);
        assert!(alerts.len() >= 6, "{alerts:?}");
        for lang in [Lang::En, Lang::ZhCn] {
            for a in &alerts {
                let t = alert_text(lang, a);
                assert!(!t.is_empty(), "{a:?} has no words");
                if lang == Lang::ZhCn {
                    // No English words in Chinese (units and codes aside).
                    assert!(!t.contains("vasopressor") && !t.contains("seizure"), "{t}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------- my assignments

struct AssignmentLine {
    id: String,
    patient: String,
    open: bool,
    state: String,
    due: String,
    overdue: bool,
    assigned: String,
    version: String,
    changed: bool,
    status: String,
    status_class: &'static str,
}

#[derive(Template)]
#[template(path = "assignments.html")]
struct AssignmentsPage {
    f: Frame,
    lines: Vec<AssignmentLine>,
}

/// `GET /work/assignments`: a specialist's own MDT assignments — due dates, the record
/// version each was assigned on and whether it changed since, the opinion given or not.
pub async fn assignments(State(state): State<Shared>, s: Signed) -> Response {
    let lang = s.lang;
    let list = match cellpath_web::work::assignments(&state, s.actor()).await {
        Ok(l) => l,
        Err(e) => return s.fail(e),
    };
    let lines = list
        .into_iter()
        .map(|a| {
            let (status, status_class) = if a.submitted {
                (tr(lang, "asg-submitted", &[]), "met")
            } else if a.drafting {
                (tr(lang, "asg-drafting", &[]), "pending")
            } else {
                (tr(lang, "asg-to-write", &[]), "unknown")
            };
            AssignmentLine {
                open: a.access,
                state: a.state.as_deref().map_or_else(
                    || tr(lang, "work-no-access", &[]),
                    |st| tr(lang, &format!("state-{st}"), &[]),
                ),
                due: Date::parse(&a.due).map_or_else(|_| a.due.clone(), |d| i18n::date(lang, d)),
                overdue: a.overdue,
                assigned: i18n::timestamp(lang, &a.assigned_at),
                version: a
                    .record_version
                    .map_or_else(|| "—".to_owned(), |v| v.to_string()),
                changed: a.record_changed,
                patient: a.patient.unwrap_or_default(),
                status,
                status_class,
                id: a.case_id,
            }
        })
        .collect();
    let f = s.frame(
        "asg-title",
        crate::patient::home_nav(lang, s.actor().role, "nav-assignments"),
    );
    crate::frame::page(&AssignmentsPage { f, lines })
}
