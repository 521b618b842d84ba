//! The MDT second opinion as pages: the coordinator assigns specialists by specialty with a
//! due date and sees who has given an opinion; each assigned specialist writes an opinion on
//! the six questions of the decision framework (saved as a draft, then submitted, never
//! changed); a lead writes the consensus with each colleague's dissent; everyone assigned
//! signs; an amendment is a new version. A warning shows when the record changed after the
//! opinions or the consensus were given.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cellpath_domain::Date;
use cellpath_domain::text::Lang;
use cellpath_web::Shared;
use cellpath_web::mdt::{Consensus, Draft, Opinion};
use cellpath_web::policy::{Action, Role};
use serde_json::{Value, json};

use crate::frame::{Fields, Frame, Signed, done, page_with, status_for};
use crate::i18n::{self, tr};
use crate::patient::case_nav;

/// The six questions of the decision framework, as the API names them.
pub const QUESTIONS: &[&str] = &[
    "biomarker_eligibility",
    "treatment_sequence",
    "alternatives",
    "benefit_and_risk",
    "access_and_logistics",
    "recommendation",
];
pub const RECOMMENDATIONS: &[&str] = &[
    "proceed-to-car-t-evaluation",
    "consider-an-alternative",
    "not-suitable",
    "need-more-information",
];
pub const CONFIDENCE: &[&str] = &["low", "moderate", "high"];

/// A question's key in the locale files.
fn q_key(q: &str) -> String {
    format!("mdt-q-{}", q.replace('_', "-"))
}

fn kebab<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

struct TeamLine {
    /// The record version assigned on, and whether the record changed since.
    assigned_on: Option<i64>,
    changed_since: bool,
    name: String,
    specialty: String,
    due: String,
    overdue: bool,
    given: Option<String>,
}

struct AnswerView {
    question: String,
    answer: String,
}

struct OpinionView {
    author: String,
    specialty: String,
    at: String,
    recommendation: String,
    confidence: String,
    rationale: String,
    answers: Vec<AnswerView>,
    stale: bool,
}

struct DissentView {
    name: String,
    note: String,
}

struct ConsensusView {
    version: i64,
    lead: String,
    at: String,
    recommendation: String,
    summary: String,
    answers: Vec<AnswerView>,
    dissent: Vec<DissentView>,
    signed_by: Vec<String>,
    waiting_for: Vec<String>,
    latest: bool,
    stale: bool,
    may_sign: bool,
}

/// A text box of a form: (name, label, value).
struct Field {
    name: String,
    label: String,
    value: String,
}

/// A choice in a select: (value, label, chosen).
type Choice = (String, String, bool);

#[derive(Template)]
#[template(path = "mdt.html")]
struct MdtPage {
    f: Frame,
    id: String,
    record_version: i64,
    error: String,
    team: Vec<TeamLine>,
    can_assign: bool,
    specialists: Vec<(String, Vec<(String, String)>)>,
    today: String,
    opinion_form: Option<OpinionForm>,
    opinions: Vec<OpinionView>,
    stale_opinions: bool,
    versions: Vec<ConsensusView>,
    consensus_form: Option<ConsensusForm>,
}

struct OpinionForm {
    recommendations: Vec<Choice>,
    confidence: Vec<Choice>,
    rationale: String,
    answers: Vec<Field>,
    saved_at: Option<String>,
}

struct ConsensusForm {
    recommendations: Vec<Choice>,
    summary: String,
    answers: Vec<Field>,
    dissent: Vec<Field>,
    amend: bool,
}

fn choices(lang: Lang, prefix: &str, set: &[&str], chosen: Option<&str>) -> Vec<Choice> {
    set.iter()
        .map(|v| {
            (
                (*v).to_owned(),
                tr(lang, &format!("{prefix}-{v}"), &[]),
                Some(*v) == chosen,
            )
        })
        .collect()
}

fn answer_fields(lang: Lang, prefix: &str, values: &[String]) -> Vec<Field> {
    QUESTIONS
        .iter()
        .zip(values)
        .map(|(q, v)| Field {
            name: format!("{prefix}{q}"),
            label: tr(lang, &q_key(q), &[]),
            value: v.clone(),
        })
        .collect()
}

