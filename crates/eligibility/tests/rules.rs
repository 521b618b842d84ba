// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! Every rule kind at its boundaries, the shipped catalogue on worked cases, and the
//! verdict logic.

#[path = "rules/uncertain.rs"]
mod uncertain;

use cellpath_domain::{Case, Date, native};
use cellpath_eligibility::{
    Catalogue, Lang, Programme, Status, Verdict, evaluate, facts::Facts, screen, shipped,
};

const BASE: &str = r#"
[patient]
birth_date = "1969-03-14"
sex = "female"

[primary]
site = "stomach"
histology = "signet-ring-cell"
stage = "IV"
diagnosed = "2024-01"
source = "Pathology report PA-24-0113"

[[metastases]]
site = "peritoneum"
date = "2024-01"

[[her2]]
ihc = "1+"
date = "2024-01-20"

[[ecog]]
score = 1
date = "2026-10-30"

[[therapies]]
drug = "oxaliplatin"
start = "2024-02-01"
end = "2024-07-15"
setting = "advanced"

[[therapies]]
drug = "capecitabine"
start = "2024-02-01"
end = "2024-07-15"
setting = "advanced"

[[therapies]]
drug = "nivolumab"
start = "2024-02-01"
end = "2024-07-15"
setting = "advanced"

[[progressions]]
date = "2024-07-20"
basis = "CT: new peritoneal nodules"

[[therapies]]
drug = "paclitaxel"
start = "2024-08-05"
end = "2025-01-10"
setting = "advanced"

[[therapies]]
drug = "ramucirumab"
start = "2024-08-05"
end = "2025-01-10"
setting = "advanced"

[[progressions]]
date = "2025-01-15"
basis = "CT: liver metastases"
"#;

fn as_of() -> Date {
    Date::parse("2026-11-20").expect("date")
}

fn case(extra: &str) -> Case {
    native::from_toml(&format!("{BASE}{extra}")).expect("valid case")
}

fn cldn18(staining: &str) -> String {
    format!("\n[[cldn18]]\nclone = \"43-14A\"\nspecimen_date = \"2026-10-01\"\n{staining}\n")
}

fn catalogue() -> Catalogue {
    shipped().expect("shipped catalogue loads")
}

fn status_of(p: &Programme, c: &Case, id: &str) -> Status {
    result(p, c, id).status
}

fn result(p: &Programme, c: &Case, id: &str) -> cellpath_eligibility::eval::CriterionResult {
    let r = evaluate(p, &Facts::new(c, as_of()));
    r.criteria
        .into_iter()
        .find(|x| x.id == id)
        .unwrap_or_else(|| panic!("criterion {id}"))
}

#[test]
fn the_zolbetuximab_trap_a_60_percent_tumour_fits_ct041_not_zolbetuximab() {
    let cat = catalogue();
    let c = case(&cldn18(
        "staining = { \"3+\" = 20, \"2+\" = 40, \"1+\" = 20, \"0\" = 20 }",
    ));
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let zolbe = cat.get("zolbetuximab-1l").expect("zolbe");
    assert_eq!(status_of(satri, &c, "cldn18-positive"), Status::Met);
    assert_eq!(status_of(zolbe, &c, "cldn18-positive-75"), Status::NotMet);
    let f = Facts::new(&c, as_of());
    assert_eq!(evaluate(satri, &f).verdict, Verdict::Eligible);
    assert_eq!(evaluate(zolbe, &f).verdict, Verdict::Ineligible);
}

#[test]
fn a_deceased_patient_is_eligible_for_nothing_and_it_is_said_first() {
    let cat = catalogue();
    let mut c = case(&cldn18(
        "staining = { \"3+\" = 20, \"2+\" = 40, \"1+\" = 20, \"0\" = 20 }",
    ));
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    assert_eq!(
        evaluate(satri, &Facts::new(&c, as_of())).verdict,
        Verdict::Eligible
    );
    c.patient.deceased = true;
    c.patient.deceased_date = Some(cellpath_domain::PartialDate::parse("2026-09").expect("date"));
    let f = Facts::new(&c, as_of());
    let r = evaluate(satri, &f);
    assert_eq!(r.verdict, Verdict::Ineligible);
    assert_eq!(r.criteria[0].id, "patient-deceased");
    assert_eq!(r.criteria[0].status, Status::NotMet);
    assert!(r.criteria[0].explanation.en.contains("died on 2026-09"));
    assert!(r.criteria[0].explanation.zh.contains("去世"));
    for p in cat.programmes() {
        assert_eq!(
            cellpath_eligibility::eval::verdict(p, &f),
            Verdict::Ineligible,
            "{}",
            p.id
        );
        assert_ne!(evaluate(p, &f).verdict, Verdict::Eligible, "{}", p.id);
    }
    let summary = cellpath_eligibility::eval::screen_summary(&cat, &c, as_of());
    assert!(
        summary
            .iter()
            .all(|s| s.verdict == Verdict::Ineligible && s.criteria[0].id == "patient-deceased")
    );
}

