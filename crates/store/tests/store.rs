//! The store on a real database (SQLite here; PostgreSQL when CELLPATH_TEST_POSTGRES is
//! set): users and lock-out, sessions, optimistic concurrency without lost updates, and the
//! append-only, hash-chained audit log.

use std::sync::Arc;

use cellpath_store::testing::direct;
use cellpath_store::{Store, StoreError};

#[tokio::test]
async fn migrations_are_idempotent_and_users_are_unique() {
    let db = cellpath_store::testing::fresh().await;
    db.store.migrate().await.expect("second migrate is a no-op");
    direct(&db.store)
        .create_user("u1", "a@example.org", "hash", "patient", None)
        .await
        .expect("user");
    let dup = direct(&db.store)
        .create_user("u2", "a@example.org", "hash", "patient", None)
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate)));
    let u = db
        .store
        .user_by_email("a@example.org")
        .await
        .expect("query")
        .expect("found");
    assert_eq!(u.role, "patient");
    for _ in 0..3 {
        direct(&db.store)
            .login_failed("u1", 3, "2999-01-01T00:00:00Z")
            .await
            .expect("fail");
    }
    let u = db.store.user("u1").await.expect("q").expect("u");
    assert_eq!(u.failed_logins, 3);
    assert_eq!(u.locked_until.as_deref(), Some("2999-01-01T00:00:00Z"));
    direct(&db.store).login_succeeded("u1").await.expect("ok");
    assert_eq!(
        db.store
            .user("u1")
            .await
            .expect("q")
            .expect("u")
            .locked_until,
        None
    );
}

#[tokio::test]
async fn sessions_expire() {
    let db = cellpath_store::testing::fresh().await;
    direct(&db.store)
        .create_user("u1", "a@example.org", "h", "patient", None)
        .await
        .expect("user");
    direct(&db.store)
        .create_session("t1", "u1", "csrf", "2026-01-01T00:00:10Z")
        .await
        .expect("s");
    assert!(
        db.store
            .session("t1", "2026-01-01T00:00:09Z")
            .await
            .expect("q")
            .is_some()
    );
    assert!(
        db.store
            .session("t1", "2026-01-01T00:00:10Z")
            .await
            .expect("q")
            .is_none()
    );
    direct(&db.store).delete_session("t1").await.expect("d");
    assert!(
        db.store
            .session("t1", "2025-01-01T00:00:00Z")
            .await
            .expect("q")
            .is_none()
    );
}

