//! What each kind of resource contributes to the case.

use cellpath_domain::{
    CancerSite, Case, Cldn18Result, Ecog, EcogResult, Extent, Her2Result, Her2Status, Intensity,
    IshResult, LabResult, LabTest, Metastasis, MsiResult, MsiStatus, PartialDate, Pdl1Result,
    PerIntensity, Percent, PrimaryCancer, ProgressionEvent, Sex, Staining, StopReason,
    SystemicTherapy, TherapySetting, Unit,
    drugs::{CodedDrug, DrugCodeSystem, recognise_anticancer, recognise_code},
    stage_group,
};
use serde_json::Value;

use crate::codes::{self, SNOMED, codings, concept_label, concept_text, has_code, loinc_code};
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
        .map(str::to_owned)
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
    primaries: Vec<(usize, PrimaryCancer)>,
    stages: Vec<(Option<PartialDate>, String, usize)>,
    m1: Option<usize>,
    her2: Vec<(Option<PartialDate>, Her2Part, bool, String)>,
}

enum Her2Part {
    Ihc(Intensity),
    Ish(IshResult),
    Interpretation(Her2Status),
}

pub(crate) fn extract(index: &Index, case: &mut Case, report: &mut ImportReport) {
    let entries = index.entries;
    let mut outcomes: Vec<Option<Took>> = entries.iter().map(|_| None).collect();
    let mut g = Gathered::default();

    // The first Patient is the patient; resources of any other patient are skipped.
    let patient = entries.iter().position(|e| e.resource_type() == "Patient");
    if let Some(p) = patient {
        outcomes[p] = Some(read_patient(&entries[p], case));
    }
    let mut therapies = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) == patient {
            continue;
        }
        let res = e.res;
        let took = if e.resource_type() == "Patient" {
            skip("another patient: the import takes the first Patient only")
        } else if let Some(other) = other_patient(index, res, patient) {
            skip(format!("belongs to another patient ({other})"))
        } else if str_at(res, "status") == Some("entered-in-error") {
            skip("status entered-in-error")
        } else {
            match e.resource_type() {
                "Condition" => condition(i, e, case, &mut g),
                "Observation" => observation(index, i, e, case, &mut g),
                "MedicationStatement" | "MedicationRequest" | "MedicationAdministration" => {
                    medication(index, e, &mut therapies)
                }
                "Specimen" | "Medication" => skip("read only where another resource refers to it"),
                other => skip(format!("{other} is not used by cellpath")),
            }
        };
        outcomes[i] = Some(took);
    }

    // The most recently diagnosed primary cancer is the case's; others are reported.
    let chosen = g
        .primaries
        .iter()
        .enumerate()
        .max_by_key(|(k, (_, p))| (p.diagnosed.map(PartialDate::latest), *k))
        .map(|(k, _)| k);
    for (k, (entry, p)) in g.primaries.iter().enumerate() {
        if Some(k) != chosen {
            outcomes[*entry] = Some(skip(format!(
                "another primary cancer ({}); the case holds the most recently diagnosed one",
                p.site_text.as_deref().unwrap_or("unnamed")
            )));
        }
    }
    if let Some(k) = chosen {
        case.primary = Some(g.primaries.swap_remove(k).1);
    }
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
    case.her2 = merge_her2(std::mem::take(&mut g.her2));
    if !therapies.is_empty() {
        case.therapies = Some(therapies);
        report.notes.push(
            "Lines of therapy are derived from the medication resources by the documented rule \
             (docs/lines-of-therapy.md) and must be confirmed by the coordinator."
                .into(),
        );
    }

    for (e, took) in entries.iter().zip(outcomes) {
        let (outcome, detail) = match took.unwrap_or_else(|| skip("not examined")) {
            Took::Used(d) => (Outcome::Used, d),
            Took::Flagged(d) => (Outcome::Flagged, d),
            Took::Skipped(r) => (Outcome::Skipped, vec![r]),
        };
        report.resources.push(ResourceReport {
            pointer: e.pointer.clone(),
            full_url: e.full_url.map(str::to_owned),
            resource_type: e.resource_type().to_owned(),
            id: e.id().map(str::to_owned),
            outcome,
            detail,
        });
    }
}

/// The patient a resource names, when it resolves to a Patient other than the chosen one.
fn other_patient(index: &Index, res: &Value, chosen: Option<usize>) -> Option<String> {
    let reference = ["subject", "patient"]
        .iter()
        .find_map(|k| res.get(*k).and_then(|r| str_at(r, "reference")))?;
    let target = index.resolve(res, reference)?;
    if str_at(target, "resourceType") != Some("Patient") {
        return None;
    }
    let at = index.index_of(target)?;
    (Some(at) != chosen).then(|| reference.to_owned())
}

