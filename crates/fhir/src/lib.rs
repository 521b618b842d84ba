//! FHIR R4 / mCODE import into the cellpath case record, as `docs/fhir-import.md` and
//! `shared/design/fhir-conventions.md` describe. An import never fails on valid JSON: each
//! resource is used, used with a flag, or skipped with its reason, and the report says which.
//! Only malformed JSON is an error, with its line and column.

mod codes;
mod resources;

use std::collections::HashMap;

use cellpath_domain::{Case, PartialDate, Patient};
use serde::Serialize;
use serde_json::Value;

pub use codes::staining_from_text;

/// The bundle could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
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
}

/// Imports a FHIR R4 JSON bundle (or a single resource).
pub fn import(bytes: &[u8]) -> Result<Import, ImportError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ImportError::Json {
        line: e.line(),
        column: e.column(),
        message: cellpath_domain::native::json_message(&e),
    })?;
    Ok(import_value(&value))
}

/// One resource found in the input.
pub(crate) struct Entry<'a> {
    pub pointer: String,
    pub full_url: Option<&'a str>,
    pub res: &'a Value,
}

impl Entry<'_> {
    pub fn resource_type(&self) -> &str {
        self.res
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
    }
    pub fn id(&self) -> Option<&str> {
        self.res.get("id").and_then(Value::as_str)
    }
}

fn collect<'a>(
    v: &'a Value,
    pointer: String,
    full_url: Option<&'a str>,
    out: &mut Vec<Entry<'a>>,
    skipped: &mut Vec<ResourceReport>,
) {
    let is_bundle = v.get("resourceType").and_then(Value::as_str) == Some("Bundle");
    if !is_bundle {
        out.push(Entry {
            pointer,
            full_url,
            res: v,
        });
        return;
    }
    let entries = v.get("entry").and_then(Value::as_array);
    for (i, e) in entries.into_iter().flatten().enumerate() {
        let p = format!("{pointer}/entry/{i}");
        let url = e.get("fullUrl").and_then(Value::as_str);
        match e.get("resource") {
            Some(r) if r.is_object() => collect(r, format!("{p}/resource"), url, out, skipped),
            _ => skipped.push(ResourceReport {
                pointer: p,
                full_url: url.map(str::to_owned),
                resource_type: "(none)".into(),
                id: None,
                outcome: Outcome::Skipped,
                detail: vec!["bundle entry without a resource".into()],
            }),
        }
    }
}

/// Resolves references between the resources of one input.
pub(crate) struct Index<'a> {
    by_key: HashMap<String, usize>,
    pub entries: &'a [Entry<'a>],
}

impl<'a> Index<'a> {
    fn new(entries: &'a [Entry<'a>]) -> Self {
        let mut by_key = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(u) = e.full_url {
                by_key.entry(u.to_owned()).or_insert(i);
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
        if let Some(i) = self.by_key.get(reference) {
            return Some(self.entries[*i].res);
        }
        let path = reference.split("/_history/").next().unwrap_or(reference);
        let mut parts = path.rsplit('/');
        let id = parts.next()?;
        let ty = parts.next()?;
        self.by_key
            .get(&format!("{ty}/{id}"))
            .map(|i| self.entries[*i].res)
    }

    pub fn index_of(&self, res: &Value) -> Option<usize> {
        self.entries.iter().position(|e| std::ptr::eq(e.res, res))
    }
}

/// Imports an already-parsed JSON value.
pub fn import_value(value: &Value) -> Import {
    let mut report = ImportReport::default();
    let mut case = Case::new(Patient {
        birth_date: None,
        sex: None,
        source: None,
    });
    if value.get("resourceType").and_then(Value::as_str).is_none() {
        let what = match value {
            Value::Array(_) => "a JSON array",
            Value::Object(_) => "a JSON object without `resourceType`",
            _ => "a JSON scalar",
        };
        report.resources.push(ResourceReport {
            pointer: String::new(),
            full_url: None,
            resource_type: "(none)".into(),
            id: None,
            outcome: Outcome::Skipped,
            detail: vec![format!("not a FHIR resource: {what}")],
        });
        return Import { case, report };
    }
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    collect(value, String::new(), None, &mut entries, &mut skipped);
    if entries.is_empty() && skipped.is_empty() {
        report.notes.push("the bundle has no entries".into());
    }
    let index = Index::new(&entries);
    resources::extract(&index, &mut case, &mut report);
    report.resources.extend(skipped);
    report.resources.sort_by_key(|r| pointer_key(&r.pointer));
    Import { case, report }
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