#[test]
fn cldn18_boundaries_40_and_39_percent_and_intensity() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let zolbe = cat.get("zolbetuximab-1l").expect("zolbe");
    let at = |s: &str| case(&cldn18(s));
    assert_eq!(
        status_of(
            satri,
            &at("at_least = { intensity = \"2+\", percent = 40 }"),
            "cldn18-positive"
        ),
        Status::Met
    );
    assert_eq!(
        status_of(
            satri,
            &at("at_least = { intensity = \"2+\", percent = 39 }"),
            "cldn18-positive"
        ),
        Status::NotMet
    );
    // 1+ staining does not count, however widespread.
    assert_eq!(
        status_of(
            satri,
            &at("staining = { \"1+\" = 90, \"0\" = 10 }"),
            "cldn18-positive"
        ),
        Status::NotMet,
        "1+ and 0 add up to 100%: nothing is left for 2+/3+"
    );
    assert_eq!(
        status_of(satri, &at("staining = { \"1+\" = 50 }"), "cldn18-positive"),
        Status::Unknown,
        "2+/3+ not reported and half the cells unaccounted for"
    );
    assert_eq!(
        status_of(
            satri,
            &at("staining = { \"3+\" = 0, \"2+\" = 0, \"1+\" = 90, \"0\" = 10 }"),
            "cldn18-positive"
        ),
        Status::NotMet
    );
    assert_eq!(
        status_of(
            satri,
            &at("at_least = { intensity = \"1+\", percent = 90 }"),
            "cldn18-positive"
        ),
        Status::Unknown,
        "≥1+ in 90% cannot say how much is ≥2+"
    );
    assert_eq!(
        status_of(satri, &at("negative = true"), "cldn18-positive"),
        Status::NotMet
    );
    assert_eq!(
        status_of(
            zolbe,
            &at("at_least = { intensity = \"2+\", percent = 75 }"),
            "cldn18-positive-75"
        ),
        Status::Met
    );
    assert_eq!(
        status_of(
            zolbe,
            &at("at_least = { intensity = \"2+\", percent = 74.9 }"),
            "cldn18-positive-75"
        ),
        Status::NotMet
    );
    assert_eq!(
        status_of(satri, &case(""), "cldn18-positive"),
        Status::Unknown
    );
}

#[test]
fn her2_ihc_2_plus_needs_ish() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let ibi = cat.get("ibi343-g-hope-001").expect("ibi");
    let with = |her2: &str| case(&format!("\n[[her2]]\n{her2}\ndate = \"2026-10-02\"\n"));
    let equivocal = with("ihc = \"2+\"");
    assert_eq!(
        status_of(satri, &equivocal, "her2-negative"),
        Status::Unknown
    );
    assert_eq!(status_of(ibi, &equivocal, "her2-positive"), Status::Unknown);
    let negative = with("ihc = \"2+\"\nish = \"not-amplified\"");
    assert_eq!(status_of(satri, &negative, "her2-negative"), Status::Met);
    assert_eq!(
        status_of(ibi, &negative, "her2-positive"),
        Status::Met,
        "exclusion absent"
    );
    let positive = with("ihc = \"2+\"\nish = \"amplified\"");
    assert_eq!(status_of(satri, &positive, "her2-negative"), Status::NotMet);
    assert_eq!(status_of(ibi, &positive, "her2-positive"), Status::NotMet);
    let three = with("ihc = \"3+\"");
    assert_eq!(status_of(satri, &three, "her2-negative"), Status::NotMet);
}

#[test]
fn her2_ish_is_described_in_chinese_in_chinese_text() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let c = case("\n[[her2]]\nihc = \"2+\"\nish = \"not-amplified\"\ndate = \"2026-10-02\"\n");
    let r = result(satri, &c, "her2-negative");
    assert!(
        r.explanation.zh.contains("ISH 无扩增"),
        "{}",
        r.explanation.zh
    );
    assert!(
        !r.explanation.zh.contains("amplified"),
        "{}",
        r.explanation.zh
    );
    assert!(
        r.explanation.en.contains("ISH not amplified"),
        "{}",
        r.explanation.en
    );
}

#[test]
fn age_on_the_birthday_and_partial_birth_dates() {
    let cat = catalogue();
    // IBI343's protocol states ≥ 18 years (its source shows it); the satri-cel label's age
    // wording was not seen, so there age is a judgement item.
    let satri = cat.get("ibi343-g-hope-001").expect("ibi343");
    let born = |b: &str| native::from_toml(&BASE.replace("1969-03-14", b)).expect("case");
    // as_of is 2026-11-20.
    assert_eq!(status_of(satri, &born("2008-11-20"), "adult"), Status::Met);
    assert_eq!(
        status_of(satri, &born("2008-11-21"), "adult"),
        Status::NotMet
    );
    assert_eq!(status_of(satri, &born("2008-11"), "adult"), Status::Unknown);
    assert_eq!(status_of(satri, &born("2008-10"), "adult"), Status::Met);
    assert_eq!(status_of(satri, &born("2008"), "adult"), Status::Unknown);
    assert_eq!(status_of(satri, &born("2007"), "adult"), Status::Met);
    assert_eq!(status_of(satri, &born("2009"), "adult"), Status::NotMet);
}

