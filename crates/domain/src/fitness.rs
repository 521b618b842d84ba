//! Facts a CAR-T centre weighs for fitness that are not laboratory values: infection
//! serology (hepatitis B and C, HIV), pregnancy status and the heart's ejection fraction.
//! They are recorded as written by the report and shown beside the fitness judgement; no rule
//! decides on them, because the label's thresholds are not public (shared/clinical/facts.md
//! §1.4: "do NOT substitute thresholds from other trials").

use serde::{Deserialize, Serialize};

use crate::{Bi, Date, Percent, Source};

/// A serology or viral-load test for a chronic infection that matters before
/// lymphodepletion and CAR-T.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InfectionMarker {
    /// Hepatitis B surface antigen.
    Hbsag,
    /// Antibody to hepatitis B core antigen.
    AntiHbc,
    /// Hepatitis B virus DNA.
    HbvDna,
    /// Antibody to hepatitis C virus.
    AntiHcv,
    /// Hepatitis C virus RNA.
    HcvRna,
    /// HIV-1/2 antibody or antigen/antibody test.
    Hiv,
}

impl InfectionMarker {
    pub const ALL: [Self; 6] = [
        Self::Hbsag,
        Self::AntiHbc,
        Self::HbvDna,
        Self::AntiHcv,
        Self::HcvRna,
        Self::Hiv,
    ];

    pub fn label(self) -> Bi {
        match self {
            Self::Hbsag => Bi::new("HBsAg", "乙肝表面抗原（HBsAg）"),
            Self::AntiHbc => Bi::new("anti-HBc", "乙肝核心抗体（抗-HBc）"),
            Self::HbvDna => Bi::new("HBV DNA", "乙肝病毒 DNA"),
            Self::AntiHcv => Bi::new("anti-HCV", "丙肝抗体（抗-HCV）"),
            Self::HcvRna => Bi::new("HCV RNA", "丙肝病毒 RNA"),
            Self::Hiv => Bi::new("HIV test", "HIV 检测"),
        }
    }
}

/// A qualitative result as the report states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Detection {
    Positive,
    Negative,
}

impl Detection {
    pub fn label(self) -> Bi {
        match self {
            Self::Positive => Bi::new("positive / detected", "阳性 / 检出"),
            Self::Negative => Bi::new("negative / not detected", "阴性 / 未检出"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InfectionResult {
    pub marker: InfectionMarker,
    pub result: Detection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

/// Pregnancy status: lymphodepleting chemotherapy must not be given in pregnancy, so the
/// centre verifies it in anyone who could be pregnant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PregnancyStatus {
    /// A pregnancy test was negative.
    NotPregnant,
    Pregnant,
    /// Cannot become pregnant (for example after menopause or hysterectomy), as recorded.
    NotOfChildbearingPotential,
}

impl PregnancyStatus {
    pub fn label(self) -> Bi {
        match self {
            Self::NotPregnant => Bi::new("pregnancy test negative", "妊娠试验阴性"),
            Self::Pregnant => Bi::new("pregnant", "妊娠"),
            Self::NotOfChildbearingPotential => {
                Bi::new("not of childbearing potential", "无生育可能")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PregnancyResult {
    pub status: PregnancyStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

/// Left-ventricular ejection fraction, by echocardiography or another method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LvefResult {
    pub percent: Percent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Source,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_from_the_record_format() {
        let r: InfectionResult =
            serde_json::from_str(r#"{"marker":"hbsag","result":"negative","date":"2026-01-05"}"#)
                .expect("infection");
        assert_eq!(r.marker, InfectionMarker::Hbsag);
        let p: PregnancyResult =
            serde_json::from_str(r#"{"status":"not-pregnant"}"#).expect("pregnancy");
        assert_eq!(p.status, PregnancyStatus::NotPregnant);
        assert!(serde_json::from_str::<LvefResult>(r#"{"percent":140}"#).is_err());
        assert!(
            serde_json::from_str::<InfectionResult>(r#"{"marker":"hbv","result":"negative"}"#)
                .is_err()
        );
    }
}
