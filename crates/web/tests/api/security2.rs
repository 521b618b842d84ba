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

/// `POST /api/v1/sessions` accepted a cross-site `text/plain` form and set a session cookie
/// (login CSRF). JSON endpoints now refuse the content types a browser sends across sites
/// without asking, and signing in is refused from another site.
#[tokio::test]
async fn signing_in_needs_json_from_this_site() {
    let app = crate::common::app().await;
    app.user("p@example.org", Role::Patient, None).await;
    let creds = r#"{"email":"p@example.org","password":"correct horse battery"}"#;
    for content_type in [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/sessions")
            .header("content-type", content_type)
            .body(axum::body::Body::from(creds))
            .expect("request");
        let r = app.send(req).await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert!(r.set_cookie.is_none(), "{content_type}: no session");
        assert_eq!(r.body["error"]["code"], "not_json", "{}", r.text);
    }
    let cross = app
        .call_raw(
            "POST",
            "/api/v1/sessions",
            None,
            Some(creds.to_owned()),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN, "{}", cross.text);
    assert!(cross.set_cookie.is_none());
    // From this site, as JSON: signed in.
    let ok = app
        .call_raw(
            "POST",
            "/api/v1/sessions",
            None,
            Some(creds.to_owned()),
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert!(ok.status.is_success(), "{}", ok.text);
    assert!(ok.set_cookie.is_some());
}

/// Sessions and API tokens survived a password reset: an old session could still mint a
/// 365-day token. A new password ends every session and token of the account, and the
/// account's events list the change.
#[tokio::test]
async fn a_new_password_ends_every_session_and_token() {
    let app = crate::common::app().await;
    let admin = app.user("a@example.org", Role::Admin, None).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let r = app
        .post(
            "/api/v1/tokens",
            &patient,
            json!({"name": "home monitor", "scope": "read"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bearer = format!("Bearer {}", r.body["token"].as_str().expect("token"));
    let r = app
        .post(
            &format!("/api/v1/users/{}/password-link", patient.id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let link = r.body["set_password_token"]
        .as_str()
        .expect("link")
        .to_owned();
    let r = app
        .call(
            "POST",
            "/api/v1/password",
            None,
            Some(json!({"token": link, "password": "a brand new passphrase"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // The old session and the old token are ended.
    let r = app
        .call("GET", "/api/v1/me", Some(&patient), None, &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "old session: {}",
        r.text
    );
    let r = app
        .call(
            "GET",
            "/api/v1/me",
            None,
            None,
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "old token: {}", r.text);
    // Signed in with the new password, the account's events list the change.
    let again = app
        .sign_in("p@example.org", "a brand new passphrase")
        .await
        .expect("signs in");
    let r = app
        .call("GET", "/api/v1/me/events", Some(&again), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("account.password.set"), "{}", r.text);
}

/// After the patient withdrew consent, the coordinator's work queue still showed the case's
/// stage, MDT progress, last change and unacknowledged alerts, and `?state=` probed the
/// stage. A case closed by consent is now its id and "no access" in the list, and matches no
/// filter and no count.
#[tokio::test]
async fn a_case_closed_by_consent_shows_nothing_in_the_queue_its_filters_or_counts() {
    let t = crate::common::app().await;
    let patient = t.user("p@example.org", Role::Patient, None).await;
    let coordinator = t.user("c@example.org", Role::Coordinator, None).await;
    let id = crate::common::case_with_coordinator_and_plan(&t, &patient, &coordinator).await;
    // An alert on it: a fever after infusion.
    let r = t
        .post(
            &format!("/api/v1/cases/{id}/monitoring"),
            &coordinator,
            json!({
                "crs": {"temperature_c": 38.9, "antipyretics_or_anticytokine_given": false,
                        "hypotension": false, "vasopressors": 0, "oxygen": {"device": "none"}},
                "icans": {"ice_score": 10, "consciousness": "normal", "seizure": "none",
                          "motor_weakness": "none", "cerebral_edema": "none"}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let q = t.get("/api/v1/work", &coordinator).await;
    let stage = q.body["cases"][0]["state"]
        .as_str()
        .expect("state")
        .to_owned();
    assert_eq!(q.body["alerting"], 1, "{}", q.text);
    let r = t
        .call(
            "DELETE",
            "/api/v1/consents/health-data-processing",
            Some(&patient),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let q = t.get("/api/v1/work", &coordinator).await;
    assert_eq!(q.body["total"], 1, "{}", q.text);
    assert_eq!(q.body["cases"][0], json!({"id": id, "access": false}));
    assert_eq!(q.body["alerting"], 0, "no alert counted: {}", q.text);
    // Its stage cannot be probed with a filter, nor its alert.
    let probe = t
        .get(&format!("/api/v1/work?state={stage}"), &coordinator)
        .await;
    assert_eq!(probe.status, StatusCode::OK, "{}", probe.text);
    assert_eq!(probe.body["total"], 0, "{}", probe.text);
    let alerts = t.get("/api/v1/work?alerts=true", &coordinator).await;
    assert_eq!(alerts.body["total"], 0, "{}", alerts.text);
}
