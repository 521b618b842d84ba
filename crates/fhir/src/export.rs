//! The case as an mCODE STU4 bundle (`cellpath case export --to fhir`,
//! `GET /api/v1/cases/{id}/fhir`).
//!
//! Every resource carries the fact in standard FHIR / mCODE elements, for other systems to
//! read, and the same fact exactly as cellpath holds it in the [`FACT_EXTENSION`], so that a
//! cellpath export re-imports unchanged (the importer prefers that extension when present).
//! Each fact's source travels with it.

use cellpath_domain::{
    CancerSite, Case, Cldn18Result, ConfirmedLine, EcogResult, Extent, Her2Result, Her2Status,
    IshResult, LabResult, Metastasis, MsiResult, MsiStatus, Patient, Pdl1Result, PrimaryCancer,
    ProgressionEvent, Sex, Staining, StopReason, SystemicTherapy, TherapySetting,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The extension holding a fact exactly as cellpath records it (JSON of the native format).
pub const FACT_EXTENSION: &str = "https://cellpath.org/fhir/StructureDefinition/cellpath-fact";

const MCODE: &str = "http://hl7.org/fhir/us/mcode/StructureDefinition/";
const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";

/// One fact of the case, as the extension carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub(crate) enum Fact {
    Patient {
        patient: Patient,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Present when the coordinator confirmed the lines (`None`: derived).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lines: Option<Vec<ConfirmedLine>>,
        /// `Some(vec![])` when metastases were recorded as none; `None` when not recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metastases_recorded_none: Option<bool>,
        /// The treatment history was recorded as none given.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        no_therapy: bool,
    },
    Primary(PrimaryCancer),
    Metastasis(Metastasis),
    Cldn18(Cldn18Result),
    Her2(Her2Result),
    Pdl1(Pdl1Result),
    Msi(MsiResult),
    Therapy(SystemicTherapy),
    Progression(ProgressionEvent),
    Ecog(EcogResult),
    Lab(LabResult),
}

fn fact_extension(fact: &Fact) -> Value {
    json!({
        "url": FACT_EXTENSION,
        "valueString": serde_json::to_string(fact).unwrap_or_default(),
    })
}

/// The cellpath fact a resource carries, if it was written by [`export`].
pub(crate) fn fact_of(res: &Value) -> Option<Result<Fact, String>> {
    let ext = res
        .get("extension")?
        .as_array()?
        .iter()
        .find(|x| x.get("url").and_then(Value::as_str) == Some(FACT_EXTENSION))?;
    let text = ext.get("valueString").and_then(Value::as_str)?;
    Some(
        serde_json::from_str(text)
            .map_err(|e| format!("cellpath fact extension not readable: {e}")),
    )
}

