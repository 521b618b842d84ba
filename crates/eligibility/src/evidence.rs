//! The published outcome figures the reports cite (`catalogue/evidence/*.toml`): each figure
//! as published — trial, arm, population, line, biomarker condition, endpoint, value,
//! interval, follow-up — with its source and date. Nothing here is computed or rounded: a
//! figure is text copied from its source, checked only for being a well-formed number that
//! lies within its own interval.

use serde::Deserialize;

use crate::catalogue::CatalogueError;
use cellpath_domain::PartialDate;
use cellpath_domain::text::Bi;

/// The evidence files shipped in `catalogue/evidence/`, compiled in.
pub const SHIPPED_FILES: &[(&str, &str)] = &[
    (
        "evidence/satri-cel.toml",
        include_str!("../../../catalogue/evidence/satri-cel.toml"),
    ),
    (
        "evidence/alternatives.toml",
        include_str!("../../../catalogue/evidence/alternatives.toml"),
    ),
];

/// The line of therapy a trial's population was at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Line {
    First,
    Second,
    /// After two or more prior lines.
    ThirdPlus,
}

impl Line {
    /// The line a patient is at, from the number of prior lines that count.
    pub fn after(prior_lines: u32) -> Self {
        match prior_lines {
            0 => Self::First,
            1 => Self::Second,
            _ => Self::ThirdPlus,
        }
    }
    pub fn label(self) -> Bi {
        match self {
            Self::First => Bi::new("first line", "一线"),
            Self::Second => Bi::new("second line", "二线"),
            Self::ThirdPlus => Bi::new("third line or later", "三线及以后"),
        }
    }
}

/// The biomarker condition of a trial's population.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Biomarkers {
    #[serde(rename = "any")]
    Any,
    /// CLDN18.2 ≥2+ in ≥40% of tumour cells (as CT041-ST-01).
    #[serde(rename = "cldn18.2-positive")]
    Cldn182Positive,
    /// CLDN18.2 2+/3+ in ≥75% of tumour cells and HER2-negative (as zolbetuximab's label).
    #[serde(rename = "cldn18.2-high-her2-negative")]
    Cldn182HighHer2Negative,
    #[serde(rename = "her2-positive")]
    Her2Positive,
}