#[test]
fn lines_and_failure() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let ibi = cat.get("ibi343-g-hope-001").expect("ibi");
    let zolbe = cat.get("zolbetuximab-1l").expect("zolbe");
    let c = case("");
    assert_eq!(status_of(satri, &c, "two-prior-lines"), Status::Met);
    assert_eq!(status_of(satri, &c, "last-line-failed"), Status::Met);
    assert_eq!(
        status_of(ibi, &c, "progressed-on-two-to-four-lines"),
        Status::Met
    );
    assert_eq!(
        status_of(zolbe, &c, "no-prior-therapy-for-advanced-disease"),
        Status::NotMet
    );

    // A third line stopped for intolerance: it failed (satri-cel's "progression or
    // intolerance"), but IBI343 asks for progression on it ("received and progressed on").
    let intolerant = case(
        "\n[[therapies]]\ndrug = \"irinotecan\"\nstart = \"2025-02-01\"\nend = \"2025-04-01\"\nsetting = \"advanced\"\nreason_stopped = \"intolerance\"\n",
    );
    assert_eq!(
        status_of(satri, &intolerant, "last-line-failed"),
        Status::Met
    );
    assert_eq!(
        status_of(ibi, &intolerant, "progressed-on-two-to-four-lines"),
        Status::NotMet
    );

    // Five lines: too many for IBI343 ("at most 4").
    let mut extra = String::new();
    for (i, (start, end, prog)) in [
        ("2025-02-01", "2025-04-01", "2025-04-10"),
        ("2025-05-01", "2025-07-01", "2025-07-10"),
        ("2025-08-01", "2025-10-01", "2025-10-10"),
    ]
    .iter()
    .enumerate()
    {
        extra.push_str(&format!(
            "\n[[therapies]]\ndrug = \"drug{i}-irinotecan\"\nstart = \"{start}\"\nend = \"{end}\"\nsetting = \"advanced\"\n\n[[progressions]]\ndate = \"{prog}\"\n"
        ));
    }
    let five = case(&extra);
    assert_eq!(
        status_of(ibi, &five, "progressed-on-two-to-four-lines"),
        Status::NotMet
    );
    assert_eq!(status_of(satri, &five, "two-prior-lines"), Status::Met);

    // Unknown history.
    let unknown =
        native::from_toml(BASE.split("[[therapies]]").next().expect("head")).expect("case");
    assert_eq!(
        status_of(satri, &unknown, "two-prior-lines"),
        Status::Unknown
    );
    // Recorded as none.
    let none = native::from_toml(&format!(
        "therapies = []\n{}",
        BASE.split("[[therapies]]").next().expect("head")
    ))
    .expect("case");
    assert_eq!(status_of(satri, &none, "two-prior-lines"), Status::NotMet);
    assert_eq!(
        status_of(zolbe, &none, "no-prior-therapy-for-advanced-disease"),
        Status::Met
    );
}

#[test]
fn no_therapy_within_four_weeks() {
    let cat = catalogue();
    let ibi = cat.get("ibi343-g-hope-001").expect("ibi");
    let last = |end: &str| {
        case(&format!(
            "\n[[therapies]]\ndrug = \"irinotecan\"\nstart = \"2025-02-01\"\nend = \"{end}\"\nsetting = \"advanced\"\n"
        ))
    };
    // as_of 2026-11-20; 28 days before is 2026-10-23.
    assert_eq!(
        status_of(ibi, &last("2026-10-22"), "recent-anticancer-therapy"),
        Status::Met
    );
    // Inside 28 days, but the washout is 4 weeks or 5 half-lives, whichever is shorter:
    // unknown with the reason, not excluded.
    let r = result(ibi, &last("2026-10-23"), "recent-anticancer-therapy");
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.explanation.en.contains("5 half-lives"),
        "{}",
        r.explanation.en
    );
    assert_eq!(
        status_of(ibi, &last("2026-10"), "recent-anticancer-therapy"),
        Status::Unknown
    );
    // No end date and no reason for stopping: the end is unknown, not "ongoing".
    let no_end = case(
        "\n[[therapies]]\ndrug = \"irinotecan\"\nstart = \"2025-02-01\"\nsetting = \"advanced\"\n",
    );
    let r = result(ibi, &no_end, "recent-anticancer-therapy");
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.explanation.en.contains("end is unknown")
            || r.explanation.en.contains("ended is unknown"),
        "{}",
        r.explanation.en
    );
    // Still given after the screening date: ongoing on it, so excluded.
    assert_eq!(
        status_of(ibi, &last("2027-01-10"), "recent-anticancer-therapy"),
        Status::NotMet
    );
}

