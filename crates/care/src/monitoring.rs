//! Post-infusion monitoring: each entry by the treating team is graded on entry, and an
//! alert is raised to the case's team when any CRS or ICANS is present or a grade rises,
//! naming the rule that fired. The server stores entries and delivers alerts; the rules are
//! here.

use serde::{Deserialize, Serialize};

use crate::{CrsInput, Grading, IcansInput, grade_crs, grade_icans};

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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub rule: AlertRule,
    pub message: String,
}

/// Grades an entry and decides the alerts, given the grades of the previous entry.
pub fn assess(entry: &Entry, previous: Option<&Grades>) -> (Grades, Vec<Alert>) {
    let grades = Grades {
        crs: grade_crs(&entry.crs),
        icans: grade_icans(&entry.icans),
    };
    let mut alerts = Vec::new();
    let before = |f: fn(&Grades) -> u8| previous.map_or(0, f);
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
            alerts.push(Alert {
                rule: rising,
                message: format!("{name} rose from grade {was} to grade {now}"),
            });
        } else if now > 0 {
            alerts.push(Alert {
                rule: present,
                message: format!("{name} grade {now}"),
            });
        }
    }
    (grades, alerts)
}
