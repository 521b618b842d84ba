//! Text for a coordinator to read, in English or Simplified Chinese.

use std::fmt::Write;

use cellpath_domain::{Case, lines_of_therapy};
use cellpath_eligibility::catalogue::ProgrammeKind;
use cellpath_eligibility::eval::{ProgrammeResult, ResultKind, Status};
use cellpath_eligibility::{Bi, Catalogue, Lang, Programme};
use cellpath_fhir::{ImportReport, Outcome};

use crate::input::Loaded;

/// The not-medical-advice notice in a language.
pub fn disclaimer(lang: Lang) -> String {
    t(lang, DISCLAIMER.0, DISCLAIMER.1)
}

const DISCLAIMER: (&str, &str) = (
    "Not medical advice. This is a pre-screen for the treating team and the MDT to confirm.",
    "非医疗建议。本结果仅为预筛查，需由主治团队及多学科团队（MDT）确认。",
);

fn t(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::ZhCn => zh.to_owned(),
    }
}

fn mark(status: Status, kind: ResultKind) -> &'static str {
    if kind == ResultKind::ClinicianJudgement {
        return "◇";
    }
    match status {
        Status::Met => "✓",
        Status::NotMet => "✗",
        Status::Unknown => "?",
        Status::NotApplicable => "–",
    }
}

pub fn screening(
    catalogue: &Catalogue,
    loaded: &Loaded,
    results: &[ProgrammeResult],
    as_of: cellpath_domain::Date,
    lang: Lang,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}",
        t(
            lang,
            &format!("cellpath pre-screen as of {as_of}"),
            &format!("cellpath 预筛查（截至 {as_of}）")
        )
    );
    let _ = writeln!(s, "{}\n", t(lang, DISCLAIMER.0, DISCLAIMER.1));
    if let Some(report) = &loaded.fhir {
        let _ = writeln!(
            s,
            "{}\n",
            t(
                lang,
                &format!(
                    "Imported from FHIR: {} resources used, {} flagged, {} skipped (see `cellpath case import FILE --report`).",
                    report.count(Outcome::Used),
                    report.count(Outcome::Flagged),
                    report.count(Outcome::Skipped)
                ),
                &format!(
                    "从 FHIR 导入：采用 {} 项资源，标记 {} 项，跳过 {} 项（详见 `cellpath case import FILE --report`）。",
                    report.count(Outcome::Used),
                    report.count(Outcome::Flagged),
                    report.count(Outcome::Skipped)
                )
            )
        );
    }
    s.push_str(&case_summary(&loaded.case, lang));
    s.push('\n');
    for r in results {
        let Some(p) = catalogue.get(&r.programme) else {
            continue;
        };
        let _ = writeln!(s, "━━ {} — {}", p.id, p.name.get(lang));
        let status = p.status();
        let _ = writeln!(
            s,
            "   {} · {} {} {}",
            p.kind.label().get(lang),
            status.value.label().get(lang),
            t(lang, "as of", "截至"),
            status.as_of
        );
        let _ = writeln!(
            s,
            "   {}: {}",
            t(lang, "Verdict", "结论"),
            cellpath_eligibility::eval::verdict_text(r, lang)
        );
        for c in &r.criteria {
            let label = if c.kind == ResultKind::ClinicianJudgement {
                t(lang, "judgement", "临床判断")
            } else {
                c.status.label().get(lang).to_owned()
            };
            let _ = writeln!(
                s,
                "   {} [{label}] {} ({})",
                mark(c.status, c.kind),
                c.text.get(lang),
                c.id
            );
            let _ = writeln!(s, "       {}", c.explanation.get(lang));
            for fact in &c.recorded {
                let _ = writeln!(
                    s,
                    "       {}: {}",
                    t(lang, "Recorded", "已记录"),
                    fact.get(lang)
                );
            }
            for e in &c.evidence {
                let _ = writeln!(s, "       · {}", e.get(lang));
            }
            if let Some(req) = &c.request {
                let _ = writeln!(
                    s,
                    "       → {}: {}",
                    t(lang, "Request", "需补充"),
                    req.get(lang)
                );
            }
            if !c.source.is_empty() {
                let _ = writeln!(s, "       {}: {}", t(lang, "Source", "来源"), c.source);
            }
        }
        let blocking: Vec<&str> = r.blocking().map(|c| c.id.as_str()).collect();
        if !blocking.is_empty() {
            let _ = writeln!(
                s,
                "   {}: {}",
                t(lang, "Blocking", "不符合项"),
                blocking.join(", ")
            );
        }
        let requests: Vec<&Bi> = r.unknowns().filter_map(|c| c.request.as_ref()).collect();
        if !requests.is_empty() {
            let _ = writeln!(
                s,
                "   {}:",
                t(
                    lang,
                    "To settle the unknowns, request",
                    "为明确未知项，请提供"
                )
            );
            for q in requests {
                let _ = writeln!(s, "     - {}", q.get(lang));
            }
        }
        s.push('\n');
    }
    let _ = writeln!(s, "{}", t(lang, DISCLAIMER.0, DISCLAIMER.1));
    s
}

