//! Monitoring alerts, the caregiver diary and the supportive-care risk window.

use cellpath_care::diary::{DiaryEntry, Emergency, answer};
use cellpath_care::monitoring::{AlertRule, Entry, assess};
use cellpath_care::supportive::{Kind, RiskWindow, Triage, Windows, may_approve, triage};
use cellpath_domain::Date;
use cellpath_domain::text::{Bi, Lang};
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
    let calm = entry(37.0, 0, 10);
    let (_, alerts) = assess(&calm, None, false);
    assert!(alerts.is_empty());
    let e1 = entry(38.2, 0, 10);
    let (g1, alerts) = assess(&e1, Some(&calm), false);
    assert_eq!(g1.crs.grade, 1);
    assert_eq!(
        alerts.iter().map(|a| a.rule).collect::<Vec<_>>(),
        [AlertRule::CrsPresent]
    );
    let e3 = entry(38.9, 1, 8);
    let (_, alerts) = assess(&e3, Some(&e1), true);
    let rules: Vec<AlertRule> = alerts.iter().map(|a| a.rule).collect();
    assert_eq!(
        rules,
        [
            AlertRule::CrsRising,
            AlertRule::IcansPresent,
            AlertRule::Vasopressor,
            AlertRule::Hypotension,
            AlertRule::IceFall
        ]
    );
    assert!(alerts[0].message.contains("from grade 1 to grade 3"));
    // A steady grade still alerts that CRS is present, but not that it is rising.
    let (_, alerts) = assess(&entry(38.9, 1, 10), Some(&e3), true);
    assert_eq!(alerts[0].rule, AlertRule::CrsPresent);
    assert!(!alerts.iter().any(|a| a.rule == AlertRule::CrsRising));
}

fn raw(crs: serde_json::Value, icans: serde_json::Value) -> Entry {
    serde_json::from_value(json!({"crs": crs, "icans": icans})).expect("entry")
}

fn calm_icans() -> serde_json::Value {
    json!({"ice_score": 10, "consciousness": "normal", "seizure": "none",
           "motor_weakness": "none", "cerebral_edema": "none"})
}

#[test]
fn danger_signs_alert_whatever_the_grade() {
    // 37.6 °C, two vasopressors and a non-rebreather: CRS 0 by the consensus (no fever),
    // and yet the team is alerted, each sign named, with why it is not graded.
    let e = raw(
        json!({"temperature_c": 37.6, "antipyretics_or_anticytokine_given": false,
               "hypotension": true, "vasopressors": 2,
               "oxygen": {"device": "non-rebreather"}}),
        calm_icans(),
    );
    let (g, alerts) = assess(&e, None, false);
    assert_eq!(g.crs.grade, 0);
    let rules: Vec<AlertRule> = alerts.iter().map(|a| a.rule).collect();
    assert_eq!(
        rules,
        [
            AlertRule::Vasopressor,
            AlertRule::Hypotension,
            AlertRule::Oxygen
        ]
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.message.contains("not graded as CRS: reassess")),
        "{alerts:?}"
    );
    // Oxygen escalation, depressed consciousness, a seizure, an ICE that cannot be done.
    let before = raw(
        json!({"temperature_c": 37.0, "antipyretics_or_anticytokine_given": false,
               "hypotension": false, "vasopressors": 0,
               "oxygen": {"device": "low-flow-nasal-cannula", "flow_l_min": 2}}),
        calm_icans(),
    );
    let now = raw(
        json!({"temperature_c": 37.0, "antipyretics_or_anticytokine_given": false,
               "hypotension": false, "vasopressors": 0,
               "oxygen": {"device": "facemask"}}),
        json!({"ice_score": null, "consciousness": "awakens-to-voice", "seizure": "rapidly-resolving",
               "motor_weakness": "none", "cerebral_edema": "none"}),
    );
    let (g, alerts) = assess(&now, Some(&before), false);
    let rules: Vec<AlertRule> = alerts.iter().map(|a| a.rule).collect();
    for expected in [
        AlertRule::OxygenEscalation,
        AlertRule::IceNotAssessable,
        AlertRule::DepressedConsciousness,
        AlertRule::Seizure,
        AlertRule::IcansPresent,
    ] {
        assert!(
            rules.contains(&expected),
            "{expected:?} missing from {rules:?}"
        );
    }
    assert!(!g.icans.graded);
}