/// The six answers in the framework's order, from an opinion's, a consensus's or a draft's
/// answers (the same names: `QUESTIONS` is checked against the API's in the tests).
fn framework_values(a: &impl serde::Serialize) -> Vec<String> {
    let v = serde_json::to_value(a).unwrap_or_default();
    QUESTIONS
        .iter()
        .map(|q| {
            v.get(q)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn answer_views(lang: Lang, a: &cellpath_web::mdt::Framework) -> Vec<AnswerView> {
    QUESTIONS
        .iter()
        .zip(framework_values(a))
        .map(|(q, v)| AnswerView {
            question: tr(lang, &q_key(q), &[]),
            answer: v,
        })
        .collect()
}

struct Person {
    name: String,
    specialty: String,
}

async fn person(state: &Shared, lang: Lang, id: &str) -> Person {
    match state.store.user(id).await {
        Ok(Some(u)) => Person {
            name: u.display_name.unwrap_or(u.email),
            specialty: u
                .specialty
                .map(|s| tr(lang, &format!("specialty-{s}"), &[]))
                .unwrap_or_default(),
        },
        _ => Person {
            name: "cellpath".to_owned(),
            specialty: String::new(),
        },
    }
}

/// What a form sent back with an error keeps of what was typed.
#[derive(Default)]
struct Typed {
    opinion: Option<Draft>,
    consensus: Option<Value>,
}

async fn mdt_page(state: &Shared, s: &Signed, id: &str, error: String, typed: Typed) -> Response {
    let lang = s.lang;
    let case = match state.authorise(s.actor(), id, Action::ReadCase).await {
        Ok(c) => c,
        Err(e) => return s.fail(e),
    };
    let load = async {
        let team = state.store.mdt_assignments(id).await?;
        let opinions = state.store.mdt_opinions(id).await?;
        let versions = state.store.mdt_consensus(id).await?;
        let mut signatures = Vec::new();
        for v in &versions {
            signatures.push(state.store.mdt_signatures(id, v.version).await?);
        }
        Ok::<_, cellpath_store::StoreError>((team, opinions, versions, signatures))
    };
    let (team, opinions, versions, signatures) = match load.await {
        Ok(x) => x,
        Err(e) => return s.fail(e.into()),
    };
    let me = s.actor().id.clone();
    let assigned = team.iter().any(|a| a.user_id == me);
    let given_by_me = opinions.iter().any(|o| o.author_id == me);
    let draft = if assigned && !given_by_me {
        match cellpath_web::mdt::own_draft(state, id, &me).await {
            Ok(d) => d,
            Err(e) => return s.fail(e),
        }
    } else {
        None
    };
    if let Err(e) = state.read(s.actor(), "mdt.read", Some(id)).await {
        return s.fail(e);
    }
    let today = state.today().ok();
    let mut team_lines = Vec::new();
    for a in &team {
        let p = person(state, lang, &a.user_id).await;
        let due = Date::parse(&a.due).ok();
        let given = opinions
            .iter()
            .find(|o| o.author_id == a.user_id)
            .map(|o| i18n::timestamp(lang, &o.submitted_at));
        team_lines.push(TeamLine {
            assigned_on: a.record_version,
            changed_since: a.record_version.is_some_and(|v| v != case.record_version),
            name: p.name,
            specialty: p.specialty,
            due: due.map_or_else(|| a.due.clone(), |d| i18n::date(lang, d)),
            overdue: given.is_none() && matches!((due, today), (Some(d), Some(t)) if d < t),
            given,
        });
    }
    let mut opinion_views = Vec::new();
    for o in &opinions {
        let Ok(op) = serde_json::from_str::<Opinion>(&o.body) else {
            continue;
        };
        let p = person(state, lang, &o.author_id).await;
        opinion_views.push(OpinionView {
            author: p.name,
            specialty: p.specialty,
            at: i18n::timestamp(lang, &o.submitted_at),
            recommendation: tr(lang, &format!("rec-{}", kebab(&op.recommendation)), &[]),
            confidence: tr(lang, &format!("conf-{}", kebab(&op.confidence)), &[]),
            rationale: op.rationale.clone(),
            answers: answer_views(lang, &op.answers),
            stale: o.record_version.is_some_and(|v| v != case.record_version),
        });
    }
    let stale_opinions = opinion_views.iter().any(|o| o.stale);
    let latest_version = versions.last().map(|v| v.version);
    let mut version_views = Vec::new();
    for (v, sigs) in versions.iter().zip(&signatures) {
        let Ok(c) = serde_json::from_str::<Consensus>(&v.body) else {
            continue;
        };
        let mut dissent = Vec::new();
        for d in &c.dissent {
            dissent.push(DissentView {
                name: person(state, lang, &d.specialist_id).await.name,
                note: d.note.clone(),
            });
        }
        let mut signed_by = Vec::new();
        let mut waiting_for = Vec::new();
        for a in &team {
            let name = person(state, lang, &a.user_id).await.name;
            match sigs.iter().find(|g| g.user_id == a.user_id) {
                Some(g) => {
                    signed_by.push(format!("{name} ({})", i18n::timestamp(lang, &g.signed_at)))
                }
                None => waiting_for.push(name),
            }
        }
        let latest = Some(v.version) == latest_version;
        version_views.push(ConsensusView {
            version: v.version,
            lead: person(state, lang, &v.lead_id).await.name,
            at: i18n::timestamp(lang, &v.created_at),
            recommendation: tr(lang, &format!("rec-{}", kebab(&c.recommendation)), &[]),
            summary: c.summary.clone(),
            answers: answer_views(lang, &c.answers),
            dissent,
            may_sign: latest && assigned && !sigs.iter().any(|g| g.user_id == me),
            signed_by,
            waiting_for,
            latest,
            stale: v.record_version.is_some_and(|r| r != case.record_version),
        });
    }
    version_views.reverse();

    let can_assign = s.may(state, id, Action::AssignTeam).await;
    let mut specialists: Vec<(String, Vec<(String, String)>)> = Vec::new();
    if can_assign {
        let all = state.store.users(0, 10_000).await.unwrap_or_default();
        for sp in cellpath_web::accounts::SPECIALTIES {
            let people: Vec<(String, String)> = all
                .iter()
                .filter(|u| {
                    u.role == Role::Specialist.as_str() && u.specialty.as_deref() == Some(sp)
                })
                .filter(|u| !team.iter().any(|a| a.user_id == u.id))
                .map(|u| {
                    (
                        u.id.clone(),
                        u.display_name.clone().unwrap_or_else(|| u.email.clone()),
                    )
                })
                .collect();
            if !people.is_empty() {
                specialists.push((tr(lang, &format!("specialty-{sp}"), &[]), people));
            }
        }
    }
    let opinion_form = (assigned && !given_by_me).then(|| {
        let (d, saved_at) = match (typed.opinion, draft) {
            (Some(t), _) => (t, None),
            (None, Some((d, at))) => (d, Some(i18n::timestamp(lang, &at))),
            (None, None) => (Draft::default(), None),
        };
        OpinionForm {
            recommendations: choices(
                lang,
                "rec",
                RECOMMENDATIONS,
                d.recommendation.map(|r| kebab(&r)).as_deref(),
            ),
            confidence: choices(
                lang,
                "conf",
                CONFIDENCE,
                d.confidence.map(|c| kebab(&c)).as_deref(),
            ),
            rationale: d.rationale.clone(),
            answers: answer_fields(lang, "q_", &framework_values(&d.answers)),
            saved_at,
        }
    });
    // The lead writes the consensus once there are opinions; an amendment starts from the
    // latest version.
    let consensus_form = if assigned && !opinions.is_empty() {
        let latest = versions
            .last()
            .and_then(|v| serde_json::from_str::<Consensus>(&v.body).ok());
        let typed_c = typed.consensus;
        let text = |k: &str, from_latest: String| {
            typed_c
                .as_ref()
                .and_then(|t| t.pointer(k).and_then(Value::as_str).map(str::to_owned))
                .unwrap_or(from_latest)
        };
        let values: Vec<String> = QUESTIONS
            .iter()
            .enumerate()
            .map(|(i, q)| {
                text(
                    &format!("/answers/{q}"),
                    latest
                        .as_ref()
                        .map(|c| framework_values(&c.answers)[i].clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let mut dissent = Vec::new();
        for a in team.iter().filter(|a| a.user_id != me) {
            let before = latest
                .as_ref()
                .and_then(|c| c.dissent.iter().find(|d| d.specialist_id == a.user_id))
                .map(|d| d.note.clone())
                .unwrap_or_default();
            dissent.push(Field {
                name: format!("dissent_{}", a.user_id),
                label: tr(
                    lang,
                    "mdt-dissent-of",
                    &[("name", &person(state, lang, &a.user_id).await.name)],
                ),
                value: typed_c
                    .as_ref()
                    .and_then(|t| {
                        t.get("dissent_notes")
                            .and_then(|d| d.get(&a.user_id))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or(before),
            });
        }
        let chosen = typed_c
            .as_ref()
            .and_then(|t| {
                t.get("recommendation")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .or_else(|| latest.as_ref().map(|c| kebab(&c.recommendation)));
        Some(ConsensusForm {
            recommendations: choices(lang, "rec", RECOMMENDATIONS, chosen.as_deref()),
            summary: text(
                "/summary",
                latest
                    .as_ref()
                    .map(|c| c.summary.clone())
                    .unwrap_or_default(),
            ),
            answers: answer_fields(lang, "c_", &values),
            dissent,
            amend: latest.is_some(),
        })
    } else {
        None
    };
    let status = status_for(&error);
    let f = s.frame("mdt-title", case_nav(lang, id, s.actor().role, "nav-mdt"));
    page_with(
        status,
        &MdtPage {
            f,
            id: id.to_owned(),
            record_version: case.record_version,
            error,
            team: team_lines,
            can_assign,
            specialists,
            today: today.map(|d| d.to_string()).unwrap_or_default(),
            opinion_form,
            opinions: opinion_views,
            stale_opinions,
            versions: version_views,
            consensus_form,
        },
    )
}

pub async fn mdt(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    mdt_page(&state, &s, &id, String::new(), Typed::default()).await
}

/// The error of a form, naming the question or field it is about.
fn error_text(s: &Signed, e: &cellpath_web::ApiError) -> String {
    let field = e.fields.first().map(String::as_str).unwrap_or_default();
    let label = if let Some(q) = field.strip_prefix("/answers/") {
        tr(s.lang, &q_key(q), &[])
    } else {
        match field {
            "/rationale" => tr(s.lang, "mdt-rationale", &[]),
            "/recommendation" => tr(s.lang, "mdt-recommendation", &[]),
            "/confidence" => tr(s.lang, "mdt-confidence", &[]),
            "/due" => tr(s.lang, "mdt-due", &[]),
            "/user_id" => tr(s.lang, "mdt-specialist", &[]),
            "/summary" => tr(s.lang, "mdt-summary", &[]),
            _ => String::new(),
        }
    };
    if label.is_empty() {
        s.message(e)
    } else {
        // The field is named here, so the code's sentence says the rest (the API's detail
        // would name the field again, in English).
        let msg = e.code.message(s.lang);
        tr(
            s.lang,
            "field-message",
            &[("field", &label), ("message", msg)],
        )
    }
}

fn opinion_json(f: &Fields) -> Value {
    let mut answers = serde_json::Map::new();
    for q in QUESTIONS {
        answers.insert((*q).to_owned(), Value::from(f.text(&format!("q_{q}"))));
    }
    let mut v = json!({"rationale": f.text("rationale"), "answers": answers});
    for k in ["recommendation", "confidence"] {
        let t = f.text(k);
        if !t.is_empty() {
            v[k] = Value::from(t);
        }
    }
    v
}

/// `POST /cases/{id}/mdt`: assign, save a draft, submit an opinion, write (or amend) the
/// consensus, or sign — each the API's use case.
pub async fn mdt_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = f.check(&s) {
        return r;
    }
    let here = format!("/cases/{id}/mdt");
    let st = || State(state.clone());
    let p = || Path(id.clone());
    let (result, done_key, typed) = match f.text("_action").as_str() {
        "assign" => {
            let json = json!({"user_id": f.text("user_id"), "due": f.text("due")});
            (
                cellpath_web::mdt::assign(st(), s.writer(), p(), Bytes::from(json.to_string()))
                    .await,
                "mdt-assigned",
                Typed::default(),
            )
        }
        "draft" => {
            let json = opinion_json(&f);
            let typed = Typed {
                opinion: serde_json::from_value(json.clone()).ok(),
                consensus: None,
            };
            (
                cellpath_web::mdt::save_draft(st(), s.writer(), p(), Bytes::from(json.to_string()))
                    .await,
                "mdt-draft-saved",
                typed,
            )
        }
        "opinion" => {
            let json = opinion_json(&f);
            let typed = Typed {
                opinion: serde_json::from_value(json.clone()).ok(),
                consensus: None,
            };
            if json.get("recommendation").is_none() || json.get("confidence").is_none() {
                let field = if json.get("recommendation").is_none() {
                    "mdt-recommendation"
                } else {
                    "mdt-confidence"
                };
                let msg = tr(s.lang, "mdt-choose", &[("field", &tr(s.lang, field, &[]))]);
                return mdt_page(&state, &s, &id, msg, typed).await;
            }
            (
                cellpath_web::mdt::opinion(st(), s.writer(), p(), Bytes::from(json.to_string()))
                    .await,
                "mdt-opinion-submitted",
                typed,
            )
        }
        "consensus" => {
            let mut answers = serde_json::Map::new();
            for q in QUESTIONS {
                answers.insert((*q).to_owned(), Value::from(f.text(&format!("c_{q}"))));
            }
            let mut dissent = Vec::new();
            let mut notes = serde_json::Map::new();
            for (k, v) in f.pairs() {
                if let Some(uid) = k.strip_prefix("dissent_") {
                    notes.insert(uid.to_owned(), Value::from(v));
                    if !v.trim().is_empty() {
                        dissent.push(json!({"specialist_id": uid, "note": v}));
                    }
                }
            }
            let json = json!({
                "recommendation": f.text("recommendation"),
                "summary": f.text("summary"),
                "answers": answers,
                "dissent": dissent,
            });
            let mut kept = json.clone();
            kept["dissent_notes"] = Value::Object(notes);
            (
                cellpath_web::mdt::consensus(st(), s.writer(), p(), Bytes::from(json.to_string()))
                    .await,
                "mdt-consensus-saved",
                Typed {
                    opinion: None,
                    consensus: Some(kept),
                },
            )
        }
        "sign" => {
            let Ok(version) = f.text("version").parse::<i64>() else {
                return s.fail(cellpath_web::ApiError::not_found());
            };
            (
                cellpath_web::mdt::sign(st(), s.writer(), Path((id.clone(), version))).await,
                "mdt-signed",
                Typed::default(),
            )
        }
        _ => return s.fail(cellpath_web::ApiError::not_found()),
    };
    match result {
        Ok(_) => done(&here, done_key),
        Err(e) if e.status() == StatusCode::BAD_REQUEST || e.status() == StatusCode::CONFLICT => {
            let msg = error_text(&s, &e);
            mdt_page(&state, &s, &id, msg, typed).await
        }
        Err(e) => s.fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_is_the_api_s_and_has_words() {
        let mut want = Vec::new();
        for r in RECOMMENDATIONS {
            assert!(
                serde_json::from_value::<cellpath_web::mdt::Recommendation>(Value::from(*r))
                    .is_ok(),
                "{r}"
            );
            want.push(format!("rec-{r}"));
        }
        for c in CONFIDENCE {
            assert!(
                serde_json::from_value::<cellpath_web::mdt::Confidence>(Value::from(*c)).is_ok(),
                "{c}"
            );
            want.push(format!("conf-{c}"));
        }
        let mut answers = serde_json::Map::new();
        for q in QUESTIONS {
            want.push(q_key(q));
            answers.insert((*q).to_owned(), Value::from("x"));
        }
        assert!(
            serde_json::from_value::<cellpath_web::mdt::Framework>(Value::Object(answers)).is_ok(),
            "the six questions are the API's"
        );
        for d in [
            "mdt-assigned",
            "mdt-draft-saved",
            "mdt-opinion-submitted",
            "mdt-consensus-saved",
            "mdt-signed",
        ] {
            want.push(format!("done-{d}"));
        }
        let missing: Vec<&String> = want.iter().filter(|k| !i18n::has(k)).collect();
        assert!(missing.is_empty(), "keys missing: {missing:?}");
    }
}
