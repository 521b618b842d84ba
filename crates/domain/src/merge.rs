//! An imported record merged into the one the team keeps, fact by fact, and the identity
//! check that comes first.
//!
//! An import adds the facts the record does not have and updates the ones it has — the same
//! fact being the same result on the same date (the same clone too, where one is named), the
//! same drug started on the same day, the same event on the same date, the same lab on the
//! same day — and leaves every fact the bundle does not mention as it is. Each added or
//! updated fact is a row the coordinator can leave out. Replacing the whole record is a
//! separate, explicit choice (`Mode::Replace`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Case, PartialDate};

/// How an import writes the record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Add and update facts; keep what the bundle does not mention.
    #[default]
    Merge,
    /// The bundle's record replaces the record (facts it does not have are removed).
    Replace,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "merge" => Some(Self::Merge),
            "replace" => Some(Self::Replace),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => "merge",
            Self::Replace => "replace",
        }
    }
}

/// What happens to one fact of the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    Adds,
    Updates,
}

/// One fact of the bundle that would change the record, as a row the coordinator can leave
/// out: `key` names it (`cldn18.0`: the bundle's first CLDN18 result).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub key: String,
    /// The record's section (`cldn18`, `therapies`, `patient`…).
    pub section: &'static str,
    pub effect: Effect,
    /// The fact as the record holds it now (for an update).
    pub before: Option<Value>,
    /// The fact as the bundle gives it.
    pub after: Value,
}

/// What a merge would do, in counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub adds: usize,
    pub updates: usize,
    pub removes: usize,
}

/// The record a merge makes, and its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub case: Case,
    pub rows: Vec<Row>,
    pub summary: Summary,
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn same_day(a: Option<PartialDate>, b: Option<PartialDate>) -> bool {
    a.is_some() && a == b
}

fn same_text(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        // A clone named on one side only does not make two results different.
        _ => true,
    }
}

/// The existing fact with what the incoming one says on top: a field the bundle leaves
/// empty or "unknown" never erases what the record knows (a typed `setting = "advanced"`
/// stays), and the source changes only when a value does. With `fill_only` the bundle only
/// fills what the record lacks (an event the team described in its own words).
fn overlay<T: Clone + Serialize + DeserializeOwned>(cur: &T, inc: &T, fill_only: bool) -> T {
    let (Value::Object(mut out), Value::Object(new)) = (json(cur), json(inc)) else {
        return inc.clone();
    };
    let mut changed = false;
    for (k, v) in &new {
        let says_nothing = v.is_null() || v.as_str() == Some("unknown");
        let known = out
            .get(k)
            .is_some_and(|c| !c.is_null() && c.as_str() != Some("unknown"));
        if k == "source" || says_nothing || out.get(k) == Some(v) || (fill_only && known) {
            continue;
        }
        out.insert(k.clone(), v.clone());
        changed = true;
    }
    if changed && let Some(src) = new.get("source").filter(|v| !v.is_null()) {
        out.insert("source".to_owned(), src.clone());
    }
    serde_json::from_value(Value::Object(out)).unwrap_or_else(|_| inc.clone())
}

/// Merges one list: each incoming item matching an existing one (by `same`) updates it when
/// it adds or changes something (see [`overlay`]), the others are added; every row key is
/// `section.i` for the incoming index.
fn merge_list<T: Clone + PartialEq + Serialize + DeserializeOwned>(
    section: &'static str,
    existing: &mut Vec<T>,
    incoming: &[T],
    fill_only: bool,
    same: impl Fn(&T, &T) -> bool,
    take: &dyn Fn(&str) -> bool,
    rows: &mut Vec<Row>,
) {
    for (i, item) in incoming.iter().enumerate() {
        let key = format!("{section}.{i}");
        match existing.iter().position(|e| same(e, item)) {
            Some(at) => {
                let next = overlay(&existing[at], item, fill_only);
                if next == existing[at] {
                    continue;
                }
                rows.push(Row {
                    key: key.clone(),
                    section,
                    effect: Effect::Updates,
                    before: Some(json(&existing[at])),
                    after: json(&next),
                });
                if take(&key) {
                    existing[at] = next;
                }
            }
            None => {
                rows.push(Row {
                    key: key.clone(),
                    section,
                    effect: Effect::Adds,
                    before: None,
                    after: json(item),
                });
                if take(&key) {
                    existing.push(item.clone());
                }
            }
        }
    }
}

