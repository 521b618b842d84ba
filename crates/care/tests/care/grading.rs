//! Every row of the ASTCT CRS and ICANS tables, their boundaries, input validation, and the
//! property that a grade never falls when an input worsens.

use cellpath_care::crs::Oxygen;
use cellpath_care::icans::{CerebralEdema, Ice, MotorWeakness, Seizure};
use cellpath_care::{
    Consciousness, CrsInput, IcansInput, IceParts, OxygenDevice, grade_crs, grade_icans,
};
use proptest::prelude::*;
use serde_json::json;

fn crs(v: serde_json::Value) -> u8 {
    let input: CrsInput = serde_json::from_value(v).expect("valid CRS input");
    grade_crs(&input).grade
}

fn base() -> serde_json::Value {
    json!({"temperature_c": 38.6, "antipyretics_or_anticytokine_given": false,
           "hypotension": false, "vasopressors": 0, "vasopressin": false,
           "oxygen": {"device": "none"}})
}

fn with(pairs: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut v = base();
    for (k, val) in pairs {
        v[*k] = val.clone();
    }
    v
}

#[test]
fn the_documented_example_is_grade_3() {
    let v = json!({"temperature_c": 38.6, "antipyretics_or_anticytokine_given": false,
        "hypotension": true, "vasopressors": 1, "vasopressin": false,
        "oxygen": {"device": "low-flow-nasal-cannula", "flow_l_min": 4}});
    let input: CrsInput = serde_json::from_value(v).expect("input");
    let g = grade_crs(&input);
    assert_eq!(g.grade, 3);
    assert!(g.reasons.iter().any(|r| r.contains("one vasopressor")));
}

#[test]
fn crs_fever_boundary_and_masking() {
    assert_eq!(crs(with(&[("temperature_c", json!(37.9))])), 0);
    assert_eq!(crs(with(&[("temperature_c", json!(38.0))])), 1);
    // Hypotension without fever is not CRS…
    assert_eq!(
        crs(with(&[
            ("temperature_c", json!(37.2)),
            ("hypotension", json!(true))
        ])),
        0
    );
    // …unless the fever was masked by antipyretics or anti-cytokine therapy.
    assert_eq!(
        crs(with(&[
            ("temperature_c", json!(37.2)),
            ("hypotension", json!(true)),
            ("antipyretics_or_anticytokine_given", json!(true)),
            ("crs_already_present", json!(true))
        ])),
        2
    );
    assert_eq!(
        crs(with(&[
            ("temperature_c", json!(36.8)),
            ("antipyretics_or_anticytokine_given", json!(true)),
            ("crs_already_present", json!(true))
        ])),
        1
    );
    // Antipyretics without CRS before them (premedication) lift nothing: no fever, no CRS.
    assert_eq!(
        crs(with(&[
            ("temperature_c", json!(36.8)),
            ("antipyretics_or_anticytokine_given", json!(true))
        ])),
        0
    );
    let input: CrsInput = serde_json::from_value(with(&[
        ("temperature_c", json!(37.2)),
        ("hypotension", json!(true)),
        ("antipyretics_or_anticytokine_given", json!(true)),
    ]))
    .expect("input");
    let g = grade_crs(&input);
    assert_eq!(g.grade, 0);
    assert!(
        g.reasons.iter().any(|r| r.contains("reassess now")),
        "{:?}",
        g.reasons
    );
}

#[test]
fn crs_hypotension_rows() {
    assert_eq!(crs(with(&[("hypotension", json!(true))])), 2);
    assert_eq!(
        crs(with(&[
            ("hypotension", json!(true)),
            ("vasopressors", json!(1))
        ])),
        3
    );
    assert_eq!(
        crs(with(&[
            ("hypotension", json!(true)),
            ("vasopressors", json!(1)),
            ("vasopressin", json!(true))
        ])),
        3,
        "vasopressin with one vasopressor is still one vasopressor"
    );
    assert_eq!(
        crs(with(&[
            ("hypotension", json!(true)),
            ("vasopressors", json!(2))
        ])),
        4
    );
    let mut no_vasopressin = base();
    no_vasopressin
        .as_object_mut()
        .expect("o")
        .remove("vasopressin");
    no_vasopressin["hypotension"] = json!(true);
    assert_eq!(crs(no_vasopressin), 2, "vasopressin is optional");
}

