// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The record editor: a form for every fact of the native case format, each with its source
//! (a document of the case or free text), and the record's history as a fact-level diff.
//!
//! The form's field names are the record's own paths (`cldn18.0.staining.3+`), so a form
//! turns into the native JSON without a second model, and the API's errors (JSON pointers)
//! land on the field they name. Saving is the API's use case with the version the form was
//! read at; when someone saved in between, the page merges (one's own changes over theirs)
//! and shows each fact both changed beside its field.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use cellpath_domain::Lang;
use cellpath_domain::diff::{self, ChangeKind};
use cellpath_web::policy::Action;
use cellpath_web::{ApiError, ErrorCode, Shared};
use serde_json::{Map, Value};

use crate::frame::{Fields, Frame, Signed, done, page, page_with};
use crate::i18n::{self, tr};
use crate::patient::{case_nav, open};

/// The closed sets a field chooses from: the native format's own values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    Sex,
    Site,
    Histology,
    Extent,
    Status,
    Intensity,
    Ish,
    Her2,
    Msi,
    Setting,
    Stop,
    Outcome,
    Lab,
    Unit,
    Marker,
    Detection,
    Pregnancy,
}

impl Pick {
    #[cfg(test)]
    const ALL: [Pick; 17] = [
        Pick::Sex,
        Pick::Site,
        Pick::Histology,
        Pick::Extent,
        Pick::Status,
        Pick::Intensity,
        Pick::Ish,
        Pick::Her2,
        Pick::Msi,
        Pick::Setting,
        Pick::Stop,
        Pick::Outcome,
        Pick::Lab,
        Pick::Unit,
        Pick::Marker,
        Pick::Detection,
        Pick::Pregnancy,
    ];

    fn values(self) -> &'static [&'static str] {
        match self {
            Pick::Sex => &["female", "male", "other", "unknown"],
            Pick::Site => &[
                "stomach",
                "gej",
                "oesophagus",
                "pancreas",
                "colon",
                "rectum",
                "liver",
                "biliary-tract",
                "lung",
                "breast",
                "prostate",
                "ovary",
                "other",
            ],
            Pick::Histology => &[
                "adenocarcinoma",
                "intestinal-type",
                "diffuse-type",
                "signet-ring-cell",
                "ductal-adenocarcinoma",
                "squamous-cell",
                "small-cell",
                "non-small-cell",
                "other",
            ],
            Pick::Extent => &[
                "localised",
                "locally-advanced-resectable",
                "locally-advanced-unresectable",
                "metastatic",
                "no-evidence-of-disease",
            ],
            Pick::Status => &["active", "recurrence", "remission"],
            Pick::Intensity => &["3+", "2+", "1+", "0"],
            Pick::Ish => &["amplified", "not-amplified", "equivocal"],
            Pick::Her2 => &["positive", "negative", "equivocal"],
            Pick::Msi => &["msi-high", "msi-low", "mss", "dmmr", "pmmr"],
            Pick::Setting => &[
                "advanced",
                "neoadjuvant",
                "adjuvant",
                "perioperative",
                "curative",
                "unknown",
            ],
            Pick::Stop => &["progression", "intolerance", "completed", "other"],
            Pick::Outcome => &["progression", "intolerance", "not-failed"],
            Pick::Lab => &[
                "neutrophils",
                "platelets",
                "haemoglobin",
                "creatinine",
                "bilirubin",
                "alt",
                "ast",
                "ca19-9",
            ],
            Pick::Unit => &[
                "10*9/L", "g/L", "g/dL", "umol/L", "mg/dL", "U/L", "U/mL", "%",
            ],
            Pick::Marker => &["hbsag", "anti-hbc", "hbv-dna", "anti-hcv", "hcv-rna", "hiv"],
            Pick::Detection => &["positive", "negative"],
            Pick::Pregnancy => &["not-pregnant", "pregnant", "not-of-childbearing-potential"],
        }
    }

    /// A value in the reader's language: the domain's own names where it has them, the
    /// page's words for the rest, and codes (intensities, units) as they are.
    fn words(self, v: &str, lang: Lang) -> String {
        use cellpath_domain as d;
        let zh = lang == Lang::ZhCn;
        let pick = |en: &str, zh_name: &str| if zh { zh_name } else { en }.to_owned();
        let json = Value::from(v);
        let named = match self {
            Pick::Site => serde_json::from_value::<d::CancerSite>(json)
                .ok()
                .map(|x| pick(x.name(), x.name_zh())),
            Pick::Histology => serde_json::from_value::<d::Histology>(json)
                .ok()
                .map(|x| pick(x.name(), x.name_zh())),
            Pick::Extent => serde_json::from_value::<d::Extent>(json)
                .ok()
                .map(|x| pick(x.name(), x.name_zh())),
            Pick::Status => serde_json::from_value::<d::CancerStatus>(json)
                .ok()
                .map(|x| pick(x.name(), x.name_zh())),
            Pick::Setting => serde_json::from_value::<d::TherapySetting>(json)
                .ok()
                .map(|x| x.label().get(lang).to_owned()),
            Pick::Outcome => serde_json::from_value::<d::LineOutcome>(json)
                .ok()
                .map(|x| x.label().get(lang).to_owned()),
            Pick::Lab => serde_json::from_value::<d::LabTest>(json)
                .ok()
                .map(|x| pick(x.name(), x.name_zh())),
            Pick::Marker => serde_json::from_value::<d::InfectionMarker>(json)
                .ok()
                .map(|x| x.label().get(lang).to_owned()),
            Pick::Detection => serde_json::from_value::<d::Detection>(json)
                .ok()
                .map(|x| x.label().get(lang).to_owned()),
            Pick::Pregnancy => serde_json::from_value::<d::PregnancyStatus>(json)
                .ok()
                .map(|x| x.label().get(lang).to_owned()),
            Pick::Intensity | Pick::Unit => Some(v.to_owned()),
            Pick::Sex | Pick::Ish | Pick::Her2 | Pick::Msi | Pick::Stop => {
                Some(tr(lang, &format!("rec-opt-{v}"), &[]))
            }
        };
        named.unwrap_or_else(|| v.to_owned())
    }
}

