//! Security fixes from the attack on the running server (issue 10), each with the
//! reproduction that worked before.

use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::json;

/// A write API token could mint tokens that outlived its revocation, and change consents.
#[tokio::test]
async fn a_write_token_cannot_mint_credentials_or_change_consents() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
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

/// Responses carried no security headers, and the 413 for oversized JSON was plain text.
#[tokio::test]
async fn every_answer_carries_the_security_headers_and_413_speaks_json() {
    let app = crate::common::app_with(|c| {
        c.max_body = 1024;
        c.secure_cookies = true;
    })
    .await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let req = axum::http::Request::builder()
        .uri("/api/v1/me")
        .header(axum::http::header::COOKIE, &patient.cookie)
        .body(axum::body::Body::empty())
        .expect("request");
    let router = cellpath_web::router(std::sync::Arc::clone(&app.state));
    let resp = tower::ServiceExt::oneshot(router, req)
        .await
        .expect("response");
    let h = resp.headers();
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(get("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(!get("content-security-policy").contains("unsafe-inline"));
    assert_eq!(get("x-content-type-options"), "nosniff");
    assert_eq!(get("referrer-policy"), "no-referrer");
    assert_eq!(get("cache-control"), "no-store");
    assert!(get("strict-transport-security").starts_with("max-age="));
    // An error answer too.
    let r = app
        .call("GET", "/api/v1/nothing-here", None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let big = "x".repeat(4096);
    let r = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(&patient),
            Some(json!({"record": {"label": big}})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "too_large", "{}", r.text);
}

/// Notifications copied clinical text ("Safety alert (crs-present): CRS grade 1") to the
/// patient and caregiver, and stayed readable after access was revoked. Then (issue 25) the
/// family got content-free alarms about the team's monitoring, and the team notices with no
/// patient or severity. Now a monitoring alert goes to the treating team only, naming the
/// patient, the grades and what to do; the family gets nothing to act on; a notice still goes
/// with the access it was sent under.
#[tokio::test]
async fn notifications_go_to_who_acts_and_end_with_access() {
    use cellpath_store::{Access, MemberRole};
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let caregiver = app.user("g@example.org", Role::Caregiver, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let oncologist = app
        .user("o@example.org", Role::Specialist, Some("medical-oncology"))
        .await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    crate::common::add_members(
        &app,
        &id,
        &[
            (&caregiver, MemberRole::Caregiver, Access::View),
            (&coordinator, MemberRole::Coordinator, Access::Act),
            (&oncologist, MemberRole::Specialist, Access::Act),
        ],
    )
    .await;
    let fever = json!({
        "crs": {"temperature_c": 38.6, "antipyretics_or_anticytokine_given": false,
                "hypotension": false, "vasopressors": 0, "oxygen": {"device": "none"}},
        "icans": {"ice_score": 10, "consciousness": "normal", "seizure": "none",
                  "motor_weakness": "none", "cerebral_edema": "none"}
    });
    let r = app
        .post(
            &format!("/api/v1/cases/{id}/monitoring"),
            &oncologist,
            fever,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.body["alerts"].as_array().expect("alerts").is_empty());
    for family in [&caregiver, &patient] {
        let list = app.get("/api/v1/notifications", family).await;
        assert_eq!(
            list.body["notifications"].as_array().map(Vec::len),
            Some(0),
            "{}",
            list.text
        );
    }
    let list = app.get("/api/v1/notifications", &coordinator).await;
    let notes = list.body["notifications"].as_array().expect("list").clone();
    assert_eq!(notes.len(), 1, "{}", list.text);
    let text = notes[0]["text"].as_str().expect("text");
    for said in ["p@example.org", "CRS grade 1", "acknowledge"] {
        assert!(text.contains(said), "{said} not in {text}");
    }
    assert_eq!(notes[0]["page"], format!("/cases/{id}/monitoring"));
    let zh = app
        .call(
            "GET",
            "/api/v1/notifications",
            Some(&coordinator),
            None,
            &[("accept-language", "zh-CN")],
        )
        .await;
    assert!(
        zh.body["notifications"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("监测警报") && !t.contains("Monitoring")),
        "{}",
        zh.text
    );
    // Revoked: the notice goes with the access.
    let r = app
        .delete(
            &format!("/api/v1/cases/{id}/members/{}", coordinator.id),
            &patient,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let list = app.get("/api/v1/notifications", &coordinator).await;
    assert_eq!(
        list.body["notifications"].as_array().map(Vec::len),
        Some(0),
        "{}",
        list.text
    );
}

/// The patient's access list showed opaque `u-…` ids and did not say which calendar link
/// read the feed.
#[tokio::test]
async fn the_access_list_names_people_and_calendar_links() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let mut tx = app.setup().await;
    tx.set_display_name(&coordinator.id, Some("Li Wei (coordinator)"))
        .await
        .expect("name");
    tx.commit().await.expect("commit");
    let id = crate::common::case_with_coordinator_and_plan(&app, &patient, &coordinator).await;
    let r = app
        .post(
            &format!("/api/v1/cases/{id}/calendar-tokens"),
            &coordinator,
            json!({}),
        )
        .await;
    let link = r.body["id"].as_str().expect("id").to_owned();
    let url = r.body["url"].as_str().expect("url").to_owned();
    assert_eq!(
        app.call("GET", &url, None, None, &[]).await.status,
        StatusCode::OK
    );
    let log = app
        .get(&format!("/api/v1/cases/{id}/audit"), &patient)
        .await;
    let entries = log.body["entries"].as_array().expect("entries");
    let by_coordinator = entries
        .iter()
        .find(|e| e["action"] == "journey.update")
        .unwrap_or_else(|| panic!("{}", log.text));
    assert_eq!(by_coordinator["who"]["name"], "Li Wei (coordinator)");
    assert_eq!(by_coordinator["who"]["role"], "coordinator");
    let feed = entries
        .iter()
        .find(|e| e["action"] == "journey.calendar.feed")
        .expect("feed read");
    assert_eq!(feed["calendar_link"], link);
    assert_eq!(feed["who"]["name"], "Li Wei (coordinator)");
    // Without a display name, the e-mail.
    let own = entries
        .iter()
        .find(|e| e["action"] == "case.create")
        .expect("created");
    assert_eq!(own["who"]["name"], "p@example.org");
}

/// Documents were written world-readable (0644).
#[cfg(unix)]
#[tokio::test]
async fn documents_are_written_for_the_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let app = crate::common::app().await;
    if app.state.config.documents_in_database {
        return; // PostgreSQL keeps documents in the database.
    }
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let r = crate::common::upload(
        &app,
        &patient,
        &format!("/api/v1/cases/{id}").replace("/api/v1/cases/", ""),
        "report.pdf",
        "application/pdf",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let dir = &app.state.config.documents_dir;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700);
    for f in std::fs::read_dir(dir).expect("dir") {
        let f = f.expect("entry").path();
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

fn sign_in_from(ip: &str, email: &str, password: &str) -> axum::http::Request<axum::body::Body> {
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/sessions")
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(
            json!({"email": email, "password": password}).to_string(),
        ))
        .expect("request");
    let addr: std::net::SocketAddr = format!("{ip}:50000").parse().expect("addr");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

/// Five wrong passwords locked the account even for its owner, a wrong attempt every 15
/// minutes kept it locked for ever, and "locked" answered fast and only for real accounts.
#[tokio::test]
async fn failed_sign_ins_slow_the_attacker_not_the_owner() {
    let app = crate::common::app_at(1_800_000_000).await;
    let owner = app.user("p@example.org", Role::Patient, None).await;
    let attacker = "203.0.113.7";
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.send(sign_in_from(attacker, "p@example.org", "wrong"))
                .await
                .status,
        );
    }
    assert_eq!(&statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
    // Even the right password waits, from the attacker's address…
    let r = app
        .send(sign_in_from(
            attacker,
            "p@example.org",
            "correct horse battery",
        ))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // …but the owner, elsewhere, signs in at once: nobody is locked out.
    let r = app
        .send(sign_in_from(
            "198.51.100.20",
            "p@example.org",
            "correct horse battery",
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // An unknown e-mail gets exactly the same answers.
    let mut unknown = Vec::new();
    for _ in 0..6 {
        unknown.push(
            app.send(sign_in_from(attacker, "nobody@example.org", "wrong"))
                .await
                .status,
        );
    }
    assert_eq!(unknown, statuses);
    // The wait is said, and grows; after it, attempts are counted again.
    let r = app
        .send(sign_in_from(attacker, "p@example.org", "wrong"))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let clock = app.clock.as_ref().expect("clock");
    clock.advance(31);
    let r = app
        .send(sign_in_from(attacker, "p@example.org", "wrong"))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "after 30 s one more try"
    );
    clock.advance(31);
    let r = app
        .send(sign_in_from(attacker, "p@example.org", "wrong"))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "now 60 s");
    // The owner sees the attack on their account.
    let events = app.get("/api/v1/me/events", &owner).await;
    let kinds: Vec<&str> = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        kinds
            .iter()
            .filter(|k| **k == "session.sign_in_failed")
            .count()
            >= 5,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"session.sign_in_throttled"), "{kinds:?}");
    assert!(kinds.contains(&"session.sign_in"), "{kinds:?}");
}

#[tokio::test]
async fn a_throttled_answer_says_how_long_to_wait() {
    let app = crate::common::app().await;
    app.user("p@example.org", Role::Patient, None).await;
    for _ in 0..5 {
        app.send(sign_in_from("192.0.2.1", "p@example.org", "wrong"))
            .await;
    }
    let req = sign_in_from("192.0.2.1", "p@example.org", "wrong");
    let resp =
        tower::ServiceExt::oneshot(cellpath_web::router(std::sync::Arc::clone(&app.state)), req)
            .await
            .expect("response");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=30).contains(&wait), "{wait}");
}

