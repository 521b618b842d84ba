// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The MDT second-opinion report and the patient's summary, as a model: what the documents
//! say, in one language, built from the signed consensus and the record version it was made
//! on. Every clinical fact carries its source (the record's), every published figure its
//! trial, population and source, and the model carries a verification code over its content
//! and the consensus version it renders. Renderers (HTML, PDF) only lay it out.
//!
//! Pure: no IO. The caller resolves people's names and the plan into the input.

pub mod html;

use cellpath_domain::lines::lines_of_therapy;
use cellpath_domain::{Case, Date, Lang};
use cellpath_eligibility::eval::{ProgrammeResult, ResultKind, Status};
use cellpath_eligibility::evidence::{Biomarkers, Endpoint, Evidence, Figure, Line};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Which document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// For the patient's own oncologist and the treating centre.
    Mdt,
    /// For the patient and the caregiver, in plain words.
    Patient,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mdt" => Some(Self::Mdt),
            "patient" => Some(Self::Patient),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mdt => "mdt",
            Self::Patient => "patient",
        }
    }
}

/// The six questions of the decision framework, in order.
pub const QUESTIONS: [&str; 6] = [
    "biomarker_eligibility",
    "treatment_sequence",
    "alternatives",
    "benefit_and_risk",
    "access_and_logistics",
    "recommendation",
];

/// The signed consensus as the report renders it.
#[derive(Clone, Debug)]
pub struct ConsensusIn {
    pub version: i64,
    /// The recommendation's key (`proceed-to-car-t-evaluation`, …) and its words.
    pub recommendation: String,
    pub recommendation_words: String,
    pub summary: String,
    /// The answers to [`QUESTIONS`], in order.
    pub answers: [String; 6],
    /// Each colleague's dissent: who (name and specialty) and the note.
    pub dissent: Vec<(String, String)>,
    /// Who signed and when (name, specialty, date).
    pub signatures: Vec<(String, String, Date)>,
}

/// One step of the journey plan as the report lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanRow {
    pub step: String,
    pub when: String,
    pub source: String,
}

/// Everything a report is made from.
pub struct Input<'a> {
    pub case_id: &'a str,
    pub kind: Kind,
    pub lang: Lang,
    pub record: &'a Case,
    pub record_version: i64,
    pub consensus: &'a ConsensusIn,
    /// The screening of that record version and its date.
    pub screening: &'a [ProgrammeResult],
    pub screened_on: Date,
    pub catalogue_version: &'a str,
    /// The programme names by id, in the reader's language.
    pub programme_names: &'a [(String, String)],
    pub evidence: &'a Evidence,
    pub plan: Vec<PlanRow>,
}

/// A fact of the record, with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
    pub when: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LineRow {
    pub number: String,
    pub drugs: String,
    pub when: String,
    pub outcome: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CriterionRow {
    pub status: String,
    pub status_key: &'static str,
    pub judgement: bool,
    /// An exclusion: "met" means the patient does not have it.
    pub exclusion: bool,
    pub text: String,
    pub explanation: String,
    /// What to ask for — left out where the record already holds what the judgement
    /// concerns (`recorded`): the report never asks for values it has.
    pub request: Option<String>,
    /// For a judgement item: what the record says on it (ECOG, labs, age), shown beside it.
    pub recorded: Vec<String>,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgrammeRow {
    pub name: String,
    pub verdict: String,
    pub criteria: Vec<CriterionRow>,
    /// The catalogue version and the date it was screened on.
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepRow {
    pub question: String,
    pub answer: String,
    /// The signed consensus (its version).
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DissentRow {
    pub who: String,
    pub note: String,
    pub source: String,
}

/// One published figure as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FigureRow {
    pub trial: String,
    pub regimen: String,
    pub comparator: String,
    pub population: String,
    pub line: String,
    pub biomarker: String,
    pub endpoint: String,
    pub arm: String,
    pub comparison: String,
    pub effect: String,
    pub follow_up: String,
    pub caveat: String,
    pub source: String,
    pub source_date: String,
}

/// What the data does not show, with where that is said.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Note {
    pub text: String,
    pub source: String,
}

/// How often the tumour shrank in the trial, as an icon array: of 100 people in each arm,
/// how many — the published response rates with their ranges, not recomputed — and how many
/// assigned to CAR-T never received the cells. Shown only when the screen does not find the
/// patient ineligible and the consensus is not "not suitable": it is no promise of benefit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Benefit {
    pub per_100: u32,
    /// The comparator arm's figure, as published.
    pub comparator_per_100: Option<u32>,
    pub words: String,
    pub source: String,
}

/// Of the 104 people assigned to satri-cel in CT041-ST-01, 16 (15.4 %) were never infused
/// (Lancet 2025, PubMed 40460847; facts §2).
const ST01_NEVER_INFUSED: (u32, u32) = (16, 104);
const ST01_NEVER_INFUSED_SOURCE: &str = "https://pubmed.ncbi.nlm.nih.gov/40460847/";

/// The warning signs after the infusion and whom to call, for the patient and caregiver.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WarningSigns {
    /// Call the treating team at once.
    pub signs: Vec<String>,
    pub call: String,
    /// Call the emergency number first.
    pub emergencies: Vec<String>,
    pub emergency: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignatureRow {
    pub who: String,
    pub date: String,
    pub source: String,
}

/// The report, in one language.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub case_id: String,
    pub kind: Kind,
    pub lang: &'static str,
    pub title: String,
    pub not_advice: String,
    /// Said first when the record says the patient has died.
    pub deceased: Option<String>,
    pub facts: Vec<Fact>,
    pub lines: Vec<LineRow>,
    pub programmes: Vec<ProgrammeRow>,
    pub framework: Vec<StepRow>,
    pub recommendation: StepRow,
    pub summary: StepRow,
    pub dissent: Vec<DissentRow>,
    pub evidence: Vec<FigureRow>,
    pub alternatives: Vec<FigureRow>,
    pub caution: String,
    pub not_shown: Vec<Note>,
    pub benefit: Option<Benefit>,
    pub questions: Vec<String>,
    /// The main risks, each with its source (the patient's summary).
    pub risks: Vec<Note>,
    pub warning_signs: Option<WarningSigns>,
    pub plan: Vec<PlanRow>,
    pub signatures: Vec<SignatureRow>,
    pub consensus_version: i64,
    pub record_version: i64,
    /// A hash of the content and the consensus version it renders.
    pub code: String,
}