fn date(d: impl ToString) -> Value {
    Value::String(d.to_string())
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

fn concept(codings: Vec<Value>, text: Option<&str>) -> Value {
    let mut c = json!({ "coding": codings });
    if let Some(t) = text {
        c["text"] = Value::String(t.to_owned());
    }
    c
}

fn icd10_of(site: CancerSite) -> Option<(&'static str, &'static str)> {
    Some(match site {
        CancerSite::Stomach => ("C16.9", "Malignant neoplasm of stomach, unspecified"),
        CancerSite::Gej => ("C16.0", "Malignant neoplasm of cardia"),
        CancerSite::Oesophagus => ("C15.9", "Malignant neoplasm of esophagus, unspecified"),
        CancerSite::Colon => ("C18.9", "Malignant neoplasm of colon, unspecified"),
        CancerSite::Rectum => ("C20", "Malignant neoplasm of rectum"),
        CancerSite::Liver => (
            "C22.9",
            "Malignant neoplasm of liver, not specified as primary or secondary",
        ),
        CancerSite::BiliaryTract => ("C24.9", "Malignant neoplasm of biliary tract, unspecified"),
        CancerSite::Pancreas => ("C25.9", "Malignant neoplasm of pancreas, unspecified"),
        CancerSite::Lung => (
            "C34.90",
            "Malignant neoplasm of unspecified part of unspecified bronchus or lung",
        ),
        CancerSite::Breast => (
            "C50.919",
            "Malignant neoplasm of unspecified site of unspecified female breast",
        ),
        CancerSite::Ovary => ("C56.9", "Malignant neoplasm of unspecified ovary"),
        CancerSite::Prostate => ("C61", "Malignant neoplasm of prostate"),
        _ => return None,
    })
}

struct Builder {
    entries: Vec<Value>,
    patient_ref: String,
    primary_ref: Option<String>,
}

impl Builder {
    fn add(&mut self, kind: &str, mut resource: Value, fact: &Fact) -> String {
        let n = self.entries.len();
        let id = format!("{kind}-{n}");
        let ty = resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        resource["id"] = Value::String(id.clone());
        let mut extensions = resource
            .get("extension")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        extensions.push(fact_extension(fact));
        resource["extension"] = Value::Array(extensions);
        let full_url = format!("urn:cellpath:{ty}/{id}");
        self.entries
            .push(json!({"fullUrl": full_url, "resource": resource}));
        format!("{ty}/{id}")
    }

    fn subject(&self) -> Value {
        json!({"reference": self.patient_ref})
    }

    fn observation(
        &self,
        profile: &str,
        code: Value,
        when: Option<String>,
        preliminary: bool,
    ) -> Value {
        let mut o = json!({
            "resourceType": "Observation",
            "meta": {"profile": [format!("{MCODE}{profile}")]},
            "status": if preliminary { "preliminary" } else { "final" },
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": code,
            "subject": self.subject(),
        });
        if let Some(d) = when {
            o["effectiveDateTime"] = Value::String(d);
        }
        if let Some(p) = &self.primary_ref {
            o["focus"] = json!([{"reference": p}]);
        }
        o
    }
}

/// The case as an mCODE STU4 collection bundle.
pub fn export(case: &Case) -> Value {
    let mut b = Builder {
        entries: Vec::new(),
        patient_ref: String::new(),
        primary_ref: None,
    };
    patient(&mut b, case);
    if let Some(p) = &case.primary {
        primary(&mut b, p);
    }
    for m in case.metastases.iter().flatten() {
        metastasis(&mut b, m);
    }
    for r in &case.cldn18 {
        cldn18(&mut b, r);
    }
    for r in &case.her2 {
        her2(&mut b, r);
    }
    for r in &case.pdl1 {
        let mut o = b.observation(
            "mcode-tumor-marker-test",
            concept(
                vec![coding(LOINC, "85147-7", "PD-L1 by immune stain")],
                Some("PD-L1 combined positive score (CPS)"),
            ),
            r.date.map(|d| d.to_string()),
            false,
        );
        o["valueQuantity"] = json!({"value": r.cps, "unit": "score", "system": "http://unitsofmeasure.org", "code": "{score}"});
        if let Some(c) = &r.clone {
            o["method"] = json!({"text": c});
        }
        b.add("pdl1", o, &Fact::Pdl1(r.clone()));
    }
    for r in &case.msi {
        msi(&mut b, r);
    }
    for t in case.therapies.iter().flatten() {
        therapy(&mut b, t);
    }
    for p in &case.progressions {
        let mut o = b.observation(
            "mcode-cancer-disease-status",
            concept(
                vec![coding(LOINC, "97509-4", "Cancer disease progression")],
                Some("Cancer disease status"),
            ),
            Some(p.date.to_string()),
            false,
        );
        o["valueCodeableConcept"] = concept(
            vec![coding(
                SNOMED,
                "271299001",
                "Patient's condition worsened (finding)",
            )],
            None,
        );
        b.add("progression", o, &Fact::Progression(p.clone()));
    }
    for e in &case.ecog {
        let mut o = b.observation(
            "mcode-ecog-performance-status",
            concept(
                vec![coding(LOINC, "89247-1", "ECOG Performance Status score")],
                None,
            ),
            e.date.map(|d| d.to_string()),
            false,
        );
        o["valueInteger"] = json!(e.score.score());
        o["category"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}]);
        b.add("ecog", o, &Fact::Ecog(e.clone()));
    }
    for l in &case.labs {
        lab(&mut b, l);
    }
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "meta": {"profile": [format!("{MCODE}mcode-patient-bundle")]},
        "entry": b.entries,
    })
}

fn patient(b: &mut Builder, case: &Case) {
    let p = &case.patient;
    let mut r = json!({
        "resourceType": "Patient",
        "meta": {"profile": [format!("{MCODE}mcode-cancer-patient")]},
    });
    if let Some(d) = p.birth_date {
        r["birthDate"] = date(d);
    }
    if let Some(s) = p.sex {
        r["gender"] = Value::String(
            match s {
                Sex::Female => "female",
                Sex::Male => "male",
                Sex::Other => "other",
                Sex::Unknown => "unknown",
            }
            .into(),
        );
    }
    if p.deceased {
        match p.deceased_date {
            Some(d) => r["deceasedDateTime"] = date(d),
            None => r["deceasedBoolean"] = json!(true),
        }
    }
    let fact = Fact::Patient {
        patient: p.clone(),
        label: case.label.clone(),
        lines: case.lines.clone(),
        metastases_recorded_none: case.metastases.as_ref().map(Vec::is_empty),
        no_therapy: case.therapies.as_ref().is_some_and(Vec::is_empty),
    };
    b.patient_ref = b.add("patient", r, &fact);
}

