//! ClinicalTrials.gov studies, read into one model from the forms the registry publishes:
//! API v2 JSON — one study, a JSON array of studies (the site's "Download → JSON"), or a page
//! of `/api/v2/studies` (`studies` and `nextPageToken`) — and the legacy XML record
//! (`<clinical_study>`). A record that cannot be read is reported with its file and JSON
//! pointer (or XML element) and the rest are read; the classic v1 API's `FullStudiesResponse`
//! is named as such and refused. What a record leaves out stays unknown (`None`, empty).
//!
//! Pure: no IO beyond what the caller hands in.

pub mod diff;
pub mod draft;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A ClinicalTrials.gov identifier: `NCT` and eight digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct NctId(String);

impl From<NctId> for String {
    fn from(id: NctId) -> Self {
        id.0
    }
}

impl TryFrom<String> for NctId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("`{s}` is not an NCT number"))
    }
}

impl NctId {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let digits = s.strip_prefix("NCT")?;
        (digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NctId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registry word as a key: letters and digits only, lower case (`ACTIVE_NOT_RECRUITING`
/// and `Active, not recruiting` are the same key).
fn key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A registry date as stored: `YYYY-MM-DD` or `YYYY-MM`, digits and hyphens only — a date
/// with anything else in it (a newline, say) would be written into catalogue drafts.
pub fn is_registry_date(d: &str) -> bool {
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    match b.len() {
        7 => digits(0..4) && b[4] == b'-' && digits(5..7),
        10 => digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10),
        _ => false,
    }
}

/// The study's overall recruitment status (v2 `overallStatus`, XML `overall_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    NotYetRecruiting,
    Recruiting,
    EnrollingByInvitation,
    ActiveNotRecruiting,
    Suspended,
    Terminated,
    Completed,
    Withdrawn,
    Unknown,
    /// Expanded access records.
    Available,
    NoLongerAvailable,
    TemporarilyNotAvailable,
    ApprovedForMarketing,
    Withheld,
}

impl Status {
    /// Reads the v2 enum (`RECRUITING`) or the XML words (`Active, not recruiting`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match key(s).as_str() {
            "notyetrecruiting" => Self::NotYetRecruiting,
            "recruiting" => Self::Recruiting,
            "enrollingbyinvitation" => Self::EnrollingByInvitation,
            "activenotrecruiting" => Self::ActiveNotRecruiting,
            "suspended" => Self::Suspended,
            "terminated" => Self::Terminated,
            "completed" => Self::Completed,
            "withdrawn" => Self::Withdrawn,
            "unknown" | "unknownstatus" => Self::Unknown,
            "available" => Self::Available,
            "nolongeravailable" => Self::NoLongerAvailable,
            "temporarilynotavailable" => Self::TemporarilyNotAvailable,
            "approvedformarketing" => Self::ApprovedForMarketing,
            "withheld" => Self::Withheld,
            _ => return None,
        })
    }
}

/// A trial phase (a study may name two, as "Phase 1/Phase 2").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    EarlyPhase1,
    Phase1,
    Phase2,
    Phase3,
    Phase4,
    /// Not applicable (studies without phases, such as device or behavioural studies).
    NotApplicable,
}

impl Phase {
    /// Reads the v2 enum (`PHASE2`, `EARLY_PHASE1`, `NA`) or the XML words (`Phase 2`,
    /// `Early Phase 1`, `N/A`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match key(s).as_str() {
            "earlyphase1" => Self::EarlyPhase1,
            "phase1" => Self::Phase1,
            "phase2" => Self::Phase2,
            "phase3" => Self::Phase3,
            "phase4" => Self::Phase4,
            "na" => Self::NotApplicable,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervention {
    /// As the registry names it: `DRUG`, `Biological`, …
    pub kind: Option<String>,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub facility: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    /// The site's own recruitment status, when given.
    pub status: Option<Status>,
}

/// Which form a study was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    ApiV2Json,
    LegacyXml,
}

