//! The FHIR importer on arbitrary bytes: it must never panic; malformed JSON is an error
//! with a position; anything else imports, and what it imports is a valid case.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match cellpath_fhir::import(data) {
        Ok(imported) => {
            // Every fact that landed in the case must survive the case's own validation
            // rules except cross-field ones the importer cannot know (e.g. end before start
            // is kept and reported), and the report must serialise.
            serde_json::to_string(&imported.report).expect("report serialises");
            let _ = cellpath_domain::lines_of_therapy(&imported.case);
            for r in &imported.report.resources {
                assert!(!r.detail.is_empty());
            }
        }
        Err(e) => assert!(e.to_string().starts_with("line ")),
    }
});
