//! The FHIR importer on arbitrary bytes: it must never panic; malformed JSON is an error
//! with a position; anything else imports, or is refused as a whole with what it is; and
//! what imports exports to mCODE and re-imports unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match cellpath_fhir::import(data) {
        Ok(imported) => {
            serde_json::to_string(&imported.report).expect("report serialises");
            let _ = cellpath_domain::lines_of_therapy(&imported.case);
            for r in &imported.report.resources {
                assert!(!r.detail.is_empty());
            }
            let bundle = serde_json::to_vec(&cellpath_fhir::export(&imported.case)).expect("export");
            let again = cellpath_fhir::import(&bundle).expect("an export imports");
            assert_eq!(again.case, imported.case, "export → import changed the case");
        }
        Err(cellpath_fhir::ImportError::Json { line, .. }) => assert!(line >= 1 || data.is_empty()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