/// A few lines saying what the case holds (no names: none are needed), in a language.
pub fn case_summary(case: &Case, lang: Lang) -> String {
    let zh = lang == Lang::ZhCn;
    let mut s = String::new();
    if case.patient.deceased {
        let when = case
            .patient
            .deceased_date
            .map(|d| d.to_string())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{}",
            match (zh, when.is_empty()) {
                (false, true) => "THE RECORD SAYS THE PATIENT HAS DIED — no programme can be eligible; correct the record if this is wrong.".to_owned(),
                (false, false) => format!("THE RECORD SAYS THE PATIENT DIED ON {when} — no programme can be eligible; correct the record if this is wrong."),
                (true, true) => "记录显示患者已去世——任何项目均不可能符合条件；如有错误，请更正记录。".to_owned(),
                (true, false) => format!("记录显示患者已于 {when} 去世——任何项目均不可能符合条件；如有错误，请更正记录。"),
            }
        );
    }
    let p = case.primary.as_ref();
    let unknown = t(lang, "unknown", "未知");
    let label = case
        .label
        .as_deref()
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    let born = case
        .patient
        .birth_date
        .map_or_else(|| unknown.clone(), |d| d.to_string());
    let site = p.and_then(|p| p.site).map_or_else(
        || unknown.clone(),
        |x| if zh { x.name_zh() } else { x.name() }.to_owned(),
    );
    let histology = p.and_then(|p| p.histology).map_or_else(
        || t(lang, "histology unknown", "组织学类型未知"),
        |h| if zh { h.name_zh() } else { h.name() }.to_owned(),
    );
    let stage = p
        .and_then(|p| p.stage.clone())
        .unwrap_or_else(|| unknown.clone());
    let mets = case
        .metastases
        .as_ref()
        .map_or_else(|| unknown.clone(), |m| m.len().to_string());
    let _ = if zh {
        writeln!(
            s,
            "病例{label}：出生 {born}，原发 {site} / {histology}，分期 {stage}，转移部位 {mets} 处"
        )
    } else {
        writeln!(
            s,
            "Case{label}: born {born}, primary {site} / {histology}, stage {stage}, {mets} metastasis site(s)"
        )
    };
    if let Some(status) = p.and_then(|p| p.status)
        && status != cellpath_domain::CancerStatus::Active
    {
        let _ = writeln!(
            s,
            "  {}{}",
            t(lang, "status: ", "状态："),
            if zh { status.name_zh() } else { status.name() }
        );
    }
    for th in case.therapies.iter().flatten() {
        if let Some(other) = &th.other_cancer {
            let _ = writeln!(
                s,
                "  {}",
                if zh {
                    format!(
                        "用于另一种癌症（{other}）的治疗，不计入本癌症的治疗线：{}，{}",
                        th.drug, th.start
                    )
                } else {
                    format!(
                        "for another cancer ({other}), not a line of this cancer: {} from {}",
                        th.drug, th.start
                    )
                }
            );
        }
    }
    let _ = if zh {
        writeln!(
            s,
            "  生物标志物：CLDN18.2 {} 份，HER2 {} 份，PD-L1 {} 份，MSI {} 份；ECOG {} 份；实验室检查 {} 项",
            case.cldn18.len(),
            case.her2.len(),
            case.pdl1.len(),
            case.msi.len(),
            case.ecog.len(),
            case.labs.len()
        )
    } else {
        writeln!(
            s,
            "  biomarkers: {} CLDN18.2, {} HER2, {} PD-L1, {} MSI; {} ECOG; {} lab result(s)",
            case.cldn18.len(),
            case.her2.len(),
            case.pdl1.len(),
            case.msi.len(),
            case.ecog.len(),
            case.labs.len()
        )
    };
    match lines_of_therapy(case) {
        None => {
            let _ = writeln!(
                s,
                "  {}",
                t(lang, "treatment history: not recorded", "治疗史：未记录")
            );
        }
        Some(lot) => {
            let how = if lot.derived {
                t(lang, "derived — confirm", "推导所得——请确认")
            } else {
                t(lang, "confirmed", "已确认")
            };
            let (fewest, most) = lot.count_range();
            let count = if fewest == most {
                fewest.to_string()
            } else {
                format!("{fewest}–{most}")
            };
            let _ = writeln!(
                s,
                "  {} ({how}): {count}",
                t(lang, "lines of therapy", "治疗线数"),
            );
            for why in lot.uncertainty() {
                let _ = writeln!(s, "    {}", if zh { &why.zh } else { &why.en });
            }
            for l in &lot.lines {
                let number = l.number.map_or_else(
                    || t(lang, "not counted:", "不计线数："),
                    |n| format!("{n}."),
                );
                let end = l
                    .end
                    .map_or_else(|| t(lang, "ongoing", "进行中"), |d| d.to_string());
                let notes: Vec<&str> = l.notes.iter().map(|n| n.get(lang)).collect();
                let _ = writeln!(
                    s,
                    "    {number} {} ({} – {end}, {}){}",
                    l.drugs.join(" + "),
                    l.start.map_or_else(|| "?".to_owned(), |d| d.to_string()),
                    l.outcome.label().get(lang),
                    if notes.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", notes.join(if zh { "；" } else { "; " }))
                    }
                );
            }
        }
    }
    s
}

