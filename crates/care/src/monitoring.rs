//! Post-infusion monitoring: each entry by the treating team is graded on entry, and an
//! alert is raised to the case's team when any CRS or ICANS is present or a grade rises,
//! naming the rule that fired. The server stores entries and delivers alerts; the rules are
//! here.

use serde::{Deserialize, Serialize};

use crate::icans::{CerebralEdema, MotorWeakness, Seizure};
use crate::{Consciousness, CrsInput, Grading, IcansInput, OxygenDevice, grade_crs, grade_icans};

/// One monitoring entry: the CRS and ICANS observations at one time, and the vital signs
/// the team recorded with them.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub crs: CrsInput,
    pub icans: IcansInput,
    #[serde(default)]
    pub vitals: Option<Vitals>,
}

/// Vital signs, each optional, each within a plausible range.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Vitals {
    #[serde(default, deserialize_with = "systolic")]
    pub systolic_bp_mmhg: Option<u16>,
    #[serde(default, deserialize_with = "heart_rate")]
    pub heart_rate_bpm: Option<u16>,
    #[serde(default, deserialize_with = "resp_rate")]
    pub respiratory_rate_min: Option<u16>,
    #[serde(default, deserialize_with = "spo2")]
    pub spo2_percent: Option<u16>,
}

fn ranged<'de, D: serde::Deserializer<'de>>(
    d: D,
    lo: u16,
    hi: u16,
    what: &str,
) -> Result<Option<u16>, D::Error> {
    match Option::<i64>::deserialize(d)? {
        None => Ok(None),
        Some(v) if (i64::from(lo)..=i64::from(hi)).contains(&v) => Ok(Some(v as u16)),
        Some(v) => Err(serde::de::Error::custom(format!(
            "{v} is not a plausible {what} ({lo}–{hi})"
        ))),
    }
}
fn systolic<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    ranged(d, 30, 300, "systolic pressure")
}
fn heart_rate<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    ranged(d, 20, 300, "heart rate")
}
fn resp_rate<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    ranged(d, 2, 80, "respiratory rate")
}
fn spo2<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    ranged(d, 40, 100, "oxygen saturation")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grades {
    pub crs: Grading,
    pub icans: Grading,
}

/// Why an alert fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertRule {
    /// CRS of any grade is present.
    CrsPresent,
    /// The CRS grade is higher than at the previous entry.
    CrsRising,
    /// ICANS of any grade is present.
    IcansPresent,
    /// The ICANS grade is higher than at the previous entry.
    IcansRising,
    /// Any vasopressor (or vasopressin), whatever the grade.
    Vasopressor,
    /// Hypotension, whatever the grade.
    Hypotension,
    /// Any supplemental oxygen, whatever the grade.
    Oxygen,
    /// More oxygen support than at the previous entry.
    OxygenEscalation,
    /// The ICE score fell since the previous entry.
    IceFall,
    /// The ICE could not be done in a patient who is not unarousable: ICANS is ungraded.
    IceNotAssessable,
    /// Consciousness is depressed.
    DepressedConsciousness,
    /// A seizure.
    Seizure,
    /// Motor weakness, cerebral oedema or signs of raised intracranial pressure.
    NeurologicalSign,
    /// Systolic pressure at or below the limit (`VitalLimits`).
    LowBloodPressure,
    /// Oxygen saturation at or below the limit.
    LowOxygenSaturation,
    /// Respiratory rate outside the limits.
    RespiratoryRate,
    /// Heart rate outside the limits.
    HeartRate,
    /// The vital signs contradict the CRS observations (a low systolic pressure with
    /// "hypotension" not ticked): the CRS grade may be too low.
    VitalsContradictCrs,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub rule: AlertRule,
    /// What fired, in English.
    pub message: String,
    /// The same in Simplified Chinese.
    pub message_zh: String,
}

impl Alert {
    /// The message in `lang`.
    pub fn text(&self, lang: cellpath_domain::text::Lang) -> &str {
        match lang {
            cellpath_domain::text::Lang::En => &self.message,
            cellpath_domain::text::Lang::ZhCn => &self.message_zh,
        }
    }
}