#[test]
fn antipyretics_alone_never_make_crs_but_masked_fever_after_crs_does() {
    let premedicated = raw(
        json!({"temperature_c": 36.8, "antipyretics_or_anticytokine_given": true,
               "hypotension": false, "vasopressors": 0, "oxygen": {"device": "none"}}),
        calm_icans(),
    );
    // Paracetamol at infusion with no CRS before: no CRS, no alert, and no false reason.
    let (g, alerts) = assess(&premedicated, None, false);
    assert_eq!(g.crs.grade, 0);
    assert!(alerts.is_empty(), "{alerts:?}");
    assert!(!g.crs.reasons.iter().any(|r| r.contains("fever without")));
    // The same after CRS was present: fever is no longer required.
    let (g, alerts) = assess(&premedicated, None, true);
    assert_eq!(g.crs.grade, 1);
    assert!(
        !g.crs.reasons.iter().any(|r| r.contains("fever without")),
        "{:?}",
        g.crs.reasons
    );
    assert_eq!(alerts[0].rule, AlertRule::CrsPresent);
}

fn diary(e: DiaryEntry, lang: Lang) -> cellpath_care::diary::DiaryAnswer {
    answer(&e, lang, &Emergency::default(), None)
}

#[test]
fn diary_warning_signs_say_call_now_in_the_patients_language() {
    let calm = diary(
        DiaryEntry {
            temperature_c: Some(37.9),
            ..Default::default()
        },
        Lang::En,
    );
    assert!(!calm.call_now && !calm.measure_again);
    assert!(
        !calm.instruction.contains("twice a day"),
        "no unsourced schedule"
    );
    let fever = diary(
        DiaryEntry {
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
            shortness_of_breath: true,
            ..Default::default()
        },
        DiaryEntry {
            dizziness: true,
            ..Default::default()
        },
        DiaryEntry {
            very_sleepy: true,
            ..Default::default()
        },
    ] {
        let a = diary(e, Lang::En);
        assert!(a.call_now && a.instruction.starts_with("Call the treating team now"));
        assert!(!a.call_emergency);
    }
}

#[test]
fn emergencies_call_the_local_number_first() {
    for e in [
        DiaryEntry {
            seizure: true,
            ..Default::default()
        },
        DiaryEntry {
            unresponsive: true,
            ..Default::default()
        },
        DiaryEntry {
            severe_breathing_trouble: true,
            ..Default::default()
        },
    ] {
        let a = diary(e.clone(), Lang::En);
        assert!(a.call_emergency && a.call_now);
        assert!(
            a.instruction
                .starts_with("Call the emergency number 120 now"),
            "{}",
            a.instruction
        );
        assert_eq!(a.emergency_number.as_deref(), Some("120"));
        let zh = diary(e.clone(), Lang::ZhCn);
        assert!(
            zh.instruction.starts_with("请立即拨打急救电话 120"),
            "{}",
            zh.instruction
        );
        // Another site, another number.
        let elsewhere = answer(
            &e,
            Lang::En,
            &Emergency {
                number: "999".into(),
            },
            None,
        );
        assert!(elsewhere.instruction.contains("999"));
    }
}

#[test]
fn an_impossible_temperature_is_asked_again_never_reassured() {
    for t in [3.8, 48.0, 33.0] {
        let a = diary(
            DiaryEntry {
                temperature_c: Some(t),
                ..Default::default()
            },
            Lang::En,
        );
        assert!(a.measure_again, "{t}");
        assert!(
            !a.instruction.contains("No warning signs"),
            "{}",
            a.instruction
        );
        assert!(a.instruction.contains("measure again"), "{}", a.instruction);
        let zh = diary(
            DiaryEntry {
                temperature_c: Some(t),
                ..Default::default()
            },
            Lang::ZhCn,
        );
        assert!(zh.instruction.contains("重新测量"));
    }
    // An impossible reading beside a real sign still says call now.
    let a = diary(
        DiaryEntry {
            temperature_c: Some(48.0),
            confusion: true,
            ..Default::default()
        },
        Lang::En,
    );
    assert!(a.call_now && a.measure_again);
}

