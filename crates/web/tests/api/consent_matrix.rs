//! The consent matrix, generated from the route table: every case route × every member of
//! the case (patient, caregiver, coordinator, specialist) × every consent state (all given,
//! or one withdrawn) → the expected status. Withdrawing a consent ends the access it gates
//! (`docs/security.md`): `caregiver-access` caregivers', `mdt-sharing` and `transfer-abroad`
//! specialists', `health-data-processing` everyone's but the patient's, and it freezes the
//! case — the patient still reads and exports, and may remove people, nothing else changes.

use axum::http::StatusCode;
use cellpath_store::{Access, MemberRole};
use cellpath_web::policy::Role;
use cellpath_web::routes;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Patient,
    Caregiver,
    Coordinator,
    Specialist,
}

/// The independent statement of what each consent gates.
fn denied(kind: &str, who: Who, method: &str, path: &str) -> bool {
    // What the patient may still do on a frozen case: remove people, end calendar links.
    let removal = method == "DELETE"
        && (path.ends_with("/members/{uid}") || path.ends_with("/calendar-tokens/{cid}"));
    match kind {
        "health-data-processing" => who != Who::Patient || (method != "GET" && !removal),
        "caregiver-access" => who == Who::Caregiver,
        "mdt-sharing" | "transfer-abroad" => who == Who::Specialist,
        _ => false,
    }
}

fn concrete(path: &str, id: &str) -> String {
    path.replace("{id}", id)
        .replace("{v}", "1")
        .replace("{version}", "1")
        .replace("{did}", "d-none")
        .replace("{cid}", "x-none")
        .replace("{rid}", "r-none")
        .replace("{sid}", "s-none")
        .replace("{mid}", "m-none")
        .replace("{uid}", "u-none")
        .replace("{nid}", "n-none")
}

#[tokio::test]
async fn every_case_route_every_member_every_consent_state() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let caregiver = app.user("g@example.org", Role::Caregiver, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let specialist = app
        .user("s@example.org", Role::Specialist, Some("medical-oncology"))
        .await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    crate::common::add_members(
        &app,
        &id,
        &[
            (&caregiver, MemberRole::Caregiver, Access::Act),
            (&coordinator, MemberRole::Coordinator, Access::Act),
            (&specialist, MemberRole::Specialist, Access::Act),
        ],
    )
    .await;
    let people = [
        (Who::Patient, &patient),
        (Who::Caregiver, &caregiver),
        (Who::Coordinator, &coordinator),
        (Who::Specialist, &specialist),
    ];
    let case_routes: Vec<_> = routes()
        .into_iter()
        .filter(|r| r.path.contains("{id}"))
        .collect();
    assert!(case_routes.len() > 30, "{}", case_routes.len());

    let call = |method: &'static str, uri: String, who: &crate::common::Client| {
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let app = &app;
        let who = who.clone();
        async move { app.call(method, &uri, Some(&who), body, &[]).await }
    };
    let mut baseline = Vec::new();
    for r in &case_routes {
        for (who, client) in &people {
            let resp = call(r.method, concrete(r.path, &id), client).await;
            baseline.push(((r.method, r.path, *who), resp.status, resp.body));
        }
    }
    let mut checked = 0;
    for t in cellpath_web::consent::texts() {
        let kind = t.kind.as_str();
        let r = app
            .call(
                "DELETE",
                &format!("/api/v1/consents/{kind}"),
                Some(&patient),
                None,
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::NO_CONTENT,
            "withdraw {kind}: {}",
            r.text
        );
        for ((method, path, who), base_status, base_body) in &baseline {
            let client = people.iter().find(|(w, _)| w == who).expect("who").1;
            let resp = call(method, concrete(path, &id), client).await;
            let code = resp.body["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let role_refusal =
                *base_status == StatusCode::FORBIDDEN && base_body["error"]["code"] == "forbidden";
            if denied(kind, *who, method, path) {
                assert_eq!(
                    resp.status,
                    StatusCode::FORBIDDEN,
                    "{kind} withdrawn: {who:?} {method} {path} → {} {}",
                    resp.status,
                    resp.text
                );
                if !role_refusal {
                    assert_eq!(code, "consent_required", "{kind}: {who:?} {method} {path}");
                }
            } else {
                assert_eq!(
                    resp.status, *base_status,
                    "{kind} withdrawn must not change {who:?} {method} {path}: {}",
                    resp.text
                );
                assert_ne!(code, "consent_required", "{kind}: {who:?} {method} {path}");
            }
            checked += 1;
        }
        let r = app
            .call(
                "POST",
                "/api/v1/consents",
                Some(&patient),
                Some(json!({"kind": kind, "version": t.version})),
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "accept {kind} again: {}",
            r.text
        );
    }
    assert!(checked > 400, "{checked}");
    let _: Value = Value::Null;
}
