//! Clinical quantities as newtypes that refuse impossible values at the edge:
//! a percentage above 100, an IHC intensity of 4+, an ECOG of 7.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A percentage of tumour cells, 0–100 inclusive.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
pub struct Percent(f64);

impl Percent {
    pub fn new(value: f64) -> Result<Self, DomainError> {
        if value.is_finite() && (0.0..=100.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(DomainError::invalid(
                "percent",
                format!("{value} is not a percentage (0–100)"),
            ))
        }
    }
    pub fn value(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Percent {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Percent".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "number", "minimum": 0, "maximum": 100})
    }
}

/// Immunohistochemistry membranous staining intensity: 0, 1+, 2+ or 3+.
/// Also serves as the HER2 IHC score, which uses the same scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Intensity(u8);

impl Intensity {
    pub const ZERO: Self = Self(0);
    pub const ONE: Self = Self(1);
    pub const TWO: Self = Self(2);
    pub const THREE: Self = Self(3);
    pub const ALL: [Self; 4] = [Self::ZERO, Self::ONE, Self::TWO, Self::THREE];

    pub fn new(level: u8) -> Result<Self, DomainError> {
        if level <= 3 {
            Ok(Self(level))
        } else {
            Err(DomainError::invalid(
                "intensity",
                format!("{level}+ is not an IHC intensity (0, 1+, 2+, 3+)"),
            ))
        }
    }

    /// Accepts `0`, `1+`, `2+`, `3+`, bare digits, and the word forms used in reports.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let t = text.trim().to_ascii_lowercase();
        let level = match t.as_str() {
            "0" | "0+" | "negative" | "none" => 0,
            "1" | "1+" | "weak" => 1,
            "2" | "2+" | "moderate" => 2,
            "3" | "3+" | "strong" => 3,
            _ => {
                let digits = t.trim_end_matches('+');
                return match digits.parse::<u8>() {
                    Ok(n) => Self::new(n),
                    Err(_) => Err(DomainError::invalid(
                        "intensity",
                        format!("`{text}` is not an IHC intensity (0, 1+, 2+, 3+)"),
                    )),
                };
            }
        };
        Ok(Self(level))
    }

    pub fn level(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Intensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            f.write_str("0")
        } else {
            write!(f, "{}+", self.0)
        }
    }
}

impl Serialize for Intensity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Intensity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Level(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Level(n) => u8::try_from(n)
                .map_err(|_| DomainError::invalid("intensity", format!("{n} is not 0–3")))
                .and_then(Self::new),
            Raw::Text(t) => Self::parse(&t),
        }
        .map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Intensity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Intensity".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"oneOf": [
            {"type": "string", "enum": ["0", "1+", "2+", "3+"]},
            {"type": "integer", "minimum": 0, "maximum": 3}
        ]})
    }
}

/// ECOG performance status, 0 (fully active) to 5 (dead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Ecog(u8);

impl Ecog {
    pub fn new(score: i64) -> Result<Self, DomainError> {
        match u8::try_from(score) {
            Ok(s) if s <= 5 => Ok(Self(s)),
            _ => Err(DomainError::invalid(
                "ecog",
                format!("{score} is not an ECOG performance status (0–5)"),
            )),
        }
    }
    pub fn score(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Ecog {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Ecog {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ecog".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "minimum": 0, "maximum": 5})
    }
}

/// Laboratory tests the catalogue may name, each with its LOINC code.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum LabTest {
    Neutrophils,
    Platelets,
    Haemoglobin,
    Creatinine,
    Bilirubin,
    Alt,
    Ast,
    #[serde(rename = "ca19-9")]
    Ca199,
}

impl LabTest {
    pub const ALL: [Self; 8] = [
        Self::Neutrophils,
        Self::Platelets,
        Self::Haemoglobin,
        Self::Creatinine,
        Self::Bilirubin,
        Self::Alt,
        Self::Ast,
        Self::Ca199,
    ];