fn primary(b: &mut Builder, p: &PrimaryCancer) {
    let mut codings = Vec::new();
    if let Some((code, display)) = p.site.and_then(icd10_of) {
        codings.push(coding(ICD10, code, display));
    }
    let mut r = json!({
        "resourceType": "Condition",
        "meta": {"profile": [format!("{MCODE}mcode-primary-cancer-condition")]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
        "code": concept(codings, p.site_text.as_deref()),
        "subject": b.subject(),
    });
    let status = match p.status {
        Some(cellpath_domain::CancerStatus::Remission) => "remission",
        Some(cellpath_domain::CancerStatus::Recurrence) => "recurrence",
        _ => "active",
    };
    r["clinicalStatus"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]});
    if let Some(d) = p.diagnosed {
        r["onsetDateTime"] = date(d);
    }
    if let Some(h) = &p.histology_text {
        r["extension"] = json!([{
            "url": format!("{MCODE}mcode-histology-morphology-behavior"),
            "valueCodeableConcept": {"text": h},
        }]);
    }
    if let Some(s) = &p.stage {
        let text = if s.to_lowercase().starts_with("stage") {
            s.clone()
        } else {
            format!("Stage {s}")
        };
        r["stage"] = json!([{"summary": {"text": text}}]);
    }
    if matches!(p.extent, Some(Extent::LocallyAdvancedUnresectable)) {
        r["note"] = json!([{"text": "unresectable"}]);
    }
    b.primary_ref = Some(b.add("primary", r, &Fact::Primary(p.clone())));
}

fn metastasis(b: &mut Builder, m: &Metastasis) {
    let mut r = json!({
        "resourceType": "Condition",
        "meta": {"profile": [format!("{MCODE}mcode-secondary-cancer-condition")]},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": concept(vec![coding(SNOMED, "128462008", "Secondary malignant neoplastic disease (disorder)")], None),
        "bodySite": [{"text": m.site}],
        "subject": b.subject(),
    });
    if let Some(d) = m.date {
        r["onsetDateTime"] = date(d);
    }
    b.add("metastasis", r, &Fact::Metastasis(m.clone()));
}

fn cldn18(b: &mut Builder, r: &Cldn18Result) {
    let mut o = b.observation(
        "mcode-tumor-marker-test",
        concept(
            Vec::new(),
            Some("Claudin 18.2 (CLDN18.2) immunohistochemistry"),
        ),
        r.specimen_date.map(|d| d.to_string()),
        r.preliminary,
    );
    let pct = |label: String, p: f64| json!({"code": {"text": label}, "valueQuantity": {"value": p, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}});
    let mut components = Vec::new();
    match &r.staining {
        Staining::PerIntensity(per) => {
            for (label, v) in [
                ("3+", per.three),
                ("2+", per.two),
                ("1+", per.one),
                ("0", per.zero),
            ] {
                if let Some(p) = v {
                    let name = if label == "0" {
                        "Tumour cells with 0 staining".to_owned()
                    } else {
                        format!("Tumour cells with {label} membranous staining")
                    };
                    components.push(pct(name, p.value()));
                }
            }
        }
        Staining::AtLeast { intensity, percent } => {
            components.push(json!({"code": {"text": "Staining intensity (at least)"}, "valueInteger": intensity.level()}));
            components.push(pct(
                "Tumour cells staining at or above that intensity".into(),
                percent.value(),
            ));
        }
        Staining::Negative => {
            o["valueCodeableConcept"] = concept(
                vec![coding(SNOMED, "260385009", "Negative (qualifier value)")],
                Some("negative"),
            );
        }
    }
    if let Some(c) = &r.clone {
        components.push(json!({"code": {"text": "Antibody clone"}, "valueString": c}));
    }
    if !components.is_empty() {
        o["component"] = Value::Array(components);
    }
    if let Some(s) = &r.specimen {
        o["note"] = json!([{"text": format!("specimen: {s}")}]);
    }
    b.add("cldn18", o, &Fact::Cldn18(r.clone()));
}

