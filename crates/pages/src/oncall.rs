//! The case's on-call rota, set by its coordinator: who answers the family's warnings, in
//! order, and when. An alert reaches the first person on call; if nobody acknowledges it in
//! the centre's window, the next; then every treating member (`care::oncall`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cellpath_care::journey::UtcOffset;
use cellpath_web::Shared;
use cellpath_web::alerts::RotaEntry;
use cellpath_web::policy::Action;

use crate::frame::{Fields, Frame, Signed, done, page_with, status_for};
use crate::i18n::tr;
use crate::patient::{case_nav, name_of};

/// Empty rows offered below the rota's own.
const SPARE_ROWS: usize = 3;

struct RotaRow {
    user: String,
    starts: String,
    ends: String,
}

#[derive(Template)]
#[template(path = "on_call.html")]
struct OnCallPage {
    f: Frame,
    id: String,
    rows: Vec<RotaRow>,
    people: Vec<(String, String)>,
    /// How the times are read: "UTC+08:00 (the centre's time)" or "UTC".
    zone: String,
    minutes: u64,
    error: String,
}

/// An RFC 3339 UTC time as a `datetime-local` value in the centre's time.
fn local_value(ts: &str, offset: Option<UtcOffset>) -> String {
    let Some(secs) = cellpath_store::parse_rfc3339(ts) else {
        return String::new();
    };
    let shift = offset.map_or(0, |o| i64::from(o.minutes()) * 60);
    cellpath_store::rfc3339(secs.saturating_add_signed(shift))[..16].to_owned()
}

/// A `datetime-local` value in the centre's time as RFC 3339 UTC; `None` when unreadable.
fn utc_value(local: &str, offset: Option<UtcOffset>) -> Option<String> {
    let t = local.trim();
    let full = match t.len() {
        16 => format!("{t}:00Z"),
        19 => format!("{t}Z"),
        _ => return None,
    };
    let secs = cellpath_store::parse_rfc3339(&full)?;
    let shift = offset.map_or(0, |o| i64::from(o.minutes()) * 60);
    Some(cellpath_store::rfc3339(secs.checked_add_signed(-shift)?))
}

async fn render(
    state: &Shared,
    s: &Signed,
    id: &str,
    rows: Vec<RotaRow>,
    error: String,
) -> Response {
    let lang = s.lang;
    let offset = match cellpath_web::care::centre_contacts(state, id).await {
        Ok((_, o)) => o,
        Err(e) => return s.fail(e),
    };
    let treating = match cellpath_web::alerts::treating(state, id).await {
        Ok(t) => t,
        Err(e) => return s.fail(e),
    };
    let mut people = vec![(String::new(), "—".to_owned())];
    for u in treating {
        let name = name_of(state, &u).await;
        people.push((u, name));
    }
    let mut rows = rows;
    rows.extend((0..SPARE_ROWS).map(|_| RotaRow {
        user: String::new(),
        starts: String::new(),
        ends: String::new(),
    }));
    let zone = match offset {
        Some(o) => tr(lang, "oncall-zone-centre", &[("offset", &o.text())]),
        None => tr(lang, "oncall-zone-utc", &[]),
    };
    let f = s.frame(
        "oncall-title",
        case_nav(lang, id, s.actor().role, "nav-monitoring"),
    );
    page_with(
        status_for(&error),
        &OnCallPage {
            f,
            id: id.to_owned(),
            rows,
            people,
            zone,
            minutes: state.config.alert_ack_window.as_secs() / 60,
            error,
        },
    )
}

/// `GET /cases/{id}/on-call`: the rota (the case's coordinator).
pub async fn on_call(State(state): State<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    if let Err(e) = state.authorise(s.actor(), &id, Action::SetOnCall).await {
        return s.fail(e);
    }
    let rota = match cellpath_web::alerts::rota(&state, s.actor(), &id).await {
        Ok(r) => r,
        Err(e) => return s.fail(e),
    };
    let offset = match cellpath_web::care::centre_contacts(&state, &id).await {
        Ok((_, o)) => o,
        Err(e) => return s.fail(e),
    };
    let rows = rota
        .iter()
        .map(|r| RotaRow {
            user: r.user_id.clone(),
            starts: local_value(&r.starts_at, offset),
            ends: local_value(&r.ends_at, offset),
        })
        .collect();
    render(&state, &s, &id, rows, String::new()).await
}

/// `POST /cases/{id}/on-call`: the rota as the form gives it, rows in order; an empty row is
/// skipped, a half-filled one named.
pub async fn on_call_post(
    State(state): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    if let Err(r) = form.check(&s) {
        return r;
    }
    // Strangers learn nothing, whatever they send.
    if let Err(e) = state.authorise(&s.writer(), &id, Action::SetOnCall).await {
        return s.fail(e);
    }
    let lang = s.lang;
    let offset = match cellpath_web::care::centre_contacts(&state, &id).await {
        Ok((_, o)) => o,
        Err(e) => return s.fail(e),
    };
    let mut rows = Vec::new();
    let mut entries = Vec::new();
    let mut problem = None;
    for i in 0..cellpath_web::alerts::MAX_ROTA {
        let user = form.text(&format!("user.{i}"));
        let starts = form.text(&format!("starts.{i}"));
        let ends = form.text(&format!("ends.{i}"));
        if user.is_empty() && starts.is_empty() && ends.is_empty() {
            continue;
        }
        let n = (rows.len() + 1).to_string();
        let (s_utc, e_utc) = (utc_value(&starts, offset), utc_value(&ends, offset));
        if problem.is_none() {
            problem = if user.is_empty() {
                Some(tr(lang, "oncall-err-who", &[("row", &n)]))
            } else if s_utc.is_none() || e_utc.is_none() {
                Some(tr(lang, "oncall-err-times", &[("row", &n)]))
            } else {
                None
            };
        }
        rows.push(RotaRow {
            user: user.clone(),
            starts,
            ends,
        });
        if let (Some(a), Some(b)) = (s_utc, e_utc) {
            entries.push(RotaEntry {
                user,
                starts_at: a,
                ends_at: b,
            });
        }
    }
    if let Some(p) = problem {
        return render(&state, &s, &id, rows, p).await;
    }
    match cellpath_web::alerts::set_rota(&state, &s.writer(), &id, &entries).await {
        Ok(()) => done(&format!("/cases/{id}/monitoring#home-alerts"), "rota-saved"),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let msg = s.message(&e);
            render(&state, &s, &id, rows, msg).await
        }
        Err(e) => s.fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_the_centres_both_ways() {
        let o = UtcOffset::parse("+08:00").ok();
        assert_eq!(local_value("2026-12-20T13:02:00Z", o), "2026-12-20T21:02");
        assert_eq!(
            utc_value("2026-12-20T21:02", o).as_deref(),
            Some("2026-12-20T13:02:00Z")
        );
        assert_eq!(
            utc_value("2026-12-20T21:02", None).as_deref(),
            Some("2026-12-20T21:02:00Z")
        );
        assert_eq!(utc_value("tomorrow", o), None);
    }
}
