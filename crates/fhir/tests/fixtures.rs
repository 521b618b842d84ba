//! Every third-party FHIR fixture kept in the repository (`tests/data/fhir/`, provenance in
//! `tests/data/PROVENANCE.md`) imports without failing, and what is extracted from several of
//! them is checked. These tests read nothing outside the repository; the larger outside
//! corpus is imported by the `corpus` example, which only CI runs.

use std::path::{Path, PathBuf};

use cellpath_domain::{CancerSite, Histology, Sex};
use cellpath_fhir::{Outcome, import};

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

fn load(rel: &str) -> cellpath_fhir::Import {
    let bytes = std::fs::read(data_dir().join(rel)).expect(rel);
    import(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
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
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let imported = import(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
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
    assert!(resources > 1200, "{resources}");
}

#[test]
fn mcode_patient_bundle() {
    let i = load("mcode-ctms/patient_data.json");
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
    assert_eq!(p.stage.as_deref(), Some("Stage 3A (qualifier value)"));
    assert!(c.metastases.as_ref().is_some_and(|m| !m.is_empty()));
    assert!(!c.ecog.is_empty(), "ECOG from the mCODE performance status");
    assert!(c.therapies.as_ref().is_some_and(|t| !t.is_empty()));
    assert!(
        i.report.count(Outcome::Skipped) > 0,
        "procedures are reported as skipped"
    );
}

#[test]
fn invalid_ecog_is_a_reported_skip_not_a_failure() {
    let i = load("mcode-ctms/patient_data_missing_birthdate_invalid_ecog_karnofsky.json");
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
