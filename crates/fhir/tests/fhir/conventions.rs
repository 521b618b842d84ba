// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! One example of every form in `shared/design/fhir-conventions.md`.

use cellpath_domain::{
    CancerSite, Extent, Her2Status, Histology, Intensity, LabTest, LineOutcome, MsiStatus,
    PartialDate, lines_of_therapy,
};
use cellpath_fhir::{ImportError, Options, Outcome, import, import_with};
use serde_json::{Value, json};

fn bundle(kind: &str, entries: Vec<(Option<&str>, Value)>) -> Vec<u8> {
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|(url, r)| match url {
            Some(u) => json!({"fullUrl": u, "resource": r}),
            None => json!({"resource": r}),
        })
        .collect();
    serde_json::to_vec(&json!({"resourceType": "Bundle", "type": kind, "entry": entry}))
        .expect("json")
}

fn patient() -> (Option<&'static str>, Value) {
    (
        Some("urn:uuid:p1"),
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1961-04", "gender": "male"}),
    )
}

fn obs(code: Value, rest: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final", "code": code,
        "subject": {"reference": "urn:uuid:p1"}});
    if let (Some(o), Some(r)) = (o.as_object_mut(), rest.as_object()) {
        o.extend(r.clone());
    }
    o
}

fn loinc(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": "http://loinc.org", "code": code, "display": display}]})
}

fn text(t: &str) -> Value {
    json!({"text": t})
}

fn gastric(extra: Value) -> Value {
    let mut c = json!({
        "resourceType": "Condition", "id": "c1",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C16.2"}]},
        "onsetDateTime": "2024-01-15",
        "subject": {"reference": "Patient/p1"},
        "extension": [{"url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
            "valueCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/icd-o-3", "code": "8490/3", "display": "Signet ring cell carcinoma"}]}}]
    });
    if let (Some(o), Some(r)) = (c.as_object_mut(), extra.as_object()) {
        o.extend(r.clone());
    }
    c
}

fn run(kind: &str, entries: Vec<(Option<&str>, Value)>) -> cellpath_fhir::Import {
    import(&bundle(kind, entries)).expect("imports")
}

#[test]
fn bundle_types_and_a_single_resource() {
    for kind in [
        "collection",
        "document",
        "transaction",
        "batch",
        "searchset",
    ] {
        let i = run(kind, vec![patient(), (None, gastric(json!({})))]);
        assert_eq!(
            i.case.primary.as_ref().and_then(|p| p.site),
            Some(CancerSite::Stomach),
            "{kind}"
        );
    }
    let single = serde_json::to_vec(&gastric(json!({}))).expect("json");
    let i = import(&single).expect("single resource");
    assert_eq!(
        i.case.primary.and_then(|p| p.histology),
        Some(Histology::SignetRingCell)
    );
}

#[test]
fn partial_dates_and_patient() {
    let i = run("collection", vec![patient()]);
    assert_eq!(
        i.case.patient.birth_date,
        Some(PartialDate::parse("1961-04").expect("date"))
    );
    let p = json!({"resourceType": "Patient", "birthDate": "1961"});
    let i = import(&serde_json::to_vec(&p).expect("json")).expect("import");
    assert_eq!(
        i.case.patient.birth_date.map(|d| d.to_string()).as_deref(),
        Some("1961")
    );
}

#[test]
fn sites_from_icd10_snomed_and_text() {
    let junction = gastric(
        json!({"code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C16.0"}]}}),
    );
    let i = run("collection", vec![patient(), (None, junction)]);
    assert_eq!(i.case.primary.and_then(|p| p.site), Some(CancerSite::Gej));

    let snomed = gastric(
        json!({"code": {"coding": [{"system": "http://snomed.info/sct", "code": "363349007", "display": "Malignant tumor of stomach (disorder)"}]}}),
    );
    let i = run("collection", vec![patient(), (None, snomed)]);
    assert_eq!(
        i.case.primary.and_then(|p| p.site),
        Some(CancerSite::Stomach)
    );

    let by_text = json!({"resourceType": "Condition", "code": {"text": "Adenocarcinoma of the gastro-oesophageal junction, locally advanced unresectable"}});
    let i = run("collection", vec![patient(), (None, by_text)]);
    let p = i.case.primary.expect("primary");
    assert_eq!(p.site, Some(CancerSite::Gej));
    assert_eq!(p.histology, Some(Histology::Adenocarcinoma));
    assert_eq!(p.extent, Some(Extent::LocallyAdvancedUnresectable));

    let squamous = gastric(
        json!({"code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C15.5"}]},
        "extension": [{"url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
            "valueCodeableConcept": {"coding": [{"code": "8070/3"}]}}]}),
    );
    let i = run("collection", vec![patient(), (None, squamous)]);
    let p = i.case.primary.expect("primary");
    assert_eq!(
        (p.site, p.histology),
        (Some(CancerSite::Oesophagus), Some(Histology::SquamousCell))
    );
}

