//! `cellpath report` and `cellpath report verify` on a server's data: the demo consensus
//! signed over HTTP, the patient's summary written in Chinese from the data folder, verified
//! as issued, refused once a byte changed.

use crate::common::{cellpath, json, text};

#[test]
fn a_report_is_written_from_the_data_and_verified_as_issued() {
    let root = std::env::temp_dir().join(format!("cellpath-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    let d = data.to_string_lossy().into_owned();
    {
        let server = crate::common::start(&data, None);
        let who = |email: &str| {
            let password = server.password_of(email).expect("demo account");
            crate::common::sign_in(&server.addr, &format!("{email}@demo.cellpath"), &password)
        };
        let (coord, onc, path) = (who("coordinator"), who("oncologist"), who("pathologist"));
        let case = "/api/v1/cases/c-demo-1/mdt";
        let id_of = |c: &(String, String)| {
            json(
                &server.addr,
                "GET",
                "/api/v1/me",
                c,
                serde_json::Value::Null,
            )["id"]
                .as_str()
                .expect("id")
                .to_owned()
        };
        let answers = serde_json::json!({
            "biomarker_eligibility": "yes", "treatment_sequence": "third line",
            "alternatives": "trifluridine/tipiracil", "benefit_and_risk": "see the evidence",
            "access_and_logistics": "Shanghai", "recommendation": "proceed",
        });
        for s in [&onc, &path] {
            let id = id_of(s);
            json(
                &server.addr,
                "POST",
                &format!("{case}/assignments"),
                &coord,
                serde_json::json!({"user_id": id, "due": "2026-12-24"}),
            );
            json(
                &server.addr,
                "POST",
                &format!("{case}/opinions"),
                s,
                serde_json::json!({"recommendation": "proceed-to-car-t-evaluation", "rationale": "r", "answers": answers, "confidence": "high"}),
            );
        }
        json(
            &server.addr,
            "POST",
            &format!("{case}/consensus"),
            &onc,
            serde_json::json!({"recommendation": "proceed-to-car-t-evaluation", "summary": "Proceed.", "answers": answers, "dissent": []}),
        );
        for s in [&onc, &path] {
            json(
                &server.addr,
                "POST",
                &format!("{case}/consensus/1/signatures"),
                s,
                serde_json::Value::Null,
            );
        }
    }
    let out = root.join("summary-zh.html");
    let o = cellpath(&[
        "report",
        "--data-dir",
        &d,
        "--case",
        "c-demo-1",
        "--kind",
        "patient",
        "--lang",
        "zh-CN",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("code CP-"), "{}", text(&o));
    let html = std::fs::read_to_string(&out).expect("written");
    assert!(html.contains("致患者和照护者的摘要") && html.contains("非医疗建议"));
    let o = cellpath(&["report", "verify", &out.to_string_lossy(), "--data-dir", &d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o)
            .contains("matches the patient report (zh-CN) of case c-demo-1, consensus version 1"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("current: no later consensus version"),
        "{}",
        text(&o)
    );
    std::fs::write(&out, html.replacen("22", "23", 1)).expect("tamper");
    let o = cellpath(&["report", "verify", &out.to_string_lossy(), "--data-dir", &d]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "not a match is an answer: {}",
        text(&o)
    );
    assert!(text(&o).contains("does NOT match"), "{}", text(&o));
    // The MDT report as a PDF (from the extension), verified the same way.
    let pdf = root.join("mdt-en.pdf");
    let o = cellpath(&[
        "report",
        "--data-dir",
        &d,
        "--case",
        "c-demo-1",
        "--out",
        &pdf.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&pdf).expect("written");
    assert!(bytes.starts_with(b"%PDF-"));
    let o = cellpath(&["report", "verify", &pdf.to_string_lossy(), "--data-dir", &d]);
    assert!(
        o.status.success() && text(&o).contains("matches the mdt report (en)"),
        "{}",
        text(&o)
    );
    let o = cellpath(&[
        "report",
        "--data-dir",
        &d,
        "--case",
        "c-demo-1",
        "--format",
        "docx",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("--format"),
        "{}",
        text(&o)
    );
    // Unknown kind: named, nothing written.
    let o = cellpath(&[
        "report",
        "--data-dir",
        &d,
        "--case",
        "c-demo-1",
        "--kind",
        "letter",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--kind"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&root);
}
