//! FHIR out: a case exported as an mCODE STU4 bundle re-imports unchanged (every example in
//! `examples/`, and generated cases), and the standard elements alone carry the core facts.

use std::path::Path;

use cellpath_domain::{
    CancerSite, CancerStatus, Case, Cldn18Result, ConfirmedLine, Ecog, EcogResult, Extent,
    Her2Result, Her2Status, Histology, Intensity, IshResult, LabResult, LabTest, LineOutcome,
    Metastasis, MsiResult, MsiStatus, PartialDate, Patient, Pdl1Result, PerIntensity, Percent,
    PrimaryCancer, ProgressionEvent, Sex, Staining, StopReason, SystemicTherapy, TherapySetting,
    Unit, native,
};
use cellpath_fhir::{export, import};
use proptest::prelude::*;
use serde_json::Value;

fn round_trip(case: &Case) -> Case {
    let bundle = serde_json::to_vec(&export(case)).expect("json");
    import(&bundle)
        .unwrap_or_else(|e| panic!("the export does not import: {e}"))
        .case
}

#[test]
fn every_example_case_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cases");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/cases") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let case = native::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert_eq!(round_trip(&case), case, "{}", path.display());
        n += 1;
    }
    assert!(n >= 3);
    // The FHIR example too, once imported.
    let bundle = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fhir/gastric-bundle.json"),
    )
    .expect("read");
    let case = import(&bundle).expect("imports").case;
    assert_eq!(round_trip(&case), case);
}

/// Removes cellpath's own extension, leaving what any FHIR system would read.
fn strip_cellpath(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(xs)) = o.get_mut("extension") {
                xs.retain(|x| {
                    x.get("url").and_then(Value::as_str) != Some(cellpath_fhir::FACT_EXTENSION)
                });
            }
            o.values_mut().for_each(strip_cellpath);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_cellpath),
        _ => {}
    }
}

#[test]
fn the_standard_elements_alone_carry_the_core_facts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cases");
    let text = std::fs::read_to_string(dir.join("gastric-cldn18-eligible.toml")).expect("read");
    let case = native::from_toml(&text).expect("case");
    let mut bundle = export(&case);
    strip_cellpath(&mut bundle);
    assert!(
        !serde_json::to_string(&bundle)
            .expect("json")
            .contains("cellpath-fact")
    );
    let back = cellpath_fhir::import_value(&bundle).expect("imports").case;
    let p = back.primary.as_ref().expect("primary");
    let q = case.primary.as_ref().expect("primary");
    assert_eq!(p.site, q.site);
    assert_eq!(p.stage, q.stage);
    assert_eq!(p.diagnosed, q.diagnosed);
    assert_eq!(back.patient.birth_date, case.patient.birth_date);
    assert_eq!(back.patient.sex, case.patient.sex);
    assert_eq!(
        back.cldn18.iter().map(|r| &r.staining).collect::<Vec<_>>(),
        case.cldn18.iter().map(|r| &r.staining).collect::<Vec<_>>()
    );
    assert_eq!(back.cldn18[0].clone, case.cldn18[0].clone);
    assert_eq!(
        back.ecog.iter().map(|e| e.score).collect::<Vec<_>>(),
        case.ecog.iter().map(|e| e.score).collect::<Vec<_>>()
    );
    let drugs = |c: &Case| {
        c.therapies
            .iter()
            .flatten()
            .map(|t| (t.drug.clone(), t.start, t.end))
            .collect::<Vec<_>>()
    };
    assert_eq!(drugs(&back), drugs(&case));
    assert_eq!(
        back.labs
            .iter()
            .map(|l| (l.test, l.value, l.unit))
            .collect::<Vec<_>>(),
        case.labs
            .iter()
            .map(|l| (l.test, l.value, l.unit))
            .collect::<Vec<_>>()
    );
    assert_eq!(back.her2.len(), case.her2.len());
    for (a, b) in back.her2.iter().zip(&case.her2) {
        assert_eq!((a.ihc, a.ish), (b.ihc, b.ish));
    }
}

