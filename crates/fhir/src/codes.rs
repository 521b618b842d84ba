//! Reading codes and texts: cancer sites from ICD-10 and SNOMED CT, histology from
//! ICD-O-3 morphology, and the free-text forms of IHC results.

use cellpath_domain::{CancerSite, Histology, Intensity, PerIntensity, Percent, Staining};
use serde_json::Value;

pub const ICD10: [&str; 2] = [
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/icd-10",
];
pub const SNOMED: &str = "http://snomed.info/sct";
pub const LOINC: &str = "http://loinc.org";

/// The codings of a CodeableConcept as (system, code, display).
pub fn codings(cc: &Value) -> impl Iterator<Item = (&str, &str, &str)> {
    cc.get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c.get("system").and_then(Value::as_str).unwrap_or_default(),
                c.get("code").and_then(Value::as_str).unwrap_or_default(),
                c.get("display").and_then(Value::as_str).unwrap_or_default(),
            )
        })
}

/// All human-readable text of a CodeableConcept: its `text` and every display, lower case.
pub fn concept_text(cc: &Value) -> String {
    let mut out = String::new();
    if let Some(t) = cc.get("text").and_then(Value::as_str) {
        out.push_str(t);
    }
    for (_, _, display) in codings(cc) {
        out.push(' ');
        out.push_str(display);
    }
    out.to_lowercase()
}

/// The label a person would read: the concept's `text`, else its first display, else its
/// first code.
pub fn concept_label(cc: &Value) -> String {
    if let Some(t) = cc
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
    {
        return t.trim().to_owned();
    }
    codings(cc)
        .find_map(|(_, c, d)| {
            if !d.is_empty() {
                Some(d)
            } else if !c.is_empty() {
                Some(c)
            } else {
                None
            }
        })
        .unwrap_or_default()
        .to_owned()
}

pub fn has_code(cc: &Value, system: &str, code: &str) -> bool {
    codings(cc).any(|(s, c, _)| s == system && c == code)
}

pub fn loinc_code(cc: &Value) -> Option<&str> {
    codings(cc).find(|(s, _, _)| *s == LOINC).map(|(_, c, _)| c)
}

/// The ICD-10 code of a concept, upper case without the dot (e.g. `C160`).
pub fn icd10(cc: &Value) -> Option<String> {
    codings(cc)
        .find(|(s, _, _)| ICD10.contains(s))
        .map(|(_, c, _)| c.replace('.', "").to_ascii_uppercase())
}

/// The cancer site of an ICD-10 code (C00–C97). `None` when not a malignant neoplasm code.
pub fn site_from_icd10(code: &str) -> Option<CancerSite> {
    let letter = code.chars().next()?;
    if letter != 'C' {
        return None;
    }
    let num: u32 = code.get(1..3)?.parse().ok()?;
    let sub = code.get(3..4).and_then(|d| d.parse::<u32>().ok());
    Some(match num {
        15 => CancerSite::Oesophagus,
        16 if sub == Some(0) => CancerSite::Gej,
        16 => CancerSite::Stomach,
        18 => CancerSite::Colon,
        19 | 20 => CancerSite::Rectum,
        22 => CancerSite::Liver,
        23 | 24 => CancerSite::BiliaryTract,
        25 => CancerSite::Pancreas,
        33 | 34 => CancerSite::Lung,
        50 => CancerSite::Breast,
        56 => CancerSite::Ovary,
        61 => CancerSite::Prostate,
        _ => CancerSite::Other,
    })
}

/// ICD-10 C77–C79: secondary malignant neoplasms.
pub fn icd10_is_secondary(code: &str) -> bool {
    matches!(code.get(0..3), Some("C77" | "C78" | "C79"))
}

