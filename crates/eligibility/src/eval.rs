// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The evaluator. Each criterion is `met`, `not-met`, `unknown` or `not-applicable`, read
//! as "does the patient satisfy this requirement" (for an exclusion, the requirement is the
//! absence of the excluding condition), with an explanation in two languages and the
//! evidence used. A programme is `ineligible` if any criterion is not met, else
//! `needs-information` if any is unknown, else `eligible`. Clinician-judgement items are
//! listed and never decide.

use cellpath_domain::{Case, Date, Her2Status, LineOutcome, MsiStatus, PartialDate};
use serde::Serialize;

use crate::catalogue::{
    Availability, BiomarkerRule, Catalogue, Criterion, CriterionKind, LabBound, MsiClass,
    Programme, Rule,
};
use crate::facts::Facts;
use cellpath_domain::text::{Bi, Lang};

/// The id of the criterion every result starts with: is the programme taking patients.
pub const STATUS_CRITERION_ID: &str = "programme-status";
/// The criterion shown first, and failed, when the record says the patient has died.
pub const DECEASED_CRITERION_ID: &str = "patient-deceased";

/// Three-valued (Kleene) logic: what a rule says of the patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl From<bool> for Tri {
    fn from(b: bool) -> Self {
        if b { Self::True } else { Self::False }
    }
}