#[test]
fn ecog_and_disease_extent() {
    let cat = catalogue();
    let ibi = cat.get("ibi343-g-hope-001").expect("ibi");
    let ecog2 = case("\n[[ecog]]\nscore = 2\ndate = \"2026-11-01\"\n");
    assert_eq!(
        status_of(ibi, &ecog2, "ecog-0-1"),
        Status::NotMet,
        "the newest ECOG counts"
    );
    assert_eq!(status_of(ibi, &case(""), "ecog-0-1"), Status::Met);

    let satri = cat.get("satri-cel-nmpa").expect("satri");
    // Stage IIB at diagnosis, then lines for advanced disease: advanced (the stage at
    // diagnosis does not override what came later).
    let later_advanced =
        native::from_toml(&BASE.replace("stage = \"IV\"", "stage = \"IIB\"").replace(
            "[[metastases]]\nsite = \"peritoneum\"\ndate = \"2024-01\"\n",
            "",
        ))
        .expect("case");
    assert_eq!(status_of(satri, &later_advanced, "advanced"), Status::Met);
    // Stage IIB with the treatment history known and nothing later: not advanced.
    let head = BASE
        .split("[[therapies]]")
        .next()
        .expect("head")
        .replace("stage = \"IV\"", "stage = \"IIB\"")
        .replace(
            "[[metastases]]\nsite = \"peritoneum\"\ndate = \"2024-01\"\n",
            "",
        );
    let quiet = native::from_toml(&head.replacen("[patient]", "therapies = []\n\n[patient]", 1))
        .expect("case");
    assert_eq!(status_of(satri, &quiet, "advanced"), Status::NotMet);
    // The same with a recurrence recorded: unknown, for the team, never "not advanced".
    let recurred = native::from_toml(&format!(
        "{}\n[[progressions]]\ndate = \"2026-05-01\"\nbasis = \"CT\"\n",
        head.replacen("[patient]", "therapies = []\n\n[patient]", 1)
    ))
    .expect("case");
    let r = result(satri, &recurred, "advanced");
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.explanation.en.contains("recurrence or progression"),
        "{}",
        r.explanation.en
    );
    // Stage III with no statement of resectability: unknown, not "not advanced".
    let stage3 = native::from_toml(
        &head
            .replace("stage = \"IIB\"", "stage = \"IIIB\"")
            .replacen("[patient]", "therapies = []\n\n[patient]", 1),
    )
    .expect("case");
    assert_eq!(status_of(satri, &stage3, "advanced"), Status::Unknown);
    // With no treatment history at all, an early stage says nothing about now.
    let no_history = native::from_toml(&head).expect("case");
    assert_eq!(status_of(satri, &no_history, "advanced"), Status::Unknown);
    let no_stage = native::from_toml(&BASE.replace("stage = \"IV\"\n", "").replace(
        "[[metastases]]\nsite = \"peritoneum\"\ndate = \"2024-01\"\n",
        "",
    ))
    .expect("case");
    // No stage and no metastasis, but lines given for advanced disease: advanced.
    assert_eq!(status_of(satri, &no_stage, "advanced"), Status::Met);
    let nothing = native::from_toml(&head.replace("stage = \"IIB\"\n", "")).expect("case");
    assert_eq!(status_of(satri, &nothing, "advanced"), Status::Unknown);
}

#[test]
fn squamous_histology_is_not_adenocarcinoma() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let c = native::from_toml(&BASE.replace("signet-ring-cell", "squamous-cell")).expect("case");
    assert_eq!(
        status_of(satri, &c, "gastric-or-gej-adenocarcinoma"),
        Status::NotMet
    );
    let gej =
        native::from_toml(&BASE.replace("site = \"stomach\"", "site = \"gej\"")).expect("case");
    assert_eq!(
        status_of(satri, &gej, "gastric-or-gej-adenocarcinoma"),
        Status::Met
    );
}

const TEST_PROGRAMME: &str = r#"
id = "lab-test"
name = { en = "Lab test", zh-CN = "检验测试" }
kind = "trial"
sponsor = "Test"
regions = ["CN"]

[status]
value = "open"
as_of = "2026-01"
source = "s"

[[sources]]
id = "s"
title = "Test source"
url = "https://example.org/"

[[criteria]]
id = "neutrophils"
kind = "inclusion"
text = { en = "ANC ≥ 1.5", zh-CN = "ANC ≥ 1.5" }
rule = { lab = { test = "neutrophils", min = 1.5, unit = "10*9/L" } }
source = "s"
request = { en = "Blood count", zh-CN = "血常规" }

[[criteria]]
id = "haemoglobin"
kind = "inclusion"
text = { en = "Hb ≥ 90 g/L", zh-CN = "Hb ≥ 90 g/L" }
rule = { lab = { test = "haemoglobin", min = 90, unit = "g/L" } }
source = "s"
request = { en = "Blood count", zh-CN = "血常规" }

[[criteria]]
id = "bilirubin"
kind = "inclusion"
text = { en = "Bilirubin ≤ 1.5 × ULN", zh-CN = "胆红素 ≤ 1.5 × ULN" }
rule = { lab = { test = "bilirubin", max_uln = 1.5 } }
source = "s"
request = { en = "Liver function", zh-CN = "肝功能" }

[[criteria]]
id = "ast-with-liver-mets"
kind = "inclusion"
text = { en = "AST ≤ 5 × ULN", zh-CN = "AST ≤ 5 × ULN" }
rule = { lab = { test = "ast", max_uln = 5 } }
applies_when = { advanced = true }
source = "s"
request = { en = "Liver function", zh-CN = "肝功能" }

[[criteria]]
id = "pdl1-or-msi"
kind = "inclusion"
text = { en = "PD-L1 CPS ≥ 5 or MSI-high", zh-CN = "PD-L1 CPS ≥ 5 或 MSI-H" }
rule = { any = [{ biomarker = { marker = "PD-L1", min_cps = 5 } }, { biomarker = { marker = "MSI", status = "high" } }] }
source = "s"
request = { en = "PD-L1 and MSI", zh-CN = "PD-L1 和 MSI" }

[[criteria]]
id = "not-over-75"
kind = "inclusion"
text = { en = "Age ≤ 75", zh-CN = "年龄 ≤ 75" }
rule = { age_at_most = 75 }
source = "s"
request = { en = "Birth date", zh-CN = "出生日期" }
"#;

