//! The case at a glance for the MDT's review: diagnosis, biomarkers with the CLDN18.2
//! picture, lines of therapy as a timeline, fitness, labs out of range, the documents, the
//! pre-screen of every programme, and what changed since the reader's last opinion. One
//! audited read; the screening comes from the cache of the record version.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use cellpath_domain::text::Lang;
use cellpath_eligibility::eval::{ResultKind, Status, Verdict};
use cellpath_web::Shared;
use cellpath_web::policy::Action;

use crate::frame::{Frame, Signed, page};
use crate::i18n::{self, tr};
use crate::patient::{case_nav, open, thresholds};

struct Fact {
    label: String,
    value: String,
    when: String,
    source: String,
}

struct LineView {
    number: String,
    drugs: String,
    span: String,
    outcome: String,
}

struct ProgrammeLine {
    name: String,
    verdict: String,
    class: &'static str,
    met: usize,
    not_met: usize,
    unknown: usize,
    judgement: usize,
}

struct DocLine {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "summary.html")]
struct SummaryPage {
    f: Frame,
    id: String,
    record_version: i64,
    diagnosis: Vec<Fact>,
    biomarkers: Vec<Fact>,
    cldn_svg: String,
    cldn_lines: Vec<String>,
    lines: Vec<LineView>,
    lines_note: String,
    timeline: String,
    fitness: Vec<Fact>,
    labs: Vec<Fact>,
    documents: Vec<DocLine>,
    programmes: Vec<ProgrammeLine>,
    as_of: String,
    changes: Option<Vec<String>>,
    since: String,
}

/// A date as the reader writes dates; a partial one (a month, a year) as recorded.
fn when_of(d: Option<impl Into<cellpath_domain::PartialDate>>, lang: Lang) -> String {
    match d.map(Into::into) {
        None => tr(lang, "not-recorded", &[]),
        Some(p) => p
            .full()
            .map_or_else(|| p.to_string(), |d| i18n::date(lang, d)),
    }
}

fn source_of(s: &Option<String>, lang: Lang) -> String {
    s.clone().unwrap_or_else(|| tr(lang, "sum-no-source", &[]))
}

fn kebab<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Lines of therapy as bars along the years (numbered, with the drugs in the table below).
fn lines_svg(lines: &[cellpath_domain::lines::Line], title: &str) -> String {
    use std::fmt::Write as _;
    let spans: Vec<(f64, f64, String)> = lines
        .iter()
        .filter_map(|l| {
            let start = l.start?.earliest().to_days() as f64;
            let end = l
                .end
                .map_or(start + 30.0, |e| e.earliest().to_days() as f64);
            Some((
                start,
                end.max(start + 7.0),
                l.number.map_or("–".to_owned(), |n| n.to_string()),
            ))
        })
        .collect();
    if spans.is_empty() {
        return String::new();
    }
    let lo = spans.iter().map(|s| s.0).fold(f64::MAX, f64::min);
    let hi = spans
        .iter()
        .map(|s| s.1)
        .fold(f64::MIN, f64::max)
        .max(lo + 1.0);
    let (w, row) = (680.0, 28.0);
    let h = row * spans.len() as f64 + 10.0;
    let x = |d: f64| 40.0 + (w - 60.0) * (d - lo) / (hi - lo);
    let mut out = format!(
        r#"<svg class="lines" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = crate::svg::esc(title)
    );
    for (i, (a, b, n)) in spans.iter().enumerate() {
        let y = 5.0 + row * i as f64;
        let _ = write!(
            out,
            r#"<text class="scale" x="4" y="{}">{}</text><rect class="bar sure" x="{:.1}" y="{y}" width="{:.1}" height="18"/>"#,
            y + 14.0,
            crate::svg::esc(n),
            x(*a),
            (x(*b) - x(*a)).max(3.0)
        );
    }
    out.push_str("</svg>");
    out
}