#[test]
fn every_resource_names_its_source() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cases");
    let text = std::fs::read_to_string(dir.join("gastric-cldn18-eligible.toml")).expect("read");
    let case = native::from_toml(&text).expect("case");
    let bundle = export(&case);
    let entries = bundle["entry"].as_array().expect("entries");
    assert!(entries.len() > 8);
    for e in entries {
        let r = &e["resource"];
        let fact = r["extension"]
            .as_array()
            .and_then(|x| x.iter().find(|x| x["url"] == cellpath_fhir::FACT_EXTENSION))
            .unwrap_or_else(|| panic!("{r}"));
        let value: Value =
            serde_json::from_str(fact["valueString"].as_str().expect("string")).expect("json");
        assert!(value["kind"].is_string(), "{value}");
    }
    let text = serde_json::to_string(&bundle).expect("json");
    assert!(
        text.contains("Pathology report"),
        "the record's sources travel with the facts"
    );
    assert!(text.contains("mcode-primary-cancer-condition"));
    assert!(text.contains("mcode-tumor-marker-test"));
}

fn date() -> impl Strategy<Value = PartialDate> {
    (1990i32..2027, proptest::option::of(1u32..13), 1u32..29).prop_map(|(y, m, d)| {
        let text = match m {
            Some(m) if d % 3 == 0 => format!("{y}-{m:02}"),
            Some(m) => format!("{y}-{m:02}-{d:02}"),
            None => format!("{y}"),
        };
        PartialDate::parse(&text).expect("date")
    })
}

fn full_date() -> impl Strategy<Value = cellpath_domain::Date> {
    (1990i32..2027, 1u32..13, 1u32..29).prop_map(|(y, m, d)| {
        cellpath_domain::Date::parse(&format!("{y}-{m:02}-{d:02}")).expect("date")
    })
}

fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop::sample::select(vec![
        "Pathology report PA-24-0113",
        "CT 2025-01-15",
        "病理报告 2024",
        "letter from Dr Wu, \"quoted\"",
    ]))
    .prop_map(|s| s.map(str::to_owned))
}

fn percent() -> impl Strategy<Value = Percent> {
    (0u32..=100).prop_map(|p| Percent::new(f64::from(p)).expect("percent"))
}

fn staining() -> impl Strategy<Value = Staining> {
    prop_oneof![
        Just(Staining::Negative),
        (1u8..4, percent()).prop_map(|(i, p)| Staining::AtLeast {
            intensity: Intensity::new(i).expect("i"),
            percent: p
        }),
        (
            proptest::option::of(0u32..40),
            proptest::option::of(0u32..30),
            proptest::option::of(0u32..30)
        )
            .prop_filter("some level", |(a, b, c)| a.is_some()
                || b.is_some()
                || c.is_some())
            .prop_map(|(a, b, c)| {
                let p = |v: Option<u32>| v.map(|v| Percent::new(f64::from(v)).expect("p"));
                Staining::PerIntensity(PerIntensity {
                    three: p(a),
                    two: p(b),
                    one: p(c),
                    zero: None,
                })
            }),
    ]
}