/// Vital signs that alert on their own, whatever the grades: the limits of a single
/// parameter scoring 3 in the National Early Warning Score 2 (Royal College of Physicians,
/// NEWS2, chart 1, December 2017) — the score's own trigger for an urgent clinical review.
/// A centre sets its own in the server's configuration (`docs/operations.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VitalLimits {
    /// Systolic pressure at or below this alerts (NEWS2: ≤ 90 mmHg).
    pub systolic_at_most: u16,
    /// Oxygen saturation at or below this alerts (NEWS2 scale 1: ≤ 91 %).
    pub spo2_at_most: u16,
    /// Respiratory rate at or above this alerts (NEWS2: ≥ 25 /min)…
    pub respiratory_rate_at_least: u16,
    /// …or at or below this (NEWS2: ≤ 8 /min).
    pub respiratory_rate_at_most: u16,
    /// Heart rate at or above this alerts (NEWS2: ≥ 131 /min)…
    pub heart_rate_at_least: u16,
    /// …or at or below this (NEWS2: ≤ 40 /min).
    pub heart_rate_at_most: u16,
}

/// Where the default limits come from, as every output cites them.
pub const VITAL_LIMITS_SOURCE: &str = "Royal College of Physicians, National Early Warning Score (NEWS) 2, chart 1 (December 2017): a single parameter scoring 3";

impl Default for VitalLimits {
    fn default() -> Self {
        Self {
            systolic_at_most: 90,
            spo2_at_most: 91,
            respiratory_rate_at_least: 25,
            respiratory_rate_at_most: 8,
            heart_rate_at_least: 131,
            heart_rate_at_most: 40,
        }
    }
}

/// An oxygen device in words, English and Chinese.
pub fn device_words(d: OxygenDevice) -> (&'static str, &'static str) {
    use OxygenDevice::*;
    match d {
        None => ("no supplemental oxygen", "未吸氧"),
        BlowBy => ("blow-by oxygen", "吹氧"),
        LowFlowNasalCannula => ("low-flow nasal cannula", "低流量鼻导管"),
        HighFlowNasalCannula => ("high-flow nasal cannula", "高流量鼻导管"),
        Facemask => ("facemask", "面罩"),
        NonRebreather => ("non-rebreather mask", "非重复呼吸面罩"),
        Venturi => ("Venturi mask", "文丘里面罩"),
        Cpap => ("CPAP", "CPAP"),
        Bipap => ("BiPAP", "BiPAP"),
        MechanicalVentilation => ("mechanical ventilation", "机械通气"),
    }
}

/// How much support oxygen gives, by the ASTCT CRS tiers: low flow (≤ 6 L/min, blow-by) is
/// grade 2's, high flow, facemask, non-rebreather and Venturi grade 3's, positive pressure and
/// ventilation grade 4's. A low-flow cannula above 6 L/min counts as high flow.
fn oxygen_tier(o: &crate::crs::Oxygen) -> u8 {
    use OxygenDevice::*;
    match o.device {
        None => 0,
        LowFlowNasalCannula
            if o.flow_l_min
                .is_some_and(|f| f > crate::crs::LOW_FLOW_MAX_L_MIN) =>
        {
            3
        }
        BlowBy | LowFlowNasalCannula => 2,
        HighFlowNasalCannula | Facemask | NonRebreather | Venturi => 3,
        Cpap | Bipap | MechanicalVentilation => 4,
    }
}

/// The oxygen as recorded, in words: the device, and the flow only when it was recorded.
fn oxygen_words(o: &crate::crs::Oxygen) -> (String, String) {
    let (en, zh) = device_words(o.device);
    match o.flow_l_min {
        Some(f) => (format!("{en} {f} L/min"), format!("{zh} {f} L/min")),
        None => (en.to_owned(), zh.to_owned()),
    }
}

/// Grades an entry and decides the alerts, given the previous entry and whether CRS was
/// present at any earlier entry (which lifts the fever requirement once antipyretics or
/// anti-cytokine therapy are given). Danger signs alert whatever the grade: an alert is never
/// silent because a sign does not meet a grading definition.
pub fn assess(
    entry: &Entry,
    previous: Option<&Entry>,
    crs_seen_before: bool,
) -> (Grades, Vec<Alert>) {
    assess_with(entry, previous, crs_seen_before, &VitalLimits::default())
}