fn t(lang: Lang, en: &str, zh: &str) -> String {
    if lang == Lang::ZhCn { zh } else { en }.to_owned()
}

fn src(lang: Lang, s: &Option<String>) -> String {
    s.clone()
        .unwrap_or_else(|| t(lang, "source not recorded", "来源未记录"))
}

fn when(d: Option<impl ToString>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn question(lang: Lang, q: &str) -> String {
    match q {
        "biomarker_eligibility" => t(lang, "1. Biomarker eligibility", "1. 生物标志物是否符合"),
        "treatment_sequence" => t(
            lang,
            "2. Place in the treatment sequence",
            "2. 在治疗顺序中的位置",
        ),
        "alternatives" => t(lang, "3. Alternatives", "3. 其他选择"),
        "benefit_and_risk" => t(lang, "4. Benefit versus uncertainty", "4. 获益与不确定性"),
        "access_and_logistics" => t(
            lang,
            "5. Access, timing and logistics",
            "5. 可及性、时机与行程安排",
        ),
        _ => t(lang, "6. Recommendation", "6. 建议"),
    }
}

fn facts(lang: Lang, r: &Case) -> Vec<Fact> {
    let zh = lang == Lang::ZhCn;
    let pick = |en: &str, z: &str| if zh { z.to_owned() } else { en.to_owned() };
    let unknown = t(lang, "not recorded", "未记录");
    let mut out = Vec::new();
    if let Some(p) = &r.primary {
        out.push(Fact {
            label: t(lang, "Primary cancer", "原发肿瘤"),
            value: format!(
                "{} · {}",
                p.site
                    .map_or(unknown.clone(), |x| pick(x.name(), x.name_zh())),
                p.histology
                    .map_or(unknown.clone(), |x| pick(x.name(), x.name_zh()))
            ),
            when: when(p.diagnosed),
            source: src(lang, &p.source),
        });
        out.push(Fact {
            label: t(lang, "Stage and extent", "分期与范围"),
            value: format!(
                "{}{}",
                p.stage.clone().unwrap_or(unknown.clone()),
                p.extent.map_or(String::new(), |e| format!(
                    " · {}",
                    pick(e.name(), e.name_zh())
                ))
            ),
            when: String::new(),
            source: src(lang, &p.source),
        });
    }
    match &r.metastases {
        None => out.push(Fact {
            label: t(lang, "Distant metastases", "远处转移"),
            value: unknown.clone(),
            when: String::new(),
            source: t(lang, "not recorded", "未记录"),
        }),
        Some(ms) => {
            for m in ms {
                out.push(Fact {
                    label: t(lang, "Distant metastasis", "远处转移"),
                    value: m.site.clone(),
                    when: when(m.date),
                    source: src(lang, &m.source),
                });
            }
        }
    }
    for c in &r.cldn18 {
        let extra = [
            c.clone
                .clone()
                .map(|x| t(lang, &format!("clone {x}"), &format!("克隆号 {x}"))),
            c.specimen.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        out.push(Fact {
            label: "CLDN18.2".to_owned(),
            value: format!(
                "{}{}",
                if zh {
                    c.staining.describe_zh()
                } else {
                    c.staining.describe()
                },
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" ({extra})")
                }
            ),
            when: when(c.specimen_date),
            source: src(lang, &c.source),
        });
    }
    for h in &r.her2 {
        out.push(Fact {
            label: "HER2".to_owned(),
            value: if zh { h.describe_zh() } else { h.describe() },
            when: when(h.date),
            source: src(lang, &h.source),
        });
    }
    for p in &r.pdl1 {
        out.push(Fact {
            label: "PD-L1".to_owned(),
            value: format!("CPS {}", p.cps),
            when: when(p.date),
            source: src(lang, &p.source),
        });
    }
    for m in &r.msi {
        out.push(Fact {
            label: "MSI / MMR".to_owned(),
            value: serde_json::to_value(m.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_uppercase))
                .unwrap_or_default(),
            when: when(m.date),
            source: src(lang, &m.source),
        });
    }
    for e in &r.ecog {
        out.push(Fact {
            label: t(lang, "ECOG performance status", "ECOG 体能状态"),
            value: e.score.score().to_string(),
            when: when(e.date),
            source: src(lang, &e.source),
        });
    }
    for l in &r.labs {
        out.push(Fact {
            label: pick(l.test.name(), l.test.name_zh()),
            value: match l.uln {
                Some(u) => format!(
                    "{} {} ({} {} {})",
                    l.value,
                    l.unit,
                    t(lang, "upper limit", "正常上限"),
                    u,
                    l.unit
                ),
                None => format!("{} {}", l.value, l.unit),
            },
            when: when(l.date),
            source: src(lang, &l.source),
        });
    }
    out
}

