// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The pages through the real router (API and pages together, the same layers as `serve`),
//! on SQLite or — with `CELLPATH_TEST_POSTGRES` — PostgreSQL: who may open which page,
//! CSRF on every form, both languages, and the flows the patient and caregiver walk.

#[path = "pages/security2.rs"]
mod security2;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cellpath_store::{Access, MemberRole};
use cellpath_web::policy::Role;
use cellpath_web::{AppState, Config, create_user, router_with};
use tower::ServiceExt;

struct App {
    state: Arc<AppState>,
    _db: cellpath_store::testing::TestDb,
}

struct Resp {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Option<String>,
    text: String,
    bytes: Vec<u8>,
}

/// A signed-in browser: its session cookie (and language cookie, once chosen).
#[derive(Clone)]
struct Browser {
    cookie: String,
    id: String,
}

const PASSWORD: &str = "correct horse battery";

async fn app() -> App {
    app_with_clock(Arc::new(cellpath_store::SystemClock)).await
}

/// An app whose clock is `clock` (a fixed one, for what depends on the day).
async fn app_with_clock(clock: cellpath_store::SharedClock) -> App {
    let db = cellpath_store::testing::fresh().await;
    let store = cellpath_store::Store::connect_with_clock(&db.url, clock)
        .await
        .expect("connect");
    let config = Config {
        documents_dir: std::env::temp_dir().join(format!(
            "cellpath-pages-docs-{}",
            cellpath_web::auth::random_hex(6)
        )),
        document_key: Some(cellpath_web::Secret::new([9u8; 32])),
        ..Config::default()
    };
    let state = Arc::new(AppState {
        store,
        catalogue: cellpath_eligibility::shipped().expect("catalogue"),
        config,
    });
    App { state, _db: db }
}

