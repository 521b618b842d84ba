//! The coordinator's work queue over many cases, and the live grade preview, through the
//! real router (pages and API, every layer `serve` has: session, access, audit), in process
//! on SQLite — beside `/healthz` through the same router in the same run (the floor).
//!
//! `cargo bench -p cellpath-pages --bench workspace` (BENCH_CASES, default 10,000;
//! BENCH_ROUNDS requests per workload, default 1,000). Prints p50/p99 and requests per
//! second (one request at a time).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_store::{Access, MemberRole, NewAudit, NewCase, NewMonitoring};
use cellpath_web::policy::Role;
use cellpath_web::{AppState, Config, create_user, router_with};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>, Option<String>) {
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .expect("body")
        .to_vec();
    (status, body, cookie)
}

async fn sign_in(app: &Router, email: &str) -> String {
    let body = format!(
        "email={}&password={}&next=/",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let req = Request::builder()
        .method("POST")
        .uri("/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let (status, _, cookie) = send(app, req).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "sign in");
    cookie.expect("session cookie")
}

struct Figures {
    label: String,
    p50: Duration,
    p99: Duration,
    per_sec: f64,
}

async fn measure(
    app: &Router,
    label: &str,
    rounds: usize,
    make: impl Fn() -> Request<Body>,
    check: impl Fn(&[u8]),
) -> Figures {
    // Warm up (caches, prepared statements), then measure one request at a time.
    for _ in 0..rounds / 10 + 1 {
        let (s, body, _) = send(app, make()).await;
        assert!(
            s.is_success(),
            "{label}: {s} {}",
            String::from_utf8_lossy(&body)
        );
        check(&body);
    }
    let mut times = Vec::with_capacity(rounds);
    let start = Instant::now();
    for _ in 0..rounds {
        let t = Instant::now();
        let (s, _, _) = send(app, make()).await;
        times.push(t.elapsed());
        assert!(s.is_success(), "{label}: {s}");
    }
    let total = start.elapsed();
    times.sort();
    Figures {
        label: label.to_owned(),
        p50: times[times.len() / 2],
        p99: times[(times.len() * 99 / 100).min(times.len() - 1)],
        per_sec: rounds as f64 / total.as_secs_f64(),
    }
}

/// Requests per second with `conns` requests in flight at once (as many browsers would).
async fn throughput(app: &Router, conns: usize, rounds: usize, uri: &str, cookie: &str) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (app, uri, cookie) = (app.clone(), uri.to_owned(), cookie.to_owned());
        tasks.push(tokio::spawn(async move {
            for _ in 0..rounds / conns {
                let req = Request::builder()
                    .uri(&uri)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .expect("request");
                let (s, _, _) = send(&app, req).await;
                assert!(s.is_success(), "{uri}: {s}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    (rounds / conns * conns) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cases = env("BENCH_CASES", 10_000);
    let rounds = env("BENCH_ROUNDS", 1_000);
    let db = cellpath_store::testing::fresh().await;
    let store = cellpath_store::Store::connect(&db.url)
        .await
        .expect("connect");
    let state = Arc::new(AppState {
        store,
        catalogue: cellpath_eligibility::shipped().expect("catalogue"),
        config: Config::default(),
    });
    let coord = create_user(
        &state,
        "setup",
        "co@example.org",
        PASSWORD,
        Role::Coordinator,
        None,
    )
    .await
    .expect("user");
    let onc = create_user(
        &state,
        "setup",
        "onc@example.org",
        PASSWORD,
        Role::Specialist,
        Some("medical-oncology"),
    )
    .await
    .expect("user");
    let patient = create_user(
        &state,
        "setup",
        "p@example.org",
        PASSWORD,
        Role::Patient,
        None,
    )
    .await
    .expect("user");
    let record = serde_json::to_string(
        &cellpath_domain::native::from_toml(include_str!(
            "../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("example"),
    )
    .expect("json");
    let entry = r#"{"crs":{"temperature_c":38.6,"antipyretics_or_anticytokine_given":false,"hypotension":false,"vasopressors":0,"oxygen":{"device":"none"}},"icans":{"ice_score":10,"consciousness":"normal","seizure":"none","motor_weakness":"none","cerebral_edema":"none"}}"#;
    let states = [
        "inquiry",
        "records-requested",
        "pre-screened",
        "mdt-in-review",
        "in-treatment",
    ];
    // The patient has given every consent, so the coordinator's access is whole.
    let mut tx = state
        .store
        .begin(NewAudit::new("setup", "setup", None, "bench"))
        .await
        .expect("begin");
    for (i, t) in cellpath_web::consent::texts().iter().enumerate() {
        tx.accept_consent(&format!("k-{i}"), &patient, t.kind, &t.version)
            .await
            .expect("consent");
    }
    tx.commit().await.expect("commit");
    let setup = Instant::now();
    for chunk in 0..cases.div_ceil(1000) {
        let mut tx = state
            .store
            .begin(NewAudit::new("setup", "setup", None, "bench"))
            .await
            .expect("begin");
        for i in chunk * 1000..((chunk + 1) * 1000).min(cases) {
            let id = format!("c-bench-{i:05}");
            tx.create_case(NewCase {
                id: &id,
                owner_id: &patient,
                created_by: &coord,
                state: states[i % states.len()],
                record: &record,
            })
            .await
            .expect("case");
            tx.add_member(&id, &coord, MemberRole::Coordinator, Access::Act)
                .await
                .expect("member");
            // One case in ten has an MDT review, one in a hundred an unacknowledged alert.
            if i % 10 == 0 {
                tx.add_member(&id, &onc, MemberRole::Specialist, Access::Act)
                    .await
                    .expect("member");
                tx.mdt_assign(&id, &onc, "2027-01-15", 1)
                    .await
                    .expect("assign");
            }
            if i % 100 == 0 {
                tx.add_monitoring(NewMonitoring {
                    id: &format!("mon-{i}"),
                    case_id: &id,
                    author: &onc,
                    entry,
                    crs: 1,
                    icans: 0,
                    alerts: 1,
                })
                .await
                .expect("monitoring");
            }
        }
        tx.commit().await.expect("commit");
    }
    eprintln!(
        "{cases} cases set up in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let app = router_with(Arc::clone(&state), Some(cellpath_pages::pages()));
    let cookie = sign_in(&app, "co@example.org").await;
    let csrf = {
        let req = Request::builder()
            .uri("/about")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .expect("req");
        let (_, body, _) = send(&app, req).await;
        let text = String::from_utf8(body).expect("utf-8");
        let at = text.find("name=\"_csrf\" value=\"").expect("csrf") + 20;
        text[at..at + text[at..].find('"').expect("end")].to_owned()
    };
    let get = |uri: String| {
        let cookie = cookie.clone();
        move || {
            Request::builder()
                .uri(&uri)
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .expect("request")
        }
    };
    let expect_total = format!("{cases} cases");
    let mut figures = vec![
        measure(
            &app,
            "/healthz (floor)",
            rounds,
            get("/healthz".into()),
            |_| {},
        )
        .await,
        measure(
            &app,
            &format!("work queue, {cases} cases, page 1"),
            rounds,
            get("/work".into()),
            |b| {
                let t = String::from_utf8_lossy(b);
                assert!(t.contains(&expect_total), "the counts");
                assert!(t.contains("class=\"alerting\""), "alerts first");
            },
        )
        .await,
        measure(
            &app,
            "work queue, sorted by due date",
            rounds,
            get("/work?sort=due".into()),
            |_| {},
        )
        .await,
        measure(
            &app,
            "work queue, a middle page",
            rounds,
            get(format!("/work?page={}", cases / 50 + 1)),
            |_| {},
        )
        .await,
        measure(
            &app,
            "work queue, alerts only",
            rounds,
            get("/work?alerts=true".into()),
            |_| {},
        )
        .await,
    ];
    figures.push(
        measure(
            &app,
            "case summary (record, CLDN18.2 picture, lines, pre-screen)",
            rounds,
            get("/cases/c-bench-00001/summary".into()),
            |b| {
                assert!(
                    String::from_utf8_lossy(b).contains("<svg class=\"cldn\""),
                    "the picture"
                );
            },
        )
        .await,
    );
    let preview_body = format!(
        "_csrf={csrf}&temp=38.6&vasopressors=0&device=none&ice_orientation=4&ice_naming=3&ice_commands=1&ice_writing=1&ice_attention=1&consciousness=normal&seizure=none&motor=none&oedema=none"
    );
    figures.push(
        measure(
            &app,
            "live grade preview",
            rounds,
            || {
                Request::builder()
                    .method("POST")
                    .uri("/cases/c-bench-00000/monitoring/preview")
                    .header(header::COOKIE, &cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(preview_body.clone()))
                    .expect("request")
            },
            |b| {
                assert!(
                    String::from_utf8_lossy(b).contains("ICE score: 10 of 10"),
                    "graded"
                )
            },
        )
        .await,
    );
    let floor = throughput(&app, 16, rounds * 4, "/healthz", &cookie).await;
    let summary = throughput(
        &app,
        16,
        rounds * 4,
        "/cases/c-bench-00001/summary",
        &cookie,
    )
    .await;
    println!("| workload | p50 | p99 | requests/s (one at a time) |");
    println!("|---|---|---|---|");
    for f in figures {
        println!(
            "| {} | {:.2} ms | {:.2} ms | {:.0} |",
            f.label,
            f.p50.as_secs_f64() * 1e3,
            f.p99.as_secs_f64() * 1e3,
            f.per_sec
        );
    }
    println!();
    println!("| 16 requests in flight | requests/s |");
    println!("|---|---|");
    println!("| /healthz (floor) | {floor:.0} |");
    println!("| case summary | {summary:.0} |");
}