/// A site named in text (lower case). The junction is tested before the stomach.
pub fn site_from_text(text: &str) -> Option<CancerSite> {
    let has = |k: &str| text.contains(k);
    Some(
        if has("cardia")
            || has("gastroesophageal junction")
            || has("gastro-oesophageal junction")
            || has("gastroesophageal junction")
            || has("esophagogastric junction")
            || has("oesophagogastric junction")
            || has("gej")
        {
            CancerSite::Gej
        } else if has("stomach") || has("gastric") {
            CancerSite::Stomach
        } else if has("esophag") || has("oesophag") {
            CancerSite::Oesophagus
        } else if has("pancrea") {
            CancerSite::Pancreas
        } else if has("rectum") || has("rectal") {
            CancerSite::Rectum
        } else if has("colon") || has("colorectal") {
            CancerSite::Colon
        } else if has("liver") || has("hepatocellular") {
            CancerSite::Liver
        } else if has("bile duct") || has("biliary") || has("cholangio") || has("gallbladder") {
            CancerSite::BiliaryTract
        } else if has("lung") || has("bronch") {
            CancerSite::Lung
        } else if has("breast") {
            CancerSite::Breast
        } else if has("prostat") {
            CancerSite::Prostate
        } else if has("ovar") {
            CancerSite::Ovary
        } else {
            return None;
        },
    )
}

/// Whether a condition's text names a malignancy (not benign, suspected or in situ).
pub fn text_is_cancer(text: &str) -> bool {
    let malignant = [
        "malignant",
        "carcinoma",
        "cancer",
        "adenocarcinoma",
        "lymphoma",
        "leukemia",
        "leukaemia",
        "melanoma",
        "sarcoma",
        "metasta",
        "neoplasm of prostate",
        "myeloma",
    ]
    .iter()
    .any(|k| text.contains(k));
    malignant && !text_is_not_invasive(text)
}

pub fn text_is_not_invasive(text: &str) -> bool {
    [
        "benign",
        "in situ",
        "suspected",
        "history of",
        "screening",
        "family history",
    ]
    .iter()
    .any(|k| text.contains(k))
}

pub fn text_is_secondary(text: &str) -> bool {
    text.contains("secondary") || text.contains("metasta")
}

/// Histology from an ICD-O-3 morphology code such as `8140/3`.
pub fn histology_from_icdo3(code: &str) -> Option<Histology> {
    let (morph, behaviour) = code.split_once('/').unwrap_or((code, "3"));
    if behaviour != "3" && behaviour != "6" {
        return None;
    }
    let m: u32 = morph.parse().ok()?;
    Some(match m {
        8144 => Histology::IntestinalType,
        8145 => Histology::DiffuseType,
        8490 => Histology::SignetRingCell,
        8500 => Histology::DuctalAdenocarcinoma,
        8070..=8078 => Histology::SquamousCell,
        8041..=8045 => Histology::SmallCell,
        8046 => Histology::NonSmallCell,
        8140..=8389 | 8480 | 8481 => Histology::Adenocarcinoma,
        _ => Histology::Other,
    })
}

/// Histology named in text (lower case).
pub fn histology_from_text(text: &str) -> Option<Histology> {
    let has = |k: &str| text.contains(k);
    Some(if has("signet") || has("poorly cohesive") {
        Histology::SignetRingCell
    } else if has("diffuse type") || has("diffuse-type") {
        Histology::DiffuseType
    } else if has("intestinal type") || has("intestinal-type") {
        Histology::IntestinalType
    } else if has("squamous") {
        Histology::SquamousCell
    } else if has("non-small cell") || has("non small cell") {
        Histology::NonSmallCell
    } else if has("small cell") {
        Histology::SmallCell
    } else if has("duct") && has("carcinoma") {
        Histology::DuctalAdenocarcinoma
    } else if has("adenocarcinoma") {
        Histology::Adenocarcinoma
    } else {
        return None;
    })
}

#[derive(Debug, PartialEq)]
enum Token {
    Intensity(u8),
    Percent(f64),
    Negative,
}

