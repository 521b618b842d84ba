//! What each kind of resource contributes to the case.

use cellpath_domain::{
    CancerSite, CancerStatus, Case, Cldn18Result, Ecog, EcogResult, Extent, Her2Result, Her2Status,
    Intensity, IshResult, LabResult, LabTest, Metastasis, MsiResult, MsiStatus, PartialDate,
    Pdl1Result, PerIntensity, Percent, PrimaryCancer, ProgressionEvent, Sex, Staining, StopReason,
    SystemicTherapy, TherapySetting, Unit,
    drugs::{CodedDrug, DrugCodeSystem, recognise_anticancer, recognise_code},
};
use serde_json::Value;

use crate::codes::{self, SNOMED, codings, concept_label, concept_text, has_code, loinc_code};
use crate::export::Fact;
use crate::{Entry, ImportReport, Index, Outcome, ResourceReport, date_at};

const MCODE_HISTOLOGY: &str = "mcode-histology-morphology-behavior";
const MCODE_SECONDARY: &str = "mcode-secondary-cancer-condition";
const MCODE_MEDICATION: &str = "mcode-cancer-related-medication";

const EFFECTIVE: &[&str] = &[
    "effectiveDateTime",
    "effectivePeriod.start",
    "effectiveInstant",
    "issued",
];

/// The result of looking at one resource.
enum Took {
    Used(Vec<String>),
    Flagged(Vec<String>),
    Skipped(String),
}

fn skip(reason: impl Into<String>) -> Took {
    Took::Skipped(reason.into())
}