#[tokio::test]
async fn concurrent_updates_lose_nothing() {
    let db = cellpath_store::testing::fresh().await;
    let store = Arc::new(db.store);
    direct(&store)
        .create_user("u1", "a@example.org", "h", "patient", None)
        .await
        .expect("user");
    direct(&store)
        .create_case("c1", "u1", "u1", "inquiry", "{}")
        .await
        .expect("case");
    let stale = direct(&store)
        .update_record("c1", Some(1), "{\"n\":0}")
        .await
        .expect("first write");
    assert_eq!(stale.version, 2);
    assert!(matches!(
        direct(&store).update_record("c1", Some(1), "{}").await,
        Err(StoreError::Conflict { current: 2 })
    ));

    // 16 clients, each retrying on conflict until its write lands once.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            loop {
                let current = s.case("c1").await.expect("read").expect("case");
                match direct(&s)
                    .update_record("c1", Some(current.version), &format!("{{\"n\":{i}}}"))
                    .await
                {
                    Ok(_) => return,
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let final_case = store.case("c1").await.expect("read").expect("case");
    assert_eq!(
        final_case.version,
        2 + 16,
        "every acknowledged write counted exactly once"
    );
}

#[tokio::test]
async fn audit_is_chained_and_append_only() {
    let db = cellpath_store::testing::fresh().await;
    let store = Arc::new(db.store);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                s.audit(
                    &format!("user-{w}"),
                    "case.read",
                    Some("c1"),
                    &format!("req-{w}-{i}"),
                )
                .await
                .expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(store.verify_audit().await.expect("chain verifies"), 80);
    assert!(
        store
            .execute_raw("UPDATE audit SET actor = 'someone else' WHERE seq = 3")
            .await
            .is_err()
    );
    assert!(
        store
            .execute_raw("DELETE FROM audit WHERE seq = 80")
            .await
            .is_err()
    );
    assert_eq!(store.verify_audit().await.expect("still verifies"), 80);
    assert_eq!(
        store.audit_entries(Some("c1")).await.expect("list").len(),
        80
    );
}

#[tokio::test]
async fn tampering_is_detected_when_triggers_are_bypassed() {
    let db = cellpath_store::testing::fresh().await;
    for i in 0..3 {
        db.store
            .audit("u1", "case.read", None, &format!("r{i}"))
            .await
            .expect("append");
    }
    // Someone with direct database access drops the trigger and edits a row.
    let (drop_trigger, edit): (&'static str, &'static str) = match db.store.backend() {
        cellpath_store::Backend::Sqlite => (
            "DROP TRIGGER audit_no_update",
            "UPDATE audit SET actor = 'mallory' WHERE seq = 2",
        ),
        cellpath_store::Backend::Postgres => (
            "DROP TRIGGER audit_no_update ON audit",
            "UPDATE audit SET actor = 'mallory' WHERE seq = 2",
        ),
    };
    db.store
        .execute_raw(drop_trigger)
        .await
        .expect("drop trigger");
    db.store.execute_raw(edit).await.expect("edit");
    match db.store.verify_audit().await {
        Err(StoreError::AuditBroken { seq, .. }) => assert_eq!(seq, 2),
        other => panic!("tampering not detected: {other:?}"),
    }
    let _ = Store::connect(&db.url).await.expect("reconnect");
}

#[tokio::test]
async fn online_backup_is_consistent_and_restores() {
    let db = cellpath_store::testing::fresh().await;
    if db.store.backend() != cellpath_store::Backend::Sqlite {
        let to = std::env::temp_dir().join("unused.db");
        assert!(matches!(
            db.store.backup_sqlite(&to).await,
            Err(StoreError::Unsupported(_))
        ));
        return;
    }
    let store = Arc::new(db.store);
    direct(&store)
        .create_user("u1", "a@example.org", "h", "patient", None)
        .await
        .expect("user");
    direct(&store)
        .create_case("c1", "u1", "u1", "inquiry", "{}")
        .await
        .expect("case");
    // Writes go on while the backup is taken.
    let writer = {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..200 {
                s.audit("u1", "case.read", Some("c1"), &format!("r{i}"))
                    .await
                    .expect("audit");
            }
        })
    };
    let dir = std::env::temp_dir().join(format!("cellpath-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("backup.db");
    let _ = std::fs::remove_file(&file);
    store.backup_sqlite(&file).await.expect("backup");
    writer.await.expect("writer");
    let restored = Store::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("open the copy");
    restored
        .migrate()
        .await
        .expect("migrations already applied");
    let n = restored
        .verify_audit()
        .await
        .expect("the copy's chain verifies");
    assert!(n <= 200);
    assert!(restored.case("c1").await.expect("q").is_some());
    restored.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The SQLite and PostgreSQL migrations make the same tables, columns, types and
/// nullability. Runs both backends in one test when a PostgreSQL server is named.
#[tokio::test]
async fn sqlite_and_postgres_schemas_agree() {
    let dir = std::env::temp_dir().join(format!("cellpath-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = Store::connect(&format!("sqlite://{}", dir.join("s.db").display()))
        .await
        .expect("sqlite");
    sqlite.migrate().await.expect("migrate");
    let lite = sqlite.schema().await.expect("schema");
    assert!(
        lite.iter()
            .any(|c| c == "record_versions.record text not null"),
        "{lite:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(base) = std::env::var("CELLPATH_TEST_POSTGRES") else {
        // The SQLite half ran; the PostgreSQL half runs where CI names a server.
        return;
    };
    if base.is_empty() {
        return;
    }
    let db = cellpath_store::testing::fresh().await;
    assert_eq!(db.store.backend(), cellpath_store::Backend::Postgres);
    let pg = db.store.schema().await.expect("schema");
    let only_lite: Vec<_> = lite.iter().filter(|c| !pg.contains(c)).collect();
    let only_pg: Vec<_> = pg.iter().filter(|c| !lite.contains(c)).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "SQLite only: {only_lite:#?}\nPostgreSQL only: {only_pg:#?}"
    );
}

/// Many changes at once, some failing half-way: every committed change is kept with its
/// audit entry, no failed change leaves anything, nobody waits forever. (On SQLite the
/// changes share group commits; a failure rolls back only its own savepoint.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_commit_together_and_fail_alone() {
    let db = cellpath_store::testing::fresh().await;
    let store = Arc::new(db.store);
    let before = store.audit_entries(None).await.expect("audit").len();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut tx = s
                .begin(cellpath_store::NewAudit::new(
                    "test",
                    format!("user.create.{i}"),
                    None,
                    "t",
                ))
                .await
                .expect("begin");
            tx.create_user(
                &format!("u{i}"),
                &format!("{i}@example.org"),
                "h",
                "patient",
                None,
            )
            .await
            .expect("first write");
            if i % 5 == 0 {
                // A later write of the same change fails: the change is dropped.
                let dup = tx
                    .create_user(
                        &format!("dup{i}"),
                        &format!("{i}@example.org"),
                        "h",
                        "patient",
                        None,
                    )
                    .await;
                assert!(matches!(dup, Err(StoreError::Duplicate)));
                return false;
            }
            tx.commit().await.expect("commit");
            true
        }));
    }
    let mut kept = 0;
    for t in tasks {
        let done = tokio::time::timeout(std::time::Duration::from_secs(30), t)
            .await
            .expect("no change waits forever")
            .expect("task");
        kept += usize::from(done);
    }
    assert_eq!(kept, 32);
    for i in 0..40 {
        let user = store.user(&format!("u{i}")).await.expect("query");
        assert_eq!(user.is_some(), i % 5 != 0, "user {i}");
    }
    let entries = store.audit_entries(None).await.expect("audit");
    assert_eq!(entries.len(), before + kept);
    for e in &entries {
        if let Some(i) = e.action.strip_prefix("user.create.") {
            let i: usize = i.parse().expect("number");
            assert_ne!(i % 5, 0, "a failed change left its audit entry");
        }
    }
    store.verify_audit().await.expect("the chain verifies");
}