impl App {
    async fn send(&self, req: Request<Body>) -> Resp {
        let resp = router_with(Arc::clone(&self.state), Some(cellpath_pages::pages()))
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .expect("body");
        Resp {
            status,
            location,
            set_cookie,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    async fn get(&self, uri: &str, who: Option<&Browser>) -> Resp {
        let mut req = Request::builder().uri(uri);
        if let Some(b) = who {
            req = req.header(header::COOKIE, &b.cookie);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    /// Sends a form as a browser would (urlencoded).
    async fn form(&self, uri: &str, who: Option<&Browser>, fields: &[(&str, &str)]) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(b) = who {
            req = req.header(header::COOKIE, &b.cookie);
        }
        self.send(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// A form with the CSRF token the page carries.
    async fn post(&self, uri: &str, who: &Browser, fields: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf(who).await;
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.form(uri, Some(who), &all).await
    }

    /// What opening the case's page answers this person.
    async fn case_status(&self, case: &str, who: &Browser) -> StatusCode {
        self.get(&format!("/cases/{case}"), Some(who)).await.status
    }

    async fn csrf(&self, who: &Browser) -> String {
        let page = self.get("/about", Some(who)).await;
        hidden(&page.text, "_csrf").expect("a CSRF field on the page")
    }

    async fn user(&self, email: &str, role: Role) -> Browser {
        self.user_with(email, role, None).await
    }

    async fn user_with(&self, email: &str, role: Role, specialty: Option<&str>) -> Browser {
        create_user(&self.state, "setup", email, PASSWORD, role, specialty)
            .await
            .expect("user");
        self.sign_in(email).await
    }

    /// Signs an existing account in again (after the clock moved past its session).
    async fn sign_in(&self, email: &str) -> Browser {
        let r = self
            .form(
                "/sign-in",
                None,
                &[("email", email), ("password", PASSWORD), ("next", "/cases")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.location.as_deref(), Some("/cases"));
        let id = self
            .state
            .store
            .user_by_email(email)
            .await
            .expect("user")
            .expect("exists")
            .id;
        Browser {
            cookie: session_cookie(&r).expect("a session cookie"),
            id,
        }
    }

    /// Puts someone on a case with act access, as an assignment made earlier would have.
    async fn join(&self, case: &str, who: &Browser, role: MemberRole) {
        let mut tx = self.setup().await;
        tx.add_member(case, &who.id, role, Access::Act)
            .await
            .expect("member");
        tx.commit().await.expect("commit");
    }

    async fn setup(&self) -> cellpath_store::Tx {
        self.state
            .store
            .begin(cellpath_store::NewAudit::new(
                "setup", "setup", None, "setup",
            ))
            .await
            .expect("begin")
    }

    /// A patient with every consent, their case (the shipped eligible example), and a
    /// caregiver on it with `access`.
    async fn case(&self, access: Access) -> (Browser, Browser, String) {
        let patient = self.user("p@example.org", Role::Patient).await;
        let carer = self.user("c@example.org", Role::Caregiver).await;
        let mut tx = self.setup().await;
        for (i, t) in cellpath_web::consent::texts().iter().enumerate() {
            tx.accept_consent(&format!("k-{i}"), &patient.id, t.kind, &t.version)
                .await
                .expect("consent");
        }
        let case = cellpath_domain::native::from_toml(include_str!(
            "../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("example");
        tx.create_case(cellpath_store::NewCase {
            id: "c-pages-1",
            owner_id: &patient.id,
            created_by: &patient.id,
            state: "inquiry",
            record: &serde_json::to_string(&case).expect("json"),
        })
        .await
        .expect("case");
        tx.add_member("c-pages-1", &carer.id, MemberRole::Caregiver, access)
            .await
            .expect("member");
        tx.put_journey(
            "c-pages-1",
            &serde_json::to_string(
                &toml::from_str::<toml::Value>(include_str!(
                    "../../../examples/plans/satri-cel-example.toml"
                ))
                .expect("plan"),
            )
            .expect("json"),
        )
        .await
        .expect("plan");
        tx.commit().await.expect("commit");
        (patient, carer, "c-pages-1".to_owned())
    }
}

/// The `name=value` part of the cookie an answer sets.
fn session_cookie(r: &Resp) -> Option<String> {
    r.set_cookie
        .as_deref()
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// The value of a hidden field on a page.
fn hidden(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The page routes with `{id}` filled with a case, `{did}` with a document and the rest
/// with something plausible.
fn fill(path: &str, case: &str) -> String {
    path.replace("{id}", case)
        .replace("{did}", "d-nothing")
        .replace("{hash}", "0")
        .replace("{name}", "cellpath.css")
        .replace("{nct}", "NCT04581473")
        .replace("{flag}", "f-nothing")
}

/// Pages anyone may open, signed in or not.
const PUBLIC: &[&str] = &[
    "/sign-in",
    "/set-password",
    "/about",
    "/static/{hash}/{name}",
];

#[tokio::test]
async fn signed_out_every_page_sends_to_sign_in_and_back() {
    let app = app().await;
    let (_, _, case) = app.case(Access::View).await;
    let routes = cellpath_pages::page_routes();
    assert!(routes.len() > 25, "{} routes", routes.len());
    for (method, path) in routes {
        if PUBLIC.contains(&path) || (method, path) == ("POST", "/language") {
            continue;
        }
        let uri = fill(path, &case);
        let r = match method {
            "GET" => app.get(&uri, None).await,
            _ => app.form(&uri, None, &[("_csrf", "x")]).await,
        };
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{method} {uri}");
        let to = r.location.unwrap_or_default();
        if method == "GET" && path != "/" {
            assert_eq!(
                to,
                format!("/sign-in?next={uri}"),
                "{method} {uri} goes to sign in and comes back"
            );
        } else {
            assert!(to.starts_with("/sign-in"), "{method} {uri} → {to}");
        }
    }
    // And back: signing in with `next` lands on the page asked for.
    create_user(
        &app.state,
        "setup",
        "x@example.org",
        PASSWORD,
        Role::Patient,
        None,
    )
    .await
    .expect("user");
    // A `next` off this site is not followed.
    for (next, lands) in [("/consents", "/consents"), ("//evil.example/", "/")] {
        let r = app
            .form(
                "/sign-in",
                None,
                &[
                    ("email", "x@example.org"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some(lands), "next={next}");
    }
}

#[tokio::test]
async fn someone_elses_case_is_not_found_on_every_page() {
    let app = app().await;
    let (_, _, case) = app.case(Access::Act).await;
    let stranger = app.user("s@example.org", Role::Patient).await;
    let other_carer = app.user("oc@example.org", Role::Caregiver).await;
    for who in [&stranger, &other_carer] {
        for (method, path) in cellpath_pages::page_routes() {
            if !path.contains("{id}") {
                continue;
            }
            let uri = fill(path, &case);
            let r = match method {
                "GET" => app.get(&uri, Some(who)).await,
                _ => {
                    app.post(&uri, who, &[("do", "remove"), ("body", "hi")])
                        .await
                }
            };
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {uri}");
            assert!(r.text.contains("<html lang=\"en\">"), "an HTML page");
            assert!(!r.text.contains("gastric"), "nothing of the case shows");
        }
    }
    // Nothing was written by the attempts.
    assert!(
        app.state
            .store
            .messages(&case)
            .await
            .expect("messages")
            .is_empty()
    );
}

#[tokio::test]
async fn every_form_needs_the_csrf_token_and_changes_nothing_without_it() {
    let app = app().await;
    let (patient, _, case) = app.case(Access::Act).await;
    let forms = cellpath_pages::page_routes()
        .into_iter()
        .filter(|(m, p)| *m == "POST" && !["/sign-in", "/set-password", "/language"].contains(p));
    let before = app
        .state
        .store
        .audit_entries(None)
        .await
        .expect("audit")
        .len();
    for (_, path) in forms {
        let uri = fill(path, &case);
        for token in [None, Some("0000")] {
            let mut fields = vec![("withdraw", "caregiver-access"), ("body", "hello")];
            if let Some(t) = token {
                fields.push(("_csrf", t));
            }
            let r = if path.ends_with("/records") || path.ends_with("/import") || path == "/verify"
            {
                let file = match path {
                    "/verify" => "report",
                    p if p.ends_with("/import") => "bundle",
                    _ => "files",
                };
                let mut body = String::new();
                if let Some(t) = token {
                    body.push_str(&format!(
                        "--B\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{t}\r\n"
                    ));
                }
                body.push_str(&format!(
                    "--B\r\nContent-Disposition: form-data; name=\"{file}\"; \
                     filename=\"a.pdf\"\r\n\r\n%PDF-1.4\r\n--B--\r\n"
                ));
                let req = Request::builder()
                    .method("POST")
                    .uri(&uri)
                    .header(header::COOKIE, &patient.cookie)
                    .header(header::CONTENT_TYPE, "multipart/form-data; boundary=B")
                    .body(Body::from(body))
                    .expect("request");
                app.send(req).await
            } else {
                app.form(&uri, Some(&patient), &fields).await
            };
            assert_eq!(r.status, StatusCode::FORBIDDEN, "POST {uri} with {token:?}");
        }
    }
    let live = app
        .state
        .store
        .live_consents(&patient.id)
        .await
        .expect("consents");
    assert_eq!(live.len(), cellpath_web::consent::texts().len());
    let after = app
        .state
        .store
        .audit_entries(None)
        .await
        .expect("audit")
        .len();
    // Reads of the /about page for nothing else: no change was audited.
    assert_eq!(before, after, "no change was made");
}

#[tokio::test]
async fn every_page_renders_in_both_languages_without_raw_keys() {
    let app = app().await;
    let (patient, carer, case) = app.case(Access::Act).await;
    let admin = app.user("a@example.org", Role::Admin).await;
    let pages = [
        "/cases",
        "/cases/{id}",
        "/cases/{id}/records",
        "/cases/{id}/prescreen",
        "/cases/{id}/team",
        "/cases/{id}/journey",
        "/cases/{id}/diary",
        "/cases/{id}/support",
        "/cases/{id}/messages",
        "/notifications",
        "/about",
    ];
    for (lang, html_lang, word) in [("en", "en", "Sign out"), ("zh-CN", "zh-Hans", "退出登录")]
    {
        for who in [&patient, &carer] {
            let r = app
                .post("/language", who, &[("lang", lang), ("next", "/")])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let mut list: Vec<&str> = pages.to_vec();
            if who.id == patient.id {
                list.push("/consents");
            }
            for p in list {
                let uri = fill(p, &case);
                let r = app.get(&uri, Some(who)).await;
                assert_eq!(r.status, StatusCode::OK, "{uri} in {lang}: {}", r.text);
                assert!(
                    r.text.contains(&format!("<html lang=\"{html_lang}\">")),
                    "{uri} in {lang}"
                );
                assert!(r.text.contains(word), "{uri} in {lang}");
                assert!(!r.text.contains('⟦'), "a raw key on {uri} in {lang}");
                assert!(r.text.len() < 100_000, "{uri} is {} bytes", r.text.len());
            }
        }
        let r = app
            .post("/language", &admin, &[("lang", lang), ("next", "/")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = app.get("/admin", Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.text.contains('⟦'));
        let r = app.get("/sign-in", None).await;
        assert!(!r.text.contains('⟦'));
    }
    // The choice is kept on the account, audited.
    let u = app
        .state
        .store
        .user(&patient.id)
        .await
        .expect("user")
        .expect("exists");
    assert_eq!(u.lang, "zh-CN");
    assert!(
        app.state
            .store
            .audit_entries(None)
            .await
            .expect("audit")
            .iter()
            .any(|e| e.action == "account.language" && e.actor == patient.id)
    );
}

#[tokio::test]
async fn forms_without_a_session_refuse_other_sites() {
    let app = app().await;
    create_user(
        &app.state,
        "setup",
        "v@example.org",
        PASSWORD,
        Role::Patient,
        None,
    )
    .await
    .expect("user");
    for (uri, body) in [
        (
            "/sign-in",
            "email=v%40example.org&password=correct+horse+battery",
        ),
        (
            "/set-password",
            "token=x&password=a+long+password&again=a+long+password",
        ),
        ("/language", "lang=zh-CN&next=%2F"),
    ] {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "cross-site")
            .body(Body::from(body))
            .expect("request");
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(r.set_cookie.is_none(), "{uri} set a cookie");
    }
}

#[tokio::test]
async fn signed_out_language_follows_the_browser_then_the_switch() {
    let app = app().await;
    let req = Request::builder()
        .uri("/sign-in")
        .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.5")
        .body(Body::empty())
        .expect("request");
    let r = app.send(req).await;
    assert!(r.text.contains("<html lang=\"zh-Hans\">"));
    assert!(r.text.contains("登录"));
    let r = app
        .form("/language", None, &[("lang", "en"), ("next", "/sign-in")])
        .await;
    assert_eq!(r.location.as_deref(), Some("/sign-in"));
    let cookie = session_cookie(&r).expect("a language cookie");
    let req = Request::builder()
        .uri("/sign-in")
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request");
    assert!(app.send(req).await.text.contains("<html lang=\"en\">"));
    let r = app.form("/language", None, &[("lang", "fr")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_password_says_so_in_the_page_language_and_sets_no_cookie() {
    let app = app().await;
    create_user(
        &app.state,
        "setup",
        "w@example.org",
        PASSWORD,
        Role::Patient,
        None,
    )
    .await
    .expect("user");
    let req = Request::builder()
        .method("POST")
        .uri("/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .body(Body::from("email=w%40example.org&password=nope&next=%2F"))
        .expect("request");
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.set_cookie.is_none());
    assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    assert!(
        r.text.contains("w@example.org"),
        "the e-mail stays filled in"
    );
    assert!(!r.text.contains("Invalid"), "no English in a Chinese page");
}

#[tokio::test]
async fn withdrawing_caregiver_consent_on_the_page_ends_the_caregivers_access() {
    let app = app().await;
    let (patient, carer, case) = app.case(Access::Act).await;
    assert_eq!(app.case_status(&case, &carer).await, StatusCode::OK);
    let r = app
        .post("/consents", &patient, &[("withdraw", "caregiver-access")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        r.location.as_deref(),
        Some("/consents?done=consent-withdrawn")
    );
    let page = app
        .get("/consents?done=consent-withdrawn", Some(&patient))
        .await;
    assert!(page.text.contains("Your consent is withdrawn"));
    assert!(
        page.text.contains("Withdrawn: Access by my caregivers"),
        "history"
    );
    let r = app.get(&format!("/cases/{case}"), Some(&carer)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Given again: the caregiver is back.
    let version = cellpath_web::consent::texts()
        .iter()
        .find(|t| t.kind.as_str() == "caregiver-access")
        .expect("text")
        .version
        .clone();
    let r = app
        .post(
            "/consents",
            &patient,
            &[("give", "caregiver-access"), ("version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(app.case_status(&case, &carer).await, StatusCode::OK);
}

/// From lymphodepletion to the end of the risk window, the patient's and the caregiver's
/// pages carry a pinned "Report a warning sign" button; before it, and for the team, none.
#[tokio::test]
async fn the_warning_sign_button_is_pinned_in_the_risk_window_only() {
    let clock = Arc::new(cellpath_store::FixedClock::at(0));
    // 2026-12-07: screening, before lymphodepletion.
    clock.set(1_796_601_600);
    let app = app_with_clock(clock.clone()).await;
    let (patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("coord@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let pinned = "class=\"pinned\"";
    let r = app.get(&format!("/cases/{case}"), Some(&patient)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(pinned), "not yet");
    // 2027-01-10: after the latest lymphodepletion could start, inside the monitoring window.
    clock.set(1_799_539_200);
    let patient = app.sign_in("p@example.org").await;
    let carer = app.sign_in("c@example.org").await;
    let coord = app.sign_in("coord@example.org").await;
    for who in [&patient, &carer] {
        for page in ["", "/journey", "/support"] {
            let r = app.get(&format!("/cases/{case}{page}"), Some(who)).await;
            assert_eq!(r.status, StatusCode::OK, "{page}: {}", r.text);
            assert!(r.text.contains(pinned), "{page}: {}", r.text);
            assert!(
                r.text
                    .contains(&format!("href=\"/cases/{case}/diary#diary-main\""))
            );
        }
    }
    // The diary itself is where it leads: no button to itself.
    let r = app.get(&format!("/cases/{case}/diary"), Some(&carer)).await;
    assert!(!r.text.contains(pinned));
    let r = app
        .get(&format!("/cases/{case}/monitoring"), Some(&coord))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(pinned), "the team's pages");
}

#[tokio::test]
async fn diary_warning_sign_answers_call_now_with_the_number_and_alerts_the_team() {
    let app = app().await;
    let (patient, carer, case) = app.case(Access::Act).await;
    let uri = format!("/cases/{case}/diary");
    // No one treats the case in cellpath yet: the answer and the receipt say so, and say
    // to call.
    let r = app.post(&uri, &carer, &[("very_sleepy", "yes")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text
            .contains("no one could be alerted here: call +86 10 0000 0000 now"),
        "{}",
        r.text
    );
    assert!(r.text.contains("so no one was alerted here"), "{}", r.text);
    let coord = app.user("coord@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let r = app
        .post(
            &uri,
            &carer,
            &[("confusion", "yes"), ("temperature", "38,9")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("class=\"answer urgent\""), "{}", r.text);
    // The answer is at the form, below its button, where the eyes are; without JavaScript
    // the page opens there (the form's address ends in #answer), focused.
    let form_at = r
        .text
        .find("action=\"/cases/c-pages-1/diary#answer\"")
        .expect("form");
    let answer_at = r.text.find("id=\"answer\"").expect("answer");
    assert!(answer_at > form_at, "the answer follows the form");
    assert!(r.text.contains("id=\"answer\" autofocus"), "{}", r.text);
    assert!(
        r.text.contains("You reported: 38.9 °C, confusion."),
        "{}",
        r.text
    );
    // Both numbers to tap: the team's, from the plan, and the emergency number.
    assert!(r.text.contains("href=\"tel:120\""), "{}", r.text);
    assert!(r.text.contains("href=\"tel:+861000000000\""), "{}", r.text);
    // The team on call is alerted; the answer says when, and until when to wait.
    assert!(
        r.text.contains("The team on call was alerted at"),
        "{}",
        r.text
    );
    let alerts = app.state.store.safety_alerts(&case).await.expect("alerts");
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].notified, vec![coord.id.clone()]);
    // The family gets no content-free alarm.
    let notes = app
        .state
        .store
        .notifications(&patient.id)
        .await
        .expect("notes");
    assert!(
        !notes
            .iter()
            .any(|n| n.kind.contains("alert") || n.kind == "diary-warning")
    );
    // Someone who cannot be woken: the emergency number, to tap first.
    let r = app.post(&uri, &carer, &[("unresponsive", "yes")]).await;
    assert!(r.text.contains("href=\"tel:120\""), "{}", r.text);
    // The history shows it, with the sign in words, and the receipts are waiting.
    let page = app.get(&uri, Some(&patient)).await;
    assert!(page.text.contains("Confused or not making sense"));
    assert!(page.text.contains("38.9 °C"));
    assert!(page.text.contains("Waiting for the team"), "{}", page.text);
    // °F is read and said so.
    let r = app.post(&uri, &carer, &[("temperature", "103 °F")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("103 °F = 39.4 °C"), "{}", r.text);
    // A temperature that cannot be is refused, saying so, and nothing is written.
    let before = app.state.store.diary(&case).await.expect("diary").len();
    let r = app
        .post(&uri, &carer, &[("temperature", "60"), ("dizziness", "yes")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("60 is not a body temperature"),
        "{}",
        r.text
    );
    // What was ticked stays ticked.
    assert!(
        r.text.contains("name=\"dizziness\" value=\"yes\" checked"),
        "{}",
        r.text
    );
    assert_eq!(
        app.state.store.diary(&case).await.expect("diary").len(),
        before
    );
    // In Chinese.
    app.post("/language", &carer, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.post(&uri, &carer, &[("temperature", "发烧")]).await;
    assert!(r.text.contains("请以数字填写体温"), "{}", r.text);
}

#[tokio::test]
async fn a_caregiver_with_view_access_writes_the_diary_but_cannot_ask_for_support() {
    let app = app().await;
    let (_, carer, case) = app.case(Access::View).await;
    let r = app
        .post(
            &format!("/cases/{case}/diary"),
            &carer,
            &[("dizziness", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.state.store.diary(&case).await.expect("diary").len(), 1);
    let uri = format!("/cases/{case}/support");
    let page = app.get(&uri, Some(&carer)).await;
    assert!(!page.text.contains("name=\"details\""), "no form offered");
    let r = app
        .post(
            &uri,
            &carer,
            &[("kind", "sleep"), ("details", "x"), ("from", "2027-01-20")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        app.state
            .store
            .supportive(&case)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn supportive_request_for_herbs_is_held_with_the_reason_in_chinese() {
    let app = app().await;
    let (patient, _, case) = app.case(Access::Act).await;
    app.post("/language", &patient, &[("lang", "zh-CN")]).await;
    let uri = format!("/cases/{case}/support");
    // Inside the plan's risk window (the example infuses in January 2027).
    let r = app
        .post(
            &uri,
            &patient,
            &[
                ("kind", "tcm-herbal"),
                ("details", "黄芪"),
                ("from", "2027-01-20"),
                ("until", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = app.get(&uri, Some(&patient)).await;
    assert!(page.text.contains("暂缓"), "{}", page.text);
    assert!(page.text.contains("暂缓至"), "held until a date");
    // Without details: the field is named, in Chinese, and nothing is written.
    let before = app.state.store.supportive(&case).await.expect("list").len();
    let r = app
        .post(
            &uri,
            &patient,
            &[("kind", "sleep"), ("details", " "), ("from", "2027-01-20")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("需要什么帮助"), "the field is named");
    assert_eq!(
        app.state.store.supportive(&case).await.expect("list").len(),
        before
    );
}

#[tokio::test]
async fn patient_invites_and_removes_a_caregiver_by_email() {
    let app = app().await;
    let (patient, _, case) = app.case(Access::View).await;
    let newcomer = app.user("n@example.org", Role::Caregiver).await;
    assert_eq!(
        app.case_status(&case, &newcomer).await,
        StatusCode::NOT_FOUND
    );
    let uri = format!("/cases/{case}/team");
    let r = app
        .post(
            &uri,
            &patient,
            &[
                ("do", "invite"),
                ("email", "N@example.org"),
                ("access", "act"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(app.case_status(&case, &newcomer).await, StatusCode::OK);
    let page = app.get(&uri, Some(&patient)).await;
    assert!(page.text.contains("n@example.org"));
    assert!(
        page.text.contains("added someone to the case"),
        "access list"
    );
    // An address with no caregiver account: said so, nothing changes.
    let r = app
        .post(
            &uri,
            &patient,
            &[("do", "invite"), ("email", "nobody@example.org")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("no caregiver account"));
    let r = app
        .post(&uri, &patient, &[("do", "remove"), ("user", &newcomer.id)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        app.case_status(&case, &newcomer).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn upload_through_the_page_form_is_listed_and_downloads() {
    let app = app().await;
    let (patient, carer, case) = app.case(Access::Act).await;
    let csrf = app.csrf(&patient).await;
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let boundary = "XyZ";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    for (name, bytes, ct) in [
        ("pathology.pdf", pdf.clone(), "application/pdf"),
        ("notes.txt", b"plain words".to_vec(), "text/plain"),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method("POST")
        .uri(format!("/cases/{case}/records"))
        .header(header::COOKIE, &patient.cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    let r = app.send(req).await;
    // The text file is refused by name; the PDF went in.
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("notes.txt:"), "{}", r.text);
    let docs = app.state.store.documents(&case).await.expect("docs");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].filename, "pathology.pdf");
    let page = app
        .get(&format!("/cases/{case}/records"), Some(&carer))
        .await;
    assert!(page.text.contains("pathology.pdf"));
    assert!(page.text.contains("p@example.org"), "who uploaded");
    let r = app
        .get(
            &format!("/cases/{case}/records/{}", docs[0].id),
            Some(&carer),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text.as_bytes(), pdf.as_slice());
}

#[tokio::test]
async fn prescreen_page_explains_each_programme_and_draws_the_cldn18_bar() {
    let app = app().await;
    let (patient, _, case) = app.case(Access::View).await;
    let r = app
        .get(&format!("/cases/{case}/prescreen"), Some(&patient))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("<svg class=\"cldn\""));
    assert!(r.text.contains("≥40 %"), "the threshold line is labelled");
    assert!(r.text.contains("What it does not mean:"));
    assert!(r.text.contains("Technical view"));
    assert!(r.text.contains("Not medical advice"));
    // Every programme in the catalogue is shown.
    for p in app.state.catalogue.programmes() {
        assert!(
            r.text
                .contains(&askama_escape(p.name.get(cellpath_domain::text::Lang::En))),
            "{}",
            p.id
        );
    }
}

#[tokio::test]
async fn messages_from_the_page_reach_the_team_and_are_listed() {
    let app = app().await;
    let (patient, carer, case) = app.case(Access::Act).await;
    let uri = format!("/cases/{case}/messages");
    let r = app
        .post(&uri, &carer, &[("body", "Is Tuesday fine?")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // A diary warning is a notice too, but not a message.
    app.post(
        &format!("/cases/{case}/diary"),
        &carer,
        &[("seizure", "yes")],
    )
    .await;
    let my_case = app.get(&format!("/cases/{case}"), Some(&patient)).await;
    assert!(my_case.text.contains("1 unread"), "{}", my_case.text);
    let page = app.get(&uri, Some(&patient)).await;
    assert!(page.text.contains("Is Tuesday fine?"));
    let my_case = app.get(&format!("/cases/{case}"), Some(&patient)).await;
    assert!(
        my_case.text.contains("No unread messages"),
        "opening read them"
    );
    let r = app.post(&uri, &carer, &[("body", "   ")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_creates_an_account_whose_link_sets_the_password_and_language() {
    let app = app().await;
    let admin = app.user("admin@example.org", Role::Admin).await;
    let r = app
        .post(
            "/admin",
            &admin,
            &[
                ("do", "create-user"),
                ("email", "new@example.org"),
                ("role", "caregiver"),
                ("display_name", "Wang Fang"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let link = hidden_value_of_input(&r.text, "pw-link").expect("the link is shown");
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let req = Request::builder()
        .method("POST")
        .uri("/set-password")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .body(Body::from(format!(
            "token={token}&password=a+long+enough+one&again=a+long+enough+one"
        )))
        .expect("request");
    let r = app.send(req).await;
    assert_eq!(r.location.as_deref(), Some("/sign-in?done=password-set"));
    let u = app
        .state
        .store
        .user_by_email("new@example.org")
        .await
        .expect("user")
        .expect("exists");
    assert_eq!(u.lang, "zh-CN", "the language the password was set in");
    // The link works once.
    let r = app
        .form(
            "/set-password",
            None,
            &[
                ("token", &token),
                ("password", "another long one"),
                ("again", "another long one"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.text.contains("role=\"alert\""));
    // A new link for the same account, from the list (a forgotten password).
    let r = app
        .post("/admin", &admin, &[("do", "new-link"), ("user", &u.id)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let again = hidden_value_of_input(&r.text, "pw-link").expect("a new link");
    assert_ne!(again, link);
    let token = again.split("token=").nth(1).expect("token").to_owned();
    let r = app
        .form(
            "/set-password",
            None,
            &[
                ("token", &token),
                ("password", "a newer long one"),
                ("again", "a newer long one"),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/sign-in?done=password-set"));
    // Not an admin: no admin page.
    let (patient, _, _) = app.case(Access::View).await;
    assert_eq!(
        app.get("/admin", Some(&patient)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn static_files_are_cached_by_content_and_unknown_pages_are_pages() {
    let app = app().await;
    let css = cellpath_pages::assets::href("cellpath.css");
    let r = app.get(&css, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains(":focus-visible"));
    let r = app.get("/no/such/page", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("<html"));
    let r = app.get("/api/v1/no-such", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.starts_with('{'), "the API answers JSON");
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The value of the input with this id.
fn hidden_value_of_input(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\" readonly value=\""))?;
    let rest = &page[at + id.len() + 23..];
    Some(rest[..rest.find('"')?].to_owned())
}

#[tokio::test]
async fn a_new_record_version_is_screened_again_not_served_from_the_cache() {
    let app = app().await;
    let (patient, _, case) = app.case(Access::View).await;
    let uri = format!("/cases/{case}/prescreen");
    assert!(
        app.get(&uri, Some(&patient))
            .await
            .text
            .contains("<svg class=\"cldn\"")
    );
    // The same record without its CLDN18.2 result.
    let row = app
        .state
        .store
        .case(&case)
        .await
        .expect("case")
        .expect("exists");
    let mut record: serde_json::Value = serde_json::from_str(&row.record).expect("json");
    record["cldn18"] = serde_json::json!([]);
    let mut tx = app.setup().await;
    tx.update_record(&case, None, &record.to_string())
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let page = app.get(&uri, Some(&patient)).await;
    assert!(
        !page.text.contains("<svg class=\"cldn\""),
        "the cached screening was shown"
    );
    let my_case = app.get(&format!("/cases/{case}"), Some(&patient)).await;
    assert!(
        my_case.text.contains("CLDN18.2"),
        "the CLDN18.2 test is now asked for"
    );
}

/// A monitoring form with a fever and a full ICE: CRS grade 1, no ICANS.
const FEVER: &[(&str, &str)] = &[
    ("temp", "38.6"),
    ("vasopressors", "0"),
    ("device", "none"),
    ("ice_orientation", "4"),
    ("ice_naming", "3"),
    ("ice_commands", "1"),
    ("ice_writing", "1"),
    ("ice_attention", "1"),
    ("consciousness", "normal"),
    ("seizure", "none"),
    ("motor", "none"),
    ("oedema", "none"),
];

#[tokio::test]
async fn monitoring_is_previewed_saved_alerted_in_the_queue_and_acknowledged() {
    let app = app().await;
    let (patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let mon = format!("/cases/{case}/monitoring");
    let stored = || async { app.state.store.monitoring(&case).await.expect("q").len() };

    let r = app.get(&mon, Some(&coord)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("New entry") && r.text.contains("No alerts on this case."));
    assert!(
        r.text.contains("Biol Blood Marrow Transplant 2019"),
        "the source"
    );
    // The patient reads the grades but is not offered the team's form.
    let r = app.get(&mon, Some(&patient)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains("New entry"));
    let r = app.post(&mon, &patient, FEVER).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // The live preview grades and stores nothing.
    let r = app.post(&format!("{mon}/preview"), &coord, FEVER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("ICE score: 10 of 10"), "{}", r.text);
    assert!(r.text.contains("grade 1"), "{}", r.text);
    assert!(!r.text.contains("<html"), "a fragment");
    // Without JavaScript the same preview comes back on the page, with what was typed.
    let mut with = vec![("_action", "preview")];
    with.extend_from_slice(FEVER);
    let r = app.post(&mon, &coord, &with).await;
    assert!(r.text.contains("ICE score: 10 of 10") && r.text.contains("value=\"38.6\""));
    assert_eq!(stored().await, 0);

    // A wrong value names its field, in the reader's language, and changes nothing.
    let mut bad: Vec<(&str, &str)> = FEVER
        .iter()
        .filter(|(k, _)| *k != "temp")
        .copied()
        .collect();
    bad.push(("temp", "51"));
    bad.push(("_action", "save"));
    let r = app.post(&mon, &coord, &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text
            .contains("Temperature (°C): enter a number from 25 to 45."),
        "{}",
        r.text
    );
    app.post("/language", &coord, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.post(&mon, &coord, &bad).await;
    assert!(
        r.text.contains("体温（°C）：请输入 25 到 45 之间的数字。"),
        "{}",
        r.text
    );
    let r = app.post(&format!("{mon}/preview"), &coord, FEVER).await;
    assert!(
        r.text.contains("ICE 评分：10 / 10") && r.text.contains("1 级"),
        "{}",
        r.text
    );
    app.post("/language", &coord, &[("lang", "en"), ("next", "/")])
        .await;
    assert_eq!(stored().await, 0);

    // Saved: graded, alerted, first in the coordinator's queue.
    let mut save = vec![("_action", "save")];
    save.extend_from_slice(FEVER);
    let r = app.post(&mon, &coord, &save).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{mon}?done=monitoring-saved").as_str())
    );
    assert_eq!(stored().await, 1);
    let q = app.get("/work", Some(&coord)).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    assert!(
        q.text.contains("class=\"alerting\"") && q.text.contains("1 alert"),
        "{}",
        q.text
    );
    let r = app.get(&mon, Some(&coord)).await;
    assert!(r.text.contains("CRS grade 1") && r.text.contains("Not yet acknowledged"));

    // Acknowledged: the queue is calm again, the alert stays on the record.
    let entry = app.state.store.monitoring(&case).await.expect("q")[0]
        .id
        .clone();
    let r = app
        .post(&mon, &coord, &[("_action", "ack"), ("entry", &entry)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let q = app.get("/work", Some(&coord)).await;
    assert!(!q.text.contains("class=\"alerting\""), "{}", q.text);
    let r = app.get(&mon, Some(&coord)).await;
    assert!(r.text.contains("CRS grade 1") && r.text.contains("Acknowledged"));
    // The queue is the team's.
    let r = app.get("/work", Some(&patient)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_work_queue_pages_filters_and_refuses_a_bad_query() {
    let app = app().await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    let owner = app.user("p@example.org", Role::Patient).await;
    let mut tx = app.setup().await;
    // The patient consented: a case closed by consent matches no filter (issue 28).
    for (i, t) in cellpath_web::consent::texts().iter().enumerate() {
        tx.accept_consent(&format!("kq-{i}"), &owner.id, t.kind, &t.version)
            .await
            .expect("consent");
    }
    for i in 0..30 {
        let id = format!("c-q-{i:02}");
        tx.create_case(cellpath_store::NewCase {
            id: &id,
            owner_id: &owner.id,
            created_by: &owner.id,
            state: if i % 3 == 0 {
                "pre-screened"
            } else {
                "inquiry"
            },
            record: "{}",
        })
        .await
        .expect("case");
        tx.add_member(&id, &coord.id, MemberRole::Coordinator, Access::Act)
            .await
            .expect("member");
    }
    tx.commit().await.expect("commit");
    let r = app.get("/work", Some(&coord)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("30 cases") && r.text.contains("Page 1 of 2"),
        "{}",
        r.text
    );
    assert_eq!(r.text.matches("<tr").count(), 26, "a header and 25 cases");
    assert!(r.text.contains("rel=\"next\""));
    let r = app.get("/work?page=2&sort=state", Some(&coord)).await;
    assert_eq!(r.text.matches("<tr").count(), 6);
    assert!(r.text.contains("Page 2 of 2") && r.text.contains("rel=\"prev\""));
    let r = app.get("/work?state=pre-screened", Some(&coord)).await;
    assert!(r.text.contains("10 cases"), "{}", r.text);
    let r = app.get("/work?sort=loudest", Some(&coord)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("<html"), "an error page");
}

/// The six answers of an opinion or consensus form, with a prefix.
fn six(prefix: &str, text: &str) -> Vec<(String, String)> {
    [
        "biomarker_eligibility",
        "treatment_sequence",
        "alternatives",
        "benefit_and_risk",
        "access_and_logistics",
        "recommendation",
    ]
    .iter()
    .map(|q| (format!("{prefix}{q}"), format!("{text} ({q})")))
    .collect()
}

fn with<'a>(
    base: &'a [(&'a str, &'a str)],
    more: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = base.to_vec();
    v.extend(more.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    v
}

#[tokio::test]
async fn the_mdt_from_assignment_to_a_signed_and_amended_consensus() {
    let app = app().await;
    let (patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    let onc = app
        .user_with(
            "onc@example.org",
            Role::Specialist,
            Some("medical-oncology"),
        )
        .await;
    let path_ = app
        .user_with("path@example.org", Role::Specialist, Some("pathology"))
        .await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let mdt = format!("/cases/{case}/mdt");

    // The coordinator assigns both, by specialty, with a due date.
    let r = app.get(&mdt, Some(&coord)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("<optgroup label=\"Pathology\">"),
        "{}",
        r.text
    );
    for who in [&onc, &path_] {
        let r = app
            .post(
                &mdt,
                &coord,
                &[
                    ("_action", "assign"),
                    ("user_id", &who.id),
                    ("due", "2026-12-24"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let r = app
        .post(
            &mdt,
            &coord,
            &[("_action", "assign"), ("user_id", &onc.id), ("due", "soon")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("Opinion due:"),
        "the field is named: {}",
        r.text
    );
    // The patient sees the team but has no forms.
    let r = app.get(&mdt, Some(&patient)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("not yet given") && !r.text.contains("Your opinion"));

    // A draft is kept and shown again; an opinion missing an answer names the question.
    let r = app.get(&mdt, Some(&onc)).await;
    assert!(r.text.contains("Your opinion"), "{}", r.text);
    let r = app
        .post(
            &mdt,
            &onc,
            &[
                ("_action", "draft"),
                ("rationale", "thinking"),
                ("q_alternatives", "FTD/TPI first"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.get(&mdt, Some(&onc)).await;
    assert!(r.text.contains("Draft saved") && r.text.contains("FTD/TPI first"));
    let mut answers = six("q_", "yes");
    answers.retain(|(k, _)| k != "q_alternatives");
    let base = [
        ("_action", "opinion"),
        ("recommendation", "proceed-to-car-t-evaluation"),
        ("confidence", "moderate"),
        ("rationale", "CLDN18.2 strong"),
    ];
    let r = app.post(&mdt, &onc, &with(&base, &answers)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("Alternatives:"), "{}", r.text);
    assert!(r.text.contains("CLDN18.2 strong"), "what was typed stays");
    app.post("/language", &onc, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.post(&mdt, &onc, &with(&base, &answers)).await;
    assert!(r.text.contains("其他治疗选择："), "{}", r.text);
    app.post("/language", &onc, &[("lang", "en"), ("next", "/")])
        .await;
    for who in [&onc, &path_] {
        let r = app.post(&mdt, who, &with(&base, &six("q_", "yes"))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let r = app.get(&mdt, Some(&coord)).await;
    assert_eq!(r.text.matches("class=\"opinion-card\"").count(), 2);
    assert!(!r.text.contains("not yet given"));

    // The lead's consensus with the colleague's dissent; both sign.
    let dissent_field = format!("dissent_{}", path_.id);
    let consensus = [
        ("_action", "consensus"),
        ("recommendation", "proceed-to-car-t-evaluation"),
        ("summary", "Go ahead"),
        (dissent_field.as_str(), "Retest CLDN18.2 on a fresh biopsy"),
    ];
    let r = app
        .post(&mdt, &onc, &with(&consensus, &six("c_", "agreed")))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.get(&mdt, Some(&coord)).await;
    assert!(
        r.text.contains("Retest CLDN18.2 on a fresh biopsy")
            && r.text.contains("Waiting for signatures")
    );
    for who in [&onc, &path_] {
        let r = app
            .post(&mdt, who, &[("_action", "sign"), ("version", "1")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let r = app
        .post(&mdt, &onc, &[("_action", "sign"), ("version", "1")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "signed once: {}", r.text);
    assert!(
        r.text.contains("you already signed this version"),
        "{}",
        r.text
    );
    let r = app.get(&mdt, Some(&coord)).await;
    assert!(
        r.text.contains("Signed by every assigned specialist"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("record changed after this consensus"));
    // The signed version links its reports; the report opens for the team.
    let link = format!("/api/v1/cases/{case}/reports/1.html?kind=patient&amp;lang=zh-CN");
    assert!(r.text.contains(&link), "{}", r.text);
    let report = app.get(&link.replace("&amp;", "&"), Some(&coord)).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert!(report.text.contains("致患者和照护者的摘要"));
    // The report file checks out on the verify page; a changed byte does not.
    let issued = report.text.clone();
    let verify_file = async |name: &str, body: &[u8]| {
        let csrf = app.csrf(&coord).await;
        let boundary = "vB";
        let mut form = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"report\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        form.extend_from_slice(body);
        form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::builder()
            .method("POST")
            .uri("/verify")
            .header(header::COOKIE, &coord.cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(form))
            .expect("request");
        app.send(req).await
    };
    let verify = async |body: &str| verify_file("summary.html", body.as_bytes()).await;
    let r = verify(&issued).await;
    assert!(
        r.text
            .contains("summary.html is the report this server issued"),
        "{}",
        r.text
    );
    let r = verify(&issued.replacen("22", "23", 1)).await;
    assert!(r.text.contains("summary.html does NOT match"), "{}", r.text);
    // The PDF is linked beside it and checks out the same way.
    let mdt_page = app.get(&mdt, Some(&coord)).await;
    let pdf = format!("/api/v1/cases/{case}/reports/1.pdf?kind=mdt&amp;lang=zh-CN");
    assert!(mdt_page.text.contains(&pdf), "{}", mdt_page.text);
    let file = app.get(&pdf.replace("&amp;", "&"), Some(&coord)).await;
    assert_eq!(file.status, StatusCode::OK);
    let r = verify_file("report.pdf", &file.bytes).await;
    assert!(
        r.text
            .contains("report.pdf is the report this server issued"),
        "{}",
        r.text
    );
    let home = app.get(&format!("/cases/{case}"), Some(&patient)).await;
    assert!(
        home.text.contains("Read the summary")
            && home.text.contains(&format!(
                "/api/v1/cases/{case}/reports/1.html?kind=patient&amp;lang=en"
            ))
            && home.text.contains(&format!(
                "/api/v1/cases/{case}/reports/1.pdf?kind=patient&amp;lang=en"
            )),
        "{}",
        home.text
    );

    // The record changes: the warning; an amendment is version 2, version 1 superseded.
    let mut tx = app.setup().await;
    let row = tx.case(&case).await.expect("q").expect("case");
    tx.update_record(&case, Some(row.version), &row.record)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let r = app.get(&mdt, Some(&coord)).await;
    assert!(
        r.text.contains("Record version 1") && r.text.contains("the record changed since"),
        "each assignment's record version: {}",
        r.text
    );
    let r = app.get(&mdt, Some(&onc)).await;
    assert!(
        r.text
            .contains("The record changed after this consensus was made"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("The record changed after some opinions were given")
    );
    let r = app
        .post(&mdt, &onc, &with(&consensus, &six("c_", "agreed again")))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.get(&mdt, Some(&coord)).await;
    assert!(r.text.contains("Version 2") && r.text.contains("superseded by an amendment"));
    let r = app
        .post(&mdt, &path_, &[("_action", "sign"), ("version", "1")])
        .await;
    assert!(r.text.contains("sign the latest version"), "{}", r.text);
}

#[tokio::test]
async fn an_oncologist_decides_supportive_care_with_the_reason_in_both_languages() {
    let app = app().await;
    let (patient, _carer, case) = app.case(Access::View).await;
    let onc = app
        .user_with(
            "onc@example.org",
            Role::Specialist,
            Some("medical-oncology"),
        )
        .await;
    app.join(&case, &onc, MemberRole::Specialist).await;
    let uri = format!("/cases/{case}/support");
    let r = app
        .post(
            &uri,
            &patient,
            &[
                ("kind", "nutrition"),
                ("details", "a dietitian"),
                ("from", "2026-12-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let rid = app.state.store.supportive(&case).await.expect("q")[0]
        .id
        .clone();

    // The windows of the plan and the form, for the oncologist only.
    let r = app.get(&uri, Some(&onc)).await;
    assert!(
        r.text.contains("CRS/ICANS risk windows of the plan")
            && r.text.contains("days after the infusion"),
        "{}",
        r.text
    );
    assert!(r.text.contains("Record the decision"));
    assert!(
        r.text.contains("Requests on this case") && !r.text.contains("the patient can let you"),
        "worded for the team: {}",
        r.text
    );
    let r = app.get(&uri, Some(&patient)).await;
    assert!(!r.text.contains("Record the decision"));
    // No choice made: said so, nothing decided.
    let r = app
        .post(&uri, &onc, &[("do", "decide"), ("rid", &rid)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("Decision: choose approve or decline."),
        "{}",
        r.text
    );
    let r = app
        .post(
            &uri,
            &onc,
            &[
                ("do", "decide"),
                ("rid", &rid),
                ("decision", "approve"),
                ("note", "Safe with the plan."),
                ("note_zh", "与治疗计划无冲突。"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.get(&uri, Some(&patient)).await;
    assert!(r.text.contains("Safe with the plan."), "{}", r.text);
    app.post("/language", &patient, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.get(&uri, Some(&patient)).await;
    assert!(
        r.text.contains("与治疗计划无冲突。") && !r.text.contains("Safe with the plan."),
        "{}",
        r.text
    );
    // Decided once.
    let r = app
        .post(
            &uri,
            &onc,
            &[("do", "decide"), ("rid", &rid), ("decision", "decline")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn the_case_summary_at_a_glance_and_what_changed_since_one_s_opinion() {
    let app = app().await;
    let (_patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    let onc = app
        .user_with(
            "onc@example.org",
            Role::Specialist,
            Some("medical-oncology"),
        )
        .await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let summary = format!("/cases/{case}/summary");
    let r = app.get(&summary, Some(&coord)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for want in [
        "Diagnosis",
        "CLDN18.2",
        "<svg class=\"cldn\"",
        "Lines of therapy",
        "ECOG",
        "satri-cel",
        "Verdict",
        "1 Feb 2024",
    ] {
        assert!(r.text.contains(want), "{want}: {}", r.text);
    }
    assert!(
        !r.text.contains("What changed since your opinion"),
        "no opinion yet"
    );
    app.post("/language", &coord, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.get(&summary, Some(&coord)).await;
    assert!(
        r.text.contains("诊断") && r.text.contains("治疗线") && !r.text.contains('⟦'),
        "{}",
        r.text
    );

    // An opinion on version 1, then the record changes: the specialist sees what changed.
    let mdt = format!("/cases/{case}/mdt");
    app.post(
        &mdt,
        &coord,
        &[
            ("_action", "assign"),
            ("user_id", &onc.id),
            ("due", "2026-12-24"),
        ],
    )
    .await;
    let base = [
        ("_action", "opinion"),
        ("recommendation", "proceed-to-car-t-evaluation"),
        ("confidence", "high"),
        ("rationale", "r"),
    ];
    let r = app.post(&mdt, &onc, &with(&base, &six("q_", "yes"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.get(&summary, Some(&onc)).await;
    assert!(r.text.contains("Nothing has changed since."), "{}", r.text);
    let mut tx = app.setup().await;
    let row = tx.case(&case).await.expect("q").expect("case");
    let mut record: serde_json::Value = serde_json::from_str(&row.record).expect("json");
    record["label"] = "second look".into();
    tx.update_record(&case, Some(row.version), &record.to_string())
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let r = app.get(&summary, Some(&onc)).await;
    assert!(r.text.contains("changed Case label"), "{}", r.text);
}

#[tokio::test]
async fn the_coordinator_sends_the_pre_screen_s_requests_in_the_patient_s_language() {
    let app = app().await;
    let (patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    app.post("/language", &patient, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let uri = format!("/cases/{case}/prescreen");
    let r = app.get(&uri, Some(&coord)).await;
    assert!(r.text.contains("Send the requests to the patient"));
    let r = app.get(&uri, Some(&patient)).await;
    assert!(
        !r.text.contains("将所需资料发给患者"),
        "the patient is not offered it"
    );
    let r = app.post(&uri, &coord, &[("do", "ask")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{uri}?done=requests-sent").as_str())
    );
    let messages = app.state.store.messages(&case).await.expect("messages");
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].body.starts_with("为完成您的病例"),
        "{}",
        messages[0].body
    );
    assert!(
        messages[0].body.contains("\n• "),
        "a list: {}",
        messages[0].body
    );
    assert!(!messages[0].body.contains("To finish"), "in one language");
}

/// Every field a browser would send from the first form with this action on a page: text
/// inputs and hidden fields, checked boxes, each select's chosen option.
fn form_fields(page: &str, action: &str) -> Vec<(String, String)> {
    let start = page
        .find(&format!("action=\"{action}\""))
        .expect("the form on the page");
    let form = &page[start..start + page[start..].find("</form>").expect("form end")];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[at..at + tag[at..].find('"')?].to_owned())
    };
    // HTML character references, named or numeric, back to characters.
    let unescape = |s: String| {
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            let end = rest.find(';').unwrap_or(0);
            let entity = &rest[1..end.max(1)];
            let ch = match entity {
                "quot" => Some('"'),
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            match ch {
                Some(c) if end > 0 => {
                    out.push(c);
                    rest = &rest[end + 1..];
                }
                _ => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    };
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.starts_with("<input") {
            if let Some(name) = attr(tag, "name") {
                let checkbox = tag.contains("type=\"checkbox\"");
                if !checkbox || tag.contains(" checked") {
                    let value = attr(tag, "value").unwrap_or_else(|| "on".into());
                    out.push((unescape(name), unescape(value)));
                }
            }
        } else if tag.starts_with("<select")
            && let Some(name) = attr(tag, "name")
        {
            let close = rest.find("</select>").unwrap_or(rest.len());
            let options = &rest[..close];
            let chosen = options
                .split("<option")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| options.split("<option").nth(1))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            out.push((unescape(name), unescape(chosen)));
        }
        rest = &rest[1..];
    }
    out
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(f) => f.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

async fn send_fields(app: &App, uri: &str, who: &Browser, fields: &[(String, String)]) -> Resp {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.form(uri, Some(who), &pairs).await
}

async fn stored(app: &App, case: &str) -> (i64, serde_json::Value) {
    let mut tx = app.setup().await;
    let row = tx.case(case).await.expect("q").expect("case");
    tx.commit().await.expect("commit");
    (
        row.record_version,
        serde_json::from_str(&row.record).expect("json"),
    )
}

#[tokio::test]
async fn the_record_editor_saves_every_example_unchanged_and_names_wrong_fields() {
    let app = app().await;
    let (_patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let uri = format!("/cases/{case}/record");
    for example in [
        include_str!("../../../examples/cases/gastric-cldn18-eligible.toml"),
        include_str!("../../../examples/cases/gej-needs-information.toml"),
        include_str!("../../../examples/cases/pancreas-resected.toml"),
    ] {
        let record = cellpath_domain::native::from_toml(example).expect("example");
        let want = serde_json::to_value(&record).expect("json");
        let mut tx = app.setup().await;
        let row = tx.case(&case).await.expect("q").expect("case");
        tx.update_record(&case, Some(row.version), &want.to_string())
            .await
            .expect("update");
        tx.commit().await.expect("commit");
        let page = app.get(&uri, Some(&coord)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let mut fields = form_fields(&page.text, &uri);
        set_field(&mut fields, "_action", "save");
        let r = send_fields(&app, &uri, &coord, &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let (_, got) = stored(&app, &case).await;
        assert_eq!(
            got,
            want,
            "the form loses or changes nothing: {:#?}",
            cellpath_domain::diff::diff(&want, &got)
        );
    }
    let page = app.get(&uri, Some(&coord)).await;
    assert!(page.text.contains("Record version"), "{}", page.text);

    // A number that is not one: named, in the reader's language, nothing written.
    let (before, _) = stored(&app, &case).await;
    let mut fields = form_fields(&page.text, &uri);
    set_field(&mut fields, "_action", "save");
    set_field(&mut fields, "ecog.0.score", "one");
    let r = send_fields(&app, &uri, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text
            .contains("ECOG performance status 1 · Score: “one” is not a number"),
        "{}",
        r.text
    );
    assert!(r.text.contains("value=\"one\""), "what was typed stays");
    assert_eq!(stored(&app, &case).await.0, before, "nothing written");
    // A rule of the format (a therapy ending before it starts), from the API's pointer to
    // the field it names.
    let mut fields = form_fields(&page.text, &uri);
    set_field(&mut fields, "_action", "save");
    set_field(&mut fields, "therapies._state", "listed");
    let row = fields
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("therapies."))
        .filter_map(|k| k.split_once('.'))
        .filter_map(|(n, _)| n.parse::<usize>().ok())
        .max()
        .expect("a therapy row");
    set_field(&mut fields, &format!("therapies.{row}.drug"), "oxaliplatin");
    set_field(&mut fields, &format!("therapies.{row}.start"), "2025-03-01");
    set_field(&mut fields, &format!("therapies.{row}.end"), "2025-01-01");
    let r = send_fields(&app, &uri, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text.contains(&format!("id=\"f-therapies-{row}-end\" name=\"therapies.{row}.end\" value=\"2025-01-01\" autocomplete=\"off\" placeholder")),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(&format!("f-therapies-{row}-end-err")),
        "{}",
        r.text
    );
    assert_eq!(stored(&app, &case).await.0, before, "nothing written");
    app.post("/language", &coord, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let mut fields = form_fields(&page.text, &uri);
    fields.retain(|(k, _)| k != "_csrf");
    fields.push(("_csrf".into(), app.csrf(&coord).await));
    set_field(&mut fields, "_action", "save");
    set_field(&mut fields, "cldn18.0.staining.3+", "七十");
    let r = send_fields(&app, &uri, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text
            .contains("CLDN18.2 检测结果 1 · 3+（肿瘤细胞 %）：“七十”不是数字"),
        "{}",
        r.text
    );

    // "Add a row" writes nothing and gives one more blank row.
    let r = app
        .post(&uri, &coord, &[("version", "1"), ("_action", "add:ecog")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("name=\"ecog.1.score\""), "{}", r.text);
    assert_eq!(stored(&app, &case).await.0, before, "nothing written");

    // A specialist reads it but cannot change it.
    let onc = app.user("onc@example.org", Role::Specialist).await;
    app.join(&case, &onc, MemberRole::Specialist).await;
    let r = app.get(&uri, Some(&onc)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("You may read the record")
            && r.text.contains(" disabled>")
            && !r.text.contains("Save the record"),
        "{}",
        r.text
    );
    let mut fields = form_fields(&page.text, &uri);
    fields.retain(|(k, _)| k != "_csrf");
    fields.push(("_csrf".into(), app.csrf(&onc).await));
    set_field(&mut fields, "_action", "save");
    let r = send_fields(&app, &uri, &onc, &fields).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(stored(&app, &case).await.0, before, "nothing written");
}

#[tokio::test]
async fn a_record_conflict_is_merged_by_the_coordinator_and_the_history_shows_each_fact() {
    let app = app().await;
    let (_patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let uri = format!("/cases/{case}/record");
    let page = app.get(&uri, Some(&coord)).await;
    let mut mine = form_fields(&page.text, &uri);
    set_field(&mut mine, "_action", "save");
    set_field(&mut mine, "primary.stage", "IIIC");
    set_field(&mut mine, "ecog.0.score", "2");

    // Meanwhile someone else saves: the stage, and a label.
    let (v, mut theirs) = stored(&app, &case).await;
    theirs["primary"]["stage"] = "IVB".into();
    theirs["label"] = "second look".into();
    let mut tx = app.setup().await;
    tx.update_record(&case, Some(v), &theirs.to_string())
        .await
        .expect("update");
    tx.commit().await.expect("commit");

    let r = send_fields(&app, &uri, &coord, &mine).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(stored(&app, &case).await.0, v + 1, "nothing written");
    for want in [
        &format!("Someone saved version {}", v + 1),
        "Saved meanwhile by someone else: IVB",
        "value=\"IIIC\"",
        "Case label",
        "you both changed one fact",
    ] {
        assert!(r.text.contains(want), "{want}: {}", r.text);
    }
    let merged = form_fields(&r.text, &uri);
    assert!(
        merged.contains(&("version".into(), (v + 1).to_string())),
        "the form now builds on their version"
    );
    let mut merged = merged;
    set_field(&mut merged, "_action", "save");
    let r = send_fields(&app, &uri, &coord, &merged).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (now, record) = stored(&app, &case).await;
    assert_eq!(now, v + 2);
    assert_eq!(record["primary"]["stage"], "IIIC", "mine, chosen");
    assert_eq!(record["label"], "second look", "theirs, kept");
    assert_eq!(record["ecog"][0]["score"], 2, "mine, kept");

    // The history: who and how, and the facts that changed between two versions.
    let hist = format!("/cases/{case}/record/history");
    let r = app.get(&hist, Some(&coord)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for want in [
        "Edited",
        "Primary cancer · Stage",
        "IVB",
        "IIIC",
        "ECOG performance status 1 · Score",
    ] {
        assert!(r.text.contains(want), "{want}: {}", r.text);
    }
    let r = app
        .get(&format!("{hist}?from={v}&to={}", v + 1), Some(&coord))
        .await;
    assert!(
        r.text.contains("Case label") && !r.text.contains("ECOG performance status 1 · Score"),
        "{}",
        r.text
    );
    let r = app.get(&format!("{hist}?from=99&to=1"), Some(&coord)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("There is no record version “99”"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_specialist_s_own_assignments_with_due_dates_versions_and_changes() {
    let app = app().await;
    let (_patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    let onc = app
        .user_with(
            "onc@example.org",
            Role::Specialist,
            Some("medical-oncology"),
        )
        .await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let list = "/work/assignments";
    let r = app.get(list, Some(&onc)).await;
    assert!(
        r.text.contains("not assigned to any MDT review"),
        "{}",
        r.text
    );
    let r = app
        .post(
            &format!("/cases/{case}/mdt"),
            &coord,
            &[
                ("_action", "assign"),
                ("user_id", &onc.id),
                ("due", "2020-01-02"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.get(list, Some(&onc)).await;
    assert_eq!(r.status, StatusCode::OK);
    for want in [
        &case as &str,
        "2 Jan 2020",
        "overdue",
        "to write",
        "My assignments",
    ] {
        assert!(r.text.contains(want), "{want}: {}", r.text);
    }
    assert!(!r.text.contains("⚠ changed since"), "{}", r.text);
    // The record changes: said on the list, and by the API.
    let (v, mut record) = stored(&app, &case).await;
    record["label"] = "again".into();
    let mut tx = app.setup().await;
    tx.update_record(&case, Some(v), &record.to_string())
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let r = app.get(list, Some(&onc)).await;
    assert!(r.text.contains("⚠ changed since"), "{}", r.text);
    let api = app.get("/api/v1/me/assignments", Some(&onc)).await;
    let json: serde_json::Value = serde_json::from_str(&api.text).expect("json");
    let a = &json["assignments"][0];
    assert_eq!(a["case_id"], case.as_str());
    assert_eq!(a["overdue"], true);
    assert_eq!(a["record_changed"], true);
    assert_eq!(a["record_version"], v);
    // Coordinators have a queue, not assignments.
    assert_eq!(
        app.get(list, Some(&coord)).await.status,
        StatusCode::FORBIDDEN
    );
    app.post("/language", &onc, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.get(list, Some(&onc)).await;
    assert!(
        r.text.contains("我的评审任务") && r.text.contains("待撰写") && !r.text.contains('⟦'),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn the_team_s_pre_screen_side_by_side_and_what_changed_between_screenings() {
    let app = app().await;
    let (patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let uri = format!("/cases/{case}/prescreen");
    // The HER2 result names a document of the case: its evidence links there.
    let mut tx = app.setup().await;
    tx.add_document(
        "d-path-1",
        &case,
        &coord.id,
        "pathology.pdf",
        "application/pdf",
        10,
        "00",
    )
    .await
    .expect("document");
    let row = tx.case(&case).await.expect("q").expect("case");
    let mut record: serde_json::Value = serde_json::from_str(&row.record).expect("json");
    record["her2"][0]["source"] = "document:d-path-1".into();
    tx.update_record(&case, Some(row.version), &record.to_string())
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let r = app.get(&uri, Some(&coord)).await;
    assert!(
        r.text
            .contains(&format!("href=\"/cases/{case}/records/d-path-1\"")),
        "{}",
        r.text
    );
    // Screened once, then the record loses its CLDN18.2 result and is screened again.
    let r = app.post(&uri, &coord, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = app
        .get(&format!("/cases/{case}/record"), Some(&coord))
        .await;
    let mut fields = form_fields(&page.text, &format!("/cases/{case}/record"));
    set_field(&mut fields, "_action", "save");
    set_field(&mut fields, "cldn18.0._remove", "on");
    let r = send_fields(&app, &format!("/cases/{case}/record"), &coord, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.get(&uri, Some(&coord)).await;
    assert_eq!(r.status, StatusCode::OK);
    for want in [
        "Every programme side by side",
        "Screenings over time",
        "the record changed: CLDN18.2 result",
        "NMPA label: eligible → needs information",
        "→",
        "Criteria, evidence and sources",
    ] {
        assert!(r.text.contains(want), "{want}: {}", r.text);
    }
    assert!(!r.text.contains("Your CLDN18.2 test"), "team wording");
    // The patient's page stays the patient's.
    let r = app.get(&uri, Some(&patient)).await;
    assert!(
        !r.text.contains("Screenings over time") && r.text.contains("What this means:"),
        "{}",
        r.text
    );
    app.post("/language", &coord, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.get(&uri, Some(&coord)).await;
    assert!(
        r.text.contains("各项目并列对比") && r.text.contains("历次筛查") && !r.text.contains('⟦'),
        "{}",
        r.text
    );
}

/// A multipart form as a browser sends it: the CSRF token first, then the file.
fn multipart(csrf: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "cellpathB0undary";
    let mut body = Vec::new();
    let mut text = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    text("_csrf", csrf);
    for (k, v) in fields {
        text(k, v);
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"{}\"\r\nContent-Type: application/fhir+json\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn send_multipart(app: &App, uri: &str, who: &Browser, ct: String, body: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::COOKIE, &who.cookie)
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .expect("request");
    app.send(req).await
}

#[tokio::test]
async fn a_fhir_import_is_previewed_changing_nothing_then_confirmed_with_its_lines() {
    let app = app().await;
    let (_patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let uri = format!("/cases/{case}/import");
    let r = app.get(&uri, Some(&coord)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("enctype=\"multipart/form-data\""));
    let bundle = include_bytes!("../../../tests/data/fhir/realistic/intent-and-stop-reason.json");
    let (before, _) = stored(&app, &case).await;
    let screenings = app.state.store.screenings(&case).await.expect("q").len();

    // The preview: each resource, what would change, the derived lines; nothing written.
    let csrf = app.csrf(&coord).await;
    let (ct, body) = multipart(&csrf, &[], ("brian.json", bundle));
    let r = send_multipart(&app, &uri, &coord, ct, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for want in [
        // The file is about another patient (a boy born in 2009): said first, in red.
        "This file may be about another patient",
        "Birth date: the case says 1969-03, the file says 2009-08-02.",
        "Sex: the case says female, the file says male.",
        "A preview of brian.json: nothing has been written",
        "MedicationRequest/idarubicin-brian-l",
        "What the import would change in the record",
        // Merged: facts in words, a row each to take or leave, nothing removed.
        "Adds ",
        "removes 0.",
        "name=\"take.therapies.0\"",
        "Primary cancer · Diagnosed",
        "name=\"lines.0.drugs\"",
        "tamoxifen",
    ] {
        assert!(r.text.contains(want), "{want}: {}", r.text);
    }
    assert!(!r.text.contains("urn:uuid"), "no URN shown as a source");
    assert_eq!(
        stored(&app, &case).await.0,
        before,
        "the preview writes nothing"
    );
    assert_eq!(
        app.state.store.screenings(&case).await.expect("q").len(),
        screenings,
        "and screens nothing"
    );

    // Confirmed, with the first line corrected: written as the import, lines confirmed.
    let confirm = format!("/cases/{case}/import/confirm");
    let mut fields = form_fields(&r.text, &confirm);
    set_field(&mut fields, "lines._state", "listed");
    set_field(&mut fields, "lines.0.outcome", "progression");
    // Another patient's file is not imported without saying why.
    let r = send_fields(&app, &confirm, &coord, &fields).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert!(r.text.contains("differs from the case"), "{}", r.text);
    assert_eq!(stored(&app, &case).await.0, before);
    set_field(&mut fields, "override", "yes");
    set_field(&mut fields, "reason", "test file of the same family");
    let r = send_fields(&app, &confirm, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (after, record) = stored(&app, &case).await;
    assert_eq!(after, before + 1);
    // Merged: the record's own therapies stay, the file's idarubicin is added.
    let drugs: Vec<&str> = record["therapies"]
        .as_array()
        .expect("therapies")
        .iter()
        .filter_map(|t| t["drug"].as_str())
        .collect();
    assert!(
        drugs.contains(&"idarubicin") && drugs.contains(&"oxaliplatin"),
        "{drugs:?}"
    );
    assert_eq!(record["lines"][0]["outcome"], "progression", "{record}");
    let versions = app.state.store.record_versions(&case).await.expect("q");
    assert_eq!(
        versions.last().map(|v| v.use_case.as_str()),
        Some("case.record.import_fhir.identity_override")
    );
    assert!(
        versions
            .last()
            .and_then(|v| v.note.as_deref())
            .is_some_and(|n| n.contains("test file of the same family"))
    );
    // The same confirmation again is on an old version: refused, nothing written.
    let r = send_fields(&app, &confirm, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("Preview the file again"), "{}", r.text);
    assert_eq!(stored(&app, &case).await.0, after);

    // Not FHIR: named, in the reader's language, nothing written.
    app.post("/language", &coord, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let csrf = app.csrf(&coord).await;
    let (ct, body) = multipart(&csrf, &[], ("notes.json", b"not json at all"));
    let r = send_multipart(&app, &uri, &coord, ct, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("无法导入 notes.json"), "{}", r.text);
    assert_eq!(stored(&app, &case).await.0, after);
    // A specialist may not import.
    let onc = app.user("onc@example.org", Role::Specialist).await;
    app.join(&case, &onc, MemberRole::Specialist).await;
    assert!(app.get(&uri, Some(&onc)).await.status.is_client_error());
}

#[tokio::test]
async fn the_journey_planner_follows_each_change_shows_conflicts_then_saves() {
    let app = app().await;
    let (_patient, _carer, case) = app.case(Access::View).await;
    let coord = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coord, MemberRole::Coordinator).await;
    let uri = format!("/cases/{case}/plan");
    let page = app.get(&uri, Some(&coord)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("The plan as saved"), "{}", page.text);
    let stored_before = app.state.store.journey(&case).await.expect("q");

    // The visa ends before the infusion, and no caregiver covers it: a preview shows the
    // conflicts and stores nothing.
    let mut fields = form_fields(&page.text, &uri);
    set_field(&mut fields, "visa_end", "2026-12-05");
    fields.retain(|(k, _)| !k.starts_with("cg."));
    set_field(&mut fields, "_action", "preview");
    let r = send_fields(&app, &uri, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("The plan as it would be (not saved)"),
        "{}",
        r.text
    );
    assert!(r.text.contains("Conflicts to resolve"), "{}", r.text);
    assert!(r.text.contains("value=\"2026-12-05\""), "{}", r.text);
    assert_eq!(
        app.state.store.journey(&case).await.expect("q"),
        stored_before
    );

    // A wrong date is named; an actual date and a caregiver saved.
    set_field(&mut fields, "cg.0.from", "yesterday");
    let r = send_fields(&app, &uri, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text
            .contains("Caregiver 1 · From: “yesterday” is not a date"),
        "{}",
        r.text
    );
    let mut fields = form_fields(&page.text, &uri);
    set_field(&mut fields, "a.leukapheresis.start", "2026-12-09");
    set_field(&mut fields, "cg.9.role", "son");
    set_field(&mut fields, "cg.9.from", "2027-01-01");
    set_field(&mut fields, "cg.9.to", "2027-02-01");
    set_field(&mut fields, "_action", "save");
    let r = send_fields(&app, &uri, &coord, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let saved: serde_json::Value = serde_json::from_str(
        &app.state
            .store
            .journey(&case)
            .await
            .expect("q")
            .expect("plan"),
    )
    .expect("json");
    assert_eq!(saved["actual"]["leukapheresis"]["start"], "2026-12-09");
    assert!(
        saved["caregivers"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x["role"] == "son")),
        "{saved}"
    );
    let r = app
        .get(&format!("/cases/{case}/journey"), Some(&coord))
        .await;
    assert!(r.text.contains("/plan"), "the journey links to the planner");
    app.post("/language", &coord, &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let r = app.get(&uri, Some(&coord)).await;
    assert!(
        r.text.contains("行程规划") && !r.text.contains('⟦'),
        "{}",
        r.text
    );
}

/// A real record (NCT06008288) standing in under the number that CT041-ST-01 and the
/// satri-cel label name, with the given eligibility text and status.
fn linked_study(eligibility: &str, status: &str) -> cellpath_registry::Study {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../registry/tests/data/NCT06008288.json"))
            .expect("fixture");
    v["protocolSection"]["identificationModule"]["nctId"] = "NCT04581473".into();
    v["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = eligibility.into();
    v["protocolSection"]["statusModule"]["overallStatus"] = status.into();
    let read = cellpath_registry::read("stand-in", v.to_string().as_bytes());
    read.studies.into_iter().next().expect("one study")
}

#[tokio::test]
async fn a_changed_registry_study_is_shown_for_review_and_on_the_stale_prescreen() {
    let app = app().await;
    let (patient, _, case) = app.case(Access::Act).await;
    let coordinator = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coordinator, MemberRole::Coordinator).await;
    let import = |e: &'static str, s: &'static str| {
        let state = Arc::clone(&app.state);
        async move {
            cellpath_web::registry::import_studies(&state, "system", "test", &[linked_study(e, s)])
                .await
                .expect("import")
        }
    };
    import("Inclusion Criteria: adults", "RECRUITING").await;
    let r = app
        .post(&format!("/cases/{case}/prescreen"), &coordinator, &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app
        .get(&format!("/cases/{case}/prescreen"), Some(&coordinator))
        .await;
    assert!(!r.text.contains("Out of date"), "fresh screening");

    import(
        "Inclusion Criteria: adults with CLDN18.2-positive tumours",
        "RECRUITING",
    )
    .await;
    let r = app
        .get(&format!("/cases/{case}/prescreen"), Some(&coordinator))
        .await;
    assert!(r.text.contains("Out of date"), "{}", r.text);
    assert!(r.text.contains("NCT04581473"));
    assert!(r.text.contains("The eligibility criteria text changed."));
    // The patient sees it too: the pre-screen they read is out of date.
    let r = app
        .get(&format!("/cases/{case}/prescreen"), Some(&patient))
        .await;
    assert!(r.text.contains("Out of date"));

    // The review list: in both languages; the flags are not for the patient.
    let r = app.get("/registry/flags", Some(&coordinator)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("CT041-ST-01"), "{}", r.text);
    assert_eq!(
        r.text
            .matches("<form method=\"post\" action=\"/registry/flags/")
            .count(),
        2
    );
    let r = app.get("/registry/flags", Some(&patient)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/language",
            &coordinator,
            &[("lang", "zh-CN"), ("next", "/")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app.get("/registry/flags", Some(&coordinator)).await;
    assert!(r.text.contains("入选/排除标准文本有变更"), "{}", r.text);
    assert!(!r.text.contains('⟦'));
    let r = app
        .get("/registry/studies/NCT04581473", Some(&coordinator))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("第 2 版") && r.text.contains("正在招募"),
        "{}",
        r.text
    );
    // The coordinator drafts a programme from the study; the patient may not.
    assert!(r.text.contains("/registry/studies/NCT04581473/draft.toml"));
    let d = app
        .get(
            "/registry/studies/NCT04581473/draft.toml",
            Some(&coordinator),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(d.text.starts_with("# DRAFT made on "), "{}", d.text);
    assert!(d.text.contains("registry_ids = [\"NCT04581473\"]"));
    let d = app
        .get("/registry/studies/NCT04581473/draft.toml", Some(&patient))
        .await;
    assert_eq!(d.status, StatusCode::FORBIDDEN);
    // The registry's ages in the reader's words: no "Years" in the Chinese page.
    assert!(
        r.text.contains("18 岁及以上") && !r.text.contains("Years"),
        "{}",
        r.text
    );
    assert!(!r.text.contains('⟦'));

    // Reviewed with a note; an empty note changes nothing.
    let flags = cellpath_web::registry::source_changes(&app.state)
        .await
        .expect("flags");
    let uri = format!("/registry/flags/{}/review", flags[0].flag_id);
    let r = app.post(&uri, &coordinator, &[("note", " ")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .post(&uri, &coordinator, &[("note", "目录条目已对照研究复核。")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location.as_deref(),
        Some("/registry/flags?done=flag-reviewed")
    );
    let r = app.get("/registry/flags", Some(&coordinator)).await;
    assert_eq!(
        r.text
            .matches("<form method=\"post\" action=\"/registry/flags/")
            .count(),
        1
    );

    // The study stops recruiting: re-screened at once, so no longer out of date.
    import(
        "Inclusion Criteria: adults with CLDN18.2-positive tumours",
        "COMPLETED",
    )
    .await;
    let r = app
        .get(&format!("/cases/{case}/prescreen"), Some(&coordinator))
        .await;
    assert!(!r.text.contains("已过时"), "{}", r.text);
}

/// The five real records the search crate's tests use.
fn search_fixtures() -> Vec<cellpath_registry::Study> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../search/tests/data");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            out.extend(
                cellpath_registry::read("fixture", &std::fs::read(&path).expect("read")).studies,
            );
        }
    }
    out
}

#[tokio::test]
async fn the_registry_is_searched_in_both_languages_and_a_case_lists_its_studies() {
    let app = app().await;
    let (patient, _, case) = app.case(Access::Act).await;
    let coordinator = app.user("co@example.org", Role::Coordinator).await;
    app.join(&case, &coordinator, MemberRole::Coordinator).await;
    cellpath_web::registry::import_studies(&app.state, "system", "test", &search_fixtures())
        .await
        .expect("import");

    let r = app
        .get("/registry?q=%E8%83%83%E7%99%8C%20CAR-T", Some(&coordinator))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("1 study found"), "{}", r.text);
    assert!(r.text.contains("href=\"/registry/studies/NCT06346392\""));
    assert!(r.text.contains("<mark>"), "the matching words are marked");
    assert!(
        r.text.contains("is searched as any of: gastric cancer"),
        "how the query was read"
    );
    // A facet narrows by adding its filter to the query.
    assert!(r.text.contains("country%3Achina"), "{}", r.text);

    let r = app.get("/registry", Some(&coordinator)).await;
    assert!(
        r.text.contains("5 studies found"),
        "everything, newest first"
    );
    let r = app
        .get("/registry?q=status%3Asleeping", Some(&coordinator))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("“sleeping” is not a value of Status"),
        "{}",
        r.text
    );
    let r = app
        .get(&format!("/cases/{case}/studies"), Some(&coordinator))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("NCT06346392"));
    assert!(
        r.text
            .contains("It concerns CLDN18.2, and the record has CLDN18.2 staining.")
    );
    assert!(r.text.contains("It has a site in China."));
    let r = app
        .get(&format!("/cases/{case}/studies"), Some(&patient))
        .await;
    assert_eq!(r.status, StatusCode::OK, "the patient reads their own");

    let r = app
        .post(
            "/language",
            &coordinator,
            &[("lang", "zh-CN"), ("next", "/")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app
        .get(
            "/registry?q=%E7%B4%A7%E5%AF%86%E8%BF%9E%E6%8E%A5%E8%9B%8B%E7%99%BD%2018.2",
            Some(&coordinator),
        )
        .await;
    assert!(r.text.contains("找到 1 项研究"), "{}", r.text);
    assert!(r.text.contains("NCT06346392"));
    assert!(r.text.contains("按以下任一形式检索"));
    assert!(!r.text.contains('⟦'));
    let r = app
        .get(&format!("/cases/{case}/studies"), Some(&coordinator))
        .await;
    assert!(r.text.contains("该研究涉及 CLDN18.2"), "{}", r.text);
    assert!(r.text.contains("该研究在中国设有研究中心"));
    assert!(!r.text.contains('⟦'));
}

#[tokio::test]
async fn a_coordinator_confirms_a_draft_item_by_item_into_a_checked_catalogue_file() {
    let app = app().await;
    let (patient, _, _case) = app.case(Access::Act).await;
    let coordinator = app.user("co@example.org", Role::Coordinator).await;
    let studies = search_fixtures();
    cellpath_web::registry::import_studies(&app.state, "system", "test", &studies)
        .await
        .expect("import");
    let study = studies
        .iter()
        .find(|s| s.nct_id.as_str() == "NCT06346392")
        .expect("fixture");
    let items = cellpath_registry::draft::split(study.eligibility.as_deref().unwrap_or(""));
    let suggested = items
        .iter()
        .position(|i| i.suggestion.is_some())
        .expect("a rule is recognised");
    let uri = "/registry/studies/NCT06346392/confirm";
    let r = app.get(uri, Some(&coordinator)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Inclusion 1"));
    assert_eq!(r.text.matches("name=\"drop-").count(), items.len());
    assert!(r.text.contains(&format!("name=\"rule-{suggested}\"")));
    let r = app.get(uri, Some(&patient)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let n = items.len().to_string();
    let rule = format!("rule-{suggested}");
    let zh = format!("zh-{suggested}");
    let drop_last = format!("drop-{}", items.len() - 1);
    let r = app
        .post(
            uri,
            &coordinator,
            &[
                ("items", n.as_str()),
                (rule.as_str(), "1"),
                (zh.as_str(), "已核对的中文条目。"),
                (drop_last.as_str(), "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.starts_with("# Confirmed item by item on"),
        "{}",
        r.text
    );
    let rule_line = format!(
        "\nrule = {}\n",
        items[suggested].suggestion.as_ref().expect("rule").rule
    );
    assert!(r.text.contains(&rule_line), "{}", r.text);
    assert!(r.text.contains("zh-CN = \"已核对的中文条目。\""));
    // The file is a valid catalogue entry with the study as its source.
    let catalogue =
        cellpath_eligibility::Catalogue::from_files([("nct06346392-draft.toml", r.text.as_str())])
            .expect("a valid catalogue file");
    assert_eq!(catalogue.programmes().len(), 1);
    assert!(
        r.text
            .contains("url = \"https://clinicaltrials.gov/study/NCT06346392\"")
    );

    // A form made for another version of the study is sent back, saying so.
    let r = app.post(uri, &coordinator, &[("items", "1")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("the study changed since the form was made"),
        "{}",
        r.text
    );
}
