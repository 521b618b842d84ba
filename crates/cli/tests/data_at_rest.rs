//! Data at rest (issue 10): the database and its WAL, the documents and the demo key are the
//! owner's alone (0600 in a 0700 folder); the demo accounts work only while the server runs
//! `--demo`; no document key is shipped with the code.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn files_are_private_and_demo_accounts_need_demo_mode() {
    let data = std::env::temp_dir().join(format!("cellpath-at-rest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = common::start(&data, None);
    let (email, password) = server
        .passwords
        .iter()
        .find(|(e, _)| e.starts_with("patient@"))
        .cloned()
        .expect("demo patient");
    let (cookie, _) = common::sign_in(&server.addr, &email, &password);
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("cellpath.db")), 0o600, "the database");
    let wal = data.join("cellpath.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "the WAL");
    }
    drop(server);

    // Without --demo, the demo accounts cannot sign in, and their sessions end.
    let server = common::start_with(&data, None, false, &[]);
    let body = format!("{{\"email\":\"{email}\",\"password\":\"{password}\"}}");
    let r = common::http(
        &server.addr,
        "POST",
        "/api/v1/sessions",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.head);
    let r = common::http(
        &server.addr,
        "GET",
        "/api/v1/me",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(r.status, 401, "{}", r.head);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn no_document_key_is_shipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tracked = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(&root)
        .output()
        .expect("git");
    let files = String::from_utf8_lossy(&tracked.stdout);
    assert!(
        !files.lines().any(|f| f.ends_with(".key")),
        "a key file is tracked: {files}"
    );
}
