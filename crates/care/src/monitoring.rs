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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub rule: AlertRule,
    pub message: String,
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
    let mut alert = |rule, message: String| alerts.push(Alert { rule, message });
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
            );
        } else if now > 0 {
            alert(present, format!("{name} grade {now}"));
        }
    }
    let not_crs = if grades.crs.grade == 0 {
        " — not graded as CRS: reassess"
    } else {
        ""
    };
    let c = &entry.crs;
    if c.vasopressors > 0 || c.vasopressin {
        let what = match (c.vasopressors, c.vasopressin) {
            (0, _) => "vasopressin".to_owned(),
            (n, false) => format!("{n} vasopressor(s)"),
            (n, true) => format!("{n} vasopressor(s) with vasopressin"),
        };
        alert(
            AlertRule::Vasopressor,
            format!("vasopressor support: {what}{not_crs}"),
        );
    }
    if c.hypotension {
        alert(AlertRule::Hypotension, format!("hypotension{not_crs}"));
    }
    if c.oxygen.device != OxygenDevice::None {
        let was = previous.map(|p| p.crs.oxygen.device);
        if was.is_some_and(|w| c.oxygen.device > w) {
            alert(
                AlertRule::OxygenEscalation,
                format!(
                    "oxygen support escalated ({:?} → {:?}){not_crs}",
                    was.unwrap_or(OxygenDevice::None),
                    c.oxygen.device
                ),
            );
        } else {
            alert(
                AlertRule::Oxygen,
                format!("oxygen need ({:?}){not_crs}", c.oxygen.device),
            );
        }
    }
    let i = &entry.icans;
    match (i.ice.score(), previous.and_then(|p| p.icans.ice.score())) {
        (Some(now), Some(was)) if now < was => alert(
            AlertRule::IceFall,
            format!("ICE score fell from {was} to {now}"),
        ),
        (None, _) if i.consciousness != Consciousness::Unarousable => alert(
            AlertRule::IceNotAssessable,
            "ICE could not be done: ICANS cannot be graded without it — assess now".to_owned(),
        ),
        _ => {}
    }
    if i.consciousness != Consciousness::Normal {
        alert(
            AlertRule::DepressedConsciousness,
            format!("depressed consciousness ({:?})", i.consciousness),
        );
    }
    if i.seizure != Seizure::None {
        alert(AlertRule::Seizure, format!("seizure ({:?})", i.seizure));
    }
    if i.motor_weakness != MotorWeakness::None
        || i.cerebral_edema != CerebralEdema::None
        || !i.pressure_signs.is_empty()
    {
        alert(
            AlertRule::NeurologicalSign,
            "motor weakness, cerebral oedema or signs of raised intracranial pressure".to_owned(),
        );
    }
    (grades, alerts)
}
