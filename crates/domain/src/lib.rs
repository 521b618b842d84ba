//! The cellpath case record: pure types for one patient's oncology history, parsed at the
//! edge so that nothing downstream sees an impossible value.

mod date;
pub mod drugs;
pub mod lines;
mod measure;
pub mod native;
mod record;
pub mod text;

pub use date::{Date, PartialDate};
pub use lines::{Line, LinesOfTherapy, lines_of_therapy};
pub use measure::{Ecog, Intensity, LabTest, Percent, Unit};
pub use record::*;

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