/// The elements of an array field, none when absent or not an array.
fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// The text of every CodeableConcept in an array field, joined.
fn texts(v: &Value, key: &str) -> String {
    items(v, key)
        .map(concept_text)
        .collect::<Vec<_>>()
        .join(" ")
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn source_of(e: &Entry) -> String {
    let id = e
        .full_url
        .clone()
        .or_else(|| e.id().map(|id| format!("{}/{id}", e.resource_type())))
        .unwrap_or_else(|| e.pointer.clone());
    format!("FHIR {} {id}", e.resource_type())
}

fn profiles(v: &Value) -> impl Iterator<Item = &str> {
    v.get("meta")
        .and_then(|m| m.get("profile"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn has_profile(v: &Value, fragment: &str) -> bool {
    profiles(v).any(|p| p.contains(fragment))
}

/// Facts gathered across resources before they are put into the case.
#[derive(Default)]
struct Gathered {
    primaries: Vec<Primary>,
    stages: Vec<(Option<PartialDate>, String, usize)>,
    m1: Option<usize>,
    her2: Vec<(Option<PartialDate>, Her2Part, bool, String)>,
}

/// A primary cancer condition as read, before one is chosen as the case's.
struct Primary {
    entry: usize,
    cancer: PrimaryCancer,
    /// Resolved (FHIR `resolved`, or an `abatement[x]` without remission): history.
    resolved: bool,
}

/// A therapy as read, with the condition it names as its reason, if any.
struct Therapy {
    entry: usize,
    therapy: SystemicTherapy,
    reason: Reason,
}

enum Reason {
    None,
    /// Written by cellpath's export: the therapy says itself which cancer it treated.
    Fixed,
    /// `reasonReference` to a condition of this input.
    Condition(usize),
    /// `reasonCode` naming a cancer site.
    Site(CancerSite, String),
}

enum Her2Part {
    Ihc(Intensity),
    Ish(IshResult),
    Interpretation(Her2Status),
}

/// Takes a fact exactly as a cellpath export wrote it.
fn apply_fact(
    i: usize,
    fact: Fact,
    case: &mut Case,
    g: &mut Gathered,
    therapies: &mut Vec<Therapy>,
) -> Took {
    let detail = match fact {
        Fact::Patient {
            patient,
            label,
            lines,
            metastases_recorded_none,
            no_therapy,
        } => {
            case.patient = patient;
            case.label = label;
            case.lines = lines;
            if metastases_recorded_none.is_some() {
                case.metastases.get_or_insert_with(Vec::new);
            }
            if no_therapy {
                case.therapies.get_or_insert_with(Vec::new);
            }
            "patient".to_owned()
        }
        Fact::Primary(p) => {
            let d = format!(
                "primary cancer: {}",
                p.site.map(CancerSite::name).unwrap_or("site not given")
            );
            g.primaries.push(Primary {
                entry: i,
                cancer: p,
                resolved: false,
            });
            d
        }
        Fact::Metastasis(m) => {
            let d = format!("metastasis: {}", m.site);
            case.metastases.get_or_insert_with(Vec::new).push(m);
            d
        }
        Fact::Cldn18(r) => {
            let d = format!("CLDN18.2 {}", r.staining.describe());
            case.cldn18.push(r);
            d
        }
        Fact::Her2(r) => {
            case.her2.push(r);
            "HER2".to_owned()
        }
        Fact::Pdl1(r) => {
            let d = format!("PD-L1 CPS {}", r.cps);
            case.pdl1.push(r);
            d
        }
        Fact::Msi(r) => {
            let d = format!("MSI/MMR {:?}", r.status);
            case.msi.push(r);
            d
        }
        Fact::Therapy(t) => {
            let d = format!("{} from {}", t.drug, t.start);
            therapies.push(Therapy {
                entry: i,
                therapy: t,
                reason: Reason::Fixed,
            });
            d
        }
        Fact::Progression(p) => {
            let d = format!("progression on {}", p.date);
            case.progressions.push(p);
            d
        }
        Fact::Ecog(r) => {
            let d = format!("ECOG {}", r.score.score());
            case.ecog.push(r);
            d
        }
        Fact::Lab(l) => {
            let d = format!("{} {} {}", l.test.name(), l.value, l.unit);
            case.labs.push(l);
            d
        }
    };
    Took::Used(vec![format!("{detail} (exactly as exported by cellpath)")])
}

/// The first `modifierExtension` of a resource, whose meaning cellpath cannot know: by the
/// FHIR rules a resource with a modifier the reader does not understand must not be used.
fn modifier_extension(res: &Value) -> Option<String> {
    let first = items(res, "modifierExtension").next()?;
    Some(str_at(first, "url").unwrap_or("(no url)").to_owned())
}

pub(crate) fn extract(
    index: &Index,
    subjects: &[Option<String>],
    chosen_patient: Option<&str>,
    conflicts: &[(usize, String)],
    case: &mut Case,
    report: &mut ImportReport,
) {
    let entries = index.entries;
    let mut outcomes: Vec<Option<Took>> = entries.iter().map(|_| None).collect();
    let mut g = Gathered::default();
    let mut therapies: Vec<Therapy> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let res = &e.res;
        let mine = match (&subjects[i], chosen_patient) {
            (Some(s), Some(c)) => s == c,
            _ => true,
        };
        let took = if !mine {
            skip(format!(
                "belongs to another patient ({})",
                subjects[i].as_deref().unwrap_or_default()
            ))
        } else if let Some(url) = modifier_extension(res) {
            skip(format!(
                "has a modifierExtension cellpath does not understand ({url}); by the FHIR \
                 rules the resource cannot be used safely"
            ))
        } else if str_at(res, "status") == Some("entered-in-error") {
            skip("status entered-in-error")
        } else if let Some(fact) = crate::export::fact_of(res) {
            match fact {
                Ok(fact) => apply_fact(i, fact, case, &mut g, &mut therapies),
                Err(why) => skip(why),
            }
        } else {
            match e.resource_type() {
                "Patient" => read_patient(e, case),
                "Condition" => condition(i, e, case, &mut g),
                "Observation" => observation(index, i, e, case, &mut g),
                "MedicationStatement" | "MedicationRequest" | "MedicationAdministration" => {
                    medication(index, i, e, &mut therapies)
                }
                "Specimen" | "Medication" => skip("read only where another resource refers to it"),
                other => skip(format!("{other} is not used by cellpath")),
            }
        };
        outcomes[i] = Some(took);
    }

    // The most recently diagnosed primary cancer that is not resolved is the case's; a
    // resolved one is history; the others are reported.
    let chosen = g
        .primaries
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.resolved)
        .max_by_key(|(k, p)| (p.cancer.diagnosed.map(PartialDate::latest), *k))
        .map(|(k, _)| k);
    for (k, p) in g.primaries.iter().enumerate() {
        let name = p.cancer.site_text.as_deref().unwrap_or("unnamed");
        if p.resolved {
            outcomes[p.entry] = Some(skip(format!(
                "a resolved cancer ({name}): history, not the cancer under evaluation"
            )));
        } else if Some(k) != chosen {
            outcomes[p.entry] = Some(skip(format!(
                "another primary cancer ({name}); the case holds the most recently diagnosed one"
            )));
        }
    }
    if g.primaries.iter().all(|p| p.resolved) && !g.primaries.is_empty() {
        report.notes.push(
            "every primary cancer in the record is resolved: no cancer under evaluation was \
             imported; if one is active, correct the record"
                .into(),
        );
    }
    let chosen_entry = chosen.map(|k| g.primaries[k].entry);
    let chosen_site = chosen.and_then(|k| g.primaries[k].cancer.site);
    if let Some(k) = chosen {
        let p = g.primaries.swap_remove(k).cancer;
        if p.status == Some(CancerStatus::Remission) {
            report.notes.push(
                "the cancer under evaluation is recorded as in remission; the case shows it so"
                    .into(),
            );
        }
        case.primary = Some(p);
    }
    let primary_entries: Vec<usize> = g.primaries.iter().map(|p| p.entry).collect();
    if let Some((_, stage, _)) = g
        .stages
        .iter()
        .max_by_key(|(d, _, i)| (d.map(PartialDate::latest), *i))
    {
        let p = case.primary.get_or_insert_default();
        if p.stage.is_none() {
            p.stage = Some(stage.clone());
        }
    }
    if let Some(i) = g.m1 {
        let p = case.primary.get_or_insert_default();
        if p.extent.is_none() {
            p.extent = Some(Extent::Metastatic);
            report.notes.push(format!(
                "distant metastasis category M1 ({}) sets the extent to metastatic",
                entries[i].pointer
            ));
        }
    }
    let merged = merge_her2(std::mem::take(&mut g.her2));
    case.her2.extend(merged);

    // Tie each therapy to its cancer: one given for another primary is shown, not counted.
    let mut unlinked = 0;
    let mut out = Vec::with_capacity(therapies.len());
    for mut t in therapies {
        if t.therapy.unidentified
            && let Reason::Condition(c) = t.reason
            && Some(c) != chosen_entry
            && !primary_entries.contains(&c)
        {
            outcomes[t.entry] = Some(skip(format!(
                "not a recognised anticancer drug ({}), given for a condition that is not a cancer",
                t.therapy.drug
            )));
            continue;
        }
        let other = match &t.reason {
            Reason::Fixed => t.therapy.other_cancer.clone(),
            Reason::Condition(c) if Some(*c) == chosen_entry => None,
            Reason::Condition(c) if primary_entries.contains(c) => Some(
                entries[*c]
                    .res
                    .get("code")
                    .map(concept_label)
                    .unwrap_or_else(|| "another cancer".into()),
            ),
            Reason::Site(site, text) if chosen_site.is_some_and(|s| s != *site) => {
                Some(text.clone())
            }
            Reason::None if !primary_entries.is_empty() && chosen.is_some() => {
                unlinked += 1;
                outcomes[t.entry] = match outcomes[t.entry].take() {
                    Some(Took::Used(mut d) | Took::Flagged(mut d)) => {
                        d.push(
                            "several cancers in the record and no reason given: confirm \
                             which cancer this therapy treated"
                                .into(),
                        );
                        Some(Took::Flagged(d))
                    }
                    other => other,
                };
                None
            }
            _ => None,
        };
        if let Some(name) = &other {
            let note = format!("for another cancer ({name}): shown, not a line of this cancer");
            outcomes[t.entry] = match outcomes[t.entry].take() {
                Some(Took::Used(mut d)) => {
                    d.push(note);
                    Some(Took::Used(d))
                }
                Some(Took::Flagged(mut d)) => {
                    d.push(note);
                    Some(Took::Flagged(d))
                }
                other => other,
            };
        }
        t.therapy.other_cancer = other;
        out.push(t.therapy);
    }
    if unlinked > 0 {
        report.notes.push(format!(
            "{unlinked} therapies name no cancer while the record holds several: the \
             coordinator must confirm which cancer each treated"
        ));
    }
    if !out.is_empty() {
        case.therapies = Some(out);
        report.notes.push(
            "Lines of therapy are derived from the medication resources by the documented rule \
             (docs/lines-of-therapy.md) and must be confirmed by the coordinator."
                .into(),
        );
    }
    if case.patient.deceased {
        report.notes.insert(
            0,
            "THE RECORD SAYS THE PATIENT HAS DIED: no programme can be eligible; if this is \
             wrong, correct the record"
                .into(),
        );
    }
    for (first, duplicate) in conflicts {
        outcomes[*first] = match outcomes[*first].take() {
            Some(Took::Used(mut d) | Took::Flagged(mut d)) => {
                d.push(format!(
                    "another entry with the same identity ({duplicate}) differs: check the source"
                ));
                Some(Took::Flagged(d))
            }
            other => other,
        };
        report.notes.push(format!(
            "{} and {duplicate} have the same identity but different content: the first is used",
            entries[*first].pointer
        ));
    }

    for (e, took) in entries.iter().zip(outcomes) {
        let (outcome, detail) = match took.unwrap_or_else(|| skip("not examined")) {
            Took::Used(d) => (Outcome::Used, d),
            Took::Flagged(d) => (Outcome::Flagged, d),
            Took::Skipped(r) => (Outcome::Skipped, vec![r]),
        };
        report.resources.push(ResourceReport {
            pointer: e.pointer.clone(),
            full_url: e.full_url.clone(),
            resource_type: e.resource_type().to_owned(),
            id: e.id().map(str::to_owned),
            outcome,
            detail,
        });
    }
}

fn read_patient(e: &Entry, case: &mut Case) -> Took {
    let mut facts = Vec::new();
    match str_at(&e.res, "birthDate").map(PartialDate::parse) {
        Some(Ok(d)) => {
            case.patient.birth_date = Some(d);
            facts.push(format!("birth date {d}"));
        }
        Some(Err(err)) => facts.push(format!("birth date not used: {err}")),
        None => facts.push("no birth date".into()),
    }
    case.patient.sex = match str_at(&e.res, "gender") {
        Some("female") => Some(Sex::Female),
        Some("male") => Some(Sex::Male),
        Some("other") => Some(Sex::Other),
        Some("unknown") => Some(Sex::Unknown),
        _ => None,
    };
    if let Some(s) = case.patient.sex {
        facts.push(format!("sex {s:?}").to_lowercase());
    }
    let deceased_date = date_at(&e.res, &["deceasedDateTime"]);
    if e.res.get("deceasedBoolean").and_then(Value::as_bool) == Some(true)
        || deceased_date.is_some()
    {
        case.patient.deceased = true;
        case.patient.deceased_date = deceased_date;
        facts.insert(
            0,
            format!(
                "DECEASED{}",
                deceased_date.map(|d| format!(" ({d})")).unwrap_or_default()
            ),
        );
    }
    case.patient.source = Some(source_of(e));
    Took::Used(facts)
}

/// The clinical status of a condition: `None` when resolved (history).
fn clinical_status(res: &Value) -> Result<Option<CancerStatus>, ()> {
    let code = res
        .get("clinicalStatus")
        .and_then(|c| codings(c).map(|(_, c, _)| c).find(|c| !c.is_empty()));
    let abated = res
        .as_object()
        .is_some_and(|o| o.keys().any(|k| k.starts_with("abatement")))
        && res.get("abatementBoolean").and_then(Value::as_bool) != Some(false);
    Ok(match code {
        Some("resolved") => return Err(()),
        Some("remission" | "inactive") => Some(CancerStatus::Remission),
        Some("recurrence" | "relapse") => Some(CancerStatus::Recurrence),
        Some("active") => Some(CancerStatus::Active),
        _ if abated => return Err(()),
        _ => None,
    })
}

fn condition(i: usize, e: &Entry, case: &mut Case, g: &mut Gathered) -> Took {
    let res = &e.res;
    if let Some(vs) = res.get("verificationStatus") {
        let refuted = codings(vs).any(|(_, c, _)| c == "refuted" || c == "entered-in-error");
        if refuted {
            return skip("verification status refuted or entered-in-error");
        }
    }
    let Some(code) = res.get("code") else {
        return skip("condition without a code");
    };
    let text = concept_text(code);
    let icd = codes::icd10(code);
    let icd_cancer = icd.as_deref().and_then(codes::site_from_icd10).is_some();
    // An mCODE profile says what the condition is; the text only when there is none.
    let primary_profile = has_profile(res, "mcode-primary-cancer-condition");
    let secondary = has_profile(res, MCODE_SECONDARY)
        || (!primary_profile
            && (icd.as_deref().is_some_and(codes::icd10_is_secondary)
                || (codes::text_is_cancer(&text) && codes::text_is_secondary(&text))));
    if !(icd_cancer || secondary || primary_profile || codes::text_is_cancer(&text)) {
        return skip(format!("not a cancer condition ({})", text.trim()));
    }
    if !icd_cancer && !primary_profile && !secondary && codes::text_is_not_invasive(&text) {
        return skip(format!("not an invasive cancer ({})", text.trim()));
    }
    let onset = date_at(
        res,
        &[
            "onsetDateTime",
            "onsetPeriod.start",
            "recordedDate",
            "assertedDate",
        ],
    );
    let body_site = texts(res, "bodySite");
    if secondary {
        let site = match items(res, "bodySite").next() {
            Some(b) => concept_label(b),
            None => concept_label(code),
        };
        let site = if site.is_empty() {
            "unspecified site".to_owned()
        } else {
            site
        };
        case.metastases
            .get_or_insert_with(Vec::new)
            .push(Metastasis {
                site: site.clone(),
                date: onset,
                source: Some(source_of(e)),
            });
        if let Some(d) = onset {
            case.progressions.push(ProgressionEvent {
                date: d,
                basis: Some(format!("metastasis ({site})")),
                source: Some(source_of(e)),
            });
        }
        return Took::Used(vec![format!(
            "metastasis: {site}{}",
            onset.map(|d| format!(", {d}")).unwrap_or_default()
        )]);
    }
    let site = icd
        .as_deref()
        .and_then(codes::site_from_icd10)
        .or_else(|| codes::site_from_text(&text))
        .or_else(|| codes::site_from_text(&body_site))
        .unwrap_or(CancerSite::Other);
    let mut histology = None;
    let mut histology_text = None;
    for ext in items(res, "extension") {
        if str_at(ext, "url").is_some_and(|u| u.ends_with(MCODE_HISTOLOGY))
            && let Some(v) = ext.get("valueCodeableConcept")
        {
            let t = concept_text(v);
            histology = codings(v)
                .find_map(|(_, c, _)| {
                    c.contains('/')
                        .then(|| codes::histology_from_icdo3(c))
                        .flatten()
                })
                .or_else(|| codes::histology_from_text(&t));
            histology_text = Some(concept_label(v));
        }
    }
    if histology.is_none() {
        histology = codes::histology_from_text(&text);
        if histology.is_some() {
            histology_text = Some(concept_label(code));
        }
    }
    let stage = items(res, "stage")
        .filter_map(|s| s.get("summary"))
        .find_map(|c| codes::stage_from_text(&concept_label(c)));
    let status = clinical_status(res);
    let note = items(res, "note")
        .filter_map(|n| str_at(n, "text"))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let extent = (text.contains("unresectable") || note.contains("unresectable"))
        .then_some(Extent::LocallyAdvancedUnresectable);
    let mut facts = vec![format!(
        "primary cancer: {}{}",
        site.name(),
        histology
            .map(|h| format!(", {}", h.name()))
            .unwrap_or_default()
    )];
    if let Some(s) = &stage {
        facts.push(format!("stage {s}"));
    }
    if extent.is_some() {
        facts.push("unresectable".into());
    }
    if histology.is_none() {
        facts.push("histology not given".into());
    }
    match status {
        Err(()) => facts.push("resolved".into()),
        Ok(Some(CancerStatus::Remission)) => facts.push("in remission".into()),
        Ok(Some(CancerStatus::Recurrence)) => facts.push("recurrence".into()),
        _ => {}
    }
    g.primaries.push(Primary {
        entry: i,
        resolved: status.is_err(),
        cancer: PrimaryCancer {
            site: Some(site),
            site_text: Some(concept_label(code)),
            histology,
            histology_text,
            stage,
            extent,
            diagnosed: onset,
            status: status.ok().flatten(),
            source: Some(source_of(e)),
        },
    });
    Took::Used(facts)
}

fn value_text(v: &Value) -> Option<String> {
    if let Some(s) = str_at(v, "valueString") {
        return Some(s.to_owned());
    }
    let cc = v.get("valueCodeableConcept")?;
    let label = concept_label(cc);
    // A result coded only as a SNOMED CT qualifier value has no words to read: add them.
    Some(match codes::qualifier_word(cc) {
        Some(word) if !label.to_lowercase().contains(word) => format!("{label} ({word})"),
        _ => label,
    })
}

fn value_number(v: &Value) -> Option<f64> {
    v.get("valueInteger")
        .and_then(Value::as_f64)
        .or_else(|| {
            v.get("valueQuantity")
                .and_then(|q| q.get("value"))
                .and_then(Value::as_f64)
        })
        .or_else(|| v.get("valueDecimal").and_then(Value::as_f64))
}

fn value_unit(v: &Value) -> Option<&str> {
    let q = v.get("valueQuantity")?;
    str_at(q, "code").or_else(|| str_at(q, "unit"))
}

fn is_percent(v: &Value) -> bool {
    value_unit(v) == Some("%")
}

/// The intensity written as `N+` in a text, if any.
fn plus_intensity(text: &str) -> Option<u8> {
    let b = text.as_bytes();
    (1..b.len()).find_map(|i| {
        (b[i] == b'+' && b[i - 1].is_ascii_digit() && (i < 2 || !b[i - 2].is_ascii_digit()))
            .then(|| b[i - 1] - b'0')
    })
}

/// A score written as a lone digit 0–3, as in `Score 0`.
fn lone_score(text: &str) -> Option<Intensity> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 1)
        .find_map(|w| w.parse::<u8>().ok())
        .and_then(|n| Intensity::new(n).ok())
}

