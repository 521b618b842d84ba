//! The trials registry's pages: the programmes flagged because a study they rest on changed
//! (the coordinator reviews each with a note), and a study with its versions and what changed
//! between them. The API's use cases (`cellpath_web::registry`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use cellpath_domain::Lang;
use cellpath_registry::diff::Change;
use cellpath_registry::{Location, Status};
use cellpath_web::Shared;
use cellpath_web::policy::Role;
use cellpath_web::registry::SourceChange;
use serde::Deserialize;

use crate::frame::{Fields, Frame, Signed, done, page};
use crate::i18n::{self, tr};
use crate::patient::home_nav;

/// A status in the reader's words.
pub fn status_words(s: Option<Status>, lang: Lang) -> String {
    let key = s
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(|k| format!("reg-st-{k}")))
        .unwrap_or_else(|| "reg-st-none".to_owned());
    tr(lang, &key, &[])
}

fn site_words(l: &Location, lang: Lang) -> String {
    let parts: Vec<&str> = [&l.facility, &l.city, &l.country]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    if parts.is_empty() {
        tr(lang, "reg-site-unnamed", &[])
    } else {
        parts.join(if lang == Lang::ZhCn { "，" } else { ", " })
    }
}

/// An age as the registry writes it (`18 Years`, `6 Months`) in the reader's words; kept as
/// written when it is in another form.
fn age_words(a: &str, lang: Lang) -> String {
    let mut parts = a.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return a.to_owned();
    };
    let key = match unit.to_ascii_lowercase().trim_end_matches('s') {
        "year" => "reg-age-years",
        "month" => "reg-age-months",
        "week" => "reg-age-weeks",
        "day" => "reg-age-days",
        "hour" => "reg-age-hours",
        _ => return a.to_owned(),
    };
    match n.parse::<u32>() {
        Ok(_) => tr(lang, key, &[("n", n)]),
        Err(_) => a.to_owned(),
    }
}

/// One change in the reader's words.
pub fn change_words(c: &Change, lang: Lang) -> String {
    match c {
        Change::Status { from, to } => tr(
            lang,
            "reg-ch-status",
            &[
                ("from", &status_words(*from, lang)),
                ("to", &status_words(*to, lang)),
            ],
        ),
        Change::Eligibility { .. } => tr(lang, "reg-ch-eligibility", &[]),
        Change::SiteAdded { site } => tr(
            lang,
            "reg-ch-site-added",
            &[("site", &site_words(site, lang))],
        ),
        Change::SiteRemoved { site } => tr(
            lang,
            "reg-ch-site-removed",
            &[("site", &site_words(site, lang))],
        ),
        Change::SiteStatus { site, from } => tr(
            lang,
            "reg-ch-site-status",
            &[
                ("site", &site_words(site, lang)),
                ("from", &status_words(*from, lang)),
                ("to", &status_words(site.status, lang)),
            ],
        ),
        Change::Phases { .. } => tr(lang, "reg-ch-phases", &[]),
        Change::Title { .. } => tr(lang, "reg-ch-title", &[]),
        Change::LastUpdate { to, .. } => tr(
            lang,
            "reg-ch-last-update",
            &[("date", to.as_deref().unwrap_or("—"))],
        ),
    }
}

/// The changes a flag carries, in words (a change this build cannot read is named as such).
pub fn changes_words(v: &serde_json::Value, lang: Lang) -> Vec<String> {
    match serde_json::from_value::<Vec<Change>>(v.clone()) {
        Ok(list) => list.iter().map(|c| change_words(c, lang)).collect(),
        Err(_) => vec![tr(lang, "reg-ch-unreadable", &[])],
    }
}

fn programme_name(state: &Shared, id: &str, lang: Lang) -> String {
    state
        .catalogue
        .get(id)
        .map_or_else(|| id.to_owned(), |p| p.name.get(lang).to_owned())
}

pub struct FlagView {
    pub id: String,
    pub programme: String,
    pub nct_id: String,
    pub raised: String,
    pub closes: bool,
    pub changes: Vec<String>,
    pub reviewed: bool,
}

/// A flag as a page shows it.
pub fn flag_view(state: &Shared, c: &SourceChange, lang: Lang) -> FlagView {
    FlagView {
        id: c.flag_id.clone(),
        programme: programme_name(state, &c.programme_id, lang),
        nct_id: c.nct_id.clone(),
        raised: i18n::timestamp(lang, &c.raised_at),
        closes: c.closes,
        changes: changes_words(&c.changes, lang),
        reviewed: c.reviewed,
    }
}

