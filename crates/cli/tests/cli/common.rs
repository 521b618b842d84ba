//! The real `cellpath serve` process and a bare HTTP/1.1 client, shared by the test binaries
//! that run the server as a user would (crash safety, replicas).

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A fixed document key, so that several servers (or a restarted one) read each other's
/// documents.
pub const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// (e-mail, password) of the demo accounts, printed at the first start only.
    pub passwords: Vec<(String, String)>,
}

impl Server {
    /// The password printed for the demo account whose e-mail starts with `who` (first start
    /// only).
    pub fn password_of(&self, who: &str) -> Option<String> {
        self.passwords
            .iter()
            .find(|(e, _)| e.starts_with(who))
            .map(|(_, p)| p.clone())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cellpath serve --demo` on a free port with `data` as its folder, on `database_url`
/// or (None) the SQLite file in that folder, and waits until it serves.
// The child is handed to `Server`, whose Drop kills and waits for it.
#[allow(clippy::zombie_processes)]
pub fn start(data: &Path, database_url: Option<&str>) -> Server {
    start_with(data, database_url, true, &[])
}

/// As [`start`], with or without `--demo`, and with further arguments.
#[allow(clippy::zombie_processes)]
pub fn start_with(data: &Path, database_url: Option<&str>, demo: bool, extra: &[&str]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cellpath"));
    if demo {
        command.args(["serve", "--demo", "--bind", "127.0.0.1:0"]);
    } else {
        command.args(["serve", "--bind", "127.0.0.1:0"]);
    }
    command.args(extra);
    command
        .args(["--document-key", KEY, "--data-dir"])
        .arg(data)
        .env_remove("CELLPATH_DATABASE_URL")
        .stderr(Stdio::piped());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let mut child = command.spawn().expect("start the server");
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

pub struct Response {
    pub status: u16,
    /// Status line and headers.
    pub head: String,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// One request on a fresh connection; None when the server cannot be reached or stops
/// answering (as after a kill).
pub fn try_http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Response> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut rest = out[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest = dechunk(&rest);
    }
    Some(Response {
        status,
        head,
        body: rest,
    })
}

/// One request that must be answered.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_http(addr, method, path, headers, body).expect("an HTTP answer")
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

/// Signs in over the API; returns (cookie, CSRF token).
pub fn sign_in(addr: &str, email: &str, password: &str) -> (String, String) {
    let body = format!("{{\"email\":\"{email}\",\"password\":\"{password}\"}}");
    let r = http(
        addr,
        "POST",
        "/api/v1/sessions",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.head);
    let cookie = r
        .head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    (cookie, v["csrf_token"].as_str().expect("csrf").to_owned())
}

/// Runs `cellpath` with the arguments given, on the data they name (no database from the
/// environment).
pub fn cellpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(args)
        .env_remove("CELLPATH_DATABASE_URL")
        .output()
        .expect("run cellpath")
}

/// What a command printed, standard output then standard error.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A JSON request as a signed-in user (`who`: cookie and CSRF token); fails the test on an
/// answer of 300 or more.
pub fn json(
    addr: &str,
    method: &str,
    path: &str,
    who: &(String, String),
    body: serde_json::Value,
) -> serde_json::Value {
    let body = body.to_string();
    let r = http(
        addr,
        method,
        path,
        &[
            ("Cookie", who.0.as_str()),
            ("x-csrf-token", who.1.as_str()),
            ("Content-Type", "application/json"),
        ],
        if method == "GET" {
            b""
        } else {
            body.as_bytes()
        },
    );
    assert!(
        r.status < 300,
        "{method} {path}: {} {}",
        r.head,
        String::from_utf8_lossy(&r.body)
    );
    serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null)
}
