//! Data at rest (issue 10): the database and its WAL, the documents and the demo key are the
//! owner's alone (0600 in a 0700 folder); the demo accounts work only while the server runs
//! `--demo`; no document key is shipped with the code.

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
    let server = crate::common::start(&data, None);
    let email = "patient@demo.cellpath";
    let password = server.password_of("patient@").expect("demo patient");
    let (cookie, _) = crate::common::sign_in(&server.addr, email, &password);
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("cellpath.db")), 0o600, "the database");
    let wal = data.join("cellpath.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "the WAL");
    }
    drop(server);

    // Without --demo, the demo accounts cannot sign in, and their sessions end.
    let server = crate::common::start_with(&data, None, false, &[]);
    let body = format!("{{\"email\":\"{email}\",\"password\":\"{password}\"}}");
    let r = crate::common::http(
        &server.addr,
        "POST",
        "/api/v1/sessions",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.head);
    let r = crate::common::http(
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

/// `docs/operations.md` says how to rotate the document key: `cellpath documents rekey`.
#[test]
fn documents_rekey_under_a_new_key() {
    let data = std::env::temp_dir().join(format!("cellpath-rekey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = crate::common::start(&data, None);
    let email = "patient@demo.cellpath";
    let password = server.password_of("patient@").expect("demo patient");
    let (cookie, csrf) = crate::common::sign_in(&server.addr, email, &password);
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    let r = crate::common::http(
        &server.addr,
        "POST",
        "/api/v1/cases/c-demo-1/documents?name=a.pdf",
        &[
            ("Cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("Content-Type", "application/pdf"),
        ],
        pdf,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    drop(server);
    let old = data.join("old.key");
    let new = data.join("new.key");
    std::fs::write(&old, crate::common::KEY).expect("old");
    let new_key = "f".repeat(64);
    std::fs::write(&new, &new_key).expect("new");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(["documents", "rekey", "--data-dir"])
        .arg(&data)
        .arg("--old-key-file")
        .arg(&old)
        .arg("--new-key-file")
        .arg(&new)
        .env_remove("CELLPATH_DATABASE_URL")
        .output()
        .expect("rekey");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("1 documents re-encrypted"));
    let file = std::fs::read_dir(data.join("documents"))
        .expect("documents")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "enc"))
        .expect("a document");
    let stored = std::fs::read(&file).expect("read");
    let key = cellpath_web::parse_key(&new_key).expect("key");
    let plain = cellpath_web::documents::open_stored(
        &cellpath_web::documents::cipher_for(&key).expect("cipher"),
        &stored,
    )
    .expect("opens with the new key");
    assert_eq!(plain, pdf);
    let old_key = cellpath_web::parse_key(crate::common::KEY).expect("key");
    assert!(
        cellpath_web::documents::open_stored(
            &cellpath_web::documents::cipher_for(&old_key).expect("cipher"),
            &stored
        )
        .is_err(),
        "the old key no longer opens it"
    );
    let _ = std::fs::remove_dir_all(&data);
}