/// How a field is typed and turned into JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    /// A JSON number (an integer when it is one).
    Number,
    /// A date, or a year-month or year when that is all that is known.
    Date,
    Pick(Pick),
    /// A yes/no; the flag is what a new row starts with.
    Check(bool),
    /// Drug names separated by commas: a JSON array.
    Drugs,
    /// Where the fact came from: `document:<id>` or free text.
    Source,
}

struct Spec {
    /// The path inside one fact (`staining.3+`).
    key: &'static str,
    /// The words' key (`rec-f-…`).
    label: &'static str,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Many {
    /// Always there (the patient).
    One,
    /// There when anything in it is filled in (the primary cancer).
    OptOne,
    /// A list; empty when nothing is recorded.
    List,
    /// A list whose absence means "not known" and `[]` "none" (metastases, therapies,
    /// confirmed lines).
    OptList,
}

struct Section {
    key: &'static str,
    many: Many,
    fields: &'static [Spec],
}

const fn f(key: &'static str, label: &'static str, kind: Kind) -> Spec {
    Spec { key, label, kind }
}

const SOURCE: Spec = f("source", "rec-f-source", Kind::Source);

const SECTIONS: &[Section] = &[
    Section {
        key: "patient",
        many: Many::One,
        fields: &[
            f("birth_date", "rec-f-birth-date", Kind::Date),
            f("sex", "rec-f-sex", Kind::Pick(Pick::Sex)),
            f("deceased", "rec-f-deceased", Kind::Check(false)),
            f("deceased_date", "rec-f-deceased-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "primary",
        many: Many::OptOne,
        fields: &[
            f("site", "rec-f-site", Kind::Pick(Pick::Site)),
            f("site_text", "rec-f-site-text", Kind::Text),
            f("histology", "rec-f-histology", Kind::Pick(Pick::Histology)),
            f("histology_text", "rec-f-histology-text", Kind::Text),
            f("stage", "rec-f-stage", Kind::Text),
            f("extent", "rec-f-extent", Kind::Pick(Pick::Extent)),
            f("diagnosed", "rec-f-diagnosed", Kind::Date),
            f("status", "rec-f-status", Kind::Pick(Pick::Status)),
            SOURCE,
        ],
    },
    Section {
        key: "metastases",
        many: Many::OptList,
        fields: &[
            f("site", "rec-f-met-site", Kind::Text),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "cldn18",
        many: Many::List,
        fields: &[
            f("staining.3+", "rec-f-pct-3", Kind::Number),
            f("staining.2+", "rec-f-pct-2", Kind::Number),
            f("staining.1+", "rec-f-pct-1", Kind::Number),
            f("staining.0", "rec-f-pct-0", Kind::Number),
            f(
                "at_least.intensity",
                "rec-f-at-least-intensity",
                Kind::Pick(Pick::Intensity),
            ),
            f("at_least.percent", "rec-f-at-least-percent", Kind::Number),
            f("negative", "rec-f-negative", Kind::Check(false)),
            f("clone", "rec-f-clone", Kind::Text),
            f("specimen", "rec-f-specimen", Kind::Text),
            f("specimen_date", "rec-f-specimen-date", Kind::Date),
            f("preliminary", "rec-f-preliminary", Kind::Check(false)),
            SOURCE,
        ],
    },
    Section {
        key: "her2",
        many: Many::List,
        fields: &[
            f("ihc", "rec-f-ihc", Kind::Pick(Pick::Intensity)),
            f("ish", "rec-f-ish", Kind::Pick(Pick::Ish)),
            f(
                "interpretation",
                "rec-f-interpretation",
                Kind::Pick(Pick::Her2),
            ),
            f("date", "rec-f-date", Kind::Date),
            f("preliminary", "rec-f-preliminary", Kind::Check(false)),
            SOURCE,
        ],
    },
    Section {
        key: "pdl1",
        many: Many::List,
        fields: &[
            f("cps", "rec-f-cps", Kind::Number),
            f("clone", "rec-f-clone", Kind::Text),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "msi",
        many: Many::List,
        fields: &[
            f("status", "rec-f-msi", Kind::Pick(Pick::Msi)),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "therapies",
        many: Many::OptList,
        fields: &[
            f("drug", "rec-f-drug", Kind::Text),
            f("start", "rec-f-start", Kind::Date),
            f("end", "rec-f-end", Kind::Date),
            f("setting", "rec-f-setting", Kind::Pick(Pick::Setting)),
            f(
                "reason_stopped",
                "rec-f-reason-stopped",
                Kind::Pick(Pick::Stop),
            ),
            f("other_cancer", "rec-f-other-cancer", Kind::Text),
            f("unidentified", "rec-f-unidentified", Kind::Check(false)),
            SOURCE,
        ],
    },
    Section {
        key: "progressions",
        many: Many::List,
        fields: &[
            f("date", "rec-f-date", Kind::Date),
            f("basis", "rec-f-basis", Kind::Text),
            SOURCE,
        ],
    },
    Section {
        key: "lines",
        many: Many::OptList,
        fields: &[
            f("drugs", "rec-f-drugs", Kind::Drugs),
            f("start", "rec-f-start", Kind::Date),
            f("end", "rec-f-end", Kind::Date),
            f("setting", "rec-f-setting", Kind::Pick(Pick::Setting)),
            f("counts", "rec-f-counts", Kind::Check(true)),
            f("outcome", "rec-f-outcome", Kind::Pick(Pick::Outcome)),
            SOURCE,
        ],
    },
    Section {
        key: "ecog",
        many: Many::List,
        fields: &[
            f("score", "rec-f-ecog", Kind::Number),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "labs",
        many: Many::List,
        fields: &[
            f("test", "rec-f-lab", Kind::Pick(Pick::Lab)),
            f("value", "rec-f-value", Kind::Number),
            f("unit", "rec-f-unit", Kind::Pick(Pick::Unit)),
            f("uln", "rec-f-uln", Kind::Number),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "infections",
        many: Many::List,
        fields: &[
            f("marker", "rec-f-marker", Kind::Pick(Pick::Marker)),
            f("result", "rec-f-result", Kind::Pick(Pick::Detection)),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "pregnancy",
        many: Many::List,
        fields: &[
            f("status", "rec-f-pregnancy", Kind::Pick(Pick::Pregnancy)),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
    Section {
        key: "lvef",
        many: Many::List,
        fields: &[
            f("percent", "rec-f-lvef", Kind::Number),
            f("date", "rec-f-date", Kind::Date),
            SOURCE,
        ],
    },
];

fn section(key: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.key == key)
}

/// A form field's name: `patient.sex`, `cldn18.0.staining.3+`.
fn field_name(sec: &Section, row: usize, key: &str) -> String {
    match sec.many {
        Many::One | Many::OptOne => format!("{}.{key}", sec.key),
        Many::List | Many::OptList => format!("{}.{row}.{key}", sec.key),
    }
}

/// The value at a dotted path inside one fact.
fn get_at<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(v, |here, k| here.get(k))
}

fn set_at(v: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            v.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = v
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = child {
                set_at(m, rest, value);
            }
        }
    }
}

/// A JSON value as a field shows it.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A value as the history and the conflict notes say it, in the reader's language.
fn said(lang: Lang, v: Option<&Value>) -> String {
    said_in(lang, None, v)
}

/// A single value in words: a full date as the reader writes dates, yes and no, numbers
/// without a trailing `.0`.
fn value_words(lang: Lang, v: &Value) -> String {
    match v {
        Value::Bool(true) => tr(lang, "rec-yes", &[]),
        Value::Bool(false) => tr(lang, "rec-no", &[]),
        Value::String(t) if t.len() == 10 => cellpath_domain::Date::parse(t)
            .map_or_else(|_| t.clone(), |d| crate::i18n::date(lang, d)),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k} {}", value_words(lang, v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => shown(other),
    }
}

/// A fact as a person reads it: each field by the record editor's label for it (when the
/// section is known), dates and yes/no in the reader's words, the source by its name.
fn said_in(lang: Lang, section_key: Option<&str>, v: Option<&Value>) -> String {
    let sec = section_key.and_then(section);
    match v {
        None | Some(Value::Null) => tr(lang, "rec-nothing", &[]),
        Some(Value::Object(m)) => m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                if k == "source" {
                    return format!(
                        "{}: {}",
                        tr(lang, "rec-source-of", &[]),
                        source_words(lang, v.as_str().unwrap_or_default())
                    );
                }
                let label = sec
                    .and_then(|sec| spec_at(sec, k))
                    .map_or_else(|| k.clone(), |spec| tr(lang, spec.label, &[]));
                format!("{label}: {}", value_words(lang, v))
            })
            .collect::<Vec<_>>()
            .join(" · "),
        Some(v) => value_words(lang, v),
    }
}

/// Where a fact came from, as a person reads it: a FHIR resource by its type (and its id
/// when it has a readable one), never a `urn:uuid:` address.
pub(crate) fn source_words(lang: Lang, source: &str) -> String {
    if let Some(rest) = source.strip_prefix("FHIR ") {
        let (kind, id) = rest.split_once(' ').unwrap_or((rest, ""));
        let id = id.rsplit('/').next().unwrap_or(id);
        return if id.is_empty() || id.starts_with("urn:") || id.len() > 40 || id.contains(':') {
            tr(lang, "rec-source-fhir", &[("kind", kind)])
        } else {
            tr(lang, "rec-source-fhir-id", &[("kind", kind), ("id", id)])
        };
    }
    source.to_owned()
}

/// One fact of a section in words (the import preview's rows).
pub(crate) fn fact_in_words(lang: Lang, section_key: &str, v: &Value) -> String {
    said_in(lang, Some(section_key), Some(v))
}

// ------------------------------------------------------------------ form → JSON

/// Which form row each fact of a list came from (blank and removed rows are left out, so
/// the API's indices are not the form's).
type RowMap = BTreeMap<(&'static str, usize), usize>;

/// A field's problem: the field's name and the words.
pub(crate) type FieldErrors = BTreeMap<String, String>;

struct Built {
    record: Value,
    rows: RowMap,
    errors: FieldErrors,
}

/// The rows of a list section the form sent, in order.
fn form_rows(fields: &Fields, sec: &Section) -> Vec<usize> {
    let prefix = format!("{}.", sec.key);
    let mut rows: Vec<usize> = fields
        .pairs()
        .filter_map(|(k, _)| k.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once('.'))
        .filter_map(|(n, _)| n.parse().ok())
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// One fact from its row of the form; `None` when the row is blank.
fn fact(
    lang: Lang,
    fields: &Fields,
    sec: &Section,
    row: usize,
    errors: &mut FieldErrors,
) -> Option<Value> {
    let mut out = Map::new();
    let mut any = false;
    for spec in sec.fields {
        let name = field_name(sec, row, spec.key);
        let text = fields.text(&name);
        let value = match spec.kind {
            Kind::Check(_) => Value::Bool(!text.is_empty()),
            _ if text.is_empty() => continue,
            Kind::Number => {
                any = true;
                if let Ok(n) = text.parse::<i64>() {
                    Value::from(n)
                } else if let Some(x) = text
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                {
                    Value::from(x)
                } else {
                    errors.insert(
                        name.clone(),
                        tr(lang, "rec-err-number", &[("value", &text)]),
                    );
                    // Kept as typed, to be shown again (the record is not saved).
                    Value::from(text)
                }
            }
            Kind::Drugs => {
                any = true;
                Value::Array(
                    text.split([',', '，', '、'])
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(Value::from)
                        .collect(),
                )
            }
            Kind::Text | Kind::Date | Kind::Pick(_) | Kind::Source => {
                any = true;
                Value::from(text)
            }
        };
        // A flag left at "no" is what the format means by absence; say nothing.
        if value == Value::Bool(false) && spec.key != "counts" {
            continue;
        }
        set_at(&mut out, spec.key, value);
    }
    any.then_some(Value::Object(out))
}

/// The record the form describes, in the native format, with the rows each list came from
/// and the fields that could not be read.
fn build(lang: Lang, fields: &Fields) -> Built {
    let mut record = Map::new();
    record.insert("format".into(), Value::from(cellpath_domain::CASE_FORMAT));
    let label = fields.text("label");
    if !label.is_empty() {
        record.insert("label".into(), Value::from(label));
    }
    let mut rows = RowMap::new();
    let mut errors = FieldErrors::new();
    for sec in SECTIONS {
        match sec.many {
            Many::One => {
                let v = fact(lang, fields, sec, 0, &mut errors)
                    .unwrap_or_else(|| Value::Object(Map::new()));
                record.insert(sec.key.into(), v);
            }
            Many::OptOne => {
                if let Some(v) = fact(lang, fields, sec, 0, &mut errors) {
                    record.insert(sec.key.into(), v);
                }
            }
            Many::List | Many::OptList => {
                let mut items = Vec::new();
                for row in form_rows(fields, sec) {
                    if !fields.text(&field_name(sec, row, "_remove")).is_empty() {
                        continue;
                    }
                    if let Some(v) = fact(lang, fields, sec, row, &mut errors) {
                        rows.insert((sec.key, items.len()), row);
                        items.push(v);
                    }
                }
                let state = fields.text(&format!("{}._state", sec.key));
                let keep = match sec.many {
                    // "Not known" wins only when nothing is listed: typing a therapy
                    // says the history is known.
                    Many::OptList => !items.is_empty() || state == "none",
                    _ => !items.is_empty(),
                };
                if keep {
                    record.insert(sec.key.into(), Value::Array(items));
                }
            }
        }
    }
    Built {
        record: Value::Object(record),
        rows,
        errors,
    }
}

/// The field of a fact a dotted path inside it names (`staining.3+`), or the field a path
/// leads into (`at_least` → `at_least.intensity`): the longest that fits.
fn spec_at<'a>(sec: &'a Section, key: &str) -> Option<&'a Spec> {
    sec.fields
        .iter()
        .filter(|s| {
            key == s.key
                || key.starts_with(&format!("{}.", s.key))
                || s.key.starts_with(&format!("{key}."))
        })
        .max_by_key(|s| s.key.len())
}

/// The form field a JSON pointer into the record names (`/record/cldn18/1/staining/3+`),
/// through the rows the form sent; `None` when it names no field on the form.
fn field_of(pointer: &str, rows: Option<&RowMap>) -> Option<String> {
    let rest = pointer.strip_prefix("/record").unwrap_or(pointer);
    let mut tokens = rest.split('/').skip(1);
    let sec = section(tokens.next()?)?;
    let row = match sec.many {
        Many::One | Many::OptOne => 0,
        Many::List | Many::OptList => {
            let i: usize = tokens.next()?.parse().ok()?;
            match rows {
                Some(map) => *map.get(&(sec.key, i))?,
                None => i,
            }
        }
    };
    let key = tokens.collect::<Vec<_>>().join(".");
    let spec = spec_at(sec, &key)
        // A fact's whole-item problem lands on its first field.
        .or_else(|| sec.fields.first())?;
    Some(field_name(sec, row, spec.key))
}

/// A pointer into the record in words: "CLDN18 result 2 · 3+ (% of tumour cells)".
pub fn fact_words(lang: Lang, pointer: &str) -> String {
    let mut tokens = pointer.split('/').skip(1);
    let Some(first) = tokens.next() else {
        return tr(lang, "rec-whole", &[]);
    };
    let Some(sec) = section(first) else {
        return tr(lang, &format!("rec-f-{first}"), &[]);
    };
    let mut words = tr(lang, &format!("rec-s-{}", sec.key), &[]);
    if matches!(sec.many, Many::List | Many::OptList)
        && let Some(i) = tokens.next()
    {
        match i.parse::<usize>() {
            Ok(n) => words = format!("{words} {}", n + 1),
            Err(_) => return words,
        }
    }
    let key = tokens.collect::<Vec<_>>().join(".");
    if let Some(spec) = spec_at(sec, &key).filter(|_| !key.is_empty()) {
        words = format!("{words} · {}", tr(lang, spec.label, &[]));
    }
    words
}

// ------------------------------------------------------------------ JSON → form

pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

pub(crate) struct FieldView {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) label: String,
    /// text | number | date | select | check | source
    pub(crate) kind: &'static str,
    pub(crate) value: String,
    pub(crate) checked: bool,
    pub(crate) options: Vec<Choice>,
    pub(crate) error: String,
    /// A conflict: what the other person saved here.
    pub(crate) theirs: String,
}

pub(crate) struct RowView {
    pub(crate) title: String,
    pub(crate) fields: Vec<FieldView>,
    /// The row's "remove" box (lists only).
    pub(crate) remove: String,
}

pub(crate) struct SectionView {
    pub(crate) key: &'static str,
    pub(crate) title: String,
    pub(crate) hint: String,
    pub(crate) list: bool,
    /// Not known / none / as listed (lists whose absence means unknown).
    pub(crate) states: Vec<Choice>,
    pub(crate) rows: Vec<RowView>,
}

fn field_view(
    lang: Lang,
    sec: &Section,
    row: usize,
    spec: &Spec,
    fact: Option<&Value>,
    notes: &Notes,
) -> FieldView {
    let name = field_name(sec, row, spec.key);
    let v = fact.and_then(|x| get_at(x, spec.key));
    let value = v.map(shown).unwrap_or_default();
    let (kind, checked, options) = match spec.kind {
        Kind::Text | Kind::Drugs => ("text", false, Vec::new()),
        Kind::Number => ("number", false, Vec::new()),
        Kind::Date => ("date", false, Vec::new()),
        Kind::Source => ("source", false, Vec::new()),
        Kind::Check(default) => (
            "check",
            match fact {
                Some(_) => v.and_then(Value::as_bool).unwrap_or(spec.key == "counts"),
                None => default,
            },
            Vec::new(),
        ),
        Kind::Pick(p) => {
            let mut opts = vec![Choice {
                value: String::new(),
                label: tr(lang, "rec-not-recorded", &[]),
                selected: value.is_empty(),
            }];
            opts.extend(p.values().iter().map(|x| Choice {
                value: (*x).to_owned(),
                label: p.words(x, lang),
                selected: *x == value,
            }));
            // A value the list does not hold (an alias) is kept, not lost on saving.
            if !value.is_empty() && !p.values().contains(&value.as_str()) {
                opts.push(Choice {
                    value: value.clone(),
                    label: value.clone(),
                    selected: true,
                });
            }
            ("select", false, opts)
        }
    };
    FieldView {
        id: format!("f-{}", name.replace(['.', '+'], "-")),
        error: notes.errors.get(&name).cloned().unwrap_or_default(),
        theirs: notes.theirs.get(&name).cloned().unwrap_or_default(),
        name,
        label: tr(lang, spec.label, &[]),
        kind,
        value,
        checked,
        options,
    }
}

/// What the form says beside its fields.
#[derive(Default)]
pub(crate) struct Notes {
    errors: FieldErrors,
    theirs: BTreeMap<String, String>,
    /// Sections that get one more blank row.
    more: Option<String>,
}

/// One part of the record as form fields (the import's lines of therapy).
pub(crate) fn section_view(lang: Lang, key: &str, record: &Value) -> Vec<SectionView> {
    sections_view(lang, record, &Notes::default())
        .into_iter()
        .filter(|s| s.key == key)
        .collect()
}

/// One list part of the record from a form: the JSON the record would hold (`None` when
/// not known) and the fields that could not be read.
pub(crate) fn section_from_form(
    lang: Lang,
    fields: &Fields,
    key: &str,
) -> (Option<Value>, FieldErrors) {
    let built = build(lang, fields);
    (built.record.get(key).cloned(), built.errors)
}

fn sections_view(lang: Lang, record: &Value, notes: &Notes) -> Vec<SectionView> {
    SECTIONS
        .iter()
        .map(|sec| {
            let here = record.get(sec.key);
            let title = tr(lang, &format!("rec-s-{}", sec.key), &[]);
            let mut rows = Vec::new();
            let mut states = Vec::new();
            match sec.many {
                Many::One | Many::OptOne => rows.push(RowView {
                    title: String::new(),
                    fields: sec
                        .fields
                        .iter()
                        .map(|s| field_view(lang, sec, 0, s, here, notes))
                        .collect(),
                    remove: String::new(),
                }),
                Many::List | Many::OptList => {
                    let items = here.and_then(Value::as_array).cloned().unwrap_or_default();
                    // A blank row to start an empty list; more on asking ("Add").
                    let blanks = usize::from(items.is_empty())
                        + usize::from(notes.more.as_deref() == Some(sec.key));
                    for i in 0..items.len() + blanks {
                        let item = items.get(i);
                        rows.push(RowView {
                            title: if item.is_some() {
                                format!("{title} {}", i + 1)
                            } else {
                                tr(lang, "rec-new-row", &[("section", &title)])
                            },
                            fields: sec
                                .fields
                                .iter()
                                .map(|s| field_view(lang, sec, i, s, item, notes))
                                .collect(),
                            remove: if item.is_some() {
                                field_name(sec, i, "_remove")
                            } else {
                                String::new()
                            },
                        });
                    }
                    if sec.many == Many::OptList {
                        let now = match here {
                            None => "unknown",
                            Some(Value::Array(a)) if a.is_empty() => "none",
                            Some(_) => "listed",
                        };
                        let unknown_key = if sec.key == "lines" {
                            "rec-state-derived"
                        } else {
                            "rec-state-unknown"
                        };
                        states = [
                            ("unknown", unknown_key),
                            ("none", "rec-state-none"),
                            ("listed", "rec-state-listed"),
                        ]
                        .into_iter()
                        .map(|(v, k)| Choice {
                            value: v.to_owned(),
                            label: tr(lang, k, &[]),
                            selected: v == now,
                        })
                        .collect();
                    }
                }
            }
            SectionView {
                key: sec.key,
                hint: tr(lang, &format!("rec-h-{}", sec.key), &[]),
                title,
                list: matches!(sec.many, Many::List | Many::OptList),
                states,
                rows,
            }
        })
        .collect()
}

// ------------------------------------------------------------------ the pages

/// A document of the case as a source field offers it (`document:<id>`, its file name).
pub(crate) struct DocOption {
    pub(crate) value: String,
    pub(crate) label: String,
}

/// The case's documents, for the source fields' list.
pub(crate) async fn case_documents(state: &Shared, id: &str) -> Vec<DocOption> {
    state
        .store
        .documents(id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| DocOption {
            value: format!("document:{}", d.id),
            label: d.filename,
        })
        .collect()
}

struct ErrorLink {
    id: String,
    text: String,
}

pub(crate) struct ChangeLine {
    pub(crate) what: String,
    pub(crate) kind: String,
    pub(crate) before: String,
    pub(crate) after: String,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    f: Frame,
    id: String,
    version: i64,
    label: String,
    can_edit: bool,
    sections: Vec<SectionView>,
    documents: Vec<DocOption>,
    error: String,
    error_links: Vec<ErrorLink>,
    /// Someone saved while this form was open: their changes, and the version merged onto.
    conflict: Option<(i64, Vec<ChangeLine>)>,
}

struct Shown {
    record: Value,
    version: i64,
    notes: Notes,
    error: String,
    conflict: Option<(i64, Vec<ChangeLine>)>,
}

async fn render(
    state: &Shared,
    s: &Signed,
    id: &str,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let lang = s.lang;
    let can_edit = s.may(state, id, Action::EditRecord).await;
    let documents = case_documents(state, id).await;
    let sections = sections_view(lang, &shown.record, &shown.notes);
    let mut error_links = Vec::new();
    for sec in &sections {
        for row in &sec.rows {
            for fv in row.fields.iter().filter(|x| !x.error.is_empty()) {
                let what = if row.title.is_empty() {
                    sec.title.clone()
                } else {
                    row.title.clone()
                };
                error_links.push(ErrorLink {
                    id: fv.id.clone(),
                    text: tr(
                        lang,
                        "field-message",
                        &[
                            ("field", &format!("{what} · {}", fv.label)),
                            ("message", &fv.error),
                        ],
                    ),
                });
            }
        }
    }
    let f = s.frame(
        "rec-title",
        case_nav(lang, id, s.actor().role, "nav-record"),
    );
    page_with(
        status,
        &RecordPage {
            f,
            id: id.to_owned(),
            version: shown.version,
            label: shown.record.get("label").map(shown_str).unwrap_or_default(),
            can_edit,
            sections,
            documents,
            error: shown.error,
            error_links,
            conflict: shown.conflict,
        },
    )
}

fn shown_str(v: &Value) -> String {
    shown(v)
}

/// `GET /cases/{id}/record`: the record as a form (for those who may edit it; as the same
/// fields, read-only, for the rest of the team).
pub async fn record(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    let case = match open(&state, &s, &id, Action::ReadCase, "case.record.read").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let record = serde_json::from_str(&case.record).unwrap_or(Value::Null);
    let shown = Shown {
        record,
        version: case.record_version,
        notes: Notes::default(),
        error: String::new(),
        conflict: None,
    };
    render(&state, &s, &id, shown, StatusCode::OK).await
}

/// The words for an API error on the record form: the field's own message in the reader's
/// language where the page has one, else the code's sentence (the API's detail is English).
fn api_error_words(s: &Signed, e: &ApiError) -> String {
    if s.lang == Lang::ZhCn {
        e.code.message(s.lang).to_owned()
    } else {
        s.message(e)
    }
}

/// `POST /cases/{id}/record`: save (the API's use case, with the version the form was read
/// at), or add a blank row to a list without saving.
pub async fn record_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if let Err(r) = fields.check(&s) {
        return r;
    }
    // Authorised before anything else is read or shown: an error page of this form lists
    // the case's documents, so a bad body must not show them to someone who may not see
    // the case (security round 2, issue 28).
    if let Err(e) = state.authorise(s.actor(), &id, Action::EditRecord).await {
        return s.fail(e);
    }
    let lang = s.lang;
    let version: i64 = fields.text("version").parse().unwrap_or(0);
    let built = build(lang, &fields);
    let action = fields.text("_action");
    if let Some(sec) = action.strip_prefix("add:") {
        // Nothing is written: the same form back with one more row.
        let notes = Notes {
            errors: built.errors,
            more: section(sec).map(|x| x.key.to_owned()),
            ..Notes::default()
        };
        let shown = Shown {
            record: built.record,
            version,
            notes,
            error: String::new(),
            conflict: None,
        };
        return render(&state, &s, &id, shown, StatusCode::OK).await;
    }
    if !built.errors.is_empty() {
        let shown = Shown {
            record: built.record,
            version,
            notes: Notes {
                errors: built.errors,
                ..Notes::default()
            },
            error: tr(lang, "rec-fix", &[]),
            conflict: None,
        };
        return render(&state, &s, &id, shown, StatusCode::BAD_REQUEST).await;
    }
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("\"v{version}\"")) {
        headers.insert(axum::http::header::IF_MATCH, v);
    }
    let saved = cellpath_web::cases::update_record(
        State(state.clone()),
        s.writer(),
        Path(id.clone()),
        headers,
        Bytes::from(built.record.to_string()),
    )
    .await;
    match saved {
        Ok(_) => done(&format!("/cases/{id}/record"), "rec-saved"),
        Err(e) if e.code == ErrorCode::VersionConflict => {
            conflict(&state, &s, &id, version, built.record).await
        }
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let words = api_error_words(&s, &e);
            let mut notes = Notes::default();
            let at = e
                .fields
                .first()
                .and_then(|p| field_of(p, Some(&built.rows)));
            let error = match at {
                Some(name) => {
                    notes.errors.insert(name, words);
                    tr(lang, "rec-fix", &[])
                }
                None => words,
            };
            let shown = Shown {
                record: built.record,
                version,
                notes,
                error,
                conflict: None,
            };
            render(&state, &s, &id, shown, StatusCode::BAD_REQUEST).await
        }
        Err(e) => s.fail(e),
    }
}

