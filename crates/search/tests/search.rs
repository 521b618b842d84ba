//! The index over real records: the coordinator's query language, Chinese queries through
//! the term table, facets, snippets, sorting, replacing a study, and studies for a case.

use cellpath_search::{
    CaseProfile, FacetKey, Reason, Request, Results, Site, Sort, StudyIndex, TextField, parse,
};

fn studies() -> Vec<cellpath_registry::Study> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let read = cellpath_registry::read(
                &path.display().to_string(),
                &std::fs::read(&path).expect("fixture"),
            );
            assert!(read.errors.is_empty(), "{:?}", read.errors);
            out.extend(read.studies);
        }
    }
    assert_eq!(out.len(), 5);
    out
}

fn index() -> StudyIndex {
    let index = StudyIndex::create(None).expect("index");
    assert_eq!(index.upsert(&studies()).expect("ok"), 5);
    index
}

fn search(index: &StudyIndex, q: &str, sort: Sort) -> Results {
    let parsed = parse(q).expect("ok");
    index
        .search(&Request {
            query: &parsed,
            sort,
            offset: 0,
            limit: 20,
            facets: true,
            snippets: true,
        })
        .expect("ok")
}

fn ids(r: &Results) -> Vec<&str> {
    r.hits.iter().map(|h| h.study.nct_id.as_str()).collect()
}

#[test]
fn the_coordinators_query_finds_the_cldn18_study_with_highlights_and_facets() {
    let index = index();
    let r = search(
        &index,
        "cldn18.2 car-t status:recruiting country:china",
        Sort::Relevance,
    );
    assert_eq!(ids(&r), ["NCT06346392"]);
    let hit = &r.hits[0];
    let marked: Vec<&str> = hit
        .title
        .iter()
        .filter(|s| s.hit)
        .map(|s| s.text.as_str())
        .collect();
    assert!(
        marked.iter().any(|m| m.eq_ignore_ascii_case("claudin")),
        "{marked:?}"
    );
    let snippet = hit.snippet.as_ref().expect("a snippet");
    assert!(snippet.spans.iter().any(|s| s.hit), "{snippet:?}");
    let status = r
        .facets
        .iter()
        .find(|g| g.key == FacetKey::Status)
        .expect("ok");
    assert_eq!(status.values[0].value, "recruiting");
    assert!(status.values[0].selected);
    let country = r
        .facets
        .iter()
        .find(|g| g.key == FacetKey::Country)
        .expect("ok");
    let china = country
        .values
        .iter()
        .find(|v| v.value == "China")
        .expect("China, as the record spells it");
    assert!(china.selected);
}

#[test]
fn chinese_queries_find_the_cldn18_study() {
    let index = index();
    let r = search(&index, "胃癌 CAR-T", Sort::Relevance);
    assert_eq!(
        ids(&r),
        ["NCT06346392"],
        "gastric and CAR-T: only AZD0901 names both"
    );
    let r = search(&index, "紧密连接蛋白 18.2", Sort::Relevance);
    assert_eq!(ids(&r), ["NCT06346392"]);
    let r = search(
        &index,
        "紧密连接蛋白18.2 国家:中国 状态:招募中",
        Sort::Relevance,
    );
    assert_eq!(ids(&r), ["NCT06346392"]);
    // 胃癌 alone: every gastric study, not the lymphoma or the oesophageal one.
    let mut gastric = ids(&search(&index, "胃癌", Sort::Relevance))
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    gastric.sort();
    assert_eq!(gastric, ["NCT02139605", "NCT06346392", "NCT06764875"]);
}

#[test]
fn exclusion_filters_and_sorting() {
    let index = index();
    let r = search(&index, "gastric -claudin", Sort::Relevance);
    assert!(!ids(&r).contains(&"NCT06346392"));
    assert!(ids(&r).contains(&"NCT02139605"));

    let r = search(&index, "country:india", Sort::Updated);
    let dates: Vec<String> = r
        .hits
        .iter()
        .map(|h| h.study.last_update.clone().expect("ok"))
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    assert_eq!(r.total, r.hits.len());
    assert!(r.total >= 3);

    let r = search(
        &index,
        "intervention:drug age:adult lymphoma",
        Sort::Relevance,
    );
    assert_eq!(ids(&r), ["NCT05984147"]);
    assert!(
        search(&index, "intervention:device lymphoma", Sort::Relevance)
            .hits
            .is_empty()
    );
}

