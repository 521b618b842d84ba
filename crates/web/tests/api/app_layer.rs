//! The application layer's guarantees, on SQLite (and PostgreSQL when
//! `CELLPATH_TEST_POSTGRES` is set): a change and its audit entry commit together or not at
//! all; every successful case route writes exactly one audit entry naming the actor and the
//! case; the record keeps its history; errors speak the reader's language; the logs carry
//! no personal or clinical data.

use std::sync::Arc;

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_web::policy::Role;
use cellpath_web::{router, routes};
use serde_json::{Value, json};
use tower::ServiceExt;

#[tokio::test]
async fn a_failed_audit_append_leaves_nothing_of_the_change() {
    let app = app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    consent_all(&app, &patient.id).await;
    let entries_before = app.audit().await.len();

    break_inserts(&app, "audit").await;
    let r = app
        .post(
            "/api/v1/cases",
            &patient,
            json!({"record": example("gastric")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "internal");
    assert!(
        r.body["error"]["request_id"].as_str().is_some(),
        "{}",
        r.body
    );
    heal(&app, "audit").await;

    // Nothing of the use case is visible: no case, no record version, no audit entry.
    assert!(
        app.state
            .store
            .cases_for(&patient.id)
            .await
            .expect("q")
            .is_empty()
    );
    assert_eq!(app.audit().await.len(), entries_before);
    app.state.store.verify_audit().await.expect("chain intact");

    // Healed, the same request succeeds with its entry.
    let r = app
        .post(
            "/api/v1/cases",
            &patient,
            json!({"record": example("gastric")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id");
    let last = app.audit().await.pop().expect("entry");
    assert_eq!(
        (last.action.as_str(), last.case_id.as_deref()),
        ("case.create", Some(id))
    );
    assert_eq!(
        app.state.store.record_versions(id).await.expect("q").len(),
        1
    );

    // A read whose entry cannot be written answers with an error, not the data.
    break_inserts(&app, "audit").await;
    let r = app.get(&format!("/api/v1/cases/{id}"), &patient).await;
    heal(&app, "audit").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.get("record").is_none(), "{}", r.body);
}

#[tokio::test]
async fn a_failed_later_write_rolls_back_the_earlier_ones() {
    let app = app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    consent_all(&app, &patient.id).await;
    crate::common::relate(&app, &patient.id, &coordinator.id).await;
    let entries_before = app.audit().await.len();

    // Creating a case for a patient writes the case, then the coordinator's membership:
    // the second write fails, so the first must not stay.
    break_inserts(&app, "case_members").await;
    let r = app
        .post(
            "/api/v1/cases",
            &coordinator,
            json!({"record": example("gastric"), "owner_id": patient.id}),
        )
        .await;
    heal(&app, "case_members").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert!(
        app.state
            .store
            .cases_for(&patient.id)
            .await
            .expect("q")
            .is_empty(),
        "the case was written without its membership"
    );
    assert_eq!(app.audit().await.len(), entries_before);
}

#[tokio::test]
async fn the_record_keeps_its_history_and_the_consensus_knows_its_version() {
    let app = app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let oncologist = app
        .user("o@example.org", Role::Specialist, Some("medical-oncology"))
        .await;
    consent_all(&app, &patient.id).await;
    crate::common::relate(&app, &patient.id, &coordinator.id).await;
    let r = app
        .post(
            "/api/v1/cases",
            &coordinator,
            json!({"record": example("gej"), "owner_id": patient.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let case = format!("/api/v1/cases/{id}");

    // Versions 2 and 3 of the record.
    let mut v2 = example("gej");
    v2["ecog"] = json!([{"score": 1, "date": "2026-11-01", "source": "clinic letter"}]);
    let mut v3 = example("gastric");
    v3["ecog"] = v2["ecog"].clone();
    let put = |body: Value, etag: &'static str| {
        let app = &app;
        let case = case.clone();
        let coordinator = coordinator.clone();
        async move {
            app.call(
                "PUT",
                &format!("{case}/record"),
                Some(&coordinator),
                Some(body),
                &[("if-match", etag)],
            )
            .await
        }
    };
    let r = put(v2.clone(), "\"v1\"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Screened and agreed on version 2.
    let r = app
        .post(&format!("{case}/screenings"), &coordinator, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["screening"]["record_version"], 2);
    let r = app
        .post(
            &format!("{case}/mdt/assignments"),
            &coordinator,
            json!({"user_id": oncologist.id, "due": "2026-12-05"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let answers = json!({
        "biomarker_eligibility": "a", "treatment_sequence": "b", "alternatives": "c",
        "benefit_and_risk": "d", "access_and_logistics": "e", "recommendation": "f",
    });
    let r = app
        .post(
            &format!("{case}/mdt/opinions"),
            &oncologist,
            json!({"recommendation": "need-more-information", "rationale": "r",
                   "answers": answers, "confidence": "moderate"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["record_version"], 2);
    let r = app
        .post(
            &format!("{case}/mdt/consensus"),
            &oncologist,
            json!({"recommendation": "need-more-information", "summary": "s",
                   "answers": answers, "dissent": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.get(&format!("{case}/mdt"), &coordinator).await;
    assert_eq!(r.body["consensus"][0]["record_version"], 2);
    assert_eq!(r.body["consensus"][0]["record_changed_since"], false);

    // The record changes: version 3 (the case version also counts the MDT's own steps
    // only when they change the case, which they do not).
    let current = app.get(&case, &coordinator).await.etag.expect("etag");
    let etag: &'static str = Box::leak(current.into_boxed_str());
    let r = put(v3.clone(), etag).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("{case}/mdt"), &coordinator).await;
    assert_eq!(
        r.body["consensus"][0]["record_changed_since"], true,
        "{}",
        r.body
    );
    assert_eq!(r.body["record_version"], 3);
    assert_eq!(r.body["opinions"][0]["record_version"], 2);

    // Every version is kept: who, when, which use case; each reads back as written.
    let r = app.get(&format!("{case}/record/versions"), &patient).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let versions = r.body["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 3, "{}", r.body);
    assert_eq!(versions[0]["use_case"], "case.create");
    assert_eq!(versions[1]["use_case"], "case.record.update");
    assert_eq!(versions[2]["actor"], coordinator.id.as_str());
    for (n, expected) in [(1, example("gej")), (2, v2.clone()), (3, v3.clone())] {
        let r = app
            .get(&format!("{case}/record/versions/{n}"), &patient)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let kept = serde_json::from_value::<cellpath_domain::Case>(r.body["record"].clone())
            .expect("a case");
        let sent = serde_json::from_value::<cellpath_domain::Case>(expected).expect("a case");
        assert_eq!(kept, sent, "version {n}");
    }
    // The difference names the facts that changed.
    let r = app
        .get(&format!("{case}/record/diff?from=1&to=2"), &patient)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let changes = r.body["changes"].as_array().expect("changes");
    assert!(
        changes.iter().any(|c| c["pointer"]
            .as_str()
            .is_some_and(|p| p.starts_with("/ecog"))),
        "{}",
        r.body
    );
    assert!(
        changes.iter().all(|c| c["pointer"]
            .as_str()
            .is_some_and(|p| p.starts_with("/ecog"))),
        "only ECOG changed from 1 to 2: {}",
        r.body
    );
    let r = app
        .get(&format!("{case}/record/diff?from=1&to=9"), &patient)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "unknown_version");
}

#[tokio::test]
async fn errors_speak_the_readers_language() {
    let app = app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let r = app
        .call(
            "GET",
            "/api/v1/cases/c-nothing",
            Some(&patient),
            None,
            &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "not_found");
    assert_eq!(r.body["error"]["message"], "找不到该内容。");
    let r = app
        .call(
            "GET",
            "/api/v1/me",
            None,
            None,
            &[("accept-language", "zh")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["message"], "请先登录。");
    // Without the header, the account's language.
    app.state
        .store
        .execute_raw("UPDATE users SET lang = 'zh-CN'")
        .await
        .expect("lang");
    let r = app.get("/api/v1/cases/c-nothing", &patient).await;
    assert_eq!(r.body["error"]["message"], "找不到该内容。");
    // And English when asked, with the occurrence's detail.
    let r = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(&patient),
            Some(json!({"record": {}, "colour": 1})),
            &[("accept-language", "en-GB")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("colour")),
        "{}",
        r.body
    );
}

/// One successful call of every case route: (method, path template, who, body).
struct Step {
    method: &'static str,
    path: &'static str,
    who: &'static str,
    body: Option<Value>,
}

#[tokio::test]
async fn every_successful_case_route_writes_one_audit_entry_naming_actor_and_case() {
    let app = app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let oncologist = app
        .user("o@example.org", Role::Specialist, Some("medical-oncology"))
        .await;
    let caregiver = app.user("g@example.org", Role::Caregiver, None).await;
    consent_all(&app, &patient.id).await;
    crate::common::relate(&app, &patient.id, &coordinator.id).await;
    let r = app
        .post(
            "/api/v1/cases",
            &coordinator,
            json!({"record": example("gastric"), "owner_id": patient.id}),
        )
        .await;
    let id = r.body["id"].as_str().expect("id").to_owned();
    let plan: toml::Value = toml::from_str(include_str!(
        "../../../../examples/plans/satri-cel-example.toml"
    ))
    .expect("plan");
    let answers = json!({
        "biomarker_eligibility": "a", "treatment_sequence": "b", "alternatives": "c",
        "benefit_and_risk": "d", "access_and_logistics": "e", "recommendation": "f",
    });
    let steps = vec![
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}",
            who: "patient",
            body: None,
        },
        Step {
            method: "PUT",
            path: "/api/v1/cases/{id}/record",
            who: "coordinator",
            body: Some(example("gastric")),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/record/versions",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/record/versions/{v}",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/record/diff",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/fhir",
            who: "patient",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/fhir-import",
            who: "coordinator",
            body: Some(
                serde_json::from_str(include_str!(
                    "../../../../examples/fhir/gastric-bundle.json"
                ))
                .expect("bundle"),
            ),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/members",
            who: "patient",
            body: Some(json!({"user_id": caregiver.id, "role": "caregiver", "access": "view"})),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/transitions",
            who: "coordinator",
            body: Some(json!({"to": "records-requested"})),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/screenings",
            who: "coordinator",
            body: Some(json!({})),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/screenings",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/audit",
            who: "patient",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/documents",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/documents",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/documents/{did}",
            who: "patient",
            body: None,
        },
        Step {
            method: "PUT",
            path: "/api/v1/cases/{id}/journey",
            who: "coordinator",
            body: Some(serde_json::to_value(&plan).expect("json")),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/journey",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/journey.ics",
            who: "patient",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/calendar-tokens",
            who: "patient",
            body: Some(json!({})),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/calendar-tokens",
            who: "patient",
            body: None,
        },
        Step {
            method: "PUT",
            path: "/api/v1/cases/{id}/settings",
            who: "patient",
            body: Some(json!({"caregivers_manage_members": false})),
        },
        Step {
            method: "DELETE",
            path: "/api/v1/cases/{id}/calendar-tokens/{cid}",
            who: "patient",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/mdt/assignments",
            who: "coordinator",
            body: Some(json!({"user_id": oncologist.id, "due": "2026-12-05"})),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/monitoring",
            who: "oncologist",
            body: Some(json!({
            "crs": {"temperature_c": 38.6, "antipyretics_or_anticytokine_given": false, "hypotension": false, "vasopressors": 0, "oxygen": {"device": "none"}},
            "icans": {"ice_score": 10, "consciousness": "normal", "seizure": "none", "motor_weakness": "none", "cerebral_edema": "none"}})),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/monitoring/{mid}/acknowledge",
            who: "coordinator",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/monitoring",
            who: "patient",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/diary",
            who: "caregiver",
            body: Some(json!({"entry": {"temperature_c": 39.6, "confusion": true}})),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/alerts",
            who: "patient",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/alerts/{aid}/acknowledge",
            who: "oncologist",
            body: Some(json!({"action": "called-back", "note": "on the phone"})),
        },
        Step {
            method: "PUT",
            path: "/api/v1/cases/{id}/on-call",
            who: "coordinator",
            body: Some(
                json!({"rota": [{"user": coordinator.id, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z"}]}),
            ),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/on-call",
            who: "oncologist",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/supportive",
            who: "patient",
            body: Some(
                json!({"kind": "nutrition", "details": "dietitian", "requested_for": "2026-12-01"}),
            ),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/supportive",
            who: "patient",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/supportive/{rid}/decision",
            who: "oncologist",
            body: Some(json!({"approve": true, "note": "fine"})),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/messages",
            who: "patient",
            body: Some(json!({"body": "hello"})),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/messages",
            who: "coordinator",
            body: None,
        },
        Step {
            method: "PUT",
            path: "/api/v1/cases/{id}/mdt/draft",
            who: "oncologist",
            body: Some(
                json!({"rationale": "half-written", "answers": {"alternatives": "FTD/TPI"}}),
            ),
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/mdt/draft",
            who: "oncologist",
            body: None,
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/mdt/opinions",
            who: "oncologist",
            body: Some(
                json!({"recommendation": "proceed-to-car-t-evaluation", "rationale": "r", "answers": answers, "confidence": "moderate"}),
            ),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/mdt/consensus",
            who: "oncologist",
            body: Some(
                json!({"recommendation": "proceed-to-car-t-evaluation", "summary": "s", "answers": answers, "dissent": []}),
            ),
        },
        Step {
            method: "POST",
            path: "/api/v1/cases/{id}/mdt/consensus/{version}/signatures",
            who: "oncologist",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/mdt",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/reports",
            who: "patient",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/studies",
            who: "coordinator",
            body: None,
        },
        Step {
            method: "GET",
            path: "/api/v1/cases/{id}/reports/{file}",
            who: "patient",
            body: None,
        },
        Step {
            method: "DELETE",
            path: "/api/v1/cases/{id}/members/{uid}",
            who: "patient",
            body: None,
        },
    ];
    // The table reaches every case route, so a new route cannot escape this check.
    let covered: std::collections::HashSet<(&str, &str)> =
        steps.iter().map(|s| (s.method, s.path)).collect();
    for route in routes().iter().filter(|r| r.path.contains("{id}")) {
        assert!(
            covered.contains(&(route.method, route.path)),
            "no audited step for {} {}",
            route.method,
            route.path
        );
    }

    let (mut did, mut cid, mut rid, mut mid, mut aid) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    for step in &steps {
        let who = match step.who {
            "patient" => &patient,
            "coordinator" => &coordinator,
            "oncologist" => &oncologist,
            _ => &caregiver,
        };
        let current = app.state.store.case(&id).await.expect("q").expect("case");
        let uri = step
            .path
            .replace("{id}", &id)
            .replace("{v}", "1")
            .replace("{did}", &did)
            .replace("{cid}", &cid)
            .replace("{rid}", &rid)
            .replace("{mid}", &mid)
            .replace("{aid}", &aid)
            .replace("{version}", "1")
            .replace("{file}", "1.html")
            .replace("{uid}", &caregiver.id);
        let uri = if step.path.ends_with("/diff") {
            format!("{uri}?from=1&to=2")
        } else {
            uri
        };
        let before = app.audit().await.len();
        let (status, body) = if step.path.ends_with("/documents") && step.method == "POST" {
            let r = upload(
                &app,
                who,
                &id,
                "scan.pdf",
                "application/pdf",
                b"%PDF-1.4 x".to_vec(),
            )
            .await;
            (r.status, r.body)
        } else if step.path.ends_with("{did}") || step.path.ends_with(".ics") {
            let req = Request::builder()
                .method("GET")
                .uri(&uri)
                .header(header::COOKIE, &who.cookie)
                .body(Body::empty())
                .expect("request");
            let resp = router(Arc::clone(&app.state))
                .oneshot(req)
                .await
                .expect("response");
            (resp.status(), Value::Null)
        } else {
            let etag = format!("\"v{}\"", current.version);
            let r = app
                .call(
                    step.method,
                    &uri,
                    Some(who),
                    step.body.clone(),
                    &[("if-match", etag.as_str())],
                )
                .await;
            (r.status, r.body)
        };
        assert!(
            status.is_success(),
            "{} {}: {status} {body}",
            step.method,
            step.path
        );
        match step.path {
            "/api/v1/cases/{id}/documents" if step.method == "POST" => {
                did = body["id"].as_str().expect("did").to_owned()
            }
            "/api/v1/cases/{id}/calendar-tokens" if step.method == "POST" => {
                cid = body["id"].as_str().expect("cid").to_owned()
            }
            "/api/v1/cases/{id}/supportive" if step.method == "POST" => {
                rid = body["id"].as_str().expect("rid").to_owned()
            }
            "/api/v1/cases/{id}/monitoring" if step.method == "POST" => {
                mid = body["id"].as_str().expect("mid").to_owned()
            }
            "/api/v1/cases/{id}/diary" => {
                aid = body["alert"]["id"].as_str().expect("aid").to_owned()
            }
            _ => {}
        }
        let after = app.audit().await;
        assert_eq!(
            after.len(),
            before + 1,
            "{} {} wrote {} audit entries",
            step.method,
            step.path,
            after.len() - before
        );
        let entry = after.last().expect("entry");
        assert_eq!(entry.actor, who.id, "{} {}", step.method, step.path);
        assert_eq!(
            entry.case_id.as_deref(),
            Some(id.as_str()),
            "{} {}",
            step.method,
            step.path
        );
    }
    app.state.store.verify_audit().await.expect("chain");
}
