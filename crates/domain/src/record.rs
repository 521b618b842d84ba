// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The case record: one patient's oncology history, each fact with where it came from.
//!
//! The same types are the native case format (TOML or JSON, see `docs/case-format.md`):
//! unknown fields are refused, and every value is parsed into its newtype on the way in.
//! A field that is absent means "not known", never "no": `therapies` left out means the
//! treatment history is unknown, `therapies = []` means no systemic therapy was given.

use serde::{Deserialize, Serialize};

use crate::{Date, DomainError, Ecog, Intensity, LabTest, Lang, PartialDate, Percent, Unit};

/// Where a fact came from: a document, an import, a person. Free text, shown as evidence.
pub type Source = Option<String>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The format marker; `cellpath-case/1` for this version.
    #[serde(default = "format_v1")]
    pub format: String,
    /// An optional label for the case (not a name: no personal data is needed here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub patient: Patient,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<PrimaryCancer>,
    /// Distant metastases. Absent = not recorded; `[]` = recorded as none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metastases: Option<Vec<Metastasis>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cldn18: Vec<Cldn18Result>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub her2: Vec<Her2Result>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pdl1: Vec<Pdl1Result>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msi: Vec<MsiResult>,
    /// Systemic anticancer therapy. Absent = history unknown; `[]` = none given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub therapies: Option<Vec<SystemicTherapy>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub progressions: Vec<ProgressionEvent>,
    /// Lines of therapy as confirmed by the coordinator. When present they replace the
    /// lines derived from `therapies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<ConfirmedLine>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecog: Vec<EcogResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labs: Vec<LabResult>,
    /// Hepatitis B/C and HIV serology and viral loads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub infections: Vec<crate::InfectionResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pregnancy: Vec<crate::PregnancyResult>,
    /// Left-ventricular ejection fraction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lvef: Vec<crate::LvefResult>,
}

/// The most items each list of a record may hold: far beyond any patient's history, far
/// below what would let one record stall a server (security round 2, issue 28: a
/// 100,000-therapy record, 13 MB, made every page of its case a CPU-bound stall).
pub const RECORD_LIMITS: &[(&str, usize)] = &[
    ("metastases", 200),
    ("cldn18", 100),
    ("her2", 100),
    ("pdl1", 100),
    ("msi", 100),
    ("therapies", 500),
    ("progressions", 200),
    ("lines", 100),
    ("ecog", 500),
    ("labs", 5000),
    ("infections", 500),
    ("pregnancy", 100),
    ("lvef", 100),
];

/// The longest text of one field (a drug name, a source, a note), in characters.
pub const MAX_FIELD_CHARS: usize = 2000;