#[test]
fn secondary_cancers_are_metastases_and_stage_iv_is_advanced() {
    let met = json!({"resourceType": "Condition",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C78.6", "display": "Secondary malignant neoplasm of retroperitoneum and peritoneum"}]},
        "bodySite": [{"text": "peritoneum"}], "onsetDateTime": "2024-06-01"});
    let i = run(
        "collection",
        vec![patient(), (None, gastric(json!({}))), (None, met)],
    );
    let mets = i.case.metastases.expect("metastases");
    assert_eq!(mets[0].site, "peritoneum");
    assert_eq!(
        i.case.progressions.len(),
        1,
        "a new metastasis is a progression event"
    );

    let staged = gastric(json!({"stage": [{"summary": {"text": "Stage IVB"}}]}));
    let i = run("collection", vec![patient(), (None, staged)]);
    assert_eq!(i.case.primary.and_then(|p| p.stage).as_deref(), Some("IVB"));

    let stage_obs = obs(
        loinc("21908-9", "Stage group.clinical Cancer"),
        json!({"valueCodeableConcept": {"text": "IV"}}),
    );
    let m1 = obs(
        loinc("21907-1", "Distant metastases.clinical [Class] Cancer"),
        json!({"valueCodeableConcept": {"coding": [{"code": "cM1"}]}}),
    );
    let i = run(
        "collection",
        vec![
            patient(),
            (None, gastric(json!({}))),
            (None, stage_obs),
            (None, m1),
        ],
    );
    let p = i.case.primary.expect("primary");
    assert_eq!(p.stage.as_deref(), Some("IV"));
    assert_eq!(p.extent, Some(Extent::Metastatic));
}

#[test]
fn refuted_and_entered_in_error_are_ignored() {
    let refuted = gastric(json!({"verificationStatus": {"coding": [{"code": "refuted"}]}}));
    let i = run("collection", vec![patient(), (None, refuted)]);
    assert!(i.case.primary.is_none());
    let mut wrong = obs(loinc("89247-1", "ECOG"), json!({"valueInteger": 1}));
    wrong["status"] = json!("entered-in-error");
    let i = run("collection", vec![patient(), (None, wrong)]);
    assert!(i.case.ecog.is_empty());
    assert!(
        i.report
            .resources
            .iter()
            .any(|r| r.outcome == Outcome::Skipped
                && r.detail.iter().any(|d| d.contains("entered-in-error")))
    );
}

