//! The report as one HTML document (styles inline, no scripts), from the same model the PDF
//! is made from: what the web app shows and prints.

use askama::Template;
use cellpath_domain::Lang;

pub use crate::Claim;
#[allow(unused_imports)]
use crate::Kind;
use crate::Report;

/// The document's own words, in its language.
#[derive(serde::Serialize)]
pub struct Words {
    pub versions: String,
    pub recommends: &'static str,
    pub chance: &'static str,
    pub case: &'static str,
    pub fact: &'static str,
    pub value: &'static str,
    pub date: &'static str,
    pub source: &'static str,
    pub lines: &'static str,
    pub drugs: &'static str,
    pub outcome: &'static str,
    pub prescreen: &'static str,
    pub judgement: &'static str,
    pub exclusion: &'static str,
    /// ": " or "：", as the language writes it.
    pub colon: &'static str,
    pub settle: &'static str,
    pub recorded: &'static str,
    pub list_sep: &'static str,
    pub framework: &'static str,
    pub dissent: &'static str,
    pub evidence: &'static str,
    pub endpoint: &'static str,
    pub comparator: &'static str,
    pub effect: &'static str,
    pub alternatives: &'static str,
    pub no_alternatives: &'static str,
    pub regimen: &'static str,
    pub result: &'static str,
    pub not_shown: &'static str,
    pub questions: &'static str,
    pub risks: &'static str,
    pub signs: &'static str,
    pub plan: &'static str,
    pub plan_step: &'static str,
    pub no_plan: &'static str,
    pub signatures: &'static str,
    pub verify: &'static str,
}

/// The document's words for a report.
pub fn words(r: &Report) -> Words {
    let zh = r.lang == "zh-CN";
    let w = |en: &'static str, z: &'static str| if zh { z } else { en };
    Words {
        versions: if zh {
            format!(
                "多学科团队共识第 {} 版，病历第 {} 版 · 核验码",
                r.consensus_version, r.record_version
            )
        } else {
            format!(
                "MDT consensus version {}, record version {} · verification code",
                r.consensus_version, r.record_version
            )
        },
        recommends: w("What the team recommends, and why", "团队的建议及理由"),
        chance: w(
            "How often the tumour shrank in the trial",
            "试验中肿瘤缩小的比例",
        ),
        case: w("The case", "病例"),
        fact: w("Fact", "项目"),
        value: w("Value", "结果"),
        date: w("Date", "日期"),
        source: w("Source", "来源"),
        lines: w("Lines of therapy", "治疗线"),
        drugs: w("Drugs", "药物"),
        outcome: w("How it ended", "结束方式"),
        prescreen: w("Pre-screen of each programme", "各项目的预筛查"),
        judgement: w(" (for the clinicians' judgement)", "（需临床医生判断）"),
        exclusion: w(" (exclusion: must not be true)", "（排除标准：必须不存在）"),
        colon: w(": ", "："),
        settle: w("What would settle it:", "如何确定："),
        recorded: w("The record says:", "病历记载："),
        list_sep: w("; ", "；"),
        framework: w("The six steps of the decision", "决策的六个步骤"),
        dissent: w("Dissent", "不同意见"),
        evidence: w("The evidence", "证据"),
        endpoint: w("Endpoint", "终点"),
        comparator: w("Comparator", "对照"),
        effect: w("Effect", "效应"),
        alternatives: w(
            "Alternatives at this patient's line and biomarkers",
            "与本患者治疗线和生物标志物相符的其他选择",
        ),
        no_alternatives: w(
            "No published figures for this line and these biomarkers in the catalogue.",
            "目录中没有与该治疗线和生物标志物相符的已发表数据。",
        ),
        regimen: w("Treatment", "治疗"),
        result: w("Result", "结果"),
        not_shown: w("What the data does not show", "数据未能说明的内容"),
        questions: w("Questions worth asking", "值得提出的问题"),
        risks: w("The main risks", "主要风险"),
        signs: w(
            "Warning signs after the infusion: whom to call",
            "回输后的警示信号：联系谁",
        ),
        plan: w(
            "The journey plan and follow-up at home",
            "行程安排与回家后的随访",
        ),
        plan_step: w("Step", "步骤"),
        no_plan: w("No journey plan yet.", "尚无行程安排。"),
        signatures: w("Signatures", "签署"),
        verify: w(
            "Verify this document with its code on the cellpath server that issued it:",
            "可凭核验码在签发本文件的 cellpath 服务器上核验：",
        ),
    }
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    w: Words,
    claim: String,
}

/// The report as an HTML document.
pub fn html(report: &Report) -> String {
    Page {
        r: report,
        w: words(report),
        claim: crate::claim_line(report),
    }
    .render()
    .unwrap_or_default()
}

/// The language of a report's words.
pub fn lang_of(report: &Report) -> Lang {
    if report.lang == "zh-CN" {
        Lang::ZhCn
    } else {
        Lang::En
    }
}

/// Reads the claim of a report's HTML; `None` when the file is not a cellpath report.
pub fn claim(bytes: &[u8]) -> Option<Claim> {
    let text = std::str::from_utf8(bytes).ok()?;
    let needle = "<meta name=\"cellpath-report\" content=\"";
    let at = text.find(needle)? + needle.len();
    crate::parse_claim(&text[at..at + text[at..].find('"')?])
}
