//! Security, round 2 (issue 28): what let one client stop the service, each with the
//! reproduction that worked before.

use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::json;

/// A patient stored a 100,000-therapy record (13 MB, under the body limit); loading "My
/// case" twice at once made `/healthz` wait 24 s for everyone. The record now has limits of
/// its own, refused with the list named, and nothing changes.
#[tokio::test]
async fn a_record_past_its_limits_is_refused_naming_the_limit() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let case = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let mut record = crate::common::example("gastric");
    let therapy = json!({"drug": "oxaliplatin", "start": "2024-02-01", "setting": "advanced"});
    record["therapies"] = json!(vec![therapy; 100_000]);
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{case}/record"),
            Some(&patient),
            Some(record),
            &[("if-match", "\"v1\"")],
        )
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    assert!(r.text.contains("therapies"), "{}", r.text);
    assert!(r.text.contains("at most 500"), "{}", r.text);
    let r = app
        .call(
            "GET",
            &format!("/api/v1/cases/{case}"),
            Some(&patient),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["version"], 1, "nothing changed");
    assert!(
        r.body["record"]["therapies"]
            .as_array()
            .is_some_and(|t| t.len() < 10),
        "nothing changed"
    );
}
