//! The report of the demo case — model and HTML, both kinds and languages — beside the floor
//! of serialising the same model to JSON, in the same run; the page's size and the process's
//! peak memory before and after the renders (a render holds little more than its page).
//!
//! `cargo bench -p cellpath-report --bench report` (BENCH_ROUNDS, default 2,000).

use std::time::{Duration, Instant};

use cellpath_domain::{Date, Lang};
use cellpath_report::{ConsensusIn, Input, Kind, PlanRow, build, html::html};

/// The process's peak resident memory so far (Linux), in KB.
fn peak_kb() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn quantile(v: &mut [Duration], q: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let record = cellpath_domain::native::from_toml(include_str!(
        "../../../examples/cases/gastric-cldn18-eligible.toml"
    ))
    .expect("example");
    let catalogue = cellpath_eligibility::shipped().expect("catalogue");
    let evidence = cellpath_eligibility::evidence::shipped().expect("evidence");
    let on = Date::parse("2026-11-28").expect("date");
    let screening = cellpath_eligibility::screen(&catalogue, &record, on, &[]);
    let consensus = ConsensusIn {
        version: 1,
        recommendation: "proceed-to-car-t-evaluation".into(),
        recommendation_words: "Proceed to CAR-T evaluation".into(),
        summary: "Proceed; repeat the IHC on fresh tissue.".into(),
        answers: std::array::from_fn(|i| format!("The consensus on question {}.", i + 1)),
        dissent: vec![("Dr Path".into(), "Repeat the IHC first.".into())],
        signatures: vec![
            ("Dr Onc".into(), String::new(), on),
            ("Dr Path".into(), String::new(), on),
        ],
    };
    println!("cellpath report benchmark — the demo case, {rounds} rounds per workload");
    for (kind, lang) in [
        (Kind::Mdt, Lang::En),
        (Kind::Mdt, Lang::ZhCn),
        (Kind::Patient, Lang::ZhCn),
    ] {
        let names: Vec<(String, String)> = catalogue
            .programmes()
            .iter()
            .map(|p| (p.id.clone(), p.name.get(lang).to_owned()))
            .collect();
        let input = Input {
            case_id: "c-demo-1",
            kind,
            lang,
            record: &record,
            record_version: 1,
            consensus: &consensus,
            screening: &screening,
            screened_on: on,
            catalogue_version: catalogue.version(),
            programme_names: &names,
            evidence: &evidence,
            plan: vec![PlanRow {
                step: "Leukapheresis".into(),
                when: "2026-12-09 – 2026-12-10".into(),
                source: "journey plan".into(),
            }],
        };
        let model = build(&input);
        let (mut floor, mut full) = (Vec::new(), Vec::new());
        let mut size = 0usize;
        let peak_before = peak_kb();
        for _ in 0..rounds {
            let t = Instant::now();
            let json = serde_json::to_string(&model).expect("json");
            floor.push(t.elapsed());
            std::hint::black_box(json);
            let t = Instant::now();
            let page = html(&build(&input));
            full.push(t.elapsed());
            size = page.len();
            std::hint::black_box(page);
        }
        println!(
            "{:?} {}: model + HTML p50 {:.3} ms, p99 {:.3} ms ({} KB page; peak memory {} → {} MB over the renders) | floor, the model to JSON: p50 {:.3} ms",
            kind,
            if lang == Lang::ZhCn { "zh-CN" } else { "en" },
            quantile(&mut full, 0.5).as_secs_f64() * 1e3,
            quantile(&mut full, 0.99).as_secs_f64() * 1e3,
            size / 1024,
            peak_before / 1024,
            peak_kb() / 1024,
            quantile(&mut floor, 0.5).as_secs_f64() * 1e3,
        );
    }
}