fn her2(b: &mut Builder, r: &Her2Result) {
    let mut o = b.observation(
        "mcode-tumor-marker-test",
        concept(
            vec![coding(LOINC, "48676-1", "HER2 [Interpretation] in Tissue")],
            Some("HER2"),
        ),
        r.date.map(|d| d.to_string()),
        r.preliminary,
    );
    if let Some(s) = r.interpretation {
        let (code, word) = match s {
            Her2Status::Positive => ("10828004", "Positive"),
            Her2Status::Negative => ("260385009", "Negative"),
            Her2Status::Equivocal => ("280416009", "Indeterminate"),
        };
        o["valueCodeableConcept"] = concept(
            vec![coding(SNOMED, code, word)],
            Some(if s == Her2Status::Equivocal {
                "equivocal"
            } else {
                word
            }),
        );
    }
    let mut components = Vec::new();
    if let Some(i) = r.ihc {
        components.push(json!({
            "code": concept(vec![coding(LOINC, "85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain")], Some("HER2 IHC")),
            "valueString": format!("IHC {i}"),
        }));
    }
    if let Some(i) = r.ish {
        components.push(json!({
            "code": concept(vec![coding(LOINC, "85318-4", "HER2 [Presence] in Breast cancer specimen by FISH")], Some("HER2 ISH")),
            "valueString": match i {
                IshResult::Amplified => "amplified",
                IshResult::NotAmplified => "not amplified",
                IshResult::Equivocal => "equivocal",
            },
        }));
    }
    if !components.is_empty() {
        o["component"] = Value::Array(components);
    }
    b.add("her2", o, &Fact::Her2(r.clone()));
}

fn msi(b: &mut Builder, r: &MsiResult) {
    let mut o = b.observation(
        "mcode-tumor-marker-test",
        concept(
            vec![coding(
                LOINC,
                "81695-9",
                "Microsatellite instability [Interpretation] in Cancer specimen Qualitative",
            )],
            None,
        ),
        r.date.map(|d| d.to_string()),
        false,
    );
    let text = match r.status {
        MsiStatus::MsiHigh => "MSI-high",
        MsiStatus::MsiLow => "MSI-low",
        MsiStatus::Mss => "microsatellite stable (MSS)",
        MsiStatus::Dmmr => "mismatch repair deficient (dMMR)",
        MsiStatus::Pmmr => "mismatch repair proficient (pMMR)",
    };
    o["valueCodeableConcept"] = json!({"text": text});
    b.add("msi", o, &Fact::Msi(r.clone()));
}

fn therapy(b: &mut Builder, t: &SystemicTherapy) {
    let mut r = json!({
        "resourceType": "MedicationAdministration",
        "meta": {"profile": [format!("{MCODE}mcode-cancer-related-medication-administration")]},
        "status": if t.end.is_some() || t.reason_stopped.is_some() { "completed" } else { "in-progress" },
        "medicationCodeableConcept": {"text": t.drug},
        "subject": b.subject(),
        "effectivePeriod": {"start": t.start.to_string()},
    });
    if let Some(e) = t.end {
        r["effectivePeriod"]["end"] = date(e);
    }
    let intent = match t.setting {
        TherapySetting::Curative
        | TherapySetting::Neoadjuvant
        | TherapySetting::Adjuvant
        | TherapySetting::Perioperative => Some(("373808002", "Curative - procedure intent")),
        TherapySetting::Advanced => Some(("363676003", "Palliative - procedure intent")),
        TherapySetting::Unknown => None,
    };
    if let Some((code, display)) = intent {
        r["extension"] = json!([{
            "url": format!("{MCODE}mcode-procedure-intent"),
            "valueCodeableConcept": {"coding": [coding(SNOMED, code, display)], "text": t.setting.label().en},
        }]);
    }
    if let Some(s) = t.reason_stopped {
        let text = match s {
            StopReason::Progression => "Disease progression",
            StopReason::Intolerance => "Treatment not tolerated",
            StopReason::Completed => "Treatment completed",
            StopReason::Other => "Stopped for another reason",
        };
        r["statusReason"] = json!([{"text": text}]);
    }
    if t.other_cancer.is_none()
        && let Some(p) = &b.primary_ref
    {
        r["reasonReference"] = json!([{"reference": p}]);
    } else if let Some(o) = &t.other_cancer {
        r["reasonCode"] = json!([{"text": o}]);
    }
    b.add("therapy", r, &Fact::Therapy(t.clone()));
}

fn lab(b: &mut Builder, l: &LabResult) {
    let mut o = b.observation(
        "mcode-tumor-marker-test",
        concept(vec![coding(LOINC, l.test.loinc(), l.test.name())], None),
        l.date.map(|d| d.to_string()),
        false,
    );
    o["meta"] = json!({"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab"]});
    o["valueQuantity"] = json!({"value": l.value, "unit": l.unit.code(), "system": "http://unitsofmeasure.org", "code": l.unit.code()});
    if let Some(u) = l.uln {
        o["referenceRange"] = json!([{"high": {"value": u, "unit": l.unit.code()}}]);
    }
    b.add("lab", o, &Fact::Lab(l.clone()));
}
