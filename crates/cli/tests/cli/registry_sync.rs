//! `cellpath registry sync` against the local stand-in of the ClinicalTrials.gov API v2,
//! with the demo server running on the same data: pages of one study each, a 429 waited
//! out, a registry that breaks down mid-sync and the sync resumed where it stopped; a change
//! to the eligibility of the study a catalogue programme names flags the programme, tells
//! the case's coordinator and marks its screening stale; the study closing re-screens the
//! case at once.

use std::path::Path;

use crate::common::{cellpath, json, text};
use cellpath_ctgov_replay::{Faults, Replay};
use serde_json::Value;

/// The catalogue's CT041-ST-01 and the NMPA-approved satri-cel programme name this study. Its record is not among the fixtures, so a
/// real record (NCT06008288) stands in under its number.
const LINKED: &str = "NCT04581473";

fn fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../registry/tests/data")
        .join(name);
    serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json")
}

fn set(study: &mut Value, pointer: &str, value: &str) {
    *study.pointer_mut(pointer).expect(pointer) = Value::String(value.to_owned());
}

/// Later than any sync's start, so that a sync reading changes since its last one sees it.
const LATER: &str = "2099-12-31";

fn sync(replay: &Replay, data: &str) -> std::process::Output {
    cellpath(&[
        "registry",
        "sync",
        "--base-url",
        &replay.url(),
        "--condition",
        "pancreatic cancer",
        "--page-size",
        "1",
        "--max-rate",
        "6000",
        "--retries",
        "1",
        "--backoff-ms",
        "10",
        "--data-dir",
        data,
    ])
}

#[test]
fn sync_pages_waits_resumes_and_flags_the_programme_it_changes() {
    let root = std::env::temp_dir().join(format!("cellpath-sync-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    let d = data.to_string_lossy().into_owned();
    let server = crate::common::start(&data, None);
    let coordinator = crate::common::sign_in(
        &server.addr,
        "coordinator@demo.cellpath",
        &server.password_of("coordinator").expect("demo account"),
    );

    let other = fixture("NCT06008288.json");
    let mut linked = other.clone();
    set(
        &mut linked,
        "/protocolSection/identificationModule/nctId",
        LINKED,
    );
    let unrelated = fixture("NCT00465816.json");
    let replay = Replay::start(
        "127.0.0.1:0",
        vec![other.clone(), linked.clone(), unrelated],
    )
    .expect("replay");

    // 1. Everything new; every second request is told to wait a second.
    replay.set_faults(Faults {
        throttle_every: Some(2),
        retry_after_secs: 1,
        ..Faults::default()
    });
    let o = sync(&replay, &d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("synced 3 pages from http://127.0.0.1:"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains(
            "2 studies new, 0 changed (a new version each), 1 unchanged; 0 programmes flagged"
        ),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("(429): waiting 1 s"), "{}", text(&o));
    let asked = replay.requests();
    assert!(
        asked.windows(2).any(|w| w[0] == w[1]),
        "the throttled page was asked again: {asked:?}"
    );
    assert!(
        asked[0].contains("query.cond=pancreatic%20cancer"),
        "{asked:?}"
    );
    assert!(asked[0].contains("countTotal=true") && !asked[0].contains("filter.advanced"));
    assert!(
        asked
            .iter()
            .any(|q| q.contains("filter.ids=") && q.contains(LINKED)),
        "the catalogue's studies are asked for by number: {asked:?}"
    );

    // 2. Both studies change; the registry breaks down after the first page.
    // The stand-in orders by last update: the unlinked study is page 1, the linked one page 2.
    let mut other2 = other.clone();
    set(
        &mut other2,
        "/protocolSection/statusModule/lastUpdatePostDateStruct/date",
        "2099-12-30",
    );
    set(
        &mut other2,
        "/protocolSection/sponsorCollaboratorsModule/leadSponsor/name",
        "Another sponsor",
    );
    let mut linked2 = linked.clone();
    set(
        &mut linked2,
        "/protocolSection/statusModule/lastUpdatePostDateStruct/date",
        LATER,
    );
    set(
        &mut linked2,
        "/protocolSection/eligibilityModule/eligibilityCriteria",
        "Inclusion Criteria:\n\n* CLDN18.2 positive in at least 40% of tumour cells",
    );
    replay.set_studies(vec![other2.clone(), linked2.clone()]);
    replay.set_faults(Faults {
        unavailable_after: Some(1),
        ..Faults::default()
    });
    let o = sync(&replay, &d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("stopped at page 2; run it again to resume there"),
        "{}",
        text(&o)
    );
    let before = replay.requests().len();

    // 3. Resumed at page 2 with its token, and only the changes since the first sync.
    replay.set_faults(Faults::default());
    let o = sync(&replay, &d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("at page 2"), "{}", text(&o));
    let resumed = &replay.requests()[before];
    assert!(
        resumed.contains("pageToken=")
            && resumed.contains("filter.advanced=AREA%5BLastUpdatePostDate%5DRANGE%5B"),
        "{resumed}"
    );
    assert!(
        text(&o).contains("2 programmes flagged for review, 0 cases re-screened"),
        "{}",
        text(&o)
    );

    let notices = json(
        &server.addr,
        "GET",
        "/api/v1/notifications",
        &coordinator,
        Value::Null,
    );
    assert!(
        notices.to_string().contains("programme-source-changed"),
        "{notices}"
    );
    let screenings = json(
        &server.addr,
        "GET",
        "/api/v1/cases/c-demo-1/screenings",
        &coordinator,
        Value::Null,
    );
    let latest = screenings["screenings"]
        .as_array()
        .and_then(|l| l.last())
        .expect("a screening");
    assert_eq!(latest["stale"], true, "{latest}");
    let because = latest["stale_because"].as_array().expect("why");
    assert!(
        because.iter().any(|c| c["programme_id"] == "ct041-st-01"
            && c["changes"][0]["what"] == "eligibility"),
        "{latest}"
    );

    // 4. The study stops recruiting: the case is screened again at once.
    let mut linked3 = linked2.clone();
    set(
        &mut linked3,
        "/protocolSection/statusModule/overallStatus",
        "COMPLETED",
    );
    replay.set_studies(vec![other2, linked3]);
    let o = sync(&replay, &d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2 programmes flagged for review"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains(", 0 cases re-screened"), "{}", text(&o));
    let screenings = json(
        &server.addr,
        "GET",
        "/api/v1/cases/c-demo-1/screenings",
        &coordinator,
        Value::Null,
    );
    let latest = screenings["screenings"]
        .as_array()
        .and_then(|l| l.last())
        .expect("a screening");
    assert_eq!(latest["stale"], false, "{latest}");
    let carried = latest["screening"]["source_changes"].to_string();
    assert!(
        carried.contains("\"closes\":true") && carried.contains(LINKED),
        "{carried}"
    );
    let notices = json(
        &server.addr,
        "GET",
        "/api/v1/notifications",
        &coordinator,
        Value::Null,
    );
    assert!(
        notices.to_string().contains("programme-closed"),
        "{notices}"
    );

    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_bad_address_or_date_is_refused_before_anything_is_asked() {
    let o = cellpath(&[
        "registry",
        "sync",
        "--base-url",
        "ftp://x",
        "--data-dir",
        "/nonexistent",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("is not an http(s) address"),
        "{}",
        text(&o)
    );
    let o = cellpath(&[
        "registry",
        "sync",
        "--since",
        "yesterday",
        "--data-dir",
        "/nonexistent",
    ]);
    assert!(
        text(&o).contains("--since `yesterday` is not a date"),
        "{}",
        text(&o)
    );
}