fn lab_programme() -> Programme {
    Programme::from_toml("lab-test.toml", TEST_PROGRAMME).expect("test programme")
}

#[test]
fn lab_rules_units_and_uln() {
    let p = lab_programme();
    let labs = |body: &str| case(&format!("\n{body}\n"));
    let c = labs(
        "[[labs]]\ntest = \"neutrophils\"\nvalue = 1.5\nunit = \"10*9/L\"\ndate = \"2026-11-01\"\n\n\
         [[labs]]\ntest = \"haemoglobin\"\nvalue = 9.0\nunit = \"g/dL\"\ndate = \"2026-11-01\"\n\n\
         [[labs]]\ntest = \"bilirubin\"\nvalue = 30\nunit = \"umol/L\"\nuln = 20\ndate = \"2026-11-01\"\n",
    );
    assert_eq!(status_of(&p, &c, "neutrophils"), Status::Met, "1.5 ≥ 1.5");
    assert_eq!(
        status_of(&p, &c, "haemoglobin"),
        Status::Met,
        "9 g/dL = 90 g/L"
    );
    assert_eq!(status_of(&p, &c, "bilirubin"), Status::Met, "30 ≤ 1.5 × 20");
    let c = labs(
        "[[labs]]\ntest = \"neutrophils\"\nvalue = 1.49\nunit = \"10*9/L\"\n\n\
         [[labs]]\ntest = \"bilirubin\"\nvalue = 30.1\nunit = \"umol/L\"\nuln = 20\n\n\
         [[labs]]\ntest = \"haemoglobin\"\nvalue = 90\nunit = \"U/L\"\n",
    );
    assert_eq!(status_of(&p, &c, "neutrophils"), Status::NotMet);
    assert_eq!(status_of(&p, &c, "bilirubin"), Status::NotMet);
    assert_eq!(
        status_of(&p, &c, "haemoglobin"),
        Status::Unknown,
        "incomparable unit"
    );
    let c = labs("[[labs]]\ntest = \"bilirubin\"\nvalue = 10\nunit = \"umol/L\"\n");
    assert_eq!(status_of(&p, &c, "bilirubin"), Status::Unknown, "no ULN");
}

#[test]
fn not_applicable_any_and_age_at_most() {
    let p = lab_programme();
    let head = BASE.split("[[therapies]]").next().expect("head");
    let localised = native::from_toml(
        &head
            .replace("stage = \"IV\"", "stage = \"II\"")
            .replace(
                "[[metastases]]\nsite = \"peritoneum\"\ndate = \"2024-01\"\n",
                "",
            )
            .replacen("[patient]", "therapies = []\n\n[patient]", 1),
    )
    .expect("case");
    assert_eq!(
        status_of(&p, &localised, "ast-with-liver-mets"),
        Status::NotApplicable
    );
    assert_eq!(
        status_of(&p, &case(""), "ast-with-liver-mets"),
        Status::Unknown
    );

    let msi = case("\n[[msi]]\nstatus = \"msi-high\"\n");
    assert_eq!(
        status_of(&p, &msi, "pdl1-or-msi"),
        Status::Met,
        "any: one true is enough"
    );
    let low = case("\n[[pdl1]]\ncps = 1\n");
    assert_eq!(
        status_of(&p, &low, "pdl1-or-msi"),
        Status::Unknown,
        "MSI unknown"
    );
    let both = case("\n[[pdl1]]\ncps = 1\n\n[[msi]]\nstatus = \"mss\"\n");
    assert_eq!(status_of(&p, &both, "pdl1-or-msi"), Status::NotMet);
    assert_eq!(status_of(&p, &case(""), "not-over-75"), Status::Met);
}

#[test]
fn verdicts_requests_and_ordering() {
    let cat = catalogue();
    let c = case("");
    let results = screen(&cat, &c, as_of(), &[]);
    assert_eq!(results.len(), cat.programmes().len());
    // Best first, and the order of verdicts never goes back.
    for pair in results.windows(2) {
        assert!(pair[0].verdict <= pair[1].verdict);
    }
    let satri = results
        .iter()
        .find(|r| r.programme == "satri-cel-nmpa")
        .expect("satri");
    assert_eq!(satri.verdict, Verdict::NeedsInformation);
    let unknown: Vec<&str> = satri.unknowns().map(|c| c.id.as_str()).collect();
    assert_eq!(unknown, ["cldn18-positive"]);
    let request = satri
        .unknowns()
        .next()
        .and_then(|c| c.request.as_ref())
        .expect("request");
    assert!(request.en.contains("43-14A"));
    assert!(request.zh.contains("免疫组化"));
    // Judgement items are listed and never decide (age: the label's wording was not seen;
    // fitness: no published thresholds).
    assert_eq!(satri.judgements().count(), 2);
    // A closed trial blocks on its status.
    let st01 = results
        .iter()
        .find(|r| r.programme == "ct041-st-01")
        .expect("st01");
    assert_eq!(st01.verdict, Verdict::Ineligible);
    assert_eq!(
        st01.blocking().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["programme-status"]
    );
    // Explanations exist in both languages for every criterion.
    for r in &results {
        for c in &r.criteria {
            assert!(
                !c.explanation.en.is_empty() && !c.explanation.zh.is_empty(),
                "{}",
                c.id
            );
            assert_eq!(c.request.is_some(), c.status == Status::Unknown, "{}", c.id);
        }
    }
    let json = cellpath_eligibility::eval::localise(&results, Lang::ZhCn);
    assert!(
        json[0]["criteria"][0]["text"]
            .as_str()
            .is_some_and(|t| !t.is_ascii())
    );
}

