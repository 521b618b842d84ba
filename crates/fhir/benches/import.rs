//! Import throughput on the Synthea R4 bundles in `shared/data/fhir/synthea-r4-cancer`,
//! beside a plain `serde_json::Value` parse of the same bytes in the same run (the floor).
//! Rounds alternate between the two so that machine noise hits both alike.
//! `cargo bench -p cellpath-fhir` (set `BENCH_ROUNDS` to change the 15 rounds).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fhir/synthea-r4-cancer");
    // The full Synthea bundles when the shared corpus is beside the clone; otherwise the
    // trimmed copies kept in the repository, said out loud since the figures then differ.
    let dir = if shared.is_dir() {
        shared
    } else {
        eprintln!(
            "note: {} is not there; measuring the trimmed fixtures in tests/data/fhir/synthea",
            shared.display()
        );
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fhir/synthea")
    };
    let mut bundles: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("the Synthea bundles")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    bundles.sort();
    let bytes: usize = bundles.iter().map(Vec::len).sum();
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let (mut floor, mut full) = (Vec::new(), Vec::new());
    let mut resources = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        for b in &bundles {
            black_box(serde_json::from_slice::<serde_json::Value>(b).expect("json"));
        }
        floor.push(t.elapsed());
        let t = Instant::now();
        for b in &bundles {
            let i = cellpath_fhir::import(b).expect("import");
            resources = black_box(i.report.resources.len());
        }
        full.push(t.elapsed());
    }
    let (f, i) = (median(floor), median(full));
    let mbs = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "cellpath FHIR import benchmark — {} Synthea bundles, {:.1} MB, median of {rounds} rounds",
        bundles.len(),
        bytes as f64 / 1e6
    );
    println!(
        "serde_json::Value parse (floor): {f:?} = {:.0} MB/s",
        mbs(f)
    );
    println!(
        "cellpath_fhir::import:           {i:?} = {:.0} MB/s ({resources} resources in the last bundle)",
        mbs(i)
    );
    println!(
        "ratio import / floor: {:.2}×",
        i.as_secs_f64() / f.as_secs_f64()
    );
}
