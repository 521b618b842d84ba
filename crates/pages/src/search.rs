//! The registry's search page and a case's "Studies" tab: the use cases of
//! `cellpath_web::search`, in the reader's language. The studies' own texts (titles,
//! conditions, criteria) stay in the registry's language, and the pages say so.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use cellpath_domain::Lang;
use cellpath_search::{
    FacetGroup, FacetKey, QueryError, Reason, Site, Sort, Span, Summary, TextField,
};
use cellpath_web::Shared;
use cellpath_web::search::{PAGE, Progress, SearchAsk};
use serde::Deserialize;

use crate::frame::{Signed, encode, page};
use crate::i18n::tr;
use crate::patient::{case_nav, home_nav};

/// A registry value (`recruiting`, `phase2`, `china`) in the reader's words where cellpath
/// has them; otherwise as the registry writes it.
fn value_words(key: FacetKey, value: &str, lang: Lang) -> String {
    let k = match key {
        FacetKey::Status => format!("reg-st-{value}"),
        FacetKey::Phase => format!("reg-ph-{value}"),
        FacetKey::Age => format!("search-age-{value}"),
        FacetKey::Type => format!("search-type-{}", value.to_lowercase().replace(' ', "-")),
        FacetKey::Intervention => format!("search-iv-{}", value.to_lowercase().replace(' ', "-")),
        FacetKey::Country => format!(
            "search-country-{}",
            value.to_lowercase().replace([' ', ','], "-")
        ),
        _ => return value.to_owned(),
    };
    if crate::i18n::has(&k) {
        tr(lang, &k, &[])
    } else {
        value.to_owned()
    }
}

/// A value as the query language takes it (quoted when it has a space).
fn typed(key: FacetKey, value: &str) -> String {
    let v = value.to_lowercase();
    if v.contains(char::is_whitespace) {
        format!("{}:\"{v}\"", key.name())
    } else {
        format!("{}:{v}", key.name())
    }
}

fn href(q: &str, sort: Sort, page: usize) -> String {
    let mut h = format!("/registry?q={}", encode(q.trim()));
    if sort == Sort::Updated {
        h.push_str("&sort=updated");
    }
    if page > 1 {
        h.push_str(&format!("&page={page}"));
    }
    h
}

/// A query with a filter added, or taken out when it is there.
fn toggled(q: &str, key: FacetKey, value: &str, selected: bool) -> String {
    let filter = typed(key, value);
    if selected {
        let mut parsed_out = q.to_owned();
        for form in [
            filter.clone(),
            format!("{}:{}", key.name(), value.to_lowercase()),
        ] {
            parsed_out = parsed_out.replace(&form, "");
        }
        parsed_out.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        format!("{} {filter}", q.trim())
    }
}

pub struct FacetValueView {
    pub label: String,
    /// The count as shown: "about …" when estimated.
    pub count: String,
    pub selected: bool,
    pub href: String,
}

pub struct FacetView {
    pub id: String,
    pub label: String,
    pub values: Vec<FacetValueView>,
    /// Counted from a sample of the matches (a broad search's places).
    pub approximate: bool,
}

pub struct HitView {
    pub nct_id: String,
    pub title: Vec<Span>,
    pub meta: Vec<String>,
    pub status: String,
    pub recruiting: bool,
    pub snippet_label: String,
    pub snippet: Vec<Span>,
}

fn field_words(f: TextField, lang: Lang) -> String {
    let key = match f {
        TextField::Title => "search-field-title",
        TextField::Conditions => "reg-conditions",
        TextField::Interventions => "reg-interventions",
        TextField::Eligibility => "search-field-eligibility",
        TextField::Locations => "search-field-locations",
        TextField::Other => "search-field-other",
    };
    tr(lang, key, &[])
}

fn status_of(s: &Summary, lang: Lang) -> String {
    match &s.status {
        Some(v) => value_words(FacetKey::Status, v, lang),
        None => tr(lang, "reg-st-none", &[]),
    }
}