/// One study as cellpath keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    pub nct_id: NctId,
    pub title: String,
    pub official_title: Option<String>,
    pub status: Option<Status>,
    pub phases: Vec<Phase>,
    pub study_type: Option<String>,
    pub conditions: Vec<String>,
    pub keywords: Vec<String>,
    pub interventions: Vec<Intervention>,
    /// The eligibility criteria as the registry gives them (one text).
    pub eligibility: Option<String>,
    pub sex: Option<String>,
    pub minimum_age: Option<String>,
    pub maximum_age: Option<String>,
    pub locations: Vec<Location>,
    pub sponsor: Option<String>,
    /// The last update posted, as `YYYY-MM-DD` (or `YYYY-MM` when the day is not given).
    pub last_update: Option<String>,
    pub form: Form,
}

/// A record that could not be read: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", if pointer.is_empty() { String::new() } else { format!(" at {pointer}") })]
pub struct RecordError {
    pub file: String,
    /// A JSON pointer (`/studies/3/protocolSection/statusModule/overallStatus`) or, in XML,
    /// the element's path (`/clinical_study/overall_status`); empty for the whole file.
    pub pointer: String,
    pub message: String,
}

/// What one file gave: the studies read and the records refused.
#[derive(Debug, Default)]
pub struct Read {
    pub studies: Vec<Study>,
    pub errors: Vec<RecordError>,
    /// A page's `nextPageToken`, when the file is an API page with more to come.
    pub next_page_token: Option<String>,
}

/// Reads one file's bytes; `name` is how errors name the file. The form is told from the
/// content (JSON or XML), not from the name.
pub fn read(name: &str, bytes: &[u8]) -> Read {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    match start.map(|i| bytes[i]) {
        Some(b'<') => read_xml(name, bytes),
        Some(b'{' | b'[') => read_json(name, bytes),
        _ => one_error(
            name,
            "",
            "neither JSON nor XML: not a ClinicalTrials.gov record",
        ),
    }
}

fn one_error(name: &str, pointer: &str, message: &str) -> Read {
    Read {
        errors: vec![RecordError {
            file: name.to_owned(),
            pointer: pointer.to_owned(),
            message: message.to_owned(),
        }],
        ..Read::default()
    }
}

fn read_json(name: &str, bytes: &[u8]) -> Read {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return one_error(
                name,
                "",
                &format!(
                    "not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            );
        }
    };
    let mut out = Read::default();
    let mut each = |at: String, v: &Value| match study_from_json(v, &at) {
        Ok(s) => out.studies.push(s),
        Err((pointer, message)) => out.errors.push(RecordError {
            file: name.to_owned(),
            pointer,
            message,
        }),
    };
    match &value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                each(format!("/{i}"), v);
            }
        }
        Value::Object(o) if o.contains_key("FullStudiesResponse") => {
            return one_error(
                name,
                "/FullStudiesResponse",
                "the classic v1 API's FullStudiesResponse, retired by ClinicalTrials.gov: export the study as API v2 JSON",
            );
        }
        Value::Object(o) if o.get("studies").is_some_and(Value::is_array) => {
            if let Some(Value::Array(items)) = o.get("studies") {
                for (i, v) in items.iter().enumerate() {
                    each(format!("/studies/{i}"), v);
                }
            }
            out.next_page_token = o
                .get("nextPageToken")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        Value::Object(_) => each(String::new(), &value),
        _ => {
            return one_error(
                name,
                "",
                "a JSON value that is not a study, a list or a page",
            );
        }
    }
    out
}

type JsonResult<T> = Result<T, (String, String)>;

