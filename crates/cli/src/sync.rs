//! `cellpath registry sync`: pulls what changed from the ClinicalTrials.gov API v2
//! (`/api/v2/studies`) — the studies of the query, and the studies the catalogue's
//! programmes name — page by page, each page stored in one transaction with the sync's
//! place, so that a broken sync resumes where it stopped. Polite by default: at most
//! `--max-rate` requests a minute, `429` answered by waiting its `Retry-After`, a failing
//! server retried with growing pauses.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use cellpath_eligibility::Catalogue;
use cellpath_web::registry::{ImportCounts, start_sync, sync_page};

use crate::server::{DbArgs, api_error, open, runtime};

/// The conditions synced when none are given: the cancers the catalogue is about.
pub const DEFAULT_CONDITION: &str =
    "gastric cancer OR gastroesophageal junction cancer OR stomach neoplasms";

/// The API's address.
pub const DEFAULT_BASE_URL: &str = "https://clinicaltrials.gov";

#[derive(clap::Args)]
pub struct SyncArgs {
    /// The registry's address (a local stand-in for tests and offline demonstrations).
    #[arg(long, env = "CELLPATH_CTGOV_URL", default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// The conditions to follow (the API's `query.cond`); `""` for any.
    #[arg(long, default_value = DEFAULT_CONDITION)]
    pub condition: String,
    /// Other words the studies must have (the API's `query.term`), e.g. `CAR-T`.
    #[arg(long)]
    pub term: Option<String>,
    /// Read studies updated on or after this date (YYYY-MM-DD) [default: the day before the
    /// last finished sync of the same query started; everything the first time].
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Read everything, whatever was synced before.
    #[arg(long, conflicts_with = "since")]
    pub all: bool,
    /// Studies per page, 1–1000.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub page_size: u16,
    /// At most this many requests a minute (the API asks for about 50).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rate: u32,
    /// How many times to retry a page the registry refused for now (429, 5xx, no answer).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// The first pause after a failure, milliseconds; it doubles at each retry.
    #[arg(long, default_value_t = 2000, hide = true)]
    pub backoff_ms: u64,
    /// Start again rather than resume an unfinished sync of the same query.
    #[arg(long)]
    pub restart: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// One query the sync follows, as stored (without dates and paging).
struct Query {
    label: &'static str,
    params: Vec<(&'static str, String)>,
}

impl Query {
    fn key(&self, base: &str) -> String {
        format!("{base}/api/v2/studies?{}", encode_params(&self.params))
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_params(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The day before a sync started: the registry dates its updates in US Eastern time, so a
/// day's overlap misses nothing (a study read twice is stored once).
fn day_before(started_at: &str) -> Option<String> {
    let d = cellpath_domain::Date::parse(started_at.get(..10)?).ok()?;
    Some(d.add_days(-1).to_string())
}

/// What one page asked of the registry gave.
struct Fetched {
    body: Vec<u8>,
}

/// The HTTP side: one agent, the rate limit and the retries.
struct Client {
    agent: ureq::Agent,
    min_interval: Duration,
    last: Option<Instant>,
    retries: u32,
    backoff: Duration,
}

impl Client {
    fn new(args: &SyncArgs) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .user_agent(concat!(
                "cellpath/",
                env!("CARGO_PKG_VERSION"),
                " (registry sync)"
            ))
            .build()
            .into();
        Client {
            agent,
            min_interval: Duration::from_secs_f64(60.0 / f64::from(args.max_rate)),
            last: None,
            retries: args.retries,
            backoff: Duration::from_millis(args.backoff_ms),
        }
    }

    /// GET with the rate limit, `Retry-After` and retries. Blocking: run off the async
    /// workers.
    fn get(&mut self, url: &str, say: &mut dyn FnMut(&str)) -> Result<Fetched> {
        let mut attempt = 0;
        loop {
            if let Some(last) = self.last {
                let wait = self.min_interval.saturating_sub(last.elapsed());
                std::thread::sleep(wait);
            }
            self.last = Some(Instant::now());
            let pause = match self.agent.get(url).call() {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let body = resp
                        .body_mut()
                        .with_config()
                        .limit(512 * 1024 * 1024)
                        .read_to_vec()
                        .with_context(|| format!("reading the answer to {url}"))?;
                    match status {
                        200 => return Ok(Fetched { body }),
                        429 => {
                            // The registry's own word on when to come back, within reason.
                            let secs = retry_after.unwrap_or(60).min(600);
                            say(&format!(
                                "the registry asks to slow down (429): waiting {secs} s"
                            ));
                            Duration::from_secs(secs)
                        }
                        500..=599 => {
                            say(&format!("the registry answered {status}: trying again"));
                            self.backoff * 2u32.saturating_pow(attempt)
                        }
                        _ => {
                            let text = String::from_utf8_lossy(&body);
                            let text: String = text.chars().take(300).collect();
                            bail!(
                                "the registry refused the request ({status}): {}",
                                text.trim()
                            );
                        }
                    }
                }
                Err(e) => {
                    say(&format!("no answer from the registry ({e}): trying again"));
                    self.backoff * 2u32.saturating_pow(attempt)
                }
            };
            if attempt >= self.retries {
                bail!("the registry did not answer after {} tries", attempt + 1);
            }
            attempt += 1;
            std::thread::sleep(pause.min(Duration::from_secs(600)));
        }
    }
}

/// What the whole sync did.
#[derive(Default)]
struct Totals {
    counts: ImportCounts,
    pages: i64,
    refused: usize,
}

/// Runs `cellpath registry sync`. Answers false when some record was refused.
pub fn sync(args: SyncArgs, catalogue: Catalogue, out: &mut impl Write) -> Result<bool> {
    if let Some(since) = &args.since {
        cellpath_domain::Date::parse(since)
            .map_err(|_| anyhow!("--since `{since}` is not a date (YYYY-MM-DD)"))?;
    }
    let base = args.base_url.trim_end_matches('/').to_owned();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--base-url `{base}` is not an http(s) address");
    }
    let mut queries = vec![Query {
        label: "query",
        params: {
            // An empty condition follows everything the terms find.
            let mut p = Vec::new();
            if !args.condition.trim().is_empty() {
                p.push(("query.cond", args.condition.trim().to_owned()));
            }
            if let Some(t) = &args.term {
                p.push(("query.term", t.clone()));
            }
            p
        },
    }];
    let mut linked: Vec<String> = catalogue
        .programmes()
        .iter()
        .flat_map(|p| p.registry_ids.iter().map(|r| r.to_uppercase()))
        .collect();
    linked.sort();
    linked.dedup();
    if !linked.is_empty() {
        queries.push(Query {
            label: "the catalogue's studies",
            params: vec![("filter.ids", linked.join(","))],
        });
    }
    let tty = std::io::stderr().is_terminal();
    let rt = runtime()?;
    rt.block_on(async {
        let store = open(&args.db).await?;
        let state = Arc::new(cellpath_web::AppState {
            store,
            catalogue,
            config: cellpath_web::Config::default(),
        });
        let mut client = Some(Client::new(&args));
        let mut totals = Totals::default();
        for q in &queries {
            let key = q.key(&base);
            let since = if args.all {
                None
            } else if let Some(s) = &args.since {
                Some(s.clone())
            } else {
                state
                    .store
                    .last_finished_sync(&key)
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                    .and_then(|s| day_before(&s.started_at))
            };
            let sync = start_sync(&state, "system", &key, since.as_deref(), !args.restart)
                .await
                .map_err(api_error)?;
            let resumed = sync.pages > 0;
            if resumed {
                eprintln!(
                    "resuming the sync of {} started {} at page {}",
                    q.label,
                    sync.started_at,
                    sync.pages + 1
                );
            }
            let mut token = sync.page_token.clone();
            let mut page = sync.pages + 1;
            let mut total: Option<u64> = None;
            let mut done_here = sync.studies as u64;
            loop {
                let mut params = q.params.clone();
                params.push(("format", "json".to_owned()));
                if let Some(since) = &sync.since {
                    params.push((
                        "filter.advanced",
                        format!("AREA[LastUpdatePostDate]RANGE[{since},MAX]"),
                    ));
                }
                params.push(("pageSize", args.page_size.to_string()));
                match &token {
                    Some(t) => params.push(("pageToken", t.clone())),
                    None => params.push(("countTotal", "true".to_owned())),
                }
                let url = format!("{base}/api/v2/studies?{}", encode_params(&params));
                let mut c = client.take().context("the HTTP client is busy")?;
                let (c, fetched) = tokio::task::spawn_blocking(move || {
                    let mut say = |m: &str| eprintln!("{m}");
                    let r = c.get(&url, &mut say);
                    (c, r)
                })
                .await
                .context("the HTTP worker stopped")?;
                client = Some(c);
                let fetched = fetched.map_err(|e| {
                    e.context(format!(
                        "the sync of {} stopped at page {page}; run it again to resume there",
                        q.label
                    ))
                })?;
                let name = format!("{} page {page}", q.label);
                let read = cellpath_registry::read(&name, &fetched.body);
                if read.studies.is_empty()
                    && !read.errors.is_empty()
                    && read.next_page_token.is_none()
                {
                    // Not a page at all: nothing is stored and the sync stays where it is.
                    let first = &read.errors[0];
                    bail!(
                        "the registry's answer to page {page} could not be read ({first}); \
                         run the sync again to resume there"
                    );
                }
                for e in &read.errors {
                    if tty {
                        eprintln!();
                    }
                    eprintln!("refused: {e}");
                }
                totals.refused += read.errors.len();
                if total.is_none() {
                    total = serde_json::from_slice::<serde_json::Value>(&fetched.body)
                        .ok()
                        .and_then(|v| v.get("totalCount").and_then(serde_json::Value::as_u64));
                }
                let done = sync_page(
                    &state,
                    "system",
                    &sync,
                    page,
                    &read.studies,
                    read.next_page_token.as_deref(),
                )
                .await
                .map_err(api_error)?;
                totals.counts += done.counts;
                totals.pages += 1;
                done_here += read.studies.len() as u64;
                if tty {
                    match total {
                        Some(t) => {
                            eprint!("\r{}: page {page}, {done_here} of {t} studies", q.label)
                        }
                        None => eprint!("\r{}: page {page}, {done_here} studies", q.label),
                    }
                }
                if done.finished {
                    break;
                }
                token = read.next_page_token;
                page += 1;
            }
            if tty {
                eprintln!();
            }
        }
        let c = &totals.counts;
        writeln!(
            out,
            "synced {} pages from {base}: {} studies new, {} changed (a new version each), \
             {} unchanged; {} programmes flagged for review, {} cases re-screened; \
             {} records refused",
            totals.pages, c.new, c.changed, c.unchanged, c.flagged, c.rescreened, totals.refused
        )?;
        Ok(totals.refused == 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_are_encoded() {
        assert_eq!(
            encode_params(&[(
                "filter.advanced",
                "AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]".into()
            )]),
            "filter.advanced=AREA%5BLastUpdatePostDate%5DRANGE%5B2026-01-01%2CMAX%5D"
        );
        assert_eq!(
            day_before("2026-03-01T04:00:00Z").as_deref(),
            Some("2026-02-28")
        );
    }
}
