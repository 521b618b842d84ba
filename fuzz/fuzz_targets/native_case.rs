//! The native case parsers (TOML and JSON) on arbitrary text: never panic, and a case they
//! accept passes validation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for parsed in [
        cellpath_domain::native::from_toml(text),
        cellpath_domain::native::from_json(text),
    ] {
        if let Ok(case) = parsed {
            assert!(case.validate().is_ok());
            let _ = cellpath_domain::lines_of_therapy(&case);
        }
    }
});