/// Callers that go away half-way (a dropped request) leave the writer consistent: the
/// changes whose commit had begun are kept or not as a whole, later changes commit, and
/// the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_commits_leave_the_writer_consistent() {
    let db = cellpath_store::testing::fresh().await;
    let store = Arc::new(db.store);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut tx = s
                .begin(cellpath_store::NewAudit::new(
                    "test",
                    "user.create",
                    None,
                    "t",
                ))
                .await
                .expect("begin");
            tx.create_user(
                &format!("u{i}"),
                &format!("{i}@example.org"),
                "h",
                "patient",
                None,
            )
            .await
            .expect("write");
            if i % 3 == 0 {
                // The caller goes away while its commit is under way.
                tokio::select! {
                    biased;
                    _ = tx.commit() => {}
                    () = tokio::task::yield_now() => {}
                }
            } else if i % 3 == 1 {
                drop(tx);
            } else {
                tx.commit().await.expect("commit");
            }
        }));
    }
    for t in tasks {
        tokio::time::timeout(std::time::Duration::from_secs(30), t)
            .await
            .expect("no change waits forever")
            .expect("task");
    }
    // Later changes still commit.
    let mut tx = store
        .begin(cellpath_store::NewAudit::new("test", "after", None, "t"))
        .await
        .expect("begin");
    tx.create_user("after", "after@example.org", "h", "patient", None)
        .await
        .expect("write");
    tx.commit().await.expect("commit after abandoned ones");
    for i in 0..60 {
        let user = store.user(&format!("u{i}")).await.expect("query");
        match i % 3 {
            1 => assert!(user.is_none(), "a dropped change left user {i}"),
            2 => assert!(user.is_some(), "a committed change lost user {i}"),
            _ => {}
        }
    }
    let users = (0..60).filter(|i| i % 3 != 1).count();
    let entries = store.audit_entries(None).await.expect("audit");
    assert!(entries.len() <= users + 1 && entries.iter().any(|e| e.action == "after"));
    store.verify_audit().await.expect("the chain verifies");
}

