//! FHIR R4 / mCODE import into the cellpath case record, as `docs/fhir-import.md` and
//! `shared/design/fhir-conventions.md` describe. Each resource is used, used with a flag, or
//! skipped with its reason, and the report says which. The input as a whole is refused, with
//! a message saying what it is and what is supported, when it is malformed JSON (with its
//! line and column), XML, an older FHIR version, a JSON array, ndjson, over the size limit,
//! or about several patients when none was named.

mod bulk;
mod codes;
mod export;
mod resources;

pub use bulk::{Bulk, BulkCase, BulkImport, BulkProblem};
pub use export::{FACT_EXTENSION, export};

use std::collections::HashMap;

use cellpath_domain::{Case, PartialDate, Patient};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

pub use codes::staining_from_text;

/// The input could not be imported: it is not FHIR R4 JSON, or it cannot be one case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "the input is {size} bytes, over the import limit of {limit} bytes; raise the limit \
         (--max-input-mb or CELLPATH_FHIR_MAX_INPUT_MB; on a server, `fhir_max_input_mb`) or \
         split the record"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "this is FHIR XML; cellpath reads FHIR R4 JSON (a Bundle or one resource) — convert it to JSON first"
    )]
    Xml,
    #[error(
        "this looks like FHIR {version}, not R4 ({evidence}); cellpath reads FHIR R4 (and R4B) \
         JSON — convert the record to R4 first"
    )]
    NotR4 {
        version: &'static str,
        evidence: String,
    },
    #[error(
        "this is a JSON array, not a FHIR resource; give a Bundle (`\"resourceType\": \
         \"Bundle\"`, `\"type\": \"collection\"`) or one resource — or, for a Bulk Data export \
         (one resource per line), use `cellpath case import-bulk`"
    )]
    Array,
    #[error(
        "this looks like Bulk Data ndjson (one resource per line, line {line} starts another); \
         import it with `cellpath case import-bulk`"
    )]
    Ndjson { line: usize },
    #[error("not a FHIR resource: {what}")]
    NotFhir { what: &'static str },
    #[error(
        "the record holds {} patients ({}); a case is one patient — name the one to import \
         (--patient REF, or `?patient=REF`)",
        patients.len(),
        patients.join(", ")
    )]
    SeveralPatients { patients: Vec<String> },
    #[error("no patient `{wanted}` in the record; it holds {}", if patients.is_empty() { "no patient reference".to_owned() } else { patients.join(", ") })]
    NoSuchPatient {
        wanted: String,
        patients: Vec<String>,
    },
}

/// The largest input read by default: an explicit limit, checked before reading.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// How to import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The patient to import when the record holds several: `Patient/id`, a `fullUrl`, or
    /// the bare id.
    pub patient: Option<String>,
    /// Inputs larger than this are refused before they are parsed.
    pub max_input_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            patient: None,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Facts were taken from it.
    Used,
    /// Facts were taken, with a caution (e.g. a preliminary result).
    Flagged,
    /// Nothing was taken; `detail` says why.
    Skipped,
}

/// What happened to one resource.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceReport {
    /// JSON pointer of the resource in the input, e.g. `/entry/3/resource`.
    pub pointer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub outcome: Outcome,
    /// The facts taken, or the reason for skipping.
    pub detail: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub resources: Vec<ResourceReport>,
    /// Notes on the whole import, such as how lines of therapy were derived.
    pub notes: Vec<String>,
}

impl ImportReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.resources
            .iter()
            .filter(|r| r.outcome == outcome)
            .count()
    }
}

/// The case and what the import did.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub case: Case,
    pub report: ImportReport,
    /// The patient's name as the bundle gives it (`Patient.name`), only for checking that
    /// the bundle is the case's patient before anything is written: the record keeps no name.
    pub subject_name: Option<String>,
}

/// Imports a FHIR R4 JSON bundle (or a single resource) with the default options.
pub fn import(bytes: &[u8]) -> Result<Import, ImportError> {
    import_with(bytes, &Options::default())
}

