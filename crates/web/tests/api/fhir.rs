//! FHIR in and out over HTTP: a record naming several patients is refused with the list
//! (or imported for the one named), one patient's Bulk Data ndjson imports, and the record
//! exports as an mCODE bundle that re-imports unchanged.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_web::policy::Role;
use serde_json::Value;

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
    assert_eq!(r.body["case"]["record"]["ecog"][0]["score"], 3);
}

#[tokio::test]
async fn one_patients_ndjson_imports() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
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
            Some(bundle),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["preview"], true);
    assert_eq!(r.body["record_version"], 1);
    assert_eq!(r.body["record"]["therapies"][0]["drug"], "idarubicin");
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
            && changes
                .iter()
                .any(|c| c["pointer"] == "/cldn18" && c["kind"] == "removed"),
        "{}",
        r.text
    );
    let after = app.get(&format!("/api/v1/cases/{id}"), &patient).await;
    assert_eq!(after.etag.as_deref(), Some("\"v1\""), "nothing written");
}
