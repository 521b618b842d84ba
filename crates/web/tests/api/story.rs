// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The server's story, on a real database (SQLite here; PostgreSQL when
//! CELLPATH_TEST_POSTGRES is set, as CI does): sign-in, a case created by a coordinator for
//! a patient, the record edited with optimistic concurrency, screening stored with its
//! catalogue version, lifecycle transitions, access refused where it should be, CSRF and
//! forged sessions rejected, and the audit chain verified.

use std::sync::Arc;

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_web::policy::Role;
use cellpath_web::router;
use serde_json::{Value, json};
use tower::ServiceExt;

fn record() -> Value {
    let case = cellpath_domain::native::from_toml(include_str!(
        "../../../../examples/cases/gej-needs-information.toml"
    ))
    .expect("example");
    serde_json::to_value(case).expect("json")
}

/// The journey's cast and the case they share, passed from chapter to chapter.
struct Story {
    app: TestApp,
    patient: Client,
    coordinator: Client,
    oncologist: Client,
    caregiver: Client,
    stranger: Client,
    admin: Client,
    id: String,
    case_uri: String,
    rec: Value,
    put: String,
    pathologist: Option<Client>,
}

impl Story {
    async fn new() -> Self {
        let app = app().await;
        let patient = app.user("patient@example.org", Role::Patient, None).await;
        let coordinator = app.user("coord@example.org", Role::Coordinator, None).await;
        let oncologist = app
            .user(
                "onc@example.org",
                Role::Specialist,
                Some("medical-oncology"),
            )
            .await;
        let caregiver = app.user("carer@example.org", Role::Caregiver, None).await;
        let stranger = app.user("other@example.org", Role::Patient, None).await;
        let admin = app.user("admin@example.org", Role::Admin, None).await;
        // The patient invites the coordinator, who may then open cases in their name.
        let r = app
            .call(
                "POST",
                "/api/v1/relations",
                Some(&patient),
                Some(json!({"user_id": coordinator.id})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        Self {
            app,
            patient,
            coordinator,
            oncologist,
            caregiver,
            stranger,
            admin,
            id: String::new(),
            case_uri: String::new(),
            rec: Value::Null,
            put: String::new(),
            pathologist: None,
        }
    }
}

/// The server's story, chapter by chapter, as the journey goes: each chapter starts where
/// the one before left the case.
#[tokio::test]
async fn the_story() {
    let mut s = Story::new().await;
    the_patient_consents_before_any_case_opens(&mut s).await;
    the_coordinator_opens_the_case_and_the_team_forms(&mut s).await;
    the_record_is_edited_with_optimistic_concurrency(&mut s).await;
    a_fhir_bundle_imports_with_its_report(&mut s).await;
    screening_is_kept_and_follows_every_change(&mut s).await;
    the_mdt_gives_its_second_opinion(&mut s).await;
    messages_and_notifications_copy_no_clinical_text(&mut s).await;
    the_case_moves_along_its_lifecycle(&mut s).await;
    withdrawing_consent_stops_processing(&mut s).await;
    the_patient_sees_and_controls_access(&mut s).await;
    listing_shows_only_ones_own_cases(&mut s).await;
}

/// Without the patient's consent no case opens; only the patient consents, to the current texts.
async fn the_patient_consents_before_any_case_opens(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref coordinator,
        ..
    } = *s;
    // Without the patient's consent to processing, no case can be opened for them.
    let r = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(coordinator),
            Some(json!({"record": record(), "owner_id": patient.id})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"]["code"], "consent_required");
    let texts = app
        .call("GET", "/api/v1/consents", Some(patient), None, &[])
        .await;
    let kinds = texts.body["consents"].as_array().expect("consents").clone();
    assert_eq!(kinds.len(), 4);
    assert!(kinds.iter().all(
        |k| k["accepted_at"].is_null() && !k["text"]["zh-CN"].as_str().unwrap_or("").is_empty()
    ));
    let r = app
        .call(
            "POST",
            "/api/v1/consents",
            Some(coordinator),
            Some(json!({"kind": "mdt-sharing", "version": kinds[0]["version"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only the patient consents");
    let r = app
        .call(
            "POST",
            "/api/v1/consents",
            Some(patient),
            Some(json!({"kind": "mdt-sharing", "version": "1999-01-01"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    for k in &kinds {
        let r = app
            .call(
                "POST",
                "/api/v1/consents",
                Some(patient),
                Some(json!({"kind": k["kind"], "version": k["version"]})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}

/// The coordinator opens the case; the patient reads it, outsiders see nothing; the team and the caregiver join.
async fn the_coordinator_opens_the_case_and_the_team_forms(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref coordinator,
        ref oncologist,
        ref caregiver,
        ref stranger,
        ref admin,
        ..
    } = *s;
    // The coordinator opens a case for the patient.
    let r = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(coordinator),
            Some(json!({"record": record(), "owner_id": patient.id})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(r.body["state"], "inquiry");
    assert_eq!(r.etag.as_deref(), Some("\"v1\""));
    let case_uri = format!("/api/v1/cases/{id}");

    // The patient reads it; strangers, unassigned specialists, caregivers without a grant
    // and admins get 404 (ids reveal nothing).
    assert_eq!(
        app.call("GET", &case_uri, Some(patient), None, &[])
            .await
            .status,
        StatusCode::OK
    );
    for who in [&stranger, &oncologist, &caregiver, &admin] {
        assert_eq!(
            app.call("GET", &case_uri, Some(who), None, &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }

    // The coordinator assigns the oncologist; the patient grants the caregiver view access.
    let r = app
        .call(
            "POST",
            &format!("{case_uri}/members"),
            Some(coordinator),
            Some(json!({"user_id": oncologist.id, "role": "specialist"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call(
            "POST",
            &format!("{case_uri}/members"),
            Some(coordinator),
            Some(json!({"user_id": caregiver.id, "role": "caregiver", "access": "view"})),
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the patient grants caregivers"
    );
    let r = app
        .call(
            "POST",
            &format!("{case_uri}/members"),
            Some(patient),
            Some(json!({"user_id": caregiver.id, "role": "caregiver", "access": "view"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        app.call("GET", &case_uri, Some(oncologist), None, &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("GET", &case_uri, Some(caregiver), None, &[])
            .await
            .status,
        StatusCode::OK
    );
    s.id = id;
    s.case_uri = case_uri;
}

/// If-Match, stale writes, who may edit, and a bad record changing nothing.
async fn the_record_is_edited_with_optimistic_concurrency(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref coordinator,
        ref oncologist,
        ref caregiver,
        ref case_uri,
        ..
    } = *s;
    // Editing the record needs If-Match; a stale version gets 409 with the current one.
    let mut rec = record();
    rec["her2"][0]["ish"] = json!("not-amplified");
    let put = format!("{case_uri}/record");
    assert_eq!(
        app.call("PUT", &put, Some(coordinator), Some(rec.clone()), &[])
            .await
            .status,
        StatusCode::PRECONDITION_REQUIRED
    );
    let r = app
        .call(
            "PUT",
            &put,
            Some(coordinator),
            Some(rec.clone()),
            &[("if-match", "\"v1\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.etag.as_deref(), Some("\"v2\""));
    let r = app
        .call(
            "PUT",
            &put,
            Some(coordinator),
            Some(rec.clone()),
            &[("if-match", "\"v1\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("current version is 2")),
        "{}",
        r.body
    );
    // If-Match: * writes whatever the current version is (RFC 9110).
    let r = app
        .call(
            "PUT",
            &put,
            Some(coordinator),
            Some(rec.clone()),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.etag.as_deref(), Some("\"v3\""));
    // Specialists and view-only caregivers cannot edit.
    for who in [&oncologist, &caregiver] {
        assert_eq!(
            app.call(
                "PUT",
                &put,
                Some(who),
                Some(rec.clone()),
                &[("if-match", "\"v3\"")]
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );
    }
    // A bad record is a 400 naming the place, and changes nothing.
    let mut bad = rec.clone();
    bad["ecog"] = json!([{"score": 7}]);
    let r = app
        .call(
            "PUT",
            &put,
            Some(coordinator),
            Some(bad),
            &[("if-match", "\"v3\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], "invalid_record");
    assert!(
        r.body["error"]["fields"][0]
            .as_str()
            .is_some_and(|f| f.starts_with("/record/ecog")),
        "{}",
        r.body
    );
    assert_eq!(
        app.call("GET", case_uri, Some(patient), None, &[])
            .await
            .etag
            .as_deref(),
        Some("\"v3\"")
    );
    s.rec = rec;
    s.put = put;
}

/// A FHIR bundle becomes the record, with its per-resource report.
async fn a_fhir_bundle_imports_with_its_report(s: &mut Story) {
    let Story {
        ref app,
        ref coordinator,
        ref case_uri,
        ref rec,
        ref put,
        ..
    } = *s;
    // A FHIR bundle imports into the case with its report (and the same If-Match rule).
    let bundle: Value = serde_json::from_str(include_str!(
        "../../../../examples/fhir/gastric-bundle.json"
    ))
    .expect("bundle");
    let imp = format!("{case_uri}/fhir-import");
    let r = app
        .call(
            "POST",
            &imp,
            Some(coordinator),
            Some(bundle.clone()),
            &[("if-match", "\"v1\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "stale");
    let r = app
        .call_raw(
            "POST",
            &imp,
            Some(coordinator),
            Some("{\"resourceType\": \"Bundle\", \"entry\": [}".into()),
            &[("if-match", "\"v3\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The bundle's patient is not the one this record describes (another primary site): the
    // import stops, naming the difference, and changes nothing.
    let r = app
        .call(
            "POST",
            &imp,
            Some(coordinator),
            Some(bundle.clone()),
            &[("if-match", "\"v3\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "identity_mismatch");
    // The coordinator knows it is the same person (the record was typed from a referral
    // letter) and replaces the record with the hospital's, saying why.
    let r = app
        .call(
            "POST",
            &format!(
                "{imp}?mode=replace&override_reason=referral%20letter%20had%20the%20wrong%20site"
            ),
            Some(coordinator),
            Some(bundle),
            &[("if-match", "\"v3\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.etag.as_deref(), Some("\"v4\""));
    assert_eq!(
        r.body["import_report"]["resources"]
            .as_array()
            .map(Vec::len),
        Some(15)
    );
    assert_eq!(r.body["case"]["record"]["primary"]["site"], "stomach");
    // Put the hand-written record back for the rest of the story.
    let r = app
        .call(
            "PUT",
            put,
            Some(coordinator),
            Some(rec.clone()),
            &[("if-match", "\"v4\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Screenings kept with their versions; a catalogue change re-screens at start.
async fn screening_is_kept_and_follows_every_change(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref oncologist,
        ref id,
        ref case_uri,
        ..
    } = *s;
    // Screening is stored with the catalogue version; the history is kept.
    let r = app
        .call(
            "POST",
            &format!("{case_uri}/screenings"),
            Some(oncologist),
            Some(json!({"as_of": "2026-11-20"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let satri = r.body["screening"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|p| p["programme"] == "satri-cel-nmpa")
        .cloned()
        .expect("satri");
    assert_eq!(
        satri["verdict"], "needs-information",
        "CLDN18.2 still only ≥1+ in 90%"
    );
    assert_eq!(r.body["screening"]["case_version"], 5);
    let h = app
        .call(
            "GET",
            &format!("{case_uri}/screenings"),
            Some(patient),
            None,
            &[],
        )
        .await;
    // One requested screening, and one automatic re-screen per record change (4 of them).
    assert_eq!(h.body["screenings"].as_array().map(Vec::len), Some(5));
    // A changed catalogue re-screens at start: nothing is stale now, and after a record
    // change made behind the API's back, that case is.
    assert_eq!(
        cellpath_web::rescreen_stale(&app.state)
            .await
            .expect("rescreen"),
        0
    );
    let current = app.state.store.case(id).await.expect("q").expect("case");
    // In a later second than the screenings before it, and sorting before any new one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut tx = app
        .state
        .store
        .begin(cellpath_store::NewAudit::new(
            "setup", "setup", None, "setup",
        ))
        .await
        .expect("begin");
    tx.save_screening(
        "s-0-old",
        id,
        current.record_version,
        "an-older-catalogue",
        "2026-11-20",
        "{}",
    )
    .await
    .expect("old screening");
    tx.commit().await.expect("commit");
    assert_eq!(
        cellpath_web::rescreen_stale(&app.state)
            .await
            .expect("rescreen"),
        1
    );
    assert_eq!(
        cellpath_web::rescreen_stale(&app.state)
            .await
            .expect("rescreen"),
        0
    );
    assert_eq!(
        h.body["screenings"][0]["catalogue_version"],
        app.state.catalogue.version()
    );
}

/// Assignments, opinions, a consensus with dissent, signatures; signed is immutable.
async fn the_mdt_gives_its_second_opinion(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref coordinator,
        ref oncologist,
        ref caregiver,
        ref case_uri,
        ..
    } = *s;
    // The MDT: assignments with a due date, opinions, a consensus with dissent, signatures.
    let pathologist = app
        .user("path@example.org", Role::Specialist, Some("pathology"))
        .await;
    let mdt = format!("{case_uri}/mdt");
    for who in [oncologist, &pathologist] {
        let r = app
            .call(
                "POST",
                &format!("{mdt}/assignments"),
                Some(coordinator),
                Some(json!({"user_id": who.id, "due": "2026-12-05"})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = app
        .call(
            "POST",
            &format!("{mdt}/assignments"),
            Some(coordinator),
            Some(json!({"user_id": caregiver.id, "due": "2026-12-05"})),
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "only specialists join the MDT"
    );
    let answers = json!({
        "biomarker_eligibility": "CLDN18.2 intensity distribution missing; HER2 now negative by ISH",
        "treatment_sequence": "third line after platinum/ICI and taxane/ramucirumab",
        "alternatives": "trifluridine/tipiracil; trials",
        "benefit_and_risk": "ITT mPFS 3.25 vs 1.77 months; CRS in ~95%",
        "access_and_logistics": "needs travel to Shanghai; 6–10 weeks",
        "recommendation": "repeat CLDN18.2 IHC reporting % at each intensity",
    });
    let opinion = |rec: &str| json!({"recommendation": rec, "rationale": "see answers", "answers": answers, "confidence": "moderate"});
    let r = app
        .call(
            "POST",
            &format!("{mdt}/opinions"),
            Some(oncologist),
            Some(opinion("need-more-information")),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call(
            "POST",
            &format!("{mdt}/opinions"),
            Some(&pathologist),
            Some(opinion("need-more-information")),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        app.call(
            "POST",
            &format!("{mdt}/opinions"),
            Some(caregiver),
            Some(opinion("not-suitable")),
            &[]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let mut empty = opinion("not-suitable");
    empty["answers"]["alternatives"] = json!("  ");
    let r = app
        .call(
            "POST",
            &format!("{mdt}/opinions"),
            Some(oncologist),
            Some(empty),
            &[],
        )
        .await;
    assert_eq!(r.body["error"]["fields"][0], "/answers/alternatives");
    let consensus = |dissenter: &str| {
        json!({
            "recommendation": "need-more-information", "summary": "repeat IHC before deciding",
            "answers": answers, "dissent": [{"specialist_id": dissenter, "note": "would proceed on current evidence"}],
        })
    };
    let r = app
        .call(
            "POST",
            &format!("{mdt}/consensus"),
            Some(oncologist),
            Some(consensus(&caregiver.id)),
            &[],
        )
        .await;
    assert_eq!(r.body["error"]["fields"][0], "/dissent/0/specialist_id");
    let r = app
        .call(
            "POST",
            &format!("{mdt}/consensus"),
            Some(oncologist),
            Some(consensus(&pathologist.id)),
            &[],
        )
        .await;
    assert_eq!(r.body["version"], 1, "{}", r.body);
    for who in [oncologist, &pathologist] {
        let r = app
            .call(
                "POST",
                &format!("{mdt}/consensus/1/signatures"),
                Some(who),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = app
        .call(
            "POST",
            &format!("{mdt}/consensus/1/signatures"),
            Some(oncologist),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "signed once");
    let view = app.call("GET", &mdt, Some(patient), None, &[]).await;
    assert_eq!(view.body["consensus"][0]["signed"], true);
    assert_eq!(view.body["opinions"].as_array().map(Vec::len), Some(2));
    // Signed is immutable: the database refuses a change; an amendment is a new version.
    assert!(
        app.state
            .store
            .execute_raw("UPDATE mdt_consensus SET body = '{}'")
            .await
            .is_err()
    );
    let r = app
        .call(
            "POST",
            &format!("{mdt}/consensus"),
            Some(&pathologist),
            Some(consensus(&oncologist.id)),
            &[],
        )
        .await;
    assert_eq!(r.body["version"], 2);
    let r = app
        .call(
            "POST",
            &format!("{mdt}/consensus/1/signatures"),
            Some(&pathologist),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "v1 is superseded");
    let view = app.call("GET", &mdt, Some(coordinator), None, &[]).await;
    assert_eq!(view.body["consensus"][1]["signed"], false);
    assert_eq!(
        view.body["consensus"][0]["signed"], true,
        "the signed version stays as it was"
    );
    s.pathologist = Some(pathologist);
}

/// Messages between participants; notifications copy no clinical text.
async fn messages_and_notifications_copy_no_clinical_text(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref coordinator,
        ref caregiver,
        ref stranger,
        ref case_uri,
        ..
    } = *s;
    let pathologist = s.pathologist.clone().expect("the MDT chapter ran");
    // Messages between participants, and notifications (which copy no clinical text).
    let msgs = format!("{case_uri}/messages");
    let r = app
        .call(
            "POST",
            &msgs,
            Some(coordinator),
            Some(json!({"body": "Please upload the CLDN18.2 slides."})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .call(
            "POST",
            &msgs,
            Some(patient),
            Some(json!({"body": "   "})),
            &[],
        )
        .await;
    assert_eq!(r.body["error"]["fields"][0], "/body");
    let l = app.call("GET", &msgs, Some(caregiver), None, &[]).await;
    assert_eq!(
        l.body["messages"][0]["body"],
        "Please upload the CLDN18.2 slides."
    );
    let n = app
        .call("GET", "/api/v1/notifications", Some(patient), None, &[])
        .await;
    let kinds: Vec<&str> = n.body["notifications"]
        .as_array()
        .expect("n")
        .iter()
        .filter_map(|x| x["kind"].as_str())
        .collect();
    // The family hears of messages; "ready to sign" is the team's, never the family's.
    assert!(
        kinds.contains(&"message") && !kinds.contains(&"mdt-consensus"),
        "{kinds:?}"
    );
    assert!(
        !n.body.to_string().contains("CLDN18.2 slides"),
        "no clinical text in notifications"
    );
    let p = app
        .call(
            "GET",
            "/api/v1/notifications",
            Some(&pathologist),
            None,
            &[],
        )
        .await;
    assert!(p.body.to_string().contains("mdt-assignment"));
    let nid = n.body["notifications"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/v1/notifications/{nid}/read"),
            Some(stranger),
            None,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/v1/notifications/{nid}/read"),
            Some(patient),
            None,
            &[]
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
}

/// Legal moves pass, illegal ones get 409; on to the signed consensus.
async fn the_case_moves_along_its_lifecycle(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref coordinator,
        ref oncologist,
        ref case_uri,
        ..
    } = *s;
    // Lifecycle: legal moves pass, illegal ones get 409 with the reason.
    let tr = format!("{case_uri}/transitions");
    for to in ["records-requested", "pre-screened", "mdt-scheduled"] {
        let r = app
            .call("POST", &tr, Some(coordinator), Some(json!({"to": to})), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{to}: {}", r.body);
    }
    let r = app
        .call(
            "POST",
            &tr,
            Some(coordinator),
            Some(json!({"to": "closed"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["error"]["code"], "illegal_transition");
    assert_eq!(
        app.call(
            "POST",
            &tr,
            Some(oncologist),
            Some(json!({"to": "mdt-in-review"})),
            &[]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // The coordinator takes the case on to the signed consensus.
    for to in ["mdt-in-review", "consensus", "report-delivered"] {
        let r = app
            .call("POST", &tr, Some(coordinator), Some(json!({"to": to})), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{to}: {}", r.body);
    }
    assert_eq!(
        app.call("GET", case_uri, Some(patient), None, &[])
            .await
            .body["state"],
        "report-delivered"
    );
}

/// Withdrawing the processing consent stops further processing.
async fn withdrawing_consent_stops_processing(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref oncologist,
        ref case_uri,
        ..
    } = *s;
    // Withdrawing the processing consent stops further processing.
    let r = app
        .call(
            "DELETE",
            "/api/v1/consents/health-data-processing",
            Some(patient),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(
            "POST",
            &format!("{case_uri}/screenings"),
            Some(oncologist),
            None,
            &[],
        )
        .await;
    assert_eq!(r.body["error"]["code"], "consent_required");
}

/// The access list, the chain verifying, and revoking the caregiver.
async fn the_patient_sees_and_controls_access(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref coordinator,
        ref oncologist,
        ref caregiver,
        ref case_uri,
        ..
    } = *s;
    // The patient sees who accessed the case; the chain verifies.
    let a = app
        .call(
            "GET",
            &format!("{case_uri}/audit"),
            Some(patient),
            None,
            &[],
        )
        .await;
    let actors: Vec<&str> = a.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(actors.contains(&oncologist.id.as_str()) && actors.contains(&caregiver.id.as_str()));
    assert_eq!(
        app.call(
            "GET",
            &format!("{case_uri}/audit"),
            Some(caregiver),
            None,
            &[]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert!(app.state.store.verify_audit().await.expect("chain") > 10);

    // The patient revokes the caregiver: access ends at once.
    let r = app
        .call(
            "DELETE",
            &format!("{case_uri}/members/{}", caregiver.id),
            Some(coordinator),
            None,
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the patient revokes a caregiver"
    );
    let r = app
        .call(
            "DELETE",
            &format!("{case_uri}/members/{}", caregiver.id),
            Some(patient),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call("GET", case_uri, Some(caregiver), None, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Listing shows only one's own cases.
async fn listing_shows_only_ones_own_cases(s: &mut Story) {
    let Story {
        ref app,
        ref patient,
        ref caregiver,
        ref stranger,
        ..
    } = *s;
    // Listing shows only one's own cases.
    let l = app
        .call("GET", "/api/v1/cases", Some(stranger), None, &[])
        .await;
    assert_eq!(l.body["cases"].as_array().map(Vec::len), Some(0));
    let l = app
        .call("GET", "/api/v1/cases", Some(caregiver), None, &[])
        .await;
    assert_eq!(l.body["cases"].as_array().map(Vec::len), Some(0), "revoked");
    let l = app
        .call("GET", "/api/v1/cases", Some(patient), None, &[])
        .await;
    assert_eq!(l.body["cases"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn sessions_csrf_and_lockout() {
    let app = app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    // No cookie, a forged cookie, a missing CSRF token: each refused, nothing written.
    assert_eq!(
        app.call("GET", "/api/v1/me", None, None, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let forged = Client {
        cookie: "cellpath_session=deadbeef".into(),
        csrf: patient.csrf.clone(),
        id: String::new(),
    };
    assert_eq!(
        app.call("GET", "/api/v1/me", Some(&forged), None, &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let no_csrf = Client {
        csrf: "wrong".into(),
        ..patient.clone()
    };
    let r = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(&no_csrf),
            Some(json!({"record": record()})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        app.state
            .store
            .cases_for(&patient.id)
            .await
            .expect("q")
            .is_empty()
    );
    assert_eq!(
        app.call("GET", "/api/v1/me", Some(&patient), None, &[])
            .await
            .body["role"],
        "patient"
    );

    // Malformed JSON and unknown fields: 400 with the place.
    let r = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(&patient),
            Some(json!({"record": record(), "colour": 1})),
            &[],
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

    // Wrong passwords: 401 each, then a temporary lock-out even for the right one.
    for _ in 0..5 {
        let e = app
            .sign_in("p@example.org", "wrong")
            .await
            .expect_err("refused");
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    }
    let e = app
        .sign_in("p@example.org", "correct horse battery")
        .await
        .expect_err("locked");
    assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
    // Unknown e-mails get the same answer as wrong passwords.
    let e = app
        .sign_in("nobody@example.org", "x")
        .await
        .expect_err("refused");
    assert_eq!(e.body["error"]["code"], "invalid_credentials");

    // Sign-out ends the session.
    let r = app
        .call("DELETE", "/api/v1/sessions", Some(&patient), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call("GET", "/api/v1/me", Some(&patient), None, &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let app = app().await;
    assert_eq!(
        app.call("GET", "/healthz", None, None, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("GET", "/readyz", None, None, &[]).await.status,
        StatusCode::OK
    );
    let r = app.call("GET", "/api/v1/nope", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "not_found");
}

#[tokio::test]
async fn admin_links_and_api_tokens() {
    let app = app().await;
    let admin = app.user("admin@example.org", Role::Admin, None).await;
    let coordinator = app.user("coord@example.org", Role::Coordinator, None).await;

    // Only an admin creates accounts; the answer carries a one-time set-password link.
    let r = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&coordinator),
            Some(json!({"email": "x@example.org", "role": "patient"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"email": "onc@example.org", "role": "specialist"})),
            &[],
        )
        .await;
    assert_eq!(r.body["error"]["fields"][0], "/specialty");
    let r = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"email": "New@Example.org", "role": "patient"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.body["set_password_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"email": "new@example.org", "role": "patient"})),
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "e-mails are unique, case-insensitively"
    );

    // The new user cannot sign in until they set a password through the link, once.
    assert!(
        app.sign_in("new@example.org", "anything at all")
            .await
            .is_err()
    );
    let r = app
        .call(
            "POST",
            "/api/v1/password",
            None,
            Some(json!({"token": token, "password": "short"})),
            &[],
        )
        .await;
    assert_eq!(r.body["error"]["code"], "weak_password");
    let r = app
        .call(
            "POST",
            "/api/v1/password",
            None,
            Some(json!({"token": token, "password": "a much longer passphrase"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(
            "POST",
            "/api/v1/password",
            None,
            Some(json!({"token": token, "password": "another long passphrase"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE, "a link works once");
    let patient = app
        .sign_in("new@example.org", "a much longer passphrase")
        .await
        .expect("signs in");

    // Scoped API tokens: Bearer, no CSRF; a read token cannot write; revocation ends it.
    let r = app
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&patient),
            Some(json!({"name": "home monitor", "scope": "read"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let read = format!("Bearer {}", r.body["token"].as_str().expect("token"));
    let tid = r.body["id"].as_str().expect("id").to_owned();
    let me = app
        .call("GET", "/api/v1/me", None, None, &[("authorization", &read)])
        .await;
    assert_eq!(me.body["role"], "patient");
    let w = app
        .call(
            "POST",
            "/api/v1/cases",
            None,
            Some(json!({"record": record()})),
            &[("authorization", &read)],
        )
        .await;
    assert_eq!(w.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&patient),
            Some(json!({"name": "x", "scope": "admin"})),
            &[],
        )
        .await;
    assert_eq!(r.body["error"]["fields"][0], "/scope");
    let list = app
        .call("GET", "/api/v1/tokens", Some(&patient), None, &[])
        .await;
    assert!(
        !list.body.to_string().contains("cp_"),
        "the secret is shown only once"
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/tokens/{tid}"),
            Some(&coordinator),
            None,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/tokens/{tid}"),
            Some(&patient),
            None,
            &[]
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call("GET", "/api/v1/me", None, None, &[("authorization", &read)])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(
            "GET",
            "/api/v1/me",
            None,
            None,
            &[("authorization", "Bearer cp_forged")]
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn documents_are_sniffed_limited_encrypted_and_guarded() {
    let app = app_with(|c| c.max_document = 64 * 1024).await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let stranger = app
        .user("s@example.org", Role::Specialist, Some("pathology"))
        .await;
    consent_all(&app, &patient.id).await;
    let r = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(&patient),
            Some(json!({"record": record()})),
            &[],
        )
        .await;
    let case = r.body["id"].as_str().expect("case").to_owned();

    let pdf = b"%PDF-1.7\nCLDN18.2 2+ in 60% of tumour cells\n%%EOF".to_vec();
    let r = upload(
        &app,
        &patient,
        &case,
        "..%2F..%2Fetc%2Fpath%C3%A9%20report.pdf",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["filename"], "pathé report.pdf",
        "directories stripped"
    );
    let did = r.body["id"].as_str().expect("id").to_owned();

    // At rest the bytes are encrypted.
    let stored = std::fs::read(app.state.config.documents_dir.join(format!("{did}.enc")))
        .expect("stored file");
    assert!(
        !stored.windows(7).any(|w| w == b"CLDN18."),
        "plaintext at rest"
    );

    // Download by someone who may read the case; 404 for others.
    let get = |who: &Client| {
        let req = Request::builder()
            .uri(format!("/api/v1/cases/{case}/documents/{did}"))
            .header(header::COOKIE, &who.cookie)
            .body(Body::empty())
            .expect("req");
        let state = Arc::clone(&app.state);
        async move { router(state).oneshot(req).await.expect("resp") }
    };
    let resp = get(&patient).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/pdf");
    let disposition = resp.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("UTF-8''path%C3%A9%20report.pdf"),
        "{disposition}"
    );
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    assert_eq!(body.as_ref(), pdf.as_slice());
    assert_eq!(get(&stranger).await.status(), StatusCode::NOT_FOUND);

    // A record fact can name the document it came from; a document that is not on the case
    // is refused with the place.
    let mut rec = record();
    rec["her2"][0]["source"] = json!(format!("document:{did}"));
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{case}/record"),
            Some(&patient),
            Some(rec.clone()),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    rec["her2"][0]["source"] = json!("document:d-not-here");
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{case}/record"),
            Some(&patient),
            Some(rec),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.body["error"]["code"], "unknown_document");
    assert_eq!(r.body["error"]["fields"][0], "/record/her2/0/source");

    // Mislabelled, unknown and oversized uploads are refused, and nothing is written.
    let r = upload(&app, &patient, &case, "x.png", "image/png", pdf.clone()).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("mislabelled"))
    );
    let r = upload(
        &app,
        &patient,
        &case,
        "x.html",
        "text/html",
        b"<html><script>".to_vec(),
    )
    .await;
    assert_eq!(r.body["error"]["code"], "unsupported_type");
    let mut big = b"%PDF-".to_vec();
    big.resize(65 * 1024, b'x');
    let r = upload(&app, &patient, &case, "big.pdf", "application/pdf", big).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let l = app
        .call(
            "GET",
            &format!("/api/v1/cases/{case}/documents"),
            Some(&patient),
            None,
            &[],
        )
        .await;
    assert_eq!(l.body["documents"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        std::fs::read_dir(&app.state.config.documents_dir)
            .expect("dir")
            .count(),
        1
    );

    // Without a key, uploads are refused rather than stored in the clear.
    let keyless = app_with(|c| c.document_key = None).await;
    let p2 = keyless.user("p2@example.org", Role::Patient, None).await;
    consent_all(&keyless, &p2.id).await;
    let r = keyless
        .call(
            "POST",
            "/api/v1/cases",
            Some(&p2),
            Some(json!({"record": record()})),
            &[],
        )
        .await;
    let c2 = r.body["id"].as_str().expect("case").to_owned();
    let r = upload(&keyless, &p2, &c2, "a.pdf", "application/pdf", pdf).await;
    assert_eq!(r.body["error"]["code"], "documents_disabled");
    let _ = std::fs::remove_dir_all(&app.state.config.documents_dir);
}
