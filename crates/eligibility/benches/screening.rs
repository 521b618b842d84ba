//! Screening benchmark (a bench binary: `cargo bench -p cellpath-eligibility`).
//!
//! 1. one case against the shipped catalogue, with full bilingual explanations;
//! 2. one case against a 400-programme synthetic catalogue, with explanations;
//! 3. the MatchMiner-scale workload: 60,000 synthetic patients × 400 programmes, verdicts
//!    only (the re-screening path), on all cores.
//!
//! Beside them, a floor measured in the same run: the same 24 million (case, programme)
//! pairs visited with no evaluation at all. Set `BENCH_CASES` to shrink the batch.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cellpath_domain::{
    CancerSite, Case, Cldn18Result, Date, Ecog, EcogResult, Her2Result, Histology, Intensity,
    Metastasis, PartialDate, Patient, PerIntensity, Percent, PrimaryCancer, ProgressionEvent,
    Staining, SystemicTherapy, TherapySetting,
};
use cellpath_eligibility::{Catalogue, Programme, evaluate, facts::Facts, shipped, verdict};

/// A small deterministic generator (xorshift64*), so every run screens the same cases.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn synthetic_case(rng: &mut Rng) -> Case {
    let base = Date::parse("2015-01-01").expect("date");
    let birth = base.add_days(-(rng.below(365 * 60) as i64) - 365 * 18);
    let mut c = Case::new(Patient {
        birth_date: Some(if rng.below(4) == 0 {
            PartialDate::parse(&birth.to_string()[..4]).expect("year")
        } else {
            PartialDate::from_date(birth)
        }),
        ..Patient::default()
    });
    let sites = [
        CancerSite::Stomach,
        CancerSite::Gej,
        CancerSite::Pancreas,
        CancerSite::Oesophagus,
    ];
    let hist = [
        Histology::Adenocarcinoma,
        Histology::SignetRingCell,
        Histology::SquamousCell,
    ];
    c.primary = Some(PrimaryCancer {
        site: Some(sites[rng.below(4) as usize]),
        histology: Some(hist[rng.below(3) as usize]),
        stage: Some(["II", "III", "IV"][rng.below(3) as usize].to_owned()),
        ..PrimaryCancer::default()
    });
    if rng.below(2) == 0 {
        c.metastases = Some(vec![Metastasis {
            site: "peritoneum".into(),
            date: None,
            source: None,
        }]);
    }
    if rng.below(5) != 0 {
        let a = rng.below(40) as f64;
        let b = rng.below(40) as f64;
        c.cldn18.push(Cldn18Result {
            staining: Staining::PerIntensity(PerIntensity {
                three: Percent::new(a).ok(),
                two: Percent::new(b).ok(),
                one: Percent::new(10.0).ok(),
                zero: Percent::new(90.0 - a - b).ok(),
            }),
            clone: Some("43-14A".into()),
            specimen: None,
            specimen_date: Some(PartialDate::from_date(base.add_days(3000))),
            preliminary: false,
            source: None,
        });
    }
    if rng.below(5) != 0 {
        c.her2.push(Her2Result {
            ihc: Intensity::new(rng.below(4) as u8).ok(),
            ish: None,
            interpretation: None,
            date: None,
            preliminary: false,
            source: None,
        });
    }
    c.ecog.push(EcogResult {
        score: Ecog::new(rng.below(3) as i64).expect("ecog"),
        date: None,
        source: None,
    });
    let lines = rng.below(5);
    let mut therapies = Vec::new();
    let mut day = 2000;
    for l in 0..lines {
        for d in 0..2 {
            therapies.push(SystemicTherapy {
                drug: format!("drug-{l}-{d}"),
                start: PartialDate::from_date(base.add_days(day)),
                end: Some(PartialDate::from_date(base.add_days(day + 120))),
                setting: TherapySetting::Advanced,
                reason_stopped: None,
                other_cancer: None,
                unidentified: false,
                source: None,
            });
        }
        c.progressions.push(ProgressionEvent {
            date: PartialDate::from_date(base.add_days(day + 130)),
            basis: None,
            source: None,
        });
        day += 150;
    }
    c.therapies = Some(therapies);
    c
}

