//! Reading a case from a file or standard input, whatever its form: native TOML, native
//! JSON, or a FHIR R4 bundle. Errors name the file, line and column, or the field path.

use std::io::Read;

use anyhow::{Context, Result, anyhow, bail};
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

/// Native case files and other JSON documents are small; FHIR inputs have their own,
/// configurable limit ([`FhirInput::max_input_bytes`]).
const MAX_INPUT: u64 = 256 * 1024 * 1024;

/// Reads a whole file (or standard input), refusing it before reading when its size is
/// known to be over `limit`, and after `limit` bytes otherwise.
fn read_limited(file: &str, limit: u64) -> Result<Vec<u8>> {
    let name = display_name(file);
    let too_large = |size: u64| {
        anyhow!(
            "{name}: {}",
            cellpath_fhir::ImportError::TooLarge { size, limit }
        )
    };
    let mut bytes = Vec::new();
    if file == "-" {
        std::io::stdin()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {file}"))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        if size > limit {
            return Err(too_large(size));
        }
        bytes.reserve_exact(usize::try_from(size).unwrap_or(0));
        f.take(limit + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {file}"))?;
    }
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn read_all(file: &str) -> Result<Vec<u8>> {
    read_limited(file, MAX_INPUT)
}

/// How FHIR inputs are read: which patient, and how large an input may be.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct FhirInput {
    /// When a FHIR record holds several patients, import this one (`Patient/ID`, the
    /// entry's fullUrl, or the bare id).
    #[arg(long, value_name = "REF")]
    pub patient: Option<String>,
    /// Refuse FHIR inputs larger than this many MiB, before reading them (default 256).
    #[arg(long, value_name = "MIB", env = "CELLPATH_FHIR_MAX_INPUT_MB")]
    pub max_input_mb: Option<u64>,
}

impl FhirInput {
    pub fn options(&self) -> cellpath_fhir::Options {
        let mut o = cellpath_fhir::Options {
            patient: self.patient.clone(),
            ..Default::default()
        };
        if let Some(mb) = self.max_input_mb {
            o.max_input_bytes = mb.saturating_mul(1024 * 1024);
        }
        o
    }
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

pub fn load_case(file: &str, fhir: &FhirInput) -> Result<Loaded> {
    let name = display_name(file);
    let options = fhir.options();
    let bytes = read_limited(file, options.max_input_bytes)?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let first_byte = first.map(|i| body[i]);
    if first_byte == Some(b'<') {
        bail!("{name}: {}", cellpath_fhir::ImportError::Xml);
    }
    // `[patient]` and `[[cldn18]]` open TOML tables; `[` before anything else opens JSON.
    let rest = &body[first.unwrap_or(0)..];
    let toml_header = rest
        .iter()
        .find(|b| **b != b'[')
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'"');
    let looks_json = file.ends_with(".json")
        || file.ends_with(".ndjson")
        || first_byte == Some(b'{')
        || (first_byte == Some(b'[') && !toml_header);
    if file.ends_with(".toml") || !looks_json {
        let text = utf8(name, &bytes)?;
        let case = native::from_toml(text).map_err(|e| located(name, &e))?;
        return Ok(Loaded { case, fhir: None });
    }
    // A FHIR resource names its type; a native case never has `resourceType`.
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "resourceType", default)]
        resource_type: Option<serde::de::IgnoredAny>,
    }
    let fhir_like = first_byte == Some(b'[')
        || serde_json::from_slice::<Peek>(body).map_or(true, |p| p.resource_type.is_some());
    if fhir_like {
        let imported = cellpath_fhir::import_with(body, &options).map_err(|e| match e {
            cellpath_fhir::ImportError::Json {
                line,
                column,
                message,
            } => {
                anyhow!("{name}:{line}:{column}: {message}")
            }
            other => anyhow!("{name}: {other}"),
        })?;
        return Ok(Loaded {
            case: imported.case,
            fhir: Some(imported.report),
        });
    }
    if bytes.len() as u64 > MAX_INPUT {
        bail!("{name}: a native case file over {MAX_INPUT} bytes is not a case file");
    }
    let text = utf8(name, &bytes)?;
    let case = native::from_json(text).map_err(|e| located(name, &e))?;
    Ok(Loaded { case, fhir: None })
}

fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = native::line_column(
            &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
            e.valid_up_to(),
        );
        anyhow!("{name}:{line}:{column}: the file is not valid UTF-8")
    })
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