/// What an observation is about, from its code alone.
#[derive(Clone, Copy)]
enum ObsKind {
    Cldn18,
    Her2,
    Ecog,
    DiseaseStatus,
    StageGroup,
    MCategory,
    TnCategory,
    Pdl1Cps,
    Msi,
    Lab(LabTest),
}

fn observation_kind(code: &Value) -> Option<ObsKind> {
    let text = concept_text(code);
    let loinc = loinc_code(code);
    Some(if text.contains("claudin") || text.contains("cldn18") {
        ObsKind::Cldn18
    } else if matches!(loinc, Some("48676-1" | "85319-2" | "85318-4"))
        || text.contains("her2")
        || text.contains("erbb2")
    {
        ObsKind::Her2
    } else if loinc == Some("89247-1") || text.contains("ecog") {
        ObsKind::Ecog
    } else if loinc == Some("97509-4") || text.contains("disease status") {
        ObsKind::DiseaseStatus
    } else if codes::has_any_code(code, codes::STAGE_GROUP_CODES) || text.contains("stage group") {
        ObsKind::StageGroup
    } else if codes::has_any_code(code, codes::M_CATEGORY_CODES)
        || text.contains("distant metastases")
    {
        ObsKind::MCategory
    } else if codes::has_any_code(code, codes::TN_CATEGORY_CODES) {
        ObsKind::TnCategory
    } else if text.contains("pd-l1") && (text.contains("cps") || text.contains("combined positive"))
    {
        ObsKind::Pdl1Cps
    } else if loinc == Some("81695-9")
        || text.contains("microsatellite")
        || text.contains("mismatch repair")
    {
        ObsKind::Msi
    } else if let Some(test) = loinc.and_then(LabTest::from_loinc) {
        ObsKind::Lab(test)
    } else {
        return None;
    })
}

