//! The ClinicalTrials.gov reader on arbitrary bytes: never panics; every study it gives has
//! a valid NCT number, reads back from its stored JSON unchanged (so an unchanged study is
//! never stored as a new version), and does not differ from itself.
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
    }
});
