//! Upload memory (issue 10): measured on the whole process, so this test has a binary of
//! its own — `cargo test` runs the tests of one binary side by side in one process (the
//! others share `tests/api/`).

#[path = "api/common.rs"]
mod common;

use axum::http::StatusCode;
use cellpath_web::policy::Role;

/// Uploads were read whole into memory (three concurrent 50 MB uploads: ~190 MB each).
/// Now they are sealed to disk in 64 KiB records as they arrive, and downloads stream back.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_stream_to_disk_in_encrypted_chunks() {
    fn kb(field: &str) -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
    const SIZE: usize = 12 * 1024 * 1024;
    let app = common::app_with(|c| c.max_document = 50 * 1024 * 1024).await;
    if app.state.config.documents_in_database {
        return; // PostgreSQL keeps the sealed chunks in the database.
    }
    let patient = app.user("p@example.org", Role::Patient, None).await;
    let id = app.case_of(&patient, common::example("gastric")).await;
    // A body generated as it is sent, so that the test itself holds none of it.
    let body = || {
        let pieces = (0..SIZE / 65_536).map(|i| {
            let mut piece = vec![(i % 251) as u8; 65_536];
            if i == 0 {
                piece[..8].copy_from_slice(b"%PDF-1.7");
            }
            Ok::<_, std::io::Error>(axum::body::Bytes::from(piece))
        });
        axum::body::Body::from_stream(futures_util::stream::iter(pieces))
    };
    let before = kb("VmRSS:");
    let uploads = (0..3).map(|n| {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(format!("/api/v1/cases/{id}/documents?name=big{n}.pdf"))
            .header(axum::http::header::COOKIE, &patient.cookie)
            .header("x-csrf-token", &patient.csrf)
            .header(axum::http::header::CONTENT_TYPE, "application/pdf")
            .body(body())
            .expect("request");
        app.send(req)
    });
    let results = futures_util::future::join_all(uploads).await;
    for r in &results {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let grew_mb = kb("VmHWM:").saturating_sub(before) / 1024;
    assert!(
        grew_mb < 24,
        "three 12 MB uploads grew the peak by {grew_mb} MB"
    );
    // Stored in the chunked format, and a download gives the document back.
    let file = std::fs::read_dir(&app.state.config.documents_dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "enc"))
        .expect("a document");
    let mut head = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&file).expect("open"), &mut head)
        .expect("head");
    assert_eq!(&head, b"CPD2");
    let did = results[0].body["id"].as_str().expect("id").to_owned();
    let req = axum::http::Request::builder()
        .uri(format!("/api/v1/cases/{id}/documents/{did}"))
        .header(axum::http::header::COOKIE, &patient.cookie)
        .body(axum::body::Body::empty())
        .expect("request");
    let resp =
        tower::ServiceExt::oneshot(cellpath_web::router(std::sync::Arc::clone(&app.state)), req)
            .await
            .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), SIZE + 1)
        .await
        .expect("body");
    assert_eq!(bytes.len(), SIZE);
    assert!(bytes.starts_with(b"%PDF-1.7"));
    assert_eq!(bytes[65_536 * 7 + 5], 7);
}
