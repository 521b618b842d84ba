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
    pub evidence: Vec<String>,
    /// What would settle it; present when the status is unknown.
    pub request: Option<Bi>,
    /// The source the criterion rests on: title, date, address.
    pub source: String,
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
    evidence: Vec<String>,
}

impl Explain {
    fn say(&mut self, en: String, zh: String) {
        self.en.push(en);
        self.zh.push(zh);
    }
    fn cite(&mut self, evidence: String) {
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
                    ex.cite(format!(
                        "Primary cancer: {}{}{}",
                        site.name(),
                        p.site_text
                            .as_deref()
                            .map(|t| format!(" (\"{t}\")"))
                            .unwrap_or_default(),
                        source_note(&p.source)
                    ));
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
                if let Some(p) = &f.case.primary {
                    ex.cite(format!(
                        "Primary cancer: stage {}, extent {}{}",
                        p.stage.as_deref().unwrap_or("not recorded"),
                        p.extent
                            .map(|e| format!("{e:?}").to_lowercase())
                            .unwrap_or_else(|| "not recorded".into()),
                        source_note(&p.source)
                    ));
                }
                for m in f.case.metastases.iter().flatten() {
                    ex.cite(format!(
                        "Metastasis: {} ({}){}",
                        m.site,
                        opt_date(m.date),
                        source_note(&m.source)
                    ));
                }
            }
            *t
        }
        Rule::Biomarker(b) => biomarker(b, f, ex),
        Rule::PriorLinesAtLeast(n) => lines_count(f, ex, |c| c >= *n as usize, *n, true),
        Rule::PriorLinesAtMost(n) => lines_count(f, ex, |c| c <= *n as usize, *n, false),
        Rule::LastLineFailed(_) => last_line_failed(f, ex),
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
                ex.cite(format!(
                    "ECOG {} on {}{}",
                    e.score.score(),
                    opt_date(e.date),
                    source_note(&e.source)
                ));
            }
            Tri::from(yes)
        }
        Rule::TherapyWithinDays(n) => therapy_within(f, ex, *n),
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
        ex.cite(format!(
            "Birth date {birth}{}",
            source_note(&f.case.patient.source)
        ));
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
            ex.cite(format!(
                "Histology: {}{}{}",
                h.name(),
                p.histology_text
                    .as_deref()
                    .map(|t| format!(" (\"{t}\")"))
                    .unwrap_or_default(),
                source_note(&p.source)
            ));
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
            let t = if range.low >= need {
                Tri::True
            } else if range.high < need {
                Tri::False
            } else {
                Tri::Unknown
            };
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
                let verdict_en = match t {
                    Tri::True => "meets",
                    Tri::False => "is below",
                    Tri::Unknown => "cannot be compared with",
                };
                let verdict_zh = match t {
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
                if t == Tri::Unknown {
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
                    ex.cite(format!(
                        "CLDN18.2 IHC{}{}, specimen {}: {}{}{}",
                        other
                            .clone
                            .as_deref()
                            .map(|c| format!(" (clone {c})"))
                            .unwrap_or_default(),
                        other
                            .specimen
                            .as_deref()
                            .map(|s| format!(", {s}"))
                            .unwrap_or_default(),
                        opt_date(other.specimen_date),
                        other.staining.describe(),
                        if std::ptr::eq(other, r) {
                            " (used)"
                        } else {
                            ""
                        },
                        source_note(&other.source)
                    ));
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
            let t = if actual == Her2Status::Equivocal {
                Tri::Unknown
            } else {
                Tri::from(actual == *status)
            };
            if let Some(ex) = ex {
                let (en, zh) = match actual {
                    Her2Status::Positive => ("HER2-positive", "HER2 阳性"),
                    Her2Status::Negative => ("HER2-negative", "HER2 阴性"),
                    Her2Status::Equivocal => (
                        "HER2 equivocal (IHC 2+ needs ISH to decide)",
                        "HER2 不确定（IHC 2+ 需 ISH 检测判定）",
                    ),
                };
                ex.say(
                    format!("HER2 {}: {en}.", r.describe()),
                    format!("HER2 {}：{zh}。", r.describe()),
                );
                ex.cite(format!(
                    "HER2 {} ({}){}",
                    r.describe(),
                    opt_date(r.date),
                    source_note(&r.source)
                ));
                if f.her2_count > 1 {
                    ex.say(
                        format!("The most recent of {} HER2 results is used.", f.her2_count),
                        format!("共 {} 份 HER2 结果，采用最近一份。", f.her2_count),
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
                ex.cite(format!(
                    "PD-L1 CPS {} ({}){}",
                    r.cps,
                    opt_date(r.date),
                    source_note(&r.source)
                ));
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
                ex.cite(format!(
                    "MSI/MMR {s} ({}){}",
                    opt_date(r.date),
                    source_note(&r.source)
                ));
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
        let label = match l.number {
            Some(n) => format!("Line {n}"),
            None => "Not counted".to_owned(),
        };
        ex.cite(format!(
            "{label}: {} ({} – {}, {:?}, outcome {:?}){}",
            l.drugs.join(" + "),
            opt_date(l.start),
            l.end
                .map_or_else(|| "ongoing".to_owned(), |d| d.to_string()),
            l.setting,
            l.outcome,
            if l.notes.is_empty() {
                String::new()
            } else {
                format!(" — {}", l.notes.join("; "))
            }
        ));
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
    let yes = ok(count);
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
        cite_lines(f, ex);
    }
    Tri::from(yes)
}

fn last_line_failed(f: &Facts, ex: Option<&mut Explain>) -> Tri {
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
    let t = match last.outcome {
        LineOutcome::Progression | LineOutcome::Intolerance => Tri::True,
        LineOutcome::NotFailed => Tri::Unknown,
    };
    if let Some(ex) = ex {
        let n = last.number.unwrap_or_default();
        match last.outcome {
            LineOutcome::Progression => ex.say(
                format!("Progression is documented after line {n}."),
                format!("第 {n} 线治疗后记录有疾病进展。"),
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

fn therapy_within(f: &Facts, ex: Option<&mut Explain>, days: u32) -> Tri {
    let cutoff = f.as_of.add_days(-i64::from(days));
    // Each course as (drug, earliest and latest possible last administration, ongoing).
    let courses: Vec<(String, Option<(Date, Date)>)> = match (&f.case.therapies, &f.case.lines) {
        (Some(ts), _) => ts
            .iter()
            .filter(|t| t.start.earliest() <= f.as_of)
            .map(|t| {
                let last = match (t.end, t.reason_stopped) {
                    (Some(e), _) => Some((e.earliest(), e.latest())),
                    (None, None) => None,
                    (None, Some(_)) => Some((t.start.earliest(), f.as_of)),
                };
                (t.drug.clone(), last)
            })
            .collect(),
        (None, Some(lines)) => lines
            .iter()
            .map(|l| {
                let last = l.end.map(|e| (e.earliest(), e.latest()));
                (l.drugs.join(" + "), last)
            })
            .collect(),
        (None, None) => return history_unknown(ex),
    };
    let mut t = Tri::False;
    let mut recent = Vec::new();
    for (drug, last) in &courses {
        let this = match last {
            None => Tri::True,
            Some((_, latest)) if *latest < cutoff => Tri::False,
            Some((earliest, _)) if *earliest >= cutoff => Tri::True,
            Some(_) => Tri::Unknown,
        };
        if this != Tri::False {
            recent.push((drug.clone(), *last, this));
        }
        t = match (t, this) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::False,
        };
    }
    if let Some(ex) = ex {
        if recent.is_empty() {
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
        for (drug, last, this) in recent {
            match (last, this) {
                (None, _) => ex.say(
                    format!("{drug} is recorded as ongoing."),
                    format!("{drug} 记录为正在使用。"),
                ),
                (Some((_, latest)), Tri::True) => ex.say(
                    format!("{drug} last given on or after {cutoff} (by {latest}), within {days} days."),
                    format!("{drug} 最后一次用药在 {cutoff} 或之后（{latest} 前），在 {days} 天内。"),
                ),
                _ => ex.say(
                    format!("{drug}: the date of the last dose is too imprecise to tell whether it was within {days} days."),
                    format!("{drug}：末次用药日期不够精确，无法判断是否在 {days} 天内。"),
                ),
            }
        }
        for th in f.case.therapies.iter().flatten() {
            ex.cite(format!(
                "{}: {} – {}{}",
                th.drug,
                th.start,
                th.end
                    .map_or_else(|| "no end date".to_owned(), |d| d.to_string()),
                source_note(&th.source)
            ));
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
            match r.unit.convert(r.value, *unit) {
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
        ex.cite(format!(
            "{} {} {} ({}){}",
            test.name(),
            r.value,
            r.unit,
            r.date
                .map_or_else(|| "undated".to_owned(), |d| d.to_string()),
            source_note(&r.source)
        ));
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

fn status_result(p: &Programme) -> CriterionResult {
    let s = p.status();
    let status = availability_status(s.value);
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
        explanation: Bi::new(
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
        ),
        evidence: vec![format!("Status {} as of {}", label.en, s.as_of)],
        request: (status == Status::Unknown).then(|| {
            Bi::new(
                "Ask the sponsor or a study site whether the programme is enrolling.",
                "向申办方或研究中心确认该项目是否正在入组。",
            )
        }),
        source: src.map(describe_source).unwrap_or_default(),
    }
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

/// Evaluates one programme for one case, explaining every criterion.
pub fn evaluate(p: &Programme, f: &Facts) -> ProgrammeResult {
    let mut criteria = Vec::with_capacity(p.criteria().len() + 1);
    criteria.push(status_result(p));
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
        });
    }
    let verdict = verdict_of(criteria.iter().map(|c| (c.kind, c.status)));
    ProgrammeResult {
        programme: p.id.clone(),
        verdict,
        criteria,
    }
}

/// The verdict alone, without explanations: the fast path for batch re-screening.
pub fn verdict(p: &Programme, f: &Facts) -> Verdict {
    let status = availability_status(p.status().value);
    verdict_of(
        std::iter::once((ResultKind::Inclusion, status))
            .chain(p.criteria().map(|c| status_of(c, f, None))),
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
    let mut criteria = Vec::with_capacity(p.criteria().len() + 1);
    criteria.push(CriterionStatus {
        id: STATUS_CRITERION_ID.to_owned(),
        kind: ResultKind::Inclusion,
        status: availability_status(p.status().value),
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
        verdict: verdict_of(criteria.iter().map(|c| (c.kind, c.status))),
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
                        "evidence": c.evidence,
                    });
                    if let Some(req) = &c.request {
                        o["request"] = req.get(lang).into();
                    }
                    o
                })
                .collect();
            serde_json::json!({
                "programme": r.programme,
                "verdict": r.verdict,
                "criteria": criteria,
            })
        })
        .collect()
}
