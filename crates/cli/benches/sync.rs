//! `cellpath registry sync` over loopback from the local stand-in of the ClinicalTrials.gov
//! API: BENCH_STUDIES studies (10,000 by default, made from a real record by varying its
//! number, title and conditions) synced into a fresh data folder, then every one of them
//! changed (status and last update) and synced again — the figure the issue asks for.
//! Beside them, in the same run: `cellpath registry import` of the same studies from one
//! local file (no HTTP, no paging: the floor the sync stands on). Pages of 1,000 (the API's
//! most) and no rate limit: the real API's pace (about 50 requests a minute) is the
//! registry's, not ours.

use std::process::Command;
use std::time::Instant;

use cellpath_ctgov_replay::Replay;
use serde_json::Value;

fn studies(n: usize, status: &str, updated: &str) -> Vec<Value> {
    let base: Value =
        serde_json::from_str(include_str!("../../registry/tests/data/NCT06008288.json"))
            .expect("fixture");
    (0..n)
        .map(|i| {
            let mut s = base.clone();
            let p = &mut s["protocolSection"];
            p["identificationModule"]["nctId"] = format!("NCT9{i:07}").into();
            p["identificationModule"]["briefTitle"] = format!(
                "{} (variant {i})",
                p["identificationModule"]["briefTitle"]
                    .as_str()
                    .unwrap_or("")
            )
            .into();
            p["conditionsModule"]["conditions"][0] = format!("Condition {}", i % 97).into();
            p["statusModule"]["overallStatus"] = status.into();
            p["statusModule"]["lastUpdatePostDateStruct"]["date"] = updated.into();
            s
        })
        .collect()
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

fn main() {
    let n: usize = std::env::var("BENCH_STUDIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let root = std::env::temp_dir().join(format!("cellpath-bench-sync-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("mkdir");
    let dir = |name: &str| root.join(name).to_string_lossy().into_owned();

    let first = studies(n, "RECRUITING", "2026-01-01");
    let changed = studies(n, "COMPLETED", "2099-12-31");
    let replay = Replay::start("127.0.0.1:0", first.clone()).expect("replay");
    let url = replay.url();
    let sync = |data: &str| {
        run(&[
            "registry",
            "sync",
            "--base-url",
            &url,
            "--condition",
            "",
            "--page-size",
            "1000",
            "--max-rate",
            "1000000",
            "--data-dir",
            data,
        ])
    };

    println!("registry sync over loopback, {n} studies, pages of 1,000");
    let new = sync(&dir("sync"));
    replay.set_studies(changed.clone());
    let again = sync(&dir("sync"));

    // The floor: the same studies imported from one file, no HTTP.
    let file = root.join("studies.json");
    std::fs::write(&file, serde_json::to_vec(&first).expect("json")).expect("write");
    let f = file.to_string_lossy().into_owned();
    let import_new = run(&["registry", "import", &f, "--data-dir", &dir("import")]);
    std::fs::write(&file, serde_json::to_vec(&changed).expect("json")).expect("write");
    let import_changed = run(&["registry", "import", &f, "--data-dir", &dir("import")]);

    let rate = |s: f64| n as f64 / s;
    println!("| what | seconds | studies/s |");
    println!("|---|---:|---:|");
    println!("| sync, all new | {new:.2} | {:.0} |", rate(new));
    println!(
        "| sync, all changed (a new version each, with its differences) | {again:.2} | {:.0} |",
        rate(again)
    );
    println!(
        "| floor: import from a file, all new | {import_new:.2} | {:.0} |",
        rate(import_new)
    );
    println!(
        "| floor: import from a file, all changed | {import_changed:.2} | {:.0} |",
        rate(import_changed)
    );
    let _ = std::fs::remove_dir_all(&root);
}
