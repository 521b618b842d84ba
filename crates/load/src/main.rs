//! `cellpath-load URL`: a small HTTP/1.1 load generator for the load test on loopback
//! (`scripts/loadtest.sh`, BENCHMARKS.md "Server").
//!
//! Each of `-c` connections is kept alive and sends one request after another for `-z`
//! (a duration such as `2s`, `500ms`, `1m`). Without `-q` it runs at full speed; with `-q N`
//! the requests start at N a second in all, on a fixed schedule, and each latency is measured
//! from the moment its request was *due*, not from when a connection was free to send it — so
//! a server that stalls shows its queue in the percentiles instead of hiding it (coordinated
//! omission). It prints one JSON object: requests, seconds, requests a second, latency
//! percentiles in milliseconds, status codes and errors.
//!
//! Only `http://` addresses: it exists to measure cellpath on this machine, not the network.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "cellpath-load",
    about = "HTTP load on loopback: requests a second, latency percentiles and status codes as JSON"
)]
struct Args {
    /// The address to load, `http://HOST:PORT/PATH`.
    url: String,
    /// How long to run: `2s`, `500ms`, `1m`.
    #[arg(short = 'z', long = "duration", default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Connections kept open at once.
    #[arg(short = 'c', long = "connections", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Requests a second in all (a fixed schedule); full speed when not given.
    #[arg(short = 'q', long = "rate", value_parser = parse_rate)]
    rate: Option<f64>,
    /// The method.
    #[arg(short = 'm', long = "method", default_value = "GET")]
    method: String,
    /// A header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// A file whose bytes are each request's body.
    #[arg(short = 'D', long = "body-file")]
    body_file: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 2s, 500ms or 1m"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!("{s:?}: between 1 ms and one hour"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 1_000_000.0 => Ok(r),
        _ => Err(format!(
            "{s:?}: requests a second, above 0 and at most 1000000"
        )),
    }
}

/// What is sent, the same for every request.
struct Plan {
    addr: String,
    method: hyper::Method,
    path: String,
    host: String,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    body: Bytes,
    rate: Option<f64>,
}

/// What one connection saw.
#[derive(Default)]
struct Seen {
    /// Latencies in microseconds.
    latencies: Vec<u64>,
    codes: BTreeMap<u16, u64>,
    errors: u64,
}

fn plan(args: &Args) -> anyhow::Result<Plan> {
    let Some(rest) = args.url.strip_prefix("http://") else {
        bail!(
            "{}: only http:// addresses (the load test runs on loopback)",
            args.url
        );
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        bail!("{}: no host", args.url);
    }
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let method = hyper::Method::from_bytes(args.method.as_bytes())
        .with_context(|| format!("{}: not an HTTP method", args.method))?;
    let mut headers = Vec::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .with_context(|| format!("header {h:?}: write it as `Name: value`"))?;
        let name = hyper::header::HeaderName::from_bytes(name.trim().as_bytes())
            .with_context(|| format!("header {h:?}: not a header name"))?;
        let value = hyper::header::HeaderValue::from_str(value.trim())
            .with_context(|| format!("header {h:?}: not a header value"))?;
        headers.push((name, value));
    }
    let body = match &args.body_file {
        Some(p) => Bytes::from(std::fs::read(p).with_context(|| format!("{}", p.display()))?),
        None => Bytes::new(),
    };
    Ok(Plan {
        addr,
        method,
        path: path.to_string(),
        host: authority.to_string(),
        headers,
        body,
        rate: args.rate,
    })
}

fn request(plan: &Plan) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
    let mut req = hyper::Request::builder()
        .method(plan.method.clone())
        .uri(plan.path.as_str())
        .header(hyper::header::HOST, plan.host.as_str());
    for (name, value) in &plan.headers {
        req = req.header(name, value);
    }
    Ok(req.body(Full::new(plan.body.clone()))?)
}

/// One connection's loop until the deadline; a broken connection is counted and reopened.
async fn connection(plan: Arc<Plan>, slots: Arc<AtomicU64>, start: Instant, end: Instant) -> Seen {
    let mut seen = Seen::default();
    'connect: while Instant::now() < end {
        let stream = match TcpStream::connect(&plan.addr).await {
            Ok(s) => s,
            Err(_) => {
                seen.errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            seen.errors += 1;
            continue;
        };
        let driver = tokio::spawn(conn);
        loop {
            // The moment this request is due: its slot on the schedule, or now at full speed.
            let due = match plan.rate {
                Some(rate) => {
                    let i = slots.fetch_add(1, Ordering::Relaxed);
                    let at = start + Duration::from_secs_f64(i as f64 / rate);
                    if at >= end {
                        break 'connect;
                    }
                    tokio::time::sleep_until(at).await;
                    at
                }
                None => Instant::now(),
            };
            if Instant::now() >= end {
                break 'connect;
            }
            if sender.ready().await.is_err() {
                seen.errors += 1;
                driver.abort();
                continue 'connect;
            }
            let Ok(req) = request(&plan) else {
                seen.errors += 1;
                break 'connect;
            };
            match sender.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let close = resp
                        .headers()
                        .get(hyper::header::CONNECTION)
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                    if resp.into_body().collect().await.is_err() {
                        seen.errors += 1;
                        continue 'connect;
                    }
                    let micros = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
                    seen.latencies.push(micros);
                    *seen.codes.entry(status).or_default() += 1;
                    if close {
                        continue 'connect;
                    }
                }
                Err(_) => {
                    seen.errors += 1;
                    continue 'connect;
                }
            }
        }
    }
    seen
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = Arc::new(plan(&args)?);
    // Refuse at once what would only fail on every request.
    TcpStream::connect(&plan.addr)
        .await
        .with_context(|| format!("{}: cannot connect", plan.addr))?;
    let start = Instant::now();
    let end = start + args.duration;
    let slots = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        tasks.push(tokio::spawn(connection(
            Arc::clone(&plan),
            Arc::clone(&slots),
            start,
            end,
        )));
    }
    let mut all = Seen::default();
    for t in tasks {
        let seen = t.await?;
        all.latencies.extend(seen.latencies);
        for (code, n) in seen.codes {
            *all.codes.entry(code).or_default() += n;
        }
        all.errors += seen.errors;
    }
    let seconds = start.elapsed().as_secs_f64();
    all.latencies.sort_unstable();
    let n = all.latencies.len();
    let codes: serde_json::Map<String, serde_json::Value> = all
        .codes
        .iter()
        .map(|(code, n)| (code.to_string(), serde_json::Value::from(*n)))
        .collect();
    let out = serde_json::json!({
        "requests": n,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "requests_per_sec": (n as f64 / seconds).floor(),
        "latency_from": if plan.rate.is_some() { "due" } else { "sent" },
        "p50_ms": percentile(&all.latencies, 50.0),
        "p95_ms": percentile(&all.latencies, 95.0),
        "p99_ms": percentile(&all.latencies, 99.0),
        "max_ms": all.latencies.last().map_or(0.0, |m| *m as f64 / 1000.0),
        "status_codes": codes,
        "errors": all.errors,
    });
    println!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written_and_nonsense_is_refused() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank_in_milliseconds() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn only_plain_http_addresses_are_planned() {
        let args = Args::parse_from(["x", "https://example.org/"]);
        assert!(plan(&args).is_err());
        let args = Args::parse_from(["x", "http://127.0.0.1:8080/healthz", "-H", "Cookie: a=b"]);
        let p = plan(&args).expect("plan");
        assert_eq!(p.addr, "127.0.0.1:8080");
        assert_eq!(p.path, "/healthz");
        assert_eq!(p.headers.len(), 1);
    }
}