/// Merges `incoming` into `existing`, taking the rows `take` accepts (all, for a preview).
pub fn merge(existing: &Case, incoming: &Case, take: &dyn Fn(&str) -> bool) -> Merged {
    let mut case = existing.clone();
    let mut rows: Vec<Row> = Vec::new();

    // The patient's own facts: what the bundle gives updates the record.
    let p = &incoming.patient;
    let mut patient = case.patient.clone();
    if p.birth_date.is_some() && p.birth_date != patient.birth_date {
        patient.birth_date = p.birth_date;
    }
    if p.sex.is_some() && p.sex != patient.sex {
        patient.sex = p.sex;
    }
    if p.deceased && !patient.deceased {
        patient.deceased = true;
        patient.deceased_date = p.deceased_date;
    }
    if patient != case.patient {
        if patient.source.is_none() {
            patient.source.clone_from(&p.source);
        }
        let key = "patient.0".to_owned();
        rows.push(Row {
            key: key.clone(),
            section: "patient",
            effect: Effect::Updates,
            before: Some(json(&case.patient)),
            after: json(&patient),
        });
        if take(&key) {
            case.patient = patient;
        }
    }

    // The primary cancer: one fact; what the bundle says of it updates it.
    if let Some(inc) = &incoming.primary {
        let key = "primary.0".to_owned();
        match &case.primary {
            None => {
                rows.push(Row {
                    key: key.clone(),
                    section: "primary",
                    effect: Effect::Adds,
                    before: None,
                    after: json(inc),
                });
                if take(&key) {
                    case.primary = Some(inc.clone());
                }
            }
            Some(cur) => {
                let mut next = cur.clone();
                macro_rules! take_field {
                    ($($f:ident),*) => {$(
                        if inc.$f.is_some() { next.$f = inc.$f.clone(); }
                    )*};
                }
                take_field!(
                    site,
                    site_text,
                    histology,
                    histology_text,
                    stage,
                    extent,
                    diagnosed,
                    status,
                    source
                );
                if next != *cur {
                    rows.push(Row {
                        key: key.clone(),
                        section: "primary",
                        effect: Effect::Updates,
                        before: Some(json(cur)),
                        after: json(&next),
                    });
                    if take(&key) {
                        case.primary = Some(next);
                    }
                }
            }
        }
    }

    // Metastases by site.
    if let Some(inc) = &incoming.metastases {
        let mut list = case.metastases.clone().unwrap_or_default();
        merge_list(
            "metastases",
            &mut list,
            inc,
            false,
            |a, b| a.site.trim().eq_ignore_ascii_case(b.site.trim()),
            take,
            &mut rows,
        );
        if case.metastases.is_some() || !list.is_empty() || inc.is_empty() {
            case.metastases = Some(list);
        }
    }
    merge_list(
        "cldn18",
        &mut case.cldn18,
        &incoming.cldn18,
        false,
        |a, b| {
            same_day(a.specimen_date, b.specimen_date)
                && same_text(a.clone.as_deref(), b.clone.as_deref())
        },
        take,
        &mut rows,
    );
    merge_list(
        "her2",
        &mut case.her2,
        &incoming.her2,
        false,
        |a, b| same_day(a.date, b.date),
        take,
        &mut rows,
    );
    merge_list(
        "pdl1",
        &mut case.pdl1,
        &incoming.pdl1,
        false,
        |a, b| same_day(a.date, b.date) && same_text(a.clone.as_deref(), b.clone.as_deref()),
        take,
        &mut rows,
    );
    merge_list(
        "msi",
        &mut case.msi,
        &incoming.msi,
        false,
        |a, b| same_day(a.date, b.date),
        take,
        &mut rows,
    );
    if let Some(inc) = &incoming.therapies {
        let mut list = case.therapies.clone().unwrap_or_default();
        merge_list(
            "therapies",
            &mut list,
            inc,
            false,
            |a, b| a.start == b.start && a.drug.trim().eq_ignore_ascii_case(b.drug.trim()),
            take,
            &mut rows,
        );
        if case.therapies.is_some() || !list.is_empty() || inc.is_empty() {
            case.therapies = Some(list);
        }
    }
    merge_list(
        "progressions",
        &mut case.progressions,
        &incoming.progressions,
        true,
        |a, b| a.date == b.date,
        take,
        &mut rows,
    );
    merge_list(
        "ecog",
        &mut case.ecog,
        &incoming.ecog,
        false,
        |a, b| same_day(a.date, b.date),
        take,
        &mut rows,
    );
    merge_list(
        "labs",
        &mut case.labs,
        &incoming.labs,
        false,
        |a, b| a.test == b.test && a.date.is_some() && a.date == b.date,
        take,
        &mut rows,
    );
    merge_list(
        "infections",
        &mut case.infections,
        &incoming.infections,
        false,
        |a, b| a.marker == b.marker && a.date.is_some() && a.date == b.date,
        take,
        &mut rows,
    );
    merge_list(
        "pregnancy",
        &mut case.pregnancy,
        &incoming.pregnancy,
        false,
        |a, b| a.date.is_some() && a.date == b.date,
        take,
        &mut rows,
    );
    merge_list(
        "lvef",
        &mut case.lvef,
        &incoming.lvef,
        false,
        |a, b| a.date.is_some() && a.date == b.date,
        take,
        &mut rows,
    );
    // Confirmed lines are the coordinator's: an import never replaces them (it derives its
    // own for the coordinator to confirm).

    let summary = Summary {
        adds: rows.iter().filter(|r| r.effect == Effect::Adds).count(),
        updates: rows.iter().filter(|r| r.effect == Effect::Updates).count(),
        removes: 0,
    };
    Merged {
        case,
        rows,
        summary,
    }
}