/// Someone saved since the form was read: lay one's own changes over theirs, name what they
/// changed, and show each fact both changed beside its field (one's own value in it).
async fn conflict(state: &Shared, s: &Signed, id: &str, base: i64, mine: Value) -> Response {
    let lang = s.lang;
    let current = match state.authorise(s.actor(), id, Action::EditRecord).await {
        Ok(c) => c,
        Err(e) => return s.fail(e),
    };
    let theirs: Value = serde_json::from_str(&current.record).unwrap_or(Value::Null);
    let base_record = match state.store.record_version(id, base).await {
        Ok(Some(v)) => serde_json::from_str(&v.record).unwrap_or(Value::Null),
        Ok(None) => return s.fail(ApiError::of(ErrorCode::UnknownVersion)),
        Err(e) => return s.fail(e.into()),
    };
    let (merged, conflicts) = diff::merge(&base_record, &theirs, &mine);
    let mut notes = Notes::default();
    for c in &conflicts {
        let text = said(lang, c.theirs.as_ref());
        match field_of(&c.pointer, None) {
            Some(name) => {
                notes.theirs.insert(name, text);
            }
            None => {
                notes.theirs.insert(c.pointer.clone(), text);
            }
        }
    }
    let theirs_changes = change_lines(lang, &base_record, &theirs);
    let shown = Shown {
        record: merged,
        version: current.record_version,
        notes,
        error: tr(
            lang,
            "rec-conflict",
            &[("count", &conflicts.len().to_string())],
        ),
        conflict: Some((current.record_version, theirs_changes)),
    };
    render(state, s, id, shown, StatusCode::CONFLICT).await
}

