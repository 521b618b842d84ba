//! Stateless replicas: two `cellpath serve` processes on one database (PostgreSQL when
//! `CELLPATH_TEST_POSTGRES` names a server, as CI does; otherwise one SQLite file) write
//! the same case at once with If-Match. No update is lost, the audit chain verifies, and a
//! document uploaded through one replica downloads through the other.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Server {
    child: Child,
    addr: String,
    passwords: Vec<(String, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The child is handed to `Server`, whose Drop kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start(url: &str, data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args([
            "serve",
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            url,
        ])
        .args(["--document-key", KEY, "--data-dir"])
        .arg(data)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut passwords = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
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

/// One HTTP/1.1 request; returns (status, head, body bytes).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut rest = out[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest = dechunk(&rest);
    }
    (status, head, rest)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

fn sign_in(addr: &str, email: &str, password: &str) -> (String, String) {
    let body = format!("{{\"email\":\"{email}\",\"password\":\"{password}\"}}");
    let (status, head, body) = http(
        addr,
        "POST",
        "/api/v1/sessions",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    (cookie, v["csrf_token"].as_str().expect("csrf").to_owned())
}

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
    // SQLite the database file is the shared state, so they share the folder.
    let (dir_a, dir_b) = if postgres {
        (base.join("a"), base.join("b"))
    } else {
        (base.join("shared"), base.join("shared"))
    };
    let a = start(&db.url, &dir_a);
    let b = start(&db.url, &dir_b);
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
            "../../../examples/cases/gastric-cldn18-eligible.toml"
        ))
        .expect("example"),
    )
    .expect("json");
    let (_, head, _) = {
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
                let (_, head, _) = http(
                    &addr,
                    "GET",
                    "/api/v1/cases/c-demo-1",
                    &[("Cookie", &cookie)],
                    b"",
                );
                let tag = etag(&head);
                let (status, head, _) = http(
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
    let (_, head, _) = http(
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
    let (status, head, body) = http(
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
    let (status, head, bytes) = http(
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
