//! The audit log cannot be truncated or rewritten unseen (issue 10): with write access to
//! the database file, deleting the last entries, or rewriting an entry and re-hashing the
//! chain, passed `audit verify`, and `restore` took an older copy. Signed checkpoints of the
//! chain's head, kept outside the database, catch both.

use crate::common::{cellpath, text};
use std::path::Path;

/// Runs the demo server long enough for a few checkpoints, with some audited reads by the
/// demo patient (whose password the first start prints); returns that password.
fn run_server(data: &Path, password: Option<String>) -> String {
    let server = crate::common::start_with(data, None, true, &["--checkpoint-secs", "1"]);
    let password = password
        .or_else(|| server.password_of("patient@"))
        .expect("demo patient");
    let (cookie, _) = crate::common::sign_in(&server.addr, "patient@demo.cellpath", &password);
    for _ in 0..10 {
        let r = crate::common::http(
            &server.addr,
            "GET",
            "/api/v1/cases/c-demo-1",
            &[("Cookie", &cookie)],
            b"",
        );
        assert_eq!(r.status, 200, "{}", r.head);
    }
    std::thread::sleep(std::time::Duration::from_millis(2500));
    password
}

/// A consistent copy of the data folder's database (`cellpath backup`), with its
/// checkpoints and key, to tamper with.
fn copy_of(data: &Path, to: &Path) {
    let o = cellpath(&[
        "backup",
        "--data-dir",
        &data.to_string_lossy(),
        "--to",
        &to.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for f in ["audit-checkpoints.jsonl", "audit-signing.key"] {
        std::fs::copy(data.join(f), to.join(f)).expect("copy");
    }
}

async fn tamper(db: &Path, sql: &[&'static str]) {
    let store = cellpath_store::Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    for s in sql {
        store.execute_raw(s).await.expect("tamper");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn truncation_rewriting_and_old_restores_are_caught() {
    let root = std::env::temp_dir().join(format!("cellpath-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    let d = data.to_string_lossy().into_owned();
    let password = run_server(&data, None);
    let o = cellpath(&["audit", "verify", "--data-dir", &d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("signed checkpoints"), "{}", text(&o));
    let lines = std::fs::read_to_string(data.join("audit-checkpoints.jsonl")).expect("log");
    assert!(lines.lines().count() >= 2, "{lines}");

    // An older copy, then more activity and checkpoints.
    let backup = root.join("backup");
    let o = cellpath(&[
        "backup",
        "--data-dir",
        &d,
        "--to",
        &backup.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    run_server(&data, Some(password));
    let o = cellpath(&[
        "restore",
        "--from",
        &backup.to_string_lossy(),
        "--data-dir",
        &d,
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(2), "an older copy: {}", text(&o));
    assert!(text(&o).contains("--allow-older"), "{}", text(&o));

    // Truncation: the last entries deleted (the triggers dropped first, as an attacker with
    // the file would), and the chain still links.
    let copy = root.join("truncated");
    copy_of(&data, &copy);
    tamper(
        &copy.join("cellpath.db"),
        &[
            "DROP TRIGGER audit_no_delete",
            "DELETE FROM audit WHERE seq > (SELECT MAX(seq) - 20 FROM audit)",
        ],
    )
    .await;
    let c = copy.to_string_lossy().into_owned();
    let o = cellpath(&["audit", "verify", "--data-dir", &c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("truncated"), "{}", text(&o));

    // Rewriting: one entry changed and every later hash recomputed, so the chain verifies.
    let copy = root.join("rewritten");
    copy_of(&data, &copy);
    let db = copy.join("cellpath.db");
    let store = cellpath_store::Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    store
        .execute_raw("DROP TRIGGER audit_no_update")
        .await
        .expect("drop");
    let entries = store.audit_entries(None).await.expect("entries");
    let from = entries.len() / 3;
    let mut prev = entries[from - 1].hash.clone();
    for e in &entries[from..] {
        let action = if e.seq == entries[from].seq {
            "case.nothing"
        } else {
            e.action.as_str()
        };
        let hash = cellpath_store::audit_hash(
            &prev,
            e.seq,
            &e.at,
            &e.actor,
            action,
            e.case_id.as_deref(),
            &e.request_id,
        );
        let sql: &'static str = Box::leak(
            format!(
                "UPDATE audit SET action = '{action}', prev_hash = '{prev}', hash = '{hash}' WHERE seq = {}",
                e.seq
            )
            .into_boxed_str(),
        );
        store.execute_raw(sql).await.expect("rewrite");
        prev = hash;
    }
    store.close().await;
    let c = copy.to_string_lossy().into_owned();
    let o = cellpath(&["audit", "verify", "--data-dir", &c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("audit chain verified"),
        "the chain alone is fooled: {out}"
    );
    assert!(out.contains("rewritten"), "{out}");

    // A forged checkpoint (another key) is refused too.
    let key = std::fs::read_to_string(copy.join("audit-signing.key")).expect("key");
    std::fs::write(
        copy.join("audit-signing.key"),
        key.replace(&key[..2], if &key[..2] == "00" { "11" } else { "00" }),
    )
    .expect("key");
    let o = cellpath(&["audit", "verify", "--data-dir", &c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&root);
}

/// SIGTERM — how systemd and containers stop a service — skipped the shutdown checkpoint,
/// so up to the interval's worth of audit entries could be removed unseen; and a busy
/// server waited for the interval however many entries came in (security round 2).
#[test]
fn sigterm_and_a_count_of_entries_each_write_a_checkpoint() {
    let dir = std::env::temp_dir().join(format!("cellpath-term-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let data = dir.as_path();
    let lines = || {
        std::fs::read_to_string(data.join("audit-checkpoints.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    // No checkpoint on time within this test: only the start, the count and the stop.
    let mut server = crate::common::start_with(
        data,
        None,
        true,
        &["--checkpoint-secs", "3600", "--checkpoint-entries", "5"],
    );
    let at_start = lines();
    assert!(at_start >= 1, "a checkpoint at start");
    let password = server.password_of("patient@").expect("demo patient");
    let (cookie, _) = crate::common::sign_in(&server.addr, "patient@demo.cellpath", &password);
    let read = |n: usize| {
        for _ in 0..n {
            let r = crate::common::http(
                &server.addr,
                "GET",
                "/api/v1/cases/c-demo-1",
                &[("Cookie", &cookie)],
                b"",
            );
            assert_eq!(r.status, 200, "{}", r.head);
        }
    };
    read(10);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let after_count = lines();
    assert!(
        after_count > at_start,
        "entries past the count wrote a checkpoint"
    );
    read(2);
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = server.child.wait().expect("stops");
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
    assert!(
        lines() > after_count,
        "SIGTERM wrote the shutdown checkpoint"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