    pub fn loinc(self) -> &'static str {
        match self {
            Self::Neutrophils => "751-8",
            Self::Platelets => "777-3",
            Self::Haemoglobin => "718-7",
            Self::Creatinine => "2160-0",
            Self::Bilirubin => "1975-2",
            Self::Alt => "1742-6",
            Self::Ast => "1920-8",
            Self::Ca199 => "24108-3",
        }
    }

    /// The test a LOINC code measures: the main code above, or another common code for the
    /// same quantity (another specimen or method, or moles instead of mass).
    pub fn from_loinc(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.loinc() == code)
            .or(match code {
                // Neutrophils [#/volume] in Blood; … by Manual count
                "26499-4" | "753-3" => Some(Self::Neutrophils),
                // Platelets [#/volume] in Blood; … by Manual count
                "26515-7" | "778-1" => Some(Self::Platelets),
                // Hemoglobin [Mass/volume] in Blood by calculation; … in Venous blood
                "20509-6" | "30350-3" => Some(Self::Haemoglobin),
                // Creatinine [Mass/volume] in Blood; [Moles/volume] in Serum or Plasma
                "38483-4" | "14682-9" => Some(Self::Creatinine),
                // Bilirubin.total [Mass/volume] in Blood; [Moles/volume] in Serum or Plasma
                "42719-5" | "14631-6" => Some(Self::Bilirubin),
                // ALT with P-5'-P; ALT in Blood
                "1743-4" | "76625-3" => Some(Self::Alt),
                // AST with P-5'-P
                "30239-8" => Some(Self::Ast),
                _ => None,
            })
    }

    /// Converts a result of this test between units, including mass to moles where the
    /// test's molar mass makes that exact: creatinine 113.12 g/mol (1 mg/dL = 88.4 µmol/L),
    /// total bilirubin 584.66 g/mol (1 mg/dL = 17.1 µmol/L) — molar masses from PubChem
    /// (CID 588, CID 5280352).
    pub fn convert(self, value: f64, from: Unit, to: Unit) -> Option<f64> {
        let per_mg_dl = match self {
            Self::Creatinine => Some(10_000.0 / 113.12),
            Self::Bilirubin => Some(10_000.0 / 584.66),
            _ => None,
        };
        match (from, to, per_mg_dl) {
            (Unit::MilligramsPerDecilitre, Unit::MicromolesPerLitre, Some(k)) => Some(value * k),
            (Unit::MicromolesPerLitre, Unit::MilligramsPerDecilitre, Some(k)) => Some(value / k),
            _ => from.convert(value, to),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Neutrophils => "neutrophils",
            Self::Platelets => "platelets",
            Self::Haemoglobin => "haemoglobin",
            Self::Creatinine => "creatinine",
            Self::Bilirubin => "bilirubin",
            Self::Alt => "ALT",
            Self::Ast => "AST",
            Self::Ca199 => "CA19-9",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Neutrophils => "中性粒细胞",
            Self::Platelets => "血小板",
            Self::Haemoglobin => "血红蛋白",
            Self::Creatinine => "肌酐",
            Self::Bilirubin => "胆红素",
            Self::Alt => "丙氨酸氨基转移酶（ALT）",
            Self::Ast => "天冬氨酸氨基转移酶（AST）",
            Self::Ca199 => "CA19-9",
        }
    }
}

/// Units the record accepts, written as UCUM codes. Anything else is refused rather than
/// guessed at, so that a threshold is never compared across units silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Unit {
    #[serde(rename = "10*9/L", alias = "10^9/L", alias = "x10E9/L")]
    PerNanoLitre,
    #[serde(rename = "g/L")]
    GramsPerLitre,
    #[serde(rename = "g/dL")]
    GramsPerDecilitre,
    #[serde(rename = "umol/L", alias = "µmol/L")]
    MicromolesPerLitre,
    #[serde(rename = "mg/dL")]
    MilligramsPerDecilitre,
    #[serde(rename = "U/L", alias = "IU/L")]
    UnitsPerLitre,
    #[serde(rename = "U/mL", alias = "kU/L")]
    UnitsPerMillilitre,
    #[serde(rename = "%")]
    Percent,
}