pub fn import_report(report: &ImportReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Import report: {} used, {} flagged, {} skipped",
        report.count(Outcome::Used),
        report.count(Outcome::Flagged),
        report.count(Outcome::Skipped)
    );
    for r in &report.resources {
        let _ = writeln!(
            s,
            "  {:8} {:24} {} — {}",
            format!("{:?}", r.outcome).to_lowercase(),
            r.resource_type,
            r.full_url.as_deref().unwrap_or(if r.pointer.is_empty() {
                "/"
            } else {
                &r.pointer
            }),
            r.detail.join("; ")
        );
    }
    for n in &report.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}

pub fn programme_list(catalogue: &Catalogue, lang: Lang) -> String {
    let mut s = String::new();
    for p in catalogue.programmes() {
        let kind = match p.kind {
            ProgrammeKind::ApprovedLabel => "label",
            ProgrammeKind::Trial => "trial",
            ProgrammeKind::ExpandedAccess => "expanded-access",
        };
        let _ = writeln!(
            s,
            "{:20} {:16} {:10} {:11} {}",
            p.id,
            kind,
            format!("{:?}", p.status().value).to_lowercase(),
            p.status().as_of.to_string(),
            p.name.get(lang)
        );
    }
    let _ = writeln!(
        s,
        "({} programmes, catalogue version {})",
        catalogue.programmes().len(),
        catalogue.version()
    );
    s
}

