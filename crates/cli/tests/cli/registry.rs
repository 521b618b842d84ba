//! `cellpath registry import` on real ClinicalTrials.gov records (the registry crate's
//! fixtures): three studies new; the same again unchanged; a changed status and a broken
//! file beside it — the change stored as version 2 with what changed, the broken record
//! named with its pointer, the exit non-zero, and the rest imported.

use crate::common::{cellpath, text};
use std::path::Path;

#[tokio::test(flavor = "multi_thread")]
async fn studies_import_with_their_versions_and_bad_records_are_named() {
    let root = std::env::temp_dir().join(format!("cellpath-registry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    let d = data.to_string_lossy().into_owned();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../registry/tests/data");
    let f = fixtures.to_string_lossy().into_owned();

    let o = cellpath(&["registry", "import", &f, "--data-dir", &d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            "3 files: 3 studies new, 0 changed (a new version each), 0 unchanged; 0 programmes flagged for review, 0 cases re-screened; 0 records refused"
        ),
        "{}",
        text(&o)
    );
    let o = cellpath(&["registry", "import", &f, "--data-dir", &d]);
    assert!(
        text(&o).contains("0 studies new, 0 changed (a new version each), 3 unchanged"),
        "{}",
        text(&o)
    );

    // The sponsor closes recruitment; a broken export lies beside it.
    let changed = root.join("changed");
    std::fs::create_dir_all(&changed).expect("mkdir");
    let study = std::fs::read_to_string(fixtures.join("NCT06008288.json")).expect("fixture");
    std::fs::write(
        changed.join("NCT06008288.json"),
        study.replacen(
            "\"overallStatus\":\"RECRUITING\"",
            "\"overallStatus\":\"COMPLETED\"",
            1,
        ),
    )
    .expect("write");
    std::fs::write(changed.join("broken.json"), "[{\"protocolSection\": {}}]").expect("write");
    let c = changed.to_string_lossy().into_owned();
    let o = cellpath(&["registry", "import", &c, "--data-dir", &d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(
            "broken.json at /0/protocolSection/identificationModule/nctId: no NCT number"
        ),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("2 files: 0 studies new, 1 changed"),
        "{}",
        text(&o)
    );

    let store =
        cellpath_store::Store::connect(&format!("sqlite://{}", data.join("cellpath.db").display()))
            .await
            .expect("open");
    let current = store
        .registry_study("NCT06008288")
        .await
        .expect("read")
        .expect("held");
    assert_eq!(
        (current.version, current.status.as_deref()),
        (2, Some("completed"))
    );
    let versions = store.registry_versions("NCT06008288").await.expect("read");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].changes, "[]");
    assert_eq!(
        versions[1].changes,
        r#"[{"what":"status","from":"recruiting","to":"completed"}]"#
    );
    assert!(versions[1].source.ends_with("NCT06008288.json"));
    assert_eq!(store.registry_count().await.expect("count"), 3);
    store.close().await;

    // A draft programme from a study held: every criterion to confirm, the file a valid
    // catalogue entry; a study not held is named.
    let drafts = root.join("drafts");
    std::fs::create_dir_all(&drafts).expect("mkdir");
    let file = drafts.join("nct06008288-draft.toml");
    let o = cellpath(&[
        "registry",
        "draft",
        "nct06008288",
        "--out",
        &file.to_string_lossy(),
        "--data-dir",
        &d,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let draft = std::fs::read_to_string(&file).expect("draft");
    assert!(draft.starts_with("# DRAFT made on "), "{draft}");
    assert!(draft.contains("registry_ids = [\"NCT06008288\"]"));
    // The record's three inclusion and five exclusion items; none plainly encodes a rule
    // (a 14-day window for QT-prolonging drugs is not an anticancer washout).
    assert!(draft.contains("id = \"inclusion-3\"") && !draft.contains("inclusion-4"));
    assert!(draft.contains("id = \"exclusion-5\"") && !draft.contains("exclusion-6"));
    assert!(!draft.contains("# Suggested"), "{draft}");
    assert!(!draft.contains("\nrule = "), "no rule is encoded: {draft}");
    assert_eq!(
        draft.matches("[[criteria]]").count(),
        draft.matches("\njudgement = true\n").count()
    );
    let o = cellpath(&["catalogue-check", &drafts.to_string_lossy()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cellpath(&["registry", "draft", "NCT99999999", "--data-dir", &d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("NCT99999999 is not held here"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&root);
}