#[test]
fn crs_hypoxia_rows_and_the_6_vs_7_boundary() {
    let o2 = |device: &str, flow: Option<f64>| {
        let oxygen = match flow {
            Some(f) => json!({"device": device, "flow_l_min": f}),
            None => json!({"device": device}),
        };
        crs(with(&[("oxygen", oxygen)]))
    };
    assert_eq!(o2("none", None), 1);
    assert_eq!(o2("blow-by", None), 2);
    assert_eq!(o2("low-flow-nasal-cannula", None), 2);
    assert_eq!(o2("low-flow-nasal-cannula", Some(6.0)), 2);
    assert_eq!(o2("low-flow-nasal-cannula", Some(7.0)), 3);
    assert_eq!(o2("high-flow-nasal-cannula", Some(40.0)), 3);
    // The flow decides: a "high-flow" cannula at ≤ 6 L/min is low flow.
    assert_eq!(o2("high-flow-nasal-cannula", Some(6.0)), 2);
    assert_eq!(o2("high-flow-nasal-cannula", Some(6.5)), 3);
    assert_eq!(o2("facemask", None), 3);
    assert_eq!(o2("non-rebreather", None), 3);
    assert_eq!(o2("venturi", None), 3);
    assert_eq!(o2("cpap", None), 4);
    assert_eq!(o2("bipap", None), 4);
    assert_eq!(o2("mechanical-ventilation", None), 4);
    // The more severe of the two decides.
    assert_eq!(
        crs(with(&[
            ("hypotension", json!(true)),
            ("oxygen", json!({"device": "cpap"}))
        ])),
        4
    );
}

#[test]
fn crs_bad_input_names_the_field() {
    for (v, field) in [
        (with(&[("temperature_c", json!(52))]), "52"),
        (with(&[("vasopressors", json!(-1))]), "-1"),
        (with(&[("oxygen", json!({"device": "tent"}))]), "tent"),
        (
            with(&[("oxygen", json!({"device": "facemask", "flow_l_min": 900}))]),
            "900",
        ),
        (with(&[("heart_rate", json!(120))]), "heart_rate"),
    ] {
        let e = serde_json::from_value::<CrsInput>(v).expect_err("invalid");
        assert!(e.to_string().contains(field), "{e}");
    }
}

fn icans(v: serde_json::Value) -> u8 {
    let input: IcansInput = serde_json::from_value(v).expect("valid ICANS input");
    grade_icans(&input).grade
}

fn calm(ice: serde_json::Value) -> serde_json::Value {
    json!({"ice_score": ice, "consciousness": "normal", "seizure": "none",
           "motor_weakness": "none", "cerebral_edema": "none"})
}

#[test]
fn ice_boundaries() {
    assert_eq!(icans(calm(json!(10))), 0);
    assert_eq!(icans(calm(json!(9))), 1);
    assert_eq!(icans(calm(json!(7))), 1);
    assert_eq!(icans(calm(json!(6))), 2);
    assert_eq!(icans(calm(json!(3))), 2);
    assert_eq!(icans(calm(json!(2))), 3);
    assert_eq!(
        icans(calm(json!(0))),
        3,
        "ICE 0 but awake (e.g. global aphasia) is grade 3"
    );
    let mut unarousable = calm(json!(0));
    unarousable["consciousness"] = json!("unarousable");
    assert_eq!(icans(unarousable.clone()), 4);
    unarousable["ice_score"] = json!(null);
    assert_eq!(icans(unarousable), 4);
}

#[test]
fn an_ice_that_cannot_be_done_is_never_no_icans() {
    let input: IcansInput = serde_json::from_value(calm(json!(null))).expect("input");
    let g = grade_icans(&input);
    assert!(!g.graded, "{g:?}");
    assert!(
        g.reasons
            .last()
            .is_some_and(|r| r.contains("cannot be graded without the ICE")),
        "{:?}",
        g.reasons
    );
    assert!(!g.reasons.iter().any(|r| r == "no ICANS"));
    let mut v = calm(json!(null));
    v["consciousness"] = json!("awakens-to-voice");
    let g = grade_icans(&serde_json::from_value(v).expect("input"));
    assert_eq!(
        (g.grade, g.graded),
        (2, false),
        "a lower bound, still ungraded"
    );
}

#[test]
fn raised_pressure_signs_are_grade_4() {
    for sign in [
        "decerebrate-posturing",
        "decorticate-posturing",
        "cranial-nerve-vi-palsy",
        "papilloedema",
        "cushings-triad",
    ] {
        let mut v = calm(json!(10));
        v["pressure_signs"] = json!([sign]);
        let g = grade_icans(&serde_json::from_value(v).expect("input"));
        assert_eq!(g.grade, 4, "{sign}");
        assert!(g.graded);
    }
}