pub(crate) fn change_lines(lang: Lang, a: &Value, b: &Value) -> Vec<ChangeLine> {
    diff::diff(a, b)
        .into_iter()
        .filter(|c| c.pointer != "/format")
        .map(|c| ChangeLine {
            what: fact_words(lang, &c.pointer),
            kind: tr(
                lang,
                match c.kind {
                    ChangeKind::Added => "sum-change-added",
                    ChangeKind::Removed => "sum-change-removed",
                    ChangeKind::Changed => "sum-change-changed",
                },
                &[],
            ),
            before: said_in(lang, c.pointer.split('/').nth(1), c.before.as_ref()),
            after: said_in(lang, c.pointer.split('/').nth(1), c.after.as_ref()),
        })
        .collect()
}

// ------------------------------------------------------------------ history

struct VersionLine {
    version: i64,
    who: String,
    at: String,
    how: String,
}

#[derive(Template)]
#[template(path = "record_history.html")]
struct HistoryPage {
    f: Frame,
    id: String,
    versions: Vec<VersionLine>,
    from: i64,
    to: i64,
    changes: Vec<ChangeLine>,
    error: String,
}

/// The use case that wrote a version, in words.
fn how(lang: Lang, use_case: &str) -> String {
    let key = match use_case {
        "case.create" => "rec-how-create",
        "case.record.update" => "rec-how-update",
        "case.record.import_fhir" => "rec-how-import",
        "case.record.import_fhir.identity_override" => "rec-how-import-override",
        _ => "rec-how-other",
    };
    tr(lang, key, &[])
}

