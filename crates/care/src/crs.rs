//! ASTCT 2019 CRS grading.
//!
//! Fever (≥ 38.0 °C) is required. Only in a patient who already has CRS and then receives
//! antipyretics or anti-cytokine therapy is fever no longer required: the grade is then
//! driven by hypotension and hypoxia. Antipyretics alone (for example premedication at
//! infusion) never make CRS. Hypotension: without
//! vasopressors 2, one vasopressor (with or without vasopressin) 3, several vasopressors
//! (vasopressin not counted) 4. Hypoxia: low-flow nasal cannula ≤ 6 L/min or blow-by 2;
//! high-flow (a low-flow cannula above 6 L/min counts as high flow), facemask,
//! non-rebreather or Venturi 3; positive pressure (CPAP, BiPAP, mechanical ventilation) 4.
//! The grade is the more severe of the two, and at least 1.

use serde::Deserialize;

use crate::{Grading, Reasons};

/// The fever threshold, °C.
pub const FEVER_C: f64 = 38.0;
/// Above this flow a low-flow nasal cannula counts as high flow, L/min.
pub const LOW_FLOW_MAX_L_MIN: f64 = 6.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OxygenDevice {
    None,
    BlowBy,
    LowFlowNasalCannula,
    HighFlowNasalCannula,
    Facemask,
    NonRebreather,
    Venturi,
    Cpap,
    Bipap,
    MechanicalVentilation,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oxygen {
    pub device: OxygenDevice,
    #[serde(default, deserialize_with = "flow")]
    pub flow_l_min: Option<f64>,
}

/// The input of `cellpath grade crs`, exactly as documented.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrsInput {
    #[serde(deserialize_with = "temperature")]
    pub temperature_c: f64,
    pub antipyretics_or_anticytokine_given: bool,
    /// CRS was already present before this observation (the server reads it from the
    /// monitoring history). Only then does antipyretic or anti-cytokine therapy lift the
    /// fever requirement.
    #[serde(default)]
    pub crs_already_present: bool,
    pub hypotension: bool,
    /// Vasopressors other than vasopressin.
    #[serde(deserialize_with = "vasopressors")]
    pub vasopressors: u8,
    #[serde(default)]
    pub vasopressin: bool,
    pub oxygen: Oxygen,
}

fn temperature<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let t = f64::deserialize(d)?;
    if (25.0..=45.0).contains(&t) {
        Ok(t)
    } else {
        Err(serde::de::Error::custom(format!(
            "{t} °C is not a plausible body temperature (25–45 °C)"
        )))
    }
}

fn vasopressors<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let n = i64::deserialize(d)?;
    u8::try_from(n).ok().filter(|n| *n <= 10).ok_or_else(|| {
        serde::de::Error::custom(format!("{n} is not a count of vasopressors (0–10)"))
    })
}

fn flow<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(f) if !(0.0..=80.0).contains(&f) => Err(serde::de::Error::custom(format!(
            "{f} L/min is not a plausible oxygen flow (0–80)"
        ))),
        other => Ok(other),
    }
}

fn hypotension_grade(i: &CrsInput, r: &mut Reasons) -> u8 {
    let (grade, en, zh) = match (i.hypotension, i.vasopressors, i.vasopressin) {
        (_, n, _) if n >= 2 => (
            4,
            format!("hypotension requiring {n} vasopressors (vasopressin not counted) → 4"),
            format!("低血压需 {n} 种血管活性药物（不计血管加压素）→ 4"),
        ),
        (_, 1, v) => (
            3,
            format!(
                "hypotension requiring one vasopressor{} → 3",
                if v { " with vasopressin" } else { "" }
            ),
            format!(
                "低血压需 1 种血管活性药物{} → 3",
                if v { "（另加血管加压素）" } else { "" }
            ),
        ),
        (_, 0, true) => (
            3,
            "hypotension requiring vasopressin alone → 3".to_owned(),
            "低血压仅需血管加压素 → 3".to_owned(),
        ),
        (true, _, _) => (
            2,
            "hypotension not requiring vasopressors → 2".to_owned(),
            "低血压，无需血管活性药物 → 2".to_owned(),
        ),
        (false, _, _) => (0, "no hypotension".to_owned(), "无低血压".to_owned()),
    };
    r.push(en, zh);
    grade
}

