//! The registry's search at scale. BENCH_STUDIES studies (500,000 by default) are generated
//! from the real ClinicalTrials.gov records in `../shared/data/ctgov/v2` by varying their
//! number, title, status, sponsor, sites and last update, written as files of 1,000, then:
//!
//! 1. `cellpath registry import` of the folder into a fresh data folder (SQLite), timed;
//! 2. the index built from that database as a server builds it at start, timed;
//! 3. searches at a fixed rate (BENCH_RATE a second, 100 by default, for BENCH_SECONDS, 30
//!    by default), open loop: each latency counts from when the query was due, so a slow
//!    answer delays none after it. The searches are the use case the API calls (query
//!    language, Chinese expansion, facets, highlighted snippets); beside them, in the same
//!    run and index, the floor: a plain one-term lookup (no facets, no snippets).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The server's allocator (`crates/cli/src/main.rs`), so that the searches run as there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STATUSES: [&str; 6] = [
    "RECRUITING",
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ACTIVE_NOT_RECRUITING",
    "COMPLETED",
    "TERMINATED",
];
const PLACES: [(&str, &str); 8] = [
    ("Shanghai", "China"),
    ("Beijing", "China"),
    ("Guangzhou", "China"),
    ("Boston", "United States"),
    ("Houston", "United States"),
    ("Seoul", "Korea, Republic of"),
    ("Tokyo", "Japan"),
    ("Mumbai", "India"),
];

/// The real records' protocol sections (what cellpath reads of a study).
fn real_studies(dir: &Path) -> Vec<Value> {
    fn walk(p: &Path, out: &mut Vec<Value>) {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.sort();
            for e in entries {
                walk(&e, out);
            }
        } else if p.extension().is_some_and(|e| e == "json") {
            let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(p).unwrap_or_default())
            else {
                return;
            };
            let list = match v {
                Value::Array(a) => a,
                Value::Object(ref o) if o.contains_key("studies") => {
                    v["studies"].as_array().cloned().unwrap_or_default()
                }
                other => vec![other],
            };
            for s in list {
                if s["protocolSection"]["identificationModule"]["nctId"].is_string() {
                    out.push(serde_json::json!({"protocolSection": s["protocolSection"]}));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

fn vary(base: &Value, i: usize) -> Value {
    let mut s = base.clone();
    let p = &mut s["protocolSection"];
    p["identificationModule"]["nctId"] = format!("NCT8{i:07}").into();
    let title = p["identificationModule"]["briefTitle"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    p["identificationModule"]["briefTitle"] = format!("{title} (variant {i})").into();
    p["statusModule"]["overallStatus"] = STATUSES[i % STATUSES.len()].into();
    p["statusModule"]["lastUpdatePostDateStruct"]["date"] =
        format!("20{:02}-{:02}-{:02}", 10 + i % 16, 1 + i % 12, 1 + i % 28).into();
    if let Some(name) = p["sponsorCollaboratorsModule"]["leadSponsor"]["name"].as_str() {
        let name = format!("{name} {}", i % 50);
        p["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = name.into();
    }
    if let Some(locs) = p["contactsLocationsModule"]["locations"].as_array_mut() {
        for (k, l) in locs.iter_mut().enumerate().take(3) {
            let (city, country) = PLACES[(i + k) % PLACES.len()];
            l["city"] = city.into();
            l["country"] = country.into();
        }
    }
    s
}

fn run(args: &[&str]) -> f64 {
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(args)
        .output()
        .expect("run cellpath");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!("  {}", String::from_utf8_lossy(&o.stdout).trim());
    secs
}

#[derive(Debug)]
struct Latencies {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    n: usize,
    rate: f64,
}

/// Runs `one` at `rate` a second for `secs`, open loop; latencies in milliseconds.
async fn load<F, Fut>(rate: u32, secs: u32, one: F) -> Latencies
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let one = Arc::new(one);
    let total = (rate * secs) as usize;
    let every = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + every * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due).await;
        let one = Arc::clone(&one);
        tasks.push(tokio::spawn(async move {
            one(i).await;
            due.elapsed().as_secs_f64() * 1000.0
        }));
    }
    let mut ms = Vec::with_capacity(total);
    for t in tasks {
        ms.push(t.await.expect("task"));
    }
    let took = start.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q) as usize).min(ms.len() - 1)];
    Latencies {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: ms[ms.len() - 1],
        n: ms.len(),
        rate: ms.len() as f64 / took,
    }
}