#[test]
fn results_dated_after_as_of_are_not_used() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let c = case(&cldn18("at_least = { intensity = \"2+\", percent = 60 }"));
    let before = Facts::new(&c, Date::parse("2026-09-01").expect("date"));
    let r = evaluate(satri, &before);
    let cl = r
        .criteria
        .iter()
        .find(|x| x.id == "cldn18-positive")
        .expect("c");
    assert_eq!(cl.status, Status::Unknown);
}

#[test]
fn shipped_catalogue_matches_the_catalogue_folder() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalogue");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("catalogue dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut shipped: Vec<String> = cellpath_eligibility::SHIPPED_FILES
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    shipped.sort();
    assert_eq!(on_disk, shipped, "add new catalogue files to SHIPPED_FILES");
    let cat = catalogue();
    for id in [
        "satri-cel-nmpa",
        "zolbetuximab-1l",
        "ct041-st-01",
        "ct041-st-02",
        "ct041-st-05",
        "ibi343-g-hope-001",
    ] {
        assert!(cat.get(id).is_some(), "{id}");
    }
}

#[test]
fn conflicting_her2_results_are_for_the_mdt_with_every_result_shown() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    // IHC 3+ in 2023, then IHC 0 in 2026: not "HER2-negative: met".
    let c = native::from_toml(&BASE.replace(
        "[[her2]]\nihc = \"1+\"\ndate = \"2024-01-20\"\n",
        "[[her2]]\nihc = \"3+\"\ndate = \"2023-05-02\"\n\n[[her2]]\nihc = \"0\"\ndate = \"2026-10-01\"\n",
    ))
    .expect("case");
    let r = result(satri, &c, "her2-negative");
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.explanation.en.contains("conflict"),
        "{}",
        r.explanation.en
    );
    assert!(
        r.evidence
            .iter()
            .any(|e| e.en.contains("3+") && e.en.contains("2023-05-02")),
        "{:?}",
        r.evidence
    );
    assert!(
        r.evidence.iter().any(|e| e.en.contains("2026-10-01")),
        "{:?}",
        r.evidence
    );
    // An old HER2 result is flagged as CLDN18.2 results are.
    let old = case("");
    let r = result(satri, &old, "her2-negative");
    assert_eq!(r.status, Status::Met);
    assert!(
        r.explanation.en.contains("more than 3 months old"),
        "{}",
        r.explanation.en
    );
}

#[test]
fn a_screen_as_of_a_past_date_ignores_later_history_and_status() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    // Two lines ending in 2024 and 2025; as of 2024-08-01 only the first had happened.
    let c = case(
        "\n[[therapies]]\ndrug = \"paclitaxel\"\nstart = \"2024-08-10\"\nend = \"2025-01-10\"\nsetting = \"advanced\"\n\n[[therapies]]\ndrug = \"ramucirumab\"\nstart = \"2024-08-10\"\nend = \"2025-01-10\"\nsetting = \"advanced\"\n\n[[progressions]]\ndate = \"2025-01-20\"\n",
    );
    let now = evaluate(satri, &Facts::new(&c, as_of()));
    let then = evaluate(
        satri,
        &Facts::new(&c, Date::parse("2024-08-01").expect("date")),
    );
    let lines = |r: &cellpath_eligibility::ProgrammeResult| {
        r.criteria
            .iter()
            .find(|x| x.id == "two-prior-lines")
            .map(|x| x.status)
    };
    assert_eq!(lines(&now), Some(Status::Met));
    assert_eq!(
        lines(&then),
        Some(Status::NotMet),
        "the second line came later"
    );
    // The programme's status is dated 2026-06-22: on 2024-08-01 it is not known.
    let status = then
        .criteria
        .iter()
        .find(|x| x.id == "programme-status")
        .expect("status");
    assert_eq!(status.status, Status::Unknown);
    assert!(status.explanation.en.contains("after the screening date"));
}