fn study_from_json(v: &Value, at: &str) -> JsonResult<Study> {
    let p = v.get("protocolSection").ok_or_else(|| {
        (
            at.to_owned(),
            "no protocolSection: not an API v2 study".to_owned(),
        )
    })?;
    let here = |path: &str| format!("{at}/protocolSection/{path}");
    let text = |path: &str| -> Option<String> {
        p.pointer(&format!("/{path}"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let list = |path: &str| -> Vec<String> {
        p.pointer(&format!("/{path}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let id_path = "identificationModule/nctId";
    let nct_id = match text(id_path) {
        Some(s) => NctId::parse(&s)
            .ok_or_else(|| (here(id_path), format!("`{s}` is not an NCT number")))?,
        None => return Err((here(id_path), "no NCT number".to_owned())),
    };
    let title = text("identificationModule/briefTitle")
        .or_else(|| text("identificationModule/officialTitle"))
        .unwrap_or_default();
    let status_path = "statusModule/overallStatus";
    let status = match text(status_path) {
        Some(s) => Some(
            Status::parse(&s)
                .ok_or_else(|| (here(status_path), format!("unknown status `{s}`")))?,
        ),
        None => None,
    };
    let update_path = "statusModule/lastUpdatePostDateStruct/date";
    let last_update = match text(update_path) {
        Some(d) if is_registry_date(&d) => Some(d),
        Some(d) => {
            return Err((
                here(update_path),
                format!(
                    "`{}` is not a date (YYYY-MM-DD or YYYY-MM)",
                    d.escape_debug()
                ),
            ));
        }
        None => None,
    };
    let mut phases = Vec::new();
    for (i, s) in list("designModule/phases").iter().enumerate() {
        phases.push(Phase::parse(s).ok_or_else(|| {
            (
                here(&format!("designModule/phases/{i}")),
                format!("unknown phase `{s}`"),
            )
        })?);
    }
    let interventions = p
        .pointer("/armsInterventionsModule/interventions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some(Intervention {
                        kind: x.get("type").and_then(Value::as_str).map(str::to_owned),
                        name: x.get("name").and_then(Value::as_str)?.trim().to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut locations = Vec::new();
    if let Some(a) = p
        .pointer("/contactsLocationsModule/locations")
        .and_then(Value::as_array)
    {
        for (i, x) in a.iter().enumerate() {
            let s = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_owned);
            let status = match s("status") {
                Some(v) => Some(Status::parse(&v).ok_or_else(|| {
                    (
                        here(&format!("contactsLocationsModule/locations/{i}/status")),
                        format!("unknown site status `{v}`"),
                    )
                })?),
                None => None,
            };
            locations.push(Location {
                facility: s("facility"),
                city: s("city"),
                country: s("country"),
                status,
            });
        }
    }
    Ok(Study {
        nct_id,
        title,
        official_title: text("identificationModule/officialTitle"),
        status,
        phases,
        study_type: text("designModule/studyType"),
        conditions: list("conditionsModule/conditions"),
        keywords: list("conditionsModule/keywords"),
        interventions,
        eligibility: text("eligibilityModule/eligibilityCriteria"),
        sex: text("eligibilityModule/sex"),
        minimum_age: text("eligibilityModule/minimumAge"),
        maximum_age: text("eligibilityModule/maximumAge"),
        locations,
        sponsor: text("sponsorCollaboratorsModule/leadSponsor/name"),
        last_update,
        form: Form::ApiV2Json,
    })
}

fn read_xml(name: &str, bytes: &[u8]) -> Read {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return one_error(name, "", "not UTF-8 text");
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(d) => d,
        Err(e) => return one_error(name, "", &format!("not well-formed XML: {e}")),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "clinical_study" {
        return one_error(
            name,
            &format!("/{}", root.tag_name().name()),
            "not a legacy ClinicalTrials.gov record (<clinical_study>)",
        );
    }
    match study_from_xml(root) {
        Ok(s) => Read {
            studies: vec![s],
            ..Read::default()
        },
        Err((pointer, message)) => one_error(name, &pointer, &message),
    }
}

fn study_from_xml(root: roxmltree::Node<'_, '_>) -> JsonResult<Study> {
    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
        n.children().find(|c| c.has_tag_name(tag))
    }
    fn text_of(n: roxmltree::Node<'_, '_>) -> Option<String> {
        // A textblock's lines carry the site's own indentation: keep the words, not it.
        let t: String = n
            .descendants()
            .filter(|d| d.is_text())
            .filter_map(|d| d.text())
            .collect();
        let lines: Vec<&str> = t.lines().map(str::trim).collect();
        let joined = lines.join("\n").trim().to_owned();
        (!joined.is_empty()).then_some(joined)
    }
    let at = |path: &[&str]| -> Option<String> {
        let mut n = root;
        for tag in path {
            n = child(n, tag)?;
        }
        text_of(n)
    };
    let all = |tag: &str| -> Vec<roxmltree::Node<'_, '_>> {
        root.children().filter(|c| c.has_tag_name(tag)).collect()
    };
    let nct = at(&["id_info", "nct_id"]).ok_or_else(|| {
        (
            "/clinical_study/id_info/nct_id".to_owned(),
            "no NCT number".to_owned(),
        )
    })?;
    let nct_id = NctId::parse(&nct).ok_or_else(|| {
        (
            "/clinical_study/id_info/nct_id".to_owned(),
            format!("`{nct}` is not an NCT number"),
        )
    })?;
    let status = match at(&["overall_status"]) {
        Some(s) => Some(Status::parse(&s).ok_or_else(|| {
            (
                "/clinical_study/overall_status".to_owned(),
                format!("unknown status `{s}`"),
            )
        })?),
        None => None,
    };
    let mut phases = Vec::new();
    if let Some(p) = at(&["phase"]) {
        // "Phase 1/Phase 2" names two; "N/A" is one.
        let parts: Vec<&str> = if Phase::parse(&p).is_some() {
            vec![p.as_str()]
        } else {
            p.split('/').collect()
        };
        for part in parts {
            phases.push(Phase::parse(part).ok_or_else(|| {
                (
                    "/clinical_study/phase".to_owned(),
                    format!("unknown phase `{p}`"),
                )
            })?);
        }
    }
    let words = |tag: &str| all(tag).into_iter().filter_map(text_of).collect::<Vec<_>>();
    let interventions = all("intervention")
        .into_iter()
        .filter_map(|n| {
            Some(Intervention {
                kind: child(n, "intervention_type").and_then(text_of),
                name: child(n, "intervention_name").and_then(text_of)?,
            })
        })
        .collect();
    let locations = all("location")
        .into_iter()
        .map(|n| {
            let facility = child(n, "facility");
            let address = facility.and_then(|f| child(f, "address"));
            Location {
                facility: facility.and_then(|f| child(f, "name")).and_then(text_of),
                city: address.and_then(|a| child(a, "city")).and_then(text_of),
                country: address.and_then(|a| child(a, "country")).and_then(text_of),
                status: child(n, "status")
                    .and_then(text_of)
                    .and_then(|s| Status::parse(&s)),
            }
        })
        .collect();
    Ok(Study {
        nct_id,
        title: at(&["brief_title"])
            .or_else(|| at(&["official_title"]))
            .unwrap_or_default(),
        official_title: at(&["official_title"]),
        status,
        phases,
        study_type: at(&["study_type"]),
        conditions: words("condition"),
        keywords: words("keyword"),
        interventions,
        eligibility: at(&["eligibility", "criteria"]),
        sex: at(&["eligibility", "gender"]),
        minimum_age: at(&["eligibility", "minimum_age"]),
        maximum_age: at(&["eligibility", "maximum_age"]),
        locations,
        sponsor: at(&["sponsors", "lead_sponsor", "agency"]),
        // Legacy records write dates in words; one that does not read as a date is left
        // out rather than kept as text.
        last_update: at(&["last_update_posted"])
            .map(|d| iso_date(&d).unwrap_or(d))
            .filter(|d| is_registry_date(d)),
        form: Form::LegacyXml,
    })
}

/// The legacy XML's dates (`May 10, 2022`, `May 2022`) as `2022-05-10`, `2022-05`.
fn iso_date(s: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let cleaned = s.replace(',', " ");
    let parts: Vec<&str> = cleaned.split_whitespace().collect();
    let month = MONTHS
        .iter()
        .position(|m| parts.first().is_some_and(|p| p.eq_ignore_ascii_case(m)))?
        + 1;
    match parts.as_slice() {
        [_, day, year] => {
            let (d, y): (u32, u32) = (day.parse().ok()?, year.parse().ok()?);
            Some(format!("{y:04}-{month:02}-{d:02}"))
        }
        [_, year] => Some(format!("{:04}-{month:02}", year.parse::<u32>().ok()?)),
        _ => None,
    }
}
