//! A local stand-in for `GET /api/v2/studies` of the ClinicalTrials.gov API, answering with
//! recorded studies as the API does: JSON pages of `pageSize` studies (default 10, at most
//! 1,000) with an opaque `nextPageToken` bound to the query, `totalCount` on request,
//! `query.term` / `query.cond`, `filter.ids` and `filter.advanced` on the last-update date,
//! `400` with a plain-text reason for what it cannot read, and, when told to, `429` with
//! `Retry-After` or `503`. The real API cannot be reached from the machines the tests run on;
//! this is what `cellpath registry sync` is tested against.
//!
//! Its term search is simpler than the API's (every word of one of the ` OR ` alternatives,
//! case-insensitively, anywhere in the study); ordering is by last update, then NCT number,
//! so that paging is stable.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};

/// The API's page size when none is asked for, and the most it gives.
pub const DEFAULT_PAGE_SIZE: usize = 10;
pub const MAX_PAGE_SIZE: usize = 1000;

/// Misbehaviour on request, to test the client's patience.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Every n-th request (counted from 1) answers `429 Too Many Requests`.
    pub throttle_every: Option<usize>,
    /// The `Retry-After` of those answers, seconds.
    pub retry_after_secs: u64,
    /// While set, every request answers `503 Service Unavailable`.
    pub unavailable: bool,
    /// Every request after the n-th (counted from 1 since the faults were set) answers
    /// `503`: a registry that breaks down in the middle of a sync.
    pub unavailable_after: Option<usize>,
}

/// One recorded study with what the stand-in filters and orders on.
#[derive(Clone, Debug)]
struct Held {
    nct_id: String,
    last_update: String,
    conditions: String,
    text: String,
    study: Value,
}

impl Held {
    fn new(study: Value) -> Option<Self> {
        let nct_id = study
            .pointer("/protocolSection/identificationModule/nctId")?
            .as_str()?
            .to_owned();
        let last_update = study
            .pointer("/protocolSection/statusModule/lastUpdatePostDateStruct/date")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let conditions = study
            .pointer("/protocolSection/conditionsModule")
            .map(|c| c.to_string().to_lowercase())
            .unwrap_or_default();
        let text = study.to_string().to_lowercase();
        Some(Held {
            nct_id,
            last_update,
            conditions,
            text,
            study,
        })
    }
}

struct State {
    studies: Mutex<Vec<Held>>,
    /// When set, the folder is read again at every first page, so that an edited file is
    /// what the next sync sees.
    folder: Option<PathBuf>,
    faults: Mutex<Faults>,
    requests: AtomicUsize,
    log: Mutex<Vec<String>>,
    stop: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running stand-in; stops when dropped.
pub struct Replay {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Replay {
    /// Serves `studies` (API v2 study objects) on `bind` (`127.0.0.1:0` for any free port).
    pub fn start(bind: &str, studies: Vec<Value>) -> std::io::Result<Replay> {
        Self::run(bind, studies, None)
    }

    /// Serves the API v2 JSON files of a folder (read recursively), read again at every
    /// first page.
    pub fn from_folder(bind: &str, folder: &Path) -> std::io::Result<Replay> {
        let studies = load_folder(folder)?;
        Self::run(bind, studies, Some(folder.to_owned()))
    }

    fn run(bind: &str, studies: Vec<Value>, folder: Option<PathBuf>) -> std::io::Result<Replay> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            studies: Mutex::new(hold(studies)),
            folder,
            faults: Mutex::new(Faults::default()),
            requests: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let serving = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if serving.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = serving.clone();
                std::thread::spawn(move || {
                    // A client that hangs up early is its own business.
                    let _ = serve(&state, stream);
                });
            }
        });
        Ok(Replay { addr, state })
    }

    /// The base URL to give the client (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many studies it holds.
    pub fn len(&self) -> usize {
        lock(&self.state.studies).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the studies served (as the registry changes between two syncs).
    pub fn set_studies(&self, studies: Vec<Value>) {
        *lock(&self.state.studies) = hold(studies);
    }

    /// Sets the misbehaviour, counting requests from here.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.state.faults) = faults;
        self.state.requests.store(0, Ordering::SeqCst);
    }

    /// The query strings of the requests received so far, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state.log).clone()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the stop.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Ordered by last update then NCT number; a study recorded twice keeps the later update.
