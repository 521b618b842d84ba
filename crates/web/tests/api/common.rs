//! The test harness shared by the web crate's test binaries (in the manner of crates.io's
//! `tests/util.rs`): one `TestApp` per test, signed-in clients per role, and calls through
//! the real router.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_web::policy::Role;
use cellpath_web::{AppState, Config, create_user, router};
use serde_json::{Value, json};
use tower::ServiceExt;

/// One server state on a fresh database (SQLite, or PostgreSQL when
/// `CELLPATH_TEST_POSTGRES` is set), called in process through the real router.
pub struct TestApp {
    pub state: Arc<AppState>,
    pub db: cellpath_store::testing::TestDb,
    /// The application's clock, when the test fixed it.
    pub clock: Option<Arc<cellpath_store::FixedClock>>,
}

pub type App = TestApp;

pub async fn app() -> App {
    app_with(|_| {}).await
}

pub async fn app_with(adjust: impl FnOnce(&mut Config)) -> App {
    build(adjust, None).await
}

/// An app whose clock stands at `secs` (Unix time) until the test moves it.
pub async fn app_at(secs: u64) -> App {
    build(|_| {}, Some(Arc::new(cellpath_store::FixedClock::at(secs)))).await
}

async fn build(
    adjust: impl FnOnce(&mut Config),
    clock: Option<Arc<cellpath_store::FixedClock>>,
) -> App {
    let db = cellpath_store::testing::fresh().await;
    let shared: cellpath_store::SharedClock = match &clock {
        Some(c) => c.clone(),
        None => Arc::new(cellpath_store::SystemClock),
    };
    let store = cellpath_store::Store::connect_with_clock(&db.url, shared)
        .await
        .expect("connect");
    let mut config = Config {
        documents_dir: std::env::temp_dir().join(format!(
            "cellpath-docs-{}",
            cellpath_web::auth::random_hex(6)
        )),
        document_key: Some(cellpath_web::Secret::new([7u8; 32])),
        ..Config::default()
    };
    adjust(&mut config);
    let state = Arc::new(AppState {
        store,
        catalogue: cellpath_eligibility::shipped().expect("catalogue"),
        config,
    });
    App { state, db, clock }
}

/// A signed-in client: its cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Client {
    pub cookie: String,
    pub csrf: String,
    pub id: String,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub set_cookie: Option<String>,
    pub content_type: Option<String>,
    /// The body as text (for answers that are not JSON, such as a calendar).
    pub text: String,
    /// The body as JSON; Null when it is not JSON.
    pub body: Value,
    /// The body as sent (for files such as a PDF).
    pub bytes: Vec<u8>,
}

impl App {
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        who: Option<&Client>,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Resp {
        self.call_raw(method, uri, who, body.map(|b| b.to_string()), extra)
            .await
    }

