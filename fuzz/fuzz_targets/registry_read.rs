//! The ClinicalTrials.gov reader on arbitrary bytes: never panics; every study it gives has
//! a valid NCT number, reads back from its stored JSON unchanged (so an unchanged study is
//! never stored as a new version), and does not differ from itself; its eligibility text
//! splits into items and drafts a programme without panicking, and the bytes as text do too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = cellpath_registry::read("fuzz", data);
    for s in &read.studies {
        assert!(cellpath_registry::NctId::parse(s.nct_id.as_str()).is_some());
        let json = serde_json::to_string(s).expect("a study serialises");
        let back: cellpath_registry::Study = serde_json::from_str(&json).expect("and reads back");
        assert_eq!(&back, s);
        assert!(cellpath_registry::diff::diff(s, s).is_empty());
        let draft = cellpath_registry::draft::draft_toml(s, 1, "2026-01-01");
        assert!(draft.starts_with("# DRAFT"));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for item in cellpath_registry::draft::split(text) {
            assert!(!item.text.is_empty());
        }
    }
});
