//! Imports every JSON file of a FHIR corpus (default `../shared/data/fhir`, the project's
//! shared third-party data) and fails on the first file that does not import or reports
//! nothing. A record about several patients is imported once per patient; files that are
//! not FHIR R4 resources (arrays, helper JSON, older versions) must be refused as a whole,
//! and are counted. CI runs it; the unit tests use the small copies in `tests/data/fhir`.
//!
//! `cargo run -p cellpath-fhir --example fhir_corpus [DIR]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fhir"),
        PathBuf::from,
    );
    let mut files = Vec::new();
    if let Err(e) = json_files(&dir, &mut files) {
        eprintln!(
            "corpus: {} is not readable ({e}); the shared data must sit beside the clone",
            dir.display()
        );
        return ExitCode::from(2);
    }
    files.sort();
    let mut resources = 0;
    let mut several = 0;
    let mut refused = Vec::new();
    for f in &files {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("corpus: {}: {e}", f.display());
                return ExitCode::FAILURE;
            }
        };
        let imports = match cellpath_fhir::import(&bytes) {
            Ok(i) => vec![Ok(i)],
            Err(cellpath_fhir::ImportError::SeveralPatients { patients }) => {
                several += 1;
                patients
                    .into_iter()
                    .map(|p| {
                        let options = cellpath_fhir::Options {
                            patient: Some(p),
                            ..Default::default()
                        };
                        cellpath_fhir::import_with(&bytes, &options)
                    })
                    .collect()
            }
            Err(
                e @ (cellpath_fhir::ImportError::Array
                | cellpath_fhir::ImportError::NotFhir { .. }
                | cellpath_fhir::ImportError::NotR4 { .. }),
            ) => {
                refused.push(format!("{}: {e}", f.display()));
                continue;
            }
            Err(e) => vec![Err(e)],
        };
        for i in imports {
            match i {
                Ok(i) if i.report.resources.is_empty() && i.report.notes.is_empty() => {
                    eprintln!("corpus: {}: empty report", f.display());
                    return ExitCode::FAILURE;
                }
                Ok(i) => resources += i.report.resources.len(),
                Err(e) => {
                    eprintln!("corpus: {}: {e}", f.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    for r in &refused {
        println!("refused: {r}");
    }
    println!(
        "corpus: {} files, {resources} resources reported, {several} naming several patients \
         (imported per patient), {} refused as a whole, from {}",
        files.len(),
        refused.len(),
        dir.display()
    );
    ExitCode::SUCCESS
}