/// Why an observation is of no use to cellpath, judged from its code alone (so that it can be
/// dropped as soon as it is read); `None` when it may be.
pub(crate) fn unused_observation(res: &Value) -> Option<String> {
    let code = res.get("code")?;
    if observation_kind(code).is_some() {
        return None;
    }
    let what = loinc_code(code)
        .map(|c| format!("LOINC {c}"))
        .unwrap_or_else(|| concept_text(code).trim().to_owned());
    Some(format!("observation not used by cellpath ({what})"))
}

fn observation(index: &Index, i: usize, e: &Entry, case: &mut Case, g: &mut Gathered) -> Took {
    let res = &e.res;
    let status = str_at(res, "status").unwrap_or("unknown");
    if matches!(status, "cancelled" | "registered") {
        return skip(format!("status {status}"));
    }
    let preliminary = status == "preliminary";
    let Some(code) = res.get("code") else {
        return skip("observation without a code");
    };
    let date = date_at(res, EFFECTIVE);
    let Some(kind) = observation_kind(code) else {
        return skip(unused_observation(res).unwrap_or_default());
    };
    let took = match kind {
        ObsKind::Cldn18 => cldn18(index, e, case, preliminary),
        ObsKind::Her2 => her2(e, g, date, preliminary),
        ObsKind::Ecog => ecog(e, case, date),
        ObsKind::DiseaseStatus => disease_status(e, case, date),
        ObsKind::StageGroup => match value_text(res).and_then(|v| codes::stage_from_text(&v)) {
            Some(v) => {
                g.stages.push((date, v.clone(), i));
                Took::Used(vec![format!("stage group {v}")])
            }
            None => skip("stage group without a readable value"),
        },
        ObsKind::MCategory => match value_text(res) {
            Some(v) if v.to_uppercase().contains("M1") => {
                g.m1 = Some(i);
                Took::Used(vec![format!("distant metastasis category {}", v.trim())])
            }
            Some(v) => Took::Used(vec![format!(
                "distant metastasis category {} (not M1)",
                v.trim()
            )]),
            None => skip("M category without a value"),
        },
        ObsKind::TnCategory => match value_text(res) {
            Some(v) => Took::Used(vec![format!(
                "TNM category {} (shown; the stage group and M category are what cellpath reads)",
                v.trim()
            )]),
            None => skip("T or N category without a value"),
        },
        ObsKind::Pdl1Cps => match value_number(res) {
            Some(cps) => {
                case.pdl1.push(Pdl1Result {
                    cps,
                    clone: None,
                    date,
                    source: Some(source_of(e)),
                });
                Took::Used(vec![format!("PD-L1 CPS {cps}")])
            }
            None => skip("PD-L1 CPS without a number"),
        },
        ObsKind::Msi => msi(e, case, date),
        ObsKind::Lab(test) => lab(e, case, test),
    };
    match took {
        Took::Used(mut d) if preliminary => {
            d.push("preliminary result".into());
            Took::Flagged(d)
        }
        other => other,
    }
}

