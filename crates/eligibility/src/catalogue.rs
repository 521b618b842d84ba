//! The programme catalogue: one TOML file per programme (`catalogue/<id>.toml`), each
//! criterion with its text in two languages, a typed rule, its source and the request to
//! make when the fact is unknown. See `docs/catalogue.md` for the format.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use cellpath_domain::{
    CancerSite, Her2Status, Histology, Intensity, LabTest, PartialDate, Percent, Unit,
    native::line_column,
};
use serde::Deserialize;
use toml::Spanned;

#[path = "registry_status.rs"]
mod registry_status;
pub use registry_status::RegistryStatus;

use cellpath_domain::text::Bi;

/// Why a catalogue file was refused: the file, the line and what is wrong.
pub type CatalogueError = cellpath_domain::FileError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgrammeKind {
    ApprovedLabel,
    Trial,
    ExpandedAccess,
}

impl ProgrammeKind {
    pub fn label(self) -> Bi {
        match self {
            Self::ApprovedLabel => Bi::new("approved label", "已批准适应症"),
            Self::Trial => Bi::new("clinical trial", "临床试验"),
            Self::ExpandedAccess => Bi::new("expanded access", "扩展使用"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Availability {
    Open,
    Closed,
    Suspended,
    /// No source consulted states whether it is enrolling.
    Unknown,
}

impl Availability {
    pub fn label(self) -> Bi {
        match self {
            Self::Open => Bi::new("open", "开放"),
            Self::Closed => Bi::new("closed", "已关闭"),
            Self::Suspended => Bi::new("suspended", "已暂停"),
            Self::Unknown => Bi::new("not stated in the sources", "资料中未说明"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeStatus {
    pub value: Availability,
    pub as_of: PartialDate,
    /// A source id from `[[sources]]`.
    pub source: String,
    #[serde(default)]
    pub note: Option<Bi>,
}

pub use cellpath_domain::SourceRef;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriterionKind {
    Inclusion,
    Exclusion,
}

/// One criterion. Either `rule` is given, or `judgement = true`: a criterion that no
/// source supports well enough to decide by rule, listed for the MDT and never deciding
/// the verdict.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub id: String,
    pub kind: CriterionKind,
    pub text: Bi,
    #[serde(default)]
    pub rule: Option<Rule>,
    #[serde(default)]
    pub judgement: bool,
    /// For a judgement item: the recorded facts it concerns, shown beside it so that the
    /// judgement is never hidden (e.g. an ECOG 4 beside "fit for CAR-T").
    #[serde(default)]
    pub concerns: Vec<Concern>,
    /// When given and false for the patient, the criterion is not applicable.
    #[serde(default)]
    pub applies_when: Option<Rule>,
    /// A source id from `[[sources]]`.
    pub source: String,
    /// What to ask for when the fact is unknown.
    pub request: Bi,
    /// The rule is borrowed from another source than the programme's own (the pivotal
    /// trial's threshold for a label that does not publish one): said in the verdict line
    /// whenever the decision rests on it.
    #[serde(default)]
    pub borrowed: Option<Bi>,
    #[serde(default)]
    pub note: Option<Bi>,
}

/// A programme: an approved-product label, a trial or an expanded-access programme.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    pub id: String,
    pub name: Bi,
    pub kind: ProgrammeKind,
    pub sponsor: String,
    #[serde(default)]
    pub registry_ids: Vec<String>,
    pub regions: Vec<String>,
    #[serde(default)]
    pub summary: Option<Bi>,
    status: Spanned<ProgrammeStatus>,
    pub sources: Vec<SourceRef>,
    criteria: Vec<Spanned<Criterion>>,
}

impl Programme {
    pub fn status(&self) -> &ProgrammeStatus {
        self.status.get_ref()
    }
    pub fn criteria(&self) -> impl ExactSizeIterator<Item = &Criterion> {
        self.criteria.iter().map(Spanned::get_ref)
    }
    pub fn source(&self, id: &str) -> Option<&SourceRef> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// Parses one programme file. `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, CatalogueError> {
        let err = |line: Option<usize>, message: String| CatalogueError::new(file, line, message);
        let programme: Programme =
            toml::from_str(text).map_err(|e| CatalogueError::from_toml(file, text, &e))?;
        let line_of = |offset: usize| Some(line_column(text, offset).0);

        let stem = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".toml");
        if stem != programme.id {
            return Err(err(
                None,
                format!(
                    "the file is named `{stem}` but declares id `{}`",
                    programme.id
                ),
            ));
        }
        if !programme.name.is_complete() {
            return Err(err(None, "`name` needs both `en` and `zh-CN`".to_owned()));
        }
        if programme.sources.is_empty() {
            return Err(err(
                None,
                "a programme needs at least one source".to_owned(),
            ));
        }
        let mut source_ids = HashSet::new();
        for s in &programme.sources {
            if !source_ids.insert(s.id.as_str()) {
                return Err(err(None, format!("source id `{}` is declared twice", s.id)));
            }
            if s.url.trim().is_empty() || s.title.trim().is_empty() {
                return Err(err(
                    None,
                    format!("source `{}` needs a title and a url", s.id),
                ));
            }
        }
        if !source_ids.contains(programme.status().source.as_str()) {
            return Err(err(
                line_of(programme.status.span().start),
                format!(
                    "status cites source `{}`, which is not in [[sources]]",
                    programme.status().source
                ),
            ));
        }
        if programme.criteria.is_empty() {
            return Err(err(
                None,
                "a programme needs at least one criterion".to_owned(),
            ));
        }
        let mut ids = HashSet::new();
        for spanned in &programme.criteria {
            let c = spanned.get_ref();
            let line = line_of(spanned.span().start);
            let at = |message: String| err(line, format!("criterion `{}`: {message}", c.id));
            if c.id == crate::eval::STATUS_CRITERION_ID
                || c.id == crate::eval::DECEASED_CRITERION_ID
                || !ids.insert(c.id.as_str())
            {
                return Err(at("id is used twice or reserved".to_owned()));
            }
            if !source_ids.contains(c.source.as_str()) {
                return Err(at(format!(
                    "cites source `{}`, which is not in [[sources]]",
                    c.source
                )));
            }
            match (&c.rule, c.judgement) {
                (Some(_), true) => {
                    return Err(at(
                        "give either `rule` or `judgement = true`, not both".into()
                    ));
                }
                (None, false) => {
                    return Err(at(
                        "needs a `rule`, or `judgement = true` when no source supports one".into(),
                    ));
                }
                _ => {}
            }
            if !c.text.is_complete() || !c.request.is_complete() {
                return Err(at("`text` and `request` need both `en` and `zh-CN`".into()));
            }
        }
        Ok(programme)
    }
}

/// A loaded, validated catalogue.
#[derive(Clone, Debug)]
pub struct Catalogue {
    programmes: Vec<Programme>,
    version: String,
}

impl Catalogue {
    /// Loads programmes from `(file name, contents)` pairs. Refuses duplicates.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, CatalogueError> {
        let mut programmes: Vec<Programme> = Vec::new();
        // FNV-1a over names and contents: a stable version for stored screening results.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut files: Vec<(&str, &str)> = files.into_iter().collect();
        files.sort_by_key(|(name, _)| *name);
        for (name, text) in files {
            for b in name.bytes().chain(text.bytes()) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            let p = Programme::from_toml(name, text)?;
            if programmes.iter().any(|q| q.id == p.id) {
                return Err(CatalogueError::new(
                    name,
                    None,
                    format!("programme id `{}` is defined twice", p.id),
                ));
            }
            programmes.push(p);
        }
        Ok(Self {
            programmes,
            version: format!("{hash:016x}"),
        })
    }

    pub fn programmes(&self) -> &[Programme] {
        &self.programmes
    }
    pub fn get(&self, id: &str) -> Option<&Programme> {
        self.programmes.iter().find(|p| p.id == id)
    }
    pub fn ids(&self) -> BTreeSet<&str> {
        self.programmes.iter().map(|p| p.id.as_str()).collect()
    }
    /// A digest of the catalogue's files, so a stored result can name what it used.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Builds a catalogue from programmes made in code (tests, benchmarks).
    pub fn from_programmes(programmes: Vec<Programme>) -> Self {
        Self {
            programmes,
            version: "in-memory".to_owned(),
        }
    }
}

/// Only `true` is accepted: a rule such as `{ advanced = true }` is negated with `not`,
/// never with `false`, so that a reader cannot misread it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Yes;

impl<'de> Deserialize<'de> for Yes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if bool::deserialize(d)? {
            Ok(Self)
        } else {
            Err(serde::de::Error::custom(
                "only `true` is allowed here; to negate, wrap the rule in `not`",
            ))
        }
    }
}

impl Concern {
    /// The facts of the record it shows.
    pub fn reads(self, out: &mut BTreeSet<Fact>) {
        match self {
            Self::Age => {
                out.insert(Fact::BirthDate);
            }
            Self::Ecog => {
                out.insert(Fact::Ecog);
            }
            Self::Labs => {
                for t in cellpath_domain::LabTest::ALL {
                    out.insert(Fact::Lab(t));
                }
            }
            Self::Infections => {
                out.insert(Fact::Infections);
            }
            Self::Pregnancy => {
                out.insert(Fact::Pregnancy);
            }
            Self::Cardiac => {
                out.insert(Fact::Lvef);
            }
        }
    }
}

/// Recorded facts a judgement item can concern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concern {
    /// The age on the screening date (and the birth date). A known minor is never
    /// "eligible" for a programme with an age judgement: its population was adults.
    Age,
    /// The most recent ECOG performance status.
    Ecog,
    /// The most recent result of every laboratory test.
    Labs,
    /// Hepatitis B/C and HIV serology and viral loads.
    Infections,
    /// Pregnancy status (lymphodepletion is not given in pregnancy).
    Pregnancy,
    /// The most recent left-ventricular ejection fraction.
    Cardiac,
}

