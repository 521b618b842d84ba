//! Untrusted input: the importer never panics, valid JSON never fails, and invalid JSON
//! fails with a position.

use cellpath_fhir::{ImportError, import};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Random JSON built from FHIR-ish keys, so that the walker meets odd shapes where it
/// looks for real fields.
fn fhirish() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "resourceType",
        "entry",
        "resource",
        "fullUrl",
        "code",
        "coding",
        "system",
        "text",
        "valueString",
        "valueInteger",
        "valueQuantity",
        "component",
        "subject",
        "reference",
        "birthDate",
        "effectiveDateTime",
        "status",
        "contained",
        "extension",
        "url",
        "medicationReference",
        "stage",
        "summary",
        "value",
        "unit",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "Bundle",
            "Patient",
            "Condition",
            "Observation",
            "MedicationStatement",
            "#m1",
            "urn:uuid:x",
            "Patient/1",
            "2+ in 40%",
            "1961-13",
            "CLDN18.2",
            "http://loinc.org",
            "89247-1",
            "%",
            "4+ 120%",
            "entered-in-error",
            "",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_json_imports_or_is_refused_as_a_whole(v in fhirish()) {
        let wrapped = json!({"resourceType": "Bundle", "entry": [{"resource": v.clone()}, {"resource": {"resourceType": "Observation", "component": [v]}}]});
        match import(&serde_json::to_vec(&wrapped).expect("json")) {
            Ok(_) => {}
            // Random references may name two patients: refused with the list, never a parse error.
            Err(ImportError::SeveralPatients { patients }) => prop_assert!(patients.len() > 1),
            Err(e) => prop_assert!(false, "valid JSON refused: {e}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        // Any error is fine as long as it is one of the stated refusals; none panics.
        let _ = import(&bytes);
    }
}