fn cldn18(index: &Index, e: &Entry, case: &mut Case, preliminary: bool) -> Took {
    let res = &e.res;
    let mut per = PerIntensity::default();
    let mut level: Option<Intensity> = None;
    let mut percent: Option<f64> = None;
    let mut clone = res
        .get("method")
        .map(concept_label)
        .filter(|t| !t.is_empty());
    for comp in items(res, "component") {
        let ctext = comp.get("code").map(concept_text).unwrap_or_default();
        if ctext.contains("clone") || ctext.contains("antibody") || ctext.contains("assay") {
            clone = value_text(comp);
        } else if ctext.contains("intensity") {
            level = comp
                .get("valueInteger")
                .and_then(Value::as_u64)
                .and_then(|n| Intensity::new(u8::try_from(n).unwrap_or(u8::MAX)).ok())
                .or_else(|| value_text(comp).and_then(|t| Intensity::parse(&t).ok()));
            if level.is_none() {
                return skip("CLDN18.2 staining intensity is not 0, 1+, 2+ or 3+");
            }
        } else if let (true, Some(p)) = (is_percent(comp), value_number(comp)) {
            if Percent::new(p).is_err() {
                return skip(format!("CLDN18.2 percentage {p} is not 0–100"));
            }
            match plus_intensity(&ctext).or_else(|| ctext.contains(" 0 ").then_some(0)) {
                Some(n) if n <= 3 => {
                    let slot = match n {
                        3 => &mut per.three,
                        2 => &mut per.two,
                        1 => &mut per.one,
                        _ => &mut per.zero,
                    };
                    *slot = Percent::new(p).ok();
                }
                Some(n) => return skip(format!("{n}+ is not an IHC intensity")),
                None => percent = Some(p),
            }
        }
    }
    let staining = if per != PerIntensity::default() {
        Ok(Staining::PerIntensity(per))
    } else if let (Some(l), Some(p)) = (level, percent) {
        match (l.level(), Percent::new(p)) {
            (0, _) => Ok(Staining::Negative),
            (_, Ok(pct)) => Ok(Staining::AtLeast {
                intensity: l,
                percent: pct,
            }),
            (_, Err(err)) => Err(err.to_string()),
        }
    } else if let Some(t) = value_text(res) {
        codes::staining_from_text(&t)
    } else {
        Err("no staining intensity and percentage found".into())
    };
    let staining = match staining {
        Ok(s) => s,
        Err(why) => return skip(format!("CLDN18.2 result not readable: {why}")),
    };
    let specimen_date = res
        .get("specimen")
        .and_then(|s| str_at(s, "reference"))
        .and_then(|r| index.resolve(res, r))
        .and_then(|s| {
            date_at(
                s,
                &[
                    "collection.collectedDateTime",
                    "collection.collectedPeriod.start",
                    "receivedTime",
                ],
            )
        })
        .or_else(|| date_at(res, EFFECTIVE));
    let detail = format!(
        "CLDN18.2 {}{}",
        staining.describe(),
        specimen_date
            .map(|d| format!(", specimen {d}"))
            .unwrap_or_default()
    );
    let result = Cldn18Result {
        staining,
        clone: clone.map(|c| c.trim().to_owned()),
        specimen: None,
        specimen_date,
        preliminary,
        source: Some(source_of(e)),
    };
    if let Some(why) = refused_by_record(&result) {
        return skip(format!("CLDN18.2 result not usable: {why}"));
    }
    case.cldn18.push(result);
    Took::Used(vec![detail])
}