/// Imports a FHIR R4 JSON bundle (or a single resource).
///
/// Only the resources cellpath reads are parsed into a tree, one at a time; the rest are
/// reported from a shallow look, so memory stays near the size of the input.
pub fn import_with(bytes: &[u8], options: &Options) -> Result<Import, ImportError> {
    let size = bytes.len() as u64;
    if size > options.max_input_bytes {
        return Err(ImportError::TooLarge {
            size,
            limit: options.max_input_bytes,
        });
    }
    sniff(bytes)?;
    let mut walk = Walk::default();
    let top: &RawValue = serde_json::from_slice(bytes).map_err(|e| json_error(bytes, &e))?;
    let head: Head = serde_json::from_str(top.get()).map_err(|e| json_error(bytes, &e))?;
    if head.resource_type.is_none() {
        return Err(ImportError::NotFhir {
            what: "a JSON object without `resourceType`",
        });
    }
    walk.resource(top.get(), String::new(), None)?;
    finish(walk, options)
}

/// Imports an already-parsed JSON value (tests and tools that hold one).
pub fn import_value(value: &Value) -> Result<Import, ImportError> {
    let bytes = serde_json::to_vec(value).map_err(|e| ImportError::Json {
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    import(&bytes)
}

fn json_error(bytes: &[u8], e: &serde_json::Error) -> ImportError {
    // A first line that is a whole resource with more after it is ndjson, not a bundle.
    if e.classify() == serde_json::error::Category::Syntax
        && e.to_string().starts_with("trailing characters")
        && e.line() > 1
    {
        let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        if serde_json::from_slice::<&RawValue>(first).is_ok() {
            return ImportError::Ndjson { line: e.line() };
        }
    }
    ImportError::Json {
        line: e.line(),
        column: e.column(),
        message: cellpath_domain::native::json_message(e),
    }
}

/// Refuses what is plainly not FHIR R4 JSON before parsing: XML and arrays.
fn sniff(bytes: &[u8]) -> Result<(), ImportError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Err(ImportError::Xml),
        Some(b'[') => {
            // Malformed JSON keeps its own message, with its position.
            serde_json::from_slice::<serde::de::IgnoredAny>(body)
                .map_err(|e| json_error(body, &e))?;
            Err(ImportError::Array)
        }
        Some(b'{') => Ok(()),
        Some(_) => Err(ImportError::NotFhir {
            what: "a JSON scalar",
        }),
        None => Err(ImportError::Json {
            line: 1,
            column: 0,
            message: "the input is empty".into(),
        }),
    }
}

/// The fields of a resource read without building its tree.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    entry: Option<&'a RawValue>,
    #[serde(rename = "clinicalStatus", borrow, default)]
    clinical_status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    code: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(rename = "fullUrl", borrow, default)]
    full_url: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
}

fn raw_str(raw: Option<&RawValue>) -> Option<String> {
    raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
}

/// Resource types only older FHIR versions have.
const NOT_R4_TYPES: &[(&str, &str)] = &[
    ("MedicationOrder", "DSTU2"),
    ("DiagnosticOrder", "DSTU2"),
    ("DeviceUseRequest", "DSTU2"),
    ("Order", "DSTU2"),
    ("OrderResponse", "DSTU2"),
    ("ProcedureRequest", "STU3"),
    ("ReferralRequest", "STU3"),
    ("DeviceRequest-STU3", "STU3"),
];

/// The resource types cellpath reads; every other type is reported without being parsed.
const READ_TYPES: &[&str] = &[
    "Patient",
    "Condition",
    "Observation",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "Medication",
    "Specimen",
];

/// The resources of one input, as they are found.
#[derive(Default)]
pub(crate) struct Walk {
    pub(crate) entries: Vec<Entry>,
    skipped: Vec<ResourceReport>,
    /// Bulk mode: skipped resources are counted by type rather than reported one by one,
    /// and de-duplication is left to the caller.
    pub(crate) counting: bool,
    pub(crate) skipped_by_type: std::collections::BTreeMap<String, u64>,
    /// First entry (by index into `entries`) or pointer seen for each `fullUrl` / `Type/id`.
    seen: HashMap<String, Seen>,
    conflicts: Vec<(usize, String)>,
}

enum Seen {
    Read(usize),
    Reported(String, u64),
}

