//! What the treatment history leaves open is unknown, never a count that blocks or a setting
//! that decides (clinical review, issue 27, items 6 and 13).

use super::*;

/// Screens the base case with the extra TOML and returns one criterion's status.
fn status(programme: &str, extra: &str, id: &str) -> Status {
    let cat = catalogue();
    let p = cat.get(programme).expect("programme");
    status_of(p, &case(extra), id)
}

#[test]
fn an_unidentified_medication_after_the_lines_leaves_the_count_and_the_last_line_open() {
    // Two lines, then a medication the import could not identify, given for the cancer.
    let extra =
        "\n[[therapies]]\ndrug = \"RxNorm 1597574\"\nstart = \"2025-02-01\"\nunidentified = true\n";
    // Satri-cel needs at least two: met however many the unknown drug adds.
    assert_eq!(
        status("satri-cel-nmpa", extra, "two-prior-lines"),
        Status::Met
    );
    // But which line was last, and whether it failed, is not known.
    assert_eq!(
        status("satri-cel-nmpa", extra, "last-line-failed"),
        Status::Unknown
    );
    // Zolbetuximab (no prior therapy for advanced disease) is decided either way.
    assert_eq!(
        status(
            "zolbetuximab-1l",
            extra,
            "no-prior-therapy-for-advanced-disease"
        ),
        Status::NotMet
    );
    let r = {
        let cat = catalogue();
        let p = cat.get("satri-cel-nmpa").expect("satri");
        result(p, &case(extra), "last-line-failed")
    };
    assert!(
        r.explanation.en.contains("could not be identified"),
        "{}",
        r.explanation.en
    );
}

#[test]
fn a_regimen_of_unknown_setting_does_not_make_a_definite_count() {
    // One line for advanced disease, and before it a regimen with no setting, in a patient
    // whose cancer was not stage IV at diagnosis: it may be adjuvant (no line) or a line.
    let toml = r#"
[patient]
birth_date = "1969-03-14"

[primary]
site = "stomach"
histology = "adenocarcinoma"
stage = "II"
diagnosed = "2022-01"

[[therapies]]
drug = "capecitabine"
start = "2022-03-01"
end = "2022-08-01"

[[progressions]]
date = "2024-01-10"

[[therapies]]
drug = "oxaliplatin"
start = "2024-02-01"
end = "2024-07-15"
setting = "advanced"

[[progressions]]
date = "2024-07-20"
"#;
    let c = native::from_toml(toml).expect("case");
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    // 1 or 2 prior lines: satri-cel's "at least two" is unknown, not "not met".
    let r = result(satri, &c, "two-prior-lines");
    assert_eq!(r.status, Status::Unknown, "{}", r.explanation.en);
    assert!(r.explanation.en.contains("1 to 2"), "{}", r.explanation.en);
    assert!(r.explanation.zh.contains("1 至 2"), "{}", r.explanation.zh);
    // With the setting recorded as adjuvant, it is decided.
    let adjuvant = toml.replacen(
        "end = \"2022-08-01\"\n",
        "end = \"2022-08-01\"\nsetting = \"adjuvant\"\n",
        1,
    );
    let c = native::from_toml(&adjuvant).expect("case");
    assert_eq!(status_of(satri, &c, "two-prior-lines"), Status::NotMet);
}

#[test]
fn a_resected_cancer_with_therapy_of_unknown_setting_is_not_made_advanced() {
    // The review's vignette: a resected pancreatic cancer, disease-free, with adjuvant
    // therapy recorded without its setting.
    let toml = r#"
[patient]
birth_date = "1961-05-02"

[primary]
site = "pancreas"
histology = "ductal-adenocarcinoma"
stage = "IIB"

[[therapies]]
drug = "gemcitabine"
start = "2025-03-01"
end = "2025-08-15"
"#;
    let c = native::from_toml(toml).expect("case");
    let f = Facts::new(&c, as_of());
    assert_ne!(
        f.advanced.0,
        cellpath_eligibility::eval::Tri::True,
        "{}",
        f.advanced.1
    );
    assert_eq!(
        f.advanced.0,
        cellpath_eligibility::eval::Tri::Unknown,
        "{}",
        f.advanced.1
    );
    assert!(
        f.advanced.1.contains("no recorded setting"),
        "{}",
        f.advanced.1
    );
}