#[test]
fn ice_from_its_parts() {
    let mut v = calm(json!(null));
    v.as_object_mut().expect("o").remove("ice_score");
    v["ice"] = json!({"orientation": 3, "naming": 2, "commands": 1, "writing": 0, "attention": 0});
    let input: IcansInput = serde_json::from_value(v.clone()).expect("parts");
    assert_eq!(input.ice.score(), Some(6));
    let g = grade_icans(&input);
    assert_eq!(g.grade, 2);
    assert!(g.reasons[0].starts_with("ICE 6 = orientation 3/4"));
    v["ice"]["orientation"] = json!(5);
    let e = serde_json::from_value::<IcansInput>(v.clone()).expect_err("orientation 5");
    assert!(e.to_string().contains("0–4"), "{e}");
    v["ice"]["orientation"] = json!(4);
    v["ice_score"] = json!(8);
    assert!(
        serde_json::from_value::<IcansInput>(v).is_err(),
        "both forms at once"
    );
    assert!(serde_json::from_value::<IcansInput>(calm(json!(11))).is_err());
}

#[test]
fn icans_domain_rows() {
    let domain = |k: &str, v: &str| {
        let mut x = calm(json!(10));
        x[k] = json!(v);
        icans(x)
    };
    assert_eq!(domain("consciousness", "awakens-spontaneously"), 1);
    assert_eq!(domain("consciousness", "awakens-to-voice"), 2);
    assert_eq!(domain("consciousness", "awakens-to-touch"), 3);
    assert_eq!(domain("consciousness", "unarousable"), 4);
    assert_eq!(domain("seizure", "rapidly-resolving"), 3);
    assert_eq!(domain("seizure", "nonconvulsive-eeg-resolving"), 3);
    assert_eq!(domain("seizure", "prolonged-or-repetitive"), 4);
    assert_eq!(domain("motor_weakness", "deep-focal"), 4);
    assert_eq!(domain("cerebral_edema", "focal"), 3);
    assert_eq!(domain("cerebral_edema", "diffuse"), 4);
    // ICE 3 with a generalised seizure: grade 3 (the most severe domain).
    let mut x = calm(json!(3));
    x["seizure"] = json!("rapidly-resolving");
    assert_eq!(icans(x), 3);
}

const DEVICES: [OxygenDevice; 10] = [
    OxygenDevice::None,
    OxygenDevice::BlowBy,
    OxygenDevice::LowFlowNasalCannula,
    OxygenDevice::HighFlowNasalCannula,
    OxygenDevice::Facemask,
    OxygenDevice::NonRebreather,
    OxygenDevice::Venturi,
    OxygenDevice::Cpap,
    OxygenDevice::Bipap,
    OxygenDevice::MechanicalVentilation,
];

/// How much support a device gives, for "worsening": more is worse.
fn support(o: &Oxygen) -> u8 {
    use OxygenDevice::*;
    match o.device {
        None => 0,
        BlowBy => 1,
        LowFlowNasalCannula if o.flow_l_min.is_some_and(|f| f > 6.0) => 2,
        LowFlowNasalCannula => 1,
        HighFlowNasalCannula if o.flow_l_min.is_some_and(|f| f <= 6.0) => 1,
        HighFlowNasalCannula | Facemask | NonRebreather | Venturi => 2,
        Cpap | Bipap | MechanicalVentilation => 3,
    }
}

fn crs_input() -> impl Strategy<Value = CrsInput> {
    (
        350u32..=420,
        any::<bool>(),
        any::<bool>(),
        0u8..4,
        any::<bool>(),
        0usize..10,
        proptest::option::of(0u32..=15),
        any::<bool>(),
    )
        .prop_map(
            |(t, masked, hypo, vaso, vasopressin, dev, flow, before)| CrsInput {
                temperature_c: f64::from(t) / 10.0,
                antipyretics_or_anticytokine_given: masked,
                crs_already_present: before,
                hypotension: hypo,
                vasopressors: vaso,
                vasopressin,
                oxygen: Oxygen {
                    device: DEVICES[dev],
                    flow_l_min: flow.map(f64::from),
                },
            },
        )
}

fn worse_or_equal(a: &CrsInput, b: &CrsInput) -> bool {
    b.temperature_c >= a.temperature_c
        && b.antipyretics_or_anticytokine_given >= a.antipyretics_or_anticytokine_given
        && b.crs_already_present >= a.crs_already_present
        && b.hypotension >= a.hypotension
        && b.vasopressors >= a.vasopressors
        && b.vasopressin >= a.vasopressin
        && support(&b.oxygen) >= support(&a.oxygen)
}

