//! The journey and safety story through the API: the plan and its calendar subscription,
//! monitoring with alerts, the diary in the patient's language, supportive care held in the
//! risk window.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_web::policy::Role;
use cellpath_web::{AppState, Config, create_user, router};
use serde_json::{Value, json};
use tower::ServiceExt;

struct T {
    state: Arc<AppState>,
    _db: cellpath_store::testing::TestDb,
}

#[derive(Clone)]
struct Who {
    cookie: String,
    csrf: String,
    id: String,
}

impl T {
    async fn raw(
        &self,
        method: &str,
        uri: &str,
        who: Option<&Who>,
        body: Option<Value>,
    ) -> (StatusCode, String, Option<String>) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(w) = who {
            req = req
                .header(header::COOKIE, &w.cookie)
                .header("x-csrf-token", &w.csrf);
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        let resp = router(Arc::clone(&self.state))
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned(), ct)
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        who: Option<&Who>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, text, _) = self.raw(method, uri, who, body).await;
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn user(&self, email: &str, role: Role, specialty: Option<&str>) -> Who {
        let id = create_user(
            &self.state,
            "setup",
            email,
            "a long passphrase",
            role,
            specialty,
        )
        .await
        .expect("user");
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/sessions")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"email": email, "password": "a long passphrase"}).to_string(),
            ))
            .expect("req");
        let resp = router(Arc::clone(&self.state))
            .oneshot(req)
            .await
            .expect("resp");
        let cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("cookie")
            .to_owned();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        let b: Value = serde_json::from_slice(&bytes).expect("json");
        Who {
            cookie,
            csrf: b["csrf_token"].as_str().expect("csrf").to_owned(),
            id,
        }
    }
}

