//! FHIR in and out over HTTP: a record naming several patients is refused with the list
//! (or imported for the one named), one patient's Bulk Data ndjson imports, and the record
//! exports as an mCODE bundle that re-imports unchanged.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_web::policy::Role;
use serde_json::{Value, json};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data")
            .join(rel),
    )
    .expect(rel)
}

#[tokio::test]
async fn several_patients_are_refused_then_one_is_named() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let uri = format!("/api/v1/cases/{id}/fhir-import");
    let bundle =
        String::from_utf8(fixture("fhir/realistic/two-subjects-no-patient.json")).expect("utf8");
    let r = app
        .call_raw(
            "POST",
            &uri,
            Some(&patient),
            Some(bundle.clone()),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "several_patients");
    let detail = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Patient/a") && detail.contains("Patient/b"),
        "{detail}"
    );
    let zh = app
        .call_raw(
            "POST",
            &uri,
            Some(&patient),
            Some(bundle.clone()),
            &[("if-match", "*"), ("accept-language", "zh-CN")],
        )
        .await;
    assert!(
        zh.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("多名患者")),
        "{}",
        zh.text
    );
    // Nothing changed.
    let before = app.get(&format!("/api/v1/cases/{id}"), &patient).await;
    assert_eq!(before.etag.as_deref(), Some("\"v1\""));
    let r = app
        .call_raw(
            "POST",
            &format!("{uri}?patient=Patient/b"),
            Some(&patient),
            Some(bundle),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Merged: the bundle's ECOG is added beside the record's own.
    assert!(
        r.body["case"]["record"]["ecog"]
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["score"] == 3)),
        "{}",
        r.body["case"]["record"]["ecog"]
    );
}

#[tokio::test]
async fn one_patients_ndjson_imports() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    // A new case with nothing recorded yet: the import fills it.
    let id = app.case_of(&patient, json!({"patient": {}})).await;
    let uri = format!("/api/v1/cases/{id}/fhir-import");
    let mut body = Vec::new();
    for f in ["Patient", "Condition", "Observation", "MedicationRequest"] {
        body.extend(fixture(&format!("fhir-bulk/synthea-3/{f}.ndjson")));
    }
    let send = |uri: String, body: Vec<u8>| {
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::COOKIE, &patient.cookie)
            .header("x-csrf-token", &patient.csrf)
            .header(header::CONTENT_TYPE, "application/fhir+ndjson")
            .header(header::IF_MATCH, "*")
            .body(Body::from(body))
            .expect("request")
    };
    let r = app.send(send(uri.clone(), body.clone())).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "three patients: {}",
        r.text
    );
    assert_eq!(r.body["error"]["code"], "several_patients");
    let r = app
        .send(send(
            format!("{uri}?patient=Patient/0612e8ea-be3c-426b-9434-bd1ceb415b60"),
            body,
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["case"]["record"]["primary"]["site"], "lung");
    assert_eq!(r.body["case"]["record"]["patient"]["deceased"], true);
}

#[tokio::test]
async fn the_record_exports_as_mcode_and_re_imports_unchanged() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let r = app.get(&format!("/api/v1/cases/{id}/fhir"), &patient).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.content_type.as_deref(), Some("application/fhir+json"));
    assert_eq!(r.body["resourceType"], "Bundle");
    let record_before =
        app.get(&format!("/api/v1/cases/{id}"), &patient).await.body["record"].clone();
    let r = app
        .call_raw(
            "POST",
            &format!("/api/v1/cases/{id}/fhir-import"),
            Some(&patient),
            Some(r.text),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let record_after: Value = r.body["case"]["record"].clone();
    assert_eq!(record_after, record_before);
    // Reading it is audited as an export; another patient cannot.
    let other = app.user("q@example.org", Role::Patient, None).await;
    let r = app.get(&format!("/api/v1/cases/{id}/fhir"), &other).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.action == "case.record.export_fhir")
    );
}

#[tokio::test]
async fn an_import_over_the_limit_is_refused_before_it_is_read() {
    let app = crate::common::app_with(|c| c.max_fhir = 1024).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let bundle = String::from_utf8(fixture("fhir/realistic/coded-values.json")).expect("utf8");
    assert!(bundle.len() > 1024);
    let r = app
        .call_raw(
            "POST",
            &format!("/api/v1/cases/{id}/fhir-import"),
            Some(&patient),
            Some(bundle),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "too_large");
    let now = app.get(&format!("/api/v1/cases/{id}"), &patient).await;
    assert_eq!(now.etag.as_deref(), Some("\"v1\""), "nothing changed");
}