/// Splits an IHC report text into intensities, percentages and negations.
fn tokens(text: &str) -> Vec<Token> {
    let lower = text.to_lowercase();
    let bytes = lower.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let number: Option<f64> = lower[start..i].trim_end_matches('.').parse().ok();
            let mut j = i;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            match (number, bytes.get(j)) {
                (Some(n), Some(b'%')) => {
                    out.push(Token::Percent(n));
                    i = j + 1;
                }
                (Some(n), Some(b'+')) if n.fract() == 0.0 => {
                    out.push(Token::Intensity(n as u8));
                    i = j + 1;
                }
                // A bare 0–3 right before a percentage ("0 30%") or in "(0)" is an intensity.
                (Some(n), _) if n.fract() == 0.0 && n <= 3.0 && lower[start..i].len() == 1 => {
                    let before = start.checked_sub(1).map(|k| bytes[k]);
                    if !matches!(before, Some(b'.') | Some(b'-')) {
                        out.push(Token::Intensity(n as u8));
                    }
                }
                _ => {}
            }
            continue;
        }
        if c.is_ascii_alphabetic() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            match &lower[start..i] {
                "negative" | "absent" => out.push(Token::Negative),
                "weak" => out.push(Token::Intensity(1)),
                "moderate" => out.push(Token::Intensity(2)),
                "strong" => out.push(Token::Intensity(3)),
                _ => {}
            }
            continue;
        }
        i += if c.is_ascii() {
            1
        } else {
            lower[i..].chars().next().map_or(1, char::len_utf8)
        };
    }
    out
}

/// Reads the free-text forms of a CLDN18.2 result: `2+ in 60% of tumour cells`,
/// `moderate-to-strong (2+/3+) membranous staining in 80% of tumour cells`,
/// `3+ 10%, 2+ 20%, 1+ 40%, 0 30%`, `Negative (0)`.
pub fn staining_from_text(text: &str) -> Result<Staining, String> {
    let toks = tokens(text);
    let bad_level = toks.iter().find_map(|t| match t {
        Token::Intensity(n) if *n > 3 => Some(*n),
        _ => None,
    });
    if let Some(n) = bad_level {
        return Err(format!("{n}+ is not an IHC intensity"));
    }
    let pct = |v: f64| Percent::new(v).map_err(|e| e.to_string());
    let mut pairs = Vec::new();
    for w in toks.windows(2) {
        if let [Token::Intensity(i), Token::Percent(p)] = w {
            pairs.push((*i, *p));
        }
    }
    let percents: Vec<f64> = toks
        .iter()
        .filter_map(|t| match t {
            Token::Percent(p) => Some(*p),
            _ => None,
        })
        .collect();
    let intensities: Vec<u8> = toks
        .iter()
        .filter_map(|t| match t {
            Token::Intensity(i) => Some(*i),
            _ => None,
        })
        .collect();
    if pairs.len() >= 2 {
        let mut per = PerIntensity::default();
        for (i, p) in pairs {
            let slot = match i {
                3 => &mut per.three,
                2 => &mut per.two,
                1 => &mut per.one,
                _ => &mut per.zero,
            };
            *slot = Some(pct(p)?);
        }
        return Ok(Staining::PerIntensity(per));
    }
    if percents.len() == 1 && !intensities.is_empty() {
        let min = intensities.iter().copied().filter(|i| *i > 0).min();
        return match min {
            Some(level) => Ok(Staining::AtLeast {
                intensity: Intensity::new(level).map_err(|e| e.to_string())?,
                percent: pct(percents[0])?,
            }),
            None if percents[0] == 100.0 || toks.contains(&Token::Negative) => {
                Ok(Staining::Negative)
            }
            None => Err(format!("`{text}` gives only 0 intensity with a percentage")),
        };
    }
    if percents.is_empty() && (toks.contains(&Token::Negative) || intensities == [0]) {
        return Ok(Staining::Negative);
    }
    Err(format!(
        "could not read a CLDN18.2 staining pattern from `{text}`"
    ))
}

/// The first SNOMED CT code of a concept.
pub fn snomed_code(cc: &Value) -> Option<&str> {
    codings(cc)
        .find(|(s, _, _)| *s == SNOMED)
        .map(|(_, c, _)| c)
}

/// The meaning of the SNOMED CT qualifier values that results are often coded with and
/// no display (mCODE tumour-marker examples): a word the result readers understand.
pub fn qualifier_word(cc: &Value) -> Option<&'static str> {
    codings(cc)
        .filter(|(s, _, _)| *s == SNOMED)
        .find_map(|(_, c, _)| match c {
            "260385009" => Some("negative"),
            "10828004" => Some("positive"),
            "52101004" => Some("present"),
            "2667000" => Some("absent"),
            "280416009" => Some("indeterminate"),
            _ => None,
        })
}