#[derive(Template)]
#[template(path = "registry_flags.html")]
struct FlagsPage {
    f: Frame,
    flags: Vec<FlagView>,
    all: bool,
    can_review: bool,
}

#[derive(Deserialize)]
pub struct FlagsQuery {
    #[serde(default)]
    all: Option<String>,
}

/// `GET /registry/flags`: the programmes to review (`?all=1`: the reviewed ones too).
pub async fn flags(
    State(state): State<Shared>,
    s: Signed,
    Query(q): Query<FlagsQuery>,
) -> Response {
    let all = q.all.is_some_and(|v| v == "1" || v == "true");
    let list = match cellpath_web::registry::flags(&state, s.actor(), all).await {
        Ok(l) => l,
        Err(e) => return s.fail(e),
    };
    let lang = s.lang;
    let f = s.frame(
        "reg-flags-title",
        home_nav(lang, s.actor().role, "nav-registry"),
    );
    page(&FlagsPage {
        f,
        flags: list.iter().map(|c| flag_view(&state, c, lang)).collect(),
        all,
        can_review: matches!(s.actor().role, Role::Coordinator | Role::Admin),
    })
}

/// `POST /registry/flags/{id}/review`: the coordinator's note; back to the list.
pub async fn review(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    match cellpath_web::registry::review_flag(&state, s.actor(), &id, &form.text("note")).await {
        Ok(()) => done("/registry/flags", "flag-reviewed"),
        Err(e) => s.fail(e),
    }
}

pub struct VersionView {
    pub version: i64,
    pub at: String,
    pub source: String,
    pub changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "registry_study.html")]
struct StudyPage {
    f: Frame,
    nct_id: String,
    title: String,
    status: String,
    phases: String,
    sponsor: String,
    conditions: String,
    interventions: Vec<String>,
    ages: String,
    last_update: String,
    sites: Vec<(String, String)>,
    eligibility: String,
    programmes: Vec<String>,
    versions: Vec<VersionView>,
    can_draft: bool,
}

/// `GET /registry/studies/{nct}`: a study as held, its sites, its eligibility text and its
/// versions, newest first, each with what changed.
pub async fn study(State(state): State<Shared>, s: Signed, Path(nct): Path<String>) -> Response {
    let v = match cellpath_web::registry::study(&state, s.actor(), &nct).await {
        Ok(v) => v,
        Err(e) => return s.fail(e),
    };
    let lang = s.lang;
    let Ok(study) = serde_json::from_value::<cellpath_registry::Study>(v["study"].clone()) else {
        return s.fail(cellpath_web::ApiError::internal(
            "a stored study does not read",
        ));
    };
    let none = || tr(lang, "not-recorded", &[]);
    let list = |items: &[String]| {
        if items.is_empty() {
            none()
        } else {
            items.join(if lang == Lang::ZhCn { "；" } else { "; " })
        }
    };
    let phases: Vec<String> = study
        .phases
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .filter_map(|p| p.as_str().map(|k| tr(lang, &format!("reg-ph-{k}"), &[])))
        .collect();
    let versions = v["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .rev()
                .map(|x| VersionView {
                    version: x["version"].as_i64().unwrap_or_default(),
                    at: i18n::timestamp(lang, x["at"].as_str().unwrap_or_default()),
                    source: x["source"].as_str().unwrap_or_default().to_owned(),
                    changes: changes_words(&x["changes"], lang),
                })
                .collect()
        })
        .unwrap_or_default();
    let programmes = v["programmes"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.as_str())
                .map(|p| programme_name(&state, p, lang))
                .collect()
        })
        .unwrap_or_default();
    let age = |a: &Option<String>| a.as_deref().map(|a| age_words(a, lang));
    let ages = match (age(&study.minimum_age), age(&study.maximum_age)) {
        (None, None) => none(),
        (Some(min), None) => tr(lang, "reg-ages-from", &[("min", &min)]),
        (None, Some(max)) => tr(lang, "reg-ages-to", &[("max", &max)]),
        (Some(min), Some(max)) => tr(lang, "reg-ages", &[("min", &min), ("max", &max)]),
    };
    let f = s.frame("reg-study-title", home_nav(lang, s.actor().role, ""));
    page(&StudyPage {
        f,
        nct_id: study.nct_id.as_str().to_owned(),
        title: study.title.clone(),
        status: status_words(study.status, lang),
        phases: list(&phases),
        sponsor: study.sponsor.clone().unwrap_or_else(none),
        conditions: list(&study.conditions),
        interventions: study
            .interventions
            .iter()
            .map(|i| match &i.kind {
                Some(k) => format!("{} ({k})", i.name),
                None => i.name.clone(),
            })
            .collect(),
        ages,
        last_update: study.last_update.clone().unwrap_or_else(none),
        sites: study
            .locations
            .iter()
            .map(|l| (site_words(l, lang), status_words(l.status, lang)))
            .collect(),
        eligibility: study.eligibility.clone().unwrap_or_else(none),
        programmes,
        versions,
        can_draft: matches!(s.actor().role, Role::Coordinator | Role::Admin),
    })
}

