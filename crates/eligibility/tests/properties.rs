//! Properties of the evaluator over random cases: it is deterministic, the fast verdict
//! agrees with the explained one, and turning one unknown fact into a known one changes
//! only the criteria that read it.

use std::collections::BTreeSet;

use cellpath_domain::{
    CancerSite, Case, Cldn18Result, Date, Ecog, EcogResult, Extent, Her2Result, Histology,
    Intensity, IshResult, LabResult, LabTest, Metastasis, MsiResult, MsiStatus, PartialDate,
    Patient, Pdl1Result, PerIntensity, Percent, PrimaryCancer, ProgressionEvent, Staining,
    SystemicTherapy, TherapySetting, Unit,
};
use cellpath_eligibility::catalogue::Fact;
use cellpath_eligibility::{
    Catalogue, Programme, Status, evaluate, facts::Facts, shipped, summarise, verdict,
};
use proptest::prelude::*;

fn date(days: i64) -> Date {
    Date::parse("2020-01-01").expect("date").add_days(days)
}

fn partial() -> impl Strategy<Value = PartialDate> {
    (0i64..2500, 0u8..3).prop_map(|(d, precision)| {
        let full = date(d);
        let text = match precision {
            0 => full.to_string(),
            1 => full.to_string()[..7].to_owned(),
            _ => full.to_string()[..4].to_owned(),
        };
        PartialDate::parse(&text).expect("partial")
    })
}

fn pct() -> impl Strategy<Value = Percent> {
    (0u32..=100).prop_map(|p| Percent::new(f64::from(p)).expect("pct"))
}

fn cldn18() -> impl Strategy<Value = Cldn18Result> {
    let staining = prop_oneof![
        Just(Staining::Negative),
        ((0u8..4), pct()).prop_map(|(i, p)| Staining::AtLeast {
            intensity: Intensity::new(i).expect("i"),
            percent: p
        }),
        (0u32..=40, 0u32..=30, 0u32..=30).prop_map(|(a, b, c)| {
            let p = |v: u32| Percent::new(f64::from(v)).ok();
            Staining::PerIntensity(PerIntensity {
                three: p(a),
                two: p(b),
                one: p(c),
                zero: p(100 - a - b - c),
            })
        }),
    ];
    (staining, proptest::option::of(partial())).prop_map(|(staining, d)| Cldn18Result {
        staining,
        clone: Some("43-14A".into()),
        specimen: None,
        specimen_date: d,
        preliminary: false,
        source: None,
    })
}

fn her2() -> impl Strategy<Value = Her2Result> {
    (
        proptest::option::of(0u8..4),
        proptest::option::of(prop_oneof![
            Just(IshResult::Amplified),
            Just(IshResult::NotAmplified)
        ]),
    )
        .prop_map(|(ihc, ish)| Her2Result {
            ihc: ihc.map(|i| Intensity::new(i).expect("ihc")),
            ish,
            interpretation: None,
            date: None,
            preliminary: false,
            source: None,
        })
}

fn therapies() -> impl Strategy<Value = (Vec<SystemicTherapy>, Vec<ProgressionEvent>)> {
    (
        proptest::collection::vec((0i64..2400, 0i64..200, any::<bool>()), 0..6),
        proptest::collection::vec(0i64..2500, 0..4),
    )
        .prop_map(|(ts, ps)| {
            let therapies = ts
                .into_iter()
                .enumerate()
                .map(|(i, (start, len, adjuvant))| SystemicTherapy {
                    drug: format!("drug{i}"),
                    start: PartialDate::from_date(date(start)),
                    end: Some(PartialDate::from_date(date(start + len))),
                    setting: if adjuvant {
                        TherapySetting::Adjuvant
                    } else {
                        TherapySetting::Advanced
                    },
                    reason_stopped: None,
                    other_cancer: None,
                    unidentified: false,
                    source: None,
                })
                .collect();
            let progressions = ps
                .into_iter()
                .map(|d| ProgressionEvent {
                    date: PartialDate::from_date(date(d)),
                    basis: None,
                    source: None,
                })
                .collect();
            (therapies, progressions)
        })
}