fn plan_json(actual_leukapheresis: Option<&str>) -> Value {
    let mut text = include_str!("../../../examples/plans/satri-cel-example.toml").to_owned();
    if let Some(day) = actual_leukapheresis {
        text = text.replace(
            "# leukapheresis = { start = \"2026-12-09\", end = \"2026-12-10\" }",
            &format!("leukapheresis = {{ start = \"{day}\" }}"),
        );
    }
    let v: toml::Value = toml::from_str(&text).expect("plan");
    serde_json::to_value(v).expect("json")
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
    let db = cellpath_store::testing::fresh().await;
    let store = cellpath_store::Store::connect(&db.url)
        .await
        .expect("connect");
    let t = T {
        state: Arc::new(AppState {
            store,
            catalogue: cellpath_eligibility::shipped().expect("cat"),
            config: Config::default(),
        }),
        _db: db,
    };
    let patient = t.user("p@example.org", Role::Patient, None).await;
    let caregiver = t.user("g@example.org", Role::Caregiver, None).await;
    let coordinator = t.user("c@example.org", Role::Coordinator, None).await;
    let oncologist = t
        .user("o@example.org", Role::Specialist, Some("cell-therapy"))
        .await;
    let radiologist = t
        .user("r@example.org", Role::Specialist, Some("radiology"))
        .await;
    for (i, k) in cellpath_web::consent::texts().iter().enumerate() {
        let mut tx = t
            .state
            .store
            .begin(cellpath_store::NewAudit::new(
                "setup", "setup", None, "setup",
            ))
            .await
            .expect("begin");
        tx.accept_consent(&format!("k{i}"), &patient.id, k.kind, &k.version)
            .await
            .expect("consent");
        tx.commit().await.expect("commit");
    }
    let record = serde_json::to_value(
        cellpath_domain::native::from_toml(include_str!(
            "../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("case"),
    )
    .expect("json");
    let (s, b) = t
        .call(
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
        let (s, _) = t
            .call(
                "POST",
                &format!("{case}/members"),
                Some(&coordinator),
                Some(m),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = t
        .call(
            "POST",
            &format!("{case}/members"),
            Some(&patient),
            Some(json!({"user_id": caregiver.id, "role": "caregiver", "access": "view"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Without a plan the risk window cannot be checked: herbs and supplements are held
    // (fail closed), and cannot be approved.
    let (s, early) = t
        .call(
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
    let (s, b) = t
        .call(
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
    let (s, plan) = t
        .call(
            "PUT",
            &format!("{case}/journey"),
            Some(&coordinator),
            Some(plan_json(None)),
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
    let (_, moved) = t
        .call(
            "PUT",
            &format!("{case}/journey"),
            Some(&patient),
            Some(plan_json(Some("2026-12-20"))),
        )
        .await;
    assert_ne!(
        infusion(&moved)["window"]["start"][0],
        before,
        "the plan follows the new date"
    );
    assert_eq!(
        t.call(
            "PUT",
            &format!("{case}/journey"),
            Some(&oncologist),
            Some(plan_json(None))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, text, ct) = t
        .raw(
            "GET",
            &format!("{case}/journey.ics"),
            Some(&caregiver),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.is_some_and(|c| c.starts_with("text/calendar")));
    assert!(text.contains("UID:example-gastric-1-infusion@cellpath"));
    let (s, tok) = t
        .call(
            "POST",
            &format!("{case}/calendar-tokens"),
            Some(&patient),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let url = tok["url"].as_str().expect("url").to_owned();
    let (s, feed, _) = t.raw("GET", &url, None, None).await;
    assert_eq!(s, StatusCode::OK, "a subscription needs no session");
    assert!(feed.starts_with("BEGIN:VCALENDAR"));
    let tid = tok["id"].as_str().expect("id");
    assert_eq!(
        t.call(
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
        t.raw("GET", &url, None, None).await.0,
        StatusCode::NOT_FOUND,
        "revoked"
    );
    assert_eq!(
        t.raw("GET", "/calendar/guessed.ics", None, None).await.0,
        StatusCode::NOT_FOUND
    );

    // Monitoring by the treating team: graded on entry, alerts name the rule.
    let mon = format!("{case}/monitoring");
    let (s, b) = t
        .call("POST", &mon, Some(&oncologist), Some(entry(37.0, 0)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["alerts"].as_array().map(Vec::len), Some(0));
    let (_, b) = t
        .call("POST", &mon, Some(&oncologist), Some(entry(38.9, 1)))
        .await;
    assert_eq!(b["grades"]["crs"]["grade"], 3);
    assert_eq!(b["alerts"][0]["rule"], "crs-present");
    assert_eq!(
        t.call("POST", &mon, Some(&patient), Some(entry(38.9, 1)))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let mut implausible = entry(38.9, 1);
    implausible["vitals"] = json!({"spo2_percent": 130});
    let (s, b) = t
        .call("POST", &mon, Some(&oncologist), Some(implausible))
        .await;
    assert_eq!(
        (s, b["error"]["fields"][0].as_str()),
        (StatusCode::BAD_REQUEST, Some("/vitals/spo2_percent"))
    );
    let mut bad = entry(38.9, 1);
    bad["crs"]["oxygen"]["device"] = json!("tent");
    let (s, b) = t.call("POST", &mon, Some(&oncologist), Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["fields"][0], "/crs/oxygen/device");
    let (_, over_time) = t.call("GET", &mon, Some(&patient), None).await;
    let grades: Vec<i64> = over_time["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["crs_grade"].as_i64())
        .collect();
    assert_eq!(grades, [0, 3]);
    let (_, notes) = t
        .call("GET", "/api/v1/notifications", Some(&coordinator), None)
        .await;
    assert!(notes.to_string().contains("safety-alert"), "{notes}");

    // The caregiver's diary answers at once, in Chinese when asked.
    let (s, ans) = t
        .call(
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
        t.call(
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
    let plan_now = t
        .call("GET", &format!("{case}/journey"), Some(&patient), None)
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
    let (s, held) = t.call("POST", &sup, Some(&patient), Some(json!({"kind": "tcm-herbal", "details": "Huangqi decoction", "requested_for": inside}))).await;
    assert_eq!(s, StatusCode::CREATED, "{held}");
    assert_eq!(held["triage"]["state"], "held");
    assert!(
        held["triage"]["reason"]["en"]
            .as_str()
            .is_some_and(|r| r.contains("day +28"))
    );
    let (_, food) = t.call("POST", &sup, Some(&coordinator), Some(json!({"kind": "nutrition", "details": "dietitian review", "requested_for": inside}))).await;
    assert_eq!(food["triage"]["state"], "awaiting-approval");
    let held_id = held["id"].as_str().expect("id");
    let food_id = food["id"].as_str().expect("id");
    let (s, b) = t
        .call(
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
        t.call(
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
        t.call(
            "POST",
            &format!("{sup}/{food_id}/decision"),
            Some(&patient),
            Some(json!({"approve": true}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, b) = t
        .call(
            "POST",
            &format!("{sup}/{food_id}/decision"),
            Some(&oncologist),
            Some(json!({"approve": true, "note": "agreed"})),
        )
        .await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("approved")));
    assert_eq!(
        t.call(
            "POST",
            &format!("{sup}/{food_id}/decision"),
            Some(&oncologist),
            Some(json!({"approve": false}))
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    let (_, list) = t.call("GET", &sup, Some(&caregiver), None).await;
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
