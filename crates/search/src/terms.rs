//! The bilingual table of the field's terms: a Chinese query word is searched as its English
//! forms (the records are in English), and an English form as all its spellings.
//!
//! Every group names where its Chinese form is used: the national guideline for gastric
//! cancer, the drug regulator's naming of CAR-T products, the Pharmacopoeia Commission's
//! Chinese approved drug names, or cellpath's own sourced catalogue. The table was written
//! from those by the team (as of the date below) and is shown in full on the search page's
//! help, so a bilingual clinician can check it.

/// When the table was last checked against its sources.
pub const AS_OF: &str = "2026-11-29";

/// Where a group's Chinese form comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermSource {
    pub id: &'static str,
    pub title: &'static str,
    pub issuer: &'static str,
    pub year: &'static str,
}

pub const SOURCES: &[TermSource] = &[
    TermSource {
        id: "nhc-gastric-2022",
        title: "胃癌诊疗指南（2022年版）",
        issuer: "国家卫生健康委员会办公厅 (National Health Commission of the PRC)",
        year: "2022",
    },
    TermSource {
        id: "cde-car-t-2022",
        title: "嵌合抗原受体T细胞（CAR-T）治疗产品药学研究与评价技术指导原则（试行）",
        issuer: "国家药品监督管理局药品审评中心 (NMPA Center for Drug Evaluation)",
        year: "2022",
    },
    TermSource {
        id: "cadn",
        title: "中国药品通用名称 (Chinese Approved Drug Names, CADN)",
        issuer: "国家药典委员会 (Chinese Pharmacopoeia Commission)",
        year: "2026",
    },
    TermSource {
        id: "catalogue-satri-cel",
        title: "cellpath catalogue: satri-cel-nmpa.toml (NMPA approval of 22 June 2026 and its sources)",
        issuer: "cellpath",
        year: "2026",
    },
];

/// One concept: its Chinese forms and its English forms (each a phrase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermGroup {
    pub id: &'static str,
    pub zh: &'static [&'static str],
    pub en: &'static [&'static str],
    pub source: &'static str,
}

macro_rules! group {
    ($id:literal, [$($zh:literal),+], [$($en:literal),+], $source:literal) => {
        TermGroup { id: $id, zh: &[$($zh),+], en: &[$($en),+], source: $source }
    };
}

