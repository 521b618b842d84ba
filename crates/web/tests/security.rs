//! Security fixes from the attack on the running server (issue 10), each with the
//! reproduction that worked before.

mod common;

use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::json;

/// A write API token could mint tokens that outlived its revocation, and change consents.
#[tokio::test]
async fn a_write_token_cannot_mint_credentials_or_change_consents() {
    let app = common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app.case_of(&patient, common::example("gastric")).await;
    let r = app
        .post(
            "/api/v1/tokens",
            &patient,
            json!({"name": "integration", "scope": "write"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bearer = format!("Bearer {}", r.body["token"].as_str().expect("token"));
    let auth = [("authorization", bearer.as_str())];
    let minted = app
        .call(
            "POST",
            "/api/v1/tokens",
            None,
            Some(json!({"name": "child", "scope": "write"})),
            &auth,
        )
        .await;
    assert_eq!(minted.status, StatusCode::FORBIDDEN, "{}", minted.text);
    let link = app
        .call(
            "POST",
            &format!("/api/v1/cases/{id}/calendar-tokens"),
            None,
            Some(json!({})),
            &auth,
        )
        .await;
    assert_eq!(link.status, StatusCode::FORBIDDEN, "{}", link.text);
    let withdraw = app
        .call("DELETE", "/api/v1/consents/mdt-sharing", None, None, &auth)
        .await;
    assert_eq!(withdraw.status, StatusCode::FORBIDDEN, "{}", withdraw.text);
    let text = cellpath_web::consent::texts()
        .iter()
        .find(|t| t.kind.as_str() == "mdt-sharing")
        .expect("text");
    let accept = app
        .call(
            "POST",
            "/api/v1/consents",
            None,
            Some(json!({"kind": "mdt-sharing", "version": text.version})),
            &auth,
        )
        .await;
    assert_eq!(accept.status, StatusCode::FORBIDDEN, "{}", accept.text);
    // It still does what it is for.
    let read = app
        .call("GET", &format!("/api/v1/cases/{id}"), None, None, &auth)
        .await;
    assert_eq!(read.status, StatusCode::OK);
}