pub async fn summary(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    let lang = s.lang;
    let case = match open(&state, &s, &id, Action::ReadCase, "case.summary").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (screened, as_of) = match crate::patient::screen_now(&state, &case).await {
        Ok((x, as_of, _)) => (x, as_of),
        Err(e) => return s.fail(e),
    };
    let r = &screened.record;
    let unknown = tr(lang, "not-recorded", &[]);
    let name = |en: &str, zh: &str| {
        if lang == Lang::ZhCn {
            zh.to_owned()
        } else {
            en.to_owned()
        }
    };

    // Diagnosis.
    let mut diagnosis = Vec::new();
    if let Some(p) = &r.primary {
        diagnosis.push(Fact {
            label: tr(lang, "sum-primary", &[]),
            value: format!(
                "{} · {}",
                p.site
                    .map_or_else(|| unknown.clone(), |x| name(x.name(), x.name_zh())),
                p.histology
                    .map_or_else(|| unknown.clone(), |x| name(x.name(), x.name_zh()))
            ),
            when: when_of(p.diagnosed, lang),
            source: source_of(&p.source, lang),
        });
        diagnosis.push(Fact {
            label: tr(lang, "sum-stage", &[]),
            value: format!(
                "{}{}",
                p.stage.clone().unwrap_or_else(|| unknown.clone()),
                p.extent.map_or_else(String::new, |e| format!(
                    " · {}",
                    name(e.name(), e.name_zh())
                ))
            ),
            when: String::new(),
            source: source_of(&p.source, lang),
        });
    }
    match &r.metastases {
        None => diagnosis.push(Fact {
            label: tr(lang, "sum-metastases", &[]),
            value: unknown.clone(),
            when: String::new(),
            source: String::new(),
        }),
        Some(ms) if ms.is_empty() => diagnosis.push(Fact {
            label: tr(lang, "sum-metastases", &[]),
            value: tr(lang, "sum-none", &[]),
            when: String::new(),
            source: String::new(),
        }),
        Some(ms) => {
            for m in ms {
                diagnosis.push(Fact {
                    label: tr(lang, "sum-metastases", &[]),
                    value: m.site.clone(),
                    when: when_of(m.date, lang),
                    source: source_of(&m.source, lang),
                });
            }
        }
    }

    // Biomarkers: the latest of each, with date and source.
    let mut biomarkers = Vec::new();
    if let Some(h) = r.her2.last() {
        let mut parts = Vec::new();
        if let Some(i) = h.ihc {
            parts.push(format!("IHC {i}"));
        }
        if let Some(ish) = h.ish {
            parts.push(format!(
                "ISH {}",
                tr(lang, &format!("ish-{}", kebab(&ish)), &[])
            ));
        }
        if let Some(st) = h.interpretation {
            parts.push(tr(lang, &format!("her2-{}", kebab(&st)), &[]));
        }
        biomarkers.push(Fact {
            label: "HER2".to_owned(),
            value: parts.join(" · "),
            when: when_of(h.date, lang),
            source: source_of(&h.source, lang),
        });
    }
    if let Some(p) = r.pdl1.last() {
        biomarkers.push(Fact {
            label: "PD-L1".to_owned(),
            value: format!(
                "CPS {}{}",
                p.cps,
                p.clone
                    .as_deref()
                    .map_or_else(String::new, |c| format!(" ({c})"))
            ),
            when: when_of(p.date, lang),
            source: source_of(&p.source, lang),
        });
    }
    if let Some(m) = r.msi.last() {
        biomarkers.push(Fact {
            label: "MSI / MMR".to_owned(),
            value: tr(lang, &format!("msi-{}", kebab(&m.status)), &[]),
            when: when_of(m.date, lang),
            source: source_of(&m.source, lang),
        });
    }
    let limits = thresholds(&state, lang);
    let (cldn_svg, cldn_lines) = match r.cldn18.last() {
        Some(c) => {
            biomarkers.insert(
                0,
                Fact {
                    label: "CLDN18.2".to_owned(),
                    value: c.clone.clone().map_or_else(
                        || tr(lang, "sum-clone-unknown", &[]),
                        |x| tr(lang, "sum-clone", &[("clone", &x)]),
                    ),
                    when: when_of(c.specimen_date, lang),
                    source: source_of(&c.source, lang),
                },
            );
            (
                crate::svg::cldn_bar(c, &limits, lang),
                crate::svg::threshold_lines(c, &limits, lang),
            )
        }
        None => (String::new(), Vec::new()),
    };

    // Lines of therapy.
    let lot = cellpath_domain::lines::lines_of_therapy(r);
    let (lines, lines_note, timeline) = match &lot {
        None => (
            Vec::new(),
            tr(lang, "sum-lines-unknown", &[]),
            String::new(),
        ),
        Some(l) => (
            l.lines
                .iter()
                .map(|x| LineView {
                    number: x
                        .number
                        .map_or_else(|| tr(lang, "sum-not-counted", &[]), |n| n.to_string()),
                    drugs: x.drugs.join(" + "),
                    span: format!(
                        "{} – {}",
                        when_of(x.start, lang),
                        x.end.map_or_else(
                            || tr(lang, "sum-ongoing", &[]),
                            |d| when_of(Some(d), lang)
                        )
                    ),
                    outcome: x.outcome.label().get(lang).to_owned(),
                })
                .collect(),
            tr(
                lang,
                if l.derived {
                    "sum-lines-derived"
                } else {
                    "sum-lines-confirmed"
                },
                &[("n", &l.count().to_string())],
            ),
            lines_svg(&l.lines, &tr(lang, "sum-lines", &[])),
        ),
    };

    let fitness = r
        .ecog
        .last()
        .map(|e| Fact {
            label: "ECOG".to_owned(),
            value: e.score.score().to_string(),
            when: when_of(e.date, lang),
            source: source_of(&e.source, lang),
        })
        .into_iter()
        .collect();
    let labs = r
        .labs
        .iter()
        .filter(|l| l.uln.is_some_and(|u| l.value > u))
        .map(|l| Fact {
            label: name(l.test.name(), l.test.name_zh()),
            value: tr(
                lang,
                "sum-lab-high",
                &[
                    ("value", &format!("{} {}", l.value, l.unit)),
                    ("uln", &format!("{} {}", l.uln.unwrap_or_default(), l.unit)),
                ],
            ),
            when: when_of(l.date, lang),
            source: source_of(&l.source, lang),
        })
        .collect();
    let documents = state
        .store
        .documents(&id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| DocLine {
            id: d.id,
            name: d.filename,
        })
        .collect();
    let programmes = screened
        .results
        .iter()
        .map(|p| {
            let count = |st: Status| {
                p.criteria
                    .iter()
                    .filter(|c| c.status == st && c.kind != ResultKind::ClinicianJudgement)
                    .count()
            };
            ProgrammeLine {
                name: state
                    .catalogue
                    .programmes()
                    .iter()
                    .find(|x| x.id == p.programme)
                    .map_or_else(|| p.programme.clone(), |x| x.name.get(lang).to_owned()),
                verdict: p.verdict.label().get(lang).to_owned(),
                class: match p.verdict {
                    Verdict::Eligible => "met",
                    Verdict::NeedsInformation => "unknown",
                    Verdict::Ineligible => "not-met",
                },
                met: count(Status::Met),
                not_met: count(Status::NotMet),
                unknown: count(Status::Unknown),
                judgement: p
                    .criteria
                    .iter()
                    .filter(|c| c.kind == ResultKind::ClinicianJudgement)
                    .count(),
            }
        })
        .collect();

    // What changed since the reader's own opinion (the record version it was given on).
    let mine = state
        .store
        .mdt_opinions(&id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.author_id == s.actor().id)
        .filter_map(|o| o.record_version)
        .max();
    let (changes, since) = match mine {
        Some(v) if v != case.record_version => {
            let before = state.store.record_version(&id, v).await.ok().flatten();
            let list = before
                .and_then(|b| serde_json::from_str::<serde_json::Value>(&b.record).ok())
                .zip(serde_json::from_str::<serde_json::Value>(&case.record).ok())
                .map(|(a, b)| {
                    cellpath_domain::diff::diff(&a, &b)
                        .into_iter()
                        .map(|c| {
                            format!(
                                "{} {}",
                                tr(lang, &format!("sum-change-{}", kebab(&c.kind)), &[]),
                                crate::record::fact_words(lang, &c.pointer)
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            (
                Some(list),
                tr(lang, "sum-since", &[("version", &v.to_string())]),
            )
        }
        Some(v) => (
            Some(Vec::new()),
            tr(lang, "sum-since", &[("version", &v.to_string())]),
        ),
        None => (None, String::new()),
    };
    let f = s.frame(
        "sum-title",
        case_nav(lang, &id, s.actor().role, "nav-summary"),
    );
    page(&SummaryPage {
        f,
        id: id.clone(),
        record_version: case.record_version,
        diagnosis,
        biomarkers,
        cldn_svg,
        cldn_lines,
        lines,
        lines_note,
        timeline,
        fitness,
        labs,
        documents,
        programmes,
        as_of: i18n::date(lang, as_of),
        changes,
        since,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cellpath_domain::{Her2Status, IshResult, MsiStatus};

    /// Every value a biomarker or a change can take has words in both languages.
    #[test]
    fn every_value_has_words() {
        let mut want = Vec::new();
        for v in [
            Her2Status::Positive,
            Her2Status::Negative,
            Her2Status::Equivocal,
        ] {
            want.push(format!("her2-{}", kebab(&v)));
        }
        for v in [
            IshResult::Amplified,
            IshResult::NotAmplified,
            IshResult::Equivocal,
        ] {
            want.push(format!("ish-{}", kebab(&v)));
        }
        for v in [
            MsiStatus::MsiHigh,
            MsiStatus::MsiLow,
            MsiStatus::Mss,
            MsiStatus::Dmmr,
            MsiStatus::Pmmr,
        ] {
            want.push(format!("msi-{}", kebab(&v)));
        }
        for c in [
            cellpath_domain::diff::ChangeKind::Added,
            cellpath_domain::diff::ChangeKind::Removed,
            cellpath_domain::diff::ChangeKind::Changed,
        ] {
            want.push(format!("sum-change-{}", kebab(&c)));
        }
        let missing: Vec<&String> = want.iter().filter(|k| !i18n::has(k)).collect();
        assert!(missing.is_empty(), "keys missing: {missing:?}");
    }
}
