//! The native case format: TOML written by hand (or the same structure as JSON), parsed
//! strictly. Errors name the place: line and column, and the field path.

use std::fmt;

use crate::Case;

/// Why a native case file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CaseFileError {
    /// 1-based line and column, when the parser knows them.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field path, e.g. `cldn18[0].staining.2+`.
    pub path: Option<String>,
    pub message: String,
}

impl fmt::Display for CaseFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "line {l}, column {c}: ")?;
        }
        if let Some(p) = &self.path {
            write!(f, "at `{p}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

fn non_empty(path: String) -> Option<String> {
    (!path.is_empty() && path != ".").then_some(path)
}

/// Parses and validates a TOML case.
pub fn from_toml(text: &str) -> Result<Case, CaseFileError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, &e, None))?;
    let case: Case = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = non_empty(e.path().to_string());
        toml_error(text, e.inner(), path)
    })?;
    validated(case)
}

fn toml_error(text: &str, e: &toml::de::Error, path: Option<String>) -> CaseFileError {
    let (line, column) = match e.span() {
        Some(span) => {
            let (l, c) = line_column(text, span.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    CaseFileError {
        line,
        column,
        path,
        message: e.message().trim().to_owned(),
    }
}

/// Parses and validates a JSON case.
pub fn from_json(text: &str) -> Result<Case, CaseFileError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let case: Case = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = non_empty(e.path().to_string());
        let inner = e.into_inner();
        CaseFileError {
            line: Some(inner.line()),
            column: Some(inner.column()),
            path,
            message: json_message(&inner),
        }
    })?;
    de.end().map_err(|e| CaseFileError {
        line: Some(e.line()),
        column: Some(e.column()),
        path: None,
        message: json_message(&e),
    })?;
    validated(case)
}

/// A serde_json error's message without its trailing "at line L column C" (callers show
/// the position in their own form).
pub fn json_message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    }
}

fn validated(case: Case) -> Result<Case, CaseFileError> {
    case.validate().map_err(|e| {
        let (path, message) = match e {
            crate::DomainError::At { path, why } => (Some(path), why),
            other => (None, other.to_string()),
        };
        CaseFileError {
            line: None,
            column: None,
            path,
            message,
        }
    })?;
    Ok(case)
}

/// The JSON Schema of the native case format (also describes the TOML form).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Case);
    serde_json::to_value(schema).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[patient]
birth_date = "1969-03"
sex = "female"

[primary]
site = "stomach"
histology = "signet-ring-cell"
extent = "metastatic"

[[cldn18]]
clone = "43-14A"
specimen_date = "2026-09-10"
staining = { "3+" = 20, "2+" = 30, "1+" = 30, "0" = 20 }
"#;

    #[test]
    fn reads_a_hand_written_case() {
        let case = from_toml(GOOD).expect("good case");
        assert_eq!(case.cldn18.len(), 1);
        assert_eq!(case.therapies, None, "absent therapies stay unknown");
    }

    fn err(text: &str) -> CaseFileError {
        from_toml(text).expect_err("should be refused")
    }

    /// The 1-based line on which `needle` appears in `text`.
    fn line_of(text: &str, needle: &str) -> Option<usize> {
        text.find(needle).map(|i| line_column(text, i).0)
    }

    #[test]
    fn impossible_values_name_their_line() {
        let staining_line = line_of(GOOD, "staining =");
        let e = err(&GOOD.replace("\"3+\" = 20", "\"3+\" = 130"));
        assert_eq!(e.line, staining_line, "{e}");
        assert!(e.message.contains("130"), "{e}");
        let e = err(&GOOD.replace("\"3+\" = 20,", "\"4+\" = 20,"));
        assert_eq!(e.line, staining_line, "{e}");
        assert!(e.message.contains("4+"), "{e}");
        let text = format!("{GOOD}\n[[ecog]]\nscore = 7\n");
        let e = err(&text);
        assert_eq!(e.line, line_of(&text, "score = 7"), "{e}");
        assert!(e.message.contains("ECOG"), "{e}");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_path() {
        let text = GOOD.replace("sex = \"female\"", "sex = \"female\"\nnmae = \"x\"");
        let e = err(&text);
        assert_eq!(e.line, line_of(&text, "nmae"), "{e}");
        assert!(e.message.contains("nmae"), "{e}");
    }

    #[test]
    fn percentages_over_100_in_total_are_refused() {
        let e = err(&GOOD.replace("\"0\" = 20", "\"0\" = 80"));
        assert!(e.message.contains("more than 100"), "{e}");
    }

    #[test]
    fn json_errors_carry_pointer_and_position() {
        let e = from_json(r#"{"patient": {"birth_date": "1969-13"}}"#).expect_err("bad month");
        assert_eq!(e.path.as_deref(), Some("patient.birth_date"));
        assert_eq!(e.line, Some(1));
        let e = from_json("{\"patient\": {}} trailing").expect_err("trailing");
        assert!(e.message.contains("trailing"), "{e}");
    }

    #[test]
    fn cross_field_rules_name_the_path() {
        let text = format!(
            "{GOOD}\n[[therapies]]\ndrug = \"oxaliplatin\"\nstart = \"2025-03-01\"\nend = \"2025-01-01\"\n"
        );
        let e = err(&text);
        assert_eq!(e.path.as_deref(), Some("therapies[0].end"), "{e}");
    }
}