#[test]
fn fitness_judgement_shows_serology_pregnancy_and_lvef_as_recorded() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let none = result(satri, &case(""), "fitness-for-car-t");
    let shown = |r: &cellpath_eligibility::eval::CriterionResult| {
        r.recorded
            .iter()
            .map(|b| b.en.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let text = shown(&none);
    assert!(
        text.contains("hepatitis B/C and HIV tests not recorded"),
        "{text}"
    );
    assert!(text.contains("pregnancy status not recorded"), "{text}");
    assert!(text.contains("LVEF not recorded"), "{text}");
    let extra = r#"
[[infections]]
marker = "hbsag"
result = "negative"
date = "2026-10-20"

[[infections]]
marker = "hiv"
result = "negative"
date = "2026-10-20"

[[pregnancy]]
status = "not-pregnant"
date = "2026-11-01"

[[lvef]]
percent = 62
date = "2026-10-25"
"#;
    let r = result(satri, &case(extra), "fitness-for-car-t");
    let text = shown(&r);
    assert!(
        text.contains("HBsAg negative / not detected (2026-10-20)"),
        "{text}"
    );
    assert!(
        text.contains("pregnancy test negative (2026-11-01)"),
        "{text}"
    );
    assert!(text.contains("LVEF 62 % (2026-10-25)"), "{text}");
    let zh = r
        .recorded
        .iter()
        .map(|b| b.zh.clone())
        .collect::<Vec<_>>()
        .join("；");
    assert!(zh.contains("左心室射血分数 62 %"), "{zh}");
    // The request names the pregnancy test.
    assert!(
        r.request
            .as_ref()
            .is_some_and(|q| q.en.contains("pregnancy test"))
    );
}

/// The 6-month (neo)adjuvant rule is IBI343's: when a count another programme decides on
/// rests on it, the verdict line says so; when no (neo)adjuvant line is involved it does
/// not (clinical review, issue 27, item 20).
#[test]
fn a_count_resting_on_the_borrowed_adjuvant_rule_says_so_in_the_verdict() {
    let cat = catalogue();
    let satri = cat.get("satri-cel-nmpa").expect("satri");
    let ibi = cat.get("ibi343-g-hope-001").expect("ibi");
    let borrowed = |p: &Programme, c: &Case, id: &str| result(p, c, id).borrowed;
    // The base case: two lines for advanced disease, no adjuvant therapy.
    assert!(borrowed(satri, &case(""), "two-prior-lines").is_none());
    // Adjuvant capecitabine with relapse within six months: counted by the rule.
    let adjuvant = "\n[[therapies]]\ndrug = \"capecitabine\"\nstart = \"2023-03-01\"\nend = \"2023-08-01\"\nsetting = \"adjuvant\"\n";
    let c = case(&format!(
        "{adjuvant}{}",
        cldn18("at_least = { intensity = \"2+\", percent = 60 }")
    ));
    let b = borrowed(satri, &c, "two-prior-lines").expect("borrowed");
    assert!(b.en.contains("IBI343"), "{}", b.en);
    let r = evaluate(satri, &Facts::new(&c, as_of()));
    let line = cellpath_eligibility::eval::verdict_text(&r, Lang::En);
    assert!(line.contains("6-month rule"), "{line}");
    let zh = cellpath_eligibility::eval::verdict_text(&r, Lang::ZhCn);
    assert!(zh.contains("6 个月规则"), "{zh}");
    // IBI343's own rule is not borrowed for IBI343.
    assert!(borrowed(ibi, &c, "progressed-on-two-to-four-lines").is_none());
}