fn hold(studies: Vec<Value>) -> Vec<Held> {
    let mut by_id: HashMap<String, Held> = HashMap::new();
    for h in studies.into_iter().filter_map(Held::new) {
        match by_id.get(&h.nct_id) {
            Some(old) if old.last_update >= h.last_update => {}
            _ => {
                by_id.insert(h.nct_id.clone(), h);
            }
        }
    }
    let mut held: Vec<Held> = by_id.into_values().collect();
    held.sort_by(|a, b| (&a.last_update, &a.nct_id).cmp(&(&b.last_update, &b.nct_id)));
    held
}

/// The API v2 study objects in the `.json` files of a folder (read recursively): single
/// studies, arrays of studies and `/api/v2/studies` pages. Other files are passed over.
pub fn load_folder(folder: &Path) -> std::io::Result<Vec<Value>> {
    fn walk(p: &Path, out: &mut Vec<Value>) -> std::io::Result<()> {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for e in entries {
                walk(&e, out)?;
            }
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(p)?) else {
                return Ok(());
            };
            match value {
                Value::Array(items) => out.extend(items),
                Value::Object(mut o) => match o.remove("studies") {
                    Some(Value::Array(items)) => out.extend(items),
                    _ => out.push(Value::Object(o)),
                },
                _ => {}
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(folder, &mut out)?;
    out.retain(|s| {
        s.pointer("/protocolSection/identificationModule/nctId")
            .is_some()
    });
    Ok(out)
}

struct Answer {
    status: u16,
    reason: &'static str,
    headers: Vec<(&'static str, String)>,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Answer {
    fn text(status: u16, reason: &'static str, body: impl Into<String>) -> Self {
        Answer {
            status,
            reason,
            headers: Vec::new(),
            content_type: "text/plain; charset=utf-8",
            body: body.into().into_bytes(),
        }
    }
}

fn serve(state: &State, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new((&stream).take(16 * 1024));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // The headers are read and passed over: the stand-in answers by the request line.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let answer = answer(state, line.trim_end());
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.status,
        answer.reason,
        answer.content_type,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&answer.body)?;
    stream.flush()
}

fn answer(state: &State, request_line: &str) -> Answer {
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    lock(&state.log).push(query.to_owned());
    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let faults = lock(&state.faults).clone();
    if faults.unavailable || faults.unavailable_after.is_some_and(|k| n > k) {
        return Answer::text(503, "Service Unavailable", "Service Unavailable");
    }
    if faults
        .throttle_every
        .is_some_and(|k| k > 0 && n.is_multiple_of(k))
    {
        let mut a = Answer::text(429, "Too Many Requests", "Too Many Requests");
        a.headers
            .push(("retry-after", faults.retry_after_secs.to_string()));
        return a;
    }
    if method != "GET" {
        return Answer::text(405, "Method Not Allowed", "only GET is supported");
    }
    if path != "/api/v2/studies" {
        return Answer::text(404, "Not Found", format!("no such endpoint: {path}"));
    }
    match page(state, query) {
        Ok(body) => Answer {
            status: 200,
            reason: "OK",
            headers: Vec::new(),
            content_type: "application/json",
            body,
        },
        Err(reason) => Answer::text(400, "Bad Request", reason),
    }
}

/// The parameters of one request, decoded.
#[derive(Default)]
struct Params {
    page_size: Option<usize>,
    page_token: Option<String>,
    count_total: bool,
    term: Option<String>,
    cond: Option<String>,
    ids: Option<Vec<String>>,
    updated: Option<(String, String)>,
}

fn params(query: &str) -> Result<Params, String> {
    let mut p = Params::default();
    for pair in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        match k.as_str() {
            "format" if v == "json" => {}
            "format" => return Err(format!("format `{v}` is not served here (json only)")),
            "pageSize" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| format!("pageSize `{v}` is not a number"))?;
                if n == 0 || n > MAX_PAGE_SIZE {
                    return Err(format!("pageSize must be 1 to {MAX_PAGE_SIZE}"));
                }
                p.page_size = Some(n);
            }
            "pageToken" => p.page_token = Some(v),
            "countTotal" => p.count_total = v == "true",
            "query.term" => p.term = Some(v.to_lowercase()),
            "query.cond" => p.cond = Some(v.to_lowercase()),
            "filter.ids" => {
                p.ids = Some(
                    v.split([',', '|', ' '])
                        .filter(|s| !s.is_empty())
                        .map(str::to_uppercase)
                        .collect(),
                )
            }
            "filter.advanced" => p.updated = Some(last_update_range(&v)?),
            "sort" | "fields" | "markupFormat" => {}
            _ => return Err(format!("unknown parameter `{k}`")),
        }
    }
    Ok(p)
}