/// The rule language. Written in TOML as a one-key table, e.g. `{ age_at_least = 18 }`,
/// composed with `all`, `any` and `not`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    /// Age in completed years on the screening date.
    AgeAtLeast(u32),
    AgeAtMost(u32),
    PrimarySite(Vec<CancerSite>),
    /// Histology in the listed set.
    Histology(Vec<Histology>),
    /// Any adenocarcinoma, including signet ring cell / poorly cohesive and diffuse type.
    Adenocarcinoma(Yes),
    /// Advanced disease: unresectable locally advanced or metastatic.
    Advanced(Yes),
    /// The primary was resected with curative intent: the recorded extent says resected
    /// with no evidence of disease.
    Resected(Yes),
    /// Adjuvant therapy was given, and the latest result of `test` was taken at least
    /// `days` after it began (e.g. CA19-9 after 3 months of adjuvant chemotherapy).
    AdjuvantBeforeLab(AdjuvantLab),
    Biomarker(BiomarkerRule),
    /// At least N prior lines of systemic therapy that count.
    PriorLinesAtLeast(u32),
    PriorLinesAtMost(u32),
    /// The most recent counted line ended in progression or intolerance.
    LastLineFailed(Yes),
    /// The most recent counted line ended in progression — intolerance does not meet it
    /// ("received and progressed on", as IBI343's protocol words it).
    LastLineProgressed(Yes),
    EcogAtMost(u8),
    /// Systemic anticancer therapy given within N days before the screening date.
    TherapyWithinDays(u32),
    /// The same, where the protocol's washout is "N days or 5 half-lives, whichever is
    /// shorter": a last dose inside the N days may already be past 5 half-lives, so it is
    /// unknown (for the MDT, with the drug's half-life) rather than excluding.
    TherapyWithinDaysOrFiveHalfLives(u32),
    Lab(LabRule),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MsiClass {
    /// MSI-high or dMMR.
    High,
    /// MSS, MSI-low or pMMR.
    Stable,
}