prop_compose! {
    fn case()(
        birth in proptest::option::of(date()),
        sex in proptest::option::of(prop::sample::select(vec![Sex::Female, Sex::Male, Sex::Other, Sex::Unknown])),
        deceased in proptest::option::of(proptest::option::of(date())),
        label in text(),
        primary in proptest::option::of((
            proptest::option::of(prop::sample::select(vec![CancerSite::Stomach, CancerSite::Gej, CancerSite::Pancreas, CancerSite::Lung, CancerSite::Other])),
            text(),
            proptest::option::of(prop::sample::select(vec![Histology::Adenocarcinoma, Histology::SignetRingCell, Histology::SquamousCell])),
            proptest::option::of(prop::sample::select(vec!["IV", "IIIA", "Stage IVB"])),
            proptest::option::of(prop::sample::select(vec![Extent::Metastatic, Extent::Localised, Extent::LocallyAdvancedUnresectable])),
            proptest::option::of(date()),
            proptest::option::of(prop::sample::select(vec![CancerStatus::Active, CancerStatus::Remission, CancerStatus::Recurrence])),
            text(),
        )),
        metastases in proptest::option::of(proptest::collection::vec((prop::sample::select(vec!["peritoneum", "liver", "远处淋巴结"]), proptest::option::of(date()), text()), 0..3)),
        cldn18 in proptest::collection::vec((staining(), text(), text(), proptest::option::of(date()), any::<bool>(), text()), 0..3),
        her2 in proptest::collection::vec((proptest::option::of(0u8..4), proptest::option::of(prop::sample::select(vec![IshResult::Amplified, IshResult::NotAmplified, IshResult::Equivocal])), proptest::option::of(prop::sample::select(vec![Her2Status::Positive, Her2Status::Negative, Her2Status::Equivocal])), proptest::option::of(date()), any::<bool>(), text()), 0..3),
        pdl1 in proptest::collection::vec((0u32..100, text(), proptest::option::of(date())), 0..2),
        msi in proptest::collection::vec((prop::sample::select(vec![MsiStatus::MsiHigh, MsiStatus::Mss, MsiStatus::Dmmr, MsiStatus::Pmmr, MsiStatus::MsiLow]), proptest::option::of(date())), 0..2),
        therapies in proptest::option::of(proptest::collection::vec((prop::sample::select(vec!["oxaliplatin", "capecitabine", "nivolumab", "紫杉醇"]), date(), proptest::option::of(date()), prop::sample::select(vec![TherapySetting::Advanced, TherapySetting::Adjuvant, TherapySetting::Curative, TherapySetting::Unknown]), proptest::option::of(prop::sample::select(vec![StopReason::Progression, StopReason::Intolerance, StopReason::Completed, StopReason::Other])), proptest::option::of(Just("prostate cancer".to_owned())), text()), 0..4)),
        progressions in proptest::collection::vec((date(), text()), 0..3),
        lines in proptest::option::of(proptest::collection::vec((any::<bool>(), proptest::option::of(date())), 0..3)),
        ecog in proptest::collection::vec((0i64..6, proptest::option::of(date())), 0..3),
        labs in proptest::collection::vec((prop::sample::select(LabTest::ALL.to_vec()), 0u32..5000, proptest::option::of(0u32..100), proptest::option::of(full_date())), 0..4),
    ) -> Case {
        let mut c = Case::new(Patient {
            birth_date: birth,
            sex,
            deceased: deceased.is_some(),
            deceased_date: deceased.flatten(),
            source: label.clone(),
        });
        c.label = label;
        c.primary = primary.map(|(site, site_text, histology, stage, extent, diagnosed, status, source)| PrimaryCancer {
            site,
            site_text: site_text.clone(),
            histology,
            histology_text: site_text,
            stage: stage.map(str::to_owned),
            extent,
            diagnosed,
            status,
            source,
        });
        c.metastases = metastases.map(|ms| ms.into_iter().map(|(site, date, source)| Metastasis { site: site.into(), date, source }).collect());
        c.cldn18 = cldn18.into_iter().map(|(staining, clone, specimen, specimen_date, preliminary, source)| Cldn18Result { staining, clone, specimen, specimen_date, preliminary, source }).collect();
        c.her2 = her2.into_iter().map(|(ihc, ish, interpretation, date, preliminary, source)| Her2Result { ihc: ihc.map(|i| Intensity::new(i).expect("i")), ish, interpretation, date, preliminary, source }).collect();
        c.pdl1 = pdl1.into_iter().map(|(cps, clone, date)| Pdl1Result { cps: f64::from(cps) / 2.0, clone, date, source: None }).collect();
        c.msi = msi.into_iter().map(|(status, date)| MsiResult { status, date, source: None }).collect();
        c.therapies = therapies.map(|ts| ts.into_iter().map(|(drug, start, end, setting, reason_stopped, other_cancer, source)| SystemicTherapy { drug: drug.into(), start, end, setting, reason_stopped, other_cancer, unidentified: false, source }).collect());
        c.progressions = progressions.into_iter().map(|(date, basis)| ProgressionEvent { date, basis: basis.clone(), source: basis }).collect();
        c.lines = lines.map(|ls| ls.into_iter().map(|(counts, start)| ConfirmedLine { drugs: vec!["oxaliplatin".into()], start, end: None, setting: TherapySetting::Advanced, counts, outcome: LineOutcome::Progression, source: None }).collect());
        c.ecog = ecog.into_iter().map(|(s, date)| EcogResult { score: Ecog::new(s).expect("ecog"), date, source: None }).collect();
        c.labs = labs.into_iter().map(|(test, v, uln, date)| LabResult { test, value: f64::from(v) / 10.0, unit: Unit::GramsPerLitre, uln: uln.map(f64::from), date, source: None }).collect();
        c
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_cases_round_trip(c in case()) {
        prop_assert_eq!(round_trip(&c), c);
    }
}
