//! The cellpath case record: pure types for one patient's oncology history, parsed at the
//! edge so that nothing downstream sees an impossible value.

mod date;
pub mod diff;
pub mod drugs;
mod fitness;
pub mod lifecycle;
pub mod lines;
mod measure;
pub mod merge;
pub mod native;
mod record;
pub mod text;

pub use date::{Date, PartialDate};
pub use fitness::{
    Detection, InfectionMarker, InfectionResult, LvefResult, PregnancyResult, PregnancyStatus,
};
pub use lines::{Line, LinesOfTherapy, lines_of_therapy};
pub use measure::{Ecog, Intensity, LabTest, Percent, Unit};
pub use record::*;
pub use text::{Bi, Lang};

/// A data file (catalogue, journey template) that was refused: the file, the line when
/// known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl FileError {
    pub fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// A TOML parse or schema error, located at its line.
    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        let line = e.span().map(|s| native::line_column(text, s.start).0);
        Self::new(file, line, e.message().trim())
    }
}

/// A public source a clinical figure rests on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    pub id: String,
    pub title: String,
    pub url: String,
    /// The source's own date; absent when the source shows none ("n/s").
    #[serde(default)]
    pub date: Option<PartialDate>,
}

impl SourceRef {
    /// `title (date) url`, for evidence and reports.
    pub fn cite(&self) -> String {
        format!(
            "{} ({}) {}",
            self.title,
            self.date
                .map_or_else(|| "date not shown".to_owned(), |d| d.to_string()),
            self.url
        )
    }
}

/// The format marker of native case files.
pub const CASE_FORMAT: &str = "cellpath-case/1";

/// A value or record that breaks a rule of the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A single value that is impossible (ECOG 7, 130 %, intensity 4+).
    #[error("invalid {what}: {why}")]
    Invalid { what: &'static str, why: String },
    /// A record that breaks a cross-field rule, at a path such as `therapies[2].end`.
    #[error("{path}: {why}")]
    At { path: String, why: String },
}

impl DomainError {
    pub fn invalid(what: &'static str, why: String) -> Self {
        Self::Invalid { what, why }
    }
    pub fn at(path: impl Into<String>, why: String) -> Self {
        Self::At {
            path: path.into(),
            why,
        }
    }
}