fn icans_input() -> impl Strategy<Value = IcansInput> {
    (
        proptest::option::of(0u8..=10),
        0usize..5,
        0usize..4,
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(ice, c, s, m, e)| IcansInput {
            ice: ice.map_or(Ice::NotAssessable, Ice::Score),
            pressure_signs: Vec::new(),
            consciousness: [
                Consciousness::Normal,
                Consciousness::AwakensSpontaneously,
                Consciousness::AwakensToVoice,
                Consciousness::AwakensToTouch,
                Consciousness::Unarousable,
            ][c],
            seizure: [
                Seizure::None,
                Seizure::RapidlyResolving,
                Seizure::NonconvulsiveEegResolving,
                Seizure::ProlongedOrRepetitive,
            ][s],
            motor_weakness: if m {
                MotorWeakness::DeepFocal
            } else {
                MotorWeakness::None
            },
            cerebral_edema: [
                CerebralEdema::None,
                CerebralEdema::Focal,
                CerebralEdema::Diffuse,
            ][e],
        })
}

fn seizure_rank(s: Seizure) -> u8 {
    match s {
        Seizure::None => 0,
        Seizure::RapidlyResolving | Seizure::NonconvulsiveEegResolving => 1,
        Seizure::ProlongedOrRepetitive => 2,
    }
}

fn icans_worse_or_equal(a: &IcansInput, b: &IcansInput) -> bool {
    // A known ICE that falls is worse; "not assessable" is compared only with itself.
    let ice_ok = match (a.ice.score(), b.ice.score()) {
        (Some(x), Some(y)) => y <= x,
        (None, None) => true,
        _ => false,
    };
    ice_ok
        && b.consciousness >= a.consciousness
        && seizure_rank(b.seizure) >= seizure_rank(a.seizure)
        && b.motor_weakness >= a.motor_weakness
        && b.cerebral_edema >= a.cerebral_edema
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn crs_grade_never_falls_when_an_input_worsens(a in crs_input(), b in crs_input()) {
        // Worsen `a` towards `b` one input at a time: each step may only raise the grade.
        let mut cur = a.clone();
        let steps: [fn(&mut CrsInput, &CrsInput); 6] = [
            |c, b| c.temperature_c = c.temperature_c.max(b.temperature_c),
            |c, b| c.antipyretics_or_anticytokine_given |= b.antipyretics_or_anticytokine_given,
            |c, b| c.hypotension |= b.hypotension,
            |c, b| c.vasopressors = c.vasopressors.max(b.vasopressors),
            |c, b| c.vasopressin |= b.vasopressin,
            |c, b| if support(&b.oxygen) > support(&c.oxygen) { c.oxygen = b.oxygen.clone() },
        ];
        for step in steps {
            let before = cur.clone();
            step(&mut cur, &b);
            prop_assert!(worse_or_equal(&before, &cur));
            prop_assert!(grade_crs(&cur).grade >= grade_crs(&before).grade, "{before:?} → {cur:?}");
        }
    }

    #[test]
    fn icans_grade_never_falls_when_an_input_worsens(a in icans_input(), b in icans_input()) {
        let mut cur = a.clone();
        let steps: [fn(&mut IcansInput, &IcansInput); 5] = [
            |c, b| if let (Some(x), Some(y)) = (c.ice.score(), b.ice.score()) && y < x { c.ice = b.ice },
            |c, b| c.consciousness = c.consciousness.max(b.consciousness),
            |c, b| if seizure_rank(b.seizure) > seizure_rank(c.seizure) { c.seizure = b.seizure },
            |c, b| c.motor_weakness = c.motor_weakness.max(b.motor_weakness),
            |c, b| c.cerebral_edema = c.cerebral_edema.max(b.cerebral_edema),
        ];
        for step in steps {
            let before = cur.clone();
            step(&mut cur, &b);
            prop_assert!(icans_worse_or_equal(&before, &cur));
            prop_assert!(grade_icans(&cur).grade >= grade_icans(&before).grade, "{before:?} → {cur:?}");
        }
    }

    #[test]
    fn grades_stay_in_range(a in crs_input(), b in icans_input()) {
        prop_assert!(grade_crs(&a).grade <= 4);
        prop_assert!(grade_icans(&b).grade <= 4);
    }
}

#[test]
fn ice_parts_total() {
    let p = IceParts {
        orientation: 4,
        naming: 3,
        commands: 1,
        writing: 1,
        attention: 1,
    };
    assert_eq!(p.total(), 10);
}
