//! Security round 2 on the pages (issue 28), each with the reproduction that worked before.

use super::*;

/// An invalid record form for any case id answered with the form's error page — listing
/// that case's documents — before any access check. Every form of a case now answers a
/// visitor who may not see the case "not found", whatever the body, and shows nothing of it.
#[tokio::test]
async fn a_bad_form_body_for_a_case_one_may_not_see_shows_nothing_of_it() {
    let app = app().await;
    let (_, _, case) = app.case(Access::Act).await;
    let stranger = app.user("s2@example.org", Role::Patient).await;
    let bad = [
        ("version", "1"),
        ("ecog.0.score", "banana"),
        ("therapies.0.start", "not a date"),
        ("_action", "save"),
        ("do", "nonsense"),
    ];
    for (method, path) in cellpath_pages::page_routes() {
        if method != "POST" || !path.contains("{id}") {
            continue;
        }
        let uri = fill(path, &case);
        let r = app.post(&uri, &stranger, &bad).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {uri}: {}", r.status);
        assert!(!r.text.contains("gastric"), "POST {uri} shows the case");
        assert!(
            !r.text.contains("ecog.0.score"),
            "POST {uri} shows the form"
        );
    }
}
