//! The journey and safety story through the API: the plan and its calendar subscription,
//! monitoring with alerts, the diary in the patient's language, supportive care held in the
//! risk window.

use crate::common::{App, Client};
use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::{Value, json};

/// (status, JSON body).
async fn call(
    t: &App,
    method: &str,
    uri: &str,
    who: Option<&Client>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let r = t.call(method, uri, who, body, &[]).await;
    (r.status, r.body)
}

/// (status, body text, content type), for answers that are not JSON.
async fn raw(
    t: &App,
    method: &str,
    uri: &str,
    who: Option<&Client>,
    body: Option<Value>,
) -> (StatusCode, String, Option<String>) {
    let r = t.call(method, uri, who, body, &[]).await;
    (r.status, r.text, r.content_type)
}

fn entry(temp: f64, vasopressors: u8) -> Value {
    json!({
        "crs": {"temperature_c": temp, "antipyretics_or_anticytokine_given": false,
                "hypotension": vasopressors > 0, "vasopressors": vasopressors, "oxygen": {"device": "none"}},
        "icans": {"ice_score": 10, "consciousness": "normal", "seizure": "none",
                  "motor_weakness": "none", "cerebral_edema": "none"}
    })
}

#[tokio::test]
async fn journey_monitoring_diary_and_supportive_care() {
    let t = crate::common::app().await;
    let patient = t.user("p@example.org", Role::Patient, None).await;
    let caregiver = t.user("g@example.org", Role::Caregiver, None).await;
    let coordinator = t.user("c@example.org", Role::Coordinator, None).await;
    let oncologist = t
        .user("o@example.org", Role::Specialist, Some("cell-therapy"))
        .await;
    let radiologist = t
        .user("r@example.org", Role::Specialist, Some("radiology"))
        .await;
    crate::common::consent_all(&t, &patient.id).await;
    crate::common::relate(&t, &patient.id, &coordinator.id).await;
    let record = serde_json::to_value(
        cellpath_domain::native::from_toml(include_str!(
            "../../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("case"),
    )
    .expect("json");
    let (s, b) = call(
        &t,
        "POST",
        "/api/v1/cases",
        Some(&coordinator),
        Some(json!({"record": record, "owner_id": patient.id})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let case = format!("/api/v1/cases/{}", b["id"].as_str().expect("id"));
    for who in [&oncologist, &radiologist] {
        let m = json!({"user_id": who.id, "role": "specialist"});
        let (s, _) = call(
            &t,
            "POST",
            &format!("{case}/members"),
            Some(&coordinator),
            Some(m),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = call(
        &t,
        "POST",
        &format!("{case}/members"),
        Some(&patient),
        Some(json!({"user_id": caregiver.id, "role": "caregiver", "access": "view"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    // Without a plan the risk window cannot be checked: herbs and supplements are held
    // (fail closed), and cannot be approved.
    let (s, early) = call(
        &t,
        "POST",
        &format!("{case}/supportive"),
        Some(&patient),
        Some(json!({"kind": "supplements", "details": "vitamin C", "requested_for": "2026-12-01"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{early}");
    assert_eq!(early["triage"]["state"], "held", "{early}");
    assert_eq!(early["triage"]["until"], Value::Null);
    assert!(
        early["triage"]["reason"]["en"]
            .as_str()
            .is_some_and(|r| r.starts_with("No treatment plan")),
        "{early}"
    );
    let early_id = early["id"].as_str().expect("id").to_owned();
    let (s, b) = call(
        &t,
        "POST",
        &format!("{case}/supportive/{early_id}/decision"),
        Some(&oncologist),
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("held"))
    );

    // The journey plan: windows, a moved date re-plans what follows, the calendar.
    let (s, plan) = call(
        &t,
        "PUT",
        &format!("{case}/journey"),
        Some(&coordinator),
        Some(crate::common::plan_json(None)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    let infusion = |p: &Value| {
        p["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|x| x["id"] == "infusion")
            .cloned()
            .expect("infusion")
    };
    let before = infusion(&plan)["window"]["start"][0].clone();
    let (_, moved) = call(
        &t,
        "PUT",
        &format!("{case}/journey"),
        Some(&patient),
        Some(crate::common::plan_json(Some("2026-12-20"))),
    )
    .await;
    assert_ne!(
        infusion(&moved)["window"]["start"][0],
        before,
        "the plan follows the new date"
    );
    assert_eq!(
        call(
            &t,
            "PUT",
            &format!("{case}/journey"),
            Some(&oncologist),
            Some(crate::common::plan_json(None))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, text, ct) = raw(
        &t,
        "GET",
        &format!("{case}/journey.ics"),
        Some(&caregiver),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.is_some_and(|c| c.starts_with("text/calendar")));
    assert!(text.contains("UID:example-gastric-1-infusion@cellpath"));
    assert!(!text.contains("回输"), "English unless asked otherwise");
    // In the language asked for (the pages ask for the reader's).
    let (s, zh, _) = raw(
        &t,
        "GET",
        &format!("{case}/journey.ics?lang=zh-CN"),
        Some(&caregiver),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(zh.contains("回输"), "{zh}");
    let (s, _, _) = raw(
        &t,
        "GET",
        &format!("{case}/journey.ics?lang=fr"),
        Some(&caregiver),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, tok) = call(
        &t,
        "POST",
        &format!("{case}/calendar-tokens"),
        Some(&patient),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let url = tok["url"].as_str().expect("url").to_owned();
    let (s, feed, _) = raw(&t, "GET", &url, None, None).await;
    assert_eq!(s, StatusCode::OK, "a subscription needs no session");
    assert!(feed.starts_with("BEGIN:VCALENDAR"));
    let tid = tok["id"].as_str().expect("id");
    assert_eq!(
        call(
            &t,
            "DELETE",
            &format!("{case}/calendar-tokens/{tid}"),
            Some(&patient),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        raw(&t, "GET", &url, None, None).await.0,
        StatusCode::NOT_FOUND,
        "revoked"
    );
    assert_eq!(
        raw(&t, "GET", "/calendar/guessed.ics", None, None).await.0,
        StatusCode::NOT_FOUND
    );

    // Monitoring by the treating team: graded on entry, alerts name the rule.
    let mon = format!("{case}/monitoring");
    let (s, b) = call(&t, "POST", &mon, Some(&oncologist), Some(entry(37.0, 0))).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["alerts"].as_array().map(Vec::len), Some(0));
    let (_, b) = call(&t, "POST", &mon, Some(&oncologist), Some(entry(38.9, 1))).await;
    assert_eq!(b["grades"]["crs"]["grade"], 3);
    assert_eq!(b["alerts"][0]["rule"], "crs-present");
    assert_eq!(
        call(&t, "POST", &mon, Some(&patient), Some(entry(38.9, 1)))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let mut implausible = entry(38.9, 1);
    implausible["vitals"] = json!({"spo2_percent": 130});
    let (s, b) = call(&t, "POST", &mon, Some(&oncologist), Some(implausible)).await;
    assert_eq!(
        (s, b["error"]["fields"][0].as_str()),
        (StatusCode::BAD_REQUEST, Some("/vitals/spo2_percent"))
    );
    let mut bad = entry(38.9, 1);
    bad["crs"]["oxygen"]["device"] = json!("tent");
    let (s, b) = call(&t, "POST", &mon, Some(&oncologist), Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["fields"][0], "/crs/oxygen/device");
    let (_, over_time) = call(&t, "GET", &mon, Some(&patient), None).await;
    let grades: Vec<i64> = over_time["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["crs_grade"].as_i64())
        .collect();
    assert_eq!(grades, [0, 3]);
    let (_, notes) = call(&t, "GET", "/api/v1/notifications", Some(&coordinator), None).await;
    // The team's notice names the patient, the grades and what to do.
    let first = &notes["notifications"][0];
    assert_eq!(first["kind"], "monitoring-alert", "{notes}");
    let text = first["text"].as_str().expect("text");
    assert!(
        text.contains("p@example.org")
            && text.contains("CRS grade 3")
            && text.contains("acknowledge"),
        "{text}"
    );

    // The caregiver's diary answers at once, in Chinese when asked.
    let (s, ans) = call(
        &t,
        "POST",
        &format!("{case}/diary"),
        Some(&caregiver),
        Some(json!({"entry": {"temperature_c": 38.4}, "lang": "zh-CN"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(ans["call_now"], true);
    assert!(
        ans["instruction"]
            .as_str()
            .is_some_and(|i| i.contains("立即"))
    );
    assert_eq!(
        call(
            &t,
            "POST",
            &format!("{case}/diary"),
            Some(&oncologist),
            Some(json!({"entry": {}}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );

    // Supportive care: TCM inside the risk window is held; a decision needs oncology.
    let plan_now = call(&t, "GET", &format!("{case}/journey"), Some(&patient), None)
        .await
        .1;
    let ld = plan_now["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|x| x["id"] == "lymphodepletion")
        .cloned()
        .expect("ld");
    let inside = ld["window"]["start"][1].as_str().expect("date").to_owned();
    let sup = format!("{case}/supportive");
    let (s, held) = call(
        &t,
        "POST",
        &sup,
        Some(&patient),
        Some(
            json!({"kind": "tcm-herbal", "details": "Huangqi decoction", "requested_for": inside}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{held}");
    assert_eq!(held["triage"]["state"], "held");
    assert!(
        held["triage"]["reason"]["en"]
            .as_str()
            .is_some_and(|r| r.contains("day +28"))
    );
    let (_, food) = call(
        &t,
        "POST",
        &sup,
        Some(&coordinator),
        Some(json!({"kind": "nutrition", "details": "dietitian review", "requested_for": inside})),
    )
    .await;
    assert_eq!(food["triage"]["state"], "awaiting-approval");
    let held_id = held["id"].as_str().expect("id");
    let food_id = food["id"].as_str().expect("id");
    let (s, b) = call(
        &t,
        "POST",
        &format!("{sup}/{held_id}/decision"),
        Some(&oncologist),
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("held"))
    );
    assert_eq!(
        call(
            &t,
            "POST",
            &format!("{sup}/{food_id}/decision"),
            Some(&radiologist),
            Some(json!({"approve": true}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &t,
            "POST",
            &format!("{sup}/{food_id}/decision"),
            Some(&patient),
            Some(json!({"approve": true}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, b) = call(
        &t,
        "POST",
        &format!("{sup}/{food_id}/decision"),
        Some(&oncologist),
        Some(json!({"approve": true, "note": "agreed"})),
    )
    .await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("approved")));
    assert_eq!(
        call(
            &t,
            "POST",
            &format!("{sup}/{food_id}/decision"),
            Some(&oncologist),
            Some(json!({"approve": false}))
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    let (_, list) = call(&t, "GET", &sup, Some(&caregiver), None).await;
    assert_eq!(list["requests"].as_array().map(Vec::len), Some(3));

    // Every decision is audited and the chain verifies.
    let entries = t.state.store.audit_entries(None).await.expect("audit");
    assert!(entries.iter().any(|e| e.action == "supportive.approved"));
    assert!(
        entries
            .iter()
            .any(|e| e.action == "supportive.request.held")
    );
    t.state.store.verify_audit().await.expect("chain");
}