/// `GET /registry/studies/{nct}/draft.toml`: the draft catalogue programme, to download and
/// confirm item by item (`cellpath registry draft` does the same).
pub async fn draft(State(state): State<Shared>, s: Signed, Path(nct): Path<String>) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    match cellpath_web::registry::draft_for(&state, s.actor(), &nct).await {
        Ok(text) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/toml; charset=utf-8".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}-draft.toml\"",
                        nct.trim().to_lowercase()
                    ),
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => s.fail(e),
    }
}

pub struct ConfirmItem {
    pub i: usize,
    pub label: String,
    pub text: String,
    pub read: Option<String>,
    pub rule: String,
}

#[derive(Template)]
#[template(path = "registry_confirm.html")]
struct ConfirmPage {
    f: Frame,
    nct_id: String,
    title: String,
    version: i64,
    items: Vec<ConfirmItem>,
    error: Option<String>,
}

async fn confirm_page(state: &Shared, s: &Signed, nct: &str, error: Option<String>) -> Response {
    let d = match cellpath_web::registry::draft_items(state, s.actor(), nct).await {
        Ok(d) => d,
        Err(e) => return s.fail(e),
    };
    let lang = s.lang;
    let mut n = [0usize; 2];
    let items = d
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let (k, key) = match it.kind {
                cellpath_registry::draft::ItemKind::Inclusion => (0, "confirm-inclusion"),
                cellpath_registry::draft::ItemKind::Exclusion => (1, "confirm-exclusion"),
            };
            n[k] += 1;
            ConfirmItem {
                i,
                label: tr(lang, key, &[("n", &n[k].to_string())]),
                text: it.text.clone(),
                read: it.suggestion.as_ref().map(|x| x.read.clone()),
                rule: it
                    .suggestion
                    .as_ref()
                    .map(|x| x.rule.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let f = s.frame("confirm-title", home_nav(lang, s.actor().role, ""));
    page(&ConfirmPage {
        f,
        nct_id: d.nct_id,
        title: d.title,
        version: d.version,
        items,
        error,
    })
}

/// `GET /registry/studies/{nct}/confirm`: the draft's items, each to confirm, edit,
/// translate or leave out; the suggested rule of each to encode or not.
pub async fn confirm(State(state): State<Shared>, s: Signed, Path(nct): Path<String>) -> Response {
    confirm_page(&state, &s, &nct, None).await
}

/// `POST /registry/studies/{nct}/confirm`: the confirmed programme as a catalogue file to
/// download, or the form again with what is wrong.
pub async fn confirm_post(
    State(state): State<Shared>,
    s: Signed,
    Path(nct): Path<String>,
    body: Bytes,
) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    let count: usize = form.get("items").and_then(|v| v.parse().ok()).unwrap_or(0);
    let text = |name: String| {
        let t = form.text(&name);
        (!t.trim().is_empty()).then_some(t)
    };
    let decisions: Vec<cellpath_registry::draft::Decision> = (0..count.min(2_000))
        .map(|i| cellpath_registry::draft::Decision {
            drop: form.get(&format!("drop-{i}")).is_some(),
            use_rule: form.get(&format!("rule-{i}")).is_some(),
            en: text(format!("en-{i}")),
            zh: text(format!("zh-{i}")),
        })
        .collect();
    match cellpath_web::registry::confirm_draft(&state, &s.writer(), &nct, &decisions).await {
        Ok(toml) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/toml; charset=utf-8".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}-draft.toml\"",
                        nct.trim().to_lowercase()
                    ),
                ),
            ],
            toml,
        )
            .into_response(),
        Err(e) if e.code.status() == axum::http::StatusCode::BAD_REQUEST => {
            let detail = e.detail.clone().unwrap_or_default();
            confirm_page(
                &state,
                &s,
                &nct,
                Some(format!("{} {detail}", s.message(&e))),
            )
            .await
        }
        Err(e) => s.fail(e),
    }
}
