//! The logs carry no personal or clinical data: a story runs with the log captured, and the
//! patient's e-mail, the record's text and a message body are searched for and not found.
//! (Its own test binary: the subscriber is process-wide.)

use std::sync::{Arc, Mutex};

use crate::common::*;
use axum::http::StatusCode;
use cellpath_web::policy::Role;
use serde_json::{Value, json};

/// A writer that keeps what the subscriber writes, for reading back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_carry_no_personal_or_clinical_data() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let app = app().await;
    let patient = app.user("wang.fang@example.org", Role::Patient, None).await;
    let id = app.case_of(&patient, example("gastric")).await;
    let case = format!("/api/v1/cases/{id}");
    let secret_message = "my husband's biopsy from Qingdao hospital";
    let r = app
        .post(
            &format!("{case}/messages"),
            &patient,
            json!({"body": secret_message}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(app.get(&case, &patient).await.status, StatusCode::OK);
    app.post(&format!("{case}/screenings"), &patient, json!({}))
        .await;
    // An unexpected failure is logged with its cause.
    break_inserts(&app, "audit").await;
    let r = app.get(&case, &patient).await;
    heal(&app, "audit").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = r.body["error"]["request_id"]
        .as_str()
        .expect("request id")
        .to_owned();

    let text = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("utf-8");
    // The log is there: an access line per request, and the error with its request id.
    assert!(
        text.contains("route=/api/v1/cases/{id}") && text.contains("status=200"),
        "{text}"
    );
    assert!(text.contains("internal error"), "{text}");
    assert!(text.contains(&request_id), "{text}");
    // And none of the person or their record is in it.
    let record = example("gastric");
    let mut forbidden = vec![
        "wang.fang".to_owned(),
        secret_message.to_owned(),
        id.clone(),
    ];
    for pointer in [
        "/primary/histology_text",
        "/primary/stage",
        "/patient/birth_date",
    ] {
        if let Some(s) = record.pointer(pointer).and_then(Value::as_str) {
            forbidden.push(s.to_owned());
        }
    }
    for needle in &forbidden {
        assert!(
            !text.contains(needle.as_str()),
            "the log contains `{needle}`"
        );
    }
}