#[test]
fn a_recorded_ecog_4_is_never_hidden_behind_an_eligible_verdict() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let c = native::from_toml(&format!(
        "{}{}",
        BASE.replace(
            "[[ecog]]\nscore = 1\ndate = \"2026-10-30\"\n",
            "[[ecog]]\nscore = 4\ndate = \"2026-11-02\"\n",
        ),
        cldn18("at_least = { intensity = \"2+\", percent = 60 }")
    ))
    .expect("case");
    let r = evaluate(satri, &Facts::new(&c, as_of()));
    assert_eq!(r.verdict, cellpath_eligibility::Verdict::Eligible);
    // Judgement items stay out of the automatic verdict…
    let fitness = r
        .criteria
        .iter()
        .find(|x| x.id == "fitness-for-car-t")
        .expect("fitness");
    assert_eq!(
        fitness.recorded[0].en, "ECOG 4 recorded on 2026-11-02",
        "{:?}",
        fitness.recorded
    );
    // …but the verdict says they are pending, with the recorded facts, in both languages.
    let text = cellpath_eligibility::eval::verdict_text(&r, cellpath_eligibility::Lang::En);
    assert!(text.contains("clinician judgement pending"), "{text}");
    assert!(text.contains("ECOG 4 recorded on 2026-11-02"), "{text}");
    let zh = cellpath_eligibility::eval::verdict_text(&r, cellpath_eligibility::Lang::ZhCn);
    assert!(zh.contains("尚待临床判断") && zh.contains("ECOG 4"), "{zh}");
    let json = cellpath_eligibility::eval::localise(
        std::slice::from_ref(&r),
        cellpath_eligibility::Lang::En,
    );
    let pending = json[0]["judgement_pending"]
        .as_array()
        .expect("pending")
        .iter()
        .find(|p| p["id"] == "fitness-for-car-t")
        .expect("fitness pending");
    assert_eq!(pending["recorded"][0], "ECOG 4 recorded on 2026-11-02");
    // Every criterion in the JSON carries its source.
    assert!(
        json[0]["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .all(|c| c["source"].as_str().is_some_and(|s| !s.is_empty())),
        "{:#}",
        json[0]
    );
}

#[test]
fn zolbetuximab_accepts_only_the_approved_clone() {
    let cat = catalogue();
    let zolbe = cat.get("zolbetuximab-1l").expect("zolbetuximab");
    let high = "at_least = { intensity = \"2+\", percent = 80 }";
    assert_eq!(
        status_of(zolbe, &case(&cldn18(high)), "cldn18-positive-75"),
        Status::Met
    );
    let other = cldn18(high).replace("clone = \"43-14A\"", "clone = \"EPR19202\"");
    let r = result(zolbe, &case(&other), "cldn18-positive-75");
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.explanation.en.contains("clone EPR19202"),
        "{}",
        r.explanation.en
    );
    // The value is said as it is, only the assay is in question.
    assert!(
        r.explanation.en.contains("which meets the threshold"),
        "{}",
        r.explanation.en
    );
    assert!(
        !r.explanation.en.contains("cannot be compared"),
        "{}",
        r.explanation.en
    );
    // The approved assay written under its own name (as the FHIR example imports it).
    let named = cldn18(high).replace(
        "clone = \"43-14A\"",
        "clone = \"VENTANA CLDN18 (43-14A) RxDx\"",
    );
    assert_eq!(
        status_of(zolbe, &case(&named), "cldn18-positive-75"),
        Status::Met
    );
    let none = cldn18(high).replace("clone = \"43-14A\"\n", "");
    let r = result(zolbe, &case(&none), "cldn18-positive-75");
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.explanation.en.contains("clone is not recorded"),
        "{}",
        r.explanation.en
    );
}

#[test]
fn satri_cel_age_is_not_credited_to_a_source_that_does_not_say_it() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let c = satri
        .criteria()
        .find(|c| c.id == "adult")
        .expect("adult criterion");
    assert!(
        c.judgement && c.rule.is_none(),
        "no rule without a source for it"
    );
    let note = c.note.as_ref().expect("note");
    assert!(note.en.contains("\"patients\""), "{}", note.en);
}

#[test]
fn ibi343_is_recorded_as_recruiting_with_its_date() {
    let cat = catalogue();
    let ibi = cat.get("ibi343-g-hope-001").expect("ibi");
    let r = result(ibi, &case(""), "programme-status");
    // Read on 2025-08-24, screened on 2026-11-20: too old to stand (issue 27).
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.explanation.en.contains("2025-08-24") && r.explanation.en.contains("confirm with a site"),
        "{}",
        r.explanation.en
    );
    assert!(
        r.evidence.iter().any(|e| e.en.contains("2025-08-24")),
        "{:?}",
        r.evidence
    );
}

#[test]
fn ct041_st_05_needs_a_resection_and_adjuvant_timing() {
    let cat = catalogue();
    let st05 = cat.get("ct041-st-05").expect("st05");
    let resected = native::from_toml(include_str!(
        "../../../examples/cases/pancreas-resected.toml"
    ))
    .expect("example");
    assert_eq!(
        status_of(st05, &resected, "resected-no-recurrence"),
        Status::Met
    );
    assert_eq!(status_of(st05, &resected, "ca19-9-abnormal"), Status::Met);
    // An unresected localised stage III pancreatic cancer with no therapy recorded meets
    // neither (before: both were met).
    let unresected = native::from_toml(
        r#"
[patient]
birth_date = "1960-01-01"

[primary]
site = "pancreas"
histology = "ductal-adenocarcinoma"
stage = "III"
extent = "localised"

[[labs]]
test = "ca19-9"
value = 120
unit = "U/mL"
uln = 37
date = "2026-10-01"
"#,
    )
    .expect("case");
    assert_ne!(
        status_of(st05, &unresected, "resected-no-recurrence"),
        Status::Met
    );
    assert_ne!(status_of(st05, &unresected, "ca19-9-abnormal"), Status::Met);
    // Adjuvant therapy recorded, but the CA19-9 was taken after 30 days: unknown, not met.
    let early = native::from_toml(
        &include_str!("../../../examples/cases/pancreas-resected.toml")
            .replace("date = \"2026-07-20\"", "date = \"2026-05-15\""),
    )
    .expect("case");
    let r = result(st05, &early, "ca19-9-abnormal");
    assert_eq!(r.status, Status::Unknown, "{}", r.explanation.en);
    assert!(
        r.explanation.en.contains("only 30 days later"),
        "{}",
        r.explanation.en
    );
    // No adjuvant therapy in a known history: not met.
    let none = native::from_toml(
        &include_str!("../../../examples/cases/pancreas-resected.toml")
            .replace("setting = \"adjuvant\"", "setting = \"advanced\""),
    )
    .expect("case");
    assert_eq!(status_of(st05, &none, "ca19-9-abnormal"), Status::NotMet);
}