#[tokio::test]
async fn a_preview_answers_what_the_import_would_write_and_writes_nothing() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let bundle =
        String::from_utf8(fixture("fhir/realistic/intent-and-stop-reason.json")).expect("utf8");
    let r = app
        .call_raw(
            "POST",
            &format!("/api/v1/cases/{id}/fhir-import?preview=true"),
            Some(&patient),
            Some(bundle.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["preview"], true);
    assert_eq!(r.body["record_version"], 1);
    assert!(
        r.body["record"]["therapies"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["drug"] == "idarubicin")),
        "{}",
        r.body["record"]["therapies"]
    );
    assert!(
        r.body["lines"].as_array().is_some_and(|l| !l.is_empty()),
        "{}",
        r.text
    );
    let changes = r.body["changes"].as_array().expect("changes");
    assert!(
        changes.iter().any(|c| c["pointer"]
            .as_str()
            .is_some_and(|p| p.starts_with("/therapies")))
            && !changes.iter().any(|c| c["kind"] == "removed"),
        "merged by default: nothing removed: {}",
        r.text
    );
    // Replacing is the explicit choice, and says what it removes.
    let replace = app
        .call_raw(
            "POST",
            &format!("/api/v1/cases/{id}/fhir-import?preview=true&mode=replace"),
            Some(&patient),
            Some(bundle),
            &[],
        )
        .await;
    assert!(
        replace.body["changes"].as_array().is_some_and(|c| c
            .iter()
            .any(|c| c["pointer"] == "/cldn18" && c["kind"] == "removed")),
        "{}",
        replace.text
    );
    let after = app.get(&format!("/api/v1/cases/{id}"), &patient).await;
    assert_eq!(after.etag.as_deref(), Some("\"v1\""), "nothing written");
}

/// Another patient's bundle (a man born in 1931 with lung cancer) against a woman born in
/// 1969 with gastric cancer: the preview says so first, the import is refused without a
/// reason, and with one it is written, the reason kept and audited.
#[tokio::test]
async fn another_patients_bundle_is_stopped_until_overridden_with_a_reason() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let before = app.get(&format!("/api/v1/cases/{id}"), &patient).await;
    let bundle =
        String::from_utf8(fixture("fhir/realistic/two-primary-cancers.json")).expect("utf8");
    let uri = format!("/api/v1/cases/{id}/fhir-import");
    let p = app
        .call_raw(
            "POST",
            &format!("{uri}?preview=true"),
            Some(&patient),
            Some(bundle.clone()),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["identity"]["matches"], false);
    let fields: Vec<&str> = p.body["identity"]["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"birth-date") && fields.contains(&"sex"),
        "{fields:?}"
    );
    let r = app
        .call_raw(
            "POST",
            &uri,
            Some(&patient),
            Some(bundle.clone()),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "identity_mismatch");
    // Nothing was written.
    let now = app.get(&format!("/api/v1/cases/{id}"), &patient).await;
    assert_eq!(now.body["record"], before.body["record"]);
    let r = app
        .call_raw(
            "POST",
            &format!("{uri}?override_reason=corrected%20birth%20date"),
            Some(&patient),
            Some(bundle),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let versions = app
        .state
        .store
        .record_versions(&id)
        .await
        .expect("versions");
    let last = versions.last().expect("version");
    assert_eq!(last.use_case, "case.record.import_fhir.identity_override");
    assert_eq!(
        last.note.as_deref(),
        Some("imported although the bundle's patient differs: corrected birth date")
    );
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.action == "case.record.import_fhir.identity_override")
    );
}

/// The patient's own bundle merged into the record the coordinator keeps: it adds and
/// updates, never removes what was typed; replacing is a separate choice that says what it
/// removes.
#[tokio::test]
async fn the_patients_own_bundle_adds_and_updates_without_removing_what_was_typed() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let typed = app.get(&format!("/api/v1/cases/{id}"), &patient).await.body["record"].clone();
    let bundle = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/fhir/gastric-bundle.json"),
    )
    .expect("bundle");
    let uri = format!("/api/v1/cases/{id}/fhir-import");
    let p = app
        .call_raw(
            "POST",
            &format!("{uri}?preview=true"),
            Some(&patient),
            Some(bundle.clone()),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(
        p.body["identity"]["matches"], true,
        "{}",
        p.body["identity"]
    );
    assert_eq!(p.body["mode"], "merge");
    assert_eq!(p.body["summary"]["removes"], 0);
    let replace = app
        .call_raw(
            "POST",
            &format!("{uri}?preview=true&mode=replace"),
            Some(&patient),
            Some(bundle.clone()),
            &[],
        )
        .await;
    assert!(
        replace.body["summary"]["removes"].as_u64().unwrap_or(0) > 0,
        "replacing removes what the bundle lacks: {}",
        replace.body["summary"]
    );
    let r = app
        .call_raw(
            "POST",
            &uri,
            Some(&patient),
            Some(bundle),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = app.get(&format!("/api/v1/cases/{id}"), &patient).await.body["record"].clone();
    // Every typed CLDN18.2 result, therapy and progression is still there, unchanged.
    for section in ["cldn18", "therapies", "progressions", "metastases"] {
        for fact in typed[section].as_array().expect(section) {
            let kept = after[section].as_array().is_some_and(|l| {
                l.iter().any(|f| {
                    // The same fact, every typed value as it was: an update may add what
                    // the record lacked (why it stopped) and a source, nothing else.
                    fact.as_object().is_some_and(|m| {
                        m.iter().all(|(k, v)| k == "source" || f.get(k) == Some(v))
                    })
                })
            });
            assert!(kept, "{section}: {fact} was lost in {}", after[section]);
        }
    }
    assert_eq!(
        after["patient"]["birth_date"],
        typed["patient"]["birth_date"]
    );
}