const SITES: [CancerSite; 4] = [
    CancerSite::Stomach,
    CancerSite::Gej,
    CancerSite::Pancreas,
    CancerSite::Lung,
];
const HISTOLOGIES: [Histology; 3] = [
    Histology::Adenocarcinoma,
    Histology::SignetRingCell,
    Histology::SquamousCell,
];

/// Every fact filled in at random.
fn full_case() -> impl Strategy<Value = Case> {
    (
        (partial(), 0usize..4, 0usize..3, 0u8..5, any::<bool>()),
        (cldn18(), her2(), 0i64..=5, therapies()),
        (0.0f64..200.0, 1u32..40, 0.0f64..20.0, any::<bool>()),
    )
        .prop_map(
            |(
                (birth, site, hist, extent, has_met),
                (cl, h2, ecog, (ther, prog)),
                (ca199, cps, anc, msi_high),
            )| {
                let mut c = Case::new(Patient {
                    birth_date: Some(birth),
                    ..Patient::default()
                });
                c.primary = Some(PrimaryCancer {
                    site: Some(SITES[site]),
                    site_text: None,
                    histology: Some(HISTOLOGIES[hist]),
                    histology_text: None,
                    stage: Some(["I", "II", "III", "IV", "IVB"][extent as usize].into()),
                    extent: [None, Some(Extent::Localised), Some(Extent::Metastatic)]
                        .get(extent as usize)
                        .copied()
                        .flatten(),
                    diagnosed: None,
                    status: None,
                    source: None,
                });
                c.metastases = Some(if has_met {
                    vec![Metastasis {
                        site: "liver".into(),
                        date: None,
                        source: None,
                    }]
                } else {
                    vec![]
                });
                c.cldn18 = vec![cl];
                c.her2 = vec![h2];
                c.ecog = vec![EcogResult {
                    score: Ecog::new(ecog).expect("ecog"),
                    date: None,
                    source: None,
                }];
                c.therapies = Some(ther);
                c.progressions = prog;
                c.pdl1 = vec![Pdl1Result {
                    cps: f64::from(cps),
                    clone: None,
                    date: None,
                    source: None,
                }];
                c.msi = vec![MsiResult {
                    status: if msi_high {
                        MsiStatus::MsiHigh
                    } else {
                        MsiStatus::Mss
                    },
                    date: None,
                    source: None,
                }];
                c.labs = vec![
                    LabResult {
                        test: LabTest::Ca199,
                        value: ca199,
                        unit: Unit::UnitsPerMillilitre,
                        uln: Some(37.0),
                        date: None,
                        source: None,
                    },
                    LabResult {
                        test: LabTest::Neutrophils,
                        value: anc,
                        unit: Unit::PerNanoLitre,
                        uln: None,
                        date: None,
                        source: None,
                    },
                ];
                c
            },
        )
}

const FACTS: [Fact; 11] = [
    Fact::BirthDate,
    Fact::PrimarySite,
    Fact::Histology,
    Fact::Extent,
    Fact::Cldn18,
    Fact::Her2,
    Fact::Pdl1,
    Fact::Msi,
    Fact::Therapies,
    Fact::Ecog,
    Fact::Lab(LabTest::Ca199),
];

