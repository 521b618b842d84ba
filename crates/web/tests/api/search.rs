//! The registry's search over the API: real records imported, searched in English and in
//! Chinese, a bad query refused naming `/q` in the reader's language, the index following
//! an import at once, and the studies for a case — by access to the case, audited.

use axum::http::StatusCode;
use cellpath_web::policy::Role;

fn fixtures() -> Vec<cellpath_registry::Study> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../search/tests/data");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let read = cellpath_registry::read("fixture", &std::fs::read(&path).expect("read"));
            out.extend(read.studies);
        }
    }
    assert_eq!(out.len(), 5);
    out
}

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["study"]["nct_id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_registry_is_searched_in_both_languages_and_follows_imports() {
    let app = crate::common::app().await;
    let coord = app.user("c@example.org", Role::Coordinator, None).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let studies = fixtures();
    cellpath_web::registry::import_studies(&app.state, "system", "fixtures", &studies)
        .await
        .expect("import");

    let q = "/api/v1/registry/search?q=cldn18.2%20car-t%20status:recruiting%20country:china";
    let r = app.call("GET", q, Some(&coord), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.body), ["NCT06346392"]);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["index"]["ready"], true);
    assert_eq!(r.body["index"]["indexed"], 5);
    assert_eq!(r.body["query"]["clauses"][0]["group"], "cldn18-2");
    let facets = r.body["facets"].as_array().expect("facets");
    assert!(facets.iter().any(|f| f["key"] == "status"));

    // Chinese, percent-encoded as a browser sends it; a patient may search too.
    let r = app
        .call(
            "GET",
            "/api/v1/registry/search?q=%E8%83%83%E7%99%8C%20CAR-T",
            Some(&patient),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.body), ["NCT06346392"]);
    assert_eq!(r.body["query"]["clauses"][0]["group"], "gastric-cancer");

    let r = app
        .call(
            "GET",
            "/api/v1/registry/search?q=status:sleeping",
            Some(&coord),
            None,
            &[("accept-language", "zh-CN")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], "invalid_search");
    assert_eq!(r.body["error"]["fields"][0], "/q");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("检索式"),
        "{}",
        r.body
    );
    let r = app
        .call(
            "GET",
            "/api/v1/registry/search?q=x&page=999",
            Some(&coord),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call("GET", "/api/v1/registry/search?q=gastric", None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The study closes: the index follows the import at once.
    let mut closed: Vec<_> = studies
        .into_iter()
        .filter(|s| s.nct_id.as_str() == "NCT06346392")
        .collect();
    closed[0].status = Some(cellpath_registry::Status::Completed);
    cellpath_web::registry::import_studies(&app.state, "system", "sync", &closed)
        .await
        .expect("import");
    let r = app.call("GET", q, Some(&coord), None, &[]).await;
    assert_eq!(r.body["total"], 0, "{}", r.body);
    let r = app
        .call(
            "GET",
            "/api/v1/registry/search?q=claudin%20status:completed&sort=updated",
            Some(&coord),
            None,
            &[],
        )
        .await;
    assert_eq!(ids(&r.body), ["NCT06346392"]);
}

#[tokio::test]
async fn studies_for_a_case_need_access_to_the_case_and_are_audited() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coord = app.user("c@example.org", Role::Coordinator, None).await;
    let stranger = app.user("s@example.org", Role::Coordinator, None).await;
    let id = crate::common::case_with_coordinator_and_plan(&app, &patient, &coord).await;
    cellpath_web::registry::import_studies(&app.state, "system", "fixtures", &fixtures())
        .await
        .expect("import");
    let uri = format!("/api/v1/cases/{id}/studies");
    let r = app.call("GET", &uri, Some(&coord), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The worked gastric example: stomach, CLDN18 2+ or stronger in 60%, HER2 1+, two lines.
    assert_eq!(r.body["site"], "stomach");
    assert_eq!(r.body["cldn18_positive"], true);
    assert_eq!(r.body["her2_positive"], false);
    let first = &r.body["suggestions"][0];
    assert_eq!(first["study"]["nct_id"], "NCT06346392", "{}", r.body);
    let kinds: Vec<&str> = first["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|x| x["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"cldn18") && kinds.contains(&"site"),
        "{kinds:?}"
    );
    // Only recruiting studies of the case's cancer.
    for s in r.body["suggestions"].as_array().expect("list") {
        assert_eq!(s["study"]["status"], "recruiting");
        assert_ne!(s["study"]["nct_id"], "NCT05984147");
    }
    let r = app.call("GET", &uri, Some(&patient), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "the patient sees their own");
    let r = app.call("GET", &uri, Some(&stranger), None, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no relation, no case");
    let audited = app
        .state
        .store
        .audit_entries(Some(&id))
        .await
        .expect("audit")
        .iter()
        .filter(|e| e.action == "registry.for-case")
        .count();
    assert_eq!(audited, 2);
}
