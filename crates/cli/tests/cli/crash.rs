//! Crash safety: kill -9 the real server during a burst of writes, restart it on the same
//! data folder, and check that every acknowledged write is there and the audit chain
//! verifies.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::common::{Response, sign_in, start, try_http};

#[test]
fn kill_9_during_writes_loses_no_acknowledged_write() {
    let data = std::env::temp_dir().join(format!("cellpath-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = start(&data, None);
    let pw = server
        .passwords
        .iter()
        .find(|(e, _)| e.starts_with("coordinator@"))
        .map(|(_, p)| p.clone())
        .expect("coordinator password");
    let (cookie, csrf) = sign_in(&server.addr, "coordinator@demo.cellpath", &pw);
    let record = serde_json::to_string(
        &cellpath_domain::native::from_toml(include_str!(
            "../../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("example"),
    )
    .expect("json");

    let acknowledged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (addr, cookie, csrf, record) = (
            server.addr.clone(),
            cookie.clone(),
            csrf.clone(),
            record.clone(),
        );
        let (ack, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
        writers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let headers = [
                    ("Cookie", cookie.as_str()),
                    ("x-csrf-token", csrf.as_str()),
                    ("If-Match", "*"),
                    ("Content-Type", "application/json"),
                ];
                match try_http(
                    &addr,
                    "PUT",
                    "/api/v1/cases/c-demo-1/record",
                    &headers,
                    record.as_bytes(),
                ) {
                    Some(Response { status: 200, .. }) => {
                        ack.fetch_add(1, Ordering::SeqCst);
                    }
                    Some(r) => panic!("unexpected {}: {}", r.status, r.head),
                    None => break, // the server is gone
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    server.child.kill().expect("kill -9"); // SIGKILL on Unix
    server.child.wait().expect("reap");
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer");
    }
    let acked = acknowledged.load(Ordering::SeqCst);
    assert!(acked > 10, "the burst made only {acked} writes");

    // Restart on the same folder: every acknowledged write is there.
    let mut server = start(&data, None);
    let output = Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .expect("audit verify");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(server.passwords.is_empty(), "demo data is not loaded twice");
    // The demo passwords were printed at the first start only: reuse the coordinator's.
    let (cookie, _) = sign_in(&server.addr, "coordinator@demo.cellpath", &pw);
    let r = crate::common::http(
        &server.addr,
        "GET",
        "/api/v1/cases/c-demo-1",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(r.status, 200);
    let version: u64 = String::from_utf8_lossy(&r.body)
        .split("\"version\":")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse().ok())
        .expect("version");
    assert!(
        version > acked,
        "version {version} must count all {acked} acknowledged writes (it started at 1)"
    );
    server.child.kill().ok();
    server.child.wait().ok();
    let _ = std::fs::remove_dir_all(&data);
}