/// Copies `fact` from `from` into `to`, or makes it unknown in `to` when `from` is None.
fn set_fact(to: &mut Case, fact: Fact, from: Option<&Case>) {
    let p = to.primary.get_or_insert_default();
    let fp = from.and_then(|f| f.primary.as_ref());
    match fact {
        Fact::BirthDate => to.patient.birth_date = from.and_then(|f| f.patient.birth_date),
        Fact::PrimarySite => p.site = fp.and_then(|x| x.site),
        Fact::Histology => p.histology = fp.and_then(|x| x.histology),
        Fact::Extent => {
            p.stage = fp.and_then(|x| x.stage.clone());
            p.extent = fp.and_then(|x| x.extent);
            to.metastases = from.and_then(|f| f.metastases.clone());
        }
        Fact::Cldn18 => to.cldn18 = from.map(|f| f.cldn18.clone()).unwrap_or_default(),
        Fact::Her2 => to.her2 = from.map(|f| f.her2.clone()).unwrap_or_default(),
        Fact::Pdl1 => to.pdl1 = from.map(|f| f.pdl1.clone()).unwrap_or_default(),
        Fact::Msi => to.msi = from.map(|f| f.msi.clone()).unwrap_or_default(),
        Fact::Therapies => {
            to.therapies = from.and_then(|f| f.therapies.clone());
            to.progressions = from.map(|f| f.progressions.clone()).unwrap_or_default();
            to.lines = from.and_then(|f| f.lines.clone());
        }
        Fact::Ecog => to.ecog = from.map(|f| f.ecog.clone()).unwrap_or_default(),
        Fact::Infections => {
            to.infections = from.map(|f| f.infections.clone()).unwrap_or_default();
        }
        Fact::Pregnancy => to.pregnancy = from.map(|f| f.pregnancy.clone()).unwrap_or_default(),
        Fact::Lvef => to.lvef = from.map(|f| f.lvef.clone()).unwrap_or_default(),
        Fact::Lab(t) => {
            to.labs.retain(|l| l.test != t);
            if let Some(f) = from {
                to.labs
                    .extend(f.labs.iter().filter(|l| l.test == t).cloned());
            }
        }
    }
}

const EXTRA: &str = include_str!("../tests/fixtures/every-rule.toml");

fn programmes() -> Catalogue {
    let mut all: Vec<Programme> = shipped().expect("shipped").programmes().to_vec();
    all.push(Programme::from_toml("every-rule.toml", EXTRA).expect("every-rule"));
    Catalogue::from_programmes(all)
}

fn reads(p: &Programme, id: &str) -> BTreeSet<Fact> {
    let mut out = BTreeSet::new();
    if let Some(c) = p.criteria().find(|c| c.id == id) {
        if let Some(r) = &c.rule {
            r.reads(&mut out);
        }
        if let Some(r) = &c.applies_when {
            r.reads(&mut out);
        }
        for concern in &c.concerns {
            concern.reads(&mut out);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn evaluation_is_deterministic_and_the_fast_verdict_agrees(c in full_case(), as_of in 1500i64..2600) {
        let cat = programmes();
        let as_of = date(as_of);
        for p in cat.programmes() {
            let a = evaluate(p, &Facts::new(&c, as_of));
            let b = evaluate(p, &Facts::new(&c.clone(), as_of));
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.verdict, verdict(p, &Facts::new(&c, as_of)));
            // The summary an automatic re-screen keeps says what the explanation says.
            let s = summarise(p, &Facts::new(&c, as_of));
            prop_assert_eq!(s.verdict, a.verdict);
            let explained: Vec<_> = a.criteria.iter().map(|x| (x.id.as_str(), x.kind, x.status)).collect();
            let summarised: Vec<_> = s.criteria.iter().map(|x| (x.id.as_str(), x.kind, x.status)).collect();
            prop_assert_eq!(explained, summarised);
        }
    }

    #[test]
    fn a_newly_known_fact_changes_only_the_criteria_that_read_it(
        c in full_case(),
        which in 0usize..FACTS.len(),
        as_of in 1500i64..2600,
    ) {
        let fact = FACTS[which];
        let cat = programmes();
        let as_of = date(as_of);
        let mut unknown = c.clone();
        set_fact(&mut unknown, fact, None);
        let mut known = unknown.clone();
        set_fact(&mut known, fact, Some(&c));
        for p in cat.programmes() {
            let before = evaluate(p, &Facts::new(&unknown, as_of));
            let after = evaluate(p, &Facts::new(&known, as_of));
            for (b, a) in before.criteria.iter().zip(&after.criteria) {
                if !reads(p, &b.id).contains(&fact) {
                    prop_assert_eq!(b, a, "{} / {} changed when {:?} became known", p.id, b.id, fact);
                }
            }
            // Knowing more only settles unknowns: a decided criterion stays decided the same
            // way (or becomes not applicable once its condition is known to be false).
            for (b, a) in before.criteria.iter().zip(&after.criteria) {
                if matches!(b.status, Status::Met | Status::NotMet) {
                    prop_assert!(
                        a.status == b.status || a.status == Status::NotApplicable,
                        "{} / {}: {:?} became {:?}", p.id, b.id, b.status, a.status
                    );
                }
            }
        }
    }
}
