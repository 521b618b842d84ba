//! The authorisation matrix, generated from the route table so that a new route cannot
//! escape it: every case route × every role with no relation to the case → 404 (nothing
//! leaks, not even existence); every signed-in route without a session → 401; the OpenAPI
//! document is built from the same table and snapshot-tested.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_web::policy::Role;
use cellpath_web::{AppState, Config, create_user, router, routes};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    state: &Arc<AppState>,
    method: &str,
    uri: &str,
    session: Option<(&str, &str)>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some((cookie, csrf)) = session {
        req = req
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", csrf);
    }
    let resp = router(Arc::clone(state))
        .oneshot(req.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn sign_in(state: &Arc<AppState>, email: &str) -> (String, String) {
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"email": email, "password": "a long passphrase"}).to_string(),
        ))
        .expect("request");
    let resp = router(Arc::clone(state))
        .oneshot(req)
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
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
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    (
        cookie,
        body["csrf_token"].as_str().expect("csrf").to_owned(),
    )
}

fn concrete(path: &str, case_id: &str) -> String {
    path.replace("{id}", case_id)
        .replace("{version}", "1")
        .replace("{kind}", "mdt-sharing")
        .replace("{nid}", "n-nope")
        .replace("{tid}", "t-nope")
        .replace("{did}", "d-nope")
        .replace("{cid}", "cal-nope")
        .replace("{rid}", "sup-nope")
        .replace("{mid}", "mon-nope")
        .replace("{uid}", "u-nope")
}

#[tokio::test]
async fn no_route_leaks_a_case_to_anyone_outside_it() {
    let db = cellpath_store::testing::fresh().await;
    let store = cellpath_store::Store::connect(&db.url)
        .await
        .expect("connect");
    let state = Arc::new(AppState {
        store,
        catalogue: cellpath_eligibility::shipped().expect("cat"),
        config: Config::default(),
    });

    let owner = create_user(
        &state,
        "setup",
        "owner@example.org",
        "a long passphrase",
        Role::Patient,
        None,
    )
    .await
    .expect("owner");
    let mut tx = state
        .store
        .begin(cellpath_store::NewAudit::new(
            "setup", "setup", None, "setup",
        ))
        .await
        .expect("begin");
    for (i, text) in cellpath_web::consent::texts().iter().enumerate() {
        tx.accept_consent(&format!("k{i}"), &owner, text.kind, &text.version)
            .await
            .expect("consent");
    }
    let record = serde_json::to_string(
        &cellpath_domain::native::from_toml(include_str!(
            "../../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("case"),
    )
    .expect("json");
    tx.create_case(cellpath_store::NewCase {
        id: "c-secret",
        owner_id: &owner,
        created_by: &owner,
        state: "inquiry",
        record: &record,
    })
    .await
    .expect("case");
    tx.commit().await.expect("commit");

    let outsiders = [
        ("p2@example.org", Role::Patient),
        ("g2@example.org", Role::Caregiver),
        ("c2@example.org", Role::Coordinator),
        ("s2@example.org", Role::Specialist),
        ("a2@example.org", Role::Admin),
    ];
    let case_routes: Vec<_> = routes()
        .into_iter()
        .filter(|r| r.path.contains("{id}"))
        .collect();
    assert!(case_routes.len() >= 13, "the table lists the case routes");
    let mut checked = 0;
    for (email, role) in outsiders {
        create_user(
            &state,
            "setup",
            email,
            "a long passphrase",
            role,
            Some("medical-oncology"),
        )
        .await
        .expect("user");
        let (cookie, csrf) = sign_in(&state, email).await;
        for route in &case_routes {
            let uri = concrete(route.path, "c-secret");
            let (status, body) = call(
                &state,
                route.method,
                &uri,
                Some((&cookie, &csrf)),
                json!({}),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{role:?} {} {uri}: {body}",
                route.method
            );
            checked += 1;
        }
        let (_, list) = call(
            &state,
            "GET",
            "/api/v1/cases",
            Some((&cookie, &csrf)),
            Value::Null,
        )
        .await;
        assert!(
            !list.to_string().contains("c-secret"),
            "{role:?} lists the case"
        );
    }
    assert_eq!(checked, case_routes.len() * 5);

    // Without a session every signed-in route answers 401, whatever the body.
    for route in routes().into_iter().filter(|r| r.auth) {
        let uri = concrete(route.path, "c-secret");
        let (status, _) = call(&state, route.method, &uri, None, json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {uri}", route.method);
    }
    // And the audit log shows no read of the case by an outsider.
    let entries = state
        .store
        .audit_entries(Some("c-secret"))
        .await
        .expect("audit");
    assert!(entries.iter().all(|e| e.actor == owner), "{entries:?}");
}

#[tokio::test]
async fn openapi_is_generated_from_the_routes_and_current() {
    let doc = cellpath_web::openapi();
    let paths = doc["paths"].as_object().expect("paths");
    for route in routes() {
        assert!(
            paths[route.path][route.method.to_lowercase()].is_object(),
            "{} {}",
            route.method,
            route.path
        );
    }
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .expect("docs/openapi.json");
    let generated = format!("{}\n", serde_json::to_string_pretty(&doc).expect("json"));
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `cargo run -- openapi > docs/openapi.json`"
    );
}