fn hypoxia_grade(o: &Oxygen, r: &mut Reasons) -> u8 {
    use OxygenDevice::*;
    let flow = o
        .flow_l_min
        .map(|f| format!(" at {f} L/min"))
        .unwrap_or_default();
    let flow_zh = o
        .flow_l_min
        .map(|f| format!("（{f} L/min）"))
        .unwrap_or_default();
    let (grade, en, zh) = match o.device {
        None => (0, "no supplemental oxygen".to_owned(), "未吸氧".to_owned()),
        BlowBy => (
            2,
            "blow-by oxygen → 2".to_owned(),
            "吹氧（blow-by）→ 2".to_owned(),
        ),
        LowFlowNasalCannula if o.flow_l_min.is_some_and(|f| f > LOW_FLOW_MAX_L_MIN) => (
            3,
            format!("nasal cannula{flow}, above {LOW_FLOW_MAX_L_MIN} L/min: high flow → 3"),
            format!("鼻导管{flow_zh}，超过 {LOW_FLOW_MAX_L_MIN} L/min：按高流量 → 3"),
        ),
        LowFlowNasalCannula => (
            2,
            format!("low-flow nasal cannula{flow} (≤ 6 L/min) → 2"),
            format!("低流量鼻导管{flow_zh}（≤ 6 L/min）→ 2"),
        ),
        HighFlowNasalCannula if o.flow_l_min.is_some_and(|f| f <= LOW_FLOW_MAX_L_MIN) => (
            2,
            format!(
                "nasal cannula{flow}: at ≤ {LOW_FLOW_MAX_L_MIN} L/min the flow makes it low flow → 2"
            ),
            format!("鼻导管{flow_zh}：流量 ≤ {LOW_FLOW_MAX_L_MIN} L/min，按低流量 → 2"),
        ),
        HighFlowNasalCannula => (
            3,
            format!("high-flow nasal cannula{flow} → 3"),
            format!("高流量鼻导管{flow_zh} → 3"),
        ),
        Facemask => (
            3,
            format!("facemask{flow} → 3"),
            format!("面罩{flow_zh} → 3"),
        ),
        NonRebreather => (
            3,
            format!("non-rebreather mask{flow} → 3"),
            format!("非重复呼吸面罩{flow_zh} → 3"),
        ),
        Venturi => (
            3,
            format!("Venturi mask{flow} → 3"),
            format!("文丘里面罩{flow_zh} → 3"),
        ),
        Cpap => (
            4,
            "positive pressure (CPAP) → 4".to_owned(),
            "正压通气（CPAP）→ 4".to_owned(),
        ),
        Bipap => (
            4,
            "positive pressure (BiPAP) → 4".to_owned(),
            "正压通气（BiPAP）→ 4".to_owned(),
        ),
        MechanicalVentilation => (
            4,
            "intubation and mechanical ventilation → 4".to_owned(),
            "气管插管及机械通气 → 4".to_owned(),
        ),
    };
    r.push(en, zh);
    grade
}

/// Grades CRS by the ASTCT 2019 consensus.
pub fn grade_crs(i: &CrsInput) -> Grading {
    let mut reasons = Reasons::default();
    let fever = i.temperature_c >= FEVER_C;
    let masked = !fever && i.antipyretics_or_anticytokine_given && i.crs_already_present;
    let signs = i.hypotension
        || i.vasopressors > 0
        || i.vasopressin
        || i.oxygen.device != OxygenDevice::None;
    let t = i.temperature_c;
    if fever {
        reasons.push(
            format!("fever: {t} °C ≥ {FEVER_C:.1} °C"),
            format!("发热：{t} °C ≥ {FEVER_C:.1} °C"),
        );
    } else if masked {
        reasons.push(
            format!(
                "{t} °C, but CRS was already present and antipyretic or anti-cytokine therapy was \
                 given since: fever is no longer required, the grade follows hypotension and hypoxia"
            ),
            format!(
                "{t} °C，但此前已有 CRS，且其后使用了退热药或抗细胞因子治疗：不再要求发热，分级取决于低血压和低氧"
            ),
        );
    } else if i.antipyretics_or_anticytokine_given {
        reasons.push(
            format!(
                "no fever ({t} °C < {FEVER_C:.1} °C); antipyretic or anti-cytokine therapy was \
                 given but no CRS was present before it, so fever is still required: not CRS by \
                 the ASTCT definition (a masked fever is possible: reassess)"
            ),
            format!(
                "无发热（{t} °C < {FEVER_C:.1} °C）；虽使用了退热药或抗细胞因子治疗，但此前并无 CRS，仍要求发热：按 ASTCT 定义不属于 CRS（发热可能被掩盖：请重新评估）"
            ),
        );
    } else {
        reasons.push(
            format!("no fever ({t} °C < {FEVER_C:.1} °C): not CRS by the ASTCT definition"),
            format!("无发热（{t} °C < {FEVER_C:.1} °C）：按 ASTCT 定义不属于 CRS"),
        );
    }
    if !fever && !masked {
        if signs {
            reasons.push(
                "not graded as CRS, but hypotension, vasopressors or oxygen need is present: \
                 reassess now",
                "未按 CRS 分级，但存在低血压、使用血管活性药物或需吸氧：请立即重新评估",
            );
        }
        return Grading::new(0, reasons);
    }
    let hyp = hypotension_grade(i, &mut reasons);
    let o2 = hypoxia_grade(&i.oxygen, &mut reasons);
    let grade = hyp.max(o2).max(1);
    match (hyp, o2, fever) {
        (0, 0, true) => reasons.push(
            "fever without hypotension or hypoxia: grade 1",
            "发热，无低血压或低氧：1 级",
        ),
        (0, 0, false) => reasons.push(
            "CRS continuing under antipyretic or anti-cytokine therapy, without hypotension or \
             hypoxia: grade 1",
            "在退热药或抗细胞因子治疗下 CRS 持续，无低血压或低氧：1 级",
        ),
        _ => reasons.push(
            format!("grade {grade}: the more severe of hypotension ({hyp}) and hypoxia ({o2})"),
            format!("{grade} 级：取低血压（{hyp}）与低氧（{o2}）中较重者"),
        ),
    }
    Grading::new(grade, reasons)
}
