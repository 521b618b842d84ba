//! Bulk Data ndjson on arbitrary bytes: never a panic; bad lines are reported with their
//! line; every patient's case exports to mCODE and re-imports unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bulk = cellpath_fhir::Bulk::new(cellpath_fhir::Options::default());
    bulk.read("fuzz.ndjson", data).expect("reading memory cannot fail");
    let result = bulk.finish();
    for p in &result.problems {
        assert!(!p.message.is_empty());
    }
    for c in &result.cases {
        serde_json::to_string(&c.import.report).expect("report serialises");
        let bundle = serde_json::to_vec(&cellpath_fhir::export(&c.import.case)).expect("export");
        let again = cellpath_fhir::import(&bundle).expect("an export imports");
        assert_eq!(again.case, c.import.case, "export → import changed the case");
    }
});