pub(crate) fn digest(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl Walk {
    fn skip(&mut self, r: ResourceReport) {
        if self.counting {
            *self.skipped_by_type.entry(r.resource_type).or_default() += 1;
        } else {
            self.skipped.push(r);
        }
    }

    /// One resource, given as its JSON text (validated here if it was not before).
    pub(crate) fn resource(
        &mut self,
        text: &str,
        pointer: String,
        full_url: Option<String>,
    ) -> Result<(), ImportError> {
        let head: Head = match serde_json::from_str(text) {
            Ok(h) => h,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Err(ImportError::Json {
                    line: e.line(),
                    column: e.column(),
                    message: cellpath_domain::native::json_message(&e),
                });
            }
            Err(_) => {
                self.skip(report_skip(
                    pointer,
                    full_url,
                    "(none)",
                    None,
                    "bundle entry whose resource is not a JSON object",
                ));
                return Ok(());
            }
        };
        let ty = raw_str(head.resource_type).unwrap_or_else(|| "(none)".to_owned());
        let id = raw_str(head.id);
        if let Some((_, version)) = NOT_R4_TYPES.iter().find(|(t, _)| *t == ty) {
            return Err(ImportError::NotR4 {
                version,
                evidence: format!("{ty} at {}", display_pointer(&pointer)),
            });
        }
        // STU3 coded Condition.clinicalStatus as a plain code; R4 as a CodeableConcept.
        if ty == "Condition"
            && head
                .clinical_status
                .is_some_and(|c| c.get().starts_with('"'))
        {
            return Err(ImportError::NotR4 {
                version: "STU3",
                evidence: format!(
                    "Condition.clinicalStatus is a code, not a CodeableConcept, at {}",
                    display_pointer(&pointer)
                ),
            });
        }
        if ty == "Bundle" {
            return self.bundle(head.entry, pointer);
        }
        let key = full_url
            .clone()
            .or_else(|| id.as_ref().map(|id| format!("{ty}/{id}")));
        let key = key.filter(|_| !self.counting);
        if let Some(key) = &key
            && let Some(first) = self.seen.get(key)
        {
            let (same, first_pointer, first_index) = match first {
                Seen::Read(i) => {
                    let e = &self.entries[*i];
                    let parsed: Option<Value> = serde_json::from_str(text).ok();
                    (
                        parsed.map(strip) == Some(e.res.clone()),
                        e.pointer.clone(),
                        Some(*i),
                    )
                }
                Seen::Reported(p, h) => (*h == digest(text), p.clone(), None),
            };
            let why = if same {
                format!(
                    "repeated entry: the same {key} as at {}, counted once",
                    display_pointer(&first_pointer)
                )
            } else {
                if let Some(i) = first_index {
                    self.conflicts.push((i, display_pointer(&pointer)));
                }
                format!(
                    "the same {key} as at {} but with different content: not used — the first \
                     is used and flagged; check the source",
                    display_pointer(&first_pointer)
                )
            };
            self.skip(report_skip(pointer, full_url, &ty, id, &why));
            return Ok(());
        }
        if !READ_TYPES.contains(&ty.as_str()) {
            if let Some(key) = key {
                self.seen
                    .insert(key, Seen::Reported(pointer.clone(), digest(text)));
            }
            let why = if ty == "(none)" {
                "a JSON object without `resourceType`".to_owned()
            } else {
                format!("{ty} is not used by cellpath")
            };
            self.skip(report_skip(pointer, full_url, &ty, id, &why));
            return Ok(());
        }
        // An observation nobody reads (vital signs, most labs) is judged by its code alone,
        // before its tree is built, and reported.
        if ty == "Observation"
            && let Some(code) = head.code
            && let Ok(code) = serde_json::from_str::<Value>(code.get())
            && let Some(why) = resources::unused_observation(&serde_json::json!({ "code": code }))
        {
            if let Some(key) = key {
                self.seen
                    .insert(key, Seen::Reported(pointer.clone(), digest(text)));
            }
            self.skip(report_skip(pointer, full_url, &ty, id, &why));
            return Ok(());
        }
        let res: Value = serde_json::from_str(text).map_err(|e| ImportError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let res = strip(res);
        // Observations nobody reads (vital signs, most labs) are reported and dropped now,
        // so that a large record does not hold them.
        if ty == "Observation"
            && let Some(why) = resources::unused_observation(&res)
        {
            if let Some(key) = key {
                self.seen
                    .insert(key, Seen::Reported(pointer.clone(), digest(text)));
            }
            self.skip(report_skip(pointer, full_url, &ty, id, &why));
            return Ok(());
        }
        if let Some(key) = key {
            self.seen.insert(key, Seen::Read(self.entries.len()));
        }
        self.entries.push(Entry {
            pointer,
            full_url,
            res,
        });
        Ok(())
    }

    fn bundle(&mut self, entry: Option<&RawValue>, pointer: String) -> Result<(), ImportError> {
        let Some(entry) = entry else {
            return Ok(());
        };
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(entry.get()) else {
            self.skip(report_skip(
                format!("{pointer}/entry"),
                None,
                "(none)",
                None,
                "`entry` is not an array",
            ));
            return Ok(());
        };
        for (i, item) in items.into_iter().enumerate() {
            let p = format!("{pointer}/entry/{i}");
            let raw: Option<RawEntry> = serde_json::from_str(item.get()).ok();
            let url = raw.as_ref().and_then(|r| raw_str(r.full_url));
            match raw.and_then(|r| r.resource) {
                Some(r) if r.get().starts_with('{') => {
                    self.resource(r.get(), format!("{p}/resource"), url)?;
                }
                _ => self.skip(report_skip(
                    p,
                    url,
                    "(none)",
                    None,
                    "bundle entry without a resource",
                )),
            }
        }
        Ok(())
    }
}

/// Drops the narrative, which cellpath never reads and which is often the largest part.
fn strip(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("text");
    }
    v
}

