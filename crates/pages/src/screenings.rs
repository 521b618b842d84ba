//! Screenings over time, for the team's pre-screen: each stored screening re-read from the
//! record version and date it screened, and what changed since the one before — verdicts,
//! criteria — and why: the record's facts, the date, the catalogue.

use cellpath_domain::Lang;
use cellpath_eligibility::eval::{ProgrammeResult, Status};
use cellpath_web::Shared;
use serde_json::Value;

use crate::i18n::{self, tr};

/// How many of the latest screenings the page reads again.
pub const SHOWN: usize = 10;

pub struct ScreeningLine {
    pub at: String,
    pub as_of: String,
    pub record_version: i64,
    pub requested: bool,
    /// Each programme's verdict then.
    pub verdicts: Vec<String>,
    /// What changed since the screening before (empty for the first shown).
    pub changes: Vec<String>,
    /// Why: the facts of the record that changed, a later date, another catalogue.
    pub why: Vec<String>,
    /// No screening before it was read.
    pub first: bool,
}

struct Then {
    results: Vec<ProgrammeResult>,
    record: Option<Value>,
    as_of: String,
    catalogue: String,
}

fn name(state: &Shared, id: &str, lang: Lang) -> String {
    state
        .catalogue
        .programmes()
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| id.to_owned(), |p| p.name.get(lang).to_owned())
}

/// The latest screenings of a case, oldest first, each with what changed since the one
/// before it and why. Screenings of a record version no longer readable are left out.
pub async fn history(state: &Shared, case_id: &str, lang: Lang) -> Vec<ScreeningLine> {
    let all = state.store.screenings(case_id).await.unwrap_or_default();
    let start = all.len().saturating_sub(SHOWN + 1);
    let mut out = Vec::new();
    let mut before: Option<Then> = None;
    for (i, s) in all.iter().enumerate().skip(start) {
        let Ok(Some(v)) = state.store.record_version(case_id, s.case_version).await else {
            continue;
        };
        let Ok(record) = serde_json::from_str::<cellpath_domain::Case>(&v.record) else {
            continue;
        };
        let Ok(as_of) = cellpath_domain::Date::parse(&s.as_of) else {
            continue;
        };
        let results =
            cellpath_eligibility::screen(&state.screening_catalogue(), &record, as_of, &[]);
        let now = Then {
            results,
            record: serde_json::from_str(&v.record).ok(),
            as_of: s.as_of.clone(),
            catalogue: s.catalogue_version.clone(),
        };
        let (changes, why) = before
            .as_ref()
            .map(|b| compare(state, b, &now, lang))
            .unwrap_or_default();
        // The oldest one read is only the baseline of the next.
        if i > start || all.len() <= SHOWN {
            out.push(ScreeningLine {
                at: i18n::timestamp(lang, &s.created_at),
                as_of: cellpath_domain::Date::parse(&s.as_of)
                    .map_or_else(|_| s.as_of.clone(), |d| i18n::date(lang, d)),
                record_version: s.case_version,
                requested: s.results.contains("\"kind\":\"requested\""),
                verdicts: now
                    .results
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: {}",
                            name(state, &r.programme, lang),
                            r.verdict.label().get(lang)
                        )
                    })
                    .collect(),
                changes,
                why,
                first: before.is_none(),
            });
        }
        before = Some(now);
    }
    out
}

fn status_words(s: Status, lang: Lang) -> String {
    s.label().get(lang).to_owned()
}

fn compare(state: &Shared, a: &Then, b: &Then, lang: Lang) -> (Vec<String>, Vec<String>) {
    let mut changes = Vec::new();
    for r in &b.results {
        let Some(old) = a.results.iter().find(|x| x.programme == r.programme) else {
            changes.push(tr(
                lang,
                "scr-new-programme",
                &[("programme", &name(state, &r.programme, lang))],
            ));
            continue;
        };
        if old.verdict != r.verdict {
            changes.push(tr(
                lang,
                "scr-verdict",
                &[
                    ("programme", &name(state, &r.programme, lang)),
                    ("before", old.verdict.label().get(lang)),
                    ("after", r.verdict.label().get(lang)),
                ],
            ));
        }
        for c in &r.criteria {
            let was = old.criteria.iter().find(|x| x.id == c.id).map(|x| x.status);
            if let Some(was) = was.filter(|w| *w != c.status) {
                changes.push(tr(
                    lang,
                    "scr-criterion",
                    &[
                        ("programme", &name(state, &r.programme, lang)),
                        ("criterion", c.text.get(lang).trim_end_matches(['.', '。'])),
                        ("before", &status_words(was, lang)),
                        ("after", &status_words(c.status, lang)),
                    ],
                ));
            }
        }
    }
    let mut why = Vec::new();
    if let (Some(x), Some(y)) = (&a.record, &b.record) {
        let facts: Vec<String> = cellpath_domain::diff::diff(x, y)
            .iter()
            .filter(|c| c.pointer != "/format")
            .map(|c| crate::record::fact_words(lang, &c.pointer))
            .collect();
        if !facts.is_empty() {
            why.push(tr(lang, "scr-why-record", &[("facts", &facts.join("; "))]));
        }
    }
    if a.as_of != b.as_of {
        why.push(tr(
            lang,
            "scr-why-date",
            &[("before", &a.as_of), ("after", &b.as_of)],
        ));
    }
    if a.catalogue != b.catalogue {
        why.push(tr(
            lang,
            "scr-why-catalogue",
            &[("before", &a.catalogue), ("after", &b.catalogue)],
        ));
    }
    (changes, why)
}
