//! Bulk Data ndjson import and bundle-import memory, on data generated from the Synthea R4
//! bundles (`shared/data/fhir/synthea-r4-cancer`, or the trimmed copies in the repository).
//!
//! 1. Bulk Data: the bundles' resources are written as one ndjson file per resource type,
//!    repeated with fresh ids (every UUID's first four hex digits become the copy number)
//!    until the export reaches `BENCH_BULK_MB` (default 1024). Beside the import, in the same
//!    run, the same files are read line by line (the floor any ndjson reader pays).
//! 2. Bundle memory: one bundle of `BENCH_BUNDLE_MB` (default 50) made of the same resources.
//!
//! Each import runs in a child process of this binary, so that its peak resident memory
//! (`VmHWM`) is its own. `cargo bench -p cellpath-fhir --bench bulk`.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    field("VmHWM:")
}

fn synthea() -> Vec<serde_json::Value> {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fhir/synthea-r4-cancer");
    let dir = if shared.is_dir() {
        shared
    } else {
        eprintln!("note: shared data absent; generating from tests/data/fhir/synthea");
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fhir/synthea")
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("synthea")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json");
        for e in v["entry"].as_array().into_iter().flatten() {
            out.push(e["resource"].clone());
        }
    }
    out
}

/// A UUID-shaped run of bytes at `i`: 8-4-4-4-12 hex digits.
fn uuid_at(b: &[u8], i: usize) -> bool {
    if i + 36 > b.len() {
        return false;
    }
    (0..36).all(|k| match k {
        8 | 13 | 18 | 23 => b[i + k] == b'-',
        _ => b[i + k].is_ascii_hexdigit(),
    })
}

/// The line with every UUID made unique to copy `k`.
fn copy_line(line: &str, k: usize, out: &mut Vec<u8>) {
    let b = line.as_bytes();
    let start = out.len();
    out.extend_from_slice(b);
    let mut i = 0;
    while i < b.len() {
        if uuid_at(b, i) {
            let tag = format!("{:04x}", k % 0x1_0000);
            out[start + i..start + i + 4].copy_from_slice(tag.as_bytes());
            i += 36;
        } else {
            i += 1;
        }
    }
}

/// References as a Bulk Data export writes them: `Type/id`, not `urn:uuid:`.
fn relative(v: &mut serde_json::Value, types: &std::collections::HashMap<String, String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "reference"
                    && let Some(id) = x.as_str().and_then(|s| s.strip_prefix("urn:uuid:"))
                    && let Some(t) = types.get(id)
                {
                    *x = serde_json::Value::String(format!("{t}/{id}"));
                } else {
                    relative(x, types);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| relative(x, types)),
        _ => {}
    }
}

