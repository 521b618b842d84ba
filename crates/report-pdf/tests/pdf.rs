//! The PDF of the example report: made, valid, reproducible, saying what it is, every
//! character of both languages covered by a shipped font.

use cellpath_domain::Lang;
use cellpath_report::{Kind, sample};
use cellpath_report_pdf::{claim, pdf, uncovered};

#[test]
fn the_pdf_is_a_reproducible_pdf_a_that_says_what_it_is() {
    for (kind, lang) in [(Kind::Mdt, Lang::En), (Kind::Patient, Lang::ZhCn)] {
        let r = sample(kind, lang);
        let a = pdf(&r).expect("the report is laid out");
        std::fs::write(format!("/tmp/report-{}-{}.pdf", kind.as_str(), r.lang), &a).ok();
        assert!(a.starts_with(b"%PDF-"));
        let b = pdf(&r).expect("again");
        assert!(a == b, "the same report makes the same bytes");
        let c = claim(&a).expect("the PDF names its report");
        assert_eq!(
            (c.case_id.as_str(), c.version, c.kind),
            ("c-demo-1", 2, kind)
        );
        assert_eq!((c.lang, c.code.as_str()), (lang, r.code.as_str()));
    }
}

#[test]
fn every_character_of_both_languages_has_a_glyph() {
    for kind in [Kind::Mdt, Kind::Patient] {
        for lang in [Lang::En, Lang::ZhCn] {
            let r = sample(kind, lang);
            assert_eq!(uncovered(&r), Vec::<char>::new(), "{kind:?} {lang:?}");
        }
    }
}