pub const GROUPS: &[TermGroup] = &[
    group!(
        "gastric-cancer",
        ["胃癌"],
        [
            "gastric cancer",
            "stomach cancer",
            "gastric carcinoma",
            "gastric adenocarcinoma",
            "stomach neoplasms",
            "gastric neoplasms",
            "stomach adenocarcinoma"
        ],
        "nhc-gastric-2022"
    ),
    group!(
        "gej",
        ["胃食管结合部", "食管胃结合部", "胃食管交界"],
        [
            "gastroesophageal junction",
            "gastro-oesophageal junction",
            "gastro-esophageal junction",
            "esophagogastric junction",
            "oesophagogastric junction",
            "gej",
            "egj"
        ],
        "nhc-gastric-2022"
    ),
    group!(
        "stomach",
        ["胃"],
        ["gastric", "stomach"],
        "nhc-gastric-2022"
    ),
    group!(
        "adenocarcinoma",
        ["腺癌"],
        ["adenocarcinoma"],
        "nhc-gastric-2022"
    ),
    group!(
        "cancer",
        ["癌", "恶性肿瘤", "肿瘤"],
        [
            "cancer",
            "carcinoma",
            "neoplasm",
            "neoplasms",
            "tumor",
            "tumour",
            "malignancy"
        ],
        "nhc-gastric-2022"
    ),
    group!("advanced", ["晚期"], ["advanced"], "nhc-gastric-2022"),
    group!(
        "metastatic",
        ["转移", "转移性"],
        ["metastatic", "metastasis", "metastases"],
        "nhc-gastric-2022"
    ),
    group!(
        "solid-tumour",
        ["实体瘤"],
        [
            "solid tumor",
            "solid tumors",
            "solid tumour",
            "solid tumours"
        ],
        "cde-car-t-2022"
    ),
    group!(
        "chemotherapy",
        ["化疗", "化学治疗"],
        ["chemotherapy"],
        "nhc-gastric-2022"
    ),
    group!(
        "immunotherapy",
        ["免疫治疗"],
        ["immunotherapy"],
        "nhc-gastric-2022"
    ),
    group!(
        "her2",
        ["人表皮生长因子受体2"],
        ["her2", "erbb2", "her 2"],
        "nhc-gastric-2022"
    ),
    group!(
        "oesophageal-cancer",
        ["食管癌"],
        [
            "esophageal cancer",
            "oesophageal cancer",
            "esophageal carcinoma",
            "esophageal neoplasms"
        ],
        "nhc-gastric-2022"
    ),
    group!(
        "pancreatic-cancer",
        ["胰腺癌"],
        [
            "pancreatic cancer",
            "pancreatic adenocarcinoma",
            "pancreatic neoplasms",
            "pancreatic carcinoma"
        ],
        "cde-car-t-2022"
    ),
    group!(
        "car-t",
        ["嵌合抗原受体T细胞", "嵌合抗原受体", "CAR-T细胞"],
        [
            "car-t",
            "car t",
            "chimeric antigen receptor",
            "car-t cells",
            "car-t cell"
        ],
        "cde-car-t-2022"
    ),
    group!(
        "cell-therapy",
        ["细胞治疗"],
        ["cell therapy", "cellular therapy"],
        "cde-car-t-2022"
    ),
    group!(
        "cldn18-2",
        ["紧密连接蛋白18.2", "密封蛋白18.2"],
        [
            "cldn18.2",
            "claudin18.2",
            "claudin 18.2",
            "claudin-18.2",
            "cldn 18.2",
            "claudin 18 isoform 2"
        ],
        "catalogue-satri-cel"
    ),
    group!(
        "claudin",
        ["紧密连接蛋白", "密封蛋白"],
        ["claudin", "cldn"],
        "catalogue-satri-cel"
    ),
    group!(
        "satri-cel",
        ["舒瑞基奥仑赛"],
        ["satri-cel", "satricabtagene autoleucel", "ct041"],
        "catalogue-satri-cel"
    ),
    group!(
        "camrelizumab",
        ["卡瑞利珠单抗"],
        ["camrelizumab", "shr-1210"],
        "cadn"
    ),
    group!("nivolumab", ["纳武利尤单抗"], ["nivolumab"], "cadn"),
    group!("pembrolizumab", ["帕博利珠单抗"], ["pembrolizumab"], "cadn"),
    group!("sintilimab", ["信迪利单抗"], ["sintilimab"], "cadn"),
    group!("tislelizumab", ["替雷利珠单抗"], ["tislelizumab"], "cadn"),
    group!("toripalimab", ["特瑞普利单抗"], ["toripalimab"], "cadn"),
    group!("trastuzumab", ["曲妥珠单抗"], ["trastuzumab"], "cadn"),
    group!(
        "zolbetuximab",
        ["佐妥昔单抗"],
        ["zolbetuximab", "imab362"],
        "cadn"
    ),
    group!(
        "apatinib",
        ["阿帕替尼"],
        ["apatinib", "rivoceranib"],
        "cadn"
    ),
    group!("paclitaxel", ["紫杉醇"], ["paclitaxel"], "cadn"),
    group!("docetaxel", ["多西他赛"], ["docetaxel"], "cadn"),
    group!("irinotecan", ["伊立替康"], ["irinotecan"], "cadn"),
    group!("oxaliplatin", ["奥沙利铂"], ["oxaliplatin"], "cadn"),
    group!("capecitabine", ["卡培他滨"], ["capecitabine"], "cadn"),
    group!("tegafur", ["替吉奥"], ["s-1", "tegafur"], "cadn"),
    group!(
        "fluorouracil",
        ["氟尿嘧啶"],
        ["fluorouracil", "5-fu"],
        "cadn"
    ),
];

/// The group a Chinese form belongs to.
pub fn by_zh(word: &str) -> Option<&'static TermGroup> {
    GROUPS.iter().find(|g| g.zh.contains(&word))
}

/// The group one of whose English forms has exactly these terms.
pub fn by_en_terms(terms: &[String]) -> Option<&'static TermGroup> {
    GROUPS
        .iter()
        .find(|g| g.en.iter().any(|en| crate::analyzer::terms(en) == terms))
}

/// The longest Chinese form at the start of `text`, with its group.
pub fn longest_zh_prefix(text: &str) -> Option<(&'static str, &'static TermGroup)> {
    GROUPS
        .iter()
        .flat_map(|g| g.zh.iter().map(move |zh| (*zh, g)))
        .filter(|(zh, _)| text.starts_with(zh))
        .max_by_key(|(zh, _)| zh.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_names_a_known_source_and_forms_that_tokenize() {
        for g in GROUPS {
            assert!(SOURCES.iter().any(|s| s.id == g.source), "{}", g.id);
            for en in g.en {
                assert!(!crate::analyzer::terms(en).is_empty(), "{en}");
            }
        }
    }

    #[test]
    fn the_longest_form_wins() {
        let (zh, g) = longest_zh_prefix("紧密连接蛋白18.2阳性").expect("in the table");
        assert_eq!((zh, g.id), ("紧密连接蛋白18.2", "cldn18-2"));
        assert_eq!(
            longest_zh_prefix("胃癌").expect("in the table").1.id,
            "gastric-cancer"
        );
        assert_eq!(
            longest_zh_prefix("胃食管结合部")
                .expect("in the table")
                .1
                .id,
            "gej"
        );
        assert!(longest_zh_prefix("肺").is_none());
    }
}
