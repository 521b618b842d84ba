//! Real ClinicalTrials.gov records read into the study model: an API v2 study, the same in
//! an API page and in an array with a broken record beside it (named by its pointer, the
//! rest read), a minimal record whose gaps stay unknown, a legacy XML record, and the forms
//! that are not records (the retired v1 API, broken JSON, other XML) refused by name.

use cellpath_registry::{Form, Phase, Status, read};

const V2: &str = include_str!("data/NCT06008288.json");

#[test]
fn an_api_v2_study_reads_with_its_sites_and_criteria() {
    let r = read("NCT06008288.json", V2.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let s = &r.studies[0];
    assert_eq!(s.nct_id.as_str(), "NCT06008288");
    assert!(s.title.starts_with("A Phase II Study Evaluating JAB-21822"));
    assert_eq!(
        (s.status, s.phases.as_slice()),
        (Some(Status::Recruiting), &[Phase::Phase2][..])
    );
    assert_eq!(s.study_type.as_deref(), Some("INTERVENTIONAL"));
    assert!(s.conditions.iter().any(|c| c == "Pancreatic Cancer"));
    assert_eq!(s.interventions[0].name, "JAB-21822");
    assert_eq!(s.locations.len(), 31);
    assert!(
        s.locations
            .iter()
            .any(|l| l.city.as_deref() == Some("Hefei")
                && l.country.as_deref() == Some("China")
                && l.status == Some(Status::Recruiting))
    );
    assert_eq!(s.sponsor.as_deref(), Some("Allist Pharmaceuticals, Inc."));
    assert_eq!(s.minimum_age.as_deref(), Some("18 Years"));
    assert_eq!(s.last_update.as_deref(), Some("2025-08-07"));
    assert!(
        s.eligibility
            .as_deref()
            .is_some_and(|e| e.contains("Inclusion"))
    );
    assert_eq!(s.form, Form::ApiV2Json);
}

#[test]
fn a_page_and_an_array_read_every_good_record_and_name_the_bad_one() {
    let study: serde_json::Value = serde_json::from_str(V2).expect("json");
    let mut broken = study.clone();
    broken["protocolSection"]["statusModule"]["overallStatus"] = "RECRUTING".into();
    let page = serde_json::json!({"studies": [study, broken], "nextPageToken": "NF0g5JGBlPMuwQ"});
    let r = read("page.json", page.to_string().as_bytes());
    assert_eq!(r.studies.len(), 1);
    assert_eq!(r.next_page_token.as_deref(), Some("NF0g5JGBlPMuwQ"));
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        r.errors[0].to_string(),
        "page.json at /studies/1/protocolSection/statusModule/overallStatus: unknown status `RECRUTING`"
    );
    let array = serde_json::json!([page["studies"][0], {"protocolSection": {"identificationModule": {"nctId": "NCT123"}}}]);
    let r = read("export.json", array.to_string().as_bytes());
    assert_eq!((r.studies.len(), r.next_page_token), (1, None));
    assert_eq!(
        r.errors[0].pointer,
        "/1/protocolSection/identificationModule/nctId"
    );
    assert!(
        r.errors[0]
            .message
            .contains("`NCT123` is not an NCT number")
    );
}

#[test]
fn what_a_minimal_record_leaves_out_stays_unknown() {
    let r = read("NCT00465816.json", include_bytes!("data/NCT00465816.json"));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let s = &r.studies[0];
    assert_eq!(s.nct_id.as_str(), "NCT00465816");
    assert_eq!((s.status, s.eligibility.as_ref()), (None, None));
    assert!(s.phases.is_empty() && s.locations.is_empty());
}

#[test]
fn a_legacy_xml_record_reads_into_the_same_model() {
    let r = read("NCT00482794.xml", include_bytes!("data/NCT00482794.xml"));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let s = &r.studies[0];
    assert_eq!(s.nct_id.as_str(), "NCT00482794");
    assert_eq!(
        s.title,
        "Genetic Risk Factors Associated With Antiphospholipid Antibody Syndrome"
    );
    assert_eq!(s.status, Some(Status::Recruiting));
    assert_eq!(s.conditions, ["Antiphospholipid Syndrome"]);
    assert_eq!(s.sponsor.as_deref(), Some("Duke University"));
    assert_eq!(s.last_update.as_deref(), Some("2017-11-06"));
    assert_eq!(s.locations[0].city.as_deref(), Some("Durham"));
    assert_eq!(s.form, Form::LegacyXml);
    // Two phases in one element, as the legacy form writes them.
    let xml = "<clinical_study><id_info><nct_id>NCT01234567</nct_id></id_info><brief_title>T</brief_title><overall_status>Active, not recruiting</overall_status><phase>Phase 1/Phase 2</phase></clinical_study>";
    let s = &read("x.xml", xml.as_bytes()).studies[0];
    assert_eq!(
        (s.status, s.phases.as_slice()),
        (
            Some(Status::ActiveNotRecruiting),
            &[Phase::Phase1, Phase::Phase2][..]
        )
    );
    let na = xml.replace("Phase 1/Phase 2", "N/A");
    assert_eq!(
        read("x.xml", na.as_bytes()).studies[0].phases,
        [Phase::NotApplicable]
    );
}

