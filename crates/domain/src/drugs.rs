//! Recognising systemic anticancer drugs, so that an import does not count paracetamol or
//! insulin as a line of therapy: by generic name, case-insensitive, anywhere in the text
//! ("10 ML oxaliplatin 5 MG/ML Injection"); by Chinese generic name ("奥沙利铂"); and by
//! code — RxNorm codes from the sourced table `catalogue/drugs/drugs.toml`, and any ATC code in
//! the antineoplastic (L01) or endocrine-therapy (L02) groups.

/// Generic names of systemic anticancer agents (chemotherapy, targeted, immunotherapy,
/// antibody–drug conjugates, endocrine therapy), lower case.
pub const ANTICANCER_DRUGS: &[&str] = &[
    // chemotherapy
    "oxaliplatin",
    "cisplatin",
    "carboplatin",
    "nedaplatin",
    "fluorouracil",
    "5-fu",
    "capecitabine",
    "tegafur",
    "s-1",
    "trifluridine",
    "leucovorin",
    "folinic acid",
    "paclitaxel",
    "docetaxel",
    "nab-paclitaxel",
    "irinotecan",
    "topotecan",
    "epirubicin",
    "doxorubicin",
    "idarubicin",
    "daunorubicin",
    "cytarabine",
    "cyclophosphamide",
    "ifosfamide",
    "gemcitabine",
    "pemetrexed",
    "methotrexate",
    "etoposide",
    "vinorelbine",
    "vincristine",
    "mitomycin",
    "eribulin",
    "fludarabine",
    "bendamustine",
    "temozolomide",
    // targeted and anti-angiogenic
    "trastuzumab",
    "pertuzumab",
    "ramucirumab",
    "bevacizumab",
    "apatinib",
    "rivoceranib",
    "fruquintinib",
    "regorafenib",
    "sorafenib",
    "lenvatinib",
    "cetuximab",
    "panitumumab",
    "lapatinib",
    "tucatinib",
    "osimertinib",
    "erlotinib",
    "gefitinib",
    "afatinib",
    "crizotinib",
    "alectinib",
    "lorlatinib",
    "sotorasib",
    "adagrasib",
    "olaparib",
    "palbociclib",
    "ribociclib",
    "abemaciclib",
    "everolimus",
    "imatinib",
    // immunotherapy
    "nivolumab",
    "pembrolizumab",
    "tislelizumab",
    "sintilimab",
    "toripalimab",
    "camrelizumab",
    "atezolizumab",
    "durvalumab",
    "ipilimumab",
    "avelumab",
    "cadonilimab",
    // antibody-drug conjugates and CLDN18.2 agents
    "trastuzumab deruxtecan",
    "disitamab vedotin",
    "sacituzumab",
    "datopotamab",
    "zolbetuximab",
    "satricabtagene",
    "ibi343",
    // endocrine
    "tamoxifen",
    "letrozole",
    "anastrozole",
    "exemestane",
    "fulvestrant",
    "leuprolide",
    "goserelin",
    "bicalutamide",
    "enzalutamide",
    "abiraterone",
    "apalutamide",
    "darolutamide",
];

/// One entry of `catalogue/drugs/drugs.toml`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugEntry {
    pub generic: String,
    #[serde(default)]
    pub rxnorm: Vec<String>,
    #[serde(default)]
    pub ncit: Vec<String>,
    #[serde(default)]
    pub zh: Vec<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    pub source: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DrugFile {
    drugs: Vec<DrugEntry>,
}

/// The shipped table of codes and Chinese names (compiled in).
pub fn drug_table() -> &'static [DrugEntry] {
    static TABLE: std::sync::OnceLock<Vec<DrugEntry>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        toml::from_str::<DrugFile>(include_str!("../../../catalogue/drugs/drugs.toml"))
            .map(|f| f.drugs)
            .unwrap_or_default()
    })
}

/// The recognised generic name in `text`, if any. Longer names win ("trastuzumab
/// deruxtecan" over "trastuzumab"); Chinese generic names are recognised too.
pub fn recognise_anticancer(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    let by_name = ANTICANCER_DRUGS
        .iter()
        .filter(|name| contains_word(&lower, name))
        .max_by_key(|name| name.len())
        .copied();
    by_name.or_else(|| {
        // The longest Chinese name or brand wins: 德曲妥珠单抗 (T-DXd) contains 曲妥珠单抗.
        drug_table()
            .iter()
            .flat_map(|d| {
                d.zh.iter()
                    .chain(&d.brands)
                    .filter(|name| names_in(text, &lower, name))
                    .map(move |name| (name.chars().count(), d))
            })
            .max_by_key(|(len, _)| *len)
            .and_then(|(_, d)| ANTICANCER_DRUGS.iter().find(|n| **n == d.generic).copied())
    })
}

/// Whether `name` occurs in the text: Latin names as whole words, Chinese names anywhere
/// (Chinese writes no spaces: "达伯舒注射液").
fn names_in(text: &str, lower: &str, name: &str) -> bool {
    if name.is_ascii() {
        contains_word(lower, &name.to_lowercase())
    } else {
        text.contains(name)
    }
}

/// A coding system a drug code may come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrugCodeSystem {
    RxNorm,
    Atc,
    /// NCI Thesaurus.
    Ncit,
    Other,
}