fn read_patient(e: &Entry, case: &mut Case) -> Took {
    let mut facts = Vec::new();
    match str_at(e.res, "birthDate").map(PartialDate::parse) {
        Some(Ok(d)) => {
            case.patient.birth_date = Some(d);
            facts.push(format!("birth date {d}"));
        }
        Some(Err(err)) => facts.push(format!("birth date not used: {err}")),
        None => facts.push("no birth date".into()),
    }
    case.patient.sex = match str_at(e.res, "gender") {
        Some("female") => Some(Sex::Female),
        Some("male") => Some(Sex::Male),
        Some("other") => Some(Sex::Other),
        Some("unknown") => Some(Sex::Unknown),
        _ => None,
    };
    if let Some(s) = case.patient.sex {
        facts.push(format!("sex {s:?}").to_lowercase());
    }
    case.patient.source = Some(source_of(e));
    Took::Used(facts)
}

fn condition(i: usize, e: &Entry, case: &mut Case, g: &mut Gathered) -> Took {
    let res = e.res;
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
    let secondary = has_profile(res, MCODE_SECONDARY)
        || icd.as_deref().is_some_and(codes::icd10_is_secondary)
        || (codes::text_is_cancer(&text) && codes::text_is_secondary(&text));
    let primary_profile = has_profile(res, "mcode-primary-cancer-condition");
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
        .map(concept_label)
        .find(|t| stage_group(t).is_some());
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
    g.primaries.push((
        i,
        PrimaryCancer {
            site: Some(site),
            site_text: Some(concept_label(code)),
            histology,
            histology_text,
            stage,
            extent,
            diagnosed: onset,
            source: Some(source_of(e)),
        },
    ));
    Took::Used(facts)
}

fn value_text(v: &Value) -> Option<String> {
    if let Some(s) = str_at(v, "valueString") {
        return Some(s.to_owned());
    }
    v.get("valueCodeableConcept").map(concept_label)
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

fn observation(index: &Index, i: usize, e: &Entry, case: &mut Case, g: &mut Gathered) -> Took {
    let res = e.res;
    let status = str_at(res, "status").unwrap_or("unknown");
    if matches!(status, "cancelled" | "registered") {
        return skip(format!("status {status}"));
    }
    let preliminary = status == "preliminary";
    let Some(code) = res.get("code") else {
        return skip("observation without a code");
    };
    let text = concept_text(code);
    let loinc = loinc_code(code);
    let date = date_at(res, EFFECTIVE);
    let took = if text.contains("claudin") || text.contains("cldn18") {
        cldn18(index, e, case, preliminary)
    } else if matches!(loinc, Some("48676-1" | "85319-2" | "85318-4"))
        || text.contains("her2")
        || text.contains("erbb2")
    {
        her2(e, g, date, preliminary)
    } else if loinc == Some("89247-1") || text.contains("ecog") {
        ecog(e, case, date)
    } else if loinc == Some("97509-4") || text.contains("disease status") {
        disease_status(e, case, date)
    } else if matches!(loinc, Some("21908-9" | "21902-2" | "21914-4"))
        || text.contains("stage group")
    {
        match value_text(res) {
            Some(v) if stage_group(&v).is_some() => {
                g.stages.push((date, v.trim().to_owned(), i));
                Took::Used(vec![format!("stage group {}", v.trim())])
            }
            _ => skip("stage group without a readable value"),
        }
    } else if matches!(loinc, Some("21907-1" | "21901-4")) || text.contains("distant metastases") {
        match value_text(res) {
            Some(v) if v.to_uppercase().contains("M1") => {
                g.m1 = Some(i);
                Took::Used(vec![format!("distant metastasis category {}", v.trim())])
            }
            Some(v) => Took::Used(vec![format!(
                "distant metastasis category {} (not M1)",
                v.trim()
            )]),
            None => skip("M category without a value"),
        }
    } else if text.contains("pd-l1") && (text.contains("cps") || text.contains("combined positive"))
    {
        match value_number(res) {
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
        }
    } else if loinc == Some("81695-9")
        || text.contains("microsatellite")
        || text.contains("mismatch repair")
    {
        msi(e, case, date)
    } else if let Some(test) = loinc.and_then(LabTest::from_loinc) {
        lab(e, case, test)
    } else {
        let what = loinc
            .map(|c| format!("LOINC {c}"))
            .unwrap_or_else(|| text.trim().to_owned());
        skip(format!("observation not used by cellpath ({what})"))
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
    let res = e.res;
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
    case.cldn18.push(Cldn18Result {
        staining,
        clone: clone.map(|c| c.trim().to_owned()),
        specimen: None,
        specimen_date,
        preliminary,
        source: Some(source_of(e)),
    });
    Took::Used(vec![detail])
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
    let res = e.res;
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
    let res = e.res;
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
    let res = e.res;
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
    let v = value_text(e.res).unwrap_or_default().to_lowercase();
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
    let res = e.res;
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

fn medication(index: &Index, e: &Entry, therapies: &mut Vec<SystemicTherapy>) -> Took {
    let res = e.res;
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
    let setting = if all.contains("neoadjuvant") || all.contains("neo-adjuvant") {
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
    therapies.push(SystemicTherapy {
        drug,
        start,
        end,
        setting,
        reason_stopped,
        source: Some(source_of(e)),
    });
    Took::Used(vec![detail])
}