/// The facts of a study a result line shows.
fn meta(s: &Summary, lang: Lang) -> Vec<String> {
    let sep = if lang == Lang::ZhCn { "、" } else { ", " };
    let mut out = vec![s.nct_id.clone()];
    if !s.phases.is_empty() {
        let p: Vec<String> = s
            .phases
            .iter()
            .map(|p| value_words(FacetKey::Phase, p, lang))
            .collect();
        out.push(p.join(sep));
    }
    if let Some(sp) = &s.sponsor {
        out.push(sp.clone());
    }
    if !s.countries.is_empty() {
        let shown: Vec<String> = s
            .countries
            .iter()
            .take(4)
            .map(|c| value_words(FacetKey::Country, c, lang))
            .collect();
        let more = s.countries.len().saturating_sub(4);
        let mut c = shown.join(sep);
        if more > 0 {
            c.push_str(&tr(
                lang,
                "search-more-countries",
                &[("n", &more.to_string())],
            ));
        }
        out.push(c);
    }
    if let Some(d) = &s.last_update {
        out.push(tr(lang, "search-updated", &[("date", d)]));
    }
    out
}

fn hit_view(h: &cellpath_search::Hit, lang: Lang) -> HitView {
    let (snippet_label, snippet) = match &h.snippet {
        Some(s) => (field_words(s.field, lang), s.spans.clone()),
        None => (String::new(), Vec::new()),
    };
    HitView {
        nct_id: h.study.nct_id.clone(),
        title: h.title.clone(),
        meta: meta(&h.study, lang),
        status: status_of(&h.study, lang),
        recruiting: h.study.status.as_deref() == Some("recruiting"),
        snippet_label,
        snippet,
    }
}

/// How a query was read, line by line.
fn read_as(p: &cellpath_search::Parsed, lang: Lang) -> Vec<String> {
    let sep = if lang == Lang::ZhCn { "、" } else { ", " };
    let mut out = Vec::new();
    for c in &p.clauses {
        // The table's own spellings where a group expanded it (the terms are split pieces).
        let forms: Vec<String> = match c
            .group
            .and_then(|g| cellpath_search::terms::GROUPS.iter().find(|x| x.id == g))
        {
            Some(g) => g.en.iter().map(|e| (*e).to_owned()).collect(),
            None => c.alternatives.iter().map(|a| a.join(" ")).collect(),
        };
        let line = if c.untranslated {
            tr(lang, "search-read-untranslated", &[("text", &c.text)])
        } else if c.group.is_some() {
            tr(
                lang,
                "search-read-group",
                &[("text", &c.text), ("forms", &forms.join(sep))],
            )
        } else {
            tr(lang, "search-read-words", &[("text", &c.text)])
        };
        out.push(line);
    }
    for c in &p.excluded {
        out.push(tr(lang, "search-read-excluded", &[("text", &c.text)]));
    }
    for (k, v) in &p.filters {
        out.push(tr(
            lang,
            "search-read-filter",
            &[
                ("key", &tr(lang, &format!("search-facet-{}", k.name()), &[])),
                ("value", &value_words(*k, v, lang)),
            ],
        ));
    }
    out
}

fn query_error(e: &QueryError, lang: Lang) -> String {
    match e {
        QueryError::UnknownKey { key } => tr(lang, "search-err-key", &[("key", key)]),
        QueryError::BadValue {
            key,
            value,
            allowed,
        } => {
            // Each value as typed, with its meaning in the reader's words.
            let allowed = match cellpath_search::query::closed_values(*key) {
                Some(values) if lang == Lang::ZhCn => values
                    .iter()
                    .map(|v| format!("{v}（{}）", value_words(*key, v, lang)))
                    .collect::<Vec<_>>()
                    .join("、"),
                _ => allowed.clone(),
            };
            tr(
                lang,
                "search-err-value",
                &[
                    (
                        "key",
                        &tr(lang, &format!("search-facet-{}", key.name()), &[]),
                    ),
                    ("value", value),
                    ("allowed", &allowed),
                ],
            )
        }
        QueryError::UnclosedQuote => tr(lang, "search-err-quote", &[]),
        QueryError::TooLong(n) => tr(
            lang,
            "search-err-long",
            &[
                ("n", &n.to_string()),
                ("max", &cellpath_search::query::MAX_QUERY_CHARS.to_string()),
            ],
        ),
    }
}