fn generate_ndjson(dir: &Path, target: u64) -> u64 {
    let resources = synthea();
    let types: std::collections::HashMap<String, String> = resources
        .iter()
        .filter_map(|r| {
            Some((
                r["id"].as_str()?.to_owned(),
                r["resourceType"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut by_type: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for mut r in resources {
        relative(&mut r, &types);
        let t = r["resourceType"].as_str().unwrap_or("Other").to_owned();
        by_type
            .entry(t)
            .or_default()
            .push(serde_json::to_string(&r).expect("json"));
    }
    let one: u64 = by_type.values().flatten().map(|l| l.len() as u64 + 1).sum();
    let copies = target.div_ceil(one).max(1) as usize;
    std::fs::create_dir_all(dir).expect("dir");
    let mut total = 0;
    let mut buf = Vec::new();
    for (t, lines) in &by_type {
        let mut w =
            BufWriter::new(std::fs::File::create(dir.join(format!("{t}.ndjson"))).expect("create"));
        for k in 0..copies {
            for l in lines {
                buf.clear();
                copy_line(l, k, &mut buf);
                buf.push(b'\n');
                w.write_all(&buf).expect("write");
                total += buf.len() as u64;
            }
        }
    }
    total
}

fn ndjson_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    v
}

/// Child: reads the files line by line (the floor).
fn child_floor(dir: &Path) {
    let t = Instant::now();
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut line = Vec::new();
    for f in ndjson_files(dir) {
        let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(f).expect("open"));
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).expect("read");
            if n == 0 {
                break;
            }
            lines += 1;
            bytes += n as u64;
            std::hint::black_box(&line);
        }
    }
    println!(
        "{} {} {} {}",
        t.elapsed().as_secs_f64(),
        bytes,
        lines,
        peak_kb()
    );
}

/// Child: the Bulk Data import.
fn child_bulk(dir: &Path) {
    let t = Instant::now();
    let mut bulk = cellpath_fhir::Bulk::new(cellpath_fhir::Options {
        patient: None,
        max_input_bytes: u64::MAX,
    });
    for f in ndjson_files(dir) {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        bulk.read(
            &name,
            BufReader::with_capacity(1 << 20, std::fs::File::open(&f).expect("open")),
        )
        .expect("read");
    }
    let r = bulk.finish();
    assert!(r.problems.is_empty(), "{:?}", r.problems.first());
    println!(
        "{} {} {} {}",
        t.elapsed().as_secs_f64(),
        r.bytes,
        r.cases.len(),
        peak_kb()
    );
}

/// Child: one bundle import; prints the file size and the peak above the baseline.
fn child_bundle(file: &Path) {
    let base = peak_kb();
    let bytes = std::fs::read(file).expect("read");
    let t = Instant::now();
    let i = cellpath_fhir::import_with(
        &bytes,
        &cellpath_fhir::Options {
            patient: Some(std::env::var("BENCH_PATIENT").expect("patient")),
            max_input_bytes: u64::MAX,
        },
    )
    .expect("import");
    std::hint::black_box(&i);
    println!(
        "{} {} {} {}",
        t.elapsed().as_secs_f64(),
        bytes.len(),
        base,
        peak_kb()
    );
}

fn run_child(args: &[&str], env: &[(&str, &str)]) -> Vec<f64> {
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("child");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--child-floor") => return child_floor(Path::new(&args[2])),
        Some("--child-bulk") => return child_bulk(Path::new(&args[2])),
        Some("--child-bundle") => return child_bundle(Path::new(&args[2])),
        _ => {}
    }
    let mb: u64 = std::env::var("BENCH_BULK_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let bundle_mb: u64 = std::env::var("BENCH_BUNDLE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let work = std::env::temp_dir().join(format!("cellpath-bench-bulk-{}", std::process::id()));
    let dir = work.join("export");
    let size = generate_ndjson(&dir, mb * 1024 * 1024);
    println!(
        "cellpath Bulk Data benchmark — {:.0} MB of ndjson generated from the Synthea bundles",
        size as f64 / 1e6
    );
    let d = dir.to_str().expect("path");
    // Alternate floor and import twice; report the better of each (noise only slows).
    let mut floor = Vec::new();
    let mut bulk = Vec::new();
    for _ in 0..2 {
        floor.push(run_child(&["--child-floor", d], &[]));
        bulk.push(run_child(&["--child-bulk", d], &[]));
    }
    let best = |v: &[Vec<f64>]| {
        v.iter()
            .min_by(|a, b| a[0].total_cmp(&b[0]))
            .cloned()
            .expect("runs")
    };
    let (f, b) = (best(&floor), best(&bulk));
    println!(
        "read line by line (floor): {:.2} s = {:.0} MB/s, peak {:.0} MB",
        f[0],
        f[1] / 1e6 / f[0],
        f[3] / 1024.0
    );
    println!(
        "cellpath Bulk import:      {:.2} s = {:.0} MB/s, peak {:.0} MB, {} patients → cases",
        b[0],
        b[1] / 1e6 / b[0],
        b[3] / 1024.0,
        b[2]
    );
    // One large bundle: the Synthea resources repeated (fresh ids) to the size asked.
    let resources = synthea();
    let patient = resources
        .iter()
        .find(|r| r["resourceType"] == "Patient")
        .and_then(|r| r["id"].as_str())
        .expect("a patient")
        .to_owned();
    let file = work.join("bundle.json");
    let mut w = BufWriter::new(std::fs::File::create(&file).expect("create"));
    w.write_all(br#"{"resourceType":"Bundle","type":"collection","entry":["#)
        .expect("write");
    let mut written = 0u64;
    let mut first = true;
    let mut buf = Vec::new();
    let mut k = 0;
    'outer: loop {
        for r in &resources {
            let line = serde_json::to_string(&serde_json::json!({"fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap_or_default()), "resource": r})).expect("json");
            buf.clear();
            // Copy 0 keeps the ids, so that the named patient is there.
            if k == 0 {
                buf.extend_from_slice(line.as_bytes());
            } else {
                copy_line(&line, k, &mut buf);
            }
            if !first {
                w.write_all(b",").expect("write");
            }
            first = false;
            w.write_all(&buf).expect("write");
            written += buf.len() as u64;
            if written > bundle_mb * 1024 * 1024 {
                break 'outer;
            }
        }
        k += 1;
    }
    w.write_all(b"]}").expect("write");
    drop(w);
    let r = run_child(
        &["--child-bundle", file.to_str().expect("path")],
        &[("BENCH_PATIENT", &format!("Patient/{patient}"))],
    );
    println!(
        "bundle import: {:.0} MB file in {:.2} s, peak {:.0} MB above the {:.0} MB baseline = {:.2}× the file",
        r[1] / 1e6,
        r[0],
        (r[3] - r[2]) / 1024.0,
        r[2] / 1024.0,
        (r[3] - r[2]) * 1024.0 / r[1]
    );
    let _ = std::fs::remove_dir_all(&work);
}
