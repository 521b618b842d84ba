//! FHIR Bulk Data ndjson: one resource per line, usually one file per resource type, many
//! patients. The files are streamed line by line; only the resources cellpath reads are
//! kept (as compact text), and each patient becomes one case.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde::Serialize;
use serde_json::Value;

use crate::{Entry, Import, ImportError, Options, Walk, build, reference_tail};

/// One patient's case from a Bulk Data export.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkCase {
    /// `Patient/id`, as the export's references name the patient.
    pub patient: String,
    pub import: Import,
}

/// A line that could not be read; the rest of the files are imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BulkProblem {
    pub file: String,
    pub line: u64,
    pub message: String,
}

/// What a Bulk Data import made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BulkImport {
    pub cases: Vec<BulkCase>,
    pub bytes: u64,
    pub resources: u64,
    /// Resources read into a case, by type.
    pub kept_by_type: BTreeMap<String, u64>,
    /// Resources not used (types cellpath does not read, observations it does not use), by type.
    pub skipped_by_type: BTreeMap<String, u64>,
    /// Repeated resources (same type and id), counted once.
    pub repeated: u64,
    pub problems: Vec<BulkProblem>,
}

/// A resource kept for later, as text: far smaller than its tree.
struct Kept {
    pointer: String,
    key: String,
    subject: Option<String>,
    text: Box<str>,
}

/// Streams ndjson files into cases, one per patient.
pub struct Bulk {
    options: Options,
    walk: Walk,
    kept: Vec<Kept>,
    seen: HashMap<String, u64>,
    out: BulkImport,
}

/// Longest line accepted: one resource.
const MAX_LINE: usize = 64 * 1024 * 1024;

impl Bulk {
    pub fn new(options: Options) -> Self {
        Self {
            options,
            walk: Walk {
                counting: true,
                ..Walk::default()
            },
            kept: Vec::new(),
            seen: HashMap::new(),
            out: BulkImport::default(),
        }
    }

    /// Reads one ndjson file (`name` is used in the report).
    pub fn read(&mut self, name: &str, mut reader: impl BufRead) -> std::io::Result<()> {
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            number += 1;
            self.out.bytes += n as u64;
            if self.out.bytes > self.options.max_input_bytes {
                self.problem(
                    name,
                    number,
                    ImportError::TooLarge {
                        size: self.out.bytes,
                        limit: self.options.max_input_bytes,
                    }
                    .to_string(),
                );
                return Ok(());
            }
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            if text.len() > MAX_LINE {
                self.problem(name, number, format!("a line over {MAX_LINE} bytes"));
                continue;
            }
            self.line(name, number, text);
        }
        Ok(())
    }

    fn problem(&mut self, file: &str, line: u64, message: String) {
        // A broken file should not fill memory with its problems.
        if self.out.problems.len() < 1000 {
            self.out.problems.push(BulkProblem {
                file: file.to_owned(),
                line,
                message,
            });
        }
    }

    fn line(&mut self, name: &str, number: u64, text: &[u8]) {
        let Ok(text) = std::str::from_utf8(text) else {
            self.problem(name, number, "not UTF-8 text".into());
            return;
        };
        if !text.starts_with('{') {
            self.problem(name, number, "not a JSON object (a resource)".into());
            return;
        }
        self.out.resources += 1;
        let pointer = format!("{name}:{number}");
        if let Err(e) = self.walk.resource(text, pointer, None) {
            let message = match e {
                ImportError::Json {
                    column, message, ..
                } => format!("column {column}: {message}"),
                other => other.to_string(),
            };
            self.problem(name, number, message);
            return;
        }
        for e in std::mem::take(&mut self.walk.entries) {
            self.keep(e);
        }
    }

    fn keep(&mut self, e: Entry) {
        let key = e.key();
        let text: Box<str> = serde_json::to_string(&e.res)
            .unwrap_or_default()
            .into_boxed_str();
        let digest = crate::digest(&text);
        if let Some(first) = self.seen.get(&key) {
            self.out.repeated += 1;
            if *first != digest {
                let (file, line) = e.pointer.rsplit_once(':').unwrap_or((&e.pointer, "0"));
                self.problem(
                    file,
                    line.parse().unwrap_or(0),
                    format!("{key} repeated with different content: the first is used"),
                );
            }
            return;
        }
        self.seen.insert(key.clone(), digest);
        *self
            .out
            .kept_by_type
            .entry(e.resource_type().to_owned())
            .or_default() += 1;
        let subject = if e.resource_type() == "Patient" {
            Some(key.clone())
        } else {
            ["subject", "patient"]
                .iter()
                .find_map(|k| {
                    e.res
                        .get(*k)
                        .and_then(|r| r.get("reference"))
                        .and_then(Value::as_str)
                })
                .and_then(reference_tail)
                .filter(|t| t.starts_with("Patient/"))
        };
        self.kept.push(Kept {
            pointer: e.pointer,
            key,
            subject,
            text,
        });
    }

    /// One case per patient, in the order patients were first seen.
    pub fn finish(mut self) -> BulkImport {
        self.out.skipped_by_type = std::mem::take(&mut self.walk.skipped_by_type);
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, Vec<Kept>> = HashMap::new();
        let mut shared: HashMap<String, Kept> = HashMap::new();
        for k in std::mem::take(&mut self.kept) {
            match &k.subject {
                Some(s) => {
                    if !groups.contains_key(s) {
                        order.push(s.clone());
                    }
                    groups.entry(s.clone()).or_default().push(k);
                }
                None => {
                    shared.insert(k.key.clone(), k);
                }
            }
        }
        for patient in order {
            let Some(group) = groups.remove(&patient) else {
                continue;
            };
            let mut entries: Vec<Entry> = group.into_iter().filter_map(to_entry).collect();
            // Resources without a patient (Medication) go with each patient that refers to them.
            let wanted: Vec<String> = entries
                .iter()
                .flat_map(|e| references(&e.res))
                .filter_map(|r| reference_tail(&r))
                .filter(|r| shared.contains_key(r))
                .collect();
            for key in dedup(wanted) {
                if let Some(k) = shared.get(&key)
                    && let Some(e) = to_entry_ref(k)
                {
                    entries.push(e);
                }
            }
            let options = Options {
                patient: Some(patient.clone()),
                max_input_bytes: self.options.max_input_bytes,
            };
            match build(entries, Vec::new(), &[], &options) {
                Ok(import) => self.out.cases.push(BulkCase { patient, import }),
                Err(e) => self.problem(&patient, 0, e.to_string()),
            }
        }
        self.out
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn to_entry(k: Kept) -> Option<Entry> {
    to_entry_ref(&k)
}

fn to_entry_ref(k: &Kept) -> Option<Entry> {
    Some(Entry {
        pointer: k.pointer.clone(),
        full_url: None,
        res: serde_json::from_str(&k.text).ok()?,
    })
}

/// The references a resource makes to resources that carry no patient.
fn references(res: &Value) -> Vec<String> {
    ["medicationReference", "specimen"]
        .iter()
        .filter_map(|k| res.get(*k)?.get("reference")?.as_str().map(str::to_owned))
        .collect()
}