pub struct TermRow {
    pub zh: String,
    pub en: String,
    pub source: String,
}

fn term_rows() -> Vec<TermRow> {
    cellpath_search::terms::GROUPS
        .iter()
        .map(|g| {
            let s = cellpath_search::terms::SOURCES
                .iter()
                .find(|s| s.id == g.source);
            TermRow {
                zh: g.zh.join("、"),
                en: g.en.join(", "),
                source: s
                    .map(|s| format!("{} — {} ({})", s.title, s.issuer, s.year))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn indexing(p: Progress, lang: Lang) -> Option<String> {
    (!p.ready).then(|| {
        tr(
            lang,
            "search-indexing",
            &[
                ("done", &p.indexed.to_string()),
                ("total", &p.total.to_string()),
            ],
        )
    })
}

#[derive(Template)]
#[template(path = "registry_search.html")]
struct SearchPage {
    f: Frame,
    q: String,
    updated: bool,
    error: Option<String>,
    indexing: Option<String>,
    read_as: Vec<String>,
    searched: bool,
    total: String,
    hits: Vec<HitView>,
    facets: Vec<FacetView>,
    prev: Option<String>,
    next: Option<String>,
    examples: Vec<(String, String)>,
    terms: Vec<TermRow>,
    terms_as_of: &'static str,
}

use crate::frame::Frame;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

const EXAMPLES: [&str; 4] = [
    "cldn18.2 car-t status:recruiting country:china",
    "胃癌 CAR-T",
    "紧密连接蛋白 18.2",
    "\"gastric cancer\" phase:3 -pancreatic",
];

/// The facets as the page lists them: each value a link that adds or removes its filter.
fn facet_views(
    facets: &[FacetGroup],
    text: &str,
    effective_sort: Sort,
    lang: Lang,
) -> Vec<FacetView> {
    facets
        .iter()
        .map(|g| FacetView {
            id: format!("facet-{}", g.key.name()),
            label: tr(lang, &format!("search-facet-{}", g.key.name()), &[]),
            approximate: g.approximate,
            values: g
                .values
                .iter()
                .map(|v| FacetValueView {
                    label: value_words(g.key, &v.value, lang),
                    count: if g.approximate {
                        tr(lang, "search-facet-about", &[("n", &v.count.to_string())])
                    } else {
                        v.count.to_string()
                    },
                    selected: v.selected,
                    href: href(
                        &toggled(text, g.key, &v.value, v.selected),
                        effective_sort,
                        1,
                    ),
                })
                .collect(),
        })
        .collect()
}

/// `GET /registry`: the search form, and with `?q=` the studies found, with facets to
/// narrow them, highlighted matches and how the query was read.
pub async fn search(
    State(state): State<Shared>,
    s: Signed,
    Query(q): Query<SearchQuery>,
) -> Response {
    let lang = s.lang;
    let text = q.q.unwrap_or_default();
    let sort = if q.sort.as_deref() == Some("updated") {
        Sort::Updated
    } else {
        Sort::Relevance
    };
    let page_no: usize = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .clamp(1, 50);
    let mut view = SearchPage {
        f: s.frame("search-title", home_nav(lang, s.actor().role, "nav-trials")),
        q: text.clone(),
        updated: sort == Sort::Updated,
        error: None,
        indexing: None,
        read_as: Vec::new(),
        searched: false,
        total: String::new(),
        hits: Vec::new(),
        facets: Vec::new(),
        prev: None,
        next: None,
        examples: EXAMPLES
            .iter()
            .map(|e| (href(e, Sort::Relevance, 1), (*e).to_owned()))
            .collect(),
        terms: term_rows(),
        terms_as_of: cellpath_search::terms::AS_OF,
    };
    // An empty query lists everything: the registry as held, newest first by default.
    let effective_sort = if text.trim().is_empty() && q.sort.is_none() {
        Sort::Updated
    } else {
        sort
    };
    if let Err(e) = cellpath_search::parse(&text) {
        view.error = Some(query_error(&e, lang));
        return page(&view);
    }
    let ask = SearchAsk {
        q: text.clone(),
        sort: effective_sort,
        page: page_no,
    };
    let found = match cellpath_web::search::search(&state, s.actor(), &ask).await {
        Ok(f) => f,
        Err(e) => return s.fail(e),
    };
    view.searched = true;
    view.updated = effective_sort == Sort::Updated;
    view.indexing = indexing(found.index, lang);
    view.read_as = read_as(&found.query, lang);
    view.total = tr(
        lang,
        "search-total",
        &[("n", &found.results.total.to_string())],
    );
    view.hits = found
        .results
        .hits
        .iter()
        .map(|h| hit_view(h, lang))
        .collect();
    view.facets = facet_views(&found.results.facets, &text, effective_sort, lang);
    if page_no > 1 {
        view.prev = Some(href(&text, effective_sort, page_no - 1));
    }
    if page_no * PAGE < found.results.total && page_no < 50 {
        view.next = Some(href(&text, effective_sort, page_no + 1));
    }
    page(&view)
}

pub struct SuggestionView {
    pub nct_id: String,
    pub title: String,
    pub meta: Vec<String>,
    pub status: String,
    pub reasons: Vec<String>,
}

fn site_words(site: Site, lang: Lang) -> String {
    tr(
        lang,
        match site {
            Site::Stomach => "search-site-stomach",
            Site::Gej => "search-site-gej",
            Site::Oesophagus => "search-site-oesophagus",
            Site::Pancreas => "search-site-pancreas",
        },
        &[],
    )
}

fn reason_words(r: &Reason, lang: Lang) -> String {
    match r {
        Reason::Site { site } => tr(
            lang,
            "search-why-site",
            &[("site", &site_words(*site, lang))],
        ),
        Reason::Cldn18 => tr(lang, "search-why-cldn18", &[]),
        Reason::Her2Positive => tr(lang, "search-why-her2-positive", &[]),
        Reason::Her2Negative => tr(lang, "search-why-her2-negative", &[]),
        Reason::Pretreated { prior_lines } => tr(
            lang,
            "search-why-pretreated",
            &[("n", &prior_lines.to_string())],
        ),
        Reason::Adenocarcinoma => tr(lang, "search-why-adenocarcinoma", &[]),
        Reason::Country { country } => tr(
            lang,
            "search-why-country",
            &[("country", &value_words(FacetKey::Country, country, lang))],
        ),
        Reason::CellTherapy => tr(lang, "search-why-cell-therapy", &[]),
    }
}

#[derive(Template)]
#[template(path = "case_studies.html")]
struct CaseStudiesPage {
    f: Frame,
    facts: Vec<(String, String)>,
    suggestions: Vec<SuggestionView>,
    no_site: bool,
    indexing: Option<String>,
    search_href: String,
}

/// `GET /cases/{id}/studies`: the recruiting registry studies for the case, ranked, each
/// with why it was suggested, and the record's facts they rest on (unknown shown as such).
pub async fn case_studies(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let lang = s.lang;
    let found = match cellpath_web::search::for_case(&state, s.actor(), &id).await {
        Ok(f) => f,
        Err(e) => return s.fail(e),
    };
    let unknown = || tr(lang, "search-fact-unknown", &[]);
    let yes_no = |v: Option<bool>, yes: &str, no: &str| match v {
        Some(true) => tr(lang, yes, &[]),
        Some(false) => tr(lang, no, &[]),
        None => unknown(),
    };
    let facts = vec![
        (
            tr(lang, "search-fact-site", &[]),
            found.site.map_or_else(unknown, |s| site_words(s, lang)),
        ),
        (
            tr(lang, "search-fact-cldn18", &[]),
            yes_no(
                found.cldn18_positive,
                "search-cldn18-stained",
                "search-cldn18-negative",
            ),
        ),
        (
            tr(lang, "search-fact-her2", &[]),
            yes_no(
                found.her2_positive,
                "search-her2-positive",
                "search-her2-negative",
            ),
        ),
        (
            tr(lang, "search-fact-lines", &[]),
            found.prior_lines.map_or_else(unknown, |n| {
                tr(lang, "search-lines", &[("n", &n.to_string())])
            }),
        ),
        (
            tr(lang, "search-fact-countries", &[]),
            found
                .countries
                .iter()
                .map(|c| value_words(FacetKey::Country, c, lang))
                .collect::<Vec<_>>()
                .join(if lang == Lang::ZhCn { "、" } else { ", " }),
        ),
    ];
    let search_q = match found.site {
        Some(Site::Stomach | Site::Gej) => "胃癌 status:recruiting",
        Some(Site::Oesophagus) => "食管癌 status:recruiting",
        Some(Site::Pancreas) => "胰腺癌 status:recruiting",
        None => "status:recruiting",
    };
    let f = s.frame(
        "search-case-title",
        case_nav(lang, &id, s.actor().role, "nav-studies"),
    );
    page(&CaseStudiesPage {
        f,
        facts,
        no_site: found.site.is_none(),
        indexing: indexing(found.index, lang),
        suggestions: found
            .suggestions
            .iter()
            .map(|x| SuggestionView {
                nct_id: x.study.nct_id.clone(),
                title: x.study.title.clone(),
                meta: meta(&x.study, lang),
                status: status_of(&x.study, lang),
                reasons: x.reasons.iter().map(|r| reason_words(r, lang)).collect(),
            })
            .collect(),
        search_href: href(search_q, Sort::Relevance, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimated_counts_are_said_to_be_estimates_in_both_languages() {
        let group = |approximate| FacetGroup {
            key: FacetKey::City,
            values: vec![cellpath_search::FacetCount {
                value: "Shanghai".into(),
                count: 1_200,
                selected: false,
            }],
            approximate,
        };
        let en = facet_views(&[group(true)], "gastric", Sort::Relevance, Lang::En);
        assert!(en[0].approximate);
        assert_eq!(en[0].values[0].count, "about 1200");
        let zh = facet_views(&[group(true)], "gastric", Sort::Relevance, Lang::ZhCn);
        assert_eq!(zh[0].values[0].count, "约 1200");
        let exact = facet_views(&[group(false)], "gastric", Sort::Relevance, Lang::En);
        assert!(!exact[0].approximate);
        assert_eq!(exact[0].values[0].count, "1200");
    }

    #[test]
    fn a_facet_link_adds_its_filter_and_takes_it_out_again() {
        let added = toggled("gastric", FacetKey::Country, "United States", false);
        assert_eq!(added, "gastric country:\"united states\"");
        assert_eq!(
            toggled(&added, FacetKey::Country, "united states", true),
            "gastric"
        );
        assert_eq!(
            toggled(
                "gastric status:recruiting",
                FacetKey::Status,
                "recruiting",
                true
            ),
            "gastric"
        );
        assert_eq!(
            href("胃癌", Sort::Updated, 2),
            "/registry?q=%E8%83%83%E7%99%8C&sort=updated&page=2"
        );
    }
}