fn lines(lang: Lang, r: &Case) -> Vec<LineRow> {
    let Some(lot) = lines_of_therapy(r) else {
        return Vec::new();
    };
    let basis = if lot.derived {
        t(
            lang,
            "worked out from the therapies in the record (docs/lines-of-therapy.md)",
            "根据病历中的治疗记录推算（docs/lines-of-therapy.md）",
        )
    } else {
        t(lang, "confirmed by the coordinator", "经协调员确认")
    };
    lot.lines
        .iter()
        .map(|l| LineRow {
            number: l.number.map_or_else(|| "–".to_owned(), |n| n.to_string()),
            drugs: l.drugs.join(" + "),
            when: match (l.start, l.end) {
                (Some(a), Some(b)) => format!("{a} – {b}"),
                (Some(a), None) => format!("{a} –"),
                _ => String::new(),
            },
            outcome: l.outcome.label().get(lang).to_owned(),
            source: basis.clone(),
        })
        .collect()
}

fn figure_row(lang: Lang, f: &Figure) -> FigureRow {
    let zh = lang == Lang::ZhCn;
    let value = |v: &str, i: &Option<String>| {
        let main = match (f.unit, &f.arm_of) {
            (cellpath_eligibility::evidence::Unit::Patients, Some(of)) if v == f.arm_value => {
                if zh {
                    format!("{of} 例中 {v} 例")
                } else {
                    format!("{v} of {of} patients")
                }
            }
            _ => f.unit.with(v, lang),
        };
        match i {
            // The interval as published, without naming it more than the source does.
            Some(i) => format!("{main} ({i})"),
            None => main,
        }
    };
    FigureRow {
        trial: {
            let name = match (lang, &f.trial_zh) {
                (Lang::ZhCn, Some(zh)) => zh.clone(),
                _ => f.trial.clone(),
            };
            match &f.registry {
                Some(r) if lang == Lang::ZhCn => format!("{name}（{r}）"),
                Some(r) => format!("{name} ({r})"),
                None => name,
            }
        },
        regimen: f.regimen.clone(),
        comparator: f
            .comparator()
            .map(|c| c.get(lang).to_owned())
            .unwrap_or_default(),
        population: f.population().get(lang).to_owned(),
        line: f.line.label().get(lang).to_owned(),
        biomarker: f.biomarker.label().get(lang).to_owned(),
        endpoint: f.endpoint.label().get(lang).to_owned(),
        arm: value(&f.arm_value, &f.arm_interval),
        comparison: f
            .comparator_value
            .as_ref()
            .map(|c| value(c, &f.comparator_interval))
            .unwrap_or_default(),
        // Effects are copied as published (HR, interval, p); the one word among them is
        // the statistical test's sidedness.
        effect: match (lang, &f.effect) {
            (Lang::ZhCn, Some(e)) => e.replace("one-sided ", "单侧 "),
            (_, e) => e.clone().unwrap_or_default(),
        },
        follow_up: f
            .follow_up()
            .map(|b| b.get(lang).to_owned())
            .unwrap_or_default(),
        caveat: f
            .caveat()
            .map(|b| b.get(lang).to_owned())
            .unwrap_or_default(),
        source: f.source.clone(),
        source_date: f.source_date.to_string(),
    }
}

/// The patient's line (prior lines that count) and biomarkers, as the evidence is indexed.
/// Where the patient is, for the alternatives: their line, the biomarkers their dated,
/// conflict-aware results show (the same facts the screen reads, on the screening date —
/// not the last result in list order), and the drugs they received (generic names).
fn where_the_patient_is(r: &Case, on: Date) -> (Line, Vec<Biomarkers>, Vec<String>) {
    let f = cellpath_eligibility::facts::Facts::new(r, on);
    let prior = f.lines.as_ref().map_or(0, |l| l.counted().count() as u32);
    let mut markers = Vec::new();
    let her2_positive = !f.her2_conflict
        && f.her2
            .is_some_and(|(_, s)| s == cellpath_domain::Her2Status::Positive);
    if her2_positive {
        markers.push(Biomarkers::Her2Positive);
    }
    if let Some(c) = f.cldn18 {
        // The thresholds of the trials' own populations (facts.md §2.2), on the share of
        // tumour cells that surely stains at 2+ or stronger.
        let at = c
            .staining
            .percent_at_or_above(cellpath_domain::Intensity::TWO);
        if at.low >= 40.0 {
            markers.push(Biomarkers::Cldn182Positive);
        }
        if at.low >= 75.0 && !her2_positive {
            markers.push(Biomarkers::Cldn182HighHer2Negative);
        }
    }
    let received = f
        .seen
        .therapies
        .iter()
        .flatten()
        .map(|t| t.drug.to_lowercase())
        .collect();
    (Line::after(prior), markers, received)
}

