//! Monitoring alerts, the caregiver diary and the supportive-care risk window.

use cellpath_care::diary::{DiaryEntry, answer};
use cellpath_care::monitoring::{AlertRule, Entry, assess};
use cellpath_care::supportive::{Kind, RiskWindow, Triage, may_approve, triage};
use cellpath_domain::Date;
use cellpath_domain::text::Lang;
use serde_json::json;

fn entry(temp: f64, vasopressors: u8, ice: u8) -> Entry {
    serde_json::from_value(json!({
        "crs": {"temperature_c": temp, "antipyretics_or_anticytokine_given": false,
                "hypotension": vasopressors > 0, "vasopressors": vasopressors,
                "oxygen": {"device": "none"}},
        "icans": {"ice_score": ice, "consciousness": "normal", "seizure": "none",
                  "motor_weakness": "none", "cerebral_edema": "none"}
    }))
    .expect("entry")
}

#[test]
fn alerts_name_the_rule_that_fired() {
    let (calm, alerts) = assess(&entry(37.0, 0, 10), None);
    assert!(alerts.is_empty());
    let (g1, alerts) = assess(&entry(38.2, 0, 10), Some(&calm));
    assert_eq!(g1.crs.grade, 1);
    assert_eq!(
        alerts.iter().map(|a| a.rule).collect::<Vec<_>>(),
        [AlertRule::CrsPresent]
    );
    let (g3, alerts) = assess(&entry(38.9, 1, 8), Some(&g1));
    let rules: Vec<AlertRule> = alerts.iter().map(|a| a.rule).collect();
    assert_eq!(rules, [AlertRule::CrsRising, AlertRule::IcansPresent]);
    assert!(alerts[0].message.contains("from grade 1 to grade 3"));
    // A steady grade still alerts that CRS is present, but not that it is rising.
    let (_, alerts) = assess(&entry(38.9, 1, 10), Some(&g3));
    assert_eq!(
        alerts.iter().map(|a| a.rule).collect::<Vec<_>>(),
        [AlertRule::CrsPresent]
    );
}

#[test]
fn diary_warning_signs_say_call_now_in_the_patients_language() {
    let calm = answer(
        &DiaryEntry {
            temperature_c: Some(37.9),
            ..Default::default()
        },
        Lang::En,
    );
    assert!(!calm.call_now);
    let fever = answer(
        &DiaryEntry {
            temperature_c: Some(38.0),
            ..Default::default()
        },
        Lang::ZhCn,
    );
    assert!(fever.call_now);
    assert!(fever.instruction.contains("立即"));
    assert_eq!(fever.signs, ["发热 38 °C"]);
    for e in [
        DiaryEntry {
            confusion: true,
            ..Default::default()
        },
        DiaryEntry {
            trouble_speaking_or_writing: true,
            ..Default::default()
        },
        DiaryEntry {
            seizure: true,
            ..Default::default()
        },
        DiaryEntry {
            shortness_of_breath: true,
            ..Default::default()
        },
        DiaryEntry {
            dizziness: true,
            ..Default::default()
        },
    ] {
        let a = answer(&e, Lang::En);
        assert!(a.call_now && a.instruction.starts_with("Call the treating team now"));
    }
}

#[test]
fn tcm_in_the_risk_window_is_held() {
    let d = |s: &str| Date::parse(s).expect("date");
    let w = RiskWindow::new(d("2027-01-02"), d("2027-01-07"), None);
    assert_eq!(w.to, d("2027-02-04"), "day +28");
    match triage(Kind::TcmHerbal, d("2027-01-02"), Some(w)) {
        Triage::Held { until, reason } => {
            assert_eq!(until, d("2027-02-05"));
            assert!(reason.en.contains("day +28") && !reason.zh.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        triage(Kind::TcmHerbal, d("2027-02-04"), Some(w)),
        Triage::Held { .. }
    ));
    assert_eq!(
        triage(Kind::TcmHerbal, d("2027-02-05"), Some(w)),
        Triage::AwaitingApproval
    );
    assert_eq!(
        triage(Kind::TcmHerbal, d("2027-01-01"), Some(w)),
        Triage::AwaitingApproval
    );
    assert_eq!(
        triage(Kind::Nutrition, d("2027-01-10"), Some(w)),
        Triage::AwaitingApproval
    );
    assert_eq!(
        triage(Kind::Acupuncture, d("2027-01-10"), Some(w)),
        Triage::AwaitingApproval
    );
    // A programme may set its own window.
    let short = RiskWindow::new(d("2027-01-02"), d("2027-01-07"), Some(14));
    assert_eq!(
        triage(Kind::TcmHerbal, d("2027-01-25"), Some(short)),
        Triage::AwaitingApproval
    );
    assert!(may_approve("medical-oncology") && may_approve("cell-therapy"));
    assert!(!may_approve("radiology"));
}