fn display_pointer(p: &str) -> String {
    if p.is_empty() {
        "/".to_owned()
    } else {
        p.to_owned()
    }
}

fn report_skip(
    pointer: String,
    full_url: Option<String>,
    ty: &str,
    id: Option<String>,
    why: &str,
) -> ResourceReport {
    ResourceReport {
        pointer,
        full_url,
        resource_type: ty.to_owned(),
        id,
        outcome: Outcome::Skipped,
        detail: vec![why.to_owned()],
    }
}

/// One resource read from the input.
pub(crate) struct Entry {
    pub pointer: String,
    pub full_url: Option<String>,
    pub res: Value,
}

impl Entry {
    pub fn resource_type(&self) -> &str {
        self.res
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
    }
    pub fn id(&self) -> Option<&str> {
        self.res.get("id").and_then(Value::as_str)
    }
    /// How references name this resource: `Type/id`, else its `fullUrl`, else its place.
    pub fn key(&self) -> String {
        match self.id() {
            Some(id) => format!("{}/{id}", self.resource_type()),
            None => self
                .full_url
                .clone()
                .unwrap_or_else(|| self.pointer.clone()),
        }
    }
}

/// Resolves references between the resources of one input.
pub(crate) struct Index<'a> {
    by_key: HashMap<String, usize>,
    pub entries: &'a [Entry],
}

impl<'a> Index<'a> {
    pub(crate) fn new(entries: &'a [Entry]) -> Self {
        let mut by_key = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(u) = &e.full_url {
                by_key.entry(u.clone()).or_insert(i);
            }
            if let Some(id) = e.id() {
                by_key
                    .entry(format!("{}/{id}", e.resource_type()))
                    .or_insert(i);
            }
        }
        Self { by_key, entries }
    }

    /// The entry a reference points to: `urn:uuid:…`, `Type/id`, an absolute URL
    /// (matched by its `Type/id` tail, ignoring `_history`), or `#id` inside `from`.
    pub fn resolve(&self, from: &'a Value, reference: &str) -> Option<&'a Value> {
        if let Some(local) = reference.strip_prefix('#') {
            return from
                .get("contained")
                .and_then(Value::as_array)?
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(local));
        }
        self.position(reference).map(|i| &self.entries[i].res)
    }

    /// The index of the entry a (non-local) reference points to.
    pub fn position(&self, reference: &str) -> Option<usize> {
        if let Some(i) = self.by_key.get(reference) {
            return Some(*i);
        }
        let tail = reference_tail(reference)?;
        self.by_key.get(&tail).copied()
    }

    pub fn index_of(&self, res: &Value) -> Option<usize> {
        self.entries.iter().position(|e| std::ptr::eq(&e.res, res))
    }
}

/// `Type/id` at the end of a reference, without `_history`.
pub(crate) fn reference_tail(reference: &str) -> Option<String> {
    let path = reference.split("/_history/").next().unwrap_or(reference);
    let mut parts = path.rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    (!ty.is_empty() && !id.is_empty()).then(|| format!("{ty}/{id}"))
}

/// The patient each resource is about, by the subject (or patient) it names, whether or
/// not that Patient resource is in the input.
pub(crate) fn subjects(index: &Index) -> Vec<Option<String>> {
    index
        .entries
        .iter()
        .map(|e| {
            if e.resource_type() == "Patient" {
                return Some(e.key());
            }
            let reference = ["subject", "patient"].iter().find_map(|k| {
                e.res
                    .get(*k)
                    .and_then(|r| r.get("reference"))
                    .and_then(Value::as_str)
            })?;
            if reference.starts_with('#') {
                return None;
            }
            match index.position(reference) {
                Some(i) if index.entries[i].resource_type() == "Patient" => {
                    Some(index.entries[i].key())
                }
                Some(_) => None,
                None => match reference_tail(reference) {
                    Some(tail) if tail.starts_with("Patient/") => Some(tail),
                    Some(_) => None,
                    None => Some(reference.to_owned()),
                },
            }
        })
        .collect()
}

