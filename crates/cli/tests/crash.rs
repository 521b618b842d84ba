//! Crash safety: kill -9 the real server during a burst of writes, restart it on the same
//! data folder, and check that every acknowledged write is there and the audit chain
//! verifies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

struct Server {
    child: Child,
    addr: String,
    passwords: Vec<(String, String)>,
}

// The child is handed to the caller, which kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start(data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("CELLPATH_DATABASE_URL")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining after the caller stops listening, so the server never blocks (or
        // fails) writing its log.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut passwords = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server output");
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() == 4 && words[2] == "password" {
            passwords.push((words[0].to_owned(), words[3].to_owned()));
        }
        if let Some(rest) = line.strip_prefix("cellpath serving on http://") {
            let addr = rest.split_whitespace().next().expect("addr").to_owned();
            return Server {
                child,
                addr,
                passwords,
            };
        }
    }
}

/// One HTTP/1.1 request on a fresh connection; returns (status, headers+body text).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, out))
}

fn sign_in(addr: &str, email: &str, password: &str) -> (String, String) {
    let body = format!("{{\"email\":\"{email}\",\"password\":\"{password}\"}}");
    let (status, text) = http(addr, "POST", "/api/v1/sessions", &[], &body).expect("sign in");
    assert_eq!(status, 200, "{text}");
    let cookie = text
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let csrf = text
        .split("\"csrf_token\":\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("csrf")
        .to_owned();
    (cookie, csrf)
}

#[test]
fn kill_9_during_writes_loses_no_acknowledged_write() {
    let data = std::env::temp_dir().join(format!("cellpath-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = start(&data);
    let pw = server
        .passwords
        .iter()
        .find(|(e, _)| e.starts_with("coordinator@"))
        .map(|(_, p)| p.clone())
        .expect("coordinator password");
    let (cookie, csrf) = sign_in(&server.addr, "coordinator@demo.cellpath", &pw);
    let record = serde_json::to_string(
        &cellpath_domain::native::from_toml(include_str!(
            "../../../examples/cases/gastric-cldn18-eligible.toml"
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
                ];
                match http(
                    &addr,
                    "PUT",
                    "/api/v1/cases/c-demo-1/record",
                    &headers,
                    &record,
                ) {
                    Some((200, _)) => {
                        ack.fetch_add(1, Ordering::SeqCst);
                    }
                    Some((status, text)) => panic!("unexpected {status}: {text}"),
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
    let mut server = start(&data);
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
    let (status, text) = http(
        &server.addr,
        "GET",
        "/api/v1/cases/c-demo-1",
        &[("Cookie", &cookie)],
        "",
    )
    .expect("read");
    assert_eq!(status, 200);
    let version: u64 = text
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