/// A stored plan with 100,000 caregiver periods and an absurd duration took 2.4 s to plan on
/// every read of the journey, the calendar and the anonymous feed.
#[tokio::test]
async fn journey_plans_are_bounded() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let uri = format!("/api/v1/cases/{id}/journey");
    let mut huge = crate::common::plan_json(None);
    let periods: Vec<_> = (0..100_000)
        .map(|_| json!({"role": "daughter", "from": "2026-12-01", "to": "2026-12-31"}))
        .collect();
    huge["caregivers"] = json!(periods);
    let r = app
        .call("PUT", &uri, Some(&patient), Some(huge.clone()), &[])
        .await;
    // Over the body limit already, or over the plan's limits: never planned.
    assert!(
        r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::PAYLOAD_TOO_LARGE,
        "{} {}",
        r.status,
        r.text
    );
    let mut many = crate::common::plan_json(None);
    let periods: Vec<_> = (0..51)
        .map(|_| json!({"role": "daughter", "from": "2026-12-01", "to": "2026-12-31"}))
        .collect();
    many["caregivers"] = json!(periods);
    let r = app.call("PUT", &uri, Some(&patient), Some(many), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "plan_too_large");
    let mut long = crate::common::plan_json(None);
    long["durations"] = json!({"manufacturing": [1, 5_000]});
    let r = app.call("PUT", &uri, Some(&patient), Some(long), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // A plan stored before the limits existed is refused on read, not planned.
    let mut tx = app.setup().await;
    tx.put_journey(&id, &huge.to_string()).await.expect("store");
    tx.commit().await.expect("commit");
    let started = std::time::Instant::now();
    let r = app.get(&uri, &patient).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

/// Anyone could open a case in a patient's name (a revoked or unrelated caregiver, any
/// coordinator), and it appeared in the patient's list.
#[tokio::test]
async fn a_case_in_a_patients_name_needs_the_patients_grant() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    crate::common::consent_all(&app, &patient.id).await;
    let caregiver = app.user("g@example.org", Role::Caregiver, None).await;
    let coordinator = app.user("c@example.org", Role::Coordinator, None).await;
    let admin = app.user("a@example.org", Role::Admin, None).await;
    let open = |who: crate::common::Client| {
        let app = &app;
        let owner = patient.id.clone();
        async move {
            app.post(
                "/api/v1/cases",
                &who,
                json!({"record": crate::common::example("gastric"), "owner_id": owner}),
            )
            .await
        }
    };
    for who in [&caregiver, &coordinator] {
        let r = open(who.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.body["error"]["code"], "invalid_owner");
    }
    let mine = app.get("/api/v1/cases", &patient).await;
    assert_eq!(
        mine.body["cases"].as_array().map(Vec::len),
        Some(0),
        "{}",
        mine.text
    );

    // The coordinator asks; nothing until the patient accepts.
    let r = app
        .post(
            "/api/v1/relations",
            &coordinator,
            json!({"patient_id": patient.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "requested");
    let rid = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        open(coordinator.clone()).await.status,
        StatusCode::BAD_REQUEST
    );
    // Only the patient accepts.
    let r = app
        .post(
            &format!("/api/v1/relations/{rid}/accept"),
            &coordinator,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post(
            &format!("/api/v1/relations/{rid}/accept"),
            &patient,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(open(coordinator.clone()).await.status, StatusCode::CREATED);

    // The patient invites the caregiver, then ends it: the caregiver can no longer open one.
    let r = app
        .post(
            "/api/v1/relations",
            &patient,
            json!({"user_id": caregiver.id}),
        )
        .await;
    assert_eq!(r.body["status"], "active");
    let rid = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(open(caregiver.clone()).await.status, StatusCode::CREATED);
    let r = app
        .delete(&format!("/api/v1/relations/{rid}"), &patient)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        open(caregiver.clone()).await.status,
        StatusCode::BAD_REQUEST
    );

    // An admin may approve a coordinator, never a caregiver.
    let other = app.user("c2@example.org", Role::Coordinator, None).await;
    let r = app
        .post(
            "/api/v1/relations",
            &admin,
            json!({"patient_id": patient.id, "user_id": caregiver.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = app
        .post(
            "/api/v1/relations",
            &admin,
            json!({"patient_id": patient.id, "user_id": other.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(open(other.clone()).await.status, StatusCode::CREATED);
    let rel = app.get("/api/v1/relations", &patient).await;
    assert_eq!(rel.body["relations"].as_array().map(Vec::len), Some(3));
}

/// A ZIP archive: (name, bytes as stored, method 0 stored / 8 deflate, declared size).
fn zip(entries: &[(&str, Vec<u8>, u16, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, method, declared) in entries {
        let offset = out.len() as u32;
        let header = |sig: &[u8], central: bool| {
            let mut h = sig.to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&method.to_le_bytes());
            h.extend_from_slice(&[0; 4]);
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&declared.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                h.extend_from_slice(&[0; 8]);
                h.extend_from_slice(&[0; 2]);
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(b"PK\x03\x04", false));
        out.extend_from_slice(data);
        central.extend(header(b"PK\x01\x02", true));
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    let n = entries.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn dicom(body: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; 128];
    d.extend_from_slice(b"DICM");
    d.extend_from_slice(body);
    d
}

/// A PDF named `.html` downloaded as `.html`; a U+202E name displayed as `scanexe.png`; any
/// ZIP was accepted (a bomb, or `PK` and then HTML).
#[tokio::test]
async fn uploads_are_what_they_say_and_zips_hold_dicom_only() {
    let app = crate::common::app_with(|c| c.max_document = 64 * 1024).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let up = |name: &'static str, ct: &'static str, bytes: Vec<u8>| {
        let app = &app;
        let patient = patient.clone();
        let id = id.clone();
        async move { crate::common::upload(app, &patient, &id, name, ct, bytes).await }
    };
    let r = up("report.html", "application/pdf", pdf.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = up("scan%E2%80%AEgnp.exe", "application/pdf", pdf.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let list = app
        .get(&format!("/api/v1/cases/{id}/documents"), &patient)
        .await;
    let names: Vec<&str> = list.body["documents"]
        .as_array()
        .expect("docs")
        .iter()
        .filter_map(|d| d["filename"].as_str())
        .collect();
    assert!(names.contains(&"report.pdf"), "{names:?}");
    assert!(names.contains(&"scangnp.pdf"), "{names:?}");
    assert!(!list.text.contains('\u{202e}'));

    let study = zip(&[
        ("DICOMDIR", dicom(b"dir"), 0, 135),
        ("IM0001", dicom(&[7; 300]), 0, 432),
    ]);
    let r = up("study.zip", "application/zip", study).await;
    assert_eq!(r.status, StatusCode::CREATED, "a real study: {}", r.text);
    let deflated = miniz_oxide::deflate::compress_to_vec(&dicom(&[0; 4000]), 6);
    let r = up(
        "study2.zip",
        "application/zip",
        zip(&[("IM1", deflated.clone(), 8, 4132)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "deflated: {}", r.text);

    for (what, bytes) in [
        (
            "an HTML page behind PK",
            b"PK\x03\x04<html><script>alert(1)</script></html>".to_vec(),
        ),
        (
            "an HTML entry",
            zip(&[("index.html", b"<html></html>".to_vec(), 0, 13)]),
        ),
        // Declared far past the limit: refused without expanding anything.
        ("a bomb", zip(&[("IM1", deflated.clone(), 8, 1 << 30)])),
        // Declaring less than it holds: caught while expanding, at the declared size.
        ("a lying entry", zip(&[("IM1", deflated, 8, 200)])),
    ] {
        let r = up("x.zip", "application/zip", bytes).await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{what}: {}",
            r.text
        );
    }
}

/// One case could fill the disk.
#[tokio::test]
async fn a_case_has_a_document_quota() {
    let app = crate::common::app_with(|c| c.case_quota = 100).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app
        .case_of(&patient, crate::common::example("gastric"))
        .await;
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let r =
        crate::common::upload(&app, &patient, &id, "a.pdf", "application/pdf", pdf.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r =
        crate::common::upload(&app, &patient, &id, "b.pdf", "application/pdf", pdf.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = crate::common::upload(&app, &patient, &id, "c.pdf", "application/pdf", pdf).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
}

/// The patient could not remove team members, nor let a trusted caregiver do it for them.
#[tokio::test]
async fn the_patient_and_an_allowed_caregiver_remove_members() {
    use cellpath_store::{Access, MemberRole};
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let carer = app.user("g@example.org", Role::Caregiver, None).await;
    let viewer = app.user("v@example.org", Role::Caregiver, None).await;
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
            (&carer, MemberRole::Caregiver, Access::Act),
            (&viewer, MemberRole::Caregiver, Access::View),
            (&coordinator, MemberRole::Coordinator, Access::Act),
            (&specialist, MemberRole::Specialist, Access::Act),
        ],
    )
    .await;
    let member = |u: &crate::common::Client| format!("/api/v1/cases/{id}/members/{}", u.id);
    // Not until the patient allows it.
    let r = app.delete(&member(&coordinator), &carer).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{id}/settings"),
            Some(&carer),
            Some(json!({"caregivers_manage_members": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only the patient sets it");
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{id}/settings"),
            Some(&patient),
            Some(json!({"caregivers_manage_members": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A viewing caregiver still cannot; the acting one can.
    assert_eq!(
        app.delete(&member(&coordinator), &viewer).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&member(&coordinator), &carer).await.status,
        StatusCode::NO_CONTENT
    );
    // The patient removes the specialist, who leaves the MDT team too.
    assert_eq!(
        app.delete(&member(&specialist), &patient).await.status,
        StatusCode::NO_CONTENT
    );
    let mdt = app.state.store.mdt_assignments(&id).await.expect("team");
    assert!(mdt.iter().all(|a| a.user_id != specialist.id));
    let r = app.get(&format!("/api/v1/cases/{id}"), &specialist).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "access ends at once");
}