fn finish(walk: Walk, options: &Options) -> Result<Import, ImportError> {
    let Walk {
        entries,
        skipped,
        conflicts,
        ..
    } = walk;
    build(entries, skipped, &conflicts, options)
}

/// The case from the resources read, for the patient `options` names or the only one.
pub(crate) fn build(
    entries: Vec<Entry>,
    skipped: Vec<ResourceReport>,
    conflicts: &[(usize, String)],
    options: &Options,
) -> Result<Import, ImportError> {
    let mut report = ImportReport::default();
    let mut case = Case::new(Patient::default());
    if entries.is_empty() && skipped.is_empty() {
        report.notes.push("the bundle has no entries".into());
    }
    let index = Index::new(&entries);
    let subjects = subjects(&index);
    let chosen = choose_patient(&index, &subjects, options)?;
    resources::extract(
        &index,
        &subjects,
        chosen.as_deref(),
        conflicts,
        &mut case,
        &mut report,
    );
    report.resources.extend(skipped);
    report.resources.sort_by_key(|r| pointer_key(&r.pointer));
    let subject_name = index
        .entries
        .iter()
        .zip(&subjects)
        .find(|(e, s)| {
            e.resource_type() == "Patient"
                && (chosen.is_none() || s.as_deref() == chosen.as_deref())
        })
        .and_then(|(e, _)| patient_name(&e.res));
    Ok(Import {
        case,
        report,
        subject_name,
    })
}

/// The name a Patient resource gives, official first: its `text`, else given names then the
/// family name.
fn patient_name(res: &Value) -> Option<String> {
    let names = res.get("name")?.as_array()?;
    let pick = names
        .iter()
        .find(|n| n.get("use").and_then(Value::as_str) == Some("official"))
        .or_else(|| names.first())?;
    if let Some(t) = pick
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
    {
        return Some(t.trim().to_owned());
    }
    let mut parts: Vec<&str> = pick
        .get("given")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(f) = pick.get("family").and_then(Value::as_str) {
        parts.push(f);
    }
    let name = parts.join(" ");
    (!name.trim().is_empty()).then(|| name.trim().to_owned())
}

/// Every patient the resources name, in the order first seen.
fn patients_named(subjects: &[Option<String>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in subjects.iter().flatten() {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

fn choose_patient(
    index: &Index,
    subjects: &[Option<String>],
    options: &Options,
) -> Result<Option<String>, ImportError> {
    let patients = patients_named(subjects);
    match &options.patient {
        Some(wanted) => {
            let full_url_of = |p: &String| {
                index
                    .entries
                    .iter()
                    .find(|e| e.resource_type() == "Patient" && e.key() == *p)
                    .and_then(|e| e.full_url.clone())
            };
            patients
                .iter()
                .find(|p| {
                    *p == wanted
                        || p.strip_prefix("Patient/") == Some(wanted.as_str())
                        || full_url_of(p).as_deref() == Some(wanted.as_str())
                        || reference_tail(wanted).as_deref() == Some(p.as_str())
                })
                .cloned()
                .map(Some)
                .ok_or_else(|| ImportError::NoSuchPatient {
                    wanted: wanted.clone(),
                    patients: patients.clone(),
                })
        }
        None if patients.len() > 1 => Err(ImportError::SeveralPatients { patients }),
        None => Ok(patients.into_iter().next()),
    }
}

/// Orders pointers numerically (`/entry/10` after `/entry/9`).
fn pointer_key(p: &str) -> Vec<(u64, String)> {
    p.split('/')
        .map(|s| (s.parse::<u64>().unwrap_or(u64::MAX), s.to_owned()))
        .collect()
}

/// A date from the first of `paths` (dotted, e.g. `effectivePeriod.start`) that holds one.
pub(crate) fn date_at(v: &Value, paths: &[&str]) -> Option<PartialDate> {
    paths.iter().find_map(|p| {
        let mut cur = v;
        for key in p.split('.') {
            cur = cur.get(key)?;
        }
        cur.as_str().and_then(|s| PartialDate::parse(s).ok())
    })
}
