//! The safety loop through the real router: a warning at home becomes a safety alert for the
//! team on call, first in the work queue; it escalates on a fixed clock until someone
//! acknowledges it; the family reads the receipt; e-mail reaches a real SMTP server.

use std::sync::Arc;

use axum::http::StatusCode;
use cellpath_store::{Access, MemberRole};
use cellpath_web::policy::Role;
use serde_json::json;

use crate::common::*;

const T0: u64 = 1_800_000_000; // 2027-01-15T08:00:00Z

struct Cast {
    app: App,
    id: String,
    patient: Client,
    caregiver: Client,
    coordinator: Client,
    li: Client,
    wang: Client,
}

/// A case with its plan (the centre's number and time), a caregiver who acts, a coordinator
/// and two specialists; the clock fixed at T0.
async fn cast(adjust: impl FnOnce(&mut cellpath_web::Config)) -> Cast {
    let app = build_at(T0, adjust).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let caregiver = app.user("c@example.org", Role::Caregiver, None).await;
    let coordinator = app.user("coord@example.org", Role::Coordinator, None).await;
    let li = app
        .user("li@example.org", Role::Specialist, Some("medical-oncology"))
        .await;
    let wang = app
        .user("wang@example.org", Role::Specialist, Some("cell-therapy"))
        .await;
    let id = case_with_coordinator_and_plan(&app, &patient, &coordinator).await;
    add_members(
        &app,
        &id,
        &[
            (&caregiver, MemberRole::Caregiver, Access::Act),
            (&li, MemberRole::Specialist, Access::Act),
            (&wang, MemberRole::Specialist, Access::Act),
        ],
    )
    .await;
    let mut plan = plan_json(None);
    plan["centre_phone"] = json!("+86 10 8888 0000");
    plan["centre_utc_offset"] = json!("+08:00");
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{id}/journey"),
            Some(&coordinator),
            Some(plan),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    Cast {
        app,
        id,
        patient,
        caregiver,
        coordinator,
        li,
        wang,
    }
}

async fn build_at(secs: u64, adjust: impl FnOnce(&mut cellpath_web::Config)) -> App {
    let mut app = app_at(secs).await;
    let state = Arc::get_mut(&mut app.state).expect("one owner");
    adjust(&mut state.config);
    app
}

fn clock(app: &App) -> &cellpath_store::FixedClock {
    app.clock.as_deref().expect("fixed clock")
}

