//! Every third-party FHIR fixture kept in the repository (`tests/data/fhir/`, provenance in
//! `tests/data/PROVENANCE.md`) imports without failing, and what is extracted from several of
//! them is checked. These tests read nothing outside the repository; the larger outside
//! corpus is imported by the `corpus` example, which only CI runs.

use std::path::{Path, PathBuf};

use cellpath_domain::{CancerSite, Histology, Sex};
use cellpath_fhir::{ImportError, Options, Outcome, import, import_with};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fhir")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("tests/data/fhir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn every_fhir_fixture_imports() {
    let mut files = Vec::new();
    json_files(&data_dir(), &mut files);
    assert!(
        files.len() >= 160,
        "expected the FHIR fixtures, found {}",
        files.len()
    );
    let mut resources = 0;
    let mut several = 0;
    let mut refused = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let imported = match import(&bytes) {
            Ok(i) => vec![i],
            // A record about several patients imports one patient at a time.
            Err(ImportError::SeveralPatients { patients }) => {
                several += 1;
                patients
                    .iter()
                    .map(|p| {
                        let options = Options {
                            patient: Some(p.clone()),
                            ..Options::default()
                        };
                        import_with(&bytes, &options)
                            .unwrap_or_else(|e| panic!("{} {p}: {e}", f.display()))
                    })
                    .collect()
            }
            // Some extraction-framework fixtures are bare arrays of resources, templates
            // without a type, or DSTU2 records: refused as a whole, with what they are.
            Err(ImportError::Array | ImportError::NotFhir { .. } | ImportError::NotR4 { .. }) => {
                refused.push(f.clone());
                continue;
            }
            Err(e) => panic!("{}: {e}", f.display()),
        };
        for imported in imported {
            assert!(
                !imported.report.resources.is_empty() || !imported.report.notes.is_empty(),
                "{}: empty report",
                f.display()
            );
            // Every report line says something.
            for r in &imported.report.resources {
                assert!(!r.detail.is_empty(), "{}: {}", f.display(), r.pointer);
            }
            resources += imported.report.resources.len();
        }
    }
    assert!(resources > 1200, "{resources}");
    assert!(
        several >= 1,
        "the fixtures include records naming several patients"
    );
    // Only the extraction framework's helper files (CSV-module rows, templates, run logs)
    // and its one DSTU2 bundle are refused; every real R4 record imports.
    for f in &refused {
        assert!(
            f.to_string_lossy().contains("mcode-extraction-framework"),
            "{}",
            f.display()
        );
    }
}

#[test]
fn mcode_patient_bundle() {
    // Two resources of this real bundle name another patient: refused, with the list.
    let bytes = std::fs::read(data_dir().join("mcode-ctms/patient_data.json")).expect("read");
    let Err(ImportError::SeveralPatients { patients }) = import(&bytes) else {
        panic!("a bundle naming two patients must be refused");
    };
    assert_eq!(
        patients,
        [
            "Patient/1e208b6b-77f1-4808-a32b-9f9caf1ec334",
            "Patient/mCODEMassiveBioPatientExample1004"
        ]
    );
    let options = Options {
        patient: Some("urn:uuid:1e208b6b-77f1-4808-a32b-9f9caf1ec334".into()),
        ..Options::default()
    };
    let i = import_with(&bytes, &options).expect("the named patient");
    let c = &i.case;
    assert!(c.patient.birth_date.is_some());
    let p = c.primary.as_ref().expect("primary cancer");
    assert_eq!(p.site, Some(CancerSite::Breast));
    // The extension says only "Malignant Neoplasm (Morphology)": kept as text, not guessed.
    assert_eq!(p.histology, None);
    assert_eq!(
        p.histology_text.as_deref(),
        Some("Malignant Neoplasm (Morphology)")
    );
    assert_eq!(p.stage.as_deref(), Some("3A"));
    assert!(c.metastases.as_ref().is_some_and(|m| !m.is_empty()));
    // The only ECOG in the bundle is another patient's: not this case's.
    assert!(c.ecog.is_empty(), "{:?}", c.ecog);
    assert!(
        i.report
            .resources
            .iter()
            .any(|r| r.detail.iter().any(|d| d.contains("another patient"))),
        "the other patient's resources are reported"
    );
    assert!(c.therapies.as_ref().is_some_and(|t| !t.is_empty()));
    assert!(
        i.report.count(Outcome::Skipped) > 0,
        "procedures are reported as skipped"
    );
}

#[test]
fn invalid_ecog_is_a_reported_skip_not_a_failure() {
    // The invalid ECOG belongs to the bundle's second patient.
    let bytes = std::fs::read(
        data_dir().join("mcode-ctms/patient_data_missing_birthdate_invalid_ecog_karnofsky.json"),
    )
    .expect("read");
    let options = Options {
        patient: Some("mCODEMassiveBioPatientExample1004".into()),
        ..Options::default()
    };
    let i = import_with(&bytes, &options).expect("imports");
    assert!(i.case.patient.birth_date.is_none());
    let ecog_skips: Vec<_> = i
        .report
        .resources
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped && r.detail.iter().any(|d| d.contains("ECOG")))
        .collect();
    assert!(!ecog_skips.is_empty(), "{:#?}", i.report.resources);
}

#[test]
fn synthea_breast_cancer_with_chemotherapy() {
    let dir = data_dir().join("synthea");
    let mut saw_breast = false;
    let mut saw_chemo = false;
    let mut saw_prostate_mets = false;
    for entry in std::fs::read_dir(&dir).expect("synthea dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let i = import(&std::fs::read(&path).expect("read")).expect("import");
        let c = &i.case;
        assert!(c.patient.birth_date.is_some(), "{}", path.display());
        assert!(c.patient.sex.is_some_and(|s| s != Sex::Unknown));
        if let Some(p) = &c.primary {
            saw_breast |= p.site == Some(CancerSite::Breast);
            if p.site == Some(CancerSite::Prostate) {
                saw_prostate_mets |= c.metastases.as_ref().is_some_and(|m| !m.is_empty());
            }
        }
        if let Some(t) = &c.therapies {
            saw_chemo |= t
                .iter()
                .any(|t| t.drug == "paclitaxel" || t.drug == "cisplatin");
            // No non-cancer drug slipped in.
            assert!(t.iter().all(|t| !t.drug.contains("acetaminophen")));
        }
        // Hundreds of non-cancer resources are skipped with reasons.
        assert!(i.report.count(Outcome::Skipped) > 10);
    }
    assert!(saw_breast && saw_chemo && saw_prostate_mets);
}

#[test]
fn nsclc_histology_from_synthea_text() {
    let dir = data_dir().join("synthea");
    let found = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| import(&std::fs::read(e.path()).expect("read")).expect("import"))
        .filter_map(|i| i.case.primary)
        .any(|p| p.site == Some(CancerSite::Lung) && p.histology == Some(Histology::NonSmallCell));
    assert!(found);
}

#[test]
fn a_dstu2_record_and_a_bare_array_are_refused_saying_what_they_are() {
    let dir = data_dir().join("mcode-extraction-framework");
    let dstu2 = std::fs::read(dir.join("extractors__condition-bundle.json")).expect("read");
    let err = import(&dstu2).expect_err("DSTU2");
    assert!(matches!(err, ImportError::NotR4 { .. }), "{err:?}");
    assert!(
        err.to_string().contains("convert the record to R4"),
        "{err}"
    );
    let array =
        std::fs::read(dir.join("extractors__csv-procedure-module-response.json")).expect("read");
    assert_eq!(import(&array).expect_err("array"), ImportError::Array);
}
