//! `cellpath case import-bulk`: a FHIR Bulk Data export (ndjson) into one native case file
//! per patient, streamed, with progress on standard error and a summary.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use cellpath_fhir::{Bulk, Options};

/// The `.ndjson` files of an export folder (sorted, so that runs are repeatable), or the one
/// file given.
fn ndjson_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read the folder {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{}: no .ndjson files — a FHIR Bulk Data export has one per resource type \
             (Patient.ndjson, Condition.ndjson, …)",
            path.display()
        );
    }
    Ok(files)
}

/// A file name for a patient reference: its id, with anything unsafe replaced.
fn file_name(patient: &str) -> String {
    let id = patient.rsplit('/').next().unwrap_or(patient);
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let safe = safe.trim_start_matches('.');
    if safe.is_empty() {
        "patient".to_owned()
    } else {
        safe.to_owned()
    }
}

pub fn import_bulk(
    path: &Path,
    out_dir: &Path,
    max_input_mb: u64,
    out: &mut impl Write,
) -> Result<()> {
    let files = ndjson_files(path)?;
    let limit = max_input_mb.saturating_mul(1024 * 1024);
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    if total > limit {
        bail!(
            "{}: {}",
            path.display(),
            cellpath_fhir::ImportError::TooLarge { size: total, limit }
        );
    }
    let started = Instant::now();
    let mut bulk = Bulk::new(Options {
        patient: None,
        max_input_bytes: limit,
    });
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut done = 0u64;
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file =
            std::fs::File::open(f).with_context(|| format!("cannot open {}", f.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        bulk.read(&name, BufReader::with_capacity(1 << 20, file))
            .with_context(|| format!("cannot read {}", f.display()))?;
        done += size;
        if progress {
            eprint!(
                "\rread {name} — {:.1} of {:.1} MB",
                done as f64 / 1e6,
                total as f64 / 1e6
            );
        }
    }
    if progress {
        eprintln!();
    }
    let result = bulk.finish();
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = Vec::new();
    for c in &result.cases {
        let mut name = file_name(&c.patient);
        // Two ids that differ only in unsafe characters must not overwrite each other.
        if written.contains(&name) {
            name = format!("{name}-{}", written.len());
        }
        let target = out_dir.join(format!("{name}.toml"));
        let text = toml::to_string(&c.import.case).context("serialising a case")?;
        let header = format!(
            "# Imported from the FHIR Bulk Data export {} for {} — confirm the lines of therapy, then `cellpath case validate`.\n",
            path.display(),
            c.patient
        );
        let notes: String = c
            .import
            .report
            .notes
            .iter()
            .map(|n| format!("# note: {n}\n"))
            .collect();
        std::fs::write(&target, format!("{header}{notes}{text}"))
            .with_context(|| format!("cannot write {}", target.display()))?;
        written.push(name);
    }
    let secs = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "{} patients → {} case files in {}",
        result.cases.len(),
        written.len(),
        out_dir.display()
    )?;
    writeln!(
        out,
        "{} resources in {} files, {:.1} MB in {secs:.2} s ({:.0} MB/s); {} repeated, counted once",
        result.resources,
        files.len(),
        result.bytes as f64 / 1e6,
        result.bytes as f64 / 1e6 / secs.max(1e-9),
        result.repeated
    )?;
    let kept: Vec<String> = result
        .kept_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    writeln!(out, "read: {}", kept.join(", "))?;
    let skipped: Vec<String> = result
        .skipped_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    writeln!(out, "not used: {}", skipped.join(", "))?;
    for c in &result.cases {
        let deceased = if c.import.case.patient.deceased {
            "  DECEASED"
        } else {
            ""
        };
        let primary = c
            .import
            .case
            .primary
            .as_ref()
            .and_then(|p| p.site_text.clone())
            .unwrap_or_else(|| "no cancer under evaluation".into());
        writeln!(out, "  {}: {primary}{deceased}", c.patient)?;
    }
    if !result.problems.is_empty() {
        for p in &result.problems {
            eprintln!("{}:{}: {}", p.file, p.line, p.message);
        }
        bail!(
            "{} lines could not be read (listed above); the other patients' cases were written",
            result.problems.len()
        );
    }
    Ok(())
}