async fn notices(app: &App, who: &Client) -> Vec<serde_json::Value> {
    let r = app.get("/api/v1/notifications", who).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn alert_notices(list: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    list.iter()
        .filter(|n| {
            n["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("safety-alert"))
        })
        .collect()
}

async fn diary(c: &Cast, who: &Client, entry: serde_json::Value) -> serde_json::Value {
    let r = c
        .app
        .post(
            &format!("/api/v1/cases/{}/diary", c.id),
            who,
            json!({"entry": entry, "lang": "en"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

#[tokio::test]
async fn a_warning_at_home_reaches_the_team_first_in_their_queue() {
    let c = cast(|_| {}).await;
    // A calm entry raises nothing.
    let calm = diary(&c, &c.caregiver, json!({"temperature_c": 37.2})).await;
    assert!(calm["alert"].is_null());
    let a = diary(
        &c,
        &c.caregiver,
        json!({"confusion": true, "temperature_c": 39.6}),
    )
    .await;
    assert_eq!(a["call_now"], true);
    assert_eq!(a["team_phone"], "+86 10 8888 0000");
    assert!(
        a["instruction"]
            .as_str()
            .is_some_and(|t| t.contains("+86 10 8888 0000")),
        "{a}"
    );
    assert_eq!(a["reported"], "You reported: 39.6 °C, confusion.");
    assert_eq!(a["alert"]["severity"], "urgent");
    assert_eq!(a["alert"]["alerted_at"], "2027-01-15T08:00:00Z");
    assert_eq!(a["alert"]["call_by"], "2027-01-15T08:15:00Z");
    // Nobody on the rota: every treating member is told at once.
    assert_eq!(a["alert"]["told"], 3);

    // The coordinator's queue has the case first, with its alert.
    let other = c.app.case_of(&c.patient, example("gej")).await;
    add_members(
        &c.app,
        &other,
        &[(&c.coordinator, MemberRole::Coordinator, Access::Act)],
    )
    .await;
    let q = c.app.get("/api/v1/work", &c.coordinator).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    let first = &q.body["cases"][0];
    assert_eq!(first["id"], c.id.as_str(), "{}", q.body);
    assert_eq!(first["alerts"], 1, "{}", q.body);
    assert_eq!(q.body["alerting"], 1);

    // The inbox lists it with what was reported.
    let l = c
        .app
        .get(&format!("/api/v1/cases/{}/alerts", c.id), &c.li)
        .await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.text);
    assert_eq!(l.body["alerts"][0]["reported_words"], "confusion, 39.6 °C");
    assert_eq!(l.body["alerts"][0]["level"], "every-treating-member");

    // Each of the team has one notice naming the patient, the severity and what to do.
    for who in [&c.coordinator, &c.li, &c.wang] {
        let list = notices(&c.app, who).await;
        let alerts = alert_notices(&list);
        assert_eq!(alerts.len(), 1, "{list:?}");
        let text = alerts[0]["text"].as_str().expect("text");
        assert!(
            text.starts_with("Urgent safety alert — p@example.org"),
            "{text}"
        );
        assert!(
            text.contains("confusion, 39.6 °C") && text.contains("16:00 (UTC+08:00)"),
            "{text}"
        );
        assert!(text.contains("Call the family back"), "{text}");
        assert_eq!(alerts[0]["severity"], "urgent");
    }
    // The family is told nothing content-free: no alert notice at all.
    for who in [&c.patient, &c.caregiver] {
        assert!(alert_notices(&notices(&c.app, who).await).is_empty());
    }
    // An emergency sign is an emergency alert.
    let e = diary(&c, &c.patient, json!({"unresponsive": true})).await;
    assert_eq!(e["alert"]["severity"], "emergency");
    assert_eq!(e["call_emergency"], true);
}

#[tokio::test]
async fn an_alert_nobody_acknowledges_escalates_along_the_rota_then_to_everyone() {
    let c = cast(|_| {}).await;
    // The coordinator sets the rota: Li, then Wang, all day.
    let rota = json!({"rota": [
        {"user": c.li.id, "starts_at": "2027-01-15T00:00:00Z", "ends_at": "2027-01-16T00:00:00Z"},
        {"user": c.wang.id, "starts_at": "2027-01-15T00:00:00Z", "ends_at": "2027-01-16T00:00:00Z"},
    ]});
    // Only the coordinator sets it; a specialist is refused.
    let r = c
        .app
        .call(
            "PUT",
            &format!("/api/v1/cases/{}/on-call", c.id),
            Some(&c.li),
            Some(rota.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = c
        .app
        .call(
            "PUT",
            &format!("/api/v1/cases/{}/on-call", c.id),
            Some(&c.coordinator),
            Some(rota),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Someone not treating the case cannot be put on call.
    let r = c
        .app
        .call(
            "PUT",
            &format!("/api/v1/cases/{}/on-call", c.id),
            Some(&c.coordinator),
            Some(json!({"rota": [{"user": c.caregiver.id, "starts_at": "2027-01-15T00:00:00Z", "ends_at": "2027-01-16T00:00:00Z"}]})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["fields"][0], "/rota/0/user", "{}", r.body);

    let a = diary(&c, &c.caregiver, json!({"very_sleepy": true})).await;
    assert_eq!(a["alert"]["told"], 1);
    let count = |who: Client| {
        let app = &c.app;
        async move { alert_notices(&notices(app, &who).await).len() }
    };
    assert_eq!(count(c.li.clone()).await, 1);
    assert_eq!(count(c.wang.clone()).await, 0);
    assert_eq!(count(c.coordinator.clone()).await, 0);

    // Within the window nothing moves.
    clock(&c.app).advance(14 * 60);
    assert_eq!(
        cellpath_web::alerts::escalate_due(&c.app.state)
            .await
            .expect("tick"),
        0
    );
    // After it, the next on call.
    clock(&c.app).advance(61);
    assert_eq!(
        cellpath_web::alerts::escalate_due(&c.app.state)
            .await
            .expect("tick"),
        1
    );
    assert_eq!(count(c.wang.clone()).await, 1);
    assert_eq!(count(c.coordinator.clone()).await, 0);
    // Then everyone (the coordinator), once.
    clock(&c.app).advance(15 * 60);
    assert_eq!(
        cellpath_web::alerts::escalate_due(&c.app.state)
            .await
            .expect("tick"),
        1
    );
    assert_eq!(count(c.coordinator.clone()).await, 1);
    let text = notices(&c.app, &c.coordinator).await;
    assert!(
        alert_notices(&text)[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("escalated")),
        "{text:?}"
    );
    clock(&c.app).advance(60 * 60);
    assert_eq!(
        cellpath_web::alerts::escalate_due(&c.app.state)
            .await
            .expect("tick"),
        0
    );
    assert!(
        c.app
            .audit()
            .await
            .iter()
            .filter(|e| e.action == "safety-alert.escalate")
            .count()
            == 2
    );

    // Wang acknowledges; the family gets the receipt with who, when and what was done.
    let aid = a["alert"]["id"].as_str().expect("id").to_owned();
    let url = format!("/api/v1/cases/{}/alerts/{aid}/acknowledge", c.id);
    // The family cannot acknowledge their own warning.
    let r = c
        .app
        .post(&url, &c.caregiver, json!({"action": "called-back"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // "Other" needs a note.
    let r = c.app.post(&url, &c.wang, json!({"action": "other"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .app
        .post(
            &url,
            &c.wang,
            json!({"action": "called-back", "note": "fever settling"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = c
        .app
        .post(&url, &c.li, json!({"action": "called-back"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["error"]["code"], "already_acknowledged");
    for who in [&c.caregiver, &c.patient] {
        let list = notices(&c.app, who).await;
        let receipt = alert_notices(&list);
        assert_eq!(receipt.len(), 1, "{list:?}");
        let t = receipt[0]["text"].as_str().expect("text");
        assert!(
            t.starts_with("The team answered your report of 16:00 (UTC+08:00): wang@example.org called the family back at 17:30 (UTC+08:00)."),
            "{t}"
        );
    }
    // Acknowledged: the queue is calm and nothing escalates any more.
    let q = c.app.get("/api/v1/work", &c.coordinator).await;
    assert_eq!(q.body["alerting"], 0, "{}", q.body);
    clock(&c.app).advance(3600);
    assert_eq!(
        cellpath_web::alerts::escalate_due(&c.app.state)
            .await
            .expect("tick"),
        0
    );
}

#[tokio::test]
async fn temperatures_in_fahrenheit_are_converted_and_both_units_refused() {
    let c = cast(|_| {}).await;
    let a = diary(&c, &c.caregiver, json!({"temperature_f": 103.0})).await;
    assert_eq!(a["call_now"], true);
    assert_eq!(a["temperature_note"], "103 °F = 39.4 °C");
    assert_eq!(a["signs"][0], "fever 39.4 °C");
    let r = c
        .app
        .post(
            &format!("/api/v1/cases/{}/diary", c.id),
            &c.caregiver,
            json!({"entry": {"temperature_c": 39.0, "temperature_f": 102.2}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], "invalid_temperature");
    assert_eq!(
        r.body["error"]["fields"][0], "/entry/temperature_f",
        "{}",
        r.body
    );
    // Low temperature after lymphodepletion is a call.
    let low = diary(&c, &c.caregiver, json!({"temperature_c": 34.6})).await;
    assert_eq!(low["call_now"], true, "{low}");
    // A gastrointestinal sign is read.
    let gi = diary(&c, &c.caregiver, json!({"black_or_bloody_stools": true})).await;
    assert_eq!(gi["call_now"], true);
    let vomit = diary(&c, &c.caregiver, json!({"vomiting_blood": true})).await;
    assert_eq!(vomit["call_emergency"], true);
}

#[tokio::test]
async fn e_mail_reaches_a_local_smtp_server_with_a_link_and_no_clinical_text() {
    let sink = crate::smtp::start(true).await;
    let url = format!(
        "smtp://team%40centre.example:secret@localhost:{}",
        sink.port
    );
    let smtp =
        cellpath_web::mail::Smtp::parse(&url, "alerts@centre.example", Some(crate::smtp::ca_pem()))
            .expect("smtp");
    let c = cast(|config| {
        config.mailer = Some(Arc::new(smtp));
        config.public_url = "https://cellpath.centre.example".into();
    })
    .await;
    // Wang does not want e-mail.
    let r = c
        .app
        .call(
            "PUT",
            "/api/v1/me/notifications",
            Some(&c.wang),
            Some(json!({"email": false})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let a = diary(
        &c,
        &c.caregiver,
        json!({"confusion": true, "temperature_c": 39.6}),
    )
    .await;
    let sent = cellpath_web::notify::deliver_due(&c.app.state)
        .await
        .expect("deliver");
    assert_eq!(sent, 2, "the coordinator and Li, not Wang");
    let got = sink.messages();
    assert_eq!(got.len(), 2);
    let mut to: Vec<String> = got.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["coord@example.org", "li@example.org"]);
    let aid = a["alert"]["id"].as_str().expect("id");
    for m in &got {
        assert!(m.over_tls, "STARTTLS before the message");
        assert_eq!(
            m.auth,
            Some(("team@centre.example".into(), "secret".into()))
        );
        assert_eq!(m.from, "alerts@centre.example");
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("cellpath: a safety alert needs you now")
        );
        let body = m.body();
        assert!(
            body.contains(&format!(
                "https://cellpath.centre.example/cases/{}/monitoring#alert-{aid}",
                c.id
            )),
            "{body}"
        );
        for word in ["confusion", "39.6", "p@example.org", "°C"] {
            assert!(
                !m.data.contains(word) && !body.contains(word),
                "{word} in {body}"
            );
        }
    }
    // Sent once: a second round sends nothing.
    assert_eq!(
        cellpath_web::notify::deliver_due(&c.app.state)
            .await
            .expect("again"),
        0
    );
    let outbox = c.app.state.store.outbox(10).await.expect("outbox");
    assert!(outbox.iter().all(|o| o.sent_at.is_some()), "{outbox:?}");
}

#[tokio::test]
async fn an_unreachable_mail_server_is_retried_later_and_says_no_address() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let smtp = cellpath_web::mail::Smtp::parse(
        &format!("smtp://127.0.0.1:{port}?tls=none"),
        "alerts@centre.example",
        None,
    )
    .expect("smtp");
    let c = cast(|config| config.mailer = Some(Arc::new(smtp))).await;
    diary(&c, &c.caregiver, json!({"seizure": true})).await;
    assert_eq!(
        cellpath_web::notify::deliver_due(&c.app.state)
            .await
            .expect("deliver"),
        0
    );
    let outbox = c.app.state.store.outbox(10).await.expect("outbox");
    assert_eq!(outbox.len(), 3);
    for o in &outbox {
        assert_eq!(o.attempts, 1);
        assert!(o.sent_at.is_none() && o.given_up_at.is_none());
        let e = o.last_error.as_deref().expect("error");
        assert!(e.contains("cannot connect") && !e.contains('@'), "{e}");
    }
    // Not again before the retry time.
    assert_eq!(
        cellpath_web::notify::deliver_due(&c.app.state)
            .await
            .expect("deliver"),
        0
    );
    let again = c.app.state.store.outbox(10).await.expect("outbox");
    assert!(again.iter().all(|o| o.attempts == 1), "{again:?}");
}
