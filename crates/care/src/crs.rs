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

use crate::Grading;

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

fn hypotension_grade(i: &CrsInput, reasons: &mut Vec<String>) -> u8 {
    let (grade, why) = match (i.hypotension, i.vasopressors, i.vasopressin) {
        (_, n, _) if n >= 2 => (
            4,
            format!("hypotension requiring {n} vasopressors (vasopressin not counted) → 4"),
        ),
        (_, 1, v) => (
            3,
            format!(
                "hypotension requiring one vasopressor{} → 3",
                if v { " with vasopressin" } else { "" }
            ),
        ),
        (_, 0, true) => (3, "hypotension requiring vasopressin alone → 3".to_owned()),
        (true, _, _) => (2, "hypotension not requiring vasopressors → 2".to_owned()),
        (false, _, _) => (0, "no hypotension".to_owned()),
    };
    reasons.push(why);
    grade
}

fn hypoxia_grade(o: &Oxygen, reasons: &mut Vec<String>) -> u8 {
    use OxygenDevice::*;
    let flow = o
        .flow_l_min
        .map(|f| format!(" at {f} L/min"))
        .unwrap_or_default();
    let (grade, why) = match o.device {
        None => (0, "no supplemental oxygen".to_owned()),
        BlowBy => (2, "blow-by oxygen → 2".to_owned()),
        LowFlowNasalCannula if o.flow_l_min.is_some_and(|f| f > LOW_FLOW_MAX_L_MIN) => (
            3,
            format!("nasal cannula{flow}, above {LOW_FLOW_MAX_L_MIN} L/min: high flow → 3"),
        ),
        LowFlowNasalCannula => (2, format!("low-flow nasal cannula{flow} (≤ 6 L/min) → 2")),
        HighFlowNasalCannula if o.flow_l_min.is_some_and(|f| f <= LOW_FLOW_MAX_L_MIN) => (
            2,
            format!(
                "nasal cannula{flow}: at ≤ {LOW_FLOW_MAX_L_MIN} L/min the flow makes it low flow → 2"
            ),
        ),
        HighFlowNasalCannula => (3, format!("high-flow nasal cannula{flow} → 3")),
        Facemask => (3, format!("facemask{flow} → 3")),
        NonRebreather => (3, format!("non-rebreather mask{flow} → 3")),
        Venturi => (3, format!("Venturi mask{flow} → 3")),
        Cpap => (4, "positive pressure (CPAP) → 4".to_owned()),
        Bipap => (4, "positive pressure (BiPAP) → 4".to_owned()),
        MechanicalVentilation => (4, "intubation and mechanical ventilation → 4".to_owned()),
    };
    reasons.push(why);
    grade
}

/// Grades CRS by the ASTCT 2019 consensus.
pub fn grade_crs(i: &CrsInput) -> Grading {
    let mut reasons = Vec::new();
    let fever = i.temperature_c >= FEVER_C;
    let masked = !fever && i.antipyretics_or_anticytokine_given && i.crs_already_present;
    let signs = i.hypotension
        || i.vasopressors > 0
        || i.vasopressin
        || i.oxygen.device != OxygenDevice::None;
    if fever {
        reasons.push(format!("fever: {} °C ≥ {FEVER_C:.1} °C", i.temperature_c));
    } else if masked {
        reasons.push(format!(
            "{} °C, but CRS was already present and antipyretic or anti-cytokine therapy was \
             given since: fever is no longer required, the grade follows hypotension and hypoxia",
            i.temperature_c
        ));
    } else {
        reasons.push(if i.antipyretics_or_anticytokine_given {
            format!(
                "no fever ({} °C < {FEVER_C:.1} °C); antipyretic or anti-cytokine therapy was \
                 given but no CRS was present before it, so fever is still required: not CRS by \
                 the ASTCT definition (a masked fever is possible: reassess)",
                i.temperature_c
            )
        } else {
            format!(
                "no fever ({} °C < {FEVER_C:.1} °C): not CRS by the ASTCT definition",
                i.temperature_c
            )
        });
        if signs {
            reasons.push(
                "not graded as CRS, but hypotension, vasopressors or oxygen need is present: \
                 reassess now"
                    .into(),
            );
        }
        return Grading::new(0, reasons);
    }
    let hyp = hypotension_grade(i, &mut reasons);
    let o2 = hypoxia_grade(&i.oxygen, &mut reasons);
    let grade = hyp.max(o2).max(1);
    reasons.push(match (hyp, o2, fever) {
        (0, 0, true) => "fever without hypotension or hypoxia: grade 1".to_owned(),
        (0, 0, false) => {
            "CRS continuing under antipyretic or anti-cytokine therapy, without hypotension or \
             hypoxia: grade 1"
                .to_owned()
        }
        _ => format!("grade {grade}: the more severe of hypotension ({hyp}) and hypoxia ({o2})"),
    });
    Grading::new(grade, reasons)
}
