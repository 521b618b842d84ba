//! Reads every ClinicalTrials.gov file under a folder (CI runs it on `../shared/data/ctgov`):
//! each `.json` and `.xml`, counting the studies read, the distinct NCT numbers and the
//! records refused, each refusal printed with its file and pointer. With `--expect
//! FILES,STUDIES,DISTINCT,REFUSED` it fails unless the counts are exactly those.
//!
//! `cargo run -p cellpath-registry --example registry_corpus -- DIR [--expect 312,…]`

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("xml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().ok_or("usage: corpus DIR [--expect F,S,D,R]")?);
    let mut paths = Vec::new();
    files(&dir, &mut paths)?;
    paths.sort();
    let (mut studies, mut refused) = (0usize, 0usize);
    let mut distinct = BTreeSet::new();
    for path in &paths {
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let read = cellpath_registry::read(&name, &std::fs::read(path)?);
        studies += read.studies.len();
        distinct.extend(read.studies.into_iter().map(|s| s.nct_id));
        for e in &read.errors {
            println!("refused: {e}");
        }
        refused += read.errors.len();
    }
    let got = [paths.len(), studies, distinct.len(), refused];
    println!(
        "{} files: {} studies read ({} distinct NCT numbers), {} records refused",
        got[0], got[1], got[2], got[3]
    );
    if let Some(i) = args.iter().position(|a| a == "--expect") {
        let want: Vec<usize> = args
            .get(i + 1)
            .ok_or("--expect FILES,STUDIES,DISTINCT,REFUSED")?
            .split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        if want != got {
            return Err(format!(
                "expected {want:?} (files, studies, distinct, refused), got {got:?}"
            )
            .into());
        }
    }
    Ok(())
}