/// `GET /cases/{id}/record/history?from=N&to=M`: every version (who, when, how) and what
/// changed between two of them, fact by fact.
pub async fn history(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = s.lang;
    let case = match open(&state, &s, &id, Action::ReadCase, "case.record.versions").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let rows = match state.store.record_versions(&id).await {
        Ok(v) => v,
        Err(e) => return s.fail(e.into()),
    };
    let mut versions = Vec::new();
    for v in &rows {
        let who = match state.store.user(&v.actor).await {
            Ok(Some(u)) => u.display_name.unwrap_or(u.email),
            _ => "cellpath".to_owned(),
        };
        versions.push(VersionLine {
            version: v.version,
            who,
            at: i18n::timestamp(lang, &v.at),
            how: match &v.note {
                Some(n) => format!("{} — {n}", how(lang, &v.use_case)),
                None => how(lang, &v.use_case),
            },
        });
    }
    let current = case.record_version;
    let (mut from, mut to) = ((current - 1).max(1), current);
    let mut error = String::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let n = v.trim_start_matches('v').parse::<i64>();
        match (k.as_ref(), n) {
            ("from", Ok(n)) => from = n,
            ("to", Ok(n)) => to = n,
            ("from" | "to", Err(_)) => {
                error = tr(lang, "rec-err-version", &[("value", &v)]);
            }
            _ => {}
        }
    }
    let load = async |n: i64| -> Option<Value> {
        let v = state.store.record_version(&id, n).await.ok().flatten()?;
        serde_json::from_str(&v.record).ok()
    };
    let mut changes = Vec::new();
    let mut status = StatusCode::OK;
    if error.is_empty() {
        match (load(from).await, load(to).await) {
            (Some(a), Some(b)) => changes = change_lines(lang, &a, &b),
            (a, _) => {
                let bad = if a.is_none() { from } else { to };
                error = tr(lang, "rec-err-version", &[("value", &bad.to_string())]);
            }
        }
    }
    if !error.is_empty() {
        status = StatusCode::BAD_REQUEST;
    }
    let f = s.frame(
        "rec-history",
        case_nav(lang, &id, s.actor().role, "nav-record"),
    );
    let body = HistoryPage {
        f,
        id,
        versions,
        from,
        to,
        changes,
        error,
    };
    if status == StatusCode::OK {
        page(&body)
    } else {
        page_with(status, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every choice the form offers is a value the native format reads, and has words in
    /// both languages.
    #[test]
    fn every_choice_is_the_format_s_and_has_words() {
        for p in Pick::ALL {
            for v in p.values() {
                for lang in [Lang::En, Lang::ZhCn] {
                    let w = p.words(v, lang);
                    assert!(!w.is_empty() && !w.contains('⟦'), "{p:?} {v} {lang:?}: {w}");
                }
            }
        }
        let base =
            cellpath_domain::native::from_toml("[patient]\nsex = \"female\"\n").expect("case");
        let mut v = serde_json::to_value(&base).expect("json");
        for sec in SECTIONS {
            for spec in sec.fields {
                let Kind::Pick(p) = spec.kind else { continue };
                // The whole set, through the format's parser, in the section it belongs to.
                for value in p.values() {
                    let mut item = Map::new();
                    set_at(&mut item, spec.key, Value::from(*value));
                    let filled = minimal(sec.key, item);
                    let one = match sec.many {
                        Many::One | Many::OptOne => filled,
                        Many::List | Many::OptList => Value::Array(vec![filled]),
                    };
                    v[sec.key] = one;
                    let text = v.to_string();
                    cellpath_domain::native::from_json(&text)
                        .unwrap_or_else(|e| panic!("{}.{} = {value}: {e}", sec.key, spec.key));
                    v = serde_json::to_value(&base).expect("json");
                }
            }
        }
    }

    /// The fields a fact of a section needs besides the one under test.
    fn minimal(section: &str, mut item: Map<String, Value>) -> Value {
        let mut need = |k: &str, v: Value| {
            if get_at(&Value::Object(item.clone()), k).is_none() {
                set_at(&mut item, k, v);
            }
        };
        match section {
            "her2" | "primary" | "patient" => {}
            "lines" => {
                need("drugs", Value::from(vec!["oxaliplatin"]));
                need("outcome", Value::from("progression"));
            }
            "labs" => {
                need("test", Value::from("platelets"));
                need("value", Value::from(100));
                need("unit", Value::from("10*9/L"));
            }
            "msi" => need("status", Value::from("mss")),
            "infections" => {
                need("marker", Value::from("hbsag"));
                need("result", Value::from("negative"));
            }
            "cldn18" => need("at_least.percent", Value::from(50)),
            "therapies" => {
                need("drug", Value::from("oxaliplatin"));
                need("start", Value::from("2025-01"));
            }
            _ => {}
        }
        Value::Object(item)
    }

    #[test]
    fn api_pointers_land_on_the_form_field_through_the_rows_sent() {
        let mut rows = RowMap::new();
        rows.insert(("cldn18", 0), 2);
        assert_eq!(
            field_of("/record/cldn18/0/staining/3+", Some(&rows)).as_deref(),
            Some("cldn18.2.staining.3+")
        );
        assert_eq!(
            field_of("/record/primary/diagnosed", None).as_deref(),
            Some("primary.diagnosed")
        );
        assert_eq!(
            field_of("/record/therapies/3/end", None).as_deref(),
            Some("therapies.3.end")
        );
        assert_eq!(field_of("/record/nothing", None), None);
        assert_eq!(
            fact_words(Lang::En, "/cldn18/1/staining/3+"),
            format!(
                "{} 2 · {}",
                tr(Lang::En, "rec-s-cldn18", &[]),
                tr(Lang::En, "rec-f-pct-3", &[])
            )
        );
    }
}
