//! Reading a case from a file or standard input, whatever its form: native TOML, native
//! JSON, or a FHIR R4 bundle. Errors name the file, line and column, or the field path.

use std::io::Read;

use anyhow::{Context, Result, anyhow};
use cellpath_domain::{Case, native};
use cellpath_fhir::ImportReport;

pub struct Loaded {
    pub case: Case,
    /// The import report, when the input was FHIR.
    pub fhir: Option<ImportReport>,
}

pub fn display_name(file: &str) -> &str {
    if file == "-" { "<stdin>" } else { file }
}

/// Case files are small; refuse anything absurd rather than exhaust memory.
const MAX_INPUT: u64 = 256 * 1024 * 1024;

fn read_all(file: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if file == "-" {
        std::io::stdin()
            .take(MAX_INPUT)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        std::fs::File::open(file)
            .with_context(|| format!("cannot open {file}"))?
            .take(MAX_INPUT)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {file}"))?;
    }
    Ok(bytes)
}

/// Reads a JSON document of type `T`; errors name the file, line, column and field path.
pub fn load_json<T: serde::de::DeserializeOwned>(file: &str) -> Result<T> {
    let name = display_name(file);
    let bytes = read_all(file)?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let position = |e: &serde_json::Error, path: &str| {
        let message = native::json_message(e);
        let at = if path.is_empty() || path == "." {
            String::new()
        } else {
            format!(" at `{path}`:")
        };
        anyhow!("{name}:{}:{}:{at} {message}", e.line(), e.column())
    };
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        position(e.inner(), &path)
    })?;
    de.end().map_err(|e| position(&e, ""))?;
    Ok(value)
}

/// Reads a UTF-8 text file (or standard input).
pub fn load_text(file: &str) -> Result<String> {
    String::from_utf8(read_all(file)?)
        .map_err(|_| anyhow!("{}: the file is not valid UTF-8", display_name(file)))
}

pub fn load_case(file: &str) -> Result<Loaded> {
    let name = display_name(file);
    let bytes = read_all(file)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let (line, column) = native::line_column(
            &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
            e.valid_up_to(),
        );
        anyhow!("{name}:{line}:{column}: the file is not valid UTF-8")
    })?;
    let body = text.trim_start_matches('\u{feff}').trim_start();
    // `[patient]` and `[[cldn18]]` open TOML tables; `[` before anything else opens JSON.
    let toml_header = body
        .trim_start_matches('[')
        .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '"');
    let looks_json =
        file.ends_with(".json") || body.starts_with('{') || (body.starts_with('[') && !toml_header);
    if file.ends_with(".toml") || !looks_json {
        let case = native::from_toml(text).map_err(|e| located(name, &e))?;
        return Ok(Loaded { case, fhir: None });
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let message = native::json_message(&e);
        anyhow!("{name}:{}:{}: {message}", e.line(), e.column())
    })?;
    if value.get("resourceType").is_some() || !value.is_object() {
        let imported = cellpath_fhir::import_value(&value);
        return Ok(Loaded {
            case: imported.case,
            fhir: Some(imported.report),
        });
    }
    let case = native::from_json(text).map_err(|e| located(name, &e))?;
    Ok(Loaded { case, fhir: None })
}

fn located(name: &str, e: &native::CaseFileError) -> anyhow::Error {
    let place = match (e.line, e.column) {
        (Some(l), Some(c)) => format!("{name}:{l}:{c}"),
        _ => name.to_owned(),
    };
    match &e.path {
        Some(p) => anyhow!("{place}: at `{p}`: {}", e.message),
        None => anyhow!("{place}: {}", e.message),
    }
}
