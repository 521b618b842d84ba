//! The ways real records broke the importer (issue 9), each on a small fixture kept in
//! `tests/data/fhir/realistic/` (provenance in `tests/data/PROVENANCE.md`).

use std::path::{Path, PathBuf};

use cellpath_domain::{
    CancerSite, CancerStatus, Extent, Her2Status, LabTest, MsiStatus, StopReason, TherapySetting,
    Unit, lines_of_therapy,
};
use cellpath_fhir::{Import, ImportError, Options, Outcome, import, import_with};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(rel)
}

fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).expect(rel)
}

fn load(rel: &str) -> Import {
    import(&bytes(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn with_patient(rel: &str, patient: &str) -> Import {
    let options = Options {
        patient: Some(patient.into()),
        ..Options::default()
    };
    import_with(&bytes(rel), &options).unwrap_or_else(|e| panic!("{rel} {patient}: {e}"))
}

fn details(i: &Import, pointer_part: &str) -> Vec<String> {
    i.report
        .resources
        .iter()
        .filter(|r| {
            r.pointer.contains(pointer_part)
                || r.id.as_deref() == Some(pointer_part)
                || r.full_url
                    .as_deref()
                    .is_some_and(|u| u.ends_with(pointer_part))
        })
        .flat_map(|r| r.detail.clone())
        .collect()
}

#[test]
fn two_subjects_without_a_patient_resource_are_refused_with_the_list() {
    let err = import(&bytes("fhir/realistic/two-subjects-no-patient.json")).expect_err("two");
    assert_eq!(
        err,
        ImportError::SeveralPatients {
            patients: vec!["Patient/a".into(), "Patient/b".into()]
        }
    );
    assert!(err.to_string().contains("--patient"), "{err}");
    let b = with_patient("fhir/realistic/two-subjects-no-patient.json", "Patient/b");
    assert_eq!(b.case.ecog.len(), 1);
    assert_eq!(b.case.ecog[0].score.score(), 3);
    assert_eq!(b.case.labs.len(), 1);
    assert_eq!(b.case.therapies.as_ref().map(Vec::len), Some(1));
    let a = with_patient("fhir/realistic/two-subjects-no-patient.json", "a");
    assert_eq!(a.case.ecog[0].score.score(), 1);
    assert_eq!(
        a.case.therapies, None,
        "patient b's drug is not patient a's"
    );
}

#[test]
fn nested_bundles_for_several_patients_are_refused() {
    let err = import(&bytes("fhir/realistic/nested-bundles.json")).expect_err("three");
    let ImportError::SeveralPatients { patients } = err else {
        panic!("{err:?}");
    };
    assert_eq!(patients, ["Patient/1", "Patient/2", "Patient/3"]);
    let two = with_patient("fhir/realistic/nested-bundles.json", "Patient/2");
    assert_eq!(two.case.ecog.len(), 1);
    assert_eq!(two.case.ecog[0].score.score(), 2);
}

#[test]
fn therapies_for_another_cancer_are_shown_not_counted() {
    let i = load("fhir/realistic/two-primary-cancers.json");
    let p = i.case.primary.as_ref().expect("primary");
    assert_eq!(
        p.site,
        Some(CancerSite::Lung),
        "the active cancer is evaluated"
    );
    let therapies = i.case.therapies.as_ref().expect("therapies");
    assert_eq!(therapies.len(), 4, "all shown");
    let other: Vec<&str> = therapies
        .iter()
        .filter(|t| t.other_cancer.is_some())
        .map(|t| t.drug.as_str())
        .collect();
    assert_eq!(other, ["docetaxel", "oxaliplatin"]);
    let lines = lines_of_therapy(&i.case).expect("lines");
    assert_eq!(lines.count(), 1, "{lines:#?}");
    assert!(
        details(&i, "c-prostate")
            .iter()
            .any(|d| d.contains("resolved cancer")),
        "{:#?}",
        i.report
    );
}

#[test]
fn with_several_cancers_and_no_link_the_coordinator_is_asked() {
    let mut v: serde_json::Value =
        serde_json::from_slice(&bytes("fhir/realistic/two-primary-cancers.json")).expect("json");
    for e in v["entry"].as_array_mut().expect("entries") {
        if let Some(o) = e["resource"].as_object_mut() {
            o.remove("reasonReference");
        }
    }
    let i = cellpath_fhir::import_value(&v).expect("imports");
    assert!(
        i.report
            .notes
            .iter()
            .any(|n| n.contains("must confirm which cancer")),
        "{:#?}",
        i.report.notes
    );
    assert_eq!(i.report.count(Outcome::Flagged), 4);
}

#[test]
fn a_resolved_primary_is_history_not_the_cancer_under_evaluation() {
    // A real Synthea record: the primary colon cancer is resolved, with an abatement date.
    let i = load("fhir/synthea/colon-resolved.json");
    assert_eq!(i.case.primary, None, "{:#?}", i.case.primary);
    assert!(
        i.report
            .notes
            .iter()
            .any(|n| n.contains("every primary cancer in the record is resolved")),
        "{:#?}",
        i.report.notes
    );
}

#[test]
fn mcode_staging_and_remission_are_read() {
    let i = load("fhir/realistic/mcode-staging.json");
    let p = i.case.primary.as_ref().expect("primary");
    assert_eq!(p.site, Some(CancerSite::Breast));
    // The condition's own stage summary (a SNOMED CT qualifier value) wins over the
    // stage-group observation.
    assert_eq!(p.stage.as_deref(), Some("IIIC"));
    assert_eq!(p.status, Some(CancerStatus::Remission));
    assert_eq!(
        p.extent,
        Some(Extent::Metastatic),
        "cM1 makes the case metastatic"
    );
    let stage_group = details(&i, "tnm-clinical-stage-group-jenny-m");
    assert!(
        stage_group.iter().any(|d| d == "stage group IIB"),
        "{stage_group:?}"
    );
    let t = details(&i, "tnm-clinical-primary-tumor-category-jenny-m");
    assert!(t.iter().any(|d| d.contains("cT3")), "{t:?}");
}

#[test]
fn a_stage_group_observation_alone_sets_the_stage() {
    let mut v: serde_json::Value =
        serde_json::from_slice(&bytes("fhir/realistic/mcode-staging.json")).expect("json");
    v["entry"][1]["resource"]
        .as_object_mut()
        .expect("condition")
        .remove("stage");
    let i = cellpath_fhir::import_value(&v).expect("imports");
    assert_eq!(i.case.primary.and_then(|p| p.stage).as_deref(), Some("IIB"));
}

#[test]
fn repeated_entries_count_once_and_conflicts_are_flagged() {
    let i = load("fhir/realistic/repeated-entries.json");
    assert_eq!(i.case.therapies.as_ref().map(Vec::len), Some(1));
    assert!(i.case.primary.is_some());
    let repeats = i
        .report
        .resources
        .iter()
        .filter(|r| r.detail.iter().any(|d| d.starts_with("repeated entry")))
        .count();
    assert_eq!(
        repeats,
        2 + 4,
        "two repeated conditions, four repeated therapies"
    );
    assert!(
        !i.report.resources.iter().any(|r| r
            .detail
            .iter()
            .any(|d| d.contains("another primary cancer"))),
        "a condition is not reported as another cancer beside itself"
    );
    assert_eq!(i.case.ecog.len(), 1, "the conflicting copy is not used");
    assert_eq!(i.case.ecog[0].score.score(), 1);
    let first = i
        .report
        .resources
        .iter()
        .find(|r| r.id.as_deref() == Some("ecog-1") && r.outcome != Outcome::Skipped)
        .expect("the first ECOG");
    assert_eq!(first.outcome, Outcome::Flagged);
}

#[test]
fn curative_intent_and_not_tolerated_are_read() {
    let i = load("fhir/realistic/intent-and-stop-reason.json");
    let t = i.case.therapies.as_ref().expect("therapies");
    let ida = t
        .iter()
        .find(|t| t.drug == "idarubicin")
        .expect("idarubicin");
    assert_eq!(ida.setting, TherapySetting::Curative);
    let tam = t.iter().find(|t| t.drug == "tamoxifen").expect("tamoxifen");
    assert_eq!(tam.setting, TherapySetting::Advanced);
    assert_eq!(tam.reason_stopped, Some(StopReason::Intolerance));
    let lines = lines_of_therapy(&i.case).expect("lines");
    assert_eq!(lines.count(), 1, "{lines:#?}");
}

#[test]
fn a_deceased_patient_is_said_first() {
    let i = load("fhir/realistic/deceased.json");
    assert!(i.case.patient.deceased);
    assert_eq!(
        i.case
            .patient
            .deceased_date
            .map(|d| d.to_string())
            .as_deref(),
        Some("2025-09-14")
    );
    assert!(
        i.report.notes[0].contains("HAS DIED"),
        "{:?}",
        i.report.notes
    );
}

#[test]
fn coded_values_are_read() {
    let i = load("fhir/realistic/coded-values.json");
    let c = &i.case;
    let p = c
        .primary
        .as_ref()
        .expect("the mCODE primary profile wins over the text");
    assert_eq!(p.site, Some(CancerSite::Stomach));
    assert_eq!(c.metastases, None);
    assert_eq!(c.her2.len(), 1);
    assert_eq!(c.her2[0].interpretation, Some(Her2Status::Positive));
    assert_eq!(c.msi.len(), 1);
    assert_eq!(c.msi[0].status, MsiStatus::MsiHigh);
    let hb = c
        .labs
        .iter()
        .find(|l| l.test == LabTest::Haemoglobin)
        .expect("Hb");
    assert_eq!((hb.value, hb.unit), (9.8, Unit::GramsPerDecilitre));
    assert!(
        c.labs
            .iter()
            .any(|l| l.test == LabTest::Neutrophils && l.value == 2.1)
    );
    assert!(c.labs.iter().any(|l| l.test == LabTest::Creatinine));
    let t = c.therapies.as_ref().expect("therapies");
    assert_eq!(t[0].drug, "idarubicin");
    assert!(
        c.ecog.is_empty(),
        "a modifierExtension makes the resource unusable"
    );
    let why = details(&i, "cv-mod");
    assert!(
        why.iter().any(|d| d.contains("modifierExtension")),
        "{why:?}"
    );
}

#[test]
fn refusals_say_what_the_input_is() {
    let xml =
        br#"<?xml version="1.0"?><Patient xmlns="http://hl7.org/fhir"><id value="x"/></Patient>"#;
    assert_eq!(import(xml).expect_err("xml"), ImportError::Xml);
    let stu3 = br#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"ProcedureRequest","id":"x"}}]}"#;
    assert!(matches!(
        import(stu3).expect_err("stu3"),
        ImportError::NotR4 {
            version: "STU3",
            ..
        }
    ));
    let dstu2 = br#"{"resourceType":"MedicationOrder","id":"x"}"#;
    assert!(matches!(
        import(dstu2).expect_err("dstu2"),
        ImportError::NotR4 {
            version: "DSTU2",
            ..
        }
    ));
    assert_eq!(
        import(br#"[{"resourceType":"Patient"}]"#).expect_err("array"),
        ImportError::Array
    );
    let ndjson = b"{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"b\"}\n";
    assert!(matches!(
        import(ndjson).expect_err("ndjson"),
        ImportError::Ndjson { .. }
    ));
    let options = Options {
        max_input_bytes: 10,
        ..Options::default()
    };
    assert_eq!(
        import_with(br#"{"resourceType":"Patient"}"#, &options).expect_err("size"),
        ImportError::TooLarge {
            size: 26,
            limit: 10
        }
    );
}

/// Found by the fuzz target (export → import must give the same case): per-intensity
/// percentages adding past 100 % were imported although the record format refuses them.
#[test]
fn cldn18_percentages_past_100_are_skipped_with_the_reason() {
    let pct = |label: &str, v: f64| {
        serde_json::json!({"code": {"text": format!("Tumour cells with {label} membranous staining")},
            "valueQuantity": {"value": v, "unit": "%", "code": "%"}})
    };
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p"}},
        {"resource": {"resourceType": "Observation", "status": "final",
            "code": {"text": "Claudin 18.2 IHC"}, "subject": {"reference": "urn:uuid:p"},
            "component": [pct("3+", 20.0), pct("2+", 85.0), pct("1+", 25.0)]}}
    ]});
    let i = cellpath_fhir::import_value(&bundle).expect("imports");
    assert!(i.case.cldn18.is_empty());
    assert!(
        i.report
            .resources
            .iter()
            .any(|r| r.detail.iter().any(|d| d.contains("more than 100%"))),
        "{:#?}",
        i.report
    );
}
