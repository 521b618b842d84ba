//! The web pages people use: server-rendered HTML (askama templates compiled into the
//! binary) in English and Simplified Chinese (Fluent files under `locales/`), working
//! without JavaScript; htmx (vendored) and one small first-party script only enhance.
//!
//! Pages hold no rules of their own: every read goes through the application layer's door
//! (`AppState::authorise` and its audit), and every change calls the same use case as the
//! JSON API — so access, consent and audit are the same whichever way a person comes in.

// A page's error is the page that says so: handlers pass `Response`s back as errors.
#![allow(clippy::result_large_err)]

pub mod account;
pub mod admin;
pub mod assets;
pub mod frame;
pub mod i18n;
pub mod import;
pub mod mdt;
pub mod oncall;
pub mod patient;
pub mod planner;
pub mod record;
pub mod registry;
pub mod screenings;
pub mod search;
pub mod summary;
pub mod svg;
pub mod verify;
pub mod work;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, post};
use cellpath_web::Shared;

/// The pages, to be served beside the API (`cellpath_web::serve_with`).
pub fn pages() -> cellpath_web::Pages {
    let mut routes = Router::new();
    for (_, path, handler) in table() {
        routes = routes.route(path, handler);
    }
    cellpath_web::Pages {
        routes,
        not_found: frame::not_found,
    }
}

/// Every page route as (method, path): the router is built from the same table, so the
/// authorisation tests that walk this list reach every page.
pub fn page_routes() -> Vec<(&'static str, &'static str)> {
    table()
        .into_iter()
        .flat_map(|(methods, path, _)| methods.iter().map(move |m| (*m, path)))
        .collect()
}

type Entry = (&'static [&'static str], &'static str, MethodRouter<Shared>);

/// The largest body of a form that works without a session (sign-in, set-password,
/// language): an e-mail, a password, a token, a path.
pub const ANONYMOUS_FORM_MAX: usize = 16 * 1024;

fn table() -> Vec<Entry> {
    const G: &[&str] = &["GET"];
    const P: &[&str] = &["POST"];
    const GP: &[&str] = &["GET", "POST"];
    vec![
        (G, "/", get(account::home)),
        // The forms anyone may send, signed in or not, read at most a few KiB: a body far
        // over that is refused (413) before it is read whole (security round 2, issue 28).
        (
            GP,
            "/sign-in",
            get(account::sign_in_page)
                .post(account::sign_in)
                .layer(DefaultBodyLimit::max(ANONYMOUS_FORM_MAX)),
        ),
        (P, "/sign-out", post(account::sign_out)),
        (
            GP,
            "/set-password",
            get(account::set_password_page)
                .post(account::set_password)
                .layer(DefaultBodyLimit::max(ANONYMOUS_FORM_MAX)),
        ),
        (
            P,
            "/language",
            post(account::language).layer(DefaultBodyLimit::max(ANONYMOUS_FORM_MAX)),
        ),
        (G, "/about", get(account::about)),
        (G, "/cases", get(patient::cases)),
        (G, "/work", get(work::work)),
        (G, "/work/assignments", get(work::assignments)),
        (GP, "/verify", get(verify::verify).post(verify::verify_post)),
        (G, "/registry", get(search::search)),
        (G, "/cases/{id}/studies", get(search::case_studies)),
        (G, "/registry/flags", get(registry::flags)),
        (P, "/registry/flags/{flag}/review", post(registry::review)),
        (G, "/registry/studies/{nct}", get(registry::study)),
        (
            G,
            "/registry/studies/{nct}/draft.toml",
            get(registry::draft),
        ),
        (
            GP,
            "/registry/studies/{nct}/confirm",
            get(registry::confirm).post(registry::confirm_post),
        ),
        (
            GP,
            "/consents",
            get(patient::consents).post(patient::consents_post),
        ),
        (G, "/notifications", get(patient::notifications)),
        (
            P,
            "/notifications/email",
            post(patient::notifications_email),
        ),
        (G, "/cases/{id}", get(patient::my_case)),
        (
            GP,
            "/cases/{id}/records",
            // Each file is limited by the upload use case as it streams, not by the body.
            get(patient::records)
                .post(patient::records_post)
                .layer(DefaultBodyLimit::disable()),
        ),
        (G, "/cases/{id}/records/{did}", get(patient::download)),
        (
            GP,
            "/cases/{id}/prescreen",
            get(patient::prescreen).post(patient::prescreen_post),
        ),
        (
            GP,
            "/cases/{id}/team",
            get(patient::team).post(patient::team_post),
        ),
        (
            GP,
            "/cases/{id}/journey",
            get(patient::journey).post(patient::journey_post),
        ),
        (
            GP,
            "/cases/{id}/diary",
            get(patient::diary).post(patient::diary_post),
        ),
        (
            GP,
            "/cases/{id}/support",
            get(patient::support).post(patient::support_post),
        ),
        (
            GP,
            "/cases/{id}/messages",
            get(patient::messages).post(patient::messages_post),
        ),
        (
            GP,
            "/cases/{id}/monitoring",
            get(work::monitoring).post(work::monitoring_post),
        ),
        (
            GP,
            "/cases/{id}/on-call",
            get(oncall::on_call).post(oncall::on_call_post),
        ),
        (GP, "/cases/{id}/mdt", get(mdt::mdt).post(mdt::mdt_post)),
        (G, "/cases/{id}/summary", get(summary::summary)),
        (
            GP,
            "/cases/{id}/record",
            get(record::record).post(record::record_post),
        ),
        (G, "/cases/{id}/record/history", get(record::history)),
        (
            GP,
            "/cases/{id}/import",
            // The file is limited by the server's FHIR limit as it is read, not by the body.
            get(import::import)
                .post(import::import_post)
                .layer(DefaultBodyLimit::disable()),
        ),
        (P, "/cases/{id}/import/confirm", post(import::confirm)),
        (
            GP,
            "/cases/{id}/plan",
            get(planner::planner).post(planner::planner_post),
        ),
        (
            P,
            "/cases/{id}/monitoring/preview",
            post(work::monitoring_preview),
        ),
        (GP, "/admin", get(admin::admin).post(admin::admin_post)),
        (G, "/static/{hash}/{name}", get(assets::serve)),
    ]
}