/// SNOMED CT observables for TNM staging as mCODE STU3/STU4 codes them (the LOINC codes
/// are the older alternatives): stage group, and the T, N and M categories.
pub const STAGE_GROUP_CODES: &[&str] = &["399537006", "399588009", "21908-9", "21902-2", "21914-4"];
pub const M_CATEGORY_CODES: &[&str] = &["399387003", "371497001", "21907-1", "21901-4"];
pub const TN_CATEGORY_CODES: &[&str] = &[
    "399504009",
    "384625004",
    "399534004",
    "371494008",
    "21905-5",
    "21899-0",
    "21906-3",
    "21900-6",
];

/// Whether a concept carries one of `codes` (in any system: the lists are unambiguous).
pub fn has_any_code(cc: &Value, codes: &[&str]) -> bool {
    codings(cc).any(|(_, c, _)| codes.contains(&c))
}

/// The stage group in a text: `IIIC` from "American Joint Committee on Cancer stage IIIC
/// (qualifier value)", "AJCC stage IIB", "Stage IV" or a bare "IVB".
pub fn stage_from_text(text: &str) -> Option<String> {
    let t = text.trim();
    let lower = t.to_lowercase();
    if let Some(at) = lower.find("stage ") {
        let token: String = t[at + "stage ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if cellpath_domain::stage_group(&token).is_some() {
            return Some(token);
        }
    }
    (t.len() <= 12 && cellpath_domain::stage_group(t).is_some()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &Staining, level: u8) -> (f64, f64) {
        let r = s.percent_at_or_above(Intensity::new(level).expect("level"));
        (r.low, r.high)
    }

    #[test]
    fn free_text_forms() {
        let s = staining_from_text("2+ in 60% of tumour cells").expect("form 1");
        assert_eq!(at(&s, 2), (60.0, 60.0));
        let s = staining_from_text(
            "moderate-to-strong (2+/3+) membranous staining in 80% of tumour cells",
        )
        .expect("form 2");
        assert_eq!(at(&s, 2), (80.0, 80.0));
        let s = staining_from_text("3+ 10%, 2+ 20%, 1+ 40%, 0 30%").expect("form 3");
        assert_eq!(at(&s, 2), (30.0, 30.0));
        assert_eq!(at(&s, 1), (70.0, 70.0));
        assert_eq!(
            staining_from_text("Negative (0)").expect("neg"),
            Staining::Negative
        );
        assert!(staining_from_text("4+ in 50%").is_err());
        assert!(staining_from_text("see report").is_err());
        assert!(staining_from_text("2+ in 130%").is_err());
    }

    #[test]
    fn icd10_sites() {
        assert_eq!(site_from_icd10("C160"), Some(CancerSite::Gej));
        assert_eq!(site_from_icd10("C169"), Some(CancerSite::Stomach));
        assert_eq!(site_from_icd10("C16"), Some(CancerSite::Stomach));
        assert_eq!(site_from_icd10("C259"), Some(CancerSite::Pancreas));
        assert_eq!(site_from_icd10("C150"), Some(CancerSite::Oesophagus));
        assert_eq!(site_from_icd10("E119"), None);
        assert!(icd10_is_secondary("C786"));
    }

    #[test]
    fn icdo3_histology() {
        assert_eq!(
            histology_from_icdo3("8140/3"),
            Some(Histology::Adenocarcinoma)
        );
        assert_eq!(
            histology_from_icdo3("8490/3"),
            Some(Histology::SignetRingCell)
        );
        assert_eq!(
            histology_from_icdo3("8070/3"),
            Some(Histology::SquamousCell)
        );
        assert_eq!(
            histology_from_icdo3("8500/3"),
            Some(Histology::DuctalAdenocarcinoma)
        );
        assert_eq!(histology_from_icdo3("8140/0"), None, "benign behaviour");
    }
}