/// Builds the report from its input.
pub fn build(input: &Input<'_>) -> Report {
    let lang = input.lang;
    let c = input.consensus;
    let consensus_source = t(
        lang,
        &format!("signed MDT consensus, version {}", c.version),
        &format!("已签署的多学科团队共识，第 {} 版", c.version),
    );
    let screened_source = t(
        lang,
        &format!(
            "pre-screen of record version {} on {}, catalogue {}",
            input.record_version, input.screened_on, input.catalogue_version
        ),
        &format!(
            "病历第 {} 版于 {} 的预筛查，项目目录 {}",
            input.record_version, input.screened_on, input.catalogue_version
        ),
    );
    let programmes = input
        .screening
        .iter()
        .map(|p| ProgrammeRow {
            name: input
                .programme_names
                .iter()
                .find(|(id, _)| *id == p.programme)
                .map_or_else(|| p.programme.clone(), |(_, n)| n.clone()),
            // The one framing of a verdict (CLI, pages, reports): never a bare "eligible"
            // over clinician judgements still pending, with what the record says beside them.
            verdict: cellpath_eligibility::eval::verdict_text(p, lang),
            criteria: p
                .criteria
                .iter()
                .filter(|x| x.status != Status::NotApplicable)
                .map(|x| CriterionRow {
                    status: x.status.label().get(lang).to_owned(),
                    status_key: match x.status {
                        Status::Met => "met",
                        Status::NotMet => "not-met",
                        Status::Unknown => "unknown",
                        Status::NotApplicable => "na",
                    },
                    judgement: x.kind == ResultKind::ClinicianJudgement,
                    exclusion: x.kind == ResultKind::Exclusion,
                    text: x.text.get(lang).to_owned(),
                    explanation: x.explanation.get(lang).to_owned(),
                    request: x
                        .request
                        .as_ref()
                        .filter(|_| x.recorded.is_empty())
                        .map(|r| r.get(lang).to_owned()),
                    recorded: x.recorded.iter().map(|b| b.get(lang).to_owned()).collect(),
                    source: x.source.clone(),
                })
                .collect(),
            source: screened_source.clone(),
        })
        .collect();
    let step = |i: usize| StepRow {
        question: question(lang, QUESTIONS[i]),
        answer: c.answers[i].clone(),
        source: consensus_source.clone(),
    };
    let evidence: Vec<FigureRow> = input
        .evidence
        .of("satri-cel")
        .map(|f| figure_row(lang, f))
        .collect();
    let (line, markers, received) = where_the_patient_is(input.record, input.screened_on);
    let alternatives = input
        .evidence
        .alternatives("satri-cel", line, &markers, &received)
        .map(|f| figure_row(lang, f))
        .collect();
    let not_shown = input
        .evidence
        .of("satri-cel")
        .filter_map(|f| {
            Some(Note {
                text: f.caveat()?.get(lang).to_owned(),
                source: f.source.clone(),
            })
        })
        .collect::<Vec<_>>();
    // Not a chance of benefit for a patient the screen finds ineligible or the team finds
    // not suitable: then the picture is left out.
    let satri_ineligible = input
        .screening
        .iter()
        .filter(|p| p.programme.starts_with("satri-cel"))
        .all(|p| p.verdict == cellpath_eligibility::Verdict::Ineligible)
        && input
            .screening
            .iter()
            .any(|p| p.programme.starts_with("satri-cel"));
    let not_suitable = c.recommendation == "not-suitable";
    let benefit = input
        .evidence
        .of("satri-cel")
        .find(|f| f.endpoint == Endpoint::Orr)
        .filter(|_| !satri_ineligible && !not_suitable)
        .and_then(|f| {
            let n: u32 = f.arm_value.parse().ok()?;
            let cmp: Option<u32> = f.comparator_value.as_deref().and_then(|v| v.parse().ok());
            let range = |i: &Option<String>| {
                i.as_deref()
                    .map(|r| if lang == Lang::ZhCn { format!("（{r}）") } else { format!(" ({r})") })
                    .unwrap_or_default()
            };
            let (ar, cr) = (range(&f.arm_interval), range(&f.comparator_interval));
            let (missed, of) = ST01_NEVER_INFUSED;
            let comparator = f.comparator.clone().unwrap_or_default();
            let comparator_zh = f.comparator_zh.clone().unwrap_or_default();
            let cmp_en = cmp.map(|c| format!(", and in about {c}{cr} of 100 in the comparison arm ({comparator})")).unwrap_or_default();
            let cmp_zh = cmp.map(|c| format!("；对照组（{comparator_zh}）每 100 人中约 {c} 人{cr}")).unwrap_or_default();
            Some(Benefit {
                per_100: n,
                comparator_per_100: cmp,
                words: t(
                    lang,
                    &format!(
                        "How often the tumour shrank in the trial ({}): in about {n}{ar} of 100 people given satri-cel{cmp_en}. About 15 of 100 people assigned to satri-cel never received the cells ({missed} of {of}, {ST01_NEVER_INFUSED_SOURCE}). This is what happened in the trial, not a promise for one person.",
                        f.trial
                    ),
                    &format!(
                        "试验（{}）中肿瘤缩小的比例：接受 satri-cel 者每 100 人中约 {n} 人{ar}{cmp_zh}。分配到 satri-cel 组的每 100 人中约有 15 人最终未能回输细胞（{of} 人中 {missed} 人，{ST01_NEVER_INFUSED_SOURCE}）。这是试验中的结果，不是对个人的承诺。",
                        f.trial
                    ),
                ),
                source: f.source.clone(),
            })
        });
    let (risks, warning_signs) = if input.kind == Kind::Patient {
        (risks(lang), Some(warning_signs(lang)))
    } else {
        (Vec::new(), None)
    };
    let questions = if input.kind == Kind::Patient {
        vec![
            t(
                lang,
                "What is the realistic response rate for someone with our exact profile?",
                "对于与我们情况完全相同的人，实际的缓解率是多少？",
            ),
            t(
                lang,
                "What happens if the response is short-lived?",
                "如果缓解持续时间很短，接下来怎么办？",
            ),
            t(
                lang,
                "Which side effects should we watch for at home, and whom do we call?",
                "回家后应注意哪些副作用？应该联系谁？",
            ),
        ]
    } else {
        Vec::new()
    };
    let mut report = Report {
        case_id: input.case_id.to_owned(),
        kind: input.kind,
        lang: if lang == Lang::ZhCn { "zh-CN" } else { "en" },
        title: match input.kind {
            Kind::Mdt => t(lang, "MDT second-opinion report", "多学科团队第二意见报告"),
            Kind::Patient => t(
                lang,
                "Summary for the patient and the caregiver",
                "致患者和照护者的摘要",
            ),
        },
        not_advice: t(
            lang,
            "Not medical advice: decision support for the treating team; every decision about treatment is made with the patient's doctors.",
            "非医疗建议：本文件为主治团队提供决策支持；任何治疗决定都须与患者的医生共同作出。",
        ),
        deceased: input.record.patient.deceased.then(|| {
            t(
                lang,
                "The record says the patient has died.",
                "病历记载患者已去世。",
            )
        }),
        facts: facts(lang, input.record),
        lines: lines(lang, input.record),
        programmes,
        framework: (0..5).map(step).collect(),
        recommendation: StepRow {
            question: question(lang, "recommendation"),
            answer: format!("{} — {}", c.recommendation_words, c.answers[5]),
            source: consensus_source.clone(),
        },
        summary: StepRow {
            question: t(lang, "Summary", "总结"),
            answer: c.summary.clone(),
            source: consensus_source.clone(),
        },
        dissent: c
            .dissent
            .iter()
            .map(|(who, note)| DissentRow {
                who: who.clone(),
                note: note.clone(),
                source: consensus_source.clone(),
            })
            .collect(),
        evidence,
        alternatives,
        caution: t(
            lang,
            "Different trials, different patients: not a head-to-head comparison.",
            "不同的试验、不同的患者：不能直接相互比较。",
        ),
        not_shown,
        benefit,
        questions,
        risks,
        warning_signs,
        plan: input.plan.clone(),
        signatures: c
            .signatures
            .iter()
            .map(|(who, specialty, date)| SignatureRow {
                who: if specialty.is_empty() {
                    who.clone()
                } else {
                    format!("{who} ({specialty})")
                },
                date: date.to_string(),
                source: consensus_source.clone(),
            })
            .collect(),
        consensus_version: c.version,
        record_version: input.record_version,
        code: String::new(),
    };
    report.code = code(&report);
    report
}

