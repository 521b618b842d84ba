//! `ctgov-replay FOLDER [--bind ADDR] [--throttle-every N]`: serves the API v2 JSON studies of
//! a folder as ClinicalTrials.gov's `/api/v2/studies` would, until stopped. The folder is read
//! again at every first page, so an edited study is what the next `cellpath registry sync`
//! sees.

use std::path::PathBuf;
use std::process::ExitCode;

use cellpath_ctgov_replay::{Faults, Replay};

const USAGE: &str = "usage: ctgov-replay FOLDER [--bind 127.0.0.1:8787] [--throttle-every N]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut folder: Option<PathBuf> = None;
    let mut bind = "127.0.0.1:8787".to_owned();
    let mut faults = Faults {
        retry_after_secs: 1,
        ..Faults::default()
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bind" => match args.next() {
                Some(v) => bind = v,
                None => return usage("--bind needs an address"),
            },
            "--throttle-every" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => faults.throttle_every = Some(n),
                None => return usage("--throttle-every needs a number"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if folder.is_none() && !a.starts_with('-') => folder = Some(a.into()),
            _ => return usage(&format!("unexpected argument `{a}`")),
        }
    }
    let Some(folder) = folder else {
        return usage("the folder of recorded studies is missing");
    };
    match Replay::from_folder(&bind, &folder) {
        Ok(replay) => {
            replay.set_faults(faults);
            println!(
                "ctgov-replay: {} studies from {} at {}",
                replay.len(),
                folder.display(),
                replay.url()
            );
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("error: cannot serve {} on {bind}: {e}", folder.display());
            ExitCode::from(2)
        }
    }
}

fn usage(why: &str) -> ExitCode {
    eprintln!("error: {why}\n{USAGE}");
    ExitCode::from(2)
}