#[test]
fn phase_1_figures_are_credited_to_nature_medicine_not_the_lancet() {
    let cat = catalogue();
    let st01 = cat.get("ct041-st-01").expect("st01");
    let c = st01
        .criteria()
        .find(|c| c.id == "other-trial-criteria")
        .expect("criterion");
    let note = c.note.as_ref().expect("note");
    assert!(
        note.en.contains("Nature Medicine 2022, Table 1"),
        "{}",
        note.en
    );
    assert!(note.zh.contains("Nature Medicine 2022"), "{}", note.zh);
}

/// A trial's "recruiting" read more than six months before the screening date is no longer
/// believed (confirm with a site); an approved label's status stands (clinical review,
/// issue 27: IBI343's August 2025 "recruiting" counted as open in November 2026).
#[test]
fn a_trial_status_older_than_six_months_is_unknown_a_label_stands() {
    let cat = catalogue();
    let ibi = cat.get("ibi343-g-hope-001").expect("ibi");
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let c = case("");
    let status = |p: &Programme, d: &str| {
        let r = evaluate(p, &Facts::new(&c, Date::parse(d).expect("date")));
        r.criteria
            .into_iter()
            .find(|x| x.id == cellpath_eligibility::eval::STATUS_CRITERION_ID)
            .expect("status")
    };
    // IBI343's status was read on 2025-08-24.
    assert_eq!(status(ibi, "2025-12-01").status, Status::Met);
    let late = status(ibi, "2026-11-20");
    assert_eq!(late.status, Status::Unknown);
    assert!(
        late.explanation.en.contains("confirm with a site"),
        "{}",
        late.explanation.en
    );
    assert!(late.request.is_some());
    // The label's status (approved 2026-06-22) stands years later.
    assert_eq!(status(satri, "2028-11-20").status, Status::Met);
}

/// A 16-year-old with every encoded criterion met is not "eligible" for the satri-cel label,
/// whose studied population was adults: the age judgement shows the age, and the verdict
/// waits for it (clinical review, issue 27).
#[test]
fn a_minor_is_never_eligible_where_age_is_a_judgement() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let staining = cldn18("staining = { \"3+\" = 20, \"2+\" = 40, \"1+\" = 20, \"0\" = 20 }");
    let adult = case(&staining);
    assert_eq!(
        evaluate(satri, &Facts::new(&adult, as_of())).verdict,
        Verdict::Eligible
    );
    let minor = native::from_toml(&format!("{BASE}{staining}").replace("1969-03-14", "2010-03-14"))
        .expect("case");
    let r = evaluate(satri, &Facts::new(&minor, as_of()));
    assert_eq!(r.verdict, Verdict::NeedsInformation);
    assert_eq!(
        cellpath_eligibility::eval::verdict(satri, &Facts::new(&minor, as_of())),
        Verdict::NeedsInformation
    );
    // The re-screen's summary decides the same (the property test found it did not).
    assert_eq!(
        cellpath_eligibility::eval::summarise(satri, &Facts::new(&minor, as_of())).verdict,
        Verdict::NeedsInformation
    );
    let age = r.criteria.iter().find(|c| c.id == "adult").expect("adult");
    assert!(
        age.recorded.iter().any(|b| b.en.contains("age 16")),
        "{:?}",
        age.recorded
    );
}

/// The label's CLDN18.2 threshold is the pivotal trial's (the label does not publish one):
/// a verdict resting on it says so in its line, in both languages (clinical review, issue 27).
#[test]
fn a_verdict_resting_on_a_borrowed_rule_says_so() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let c = case(&cldn18(
        "staining = { \"3+\" = 20, \"2+\" = 40, \"1+\" = 20, \"0\" = 20 }",
    ));
    let r = evaluate(satri, &Facts::new(&c, as_of()));
    assert_eq!(r.verdict, Verdict::Eligible);
    let en = cellpath_eligibility::eval::verdict_text(&r, Lang::En);
    assert!(
        en.contains("borrowed rule") && en.contains("CT041-ST-01"),
        "{en}"
    );
    let zh = cellpath_eligibility::eval::verdict_text(&r, Lang::ZhCn);
    assert!(zh.contains("借自") && zh.contains("CT041-ST-01"), "{zh}");
    // Below the threshold, ineligible: it rests on the same borrowed rule.
    let low = case(&cldn18(
        "staining = { \"3+\" = 10, \"2+\" = 10, \"1+\" = 40, \"0\" = 40 }",
    ));
    let r = evaluate(satri, &Facts::new(&low, as_of()));
    assert_eq!(r.verdict, Verdict::Ineligible);
    assert!(cellpath_eligibility::eval::verdict_text(&r, Lang::En).contains("borrowed rule"));
}
