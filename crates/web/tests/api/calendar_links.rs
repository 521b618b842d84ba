//! Calendar links die with their creator's access, with the consent it needs, when revoked
//! and after 180 days; the patient lists and revokes every link on the case; the access list
//! says which link read the feed.

use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::json;

const DAY: u64 = 86_400;

#[tokio::test]
async fn links_die_with_access_consent_revocation_and_age() {
    let app = crate::common::app_at(1_800_000_000).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let id = crate::common::case_with_coordinator_and_plan(&app, &patient, &coordinator).await;
    let tokens = format!("/api/v1/cases/{id}/calendar-tokens");
    let make = |who: crate::common::Client| {
        let app = &app;
        let tokens = tokens.clone();
        async move {
            let r = app.post(&tokens, &who, json!({})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            (
                r.body["id"].as_str().expect("id").to_owned(),
                r.body["url"].as_str().expect("url").to_owned(),
            )
        }
    };
    let feed = |url: String| {
        let app = &app;
        async move { app.call("GET", &url, None, None, &[]).await.status }
    };
    let (coord_link, coord_url) = make(coordinator.clone()).await;
    let (_, patient_url) = make(patient.clone()).await;
    assert_eq!(feed(coord_url.clone()).await, StatusCode::OK);

    // The patient sees every link; the coordinator only their own.
    let all = app.get(&tokens, &patient).await;
    assert_eq!(
        all.body["calendar_tokens"].as_array().map(Vec::len),
        Some(2)
    );
    let own = app.get(&tokens, &coordinator).await;
    assert_eq!(
        own.body["calendar_tokens"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(all.body["lifetime_days"], 180);

    // The access list says which link read the feed.
    let audit = app.audit().await;
    assert!(
        audit
            .iter()
            .any(|e| e.actor == format!("calendar-link:{coord_link}")),
        "{audit:?}"
    );

    // Removing the coordinator kills their link at once.
    let r = app
        .delete(
            &format!("/api/v1/cases/{id}/members/{}", coordinator.id),
            &patient,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(feed(coord_url).await, StatusCode::NOT_FOUND);
    assert_eq!(feed(patient_url.clone()).await, StatusCode::OK);

    // The patient's own link: withdrawing health-data-processing does not end the
    // patient's access, so it still reads; a revoked one does not.
    let (link2, url2) = make(patient.clone()).await;
    let r = app.delete(&format!("{tokens}/{link2}"), &patient).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(feed(url2).await, StatusCode::NOT_FOUND);

    // After 180 days a link expires.
    app.clock.as_ref().expect("clock").advance(181 * DAY);
    assert_eq!(feed(patient_url).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_coordinators_link_dies_with_the_processing_consent() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let id = crate::common::case_with_coordinator_and_plan(&app, &patient, &coordinator).await;
    let r = app
        .post(
            &format!("/api/v1/cases/{id}/calendar-tokens"),
            &coordinator,
            json!({}),
        )
        .await;
    let url = r.body["url"].as_str().expect("url").to_owned();
    assert_eq!(
        app.call("GET", &url, None, None, &[]).await.status,
        StatusCode::OK
    );
    let r = app
        .delete("/api/v1/consents/health-data-processing", &patient)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call("GET", &url, None, None, &[]).await.status,
        StatusCode::NOT_FOUND,
        "the coordinator's access, and so their link, ends with the consent"
    );
}