/// [`assess`] with the centre's limits for the vital signs.
pub fn assess_with(
    entry: &Entry,
    previous: Option<&Entry>,
    crs_seen_before: bool,
    limits: &VitalLimits,
) -> (Grades, Vec<Alert>) {
    let mut crs = entry.crs.clone();
    crs.crs_already_present |= crs_seen_before;
    let grades = Grades {
        crs: grade_crs(&crs),
        icans: grade_icans(&entry.icans),
    };
    let previous_grades = previous.map(|p| Grades {
        crs: grade_crs(&p.crs),
        icans: grade_icans(&p.icans),
    });
    let mut alerts = Vec::new();
    let mut alert = |rule, message: String, message_zh: String| {
        alerts.push(Alert {
            rule,
            message,
            message_zh,
        });
    };
    let before = |f: fn(&Grades) -> u8| previous_grades.as_ref().map_or(0, f);
    for (name, now, was, present, rising) in [
        (
            "CRS",
            grades.crs.grade,
            before(|g| g.crs.grade),
            AlertRule::CrsPresent,
            AlertRule::CrsRising,
        ),
        (
            "ICANS",
            grades.icans.grade,
            before(|g| g.icans.grade),
            AlertRule::IcansPresent,
            AlertRule::IcansRising,
        ),
    ] {
        if now > was && was > 0 {
            alert(
                rising,
                format!("{name} rose from grade {was} to grade {now}"),
                format!("{name} 由 {was} 级升至 {now} 级"),
            );
        } else if now > 0 {
            alert(
                present,
                format!("{name} grade {now}"),
                format!("{name} {now} 级"),
            );
        }
    }
    let (not_crs, not_crs_zh) = if grades.crs.grade == 0 {
        (
            " — not graded as CRS: reassess",
            "——未分级为 CRS：请重新评估",
        )
    } else {
        ("", "")
    };
    let c = &entry.crs;
    if c.vasopressors > 0 || c.vasopressin {
        let (what, what_zh) = match (c.vasopressors, c.vasopressin) {
            (0, _) => ("vasopressin".to_owned(), "血管加压素".to_owned()),
            (n, false) => (format!("{n} vasopressor(s)"), format!("{n} 种血管活性药物")),
            (n, true) => (
                format!("{n} vasopressor(s) with vasopressin"),
                format!("{n} 种血管活性药物另加血管加压素"),
            ),
        };
        alert(
            AlertRule::Vasopressor,
            format!("vasopressor support: {what}{not_crs}"),
            format!("血管活性药物支持：{what_zh}{not_crs_zh}"),
        );
    }
    if c.hypotension {
        alert(
            AlertRule::Hypotension,
            format!("hypotension{not_crs}"),
            format!("低血压{not_crs_zh}"),
        );
    }
    if c.oxygen.device != OxygenDevice::None {
        let (now_en, now_zh) = oxygen_words(&c.oxygen);
        // More support: a higher ASTCT tier, or the same tier at a higher recorded flow.
        let escalated = previous.map(|p| &p.crs.oxygen).filter(|was| {
            let (t_now, t_was) = (oxygen_tier(&c.oxygen), oxygen_tier(was));
            t_now > t_was
                || (t_now == t_was
                    && was.device != OxygenDevice::None
                    && matches!((c.oxygen.flow_l_min, was.flow_l_min), (Some(a), Some(b)) if a > b))
        });
        match escalated {
            Some(was) => {
                let (was_en, was_zh) = oxygen_words(was);
                alert(
                    AlertRule::OxygenEscalation,
                    format!("oxygen support escalated ({was_en} → {now_en}){not_crs}"),
                    format!("氧疗支持升级（{was_zh} → {now_zh}）{not_crs_zh}"),
                );
            }
            None => alert(
                AlertRule::Oxygen,
                format!("oxygen need ({now_en}){not_crs}"),
                format!("需要吸氧（{now_zh}）{not_crs_zh}"),
            ),
        }
    }
    if let Some(v) = &entry.vitals {
        if let Some(sbp) = v.systolic_bp_mmhg.filter(|s| *s <= limits.systolic_at_most) {
            alert(
                AlertRule::LowBloodPressure,
                format!(
                    "systolic pressure {sbp} mmHg (alert at ≤ {}){not_crs}",
                    limits.systolic_at_most
                ),
                format!(
                    "收缩压 {sbp} mmHg（≤ {} 即警报）{not_crs_zh}",
                    limits.systolic_at_most
                ),
            );
            if !c.hypotension {
                alert(
                    AlertRule::VitalsContradictCrs,
                    format!(
                        "systolic pressure {sbp} mmHg but hypotension is not recorded: the CRS grade may be too low — reassess"
                    ),
                    format!("收缩压 {sbp} mmHg，但未记录低血压：CRS 分级可能偏低——请重新评估"),
                );
            }
        }
        if let Some(sat) = v.spo2_percent.filter(|s| *s <= limits.spo2_at_most) {
            let (on, on_zh) = if c.oxygen.device == OxygenDevice::None {
                (" on air".to_owned(), "（未吸氧）".to_owned())
            } else {
                let (en, zh) = oxygen_words(&c.oxygen);
                (format!(" on {en}"), format!("（{zh}）"))
            };
            alert(
                AlertRule::LowOxygenSaturation,
                format!(
                    "oxygen saturation {sat} %{on} (alert at ≤ {} %){not_crs}",
                    limits.spo2_at_most
                ),
                format!(
                    "血氧饱和度 {sat} %{on_zh}（≤ {} % 即警报）{not_crs_zh}",
                    limits.spo2_at_most
                ),
            );
        }
        if let Some(rr) = v.respiratory_rate_min.filter(|r| {
            *r >= limits.respiratory_rate_at_least || *r <= limits.respiratory_rate_at_most
        }) {
            alert(
                AlertRule::RespiratoryRate,
                format!(
                    "respiratory rate {rr}/min (alert at ≥ {} or ≤ {})",
                    limits.respiratory_rate_at_least, limits.respiratory_rate_at_most
                ),
                format!(
                    "呼吸频率 {rr} 次/分（≥ {} 或 ≤ {} 即警报）",
                    limits.respiratory_rate_at_least, limits.respiratory_rate_at_most
                ),
            );
        }
        if let Some(hr) = v
            .heart_rate_bpm
            .filter(|h| *h >= limits.heart_rate_at_least || *h <= limits.heart_rate_at_most)
        {
            alert(
                AlertRule::HeartRate,
                format!(
                    "heart rate {hr}/min (alert at ≥ {} or ≤ {})",
                    limits.heart_rate_at_least, limits.heart_rate_at_most
                ),
                format!(
                    "心率 {hr} 次/分（≥ {} 或 ≤ {} 即警报）",
                    limits.heart_rate_at_least, limits.heart_rate_at_most
                ),
            );
        }
    }
    let i = &entry.icans;
    match (i.ice.score(), previous.and_then(|p| p.icans.ice.score())) {
        (Some(now), Some(was)) if now < was => alert(
            AlertRule::IceFall,
            format!("ICE score fell from {was} to {now}"),
            format!("ICE 评分由 {was} 降至 {now}"),
        ),
        (None, _) if i.consciousness != Consciousness::Unarousable => alert(
            AlertRule::IceNotAssessable,
            "ICE could not be done: ICANS cannot be graded without it — assess now".to_owned(),
            "无法完成 ICE 评估：没有 ICE 无法对 ICANS 分级——请立即评估".to_owned(),
        ),
        _ => {}
    }
    if i.consciousness != Consciousness::Normal {
        let (en, zh) = match i.consciousness {
            Consciousness::AwakensSpontaneously => ("awakens spontaneously", "可自行醒来"),
            Consciousness::AwakensToVoice => ("awakens only to voice", "仅对声音有反应而醒"),
            Consciousness::AwakensToTouch => ("awakens only to touch", "仅对触摸有反应而醒"),
            Consciousness::Unarousable | Consciousness::Normal => ("unarousable", "无法唤醒"),
        };
        alert(
            AlertRule::DepressedConsciousness,
            format!("depressed consciousness ({en})"),
            format!("意识水平下降（{zh}）"),
        );
    }
    if i.seizure != Seizure::None {
        let (en, zh) = match i.seizure {
            Seizure::RapidlyResolving => ("a seizure that resolved rapidly", "迅速缓解的癫痫发作"),
            Seizure::NonconvulsiveEegResolving => (
                "non-convulsive seizures on EEG that resolved with intervention",
                "脑电图示非惊厥性发作，经干预后缓解",
            ),
            Seizure::ProlongedOrRepetitive | Seizure::None => (
                "a prolonged (over 5 minutes) or repetitive seizure",
                "持续（超过 5 分钟）或反复的癫痫发作",
            ),
        };
        alert(
            AlertRule::Seizure,
            format!("seizure: {en}"),
            format!("癫痫发作：{zh}"),
        );
    }
    if i.motor_weakness != MotorWeakness::None
        || i.cerebral_edema != CerebralEdema::None
        || !i.pressure_signs.is_empty()
    {
        alert(
            AlertRule::NeurologicalSign,
            "motor weakness, cerebral oedema or signs of raised intracranial pressure".to_owned(),
            "运动无力、脑水肿或颅内压升高体征".to_owned(),
        );
    }
    (grades, alerts)
}