#[test]
fn what_is_not_a_record_is_refused_by_name() {
    let v1 = br#"{"FullStudiesResponse": {"APIVrs": "1.01.05", "FullStudies": []}}"#;
    let e = &read("old.json", v1).errors[0];
    assert!(
        e.message.contains("classic v1 API") && e.pointer == "/FullStudiesResponse",
        "{e}"
    );
    let e = &read("broken.json", b"{\"studies\": [").errors[0];
    assert!(e.message.starts_with("not valid JSON (line 1"), "{e}");
    let e = &read("feed.xml", b"<rss><channel/></rss>").errors[0];
    assert_eq!(
        e.to_string(),
        "feed.xml at /rss: not a legacy ClinicalTrials.gov record (<clinical_study>)"
    );
    assert!(
        read("notes.txt", b"NCT01234567").errors[0]
            .message
            .contains("neither JSON nor XML")
    );
}

/// Two versions of one study: a site closes, one opens, the criteria and the status change.
#[test]
fn the_difference_between_two_versions_is_named_change_by_change() {
    use cellpath_registry::diff::{Change, diff};
    let old = read("v1.json", V2.as_bytes()).studies.remove(0);
    assert!(
        diff(&old, &old).is_empty(),
        "a study does not differ from itself"
    );
    let mut new = old.clone();
    new.status = Some(Status::Completed);
    new.eligibility = old
        .eligibility
        .as_ref()
        .map(|e| e.replace("within 14 days", "within 28 days"));
    let gone = new.locations.remove(0);
    new.locations[0].status = Some(Status::Completed);
    new.locations.push(cellpath_registry::Location {
        facility: Some("Fudan University Shanghai Cancer Center".into()),
        city: Some("Shanghai".into()),
        country: Some("China".into()),
        status: Some(Status::NotYetRecruiting),
    });
    new.last_update = Some("2026-11-20".into());
    let changes = diff(&old, &new);
    let whats: Vec<&str> = changes
        .iter()
        .map(|c| match c {
            Change::Status { .. } => "status",
            Change::Eligibility { .. } => "eligibility",
            Change::SiteAdded { .. } => "site-added",
            Change::SiteRemoved { .. } => "site-removed",
            Change::SiteStatus { .. } => "site-status",
            Change::Phases { .. } => "phases",
            Change::Title { .. } => "title",
            Change::LastUpdate { .. } => "last-update",
        })
        .collect();
    assert_eq!(
        whats,
        [
            "status",
            "eligibility",
            "site-status",
            "site-added",
            "site-removed",
            "last-update"
        ]
    );
    assert!(
        changes[0].closes_recruitment(),
        "recruiting → completed closes it"
    );
    assert!(matches!(&changes[4], Change::SiteRemoved { site } if *site == gone));
    // Reflowed text is not a change of criteria.
    let mut reflowed = old.clone();
    reflowed.eligibility = old.eligibility.as_ref().map(|e| e.replace(' ', "  \n"));
    assert!(diff(&old, &reflowed).is_empty());
}

/// What is stored reads back as it was: an unchanged study is never a new version.
#[test]
fn a_study_reads_back_from_its_stored_json_unchanged() {
    for (name, bytes) in [
        ("a.json", V2.as_bytes()),
        ("b.json", &include_bytes!("data/NCT00465816.json")[..]),
        ("c.xml", &include_bytes!("data/NCT00482794.xml")[..]),
    ] {
        for s in read(name, bytes).studies {
            let json = serde_json::to_string(&s).expect("serialises");
            let back: cellpath_registry::Study = serde_json::from_str(&json).expect("reads");
            assert_eq!(back, s, "{name}");
        }
    }
    let bad: Result<cellpath_registry::Study, _> = serde_json::from_str(r#"{"nct_id":"NCT1"}"#);
    assert!(bad.is_err_and(|e| e.to_string().contains("`NCT1` is not an NCT number")));
}

/// One facility listed twice with two statuses (found by the fuzzer): the study does not
/// differ from itself, and a change of one of them is one change.
#[test]
fn a_facility_listed_twice_is_paired_site_by_site() {
    let mut s = read("v.json", V2.as_bytes()).studies.remove(0);
    let mut twin = s.locations[0].clone();
    twin.status = Some(Status::NotYetRecruiting);
    s.locations.push(twin);
    assert!(cellpath_registry::diff::diff(&s, &s).is_empty());
    let mut later = s.clone();
    let last = later.locations.len() - 1;
    later.locations[last].status = Some(Status::Recruiting);
    assert_eq!(cellpath_registry::diff::diff(&s, &later).len(), 1);
}

/// A last-update date with a newline in it was stored as given and wrote lines of its own
/// into the draft catalogue TOML (security round 2, issue 28). A date is now checked as it
/// is read; the record is refused naming the place, and a draft never carries a bad one.
#[test]
fn a_last_update_that_is_not_a_date_is_refused_by_name() {
    let mut v: serde_json::Value = serde_json::from_str(V2).expect("json");
    v["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] =
        serde_json::json!("2025-01-01\n[[criteria]]\nid = \"injected\"");
    let r = read("bad.json", v.to_string().as_bytes());
    assert!(r.studies.is_empty());
    let e = r.errors.first().expect("an error");
    assert!(
        e.to_string().contains("lastUpdatePostDateStruct/date"),
        "{e}"
    );
    assert!(e.to_string().contains("is not a date"), "{e}");
    // A study held from before, with such a date, still drafts without it.
    let mut study = read("NCT06008288.json", V2.as_bytes()).studies.remove(0);
    study.last_update = Some("2025-01-01\n[[criteria]]\nid = \"injected\"".into());
    let toml = cellpath_registry::draft::draft_toml(&study, 1, "2026-12-08");
    assert!(!toml.contains("injected"), "{toml}");
    assert!(cellpath_registry::is_registry_date("2025-01-01"));
    assert!(cellpath_registry::is_registry_date("2025-01"));
    assert!(!cellpath_registry::is_registry_date("2025-1-01"));
}