const QUERIES: [&str; 10] = [
    "cldn18.2 car-t status:recruiting country:china",
    "gastric cancer",
    "胃癌 CAR-T",
    "紧密连接蛋白 18.2",
    "pembrolizumab phase:3",
    "breast cancer status:recruiting",
    "lymphoma car-t country:\"united states\"",
    "adenocarcinoma -pancreatic",
    "her2 positive",
    "胃食管结合部 腺癌 状态:招募中",
];

/// Writes the studies as files of 1,000 and imports them; the data folder and seconds.
fn generate_and_import(n: usize, root: &Path) -> (PathBuf, f64) {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ctgov/v2");
    let bases = real_studies(&shared);
    assert!(!bases.is_empty(), "no records under {}", shared.display());
    let _ = std::fs::remove_dir_all(root);
    let files = root.join("studies");
    std::fs::create_dir_all(&files).expect("mkdir");
    let t = Instant::now();
    let mut bytes = 0usize;
    for (f, chunk) in (0..n).collect::<Vec<_>>().chunks(1000).enumerate() {
        let list: Vec<Value> = chunk
            .iter()
            .map(|&i| vary(&bases[i % bases.len()], i))
            .collect();
        let json = serde_json::to_vec(&list).expect("json");
        bytes += json.len();
        std::fs::write(files.join(format!("{f:05}.json")), json).expect("write");
    }
    println!(
        "{n} studies from {} real records: {:.0} MB of API v2 JSON, written in {:.1} s",
        bases.len(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let data = root.join("data");
    let import = run(&[
        "registry",
        "import",
        &files.to_string_lossy(),
        "--data-dir",
        &data.to_string_lossy(),
    ]);
    let _ = std::fs::remove_dir_all(&files);

    (data, import)
}

fn main() {
    let n: usize = std::env::var("BENCH_STUDIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let rate: u32 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let secs: u32 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    // BENCH_DATA: a data folder a run kept (BENCH_KEEP=1) is searched again without
    // generating and importing (for profiling; the import's row then reads 0).
    let reuse = std::env::var("BENCH_DATA").ok().map(PathBuf::from);
    let root = std::env::temp_dir().join(format!("cellpath-bench-search-{}", std::process::id()));
    let (data, import) = match &reuse {
        Some(d) => (d.clone(), 0.0),
        None => generate_and_import(n, &root),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let url = format!("sqlite://{}", data.join("cellpath.db").display());
        let store = cellpath_store::Store::connect(&url).await.expect("store");
        let catalogue = cellpath_eligibility::shipped().expect("catalogue");
        let state = Arc::new(cellpath_web::AppState {
            store,
            catalogue,
            config: cellpath_web::Config {
                search: Arc::new(cellpath_web::search::Search::at(
                    cellpath_web::search::Place::Dir(data.join("search-index")),
                )),
                ..cellpath_web::Config::default()
            },
        });
        let t = Instant::now();
        let building = {
            let state = Arc::clone(&state);
            tokio::spawn(async move { state.config.search.rebuild(&state).await })
        };
        // Searchable when every study is in (what a server's searches see); the merge into
        // one segment follows, timed apart.
        while !state.config.search.progress().ready && !building.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let index_secs = t.elapsed().as_secs_f64();
        let segments = state.config.search.index().map(|i| i.segments()).unwrap_or(0);
        let progress = building.await.expect("task").expect("index");
        let merge_secs = t.elapsed().as_secs_f64() - index_secs;
        println!(
            "index searchable in {index_secs:.1} s ({segments} segments), merged into {} in {merge_secs:.1} s more",
            state.config.search.index().map(|i| i.segments()).unwrap_or(0)
        );
        if reuse.is_none() {
            assert_eq!(progress.indexed as usize, n);
        }

        let actor = cellpath_web::Actor {
            id: "bench".into(),
            role: cellpath_web::policy::Role::Coordinator,
            specialty: None,
            request_id: "bench".into(),
            writes: false,
            by_token: false,
        };
        // Every query once first: each must find something.
        for q in QUERIES {
            let ask = cellpath_web::search::SearchAsk {
                q: q.into(),
                ..Default::default()
            };
            let found = cellpath_web::search::search(&state, &actor, &ask)
                .await
                .expect("search");
            let t = Instant::now();
            for _ in 0..20 {
                cellpath_web::search::search(&state, &actor, &ask)
                    .await
                    .expect("search");
            }
            let alone = t.elapsed().as_secs_f64() * 1000.0 / 20.0;
            if std::env::var("BENCH_STAGES").is_ok() {
                let index = state.config.search.index().expect("built");
                let parsed = cellpath_search::parse(q).expect("q");
                for (facets, snippets) in [(false, false), (true, false), (false, true), (true, true)] {
                    let t = Instant::now();
                    for _ in 0..20 {
                        index
                            .search(&cellpath_search::Request {
                                query: &parsed,
                                sort: cellpath_search::Sort::Relevance,
                                offset: 0,
                                limit: 20,
                                facets,
                                snippets,
                            })
                            .expect("search");
                    }
                    println!("    facets {facets} snippets {snippets}: {:.2} ms", t.elapsed().as_secs_f64() * 1000.0 / 20.0);
                }
            }
            println!(
                "  {q:<50} {:>7} studies, {:.2} ms alone",
                found.results.total,
                alone
            );
        }
        let faceted = {
            let state = Arc::clone(&state);
            load(rate, secs, move |i| {
                let state = Arc::clone(&state);
                let actor = actor.clone();
                async move {
                    let ask = cellpath_web::search::SearchAsk {
                        q: QUERIES[i % QUERIES.len()].into(),
                        page: 1 + i % 3,
                        ..Default::default()
                    };
                    cellpath_web::search::search(&state, &actor, &ask)
                        .await
                        .expect("search");
                }
            })
            .await
        };
        let index = state.config.search.index().expect("built");
        let plain = cellpath_search::parse("gastric").expect("query");
        let floor = load(rate, secs, move |_| {
            let index = Arc::clone(&index);
            let plain = plain.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    index
                        .search(&cellpath_search::Request {
                            query: &plain,
                            sort: cellpath_search::Sort::Relevance,
                            offset: 0,
                            limit: 20,
                            facets: false,
                            snippets: false,
                        })
                        .expect("search");
                })
                .await
                .expect("task");
            }
        })
        .await;
        let rate_of = |s: f64| n as f64 / s;
        println!();
        println!("| step | seconds | studies/s |");
        println!("|---|---:|---:|");
        println!("| `registry import` into SQLite | {import:.1} | {:.0} |", rate_of(import));
        println!("| index built from the database, every study searchable | {index_secs:.1} | {:.0} |", rate_of(index_secs));
        println!("| **import and index** | **{:.1}** | {:.0} |", import + index_secs, rate_of(import + index_secs));
        println!("| then merged into one segment (searches go on meanwhile) | {merge_secs:.1} | |");
        println!();
        println!("| searches at {rate}/s for {secs} s | n | achieved/s | p50 ms | p95 ms | p99 ms | max ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for (what, l) in [
            ("the use case: query language, facets, snippets (10 queries, pages 1–3)", &faceted),
            ("floor: one-term lookup, no facets, no snippets", &floor),
        ] {
            println!(
                "| {what} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
                l.n, l.rate, l.p50, l.p95, l.p99, l.max
            );
        }
    });
    if std::env::var("BENCH_KEEP").is_ok() {
        println!("kept: BENCH_DATA={}", data.display());
    } else if reuse.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
}
