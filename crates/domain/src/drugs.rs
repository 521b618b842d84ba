//! Recognising systemic anticancer drugs by name, so that an import does not count
//! paracetamol or insulin as a line of therapy. Matching is on generic names, case-
//! insensitive, anywhere in the text ("10 ML oxaliplatin 5 MG/ML Injection").

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

/// The recognised generic name in `text`, if any. Longer names win ("trastuzumab
/// deruxtecan" over "trastuzumab").
pub fn recognise_anticancer(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    ANTICANCER_DRUGS
        .iter()
        .filter(|name| contains_word(&lower, name))
        .max_by_key(|name| name.len())
        .copied()
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