    pub async fn call_raw(
        &self,
        method: &str,
        uri: &str,
        who: Option<&Client>,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = who {
            req = req
                .header(header::COOKIE, &c.cookie)
                .header("x-csrf-token", &c.csrf);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    /// A request with a body of bytes (a file).
    pub async fn call_bytes(
        &self,
        method: &str,
        uri: &str,
        who: &Client,
        body: Vec<u8>,
        content_type: &str,
    ) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &who.cookie)
            .header("x-csrf-token", &who.csrf)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Sends a request through the real router and reads the whole answer.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = router(Arc::clone(&self.state))
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status();
        let header_text = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header_text(header::ETAG);
        let set_cookie = header_text(header::SET_COOKIE);
        let content_type = header_text(header::CONTENT_TYPE);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            etag,
            set_cookie,
            content_type,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            body,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn user(&self, email: &str, role: Role, specialty: Option<&str>) -> Client {
        create_user(
            &self.state,
            "setup",
            email,
            "correct horse battery",
            role,
            specialty,
        )
        .await
        .expect("user");
        self.sign_in(email, "correct horse battery")
            .await
            .expect("sign in")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Client, Resp> {
        let r = self
            .call(
                "POST",
                "/api/v1/sessions",
                None,
                Some(json!({"email": email, "password": password})),
                &[],
            )
            .await;
        if r.status != StatusCode::OK {
            return Err(r);
        }
        let set = r.set_cookie.clone().expect("Set-Cookie");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let cookie = set.split(';').next().expect("cookie").to_owned();
        Ok(Client {
            cookie,
            csrf: r.body["csrf_token"].as_str().expect("csrf").to_owned(),
            id: r.body["user"]["id"].as_str().expect("id").to_owned(),
        })
    }
}

pub async fn consent_all(app: &App, user_id: &str) {
    // Unique per call: a patient with two cases consents again, as a second case asks.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    for (i, t) in cellpath_web::consent::texts().iter().enumerate() {
        let mut tx = app.setup().await;
        tx.accept_consent(&format!("k-{user_id}-{i}-{n}"), user_id, t.kind, &t.version)
            .await
            .expect("consent");
        tx.commit().await.expect("commit");
    }
}

pub async fn upload(
    app: &App,
    who: &Client,
    case: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Resp {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/cases/{case}/documents?name={name}"))
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .expect("request");
    app.send(req).await
}

impl TestApp {
    /// Every audit entry, oldest first.
    pub async fn audit(&self) -> Vec<cellpath_store::AuditEntry> {
        self.state.store.audit_entries(None).await.expect("audit")
    }

    /// A change made by the test's own setup (audited as `setup`).
    pub async fn setup(&self) -> cellpath_store::Tx {
        self.state
            .store
            .begin(cellpath_store::NewAudit::new(
                "setup", "setup", None, "setup",
            ))
            .await
            .expect("begin")
    }

    pub async fn get(&self, uri: &str, who: &Client) -> Resp {
        self.call("GET", uri, Some(who), None, &[]).await
    }

    pub async fn delete(&self, uri: &str, who: &Client) -> Resp {
        self.call("DELETE", uri, Some(who), None, &[]).await
    }

    pub async fn post(&self, uri: &str, who: &Client, body: Value) -> Resp {
        self.call("POST", uri, Some(who), Some(body), &[]).await
    }

    /// A case owned by `patient` (who has given every consent), created by them.
    pub async fn case_of(&self, patient: &Client, record: Value) -> String {
        consent_all(self, &patient.id).await;
        let r = self
            .post("/api/v1/cases", patient, json!({"record": record}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().expect("id").to_owned()
    }
}

/// A worked example record as JSON.
pub fn example(name: &str) -> Value {
    let text = match name {
        "gastric" => include_str!("../../../../examples/cases/gastric-cldn18-eligible.toml"),
        "gej" => include_str!("../../../../examples/cases/gej-needs-information.toml"),
        _ => include_str!("../../../../examples/cases/pancreas-resected.toml"),
    };
    serde_json::to_value(cellpath_domain::native::from_toml(text).expect("example")).expect("json")
}

/// Makes every insert into `table` fail inside the database, as a crash or a full disk
/// would, until [`heal`] removes the fault.
pub async fn break_inserts(app: &TestApp, table: &'static str) {
    let store = &app.state.store;
    match (store.backend(), table) {
        (cellpath_store::Backend::Sqlite, "audit") => store
            .execute_raw(
                "CREATE TRIGGER injected_fault BEFORE INSERT ON audit \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
            )
            .await
            .expect("trigger"),
        (cellpath_store::Backend::Sqlite, _) => store
            .execute_raw(
                "CREATE TRIGGER injected_fault BEFORE INSERT ON case_members \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
            )
            .await
            .expect("trigger"),
        (cellpath_store::Backend::Postgres, t) => {
            store
                .execute_raw(
                    "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'injected fault'; END; $$ LANGUAGE plpgsql",
                )
                .await
                .expect("function");
            let sql = if t == "audit" {
                "CREATE TRIGGER injected_fault BEFORE INSERT ON audit \
                 FOR EACH ROW EXECUTE FUNCTION injected_fault()"
            } else {
                "CREATE TRIGGER injected_fault BEFORE INSERT ON case_members \
                 FOR EACH ROW EXECUTE FUNCTION injected_fault()"
            };
            store.execute_raw(sql).await.expect("trigger")
        }
    };
}

pub async fn heal(app: &TestApp, table: &'static str) {
    let store = &app.state.store;
    let sql = match (store.backend(), table) {
        (cellpath_store::Backend::Sqlite, _) => "DROP TRIGGER injected_fault",
        (cellpath_store::Backend::Postgres, "audit") => "DROP TRIGGER injected_fault ON audit",
        (cellpath_store::Backend::Postgres, _) => "DROP TRIGGER injected_fault ON case_members",
    };
    store.execute_raw(sql).await.expect("heal");
}

/// The worked journey plan as JSON, optionally with an actual leukapheresis date.
pub fn plan_json(actual_leukapheresis: Option<&str>) -> Value {
    let mut text = include_str!("../../../../examples/plans/satri-cel-example.toml").to_owned();
    if let Some(day) = actual_leukapheresis {
        text = text.replace(
            "# leukapheresis = { start = \"2026-12-09\", end = \"2026-12-10\" }",
            &format!("leukapheresis = {{ start = \"{day}\" }}"),
        );
    }
    let v: toml::Value = toml::from_str(&text).expect("plan");
    serde_json::to_value(v).expect("json")
}

/// An active care relation: `user` may open cases in `patient`'s name (as if the patient
/// had invited them).
pub async fn relate(app: &App, patient: &str, user: &str) {
    let mut tx = app.setup().await;
    tx.add_relation(
        &format!("rel-{patient}-{user}"),
        patient,
        user,
        "active",
        patient,
    )
    .await
    .expect("relation");
    tx.commit().await.expect("commit");
}

/// A gastric case of `patient` with `coordinator` assigned and the worked journey plan in
/// place; returns the case id.
pub async fn case_with_coordinator_and_plan(
    app: &App,
    patient: &Client,
    coordinator: &Client,
) -> String {
    let id = app.case_of(patient, example("gastric")).await;
    let mut tx = app.setup().await;
    tx.add_member(
        &id,
        &coordinator.id,
        cellpath_store::MemberRole::Coordinator,
        cellpath_store::Access::Act,
    )
    .await
    .expect("member");
    tx.commit().await.expect("commit");
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{id}/journey"),
            Some(coordinator),
            Some(plan_json(None)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    id
}

/// Adds members to a case directly, as an assignment made earlier would have.
pub async fn add_members(
    app: &App,
    case: &str,
    members: &[(&Client, cellpath_store::MemberRole, cellpath_store::Access)],
) {
    let mut tx = app.setup().await;
    for (user, role, access) in members {
        tx.add_member(case, &user.id, *role, *access)
            .await
            .expect("member");
    }
    tx.commit().await.expect("commit");
}