impl Case {
    /// Refuses a record past [`RECORD_LIMITS`] or with a text field past
    /// [`MAX_FIELD_CHARS`], naming the list (or the field) and the limit.
    fn within_limits(&self) -> Result<(), DomainError> {
        let lengths = [
            self.metastases.as_ref().map_or(0, Vec::len),
            self.cldn18.len(),
            self.her2.len(),
            self.pdl1.len(),
            self.msi.len(),
            self.therapies.as_ref().map_or(0, Vec::len),
            self.progressions.len(),
            self.lines.as_ref().map_or(0, Vec::len),
            self.ecog.len(),
            self.labs.len(),
            self.infections.len(),
            self.pregnancy.len(),
            self.lvef.len(),
        ];
        for ((section, max), n) in RECORD_LIMITS.iter().zip(lengths) {
            if n > *max {
                return Err(DomainError::at(
                    *section,
                    format!("{n} items: a record holds at most {max} here"),
                ));
            }
        }
        for (i, t) in self.therapies.iter().flatten().enumerate() {
            let long = [
                ("drug", Some(&t.drug)),
                ("other_cancer", t.other_cancer.as_ref()),
                ("source", t.source.as_ref()),
            ];
            for (field, text) in long {
                if text.is_some_and(|x| x.chars().count() > MAX_FIELD_CHARS) {
                    return Err(DomainError::at(
                        format!("therapies[{i}].{field}"),
                        format!("longer than {MAX_FIELD_CHARS} characters"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn format_v1() -> String {
    crate::CASE_FORMAT.to_owned()
}

impl Case {
    /// An empty record for a patient: everything unknown.
    pub fn new(patient: Patient) -> Self {
        Self {
            format: format_v1(),
            label: None,
            patient,
            primary: None,
            metastases: None,
            cldn18: Vec::new(),
            her2: Vec::new(),
            pdl1: Vec::new(),
            msi: Vec::new(),
            therapies: None,
            progressions: Vec::new(),
            lines: None,
            ecog: Vec::new(),
            labs: Vec::new(),
            infections: Vec::new(),
            pregnancy: Vec::new(),
            lvef: Vec::new(),
        }
    }

    /// Whether anything in the treatment history or the disease's course is dated after
    /// `day` (what [`Case::as_of`] would change).
    pub fn has_history_after(&self, day: Date) -> bool {
        let after = |d: &PartialDate| d.earliest() > day;
        self.therapies
            .iter()
            .flatten()
            .any(|t| after(&t.start) || t.end.as_ref().is_some_and(after))
            || self.progressions.iter().any(|p| after(&p.date))
            || self
                .metastases
                .iter()
                .flatten()
                .any(|m| m.date.as_ref().is_some_and(after))
            || self
                .lines
                .iter()
                .flatten()
                .any(|l| l.start.as_ref().is_some_and(after) || l.end.as_ref().is_some_and(after))
    }

    /// The treatment history and the disease's course as they were known on `day`: what
    /// starts later is left out, and what ended later was still going on then. (Results
    /// of tests are filtered by date where they are read.)
    pub fn as_of(&self, day: Date) -> Case {
        let after = |d: &PartialDate| d.earliest() > day;
        let mut c = self.clone();
        if let Some(ts) = &mut c.therapies {
            ts.retain(|t| !after(&t.start));
            for t in ts.iter_mut() {
                // Still being given on that day: its last dose then was that day.
                if t.end.as_ref().is_some_and(after) {
                    t.end = Some(PartialDate::from_date(day));
                    t.reason_stopped = None;
                }
            }
        }
        c.progressions.retain(|p| !after(&p.date));
        if let Some(ms) = &mut c.metastases {
            ms.retain(|m| !m.date.as_ref().is_some_and(after));
        }
        if let Some(ls) = &mut c.lines {
            ls.retain(|l| !l.start.as_ref().is_some_and(after));
            for l in ls.iter_mut() {
                if l.end.as_ref().is_some_and(after) {
                    l.end = Some(PartialDate::from_date(day));
                    l.outcome = LineOutcome::NotFailed;
                }
            }
        }
        c
    }

    /// Checks what serde cannot: cross-field rules. Returns the first problem with its path.
    pub fn validate(&self) -> Result<(), DomainError> {
        self.within_limits()?;
        if self.format != crate::CASE_FORMAT {
            return Err(DomainError::at(
                "format",
                format!(
                    "unsupported format `{}` (expected `{}`)",
                    self.format,
                    crate::CASE_FORMAT
                ),
            ));
        }
        for (i, t) in self.therapies.iter().flatten().enumerate() {
            if let Some(end) = t.end
                && end.latest() < t.start.earliest()
            {
                return Err(DomainError::at(
                    format!("therapies[{i}].end"),
                    format!("ends ({end}) before it starts ({})", t.start),
                ));
            }
            if t.drug.trim().is_empty() {
                return Err(DomainError::at(
                    format!("therapies[{i}].drug"),
                    "drug name is empty".to_owned(),
                ));
            }
        }
        for (i, l) in self.lines.iter().flatten().enumerate() {
            if l.drugs.is_empty() {
                return Err(DomainError::at(
                    format!("lines[{i}].drugs"),
                    "a line needs at least one drug".to_owned(),
                ));
            }
        }
        if let Some(birth) = self.patient.birth_date {
            let checks = self
                .primary
                .iter()
                .filter_map(|p| p.diagnosed.map(|d| ("primary.diagnosed", d)));
            for (path, date) in checks {
                if date.latest() < birth.earliest() {
                    return Err(DomainError::at(
                        path,
                        format!("{date} is before the birth date {birth}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Patient {
    /// Birth date; a year or year-month is enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    /// The record says the patient has died. No programme is eligible then, and every
    /// output says so first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deceased: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

/// Where a primary cancer or a metastasis is. Only sites the catalogue distinguishes are
/// named; anything else is `other` with its description kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CancerSite {
    /// Stomach, excluding the cardia (ICD-10 C16.1–C16.9).
    Stomach,
    /// Gastro-oesophageal junction / cardia (ICD-10 C16.0).
    Gej,
    Oesophagus,
    Pancreas,
    Colon,
    Rectum,
    Liver,
    BiliaryTract,
    Lung,
    Breast,
    Prostate,
    Ovary,
    Other,
}

impl CancerSite {
    pub fn name(self) -> &'static str {
        match self {
            Self::Stomach => "stomach",
            Self::Gej => "gastro-oesophageal junction",
            Self::Oesophagus => "oesophagus",
            Self::Pancreas => "pancreas",
            Self::Colon => "colon",
            Self::Rectum => "rectum",
            Self::Liver => "liver",
            Self::BiliaryTract => "biliary tract",
            Self::Lung => "lung",
            Self::Breast => "breast",
            Self::Prostate => "prostate",
            Self::Ovary => "ovary",
            Self::Other => "other site",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Stomach => "胃",
            Self::Gej => "胃食管结合部",
            Self::Oesophagus => "食管",
            Self::Pancreas => "胰腺",
            Self::Colon => "结肠",
            Self::Rectum => "直肠",
            Self::Liver => "肝",
            Self::BiliaryTract => "胆道",
            Self::Lung => "肺",
            Self::Breast => "乳腺",
            Self::Prostate => "前列腺",
            Self::Ovary => "卵巢",
            Self::Other => "其他部位",
        }
    }
}

/// Histology as the catalogue needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Histology {
    /// Adenocarcinoma, not otherwise specified (ICD-O-3 8140/3).
    Adenocarcinoma,
    /// Intestinal-type adenocarcinoma (8144/3).
    IntestinalType,
    /// Diffuse-type carcinoma (8145/3).
    DiffuseType,
    /// Signet ring cell / poorly cohesive carcinoma (8490/3).
    SignetRingCell,
    /// Ductal adenocarcinoma, e.g. pancreatic (8500/3).
    DuctalAdenocarcinoma,
    SquamousCell,
    SmallCell,
    NonSmallCell,
    Other,
}

impl Histology {
    /// Whether this histology is an adenocarcinoma for eligibility purposes: signet ring
    /// cell / poorly cohesive and diffuse-type gastric carcinomas are; squamous is not.
    pub fn is_adenocarcinoma(self) -> bool {
        matches!(
            self,
            Self::Adenocarcinoma
                | Self::IntestinalType
                | Self::DiffuseType
                | Self::SignetRingCell
                | Self::DuctalAdenocarcinoma
        )
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Adenocarcinoma => "adenocarcinoma",
            Self::IntestinalType => "intestinal-type adenocarcinoma",
            Self::DiffuseType => "diffuse-type carcinoma",
            Self::SignetRingCell => "signet ring cell carcinoma",
            Self::DuctalAdenocarcinoma => "ductal adenocarcinoma",
            Self::SquamousCell => "squamous cell carcinoma",
            Self::SmallCell => "small cell carcinoma",
            Self::NonSmallCell => "non-small cell carcinoma",
            Self::Other => "other histology",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Adenocarcinoma => "腺癌",
            Self::IntestinalType => "肠型腺癌",
            Self::DiffuseType => "弥漫型癌",
            Self::SignetRingCell => "印戒细胞癌",
            Self::DuctalAdenocarcinoma => "导管腺癌",
            Self::SquamousCell => "鳞状细胞癌",
            Self::SmallCell => "小细胞癌",
            Self::NonSmallCell => "非小细胞癌",
            Self::Other => "其他组织学类型",
        }
    }
}

/// Disease extent as documented. Advanced = unresectable locally advanced or metastatic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Extent {
    Localised,
    LocallyAdvancedResectable,
    LocallyAdvancedUnresectable,
    Metastatic,
    /// Resected with no evidence of disease.
    NoEvidenceOfDisease,
}

/// The stage group number (1–4) in texts like `IV`, `Stage IVB`, `IIIA`, `3C`, `cT3N1M1`.
pub fn stage_group(text: &str) -> Option<u8> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.trim_start_matches("STAGE").trim();
    if t.contains("M1") {
        return Some(4);
    }
    let roman: String = t.chars().take_while(|c| matches!(c, 'I' | 'V')).collect();
    match roman.as_str() {
        "IV" => Some(4),
        "III" => Some(3),
        "II" => Some(2),
        "I" => Some(1),
        _ => match t.chars().next() {
            Some(c @ '1'..='4') => c.to_digit(10).map(|d| d as u8),
            _ => None,
        },
    }
}

impl Extent {
    pub fn is_advanced(self) -> bool {
        matches!(self, Self::LocallyAdvancedUnresectable | Self::Metastatic)
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Localised => "localised",
            Self::LocallyAdvancedResectable => "locally advanced, resectable",
            Self::LocallyAdvancedUnresectable => "locally advanced, unresectable",
            Self::Metastatic => "metastatic",
            Self::NoEvidenceOfDisease => "resected, no evidence of disease",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Localised => "局限期",
            Self::LocallyAdvancedResectable => "局部晚期（可切除）",
            Self::LocallyAdvancedUnresectable => "局部晚期（不可切除）",
            Self::Metastatic => "转移性",
            Self::NoEvidenceOfDisease => "切除术后无疾病证据",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrimaryCancer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<CancerSite>,
    /// The site as written in the source, kept for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histology: Option<Histology>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histology_text: Option<String>,
    /// Stage group as written, e.g. `IV`, `IIIA`, `Stage IVB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<Extent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosed: Option<PartialDate>,
    /// The clinical status as recorded; absent when not given (taken as active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CancerStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

/// The clinical status of the cancer under evaluation, as FHIR `Condition.clinicalStatus`
/// gives it. A resolved cancer is history, not a cancer under evaluation, so it has no value
/// here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CancerStatus {
    Active,
    Recurrence,
    /// In remission (FHIR `remission`, or `inactive`).
    Remission,
}

impl CancerStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Recurrence => "recurrence",
            Self::Remission => "in remission",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Active => "活动期",
            Self::Recurrence => "复发",
            Self::Remission => "缓解期",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metastasis {
    /// Site as written: peritoneum, liver, lung, bone, distant lymph nodes…
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

/// A CLDN18 / CLDN18.2 immunohistochemistry result. Give exactly one of `staining`
/// (percentage of tumour cells at each intensity), `at_least` (a percentage at or above an
/// intensity) or `negative = true`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, try_from = "Cldn18Input", into = "Cldn18Input")]
pub struct Cldn18Result {
    pub staining: Staining,
    /// Antibody clone / assay, e.g. `43-14A` (VENTANA CLDN18 RxDx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone: Option<String>,
    /// What was stained: primary biopsy, resection, metastasis…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specimen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specimen_date: Option<PartialDate>,
    /// The report marks this result preliminary.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preliminary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

/// The staining pattern of an IHC result.
#[derive(Clone, Debug, PartialEq)]
pub enum Staining {
    /// Percentage of tumour cells at each intensity; levels not listed are unknown.
    PerIntensity(PerIntensity),
    /// `percent` of tumour cells stain at `intensity` or stronger.
    AtLeast {
        intensity: Intensity,
        percent: Percent,
    },
    /// No membranous staining (0).
    Negative,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerIntensity {
    #[serde(rename = "3+", default, skip_serializing_if = "Option::is_none")]
    pub three: Option<Percent>,
    #[serde(rename = "2+", default, skip_serializing_if = "Option::is_none")]
    pub two: Option<Percent>,
    #[serde(rename = "1+", default, skip_serializing_if = "Option::is_none")]
    pub one: Option<Percent>,
    #[serde(rename = "0", default, skip_serializing_if = "Option::is_none")]
    pub zero: Option<Percent>,
}

impl PerIntensity {
    pub fn at(&self, level: Intensity) -> Option<Percent> {
        match level.level() {
            3 => self.three,
            2 => self.two,
            1 => self.one,
            _ => self.zero,
        }
    }
}

/// What can be said of the percentage of tumour cells staining at or above an intensity:
/// an interval, exact when `low == high`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PercentRange {
    pub low: f64,
    pub high: f64,
}

impl PercentRange {
    pub fn is_exact(self) -> bool {
        (self.high - self.low).abs() < 1e-9
    }
}

impl Staining {
    /// Percentage of tumour cells with membranous staining at `level` or stronger.
    pub fn percent_at_or_above(&self, level: Intensity) -> PercentRange {
        match self {
            Self::Negative => {
                let p = if level.level() == 0 { 100.0 } else { 0.0 };
                PercentRange { low: p, high: p }
            }
            Self::AtLeast { intensity, percent } => {
                let p = percent.value();
                if level == *intensity {
                    PercentRange { low: p, high: p }
                } else if level < *intensity {
                    PercentRange {
                        low: p,
                        high: 100.0,
                    }
                } else {
                    PercentRange { low: 0.0, high: p }
                }
            }
            Self::PerIntensity(per) => {
                let total_known: f64 = Intensity::ALL
                    .iter()
                    .filter_map(|l| per.at(*l))
                    .map(Percent::value)
                    .sum();
                let mut low = 0.0;
                let mut missing = false;
                for l in Intensity::ALL.iter().filter(|l| **l >= level) {
                    match per.at(*l) {
                        Some(p) => low += p.value(),
                        None => missing = true,
                    }
                }
                // An unlisted level can hold at most what the listed ones leave over.
                let high = if missing {
                    (low + (100.0 - total_known).max(0.0)).min(100.0)
                } else {
                    low
                };
                PercentRange { low, high }
            }
        }
    }

    pub fn describe(&self) -> String {
        self.describe_in(Lang::En)
    }

    /// The staining in Chinese.
    pub fn describe_zh(&self) -> String {
        self.describe_in(Lang::ZhCn)
    }

    fn describe_in(&self, lang: Lang) -> String {
        let zh = lang == Lang::ZhCn;
        match self {
            Self::Negative if zh => "阴性（0）".to_owned(),
            Self::Negative => "negative (0)".to_owned(),
            Self::AtLeast { intensity, percent } if zh => {
                format!("≥{intensity} 的肿瘤细胞占 {percent}")
            }
            Self::AtLeast { intensity, percent } => {
                format!("≥{intensity} in {percent} of tumour cells")
            }
            Self::PerIntensity(p) => {
                let parts: Vec<String> = Intensity::ALL
                    .iter()
                    .rev()
                    .filter_map(|l| p.at(*l).map(|v| format!("{l} {v}")))
                    .collect();
                parts.join(if zh { "，" } else { ", " })
            }
        }
    }
}

/// The hand-written form: one of three ways to give the staining.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Cldn18Input {
    /// Percentage of tumour cells at each intensity, e.g. `{ "3+" = 20, "2+" = 30 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staining: Option<PerIntensity>,
    /// A percentage of tumour cells staining at an intensity or stronger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_least: Option<AtLeastInput>,
    /// `true` for a result reported negative (0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    negative: Option<bool>,
    /// Antibody clone / assay, e.g. `43-14A`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    specimen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    specimen_date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    preliminary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Source,
}

impl From<Cldn18Result> for Cldn18Input {
    fn from(r: Cldn18Result) -> Self {
        let (staining, at_least, negative) = match r.staining {
            Staining::PerIntensity(p) => (Some(p), None, None),
            Staining::AtLeast { intensity, percent } => {
                (None, Some(AtLeastInput { intensity, percent }), None)
            }
            Staining::Negative => (None, None, Some(true)),
        };
        Self {
            staining,
            at_least,
            negative,
            clone: r.clone,
            specimen: r.specimen,
            specimen_date: r.specimen_date,
            preliminary: r.preliminary,
            source: r.source,
        }
    }
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AtLeastInput {
    intensity: Intensity,
    percent: Percent,
}

impl TryFrom<Cldn18Input> for Cldn18Result {
    type Error = DomainError;
    fn try_from(i: Cldn18Input) -> Result<Self, DomainError> {
        let staining = match (i.staining, i.at_least, i.negative) {
            (Some(per), None, None | Some(false)) => {
                let sum: f64 = Intensity::ALL
                    .iter()
                    .filter_map(|l| per.at(*l))
                    .map(Percent::value)
                    .sum();
                if sum > 100.5 {
                    return Err(DomainError::at(
                        "staining",
                        format!("the percentages add up to {sum}%, more than 100%"),
                    ));
                }
                if per == PerIntensity::default() {
                    return Err(DomainError::at(
                        "staining",
                        "give the percentage for at least one intensity".to_owned(),
                    ));
                }
                Staining::PerIntensity(per)
            }
            (None, Some(a), None | Some(false)) => Staining::AtLeast {
                intensity: a.intensity,
                percent: a.percent,
            },
            (None, None, Some(true)) => Staining::Negative,
            _ => {
                return Err(DomainError::at(
                    "cldn18",
                    "give exactly one of `staining`, `at_least` or `negative = true`".to_owned(),
                ));
            }
        };
        Ok(Self {
            staining,
            clone: i.clone,
            specimen: i.specimen,
            specimen_date: i.specimen_date,
            preliminary: i.preliminary,
            source: i.source,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IshResult {
    Amplified,
    NotAmplified,
    Equivocal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Her2Status {
    Positive,
    Negative,
    /// IHC 2+ without an ISH result, or an equivocal ISH: not decidable.
    Equivocal,
}

/// A HER2 result: IHC score, ISH, and/or the report's interpretation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Her2Result {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ihc: Option<Intensity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ish: Option<IshResult>,
    /// The report's own reading, used when the IHC/ISH detail is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpretation: Option<Her2Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preliminary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

impl Her2Result {
    /// IHC and ISH disagree: IHC 0 or 1+ with ISH amplified, or IHC 3+ with ISH not amplified.
    pub fn discordant(&self) -> bool {
        matches!(
            (self.ihc.map(Intensity::level), self.ish),
            (Some(0 | 1), Some(IshResult::Amplified)) | (Some(3), Some(IshResult::NotAmplified))
        )
    }

    /// The gastric rule: positive = IHC 3+, or IHC 2+ with ISH amplified; negative = IHC 0
    /// or 1+, or IHC 2+ with ISH not amplified; IHC 2+ without ISH = equivocal. With no IHC
    /// score, an ISH result or the report's interpretation decides. `None` = nothing usable.
    ///
    /// IHC and ISH that disagree — IHC 0/1+ with ISH amplified, IHC 3+ with ISH not amplified
    /// — are discordant ([`Her2Result::discordant`]): not decidable here, for the pathologist
    /// and the MDT (`Equivocal`), never read as negative or positive.
    pub fn status(&self) -> Option<Her2Status> {
        if self.discordant() {
            return Some(Her2Status::Equivocal);
        }
        match (self.ihc.map(Intensity::level), self.ish) {
            (Some(3), _) => Some(Her2Status::Positive),
            (Some(0 | 1), _) => Some(Her2Status::Negative),
            (Some(_), Some(IshResult::Amplified)) => Some(Her2Status::Positive),
            (Some(_), Some(IshResult::NotAmplified)) => Some(Her2Status::Negative),
            (Some(_), _) => Some(Her2Status::Equivocal),
            (None, Some(IshResult::Amplified)) => Some(Her2Status::Positive),
            (None, Some(IshResult::NotAmplified)) => Some(Her2Status::Negative),
            (None, Some(IshResult::Equivocal)) => Some(Her2Status::Equivocal),
            (None, None) => self.interpretation,
        }
    }

    pub fn describe(&self) -> String {
        self.describe_in(Lang::En)
    }

    /// The result in Chinese.
    pub fn describe_zh(&self) -> String {
        self.describe_in(Lang::ZhCn)
    }

    /// IHC, then ISH; the report's reading only when neither is given.
    fn describe_in(&self, lang: Lang) -> String {
        let zh = lang == Lang::ZhCn;
        let mut parts = Vec::new();
        if let Some(ihc) = self.ihc {
            parts.push(format!("IHC {ihc}"));
        }
        if let Some(ish) = self.ish {
            let word = match (ish, zh) {
                (IshResult::Amplified, false) => "amplified",
                (IshResult::NotAmplified, false) => "not amplified",
                (IshResult::Equivocal, false) => "equivocal",
                (IshResult::Amplified, true) => "扩增",
                (IshResult::NotAmplified, true) => "无扩增",
                (IshResult::Equivocal, true) => "不确定",
            };
            parts.push(format!("ISH {word}"));
        }
        if parts.is_empty()
            && let Some(i) = self.interpretation
        {
            let reported = match (i, zh) {
                (Her2Status::Positive, false) => "reported positive",
                (Her2Status::Negative, false) => "reported negative",
                (Her2Status::Equivocal, false) => "reported equivocal",
                (Her2Status::Positive, true) => "报告为阳性",
                (Her2Status::Negative, true) => "报告为阴性",
                (Her2Status::Equivocal, true) => "报告为不确定",
            };
            parts.push(reported.to_owned());
        }
        parts.join(if zh { "，" } else { ", " })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pdl1Result {
    /// Combined positive score.
    pub cps: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MsiStatus {
    MsiHigh,
    MsiLow,
    Mss,
    /// Mismatch-repair deficient (IHC).
    Dmmr,
    /// Mismatch-repair proficient (IHC).
    Pmmr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MsiResult {
    pub status: MsiStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

/// Why a therapy was given, relative to surgery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TherapySetting {
    Neoadjuvant,
    Adjuvant,
    Perioperative,
    /// Given with curative intent (the mCODE procedure-intent "curative") without saying
    /// whether before or after surgery: like (neo)adjuvant therapy, not a line for advanced
    /// disease unless relapse follows soon.
    Curative,
    /// For advanced (unresectable or metastatic) disease.
    Advanced,
    Unknown,
}

impl TherapySetting {
    /// Therapy given for early disease, which counts as a line only when relapse follows soon.
    pub fn is_perioperative(self) -> bool {
        matches!(
            self,
            Self::Neoadjuvant | Self::Adjuvant | Self::Perioperative | Self::Curative
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    Progression,
    Intolerance,
    Completed,
    Other,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemicTherapy {
    pub drug: String,
    pub start: PartialDate,
    /// Last administration; absent while ongoing or when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<PartialDate>,
    #[serde(default = "unknown_setting")]
    pub setting: TherapySetting,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_stopped: Option<StopReason>,
    /// The therapy treated another cancer (named here), so it is shown but is not a line of
    /// therapy of the cancer under evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_cancer: Option<String>,
    /// The import could not identify this medication (an unknown code or name) though the
    /// record says it was given for the cancer: it may be an anticancer drug, so the line
    /// count and the last line are unknown until the coordinator names it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unidentified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

fn unknown_setting() -> TherapySetting {
    TherapySetting::Unknown
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressionEvent {
    pub date: PartialDate,
    /// What showed it: imaging, a new metastasis, clinical…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

impl LineOutcome {
    pub fn label(self) -> crate::text::Bi {
        match self {
            Self::Progression => crate::text::Bi::new("progression", "进展"),
            Self::Intolerance => crate::text::Bi::new("intolerance", "不耐受"),
            Self::NotFailed => crate::text::Bi::new(
                "not failed (ongoing, completed or not documented)",
                "未失败（进行中、已完成或未记录）",
            ),
        }
    }
}

impl TherapySetting {
    pub fn label(self) -> crate::text::Bi {
        match self {
            Self::Neoadjuvant => crate::text::Bi::new("neoadjuvant", "新辅助"),
            Self::Adjuvant => crate::text::Bi::new("adjuvant", "辅助"),
            Self::Perioperative => crate::text::Bi::new("perioperative", "围手术期"),
            Self::Curative => crate::text::Bi::new("curative intent", "根治性治疗"),
            Self::Advanced => crate::text::Bi::new("advanced disease", "晚期治疗"),
            Self::Unknown => crate::text::Bi::new("setting not recorded", "治疗阶段未记录"),
        }
    }
}

/// How a line of therapy ended, as far as is documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LineOutcome {
    /// Progression during or after the line.
    Progression,
    Intolerance,
    /// Ongoing, completed without progression, or not documented.
    NotFailed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmedLine {
    pub drugs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<PartialDate>,
    #[serde(default = "advanced_setting")]
    pub setting: TherapySetting,
    /// Whether the line counts as a prior line (a (neo)adjuvant line counts when relapse
    /// came within 6 months of its end).
    #[serde(default = "yes")]
    pub counts: bool,
    pub outcome: LineOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

fn advanced_setting() -> TherapySetting {
    TherapySetting::Advanced
}
fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EcogResult {
    pub score: Ecog,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabResult {
    pub test: LabTest,
    pub value: f64,
    pub unit: Unit,
    /// Upper limit of normal, in the same unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uln: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per(three: f64, two: Option<f64>, one: f64, zero: Option<f64>) -> Staining {
        let p = |v: f64| Percent::new(v).ok();
        Staining::PerIntensity(PerIntensity {
            three: p(three),
            two: two.and_then(p),
            one: p(one),
            zero: zero.and_then(p),
        })
    }

    #[test]
    fn at_or_above_sums_the_stronger_levels() {
        let s = per(20.0, Some(25.0), 30.0, None);
        let r = s.percent_at_or_above(Intensity::TWO);
        assert_eq!((r.low, r.high), (45.0, 45.0));
        // 0 is missing: ≥1+ is exact, ≥0 can be anything up to 100.
        assert!(s.percent_at_or_above(Intensity::ONE).is_exact());
        assert_eq!(s.percent_at_or_above(Intensity::ZERO).high, 100.0);
    }

    #[test]
    fn a_missing_stronger_level_widens_the_range() {
        let s = per(10.0, None, 40.0, Some(30.0));
        let r = s.percent_at_or_above(Intensity::TWO);
        assert_eq!((r.low, r.high), (10.0, 30.0));
    }

    #[test]
    fn at_least_form() {
        let s = Staining::AtLeast {
            intensity: Intensity::TWO,
            percent: Percent::new(60.0).expect("pct"),
        };
        assert!(s.percent_at_or_above(Intensity::TWO).is_exact());
        let three = s.percent_at_or_above(Intensity::THREE);
        assert_eq!((three.low, three.high), (0.0, 60.0));
        let one = s.percent_at_or_above(Intensity::ONE);
        assert_eq!((one.low, one.high), (60.0, 100.0));
    }

    #[test]
    fn stage_groups() {
        assert_eq!(stage_group("IV"), Some(4));
        assert_eq!(stage_group("Stage IVB"), Some(4));
        assert_eq!(stage_group("IIIA"), Some(3));
        assert_eq!(stage_group("II"), Some(2));
        assert_eq!(stage_group("3C"), Some(3));
        assert_eq!(stage_group("cT3N1M1"), Some(4));
        assert_eq!(stage_group("unknown"), None);
    }

    #[test]
    fn her2_gastric_rule() {
        let r = |ihc: Option<u8>, ish: Option<IshResult>| Her2Result {
            ihc: ihc.map(|i| Intensity::new(i).expect("ihc")),
            ish,
            interpretation: None,
            date: None,
            preliminary: false,
            source: None,
        };
        assert_eq!(r(Some(3), None).status(), Some(Her2Status::Positive));
        assert_eq!(r(Some(1), None).status(), Some(Her2Status::Negative));
        assert_eq!(r(Some(0), None).status(), Some(Her2Status::Negative));
        assert_eq!(r(Some(2), None).status(), Some(Her2Status::Equivocal));
        // Discordant IHC and ISH: for the pathologist, never negative (or positive).
        assert_eq!(
            r(Some(1), Some(IshResult::Amplified)).status(),
            Some(Her2Status::Equivocal)
        );
        assert_eq!(
            r(Some(0), Some(IshResult::Amplified)).status(),
            Some(Her2Status::Equivocal)
        );
        assert_eq!(
            r(Some(3), Some(IshResult::NotAmplified)).status(),
            Some(Her2Status::Equivocal)
        );
        assert!(r(Some(1), Some(IshResult::Amplified)).discordant());
        assert!(!r(Some(1), Some(IshResult::NotAmplified)).discordant());
        assert_eq!(
            r(Some(2), Some(IshResult::Amplified)).status(),
            Some(Her2Status::Positive)
        );
        assert_eq!(
            r(Some(2), Some(IshResult::NotAmplified)).status(),
            Some(Her2Status::Negative)
        );
        assert_eq!(r(None, None).status(), None);
    }
}