/// What of the patient's identity differs between the record and a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityField {
    BirthDate,
    Sex,
    Name,
    PrimarySite,
}

/// One difference: the record's value and the bundle's, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub field: IdentityField,
    pub record: String,
    pub bundle: String,
}

/// Whether two partial dates can be the same day: every part both give agrees.
fn dates_agree(a: PartialDate, b: PartialDate) -> bool {
    let (x, y) = (a.to_string(), b.to_string());
    let n = x.len().min(y.len());
    x[..n] == y[..n]
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF)
}

/// A name's words, lower-cased, without punctuation; Han characters one word each.
fn name_words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() && !is_han(c) {
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if is_han(c) {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The differences between the case's patient and a bundle's, before anything is imported:
/// birth date, sex, name (where both have one) and primary site. Empty when nothing
/// contradicts; a field one side lacks is not a difference.
pub fn identity(
    record: &Case,
    record_name: Option<&str>,
    bundle: &Case,
    bundle_name: Option<&str>,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (record.patient.birth_date, bundle.patient.birth_date)
        && !dates_agree(a, b)
    {
        out.push(Mismatch {
            field: IdentityField::BirthDate,
            record: a.to_string(),
            bundle: b.to_string(),
        });
    }
    if let (Some(a), Some(b)) = (record.patient.sex, bundle.patient.sex)
        && a != b
    {
        out.push(Mismatch {
            field: IdentityField::Sex,
            record: json(&a).as_str().unwrap_or_default().to_owned(),
            bundle: json(&b).as_str().unwrap_or_default().to_owned(),
        });
    }
    if let (Some(a), Some(b)) = (record_name, bundle_name) {
        let (wa, wb) = (name_words(a), name_words(b));
        if !wa.is_empty() && !wb.is_empty() && !wa.iter().any(|w| wb.contains(w)) {
            out.push(Mismatch {
                field: IdentityField::Name,
                record: a.to_owned(),
                bundle: b.to_owned(),
            });
        }
    }
    if let (Some(a), Some(b)) = (
        record.primary.as_ref().and_then(|p| p.site),
        bundle.primary.as_ref().and_then(|p| p.site),
    ) && a != b
    {
        out.push(Mismatch {
            field: IdentityField::PrimarySite,
            record: a.name().to_owned(),
            bundle: b.name().to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_never_erases_what_the_record_knows() {
        let cur = json!({"drug": "oxaliplatin", "start": "2024-02-01", "setting": "advanced", "source": "letter"});
        let inc = json!({"drug": "oxaliplatin", "start": "2024-02-01", "setting": "unknown", "reason_stopped": "progression", "source": "FHIR"});
        let out = overlay(&cur, &inc, false);
        assert_eq!(out["setting"], "advanced");
        assert_eq!(out["reason_stopped"], "progression");
        assert_eq!(out["source"], "FHIR");
        // Nothing new: the record's fact, its source too.
        let same = json!({"drug": "oxaliplatin", "start": "2024-02-01", "setting": "unknown", "source": "FHIR"});
        assert_eq!(overlay(&cur, &same, false), cur);
        // An event in the team's words only gets what it lacked.
        let typed = json!({"date": "2024-07-20", "basis": "CT: new peritoneal nodules"});
        let coded = json!({"date": "2024-07-20", "basis": "cancer disease status: worsened"});
        assert_eq!(overlay(&typed, &coded, true), typed);
    }
}