#[tokio::test]
async fn a_specialist_s_own_assignments_say_where_the_record_and_the_opinion_stand() {
    let db = cellpath_store::testing::fresh().await;
    let store = Arc::new(db.store);
    let d = direct(&store);
    d.create_user("p", "p@example.org", "h", "patient", None)
        .await
        .expect("user");
    d.create_user("s", "s@example.org", "h", "specialist", Some("pathology"))
        .await
        .expect("user");
    for c in ["c1", "c2"] {
        d.create_case(c, "p", "p", "inquiry", "{}")
            .await
            .expect("case");
    }
    let mut tx = store
        .begin(cellpath_store::NewAudit::new(
            "s",
            "mdt.assign",
            None,
            "test",
        ))
        .await
        .expect("tx");
    tx.mdt_assign("c1", "s", "2026-12-24", 1)
        .await
        .expect("assign");
    tx.mdt_assign("c2", "s", "2026-12-01", 1)
        .await
        .expect("assign");
    tx.commit().await.expect("commit");
    let mine = store.my_assignments("s").await.expect("list");
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].case_id, "c2", "earliest due first");
    assert_eq!(mine[0].opinion_version, None);
    assert_eq!(mine[0].drafts, 0);
    assert_eq!(mine[0].current_version, 1);
    assert!(store.my_assignments("p").await.expect("none").is_empty());
}

/// A study's versions are kept: the next version stores beside the first, a version
/// number twice is refused, and no version is changed or deleted afterwards.
#[tokio::test]
async fn study_versions_are_append_only() {
    let db = cellpath_store::testing::fresh().await;
    let store = db.store;
    let v = |version, status| cellpath_store::NewStudyVersion {
        nct_id: "NCT01234567",
        version,
        status: Some(status),
        last_update: Some("2026-11-20"),
        study: "{}",
        changes: "[]",
        source: "test.json",
    };
    for (version, status) in [(1, "recruiting"), (2, "completed")] {
        let mut tx = store
            .begin(cellpath_store::NewAudit::new(
                "system",
                "registry.import",
                None,
                "t",
            ))
            .await
            .expect("begin");
        tx.put_study_version(&v(version, status))
            .await
            .expect("put");
        tx.commit().await.expect("commit");
    }
    let mut tx = store
        .begin(cellpath_store::NewAudit::new(
            "system",
            "registry.import",
            None,
            "t",
        ))
        .await
        .expect("begin");
    assert!(
        tx.put_study_version(&v(2, "withdrawn")).await.is_err(),
        "version 2 twice"
    );
    drop(tx);
    let current = store
        .registry_study("NCT01234567")
        .await
        .expect("read")
        .expect("held");
    assert_eq!(
        (current.version, current.status.as_deref()),
        (2, Some("completed"))
    );
    assert_eq!(
        store
            .registry_versions("NCT01234567")
            .await
            .expect("read")
            .len(),
        2
    );
    for sql in [
        "UPDATE registry_versions SET study = '{\"x\":1}' WHERE version = 1",
        "DELETE FROM registry_versions WHERE version = 1",
    ] {
        assert!(store.execute_raw(sql).await.is_err(), "{sql}");
    }
}

/// The registry read in the order studies were stored, page after page from where the last
/// page stopped, and only what was stored since a time.
#[tokio::test]
async fn registry_studies_are_read_in_stored_order_from_where_a_reader_stopped() {
    let db = cellpath_store::testing::fresh().await;
    let store = db.store;
    for id in ["NCT00000003", "NCT00000001", "NCT00000002"] {
        let mut tx = store
            .begin(cellpath_store::NewAudit::new(
                "system",
                "registry.import",
                None,
                "t",
            ))
            .await
            .expect("begin");
        tx.put_study_version(&cellpath_store::NewStudyVersion {
            nct_id: id,
            version: 1,
            status: None,
            last_update: None,
            study: "{}",
            changes: "[]",
            source: "test.json",
        })
        .await
        .expect("put");
        tx.commit().await.expect("commit");
    }
    let first = store
        .registry_studies_since("", None, 2)
        .await
        .expect("read");
    assert_eq!(first.len(), 2);
    let last = first.last().expect("two");
    let rest = store
        .registry_studies_since("", Some((&last.updated_at, &last.nct_id)), 2)
        .await
        .expect("read");
    assert_eq!(rest.len(), 1);
    let mut all: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|r| r.nct_id.clone())
        .collect();
    let keys: Vec<(String, String)> = first
        .iter()
        .chain(&rest)
        .map(|r| (r.updated_at.clone(), r.nct_id.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "in stored order");
    all.sort();
    assert_eq!(all, ["NCT00000001", "NCT00000002", "NCT00000003"]);
    assert!(
        store
            .registry_studies_since("9999", None, 10)
            .await
            .expect("read")
            .is_empty(),
        "nothing stored since then"
    );
}