/// What an issued report says it is: the case, consensus version, kind, language and code
/// in its `cellpath-report` meta line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub case_id: String,
    pub version: i64,
    pub kind: Kind,
    pub lang: Lang,
    pub code: String,
}

/// The claim line a report carries: `case=…;version=…;kind=…;lang=…;code=…`.
pub fn claim_line(r: &Report) -> String {
    format!(
        "case={};version={};kind={};lang={};code={}",
        r.case_id,
        r.consensus_version,
        r.kind.as_str(),
        r.lang,
        r.code
    )
}

/// Reads a claim line; `None` when it does not name a case and a version.
pub fn parse_claim(line: &str) -> Option<Claim> {
    let mut c = Claim {
        case_id: String::new(),
        version: 0,
        kind: Kind::Mdt,
        lang: Lang::En,
        code: String::new(),
    };
    for part in line.split(';') {
        let (k, v) = part.split_once('=')?;
        match k {
            "case" => c.case_id = v.to_owned(),
            "version" => c.version = v.parse().ok()?,
            "kind" => c.kind = Kind::parse(v)?,
            "lang" => c.lang = if v == "zh-CN" { Lang::ZhCn } else { Lang::En },
            "code" => c.code = v.to_owned(),
            _ => {}
        }
    }
    (!c.case_id.is_empty() && c.version > 0).then_some(c)
}