impl Tri {
    fn not(self) -> Self {
        match self {
            Self::True => Self::False,
            Self::False => Self::True,
            Self::Unknown => Self::Unknown,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Met,
    NotMet,
    Unknown,
    NotApplicable,
}

impl Status {
    pub fn label(self) -> Bi {
        match self {
            Self::Met => Bi::new("met", "符合"),
            Self::NotMet => Bi::new("not met", "不符合"),
            Self::Unknown => Bi::new("unknown", "未知"),
            Self::NotApplicable => Bi::new("not applicable", "不适用"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Eligible,
    NeedsInformation,
    Ineligible,
}

impl Verdict {
    pub fn label(self) -> Bi {
        match self {
            Self::Eligible => Bi::new("eligible", "符合条件"),
            Self::NeedsInformation => Bi::new("needs information", "需要补充信息"),
            Self::Ineligible => Bi::new("ineligible", "不符合条件"),
        }
    }
}

/// How a criterion appears in results: inclusion, exclusion, or a clinician-judgement item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultKind {
    Inclusion,
    Exclusion,
    ClinicianJudgement,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CriterionResult {
    pub id: String,
    pub kind: ResultKind,
    pub status: Status,
    pub text: Bi,
    pub explanation: Bi,
    pub evidence: Vec<Bi>,
    /// What would settle it; present when the status is unknown.
    pub request: Option<Bi>,
    /// The source the criterion rests on: title, date, address.
    pub source: String,
    /// For a judgement item: the recorded facts it concerns (never hidden).
    pub recorded: Vec<Bi>,
    /// Where the rule is borrowed from, when it is not the programme's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub borrowed: Option<Bi>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgrammeResult {
    pub programme: String,
    pub verdict: Verdict,
    pub criteria: Vec<CriterionResult>,
}

impl ProgrammeResult {
    /// The criteria that make the programme ineligible.
    pub fn blocking(&self) -> impl Iterator<Item = &CriterionResult> {
        self.criteria
            .iter()
            .filter(|c| c.status == Status::NotMet && c.kind != ResultKind::ClinicianJudgement)
    }
    /// The criteria whose facts are missing, each with its request.
    pub fn unknowns(&self) -> impl Iterator<Item = &CriterionResult> {
        self.criteria
            .iter()
            .filter(|c| c.status == Status::Unknown && c.kind != ResultKind::ClinicianJudgement)
    }
    pub fn judgements(&self) -> impl Iterator<Item = &CriterionResult> {
        self.criteria
            .iter()
            .filter(|c| c.kind == ResultKind::ClinicianJudgement)
    }
}

/// Collects what a rule's evaluation looked at and concluded.
#[derive(Default)]
struct Explain {
    en: Vec<String>,
    zh: Vec<String>,
    evidence: Vec<Bi>,
}

impl Explain {
    fn say(&mut self, en: String, zh: String) {
        self.en.push(en);
        self.zh.push(zh);
    }
    fn cite(&mut self, en: String, zh: String) {
        let evidence = Bi::new(en, zh);
        if !self.evidence.contains(&evidence) {
            self.evidence.push(evidence);
        }
    }
}

fn source_note(source: &Option<String>) -> String {
    match source {
        Some(s) => format!(" [source: {s}]"),
        None => " [source not recorded]".to_owned(),
    }
}

/// The record's own text for where a fact came from, in Chinese framing.
fn source_note_zh(source: &Option<String>) -> String {
    match source {
        Some(s) => format!("［来源：{s}］"),
        None => "［未记录来源］".to_owned(),
    }
}

fn opt_date(d: Option<PartialDate>) -> String {
    d.map_or_else(|| "undated".to_owned(), |d| d.to_string())
}

/// Evaluates `rule`. With `ex`, also records explanations and evidence; without, it is the
/// allocation-free fast path used for batch screening.
fn eval(rule: &Rule, f: &Facts, mut ex: Option<&mut Explain>) -> Tri {
    match rule {
        Rule::All(rules) => {
            let mut acc = Tri::True;
            for r in rules {
                match eval(r, f, ex.as_deref_mut()) {
                    Tri::False => {
                        acc = Tri::False;
                        if ex.is_none() {
                            return acc;
                        }
                    }
                    Tri::Unknown if acc == Tri::True => acc = Tri::Unknown,
                    _ => {}
                }
            }
            acc
        }
        Rule::Any(rules) => {
            let mut acc = Tri::False;
            for r in rules {
                match eval(r, f, ex.as_deref_mut()) {
                    Tri::True => {
                        acc = Tri::True;
                        if ex.is_none() {
                            return acc;
                        }
                    }
                    Tri::Unknown if acc == Tri::False => acc = Tri::Unknown,
                    _ => {}
                }
            }
            acc
        }
        Rule::Not(r) => eval(r, f, ex).not(),
        Rule::AgeAtLeast(n) => age(
            f,
            ex,
            |a| a >= *n as i32,
            &format!("{n} or older"),
            &format!("{n} 岁或以上"),
        ),
        Rule::AgeAtMost(n) => age(
            f,
            ex,
            |a| a <= *n as i32,
            &format!("{n} or younger"),
            &format!("{n} 岁或以下"),
        ),
        Rule::PrimarySite(sites) => {
            let primary = f.case.primary.as_ref();
            let Some(site) = primary.and_then(|p| p.site) else {
                if let Some(ex) = ex {
                    ex.say(
                        "The primary tumour site is not recorded.".into(),
                        "未记录原发肿瘤部位。".into(),
                    );
                }
                return Tri::Unknown;
            };
            let yes = sites.contains(&site);
            if let Some(ex) = ex {
                let wanted: Vec<&str> = sites.iter().map(|s| s.name()).collect();
                let wanted_zh: Vec<&str> = sites.iter().map(|s| s.name_zh()).collect();
                ex.say(
                    format!(
                        "Primary site: {} ({} {}).",
                        site.name(),
                        if yes { "one of" } else { "not one of" },
                        wanted.join(", ")
                    ),
                    format!(
                        "原发部位：{}（{}{}）。",
                        site.name_zh(),
                        if yes { "属于" } else { "不属于" },
                        wanted_zh.join("、")
                    ),
                );
                if let Some(p) = primary {
                    let text = p
                        .site_text
                        .as_deref()
                        .map(|t| format!(" (\"{t}\")"))
                        .unwrap_or_default();
                    ex.cite(
                        format!(
                            "Primary cancer: {}{text}{}",
                            site.name(),
                            source_note(&p.source)
                        ),
                        format!(
                            "原发肿瘤：{}{text}{}",
                            site.name_zh(),
                            source_note_zh(&p.source)
                        ),
                    );
                }
            }
            Tri::from(yes)
        }
        Rule::Histology(kinds) => histology(f, ex, |h| kinds.contains(&h)),
        Rule::Adenocarcinoma(_) => histology(f, ex, |h| h.is_adenocarcinoma()),
        Rule::Advanced(_) => {
            let (t, en, zh) = &f.advanced;
            if let Some(ex) = ex {
                ex.say(en.clone(), zh.clone());
                if let Some(p) = &f.seen.primary {
                    ex.cite(
                        format!(
                            "Primary cancer: stage {}, extent {}{}",
                            p.stage.as_deref().unwrap_or("not recorded"),
                            p.extent
                                .map(|e| e.name().to_owned())
                                .unwrap_or_else(|| "not recorded".into()),
                            source_note(&p.source)
                        ),
                        format!(
                            "原发肿瘤：分期 {}，疾病范围{}{}",
                            p.stage.as_deref().unwrap_or("未记录"),
                            p.extent
                                .map(|e| e.name_zh().to_owned())
                                .unwrap_or_else(|| "未记录".into()),
                            source_note_zh(&p.source)
                        ),
                    );
                }
                for m in f.seen.metastases.iter().flatten() {
                    ex.cite(
                        format!(
                            "Metastasis: {} ({}){}",
                            m.site,
                            opt_date(m.date),
                            source_note(&m.source)
                        ),
                        format!(
                            "转移：{}（{}）{}",
                            m.site,
                            opt_date_zh(m.date),
                            source_note_zh(&m.source)
                        ),
                    );
                }
            }
            *t
        }
        Rule::Resected(_) => resected(f, ex),
        Rule::AdjuvantBeforeLab(a) => adjuvant_before_lab(f, ex, a),
        Rule::Biomarker(b) => biomarker(b, f, ex),
        Rule::PriorLinesAtLeast(n) => lines_count(f, ex, |c| c >= *n as usize, *n, true),
        Rule::PriorLinesAtMost(n) => lines_count(f, ex, |c| c <= *n as usize, *n, false),
        Rule::LastLineFailed(_) => last_line_failed(f, ex, false),
        Rule::LastLineProgressed(_) => last_line_failed(f, ex, true),
        Rule::EcogAtMost(n) => {
            let Some(e) = f.ecog else {
                if let Some(ex) = ex {
                    ex.say(
                        "No ECOG performance status is recorded.".into(),
                        "未记录 ECOG 体能状态评分。".into(),
                    );
                }
                return Tri::Unknown;
            };
            let yes = e.score.score() <= *n;
            if let Some(ex) = ex {
                ex.say(
                    format!(
                        "ECOG {} ({}), {} the maximum of {n}.",
                        e.score.score(),
                        opt_date(e.date),
                        if yes { "within" } else { "above" }
                    ),
                    format!(
                        "ECOG {}（{}），{}上限 {n}。",
                        e.score.score(),
                        opt_date(e.date),
                        if yes { "未超过" } else { "超过" }
                    ),
                );
                ex.cite(
                    format!(
                        "ECOG {} on {}{}",
                        e.score.score(),
                        opt_date(e.date),
                        source_note(&e.source)
                    ),
                    format!(
                        "ECOG {}（{}）{}",
                        e.score.score(),
                        opt_date_zh(e.date),
                        source_note_zh(&e.source)
                    ),
                );
            }
            Tri::from(yes)
        }
        Rule::TherapyWithinDays(n) => therapy_within(f, ex, *n, false),
        Rule::TherapyWithinDaysOrFiveHalfLives(n) => therapy_within(f, ex, *n, true),
        Rule::Lab(rule) => lab(f, ex, rule),
    }
}

fn age(f: &Facts, ex: Option<&mut Explain>, ok: impl Fn(i32) -> bool, en: &str, zh: &str) -> Tri {
    let Some((low, high)) = f.age else {
        if let Some(ex) = ex {
            ex.say(
                "The birth date is not recorded.".into(),
                "未记录出生日期。".into(),
            );
        }
        return Tri::Unknown;
    };
    let t = match (ok(low), ok(high)) {
        (true, true) => Tri::True,
        (false, false) => Tri::False,
        _ => Tri::Unknown,
    };
    if let Some(ex) = ex {
        let birth = f
            .case
            .patient
            .birth_date
            .map(|b| b.to_string())
            .unwrap_or_default();
        if low == high {
            ex.say(
                format!("Age {low} on {} (born {birth}); required: {en}.", f.as_of),
                format!(
                    "截至 {}，年龄 {low} 岁（出生 {birth}）；要求：{zh}。",
                    f.as_of
                ),
            );
        } else {
            ex.say(
                format!(
                    "Born {birth}: age on {} is {low} or {high}, which the partial birth date \
                     cannot settle; required: {en}.",
                    f.as_of
                ),
                format!(
                    "出生 {birth}：截至 {} 年龄为 {low} 或 {high} 岁，不完整的出生日期无法确定；要求：{zh}。",
                    f.as_of
                ),
            );
        }
        ex.cite(
            format!("Birth date {birth}{}", source_note(&f.case.patient.source)),
            format!("出生日期 {birth}{}", source_note_zh(&f.case.patient.source)),
        );
    }
    t
}

fn histology(
    f: &Facts,
    ex: Option<&mut Explain>,
    ok: impl Fn(cellpath_domain::Histology) -> bool,
) -> Tri {
    let primary = f.case.primary.as_ref();
    let Some(h) = primary.and_then(|p| p.histology) else {
        if let Some(ex) = ex {
            ex.say(
                "The histology of the primary tumour is not recorded.".into(),
                "未记录原发肿瘤的组织学类型。".into(),
            );
        }
        return Tri::Unknown;
    };
    let yes = ok(h);
    if let Some(ex) = ex {
        ex.say(
            format!(
                "Histology: {} ({}).",
                h.name(),
                if yes { "qualifies" } else { "does not qualify" }
            ),
            format!(
                "组织学类型：{}（{}）。",
                h.name_zh(),
                if yes { "符合" } else { "不符合" }
            ),
        );
        if let Some(p) = primary {
            let text = p
                .histology_text
                .as_deref()
                .map(|t| format!(" (\"{t}\")"))
                .unwrap_or_default();
            ex.cite(
                format!("Histology: {}{text}{}", h.name(), source_note(&p.source)),
                format!(
                    "组织学类型：{}{text}{}",
                    h.name_zh(),
                    source_note_zh(&p.source)
                ),
            );
        }
    }
    Tri::from(yes)
}

const ARCHIVAL_DAYS: i64 = 92;

fn biomarker(b: &BiomarkerRule, f: &Facts, ex: Option<&mut Explain>) -> Tri {
    match b {
        BiomarkerRule::Cldn18 {
            min_intensity,
            min_percent,
            clone,
        } => {
            let Some(r) = f.cldn18 else {
                if let Some(ex) = ex {
                    ex.say(
                        "No CLDN18.2 immunohistochemistry result is recorded.".into(),
                        "未记录 CLDN18.2 免疫组化结果。".into(),
                    );
                }
                return Tri::Unknown;
            };
            let range = r.staining.percent_at_or_above(*min_intensity);
            let need = min_percent.value();
            let norm = |c: &str| {
                c.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_uppercase()
            };
            // The programme accepts results by one assay clone only. The clone may be written
            // inside the assay's name ("VENTANA CLDN18 (43-14A) RxDx"): any word of it counts.
            let clone_ok = match (clone, r.clone.as_deref()) {
                (None, _) => true,
                (Some(want), Some(got)) => {
                    norm(want) == norm(got)
                        || got
                            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
                            .any(|w| !w.is_empty() && norm(w) == norm(want))
                }
                (Some(_), None) => false,
            };
            // What the value says, whatever the assay: said as it is, never "cannot be
            // compared" when only the assay is in question.
            let by_value = if range.low >= need {
                Tri::True
            } else if range.high < need {
                Tri::False
            } else {
                Tri::Unknown
            };
            let t = if clone_ok { by_value } else { Tri::Unknown };
            if let Some(ex) = ex {
                let shown = if range.is_exact() {
                    format!("{}%", range.low)
                } else {
                    format!("between {}% and {}%", range.low, range.high)
                };
                let shown_zh = if range.is_exact() {
                    format!("{}%", range.low)
                } else {
                    format!("介于 {}% 与 {}% 之间", range.low, range.high)
                };
                let verdict_en = match by_value {
                    Tri::True => "meets",
                    Tri::False => "is below",
                    Tri::Unknown => "cannot be compared with",
                };
                let verdict_zh = match by_value {
                    Tri::True => "达到",
                    Tri::False => "低于",
                    Tri::Unknown => "无法判断是否达到",
                };
                ex.say(
                    format!(
                        "CLDN18.2: {shown} of tumour cells stain at ≥{min_intensity}, which \
                         {verdict_en} the threshold of ≥{min_intensity} in ≥{need}%.",
                    ),
                    format!(
                        "CLDN18.2：≥{min_intensity} 膜染色的肿瘤细胞比例为 {shown_zh}，{verdict_zh}阈值（≥{min_intensity}，≥{need}%）。"
                    ),
                );
                if let (false, Some(want)) = (clone_ok, clone) {
                    match r.clone.as_deref() {
                        Some(got) => ex.say(
                            format!("The result is by clone {got}; this programme accepts only an approved test with clone {want}: retest with it."),
                            format!("该结果采用 {got} 克隆；本项目仅接受采用 {want} 克隆的获批检测：请以该检测复测。"),
                        ),
                        None => ex.say(
                            format!("The assay clone is not recorded; this programme accepts only an approved test with clone {want}."),
                            format!("未记录检测所用克隆；本项目仅接受采用 {want} 克隆的获批检测。"),
                        ),
                    }
                } else if by_value == Tri::Unknown {
                    ex.say(
                        "The report does not give the percentage at each intensity.".into(),
                        "报告未给出各染色强度的肿瘤细胞百分比。".into(),
                    );
                }
                if r.preliminary {
                    ex.say(
                        "The result is marked preliminary.".into(),
                        "该结果标注为初步结果。".into(),
                    );
                }
                if let Some(d) = r.specimen_date
                    && d.latest().days_until(f.as_of) > ARCHIVAL_DAYS
                {
                    ex.say(
                        format!(
                            "The specimen ({d}) is more than 3 months old (archival); archival \
                             and baseline positivity agreed in only 61.1% in one study."
                        ),
                        format!(
                            "标本（{d}）距今超过 3 个月（存档标本）；一项研究显示存档与基线标本阳性一致率仅 61.1%。"
                        ),
                    );
                }
                if f.cldn18_count > 1 {
                    ex.say(
                        format!(
                            "The most recent of {} CLDN18.2 results is used.",
                            f.cldn18_count
                        ),
                        format!("共 {} 份 CLDN18.2 结果，采用最近一份。", f.cldn18_count),
                    );
                }
                for other in &f.case.cldn18 {
                    let used = std::ptr::eq(other, r);
                    let specimen = other
                        .specimen
                        .as_deref()
                        .map(|s| format!(", {s}"))
                        .unwrap_or_default();
                    ex.cite(
                        format!(
                            "CLDN18.2 IHC{}{specimen}, specimen {}: {}{}{}",
                            other
                                .clone
                                .as_deref()
                                .map(|c| format!(" (clone {c})"))
                                .unwrap_or_default(),
                            opt_date(other.specimen_date),
                            other.staining.describe(),
                            if used { " (used)" } else { "" },
                            source_note(&other.source)
                        ),
                        format!(
                            "CLDN18.2 IHC{}{specimen}，标本 {}：{}{}{}",
                            other
                                .clone
                                .as_deref()
                                .map(|c| format!("（克隆 {c}）"))
                                .unwrap_or_default(),
                            opt_date_zh(other.specimen_date),
                            other.staining.describe_zh(),
                            if used { "（采用）" } else { "" },
                            source_note_zh(&other.source)
                        ),
                    );
                }
            }
            t
        }
        BiomarkerRule::Her2 { status } => {
            let Some((r, actual)) = f.her2 else {
                if let Some(ex) = ex {
                    ex.say(
                        "No usable HER2 result is recorded.".into(),
                        "未记录可用的 HER2 结果。".into(),
                    );
                }
                return Tri::Unknown;
            };
            let t = if actual == Her2Status::Equivocal || f.her2_conflict {
                Tri::Unknown
            } else {
                Tri::from(actual == *status)
            };
            if let Some(ex) = ex {
                let (en, zh) = match actual {
                    Her2Status::Positive => ("HER2-positive", "HER2 阳性"),
                    Her2Status::Negative => ("HER2-negative", "HER2 阴性"),
                    Her2Status::Equivocal if r.discordant() => (
                        "HER2 discordant (IHC and ISH disagree): for the pathologist and the MDT",
                        "HER2 结果不一致（IHC 与 ISH 相矛盾）：须由病理科医生和多学科团队判断",
                    ),
                    Her2Status::Equivocal => (
                        "HER2 equivocal (IHC 2+ needs ISH to decide)",
                        "HER2 不确定（IHC 2+ 需 ISH 检测判定）",
                    ),
                };
                ex.say(
                    format!("HER2 {}: {en}.", r.describe()),
                    format!("HER2 {}：{zh}。", r.describe_zh()),
                );
                if f.her2_conflict {
                    ex.say(
                        "The HER2 results conflict: a positive result stands beside a later \
                         negative one. This is for the MDT to judge (every result is listed)."
                            .into(),
                        "HER2 结果相互矛盾：存在阳性结果，其后又有阴性结果。须由多学科团队判断（已列出全部结果）。"
                            .into(),
                    );
                } else if f.her2_count > 1 {
                    ex.say(
                        format!("The most recent of {} HER2 results is used.", f.her2_count),
                        format!("共 {} 份 HER2 结果，采用最近一份。", f.her2_count),
                    );
                }
                if let Some(d) = r.date
                    && d.latest().days_until(f.as_of) > ARCHIVAL_DAYS
                {
                    ex.say(
                        format!(
                            "The HER2 result ({d}) is more than 3 months old, the age at which \
                             CLDN18.2 results are flagged too; whether to retest is for the MDT."
                        ),
                        format!(
                            "HER2 结果（{d}）距今超过 3 个月（与 CLDN18.2 结果的提示标准相同）；是否复测由多学科团队决定。"
                        ),
                    );
                }
                // Every result known by the screening date, each with its date.
                for other in f
                    .case
                    .her2
                    .iter()
                    .filter(|o| o.date.is_none_or(|d| d.earliest() <= f.as_of))
                {
                    ex.cite(
                        format!(
                            "HER2 {} ({}){}",
                            other.describe(),
                            opt_date(other.date),
                            source_note(&other.source)
                        ),
                        format!(
                            "HER2 {}（{}）{}",
                            other.describe_zh(),
                            opt_date_zh(other.date),
                            source_note_zh(&other.source)
                        ),
                    );
                }
            }
            t
        }
        BiomarkerRule::Pdl1 { min_cps } => {
            let Some(r) = f.pdl1 else {
                if let Some(ex) = ex {
                    ex.say(
                        "No PD-L1 CPS is recorded.".into(),
                        "未记录 PD-L1 CPS。".into(),
                    );
                }
                return Tri::Unknown;
            };
            let yes = r.cps >= *min_cps;
            if let Some(ex) = ex {
                ex.say(
                    format!("PD-L1 CPS {} (required ≥{min_cps}).", r.cps),
                    format!("PD-L1 CPS {}（要求 ≥{min_cps}）。", r.cps),
                );
                ex.cite(
                    format!(
                        "PD-L1 CPS {} ({}){}",
                        r.cps,
                        opt_date(r.date),
                        source_note(&r.source)
                    ),
                    format!(
                        "PD-L1 CPS {}（{}）{}",
                        r.cps,
                        opt_date_zh(r.date),
                        source_note_zh(&r.source)
                    ),
                );
            }
            Tri::from(yes)
        }
        BiomarkerRule::Msi { status } => {
            let Some(r) = f.msi else {
                if let Some(ex) = ex {
                    ex.say(
                        "No MSI / MMR result is recorded.".into(),
                        "未记录 MSI / MMR 结果。".into(),
                    );
                }
                return Tri::Unknown;
            };
            let high = matches!(r.status, MsiStatus::MsiHigh | MsiStatus::Dmmr);
            let yes = high == (*status == MsiClass::High);
            if let Some(ex) = ex {
                let s = format!("{:?}", r.status).to_uppercase();
                ex.say(format!("MSI/MMR: {s}."), format!("MSI/MMR：{s}。"));
                ex.cite(
                    format!(
                        "MSI/MMR {s} ({}){}",
                        opt_date(r.date),
                        source_note(&r.source)
                    ),
                    format!(
                        "MSI/MMR {s}（{}）{}",
                        opt_date_zh(r.date),
                        source_note_zh(&r.source)
                    ),
                );
            }
            Tri::from(yes)
        }
    }
}

fn history_unknown(ex: Option<&mut Explain>) -> Tri {
    if let Some(ex) = ex {
        ex.say(
            "The systemic treatment history is not recorded.".into(),
            "未记录全身治疗史。".into(),
        );
    }
    Tri::Unknown
}

fn cite_lines(f: &Facts, ex: &mut Explain) {
    let Some(lot) = &f.lines else { return };
    for l in &lot.lines {
        let (label, label_zh) = match l.number {
            Some(n) => (format!("Line {n}"), format!("第 {n} 线")),
            None => ("Not counted".to_owned(), "不计线数".to_owned()),
        };
        let notes = |lang: Lang, sep: &str| {
            if l.notes.is_empty() {
                String::new()
            } else {
                let joined: Vec<&str> = l.notes.iter().map(|n| n.get(lang)).collect();
                format!(" — {}", joined.join(sep))
            }
        };
        ex.cite(
            format!(
                "{label}: {} ({} – {}, {}, outcome {}){}",
                l.drugs.join(" + "),
                opt_date(l.start),
                l.end
                    .map_or_else(|| "ongoing".to_owned(), |d| d.to_string()),
                l.setting.label().en,
                l.outcome.label().en,
                notes(Lang::En, "; ")
            ),
            format!(
                "{label_zh}：{}（{} – {}，{}，结果：{}）{}",
                l.drugs.join(" + "),
                opt_date_zh(l.start),
                l.end.map_or_else(|| "进行中".to_owned(), |d| d.to_string()),
                l.setting.label().zh,
                l.outcome.label().zh,
                notes(Lang::ZhCn, "；")
            ),
        );
    }
}

fn lines_count(
    f: &Facts,
    ex: Option<&mut Explain>,
    ok: impl Fn(usize) -> bool,
    n: u32,
    at_least: bool,
) -> Tri {
    let Some(lot) = &f.lines else {
        return history_unknown(ex);
    };
    let count = lot.count();
    // What the record leaves open (a setting, an unidentified medication) makes the count a
    // range: decided only when every count in it gives the same answer.
    let (fewest, most) = lot.count_range();
    let decided = (fewest..=most).map(&ok).all(|y| y == ok(count));
    if let Some(ex) = ex {
        let how = if lot.derived {
            (
                "derived from the treatment history by the documented rule; to be confirmed",
                "根据治疗史按既定规则推算，待确认",
            )
        } else {
            ("as confirmed by the coordinator", "经协调员确认")
        };
        let (need_en, need_zh) = if at_least {
            (format!("at least {n}"), format!("至少 {n} 线"))
        } else {
            (format!("at most {n}"), format!("至多 {n} 线"))
        };
        ex.say(
            format!(
                "{count} prior line(s) of systemic therapy ({}); required: {need_en}.",
                how.0
            ),
            format!("既往全身治疗 {count} 线（{}）；要求：{need_zh}。", how.1),
        );
        if !decided {
            let why = lot.uncertainty();
            ex.say(
                format!(
                    "Unknown: the record allows {fewest} to {most} lines — {}.",
                    why.iter()
                        .map(|b| b.en.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                format!(
                    "未知：按病历可为 {fewest} 至 {most} 线——{}。",
                    why.iter()
                        .map(|b| b.zh.as_str())
                        .collect::<Vec<_>>()
                        .join("；")
                ),
            );
        }
        cite_lines(f, ex);
    }
    if decided {
        Tri::from(ok(count))
    } else {
        Tri::Unknown
    }
}

/// Whether the last counted line failed: by progression or intolerance, or — with
/// `progression_only` — by progression alone (stopping for intolerance is then not met).
fn last_line_failed(f: &Facts, ex: Option<&mut Explain>, progression_only: bool) -> Tri {
    let Some(lot) = &f.lines else {
        return history_unknown(ex);
    };
    let Some(last) = lot.last_counted() else {
        if let Some(ex) = ex {
            ex.say(
                "No prior line of systemic therapy is recorded.".into(),
                "未记录既往全身治疗。".into(),
            );
        }
        return Tri::False;
    };
    if lot.last_line_uncertain() {
        if let Some(ex) = ex {
            ex.say(
                "Unknown: a medication given for the cancer after the last recorded line could \
                 not be identified, so the last line is not known — name it in the record."
                    .into(),
                "未知：最后一线记录之后用于该肿瘤的药物无法识别，因此无法确定最后一线——请在病历中写明药名。"
                    .into(),
            );
            cite_lines(f, ex);
        }
        return Tri::Unknown;
    }
    let t = match last.outcome {
        LineOutcome::Progression => Tri::True,
        LineOutcome::Intolerance if progression_only => Tri::False,
        LineOutcome::Intolerance => Tri::True,
        LineOutcome::NotFailed => Tri::Unknown,
    };
    if let Some(ex) = ex {
        let n = last.number.unwrap_or_default();
        match last.outcome {
            LineOutcome::Progression => ex.say(
                format!("Progression is documented after line {n}."),
                format!("第 {n} 线治疗后记录有疾病进展。"),
            ),
            LineOutcome::Intolerance if progression_only => ex.say(
                format!(
                    "Line {n} was stopped for intolerance, not progression: this criterion asks for progression on the last line."
                ),
                format!("第 {n} 线治疗因不耐受而非疾病进展停止：本标准要求最后一线治疗后疾病进展。"),
            ),
            LineOutcome::Intolerance => ex.say(
                format!("Line {n} was stopped for intolerance."),
                format!("第 {n} 线治疗因不耐受而停止。"),
            ),
            LineOutcome::NotFailed => ex.say(
                format!("Neither progression nor intolerance is documented after line {n}."),
                format!("第 {n} 线治疗后未记录疾病进展或不耐受。"),
            ),
        }
        cite_lines(f, ex);
    }
    t
}

fn resected(f: &Facts, ex: Option<&mut Explain>) -> Tri {
    use cellpath_domain::Extent;
    let extent = f.seen.primary.as_ref().and_then(|p| p.extent);
    let t = match extent {
        Some(Extent::NoEvidenceOfDisease) => Tri::True,
        Some(Extent::Metastatic | Extent::LocallyAdvancedUnresectable) => Tri::False,
        // Localised or resectable says nothing of whether the operation happened.
        _ => Tri::Unknown,
    };
    if let Some(ex) = ex {
        match extent {
            Some(e) => ex.say(
                format!("Disease extent recorded as {}.", e.name()),
                format!("记录的疾病范围为{}。", e.name_zh()),
            ),
            None => ex.say(
                "Whether the primary was resected is not recorded.".into(),
                "未记录原发肿瘤是否已切除。".into(),
            ),
        }
        if t == Tri::Unknown && extent.is_some() {
            ex.say(
                "A resection with no evidence of disease is not recorded.".into(),
                "未记录根治性切除且无疾病证据。".into(),
            );
        }
    }
    t
}

fn adjuvant_before_lab(
    f: &Facts,
    ex: Option<&mut Explain>,
    a: &crate::catalogue::AdjuvantLab,
) -> Tri {
    let Some(therapies) = &f.seen.therapies else {
        return history_unknown(ex);
    };
    let started = therapies
        .iter()
        .filter(|t| t.setting == cellpath_domain::TherapySetting::Adjuvant)
        .map(|t| t.start.earliest())
        .min();
    // A regimen with no recorded setting may have been the adjuvant one.
    let setting_unknown = therapies.iter().any(|t| {
        t.other_cancer.is_none()
            && (t.unidentified || t.setting == cellpath_domain::TherapySetting::Unknown)
    });
    let lab = f.latest_lab(a.test);
    let days = i64::from(a.days);
    let (t, en, zh) = match (started, lab.and_then(|l| l.date)) {
        (None, _) if setting_unknown => (
            Tri::Unknown,
            "No therapy is recorded as adjuvant, but some have no recorded setting: when adjuvant therapy began is unknown.".to_owned(),
            "没有记录为辅助治疗的方案，但部分治疗未记录治疗阶段：辅助治疗何时开始未知。".to_owned(),
        ),
        (None, _) => (
            Tri::False,
            "No adjuvant therapy is recorded.".to_owned(),
            "未记录辅助治疗。".to_owned(),
        ),
        (Some(_), None) => (
            Tri::Unknown,
            format!("No dated {} result is recorded.", a.test.name()),
            format!("未记录带日期的{}结果。", a.test.name_zh()),
        ),
        (Some(s), Some(d)) if s.days_until(d) >= days => (
            Tri::True,
            format!(
                "Adjuvant therapy began on {s}; the {} result of {d} was taken {} days later (≥ {days}).",
                a.test.name(),
                s.days_until(d)
            ),
            format!(
                "辅助治疗于 {s} 开始；{} 结果（{d}）在其后 {} 天检测（≥ {days} 天）。",
                a.test.name_zh(),
                s.days_until(d)
            ),
        ),
        (Some(s), Some(d)) => (
            Tri::Unknown,
            format!(
                "Adjuvant therapy began on {s}; the latest {} result ({d}) was taken only {} days later: a result from ≥ {days} days in is needed.",
                a.test.name(),
                s.days_until(d).max(0)
            ),
            format!(
                "辅助治疗于 {s} 开始；最近一次{}结果（{d}）仅在其后 {} 天检测：需要开始后 ≥ {days} 天的结果。",
                a.test.name_zh(),
                s.days_until(d).max(0)
            ),
        ),
    };
    if let Some(ex) = ex {
        ex.say(en, zh);
    }
    t
}

/// How a course's last dose relates to the washout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Ongoing on the screening date.
    Ongoing,
    /// The last dose lies between these dates.
    Between(Date, Date),
    /// No end date and no reason for stopping: when it ended is not known.
    Unknown,
}

fn therapy_within(f: &Facts, ex: Option<&mut Explain>, days: u32, half_lives: bool) -> Tri {
    let cutoff = f.as_of.add_days(-i64::from(days));
    // Each course begun by the screening date, with what is known of its last dose (a
    // course that ended after the screening date was ongoing on it).
    let courses: Vec<(String, Date, Last)> = match (&f.case.therapies, &f.case.lines) {
        (Some(ts), _) => ts
            .iter()
            .filter(|t| t.start.earliest() <= f.as_of)
            .map(|t| {
                let last = match (t.end, t.reason_stopped) {
                    (Some(e), _) if e.earliest() > f.as_of => Last::Ongoing,
                    (Some(e), _) => Last::Between(e.earliest(), e.latest()),
                    // Stopped, but not when: at the latest on the screening date.
                    (None, Some(_)) => Last::Between(t.start.earliest(), f.as_of),
                    (None, None) => Last::Unknown,
                };
                (t.drug.clone(), t.start.earliest(), last)
            })
            .collect(),
        (None, Some(lines)) => lines
            .iter()
            .filter(|l| l.start.is_none_or(|s| s.earliest() <= f.as_of))
            .map(|l| {
                let last = match l.end {
                    Some(e) if e.earliest() > f.as_of => Last::Ongoing,
                    Some(e) => Last::Between(e.earliest(), e.latest()),
                    None => Last::Unknown,
                };
                let start = l.start.map_or(f.as_of, PartialDate::earliest);
                (l.drugs.join(" + "), start, last)
            })
            .collect(),
        (None, None) => return history_unknown(ex),
    };
    let mut t = Tri::False;
    let mut notes: Vec<(String, String)> = Vec::new();
    for (drug, start, last) in &courses {
        let (this, en, zh) = match *last {
            Last::Ongoing => (
                Tri::True,
                format!("{drug} is ongoing."),
                format!("{drug} 正在使用。"),
            ),
            Last::Between(_, latest) if latest < cutoff => {
                (Tri::False, String::new(), String::new())
            }
            Last::Between(earliest, latest) if earliest >= cutoff => {
                if half_lives {
                    (
                        Tri::Unknown,
                        format!(
                            "{drug} was last given on or after {cutoff} (by {latest}), within {days} days; \
                             the washout is {days} days or 5 half-lives, whichever is shorter, and 5 \
                             half-lives of {drug} may already have passed: the MDT checks its half-life."
                        ),
                        format!(
                            "{drug} 末次用药在 {cutoff} 或之后（{latest} 前），在 {days} 天内；洗脱期为 {days} 天或 5 个半衰期（以较短者为准），{drug} 可能已超过 5 个半衰期：由多学科团队核对其半衰期。"
                        ),
                    )
                } else {
                    (
                        Tri::True,
                        format!(
                            "{drug} last given on or after {cutoff} (by {latest}), within {days} days."
                        ),
                        format!(
                            "{drug} 最后一次用药在 {cutoff} 或之后（{latest} 前），在 {days} 天内。"
                        ),
                    )
                }
            }
            Last::Between(..) => (
                Tri::Unknown,
                format!(
                    "{drug}: the date of the last dose is too imprecise to tell whether it was within {days} days."
                ),
                format!("{drug}：末次用药日期不够精确，无法判断是否在 {days} 天内。"),
            ),
            Last::Unknown if *start >= cutoff => (
                if half_lives { Tri::Unknown } else { Tri::True },
                format!(
                    "{drug} was started on or after {cutoff}, within {days} days (its end is not recorded)."
                ),
                format!("{drug} 于 {cutoff} 或之后开始，在 {days} 天内（未记录结束日期）。"),
            ),
            Last::Unknown => (
                Tri::Unknown,
                format!(
                    "{drug} has no end date and no reason for stopping: when it ended is unknown, \
                     so whether it was within {days} days is unknown."
                ),
                format!(
                    "{drug} 无结束日期且无停药原因：结束时间未知，因此无法判断是否在 {days} 天内。"
                ),
            ),
        };
        if this != Tri::False {
            notes.push((en, zh));
        }
        t = match (t, this) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::False,
        };
    }
    if let Some(ex) = ex {
        if notes.is_empty() {
            ex.say(
                format!(
                    "No systemic anticancer therapy after {cutoff} ({days} days before {}).",
                    f.as_of
                ),
                format!(
                    "{cutoff} 之后（{} 前 {days} 天内）无全身抗肿瘤治疗。",
                    f.as_of
                ),
            );
        }
        for (en, zh) in notes {
            ex.say(en, zh);
        }
        for th in f
            .case
            .therapies
            .iter()
            .flatten()
            .filter(|t| t.start.earliest() <= f.as_of)
        {
            ex.cite(
                format!(
                    "{}: {} – {}{}",
                    th.drug,
                    th.start,
                    th.end
                        .map_or_else(|| "no end date".to_owned(), |d| d.to_string()),
                    source_note(&th.source)
                ),
                format!(
                    "{}：{} – {}{}",
                    th.drug,
                    th.start,
                    th.end
                        .map_or_else(|| "无结束日期".to_owned(), |d| d.to_string()),
                    source_note_zh(&th.source)
                ),
            );
        }
    }
    t
}

fn lab(f: &Facts, ex: Option<&mut Explain>, rule: &crate::catalogue::LabRule) -> Tri {
    let test = rule.test;
    let Some(r) = f.latest_lab(test) else {
        if let Some(ex) = ex {
            ex.say(
                format!("No {} result is recorded.", test.name()),
                format!("未记录{}结果。", test.name_zh()),
            );
        }
        return Tri::Unknown;
    };
    let (t, en, zh) = match &rule.bound {
        LabBound::Min { value, unit } | LabBound::Max { value, unit } => {
            let is_min = matches!(rule.bound, LabBound::Min { .. });
            match test.convert(r.value, r.unit, *unit) {
                None => (
                    Tri::Unknown,
                    format!(
                        "{} is recorded in {}, which cannot be compared with {unit}.",
                        test.name(),
                        r.unit
                    ),
                    format!("{}以 {} 记录，无法与 {unit} 比较。", test.name_zh(), r.unit),
                ),
                Some(v) => {
                    let yes = if is_min { v >= *value } else { v <= *value };
                    let op = if is_min { "≥" } else { "≤" };
                    (
                        Tri::from(yes),
                        format!("{} {v} {unit} (required {op}{value} {unit}).", test.name()),
                        format!("{} {v} {unit}（要求 {op}{value} {unit}）。", test.name_zh()),
                    )
                }
            }
        }
        LabBound::MaxUln(factor) | LabBound::AboveUln(factor) => {
            let above = matches!(rule.bound, LabBound::AboveUln(_));
            match r.uln {
                None => (
                    Tri::Unknown,
                    format!("{} has no upper limit of normal recorded.", test.name()),
                    format!("{}未记录正常值上限。", test.name_zh()),
                ),
                Some(uln) => {
                    let limit = factor * uln;
                    let yes = if above {
                        r.value > limit
                    } else {
                        r.value <= limit
                    };
                    let op = if above { ">" } else { "≤" };
                    (
                        Tri::from(yes),
                        format!(
                            "{} {} {} with ULN {uln} (required {op}{factor} × ULN = {limit}).",
                            test.name(),
                            r.value,
                            r.unit
                        ),
                        format!(
                            "{} {} {}，正常值上限 {uln}（要求 {op}{factor} × ULN = {limit}）。",
                            test.name_zh(),
                            r.value,
                            r.unit
                        ),
                    )
                }
            }
        }
    };
    if let Some(ex) = ex {
        ex.say(en, zh);
        ex.cite(
            format!(
                "{} {} {} ({}){}",
                test.name(),
                r.value,
                r.unit,
                r.date
                    .map_or_else(|| "undated".to_owned(), |d| d.to_string()),
                source_note(&r.source)
            ),
            format!(
                "{} {} {}（{}）{}",
                test.name_zh(),
                r.value,
                r.unit,
                r.date
                    .map_or_else(|| "日期不详".to_owned(), |d| d.to_string()),
                source_note_zh(&r.source)
            ),
        );
    }
    t
}

fn status_of(c: &Criterion, f: &Facts, ex: Option<&mut Explain>) -> (ResultKind, Status) {
    if c.judgement {
        return (ResultKind::ClinicianJudgement, Status::Unknown);
    }
    let kind = match c.kind {
        CriterionKind::Inclusion => ResultKind::Inclusion,
        CriterionKind::Exclusion => ResultKind::Exclusion,
    };
    let mut ex = ex;
    if let Some(when) = &c.applies_when
        && eval(when, f, None) == Tri::False
    {
        if let Some(ex) = ex.as_deref_mut() {
            eval(when, f, Some(ex));
        }
        return (kind, Status::NotApplicable);
    }
    let Some(rule) = &c.rule else {
        return (ResultKind::ClinicianJudgement, Status::Unknown);
    };
    let t = eval(rule, f, ex);
    let requirement = match c.kind {
        CriterionKind::Inclusion => t,
        CriterionKind::Exclusion => t.not(),
    };
    let status = match requirement {
        Tri::True => Status::Met,
        Tri::False => Status::NotMet,
        Tri::Unknown => Status::Unknown,
    };
    (kind, status)
}

fn verdict_of(statuses: impl Iterator<Item = (ResultKind, Status)>) -> Verdict {
    let mut verdict = Verdict::Eligible;
    for (kind, status) in statuses {
        if kind == ResultKind::ClinicianJudgement {
            continue;
        }
        match status {
            Status::NotMet => return Verdict::Ineligible,
            Status::Unknown => verdict = Verdict::NeedsInformation,
            _ => {}
        }
    }
    verdict
}

fn availability_status(a: Availability) -> Status {
    match a {
        Availability::Open => Status::Met,
        Availability::Closed | Availability::Suspended => Status::NotMet,
        Availability::Unknown => Status::Unknown,
    }
}

/// How old a trial's "open" may be before it is no longer believed: recruitment changes
/// (arms close, sites fill), and a registry record is often months behind. Six months, the
/// clinical review's rule (issue 27); an approved label's status stands however old.
pub const TRIAL_STATUS_STALE_DAYS: i64 = 183;

/// Whether the programme's recorded "open" is too old to stand on the screening date.
fn stale_open(p: &Programme, as_of: Date) -> bool {
    let s = p.status();
    s.value == Availability::Open
        && p.kind != crate::catalogue::ProgrammeKind::ApprovedLabel
        && s.as_of.latest().days_until(as_of) > TRIAL_STATUS_STALE_DAYS
}

/// The programme's status as known on the screening date: a status recorded later than the
/// screening date says nothing about that date, and a trial's "open" older than six months
/// is no longer known, so the status is then unknown.
fn availability_at(p: &Programme, as_of: Date) -> Status {
    let s = p.status();
    if s.as_of.earliest() > as_of || stale_open(p, as_of) {
        Status::Unknown
    } else {
        availability_status(s.value)
    }
}

fn status_result(p: &Programme, as_of: Date) -> CriterionResult {
    let s = p.status();
    let status = availability_at(p, as_of);
    let later = s.as_of.earliest() > as_of;
    let label = s.value.label();
    let src = p.source(&s.source);
    CriterionResult {
        id: STATUS_CRITERION_ID.to_owned(),
        kind: ResultKind::Inclusion,
        status,
        text: Bi::new(
            "The programme is open to new patients.",
            "该项目正在接收新患者。",
        ),
        explanation: if stale_open(p, as_of) {
            Bi::new(
                format!(
                    "Status {} as of {}, more than six months before the screening date {as_of}: a trial's recruitment changes, so whether it is enrolling now is not known — confirm with a site.",
                    label.en, s.as_of
                ),
                format!(
                    "截至 {} 状态为{}，距筛查日期 {as_of} 已超过六个月：试验的招募情况会变化，目前是否入组未知——请向研究中心确认。",
                    s.as_of, label.zh
                ),
            )
        } else if later {
            Bi::new(
                format!(
                    "The status on record ({}) dates from {}, after the screening date {as_of}: the status on {as_of} is not known.",
                    label.en, s.as_of
                ),
                format!(
                    "记录的状态（{}）日期为 {}，晚于筛查日期 {as_of}：{as_of} 时的状态未知。",
                    label.zh, s.as_of
                ),
            )
        } else {
            Bi::new(
                format!(
                    "Status {} as of {}.{}",
                    label.en,
                    s.as_of,
                    s.note
                        .as_ref()
                        .map(|n| format!(" {}", n.en))
                        .unwrap_or_default()
                ),
                format!(
                    "截至 {}，状态为{}。{}",
                    s.as_of,
                    label.zh,
                    s.note.as_ref().map(|n| n.zh.clone()).unwrap_or_default()
                ),
            )
        },
        evidence: vec![Bi::new(
            format!("Status {} as of {}", label.en, s.as_of),
            format!("截至 {}，状态为{}", s.as_of, label.zh),
        )],
        request: (status == Status::Unknown).then(|| {
            Bi::new(
                "Ask the sponsor or a study site whether the programme is enrolling.",
                "向申办方或研究中心确认该项目是否正在入组。",
            )
        }),
        source: src.map(describe_source).unwrap_or_default(),
        recorded: Vec::new(),
        borrowed: None,
    }
}

/// What the record holds on the facts a judgement item concerns, as of the screening date.
fn recorded_facts(concerns: &[crate::catalogue::Concern], f: &Facts) -> Vec<Bi> {
    use crate::catalogue::Concern;
    let mut out = Vec::new();
    for c in concerns {
        match c {
            Concern::Ecog => match f.ecog {
                Some(e) => out.push(Bi::new(
                    match e.date {
                        Some(d) => format!("ECOG {} recorded on {d}", e.score.score()),
                        None => format!("ECOG {} recorded (undated)", e.score.score()),
                    },
                    format!(
                        "ECOG {}（记录日期 {}）",
                        e.score.score(),
                        opt_date_zh(e.date)
                    ),
                )),
                None => out.push(Bi::new("ECOG not recorded", "未记录 ECOG")),
            },
            Concern::Age => {
                let born = f.case.patient.birth_date.map(|b| b.to_string());
                match (f.age, born) {
                    (Some((lo, hi)), Some(b)) => {
                        let years = if lo == hi {
                            lo.to_string()
                        } else {
                            format!("{lo}–{hi}")
                        };
                        out.push(Bi::new(
                            format!("age {years} on {} (born {b})", f.as_of),
                            format!("{} 时 {years} 岁（出生于 {b}）", f.as_of),
                        ));
                    }
                    _ => out.push(Bi::new("birth date not recorded", "未记录出生日期")),
                }
            }
            Concern::Labs => {
                for test in cellpath_domain::LabTest::ALL {
                    if let Some(l) = f.latest_lab(test) {
                        let date = l.date.map(|d| d.to_string());
                        out.push(Bi::new(
                            format!(
                                "{} {} {} ({})",
                                test.name(),
                                l.value,
                                l.unit,
                                date.clone().unwrap_or_else(|| "undated".into())
                            ),
                            format!(
                                "{} {} {}（{}）",
                                test.name_zh(),
                                l.value,
                                l.unit,
                                date.unwrap_or_else(|| "日期不详".into())
                            ),
                        ));
                    }
                }
            }
            Concern::Infections | Concern::Pregnancy | Concern::Cardiac => {
                recorded_fitness(*c, f, &mut out);
            }
        }
    }
    out
}

/// The latest dated item (undated ones only when nothing is dated), as of the screening date.
fn latest_by<T>(
    items: &[T],
    date: impl Fn(&T) -> Option<cellpath_domain::Date>,
    as_of: cellpath_domain::Date,
) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .filter(|(_, t)| date(t).is_none_or(|d| d <= as_of))
        .max_by_key(|(i, t)| (date(t), *i))
        .map(|(_, t)| t)
}

fn dated(d: Option<cellpath_domain::Date>) -> (String, String) {
    d.map_or_else(
        || ("undated".to_owned(), "日期不详".to_owned()),
        |d| (d.to_string(), d.to_string()),
    )
}

/// Serology, pregnancy status and LVEF as the record has them, for the fitness judgement.
fn recorded_fitness(c: crate::catalogue::Concern, f: &Facts, out: &mut Vec<Bi>) {
    use crate::catalogue::Concern;
    let case = f.case;
    match c {
        Concern::Infections => {
            let mut any = false;
            for m in cellpath_domain::InfectionMarker::ALL {
                let items: Vec<_> = case
                    .infections
                    .iter()
                    .filter(|r| r.marker == m)
                    .cloned()
                    .collect();
                if let Some(r) = latest_by(&items, |r| r.date, f.as_of) {
                    any = true;
                    let (d, dz) = dated(r.date);
                    out.push(Bi::new(
                        format!("{} {} ({d})", m.label().en, r.result.label().en),
                        format!("{}：{}（{dz}）", m.label().zh, r.result.label().zh),
                    ));
                }
            }
            if !any {
                out.push(Bi::new(
                    "hepatitis B/C and HIV tests not recorded",
                    "未记录乙肝、丙肝及 HIV 检测",
                ));
            }
        }
        Concern::Pregnancy => match latest_by(&case.pregnancy, |r| r.date, f.as_of) {
            Some(r) => {
                let (d, dz) = dated(r.date);
                out.push(Bi::new(
                    format!("{} ({d})", r.status.label().en),
                    format!("{}（{dz}）", r.status.label().zh),
                ));
            }
            None => out.push(Bi::new("pregnancy status not recorded", "未记录妊娠状态")),
        },
        Concern::Cardiac => match latest_by(&case.lvef, |r| r.date, f.as_of) {
            Some(r) => {
                let (d, dz) = dated(r.date);
                out.push(Bi::new(
                    format!("LVEF {} % ({d})", r.percent.value()),
                    format!("左心室射血分数 {} %（{dz}）", r.percent.value()),
                ));
            }
            None => out.push(Bi::new("LVEF not recorded", "未记录左心室射血分数")),
        },
        Concern::Age | Concern::Ecog | Concern::Labs => {}
    }
}

fn opt_date_zh(d: Option<PartialDate>) -> String {
    d.map_or_else(|| "日期不详".to_owned(), |d| d.to_string())
}

fn describe_source(s: &crate::catalogue::SourceRef) -> String {
    format!(
        "{} ({}) {}",
        s.title,
        s.date
            .map_or_else(|| "date not shown".to_owned(), |d| d.to_string()),
        s.url
    )
}

/// The result shown first when the record says the patient has died: no programme is
/// eligible then, whatever else the record holds.
fn deceased_result(f: &Facts) -> Option<CriterionResult> {
    let patient = &f.case.patient;
    if !patient.deceased {
        return None;
    }
    let source = patient.source.clone().unwrap_or_default();
    let (en, zh) = match patient.deceased_date {
        Some(d) => (
            format!("The record says the patient died on {d}."),
            format!("记录显示患者已于 {d} 去世。"),
        ),
        None => (
            "The record says the patient has died.".to_owned(),
            "记录显示患者已去世。".to_owned(),
        ),
    };
    Some(CriterionResult {
        id: DECEASED_CRITERION_ID.to_owned(),
        kind: ResultKind::Inclusion,
        status: Status::NotMet,
        text: Bi::new("The patient is alive.", "患者在世。"),
        explanation: Bi::new(
            format!("{en} If this is wrong, correct the record first."),
            format!("{zh}如有错误，请先更正记录。"),
        ),
        evidence: vec![Bi::new(en, zh)],
        request: None,
        source,
        recorded: Vec::new(),
        borrowed: None,
    })
}

/// Evaluates one programme for one case, explaining every criterion.
pub fn evaluate(p: &Programme, f: &Facts) -> ProgrammeResult {
    let mut criteria = Vec::with_capacity(p.criteria().len() + 2);
    criteria.extend(deceased_result(f));
    criteria.push(status_result(p, f.as_of));
    for c in p.criteria() {
        let mut ex = Explain::default();
        let (kind, status) = status_of(c, f, Some(&mut ex));
        let (en, zh) = if kind == ResultKind::ClinicianJudgement {
            (
                "Clinician judgement: the sources do not support deciding this by rule; it does not affect the verdict.".to_owned(),
                "由临床医生判断：现有资料不足以按规则判定；不影响结论。".to_owned(),
            )
        } else {
            let prefix = match (c.kind, status) {
                (CriterionKind::Exclusion, Status::Met) => {
                    ("Excluding condition absent. ", "排除条件不存在。")
                }
                (CriterionKind::Exclusion, Status::NotMet) => {
                    ("Excluding condition present. ", "存在排除条件。")
                }
                (_, Status::NotApplicable) => {
                    ("Not applicable to this patient. ", "不适用于该患者。")
                }
                _ => ("", ""),
            };
            (
                format!("{}{}", prefix.0, ex.en.join(" ")),
                format!("{}{}", prefix.1, ex.zh.join("")),
            )
        };
        let note = c.note.as_ref();
        criteria.push(CriterionResult {
            id: c.id.clone(),
            kind,
            status,
            text: c.text.clone(),
            explanation: Bi::new(
                match note {
                    Some(n) => format!("{en} Note: {}", n.en),
                    None => en,
                },
                match note {
                    Some(n) => format!("{zh} 注：{}", n.zh),
                    None => zh,
                },
            ),
            evidence: ex.evidence,
            request: (status == Status::Unknown).then(|| c.request.clone()),
            source: p.source(&c.source).map(describe_source).unwrap_or_default(),
            recorded: if kind == ResultKind::ClinicianJudgement {
                recorded_facts(&c.concerns, f)
            } else {
                Vec::new()
            },
            borrowed: c
                .borrowed
                .clone()
                .or_else(|| perioperative_rule_borrowed(p, c, f)),
        });
    }
    let verdict = programme_verdict(criteria.iter().map(|c| (c.kind, c.status)), p, f);
    ProgrammeResult {
        programme: p.id.clone(),
        verdict,
        criteria,
    }
}

/// The programme's verdict from its criteria's statuses — the one place every path (the
/// explained evaluation, the fast verdict, the re-screen's summary) decides it.
fn programme_verdict(
    statuses: impl Iterator<Item = (ResultKind, Status)>,
    p: &Programme,
    f: &Facts,
) -> Verdict {
    minor_capped(verdict_of(statuses), p, f)
}

/// A patient known to be under 18 is never "eligible" for a programme that asks for a
/// judgement on age (its studied population was adults): at most "needs information", the
/// judgement item showing the age (clinical review, issue 27).
fn minor_capped(v: Verdict, p: &Programme, f: &Facts) -> Verdict {
    let minor = f.age.is_some_and(|(_, oldest)| oldest < 18);
    let asks_age = p
        .criteria()
        .any(|c| c.judgement && c.concerns.contains(&crate::catalogue::Concern::Age));
    if v == Verdict::Eligible && minor && asks_age {
        Verdict::NeedsInformation
    } else {
        v
    }
}

/// The verdict alone, without explanations: the fast path for batch re-screening.
pub fn verdict(p: &Programme, f: &Facts) -> Verdict {
    if f.case.patient.deceased {
        return Verdict::Ineligible;
    }
    let status = availability_at(p, f.as_of);
    programme_verdict(
        std::iter::once((ResultKind::Inclusion, status))
            .chain(p.criteria().map(|c| status_of(c, f, None))),
        p,
        f,
    )
}

/// One criterion's status without its explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CriterionStatus {
    pub id: String,
    pub kind: ResultKind,
    pub status: Status,
}

/// A programme's verdict and every criterion's status, without explanations: what an
/// automatic re-screen keeps (the explanation is reproducible from the record version and
/// the catalogue version, since screening is deterministic).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProgrammeSummary {
    pub programme: String,
    pub verdict: Verdict,
    pub criteria: Vec<CriterionStatus>,
}

/// The summary of one programme for one case, on the fast path (no explanation is built).
pub fn summarise(p: &Programme, f: &Facts) -> ProgrammeSummary {
    let mut criteria = Vec::with_capacity(p.criteria().len() + 2);
    if f.case.patient.deceased {
        criteria.push(CriterionStatus {
            id: DECEASED_CRITERION_ID.to_owned(),
            kind: ResultKind::Inclusion,
            status: Status::NotMet,
        });
    }
    criteria.push(CriterionStatus {
        id: STATUS_CRITERION_ID.to_owned(),
        kind: ResultKind::Inclusion,
        status: availability_at(p, f.as_of),
    });
    for c in p.criteria() {
        let (kind, status) = status_of(c, f, None);
        criteria.push(CriterionStatus {
            id: c.id.clone(),
            kind,
            status,
        });
    }
    ProgrammeSummary {
        programme: p.id.clone(),
        verdict: programme_verdict(criteria.iter().map(|c| (c.kind, c.status)), p, f),
        criteria,
    }
}

/// Summaries of every programme of the catalogue, in catalogue order.
pub fn screen_summary(catalogue: &Catalogue, case: &Case, as_of: Date) -> Vec<ProgrammeSummary> {
    let facts = Facts::new(case, as_of);
    catalogue
        .programmes()
        .iter()
        .map(|p| summarise(p, &facts))
        .collect()
}

/// Screens a case against the catalogue (or the named programmes, in the order given),
/// best verdicts first: eligible, then needs-information (fewest unknowns first), then
/// ineligible; catalogue order breaks ties.
pub fn screen(
    catalogue: &Catalogue,
    case: &Case,
    as_of: Date,
    only: &[&Programme],
) -> Vec<ProgrammeResult> {
    let facts = Facts::new(case, as_of);
    let programmes: Vec<&Programme> = if only.is_empty() {
        catalogue.programmes().iter().collect()
    } else {
        only.to_vec()
    };
    let mut results: Vec<ProgrammeResult> =
        programmes.iter().map(|p| evaluate(p, &facts)).collect();
    if only.is_empty() {
        results.sort_by_key(|r| (r.verdict, r.unknowns().count()));
    }
    results
}

/// The trial whose protocol the 6-month (neo)adjuvant rule of line counting comes from
/// (docs/lines-of-therapy.md, step 4).
const PERIOPERATIVE_RULE_TRIAL: &str = "NCT06238843";

/// A lines criterion of another programme whose count rests on a (neo)adjuvant regimen that
/// the 6-month rule counted or left out: the rule is borrowed from the IBI343 protocol, and
/// the verdict line says so (clinical review, issue 27, item 20). Only when a derived line
/// is (neo)adjuvant, so that the rule decided something.
fn perioperative_rule_borrowed(p: &Programme, c: &Criterion, f: &Facts) -> Option<Bi> {
    fn counts_lines(r: &Rule) -> bool {
        match r {
            Rule::All(rs) | Rule::Any(rs) => rs.iter().any(counts_lines),
            Rule::Not(r) => counts_lines(r),
            Rule::PriorLinesAtLeast(_)
            | Rule::PriorLinesAtMost(_)
            | Rule::LastLineFailed(_)
            | Rule::LastLineProgressed(_) => true,
            _ => false,
        }
    }
    if p.registry_ids
        .iter()
        .any(|id| id == PERIOPERATIVE_RULE_TRIAL)
        || !c.rule.as_ref().is_some_and(counts_lines)
    {
        return None;
    }
    let lines = f.lines.as_ref().filter(|l| l.derived)?;
    lines.lines.iter().any(|l| l.setting.is_perioperative()).then(|| {
        Bi::new(
            "(neo)adjuvant therapy is counted by the IBI343 protocol's 6-month rule (NCT06238843); this programme does not say how it counts",
            "（新）辅助治疗按 IBI343 方案的 6 个月规则计线（NCT06238843）；本项目未说明如何计算",
        )
    })
}

/// The verdict in words: an automatic verdict never hides the clinician judgements it
/// leaves out ("meets every encoded criterion — clinician judgement pending: …").
pub fn verdict_text(r: &ProgrammeResult, lang: Lang) -> String {
    let text = verdict_words(r, lang);
    // A decision that rests on a rule borrowed from another source says so.
    let borrowed: Vec<&str> = r
        .criteria
        .iter()
        .filter(|c| {
            (r.verdict == Verdict::Eligible && c.status == Status::Met)
                || (r.verdict == Verdict::Ineligible && c.status == Status::NotMet)
        })
        .filter_map(|c| c.borrowed.as_ref().map(|b| b.get(lang)))
        .collect();
    if borrowed.is_empty() {
        return text;
    }
    match lang {
        Lang::En => format!(
            "{text} — resting on a borrowed rule: {}",
            borrowed.join("; ")
        ),
        Lang::ZhCn => format!("{text} —— 所依据的规则借自他处：{}", borrowed.join("；")),
    }
}

fn verdict_words(r: &ProgrammeResult, lang: Lang) -> String {
    let label = r.verdict.label().get(lang).to_uppercase();
    let pending: Vec<String> = r
        .judgements()
        .map(|c| {
            let facts: Vec<&str> = c.recorded.iter().map(|b| b.get(lang)).collect();
            if facts.is_empty() {
                c.text.get(lang).to_owned()
            } else {
                match lang {
                    Lang::En => format!("{} ({})", c.text.get(lang), facts.join("; ")),
                    Lang::ZhCn => format!("{}（{}）", c.text.get(lang), facts.join("；")),
                }
            }
        })
        .collect();
    match (lang, r.verdict, pending.is_empty()) {
        (_, _, true) => label,
        (Lang::En, Verdict::Eligible, false) => format!(
            "{label} — meets every encoded criterion; clinician judgement pending: {}",
            pending.join(" | ")
        ),
        (Lang::En, _, false) => {
            format!(
                "{label} — clinician judgement also pending: {}",
                pending.join(" | ")
            )
        }
        (Lang::ZhCn, Verdict::Eligible, false) => format!(
            "{label} —— 符合全部可编码标准；尚待临床判断：{}",
            pending.join("｜")
        ),
        (Lang::ZhCn, _, false) => format!("{label} —— 另有待临床判断：{}", pending.join("｜")),
    }
}

/// Picks a language's side of every text in a result: the shape of `--format json`.
pub fn localise(results: &[ProgrammeResult], lang: Lang) -> Vec<serde_json::Value> {
    results
        .iter()
        .map(|r| {
            let criteria: Vec<serde_json::Value> = r
                .criteria
                .iter()
                .map(|c| {
                    let mut o = serde_json::json!({
                        "id": c.id,
                        "kind": c.kind,
                        "status": c.status,
                        "text": c.text.get(lang),
                        "explanation": c.explanation.get(lang),
                        "evidence": c.evidence.iter().map(|e| e.get(lang)).collect::<Vec<_>>(),
                    });
                    if let Some(req) = &c.request {
                        o["request"] = req.get(lang).into();
                    }
                    if !c.source.is_empty() {
                        o["source"] = c.source.clone().into();
                    }
                    if c.kind == ResultKind::ClinicianJudgement {
                        o["recorded"] = c
                            .recorded
                            .iter()
                            .map(|b| b.get(lang))
                            .collect::<Vec<_>>()
                            .into();
                    }
                    o
                })
                .collect();
            let pending: Vec<serde_json::Value> = r
                .judgements()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id,
                        "text": c.text.get(lang),
                        "recorded": c.recorded.iter().map(|b| b.get(lang)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::json!({
                "programme": r.programme,
                "verdict": r.verdict,
                "verdict_text": verdict_text(r, lang),
                "judgement_pending": pending,
                "criteria": criteria,
            })
        })
        .collect()
}