/// `AREA[LastUpdatePostDate]RANGE[from,to]`, `MIN` and `MAX` open ends.
fn last_update_range(v: &str) -> Result<(String, String), String> {
    let unsupported = || {
        format!(
            "filter.advanced `{v}` is not understood here \
             (AREA[LastUpdatePostDate]RANGE[from,to] is)"
        )
    };
    let range = v
        .trim()
        .strip_prefix("AREA[LastUpdatePostDate]RANGE[")
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(unsupported)?;
    let (from, to) = range.split_once(',').ok_or_else(unsupported)?;
    let end = |s: &str, open: &str| -> Result<String, String> {
        let s = s.trim();
        if s == "MIN" || s == "MAX" {
            Ok(open.to_owned())
        } else if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
            Ok(s.to_owned())
        } else {
            Err(format!("`{s}` is not a date (YYYY-MM-DD)"))
        }
    };
    Ok((end(from, "")?, end(to, "9999-12-31")?))
}

fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent-encoding in `{s}`"))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` is not UTF-8"))
}

/// Every word of one of the ` OR ` alternatives appears in `text`.
fn matches(query: &str, text: &str) -> bool {
    query.split(" or ").any(|alt| {
        alt.split_whitespace()
            .map(|w| w.trim_matches(|c: char| c == '"' || c == '(' || c == ')'))
            .filter(|w| !w.is_empty())
            .all(|w| text.contains(w))
    })
}

/// What a token is bound to: the query without its paging.
fn fingerprint(query: &str) -> u64 {
    // FNV-1a: stable across runs and builds, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut parts: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("pageToken=") && !p.starts_with("countTotal="))
        .collect();
    parts.sort_unstable();
    for b in parts.join("&").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn page(state: &State, query: &str) -> Result<Vec<u8>, String> {
    let p = params(query)?;
    let print = fingerprint(query);
    let offset = match &p.page_token {
        None => {
            if let Some(folder) = &state.folder
                && let Ok(studies) = load_folder(folder)
            {
                *lock(&state.studies) = hold(studies);
            }
            0
        }
        Some(t) => {
            let (offset, bound) = t
                .split_once('x')
                .and_then(|(o, f)| {
                    Some((o.parse::<usize>().ok()?, u64::from_str_radix(f, 16).ok()?))
                })
                .ok_or("invalid pageToken")?;
            if bound != print {
                return Err("pageToken does not belong to this query".to_owned());
            }
            offset
        }
    };
    let size = p.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    let studies = lock(&state.studies);
    let selected: Vec<&Held> = studies
        .iter()
        .filter(|h| p.ids.as_ref().is_none_or(|ids| ids.contains(&h.nct_id)))
        .filter(|h| {
            p.updated.as_ref().is_none_or(|(from, to)| {
                !h.last_update.is_empty()
                    && h.last_update.as_str() >= from.as_str()
                    && h.last_update.as_str() <= to.as_str()
            })
        })
        .filter(|h| p.term.as_ref().is_none_or(|t| matches(t, &h.text)))
        .filter(|h| p.cond.as_ref().is_none_or(|c| matches(c, &h.conditions)))
        .collect();
    if offset > selected.len() {
        return Err("invalid pageToken".to_owned());
    }
    let end = (offset + size).min(selected.len());
    let mut body = serde_json::Map::new();
    if p.count_total && p.page_token.is_none() {
        body.insert("totalCount".into(), json!(selected.len()));
    }
    body.insert(
        "studies".into(),
        Value::Array(
            selected[offset..end]
                .iter()
                .map(|h| h.study.clone())
                .collect(),
        ),
    );
    if end < selected.len() {
        body.insert("nextPageToken".into(), json!(format!("{end}x{print:x}")));
    }
    serde_json::to_vec(&Value::Object(body)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_terms() {
        assert_eq!(
            last_update_range("AREA[LastUpdatePostDate]RANGE[2024-01-01,MAX]"),
            Ok(("2024-01-01".to_owned(), "9999-12-31".to_owned()))
        );
        assert!(last_update_range("AREA[Phase]PHASE2").is_err());
        assert!(matches(
            "claudin car-t or zzz",
            "a claudin 18.2 car-t study"
        ));
        assert!(!matches("claudin lymphoma", "a claudin 18.2 car-t study"));
        assert_eq!(
            decode("RANGE%5B2024-01-01%2CMAX%5D").as_deref(),
            Ok("RANGE[2024-01-01,MAX]")
        );
    }
}