impl Unit {
    /// Parses a UCUM code or one of the common spellings seen in FHIR data.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let u = match text.trim() {
            "10*9/L" | "10^9/L" | "x10E9/L" | "10*3/uL" | "10^3/uL" | "K/uL" => Self::PerNanoLitre,
            "g/L" => Self::GramsPerLitre,
            "g/dL" | "g/dl" => Self::GramsPerDecilitre,
            "umol/L" | "µmol/L" => Self::MicromolesPerLitre,
            "mg/dL" | "mg/dl" => Self::MilligramsPerDecilitre,
            "U/L" | "IU/L" => Self::UnitsPerLitre,
            "U/mL" | "kU/L" => Self::UnitsPerMillilitre,
            "%" => Self::Percent,
            other => {
                return Err(DomainError::invalid(
                    "unit",
                    format!("unknown unit `{other}`"),
                ));
            }
        };
        Ok(u)
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::PerNanoLitre => "10*9/L",
            Self::GramsPerLitre => "g/L",
            Self::GramsPerDecilitre => "g/dL",
            Self::MicromolesPerLitre => "umol/L",
            Self::MilligramsPerDecilitre => "mg/dL",
            Self::UnitsPerLitre => "U/L",
            Self::UnitsPerMillilitre => "U/mL",
            Self::Percent => "%",
        }
    }

    /// Converts `value` in `self` to `to`, when the two measure the same thing.
    pub fn convert(self, value: f64, to: Unit) -> Option<f64> {
        use Unit::*;
        match (self, to) {
            (a, b) if a == b => Some(value),
            (GramsPerDecilitre, GramsPerLitre) => Some(value * 10.0),
            (GramsPerLitre, GramsPerDecilitre) => Some(value / 10.0),
            _ => None,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_values_are_refused() {
        assert!(Percent::new(130.0).is_err());
        assert!(Percent::new(-1.0).is_err());
        assert!(Percent::new(f64::NAN).is_err());
        assert!(Percent::new(100.0).is_ok());
        assert!(Intensity::parse("4+").is_err());
        assert!(Intensity::new(4).is_err());
        assert!(Ecog::new(7).is_err());
        assert!(Ecog::new(-1).is_err());
        assert_eq!(Ecog::new(5).map(Ecog::score).ok(), Some(5));
        assert!(Unit::parse("mmol/mol").is_err());
    }

    #[test]
    fn intensity_forms() {
        assert_eq!(Intensity::parse("2+").ok(), Some(Intensity::TWO));
        assert_eq!(Intensity::parse("3").ok(), Some(Intensity::THREE));
        assert_eq!(Intensity::parse("Moderate").ok(), Some(Intensity::TWO));
        assert_eq!(Intensity::TWO.to_string(), "2+");
        assert_eq!(Intensity::ZERO.to_string(), "0");
    }

    #[test]
    fn units_convert_only_like_with_like() {
        assert_eq!(
            Unit::GramsPerDecilitre.convert(9.0, Unit::GramsPerLitre),
            Some(90.0)
        );
        assert_eq!(Unit::UnitsPerLitre.convert(1.0, Unit::GramsPerLitre), None);
        let creatinine = LabTest::Creatinine
            .convert(1.0, Unit::MilligramsPerDecilitre, Unit::MicromolesPerLitre)
            .expect("converts");
        assert!((creatinine - 88.4).abs() < 0.1, "{creatinine}");
        let bilirubin = LabTest::Bilirubin
            .convert(1.0, Unit::MilligramsPerDecilitre, Unit::MicromolesPerLitre)
            .expect("converts");
        assert!((bilirubin - 17.1).abs() < 0.05, "{bilirubin}");
        assert_eq!(
            LabTest::Alt.convert(1.0, Unit::MilligramsPerDecilitre, Unit::MicromolesPerLitre),
            None
        );
        assert_eq!(LabTest::from_loinc("26499-4"), Some(LabTest::Neutrophils));
    }
}
