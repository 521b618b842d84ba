//! The registry's flags over the API: a change to the eligibility of a study two catalogue
//! programmes name flags both, tells the case's coordinator and marks the case's screening
//! stale; the flags are for the care team; a coordinator reviews one with a note, once.

use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::json;

/// A real record (NCT06008288) standing in under the number that CT041-ST-01 and the
/// satri-cel label name.
fn linked_study(eligibility: &str) -> cellpath_registry::Study {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../registry/tests/data/NCT06008288.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json");
    v["protocolSection"]["identificationModule"]["nctId"] = json!("NCT04581473");
    v["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = json!(eligibility);
    let read = cellpath_registry::read("stand-in", v.to_string().as_bytes());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    read.studies.into_iter().next().expect("one study")
}

#[tokio::test]
async fn a_changed_study_flags_its_programmes_and_a_coordinator_reviews_them() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coord = app.user("c@example.org", Role::Coordinator, None).await;
    let onc = app
        .user("o@example.org", Role::Specialist, Some("medical-oncology"))
        .await;
    let id = crate::common::case_with_coordinator_and_plan(&app, &patient, &coord).await;
    let import = |eligibility: &'static str| {
        let state = app.state.clone();
        async move {
            cellpath_web::registry::import_studies(
                &state,
                "system",
                "test",
                &[linked_study(eligibility)],
            )
            .await
            .expect("import")
        }
    };
    assert_eq!(import("Inclusion Criteria: adults").await.flagged, 0);
    let screenings = format!("/api/v1/cases/{id}/screenings");
    let r = app
        .call(
            "POST",
            &screenings,
            Some(&coord),
            Some(json!({"as_of": "2026-11-20"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.call("GET", &screenings, Some(&coord), None, &[]).await;
    assert_eq!(
        r.body["screenings"]
            .as_array()
            .and_then(|l| l.last())
            .map(|s| s["stale"].clone()),
        Some(json!(false))
    );

    let counts = import("Inclusion Criteria: adults with CLDN18.2-positive tumours").await;
    assert_eq!(
        (counts.changed, counts.flagged, counts.rescreened),
        (1, 2, 0)
    );

    let r = app.call("GET", &screenings, Some(&coord), None, &[]).await;
    let latest = r.body["screenings"]
        .as_array()
        .and_then(|l| l.last())
        .cloned()
        .expect("one");
    assert_eq!(latest["stale"], true, "{latest}");
    let r = app
        .call("GET", "/api/v1/notifications", Some(&coord), None, &[])
        .await;
    assert!(r.text.contains("programme-source-changed"), "{}", r.text);

    // For the care team only.
    let r = app
        .call("GET", "/api/v1/registry/flags", Some(&patient), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call("GET", "/api/v1/registry/flags", Some(&onc), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let flags = r.body["flags"].as_array().cloned().expect("flags");
    assert_eq!(flags.len(), 2, "{}", r.text);
    assert_eq!(flags[0]["changes"][0]["what"], "eligibility");
    let flag = flags[0]["flag_id"].as_str().expect("id").to_owned();
    let review = format!("/api/v1/registry/flags/{flag}/review");

    // A specialist reads but does not review; an empty note is named; then once only.
    let r = app
        .call(
            "POST",
            &review,
            Some(&onc),
            Some(json!({"note": "seen"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "POST",
            &review,
            Some(&coord),
            Some(json!({"note": "  "})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("/note"), "{}", r.text);
    let note = json!({"note": "Criteria unchanged in substance; catalogue entry kept."});
    let r = app
        .call("POST", &review, Some(&coord), Some(note.clone()), &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app
        .call("POST", &review, Some(&coord), Some(note), &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call("GET", "/api/v1/registry/flags", Some(&coord), None, &[])
        .await;
    assert_eq!(
        r.body["flags"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );
    let r = app
        .call(
            "GET",
            "/api/v1/registry/flags?all=true",
            Some(&coord),
            None,
            &[],
        )
        .await;
    assert_eq!(
        r.body["flags"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.text
    );

    // The study's page data: both versions and what changed.
    let r = app
        .call(
            "GET",
            "/api/v1/registry/studies/nct04581473",
            Some(&patient),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["versions"][1]["changes"][0]["what"], "eligibility");
    assert_eq!(
        r.body["programmes"],
        json!(["ct041-st-01", "satri-cel-nmpa"])
    );
    let r = app
        .call(
            "GET",
            "/api/v1/registry/studies/NCT99999999",
            Some(&patient),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A trial's recruitment is the registry's word where a sync holds a newer record than the
/// catalogue's (clinical review, issue 27, item 11), attributed to the registry; an
/// approved label's status is the regulator's and stands.
#[tokio::test]
async fn the_registry_status_replaces_an_older_catalogue_status_in_screenings() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coord = app.user("c@example.org", Role::Coordinator, None).await;
    let id = crate::common::case_with_coordinator_and_plan(&app, &patient, &coord).await;
    let status_of = |body: &serde_json::Value, programme: &str| {
        body["screening"]["results"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["programme"] == programme))
            .and_then(|r| r["criteria"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["id"] == "programme-status"))
            .cloned()
            .unwrap_or_else(|| panic!("{programme} in {body}"))
    };
    let screen = || async {
        let r = app
            .call(
                "POST",
                &format!("/api/v1/cases/{id}/screenings"),
                Some(&coord),
                Some(json!({"as_of": "2026-11-20"})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    };
    // Before any sync: IBI343's catalogue "open" of 2025-08-24 is over six months old.
    let before = status_of(&screen().await, "ibi343-g-hope-001");
    assert_eq!(before["status"], "unknown", "{before}");

    // The registry, updated 2026-10-01, says the trial no longer recruits.
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../registry/tests/data/NCT06008288.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json");
    v["protocolSection"]["identificationModule"]["nctId"] = json!("NCT06238843");
    v["protocolSection"]["statusModule"]["overallStatus"] = json!("ACTIVE_NOT_RECRUITING");
    v["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] =
        json!({"date": "2026-10-01"});
    let read = cellpath_registry::read("stand-in", v.to_string().as_bytes());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    cellpath_web::registry::import_studies(&app.state, "system", "test", &read.studies)
        .await
        .expect("import");
    let after = status_of(&screen().await, "ibi343-g-hope-001");
    assert_eq!(after["status"], "not-met", "{after}");
    let text = after.to_string();
    assert!(text.contains("ClinicalTrials.gov NCT06238843"), "{text}");
    assert!(text.contains("active, not recruiting"), "{text}");
    assert!(text.contains("2026-10-01"), "{text}");

    // The label names NCT04581473 too: a registry record does not replace its status.
    v["protocolSection"]["identificationModule"]["nctId"] = json!("NCT04581473");
    let read = cellpath_registry::read("stand-in", v.to_string().as_bytes());
    cellpath_web::registry::import_studies(&app.state, "system", "test", &read.studies)
        .await
        .expect("import");
    let label = status_of(&screen().await, "satri-cel-nmpa");
    assert_eq!(label["status"], "met", "{label}");
}