#[test]
fn tcm_in_the_risk_window_is_held() {
    let d = |s: &str| Date::parse(s).expect("date");
    let w = RiskWindow::new(d("2027-01-02"), d("2027-01-07"), None);
    assert_eq!(w.to, d("2027-02-04"), "day +28");
    let one = |day: &str, kind: Kind, windows: &Windows| triage(kind, d(day), d(day), windows);
    let ws: Windows = Ok(vec![w]);
    match one("2027-01-02", Kind::TcmHerbal, &ws) {
        Triage::Held { until, reason } => {
            assert_eq!(until, Some(d("2027-02-05")));
            assert!(reason.en.contains("2027-02-04") && !reason.zh.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        one("2027-02-04", Kind::TcmHerbal, &ws),
        Triage::Held { .. }
    ));
    assert_eq!(
        one("2027-02-05", Kind::TcmHerbal, &ws),
        Triage::AwaitingApproval { caution: None }
    );
    assert_eq!(
        one("2027-01-01", Kind::TcmHerbal, &ws),
        Triage::AwaitingApproval { caution: None }
    );
    assert_eq!(
        one("2027-01-10", Kind::Nutrition, &ws),
        Triage::AwaitingApproval { caution: None }
    );
    // Acupuncture is not held, but in the window the approver is told why to be careful
    // (clinical review, issue 27); outside it, nothing to weigh.
    match one("2027-01-10", Kind::Acupuncture, &ws) {
        Triage::AwaitingApproval { caution: Some(c) } => {
            assert!(
                c.en.contains("bleeding") && c.zh.contains("出血"),
                "{}",
                c.en
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        one("2027-03-10", Kind::Acupuncture, &ws),
        Triage::AwaitingApproval { caution: None }
    );
    // Bridging recorded: the hold starts at its first dose, and says so.
    let bridged: Windows = Ok(vec![w.from_bridging(d("2026-12-20"))]);
    match one("2026-12-22", Kind::TcmHerbal, &bridged) {
        Triage::Held { reason, .. } => {
            assert!(
                reason
                    .en
                    .contains("from the first bridging dose (2026-12-20)"),
                "{}",
                reason.en
            );
            assert!(reason.zh.contains("首次桥接治疗"), "{}", reason.zh);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        one("2026-12-22", Kind::TcmHerbal, &ws),
        Triage::AwaitingApproval { caution: None }
    );
    // A programme may set its own window.
    let short: Windows = Ok(vec![RiskWindow::new(
        d("2027-01-02"),
        d("2027-01-07"),
        Some(14),
    )]);
    assert_eq!(
        one("2027-01-25", Kind::TcmHerbal, &short),
        Triage::AwaitingApproval { caution: None }
    );
    assert!(may_approve("medical-oncology") && may_approve("cell-therapy"));
    assert!(!may_approve("radiology"));
}

#[test]
fn the_risk_window_fails_closed() {
    let d = |s: &str| Date::parse(s).expect("date");
    // No plan (or one that does not date the window): held, with the reason, no end date.
    let unknown: Windows = Err(Bi::new("no plan", "无计划"));
    for kind in [Kind::TcmHerbal, Kind::Supplements] {
        match triage(kind, d("2027-06-01"), d("2027-06-01"), &unknown) {
            Triage::Held { until, reason } => {
                assert_eq!(until, None);
                assert!(reason.en.starts_with("No treatment plan"), "{}", reason.en);
                assert!(reason.zh.starts_with("无治疗计划"), "{}", reason.zh);
            }
            other => panic!("{kind:?}: {other:?}"),
        }
    }
    assert_eq!(
        triage(Kind::Nutrition, d("2027-06-01"), d("2027-06-01"), &unknown),
        Triage::AwaitingApproval { caution: None }
    );
    // Supplements are held like herbs; a request that starts before the window but lasts
    // into it is held (the whole period is checked, not only its first day).
    let ws: Windows = Ok(vec![RiskWindow::new(
        d("2027-01-02"),
        d("2027-01-07"),
        None,
    )]);
    assert!(matches!(
        triage(Kind::Supplements, d("2027-01-10"), d("2027-01-10"), &ws),
        Triage::Held { .. }
    ));
    assert!(matches!(
        triage(Kind::TcmHerbal, d("2026-12-20"), d("2027-01-05"), &ws),
        Triage::Held { .. }
    ));
    // Every infusion opens its own window: a second one in March holds a March request.
    let two: Windows = Ok(vec![
        RiskWindow::new(d("2027-01-02"), d("2027-01-07"), None),
        RiskWindow::new(d("2027-03-01"), d("2027-03-06"), None),
    ]);
    match triage(Kind::TcmHerbal, d("2027-03-20"), d("2027-03-20"), &two) {
        Triage::Held { until, .. } => assert_eq!(until, Some(d("2027-04-04"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        triage(Kind::TcmHerbal, d("2027-02-15"), d("2027-02-15"), &two),
        Triage::AwaitingApproval { caution: None }
    );
}

#[test]
fn the_answer_names_the_teams_number_and_what_was_reported() {
    let e = DiaryEntry {
        confusion: true,
        temperature_c: Some(39.6),
        ..Default::default()
    };
    let a = answer(
        &e,
        Lang::En,
        &Emergency::default(),
        Some("+86 10 8888 0000"),
    );
    assert!(
        a.instruction.contains("+86 10 8888 0000"),
        "{}",
        a.instruction
    );
    assert_eq!(a.team_phone.as_deref(), Some("+86 10 8888 0000"));
    assert_eq!(a.reported, "You reported: 39.6 °C, confusion.");
    let zh = answer(
        &e,
        Lang::ZhCn,
        &Emergency::default(),
        Some("+86 10 8888 0000"),
    );
    assert_eq!(zh.reported, "您报告：39.6 °C、意识混乱。");
    assert!(zh.instruction.contains("+86 10 8888 0000"));
    // Without a number recorded, the answer says how to get one, never nothing.
    let none = answer(&e, Lang::En, &Emergency::default(), None);
    assert!(
        none.instruction.contains("ask your coordinator"),
        "{}",
        none.instruction
    );
    // A calm entry shows no number to call.
    let calm = answer(
        &DiaryEntry {
            temperature_c: Some(37.0),
            ..Default::default()
        },
        Lang::En,
        &Emergency::default(),
        Some("+86 10 8888 0000"),
    );
    assert_eq!(calm.team_phone, None);
}

#[test]
fn fahrenheit_is_read_converted_and_said() {
    use cellpath_care::diary::{TemperatureError, TypedTemperature, read_temperature};
    assert_eq!(
        read_temperature("39.6"),
        Ok(TypedTemperature::Celsius(39.6))
    );
    assert_eq!(
        read_temperature("39,6 °C"),
        Ok(TypedTemperature::Celsius(39.6))
    );
    assert_eq!(
        read_temperature("３９．６℃"),
        Ok(TypedTemperature::Celsius(39.6))
    );
    assert_eq!(
        read_temperature("103"),
        Ok(TypedTemperature::Fahrenheit(103.0))
    );
    assert_eq!(
        read_temperature("103 °F"),
        Ok(TypedTemperature::Fahrenheit(103.0))
    );
    assert_eq!(
        read_temperature("101.3f"),
        Ok(TypedTemperature::Fahrenheit(101.3))
    );
    assert_eq!(read_temperature("hot"), Err(TemperatureError::NotANumber));
    assert_eq!(
        read_temperature("60"),
        Err(TemperatureError::NotABodyTemperature(60.0))
    );
    assert!(
        TemperatureError::NotABodyTemperature(60.0)
            .words()
            .zh
            .contains("不是")
    );
    let a = diary(
        DiaryEntry {
            temperature_f: Some(103.0),
            ..Default::default()
        },
        Lang::En,
    );
    assert!(a.call_now);
    assert_eq!(a.temperature_note.as_deref(), Some("103 °F = 39.4 °C"));
    assert_eq!(a.signs, ["fever 39.4 °C"]);
}

#[test]
fn a_low_temperature_after_lymphodepletion_is_a_call_never_a_reassurance() {
    let a = diary(
        DiaryEntry {
            temperature_c: Some(34.6),
            ..Default::default()
        },
        Lang::En,
    );
    assert!(a.call_now, "{}", a.instruction);
    assert!(!a.instruction.contains("No warning signs"));
    assert_eq!(a.signs, ["low temperature 34.6 °C"]);
    // 36.0 itself is not low.
    assert!(
        !diary(
            DiaryEntry {
                temperature_c: Some(36.0),
                ..Default::default()
            },
            Lang::En
        )
        .call_now
    );
}

#[test]
fn gastrointestinal_danger_signs_are_asked_and_answered() {
    use cellpath_care::diary::SIGNS;
    for key in [
        "vomiting_blood",
        "black_or_bloody_stools",
        "severe_abdominal_pain",
        "cannot_keep_food_or_drink",
        "shaking_chills",
    ] {
        let mut e = DiaryEntry::default();
        assert!(e.set(key), "{key}");
        let a = diary(e, Lang::ZhCn);
        assert!(a.call_now, "{key}");
        let sign = SIGNS.iter().find(|s| s.key == key).expect("listed");
        assert_eq!(a.signs, [sign.zh]);
        // Vomiting blood is an emergency; the others call the team.
        assert_eq!(a.call_emergency, key == "vomiting_blood", "{key}");
    }
    // The API takes them by name.
    let e: DiaryEntry = serde_json::from_str(r#"{"black_or_bloody_stools": true}"#).expect("json");
    assert!(e.black_or_bloody_stools);
}

/// The clinical review's vignette: SBP 72, HR 140, RR 32, SpO2 84 % with no box ticked gave
/// no alert at all (`assess` never read the vitals).
#[test]
fn vital_signs_alert_on_their_own_and_contradict_an_unticked_hypotension() {
    let mut e: Entry = serde_json::from_value(json!({
        "crs": {"temperature_c": 37.2, "antipyretics_or_anticytokine_given": false,
                "hypotension": false, "vasopressors": 0, "oxygen": {"device": "none"}},
        "icans": {"ice_score": 10, "consciousness": "normal", "seizure": "none",
                  "motor_weakness": "none", "cerebral_edema": "none"},
        "vitals": {"systolic_bp_mmhg": 72, "heart_rate_bpm": 140, "respiratory_rate_min": 32, "spo2_percent": 84}
    }))
    .expect("entry");
    let (g, alerts) = assess(&e, None, false);
    assert_eq!(g.crs.grade, 0);
    let rules: Vec<AlertRule> = alerts.iter().map(|a| a.rule).collect();
    assert_eq!(
        rules,
        [
            AlertRule::LowBloodPressure,
            AlertRule::VitalsContradictCrs,
            AlertRule::LowOxygenSaturation,
            AlertRule::RespiratoryRate,
            AlertRule::HeartRate
        ]
    );
    assert!(
        alerts[0].message.contains("not graded as CRS: reassess"),
        "{}",
        alerts[0].message
    );
    assert!(
        alerts[2].message.contains("84 % on air"),
        "{}",
        alerts[2].message
    );
    for a in &alerts {
        assert!(
            !a.message_zh
                .chars()
                .any(|c| c.is_ascii_lowercase() && c != 'm' && c != 'g' && c != 'H'),
            "English in the Chinese alert: {}",
            a.message_zh
        );
    }
    // Normal vitals: nothing.
    e.vitals = serde_json::from_value(json!({"systolic_bp_mmhg": 118, "heart_rate_bpm": 88, "respiratory_rate_min": 16, "spo2_percent": 97})).expect("vitals");
    assert!(assess(&e, None, false).1.is_empty());
    // A centre's own limits.
    let strict = cellpath_care::monitoring::VitalLimits {
        heart_rate_at_least: 110,
        ..Default::default()
    };
    e.vitals = serde_json::from_value(json!({"heart_rate_bpm": 115})).expect("vitals");
    assert_eq!(
        cellpath_care::monitoring::assess_with(&e, None, false, &strict).1[0].rule,
        AlertRule::HeartRate
    );
}

/// Oxygen is ranked by the ASTCT tiers and the recorded flow: high-flow 40 L/min to a
/// facemask at 5 is not an escalation; low flow 1 to 6 L/min is; a flow not recorded is
/// never stated.
#[test]
fn oxygen_escalation_follows_the_astct_tiers_and_the_flow() {
    let with = |device: &str, flow: Option<f64>| -> Entry {
        let mut o = json!({"device": device});
        if let Some(f) = flow {
            o["flow_l_min"] = json!(f);
        }
        raw(
            json!({"temperature_c": 38.5, "antipyretics_or_anticytokine_given": false,
                   "hypotension": false, "vasopressors": 0, "oxygen": o}),
            calm_icans(),
        )
    };
    let rules = |now: &Entry, was: &Entry| -> Vec<AlertRule> {
        assess(now, Some(was), true)
            .1
            .iter()
            .map(|a| a.rule)
            .collect()
    };
    let hfnc = with("high-flow-nasal-cannula", Some(40.0));
    let mask = with("facemask", Some(5.0));
    assert!(!rules(&mask, &hfnc).contains(&AlertRule::OxygenEscalation));
    assert!(rules(&mask, &hfnc).contains(&AlertRule::Oxygen));
    let low1 = with("low-flow-nasal-cannula", Some(1.0));
    let low6 = with("low-flow-nasal-cannula", Some(6.0));
    assert!(rules(&low6, &low1).contains(&AlertRule::OxygenEscalation));
    let (_, alerts) = assess(&with("cpap", None), Some(&with("facemask", None)), true);
    let esc = alerts
        .iter()
        .find(|a| a.rule == AlertRule::OxygenEscalation)
        .expect("escalation");
    assert_eq!(esc.message, "oxygen support escalated (facemask → CPAP)");
    assert!(!esc.message.contains("L/min"));
    assert_eq!(esc.message_zh, "氧疗支持升级（面罩 → CPAP）");
}
