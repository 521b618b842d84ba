//! Stateless replicas: two `cellpath serve` processes on one database (PostgreSQL when
//! `CELLPATH_TEST_POSTGRES` names a server, as CI does; otherwise one SQLite file) write
//! the same case at once with If-Match. No update is lost, the audit chain verifies, and a
//! document uploaded through one replica downloads through the other.

use std::process::Command;

use crate::common::{Response, http, sign_in, start};

fn etag(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("etag")
        .trim()
        .to_owned()
}

#[test]
fn two_replicas_on_one_database_lose_no_update_and_share_documents() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(cellpath_store::testing::fresh());
    let postgres = db.url.starts_with("postgres");
    let base = std::env::temp_dir().join(format!("cellpath-replicas-{}", std::process::id()));
    // On PostgreSQL each replica has its own folder: nothing may depend on local disk. On
    // SQLite the database file is the common state, so they use one folder.
    let (dir_a, dir_b) = if postgres {
        (base.join("a"), base.join("b"))
    } else {
        (base.join("one"), base.join("one"))
    };
    let a = start(&dir_a, Some(&db.url));
    let b = start(&dir_b, Some(&db.url));
    assert!(b.passwords.is_empty(), "the demo is loaded once");
    let pw = |who: &str| {
        a.passwords
            .iter()
            .find(|(e, _)| e.starts_with(who))
            .map(|(_, p)| p.clone())
            .expect("password")
    };
    let coordinator = pw("coordinator@");
    let record = serde_json::to_string(
        &cellpath_domain::native::from_toml(include_str!(
            "../../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("example"),
    )
    .expect("json");
    let Response { head, .. } = {
        let (cookie, _) = sign_in(&a.addr, "coordinator@demo.cellpath", &coordinator);
        http(
            &a.addr,
            "GET",
            "/api/v1/cases/c-demo-1",
            &[("Cookie", &cookie)],
            b"",
        )
    };
    let start_version: u64 = etag(&head)
        .trim_matches('"')
        .trim_start_matches('v')
        .parse()
        .expect("version");

    // Two writers on each replica, each landing 10 writes with If-Match and retrying on 409.
    const EACH: u64 = 10;
    let mut writers = Vec::new();
    for addr in [&a.addr, &a.addr, &b.addr, &b.addr] {
        let (addr, record, coordinator) = (addr.clone(), record.clone(), coordinator.clone());
        writers.push(std::thread::spawn(move || {
            let (cookie, csrf) = sign_in(&addr, "coordinator@demo.cellpath", &coordinator);
            let mut landed = 0;
            let mut conflicts = 0;
            while landed < EACH {
                let Response { head, .. } = http(
                    &addr,
                    "GET",
                    "/api/v1/cases/c-demo-1",
                    &[("Cookie", &cookie)],
                    b"",
                );
                let tag = etag(&head);
                let Response { status, head, .. } = http(
                    &addr,
                    "PUT",
                    "/api/v1/cases/c-demo-1/record",
                    &[
                        ("Cookie", &cookie),
                        ("x-csrf-token", &csrf),
                        ("If-Match", &tag),
                        ("Content-Type", "application/json"),
                    ],
                    record.as_bytes(),
                );
                match status {
                    200 => landed += 1,
                    409 => conflicts += 1,
                    other => panic!("unexpected {other}: {head}"),
                }
            }
            conflicts
        }));
    }
    let conflicts: u64 = writers.into_iter().map(|w| w.join().expect("writer")).sum();

    // Every acknowledged write is counted once, seen from either replica.
    let (cookie_b, csrf_b) = sign_in(&b.addr, "coordinator@demo.cellpath", &coordinator);
    let Response { head, .. } = http(
        &b.addr,
        "GET",
        "/api/v1/cases/c-demo-1",
        &[("Cookie", &cookie_b)],
        b"",
    );
    let end_version: u64 = etag(&head)
        .trim_matches('"')
        .trim_start_matches('v')
        .parse()
        .expect("version");
    assert_eq!(
        end_version,
        start_version + 4 * EACH,
        "lost or doubled updates ({conflicts} conflicts were retried)"
    );

    // A document uploaded through A downloads, byte for byte, through B.
    let (cookie_a, csrf_a) = sign_in(&a.addr, "coordinator@demo.cellpath", &coordinator);
    let pdf = b"%PDF-1.7\n% a pathology report\n".repeat(50);
    let Response { status, head, body } = http(
        &a.addr,
        "POST",
        "/api/v1/cases/c-demo-1/documents?name=report.pdf",
        &[
            ("Cookie", &cookie_a),
            ("x-csrf-token", &csrf_a),
            ("Content-Type", "application/pdf"),
        ],
        &pdf,
    );
    assert_eq!(status, 201, "{head}");
    let id = serde_json::from_slice::<serde_json::Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let Response {
        status,
        head,
        body: bytes,
    } = http(
        &b.addr,
        "GET",
        &format!("/api/v1/cases/c-demo-1/documents/{id}"),
        &[("Cookie", &cookie_b), ("x-csrf-token", &csrf_b)],
        b"",
    );
    assert_eq!(status, 200, "{head}");
    assert_eq!(bytes, pdf);
    if postgres {
        assert!(
            !dir_a.join("documents").join(format!("{id}.enc")).exists(),
            "on PostgreSQL the document lives in the database, not on one replica's disk"
        );
    }
    drop(a);
    drop(b);

    let output = Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(["audit", "verify", "--database-url", &db.url])
        .output()
        .expect("audit verify");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&base);
}