/// Why the record format refuses a fact built from FHIR (e.g. CLDN18.2 percentages adding up
/// past 100 %), so that the import never holds what a case file could not.
fn refused_by_record<T: serde::Serialize + serde::de::DeserializeOwned>(
    fact: &T,
) -> Option<String> {
    let value = serde_json::to_value(fact).ok()?;
    serde_json::from_value::<T>(value)
        .err()
        .map(|e| e.to_string())
}

fn her2_parts(v: &Value, code_text: &str, loinc: Option<&str>) -> Result<Option<Her2Part>, String> {
    let value = value_text(v).unwrap_or_default().to_lowercase();
    let interp = texts(v, "interpretation");
    let is_ish = loinc == Some("85318-4")
        || code_text.contains(" ish")
        || code_text.contains("fish")
        || code_text.contains("in situ");
    let is_ihc =
        loinc == Some("85319-2") || code_text.contains("ihc") || code_text.contains("immunohisto");
    if is_ish {
        let r = if value.contains("not amplified")
            || value.contains("non-amplified")
            || value.contains("no amplification")
            || value.contains("negative")
        {
            IshResult::NotAmplified
        } else if value.contains("amplified") || value.contains("positive") {
            IshResult::Amplified
        } else if value.contains("equivocal") {
            IshResult::Equivocal
        } else {
            return Err(format!("HER2 ISH value `{value}` not understood"));
        };
        return Ok(Some(Her2Part::Ish(r)));
    }
    if is_ihc {
        let score = value_number(v)
            .map(|n| Intensity::new(n as u8).map_err(|e| e.to_string()))
            .or_else(|| {
                plus_intensity(&value).map(|n| Intensity::new(n).map_err(|e| e.to_string()))
            })
            .or_else(|| Intensity::parse(value.trim()).ok().map(Ok))
            .or_else(|| lone_score(&value).map(Ok))
            .or_else(|| {
                (value.contains("negative") || value.contains("(0)")).then_some(Ok(Intensity::ZERO))
            });
        return match score {
            Some(Ok(s)) => Ok(Some(Her2Part::Ihc(s))),
            Some(Err(e)) => Err(e),
            None => Err(format!("HER2 IHC score `{value}` not understood")),
        };
    }
    let words = format!("{value} {interp}");
    let status = if words.contains("equivocal") || words.contains("indeterminate") {
        Her2Status::Equivocal
    } else if words.contains("negative") || words.contains(" neg") {
        Her2Status::Negative
    } else if words.contains("positive") || words.contains(" pos") {
        Her2Status::Positive
    } else if code_text.contains("her2") || loinc == Some("48676-1") {
        return Err(format!(
            "HER2 interpretation `{}` not understood",
            words.trim()
        ));
    } else {
        return Ok(None);
    };
    Ok(Some(Her2Part::Interpretation(status)))
}

fn her2(e: &Entry, g: &mut Gathered, date: Option<PartialDate>, preliminary: bool) -> Took {
    let res = &e.res;
    let mut parts = Vec::new();
    let code = res.get("code").map(concept_text).unwrap_or_default();
    let loinc = res.get("code").and_then(loinc_code);
    let has_value = res.get("valueString").is_some()
        || res.get("valueCodeableConcept").is_some()
        || res.get("valueInteger").is_some()
        || res.get("valueQuantity").is_some();
    if has_value {
        match her2_parts(res, &code, loinc) {
            Ok(Some(p)) => parts.push(p),
            Ok(None) => {}
            Err(why) => return skip(why),
        }
    }
    for comp in items(res, "component") {
        let ctext = comp.get("code").map(concept_text).unwrap_or_default();
        let cl = comp.get("code").and_then(loinc_code);
        if let Ok(Some(p)) = her2_parts(comp, &ctext, cl) {
            parts.push(p);
        }
    }
    if parts.is_empty() {
        return skip("HER2 observation without a readable result");
    }
    let mut detail = Vec::new();
    for p in parts {
        detail.push(match &p {
            Her2Part::Ihc(s) => format!("HER2 IHC {s}"),
            Her2Part::Ish(r) => format!("HER2 ISH {r:?}").to_lowercase(),
            Her2Part::Interpretation(s) => format!("HER2 {s:?}").to_lowercase(),
        });
        g.her2.push((date, p, preliminary, source_of(e)));
    }
    Took::Used(detail)
}

/// HER2 parts reported on the same date form one result (IHC with its reflex ISH).
fn merge_her2(parts: Vec<(Option<PartialDate>, Her2Part, bool, String)>) -> Vec<Her2Result> {
    let mut out: Vec<Her2Result> = Vec::new();
    for (date, part, preliminary, source) in parts {
        let idx = match out.iter().position(|r| r.date == date) {
            Some(i) => i,
            None => {
                out.push(Her2Result {
                    ihc: None,
                    ish: None,
                    interpretation: None,
                    date,
                    preliminary: false,
                    source: Some(source.clone()),
                });
                out.len() - 1
            }
        };
        let r = &mut out[idx];
        r.preliminary |= preliminary;
        match part {
            Her2Part::Ihc(s) => r.ihc = Some(s),
            Her2Part::Ish(i) => r.ish = Some(i),
            Her2Part::Interpretation(s) => r.interpretation = Some(s),
        }
        if r.source.as_deref() != Some(source.as_str()) {
            r.source = Some(format!(
                "{}; {source}",
                r.source.as_deref().unwrap_or_default()
            ));
        }
    }
    out
}