/// 400 programmes: the shipped ones and variants of a CLDN18.2 programme with different
/// thresholds, lines, ages and washout windows (as a registry of similar trials would be).
fn synthetic_catalogue(n: usize) -> Catalogue {
    let mut programmes: Vec<Programme> = shipped().expect("shipped").programmes().to_vec();
    let mut rng = Rng(0x5eed);
    while programmes.len() < n {
        let i = programmes.len();
        let text = format!(
            r#"
id = "synthetic-{i}"
name = {{ en = "Synthetic {i}", zh-CN = "合成 {i}" }}
kind = "trial"
sponsor = "Benchmark"
regions = ["CN"]
[status]
value = "open"
as_of = "2026-01"
source = "s"
[[sources]]
id = "s"
title = "Benchmark"
url = "https://example.org/"
[[criteria]]
id = "age"
kind = "inclusion"
text = {{ en = "age", zh-CN = "年龄" }}
rule = {{ all = [{{ age_at_least = 18 }}, {{ age_at_most = {max_age} }}] }}
source = "s"
request = {{ en = "x", zh-CN = "x" }}
[[criteria]]
id = "disease"
kind = "inclusion"
text = {{ en = "disease", zh-CN = "疾病" }}
rule = {{ all = [{{ primary_site = ["stomach", "gej"] }}, {{ adenocarcinoma = true }}, {{ advanced = true }}] }}
source = "s"
request = {{ en = "x", zh-CN = "x" }}
[[criteria]]
id = "cldn18"
kind = "inclusion"
text = {{ en = "cldn18", zh-CN = "cldn18" }}
rule = {{ biomarker = {{ marker = "CLDN18.2", min_intensity = "{int}+", min_percent = {pct} }} }}
source = "s"
request = {{ en = "x", zh-CN = "x" }}
[[criteria]]
id = "her2"
kind = "exclusion"
text = {{ en = "her2", zh-CN = "her2" }}
rule = {{ biomarker = {{ marker = "HER2", status = "positive" }} }}
source = "s"
request = {{ en = "x", zh-CN = "x" }}
[[criteria]]
id = "lines"
kind = "inclusion"
text = {{ en = "lines", zh-CN = "线数" }}
rule = {{ all = [{{ prior_lines_at_least = {min_lines} }}, {{ prior_lines_at_most = {max_lines} }}, {{ last_line_failed = true }}] }}
source = "s"
request = {{ en = "x", zh-CN = "x" }}
[[criteria]]
id = "ecog"
kind = "inclusion"
text = {{ en = "ecog", zh-CN = "ecog" }}
rule = {{ ecog_at_most = {ecog} }}
source = "s"
request = {{ en = "x", zh-CN = "x" }}
[[criteria]]
id = "washout"
kind = "exclusion"
text = {{ en = "washout", zh-CN = "洗脱" }}
rule = {{ therapy_within_days = {washout} }}
source = "s"
request = {{ en = "x", zh-CN = "x" }}
"#,
            max_age = 70 + rng.below(15),
            int = 1 + rng.below(3),
            pct = 30 + rng.below(50),
            min_lines = rng.below(3),
            max_lines = 3 + rng.below(3),
            ecog = 1 + rng.below(2),
            washout = 14 + rng.below(28),
        );
        programmes
            .push(Programme::from_toml(&format!("synthetic-{i}.toml"), &text).expect("synthetic"));
    }
    Catalogue::from_programmes(programmes)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

/// Runs `work` over the cases split across all cores; returns the elapsed time.
fn parallel(cases: &[Case], work: &(dyn Fn(&Case) -> u64 + Sync)) -> (Duration, u64) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = cases.len().div_ceil(threads);
    let t = Instant::now();
    let total = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(work).sum::<u64>()))
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    (t.elapsed(), total)
}

fn main() {
    let n_cases: usize = std::env::var("BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    let as_of = Date::parse("2026-11-20").expect("date");
    let shipped_cat = shipped().expect("shipped");
    let big = synthetic_catalogue(400);
    let mut rng = Rng(42);
    let cases: Vec<Case> = (0..n_cases).map(|_| synthetic_case(&mut rng)).collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "cellpath screening benchmark — {n_cases} cases, {} programmes, {threads} threads",
        big.programmes().len()
    );

    let example = &cases[0];
    let one_shipped = time(2000, || {
        let f = Facts::new(example, as_of);
        shipped_cat
            .programmes()
            .iter()
            .map(|p| evaluate(p, &f).criteria.len())
            .sum::<usize>()
    });
    println!(
        "one case × shipped catalogue ({} programmes), explained: {one_shipped:?} (median of 2000)",
        shipped_cat.programmes().len()
    );
    let one_big = time(200, || {
        let f = Facts::new(example, as_of);
        big.programmes()
            .iter()
            .map(|p| evaluate(p, &f).criteria.len())
            .sum::<usize>()
    });
    println!("one case × 400 programmes, explained: {one_big:?} (median of 200)");

    let floor = |c: &Case| -> u64 {
        big.programmes()
            .iter()
            .map(|p| p.criteria().len() as u64 + c.ecog.len() as u64)
            .sum()
    };
    let screen = |c: &Case| -> u64 {
        let f = Facts::new(c, as_of);
        big.programmes().iter().map(|p| verdict(p, &f) as u64).sum()
    };
    let (floor_t, _) = parallel(&cases, &floor);
    let (batch_t, checksum) = parallel(&cases, &screen);
    let pairs = (cases.len() * big.programmes().len()) as f64;
    println!(
        "floor (visit {} pairs, no evaluation): {floor_t:?}",
        cases.len() * big.programmes().len()
    );
    println!(
        "batch re-screen, verdicts only: {batch_t:?} = {:.1} M programme evaluations/s (checksum {checksum})",
        pairs / batch_t.as_secs_f64() / 1e6
    );
    let sample = &cases[..cases.len().min(1000)];
    let explained = |c: &Case| -> u64 {
        let f = Facts::new(c, as_of);
        big.programmes()
            .iter()
            .map(|p| evaluate(p, &f).criteria.len() as u64)
            .sum()
    };
    let (exp_t, _) = parallel(sample, &explained);
    println!(
        "batch with full explanations ({} cases): {exp_t:?} → {:.1} s extrapolated to {n_cases}",
        sample.len(),
        exp_t.as_secs_f64() * n_cases as f64 / sample.len() as f64
    );
}