#[test]
fn every_reference_style() {
    // A MedicationStatement whose drug lives in a contained Medication (#id), another whose
    // Medication is a separate entry by urn:uuid, one by relative and one by absolute URL.
    let contained = json!({"resourceType": "MedicationStatement", "status": "completed",
        "contained": [{"resourceType": "Medication", "id": "m1", "code": {"text": "Oxaliplatin 100 mg"}}],
        "medicationReference": {"reference": "#m1"},
        "effectivePeriod": {"start": "2024-02-01", "end": "2024-06-01"},
        "subject": {"reference": "urn:uuid:p1"}});
    let by_urn = json!({"resourceType": "MedicationStatement", "status": "completed",
        "medicationReference": {"reference": "urn:uuid:med-cape"},
        "effectivePeriod": {"start": "2024-02-01", "end": "2024-06-01"},
        "subject": {"reference": "Patient/p1"}});
    let cape = json!({"resourceType": "Medication", "id": "cape", "code": {"text": "Capecitabine 500 mg tablet"}});
    let by_relative = json!({"resourceType": "MedicationStatement", "status": "completed",
        "medicationReference": {"reference": "Medication/nivo"},
        "effectivePeriod": {"start": "2024-02-05", "end": "2024-06-01"},
        "subject": {"reference": "http://example.org/fhir/Patient/p1"}});
    let nivo = json!({"resourceType": "Medication", "id": "nivo", "code": {"text": "Nivolumab"}});
    let by_absolute = json!({"resourceType": "MedicationStatement", "status": "completed",
        "medicationReference": {"reference": "http://example.org/fhir/Medication/pacli/_history/2"},
        "effectivePeriod": {"start": "2024-07-01", "end": "2024-12-01"},
        "subject": {"reference": "urn:uuid:p1"}});
    let pacli = json!({"resourceType": "Medication", "id": "pacli", "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "56946", "display": "paclitaxel"}]}});
    let i = run(
        "collection",
        vec![
            patient(),
            (None, contained),
            (None, by_urn),
            (Some("urn:uuid:med-cape"), cape),
            (None, by_relative),
            (Some("http://example.org/fhir/Medication/nivo"), nivo),
            (None, by_absolute),
            (None, pacli),
        ],
    );
    let drugs: Vec<String> = i
        .case
        .therapies
        .expect("therapies")
        .iter()
        .map(|t| t.drug.clone())
        .collect();
    assert_eq!(
        drugs,
        ["oxaliplatin", "capecitabine", "nivolumab", "paclitaxel"]
    );
}

#[test]
fn resources_of_another_patient_are_skipped() {
    let other = (
        Some("urn:uuid:p2"),
        json!({"resourceType": "Patient", "id": "p2", "birthDate": "1990-01-01"}),
    );
    let theirs = obs(
        loinc("89247-1", "ECOG"),
        json!({"valueInteger": 3, "subject": {"reference": "urn:uuid:p2"}}),
    );
    let bytes = bundle("collection", vec![patient(), other, (None, theirs)]);
    let Err(ImportError::SeveralPatients { patients }) = import(&bytes) else {
        panic!("two patients must be refused");
    };
    assert_eq!(patients, ["Patient/p1", "Patient/p2"]);
    for wanted in ["Patient/p1", "p1", "urn:uuid:p1"] {
        let options = Options {
            patient: Some(wanted.into()),
            ..Options::default()
        };
        let i = import_with(&bytes, &options).expect("the named patient");
        assert!(i.case.ecog.is_empty(), "{wanted}");
        assert_eq!(i.case.patient.birth_date.map(|d| d.year()), Some(1961));
    }
    let options = Options {
        patient: Some("Patient/p2".into()),
        ..Options::default()
    };
    let i = import_with(&bytes, &options).expect("the other one");
    assert_eq!(i.case.ecog.len(), 1);
    let options = Options {
        patient: Some("Patient/p9".into()),
        ..Options::default()
    };
    assert!(matches!(
        import_with(&bytes, &options),
        Err(ImportError::NoSuchPatient { .. })
    ));
}

fn cldn18_of(o: Value) -> cellpath_domain::Cldn18Result {
    let i = run("collection", vec![patient(), (None, o)]);
    i.case
        .cldn18
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{:#?}", i.report))
}

fn pct_at_2(r: &cellpath_domain::Cldn18Result) -> (f64, f64) {
    let p = r.staining.percent_at_or_above(Intensity::TWO);
    (p.low, p.high)
}

#[test]
fn cldn18_intensity_and_percentage_components() {
    let o = obs(
        text("Claudin 18.2 IHC"),
        json!({"method": {"text": "VENTANA CLDN18 (43-14A)"},
        "effectiveDateTime": "2026-09-10",
        "component": [
            {"code": {"text": "Staining intensity"}, "valueInteger": 2},
            {"code": {"text": "Percentage of tumour cells"}, "valueQuantity": {"value": 60, "unit": "%"}}
        ]}),
    );
    let r = cldn18_of(o);
    assert_eq!(pct_at_2(&r), (60.0, 60.0));
    assert_eq!(r.clone.as_deref(), Some("VENTANA CLDN18 (43-14A)"));
    assert_eq!(
        r.specimen_date.map(|d| d.to_string()).as_deref(),
        Some("2026-09-10")
    );

    let as_string = obs(
        text("CLDN18 (43-14A)"),
        json!({"component": [
            {"code": {"text": "Staining intensity"}, "valueString": "3+"},
            {"code": {"text": "Percentage of tumour cells"}, "valueQuantity": {"value": 45, "unit": "%", "code": "%"}}
        ]}),
    );
    let r = cldn18_of(as_string);
    let p = r.staining.percent_at_or_above(Intensity::TWO);
    assert_eq!(
        (p.low, p.high),
        (45.0, 100.0),
        "45% at 3+ means at least 45% at ≥2+"
    );
}

#[test]
fn cldn18_per_intensity_components() {
    let o = obs(
        text("Claudin-18 isoform 2 immunohistochemistry"),
        json!({"specimen": {"reference": "Specimen/s1"}, "component": [
            {"code": {"text": "Tumour cells with 3+ membranous staining"}, "valueQuantity": {"value": 20, "unit": "%"}},
            {"code": {"text": "Tumour cells with 2+ membranous staining"}, "valueQuantity": {"value": 25, "unit": "%"}},
            {"code": {"text": "Tumour cells with 1+ membranous staining"}, "valueQuantity": {"value": 30, "unit": "%"}}
        ]}),
    );
    let specimen = json!({"resourceType": "Specimen", "id": "s1", "collection": {"collectedDateTime": "2026-08-30T09:00:00Z"}});
    let i = run("collection", vec![patient(), (None, o), (None, specimen)]);
    let r = &i.case.cldn18[0];
    assert_eq!(pct_at_2(r), (45.0, 45.0));
    assert_eq!(
        r.specimen_date.map(|d| d.to_string()).as_deref(),
        Some("2026-08-30")
    );
}

#[test]
fn cldn18_free_text_forms_and_most_recent() {
    for (t, want) in [
        ("2+ in 60% of tumour cells", (60.0, 60.0)),
        (
            "moderate-to-strong (2+/3+) membranous staining in 80% of tumour cells",
            (80.0, 80.0),
        ),
        ("3+ 10%, 2+ 20%, 1+ 40%, 0 30%", (30.0, 30.0)),
        ("Negative (0)", (0.0, 0.0)),
    ] {
        let r = cldn18_of(obs(text("CLDN18.2"), json!({"valueString": t})));
        assert_eq!(pct_at_2(&r), want, "{t}");
    }
    let bad = obs(text("CLDN18.2"), json!({"valueString": "4+ in 50%"}));
    let i = run("collection", vec![patient(), (None, bad)]);
    assert!(i.case.cldn18.is_empty());
    assert!(
        i.report
            .resources
            .iter()
            .any(|r| r.detail.iter().any(|d| d.contains("4+")))
    );

    let prelim = {
        let mut o = obs(
            text("CLDN18.2"),
            json!({"valueString": "2+ in 50%", "effectiveDateTime": "2026-01-01"}),
        );
        o["status"] = json!("preliminary");
        o
    };
    let i = run("collection", vec![patient(), (None, prelim)]);
    assert!(i.case.cldn18[0].preliminary);
    assert!(
        i.report
            .resources
            .iter()
            .any(|r| r.outcome == Outcome::Flagged)
    );
}

fn her2_status(entries: Vec<Value>) -> Option<Her2Status> {
    let mut all = vec![patient()];
    all.extend(entries.into_iter().map(|e| (None, e)));
    let i = run("collection", all);
    let mut results = i.case.her2;
    results.sort_by_key(|r| r.date.map(|d| d.latest()));
    results.last().and_then(|r| r.status())
}

#[test]
fn her2_every_form() {
    let when = json!({"effectiveDateTime": "2024-01-20"});
    let interp = |v: &str| {
        obs(
            loinc("48676-1", "HER2 [Interpretation] in Tissue"),
            json!({"valueCodeableConcept": {"text": v}, "effectiveDateTime": "2024-01-20"}),
        )
    };
    assert_eq!(
        her2_status(vec![interp("Negative")]),
        Some(Her2Status::Negative)
    );
    assert_eq!(
        her2_status(vec![interp("Positive")]),
        Some(Her2Status::Positive)
    );
    assert_eq!(
        her2_status(vec![interp("Equivocal")]),
        Some(Her2Status::Equivocal)
    );

    let ihc = |v: &str| {
        let mut o = obs(
            loinc("85319-2", "HER2 [Presence] in Tissue by Immune stain"),
            when.clone(),
        );
        o["valueCodeableConcept"] = json!({"text": v});
        o
    };
    let ish = |v: &str| {
        let mut o = obs(
            loinc("85318-4", "HER2 [Presence] in Tissue by FISH"),
            when.clone(),
        );
        o["valueCodeableConcept"] = json!({"text": v});
        o
    };
    assert_eq!(her2_status(vec![ihc("1+")]), Some(Her2Status::Negative));
    assert_eq!(her2_status(vec![ihc("3+")]), Some(Her2Status::Positive));
    assert_eq!(her2_status(vec![ihc("2+")]), Some(Her2Status::Equivocal));
    assert_eq!(
        her2_status(vec![ihc("2+"), ish("Amplified")]),
        Some(Her2Status::Positive)
    );
    assert_eq!(
        her2_status(vec![ihc("2+"), ish("Not amplified")]),
        Some(Her2Status::Negative)
    );
    // By text, without LOINC.
    let by_text = obs(
        text("HER2 IHC"),
        json!({"valueString": "Score 0", "effectiveDateTime": "2024-01-20"}),
    );
    assert_eq!(her2_status(vec![by_text]), Some(Her2Status::Negative));
}

#[test]
fn ecog_msi_and_labs() {
    let int = obs(
        loinc("89247-1", "ECOG Performance Status score"),
        json!({"valueInteger": 1, "effectiveDateTime": "2026-10-01"}),
    );
    let answer = obs(
        loinc("89247-1", "ECOG"),
        json!({"valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA9624-3"}]}, "effectiveDateTime": "2026-11-01"}),
    );
    let invalid = obs(loinc("89247-1", "ECOG"), json!({"valueInteger": 7}));
    let msi = obs(
        loinc("81695-9", "Microsatellite instability"),
        json!({"valueCodeableConcept": {"text": "Stable"}}),
    );
    let plt = obs(
        loinc("777-3", "Platelets"),
        json!({"valueQuantity": {"value": 180, "unit": "10*3/uL"}, "referenceRange": [{"high": {"value": 400}}], "effectiveDateTime": "2026-11-02"}),
    );
    let odd = obs(
        loinc("718-7", "Hemoglobin"),
        json!({"valueQuantity": {"value": 7.1, "unit": "mmol/L"}}),
    );
    let i = run(
        "collection",
        vec![
            patient(),
            (None, int),
            (None, answer),
            (None, invalid),
            (None, msi),
            (None, plt),
            (None, odd),
        ],
    );
    let scores: Vec<u8> = i.case.ecog.iter().map(|e| e.score.score()).collect();
    assert_eq!(scores, [1, 2]);
    assert_eq!(i.case.msi[0].status, MsiStatus::Mss);
    assert_eq!(i.case.labs.len(), 1);
    assert_eq!(i.case.labs[0].test, LabTest::Platelets);
    assert_eq!(i.case.labs[0].uln, Some(400.0));
    let skipped: Vec<&String> = i
        .report
        .resources
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped)
        .flat_map(|r| &r.detail)
        .collect();
    assert!(skipped.iter().any(|d| d.contains("ECOG")), "{skipped:?}");
    assert!(skipped.iter().any(|d| d.contains("mmol/L")), "{skipped:?}");
}