/// A biomarker condition, tagged by marker. Unknown markers are refused.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "marker", deny_unknown_fields)]
pub enum BiomarkerRule {
    /// Membranous staining at `min_intensity` or stronger in at least `min_percent` of
    /// tumour cells.
    #[serde(rename = "CLDN18.2")]
    Cldn18 {
        min_intensity: Intensity,
        min_percent: Percent,
        /// The assay clone the programme accepts (e.g. `43-14A` for an approved test);
        /// a result with another or no recorded clone then leaves the criterion unknown.
        #[serde(default)]
        clone: Option<String>,
    },
    /// HER2 status by the gastric rule.
    #[serde(rename = "HER2")]
    Her2 { status: Her2Status },
    #[serde(rename = "PD-L1")]
    Pdl1 { min_cps: f64 },
    #[serde(rename = "MSI")]
    Msi { status: MsiClass },
}

/// A laboratory threshold: absolute (`min` / `max` with a `unit`) or relative to the
/// upper limit of normal (`max_uln`: ≤ factor × ULN; `above_uln`: > factor × ULN).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "LabRuleInput")]
pub struct LabRule {
    pub test: LabTest,
    pub bound: LabBound,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjuvantLab {
    pub test: LabTest,
    pub days: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LabBound {
    Min { value: f64, unit: Unit },
    Max { value: f64, unit: Unit },
    MaxUln(f64),
    AboveUln(f64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabRuleInput {
    test: LabTest,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    unit: Option<Unit>,
    #[serde(default)]
    max_uln: Option<f64>,
    #[serde(default)]
    above_uln: Option<f64>,
}

impl TryFrom<LabRuleInput> for LabRule {
    type Error = String;
    fn try_from(i: LabRuleInput) -> Result<Self, String> {
        let bound = match (i.min, i.max, i.max_uln, i.above_uln, i.unit) {
            (Some(value), None, None, None, Some(unit)) => LabBound::Min { value, unit },
            (None, Some(value), None, None, Some(unit)) => LabBound::Max { value, unit },
            (None, None, Some(f), None, None) if f > 0.0 => LabBound::MaxUln(f),
            (None, None, None, Some(f), None) if f > 0.0 => LabBound::AboveUln(f),
            (Some(_) | None, Some(_) | None, None, None, None) => {
                return Err("`min` and `max` need a `unit`".to_owned());
            }
            _ => {
                return Err(
                    "give exactly one of `min`, `max` (with `unit`), `max_uln` or `above_uln` \
                     (a positive factor)"
                        .to_owned(),
                );
            }
        };
        Ok(Self {
            test: i.test,
            bound,
        })
    }
}

impl Rule {
    /// Which facts of the record this rule reads (for tests and for re-screening only what
    /// a change can affect).
    pub fn reads(&self, out: &mut BTreeSet<Fact>) {
        match self {
            Self::All(rs) | Self::Any(rs) => rs.iter().for_each(|r| r.reads(out)),
            Self::Not(r) => r.reads(out),
            Self::AgeAtLeast(_) | Self::AgeAtMost(_) => {
                out.insert(Fact::BirthDate);
            }
            Self::PrimarySite(_) => {
                out.insert(Fact::PrimarySite);
            }
            Self::Histology(_) | Self::Adenocarcinoma(_) => {
                out.insert(Fact::Histology);
            }
            Self::Advanced(_) => {
                // The course decides, not only the stage: lines for advanced disease and
                // recorded progressions read the treatment history.
                out.insert(Fact::Extent);
                out.insert(Fact::Therapies);
            }
            Self::Resected(_) => {
                out.insert(Fact::Extent);
            }
            Self::AdjuvantBeforeLab(a) => {
                out.insert(Fact::Therapies);
                out.insert(Fact::Lab(a.test));
            }
            Self::Biomarker(BiomarkerRule::Cldn18 { .. }) => {
                out.insert(Fact::Cldn18);
            }
            Self::Biomarker(BiomarkerRule::Her2 { .. }) => {
                out.insert(Fact::Her2);
            }
            Self::Biomarker(BiomarkerRule::Pdl1 { .. }) => {
                out.insert(Fact::Pdl1);
            }
            Self::Biomarker(BiomarkerRule::Msi { .. }) => {
                out.insert(Fact::Msi);
            }
            Self::PriorLinesAtLeast(_)
            | Self::PriorLinesAtMost(_)
            | Self::LastLineFailed(_)
            | Self::LastLineProgressed(_)
            | Self::TherapyWithinDays(_)
            | Self::TherapyWithinDaysOrFiveHalfLives(_) => {
                out.insert(Fact::Therapies);
            }
            Self::EcogAtMost(_) => {
                out.insert(Fact::Ecog);
            }
            Self::Lab(l) => {
                out.insert(Fact::Lab(l.test));
            }
        }
    }
}

/// A fact of the record a rule can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    BirthDate,
    PrimarySite,
    Histology,
    Extent,
    Cldn18,
    Her2,
    Pdl1,
    Msi,
    Therapies,
    Ecog,
    Lab(LabTest),
    Infections,
    Pregnancy,
    Lvef,
}

impl fmt::Display for Rule {
    /// The rule in words, for `programmes show` and the docs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |rs: &[Rule], sep: &str| {
            rs.iter()
                .map(|r| match r {
                    Rule::All(_) | Rule::Any(_) => format!("({r})"),
                    _ => r.to_string(),
                })
                .collect::<Vec<_>>()
                .join(sep)
        };
        match self {
            Self::All(rs) => f.write_str(&join(rs, " and ")),
            Self::Any(rs) => f.write_str(&join(rs, " or ")),
            Self::Not(r) => write!(f, "not ({r})"),
            Self::AgeAtLeast(n) => write!(f, "age ≥ {n}"),
            Self::AgeAtMost(n) => write!(f, "age ≤ {n}"),
            Self::PrimarySite(s) => write!(
                f,
                "primary site in [{}]",
                s.iter().map(|x| x.name()).collect::<Vec<_>>().join(", ")
            ),
            Self::Histology(h) => write!(
                f,
                "histology in [{}]",
                h.iter().map(|x| x.name()).collect::<Vec<_>>().join(", ")
            ),
            Self::Adenocarcinoma(_) => f.write_str("adenocarcinoma (incl. signet ring / diffuse)"),
            Self::Advanced(_) => f.write_str("advanced (unresectable or metastatic)"),
            Self::Resected(_) => f.write_str("resected with no evidence of disease"),
            Self::AdjuvantBeforeLab(a) => write!(
                f,
                "{} taken ≥ {} days after adjuvant therapy began",
                a.test.name(),
                a.days
            ),
            Self::Biomarker(BiomarkerRule::Cldn18 {
                min_intensity,
                min_percent,
                clone,
            }) => write!(
                f,
                "CLDN18.2 ≥{min_intensity} in ≥{min_percent} of tumour cells{}",
                clone
                    .as_deref()
                    .map(|c| format!(", by clone {c}"))
                    .unwrap_or_default()
            ),
            Self::Biomarker(BiomarkerRule::Her2 { status }) => {
                write!(f, "HER2 {}", format!("{status:?}").to_lowercase())
            }
            Self::Biomarker(BiomarkerRule::Pdl1 { min_cps }) => write!(f, "PD-L1 CPS ≥ {min_cps}"),
            Self::Biomarker(BiomarkerRule::Msi { status }) => {
                write!(f, "MSI {}", format!("{status:?}").to_lowercase())
            }
            Self::PriorLinesAtLeast(n) => write!(f, "≥ {n} prior lines"),
            Self::PriorLinesAtMost(n) => write!(f, "≤ {n} prior lines"),
            Self::LastLineFailed(_) => f.write_str("last line failed (progression or intolerance)"),
            Self::LastLineProgressed(_) => f.write_str("progressed on the last line"),
            Self::EcogAtMost(n) => write!(f, "ECOG ≤ {n}"),
            Self::TherapyWithinDays(n) => write!(f, "systemic therapy within {n} days"),
            Self::TherapyWithinDaysOrFiveHalfLives(n) => write!(
                f,
                "systemic therapy within {n} days or 5 half-lives, whichever is shorter"
            ),
            Self::Lab(l) => match &l.bound {
                LabBound::Min { value, unit } => write!(f, "{} ≥ {value} {unit}", l.test.name()),
                LabBound::Max { value, unit } => write!(f, "{} ≤ {value} {unit}", l.test.name()),
                LabBound::MaxUln(x) => write!(f, "{} ≤ {x} × ULN", l.test.name()),
                LabBound::AboveUln(x) => write!(f, "{} > {x} × ULN", l.test.name()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id = "demo"
name = { en = "Demo", zh-CN = "演示" }
kind = "trial"
sponsor = "Nobody"
regions = ["CN"]

[status]
value = "open"
as_of = 2026-01-01
source = "s1"

[[sources]]
id = "s1"
title = "A source"
url = "https://example.org/"
date = "2026-01"

[[criteria]]
id = "adult"
kind = "inclusion"
text = { en = "Adult", zh-CN = "成人" }
rule = { age_at_least = 18 }
source = "s1"
request = { en = "Birth date", zh-CN = "出生日期" }
"#;

    fn load(text: &str) -> Result<Programme, CatalogueError> {
        Programme::from_toml("catalogue/demo.toml", text)
    }

    fn line_of(text: &str, needle: &str) -> Option<usize> {
        text.find(needle).map(|i| line_column(text, i).0)
    }

    #[test]
    fn loads_a_minimal_programme() {
        let p = load(MINIMAL).expect("loads");
        assert_eq!(p.criteria().count(), 1);
        assert_eq!(p.status().value, Availability::Open);
    }

    #[test]
    fn unknown_fields_name_file_and_line() {
        let text = MINIMAL.replace("kind = \"inclusion\"", "kind = \"inclusion\"\ncolour = 1");
        let e = load(&text).expect_err("unknown field");
        assert_eq!(e.file, "catalogue/demo.toml");
        assert_eq!(e.line, line_of(&text, "colour"), "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn unknown_markers_and_units_are_refused() {
        let text = MINIMAL.replace(
            "rule = { age_at_least = 18 }",
            "rule = { biomarker = { marker = \"CLDN6\", min_percent = 40 } }",
        );
        let e = load(&text).expect_err("unknown marker");
        assert!(e.message.contains("CLDN6"), "{e}");
        assert_eq!(e.line, line_of(&text, "CLDN6"), "{e}");

        let text = MINIMAL.replace(
            "rule = { age_at_least = 18 }",
            "rule = { lab = { test = \"platelets\", min = 75, unit = \"furlongs\" } }",
        );
        let e = load(&text).expect_err("unknown unit");
        assert!(e.message.contains("furlongs"), "{e}");

        let text = MINIMAL.replace(
            "rule = { age_at_least = 18 }",
            "rule = { lab = { test = \"platelets\", min = 75 } }",
        );
        let e = load(&text).expect_err("min without unit");
        assert!(e.message.contains("unit"), "{e}");

        let text = MINIMAL.replace(
            "rule = { age_at_least = 18 }",
            "rule = { biomarker = { marker = \"CLDN18.2\", min_intensity = \"4+\", min_percent = 40 } }",
        );
        assert!(load(&text).expect_err("4+").message.contains("4+"));
    }

    #[test]
    fn missing_or_unknown_sources_are_refused() {
        let text = MINIMAL.replace("source = \"s1\"\nrequest", "source = \"s9\"\nrequest");
        let e = load(&text).expect_err("unknown source");
        assert!(e.message.contains("s9"), "{e}");
        assert_eq!(e.line, line_of(&text, "[[criteria]]"), "{e}");

        let text = MINIMAL.replace("source = \"s1\"\nrequest", "request");
        let e = load(&text).expect_err("missing source");
        assert!(e.message.contains("source"), "{e}");
    }

    #[test]
    fn rule_or_judgement_but_not_both_nor_neither() {
        let text = MINIMAL.replace("rule = { age_at_least = 18 }\n", "");
        assert!(
            load(&text)
                .expect_err("neither")
                .message
                .contains("judgement")
        );
        let text = MINIMAL.replace(
            "rule = { age_at_least = 18 }",
            "rule = { age_at_least = 18 }\njudgement = true",
        );
        assert!(load(&text).expect_err("both").message.contains("not both"));
    }

    #[test]
    fn negation_is_written_with_not() {
        let text = MINIMAL.replace(
            "rule = { age_at_least = 18 }",
            "rule = { advanced = false }",
        );
        assert!(load(&text).expect_err("false").message.contains("not"));
    }

    #[test]
    fn file_name_must_match_id() {
        let e = Programme::from_toml("catalogue/other.toml", MINIMAL).expect_err("mismatch");
        assert!(e.message.contains("other"), "{e}");
    }

    #[test]
    fn missing_chinese_is_refused() {
        let text = MINIMAL.replace("zh-CN = \"成人\"", "zh-CN = \"\"");
        assert!(load(&text).expect_err("no zh").message.contains("zh-CN"));
    }
}
