//! The report as a PDF — the MDT report in both languages and the patient's summary — beside
//! the floor measured in the same run, interleaved: one blank page compiled and written by
//! the same engine with the same fonts. Every compile is cold (the engine evicts Typst's
//! memo cache after each, as the server's does). Memory: the peak resident growth of the
//! engine with its fonts, and of the first report's render on top, from resetting the
//! process's high-water mark just before each (Linux clear_refs).
//!
//! `cargo bench -p cellpath-report-pdf --bench pdf` (BENCH_ROUNDS, default 100).

use std::time::{Duration, Instant};

use cellpath_domain::Lang;
use cellpath_report::{Kind, sample};

fn status_kb(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `f` and answers how far the resident memory rose above where it was, in KB.
fn peak_growth(f: impl FnOnce()) -> usize {
    // "5" resets the peak resident size to the current one (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kb("VmRSS:");
    f();
    status_kb("VmHWM:").saturating_sub(before)
}

fn quantile(v: &mut [Duration], q: f64) -> f64 {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    println!("cellpath PDF benchmark — the example report, {rounds} rounds per workload");
    // Memory first, while the process is fresh: the engine with its fonts (a blank page),
    // then what the first report's render adds on top (the allocator keeps what later
    // renders free, so only the first growth says what a render needs).
    let engine_kb = peak_growth(|| {
        std::hint::black_box(cellpath_report_pdf::blank().expect("blank"));
    });
    let first = sample(Kind::Mdt, Lang::ZhCn);
    let render_kb = peak_growth(|| {
        std::hint::black_box(cellpath_report_pdf::pdf(&first).expect("pdf"));
    });
    println!(
        "memory: the engine and fonts with a blank page {} MB; one MDT report (zh-CN) on top of that {} MB at its peak",
        engine_kb / 1024,
        render_kb / 1024
    );
    for (kind, lang) in [
        (Kind::Mdt, Lang::En),
        (Kind::Mdt, Lang::ZhCn),
        (Kind::Patient, Lang::ZhCn),
    ] {
        let report = sample(kind, lang);
        let (mut floor, mut full) = (Vec::new(), Vec::new());
        let mut size = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let b = cellpath_report_pdf::blank().expect("blank");
            floor.push(t.elapsed());
            std::hint::black_box(b);
            let t = Instant::now();
            let pdf = cellpath_report_pdf::pdf(&report).expect("pdf");
            full.push(t.elapsed());
            size = pdf.len();
            std::hint::black_box(pdf);
        }
        println!(
            "{:?} {}: PDF p50 {:.1} ms, p90 {:.1} ms ({} KB) | floor, a blank page: p50 {:.1} ms, p90 {:.1} ms",
            kind,
            report.lang,
            quantile(&mut full, 0.5),
            quantile(&mut full, 0.9),
            size / 1024,
            quantile(&mut floor, 0.5),
            quantile(&mut floor, 0.9),
        );
    }
    println!(
        "process peak resident memory: {} MB",
        status_kb("VmHWM:") / 1024
    );
}