/// The main risks of satri-cel in plain words, each as its source says it (`facts.md` §1.6,
/// §4.1): nothing here is a new claim.
fn risks(lang: Lang) -> Vec<Note> {
    const LAY_SUMMARY: &str = "https://www.healthdigest.com/1877962/experimental-treatment-helped-cancer-patients-live-40-percent-longer-one-noticeable-side-effect (2025)";
    vec![
        Note {
            text: t(
                lang,
                "Cytokine release syndrome (CRS) — fever, and when severe low blood pressure or low oxygen — happened to almost everyone treated with satri-cel in the trial: all but 4 of 88 people. How severe it was for each of them was not found in a source we could read.",
                "细胞因子释放综合征（CRS）——发热，严重时血压下降或缺氧——在试验中几乎所有接受 satri-cel 治疗的人都出现过：88 人中除 4 人外都有。每个人的严重程度，我们在可查阅的资料中未能找到。",
            ),
            source: LAY_SUMMARY.to_owned(),
        },
        Note {
            text: t(
                lang,
                "Most people treated had a fall in their white blood cells and lymphocytes (the cells that fight infection).",
                "大多数接受治疗的人白细胞和淋巴细胞（抵抗感染的细胞）有所下降。",
            ),
            source: LAY_SUMMARY.to_owned(),
        },
        Note {
            text: t(
                lang,
                "Damage to the healthy lining of the stomach is a recognised risk of CLDN18.2 CAR-T, because normal stomach cells carry CLDN18.2 too. How often it happened in this trial was not found in a source we could read.",
                "损伤正常胃黏膜是 CLDN18.2 CAR-T 的公认风险，因为正常胃细胞也表达 CLDN18.2。在本试验中发生的频率，我们在可查阅的资料中未能找到。",
            ),
            source: "https://doi.org/10.1038/s41467-025-61858-z (Nature Communications 16:9650, 2025)".to_owned(),
        },
        Note {
            text: t(
                lang,
                "With CAR-T cells in general, CRS and effects on the brain and nerves (ICANS) start mostly within the first 2 weeks after the infusion: the time the team watches most closely.",
                "就 CAR-T 细胞治疗总体而言，CRS 以及对大脑和神经的影响（ICANS）大多在回输后 2 周内出现：这是团队观察最密切的时期。",
            ),
            source: "https://ashpublications.org/bloodadvances/article/8/20/5346/517124/ (Blood Advances 2024, CD19 CAR-T)".to_owned(),
        },
    ]
}

/// The warning signs the home diary asks about (`care::diary`), and whom to call.
fn warning_signs(lang: Lang) -> WarningSigns {
    use cellpath_care::diary::{LOW_C, SIGNS};
    let word = |sg: &cellpath_care::diary::Sign| t(lang, sg.en, sg.zh);
    let fever = cellpath_care::crs::FEVER_C;
    let mut signs = vec![
        t(
            lang,
            &format!("fever: {fever:.1} °C or higher"),
            &format!("发热：{fever:.1} °C 或更高"),
        ),
        t(
            lang,
            &format!("a temperature below {LOW_C:.1} °C"),
            &format!("体温低于 {LOW_C:.1} °C"),
        ),
    ];
    signs.extend(SIGNS.iter().filter(|sg| !sg.emergency).map(word));
    WarningSigns {
        signs,
        call: t(
            lang,
            "If any of these appears, call the treating team at once on their 24-hour number. When you record one in the diary in cellpath, it also alerts the team on call.",
            "出现以上任何一种情况，请立即拨打治疗团队的 24 小时电话。在 cellpath 的日记中记录后，系统也会提醒值班团队。",
        ),
        emergencies: SIGNS.iter().filter(|sg| sg.emergency).map(word).collect(),
        emergency: t(
            lang,
            "For these, call the local emergency number first (120 in mainland China), then the team, and show the CAR-T wallet card.",
            "出现以上情况，请先拨打当地急救电话（中国大陆为 120），再联系团队，并出示 CAR-T 随身卡。",
        ),
        source: t(
            lang,
            "ASTCT consensus grading, 2019 (fever 38.0 °C); CAR-T caregiver materials, e.g. https://cartpatient.dana-farber.org/for-caregivers.html",
            "ASTCT 2019 共识分级（发热 38.0 °C）；CAR-T 照护者资料，例如 https://cartpatient.dana-farber.org/for-caregivers.html",
        ),
    }
}

/// The verification code: a hash of the report's content (the code left out) and the
/// consensus version it renders, as `CP-XXXX-XXXX-XXXX-XXXX`.
pub fn code(report: &Report) -> String {
    let mut r = report.clone();
    r.code = String::new();
    let text = serde_json::to_string(&r).unwrap_or_default();
    let digest = Sha256::digest(format!("v{}\n{text}", r.consensus_version).as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02X}")).collect();
    format!(
        "CP-{}-{}-{}-{}",
        &hex[0..4],
        &hex[4..8],
        &hex[8..12],
        &hex[12..16]
    )
}