fn med(kind: &str, drug: &str, start: &str, end: Option<&str>) -> Value {
    let mut m = json!({"resourceType": kind, "status": "completed",
        "medicationCodeableConcept": {"text": drug}, "subject": {"reference": "urn:uuid:p1"}});
    match (kind, end) {
        ("MedicationRequest", _) => {
            m["authoredOn"] = json!(start);
            if let Some(e) = end {
                m["dispenseRequest"] = json!({"validityPeriod": {"start": start, "end": e}});
            }
        }
        (_, Some(e)) => m["effectivePeriod"] = json!({"start": start, "end": e}),
        (_, None) => m["effectiveDateTime"] = json!(start),
    }
    m
}

fn progression(date: &str) -> Value {
    obs(
        loinc("97509-4", "Cancer disease status"),
        json!({"effectiveDateTime": date, "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "271299001", "display": "Patient's condition worsened"}]}}),
    )
}

#[test]
fn lines_of_therapy_from_medications() {
    let entries = vec![
        patient(),
        (None, gastric(json!({}))),
        (
            None,
            med(
                "MedicationStatement",
                "oxaliplatin",
                "2024-02-01",
                Some("2024-07-01"),
            ),
        ),
        (
            None,
            med(
                "MedicationRequest",
                "capecitabine",
                "2024-02-03",
                Some("2024-07-01"),
            ),
        ),
        (
            None,
            med("MedicationAdministration", "nivolumab", "2024-02-10", None),
        ),
        (
            None,
            med(
                "MedicationStatement",
                "acetaminophen 500 mg",
                "2024-02-10",
                None,
            ),
        ),
        (None, progression("2024-07-20")),
        (
            None,
            med(
                "MedicationStatement",
                "paclitaxel",
                "2024-08-01",
                Some("2024-12-20"),
            ),
        ),
        (
            None,
            med(
                "MedicationStatement",
                "ramucirumab",
                "2024-08-01",
                Some("2024-12-20"),
            ),
        ),
        (None, progression("2025-01-05")),
    ];
    let i = run("collection", entries);
    let lot = lines_of_therapy(&i.case).expect("lines");
    assert!(lot.derived);
    assert_eq!(lot.count(), 2);
    assert_eq!(
        lot.lines[0].drugs,
        ["oxaliplatin", "capecitabine", "nivolumab"]
    );
    assert_eq!(lot.lines[1].outcome, LineOutcome::Progression);
    assert!(i.report.notes.iter().any(|n| n.contains("confirmed")));
    assert!(
        i.report
            .resources
            .iter()
            .any(|r| r.detail.iter().any(|d| d.contains("acetaminophen")))
    );
}

#[test]
fn adjuvant_therapy_with_early_relapse_counts_as_a_line() {
    let mut adjuvant = med(
        "MedicationStatement",
        "capecitabine",
        "2023-01-10",
        Some("2023-06-30"),
    );
    adjuvant["reasonCode"] = json!([{"text": "adjuvant chemotherapy after gastrectomy"}]);
    let entries = vec![
        patient(),
        (None, gastric(json!({}))),
        (None, adjuvant),
        (None, progression("2023-10-01")),
        (
            None,
            med(
                "MedicationStatement",
                "oxaliplatin",
                "2023-10-20",
                Some("2024-03-01"),
            ),
        ),
    ];
    let i = run("collection", entries);
    let lot = lines_of_therapy(&i.case).expect("lines");
    assert_eq!(lot.count(), 2);
}

#[test]
fn malformed_json_names_line_and_column() {
    let err =
        import(b"{\n  \"resourceType\": \"Bundle\",\n  \"entry\": [\n}").expect_err("malformed");
    let ImportError::Json { line, column, .. } = err else {
        panic!("{err:?}");
    };
    assert_eq!((line, column), (4, 1));
    assert!(import(b"").is_err());
}

#[test]
fn drugs_coded_only_with_rxnorm_or_atc_or_named_in_chinese_are_recognised() {
    let admin = |id: &str, concept: Value| {
        json!({"resourceType": "MedicationAdministration", "id": id, "status": "completed",
            "subject": {"reference": "urn:uuid:p1"},
            "effectivePeriod": {"start": "2025-02-01", "end": "2025-05-01"},
            "medicationCodeableConcept": concept})
    };
    let i = run(
        "collection",
        vec![
            patient(),
            (
                None,
                admin(
                    "rx",
                    json!({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1736776"}]}),
                ),
            ),
            (
                None,
                admin(
                    "atc",
                    json!({"coding": [{"system": "http://www.whocc.no/atc", "code": "L01XC21"}]}),
                ),
            ),
            (None, admin("zh", json!({"text": "卡培他滨片 500mg"}))),
            (
                None,
                admin(
                    "ncit",
                    json!({"coding": [{"system": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", "code": "C70792"}]}),
                ),
            ),
            (
                None,
                admin(
                    "unknown",
                    json!({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "313782"}], "text": "Drug X"}),
                ),
            ),
        ],
    );
    let drugs: Vec<&str> = i
        .case
        .therapies
        .as_ref()
        .expect("therapies")
        .iter()
        .map(|t| t.drug.as_str())
        .collect();
    assert!(drugs.contains(&"oxaliplatin"), "{drugs:?}");
    assert!(drugs.contains(&"capecitabine"), "{drugs:?}");
    assert!(drugs.contains(&"ATC L01XC21"), "{drugs:?}");
    assert!(drugs.contains(&"ramucirumab"), "NCIt-coded: {drugs:?}");
    assert_eq!(drugs.len(), 4, "{drugs:?}");
    // An unrecognised code is reported with the code, for the coordinator to map.
    let skipped = i
        .report
        .resources
        .iter()
        .find(|r| r.detail.iter().any(|d| d.contains("313782")))
        .expect("the unknown code is reported");
    assert_eq!(skipped.outcome, Outcome::Skipped);
    assert!(
        skipped.detail.iter().any(|d| d.contains("RxNorm 313782")),
        "{:?}",
        skipped.detail
    );
}

/// The clinical review's vignette (issue 27, item 6): CAPOX, then progression, then
/// RxNorm-coded paclitaxel and a second drug coded only with a code the table does not know,
/// both given for the cancer. Paclitaxel is recognised by its ingredient code; the unknown
/// one is kept as unidentified, so the count is "1 to 2", never a definite "1 prior line".
#[test]
fn an_unidentified_medication_given_for_the_cancer_leaves_the_count_open() {
    let rx = "http://www.nlm.nih.gov/research/umls/rxnorm";
    let admin = |id: &str, concept: Value, reason: bool| {
        let mut m = json!({"resourceType": "MedicationAdministration", "id": id, "status": "completed",
            "subject": {"reference": "urn:uuid:p1"},
            "effectivePeriod": {"start": "2024-08-05", "end": "2024-12-20"},
            "medicationCodeableConcept": concept});
        if reason {
            m["reasonReference"] = json!([{"reference": "Condition/c1"}]);
        }
        m
    };
    let entries = vec![
        patient(),
        (Some("Condition/c1"), gastric(json!({}))),
        (
            None,
            med(
                "MedicationStatement",
                "oxaliplatin",
                "2024-02-01",
                Some("2024-07-01"),
            ),
        ),
        (
            None,
            med(
                "MedicationStatement",
                "capecitabine",
                "2024-02-01",
                Some("2024-07-01"),
            ),
        ),
        (None, progression("2024-07-20")),
        (
            None,
            admin(
                "pac",
                json!({"coding": [{"system": rx, "code": "56946"}]}),
                true,
            ),
        ),
        (
            None,
            admin(
                "ram",
                json!({"coding": [{"system": rx, "code": "1597574"}]}),
                true,
            ),
        ),
        // Not given for the cancer: a drug for something else is skipped, as before.
        (
            None,
            admin(
                "other",
                json!({"coding": [{"system": rx, "code": "313782"}]}),
                false,
            ),
        ),
    ];
    let i = run("collection", entries);
    let therapies = i.case.therapies.as_ref().expect("therapies");
    assert!(
        therapies
            .iter()
            .any(|t| t.drug == "paclitaxel" && !t.unidentified)
    );
    let unknown: Vec<_> = therapies.iter().filter(|t| t.unidentified).collect();
    assert_eq!(unknown.len(), 1, "{therapies:?}");
    assert!(unknown[0].drug.contains("1597574"), "{:?}", unknown[0]);
    assert!(!therapies.iter().any(|t| t.drug.contains("313782")));
    let lot = lines_of_therapy(&i.case).expect("lines");
    assert_eq!(lot.count(), 2, "paclitaxel after progression is line 2");
    // Within 28 days of paclitaxel: part of line 2, so the count stays 2.
    assert_eq!(lot.count_range(), (2, 2));
    let flagged = i
        .report
        .resources
        .iter()
        .find(|r| r.detail.iter().any(|d| d.contains("1597574")))
        .expect("reported");
    assert_eq!(flagged.outcome, Outcome::Flagged, "{:?}", flagged.detail);

    // Alone after the first line, the unknown drug may be a second line: the count is open.
    let entries = vec![
        patient(),
        (Some("Condition/c1"), gastric(json!({}))),
        (
            None,
            med(
                "MedicationStatement",
                "oxaliplatin",
                "2024-02-01",
                Some("2024-07-01"),
            ),
        ),
        (None, progression("2024-07-20")),
        (
            None,
            admin(
                "ram",
                json!({"coding": [{"system": rx, "code": "1597574"}]}),
                true,
            ),
        ),
    ];
    let i = run("collection", entries);
    let lot = lines_of_therapy(&i.case).expect("lines");
    assert_eq!(lot.count_range(), (1, 2));
    assert!(lot.last_line_uncertain());
}