impl DrugCodeSystem {
    /// From a FHIR `Coding.system` URI.
    pub fn from_uri(uri: &str) -> Self {
        let u = uri.to_ascii_lowercase();
        if u.contains("rxnorm") {
            Self::RxNorm
        } else if u.contains("whocc") || u.ends_with("/atc") || u.contains("atc-ddd") {
            Self::Atc
        } else if u.contains("ncit") || u.contains("thesaurus") || u.contains("ncicb") {
            Self::Ncit
        } else {
            Self::Other
        }
    }
}

/// What a drug code says: a known anticancer drug (its generic name), an anticancer drug
/// of a class (ATC L01/L02, no name), or nothing known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodedDrug {
    Named(&'static str),
    AnticancerClass,
    Unknown,
}

/// Recognises a drug by its code.
pub fn recognise_code(system: DrugCodeSystem, code: &str) -> CodedDrug {
    let code = code.trim();
    match system {
        DrugCodeSystem::RxNorm => drug_table()
            .iter()
            .find(|d| d.rxnorm.iter().any(|c| c == code))
            .and_then(|d| ANTICANCER_DRUGS.iter().find(|n| **n == d.generic).copied())
            .map_or(CodedDrug::Unknown, CodedDrug::Named),
        DrugCodeSystem::Atc => {
            let up = code.to_ascii_uppercase();
            if up.starts_with("L01") || up.starts_with("L02") {
                CodedDrug::AnticancerClass
            } else {
                CodedDrug::Unknown
            }
        }
        DrugCodeSystem::Ncit => drug_table()
            .iter()
            .find(|d| d.ncit.iter().any(|c| c.eq_ignore_ascii_case(code)))
            .and_then(|d| ANTICANCER_DRUGS.iter().find(|n| **n == d.generic).copied())
            .map_or(CodedDrug::Unknown, CodedDrug::Named),
        DrugCodeSystem::Other => CodedDrug::Unknown,
    }
}

fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_is_recognised_by_each_of_its_codes_and_names() {
        let table = drug_table();
        assert!(
            table.len() >= 20,
            "the table loads ({} entries)",
            table.len()
        );
        for d in table {
            assert!(
                ANTICANCER_DRUGS.contains(&d.generic.as_str()),
                "{}: not in the generic list",
                d.generic
            );
            assert!(!d.source.trim().is_empty(), "{}: no source", d.generic);
            for code in &d.rxnorm {
                assert_eq!(
                    recognise_code(DrugCodeSystem::RxNorm, code),
                    CodedDrug::Named(d.generic.as_str()),
                    "rxnorm {code}"
                );
            }
            for code in &d.ncit {
                assert_eq!(
                    recognise_code(DrugCodeSystem::Ncit, code),
                    CodedDrug::Named(d.generic.as_str()),
                    "NCIt {code}"
                );
            }
            for name in &d.zh {
                assert_eq!(
                    recognise_anticancer(&format!("注射用{name} 100mg")),
                    Some(d.generic.as_str()),
                    "{name}"
                );
            }
            for brand in &d.brands {
                assert_eq!(
                    recognise_anticancer(&format!("{brand} 100 mg vial")),
                    Some(d.generic.as_str()),
                    "{brand}"
                );
            }
        }
        for (zh, en) in [
            ("奥沙利铂", "oxaliplatin"),
            ("卡培他滨", "capecitabine"),
            ("紫杉醇", "paclitaxel"),
            ("雷莫西尤单抗", "ramucirumab"),
            ("纳武利尤单抗", "nivolumab"),
            ("阿帕替尼", "apatinib"),
            ("替吉奥胶囊", "s-1"),
            ("注射用盐酸伊立替康", "irinotecan"),
            ("注射用德曲妥珠单抗", "trastuzumab deruxtecan"),
            ("注射用曲妥珠单抗", "trastuzumab"),
            ("达伯舒注射液", "sintilimab"),
            ("佐妥昔单抗", "zolbetuximab"),
        ] {
            assert_eq!(recognise_anticancer(zh), Some(en));
        }
    }

    #[test]
    fn atc_groups_and_unknown_codes() {
        let atc = DrugCodeSystem::from_uri("http://www.whocc.no/atc");
        assert_eq!(atc, DrugCodeSystem::Atc);
        assert_eq!(recognise_code(atc, "L01XA03"), CodedDrug::AnticancerClass);
        assert_eq!(recognise_code(atc, "l02bg04"), CodedDrug::AnticancerClass);
        assert_eq!(recognise_code(atc, "N02BE01"), CodedDrug::Unknown);
        let rx = DrugCodeSystem::from_uri("http://www.nlm.nih.gov/research/umls/rxnorm");
        assert_eq!(recognise_code(rx, "313782"), CodedDrug::Unknown);
    }

    #[test]
    fn recognises_drugs_in_product_text() {
        assert_eq!(
            recognise_anticancer("10 ML oxaliplatin 5 MG/ML Injection"),
            Some("oxaliplatin")
        );
        assert_eq!(
            recognise_anticancer("PACLitaxel 100 MG Injection"),
            Some("paclitaxel")
        );
        assert_eq!(
            recognise_anticancer("Trastuzumab deruxtecan 100 mg"),
            Some("trastuzumab deruxtecan")
        );
        assert_eq!(
            recognise_anticancer("Acetaminophen 325 MG Oral Tablet"),
            None
        );
        // "s-1" must not match inside other words.
        assert_eq!(recognise_anticancer("Insulin isophane (s-100 pen)"), None);
    }
}