impl Biomarkers {
    pub fn label(self) -> Bi {
        match self {
            Self::Any => Bi::new("not selected by biomarker", "未按生物标志物筛选"),
            Self::Cldn182Positive => Bi::new(
                "CLDN18.2-positive (≥2+ in ≥40% of tumour cells)",
                "CLDN18.2 阳性（≥40% 肿瘤细胞 ≥2+）",
            ),
            Self::Cldn182HighHer2Negative => Bi::new(
                "CLDN18.2 2+/3+ in ≥75% of tumour cells, HER2-negative",
                "CLDN18.2 2+/3+ ≥75% 肿瘤细胞，HER2 阴性",
            ),
            Self::Her2Positive => Bi::new("HER2-positive", "HER2 阳性"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    MedianPfs,
    MedianOs,
    /// Objective response rate.
    Orr,
    /// Disease control rate.
    Dcr,
    /// Median duration of response.
    MedianDor,
    #[serde(rename = "pfs-rate-6m")]
    PfsRate6m,
    #[serde(rename = "os-rate-18m")]
    OsRate18m,
    /// Cytokine release syndrome, any grade.
    Crs,
}

impl Endpoint {
    pub fn label(self) -> Bi {
        match self {
            Self::MedianPfs => Bi::new("median progression-free survival", "中位无进展生存期"),
            Self::MedianOs => Bi::new("median overall survival", "中位总生存期"),
            Self::Orr => Bi::new("objective response rate", "客观缓解率"),
            Self::Dcr => Bi::new("disease control rate", "疾病控制率"),
            Self::MedianDor => Bi::new("median duration of response", "中位缓解持续时间"),
            Self::PfsRate6m => Bi::new("progression-free at 6 months", "6 个月无进展生存率"),
            Self::OsRate18m => Bi::new("alive at 18 months", "18 个月总生存率"),
            Self::Crs => Bi::new(
                "cytokine release syndrome (any grade)",
                "细胞因子释放综合征（任何级别）",
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    Months,
    Percent,
    /// A count of patients, out of `arm_of`.
    Patients,
}

impl Unit {
    /// A published value with its unit, in a language.
    pub fn with(self, value: &str, lang: cellpath_domain::Lang) -> String {
        let zh = lang == cellpath_domain::Lang::ZhCn;
        match self {
            Self::Months if zh => format!("{value} 个月"),
            Self::Months => format!("{value} months"),
            Self::Percent => format!("{value}%"),
            Self::Patients if zh => format!("{value} 例"),
            Self::Patients => format!("{value} patients"),
        }
    }
}

/// One published figure.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub id: String,
    /// The treatment the figure is about, e.g. `satri-cel`, `trifluridine/tipiracil`.
    pub regimen: String,
    #[serde(default)]
    pub comparator: Option<String>,
    #[serde(default)]
    pub comparator_zh: Option<String>,
    pub trial: String,
    /// The trial's name in Chinese, where it is a description rather than a name
    /// ("Chinese phase 3 (apatinib 850 mg)").
    #[serde(default)]
    pub trial_zh: Option<String>,
    #[serde(default)]
    pub registry: Option<String>,
    pub population: String,
    pub population_zh: String,
    pub line: Line,
    pub biomarker: Biomarkers,
    pub endpoint: Endpoint,
    pub unit: Unit,
    /// As published: a decimal number, never recomputed.
    pub arm_value: String,
    /// `low–high` as published.
    #[serde(default)]
    pub arm_interval: Option<String>,
    /// For counts: out of how many.
    #[serde(default)]
    pub arm_of: Option<String>,
    #[serde(default)]
    pub comparator_value: Option<String>,
    #[serde(default)]
    pub comparator_interval: Option<String>,
    /// The effect as published, e.g. `HR 0.37 (0.24–0.56), p<0.0001`.
    #[serde(default)]
    pub effect: Option<String>,
    /// Drugs the trial's population had all received (generic names, any one of each list
    /// item's alternatives separated by `|`): DESTINY-Gastric01's "including trastuzumab".
    /// The figure is shown only to a patient whose record has them.
    #[serde(default)]
    pub requires_prior: Vec<String>,
    /// Drugs the trial's population had not received: ATTRACTION-2 enrolled before
    /// checkpoint inhibitors, so it does not speak for a patient who had one.
    #[serde(default)]
    pub excludes_prior: Vec<String>,
    #[serde(default)]
    pub follow_up: Option<String>,
    #[serde(default)]
    pub follow_up_zh: Option<String>,
    /// What the figure does not show.
    #[serde(default)]
    pub caveat: Option<String>,
    #[serde(default)]
    pub caveat_zh: Option<String>,
    pub source: String,
    pub source_date: PartialDate,
}

impl Figure {
    pub fn population(&self) -> Bi {
        Bi::new(&self.population, &self.population_zh)
    }
    pub fn comparator(&self) -> Option<Bi> {
        Some(Bi::new(
            self.comparator.clone()?,
            self.comparator_zh.clone()?,
        ))
    }
    pub fn follow_up(&self) -> Option<Bi> {
        Some(Bi::new(self.follow_up.clone()?, self.follow_up_zh.clone()?))
    }
    pub fn caveat(&self) -> Option<Bi> {
        Some(Bi::new(self.caveat.clone()?, self.caveat_zh.clone()?))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    figure: Vec<Figure>,
}

/// The evidence, checked.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    figures: Vec<Figure>,
}

/// A decimal as published: digits with at most one point.
fn decimal(text: &str) -> Option<f64> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.matches('.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    ok.then(|| text.parse().ok()).flatten()
}

/// `low–high` (an en dash, as published).
fn interval(text: &str) -> Option<(f64, f64)> {
    let (a, b) = text.split_once('–')?;
    Some((decimal(a)?, decimal(b)?))
}

fn check(f: &Figure) -> Result<(), String> {
    let value = |name: &str, v: &str| {
        decimal(v).ok_or_else(|| {
            format!("{name} `{v}` is not a number as published (digits and one point)")
        })
    };
    let within = |name: &str, v: f64, i: &Option<String>| -> Result<(), String> {
        let Some(text) = i else { return Ok(()) };
        let (lo, hi) =
            interval(text).ok_or_else(|| format!("{name}_interval `{text}` is not `low–high`"))?;
        if lo > hi || v < lo || v > hi {
            return Err(format!("{name}_value {v} lies outside its interval {text}"));
        }
        Ok(())
    };
    let arm = value("arm_value", &f.arm_value)?;
    within("arm", arm, &f.arm_interval)?;
    if let Some(c) = &f.comparator_value {
        let c = value("comparator_value", c)?;
        within("comparator", c, &f.comparator_interval)?;
        if f.comparator.is_none() {
            return Err("a comparator_value needs the comparator it belongs to".into());
        }
    } else if f.comparator_interval.is_some() {
        return Err("comparator_interval without comparator_value".into());
    }
    match f.unit {
        Unit::Percent => {
            for v in [Some(&f.arm_value), f.comparator_value.as_ref()]
                .into_iter()
                .flatten()
            {
                if decimal(v).is_some_and(|x| x > 100.0) {
                    return Err(format!("{v}% is more than 100%"));
                }
            }
        }
        Unit::Patients => {
            let of = f
                .arm_of
                .as_deref()
                .ok_or("a count of patients needs arm_of (out of how many)")?;
            let of = value("arm_of", of)?;
            if arm > of {
                return Err(format!("{arm} patients out of {of}"));
            }
        }
        Unit::Months => {}
    }
    if f.comparator.is_some() != f.comparator_zh.is_some() {
        return Err("comparator needs comparator_zh (and the other way round)".into());
    }
    if f.follow_up.is_some() != f.follow_up_zh.is_some() {
        return Err("follow_up needs follow_up_zh (and the other way round)".into());
    }
    if f.caveat.is_some() != f.caveat_zh.is_some() {
        return Err("caveat needs caveat_zh (and the other way round)".into());
    }
    if !(f.source.starts_with("https://") || f.source.starts_with("http://")) {
        return Err(format!("source `{}` is not an address", f.source));
    }
    for (name, text) in [
        ("population", &f.population),
        ("population_zh", &f.population_zh),
        ("trial", &f.trial),
        ("regimen", &f.regimen),
    ] {
        if text.trim().is_empty() {
            return Err(format!("{name} is empty"));
        }
    }
    Ok(())
}

/// The 1-based line of `id = "…"` in a file, to name where a figure is.
fn line_of(text: &str, id: &str) -> Option<usize> {
    let needle = format!("id = \"{id}\"");
    text.lines().position(|l| l.trim() == needle).map(|n| n + 1)
}

impl Evidence {
    /// Reads and checks evidence files (name, text): every figure well formed and each id
    /// once; a problem names the file and line.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, CatalogueError> {
        let mut figures: Vec<Figure> = Vec::new();
        for (name, text) in files {
            let file: File = toml::from_str(text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
                CatalogueError::new(name, line, e.message().trim().to_owned())
            })?;
            for f in file.figure {
                let at = line_of(text, &f.id);
                check(&f).map_err(|m| CatalogueError::new(name, at, format!("{}: {m}", f.id)))?;
                if figures.iter().any(|g| g.id == f.id) {
                    return Err(CatalogueError::new(
                        name,
                        at,
                        format!("{}: the id is used twice", f.id),
                    ));
                }
                figures.push(f);
            }
        }
        Ok(Self { figures })
    }

    pub fn figures(&self) -> &[Figure] {
        &self.figures
    }

    /// The figures of one regimen, in file order.
    pub fn of(&self, regimen: &str) -> impl Iterator<Item = &Figure> {
        self.figures.iter().filter(move |f| f.regimen == regimen)
    }

    /// The alternatives to `besides` at a line, for a patient with these biomarkers who
    /// received these drugs (generic names, lower case): the trials of a population at that
    /// line, unselected or selected by a biomarker the patient has, whose prior-therapy
    /// requirements the record meets (`requires_prior`, `excludes_prior`).
    pub fn alternatives<'a>(
        &'a self,
        besides: &'a str,
        line: Line,
        markers: &'a [Biomarkers],
        received: &'a [String],
    ) -> impl Iterator<Item = &'a Figure> {
        let had = move |item: &str| {
            item.split('|')
                .any(|d| received.iter().any(|r| r.contains(d.trim())))
        };
        self.figures.iter().filter(move |f| {
            f.regimen != besides
                && f.line == line
                && (f.biomarker == Biomarkers::Any || markers.contains(&f.biomarker))
                && f.requires_prior.iter().all(|d| had(d))
                && !f.excludes_prior.iter().any(|d| had(d))
        })
    }
}

/// The shipped evidence.
pub fn shipped() -> Result<Evidence, CatalogueError> {
    Evidence::from_files(SHIPPED_FILES.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each ATTRACTION-2 figure cites the paper it comes from (clinical review, issue 27):
    /// the 2020 update's hazard ratio is 0.62 (0.51–0.76); the response rate is the Lancet
    /// 2017 primary analysis's.
    #[test]
    fn attraction_2_figures_cite_their_own_papers() {
        let e = shipped().expect("shipped evidence");
        let fig = |id: &str| e.figures().iter().find(|f| f.id == id).expect(id).clone();
        let os = fig("attraction2-os");
        assert_eq!(os.effect.as_deref(), Some("HR 0.62 (0.51–0.76)"));
        assert!(os.source.contains("10.1007/s10120-019-01034-7"));
        let orr = fig("attraction2-orr");
        assert!(
            orr.source.contains("S0140-6736(17)31827-5"),
            "{}",
            orr.source
        );
        assert_eq!(orr.source_date.to_string(), "2017");
    }

    #[test]
    fn the_shipped_evidence_reads_and_every_figure_has_its_source() {
        let e = shipped().expect("shipped evidence");
        assert!(e.figures().len() >= 20, "{}", e.figures().len());
        let satri: Vec<_> = e.of("satri-cel").collect();
        for want in [
            Endpoint::MedianPfs,
            Endpoint::MedianOs,
            Endpoint::Orr,
            Endpoint::Crs,
        ] {
            assert!(satri.iter().any(|f| f.endpoint == want), "{want:?}");
        }
        // The OS interval that crosses 1 is said.
        let os = satri
            .iter()
            .find(|f| f.id == "st01-itt-os")
            .expect("ITT OS");
        assert!(
            os.caveat
                .as_deref()
                .is_some_and(|c| c.contains("crosses 1"))
        );
        // Third line, HER2-negative CLDN18.2-positive: TAGS, ATTRACTION-2, apatinib; not
        // zolbetuximab (first line) nor T-DXd (HER2-positive).
        let none: Vec<String> = Vec::new();
        let alt: Vec<_> = e
            .alternatives(
                "satri-cel",
                Line::ThirdPlus,
                &[Biomarkers::Cldn182Positive],
                &none,
            )
            .map(|f| f.regimen.as_str())
            .collect();
        assert!(alt.contains(&"trifluridine/tipiracil") && alt.contains(&"nivolumab"));
        assert!(alt.contains(&"apatinib"));
        assert!(
            !alt.iter()
                .any(|r| r.contains("zolbetuximab") || r.contains("deruxtecan"))
        );
        // DESTINY-Gastric01's population had received trastuzumab: not shown without it.
        let her2: Vec<_> = e
            .alternatives(
                "satri-cel",
                Line::ThirdPlus,
                &[Biomarkers::Her2Positive],
                &none,
            )
            .map(|f| f.regimen.as_str())
            .collect();
        assert!(!her2.contains(&"trastuzumab deruxtecan"));
        let had_trastuzumab = vec!["trastuzumab".to_owned(), "oxaliplatin".to_owned()];
        let her2: Vec<_> = e
            .alternatives(
                "satri-cel",
                Line::ThirdPlus,
                &[Biomarkers::Her2Positive],
                &had_trastuzumab,
            )
            .map(|f| f.regimen.as_str())
            .collect();
        assert!(her2.contains(&"trastuzumab deruxtecan"));
        // ATTRACTION-2 enrolled before checkpoint inhibitors: not after nivolumab.
        let had_nivolumab = vec!["nivolumab".to_owned()];
        let alt: Vec<_> = e
            .alternatives(
                "satri-cel",
                Line::ThirdPlus,
                &[Biomarkers::Cldn182Positive],
                &had_nivolumab,
            )
            .map(|f| f.trial.as_str())
            .collect();
        assert!(
            !alt.contains(&"ATTRACTION-2") && alt.contains(&"TAGS"),
            "{alt:?}"
        );
    }

    fn one(body: &str) -> Result<Evidence, CatalogueError> {
        let base = r#"[[figure]]
id = "x"
regimen = "r"
trial = "t"
population = "p"
population_zh = "人群"
line = "third-plus"
biomarker = "any"
endpoint = "median-os"
unit = "months"
arm_value = "5.7"
source = "https://example.org/a"
source_date = "2018-11"
"#;
        let text = format!("{base}{body}");
        let leaked: &'static str = Box::leak(text.into_boxed_str());
        Evidence::from_files([("e.toml", leaked)])
    }

    #[test]
    fn a_malformed_figure_is_named_with_its_file_and_line() {
        one("").expect("the base figure is good");
        for (body, says) in [
            ("arm_interval = \"6.0–9.0\"\n", "outside its interval"),
            ("arm_interval = \"1.0-9.0\"\n", "is not `low–high`"),
            ("comparator_value = \"3.6\"\n", "needs the comparator"),
            ("comparator = \"placebo\"\n", "comparator_zh"),
            ("caveat = \"only English\"\n", "caveat_zh"),
            ("follow_up = \"x\"\n", "follow_up_zh"),
            ("effect = \"HR\"\nsurprise = 1\n", "surprise"),
        ] {
            let e = one(body).expect_err(body);
            assert!(e.to_string().contains(says), "{body}: {e}");
            assert!(e.to_string().starts_with("e.toml:"), "{e}");
        }
        let e = one("").map(|_| ()).and_then(|_| {
            Evidence::from_files([
                ("a.toml", "[[figure]]\nid = \"x\"\nregimen = \"r\"\ntrial = \"t\"\npopulation = \"p\"\npopulation_zh = \"人\"\nline = \"first\"\nbiomarker = \"any\"\nendpoint = \"orr\"\nunit = \"percent\"\narm_value = \"120\"\nsource = \"https://e.org\"\nsource_date = \"2020\"\n"),
            ])
            .map(|_| ())
        });
        let e = e.expect_err("over 100%");
        assert_eq!(e.to_string(), "a.toml:2: x: 120% is more than 100%");
    }
}