#[test]
fn snippets_come_from_the_field_that_matched() {
    let index = index();
    let r = search(&index, "lymphadenectomy", Sort::Relevance);
    assert_eq!(ids(&r), ["NCT02139605"]);
    let r = search(&index, "thromboembolic", Sort::Relevance);
    let s = r.hits[0].snippet.as_ref().expect("ok");
    assert_eq!(s.field, TextField::Eligibility);
    assert!(
        s.spans
            .iter()
            .any(|x| x.hit && x.text.eq_ignore_ascii_case("thromboembolic"))
    );
}

#[test]
fn a_replaced_study_is_found_as_it_is_now() {
    let index = index();
    let mut changed: Vec<_> = studies()
        .into_iter()
        .filter(|s| s.nct_id.as_str() == "NCT06346392")
        .collect();
    changed[0].status = Some(cellpath_registry::Status::Completed);
    index.upsert(&changed).expect("ok");
    assert_eq!(index.len(), 5);
    assert!(
        search(&index, "claudin status:recruiting", Sort::Relevance)
            .hits
            .is_empty()
    );
    assert_eq!(
        ids(&search(&index, "claudin status:completed", Sort::Relevance)),
        ["NCT06346392"]
    );
}

#[test]
fn studies_for_a_case_are_ranked_with_their_reasons() {
    let index = index();
    let profile = CaseProfile {
        site: Some(Site::Stomach),
        adenocarcinoma: Some(true),
        cldn18_positive: Some(true),
        her2_positive: Some(false),
        prior_lines: Some(2),
        countries: vec!["China".into()],
    };
    let s = index.for_case(&profile, 10).expect("ok");
    let ids: Vec<&str> = s.iter().map(|x| x.study.nct_id.as_str()).collect();
    assert_eq!(ids[0], "NCT06346392", "{ids:?}");
    assert!(
        !ids.contains(&"NCT05984147"),
        "the lymphoma study is not for a gastric cancer"
    );
    assert!(!ids.contains(&"NCT03222895"), "nor the oesophageal one");
    let why = &s[0].reasons;
    assert!(why.contains(&Reason::Site {
        site: Site::Stomach
    }));
    assert!(why.contains(&Reason::Cldn18));
    assert!(why.contains(&Reason::Country {
        country: "China".into()
    }));
    assert!(why.contains(&Reason::Pretreated { prior_lines: 2 }));
    // A study that says nothing of CLDN18.2 is not given that reason.
    for other in &s[1..] {
        assert!(
            !other.reasons.contains(&Reason::Cldn18),
            "{:?}",
            other.study.nct_id
        );
    }
    // No site in the record: nothing is suggested.
    assert!(
        index
            .for_case(&CaseProfile::default(), 10)
            .expect("ok")
            .is_empty()
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever is typed, the query is read or refused with a reason, and a query read runs.
    #[test]
    fn any_typed_query_is_read_or_refused_and_never_breaks_a_search(
        q in "[a-zA-Z0-9 :\"'\\-.，：“”胃癌紧密连接蛋白状态招募中国家]{0,80}"
    ) {
        static INDEX: std::sync::OnceLock<StudyIndex> = std::sync::OnceLock::new();
        let index = INDEX.get_or_init(index);
        if let Ok(parsed) = parse(&q) {
            let r = index.search(&Request {
                query: &parsed,
                sort: Sort::Relevance,
                offset: 0,
                limit: 5,
                facets: true,
                snippets: true,
            });
            proptest::prop_assert!(r.is_ok(), "{q:?}: {r:?}");
        }
    }
}

/// A clause of the term table is searched as its group's one term (tagged at indexing); the
/// same clause searched as a phrase per form finds the same studies.
#[test]
fn a_group_term_finds_what_its_forms_as_phrases_find() {
    let index = index();
    let mut found_some = 0;
    for g in cellpath_search::terms::GROUPS {
        let form = g.en[0];
        let tagged = parse(&format!("\"{form}\"")).expect("ok");
        assert_eq!(tagged.clauses[0].group, Some(g.id), "{form}");
        let mut phrases = tagged.clone();
        phrases.clauses[0].group = None;
        let find = |p: &cellpath_search::Parsed| {
            let mut got = ids(&index
                .search(&Request {
                    query: p,
                    sort: Sort::Relevance,
                    offset: 0,
                    limit: 20,
                    facets: false,
                    snippets: false,
                })
                .expect("ok"))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
            got.sort();
            got
        };
        let by_group = find(&tagged);
        assert_eq!(by_group, find(&phrases), "{}", g.id);
        found_some += usize::from(!by_group.is_empty());
    }
    // The comparison means something: most groups find at least one of the five records.
    assert!(found_some >= 10, "{found_some}");
}

/// Above some thousands of matches the places are counted from a sample and said to be
/// estimates; the other facets, and any search with fewer matches, are counted exactly.
#[test]
fn broad_searches_estimate_their_places_and_count_the_rest() {
    let base = studies()
        .into_iter()
        .min_by_key(|s| s.locations.len())
        .expect("a study");
    let cities = ["Shanghai", "Boston", "Tokyo"];
    let many: Vec<cellpath_registry::Study> = (0..4_500)
        .map(|i| {
            let mut s = base.clone();
            s.nct_id = cellpath_registry::NctId::parse(&format!("NCT9{i:07}")).expect("id");
            // Two words each in more than 2,500 studies, together in 2,050.
            let alpha = if i >= 1_950 { " alphaword" } else { "" };
            let beta = if i < 4_000 { " betaword" } else { "" };
            s.title = format!("Sampling study {i}{alpha}{beta}");
            s.locations = vec![cellpath_registry::Location {
                facility: None,
                city: Some(cities[i % 3].to_owned()),
                country: Some("Elsewhere".to_owned()),
                status: None,
            }];
            s
        })
        .collect();
    let index = StudyIndex::create(None).expect("index");
    index.upsert(&many).expect("indexed");
    let r = search(&index, "sampling", Sort::Relevance);
    assert_eq!(r.total, 4_500);
    let group = |r: &Results, key: FacetKey| {
        r.facets
            .iter()
            .find(|g| g.key == key)
            .cloned()
            .expect("group")
    };
    let city = group(&r, FacetKey::City);
    assert!(city.approximate);
    assert_eq!(city.values.len(), 3);
    for v in &city.values {
        // 1,500 each; estimated from about 2,500 of the 4,500.
        assert!((1_350..=1_650).contains(&v.count), "{v:?}");
    }
    assert_eq!(
        group(&r, FacetKey::Country).values[0].count % 10,
        0,
        "rounded"
    );
    let status = group(&r, FacetKey::Status);
    assert!(!status.approximate);
    assert_eq!(status.values[0].count, 4_500);
    // Fewer matches: every place counted.
    let r = search(&index, "sampling city:tokyo", Sort::Relevance);
    assert_eq!(r.total, 1_500);
    let city = group(&r, FacetKey::City);
    assert!(!city.approximate);
    assert_eq!(city.values[0].count, 1_500);
    // Each word alone bounds the matches above 2,500; together they are fewer, so the
    // places are counted over every match after all.
    let r = search(&index, "alphaword betaword", Sort::Relevance);
    assert_eq!(r.total, 2_050);
    let city = group(&r, FacetKey::City);
    assert!(!city.approximate);
    let tokyo = (1_950..4_000).filter(|i| i % 3 == 2).count() as u64;
    let count = |g: &cellpath_search::FacetGroup, v: &str| {
        g.values.iter().find(|c| c.value == v).map(|c| c.count)
    };
    assert_eq!(count(&city, "Tokyo"), Some(tokyo));
}
