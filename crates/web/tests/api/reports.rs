//! The reports of a signed consensus over HTTP: refused while unsigned; both kinds in both
//! languages for the patient as for the team; the evidence with its sources; an amendment
//! supersedes the old report, which stays downloadable; every download audited.

use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::json;

#[tokio::test]
async fn a_signed_consensus_makes_both_reports_and_an_amendment_supersedes_them() {
    let app = crate::common::app().await;
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let coord = app.user("c@example.org", Role::Coordinator, None).await;
    let onc = app
        .user("o@example.org", Role::Specialist, Some("medical-oncology"))
        .await;
    let path = app
        .user("pa@example.org", Role::Specialist, Some("pathology"))
        .await;
    let stranger = app.user("s@example.org", Role::Patient, None).await;
    let id = crate::common::case_with_coordinator_and_plan(&app, &patient, &coord).await;
    let mdt = format!("/api/v1/cases/{id}/mdt");
    for who in [&onc, &path] {
        let r = app
            .post(
                &format!("{mdt}/assignments"),
                &coord,
                json!({"user_id": who.id, "due": "2026-12-05"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let answers = json!({
        "biomarker_eligibility": "CLDN18.2 2+ or stronger in 60% of tumour cells",
        "treatment_sequence": "third line", "alternatives": "trifluridine/tipiracil",
        "benefit_and_risk": "see the evidence", "access_and_logistics": "Shanghai, 6–10 weeks",
        "recommendation": "proceed",
    });
    for who in [&onc, &path] {
        let r = app
            .post(&format!("{mdt}/opinions"), who, json!({"recommendation": "proceed-to-car-t-evaluation", "rationale": "r", "answers": answers, "confidence": "high"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let consensus = json!({
        "recommendation": "proceed-to-car-t-evaluation", "summary": "Proceed; repeat the IHC on fresh tissue.",
        "answers": answers, "dissent": [{"specialist_id": path.id, "note": "Repeat the IHC first."}],
    });
    let r = app
        .post(&format!("{mdt}/consensus"), &onc, consensus.clone())
        .await;
    assert_eq!(r.body["version"], 1, "{}", r.text);
    let reports = format!("/api/v1/cases/{id}/reports");
    let v1 = format!("{reports}/1.html");

    // Unsigned: listed, and no report is made from it.
    let r = app.get(&reports, &patient).await;
    assert_eq!(r.body["reports"][0]["signed"], false, "{}", r.text);
    let r = app.get(&v1, &onc).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "consensus_unsigned");
    for who in [&onc, &path] {
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

    // Signed: both kinds, both languages, for the patient as for the team.
    let before = app.audit().await.len();
    let r = app.get(&format!("{v1}?kind=mdt&lang=en"), &patient).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for want in [
        "MDT second-opinion report",
        "The six steps of the decision",
        "Repeat the IHC first.",
        "3.25 months (2.86–4.53)",
        "not a head-to-head comparison",
        "https://www.cancernetwork.com/",
        "(medical oncology)",
        "CP-",
    ] {
        assert!(r.text.contains(want), "{want}");
    }
    assert!(app.audit().await.len() > before, "the download is audited");
    let r = app
        .get(&format!("{v1}?kind=patient&lang=zh-CN"), &patient)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("致患者和照护者的摘要") && r.text.contains("约 22 人（15–31）"),
        "{}",
        r.text
    );
    let r = app.get(&format!("{v1}?kind=other"), &patient).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&v1, &stranger).await.status, StatusCode::NOT_FOUND);

    // Verification: the file as issued matches; a changed byte does not; not a report.
    let issued = app
        .get(&format!("{v1}?kind=mdt&lang=en"), &patient)
        .await
        .text;
    let check = async |body: String, who: &crate::common::Client| {
        app.call_raw("POST", "/api/v1/reports/verify", Some(who), Some(body), &[])
            .await
    };
    let r = check(issued.clone(), &coord).await;
    assert_eq!(r.body["result"], "matches", "{}", r.text);
    assert_eq!(r.body["superseded"], false);
    assert_eq!(r.body["record_changed_since"], false);
    let changed = issued.replacen("3.25 months", "4.25 months", 1);
    assert_eq!(check(changed, &coord).await.body["result"], "altered");
    assert_eq!(
        check("<html></html>".into(), &coord).await.body["result"],
        "not_a_report"
    );
    assert_eq!(
        check(issued.clone(), &stranger).await.status,
        StatusCode::NOT_FOUND,
        "a report of a case one cannot open says nothing"
    );

    // The PDF: the same report laid out for paper, saying what it is, verifiable the same way.
    let pdf_of = format!("{reports}/1.pdf?kind=mdt&lang=zh-CN");
    let r = app.get(&pdf_of, &patient).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.content_type.as_deref(), Some("application/pdf"));
    assert!(r.bytes.starts_with(b"%PDF-"));
    let issued_pdf = r.bytes;
    let check_pdf = async |body: Vec<u8>| {
        app.call_bytes(
            "POST",
            "/api/v1/reports/verify",
            &coord,
            body,
            "application/pdf",
        )
        .await
    };
    let r = check_pdf(issued_pdf.clone()).await;
    assert_eq!(r.body["result"], "matches", "{}", r.text);
    assert_eq!(
        (r.body["kind"].as_str(), r.body["lang"].as_str()),
        (Some("mdt"), Some("zh-CN"))
    );
    let mut changed = issued_pdf.clone();
    let at = changed.len() / 2;
    changed[at] ^= 1;
    assert_eq!(check_pdf(changed).await.body["result"], "altered");
    let r = app.get(&format!("{reports}/1.docx"), &patient).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // An amendment is a new version: the old report stays, marked superseded.
    let r = app
        .post(&format!("{mdt}/consensus"), &path, consensus)
        .await;
    assert_eq!(r.body["version"], 2, "{}", r.text);
    let r = app.get(&reports, &coord).await;
    assert_eq!(r.body["reports"][0]["superseded"], true, "{}", r.text);
    assert_eq!(r.body["reports"][1]["superseded"], false);
    let r = app.get(&v1, &coord).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("MDT second-opinion report"),
        "still downloadable"
    );
    let r = check(issued, &coord).await;
    assert_eq!(r.body["result"], "matches", "{}", r.text);
    assert_eq!(r.body["superseded"], true, "the old report is superseded");
    let r = check_pdf(issued_pdf).await;
    assert_eq!(r.body["result"], "matches", "{}", r.text);
    assert_eq!(r.body["superseded"], true, "the old PDF too");
}
