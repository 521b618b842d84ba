//! The work queue and the acknowledgement of monitoring alerts through the API: alerts come
//! first and go once acknowledged; one acknowledgement per entry; the queue's input is
//! checked and naming the field; only the people who work on cases have a queue.

use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::{Value, json};

fn entry(temp: f64) -> Value {
    json!({
        "crs": {"temperature_c": temp, "antipyretics_or_anticytokine_given": false,
                "hypotension": false, "vasopressors": 0, "oxygen": {"device": "none"}},
        "icans": {"ice_score": 10, "consciousness": "normal", "seizure": "none",
                  "motor_weakness": "none", "cerebral_edema": "none"}
    })
}

#[tokio::test]
async fn alerts_lead_the_queue_until_acknowledged_once() {
    let t = crate::common::app().await;
    let patient = t.user("p@example.org", Role::Patient, None).await;
    let coordinator = t.user("c@example.org", Role::Coordinator, None).await;
    crate::common::case_with_coordinator_and_plan(&t, &patient, &coordinator).await;
    crate::common::case_with_coordinator_and_plan(&t, &patient, &coordinator).await;
    // The alert goes on the case that would otherwise come second.
    let before = t.get("/api/v1/work", &coordinator).await;
    let calm = before.body["cases"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let hot = before.body["cases"][1]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = t
        .post(
            &format!("/api/v1/cases/{hot}/monitoring"),
            &coordinator,
            entry(37.0),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let quiet = r.body["id"].as_str().expect("id").to_owned();
    let r = t
        .post(
            &format!("/api/v1/cases/{hot}/monitoring"),
            &coordinator,
            entry(38.7),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let fever = r.body["id"].as_str().expect("id").to_owned();

    let q = t.get("/api/v1/work", &coordinator).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    assert_eq!(q.body["total"], 2);
    assert_eq!(q.body["alerting"], 1);
    assert_eq!(q.body["cases"][0]["id"], hot.as_str(), "{}", q.body);
    assert_eq!(q.body["cases"][0]["alerts"], 1);
    assert_eq!(q.body["cases"][1]["alerts"], 0);
    let only = t.get("/api/v1/work?alerts=true", &coordinator).await;
    assert_eq!(only.body["total"], 1, "{}", only.body);

    // The entry's alerts, read back with the grading's source.
    let m = t
        .get(&format!("/api/v1/cases/{hot}/monitoring"), &coordinator)
        .await;
    assert_eq!(m.body["entries"][1]["alerts"][0]["rule"], "crs-present");
    assert!(m.body["entries"][1]["acknowledged"].is_null());
    assert!(m.body["source"].as_str().expect("source").contains("ASTCT"));

    // An entry without alerts has nothing to acknowledge; another case's entry is not here.
    let r = t
        .post(
            &format!("/api/v1/cases/{hot}/monitoring/{quiet}/acknowledge"),
            &coordinator,
            json!(null),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = t
        .post(
            &format!("/api/v1/cases/{calm}/monitoring/{fever}/acknowledge"),
            &coordinator,
            json!(null),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // The patient does not acknowledge the team's alerts.
    let r = t
        .post(
            &format!("/api/v1/cases/{hot}/monitoring/{fever}/acknowledge"),
            &patient,
            json!(null),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.text);

    let path = format!("/api/v1/cases/{hot}/monitoring/{fever}/acknowledge");
    let r = t.post(&path, &coordinator, json!(null)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let again = t.post(&path, &coordinator, json!(null)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body["error"]["code"], "already_acknowledged");

    let q = t.get("/api/v1/work", &coordinator).await;
    assert_eq!(q.body["alerting"], 0, "{}", q.body);
    assert_eq!(q.body["cases"][0]["id"], calm.as_str(), "{}", q.body);
    let m = t
        .get(&format!("/api/v1/cases/{hot}/monitoring"), &coordinator)
        .await;
    assert_eq!(
        m.body["entries"][1]["acknowledged"]["by"],
        coordinator.id.as_str()
    );
}

#[tokio::test]
async fn the_queue_checks_its_input_and_is_for_the_team() {
    let t = crate::common::app().await;
    let patient = t.user("p@example.org", Role::Patient, None).await;
    let coordinator = t.user("c@example.org", Role::Coordinator, None).await;
    for (query, field) in [
        ("sort=loudest", "sort"),
        ("state=asleep", "state"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
    ] {
        let r = t.get(&format!("/api/v1/work?{query}"), &coordinator).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        assert_eq!(r.body["error"]["fields"][0], field, "{query}: {}", r.body);
    }
    let r = t.get("/api/v1/work?colour=red", &coordinator).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "invalid_query");
    let r = t.get("/api/v1/work", &patient).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