fn ecog(e: &Entry, case: &mut Case, date: Option<PartialDate>) -> Took {
    let res = &e.res;
    let from_answer = res.get("valueCodeableConcept").and_then(|cc| {
        codings(cc).find_map(|(_, c, _)| match c {
            "LA9622-7" => Some(0),
            "LA9623-5" => Some(1),
            "LA9624-3" => Some(2),
            "LA9625-0" => Some(3),
            "LA9626-8" => Some(4),
            "LA9627-6" => Some(5),
            _ => c.parse::<i64>().ok(),
        })
    });
    let raw = res
        .get("valueInteger")
        .and_then(Value::as_i64)
        .or(from_answer);
    let Some(raw) = raw else {
        return skip("ECOG observation without a score");
    };
    match Ecog::new(raw) {
        Ok(score) => {
            case.ecog.push(EcogResult {
                score,
                date,
                source: Some(source_of(e)),
            });
            Took::Used(vec![format!("ECOG {raw}")])
        }
        Err(err) => skip(err.to_string()),
    }
}

fn disease_status(e: &Entry, case: &mut Case, date: Option<PartialDate>) -> Took {
    let res = &e.res;
    let Some(v) = res.get("valueCodeableConcept") else {
        return skip("disease status without a value");
    };
    let worsened = has_code(v, SNOMED, "271299001") || concept_text(v).contains("worse");
    let Some(d) = date else {
        return skip("disease status without a date");
    };
    if !worsened {
        return Took::Used(vec![format!(
            "disease status on {d}: {}",
            concept_text(v).trim()
        )]);
    }
    case.progressions.push(ProgressionEvent {
        date: d,
        basis: Some("cancer disease status: worsened".into()),
        source: Some(source_of(e)),
    });
    Took::Used(vec![format!("progression on {d}")])
}

fn msi(e: &Entry, case: &mut Case, date: Option<PartialDate>) -> Took {
    let v = value_text(&e.res).unwrap_or_default().to_lowercase();
    let code = e.res.get("code").map(concept_text).unwrap_or_default();
    // "Positive" means instability on an MSI test; on a mismatch-repair panel it is ambiguous.
    let msi_test = !code.contains("mismatch repair") || code.contains("microsatellite");
    let status = if v.contains("deficient") || v.contains("dmmr") {
        MsiStatus::Dmmr
    } else if v.contains("proficient") || v.contains("pmmr") {
        MsiStatus::Pmmr
    } else if v.contains("high") || v.contains("msi-h") || v.contains("unstable") {
        MsiStatus::MsiHigh
    } else if v.contains("low") {
        MsiStatus::MsiLow
    } else if v.contains("stable") || v.contains("mss") {
        MsiStatus::Mss
    } else if msi_test && v.contains("positive") {
        MsiStatus::MsiHigh
    } else if msi_test && v.contains("negative") {
        MsiStatus::Mss
    } else {
        return skip(format!("MSI/MMR value `{v}` not understood"));
    };
    case.msi.push(MsiResult {
        status,
        date,
        source: Some(source_of(e)),
    });
    Took::Used(vec![format!("MSI/MMR {status:?}")])
}

fn lab(e: &Entry, case: &mut Case, test: LabTest) -> Took {
    let res = &e.res;
    let Some(value) = value_number(res) else {
        return skip(format!("{} without a numeric value", test.name()));
    };
    let unit = match value_unit(res).map(Unit::parse) {
        Some(Ok(u)) => u,
        Some(Err(err)) => return skip(format!("{}: {err}", test.name())),
        None => return skip(format!("{} without a unit", test.name())),
    };
    let uln = items(res, "referenceRange")
        .next()
        .and_then(|r| r.get("high"))
        .and_then(|h| h.get("value"))
        .and_then(Value::as_f64);
    let date = date_at(res, EFFECTIVE).and_then(PartialDate::full);
    case.labs.push(LabResult {
        test,
        value,
        unit,
        uln,
        date,
        source: Some(source_of(e)),
    });
    Took::Used(vec![format!("{} {value} {unit}", test.name())])
}

/// A short name for a coding system, for reports.
fn short_system(uri: &str) -> String {
    match DrugCodeSystem::from_uri(uri) {
        DrugCodeSystem::RxNorm => "RxNorm".to_owned(),
        DrugCodeSystem::Atc => "ATC".to_owned(),
        DrugCodeSystem::Ncit => "NCIt".to_owned(),
        DrugCodeSystem::Other => uri.rsplit('/').next().unwrap_or(uri).to_owned(),
    }
}

/// The mCODE treatment-intent / procedure-intent extension's value, lower case.
fn intent(res: &Value) -> Option<String> {
    items(res, "extension")
        .filter(|x| {
            str_at(x, "url").is_some_and(|u| {
                u.ends_with("mcode-procedure-intent") || u.ends_with("mcode-treatment-intent")
            })
        })
        .find_map(|x| x.get("valueCodeableConcept"))
        .map(|v| {
            let snomed = codes::snomed_code(v);
            match snomed {
                Some("373808002") => "curative".to_owned(),
                Some("363676003") => "palliative".to_owned(),
                _ => concept_text(v),
            }
        })
}

/// What a therapy names as its reason: a condition of this input, or a cancer site.
fn reason_of(index: &Index, res: &Value) -> Reason {
    for r in items(res, "reasonReference") {
        if let Some(reference) = str_at(r, "reference")
            && let Some(target) = index.resolve(res, reference)
            && str_at(target, "resourceType") == Some("Condition")
            && let Some(at) = index.index_of(target)
        {
            return Reason::Condition(at);
        }
    }
    for c in items(res, "reasonCode") {
        let text = concept_text(c);
        let site = codes::icd10(c)
            .as_deref()
            .and_then(codes::site_from_icd10)
            .or_else(|| {
                codes::text_is_cancer(&text)
                    .then(|| codes::site_from_text(&text))
                    .flatten()
            });
        if let Some(site) = site.filter(|s| *s != CancerSite::Other) {
            return Reason::Site(site, concept_label(c));
        }
    }
    Reason::None
}