pub fn programme(p: &Programme, lang: Lang) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} — {}", p.id, p.name.get(lang));
    let _ = writeln!(
        s,
        "{} · {} · {}",
        p.kind.label().get(lang),
        p.sponsor,
        p.regions.join(", ")
    );
    if !p.registry_ids.is_empty() {
        let _ = writeln!(
            s,
            "{}: {}",
            t(lang, "Registry", "注册号"),
            p.registry_ids.join(", ")
        );
    }
    let st = p.status();
    let _ = writeln!(
        s,
        "{}: {} ({} {}; {})",
        t(lang, "Status", "状态"),
        st.value.label().get(lang),
        t(lang, "as of", "截至"),
        st.as_of,
        st.source
    );
    if let Some(n) = &st.note {
        let _ = writeln!(s, "  {}", n.get(lang));
    }
    if let Some(sum) = &p.summary {
        let _ = writeln!(s, "\n{}", sum.get(lang));
    }
    let _ = writeln!(s, "\n{}:", t(lang, "Criteria", "标准"));
    for c in p.criteria() {
        let kind = if c.judgement {
            t(lang, "clinician judgement", "临床判断")
        } else {
            format!("{:?}", c.kind).to_lowercase()
        };
        let _ = writeln!(s, "  [{kind}] {} ({})", c.text.get(lang), c.id);
        match &c.rule {
            Some(r) => {
                let _ = writeln!(s, "      rule: {r}");
            }
            None => {
                let _ = writeln!(
                    s,
                    "      {}",
                    t(
                        lang,
                        "no rule: listed for the MDT, never decides the verdict",
                        "无规则：列出供 MDT 判断，不影响结论"
                    )
                );
            }
        }
        if let Some(w) = &c.applies_when {
            let _ = writeln!(s, "      applies when: {w}");
        }
        if let Some(n) = &c.note {
            let _ = writeln!(s, "      {}: {}", t(lang, "note", "注"), n.get(lang));
        }
        let _ = writeln!(
            s,
            "      {}: {}",
            t(lang, "if unknown, request", "未知时需提供"),
            c.request.get(lang)
        );
        let _ = writeln!(s, "      {}: {}", t(lang, "source", "来源"), c.source);
    }
    let _ = writeln!(s, "\n{}:", t(lang, "Sources", "资料来源"));
    for src in &p.sources {
        let _ = writeln!(
            s,
            "  {} — {} ({}) {}",
            src.id,
            src.title,
            src.date.map_or_else(
                || t(lang, "date not shown", "未注明日期"),
                |d| d.to_string()
            ),
            src.url
        );
    }
    s
}

pub fn plan(
    template: &cellpath_care::journey::Template,
    plan: &cellpath_care::journey::Plan,
    lang: Lang,
) -> String {
    use cellpath_care::journey::StepState;
    let mut s = String::new();
    let _ = writeln!(s, "{} — {}", template.name.get(lang), plan.case);
    let _ = writeln!(
        s,
        "{}\n",
        t(
            lang,
            "Planning aid, not medical advice: the treating centre confirms every date.",
            "仅供计划参考，非医疗建议：所有日期以治疗中心确认为准。"
        )
    );
    for (step, p) in template.steps.iter().zip(&plan.steps) {
        let when = match p.window {
            None => t(lang, "date not yet known", "日期待定"),
            Some(w) => {
                let start = if w.start.0 == w.start.1 {
                    w.start.0.to_string()
                } else {
                    format!("{} … {}", w.start.0, w.start.1)
                };
                match w.end {
                    Some(e) if e.0 == e.1 => format!("{start} → {}", e.0),
                    Some(e) => format!("{start} → {} … {}", e.0, e.1),
                    None => format!("{start} → ?"),
                }
            }
        };
        let state = match p.state {
            StepState::Planned => t(lang, "planned", "计划"),
            StepState::Actual => t(lang, "actual", "实际"),
            StepState::NeedsDate => t(lang, "needs a duration or date", "需设定时长或日期"),
        };
        let day = p.day.map(|d| format!(" (day {d:+})")).unwrap_or_default();
        let _ = writeln!(s, "■ {} [{state}]{day}", step.name.get(lang));
        let _ = writeln!(s, "    {when}");
        if let Some(d) = p.duration {
            let _ = writeln!(
                s,
                "    {}: {d} — {}",
                t(lang, "duration", "时长"),
                p.basis.get(lang)
            );
        } else {
            let _ = writeln!(s, "    {}", p.basis.get(lang));
        }
        if let Some(n) = &step.note {
            let _ = writeln!(s, "    {}", n.get(lang));
        }
        for task in &step.tasks {
            let _ = writeln!(s, "    ☐ {}", task.get(lang));
        }
        for b in &step.bring {
            let _ = writeln!(s, "    {} {}", t(lang, "bring:", "携带："), b.get(lang));
        }
        if let Some(c) = &step.contact {
            let _ = writeln!(s, "    {} {}", t(lang, "call:", "联系："), c.get(lang));
        }
    }
    if plan.conflicts.is_empty() {
        let _ = writeln!(s, "\n{}", t(lang, "No conflicts found.", "未发现冲突。"));
    } else {
        let _ = writeln!(s, "\n{}:", t(lang, "Conflicts", "冲突"));
        for c in &plan.conflicts {
            let _ = writeln!(s, "  ⚠ [{}] {}", c.step, c.message.get(lang));
        }
    }
    s
}
