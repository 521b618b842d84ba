//! Clinical safety rules for the CAR-T journey, pure and exhaustively tested: the ASTCT 2019
//! consensus grading of cytokine release syndrome (CRS) and immune effector cell-associated
//! neurotoxicity syndrome (ICANS), with the ICE score computed from its five parts.
//!
//! Source: Lee DW et al., ASTCT consensus grading for cytokine release syndrome and
//! neurologic toxicity associated with immune effector cells, Biol Blood Marrow Transplant
//! 2019;25:625–638 (tables as reproduced in PMC8021214, PMC9327779, PMC8403007, PMC7990806,
//! PMC8153820; see `docs/safety.md`).
//!
//! Also the journey planner and its calendar, the monitoring alert rules, the caregiver's
//! symptom diary and the supportive-care risk window: the rules the server applies.

/// The grading rules' source, as every output that grades cites it (a citation, the same in
/// both languages).
pub const SOURCE: &str = "Lee DW et al., ASTCT consensus grading for cytokine release \
     syndrome and neurologic toxicity associated with immune effector cells, Biol Blood Marrow \
     Transplant 2019;25:625–638";
/// Where the tables can be read (a peer-reviewed re-publication, open access).
pub const SOURCE_URL: &str = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8021214/";
/// The consensus's date: the year it was published, the as-of date of every grade.
pub const SOURCE_AS_OF: &str = "2019";

pub mod crs;
pub mod diary;
pub mod icans;
pub mod ics;
pub mod journey;
pub mod monitoring;
pub mod oncall;
pub mod supportive;

use serde::Serialize;

/// A grade with the reasons that set it, in the order they were considered. As JSON, an
/// ungraded result has `"grade": null` and its lower bound in `"at_least"`: a client that
/// reads `grade` alone must never read "no ICANS" where ICANS could not be graded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "GradingJson")]
pub struct Grading {
    /// 0 means no CRS / no ICANS — but only when `graded` is true.
    pub grade: u8,
    /// False when a part the grade needs could not be assessed (an awake patient whose ICE
    /// cannot be done): `grade` is then only what the other parts show, a lower bound, and
    /// the reasons say what to assess now. Never read an ungraded 0 as "none".
    pub graded: bool,
    /// The reasons in English.
    pub reasons: Vec<String>,
    /// The same reasons in Simplified Chinese.
    pub reasons_zh: Vec<String>,
}

/// Reasons collected in both languages, in the order they were considered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reasons {
    pub en: Vec<String>,
    pub zh: Vec<String>,
}

impl Reasons {
    pub fn push(&mut self, en: impl Into<String>, zh: impl Into<String>) {
        self.en.push(en.into());
        self.zh.push(zh.into());
    }
}

#[derive(Serialize)]
struct GradingJson {
    grade: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_least: Option<u8>,
    graded: bool,
    reasons: Vec<String>,
    reasons_zh: Vec<String>,
}

impl From<Grading> for GradingJson {
    fn from(g: Grading) -> Self {
        Self {
            grade: g.grade_if_graded(),
            at_least: (!g.graded).then_some(g.grade),
            graded: g.graded,
            reasons: g.reasons,
            reasons_zh: g.reasons_zh,
        }
    }
}

impl Grading {
    /// The grade, or `None` when a part it needs could not be assessed.
    pub fn grade_if_graded(&self) -> Option<u8> {
        self.graded.then_some(self.grade)
    }

    pub fn new(grade: u8, reasons: Reasons) -> Self {
        Self {
            grade,
            graded: true,
            reasons: reasons.en,
            reasons_zh: reasons.zh,
        }
    }

    /// The reasons in a language.
    pub fn reasons_in(&self, lang: cellpath_domain::text::Lang) -> &[String] {
        match lang {
            cellpath_domain::text::Lang::En => &self.reasons,
            cellpath_domain::text::Lang::ZhCn => &self.reasons_zh,
        }
    }
}

pub use crs::{CrsInput, OxygenDevice, grade_crs};
pub use icans::{Consciousness, IcansInput, IceParts, grade_icans};