fn medication(index: &Index, i: usize, e: &Entry, therapies: &mut Vec<Therapy>) -> Took {
    let res = &e.res;
    let status = str_at(res, "status").unwrap_or("unknown");
    if matches!(
        status,
        "not-taken" | "cancelled" | "not-done" | "draft" | "intended"
    ) {
        return skip(format!("status {status}"));
    }
    let concept = res.get("medicationCodeableConcept").or_else(|| {
        let r = res
            .get("medicationReference")
            .and_then(|m| str_at(m, "reference"))?;
        index.resolve(res, r).and_then(|m| m.get("code"))
    });
    let Some(concept) = concept else {
        return skip("no medication code (or an unresolvable medication reference)");
    };
    let name = concept_text(concept);
    // Codes first (RxNorm from the sourced table, ATC L01/L02), then the name.
    let codings: Vec<(&str, &str)> = items(concept, "coding")
        .filter_map(|c| Some((str_at(c, "system")?, str_at(c, "code")?)))
        .collect();
    let mut by_code = None;
    let mut class_only = false;
    let mut unidentified = false;
    for (system, code) in &codings {
        match recognise_code(DrugCodeSystem::from_uri(system), code) {
            CodedDrug::Named(d) => {
                by_code = Some(d);
                break;
            }
            CodedDrug::AnticancerClass => class_only = true,
            CodedDrug::Unknown => {}
        }
    }
    let drug = match (by_code, recognise_anticancer(&name)) {
        (Some(d), _) | (None, Some(d)) => d.to_owned(),
        (None, None) if class_only || has_profile(res, MCODE_MEDICATION) => {
            let label = concept_label(concept);
            if label.trim().is_empty() || codings.iter().any(|(_, c)| *c == label.trim()) {
                // Coded only, with no text: name it by its code.
                codings
                    .first()
                    .map(|(s, c)| format!("{} {c}", short_system(s)))
                    .unwrap_or_default()
            } else {
                label
            }
        }
        // Not identified, but given for a cancer: it may be an anticancer drug, so it is kept
        // as an unidentified therapy and the line count stays open until it is named.
        (None, None)
            if matches!(
                reason_of(index, res),
                Reason::Condition(_) | Reason::Site(..)
            ) =>
        {
            unidentified = true;
            let codes: Vec<String> = codings
                .iter()
                .map(|(s, c)| format!("{} {c}", short_system(s)))
                .collect();
            match (name.trim(), codes.is_empty()) {
                ("", true) => String::new(),
                ("", false) => codes.join(", "),
                (n, true) => n.to_owned(),
                (n, false) => format!("{n} ({})", codes.join(", ")),
            }
        }
        (None, None) => {
            let codes: Vec<String> = codings
                .iter()
                .map(|(s, c)| format!("{} {c}", short_system(s)))
                .collect();
            return skip(if codes.is_empty() {
                format!("not a recognised anticancer drug ({})", name.trim())
            } else {
                format!(
                    "not a recognised anticancer drug ({}; codes: {}) — if it is one, map the code in catalogue/drugs/drugs.toml",
                    name.trim(),
                    codes.join(", ")
                )
            });
        }
    };
    if drug.trim().is_empty() {
        return skip("a medication with neither a name nor a code");
    }
    let start = date_at(
        res,
        &[
            "effectivePeriod.start",
            "effectiveDateTime",
            "authoredOn",
            "dispenseRequest.validityPeriod.start",
        ],
    );
    let Some(start) = start else {
        return skip(format!("{drug}: no date"));
    };
    let ended = date_at(
        res,
        &["effectivePeriod.end", "dispenseRequest.validityPeriod.end"],
    );
    // A single administration or a finished order ends when it starts.
    let end = ended.or_else(|| {
        let single = res.get("effectiveDateTime").is_some()
            || e.resource_type() == "MedicationAdministration"
            || (e.resource_type() == "MedicationRequest" && status != "active");
        (single && status != "active").then_some(start)
    });
    let words = [
        res.get("statusReason").map(|v| match v {
            Value::Array(a) => a.iter().map(concept_text).collect::<Vec<_>>().join(" "),
            other => concept_text(other),
        }),
        Some(texts(res, "reasonCode")),
        res.get("category").map(|c| match c {
            Value::Array(a) => a.iter().map(concept_text).collect::<Vec<_>>().join(" "),
            other => concept_text(other),
        }),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let extension_text = items(res, "extension")
        .filter_map(|x| x.get("valueCodeableConcept"))
        .map(concept_text)
        .collect::<Vec<_>>()
        .join(" ");
    let all = format!("{words} {extension_text}");
    let intent = intent(res);
    let setting = if intent.as_deref().is_some_and(|t| t.contains("curative")) {
        TherapySetting::Curative
    } else if intent.as_deref().is_some_and(|t| t.contains("palliative")) {
        TherapySetting::Advanced
    } else if all.contains("neoadjuvant") || all.contains("neo-adjuvant") {
        TherapySetting::Neoadjuvant
    } else if all.contains("adjuvant") {
        TherapySetting::Adjuvant
    } else if all.contains("perioperative") {
        TherapySetting::Perioperative
    } else if all.contains("palliative") || all.contains("metasta") || all.contains("advanced") {
        TherapySetting::Advanced
    } else {
        TherapySetting::Unknown
    };
    let reason_stopped = if all.contains("progress") {
        Some(StopReason::Progression)
    } else if all.contains("toxic")
        || all.contains("intoler")
        || all.contains("not tolerated")
        || all.contains("adverse")
        || all.contains("side effect")
    {
        Some(StopReason::Intolerance)
    } else if status == "completed" {
        Some(StopReason::Completed)
    } else {
        None
    };
    let detail = format!(
        "{drug} from {start}{}",
        end.map(|d| format!(" to {d}"))
            .unwrap_or_else(|| " (no end date)".into())
    );
    let mut detail = vec![detail];
    if setting == TherapySetting::Curative {
        detail.push("curative intent".into());
    }
    if unidentified {
        detail.push(
            "not identified as a known anticancer drug, but given for the cancer: kept as an \
             unidentified medication — the line count is open until the coordinator names it \
             (or maps its code in catalogue/drugs/drugs.toml)"
                .into(),
        );
    }
    therapies.push(Therapy {
        entry: i,
        reason: reason_of(index, res),
        therapy: SystemicTherapy {
            drug,
            start,
            end,
            setting,
            reason_stopped,
            other_cancer: None,
            unidentified,
            source: Some(source_of(e)),
        },
    });
    if unidentified {
        Took::Flagged(detail)
    } else {
        Took::Used(detail)
    }
}