/// Every place in a report's model where a figure appears without a source: the JSON
/// pointers of values with a digit in an object that names no source. Labels and the
/// report's own bookkeeping (versions, code) are not clinical figures.
pub fn unsourced_figures(report: &Report) -> Vec<String> {
    fn has_digit(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(_) => true,
            serde_json::Value::String(s) => s.bytes().any(|b| b.is_ascii_digit()),
            _ => false,
        }
    }
    const NOT_FIGURES: &[&str] = &[
        "label",
        "question",
        "title",
        "trial",
        "regimen",
        "comparator",
        "source",
        "source_date",
        "case_id",
        "consensus_version",
        "record_version",
        "code",
        "lang",
        "biomarker",
        "name",
        "status_key",
    ];
    fn walk(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                let sourced = map
                    .get("source")
                    .and_then(|s| s.as_str())
                    .is_some_and(|s| !s.trim().is_empty());
                for (k, child) in map {
                    let here = format!("{at}/{k}");
                    match child {
                        serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                            walk(child, &here, out)
                        }
                        leaf if !sourced
                            && !NOT_FIGURES.contains(&k.as_str())
                            && has_digit(leaf) =>
                        {
                            out.push(here)
                        }
                        _ => {}
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(report) {
        walk(&v, "", &mut out);
    }
    out
}

/// The report of the shipped example case (CLDN18.2-positive, third line) with a signed
/// sample consensus in the report's language: for tests and benchmarks of the renderers.
pub fn sample(kind: Kind, lang: Lang) -> Report {
    sample_recommending(kind, lang, "proceed-to-car-t-evaluation")
}

/// [`sample`] with another consensus recommendation.
pub fn sample_recommending(kind: Kind, lang: Lang, recommendation: &str) -> Report {
    let record = cellpath_domain::native::from_toml(include_str!(
        "../../../examples/cases/gastric-cldn18-eligible.toml"
    ))
    .expect("the shipped example case reads");
    let catalogue = cellpath_eligibility::shipped().expect("the shipped catalogue reads");
    let on = Date::parse("2026-11-28").expect("a date");
    let screening = cellpath_eligibility::screen(&catalogue, &record, on, &[]);
    let names: Vec<(String, String)> = catalogue
        .programmes()
        .iter()
        .map(|p| (p.id.clone(), p.name.get(lang).to_owned()))
        .collect();
    let evidence = cellpath_eligibility::evidence::shipped().expect("the shipped evidence reads");
    let zh = lang == Lang::ZhCn;
    let consensus = ConsensusIn {
        version: 2,
        recommendation: recommendation.into(),
        recommendation_words: t(lang, "Proceed to CAR-T evaluation", "进入 CAR-T 评估"),
        summary: t(
            lang,
            "Eligible on biomarkers; third line.",
            "生物标志物符合；三线治疗。",
        ),
        answers: std::array::from_fn(|i| {
            if zh {
                format!("第 {} 个问题的共识。", i + 1)
            } else {
                format!("The consensus on question {}.", i + 1)
            }
        }),
        dissent: vec![(
            t(lang, "Dr Path (pathology)", "病理科王医生"),
            t(
                lang,
                "Repeat the IHC on fresh tissue.",
                "建议用新鲜组织重复免疫组化检测。",
            ),
        )],
        signatures: vec![("Dr Onc".into(), "medical oncology".into(), on)],
    };
    build(&Input {
        case_id: "c-demo-1",
        kind,
        lang,
        record: &record,
        record_version: 3,
        consensus: &consensus,
        screening: &screening,
        screened_on: on,
        catalogue_version: catalogue.version(),
        programme_names: &names,
        evidence: &evidence,
        plan: vec![PlanRow {
            step: "Leukapheresis".into(),
            when: "2026-12-09 – 2026-12-10".into(),
            source: "journey plan of 2026-11-28".into(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo(kind: Kind, lang: Lang) -> Report {
        sample(kind, lang)
    }

    /// The summary names the main risks and the warning signs after the infusion, with
    /// whom to call; the emergencies (120 first) apart from the rest.
    #[test]
    fn the_summary_names_the_risks_and_the_warning_signs() {
        let en = html::html(&sample(Kind::Patient, Lang::En));
        for want in [
            "The main risks",
            "all but 4 of 88 people",
            "fever: 38.0 °C or higher",
            "confusion",
            "call the local emergency number first (120 in mainland China)",
            "a seizure",
        ] {
            assert!(en.contains(want), "{want}");
        }
        let zh = html::html(&sample(Kind::Patient, Lang::ZhCn));
        assert!(zh.contains("回输后的警示信号") && zh.contains("发热：38.0 °C 或更高"));
        assert!(zh.contains("意识混乱") && zh.contains("中国大陆为 120"));
        let mdt = sample(Kind::Mdt, Lang::En);
        assert!(mdt.risks.is_empty() && mdt.warning_signs.is_none());
    }

    /// The report heads a programme with the same verdict text as the CLI and the pages: an
    /// automatic "eligible" never hides the clinician judgements still pending (clinical
    /// review, issue 27: the MDT report headed an unfit patient "eligible").
    #[test]
    fn the_verdict_is_framed_as_everywhere_with_the_pending_judgements() {
        let r = sample(Kind::Mdt, Lang::En);
        let satri = r
            .programmes
            .iter()
            .find(|p| p.name.contains("atri"))
            .expect("satri-cel");
        assert!(
            satri.verdict.contains("clinician judgement pending"),
            "{}",
            satri.verdict
        );
        let zh = sample(Kind::Mdt, Lang::ZhCn);
        assert!(
            zh.programmes
                .iter()
                .any(|p| p.verdict.contains("尚待临床判断"))
        );
        // The fitness row shows what the record says (ECOG, labs) and does not ask for it.
        let fit = satri
            .criteria
            .iter()
            .find(|c| c.judgement && c.recorded.iter().any(|r| r.starts_with("ECOG")))
            .expect("a judgement beside the recorded ECOG");
        assert!(fit.request.is_none(), "{fit:?}");
        assert!(html::html(&r).contains("The record says: ECOG"));
    }

    /// An exclusion says so: "met" beside "HER2-positive" would otherwise read as though the
    /// patient were HER2-positive.
    #[test]
    fn an_exclusion_criterion_is_marked_as_one_with_its_explanation() {
        let r = sample(Kind::Mdt, Lang::En);
        let row = r
            .programmes
            .iter()
            .flat_map(|p| &p.criteria)
            .find(|c| c.text.starts_with("HER2-positive"))
            .expect("the IBI343 HER2 exclusion");
        assert!(row.exclusion && row.status_key == "met", "{row:?}");
        let page = html::html(&r);
        assert!(
            page.contains("met</span> (exclusion: must not be true): HER2-positive"),
            "{page}"
        );
        assert!(page.contains(&row.explanation) && !row.explanation.is_empty());
        let zh = html::html(&sample(Kind::Mdt, Lang::ZhCn));
        assert!(
            zh.contains("符合</span>（排除标准：必须不存在）：HER2 阳性"),
            "{zh}"
        );
        assert!(zh.contains("单侧 p=0.0416") && !zh.contains("one-sided"));
    }

    /// No figure in any report without its source.
    #[test]
    fn every_figure_in_the_report_has_a_source() {
        for kind in [Kind::Mdt, Kind::Patient] {
            for lang in [Lang::En, Lang::ZhCn] {
                let r = demo(kind, lang);
                assert!(!r.facts.is_empty() && !r.evidence.is_empty());
                let bare = unsourced_figures(&r);
                assert!(bare.is_empty(), "{kind:?} {lang:?}: {bare:?}");
            }
        }
        // And the walk finds one when a figure loses its source.
        let mut r = demo(Kind::Mdt, Lang::En);
        r.evidence[0].source = String::new();
        assert!(
            unsourced_figures(&r)
                .iter()
                .any(|p| p.starts_with("/evidence/0/"))
        );
    }

    #[test]
    fn the_evidence_is_the_patient_s_line_and_said_not_to_be_compared() {
        let r = demo(Kind::Mdt, Lang::En);
        assert!(
            r.evidence
                .iter()
                .any(|f| f.arm.contains("3.25 months (2.86–4.53)"))
        );
        assert!(
            r.alternatives
                .iter()
                .any(|f| f.regimen == "trifluridine/tipiracil")
        );
        assert!(
            !r.alternatives
                .iter()
                .any(|f| f.regimen.contains("zolbetuximab"))
        );
        // The demo patient had nivolumab in the first line: ATTRACTION-2 (enrolled before
        // checkpoint inhibitors) does not speak for them (clinical review, issue 27).
        assert!(!r.alternatives.iter().any(|f| f.trial == "ATTRACTION-2"));
        // A trial described rather than named is described in Chinese in the Chinese report.
        let zh = demo(Kind::Mdt, Lang::ZhCn);
        assert!(
            zh.alternatives
                .iter()
                .any(|f| f.trial.starts_with("中国 3 期试验"))
        );
        assert!(!zh.alternatives.iter().any(|f| f.trial.contains("Chinese")));
        assert!(r.caution.contains("not a head-to-head comparison"));
        assert!(r.not_shown.iter().any(|n| n.text.contains("crosses 1")));
        let p = demo(Kind::Patient, Lang::ZhCn);
        let b = p.benefit.expect("icon array");
        assert_eq!((b.per_100, b.comparator_per_100), (22, Some(4)));
        assert!(
            b.words.contains("约 22 人（15–31）") && b.words.contains("约 4 人（0–13）"),
            "{}",
            b.words
        );
        assert!(b.words.contains("约有 15 人最终未能回输"), "{}", b.words);
        let en = demo(Kind::Patient, Lang::En).benefit.expect("icon array");
        assert!(
            en.words
                .starts_with("How often the tumour shrank in the trial"),
            "{}",
            en.words
        );
        assert!(
            en.words.contains("about 22 (15–31) of 100")
                && en.words.contains("about 4 (0–13) of 100"),
            "{}",
            en.words
        );
        assert!(!en.words.contains("chance"), "{}", en.words);
        // Not shown as a chance of benefit when the team found CAR-T not suitable.
        assert!(
            sample_recommending(Kind::Patient, Lang::En, "not-suitable")
                .benefit
                .is_none()
        );
        assert!(p.questions.len() >= 2);
    }

    #[test]
    fn the_html_says_it_all_in_the_reader_s_language() {
        let en = html::html(&demo(Kind::Mdt, Lang::En));
        for want in [
            "MDT second-opinion report",
            "Not medical advice:",
            "The six steps of the decision",
            "not a head-to-head comparison",
            "trifluridine/tipiracil",
            "Dr Path (pathology)",
            "CP-",
        ] {
            assert!(en.contains(want), "{want}");
        }
        let zh = html::html(&demo(Kind::Patient, Lang::ZhCn));
        assert!(zh.contains("lang=\"zh-Hans\"") && zh.contains("值得提出的问题"));
        // Both arms: 22 of 100 with satri-cel, 4 of 100 with the physician's choice.
        assert_eq!(
            zh.matches("<span class=\"on\">").count(),
            22 + 4,
            "the icon arrays"
        );
        let claim = html::claim(zh.as_bytes()).expect("a report says what it is");
        assert_eq!(claim.case_id, "c-demo-1");
        assert_eq!(
            (claim.version, claim.kind, claim.lang),
            (2, Kind::Patient, Lang::ZhCn)
        );
        assert!(claim.code.starts_with("CP-"));
        assert_eq!(html::claim(b"<html>no</html>"), None);
    }

    #[test]
    fn the_code_changes_with_the_content_and_the_consensus_version() {
        let a = demo(Kind::Mdt, Lang::En);
        assert!(
            a.code.starts_with("CP-") && a.code.len() == 22,
            "{}",
            a.code
        );
        assert_eq!(code(&a), a.code, "reproducible");
        let mut b = a.clone();
        b.summary.answer.push('.');
        assert_ne!(code(&b), a.code);
        let mut c = a.clone();
        c.consensus_version += 1;
        assert_ne!(code(&c), a.code);
    }
}
